# Progress on stderr: nothing when stderr is not a terminal (unless asked); --progress=json gives
# JSON Lines (start, progress, end) for the cache read (folders, messages of the file's announced
# total, bytes and MB/s), the server pull (folders, items of the server's announced total,
# requests, retries, time left) and a batch (mailboxes done, running, failed); --progress gives
# plain lines; a terminal gets lines redrawn in place; --no-progress silences all of it.
. "$(dirname "$0")/../batch/lib.sh"
make_fleet 3
# Mailbox 1 with enough items that the pull lasts a few seconds at a slow server.
$PY "$BATCH_TESTS/make_fleet.py" "$WORK/big" 1 3000 || fail "make_fleet.py (big)"
"$OSTWRITE" "$WORK/big/cache01.json" --format ost4k -o "$WORK/big.ost" 2>/dev/null || fail "ostwrite big"
mkdir -p "$WORK/bigmbx"
"$OSTWRITE" --expand "$WORK/big/server01.json" -o "$WORK/bigmbx/big.jsonl" || fail "ostwrite --expand big"
start_server slow --mailbox-dir "$WORK/bigmbx" --users "$WORK/users.json" --latency-ms 40 --busy-every 7 --busy-backoff-ms 300
slow="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
start_server main --mailbox-dir "$FLEET" --users "$WORK/users.json"
main="http://127.0.0.1:$PORT/EWS/Exchange.asmx"

# events FILE TASK: checks the JSON Lines of FILE, prints TASK's events as one JSON list
events() {
	$PY - "$1" "$2" <<'PY'
import json, sys
evs = []
for n, line in enumerate(open(sys.argv[1]), 1):
    if not line.startswith("{"):
        continue  # a log line
    e = json.loads(line)  # every progress line is one JSON object
    assert e["event"] in ("start", "progress", "end", "stopped"), e
    if e["task"] == sys.argv[2]:
        evs.append(e)
print(json.dumps(evs))
PY
}

# --- The cache read.
"$OSTRECON" ost "$WORK/big.ost" -o "$WORK/c.jsonl" 2>"$WORK/ost-auto.err"
[ $? -eq 0 ] || fail "ost failed"
grep -q "^cache\|^{\|$(printf '\r')" "$WORK/ost-auto.err" && fail "progress on a stderr that is not a terminal: $(head -c 200 "$WORK/ost-auto.err")"
"$OSTRECON" ost "$WORK/big.ost" -o "$WORK/c.jsonl" --progress=json 2>"$WORK/ost-json.err" || fail "ost --progress=json failed"
events "$WORK/ost-json.err" cache >"$WORK/ost.events" || fail "ost: progress lines that are not JSON"
$PY - "$WORK/ost.events" "$WORK/c.jsonl" <<'PY' || fail "ost: the progress events do not describe the read"
import json, sys
evs = json.load(open(sys.argv[1]))
snap = [json.loads(l) for l in open(sys.argv[2])]
folders = sum(1 for o in snap if o["type"] == "folder")
messages = sum(1 for o in snap if o["type"] == "item")
assert evs[0]["event"] == "start" and evs[-1]["event"] == "end", [e["event"] for e in evs]
end = evs[-1]
assert end["folders"] == {"done": folders, "total": folders}, (end["folders"], folders)
assert end["messages"]["done"] == messages == end["messages"]["total"], (end["messages"], messages)
assert end["bytes"] > 0 and end["mb_per_s"] > 0, end
print("ost: %d events, %d folders, %d messages, %.1f MB/s" % (len(evs), folders, messages, end["mb_per_s"]))
PY
"$OSTRECON" ost "$WORK/big.ost" -o "$WORK/c.jsonl" --progress 2>"$WORK/ost-text.err" || fail "ost --progress failed"
grep -qE "^cache: [0-9]+/[0-9]+ folders, [0-9,]+/[0-9,]+ messages, [0-9.]+ MB/s, done in [0-9]+:[0-9]{2}$" "$WORK/ost-text.err" ||
	fail "ost --progress: no final line: $(cat "$WORK/ost-text.err")"
"$OSTRECON" ost "$WORK/big.ost" -o "$WORK/c.jsonl" --progress=json --no-progress 2>"$WORK/ost-none.err"
grep -q '^{' "$WORK/ost-none.err" && fail "--no-progress did not silence --progress=json"
"$OSTRECON" ost "$WORK/big.ost" -o "$WORK/c.jsonl" --progress=sometimes >/dev/null 2>&1
[ $? -eq 64 ] || fail "--progress=sometimes is not a usage error"
if command -v script >/dev/null 2>&1; then
	script -qec "'$OSTRECON' ost '$WORK/big.ost' -o '$WORK/c.jsonl'" /dev/null >"$WORK/ost-tty.out"
	grep -q "cache (folders)\|cache (messages)" "$WORK/ost-tty.out" || fail "a terminal shows no progress line"
	grep -q "$(printf '\033')\[J" "$WORK/ost-tty.out" || fail "a terminal's progress line is not redrawn in place"
	grep -q "cache: .* done in" "$WORK/ost-tty.out" || fail "a terminal shows no final progress line"
