# Sharding: the union of all shards' summaries (ostrecon merge) equals the unsharded summary.
. "$(dirname "$0")/lib.sh"
make_fleet 10
start_server s --mailbox-dir "$FLEET" --users "$WORK/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
{ echo "mailbox,cache"; for k in $(seq -w 1 10); do echo "user$k@fleet.example,fleet/user$k.ost"; done
  echo "broken row,"; } >"$WORK/m.csv"
batch all "$WORK/m.csv" -o "$WORK/all" --url "$url" --jobs 3
for k in 1 2 3; do
	batch "shard$k" "$WORK/m.csv" -o "$WORK/shards" --url "$url" --shard "$k/3" --jobs 2
	[ -f "$WORK/shards/summary-$k-of-3.json" ] || fail "shard $k wrote no summary"
done
"$OSTRECON" merge -o "$WORK/merged" "$WORK/shards"/summary-*-of-3.json >"$WORK/merge.log" 2>&1
[ $? -eq "$("$OSTRECON" merge -o "$WORK/merged2" "$WORK/all/summary.json" >/dev/null 2>&1; echo $?)" ] || fail "merge exit codes differ"
summary_rows "$WORK/all/summary.json" >"$WORK/all.rows"
summary_rows "$WORK/merged/summary.json" >"$WORK/merged.rows"
[ "$(wc -l <"$WORK/all.rows")" -eq 11 ] || fail "unsharded summary has $(wc -l <"$WORK/all.rows") rows"
diff "$WORK/all.rows" "$WORK/merged.rows" || fail "merged shards differ from the unsharded run"
# Overlapping summaries are refused.
"$OSTRECON" merge -o "$WORK/bad" --partial "$WORK/shards/summary-1-of-3.json" "$WORK/shards/summary-1-of-3.json" \
	>/dev/null 2>&1
[ $? -eq 3 ] || fail "overlapping shards were merged"
# Two of three shards: refused, naming the missing one, unless --partial.
"$OSTRECON" merge -o "$WORK/two" "$WORK/shards/summary-1-of-3.json" "$WORK/shards/summary-3-of-3.json" \
	>"$WORK/two.log" 2>&1
[ $? -eq 3 ] || fail "a merge of 2 of 3 shards was not refused"
grep -q "shard 2 of 3 is missing" "$WORK/two.log" || fail "the missing shard is not named: $(cat "$WORK/two.log")"
[ ! -e "$WORK/two/summary.json" ] || fail "a partial summary was written"
"$OSTRECON" merge -o "$WORK/two" --partial "$WORK/shards/summary-1-of-3.json" "$WORK/shards/summary-3-of-3.json" \
	>/dev/null 2>&1
[ -e "$WORK/two/summary.json" ] || fail "--partial wrote no summary"
# A summary of another manifest: refused as a usage error.
sed 's#"manifest": *"[^"]*"#"manifest": "/elsewhere/other.csv"#' "$WORK/shards/summary-2-of-3.json" >"$WORK/other.json"
grep -q '/elsewhere/other.csv' "$WORK/other.json" || fail "could not make a summary of another manifest"
"$OSTRECON" merge -o "$WORK/mixed" "$WORK/shards/summary-1-of-3.json" "$WORK/other.json" \
	"$WORK/shards/summary-3-of-3.json" >"$WORK/mixed.log" 2>&1
[ $? -eq 64 ] || fail "summaries of different manifests were merged: $(cat "$WORK/mixed.log")"
echo "shards: 3 shards merged equal the unsharded summary ($(wc -l <"$WORK/all.rows") rows)"
