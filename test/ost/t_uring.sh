#!/bin/sh
# The listing reads its messages' blocks many at a time through io_uring (src/ost/ndb_batch.c) and
# falls back to one pread each where io_uring is missing or refused. On generated files in the
# three formats (a folder of 3,000 messages, read on two threads and on one core), damaged ones and
# the real samples: the snapshot and the exit code are the same with io_uring, with it turned off
# (OSTRECON_TEST_NO_URING=1) and, on the 4 KiB file, with its io_uring_setup refused by a seccomp
# filter (ENOSYS as on an older kernel, EPERM as under a container's profile: the reader says so
# and reads by pread). The read counters show which path ran: with io_uring, far fewer system
# calls than reads; without, one each. And a file cut short underfoot (after its B-trees are read:
# a preload truncates it when the snapshot's file is opened) gives the same read errors, neither a
# crash nor a hang, with io_uring and without.
set -u
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v cc > /dev/null || { echo "no C compiler (cc) to build the seccomp wrapper and the preload: skipped"; exit 77; }
cc -O2 -o "$tmp/no_uring" "$here/no_uring.c" || { echo "FAIL cannot build no_uring.c"; exit 1; }
cc -shared -fPIC -O2 -o "$tmp/cut.so" "$here/cut_underfoot.c" -ldl || { echo "FAIL cannot build cut_underfoot.c"; exit 1; }
fail=0 n=0
. "$here/files.sh"
. "$here/runs.sh"

# counts NAME: "READS CALLS" from the -v line of run NAME
counts() {
	sed -n 's/.*cache file read: .* in \([0-9]*\) reads, \([0-9]*\) system calls$/\1 \2/p' "$tmp/$1.err"
}
# all_pread NAME: every read of run NAME was a system call of its own
all_pread() {
	set -- "$1" $(counts "$1")
	[ -n "${2:-}" ] && [ "$2" = "$3" ] && return 0
	echo "FAIL $b, $1: not one system call a read: ${2:-?} reads, ${3:-?} system calls"; return 1
}

# and a file of small folders only (150 of about 36 messages, from about 20 to 55): those are read
# in runs of blocks too, by the listing alone (up to 32) or on two threads
cat > "$tmp/small.json" <<'JSON'
{"seed": 9, "replicas": ["6aa62d7a1b3ac5449d53431fbea29402"],
 "generate": [
  {"folders": 120, "under": "inbox", "max_depth": 2, "name": "Small {n}"},
  {"folders": 30, "under": "sentitems", "max_depth": 1, "name": "Mid {n}"},
  {"items": 5400, "in": "*generated", "read": 0.5}
 ]}
JSON
if "$W" "$tmp/small.json" --format ost4k -o "$tmp/small.ost4k" 2>"$tmp/small.werr"; then
	files="$files $tmp/small.ost4k"
else
	echo "FAIL ostwrite small folders:"; sed 's/^/    /' "$tmp/small.werr"; fail=1
fi

uring=yes
for f in $files; do
	b=$(basename "$f")
	bad=0
	run batch "$f"
	run pread "$f" env OSTRECON_TEST_NO_URING=1
	same pread batch || bad=1
	all_pread pread || bad=1
	if command -v taskset > /dev/null; then
		run one "$f" taskset -c 0
		same one batch || bad=1
	fi
	if grep -q "io_uring is not available" "$tmp/batch.err"; then
		uring="no: $(grep -o 'io_uring is not available ([^)]*)' "$tmp/batch.err" | head -1)"
	fi
	case $b in
	f.*|small.*)
		# the 3,000-message folder (and the small folders) are read in runs of blocks, a system
		# call a run: fewer than half as many calls as reads (the B-tree walk and the checksum
		# scan read one at a time)
		# (a quarter for the small folders, where every message's first block is read in a run:
		# a third or more when the runs leave out the folders of up to 32)
		set -- $(counts batch)
		k=2; [ "${b#small.}" != "$b" ] && k=4
		if [ "$uring" = yes ] && { [ -z "${1:-}" ] || [ $(($2 * k)) -gt "$1" ]; }; then
			echo "FAIL $b: io_uring did not batch the reads: ${1:-?} reads in ${2:-?} system calls"; bad=1
		fi
		;;
	esac
	if [ $b = f.ost4k ]; then
		for e in 38:"Function not implemented" 1:"Operation not permitted"; do
			run "refused-${e%%:*}" "$f" "$tmp/no_uring" "${e%%:*}"
			same "refused-${e%%:*}" batch || bad=1
			all_pread "refused-${e%%:*}" || bad=1
			grep -q "io_uring is not available (${e#*:})" "$tmp/refused-${e%%:*}.err" ||
				{ echo "FAIL $b: io_uring refused with errno ${e%%:*}, and not said"; bad=1; }
		done
	fi
	[ $bad = 0 ] || { fail=1; continue; }
	n=$((n + 1))
	echo "ok   $b: the same $([ -f "$tmp/batch.body" ] && echo snapshot || echo error) (exit $(cat "$tmp/batch.rc")) read in batches ($(counts batch | sed 's/ / reads, /') system calls) and one read at a time"
done
[ $n -ge 9 ] || { echo "FAIL only $n files compared"; fail=1; }

# a file cut short underfoot, at 40% (its messages' blocks past that come back short)
cut_underfoot OSTRECON_TEST_NO_URING batch pread "read in batches and one read at a time"
if [ $fail = 0 ] && [ "$uring" != yes ]; then
	echo "io_uring is not available on this machine ($uring): only the pread path was tested: skipped"
	exit 77
fi
exit $fail
