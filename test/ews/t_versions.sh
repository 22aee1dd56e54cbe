#!/bin/sh
# The server's version modes (--exchange-version 2007sp1, 2010sp2, 2016): each answers in its
# version's shape, holds every request to the schema of the version the request names (never past
# its own), refuses a newer RequestServerVersion with ErrorInvalidServerVersion and whatever its
# schema lacks with ErrorSchemaValidation in its fault shape; every response of the session,
# faults included, validates against the version's own schema.
. "$(dirname "$0")/lib.sh"
need_schema
"$PY" "$GEN" --mailbox alice@example.com --folders 25 --items 30 -o "$WORK/alice.jsonl" || fail "genmailbox"
for v in 2007sp1 2010sp2 2016; do
	mkdir "$WORK/$v"
	start_server "$v" --exchange-version "$v" --schema-dir "$SCHEMA" --mailbox "$WORK/alice.jsonl" $(users_args) \
		--dump-dir "$WORK/$v"
	"$PY" "$EWS_TESTS/versions.py" "$v" "$PORT" || fail "version $v"
	stop_server "$SERVER_PID"
	rm -f "$WORK/$v"/*-request.xml
	case $v in 2016) dir=$SCHEMA ;; *) dir="$SCHEMA/exchange$v" ;; esac
	xmllint --noout --nonet --schema "$dir/soap-envelope.xsd" "$WORK/$v"/*-response.xml >"$WORK/xl.out" 2>&1 ||
		{ grep -v validates "$WORK/xl.out" | head; fail "a $v response does not validate against its schema"; }
	echo "$v: $(ls "$WORK/$v" | wc -l) responses validate against its schema"
done
# No schema where one is needed: a start-up error, not a server that validates nothing.
"$PY" "$SERVER" --port 0 --exchange-version 2010sp2 --schema-dir "$WORK/none" --mailbox "$WORK/alice.jsonl" \
	$(users_args) >/dev/null 2>"$WORK/err" && fail "a version mode without its schema was accepted"
grep -q "no EWS schema" "$WORK/err" || fail "no message for a missing schema: $(cat "$WORK/err")"
