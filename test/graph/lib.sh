# Shared by test/graph/t_*.sh (sourced): the test Graph server helpers of test/graphserver/lib.sh,
# plus running `ostrecon server --api graph` against it. Every server started here is stopped on exit.
. "$(dirname "$0")/../graphserver/lib.sh"
CLIENT_TESTS="$ROOT/test/graph"
TOKENS="$ROOT/test/graphserver/data/tokens.json"
export PYTHONPATH="$ROOT/test/graphserver${PYTHONPATH:+:$PYTHONPATH}"
OSTWRITE="$TOOLS_DIR/ostwrite"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"

# gclient NAME ARGS...: `ostrecon server --api graph` against 127.0.0.1:$PORT, output in
# $WORK/NAME.jsonl, stdout+stderr in $WORK/NAME.log, exit code in RC
gclient() {
	name=$1; shift
	timeout 300 "$OSTRECON" server --api graph --graph-url "http://127.0.0.1:$PORT/v1.0" --no-progress \
		-o "$WORK/$name.jsonl" "$@" >"$WORK/$name.log" 2>&1
	RC=$?
}

expect_log() { # expect_log TEXT WHAT: the last client run's log says TEXT
	grep -qF -- "$1" "$WORK/$name.log" || { sed 's/^/   | /' "$WORK/$name.log" | tail -20; fail "$2: the log does not say '$1'"; }
}

# compare MAILBOX SNAPSHOT [compare.py options]: the snapshot holds what the served file holds
compare() {
	"$PY" "$CLIENT_TESTS/compare.py" "$@" || fail "snapshot $2 differs from the mailbox $1"
}

# A mailbox: the demo's server fixture, expanded by ostwrite.
demo_mailbox() {
	[ -x "$OSTWRITE" ] || fail "ostwrite is not built ($OSTWRITE)"
	"$OSTWRITE" --expand "$ROOT/samples/demo/server.json" -o "$WORK/dana.jsonl" || fail "ostwrite --expand"
	MBX="$WORK/dana.jsonl"
	ADDR=dana@contoso.example
}
