#!/bin/sh
# Fault modes: 429/503 every N with (fractional) Retry-After and their scope, the per-mailbox
# concurrency limit, 410 on tokens (every N, once per folder, resyncRequired with a Location),
# quota exceeded on delta, OData disabled, the mailbox API refused, $expand failing on delta, a
# user without mailbox, token expiry, dropped connections, truncated and malformed JSON, a 20 MB
# value, --folder-error with latency; keep-alive, gzip, the log and counters; bad options refused
# at start.
. "$(dirname "$0")/lib.sh"
F="$GRAPH_TESTS/faults.py"
for who in alice:300 bob:40 carol:20 dave:5; do
	"$PY" "$MKFIX" --mailbox "${who%%:*}@example.com" --items "${who#*:}" -o "$WORK/${who%%:*}.jsonl" || fail "mkfixture"
done
BOXES="--mailbox $WORK/alice.jsonl --mailbox $WORK/bob.jsonl --mailbox $WORK/carol.jsonl --tokens $TOKENS"

start_server every $BOXES --http429-every 3 --http503-every 5 --retry-after 0.25 --fault-mailbox alice@example.com \
	--log "$WORK/every.log" --stats-file "$WORK/every-stats.json"
"$PY" "$F" every "$PORT" || fail "429/503"
stop_server "$SERVER_PID"
grep -q '"http429": 4' "$WORK/every-stats.json" && grep -q '"http503": 3' "$WORK/every-stats.json" ||
	{ cat "$WORK/every-stats.json"; fail "fault counters"; }
grep -q '"fault": "http429"' "$WORK/every.log" && grep -q '"mailbox": "alice@example.com"' "$WORK/every.log" ||
	fail "the log names faults and mailboxes"
grep -q 'tok-app' "$WORK/every.log" "$WORK/every-stats.json" && fail "a token reached the log"

start_server conc $BOXES --max-concurrent-per-mailbox 2 --latency-ms 1200
"$PY" "$F" concurrency "$PORT" || fail "concurrency limit"
stop_server "$SERVER_PID"

start_server gone $BOXES --gone-every 3 --gone-folder alice@example.com:drafts
"$PY" "$F" gone "$PORT" || fail "410 faults"
stop_server "$SERVER_PID"

start_server boxes $BOXES --quota-exceeded bob@example.com --odata-disabled carol@example.com \
	--refuse-mailbox-api alice@example.com --access-policy policy-app=alice@example.com
"$PY" "$F" mailbox_faults "$PORT" || fail "mailbox faults"
stop_server "$SERVER_PID"

start_server expire $BOXES --expire-after 3
"$PY" "$F" expire "$PORT" || fail "--expire-after"
stop_server "$SERVER_PID"

start_server broken $BOXES --drop-every 4 --truncate-every 5 --malformed-every 7 --dump-dir "$WORK/broken"
"$PY" "$F" broken "$PORT" || fail "drop/truncate/malformed"
ls "$WORK/broken" | grep -q 'response.malformed.json' || fail "broken responses are dumped as .malformed"
stop_server "$SERVER_PID"

start_server misc $BOXES --resync-every 2 --expand-on-delta-fails --user-without-mailbox dan@example.com
"$PY" "$F" misc "$PORT" || fail "resync, expand on delta, user without mailbox"
stop_server "$SERVER_PID"

start_server huge $BOXES --huge-every 2
"$PY" "$F" huge "$PORT" || fail "huge value"
stop_server "$SERVER_PID"

start_server ferr $BOXES --folder-error alice@example.com:inbox=503:ErrorMailboxStoreUnavailable --latency-ms 150
"$PY" "$F" folder_error "$PORT" || fail "--folder-error"
"$PY" "$F" http "$PORT" || fail "keep-alive/gzip"
stop_server "$SERVER_PID"
[ -f "$WORK/ferr.pid" ] && fail "pid file left after SIGTERM"

# Options that cannot be served are refused at start, with a message.
for bad in "--folder-error nowhere=503:X" "--folder-error inbox=999:X" "--retry-after 0" "--http429-every -1" \
	"--quota-exceeded nobody@example.com" "--access-policy =x" "--gone-folder nothing" \
	"--mailbox-dir /nonexistent" "--advance-to $WORK/dave.jsonl"; do
	# shellcheck disable=SC2086
	if "$PY" "$SERVER" --port 0 $BOXES $bad >"$WORK/bad.out" 2>"$WORK/bad.err"; then fail "accepted: $bad"; fi
	[ -s "$WORK/bad.err" ] || fail "no message for: $bad"
done
"$PY" "$SERVER" --port 0 --mailbox "$WORK/alice.jsonl" >"$WORK/bad.out" 2>"$WORK/bad.err" && fail "no credentials accepted"
grep -q 'no credentials' "$WORK/bad.err" || fail "no credentials: message"
echo "bad options refused at start"
