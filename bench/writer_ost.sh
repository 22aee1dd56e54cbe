#!/bin/sh
# Benchmark (not a test): writes a 200,000-message, 300-folder OST in the 4 KiB compressed format
# from bench/writer_ost.json into a temporary directory, then times reading it:
#   ostwrite (write), ostrecon ost (our reader), a pypff listing of the same properties
#   (test/writer/pff_list.py), cat FILE > /dev/null (the disk's share) and ostinflate FILE (the
#   decompression floor: libdeflate over every compressed block of the file, on one core, then on
#   two: ostinflate -j 2, whose wall time includes its reads).
# Prints the bytes ostrecon ost read (target: at most 1.2x the file), in how many reads and system
# calls (the listing reads its messages' blocks in batches through io_uring), its wall time against cat's
# (target: within 4x) and its CPU against the floor's. Then, for the memory (which must not grow
# with the file), writes a second file of BENCH_LARGE_ITEMS messages (default 1,000,000, about
# 1.5 GB; 0 leaves it out) and records ostrecon ost's peak RSS there beside the first one's.
# Then the same with the file out of the system's page cache, as a cache of many GB or one just
# copied in is (dd iflag=nocache: that file only; no root needed): cat, ostrecon ost (which reads
# such a file in order on a thread while it lists, src/ost/ndb_prefetch.c) and ostrecon ost with
# that turned off; the ratio of ostrecon ost to cat there (target: within 4x). The same at the
# second file's size.
# BENCH_ITEMS=N changes the message count; BENCH_FORMAT=ost|pst|ost4k the format;
# BENCH_SKIP_PYPFF=1 leaves out the pypff run (which takes about an hour at 200,000 messages:
# libpff's open grows with the square of the messages); BENCH_LIBPFF=1 adds
# `ostrecon ost --reader libpff` (as slow). Ends with the ratio to pypff and the memory target
# (peak RSS under 64 MB + 300 bytes per message). The B-tree tables keep 4 MiB in memory and put
# the rest in a temporary file (src/ost/ndb_table.c): where they do, the KiB there and the pages
# read back from it are printed under the run. Nothing is kept: the directory is removed at exit.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
W="$BUILD/ostwrite"
OSTRECON=${OSTRECON:-$BUILD/ostrecon}
N=${BENCH_ITEMS:-200000}
FMT=${BENCH_FORMAT:-ost4k}
[ -x "$W" ] || { echo "build first: make ($W missing)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian: time)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/writer_ost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed "s/\"items\": 200000/\"items\": $N/" bench/writer_ost.json > "$tmp/fixture.json"

# measure NAME COMMAND...: wall, CPU (user+sys) and peak RSS from /usr/bin/time -v
measure() {
	name=$1; shift
	if ! /usr/bin/time -v -o "$tmp/time" "$@" > "$tmp/out" 2> "$tmp/err"; then
		echo "$name: failed (exit $?):"; tail -3 "$tmp/err"; return 1
	fi
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time")
	user=$(sed -n 's/.*User time (seconds): //p' "$tmp/time")
	sys=$(sed -n 's/.*System time (seconds): //p' "$tmp/time")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
	secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	cpu=$(awk "BEGIN { printf \"%.2f\", $user + $sys }")
	rate=""
	if [ -n "${ITEMS:-}" ]; then
		rate=$(awk "BEGIN { if ($secs > 0) printf \", %.0f messages/s\", $ITEMS / $secs }")
	fi
	printf '%-22s wall %8.2f s, CPU %8.2f s, peak RSS %7d KiB%s\n' "$name" "$secs" "$cpu" "$rss" "$rate"
	last_secs=$secs last_cpu=$cpu last_rss=$rss
}
ours_secs="" ours_cpu="" ours_rss="" pypff_secs="" pypff_cpu=""
# evict FILE: takes FILE out of the page cache; false (and says so) when it stays there
evict() {
	sync "$1" 2>/dev/null
	dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || { echo "cannot take $1 out of the page cache"; return 1; }
	if command -v fincore > /dev/null && [ "$(fincore -n -b -o RES "$1" 2>/dev/null | tr -d ' ')" != 0 ]; then
		echo "cannot take $1 out of the page cache: $(fincore -n -b -o RES "$1") bytes stay"; return 1
	fi
}
# cold FILE ITEMS: cat and ostrecon ost (with the prefetch, then without) on FILE out of the page
# cache; sets cold_ratio
cold() {
	cold_ratio=""
	evict "$1" || return 0
	measure "cat, out of memory" sh -c "cat '$1' > /dev/null" || return 0
	ccat=$last_secs
	evict "$1" || return 0
	ITEMS=$2 measure "ostrecon ost, out of memory" "$OSTRECON" ost -v "$1" -o "$tmp/cold.jsonl" || return 0
	ccold=$last_secs
	sed -n 's/.*\(cache file prefetch: .*\)$/                       \1/p' "$tmp/err"
	evict "$1" || return 0
	OSTRECON_TEST_NO_PREFETCH=1 ITEMS=$2 measure "  without the prefetch" "$OSTRECON" ost -q "$1" -o "$tmp/cold.jsonl" || return 0
	cold_ratio=$(awk "BEGIN { printf \"%.1f\", $ccold / ($ccat > 0 ? $ccat : 0.01) }")
	awk "BEGIN { printf \"out of memory: ostrecon ost %.1fx the wall time of cat (target within 4x): %s; without the prefetch %.1fx\\n\", \
		$cold_ratio, $cold_ratio <= 4 ? \"met\" : \"NOT met\", $last_secs / ($ccat > 0 ? $ccat : 0.01) }"
}
# spill_line: the B-tree tables' temporary file, from the last run's -v lines, if they used one
spill_line() {
	sed -n 's/.*B-tree tables: \(.*\)$/  B-tree tables:        \1/p' "$tmp/err"
}

echo "writer_ost: $N messages in 300 folders, format $FMT, in $tmp"
ITEMS=$N measure "ostwrite (write)" "$W" "$tmp/fixture.json" --format "$FMT" -o "$tmp/bench.$FMT"
size=$(stat -c %s "$tmp/bench.$FMT")
printf '%-22s %d bytes (%.1f MiB), %.0f bytes/message\n' "file size" "$size" \
	"$(awk "BEGIN { print $size / 1048576 }")" "$(awk "BEGIN { print $size / $N }")"
measure "cat > /dev/null" sh -c "cat '$tmp/bench.$FMT' > /dev/null"
cat_secs=$last_secs
floor_cpu="" floor2_secs=""
if [ -x "$BUILD/ostinflate" ] && "$BUILD/ostinflate" "$tmp/bench.$FMT" > "$tmp/floor" 2>&1; then
	floor_cpu=$(sed -n 's/.*inflate \([0-9.]*\) s CPU.*/\1/p' "$tmp/floor")
	printf '%-22s %s\n' "decompression floor" "$(sed 's/^ostinflate: //' "$tmp/floor")"
	if "$BUILD/ostinflate" -j 2 "$tmp/bench.$FMT" > "$tmp/floor2" 2>&1; then
		floor2_secs=$(sed -n 's/.* s CPU, \([0-9.]*\) s wall on 2 threads.*/\1/p' "$tmp/floor2")
		printf '%-22s %s\n' "  on 2 threads" "$(sed 's/^ostinflate: //' "$tmp/floor2")"
	fi
else
	echo "decompression floor: not measured ($BUILD/ostinflate: $(tail -n 1 "$tmp/floor" 2>/dev/null))"
fi
if [ -x "$OSTRECON" ] && "$OSTRECON" ost --help > /dev/null 2>&1; then
	if ITEMS=$N measure "ostrecon ost" "$OSTRECON" ost -v "$tmp/bench.$FMT" -o "$tmp/snap.jsonl"; then
		ours_secs=$last_secs ours_cpu=$last_cpu ours_rss=$last_rss
		read_bytes=$(sed -n 's/.*cache file read: \([0-9]*\) bytes of .*/\1/p' "$tmp/err")
		read_calls=$(sed -n 's/.*cache file read: .* in \([0-9]*\) reads, .*/\1/p' "$tmp/err")
		read_sys=$(sed -n 's/.*cache file read: .* reads, \([0-9]*\) system calls$/\1/p' "$tmp/err")
		if [ -n "$read_bytes" ]; then
			printf '%-22s %d bytes in %d reads (%d system calls): %.2fx the file (target at most 1.2x): %s\n' "  bytes read" \
				"$read_bytes" "$read_calls" "$read_sys" "$(awk "BEGIN { print $read_bytes / $size }")" \
				"$(awk "BEGIN { print ($read_bytes <= 1.2 * $size) ? \"met\" : \"NOT met\" }")"
		fi
		spill_line
	fi
	[ -f "$tmp/snap.jsonl" ] && echo "                       snapshot: $(tail -n 1 "$tmp/snap.jsonl")"
	ITEMS=$N measure "  without CRC scan" "$OSTRECON" ost -q --no-crc-check "$tmp/bench.$FMT" -o "$tmp/snap2.jsonl" || true
	if [ "${BENCH_LIBPFF:-0}" = 1 ]; then
		ITEMS=$N measure "  --reader libpff" "$OSTRECON" ost -q --reader libpff "$tmp/bench.$FMT" -o "$tmp/snap3.jsonl" || true
	fi
else
	echo "ostrecon ost: not built ($OSTRECON), skipped"
fi
if [ "${BENCH_SKIP_PYPFF:-0}" != 1 ] && /usr/bin/python3 -c "import pypff" 2>/dev/null; then
	if ITEMS=$N measure "pypff listing" /usr/bin/python3 test/writer/pff_list.py "$tmp/bench.$FMT"; then
		pypff_secs=$last_secs pypff_cpu=$last_cpu
	fi
	[ -f "$tmp/out" ] && echo "                       $(grep -c '"message"' "$tmp/out") messages listed"
else
	echo "pypff listing: skipped"
fi
if [ -n "$ours_secs" ]; then
	target=$((64 * 1024 + 300 * N / 1024))
	printf 'peak RSS of ostrecon ost: %d KiB, target %d KiB (64 MiB + 300 bytes x %d): %s\n' "$ours_rss" \
		"$target" "$N" "$([ "$ours_rss" -lt "$target" ] && echo met || echo NOT met)"
	awk "BEGIN { printf \"ostrecon ost vs cat, the file in memory: %.1fx the wall time of cat (out of memory below)\\n\", \
		$ours_secs / ($cat_secs > 0 ? $cat_secs : 0.01) }"
	if [ -n "$floor_cpu" ]; then
		awk "BEGIN { printf \"ostrecon ost vs the decompression floor: %.1fx its CPU time, %.1fx in wall time\\n\", \
			$ours_cpu / ($floor_cpu > 0 ? $floor_cpu : 0.01), $ours_secs / ($floor_cpu > 0 ? $floor_cpu : 0.01) }"
		awk "BEGIN { printf \"the floor vs cat: %.1fx the wall time of cat on one thread (its inflate CPU)\\n\", \
			$floor_cpu / ($cat_secs > 0 ? $cat_secs : 0.01) }"
	fi
	if [ -n "$floor2_secs" ]; then
		awk "BEGIN { printf \"the floor on 2 threads vs cat: %.1fx the wall time of cat; ostrecon ost: %.1fx the 2-thread floor in wall time\\n\", \
			$floor2_secs / ($cat_secs > 0 ? $cat_secs : 0.01), $ours_secs / ($floor2_secs > 0 ? $floor2_secs : 0.01) }"
	fi
	cold "$tmp/bench.$FMT" "$N"
	if [ -n "$pypff_secs" ]; then
		awk "BEGIN { printf \"ostrecon ost vs pypff: %.1fx faster in wall time, %.1fx in CPU time (target 5x)\\n\", \
			$pypff_secs / ($ours_secs > 0 ? $ours_secs : 0.01), $pypff_cpu / ($ours_cpu > 0 ? $ours_cpu : 0.01) }"
	fi
fi

# The memory at a larger file: the same fixture with BENCH_LARGE_ITEMS messages, written and read
# once (the first file is removed first, to keep the disk's share down).
LARGE=${BENCH_LARGE_ITEMS:-1000000}
if [ "$LARGE" -gt 0 ] && [ -n "$ours_secs" ]; then
	rm -f "$tmp/bench.$FMT" "$tmp"/snap*.jsonl
	sed "s/\"items\": 200000/\"items\": $LARGE/" bench/writer_ost.json > "$tmp/large.json"
	echo "writer_ost, memory at $LARGE messages:"
	if ITEMS=$LARGE measure "ostwrite (write)" "$W" "$tmp/large.json" --format "$FMT" -o "$tmp/large.$FMT"; then
		lsize=$(stat -c %s "$tmp/large.$FMT")
		printf '%-22s %d bytes (%.1f MiB)\n' "file size" "$lsize" "$(awk "BEGIN { print $lsize / 1048576 }")"
		measure "cat > /dev/null" sh -c "cat '$tmp/large.$FMT' > /dev/null" || true
		lcat=$last_secs
		if ITEMS=$LARGE measure "ostrecon ost" "$OSTRECON" ost -v "$tmp/large.$FMT" -o "$tmp/large.jsonl"; then
			spill_line
			printf 'peak RSS of ostrecon ost: %d KiB at %d messages, %d KiB at %d (%.2fx for %.1fx the file); %.1fx the wall time of cat\n' \
				"$ours_rss" "$N" "$last_rss" "$LARGE" "$(awk "BEGIN { print $last_rss / $ours_rss }")" \
				"$(awk "BEGIN { print $lsize / $size }")" "$(awk "BEGIN { print $last_secs / ($lcat > 0 ? $lcat : 0.01) }")"
			lrss=$last_rss
			awk "BEGIN { d = $lrss - $ours_rss; printf \"peak RSS growth: %.1f MiB for %d more messages (%.0f bytes each; target: within a few MiB): %s\\n\", \
				d / 1024, $LARGE - $N, d * 1024 / ($LARGE - $N > 0 ? $LARGE - $N : 1), d < 4096 ? \"met\" : \"NOT met\" }"
			cold "$tmp/large.$FMT" "$LARGE"
		fi
	fi
fi
