#!/bin/sh
# Throughput of the test Graph server (figures, not a test): a mailbox of $ITEMS items in $FOLDERS
# folders (genmailbox.py), pulled by bench/graph_pull.py (folders by delta, then each folder's
# items by delta, gzip, source key + change key + flags as extended properties) through the
# mailbox API and the mail API; the first pull renders every item, the second finds them cached.
# Also printed: load time, the server's CPU time and peak RSS.
set -u
cd "$(dirname "$0")/.." || exit 1
ITEMS=${ITEMS:-100000} FOLDERS=${FOLDERS:-50} THREADS=${THREADS:-4} PAGE=${PAGE:-1000}
PY=/usr/bin/python3
W=$(mktemp -d); PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT
$PY tools/ewsserver/genmailbox.py --mailbox bench@example.com --folders "$FOLDERS" --items "$ITEMS" --seed 11 -o "$W/mbx.jsonl"
printf '{"tokens": [{"token": "bench-token", "app": "bench"}]}\n' >"$W/tokens.json"
t0=$(date +%s.%N)
$PY tools/graphserver/graphserver.py --port 0 --mailbox "$W/mbx.jsonl" --tokens "$W/tokens.json" \
	--max-concurrent-per-mailbox 0 >"$W/out" 2>&1 &
SPID=$!; PIDS=$SPID
i=0; while ! grep -q "^listening" "$W/out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
[ $i -lt 600 ] || { echo "the test server did not start:"; cat "$W/out"; exit 1; }
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/out" | head -1)
echo "mailbox: $ITEMS items in $FOLDERS folders; server ready in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4) s"
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$SPID/stat"; }
for api in mailbox mail; do
	for pass in first second; do
		c0=$(cpu)
		printf '%-6s pull: ' "$pass"
		$PY bench/graph_pull.py "$PORT" bench@example.com "$api" "$THREADS" "$PAGE" || exit 1
		echo "        server CPU $(echo "$(cpu) - $c0" | bc) s"
	done
done
printf 'one thread, 100 a page: '
$PY bench/graph_pull.py "$PORT" bench@example.com mailbox 1 100 || exit 1
echo "server peak RSS $(awk '/VmHWM/ {print $2}' "/proc/$SPID/status") KiB"
