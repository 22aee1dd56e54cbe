#!/bin/sh
# One large folder read in parallel parts (figures, not a test): a mailbox whose $ITEMS items all
# sit in the Inbox, served with $LATENCY ms added to every answer, pulled by `ostrecon server`
# with one stream (--concurrency 1: the chain of pages) and with 4 (--concurrency 4: the folder
# split in 4 parts, docs/ARCHITECTURE.md), against a replay of the 4-stream pull's requests with
# curl, 4 at a time (no page waits on another: the floor at that latency). Each side runs $RUNS
# times, alternating; medians of wall and CPU (user+sys), and the snapshots of both pulls
# compared. Graph (the mailbox API; the test Graph server) then EWS (the test EWS server). The
# servers answer a request met before with the bytes they sent then (--cache-pages; every pull
# runs once untimed first): a test server in Python on the same 2 cores would otherwise be the
# slow side, and the figures would measure it rather than the client's waiting on pages.
# Targets (issue 20): 4 streams at least 3x faster than 1, within 1.1x the replay.
set -u
cd "$(dirname "$0")/.." || exit 1
ITEMS=${ITEMS:-200000} LATENCY=${LATENCY:-20} RUNS=${RUNS:-3} PAGE=${PAGE:-500}
PY=/usr/bin/python3
BIN=${OSTRECON:-$PWD/build/ostrecon}
W=$(mktemp -d); SPID=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$W"' EXIT
[ -x "$BIN" ] || { echo "build first: make"; exit 1; }
command -v /usr/bin/time >/dev/null 2>&1 || { echo "GNU time is needed (Debian package time)"; exit 1; }
command -v bc >/dev/null || { echo "the bc command is needed (apt-get install bc)"; exit 1; }

# The mailbox: genmailbox's, every item moved to the Inbox (its count follows).
$PY tools/ewsserver/genmailbox.py --mailbox bench@example.com --folders 20 --items "$ITEMS" --seed 11 -o "$W/gen.jsonl"
$PY - "$W/gen.jsonl" "$W/mbx.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
inbox = next(o["id"] for o in lines if o["type"] == "folder" and o.get("role") == "inbox")
n = sum(1 for o in lines if o["type"] == "item" and not o.get("associated"))
with open(sys.argv[2], "w") as out:
    for o in lines:
        if o["type"] == "item":
            o["folder_id"] = inbox
        elif o["type"] == "folder" and "content_count" in o:
            o["content_count"] = n if o["id"] == inbox else 0
            o["unread_count"] = 0
        out.write(json.dumps(o) + "\n")
PY

start() { # start NAME SCRIPT ARGS...: a test server, PORT and SPID set
	n=$1; shift
	$PY "$@" --port 0 >"$W/$n.out" 2>&1 &
	SPID=$!
	i=0; while ! grep -q "^listening" "$W/$n.out" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/$n.out" | head -1)
	[ -n "$PORT" ] || { echo "the test server did not start"; cat "$W/$n.out"; exit 1; }
}
stop() { kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=""; }
# run NAME CMD...: one timed run, appended to $W/NAME.runs as "wall cpu"
run() {
	name=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$W/t" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
		{ echo "$name failed:"; tail -5 "$W/$name.err"; exit 1; }
	read -r wall user sys rss <"$W/t"
	echo "$wall $(echo "$user + $sys" | bc) $rss" >>"$W/$name.runs"
}
median() { # median NAME COLUMN
	sort -n -k"$2" "$W/$1.runs" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}
# the snapshot's lines without the header (capture time, options), sorted
lines() { grep -v '"type":"snapshot"' "$1" | sort; }
report() { # report PROTOCOL
	w1=$(median one 1) c1=$(median one 2) w4=$(median four 1) c4=$(median four 2) wr=$(median replay 1)
	printf '  1 stream   wall %7.2f s  CPU %5.2f s  peak RSS %6d KiB\n' "$w1" "$c1" "$(median one 3)"
	printf '  4 streams  wall %7.2f s  CPU %5.2f s  peak RSS %6d KiB  (%s)\n' "$w4" "$c4" "$(median four 3)" "$(grep -o 'folder .*parts read in parallel' "$W/trace.log" | head -1)"
	printf '  replay     wall %7.2f s  (curl, %d requests, 4 at a time)\n' "$wr" "$(grep -c '^url' "$W/replay.cfg")"
	echo "  $1: 4 streams $(echo "scale=2; $w1 / $w4" | bc)x faster than 1 (target: at least 3x);" \
		"$(echo "scale=2; $w4 / $wr" | bc)x the replay (target: at most 1.1x)"
	if lines "$W/one.jsonl" | cmp -s - "$W/lines.four"; then
		echo "  snapshots: the same lines ($(grep -c '"type":"item"' "$W/one.jsonl") items)"
	else
		echo "  snapshots: DIFFER"
	fi
	echo "  load: $(uptime | sed 's/.*load average: //')"
	rm -f "$W"/one.runs "$W"/four.runs "$W"/replay.runs
}

