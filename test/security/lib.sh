# Shared by test/security/t_*.sh and test/fault/t_*.sh (sourced): the test EWS server and client
# helpers of test/ewsclient/lib.sh (every server started is stopped on exit), plus a few checks.
. "$(dirname "$0")/../ewsclient/lib.sh"
OSTWRITE="${TOOLS_DIR:-$ROOT/build}/ostwrite"
FIXTURES="$ROOT/test/fixtures"

need_ostwrite() { [ -x "$OSTWRITE" ] || skip "ostwrite is not built ($OSTWRITE)"; }

# mode_is FILE WANT: FILE's permission bits are WANT (e.g. 600)
mode_is() {
	m=$(stat -c %a "$1") || fail "no file $1"
	[ "$m" = "$2" ] || fail "$1 has mode $m, expected $2"
}

# no_leftovers DIR: no temporary file of an atomic write is left in DIR
no_leftovers() {
	if ls -a "$1" | grep -q '\.tmp\.'; then
		ls -la "$1"; fail "a temporary file was left behind in $1"
	fi
}

# same_file A B: byte for byte
same_file() { cmp -s "$1" "$2" || fail "$1 changed (expected it intact)"; }

# loads FILE: ostrecon accepts FILE as a complete snapshot (diff of it with itself)
loads() { "$OSTRECON" diff -q "$1" "$1" >/dev/null 2>&1; r=$?; [ $r -le 2 ]; }

# make_cert NAME HOST: a self-signed certificate for HOST in $WORK/NAME.pem / NAME.key
make_cert() {
	command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-keyout "$WORK/$1.key" -out "$WORK/$1.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
}

# start_replay NAME [STATUS:]BODY...: the replay server (replay_server.py) answering every POST
# with the next body; sets PORT and SERVER_PID; its request log is $WORK/NAME.requests
start_replay() {
	name=$1; shift
	"$PY" "$ROOT/test/security/replay_server.py" --log "$WORK/$name.requests" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	wait_listening "$name" $!
}

# peak_rss_mb CMD...: runs CMD (stdout/stderr as given by the caller), prints its peak RSS in MiB
# on fd 3 and exits with CMD's exit code
peak_rss() {
	"$PY" -c '
import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:])
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
open("/dev/fd/3", "w").write("%d\n" % (kb // 1024))
sys.exit(rc)' "$@"
}
