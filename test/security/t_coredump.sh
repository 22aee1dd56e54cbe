# A process that holds a secret writes no core dump: checked on a live `ostrecon server` (soft and
# hard RLIMIT_CORE at 0) while it waits on a slow server.
. "$(dirname "$0")/lib.sh"
[ -r /proc/self/limits ] || skip "no /proc here"
$PY "$GEN" --mailbox alice@example.com --folders 25 --items 50 --seed 2 -o "$WORK/mbx.jsonl"
start_server slow --mailbox "$WORK/mbx.jsonl" $(users_args) --latency-ms 3000
pw=$(secret_file pw alice-pw-1)
"$OSTRECON" server --no-progress --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	-o "$WORK/s.jsonl" >"$WORK/c.log" 2>&1 &
pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q 'core file size *0 *0' "/proc/$pid/limits" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
grep 'core file size' "/proc/$pid/limits" | grep -q ' 0 *0 ' || { kill $pid; fail "core dumps are not off: $(grep 'core file' /proc/$pid/limits)"; }
kill $pid 2>/dev/null
wait $pid 2>/dev/null
echo "a process holding a secret has core dumps off (RLIMIT_CORE 0)"
