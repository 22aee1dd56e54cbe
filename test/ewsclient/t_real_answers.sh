# What real Exchange servers send, from the test server, against the client (docs/QUIRKS.md):
#  - characters XML 1.0 forbids as character references: items and folders kept, repaired
#    (U+FFFD) and noted on their snapshot lines, nothing retried;
#  - throttling in a normal response message, BackOffMilliseconds after other values: honoured;
#    ErrorExceededConnectionCount and ErrorTooManyObjectsOpened retried as throttling;
#  - transient codes (ErrorTimeoutExpired) retried a bounded number of times, then reported;
#  - the answer to another operation (GetItem for SyncFolderItems): refused, not read as items,
#    not retried;
#  - a folder whose subfolders cannot be listed: the pull completes, that folder is an error line;
#  - ids of a layout the client cannot read and no PidTagSourceKey (open-source servers): the
#    scan completes, items pair by the heuristic, and the report names the folders without keys.
. "$(dirname "$0")/lib.sh"
OSTWRITE="$TOOLS_DIR/ostwrite"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built ($OSTWRITE)"
pw=$(secret_file pw alice-pw-1)
args() { echo --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw"; }

# A small mailbox whose subjects and folder names hold &#x0;, &#x10;, &#x1A;.
$PY "$GEN" --mailbox alice@example.com --folders 26 --items 120 --seed 5 -o "$WORK/plain.jsonl"
$PY - "$WORK/plain.jsonl" "$WORK/mbx.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w", encoding="utf-8")
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    if o["type"] == "item" and n < 12 and o.get("subject"):
        o["subject"] = o["subject"][:5] + ["\x00", "\x10", "\x1a"][n % 3] + o["subject"][5:]
        n += 1
    if o["type"] == "folder" and o.get("name", "").startswith("Project"):
        o["name"] = o["name"] + "\x1a"
    out.write(json.dumps(o) + "\n")
PY

# --- forbidden characters
start_server refs --bad-char-refs --mailbox "$WORK/mbx.jsonl" $(users_args) --dump-dir "$WORK/refs-dump"
grep -l '&#x1A;' "$WORK/refs-dump"/*-response.xml >/dev/null 2>&1 && fail "responses dumped before any request?"
client refs $(args) --page-size 25 -o "$WORK/refs.jsonl"
expect_rc 0 "character references XML 1.0 forbids"
grep -q '&#x0;' "$WORK/refs-dump"/*-response.xml || fail "the server did not send &#x0;"
grep -q ' 0 retries' "$WORK/refs.log" || fail "a repaired response was retried: $(tail -1 "$WORK/refs.log")"
$PY - "$WORK/mbx.jsonl" "$WORK/refs.jsonl" <<'PY' || fail "forbidden characters not repaired as designed"
import json, sys
mbx = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
snap = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
want = {o["key"]: o for o in mbx if o["type"] in ("item", "folder") and "key" in o}
bad = [o for o in want.values() if any(c in o.get("subject", o.get("name", "")) for c in "\x00\x10\x1a")]
assert len(bad) >= 12 + 3, len(bad)
got = {o["key"]: o for o in snap if o["type"] in ("item", "folder")}
assert not [o for o in snap if o["type"] == "error"], "error lines"
assert sum(1 for o in mbx if o["type"] == "item" and not o.get("associated")) == sum(1 for o in snap if o["type"] == "item")
for o in bad:
    s = got[o["key"]]
    field = "subject" if o["type"] == "item" else "name"
    fixed = "".join("\ufffd" if c in "\x00\x10\x1a" else c for c in o[field])
    assert s[field] == fixed, (s[field], fixed)
    assert s.get("repaired") == [field], s
clean = [o for o in snap if o["type"] == "item" and o["key"] not in {b["key"] for b in bad}]
assert clean and not [o for o in clean if "repaired" in o]
print("%d items and folders with &#x0;/&#x10;/&#x1A; kept, repaired and noted; nothing retried" % len(bad))
PY
stop_server "$SERVER_PID"

# --- throttling in response messages, BackOffMilliseconds named after other values
start_server busymsg --busy-every 5 --busy-style message --busy-backoff-ms 1200 --mailbox "$WORK/plain.jsonl" $(users_args)
client busymsg $(args) --page-size 25 -v -o "$WORK/busymsg.jsonl"
expect_rc 0 "ErrorServerBusy in response messages"
$PY "$CLIENT_TESTS/compare.py" "$WORK/plain.jsonl" "$WORK/busymsg.jsonl" --no-associated >/dev/null || fail "incomplete after busy messages"
waits=$(sed -n 's/.*the server is busy (ErrorServerBusy); retrying in \([0-9]*\) ms.*/\1/p' "$WORK/busymsg.log")
[ -n "$waits" ] || fail "no throttled retry logged: $(grep -i busy "$WORK/busymsg.log" | head -3)"
for w in $waits; do [ "$w" -ge 1200 ] || fail "BackOffMilliseconds 1200 not honoured: waited $w ms"; done
echo "ErrorServerBusy in response messages: $(echo $waits | wc -w) retries, each after >= 1200 ms"
# the retry lines name the folder the request is for, not only the operation
grep -q 'SyncFolderItems (/[^)]*): the server is busy' "$WORK/busymsg.log" ||
	fail "the retry lines do not name the folder: $(grep -m1 'retrying in' "$WORK/busymsg.log")"
