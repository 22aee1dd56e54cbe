#!/bin/sh
# Hostile input: 400 mutated requests and hand-picked nasty values get a well-formed answer (never
# ErrorInternalServerError, never a dropped connection); every answer validates against the schema.
. "$(dirname "$0")/lib.sh"
mkdir "$WORK/dump"
start_server robust --mailbox "$DATA/alice.jsonl" $(users_args) --dump-dir "$WORK/dump"
"$PY" "$EWS_TESTS/robust.py" "$PORT" 400 || fail "hostile input"
grep -q 'internal error' "$WORK/robust.err" && fail "internal error logged: $(cat "$WORK/robust.err")"
if [ -f "$SCHEMA/soap-envelope.xsd" ]; then
	rm -f "$WORK/dump"/*-request.xml
	validate_dir "$WORK/dump"
else
	echo "note: no EWS schema at $SCHEMA, answers not validated"
fi
