# Shared by test/graphserver/t_*.sh (sourced). Starts and stops test Graph servers with
# start_server and stop_server of test/lib/common.sh; every server started here is stopped on exit,
# and every wait is bounded.
. "$(dirname "$0")/../lib/common.sh"
GRAPH_TESTS=$(cd "$(dirname "$0")" && pwd)
SERVER="$ROOT/tools/graphserver/graphserver.py"
SERVER_START_TRIES=300      # 30 s: a big mailbox takes a while to load
GEN="$ROOT/tools/ewsserver/genmailbox.py"
MKFIX="$GRAPH_TESTS/mkfixture.py"
DATA="$GRAPH_TESTS/data"
CSDL="$SHARED/graph-schema/graph-v1.0-csdl.xml"
export PYTHONPATH="$GRAPH_TESTS${PYTHONPATH:+:$PYTHONPATH}"

need_csdl() {
	[ -f "$CSDL" ] || skip "no Graph CSDL at $CSDL (set SHARED)"
}

TOKENS="$DATA/tokens.json"
