# Shared by test/ews/t_*.sh (sourced). Starts and stops test EWS servers with start_server,
# wait_listening and stop_server of test/lib/common.sh; every server started here is stopped on
# exit, and every wait is bounded.
. "$(dirname "$0")/../lib/common.sh"
EWS_TESTS=$(cd "$(dirname "$0")" && pwd)
SERVER="$ROOT/tools/ewsserver/ewsserver.py"
GEN="$ROOT/tools/ewsserver/genmailbox.py"
DATA="$EWS_TESTS/data"
SCHEMA="$SHARED/ews-schema"
export PYTHONPATH="$EWS_TESTS${PYTHONPATH:+:$PYTHONPATH}"

need_schema() {
	[ -f "$SCHEMA/soap-envelope.xsd" ] || skip "no EWS schema at $SCHEMA (set SHARED)"
	command -v xmllint >/dev/null 2>&1 || skip "xmllint is not installed"
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
