#!/bin/sh
# Paging: SyncFolderItems (MaxChangesReturned 512, and an odd 37) and FindItem (IndexedPageItemView,
# 1000 and 333 per page) over a generated 20,000-item mailbox return every item exactly once.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox big@example.com --folders 50 --items 20000 --assoc 10 -o "$WORK/big.jsonl" || fail "genmailbox"
"$PY" "$GEN" --mailbox big@example.com --folders 50 --items 20000 --assoc 10 -o "$WORK/big2.jsonl"
cmp -s "$WORK/big.jsonl" "$WORK/big2.jsonl" || fail "genmailbox is not deterministic"
printf '{"users":[{"name":"big","password":"big-pw","mailbox":"big@example.com"}]}\n' >"$WORK/users.json"
start_server paging --mailbox "$WORK/big.jsonl" --users "$WORK/users.json"
"$PY" "$EWS_TESTS/paging.py" "$PORT" "$WORK/big.jsonl" big big-pw 512 1000 || fail "paging 512/1000"
"$PY" "$EWS_TESTS/paging.py" "$PORT" "$WORK/big.jsonl" big big-pw 37 333 || fail "paging 37/333"
