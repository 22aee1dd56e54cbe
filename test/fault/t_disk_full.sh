# The disk fills while a snapshot or a report is written: the run ends with a clear error (exit 3),
# the previous file of that name is intact, no temporary file is left, and nothing half-written
# looks valid (a snapshot cut anywhere is refused by every reader). The disk is a file size limit
# (RLIMIT_FSIZE, SIGXFSZ ignored, so writes fail with EFBIG) and, where mount works (root), a full
# tmpfs (ENOSPC); standard output is /dev/full.
. "$(dirname "$0")/../security/lib.sh"
need_ostwrite
"$OSTWRITE" "$FIXTURES/writer_small.json" --format ost -o "$WORK/small.ost" || fail "ostwrite failed"
"$OSTWRITE" --expand "$FIXTURES/writer_small.json" -o "$WORK/mbx.jsonl" || fail "ostwrite --expand failed"
mkdir "$WORK/out"
"$OSTRECON" ost -q "$WORK/small.ost" -o "$WORK/out/snap.jsonl" || fail "the first capture failed"
"$OSTRECON" diff -q "$WORK/mbx.jsonl" "$WORK/out/snap.jsonl" -o "$WORK/out/report.json" >/dev/null
[ $? -le 2 ] || fail "the first report failed"
cp "$WORK/out/snap.jsonl" "$WORK/snap.orig"
cp "$WORK/out/report.json" "$WORK/report.orig"

# limited KIB CMD...: CMD with a file size limit of KIB KiB (dash counts 512-byte blocks, bash KiB)
limited() {
	kib=$1; shift
	if [ -n "${BASH_VERSION:-}" ]; then blocks=$kib; else blocks=$((kib * 2)); fi
	( trap '' XFSZ; ulimit -f "$blocks" && exec "$@" )
}

# refused NAME PATTERN: exit 3, PATTERN in the log, both earlier files intact, no leftovers
refused() {
	[ "$RC" -eq 3 ] || { cat "$WORK/$1.log"; fail "$1: exit $RC, expected 3"; }
	grep -q "$2" "$WORK/$1.log" || fail "$1: no '$2' in: $(cat "$WORK/$1.log")"
	same_file "$WORK/out/snap.jsonl" "$WORK/snap.orig"
	same_file "$WORK/out/report.json" "$WORK/report.orig"
	no_leftovers "$WORK/out"
	echo "ok $1: $(grep error: "$WORK/$1.log" | head -n 1)"
}

limited 8 "$OSTRECON" ost "$WORK/small.ost" -o "$WORK/out/snap.jsonl" >"$WORK/ost.log" 2>&1; RC=$?
refused ost "File too large"
limited 4 "$OSTRECON" diff "$WORK/mbx.jsonl" "$WORK/snap.orig" -o "$WORK/out/report.json" >"$WORK/diff.log" 2>&1; RC=$?
refused diff "File too large\|cannot write"

start_server full --mailbox "$WORK/mbx.jsonl" $(users_args)
pw=$(secret_file pw alice-pw-1)
limited 8 "$OSTRECON" server --no-progress --url "$(url)" --mailbox alice@example.com --auth basic --user alice \
	--password-file "$pw" -o "$WORK/out/snap.jsonl" >"$WORK/server.log" 2>&1; RC=$?
refused server "File too large"
if "$OSTRECON" scan --help >/dev/null 2>&1; then
	limited 4 "$OSTRECON" scan --no-progress --ost "$WORK/small.ost" --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" -o "$WORK/out/report.json" >"$WORK/scan.log" 2>&1; RC=$?
	refused scan "File too large\|cannot write"
fi

# Standard output that cannot be written: an error, not a silent success.
"$OSTRECON" ost "$WORK/small.ost" >/dev/full 2>"$WORK/stdout-ost.log"; RC=$?
refused stdout-ost "standard output"
"$OSTRECON" diff --json "$WORK/mbx.jsonl" "$WORK/snap.orig" >/dev/full 2>"$WORK/stdout-diff.log"; RC=$?
refused stdout-diff "standard output\|cannot write"

# A folder read in parts whose held items spill (a budget of 1 byte) to a temporary file that
# cannot be written: the snapshot on standard output, so that the spill file is in TMPDIR. Exit 3,
# an error that names the temporary file's cause, nothing left in TMPDIR. Pages of 25 items give
# each part several pages, so that later parts hold pages while the first one still reads (with
# one page a part, parts that happen to end in order hold nothing).
"$PY" "$ROOT/tools/ewsserver/genmailbox.py" --mailbox alice@example.com --folders 4 --items 3000 --seed 5 \
	-o "$WORK/big.jsonl" || fail "genmailbox"
