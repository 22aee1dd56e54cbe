#!/bin/sh
# Benchmark (not a test): `ostrecon export --all` of a generated cache against the readers a user
# has (readpst, pffexport) reading the same cache and `cat FILE > /dev/null`: MB/s of cache and
# peak RSS. The cache (Unicode OST, 512-byte pages) holds BENCH_ITEMS messages (default 20,000)
# with bodies of BENCH_BODY bytes of text (default 25,000: stored as UTF-16 through data trees,
# about 1 GB in all); it is generated in a temporary directory and removed at exit.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
W="$BUILD/ostwrite"
OSTRECON=${OSTRECON:-$BUILD/ostrecon}
N=${BENCH_ITEMS:-20000}
BODY=${BENCH_BODY:-25000}
[ -x "$W" ] && [ -x "$OSTRECON" ] || { echo "build first: make" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: time)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/export_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fixture.json" <<JSON
{"seed": 7, "generate": [
  {"folders": 50, "under": "inbox", "max_depth": 2},
  {"items": $N, "in": "*generated", "from": "2023-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z",
   "body_size": [$((BODY / 2)), $((BODY * 3 / 2))], "subject": "Message {n}"}]}
JSON
"$W" "$tmp/fixture.json" --format ost -o "$tmp/cache.ost"
size=$(stat -c %s "$tmp/cache.ost")
mb=$(awk "BEGIN { print $size / 1e6 }")
echo "export: $N messages, cache $(printf '%.0f' "$mb") MB"
measure() {
	name=$1; shift
	if ! /usr/bin/time -v -o "$tmp/time" "$@" > /dev/null 2> "$tmp/err"; then
		echo "$name: failed:"; tail -3 "$tmp/err"; return 0
	fi
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	printf '%-26s %8.2f s  %8.1f MB/s  peak RSS %7d KiB\n' "$name" "$secs" \
		"$(awk "BEGIN { print ($secs > 0 ? $mb / $secs : 0) }")" "$rss"
}
measure "cat > /dev/null" sh -c "cat '$tmp/cache.ost' > /dev/null"
measure "ostrecon export --all" "$OSTRECON" export -q --ost "$tmp/cache.ost" --all -o "$tmp/out.pst"
[ -f "$tmp/out.pst" ] && echo "                           .pst: $(stat -c %s "$tmp/out.pst") bytes"
rm -f "$tmp/out.pst"
if command -v readpst > /dev/null; then
	mkdir "$tmp/rp"
	measure "readpst -r -e" readpst -q -r -e -o "$tmp/rp" "$tmp/cache.ost"
	rm -rf "$tmp/rp"
fi
if command -v pffexport > /dev/null; then
	measure "pffexport" pffexport -q -t "$tmp/px" "$tmp/cache.ost"
	rm -rf "$tmp/px.export"
fi
