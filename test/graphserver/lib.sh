# Shared by test/graphserver/t_*.sh (sourced). Starts and stops test Graph servers; every server
# started here is stopped on exit, and every wait is bounded.
PY=/usr/bin/python3
GRAPH_TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$GRAPH_TESTS/../.." && pwd)
SERVER="$ROOT/tools/graphserver/graphserver.py"
GEN="$ROOT/tools/ewsserver/genmailbox.py"
MKFIX="$GRAPH_TESTS/mkfixture.py"
DATA="$GRAPH_TESTS/data"
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
CSDL="$SHARED/graph-schema/graph-v1.0-csdl.xml"
WORK=$(mktemp -d) || exit 2
SERVER_PIDS=""
export PYTHONPATH="$GRAPH_TESTS${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

cleanup() {
	for p in $SERVER_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $SERVER_PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }

need_csdl() {
	[ -f "$CSDL" ] || skip "no Graph CSDL at $CSDL (set SHARED)"
}

# start_server NAME ARGS...: starts a server, sets PORT and SERVER_PID, output in $WORK/NAME.out
start_server() {
	name=$1; shift
	"$PY" "$SERVER" --port 0 --pid-file "$WORK/$name.pid" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	SERVER_PID=$!
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	i=0
	while ! grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$WORK/$name.err"; fail "server $name did not start"
		fi
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -n 1)
	[ -n "$PORT" ] || fail "server $name printed no port"
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

TOKENS="$DATA/tokens.json"
