# Sourced by t_uring.sh and t_prefetch.sh (with $OSTRECON and $tmp set; $b names the file in
# messages): runs of `ostrecon -v ost` kept by name, and their comparison.

# run NAME FILE [PREFIX...]: ostrecon ost -v FILE into $tmp/NAME.{jsonl,body,err,rc}
run() {
	name=$1 file=$2; shift 2
	rm -f "$tmp/$name.jsonl" "$tmp/$name.body"
	timeout 300 "$@" "$OSTRECON" -v ost "$file" -o "$tmp/$name.jsonl" 2>"$tmp/$name.err"
	echo $? > "$tmp/$name.rc"
	[ -f "$tmp/$name.jsonl" ] && sed 1d "$tmp/$name.jsonl" > "$tmp/$name.body"
	return 0
}
# same NAME REF [reads]: the run NAME ended as the run REF did (exit code; snapshot, or error line
# where there is none); with `reads`, the listing read the same (its reads' count and bytes)
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
	if [ ! -f "$tmp/$2.body" ] && [ "$(grep 'error:' "$tmp/$1.err")" != "$(grep 'error:' "$tmp/$2.err")" ]; then
		echo "FAIL $b, $1: not the error of $2:"; grep 'error:' "$tmp/$1.err" "$tmp/$2.err" | sed 's/^/    /'
		return 1
	fi
	[ "${3:-}" = reads ] || return 0
	r1=$(sed -n 's/.*cache file read: \([0-9]* bytes\).* in \([0-9]* reads\).*/\1 \2/p' "$tmp/$1.err")
	r2=$(sed -n 's/.*cache file read: \([0-9]* bytes\).* in \([0-9]* reads\).*/\1 \2/p' "$tmp/$2.err")
	[ "$r1" = "$r2" ] || { echo "FAIL $b, $1: the listing read ${r1:-nothing}, against ${r2:-nothing} in $2"; return 1; }
}
# cut_underfoot KNOB ON OFF SAID [PREPARE]: $tmp/f.ost4k cut short underfoot at 40% (the preload
# $tmp/cut.so truncates it once its B-trees are read: its messages' blocks past that come back
# short), read with the environment variable KNOB empty (run cut-ON) and set (run cut-OFF), the
# command PREPARE run on each copy first: both end with exit 2 and read errors, the same snapshot.
# Says so with SAID; else sets fail=1.
cut_underfoot() {
	b="cut underfoot"
	cut=$(($(stat -c %s "$tmp/f.ost4k") * 2 / 5))
	for mode in "$2" "$3"; do
		cp "$tmp/f.ost4k" "$tmp/cut-$mode.ost"
		[ -z "${5:-}" ] || $5 "$tmp/cut-$mode.ost" || { echo "FAIL $b: $5 failed"; fail=1; }
		knob=""; [ "$mode" = "$3" ] && knob=1
		run "cut-$mode" "$tmp/cut-$mode.ost" env "$1=$knob" CUT_FILE="$tmp/cut-$mode.ost" CUT_TO=$cut \
			ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" LD_PRELOAD="$tmp/cut.so"
		[ "$(stat -c %s "$tmp/cut-$mode.ost")" = $cut ] || { echo "FAIL $b, $mode: the preload did not cut the file"; fail=1; }
	done
	rc=$(cat "$tmp/cut-$2.rc")
	errors=$(sed -n 's/.* \([0-9]*\) read errors.*/\1/p' "$tmp/cut-$2.err")
	if [ "$rc" != 2 ] || [ "${errors:-0}" -eq 0 ]; then
		echo "FAIL $b: exit $rc with ${errors:-no} read errors (expected 2, some):"; tail -3 "$tmp/cut-$2.err" | sed 's/^/    /'
		fail=1
	elif same "cut-$3" "cut-$2"; then
		echo "ok   $b: exit 2, $errors read errors, the same snapshot $4"
	else
		fail=1
	fi
}
