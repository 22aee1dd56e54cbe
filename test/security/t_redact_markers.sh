# Redaction safe for tickets: a marker string (its own for each field: "ZQXJ" + the field) is
# planted in every string field of both fixtures (mailbox, folder names, the Inbox's own name,
# subjects, message ids, bodies), in the cache file's folder and name, in the server's host name,
# in the snapshots' folder and in error messages; `scan --redact` and `diff --redact` must leave
# none of them anywhere in the JSON report, the JSON on standard output, the text, the HTML page,
# or the text and HTML that `ostrecon report` renders from the redacted report. What diagnosis
# needs stays: message classes (planted as "KEEP" markers, which must show), roles, counts, keys.
# The same runs without --redact show the markers, so the check sees what it looks for.
. "$(dirname "$0")/lib.sh"
need_ostwrite
M="$WORK/ZQXJdir"
mkdir -p "$M"
"$PY" - "$M" <<'PY' || fail "writing the fixtures"
import json, sys, copy
out = sys.argv[1]
mbx = "zqxjmailbox@zqxjdomain.example"
def folder(name, gc, parent="inbox", **kw):
    return dict(name=name, parent=parent, key={"replica": 0, "gc": gc}, **kw)
def item(n, folder, gc, **kw):
    it = {"folder": folder, "key": {"replica": 0, "gc": gc}, "subject": "ZQXJsubject%d" % n,
          "message_id": "<ZQXJmessageid%d@zqxjdomain.example>" % n, "body": "ZQXJbody%d" % n,
          "received": "2026-10-%02dT09:00:00Z" % (1 + n % 28), "read": n % 2 == 0}
    it.update(kw)
    return it
base = {
    "mailbox": mbx, "seed": 9,
    "standard": {"inbox": {"name": "ZQXJinboxname"}, "calendar": {"name": "ZQXJcalendarname"}},
    "folders": [
        folder("ZQXJclients", 0x9001),
        folder("ZQXJproject", 0x9002, parent="ZQXJinboxname/ZQXJclients"),
        folder("ZQXJfailing", 0x9003),
        folder("ZQXJrenamedcache", 0x9004, parent="msgfolderroot"),
        folder("ZQXJstoredcount", 0x9005),
    ],
    "items": [],
}
items = [item(i, ["inbox", "ZQXJinboxname/ZQXJclients", "ZQXJinboxname/ZQXJclients/ZQXJproject",
                  "ZQXJinboxname/ZQXJfailing", "ZQXJrenamedcache", "ZQXJinboxname/ZQXJstoredcount"][i % 6],
              0xA000 + i) for i in range(36)]
items.append(item(90, "calendar", 0xA100, **{"class": "IPM.Appointment.KEEPclass"}))
cache, server = copy.deepcopy(base), copy.deepcopy(base)
cache["items"] = [copy.deepcopy(i) for i in items]
server["items"] = [copy.deepcopy(i) for i in items]
# differences: missing on each side, a subject changed, an item moved, a folder renamed, a folder
# only in the cache, a stored count that disagrees
cache["items"] = [i for i in cache["items"] if i["subject"] not in ("ZQXJsubject1", "ZQXJsubject2", "ZQXJsubject90")]
server["items"] = [i for i in server["items"] if i["subject"] not in ("ZQXJsubject7", "ZQXJsubject13")]
by_subject = {i["subject"]: i for i in server["items"]}
by_subject["ZQXJsubject6"]["subject"] = "ZQXJsubjectchangedonserver"
by_subject["ZQXJsubject8"]["folder"] = "inbox"
server["folders"][3]["name"] = "ZQXJrenamedserver"
for i in server["items"]:
    if i["folder"] == "ZQXJrenamedcache":
        i["folder"] = "ZQXJrenamedserver"
cache["folders"].append(folder("ZQXJcacheonly", 0x9006))
cache["items"].append(item(60, "ZQXJinboxname/ZQXJcacheonly", 0xA200))
cache["folders"][4]["content_count"] = 99
json.dump(cache, open(out + "/cache.json", "w"), indent=1)
json.dump(server, open(out + "/server.json", "w"), indent=1)
PY
"$OSTWRITE" "$M/cache.json" --format ost4k -o "$M/ZQXJcachefile.ost" 2>"$WORK/ostwrite.err" || { cat "$WORK/ostwrite.err"; fail "ostwrite"; }
mkdir -p "$WORK/mbx"
"$OSTWRITE" --expand "$M/server.json" -o "$WORK/mbx/server.jsonl" || fail "ostwrite --expand"
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$WORK/users.json"
pw=$(secret_file svc.pw svc-pw)
start_server ews --mailbox-dir "$WORK/mbx" --users "$WORK/users.json" --folder-error "/Root - Mailbox/IPM_SUBTREE/ZQXJinboxname/ZQXJfailing=ErrorCorruptData"
URL="http://zqxjhost.localhost:$PORT/EWS/Exchange.asmx"
printf 'a-key-kept-for-this-company-0123\n' >"$WORK/key"
chmod 600 "$WORK/key"