fi

# --- A scan: the cache read and the server pull side by side.
timeout 300 "$OSTRECON" scan --ost "$WORK/big.ost" --url "$slow" --mailbox user01@fleet.example --auth basic --user svc \
	--password-file "$WORK/svc.pw" --impersonate --page-size 40 --concurrency 2 --progress=json \
	-o "$WORK/scan.json" >/dev/null 2>"$WORK/scan.err"
[ $? -le 1 ] || { cat "$WORK/scan.err"; fail "scan failed"; }
events "$WORK/scan.err" server >"$WORK/server.events" || fail "scan: progress lines that are not JSON"
events "$WORK/scan.err" cache >"$WORK/cache.events" || fail "scan: progress lines that are not JSON"
$PY - "$WORK/server.events" "$WORK/cache.events" "$WORK/scan.json" <<'PY' || fail "scan: the progress events do not describe the pull"
import json, sys
srv, cache = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rep = json.load(open(sys.argv[3]))
assert srv and srv[0]["event"] == "start" and srv[-1]["event"] == "end", [e["event"] for e in srv]
assert cache and cache[-1]["event"] == "end", cache
end = srv[-1]
items = rep["sides"][0]["items"]
assert end["items"]["done"] == items and end["items"]["total"] == items, (end["items"], items)
assert end["folders"]["done"] == end["folders"]["total"] == rep["sides"][0]["folders"], end["folders"]
assert end["requests"] > 40 and end["retries"] > 0, end
prog = [e for e in srv if e["event"] == "progress"]
assert len(prog) >= 2, "fewer than 2 progress events in %.1f s" % end["elapsed_s"]
assert all("requests" in e and "retries_waiting" in e and e["items"]["total"] == items for e in prog), prog
assert any("eta_s" in e for e in prog), "no time left in %r" % prog
print("scan: %d server events over %.1f s, %d requests, %d retries; time left shown %d times"
      % (len(srv), end["elapsed_s"], end["requests"], end["retries"], sum("eta_s" in e for e in prog)))
PY
timeout 300 "$OSTRECON" scan --ost "$FLEET/user02.ost" --url "$main" --mailbox user02@fleet.example --auth basic --user svc \
	--password-file "$WORK/svc.pw" --impersonate --progress=json --no-progress >/dev/null 2>"$WORK/scan-none.err"
grep -q '^{' "$WORK/scan-none.err" && fail "scan --no-progress shows progress"
timeout 300 "$OSTRECON" server --url "$main" --mailbox user02@fleet.example --auth basic --user svc --password-file "$WORK/svc.pw" \
	--impersonate --progress -o "$WORK/s.jsonl" 2>"$WORK/server-text.err" || fail "server --progress failed"
grep -qE "^server: [0-9]+/[0-9]+ folders, [0-9,]+/[0-9,]+ items, [0-9]+ requests, done in" "$WORK/server-text.err" ||
	fail "server --progress: no final line: $(cat "$WORK/server-text.err")"

# --- A batch: the mailboxes, not each scan's steps.
printf 'mailbox,cache\n' >"$WORK/m.csv"
for k in 01 02 03; do echo "user$k@fleet.example,fleet/user$k.ost" >>"$WORK/m.csv"; done
echo "user09@fleet.example,fleet/none.ost" >>"$WORK/m.csv"
timeout 600 "$OSTRECON" batch "$WORK/m.csv" -o "$WORK/out" --url "$main" --auth basic --user svc --password-file "$WORK/svc.pw" \
	--impersonate --jobs 2 --progress=json >/dev/null 2>"$WORK/batch.err"
[ $? -eq 3 ] || { cat "$WORK/batch.err"; fail "batch: exit code (one mailbox has no cache file)"; }
events "$WORK/batch.err" batch >"$WORK/batch.events" || fail "batch: progress lines that are not JSON"
$PY - "$WORK/batch.events" "$WORK/batch.err" <<'PY' || fail "batch: the progress events do not describe the run"
import json, sys
evs = json.load(open(sys.argv[1]))
assert evs[0]["event"] == "start" and evs[-1]["event"] == "end", evs
end = evs[-1]
assert end["mailboxes"] == {"done": 4, "total": 4} and end["failed"] == 1 and end["running"] == 0, end
others = [l for l in open(sys.argv[2]) if l.startswith("{") and '"task":"batch"' not in l]
assert not others, "a batch shows its scans' steps: %r" % others[:2]
PY
echo "progress: cache read, server pull, scan and batch as JSON Lines, plain lines and on a terminal"
