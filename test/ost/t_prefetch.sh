#!/bin/sh
# A cache file not in the system's page cache is read front to back on a thread while the listing
# runs (src/ost/ndb_prefetch.c). On generated files in the three formats, damaged ones and the real
# samples, each taken out of the page cache first (dd iflag=nocache: posix_fadvise DONTNEED on that
# file only; fincore shows it worked where util-linux has it):
# - the snapshot and the exit code are the same with the prefetch and with it turned off
#   (OSTRECON_TEST_NO_PREFETCH=1), the listing's own reads too (their count and bytes);
# - the prefetch read the generated files' bytes from the file (-v: "N bytes read", N > 0);
# - once the whole file is in memory (cat), it finds it there: it reads less than a quarter of it
#   (nothing, unless the system dropped some pages meanwhile);
# - a file more than half the memory said to be available (OSTRECON_TEST_MEMAVAILABLE) is not
#   prefetched, and one of exactly half is;
# - a file cut short underfoot, taken out of memory first, gives the same read errors with the
#   prefetch and without, neither a crash nor a hang.
set -u
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v cc > /dev/null || { echo "no C compiler (cc) to build the preload: skipped"; exit 77; }
cc -shared -fPIC -O2 -o "$tmp/cut.so" "$here/cut_underfoot.c" -ldl || { echo "FAIL cannot build cut_underfoot.c"; exit 1; }
fail=0 n=0
. "$here/files.sh"
. "$here/runs.sh"
# the real samples as copies of this test's own: other tests read the samples at the same time,
# which would bring them back into memory between taking them out and the run
own=""
for f in $files; do
	case $f in
	"$tmp"/*) own="$own $f" ;;
	*) cp "$f" "$tmp/" && own="$own $tmp/$(basename "$f")" ;;
	esac
done
files=$own

# evict FILE: takes FILE out of the page cache; false when it stays there
evict() {
	sync "$1" 2>/dev/null
	dd if="$1" iflag=nocache count=0 status=none 2>/dev/null || return 1
	command -v fincore > /dev/null || return 0
	[ "$(fincore -n -b -o RES "$1" 2>/dev/null | tr -d ' ')" = 0 ]
}
# prefetched NAME: "READ THERE" bytes from the prefetch's -v line of run NAME; nothing without one
prefetched() {
	sed -n 's/.*cache file prefetch: \([0-9]*\) bytes read in [0-9]* reads, \([0-9]*\) found in memory.*/\1 \2/p' "$tmp/$1.err"
}

for f in $files; do
	b=$(basename "$f")
	size=$(stat -c %s "$f")
	bad=0
	evict "$f" || { echo "FAIL $b: cannot take the file out of the page cache"; fail=1; continue; }
	run cold "$f"
	evict "$f"
	run off "$f" env OSTRECON_TEST_NO_PREFETCH=1
	same cold off reads || bad=1
	grep -q "cache file prefetch: turned off" "$tmp/off.err" || { echo "FAIL $b: the prefetch was not turned off"; bad=1; }
	set -- $(prefetched cold)
	if [ -z "${1:-}" ] || [ $(($1 + $2)) -gt "$size" ]; then
		echo "FAIL $b: no prefetch, or more than the file: $(grep 'prefetch' "$tmp/cold.err" || echo none)"; bad=1
	elif [ "${b#f.}" != "$b" ] && [ "$1" -eq 0 ]; then
		echo "FAIL $b: the file was out of memory and the prefetch read nothing of it"; bad=1
	fi
	cold_read=${1:-?}
	cat "$f" > /dev/null
	run warm "$f"
	same warm off reads || bad=1
	# the system may drop a few pages between cat and the run (this machine's proactive reclaim
	# did): what it reads of a file in memory is those few, not the file
	set -- $(prefetched warm)
	if [ -z "${1:-}" ] || [ $(($1 + $2)) != "$size" ] || [ $(($1 * 4)) -ge "$size" ]; then
		echo "FAIL $b: the file in memory, the prefetch said: $(grep 'prefetch' "$tmp/warm.err" || echo nothing)"; bad=1
	fi
	[ $bad = 0 ] || { fail=1; continue; }
	n=$((n + 1))
	echo "ok   $b: the same $([ -f "$tmp/cold.body" ] && echo snapshot || echo error) (exit $(cat "$tmp/cold.rc")) out of memory with the prefetch ($cold_read bytes read by it) and without; in memory it read $1 bytes"
done
[ $n -ge 8 ] || { echo "FAIL only $n files compared"; fail=1; }

# the rule of memory: at most half of what is available
b="memory rule"
size=$(stat -c %s "$tmp/f.ost4k")
run small "$tmp/f.ost4k" env OSTRECON_TEST_MEMAVAILABLE=$((2 * size - 1))
run half "$tmp/f.ost4k" env OSTRECON_TEST_MEMAVAILABLE=$((2 * size))
if ! grep -q "cache file prefetch: not done: the file .* is more than half the memory available" "$tmp/small.err"; then
	echo "FAIL $b: a file over half the memory available was prefetched: $(grep prefetch "$tmp/small.err")"; fail=1
elif [ -z "$(prefetched half)" ]; then
	echo "FAIL $b: a file of half the memory available was not prefetched: $(grep prefetch "$tmp/half.err")"; fail=1
elif same small half; then
	echo "ok   $b: over half the memory available, not prefetched; at half, prefetched; the same snapshot"
else
	fail=1
fi

# a file cut short underfoot, out of memory when the listing starts
cut_underfoot OSTRECON_TEST_NO_PREFETCH on off "with the prefetch and without" evict
exit $fail
