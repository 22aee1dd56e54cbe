#!/bin/sh
# Each fault mode does what it says, checked by a raw client (status codes, headers, bodies);
# the request log and the counters record it.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox bob@example.com --folders 25 --items 20 -o "$WORK/bob.jsonl" || fail "genmailbox"
A="--mailbox $DATA/alice.jsonl --mailbox $WORK/bob.jsonl $(users_args)"
run() { # MODE SERVER-OPTIONS...
	mode=$1; shift
	start_server "$mode" $A "$@"
	"$PY" "$EWS_TESTS/faults.py" "$mode" "$PORT" || fail "fault mode $mode"
	stop_server "$SERVER_PID"
}
run busy --busy-every 3 --busy-backoff-ms 1234 --log "$WORK/busy.log" --stats-file "$WORK/busy.stats"
run http503 --http503-every 2 --retry-after 7
run http429 --http429-every 2 --retry-after 7
run http500 --http500-every 2
run drop --drop-every 2
run malformed --malformed-every 2
run latency --latency-ms 150
run deny --deny-folder calendar --deny-folder "alice@example.com:/Top of Information Store/Tasks" \
	--folder-error sentitems=ErrorMailboxStoreUnavailable
run scope --busy-every 1 --fault-mailbox bob@example.com
run http --max-request-bytes 4096
run busymsg --busy-every 2 --busy-style message --busy-code ErrorExceededConnectionCount --busy-backoff-ms 77
run wrongop --wrong-operation-every 2
run opaque --opaque-ids
run herr --hierarchy-error inbox=ErrorCorruptData
# a mailbox whose subjects hold characters XML 1.0 forbids
"$PY" - "$DATA/alice.jsonl" "$WORK/ctl.jsonl" <<'PYEOF'
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("type") == "item" and o.get("subject"):
        o["subject"] = "a\x00b\x1ac " + o["subject"]
    out.write(json.dumps(o) + "\n")
PYEOF
start_server charrefs --bad-char-refs --mailbox "$WORK/ctl.jsonl" $(users_args)
"$PY" "$EWS_TESTS/faults.py" charrefs "$PORT" || fail "fault mode charrefs"
stop_server "$SERVER_PID"

# The log has one JSON line per request, the stats file the counters, both written by the busy run.
"$PY" - "$WORK/busy.log" "$WORK/busy.stats" <<'PYEOF' || fail "log and stats"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 6, len(lines)
for l in lines:
    assert {"op", "status", "duration_ms", "bytes_in", "bytes_out"} <= set(l), l
assert [l["status"] for l in lines] == [200, 200, 500, 200, 200, 500]
assert [l["fault"] for l in lines].count("busy") == 2
st = json.load(open(sys.argv[2]))
assert st["operations"] == {"FindItem": 6} and st["faults"] == {"busy": 2} and st["requests"] == 6, st
print("log: 6 JSON lines (op, status, duration, bytes); stats file:", st["status"], st["faults"])
PYEOF
# An unusable option or mailbox is refused with a message, not served half-way.
"$PY" "$SERVER" --port 0 --mailbox "$DATA/alice.jsonl" $(users_args) --deny-folder nowhere >/dev/null 2>"$WORK/err" &&
	fail "--deny-folder nowhere was accepted"
grep -q 'matches no folder' "$WORK/err" || fail "no message for --deny-folder nowhere"
head -n 3 "$DATA/alice.jsonl" >"$WORK/cut.jsonl"
"$PY" "$SERVER" --port 0 --mailbox "$WORK/cut.jsonl" $(users_args) >/dev/null 2>"$WORK/err" && fail "incomplete snapshot served"
grep -q 'no end line' "$WORK/err" || fail "no message for an incomplete snapshot"
echo "bad options and incomplete mailbox files are refused"
