#!/bin/sh
# Benchmark of `ostrecon batch` (figures, not a test): $N mailboxes of $ITEMS items each, generated
# at run time (caches written by ostwrite, mailboxes served by the test EWS server with $LATENCY ms
# added per request). Wall time with --jobs 1 and --jobs 8 ($REPEAT runs each, alternating; the
# medians are compared), requests per second, peak RSS; and the peak RSS at a quarter of the
# mailboxes, to show memory does not grow with their number. CPU per mailbox of ostrecon and of
# the test server (all its processes) is printed too: on a 2-core machine
# the --jobs 8 run is bound by their sum, so the speed-up is too (docs/BATCH.md, "Performance").
# The load average is printed before and after: other work on the machine skews every figure.
set -u
cd "$(dirname "$0")/.." || exit 1
N=${N:-100} ITEMS=${ITEMS:-2000} LATENCY=${LATENCY:-10} REPEAT=${REPEAT:-3}
BIN=${OSTRECON:-$PWD/build/ostrecon}
PY=/usr/bin/python3
W=$(mktemp -d); SRV=""
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$W"' EXIT
echo "generating $N mailboxes of $ITEMS items..."
$PY test/batch/make_fleet.py "$W/fleet" "$N" "$ITEMS" || exit 1
for s in "$W/fleet"/server*.json; do
	k=$(basename "$s" .json | sed 's/server//')
	./build/ostwrite "$W/fleet/cache$k.json" --format ost4k -o "$W/fleet/user$k.ost" 2>/dev/null || exit 1
	./build/ostwrite --expand "$s" -o "$W/fleet/mbx$k.jsonl" || exit 1
done
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$W/users.json"
printf 'svc-pw\n' >"$W/pw"; chmod 600 "$W/pw"
$PY tools/ewsserver/ewsserver.py --port 0 --mailbox-dir "$W/fleet" --users "$W/users.json" --latency-ms "$LATENCY" \
	--workers 2 --max-connections 64 >"$W/srv.out" 2>&1 &
SRV=$!
i=0; while ! grep -q '^listening' "$W/srv.out" && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/srv.out" | head -1)
[ -n "$PORT" ] || { cat "$W/srv.out"; exit 1; }
URL="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
manifest() { # manifest COUNT FILE
	{ echo "mailbox,cache"; for i in $(seq 1 "$1"); do k=$(printf %02d "$i"); echo "user$k@fleet.example,fleet/user$k.ost"; done; } >"$2"
}
manifest "$N" "$W/fleet/../all.csv"
manifest $((N / 4)) "$W/fleet/../quarter.csv"
server_cpu() { # CPU seconds (user + system) used so far by the test server's processes
	for p in $SRV $(pgrep -P "$SRV"); do cat "/proc/$p/stat"; done 2>/dev/null |
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%.2f", t / hz }'
}
run() { # run LABEL MANIFEST JOBS COUNT
	rm -rf "$W/out"
	S0=$(server_cpu)
	/usr/bin/time -f '%e %U %S %M' -o "$W/time" "$BIN" batch "$2" -o "$W/out" --url "$URL" --auth basic --user svc \
		--password-file "$W/pw" --impersonate --jobs "$3" --no-progress --max-server-requests 16 >/dev/null 2>"$W/err"
	S1=$(server_cpu)
	set -- "$1" $(tail -n 1 "$W/time") "$4"
	grep -q ',failed,' "$W/out/summary.csv" && { echo "some mailboxes failed:"; grep ',failed,' "$W/out/summary.csv" | head -3; }
	REQ=$($PY -c 'import json,sys; print(sum(e["requests"] for e in json.load(open(sys.argv[1]))["mailboxes"]))' "$W/out/summary.json")
	WALL=$2
	printf '%-28s wall %7.2f s  cpu %6.2f s  peak RSS %7d KiB  requests %6d  %7.1f req/s\n' "$1" "$2" \
		"$(echo "$3 + $4" | bc)" "$5" "$REQ" "$(echo "scale=1; $REQ / $2" | bc)"
	printf '%-28s per mailbox: wall %5.1f ms  CPU ostrecon %5.1f ms, test server %5.1f ms\n' "" \
		"$(echo "scale=2; $2 * 1000 / $6" | bc)" "$(echo "scale=2; ($3 + $4) * 1000 / $6" | bc)" \
		"$(echo "scale=2; ($S1 - $S0) * 1000 / $6" | bc)"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
# The test server renders an item once per process and keeps it: an untimed pass first, so that
# neither timed run pays for that (the first one would).
run "warm-up (not compared)" "$W/all.csv" 8 "$N"
# Each configuration $REPEAT times, alternating, so that a burst of other work on the machine
# does not decide the ratio: the medians are compared.
J1S="" J8S=""
for r in $(seq 1 "$REPEAT"); do
	run "--jobs 1, $N mailboxes ($r)" "$W/all.csv" 1 "$N"; J1S="$J1S $WALL"
	run "--jobs 8, $N mailboxes ($r)" "$W/all.csv" 8 "$N"; J8S="$J8S $WALL"
done
run "--jobs 8, $((N / 4)) mailboxes" "$W/quarter.csv" 8 $((N / 4))
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# shellcheck disable=SC2086
J1=$(median $J1S) J8=$(median $J8S)
echo "--jobs 1: median $J1 s of$J1S; --jobs 8: median $J8 s of$J8S"
echo "speed-up --jobs 8 / --jobs 1 (medians): $(echo "scale=1; $J1 / $J8" | bc)x (target >= 5x); peak RSS should not grow with the mailbox count"
