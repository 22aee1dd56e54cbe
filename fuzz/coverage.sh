#!/bin/sh
# Line and branch coverage of the code under test, from the fuzz corpora in build/fuzz/corpus
# (make -f fuzz/fuzz.mk fuzz-coverage). Prints one llvm-cov summary line per target.
set -u
cd "$(dirname "$0")/.." || exit 2
CB=build/fuzz-cov
PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14) || { echo "no llvm-profdata"; exit 2; }
COV=$(command -v llvm-cov || command -v llvm-cov-14) || { echo "no llvm-cov"; exit 2; }
export ASAN_OPTIONS=detect_leaks=0
for t in ost ews_parse snapshot fixture manifest; do
	[ -x "$CB/fuzz_$t" ] && [ -d "build/fuzz/corpus/$t" ] || continue
	case $t in
	ost) src="src/ost/reader.c src/ost/pff.c src/ost/keys.c src/ost/roles.c" ;;
	ews_parse) src="src/ews/parse.c" ;;
	snapshot) src="src/core/snapshot_read.c src/core/snapshot_lines.c src/core/snapshot_write.c" ;;
	fixture) src="tools/fixture/fixture.c tools/fixture/fixture_gen.c tools/fixture/fixture_snapshot.c tools/fixture/fixture_util.c" ;;
	manifest) src="src/batch/manifest.c" ;;
	esac
	rm -f "$CB/$t".profraw*
	LLVM_PROFILE_FILE="$CB/$t.profraw" "$CB/fuzz_$t" -runs=0 -close_fd_mask=3 "build/fuzz/corpus/$t" >"$CB/$t.cov.log" 2>&1
	"$PROFDATA" merge -sparse -o "$CB/$t.profdata" "$CB/$t.profraw" || continue
	# shellcheck disable=SC2086
	"$COV" report "$CB/fuzz_$t" -instr-profile="$CB/$t.profdata" $src >"$CB/$t.cov.txt" 2>/dev/null
	n=$(ls "build/fuzz/corpus/$t" | wc -l)
	echo "$t ($n corpus inputs): $(awk '/^TOTAL/ {print "regions " $4 ", functions " $7 ", lines " $10 ", branches " $13}' "$CB/$t.cov.txt")"
done
