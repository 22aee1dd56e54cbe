# The command line never damages what is not its own and fails fast: an output that is a FIFO or
# a device node is written in place (never replaced by a plain file); `-o -` is standard output;
# SIGINT/SIGTERM/SIGHUP remove every unfinished file, say what was interrupted and exit 130/143/129;
# a password from the environment is gone from the process's environment once read; a server that
# refuses connections fails at once naming the address, one that never answers after two tries;
# a missing --password-file, --cacert or --trace-dir is a usage error (64).
. "$(dirname "$0")/../ews/lib.sh"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"
"$PY" "$GEN" --mailbox alice@example.com --folders 12 --items 400 --seed 3 -o "$WORK/alice.jsonl"
PW=$(printf 'alice-pw-1\n' >"$WORK/pw" && chmod 600 "$WORK/pw" && echo "$WORK/pw")
start_server fast --mailbox "$WORK/alice.jsonl" --users "$ROOT/test/ews/data/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
pull() { "$OSTRECON" server --url "$url" --mailbox alice@example.com --auth basic --user alice --password-file "$PW" --no-progress -q "$@"; }

# A FIFO: written in place, still a FIFO afterwards.
mkfifo "$WORK/fifo"
cat "$WORK/fifo" >"$WORK/from-fifo" &
reader=$!
pull -o "$WORK/fifo" || fail "writing to a FIFO"
wait $reader
[ -p "$WORK/fifo" ] || fail "the FIFO was replaced"
grep -q '"type":"end"' "$WORK/from-fifo" || fail "the snapshot did not come through the FIFO"
# A character device made here (root only): still a device afterwards.
if [ "$(id -u)" = 0 ] && mknod "$WORK/null" c 1 3 2>/dev/null; then
	pull -o "$WORK/null" || fail "writing to a device node"
	[ -c "$WORK/null" ] || fail "the device node was replaced by a plain file"
	echo "ok: a device node stays a device node"
fi
# -o - and /dev/stdout: standard output.
pull -o - | grep -q '"type":"end"' || fail "-o - is not standard output"
pull -o /dev/stdout | grep -q '"type":"end"' || fail "-o /dev/stdout is not standard output"
ls "$WORK"/*.tmp.* >/dev/null 2>&1 && fail "temporary files left"

# Interrupted: nothing half-written is left, the run says so, exit 128 + signal.
stop_server "$SERVER_PID"
start_server slow --mailbox "$WORK/alice.jsonl" --users "$ROOT/test/ews/data/users.json" --latency-ms 200
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
for pair in INT:130 TERM:143 HUP:129; do
	sig=${pair%:*} want=${pair#*:}
	rm -f "$WORK/snap.jsonl"
	"$OSTRECON" server --url "$url" --mailbox alice@example.com --auth basic --user alice --password-file "$PW" --no-progress -q \
		--concurrency 1 -o "$WORK/snap.jsonl" 2>"$WORK/sig.err" &
	pid=$!
	i=0
	while ! ls "$WORK"/snap.jsonl.tmp.* >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "$sig: the pull never started writing"; sleep 0.1
	done
	kill -$sig $pid
	wait $pid
	rc=$?
	[ $rc -eq $want ] || fail "$sig: exit $rc, expected $want"
	ls "$WORK"/snap.jsonl* >/dev/null 2>&1 && fail "$sig: a half-written snapshot is left: $(ls "$WORK"/snap.jsonl*)"
	grep -q "pull of alice@example.com" "$WORK/sig.err" || fail "$sig: the message does not say what was interrupted"
done
echo "ok: SIGINT, SIGTERM, SIGHUP: exit 130/143/129, nothing left behind"

# The password from the environment is gone from /proc/PID/environ while the pull runs.
OSTRECON_PASSWORD=alice-pw-1 "$OSTRECON" server --url "$url" --mailbox alice@example.com --auth basic --user alice \
	--no-progress -q --concurrency 1 -o "$WORK/env.jsonl" &
pid=$!
# (the first looks may come before the password is read; from the second second of the run on,
# every look must find it gone)
seen=0 looked=0 t0=$(date +%s)
while kill -0 $pid 2>/dev/null; do
	if [ -r /proc/$pid/environ ] && [ $(($(date +%s) - t0)) -ge 2 ]; then
		looked=$((looked + 1))
		tr '\0' '\n' </proc/$pid/environ 2>/dev/null | grep -q 'alice-pw-1' && seen=1
	fi
	sleep 0.05
done
wait $pid || fail "the pull with OSTRECON_PASSWORD failed"
[ $looked -gt 3 ] || fail "the environment could not be looked at while the pull ran"
[ $seen -eq 0 ] || fail "the password stayed in the process's environment"
echo "ok: the password left the environment once read ($looked looks)"
stop_server "$SERVER_PID"

# Fail fast: refused at once with the address; a silent server after two tries.
t0=$(date +%s)
"$OSTRECON" server --url http://127.0.0.1:1/EWS/Exchange.asmx --mailbox a@example.com --auth basic --user a \
	--password-file "$PW" --no-progress 2>"$WORK/refused.err"
[ $? -eq 3 ] || fail "connection refused: not exit 3"
grep -q "127.0.0.1 port 1" "$WORK/refused.err" || fail "connection refused: the address is not named: $(cat "$WORK/refused.err")"
[ $(($(date +%s) - t0)) -le 3 ] || fail "connection refused was retried"
"$PY" -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' >"$WORK/silent.out" 2>&1 &
wait_listening silent $!
t0=$(date +%s)
"$OSTRECON" server --url "http://127.0.0.1:$PORT/EWS/Exchange.asmx" --mailbox a@example.com --auth basic --user a \
	--password-file "$PW" --no-progress --idle-timeout 2 2>"$WORK/silent.err"
rc=$? secs=$(($(date +%s) - t0))
[ $rc -eq 3 ] || fail "silent server: exit $rc"
grep -q "failed after 2 attempts" "$WORK/silent.err" || fail "silent server: not two tries: $(cat "$WORK/silent.err")"
[ $secs -le 10 ] || fail "silent server: $secs s"
echo "ok: refused at once, a silent server given up after two tries ($secs s)"

# Usage errors, not runtime ones.
for bad in "--password-file $WORK/none" "--password-file $PW --cacert $WORK/none.pem" \
	"--password-file $PW --trace-dir $WORK/none"; do
	# shellcheck disable=SC2086
	"$OSTRECON" server --url https://127.0.0.1:1/EWS/Exchange.asmx --mailbox a@example.com --auth basic --user a $bad \
		>/dev/null 2>&1
	rc=$?
	[ $rc -eq 64 ] || fail "'$bad': exit $rc, expected 64"
done
echo "ok: a missing password file, CA file or trace folder is a usage error"