stop_server "$SERVER_PID"
for code in ErrorExceededConnectionCount ErrorTooManyObjectsOpened; do
	start_server "$code" --busy-every 4 --busy-code "$code" --busy-backoff-ms 50 --mailbox "$WORK/plain.jsonl" $(users_args)
	client "$code" $(args) --page-size 25 --retries 0 -v -o "$WORK/$code.jsonl"
	expect_rc 0 "$code"
	grep -q "the server is busy ($code)" "$WORK/$code.log" || fail "$code not read as throttling"
	$PY "$CLIENT_TESTS/compare.py" "$WORK/plain.jsonl" "$WORK/$code.jsonl" --no-associated >/dev/null || fail "incomplete after $code"
	echo "$code: retried as throttling (with --retries 0), complete"
	stop_server "$SERVER_PID"
done

# --- a transient code: retried (bounded), then the folder is reported; the rest is complete
start_server transient --folder-error "inbox=ErrorTimeoutExpired" --mailbox "$WORK/plain.jsonl" $(users_args) \
	--log "$WORK/transient-requests.jsonl"
client transient $(args) --retries 2 -v -v -o "$WORK/transient.jsonl"
expect_rc 2 "a folder answering ErrorTimeoutExpired"
n=$($PY -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['op'] == 'SyncFolderItems'))" "$WORK/transient-requests.jsonl")
grep -q '"type":"error".*ErrorTimeoutExpired' "$WORK/transient.jsonl" || fail "the folder's error is not reported"
grep -q "failed after 3 attempts" "$WORK/transient.jsonl" || fail "ErrorTimeoutExpired not retried as configured"
# each request's log line names its folder: the Inbox's three, and the distinguished folders' GetFolder
inbox=$(grep -c 'SyncFolderItems (/Top of Information Store/Inbox) #[0-9]*: HTTP' "$WORK/transient.log")
[ "$inbox" = 3 ] || fail "$inbox request lines name the Inbox, not 3: $(grep -m2 'SyncFolderItems.*HTTP' "$WORK/transient.log")"
grep -q 'GetFolder (the distinguished folders) #[0-9]*: HTTP' "$WORK/transient.log" ||
	fail "the GetFolder line does not say what it is for: $(grep -m1 'GetFolder.*HTTP' "$WORK/transient.log")"
echo "ErrorTimeoutExpired: retried 2 times, then reported ($n SyncFolderItems requests; their log lines name the folder)"
stop_server "$SERVER_PID"

# --- the answer to another operation: refused, not retried, nothing read from it
start_server wrongop --wrong-operation-every 7 --mailbox "$WORK/plain.jsonl" $(users_args) --log "$WORK/wrongop-requests.jsonl"
client wrongop $(args) --page-size 25 --concurrency 1 -o "$WORK/wrongop.jsonl"
expect_rc 2 "answers to another operation"
$PY - "$WORK/wrongop.jsonl" "$WORK/wrongop-requests.jsonl" <<'PY' || fail "answers to another operation not refused as designed"
import json, sys
snap = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
reqs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
errs = [o for o in snap if o["type"] == "error"]
hit = [r for r in reqs if r.get("fault") == "wrongop"]
assert hit and len(errs) == len([r for r in hit if r["op"] in ("SyncFolderItems",)]), (len(errs), hit)
for e in errs:
    assert "answered GetItem to a SyncFolderItems request" in e["message"], e
print("%d answers to another operation refused (%d folder errors), none read as items" % (len(hit), len(errs)))
PY
grep -q ' 0 retries' "$WORK/wrongop.log" || fail "an answer to another operation was retried: $(tail -1 "$WORK/wrongop.log")"
stop_server "$SERVER_PID"

