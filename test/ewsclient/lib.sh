# Shared by test/ewsclient/t_*.sh (sourced): the test EWS server helpers of test/ews/lib.sh, plus
# running the client (secret_file and expect_rc: test/lib/common.sh). Every server started here is
# stopped on exit.
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