# scan NAME ARGS...: one scan; its JSON report, HTML page, text and --json output in $WORK/NAME.*
scan() {
	name=$1; shift
	timeout 300 "$OSTRECON" scan --ost "$M/ZQXJcachefile.ost" --url "$URL" --mailbox zqxjmailbox@zqxjdomain.example --auth basic \
		--user svc --password-file "$pw" --impersonate --no-progress -o "$WORK/$name.json" --html "$WORK/$name.html" \
		"$@" >"$WORK/$name.txt" 2>"$WORK/$name.err"
	rc=$?
	[ $rc -le 2 ] || { cat "$WORK/$name.err"; fail "$name: scan exit $rc"; }
}
scan plain --all
scan red --redact --all
scan redkey --redact="$WORK/key" --keep-snapshots "$WORK/ZQXJsnapshots"
timeout 300 "$OSTRECON" scan --ost "$M/ZQXJcachefile.ost" --url "$URL" --mailbox zqxjmailbox@zqxjdomain.example --auth basic \
	--user svc --password-file "$pw" --impersonate --no-progress --redact --json >"$WORK/redstdout.json" 2>/dev/null
[ -s "$WORK/redstdout.json" ] || fail "scan --redact --json printed nothing"

# Error messages that quote names, the address, the host and paths (as a server's may): added to
# the kept snapshots, compared with diff.
"$PY" - "$WORK/ZQXJsnapshots/server.jsonl" "$WORK/errs.jsonl" <<'PY' || fail "adding error lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
end = lines.pop()
lines.append({"type": "error", "scope": "folder", "path": "/Top of Information Store/ZQXJinboxname/ZQXJclients",
              "code": "denied", "message": "FindItem on ZQXJinboxname/ZQXJclients of zqxjmailbox@zqxjdomain.example "
              "at http://zqxjhost.localhost/EWS/Exchange.asmx: ZQXJclients is denied (see /home/ZQXJdir/x.log)"})
end["errors"] = sum(1 for l in lines if l["type"] == "error")
lines.append(end)
open(sys.argv[2], "w").write("".join(json.dumps(l) + "\n" for l in lines))
PY
for mode in plain red; do
	set --
	[ $mode = red ] && set -- --redact="$WORK/key"
	"$OSTRECON" diff "$WORK/errs.jsonl" "$WORK/ZQXJsnapshots/cache.jsonl" --all -o "$WORK/diff$mode.json" \
		--html "$WORK/diff$mode.html" "$@" >"$WORK/diff$mode.txt" 2>"$WORK/diff$mode.err"
	[ $? -le 2 ] || { cat "$WORK/diff$mode.err"; fail "diff ($mode) failed"; }
done
"$OSTRECON" report --all "$WORK/red.json" --html "$WORK/redreport.html" >"$WORK/redreport.txt" 2>&1
"$OSTRECON" report --all "$WORK/diffred.json" --width 200 >"$WORK/diffredreport.txt" 2>&1

# The plain outputs show the markers of every field that reaches a report.
"$PY" - "$WORK" <<'PY' || fail "the unredacted outputs do not show the markers: the check is blind"
import re, sys
w = sys.argv[1]
seen = set()
for f in ("plain.json", "plain.txt", "plain.html", "diffplain.json", "diffplain.txt", "diffplain.html"):
    seen |= {m.lower() for m in re.findall(r"(?i)zqxj[a-z0-9]*", open(w + "/" + f, encoding="utf-8").read())}
need = {"zqxjmailbox", "zqxjdomain", "zqxjinboxname", "zqxjclients", "zqxjproject", "zqxjfailing",
        "zqxjrenamedcache", "zqxjrenamedserver", "zqxjcacheonly", "zqxjstoredcount", "zqxjsubject1",
        "zqxjsubjectchangedonserver", "zqxjcachefile", "zqxjdir", "zqxjhost", "zqxjsnapshots", "zqxjcalendarname"}
missing = need - seen
if missing:
    sys.exit("markers never shown without --redact: %s" % sorted(missing))
print("without --redact: %d distinct markers shown" % len(seen))
PY
# The redacted outputs show none, in any case; the kept class does show.
n=0
for f in red.json red.txt red.html redkey.json redkey.txt redkey.html redstdout.json diffred.json diffred.txt \
	diffred.html redreport.txt redreport.html diffredreport.txt; do
	[ -s "$WORK/$f" ] || fail "$f is empty"
	if grep -nio 'zqxj[a-z0-9]*' "$WORK/$f" | head -n 5 | grep .; then fail "$f shows a planted marker"; fi
	if grep -n '@' "$WORK/$f" | grep -v '@media\|@import' | head -n 3 | grep .; then fail "$f shows an address"; fi
	n=$((n + 1))
done
grep -q "KEEPclass" "$WORK/red.json" || fail "the message class was redacted (it is kept for diagnosis)"
grep -q '"role": "inbox"' "$WORK/red.json" || fail "the roles were redacted"
grep -q '\[inbox\]' "$WORK/red.txt" || fail "the Inbox's own name is not shown as its role"
grep -q '"hmac:[0-9a-f]\{16\}"' "$WORK/red.json" || fail "no keyed hash in the redacted report"
# One key file gives the same hashes in two reports (a scan and a diff of its snapshots).
"$PY" - "$WORK/redkey.json" "$WORK/diffred.json" <<'PY' || fail "one key gave different hashes"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["sides"][0]["mailbox"] == b["sides"][0]["mailbox"], (a["sides"][0]["mailbox"], b["sides"][0]["mailbox"])
fa = sorted(f.get("subject", "") for f in a["findings"])
fb = sorted(f.get("subject", "") for f in b["findings"])
assert set(fa) & set(fb) - {""}, (fa, fb)
PY
"$PY" "$ROOT/test/report/validate.py" "$ROOT/docs/report.schema.json" "$WORK/red.json" "$WORK/redkey.json" \
	"$WORK/diffred.json" || fail "the redacted reports do not validate"
echo "redaction: no planted marker in $n redacted outputs (JSON, text, HTML)"