# --- a folder whose subfolders cannot be listed: the rest of the tree is pulled
start_server herr --hierarchy-error "inbox=ErrorCorruptData" --mailbox "$WORK/plain.jsonl" $(users_args)
client herr $(args) --page-size 25 -o "$WORK/herr.jsonl"
expect_rc 2 "a folder whose subfolders cannot be listed"
$PY - "$WORK/plain.jsonl" "$WORK/herr.jsonl" <<'PY' || fail "one folder's listing error is not handled as designed"
import json, sys
mbx = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
snap = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
inbox = [o for o in mbx if o["type"] == "folder" and o.get("role") == "inbox"][0]
below = {inbox["id"]}
for _ in range(10):
    below |= {o["id"] for o in mbx if o["type"] == "folder" and o.get("parent_id") in below}
want = {o["key"] for o in mbx if o["type"] == "folder" and (o["id"] not in below or o["id"] == inbox["id"])}
got = {o["key"] for o in snap if o["type"] == "folder"}
assert want <= got, "folders missing: %d" % len(want - got)
errs = [o for o in snap if o["type"] == "error"]
assert len(errs) == 1 and errs[0]["code"] == "protocol" and "subfolders could not be listed" in errs[0]["message"], errs
assert errs[0].get("path", "").endswith("Inbox"), errs
print("the Inbox's subfolders could not be listed: reported at %s, the other %d folders pulled" % (errs[0]["path"], len(got)))
PY
stop_server "$SERVER_PID"

# --- no keys at all: opaque ids, no PidTagSourceKey; a scan pairs by the heuristic and says so
"$OSTWRITE" "$ROOT/test/fixtures/writer_small.json" --format ost4k -o "$WORK/small.ost" || fail "ostwrite"
"$OSTWRITE" --expand "$ROOT/test/fixtures/writer_small.json" -o "$WORK/small.jsonl" || fail "ostwrite --expand"
for mode in keys opaque; do
	extra=""
	[ $mode = opaque ] && extra=--opaque-ids
	start_server "$mode" $extra --mailbox "$WORK/small.jsonl" $(users_args)
	timeout 300 "$OSTRECON" scan --ost "$WORK/small.ost" $(args) --no-progress -o "$WORK/$mode.json" \
		--keep-snapshots "$WORK/$mode-snaps" >"$WORK/$mode.txt" 2>"$WORK/$mode.err"
	echo $? >"$WORK/$mode.rc"
	stop_server "$SERVER_PID"
done
[ "$(cat "$WORK/keys.rc")" = 0 ] || { cat "$WORK/keys.err"; fail "scan with keys: exit $(cat "$WORK/keys.rc")"; }
[ "$(cat "$WORK/opaque.rc")" = 0 ] || { cat "$WORK/opaque.err" "$WORK/opaque.txt"; fail "scan without keys: exit $(cat "$WORK/opaque.rc")"; }
$PY - "$WORK/keys.json" "$WORK/opaque.json" "$WORK/opaque-snaps" <<'PY' || fail "keyless pairing not reported as designed"
import glob, json, sys
keys, opaque = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert keys["verdict"] == opaque["verdict"] == "in_sync", (keys["verdict"], opaque["verdict"])
assert not [r for r in keys["folders"] if "keyless" in r], "keyless with keys"
rows = [r for r in opaque["folders"] if "keyless" in r]
assert rows and all(r["keyless"][0] == r["count"][0] and r["keyless"][1] == 0 for r in rows), rows
assert all(r["keyless_on"] == {"server": r["keyless"][0], "cache": r["keyless"][1]} for r in rows), rows
pairs = opaque["summary"].get("item_pairs", {})
assert pairs.get("heuristic", 0) > 0 and not pairs.get("key"), pairs
snap = [json.loads(l) for f in glob.glob(sys.argv[3] + "/*.jsonl") for l in open(f) if '"source":"ews"' in open(f).readline()]
items = [o for o in snap if o["type"] == "item"]
assert items and all("key" not in o and o.get("key_origin", "none") == "none" for o in items), items[:1]
print("no keys: in sync by the heuristic (%d pairs), %d folders say so" % (pairs["heuristic"], len(rows)))
PY
# the keyless counts follow the report's conventions: the schema, and the twin keyed by side label
$PY "$ROOT/test/report/validate.py" "$ROOT/docs/report.schema.json" "$WORK/opaque.json" ||
	fail "the report with keyless counts does not validate"
grep -q "No source keys on the server side" "$WORK/opaque.txt" || fail "the text report does not name the folders without keys"
grep -q "No source keys" "$WORK/keys.txt" && fail "the text report claims missing keys where there are keys"
echo "real answers: all handled as designed"
