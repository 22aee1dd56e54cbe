#!/bin/sh
# An independent client, Debian's exchangelib, reads mailboxes from the test server: same folders,
# same item counts, the source key (0x65E0) of every item equal to the mailbox file's; as the
# mailbox owner (delegate access) and as a service account with impersonation.
# Every request exchangelib sent and every response validate against the EWS schema.
. "$(dirname "$0")/lib.sh"
"$PY" -c 'import exchangelib' 2>/dev/null || skip "Debian's python3-exchangelib is not installed"
"$PY" "$GEN" --mailbox bob@example.com --folders 40 --items 700 --assoc 6 -o "$WORK/bob.jsonl" || fail "genmailbox"
mkdir "$WORK/dump"
start_server xl --mailbox "$DATA/alice.jsonl" --mailbox "$WORK/bob.jsonl" $(users_args) --dump-dir "$WORK/dump" \
	--log "$WORK/requests.jsonl"
URL="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
timeout 120 "$PY" "$EWS_TESTS/xl_check.py" "$URL" "$DATA/alice.jsonl" alice alice-pw-1 || fail "exchangelib as alice"
timeout 120 "$PY" "$EWS_TESTS/xl_check.py" "$URL" "$WORK/bob.jsonl" svc-sync svc-pw-4 --impersonate || fail "exchangelib impersonating bob"
n=$(wc -l <"$WORK/requests.jsonl")
echo "server log: $n requests; by operation: $(curl -s "http://127.0.0.1:$PORT/_ews/stats")"
if [ -f "$SCHEMA/soap-envelope.xsd" ]; then
	validate_dir "$WORK/dump"
else
	echo "note: no EWS schema at $SCHEMA, exchangelib's traffic not validated (t_schema skips)"
fi

# The fixture library's own expansion, when the writer is built: served and read back the same way.
if [ -x "${TOOLS_DIR:-/nonexistent}/ostwrite" ] && [ -f "$ROOT/test/fixtures/writer_small.json" ]; then
	"$TOOLS_DIR/ostwrite" --expand "$ROOT/test/fixtures/writer_small.json" -o "$WORK/fixture.jsonl" ||
		fail "ostwrite --expand"
	addr=$(sed -n '1s/.*"mailbox":"\([^"]*\)".*/\1/p' "$WORK/fixture.jsonl")
	start_server fixture --mailbox "$WORK/fixture.jsonl" $(users_args)
	timeout 120 "$PY" "$EWS_TESTS/xl_check.py" "http://127.0.0.1:$PORT/EWS/Exchange.asmx" "$WORK/fixture.jsonl" \
		svc-sync svc-pw-4 --impersonate || fail "exchangelib on the expanded fixture of $addr"
else
	echo "note: $TOOLS_DIR/ostwrite not built, the expanded-fixture check did not run"
fi
