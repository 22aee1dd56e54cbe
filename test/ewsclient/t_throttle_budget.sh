# The retry budget: a server that throttles one request in three never makes a folder fail while
# the pull as a whole progresses. The same small mailbox is pulled 50 times (RUNS), half from a
# server that throttles with an ErrorServerBusy SOAP fault, half from one that puts ErrorServerBusy
# in a normal response message with BackOffMilliseconds after other values; every run must come
# out complete (the client's exit code, no error line, and the snapshot equal to the mailbox).
# Two runs go at a time (one per server) with short back-offs, so the 50 take about a minute.
. "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-50}
pw=$(secret_file pw alice-pw-1)
MBX="$DATA/alice.jsonl"
start_server fault --busy-every 3 --busy-style fault --busy-backoff-ms 20 --mailbox "$MBX" $(users_args)
port_fault=$PORT
start_server message --busy-every 3 --busy-style message --busy-backoff-ms 20 --mailbox "$MBX" $(users_args)
port_message=$PORT

one() { # one RUN STYLE PORT: a pull in the background, its exit code in $WORK/RUN.rc
	(
		timeout 300 "$OSTRECON" server --no-progress --url "http://127.0.0.1:$3/EWS/Exchange.asmx" \
			--mailbox alice@example.com --auth basic --user alice --password-file "$pw" --page-size 5 \
			-o "$WORK/$1.jsonl" >"$WORK/$1.log" 2>&1
		echo $? >"$WORK/$1.rc"
	) &
}

start=$(date +%s)
i=1
while [ $i -le "$RUNS" ]; do
	one $i fault "$port_fault"
	a=$!
	pids=$a
	if [ $((i + 1)) -le "$RUNS" ]; then
		one $((i + 1)) message "$port_message"
		pids="$pids $!"
	fi
	# shellcheck disable=SC2086
	wait $pids
	i=$((i + 2))
done
complete=0 throttled=0 retries=0
i=1
while [ $i -le "$RUNS" ]; do
	rc=$(cat "$WORK/$i.rc")
	if [ "$rc" = 0 ] && ! grep -q '"type":"error"' "$WORK/$i.jsonl" &&
		$PY "$CLIENT_TESTS/compare.py" "$MBX" "$WORK/$i.jsonl" --no-associated >"$WORK/$i.cmp" 2>&1; then
		complete=$((complete + 1))
	else
		echo "run $i (exit $rc):"; tail -n 3 "$WORK/$i.log"; tail -n 3 "$WORK/$i.cmp" 2>/dev/null
	fi
	r=$(sed -n 's/.* \([0-9]*\) retries.*/\1/p' "$WORK/$i.log")
	retries=$((retries + ${r:-0}))
	[ "${r:-0}" -gt 0 ] && throttled=$((throttled + 1))
	i=$((i + 1))
done
echo "$complete runs of $RUNS complete; $throttled of them throttled, $retries throttled answers retried in all; $(($(date +%s) - start)) s"
[ "$throttled" -eq "$RUNS" ] || fail "only $throttled runs were throttled: the test did not test"
[ "$complete" -eq "$RUNS" ] || fail "$((RUNS - complete)) runs of $RUNS incomplete"
