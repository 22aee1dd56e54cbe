#!/bin/sh
# Every response of a representative session (all operations, paging, per-message errors, the
# ErrorServerBusy fault, schema faults) validates against Microsoft's EWS schema, and so does
# every request the test client sent (the deliberately invalid ones excepted, on their own server).
. "$(dirname "$0")/lib.sh"
need_schema
"$PY" "$GEN" --mailbox bob@example.com --folders 25 --items 50 -o "$WORK/bob.jsonl" || fail "genmailbox"
mkdir "$WORK/valid" "$WORK/invalid" "$WORK/busy"

start_server valid --mailbox "$DATA/alice.jsonl" --mailbox "$WORK/bob.jsonl" $(users_args) \
	--deny-folder "/Top of Information Store/Legal Hold" --dump-dir "$WORK/valid"
"$PY" "$EWS_TESTS/session.py" valid "$PORT" "$DATA/alice.jsonl" || fail "session"
validate_dir "$WORK/valid"

start_server busy --mailbox "$DATA/alice.jsonl" $(users_args) --busy-every 2 --busy-backoff-ms 250 --dump-dir "$WORK/busy"
"$PY" "$EWS_TESTS/session.py" busy "$PORT" || fail "busy session"
validate_dir "$WORK/busy"

# Requests the schema rejects: only the responses (SOAP faults) are validated.
start_server invalid --mailbox "$DATA/alice.jsonl" $(users_args) --dump-dir "$WORK/invalid"
"$PY" "$EWS_TESTS/session.py" invalid "$PORT" || fail "invalid session"
rm -f "$WORK/invalid"/*-request.xml
validate_dir "$WORK/invalid"

# With --validate-requests the server itself holds requests to the schema.
start_server strict --mailbox "$DATA/alice.jsonl" $(users_args) --validate-requests "$SCHEMA"
"$PY" - "$PORT" <<'PYEOF' || fail "--validate-requests"
import sys, ewsclient as C
c = C.Client(int(sys.argv[1]), "alice", "alice-pw-1")
st, root, _, _ = c.call(C.get_folder(["inbox"]))
assert st == 200 and C.code(C.messages(root)[0]) == "NoError", st
bad = C.get_folder(["inbox"]).replace("<m:FolderIds>", "<m:Unexpected/><m:FolderIds>")
st, root, _, _ = c.call(bad)
assert st == 500 and C.fault_code(root) == "ErrorSchemaValidation", st
print("--validate-requests: a valid request passes, an invalid one gets ErrorSchemaValidation")
PYEOF
