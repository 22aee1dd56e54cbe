# GNU parallel runs the 4 shards of a batch on this machine (docs/BATCH.md's recipe); `ostrecon
# merge` joins them into the unsharded run's summary. Then a shard is killed mid-run and
# `parallel --resume-failed` runs that shard alone again: it resumes the mailboxes it had finished.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sched_lib.sh"
command -v parallel >/dev/null 2>&1 || skip "GNU parallel is not installed (Debian package parallel; scripts/deps.sh installs it)"
parallel --version 2>/dev/null | grep -q 'GNU parallel' || skip "'parallel' is not GNU parallel (moreutils' has another syntax)"
PARALLEL_HOME="$WORK/parallel-home" # its temporary files and the citation notice's marker
export PARALLEL_HOME
sched_setup 16 50
unsharded

# The recipe: a shard counts as done once its summary is written (exit 1, 2 or 3 are verdicts and
# failed mailboxes, recorded in it); a killed shard has none.
shards() { # shards OUTDIR [PARALLEL OPTIONS]: the 4 shards, 4 at a time, with a job log
	out=$1; shift
	parallel --jobs 4 --timeout 300 --joblog "$out.joblog" "$@" \
		"rm -f $out/summary-{}-of-4.json; ostrecon batch $WORK/m.csv --config $WORK/batch.conf --shard {}/4 -o $out --no-progress >$out-{}.log 2>&1; test -f $out/summary-{}-of-4.json" \
		::: 1 2 3 4
}
mkdir -p "$WORK/p1"
shards "$WORK/p1"
rc=$?
[ $rc -eq 0 ] || { cat "$WORK/p1.joblog"; fail "parallel: $rc shards failed"; }
ostrecon merge -o "$WORK/p1" "$WORK"/p1/summary-*-of-4.json >"$WORK/merge1.log" 2>&1
same_as_unsharded "$WORK/p1/summary.json" "GNU parallel"
echo "GNU parallel: 4 shards merged equal the unsharded summary ($ROWS rows)"

# Kill shard 2 once it has finished one mailbox of its 4, while the others go on.
OUTDIR="$WORK/p2"
mkdir -p "$OUTDIR"
shards "$OUTDIR" >/dev/null 2>&1 &
ppid=$!
i=0
while [ "$(entries_of 2 4)" -lt 1 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
victim=$(pgrep -f -- "^ostrecon batch .* --shard 2/4 -o $OUTDIR " | head -n 1)
[ -n "$victim" ] || fail "shard 2's ostrecon was not found running"
kill -KILL "$victim"
wait $ppid
rc=$?
before=$(entries_of 2 4)
[ $rc -eq 1 ] || { cat "$OUTDIR.joblog"; fail "parallel exited $rc after one shard was killed (expected 1 failed job)"; }
[ ! -f "$OUTDIR/summary-2-of-4.json" ] || fail "the killed shard wrote a summary"
[ "$before" -ge 1 ] && [ "$before" -lt 4 ] || fail "the killed shard had finished $before of its 4 mailboxes"
for k in 1 3 4; do [ -f "$OUTDIR/summary-$k-of-4.json" ] || fail "shard $k wrote no summary"; done

shards "$OUTDIR" --resume-failed
rc=$?
[ $rc -eq 0 ] || { cat "$OUTDIR.joblog"; fail "parallel --resume-failed: exit $rc"; }
runs=$(awk -F'\t' 'NR > 1 {print $9}' "$OUTDIR.joblog" | grep -c -- '--shard 2/4')
others=$(awk -F'\t' 'NR > 1 {print $9}' "$OUTDIR.joblog" | grep -c -v -- '--shard 2/4')
[ "$runs" -eq 2 ] && [ "$others" -eq 3 ] || { cat "$OUTDIR.joblog"; fail "--resume-failed ran shard 2 $runs times and the others $others times (expected 2 and 3)"; }
set -- $(resumed_in "$OUTDIR/summary-2-of-4.json")
[ "$1" -eq "$3" ] || fail "shard 2: $1 of $3 mailboxes have a result after the second run"
[ "$2" -eq "$before" ] || fail "shard 2 resumed $2 mailboxes, $before were finished when it was killed"
ostrecon merge -o "$OUTDIR" "$OUTDIR"/summary-*-of-4.json >"$WORK/merge2.log" 2>&1
same_as_unsharded "$OUTDIR/summary.json" "GNU parallel after a killed shard"
echo "GNU parallel: shard 2 killed after $before of 4 mailboxes; --resume-failed ran it alone again, it resumed the $before it had finished; the merge equals the unsharded summary"
