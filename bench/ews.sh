#!/bin/sh
# Benchmark of `ostrecon server` against the test EWS server (figures, not a test).
# A mailbox of $ITEMS items in $FOLDERS folders is generated at run time. Printed: wall, CPU, peak
# RSS and requests of ostrecon (the median of $RUNS pulls, by CPU); the floor: curl replaying the
# same requests (the bodies the pull sent, 4 in flight, gzip), which moves the same bytes and
# parses nothing; the peer: the same pull by exchangelib (Debian's python3-exchangelib); their
# ratios; and with $LATENCY ms added per request, --concurrency 1 against 4. The machine's load is
# printed with the figures: CPU time grows when other processes share the cores.
set -u
cd "$(dirname "$0")/.." || exit 1
ITEMS=${ITEMS:-100000} FOLDERS=${FOLDERS:-50} LATENCY=${LATENCY:-20} RUNS=${RUNS:-3}
BIN=${OSTRECON:-$PWD/build/ostrecon}
PY=/usr/bin/python3
W=$(mktemp -d); PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT
$PY tools/ewsserver/genmailbox.py --mailbox bench@example.com --folders "$FOLDERS" --items "$ITEMS" --seed 11 -o "$W/mbx.jsonl"
printf '{"users": [{"name": "bench", "password": "bench-pw", "mailbox": "bench@example.com"}]}\n' >"$W/users.json"
printf 'bench-pw\n' >"$W/pw"; chmod 600 "$W/pw"

start() { # start NAME ARGS: sets PORT
	n=$1; shift
	$PY tools/ewsserver/ewsserver.py --port 0 --mailbox "$W/mbx.jsonl" --users "$W/users.json" "$@" >"$W/$n.out" 2>&1 &
	PIDS="$PIDS $!"
	i=0; while ! grep -q "^listening" "$W/$n.out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
	[ $i -lt 600 ] || { echo "the test server did not start:"; cat "$W/$n.out"; exit 1; }
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/$n.out" | head -1)
}
measure() { # measure LABEL COMMAND...: sets WALL CPU RSS
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { echo "failed: $*"; cat "$W/err"; exit 1; }
	set -- $(tail -n 1 "$W/time")
	WALL=$1 CPU=$(echo "$2 + $3" | bc) RSS=$4
}
median() { # median LABEL COMMAND...: runs it $RUNS times; sets WALL CPU RSS of the run of median CPU
	label=$1; : >"$W/runs"
	i=0; while [ $i -lt "$RUNS" ]; do
		measure "$@"
		echo "$CPU $WALL $RSS" >>"$W/runs"
		i=$((i+1))
	done
	set -- $(sort -n "$W/runs" | sed -n "$(( (RUNS + 1) / 2 ))p")
	CPU=$1 WALL=$2 RSS=$3
}
ratio() { echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; }
start plain
URL="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
echo "mailbox: $ITEMS items in $FOLDERS folders; load $(cut -d' ' -f1-3 /proc/loadavg)"
# untimed: the requests of one pull, for the replay
rm -rf "$W/trace"; mkdir "$W/trace"
"$BIN" server --no-progress --url "$URL" --mailbox bench@example.com --auth basic --user bench --password-file "$W/pw" \
	--concurrency 4 --trace-dir "$W/trace" -o "$W/snap.jsonl" 2>"$W/err" || { echo "the untimed pull failed:"; cat "$W/err"; exit 1; }
: >"$W/replay.cfg"; chmod 600 "$W/replay.cfg"
first=1
for f in "$W"/trace/*-request.xml; do
	[ $first = 1 ] || echo next >>"$W/replay.cfg"
	first=0
	printf 'url = "%s"\ndata-binary = "@%s"\noutput = "/dev/null"\nheader = "Content-Type: text/xml; charset=utf-8"\nuser = "bench:bench-pw"\ncompressed\nsilent\n' \
		"$URL" "$f" >>"$W/replay.cfg"
done
rm -f "$W"/trace/*-response.xml
median x "$BIN" server --no-progress --url "$URL" --mailbox bench@example.com --auth basic --user bench --password-file "$W/pw" --concurrency 4 -o "$W/snap.jsonl"
O_WALL=$WALL O_CPU=$CPU
REQ=$(sed -n 's/.*; \([0-9]*\) requests.*/\1/p' "$W/err")
printf 'ostrecon server : wall %6.2f s  cpu %6.2f s  peak RSS %6d KiB  requests %s  items %d  (cpu %s s per 100k items)\n' "$WALL" "$CPU" "$RSS" "$REQ" \
	"$(grep -c '"type":"item"' "$W/snap.jsonl")" "$(echo "scale=2; $CPU * 100000 / $ITEMS" | bc | sed 's/^\./0./')"
median x curl --parallel --parallel-max 4 -K "$W/replay.cfg"
R_WALL=$WALL R_CPU=$CPU
printf 'curl replay     : wall %6.2f s  cpu %6.2f s  peak RSS %6d KiB  (the floor: the same %s requests, nothing parsed)\n' "$WALL" "$CPU" "$RSS" "$(ls "$W"/trace | wc -l)"
measure x $PY bench/ews_exchangelib.py "$URL" bench@example.com bench "$W/pw"
printf 'exchangelib     : wall %6.2f s  cpu %6.2f s  peak RSS %6d KiB  (%s)\n' "$WALL" "$CPU" "$RSS" "$(cat "$W/out")"
echo "ratios: CPU ostrecon/replay $(ratio "$O_CPU" "$R_CPU")x, wall ostrecon/replay $(ratio "$O_WALL" "$R_WALL")x"
echo "        CPU exchangelib/ostrecon $(ratio "$CPU" "$O_CPU")x (target >= 20x), wall $(ratio "$WALL" "$O_WALL")x (target >= 3x)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
start slow --latency-ms "$LATENCY" --workers 2
URL="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
# The test server runs in Python on the same 2 cores: at 512 items a page its own CPU time per
# request is of the order of the added latency, so the ratio is also shown at 100 items a page,
# where latency dominates as it does against a real Exchange server.
for page in 512 100; do
	measure x "$BIN" -q server --no-progress --url "$URL" --mailbox bench@example.com --auth basic --user bench --password-file "$W/pw" --concurrency 1 --page-size $page -o /dev/null
	C1=$WALL
	measure x "$BIN" -q server --no-progress --url "$URL" --mailbox bench@example.com --auth basic --user bench --password-file "$W/pw" --concurrency 4 --page-size $page -o /dev/null
	C4=$WALL
	echo "with ${LATENCY} ms latency, $page items a page: --concurrency 1 ${C1} s, --concurrency 4 ${C4} s: $(echo "scale=1; $C1 / $C4" | bc)x (target >= 3x)"
done
