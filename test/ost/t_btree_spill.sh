#!/bin/sh
# The packed B-tree tables keep a bounded number of pages in memory and write the rest to a
# temporary file (src/ost/ndb_table.c). With every page in that file (OSTRECON_TEST_BTREE_MEMORY=0)
# and with two pages kept in memory (8192), the snapshot and the exit code equal the ones read with
# the tables in memory: on a generated file in the three formats (a folder of 3,000 messages, read
# on two threads), on damaged ones (a bad block CRC, a message no folder lists, an unreadable
# message, a bad B-tree pointer, a zeroed page: the checksum scan, the orphan count and the
# unreached messages read the tables too), and on the real samples. The debug line of the B-tree
# walk must show pages in the temporary file, so that the bound was in force. And when the pages
# cannot be read back (a preload fails every read of the unlinked file), the listing fails with
# that said and leaves no snapshot, where it would otherwise report the messages it missed as damage.
# The pages a batch of lookups needs are read at once through io_uring (ndb_batch_pages): on the
# 3,000-message folder, far fewer system calls than pages read back; one a page, and the same
# snapshot, with io_uring turned off.
set -u
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0 n=0 batched=""
. "$(dirname "$0")/files.sh"
for f in $files; do
	b=$(basename "$f")
	rm -f "$tmp/mem.jsonl"
	"$OSTRECON" -q ost "$f" -o "$tmp/mem.jsonl" 2>"$tmp/mem.err"
	want=$?
	[ $want -le 3 ] && [ $want -ne 1 ] || { echo "FAIL $b: ostrecon ost exited $want"; fail=1; continue; }
	[ -f "$tmp/mem.jsonl" ] && sed 1d "$tmp/mem.jsonl" > "$tmp/mem.body"
	bad=0
	for bound in 0 8192; do
		rm -f "$tmp/spill.jsonl"
		OSTRECON_TEST_BTREE_MEMORY=$bound "$OSTRECON" -v -v ost "$f" -o "$tmp/spill.jsonl" 2>"$tmp/err"
		rc=$?
		[ $rc -eq $want ] || { echo "FAIL $b, bound $bound: exit $rc, $want with the tables in memory"; bad=1; continue; }
		if [ $want -eq 3 ]; then
			# nothing written: the same error
			grep -v '^ostrecon: \(debug\|verbose\|info\)' "$tmp/err" | grep -F -f "$tmp/mem.err" >/dev/null ||
				{ echo "FAIL $b, bound $bound: not the error read with the tables in memory:"; sed 's/^/    /' "$tmp/mem.err"; bad=1; }
			continue
		fi
		spilled=$(sed -n 's/.*B-trees: .* memory and \([0-9]*\) pages of a temporary file, .* bytes and \([0-9]*\) pages$/\1 \2/p' "$tmp/err")
		# with no page kept in memory, every page goes to the file (a small file has fewer than 2)
		if [ $bound = 0 ]; then
			case "$spilled" in
			""|"0 0") echo "FAIL $b: no page went to the temporary file (${spilled:-no debug line})"; bad=1; continue ;;
			esac
		fi
		sed 1d "$tmp/spill.jsonl" > "$tmp/spill.body"
		if ! cmp -s "$tmp/mem.body" "$tmp/spill.body"; then
			echo "FAIL $b, bound $bound: the snapshot differs from the one with the tables in memory:"
			diff "$tmp/mem.body" "$tmp/spill.body" | head -5 | sed 's/^/    /'; bad=1
		fi
		# the 3,000-message folder's lookups have their pages read a batch at a time through
		# io_uring (ndb_batch_pages); none without io_uring, where each page is a pread. Each
		# thread keeps 8 pages for its lookups here (68 hold this small file's tables whole), so
		# that they are read back over and over, and a batch's pages are read over before their use.
		if [ $bound = 0 ] && [ $b = f.ost4k ]; then
			for u in "" 1; do
				OSTRECON_TEST_NO_URING=$u OSTRECON_TEST_LOOKUP_PAGES=8 OSTRECON_TEST_BTREE_MEMORY=0 \
					"$OSTRECON" -v ost "$f" -o "$tmp/few.jsonl" 2>"$tmp/few.err"
				sed 1d "$tmp/few.jsonl" | cmp -s - "$tmp/mem.body" ||
					{ echo "FAIL $b, 8 lookup pages${u:+, no io_uring}: not the same snapshot"; bad=1; }
				set -- $(sed -n 's/.*B-tree tables: .* \([0-9]*\) pages read back from it in \([0-9]*\) system calls (\([0-9]*\) pages in batches)$/\1 \2 \3/p' "$tmp/few.err")
				if [ -z "${3:-}" ]; then
					echo "FAIL $b, 8 lookup pages${u:+, no io_uring}: no line of pages read back"; bad=1
				elif [ -n "$u" ] && { [ "$3" != 0 ] || [ "$1" != "$2" ]; }; then
					echo "FAIL $b, no io_uring: $3 pages read in batches, $1 pages in $2 system calls"; bad=1
				elif [ -z "$u" ] && grep -q "io_uring is not available" "$tmp/few.err"; then
					echo "io_uring is not available here: the pages' batches were not tested"
				elif [ -z "$u" ] && [ "$3" = 0 ]; then
					echo "FAIL $b: no page read back in a batch ($1 pages in $2 system calls)"; bad=1
				elif [ -z "$u" ]; then
					batched="$3 of $1 pages in batches"
				fi
			done
		fi
	done
	[ $bad = 0 ] || { fail=1; continue; }
	n=$((n + 1))
	echo "ok   $b: the same $([ $want = 3 ] && echo error || echo snapshot) (exit $want) with the tables in memory, in the temporary file, and 2 pages kept${batched:+ (read back: $batched)}"
	batched=""
done
[ $n -ge 8 ] || { echo "FAIL only $n files compared"; fail=1; }

# reads back that fail
if command -v cc > /dev/null && cc -shared -fPIC -O2 -o "$tmp/fail.so" "$(dirname "$0")/fail_spill_read.c" -ldl; then
	rm -f "$tmp/lost.jsonl"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" LD_PRELOAD="$tmp/fail.so" \
		OSTRECON_TEST_BTREE_MEMORY=0 "$OSTRECON" ost "$tmp/f.ost4k" -o "$tmp/lost.jsonl" 2>"$tmp/lost.err"
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 2 ] || ! grep -q "temporary file failed" "$tmp/lost.err" || [ -e "$tmp/lost.jsonl" ]; then
		echo "FAIL failed reads of the temporary file: exit $rc, snapshot $([ -e "$tmp/lost.jsonl" ] && echo written || echo absent):"
		tail -3 "$tmp/lost.err" | sed 's/^/    /'; fail=1
	else
		echo "ok   failed reads of the temporary file: exit $rc, no snapshot, said: $(grep -o '[0-9]* reads of .*incomplete' "$tmp/lost.err")"
	fi
else
	echo "FAIL cannot build the preload that fails reads (cc)"; fail=1
fi
exit $fail
