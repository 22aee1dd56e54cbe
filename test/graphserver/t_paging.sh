#!/bin/sh
# Paging: a 20,000-item, 50-folder generated mailbox; delta rounds of both APIs at 1000, 37 and
# the default 10 per page, and lists at $top 1000 and 333, return every folder and item exactly once.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox big@example.com --folders 50 --items 20000 --assoc 10 -o "$WORK/big.jsonl" || fail "genmailbox"
start_server paging --mailbox "$WORK/big.jsonl" --tokens "$TOKENS"
"$PY" "$GRAPH_TESTS/paging.py" "$PORT" "$WORK/big.jsonl" 1000 1000 || fail "paging 1000"
"$PY" "$GRAPH_TESTS/paging.py" "$PORT" "$WORK/big.jsonl" 37 333 || fail "paging 37/333"
"$PY" "$GRAPH_TESTS/paging.py" "$PORT" "$WORK/big.jsonl" 10 1000 || fail "paging 10"
