#!/bin/sh
# Hostile input: 1,500 random and mutated requests (paths, ids, query options, tokens, headers,
# methods) get complete answers with Graph error bodies, never a 500 or a dropped connection.
. "$(dirname "$0")/lib.sh"
"$PY" "$MKFIX" --mailbox alice@example.com --items 50 -o "$WORK/alice.jsonl" || fail "mkfixture"
start_server robust --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS"
"$PY" "$GRAPH_TESTS/robust.py" "$PORT" "${SEED:-1}" 1500 || fail "hostile requests"
grep -q 'Traceback\|internal error' "$WORK/robust.err" && { cat "$WORK/robust.err"; fail "the server logged an internal error"; }
exit 0
