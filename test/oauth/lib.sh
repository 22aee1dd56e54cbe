# Shared by test/oauth/t_*.sh (sourced): starts the test identity platform endpoint
# (tools/graphserver/identityserver.py) and stops every server it started on exit; waits are bounded.
. "$(dirname "$0")/../lib/common.sh"
OAUTH_TESTS=$(cd "$(dirname "$0")" && pwd)
IDSERVER="$ROOT/tools/graphserver/identityserver.py"

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
	wait_listening "$name" $! 100 "identity server"
}
