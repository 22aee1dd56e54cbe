# Shared by the test libraries test/*/lib.sh (sourced first, from a test/AREA/t_*.sh): the
# interpreter, the temporary folder and its removal, fail and skip, and starting and stopping the
# test servers (tools/ewsserver, tools/graphserver, ...) that print "listening on 127.0.0.1:PORT".
# Every server started here is stopped on exit (SIGTERM, then SIGKILL after 5 s); every wait is
# bounded. KEEP_WORK=1 keeps $WORK for a look afterwards.
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
WORK=$(mktemp -d) || exit 2
SERVER_PIDS=""
export PYTHONDONTWRITEBYTECODE=1

cleanup() {
	for p in $SERVER_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $SERVER_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }

# start_server NAME ARGS...: starts $SERVER (a test server's script) on a port of its choosing,
# sets PORT and SERVER_PID; output in $WORK/NAME.out and NAME.err, its pid file $WORK/NAME.pid.
# It may take $SERVER_START_TRIES tenths of a second to listen (default 100).
start_server() {
	name=$1; shift
	"$PY" "$SERVER" --port 0 --pid-file "$WORK/$name.pid" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	wait_listening "$name" $! "${SERVER_START_TRIES:-100}"
}

# wait_listening NAME PID [TRIES [WHAT]]: a server just started in the background with its output
# in $WORK/NAME.out; waits (TRIES tenths of a second, default 100) for its "listening on
# 127.0.0.1:PORT" line, sets PORT and SERVER_PID. WHAT names it in failures (default "server").
wait_listening() {
	SERVER_PID=$2
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	i=0
	while ! grep -q '^listening on ' "$WORK/$1.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt "${3:-100}" ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$WORK/$1.err"; fail "${4:-server} $1 did not start"
		fi
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$1.out" | head -n 1)
	[ -n "$PORT" ] || fail "${4:-server} $1 printed no port"
}

# stop_server PID: SIGTERM, then wait (bounded) for a clean exit
stop_server() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "server $1 did not stop on SIGTERM"
		sleep 0.1
	done
}

# -- running ostrecon ----------------------------------------------------------------------------
# A test's client runs leave their output in $WORK/$name.log and their exit code in RC.

secret_file() { # secret_file NAME VALUE: a 0600 file holding VALUE
	printf '%s\n' "$2" >"$WORK/$1"
	chmod 600 "$WORK/$1"
	echo "$WORK/$1"
}

expect_rc() { # expect_rc WANT WHAT: the last client run exited WANT
	[ "$RC" -eq "$1" ] || { sed 's/^/   | /' "$WORK/$name.log" | tail -20; fail "$2: exit $RC, expected $1"; }
}

# inbox_count_off IN OUT DELTA: a copy of mailbox fixture IN (ewsserver's format) whose Inbox
# announces DELTA more items than it holds (a negative DELTA: fewer)
inbox_count_off() {
	"$PY" - "$1" "$2" "$3" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        o = json.loads(line)
        if o.get("type") == "folder" and o.get("role") == "inbox":
            o["content_count"] += int(sys.argv[3])
        out.write(json.dumps(o) + "\n")
PY
}
