#!/bin/sh
# Benchmark (not a test): `ostrecon export --all` of generated caches against the readers a user
# has (readpst, pffexport) reading the same cache and `cat FILE > /dev/null`: MB/s of cache and
# peak RSS. The caches (Unicode OST, 512-byte pages) are written at run time by ostwrite in a
# temporary directory, removed at exit: messages with bodies of about BENCH_BODY bytes (default
# 5,000 characters, stored as UTF-16), one to four recipients, named properties, and zero to three
# attachments of 5 to 50 KB each (one in twenty an embedded message with an attachment of its
# own), through data trees. The export runs on two sizes, BENCH_SMALL and BENCH_ITEMS messages
# (defaults 2,000 and 20,000: about 100 MB and 1 GB), to show that its peak RSS does not grow with
# the cache; the readers run on the large one.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
W="$BUILD/ostwrite"
OSTRECON=${OSTRECON:-$BUILD/ostrecon}
N=${BENCH_ITEMS:-20000}
SMALL=${BENCH_SMALL:-2000}
BODY=${BENCH_BODY:-5000}
[ -x "$W" ] && [ -x "$OSTRECON" ] || { echo "build first: make" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: time)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/export_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

make_cache() { # make_cache ITEMS FILE
	cat > "$tmp/fixture.json" <<JSON
{"seed": 7, "generate": [
  {"folders": 50, "under": "inbox", "max_depth": 2},
  {"items": $1, "in": "*generated", "from": "2023-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z",
   "body_size": [$((BODY / 2)), $((BODY * 3 / 2))], "subject": "Message {n}",
   "recipients": [1, 4], "named": true,
   "attachments": [0, 3], "attachment_size": [5000, 50000], "embedded": 0.05}]}
JSON
	"$W" "$tmp/fixture.json" --format ost -o "$2"
}

measure() { # measure NAME MB COMMAND...: one line of figures; seconds in $secs, RSS in $rss after
	name=$1 mb=$2; shift 2
	rss=0 secs=0
	if ! /usr/bin/time -v -o "$tmp/time" "$@" > /dev/null 2> "$tmp/err"; then
		echo "$name: failed:"; tail -3 "$tmp/err"; return 0
	fi
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	printf '%-30s %8.2f s  %8.1f MB/s  peak RSS %7d KiB\n' "$name" "$secs" \
		"$(awk "BEGIN { print ($secs > 0 ? $mb / $secs : 0) }")" "$rss"
}

ratio() { # ratio NAME: the export's speed over the reader's just measured (its time over ours)
	[ "$secs" != 0 ] && [ "$export_secs" != 0 ] || return 0
	printf '%-30s %8.2fx the speed of %s\n' "ostrecon export" "$(awk "BEGIN { print $secs / $export_secs }")" "$1"
}

for n in "$SMALL" "$N"; do
	make_cache "$n" "$tmp/cache.ost"
	mb=$(awk "BEGIN { print $(stat -c %s "$tmp/cache.ost") / 1e6 }")
	echo "export: $n messages with attachments, cache $(printf '%.0f' "$mb") MB"
	measure "cat > /dev/null" "$mb" sh -c "cat '$tmp/cache.ost' > /dev/null"
	measure "ostrecon export --all" "$mb" "$OSTRECON" export -q --ost "$tmp/cache.ost" --all -o "$tmp/out.pst"
	[ "$n" = "$SMALL" ] && small_rss=$rss small_mb=$mb
	big_rss=$rss big_mb=$mb export_secs=$secs
	[ -f "$tmp/out.pst" ] && echo "                               .pst: $(stat -c %s "$tmp/out.pst") bytes"
	rm -f "$tmp/out.pst"
	[ "$n" = "$N" ] || { rm -f "$tmp/cache.ost"; continue; }
	if command -v readpst > /dev/null; then
		mkdir "$tmp/rp"
		measure "readpst -r -e" "$mb" readpst -q -r -e -o "$tmp/rp" "$tmp/cache.ost"
		ratio readpst
		rm -rf "$tmp/rp"
	fi
	if command -v pffexport > /dev/null; then
		measure "pffexport" "$mb" pffexport -q -t "$tmp/px" "$tmp/cache.ost"
		ratio pffexport
		rm -rf "$tmp/px.export"
	fi
done
printf 'export peak RSS: %d KiB at %.0f MB of cache, %d KiB at %.0f MB (%.2fx the memory for %.1fx the cache)\n' \
	"$small_rss" "$small_mb" "$big_rss" "$big_mb" "$(awk "BEGIN { print $big_rss / ($small_rss > 0 ? $small_rss : 1) }")" \
	"$(awk "BEGIN { print $big_mb / $small_mb }")"
