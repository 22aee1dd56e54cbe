# Shared by test/ewsclient/t_*.sh (sourced): the test EWS server helpers of test/ews/lib.sh, plus
# running the client. Every server started here is stopped on exit.
. "$(dirname "$0")/../ews/lib.sh"
EWS_TESTS="$ROOT/test/ews"
DATA="$EWS_TESTS/data"
CLIENT_TESTS="$ROOT/test/ewsclient"
export PYTHONPATH="$CLIENT_TESTS:$EWS_TESTS"

# client NAME ARGS...: runs `ostrecon server` against 127.0.0.1:$PORT, stdout+stderr in
# $WORK/NAME.log, exit code in RC.
client() {
	name=$1; shift
	timeout 300 "$OSTRECON" server --no-progress "$@" >"$WORK/$name.log" 2>&1
	RC=$?
}

url() { echo "http://127.0.0.1:$PORT/EWS/Exchange.asmx"; }

secret_file() { # secret_file NAME VALUE: a 0600 file holding VALUE
	printf '%s\n' "$2" >"$WORK/$1"
	chmod 600 "$WORK/$1"
	echo "$WORK/$1"
}

expect_rc() { # expect_rc WANT WHAT
	[ "$RC" -eq "$1" ] || { sed 's/^/   | /' "$WORK/$name.log" | tail -20; fail "$2: exit $RC, expected $1"; }
}
