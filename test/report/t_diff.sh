# ostrecon diff and ostrecon report on generated scenario snapshots: exit codes, verdicts and
# findings, the JSON report against docs/report.schema.json (and its pairs keyed by side label),
# text at 80 columns, redaction. test/report/t_text.sh holds the text report's layout and wording.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || { echo "python3-jsonschema is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1
fail=0
bad() { echo "FAIL $*"; fail=1; }

# The two reports hold the same bytes but for when they were made and how long it took.
same_report() { # A B
	sed -e '/^ "generated": /d' -e '/^ "timings": {/,$d' "$1" >"$1.cmp"
	sed -e '/^ "generated": /d' -e '/^ "timings": {/,$d' "$2" >"$2.cmp"
	cmp -s "$1.cmp" "$2.cmp"
}
# The findings are written without building a tree each; OSTRECON_TEST_FINDINGS_TREE builds the
# trees (the reference): both must give the same report. tree_same NAME DIFF-ARGUMENTS...
tree_same() {
	name=$1; shift
	"$OSTRECON" diff "$@" -o "$tmp/direct.json" >/dev/null 2>&1
	OSTRECON_TEST_FINDINGS_TREE=1 "$OSTRECON" diff "$@" -o "$tmp/tree.json" >/dev/null 2>&1
	same_report "$tmp/direct.json" "$tmp/tree.json" ||
		{ bad "$name: the findings written without a tree differ from the trees'"; diff "$tmp/direct.json.cmp" "$tmp/tree.json.cmp" | head; }
}
# jq-like access to a report: q REPORT PYTHON-EXPRESSION-ON-r
q() { $PY -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# The unexpected findings, as sorted "kind/side_label" words.
kinds() { q "$1" '" ".join(sorted(f["kind"] + "/" + f.get("side_label", "-") for f in r["findings"] if not f["expected"]))'; }
expected_reasons() { q "$1" '" ".join(sorted(set(f["reason"] for f in r["findings"] if f["expected"])))'; }
fits80() { # FILE WHAT: no line wider than 80 columns (code points, as a terminal shows them)
	$PY - "$1" "$2" <<'PY' || fail=1
import sys
bad = 0
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if len(line) > 80:
        print("FAIL %s: line %d has %d columns: %s" % (sys.argv[2], n, len(line), line))
        bad = 1
sys.exit(bad)
PY
}

scenario() { # NAME WANT-EXIT WANT-VERDICT WANT-KINDS [diff options...]
	name=$1 want_rc=$2 want_verdict=$3 want_kinds=$4; shift 4
	d="$tmp/$name"
	mkdir -p "$d"
	$PY "$here/gen.py" "${name%%-*}" "$d" || { bad "$name: generator"; return; }
	"$OSTRECON" diff "$d/server.jsonl" "$d/cache.jsonl" -o "$d/report.json" "$@" >"$d/text" 2>"$d/err"
	rc=$?
	[ $rc -eq "$want_rc" ] || { bad "$name: exit $rc, expected $want_rc"; cat "$d/err"; }
	[ -f "$d/report.json" ] || { bad "$name: no report written"; return; }
	v=$(q "$d/report.json" 'r["verdict"]')
	[ "$v" = "$want_verdict" ] || bad "$name: verdict $v, expected $want_verdict"
	k=$(kinds "$d/report.json")
	[ "$k" = "$want_kinds" ] || bad "$name: findings [$k], expected [$want_kinds]"
	[ "$(q "$d/report.json" 'r["exit_code"]')" = "$want_rc" ] || bad "$name: exit_code in the report"
	[ "$(stat -c %a "$d/report.json")" = 600 ] || bad "$name: report mode $(stat -c %a "$d/report.json"), expected 600"
	head -1 "$d/text" | grep -q "^Verdict: .* ($want_verdict, exit $want_rc)$" || bad "$name: the text does not start with the verdict: $(head -1 "$d/text")"
	fits80 "$d/text" "$name text"
	# ostrecon report renders the saved report as the same text, with the same exit code.
	"$OSTRECON" report "$d/report.json" >"$d/text2"
	rc=$?
	[ $rc -eq "$want_rc" ] || bad "$name: ostrecon report exit $rc, expected $want_rc"
	cmp -s "$d/text" "$d/text2" || { bad "$name: ostrecon report differs from diff's text"; diff "$d/text" "$d/text2" | head; }
	"$OSTRECON" report --all "$d/report.json" >"$d/text3"
	fits80 "$d/text3" "$name text --all"
	tree_same "$name" "$d/server.jsonl" "$d/cache.jsonl" "$@"
}

scenario insync 0 in_sync ""
scenario mixed 1 resync_folders \
	"item_changed/- item_changed/cache item_missing/cache item_missing/cache item_missing/server item_moved/-"
scenario mixed-window 1 resync_folders \
	"item_changed/- item_changed/cache item_missing/cache item_missing/cache item_missing/server item_moved/-" \
	--sync-window 3m
scenario mixed-all 1 resync_folders \
	"item_changed/- item_changed/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/server item_moved/-" \
	--sync-window all
scenario damaged 1 rebuild_ost "count_mismatch/cache file_damaged/cache file_damaged/cache item_unreadable/cache"
scenario incomplete 2 incomplete "source_incomplete/server"
scenario widespread 1 rebuild_ost \
	"item_missing/cache item_missing/cache item_missing/cache item_missing/cache item_missing/cache"

# The details the scenario promises.
r="$tmp/mixed/report.json"
[ "$(expected_reasons "$r")" = "client_side_folder local_only_content non_ipm_folder sync_window" ] ||
	bad "mixed: expected reasons [$(expected_reasons "$r")]"
[ "$(q "$r" 'r["sync_window"]["mode"], r["sync_window"]["applied"], r["sync_window"]["items_outside"]')" = "('inferred', True, 6)" ] ||
	bad "mixed: sync window $(q "$r" 'r["sync_window"]')"
[ "$(q "$r" '[f["newer"] for f in r["findings"] if f["kind"] == "item_changed" and f.get("side_label") == "cache"]')" = "['cache']" ] ||
	bad "mixed: the read change is not newer in the cache"
[ "$(q "$r" '[e["property"] for f in r["findings"] if f["kind"] == "item_changed" for e in f["evidence"]]')" = "['read', 'subject']" ] ||
	bad "mixed: evidence $(q "$r" '[f.get("evidence") for f in r["findings"] if f["kind"] == "item_changed"]')"
# The moved item's folders as the user sees them, by position and by side label.
[ "$(q "$r" '[(e["values"], e["value"]) for f in r["findings"] if f["kind"] == "item_moved" for e in f["evidence"]]')" = \
	"[(['Inbox/Projects', 'Inbox'], {'server': 'Inbox/Projects', 'cache': 'Inbox'})]" ] ||
	bad "mixed: moved item evidence $(q "$r" '[f["evidence"] for f in r["findings"] if f["kind"] == "item_moved"]')"
# The three jq recipes of docs/REPORT.md, taken from it and run with jq (when it is there), give
# what the report holds.
if command -v jq >/dev/null 2>&1; then
	awk '/^\*\*jq recipes\*\*/{on=1; next} on && /^    jq /{if (cmd) print cmd; cmd=substr($0, 5); next}
	     on && /^           /{cmd=cmd " " substr($0, 12); next} on && cmd && /^$/{print cmd; exit}' \
		"$root/docs/REPORT.md" >"$tmp/recipes"
	[ "$(wc -l <"$tmp/recipes")" -eq 3 ] || bad "docs/REPORT.md: $(wc -l <"$tmp/recipes") jq recipes found, expected 3"
	k=0
	while IFS= read -r cmd; do
		k=$((k + 1))
		sh -c "$(printf '%s' "$cmd" | sed "s|R.json|'$r'|")" >"$tmp/recipe$k" 2>&1 || bad "jq recipe $k failed: $(cat "$tmp/recipe$k")"
	done <"$tmp/recipes"
	$PY - "$r" "$tmp" <<'PY' || fail=1
import json, sys
r, tmp = json.load(open(sys.argv[1])), sys.argv[2]
want = [
    ["%s\t%d missing in the cache" % (f["folder"], f["missing_on"][1]) for f in r["folders"] if f["findings"] > 0],
    ["\t".join([f["folder"], f["subject"], f["date"]]) for f in r["findings"]
     if f["kind"] == "item_missing" and f["side_label"] == "cache" and not f["expected"]],
    ["\t".join([e["folder"], e["subject"], e["date"], "unverified" if e["unverified"] else ""])
     for e in r["export_before_rebuild"]],
]
for k, w in enumerate(want, 1):
    got = open("%s/recipe%d" % (tmp, k)).read().rstrip("\n").split("\n")
    if got != w or not w:
        sys.exit("FAIL jq recipe %d gave %r, the report holds %r" % (k, got, w))
PY
fi
[ "$(q "$r" 'sorted(f["class"] for f in r["findings"] if f["kind"] == "item_missing" and not f["expected"] and f["side_label"] == "cache")')" = "['IPM.Appointment', 'IPM.Note']" ] ||
	bad "mixed: the old calendar item is not a real finding"
[ "$(q "$r" '[(e["subject"], e["folder"]) for e in r["export_before_rebuild"]]')" = "[('Inbox message 4', 'Inbox')]" ] ||
	bad "mixed: export list $(q "$r" 'r["export_before_rebuild"]')"
[ "$(q "$r" 'r["advice"]["folders"]')" = "['Calendar', 'Inbox', 'Inbox/Projects']" ] ||
	bad "mixed: resync folders $(q "$r" 'r["advice"]["folders"]')"
grep -q "^Export before rebuilding:" "$tmp/mixed/text" || bad "mixed: the text has no export list"
[ "$(q "$tmp/mixed-window/report.json" 'r["sync_window"]["mode"], r["sync_window"]["cutoff"]')" = "('given', '2026-07-31T00:00:00Z')" ] ||
	bad "mixed-window: $(q "$tmp/mixed-window/report.json" 'r["sync_window"]')"
[ "$(q "$tmp/incomplete/report.json" 'sum(f["kind"] == "item_missing" for f in r["findings"]), r["summary"]["unverified"]')" = "(0, 4)" ] ||
	bad "incomplete: a folder the server could not read yields missing items"
[ "$(q "$tmp/widespread/report.json" 'r["advice"]["widespread"], r["advice"]["affected_folders"]')" = "(True, 5)" ] ||
	bad "widespread: $(q "$tmp/widespread/report.json" 'r["advice"]')"

# Strings that must be escaped, and UTF-8 of every length, in subjects, classes and folder names,
# written without a tree as with one.
$PY - "$tmp/mixed" "$tmp/strings" <<'PY' || bad "making the snapshots with strings to escape"
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
odd = ['quote " and \\ backslash', "tab\there\nnewline\r\x01\x1f\x7f", "\u00e9t\u00e9 \u20ac \U0001F600 / </script>", ""]
for side in ("server", "cache"):
    out = open(os.path.join(dst, side + ".jsonl"), "w", encoding="utf-8")
    for n, line in enumerate(open(os.path.join(src, side + ".jsonl"), encoding="utf-8")):
        o = json.loads(line)
        if o["type"] == "item":
            o["subject"] = odd[n % len(odd)] + (" " + side if n % 3 == 0 else "")
            o["class"] = o.get("class", "IPM.Note") + ("." + odd[2] if side == "cache" and n % 5 == 0 else "")
        elif o["type"] == "folder" and o.get("name") == "Projects":
            o["name"] = odd[0] + " " + side
        out.write(json.dumps(o, ensure_ascii=n % 2 == 0) + "\n")
PY
tree_same strings "$tmp/strings/server.jsonl" "$tmp/strings/cache.jsonl"
grep -q 'quote \\" and \\\\ backslash' "$tmp/direct.json" || bad "strings: the odd subjects are not in the report"
# A snapshot file keeps its subjects until the report reads back those it shows; one read from
# standard input keeps them all in memory. Either way the report is the same but for its sides.
cp "$tmp/direct.json" "$tmp/from_files.json"
"$OSTRECON" diff - "$tmp/strings/cache.jsonl" -o "$tmp/stdin0.json" <"$tmp/strings/server.jsonl" >/dev/null 2>&1
"$OSTRECON" diff "$tmp/strings/server.jsonl" - -o "$tmp/stdin1.json" <"$tmp/strings/cache.jsonl" >/dev/null 2>&1
for n in 0 1; do
	$PY - "$tmp/from_files.json" "$tmp/stdin$n.json" <<'PY' || bad "strings: the report from standard input (side $n) differs from the one from files"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
subjects = [f["subject"] for f in a["findings"] if f.get("subject")]
assert len(subjects) > 10, "too few subjects to compare"
for k in set(a) | set(b):
    if k not in ("generated", "sides", "timings") and a.get(k) != b.get(k):
        sys.exit("%s differs" % k)
PY
done

# A large comparison (items are looked up by key in two halves at once from 20,000, and the
# subjects shown are read back from the files): its counts are those of an independent comparison
# in Python (bench/diff_peer.py), and each changed subject shows as generated.
mkdir -p "$tmp/large"
$PY - "$tmp/large" <<'PY' || bad "making the large snapshots"
import os, random, sys
d = sys.argv[1]
guid = "6aa62d7a1b3ac5449d53431fbea29402"
rnd = random.Random(20)
folders = ["Inbox", "Sent Items", "Archive"]
for side, src, top in (("server", "ews", "/Top of Information Store"), ("cache", "ost", "/Root - Mailbox/IPM_SUBTREE")):
    out = open(os.path.join(d, side + ".jsonl"), "w")
    out.write('{"type":"snapshot","format":"ostrecon-snapshot","version":1,"source":"%s","mailbox":"big@example.com","captured":"2026-11-01T00:00:00Z","tool":"t"}\n' % src)
    out.write('{"type":"folder","id":"root","key":"%s000000000001","name":"root","path":"%s","role":"root"}\n' % (guid, "/" if side == "server" else "/Root - Mailbox"))
    out.write('{"type":"folder","id":"ipm","parent_id":"root","key":"%s000000000002","name":"top","path":"%s","role":"msgfolderroot"}\n' % (guid, top))
    for i, f in enumerate(folders):
        out.write('{"type":"folder","id":"f%d","parent_id":"ipm","key":"%s%012x","name":"%s","path":"%s/%s","class":"IPF.Note","role":"%s"}\n' % (i, guid, 0x100 + i, f, top, f, f.lower().replace(" ", "")))
    n = 0
    r = random.Random(7)
    for k in range(30000):
        x = r.random()
        if side == "cache" and x < 0.01 or side == "server" and 0.01 <= x < 0.02:
            continue
        fo = k % 3
        if side == "cache" and 0.02 <= x < 0.03:
            fo = (fo + 1) % 3
        read = "false" if side == "cache" and 0.03 <= x < 0.05 else "true"
        subject = 'S%d \\"q\\"%s' % (k, " changed" if side == "cache" and 0.05 <= x < 0.06 else "")
        out.write('{"type":"item","id":"%s%d","folder_id":"f%d","key":"%s%012x","class":"IPM.Note","subject":"%s","received":"2026-10-%02dT09:30:00Z","read":%s,"size":%d}\n'
                  % ("nid:" if side == "cache" else "AAMk", k, fo, guid, 0x100000 + k, subject, 1 + k % 28, read, 100 + k))
        n += 1
    out.write('{"type":"end","folders":5,"items":%d,"errors":0}\n' % n)
PY
"$OSTRECON" -q diff "$tmp/large/server.jsonl" "$tmp/large/cache.jsonl" -o "$tmp/large/report.json" >/dev/null 2>&1
[ $? -eq 1 ] || bad "large: exit code"
$PY "$root/bench/diff_peer.py" "$tmp/large/server.jsonl" "$tmp/large/cache.jsonl" >"$tmp/large/peer" || bad "large: the peer failed"
$PY - "$tmp/large/report.json" "$tmp/large/peer" <<'PY' || bad "large: the report disagrees with the peer"
import json, re, sys
r = json.load(open(sys.argv[1]))
peer = open(sys.argv[2]).read().split()
s = r["summary"]
want = ((int(peer[3].split("/")[0]), int(peer[3].split("/")[1])), int(peer[5]) + int(peer[7]))
got = (tuple(s["missing_on"]), s["differing"])
assert got == want and want[0][0] > 250 and want[1] > 800, "report %s, peer %s" % (got, " ".join(peer))
changed = 0
for f in r["findings"]:
    for e in f.get("evidence", []):
        if e.get("property") == "subject":
            a, b = e["values"]
            k = re.match(r"S(\d+) ", a).group(1)
            assert a == 'S%s "q"' % k and b == 'S%s "q" changed' % k, (a, b)
            changed += 1
    if f["kind"] == "item_missing":
        assert re.fullmatch(r'S\d+ "q"', f["subject"]), f["subject"]
assert changed > 250, changed
PY

# Every report validates against the schema, and so does --json on standard output.
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --json >"$tmp/stdout.json"
[ $? -eq 1 ] || bad "--json: exit code"
$PY "$here/validate.py" "$root/docs/report.schema.json" "$tmp"/*/report.json "$tmp/stdout.json" || bad "schema validation"

# Redaction: no subject and no address survives; one key file gives the same hashes twice.
secrets="Inbox message|Renamed on the server|Old newsletter|Old board meeting|Synchronization log|Project note|alice.secret|@mail.example.com"
head -c 32 /dev/urandom >"$tmp/key"
for run in 1 2; do
	"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --redact="$tmp/key" -o "$tmp/red$run.json" >"$tmp/red$run.txt"
	grep -Eq "$secrets" "$tmp/red$run.json" "$tmp/red$run.txt" && bad "redaction: a subject or address survives: $(grep -Eo "$secrets" "$tmp/red$run.json" "$tmp/red$run.txt" | sort -u | head -3)"
done
h1=$(q "$tmp/red1.json" 'sorted(f.get("subject", "") for f in r["findings"])')
h2=$(q "$tmp/red2.json" 'sorted(f.get("subject", "") for f in r["findings"])')
[ "$h1" = "$h2" ] || bad "redaction: one key gave different hashes"
echo "$h1" | grep -q "hmac:[0-9a-f]\{16\}" || bad "redaction: no hashes in $h1"
[ "$(q "$tmp/red1.json" 'r["redaction"]')" = "{'method': 'hmac-sha256', 'key': 'file'}" ] || bad "redaction: not recorded"
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --redact -o "$tmp/red3.json" >/dev/null
h3=$(q "$tmp/red3.json" 'sorted(f.get("subject", "") for f in r["findings"])')
[ "$h3" != "$h1" ] || bad "redaction: a per-run key gave the key file's hashes"
grep -Eq "$secrets" "$tmp/red3.json" && bad "redaction (per-run key): a subject or address survives"
$PY "$here/validate.py" "$root/docs/report.schema.json" "$tmp/red1.json" "$tmp/red3.json" || bad "schema validation (redacted)"

# Colour only on a terminal, and never with NO_COLOR (script(1) gives the command a terminal).
esc=$(printf '\033')
grep -q "$esc" "$tmp/mixed/text" && bad "colour written to a file"
if command -v script >/dev/null 2>&1; then
	env -u NO_COLOR script -qec "'$OSTRECON' report '$tmp/mixed/report.json'" /dev/null >"$tmp/tty.txt" 2>&1
	grep -q "$esc\[" "$tmp/tty.txt" || bad "no colour on a terminal"
	NO_COLOR=1 script -qec "'$OSTRECON' report '$tmp/mixed/report.json'" /dev/null >"$tmp/tty2.txt" 2>&1
	grep -q "$esc\[" "$tmp/tty2.txt" && bad "colour on a terminal despite NO_COLOR"
fi

# One mailbox, one report: a server whose folders finish in another order (several read at once)
# writes its items grouped in another order; the findings and the text must not change.
$PY - "$tmp/mixed/server.jsonl" "$tmp/reordered.jsonl" <<'PY' || bad "reordering the snapshot"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
items, order, rest = {}, [], []
for line in lines:
    o = json.loads(line)
    if o["type"] == "item":
        f = o["folder_id"]
        if f not in items:
            items[f] = []
            order.append(f)
        items[f].append(line)
    else:
        rest.append(line)
if len(order) < 2:
    sys.exit("the snapshot has items in fewer than 2 folders")
out = rest[:-1] + [l for f in reversed(order) for l in items[f]] + rest[-1:]
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
"$OSTRECON" diff "$tmp/reordered.jsonl" "$tmp/mixed/cache.jsonl" -o "$tmp/reordered.json" >"$tmp/reordered.text"
cmp -s "$tmp/mixed/text" "$tmp/reordered.text" || { bad "folders finishing in another order change the text report"; diff "$tmp/mixed/text" "$tmp/reordered.text" | head; }
f1=$(q "$tmp/mixed/report.json" 'json.dumps(r["findings"])')
f2=$(q "$tmp/reordered.json" 'json.dumps(r["findings"])')
[ -n "$f1" ] && [ "$f1" = "$f2" ] || bad "folders finishing in another order change the report's findings"
n=$(q "$tmp/mixed/report.json" 'len(set(f["folder"] for f in r["findings"] if f["kind"].startswith("item_")))')
[ "$n" -ge 2 ] || bad "the reordering check needs item findings in 2 folders or more, the report has $n"

# Usage and errors.
"$OSTRECON" diff "$tmp/mixed/server.jsonl" >/dev/null 2>&1; [ $? -eq 64 ] || bad "diff with one file: not 64"
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --sync-window 12x >/dev/null 2>&1
[ $? -eq 64 ] || bad "bad --sync-window: not 64"
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/nonexistent.jsonl" >/dev/null 2>&1; [ $? -eq 3 ] || bad "missing snapshot: not 3"
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --redact="$tmp/nonexistent.key" >/dev/null 2>&1
rc=$?; [ $rc -eq 3 ] || [ $rc -eq 64 ] || bad "missing key file: exit $rc"
head -n 5 "$tmp/mixed/cache.jsonl" >"$tmp/cut.jsonl"
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/cut.jsonl" >/dev/null 2>&1; [ $? -eq 3 ] || bad "truncated snapshot: not 3"
"$OSTRECON" report "$tmp/mixed/server.jsonl" >/dev/null 2>&1; [ $? -eq 3 ] || bad "report on a snapshot: not 3"
"$OSTRECON" report >/dev/null 2>&1; [ $? -eq 64 ] || bad "report without a file: not 64"
exit $fail
