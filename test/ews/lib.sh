# Shared by test/ews/t_*.sh (sourced). Starts and stops test EWS servers; every server started
# here is stopped on exit, and every wait is bounded.
PY=/usr/bin/python3
EWS_TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$EWS_TESTS/../.." && pwd)
SERVER="$ROOT/tools/ewsserver/ewsserver.py"
GEN="$ROOT/tools/ewsserver/genmailbox.py"
DATA="$EWS_TESTS/data"
SHARED=${SHARED:-$(cd "$ROOT/.." && pwd)/shared}
SCHEMA="$SHARED/ews-schema"
WORK=$(mktemp -d) || exit 2
SERVER_PIDS=""
export PYTHONPATH="$EWS_TESTS${PYTHONPATH:+:$PYTHONPATH}"
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

need_schema() {
	[ -f "$SCHEMA/soap-envelope.xsd" ] || skip "no EWS schema at $SCHEMA (set SHARED)"
	command -v xmllint >/dev/null 2>&1 || skip "xmllint is not installed"
}

# start_server NAME ARGS...: starts a server, sets PORT and SERVER_PID, output in $WORK/NAME.out
start_server() {
	name=$1; shift
	"$PY" "$SERVER" --port 0 --pid-file "$WORK/$name.pid" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	wait_listening "$name" $!
}

# wait_listening NAME PID: a server just started in the background with its output in
# $WORK/NAME.out; waits (bounded) for its "listening on 127.0.0.1:PORT" line, sets PORT and SERVER_PID
wait_listening() {
	SERVER_PID=$2
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	i=0
	while ! grep -q '^listening on ' "$WORK/$1.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$WORK/$1.err"; fail "server $1 did not start"
		fi
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$1.out" | head -n 1)
	[ -n "$PORT" ] || fail "server $1 printed no port"
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

# validate_dir DIR: every request and response body in DIR validates against the schema.
# Prints the count; fails on the first invalid file.
validate_dir() {
	files=$(ls "$1"/*.xml 2>/dev/null | grep -v '\.malformed\.xml$')
	[ -n "$files" ] || fail "no XML files in $1"
	# shellcheck disable=SC2086
	if ! xmllint --noout --nonet --schema "$SCHEMA/soap-envelope.xsd" $files >"$WORK/xmllint.out" 2>&1; then
		grep -v ' validates$' "$WORK/xmllint.out" | head -n 20
		fail "schema validation failed in $1"
	fi
	echo "$(echo "$files" | wc -l) files validate against the EWS schema ($(echo "$files" | grep -c request) requests, $(echo "$files" | grep -c response) responses)"
}

users_args() { echo "--users $DATA/users.json --tokens $DATA/tokens.json"; }