echo "== Graph: one folder of $ITEMS items, $LATENCY ms added to every answer, $PAGE items a page, $RUNS runs each"
printf '{"tokens": [{"token": "bench-token", "app": "bench"}]}\n' >"$W/tokens.json"
printf 'bench-token\n' >"$W/tok"; chmod 600 "$W/tok"
start graph tools/graphserver/graphserver.py --mailbox "$W/mbx.jsonl" --tokens "$W/tokens.json" --latency-ms "$LATENCY" \
	--cache-pages
gpull() { # gpull CONCURRENCY OUT [more]: the pull's command line
	c=$1 o=$2; shift 2
	echo "$BIN server --api graph --graph-url http://127.0.0.1:$PORT/v1.0 --mailbox bench@example.com \
--token-file $W/tok --no-progress --page-size $PAGE --concurrency $c -o $o $*"
}
# untimed: the server renders every item once; the 4-stream pull's requests for the replay
$(gpull 4 "$W/four.jsonl" -vvv) 2>"$W/trace.log" || { echo "the untimed pull failed"; tail -3 "$W/trace.log"; exit 1; }
lines "$W/four.jsonl" >"$W/lines.four"
sed -n 's/^ostrecon: debug: [A-Za-z]*: \(http[^ ]*\) (client-request-id.*/\1/p' "$W/trace.log" |
	awk '{printf "url = \"%s\"\noutput = \"/dev/null\"\n", $0}' >"$W/replay.cfg"
$(gpull 1 "$W/one.jsonl") 2>/dev/null
for i in $(seq "$RUNS"); do
	run one $(gpull 1 "$W/one.jsonl")
	run four $(gpull 4 "$W/four.jsonl")
	run replay curl -s --compressed --parallel --parallel-max 4 -H "Authorization: Bearer bench-token" \
		-H 'Prefer: IdType="ImmutableId"' -H "Prefer: odata.maxpagesize=$PAGE" -K "$W/replay.cfg"
done
lines "$W/four.jsonl" | cmp -s - "$W/lines.four" || echo "  (the timed 4-stream snapshots differ from the first one)"
report Graph
stop

echo; echo "== EWS: the same folder, FindItem at offsets against one stream of SyncFolderItems"
printf '{"users": [{"name": "bench", "password": "bench-pw", "mailbox": "bench@example.com"}]}\n' >"$W/users.json"
printf 'bench-pw\n' >"$W/pw"; chmod 600 "$W/pw"
start ews tools/ewsserver/ewsserver.py --mailbox "$W/mbx.jsonl" --users "$W/users.json" --latency-ms "$LATENCY" \
	--cache-pages
EPAGE=$((PAGE > 512 ? 512 : PAGE))
epull() { # epull CONCURRENCY OUT [more]: the pull's command line
	c=$1 o=$2; shift 2
	echo "$BIN server --url http://127.0.0.1:$PORT/EWS/Exchange.asmx --mailbox bench@example.com --auth basic \
--user bench --password-file $W/pw --no-progress --page-size $EPAGE --concurrency $c -o $o $*"
}
mkdir -p "$W/trace"
$(epull 4 "$W/four.jsonl" -v --trace-dir "$W/trace") 2>"$W/trace.log" || { echo "the untimed pull failed"; tail -3 "$W/trace.log"; exit 1; }
lines "$W/four.jsonl" >"$W/lines.four"
# the replay: the request bodies the trace kept, POSTed as they were (one block each: options
# after `next` start afresh)
: >"$W/replay.cfg"
for f in "$W"/trace/*request*; do
	[ -s "$W/replay.cfg" ] && echo next >>"$W/replay.cfg"
	printf 'url = "http://127.0.0.1:%s/EWS/Exchange.asmx"\ndata-binary = "@%s"\noutput = "/dev/null"\n' "$PORT" "$f" >>"$W/replay.cfg"
	printf 'user = "bench:bench-pw"\nheader = "Content-Type: text/xml; charset=utf-8"\ncompressed\nsilent\n' >>"$W/replay.cfg"
done
$(epull 1 "$W/one.jsonl") 2>/dev/null
for i in $(seq "$RUNS"); do
	run one $(epull 1 "$W/one.jsonl")
	run four $(epull 4 "$W/four.jsonl")
	run replay curl -s --parallel --parallel-max 4 -K "$W/replay.cfg"
done
report EWS
stop
