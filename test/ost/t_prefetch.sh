#!/bin/sh
# A cache file not in the system's page cache is read front to back on a thread while the listing
# runs (src/ost/ndb_prefetch.c). On generated files in the three formats, damaged ones and the real
# samples, each taken out of the page cache first (dd iflag=nocache: posix_fadvise DONTNEED on that
# file only; fincore shows it worked where util-linux has it):
# - the snapshot and the exit code are the same with the prefetch and with it turned off
#   (OSTRECON_TEST_NO_PREFETCH=1), the listing's own reads too (their count and bytes);
# - the prefetch read the generated files' bytes from the file (-v: "N bytes read", N > 0);
# - once the whole file is in memory (cat), it reads nothing and finds every byte there;
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
# run NAME FILE [PREFIX...]: ostrecon ost -v FILE into $tmp/NAME.{body,err,rc}
run() {
	name=$1 file=$2; shift 2
	rm -f "$tmp/$name.jsonl" "$tmp/$name.body"
	timeout 300 "$@" "$OSTRECON" -v ost "$file" -o "$tmp/$name.jsonl" 2>"$tmp/$name.err"
	echo $? > "$tmp/$name.rc"
	[ -f "$tmp/$name.jsonl" ] && sed 1d "$tmp/$name.jsonl" > "$tmp/$name.body"
	return 0
}
# same NAME REF [reads]: the run NAME ended as REF did (exit code, snapshot or error lines; with
# `reads`, the listing's reads: their count and bytes)
same() {
	if [ "$(cat "$tmp/$1.rc")" != "$(cat "$tmp/$2.rc")" ]; then
		echo "FAIL $b, $1: exit $(cat "$tmp/$1.rc"), $(cat "$tmp/$2.rc") in $2"; tail -2 "$tmp/$1.err" | sed 's/^/    /'
		return 1
	fi
	if [ -f "$tmp/$2.body" ] && ! cmp -s "$tmp/$1.body" "$tmp/$2.body"; then
		echo "FAIL $b, $1: the snapshot differs from $2's:"
		diff "$tmp/$1.body" "$tmp/$2.body" | head -5 | sed 's/^/    /'
		return 1
	fi
	if [ "$(grep 'error:' "$tmp/$1.err")" != "$(grep 'error:' "$tmp/$2.err")" ]; then
		echo "FAIL $b, $1: not the errors of $2:"; grep 'error:' "$tmp/$1.err" "$tmp/$2.err" | head -6 | sed 's/^/    /'
		return 1
	fi
	[ "${3:-}" = reads ] || return 0
	r1=$(sed -n 's/.*cache file read: \([0-9]* bytes\).* in \([0-9]* reads\).*/\1 \2/p' "$tmp/$1.err")
	r2=$(sed -n 's/.*cache file read: \([0-9]* bytes\).* in \([0-9]* reads\).*/\1 \2/p' "$tmp/$2.err")
	[ "$r1" = "$r2" ] || { echo "FAIL $b, $1: the listing read ${r1:-nothing}, against ${r2:-nothing} in $2"; return 1; }
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
	if [ "$(prefetched warm)" != "0 $size" ]; then
		echo "FAIL $b: the file in memory, the prefetch said: $(grep 'prefetch' "$tmp/warm.err" || echo nothing)"; bad=1
	fi
	[ $bad = 0 ] || { fail=1; continue; }
	n=$((n + 1))
	echo "ok   $b: the same $([ -f "$tmp/cold.body" ] && echo snapshot || echo error) (exit $(cat "$tmp/cold.rc")) out of memory with the prefetch ($cold_read bytes read by it) and without; in memory it read nothing"
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

# a file cut short underfoot at 40%, out of memory when the listing starts
b="cut underfoot"
cut=$(($(stat -c %s "$tmp/f.ost4k") * 2 / 5))
for mode in on off; do
	cp "$tmp/f.ost4k" "$tmp/cut-$mode.ost"
	evict "$tmp/cut-$mode.ost" || { echo "FAIL $b: cannot take the file out of the page cache"; fail=1; }
	knob=""; [ $mode = off ] && knob=1
	run "cut-$mode" "$tmp/cut-$mode.ost" env OSTRECON_TEST_NO_PREFETCH=$knob CUT_FILE="$tmp/cut-$mode.ost" CUT_TO=$cut \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" LD_PRELOAD="$tmp/cut.so"
	[ "$(stat -c %s "$tmp/cut-$mode.ost")" = $cut ] || { echo "FAIL $b, $mode: the preload did not cut the file"; fail=1; }
done
rc=$(cat "$tmp/cut-on.rc")
errors=$(sed -n 's/.* \([0-9]*\) read errors.*/\1/p' "$tmp/cut-on.err")
if [ "$rc" != 2 ] || [ "${errors:-0}" -eq 0 ]; then
	echo "FAIL $b: exit $rc with ${errors:-no} read errors (expected 2, some):"; tail -3 "$tmp/cut-on.err" | sed 's/^/    /'
	fail=1
elif same cut-off cut-on; then
	echo "ok   $b: exit 2, $errors read errors, the same snapshot with the prefetch and without"
else
	fail=1
fi
exit $fail
