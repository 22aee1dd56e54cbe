# Shared by test/oauth/t_*.sh (sourced): starts the test identity platform endpoint
# (tools/graphserver/identityserver.py) and stops every server it started on exit; waits are bounded.
PY=/usr/bin/python3
OAUTH_TESTS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$OAUTH_TESTS/../.." && pwd)
IDSERVER="$ROOT/tools/graphserver/identityserver.py"
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

need_crypto() {
	[ -x "$PY" ] || skip "$PY is missing"
	"$PY" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
	command -v openssl >/dev/null 2>&1 || skip "the openssl command is missing"
}

# make_cert NAME: $WORK/NAME.crt and $WORK/NAME.key, a self-signed RSA certificate for 127.0.0.1
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/$1.key" -out "$WORK/$1.crt" -days 2 -sha256 \
		-subj "/CN=ostrecon-test-$1" -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || fail "openssl req ($1)"
}

# start_idserver NAME ARGS...: starts identityserver.py; sets PORT and SERVER_PID; output in $WORK/NAME.*
start_idserver() {
	name=$1; shift
	"$PY" "$IDSERVER" --port 0 --pid-file "$WORK/$name.pid" --log "$WORK/$name.log" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	SERVER_PID=$!
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	i=0
	while ! grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$WORK/$name.err"; fail "identity server $name did not start"
		fi
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -n 1)
	[ -n "$PORT" ] || fail "identity server $name printed no port"
}
