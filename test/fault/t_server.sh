# A server in trouble, end to end, beyond test/ewsclient/t_faults.sh (which covers faults that pass:
# throttling, 503/429, 500, a dropped connection or a malformed page now and then, Basic
# credentials expiring halfway, a server always 503): here faults that never pass, and what is
# left on disk. Every run ends in bounded time with exit 3 and a clear message, and the snapshot
# (or report) of an earlier run at the same path is intact, with no temporary file left:
# every connection dropped; every page malformed; ErrorServerBusy forever (retried as told until the
# retry deadline); a bearer token refused
# halfway; a server slower than --timeout; a server that accepts and never answers; nothing
# listening; and `scan` whose server side fails halfway.
. "$(dirname "$0")/../security/lib.sh"
need_ostwrite
"$PY" "$GEN" --mailbox alice@example.com --folders 12 --items 300 --seed 4 -o "$WORK/mbx.jsonl"
"$OSTWRITE" "$FIXTURES/writer_small.json" --format ost -o "$WORK/small.ost" || fail "ostwrite failed"
pw=$(secret_file pw alice-pw-1)
tok=$(secret_file tok tok-alice-valid)
mkdir "$WORK/out"
start_server good --mailbox "$WORK/mbx.jsonl" $(users_args)
client first --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" -o "$WORK/out/snap.jsonl"
expect_rc 0 "the first pull"
cp "$WORK/out/snap.jsonl" "$WORK/snap.orig"
stop_server "$SERVER_PID"

# broken NAME PATTERN MAX-SECONDS SERVER-ARGS -- CLIENT-ARGS: one failing pull over the earlier file
broken() {
	n=$1 pat=$2 max=$3; shift 3
	sargs=""
	while [ "$1" != "--" ]; do sargs="$sargs $1"; shift; done
	shift
	# shellcheck disable=SC2086
	start_server "$n" $sargs --mailbox "$WORK/mbx.jsonl" $(users_args)
	t0=$(date +%s)
	client "$n" --url "$(url)" --mailbox alice@example.com -o "$WORK/out/snap.jsonl" "$@"
	secs=$(($(date +%s) - t0))
	expect_rc 3 "$n"
	grep -q "$pat" "$WORK/$n.log" || fail "$n: no '$pat' in: $(grep error: "$WORK/$n.log")"
	[ $secs -le "$max" ] || fail "$n: took $secs s (bound $max s)"
	same_file "$WORK/out/snap.jsonl" "$WORK/snap.orig"
	no_leftovers "$WORK/out"
	echo "ok $n (${secs}s): $(grep error: "$WORK/$n.log" | head -n 1 | cut -c1-160)"
	stop_server "$SERVER_PID"
}
broken drop-all "connection\|transfer\|failed after 3 attempts" 60 --drop-every 1 -- \
	--auth basic --user alice --password-file "$pw" --retries 2
broken malformed-all "malformed XML" 60 --malformed-every 1 -- --auth basic --user alice --password-file "$pw" --retries 2
broken busy-forever "busy" 60 --busy-every 1 --busy-backoff-ms 200 -- --auth basic --user alice --password-file "$pw" --retries 3
# Throttled with a long back-off: the run's deadline ends it before the request's attempts do.
broken busy-deadline "retry deadline.*busy" 60 --busy-every 1 --busy-backoff-ms 2000 -- --auth basic --user alice \
	--password-file "$pw" --retry-deadline 5
broken token-halfway "refused the token" 60 --expire-after 8 -- --token-file "$tok" --concurrency 2
broken slower-than-timeout "in time" 60 --latency-ms 4000 -- --auth basic --user alice --password-file "$pw" --timeout 1 --retries 1

# A server that accepts the connection and never answers: the timeout ends it.
"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' >"$WORK/silent.out" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
i=0; while ! grep -q '^listening' "$WORK/silent.out"; do i=$((i + 1)); [ $i -gt 50 ] && fail "no silent server"; sleep 0.1; done
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/silent.out")
t0=$(date +%s)
client silent --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" --timeout 2 --retries 1 \
	-o "$WORK/out/snap.jsonl"
expect_rc 3 "a server that never answers"
[ $(($(date +%s) - t0)) -le 30 ] || fail "a silent server held the client too long"
same_file "$WORK/out/snap.jsonl" "$WORK/snap.orig"
echo "ok silent: $(grep error: "$WORK/silent.log" | head -n 1 | cut -c1-160)"

# Nothing listening.
PORT=1
client refused --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" --retries 1 \
	-o "$WORK/out/snap.jsonl"
expect_rc 3 "nothing listening"
grep -q "connect\|connection" "$WORK/refused.log" || fail "no clear message: $(cat "$WORK/refused.log")"
same_file "$WORK/out/snap.jsonl" "$WORK/snap.orig"
echo "ok refused: $(grep error: "$WORK/refused.log" | head -n 1 | cut -c1-160)"

# scan: the server side fails halfway; the earlier report is intact, no snapshot is left around.
if "$OSTRECON" scan --help >/dev/null 2>&1; then
	start_server scan-good --mailbox "$WORK/mbx.jsonl" $(users_args)
	"$OSTRECON" scan -q --no-progress --ost "$WORK/small.ost" --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" -o "$WORK/out/report.json" >/dev/null 2>&1
	[ -f "$WORK/out/report.json" ] || fail "the first scan wrote no report"
	cp "$WORK/out/report.json" "$WORK/report.orig"
	stop_server "$SERVER_PID"
	start_server scan-bad --expire-after 6 --mailbox "$WORK/mbx.jsonl" $(users_args)
	export TMPDIR="$WORK/tmp"; mkdir "$TMPDIR"
	"$OSTRECON" scan --no-progress --ost "$WORK/small.ost" --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" -o "$WORK/out/report.json" >"$WORK/scan.log" 2>&1
	RC=$?; unset TMPDIR
	[ $RC -eq 3 ] || fail "scan with credentials refused halfway: exit $RC"
	grep -q "refused the credentials" "$WORK/scan.log" || fail "scan: no clear message: $(cat "$WORK/scan.log")"
	same_file "$WORK/out/report.json" "$WORK/report.orig"
	no_leftovers "$WORK/out"
	[ -z "$(ls -A "$WORK/tmp")" ] || { ls -laR "$WORK/tmp"; fail "scan left its snapshots behind"; }
	echo "ok scan: $(grep error: "$WORK/scan.log" | head -n 1 | cut -c1-160)"
fi
echo "server faults: every run bounded, clear, and the earlier output intact"
