# Interrupt a batch (kill it mid-run), run it again: it completes the rest without redoing finished
# mailboxes, and no report is half-written.
. "$(dirname "$0")/lib.sh"
make_fleet 12
start_server slow --mailbox-dir "$FLEET" --users "$WORK/users.json" --latency-ms 40
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
{ echo "mailbox,cache"; for k in $(seq -w 1 12); do echo "user$k@fleet.example,fleet/user$k.ost"; done; } >"$WORK/m.csv"

"$OSTRECON" batch "$WORK/m.csv" -o "$WORK/out" --url "$url" --auth basic --user svc --password-file "$WORK/svc.pw" \
	--impersonate --jobs 2 --no-progress >"$WORK/first.log" 2>&1 &
pid=$!
# Wait (bounded) until a few mailboxes are finished, then kill the run hard.
i=0
while [ "$(ls "$WORK/out/entries" 2>/dev/null | grep -c '\.json$')" -lt 3 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
finished=$(ls "$WORK/out/entries" | grep -c '\.json$')
[ "$finished" -ge 3 ] || fail "the first run finished $finished mailboxes before the kill"
[ "$finished" -lt 12 ] || fail "the first run finished before it could be interrupted"
[ ! -e "$WORK/out/summary.json" ] || fail "an interrupted run left a summary"
# Scans keep their snapshots in memory: a killed run leaves no snapshot of a mailbox on disk.
[ -z "$(find "$WORK/out" -name '*.jsonl*')" ] || fail "snapshots on disk after the kill: $(find "$WORK/out" -name '*.jsonl*')"
# Whatever is in reports/ is a whole report (the rest are temporary files, never named .json).
for f in "$WORK/out/reports"/*.json; do
	[ -e "$f" ] || continue
	"$OSTRECON" report "$f" >/dev/null 2>&1
	[ $? -le 2 ] || fail "half-written report $f"
done

batch second "$WORK/m.csv" -o "$WORK/out" --url "$url" --jobs 2
[ "$RC" -eq 1 ] || { cat "$WORK/second.log"; fail "second run: exit $RC (expected 1: some mailboxes differ)"; }
$PY - "$WORK/out/summary.json" "$finished" <<'PY' || fail "the second run did not resume as it should"
import json, sys
s = json.load(open(sys.argv[1]))
finished = int(sys.argv[2])
assert len(s["mailboxes"]) == 12 and all(e["status"] == "done" for e in s["mailboxes"])
resumed = sum(e["resumed"] for e in s["mailboxes"])
assert resumed == finished, (resumed, finished)
print("interrupted after %d of 12; the second run resumed those and did the other %d" % (finished, 12 - finished))
PY
ls "$WORK/out" "$WORK/out/reports" "$WORK/out/entries" | grep -q '\.tmp\.' && fail "temporary files left"
[ "$(ls "$WORK/out")" = "$(printf 'entries\nreports\nsummary.csv\nsummary.json')" ] ||
	fail "unexpected files in the output folder: $(ls "$WORK/out")"
echo "resume: no half-written report, finished mailboxes not redone"
