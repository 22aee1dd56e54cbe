#!/bin/sh
# The Graph client's cost (figures, not a test): `ostrecon server --api graph` pulling a mailbox of
# $ITEMS items in $FOLDERS folders from the test Graph server (the Exchange mailbox API, delta
# rounds, extended properties, gzip), against Microsoft's JavaScript SDK paging the same data the
# same way (bench/graph_sdk.js: the peer a user would script) and against a replay of the same
# requests with curl (4 at a time, bodies thrown away: the floor). Requests, wall, CPU and peak RSS
# of each; then, with 20 ms added to every answer, 4 requests in flight against 1. Every pull runs
# once untimed first, so that no timed run pays for the server rendering items the first time.
# Targets: CPU at least 10x below the SDK's, wall at most 1.2x the replay's, RSS under 100 MB;
# with latency, 4 in flight at least 3x faster than 1.
set -u
cd "$(dirname "$0")/.." || exit 1
ITEMS=${ITEMS:-100000} FOLDERS=${FOLDERS:-50} PAGE=${PAGE:-500}
PY=/usr/bin/python3
OSTRECON=${OSTRECON:-build/ostrecon}
W=$(mktemp -d); PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$W"' EXIT
[ -x "$OSTRECON" ] || { echo "build first: make"; exit 1; }
$PY tools/ewsserver/genmailbox.py --mailbox bench@example.com --folders "$FOLDERS" --items "$ITEMS" --seed 11 \
	-o "$W/mbx.jsonl"
printf '{"tokens": [{"token": "bench-token", "app": "bench"}]}\n' >"$W/tokens.json"
printf 'bench-token\n' >"$W/tok"; chmod 600 "$W/tok"
# HTTPS, as Graph is (the SDK sends its token only over https)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$W/tls.key" -out "$W/tls.crt" >/dev/null 2>&1 || { echo "openssl req failed"; exit 1; }
export NODE_EXTRA_CA_CERTS="$W/tls.crt"

start() { # start LATENCY_MS [SERVER-OPTION...]: a server, PORT and SPID set
	ms=$1; shift
	$PY tools/graphserver/graphserver.py --port 0 --mailbox "$W/mbx.jsonl" --tokens "$W/tokens.json" \
		--tls-cert "$W/tls.crt" --tls-key "$W/tls.key" --latency-ms "$ms" "$@" >"$W/out" 2>&1 &
	SPID=$!; PIDS="$PIDS $SPID"
	i=0; while ! grep -q "^listening" "$W/out" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/out" | head -1)
	[ -n "$PORT" ] || { echo "the test Graph server did not start"; cat "$W/out"; exit 1; }
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null; }
# measure NAME CMD...: wall, user+sys CPU and peak RSS of CMD (GNU time's format, from /proc)
measure() {
	name=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
		{ echo "$name failed:"; tail -5 "$W/$name.err"; exit 1; }
	read -r wall user sys rss <"$W/$name.time"
	cpu=$(echo "$user + $sys" | bc)
	eval "${name}_wall=$wall ${name}_cpu=$cpu ${name}_rss=$rss"
	printf '  %-10s wall %6.2f s  CPU %6.2f s  peak RSS %6d KiB  %s\n' "$name" "$wall" "$cpu" "$rss" \
		"$(tail -n 1 "$W/$name.err" | grep -o '[0-9]* requests' || tail -n 1 "$W/$name.out")"
}
# ostr: the pull's command line (GNU time runs it: no shell function)
ostr() {
	echo "$OSTRECON server --api graph --graph-url https://127.0.0.1:$PORT/v1.0 --mailbox bench@example.com \
--token-file $W/tok --cacert $W/tls.crt --no-progress --page-size $PAGE -o $W/snap.jsonl --concurrency"
}
command -v /usr/bin/time >/dev/null 2>&1 || { echo "GNU time is needed (Debian package time)"; exit 1; }

start 0
echo "mailbox: $ITEMS items in $FOLDERS folders, $PAGE items a page, 4 requests in flight"
# the requests of one pull, for the replay: the debug log names each URL
"$OSTRECON" server --api graph --graph-url "https://127.0.0.1:$PORT/v1.0" --mailbox bench@example.com \
	--token-file "$W/tok" --cacert "$W/tls.crt" --no-progress --page-size "$PAGE" -vvv -o "$W/snap.jsonl" 2>"$W/trace.log" ||
	{ echo "the untimed pull failed"; tail -5 "$W/trace.log"; exit 1; }
sed -n 's/^ostrecon: debug: [A-Za-z]*: \(http[^ ]*\) (client-request-id.*/\1/p' "$W/trace.log" |
	awk '{printf "url = \"%s\"\noutput = \"/dev/null\"\n", $0}' >"$W/replay.cfg"
n=$(grep -c '^url' "$W/replay.cfg")
measure ostrecon $(ostr) 4
# the same pull with every folder read in one stream, as the SDK reads them (no large folder split)
measure whole $(ostr) 4 --split-threshold 0
measure replay curl -s --cacert "$W/tls.crt" --compressed --parallel --parallel-max 4 -H "Authorization: Bearer bench-token" \
	-H 'Prefer: IdType="ImmutableId"' -H "Prefer: odata.maxpagesize=$PAGE" -K "$W/replay.cfg"
echo "  (the replay sends the $n requests of the pull)"
NPMDIR=$PWD/build/npm-graph
if command -v node >/dev/null 2>&1 && { [ -d "$NPMDIR/node_modules/@microsoft/microsoft-graph-client" ] ||
	(mkdir -p "$NPMDIR" && cd "$NPMDIR" && timeout 300 npm install --no-audit --no-fund --silent \
		@microsoft/microsoft-graph-client@3.0.7 >/dev/null 2>&1); }; then
	GRAPH_TOKEN=bench-token NODE_PATH="$NPMDIR/node_modules" node bench/graph_sdk.js "https://127.0.0.1:$PORT" \
		bench@example.com 4 "$PAGE" >/dev/null 2>&1 # untimed
	measure sdk env GRAPH_TOKEN=bench-token NODE_PATH="$NPMDIR/node_modules" node bench/graph_sdk.js \
		"https://127.0.0.1:$PORT" bench@example.com 4 "$PAGE"
	echo "CPU: the SDK $(echo "scale=1; $sdk_cpu / $ostrecon_cpu" | bc)x ostrecon's (target: at least 10x);" \
		"$(echo "scale=1; $sdk_cpu / $whole_cpu" | bc)x with every folder in one stream, as the SDK reads them"
else
	echo "(the JavaScript SDK could not be installed: no comparison with it)"
fi
echo "wall: ostrecon $(echo "scale=2; $ostrecon_wall / $replay_wall" | bc)x the replay's (target: at most 1.2x)"
echo "peak RSS: ostrecon $((ostrecon_rss / 1024)) MiB (target: under 100 MB)"
stop

# The server answers a request it met before with the bytes it sent then (--cache-pages), so that
# what is measured is the client's waiting, not the Python server's work; both pulls are made once
# untimed, so that each finds its own requests answered.
start 20 --cache-pages
echo "with 20 ms added to every answer (the server's answers cached):"
$(ostr) 1 >/dev/null 2>&1
$(ostr) 4 >/dev/null 2>&1
measure conc1 $(ostr) 1
measure conc4 $(ostr) 4
echo "4 requests in flight: $(echo "scale=2; $conc1_wall / $conc4_wall" | bc)x faster than 1 (target: at least 3x)"
stop
