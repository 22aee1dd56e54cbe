# Fault modes of the test server: throttling (ErrorServerBusy with BackOffMilliseconds, 503 and
# 429 with Retry-After), 500 without a body, dropped connections, malformed XML and latency are
# retried and the snapshot comes out whole; a folder that answers ErrorAccessDenied is reported
# and the rest goes on; credentials that expire halfway stop the run with nothing written; a
# server that never recovers leaves its folders reported, never silently missing.
. "$(dirname "$0")/lib.sh"
$PY "$GEN" --mailbox alice@example.com --folders 30 --items 800 --seed 3 -o "$WORK/mbx.jsonl"
pw=$(secret_file pw alice-pw-1)
args() { echo --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" --page-size 50; }

for fault in "--busy-every 4 --busy-backoff-ms 50" "--http503-every 5 --retry-after 1" \
	"--http429-every 5 --retry-after 0" "--http500-every 4" "--drop-every 4" "--malformed-every 4" \
	"--latency-ms 15"; do
	k=$((${k:-0} + 1))
	start_server "fault$k" $fault --mailbox "$WORK/mbx.jsonl" $(users_args)
	client fault $(args) --concurrency 3 -o "$WORK/snap.jsonl"
	expect_rc 0 "server fault $fault"
	$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/snap.jsonl" --no-associated >/dev/null ||
		fail "snapshot incomplete after $fault"
	retries=$(sed -n 's/.* \([0-9]*\) retries.*/\1/p' "$WORK/fault.log")
	case "$fault" in --latency*) ;; *) [ "${retries:-0}" -gt 0 ] || fail "no retry counted for $fault" ;; esac
	echo "survived $fault: $(tail -n 1 "$WORK/fault.log" | sed 's/^ostrecon: //')"
	stop_server "$SERVER_PID"
done

# A folder denied: reported as an error line, every other folder complete, exit 2.
start_server deny --deny-folder inbox --mailbox "$WORK/mbx.jsonl" $(users_args)
client deny $(args) -o "$WORK/snap.jsonl"
expect_rc 2 "a denied folder"
$PY - "$WORK/snap.jsonl" "$WORK/mbx.jsonl" <<'PY' || fail "the denied folder is not reported as designed"
import json, sys
snap = [json.loads(l) for l in open(sys.argv[1])]
mbx = [json.loads(l) for l in open(sys.argv[2])]
inbox = [o for o in snap if o['type'] == 'folder' and o.get('name') == 'Inbox'][0]
errs = [o for o in snap if o['type'] == 'error']
assert len(errs) == 1 and errs[0]['id'] == inbox['id'] and errs[0]['code'] == 'access_denied', errs
inbox_key = inbox['key']
m_inbox = [o for o in mbx if o['type'] == 'folder' and o.get('key') == inbox_key][0]
want = sum(1 for o in mbx if o['type'] == 'item' and not o.get('associated') and o['folder_id'] != m_inbox['id'])
got = sum(1 for o in snap if o['type'] == 'item')
assert got == want, (got, want)
print('denied folder reported; %d items of the other folders all there' % got)
PY

# Credentials that expire halfway: a clear error, exit 3, no snapshot.
start_server expire --expire-after 6 --mailbox "$WORK/mbx.jsonl" $(users_args)
client expire $(args) -o "$WORK/expired.jsonl"
expect_rc 3 "credentials expiring halfway"
grep -q "refused the credentials" "$WORK/expire.log" || fail "no clear message: $(cat "$WORK/expire.log")"
[ ! -e "$WORK/expired.jsonl" ] || fail "a snapshot was written although the run failed"
ls "$WORK" | grep -q 'expired.jsonl.tmp' && fail "a temporary file was left behind"

# A server that fails every request: retries run out, nothing is written.
start_server hopeless --http500-every 1 --mailbox "$WORK/mbx.jsonl" $(users_args)
client hopeless $(args) --retries 2 -o "$WORK/hopeless.jsonl"
expect_rc 3 "a server that never answers"
grep -q "failed after 3 attempts" "$WORK/hopeless.log" || fail "retries not bounded as configured"
# A server that throttles every request: retried as told until the retry deadline, then given up.
start_server throttled --http503-every 1 --retry-after 1 --mailbox "$WORK/mbx.jsonl" $(users_args)
t0=$(date +%s)
client throttled $(args) --retry-deadline 3 -o "$WORK/throttled.jsonl"
expect_rc 3 "a server that throttles every request"
grep -q "at the retry deadline (3 s)" "$WORK/throttled.log" || fail "no retry deadline: $(cat "$WORK/throttled.log")"
[ $(($(date +%s) - t0)) -le 20 ] || fail "the retry deadline was not kept"
echo "faults: all modes survived or reported as designed"
