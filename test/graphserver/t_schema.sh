#!/bin/sh
# Schema: every JSON payload of a representative session (every endpoint, paging, $select,
# extended properties, immutable ids, delta rounds with @removed after the mailbox changed, and
# the error answers) conforms to Microsoft's CSDL of Graph v1.0; and the validator itself catches
# a wrong property name, a wrong value type and a malformed error body.
. "$(dirname "$0")/lib.sh"
need_csdl
"$PY" "$MKFIX" --mailbox alice@example.com --items 300 -o "$WORK/alice.jsonl" --later "$WORK/alice2.jsonl" ||
	fail "mkfixture"
"$PY" "$MKFIX" --mailbox bob@example.com --items 40 -o "$WORK/bob.jsonl" || fail "mkfixture bob"
start_server schema --mailbox "$WORK/alice.jsonl" --mailbox "$WORK/bob.jsonl" --advance-to "$WORK/alice2.jsonl" \
	--tokens "$TOKENS" --dump-dir "$WORK/dump"
"$PY" "$GRAPH_TESTS/session.py" "$PORT" || fail "session"
"$PY" "$GRAPH_TESTS/csdl_check.py" --csdl "$CSDL" --dump "$WORK/dump" || fail "payloads do not conform to the CSDL"
n=$(ls "$WORK/dump"/*-response.json | wc -l)
[ "$n" -ge 80 ] || fail "only $n responses dumped"

# --undeclared-properties adds what Microsoft's examples show and the CSDL lacks: the validator says so.
start_server extras --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS" --undeclared-properties --dump-dir "$WORK/dump2"
"$PY" - "$PORT" <<'PYEOF' || fail "extras session"
import sys, gclient as G
c = G.Client(int(sys.argv[1]), "tok-app")
mbx = c.get("/v1.0/users/alice@example.com/settings/exchange").json["primaryMailboxId"]
f = c.get("/v1.0/admin/exchange/mailboxes/%s/folders" % mbx).json["value"]
assert f[0]["parentMailboxUrl"].endswith(mbx) and "wellKnownName" in f[0], f[0]
PYEOF
"$PY" "$GRAPH_TESTS/csdl_check.py" --csdl "$CSDL" --dump "$WORK/dump2" >"$WORK/extras.out" &&
	fail "the validator accepted undeclared properties"
grep -q 'wellKnownName is not declared on microsoft.graph.mailboxFolder' "$WORK/extras.out" ||
	fail "the validator did not name wellKnownName"
echo "--undeclared-properties: wellKnownName and parentMailboxUrl reported as undeclared"

# Negative tests: the validator catches a wrong name, a wrong type, a bad enum, a bad nested type,
# a bad @odata.type, a removed entry outside delta, and a malformed error body.
cat >"$WORK/bad-name.json" <<'JSON'
{"value": [{"id": "x", "subject": "ok", "subjekt": "typo"}]}
JSON
cat >"$WORK/bad-type.json" <<'JSON'
{"value": [{"id": "x", "isRead": "true", "receivedDateTime": "2024-01-01 10:00"}]}
JSON
cat >"$WORK/bad-enum.json" <<'JSON'
{"value": [{"id": "x", "importance": "urgent", "flag": {"flagStatus": "flagged", "due": 1}}]}
JSON
cat >"$WORK/bad-int.json" <<'JSON'
{"value": [{"id": "x", "totalItemCount": 3000000000, "childFolderCount": "2"}]}
JSON
cat >"$WORK/bad-odatatype.json" <<'JSON'
{"value": [{"@odata.type": "#microsoft.graph.contact", "id": "x"}, {"id": "y", "@removed": {"reason": "deleted"}}]}
JSON
cat >"$WORK/bad-error.json" <<'JSON'
{"error": {"code": "X", "message": "m", "innerError": {"date": "yesterday"}}}
JSON
C="$GRAPH_TESTS/csdl_check.py"
check_bad() { # FILE TYPE PATTERN
	if [ "$2" = error ]; then "$PY" "$C" --csdl "$CSDL" --error "$WORK/$1" >"$WORK/neg.out"
	else "$PY" "$C" --csdl "$CSDL" --type "$2" "$WORK/$1" >"$WORK/neg.out"; fi && fail "validator accepted $1"
	grep -q "$3" "$WORK/neg.out" || { cat "$WORK/neg.out"; fail "validator did not report '$3' in $1"; }
}
check_bad bad-name.json 'Collection(microsoft.graph.message)' 'subjekt is not declared'
check_bad bad-type.json 'Collection(microsoft.graph.message)' 'isRead: want Edm.Boolean'
check_bad bad-type.json 'Collection(microsoft.graph.message)' 'receivedDateTime: want Edm.DateTimeOffset'
check_bad bad-enum.json 'Collection(microsoft.graph.message)' "'urgent' is not a member of microsoft.graph.importance"
check_bad bad-enum.json 'Collection(microsoft.graph.message)' 'due is not declared on microsoft.graph.followupFlag'
check_bad bad-int.json 'Collection(microsoft.graph.mailFolder)' 'out of range of Edm.Int32'
check_bad bad-int.json 'Collection(microsoft.graph.mailFolder)' 'childFolderCount: want Edm.Int32'
check_bad bad-odatatype.json 'Collection(microsoft.graph.message)' 'is not microsoft.graph.message or derived'
check_bad bad-odatatype.json 'Collection(microsoft.graph.message)' '@removed outside a delta response'
check_bad bad-error.json error 'innerError.request-id is missing'
check_bad bad-error.json error 'innerError.date is not'
echo "validator: wrong names, types, enums, ranges, derived types, @removed and error bodies are caught"