start_server big --mailbox "$WORK/big.jsonl" $(users_args)
mkdir "$WORK/spill"
# spill_pull KIB DIR NAME: the pull with a file size limit of KIB KiB, TMPDIR=DIR, log in NAME.log
spill_pull() {
	limited "$1" env OSTRECON_TEST_SPILL_BYTES=1 TMPDIR="$2" timeout 300 "$OSTRECON" server --no-progress \
		--url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
		--split-threshold 500 --concurrency 4 --page-size 25 -o - >/dev/null 2>"$WORK/$3.log"
	RC=$?
	[ "$RC" -eq 3 ] || { cat "$WORK/$3.log"; fail "$3: exit $RC, expected 3"; }
	grep -q "a temporary file in $2 (items of a folder read in parts) failed: $4" "$WORK/$3.log" ||
		fail "$3: no clear message: $(cat "$WORK/$3.log")"
	[ -z "$(ls -A "$2")" ] || { ls -la "$2"; fail "$3: files left in $2"; }
	echo "ok $3: $(grep error: "$WORK/$3.log" | head -n 1)"
}
spill_pull 64 "$WORK/spill" spill-fsize "File too large"

# A full tmpfs (ENOSPC), where this machine lets us mount one.
MNT="$WORK/mnt"
mkdir "$MNT"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k,mode=700 ostrecon-test "$MNT" 2>/dev/null; then
	trap 'umount "$MNT" 2>/dev/null; cleanup' EXIT
	cp "$WORK/snap.orig" "$MNT/snap.jsonl"
	dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null # fills it
	"$OSTRECON" ost "$WORK/small.ost" -o "$MNT/snap.jsonl" >"$WORK/enospc.log" 2>&1; RC=$?
	[ "$RC" -eq 3 ] || fail "full tmpfs: exit $RC"
	grep -q "No space left" "$WORK/enospc.log" || fail "full tmpfs: no clear message: $(cat "$WORK/enospc.log")"
	same_file "$MNT/snap.jsonl" "$WORK/snap.orig"
	no_leftovers "$MNT"
	echo "ok tmpfs: $(grep error: "$WORK/enospc.log" | head -n 1)"
	rm -f "$MNT/snap.jsonl"
	mkdir "$MNT/spill" || fail "no folder on the tmpfs"
	dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null # fills what the snapshot took
	spill_pull 1000000 "$MNT/spill" spill-enospc "No space left on device"
	umount "$MNT"
else
	echo "note: no tmpfs mount here; the file size limit above stands for a full disk"
fi

# Nothing half-written looks valid: the snapshot cut after any line, or inside one, is refused.
lines=$(wc -l <"$WORK/snap.orig")
for keep in 1 2 $((lines / 2)) $((lines - 1)); do
	head -n "$keep" "$WORK/snap.orig" >"$WORK/cut.jsonl"
	"$OSTRECON" diff -q "$WORK/cut.jsonl" "$WORK/mbx.jsonl" >"$WORK/cut.log" 2>&1; RC=$?
	[ "$RC" -eq 3 ] || fail "a snapshot cut after line $keep of $lines was accepted (exit $RC)"
done
head -c $(($(wc -c <"$WORK/snap.orig") - 7)) "$WORK/snap.orig" >"$WORK/cut.jsonl"
"$OSTRECON" diff -q "$WORK/cut.jsonl" "$WORK/mbx.jsonl" >"$WORK/cut.log" 2>&1; RC=$?
[ "$RC" -eq 3 ] || fail "a snapshot cut inside its end line was accepted (exit $RC)"
grep -v '"type":"item"' "$WORK/snap.orig" | head -n 0 >/dev/null
sed '3d' "$WORK/snap.orig" >"$WORK/gap.jsonl"
"$OSTRECON" diff -q "$WORK/gap.jsonl" "$WORK/mbx.jsonl" >"$WORK/cut.log" 2>&1; RC=$?
[ "$RC" -eq 3 ] || fail "a snapshot missing a line (counts disagree) was accepted (exit $RC)"
head -c $(($(wc -c <"$WORK/report.orig") / 2)) "$WORK/report.orig" >"$WORK/cut.json"
"$OSTRECON" report "$WORK/cut.json" >"$WORK/cut.log" 2>&1; RC=$?
[ "$RC" -eq 3 ] || fail "a report cut in half was rendered (exit $RC)"
echo "half-written snapshots (cut after 4 different lines, inside the end line, one line missing) and reports are refused"
