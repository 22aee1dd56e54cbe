# A one-node Slurm cluster on 127.0.0.1, started here (munged, slurmctld and slurmd by hand, their
# configuration, state and logs in this test's folder), runs docs/examples/ostrecon-batch.sbatch as
# a job array of 4 (`ostrecon batch --shard ${SLURM_ARRAY_TASK_ID}/4` against the test EWS server),
# then `ostrecon merge` as a job that depends on it: the merged summary is the unsharded run's.
# Then a shard is cancelled (scancel) mid-run and submitted again alone: it resumes the mailboxes it
# had finished, and the merge is again the unsharded run's.
# Without Slurm or munge, or when a daemon does not start, the test says so and is skipped
# (OSTRECON_REQUIRE_SCHEDULERS=1 makes that a failure).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sched_lib.sh"
unavailable() { [ "${OSTRECON_REQUIRE_SCHEDULERS:-0}" = 1 ] && fail "$*"; skip "$*"; }
for t in munged mungekey slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
	command -v "$t" >/dev/null 2>&1 ||
		unavailable "$t is not installed (Debian packages slurm-wlm and munge; scripts/deps.sh installs them)"
done
SBATCH_SCRIPT="$ROOT/docs/examples/ostrecon-batch.sbatch"
# munged wants every folder on the way to its socket searchable by all.
chmod 711 "$WORK"
S="$WORK/slurm"
mkdir -p "$S/state" "$S/spool" "$WORK/munge"
chmod 755 "$WORK/munge"

stop_cluster() { # jobs first (their steps outlive slurmd otherwise), then the daemons, by PID
	[ -n "${SLURM_CONF:-}" ] && scancel --quiet --user=root >/dev/null 2>&1
	for p in ${SLURMD_PID:-} ${SLURMCTLD_PID:-} ${MUNGED_PID:-}; do
		kill -TERM "$p" 2>/dev/null
		i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
	done
	cleanup
}
trap stop_cluster EXIT

# munge: a key of our own, the daemon in the foreground.
mungekey -c -b 1024 -k "$WORK/munge/key" >/dev/null 2>&1 || unavailable "mungekey cannot make a key"
chmod 400 "$WORK/munge/key"
munged -F -S "$WORK/munge/socket" --key-file="$WORK/munge/key" --log-file="$WORK/munge/log" \
	--pid-file="$WORK/munge/pid" --seed-file="$WORK/munge/seed" >"$WORK/munge/out" 2>&1 &
MUNGED_PID=$!
i=0
until munge -S "$WORK/munge/socket" -n 2>/dev/null | unmunge -S "$WORK/munge/socket" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $MUNGED_PID 2>/dev/null; then
		tail -n 5 "$WORK/munge/out"; unavailable "munged did not start"
	fi
	sleep 0.1
done

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cat >"$S/slurm.conf" <<CONF
ClusterName=ostrecontest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/socket
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# 8 CPUs declared on this 2-core machine, so that the 4 shards (2 CPUs each) run at once.
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=60 State=UP
CONF
SLURM_CONF="$S/slurm.conf"
export SLURM_CONF
slurmctld -D -c -f "$SLURM_CONF" >"$S/slurmctld.out" 2>&1 &
SLURMCTLD_PID=$!
slurmd -D -N localhost -f "$SLURM_CONF" >"$S/slurmd.out" 2>&1 &
SLURMD_PID=$!
i=0
until [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 $SLURMCTLD_PID 2>/dev/null || ! kill -0 $SLURMD_PID 2>/dev/null; then
		tail -n 5 "$S/slurmctld.log" "$S/slurmd.log" 2>/dev/null
		unavailable "the Slurm daemons did not start (node: $(sinfo -h -o %T 2>&1))"
	fi
	sleep 0.1
done
echo "Slurm $(sinfo -V | cut -d' ' -f2): one node, partition $(sinfo -h -o %P)"

sched_setup 16 50
unsharded
cd "$WORK" || exit 2

# wait_gone JOBID...: until none of them is pending or running (bounded).
wait_gone() {
	i=0
	while [ -n "$(squeue -h -j "$(echo "$*" | tr ' ' ,)" 2>/dev/null)" ]; do
		i=$((i + 1)); [ $i -gt 1200 ] && { squeue; fail "jobs $* still queued after 120 s"; }
		sleep 0.1
	done
}
# state JOBID: its JobState (array tasks: JOBID_K).
state() { scontrol show job "$1" 2>/dev/null | sed -n 's/^ *JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }

# 1. The array, and the merge after it.
A=$(sbatch --parsable --array=1-4 -o "$WORK/shard-%A_%a.log" "$SBATCH_SCRIPT" "$WORK/m.csv" "$WORK/batch.conf" "$WORK/s1" 4) ||
	fail "sbatch refused the array"
M=$(sbatch --parsable --dependency="afterok:$A" -o "$WORK/merge-%j.log" \
	--wrap "ostrecon merge -o $WORK/s1 $WORK/s1/summary-1-of-4.json $WORK/s1/summary-2-of-4.json $WORK/s1/summary-3-of-4.json $WORK/s1/summary-4-of-4.json") ||
	fail "sbatch refused the merge"
wait_gone "$A" "$M"
for k in 1 2 3 4; do
	st=$(state "${A}_$k")
	[ "$st" = COMPLETED ] || { cat "$WORK/shard-${A}_$k.log"; fail "array task $k: $st"; }
	grep -q "^ostrecon batch --shard $k/4: exit" "$WORK/shard-${A}_$k.log" || fail "array task $k did not run ostrecon batch"
done
[ -f "$WORK/s1/summary.json" ] || { cat "$WORK/merge-$M.log"; fail "the merge job ($(state "$M")) wrote no summary"; }
same_as_unsharded "$WORK/s1/summary.json" "Slurm"
echo "Slurm: job array $A of 4 shards, then merge job $M (afterok): the merged summary equals the unsharded run's ($ROWS rows)"

# 2. Shard 2 cancelled once it has finished one mailbox of its 4, then submitted again alone.
OUTDIR="$WORK/s2"
B=$(sbatch --parsable --array=1-4 -o "$WORK/shard-%A_%a.log" "$SBATCH_SCRIPT" "$WORK/m.csv" "$WORK/batch.conf" "$OUTDIR" 4) ||
	fail "sbatch refused the second array"
i=0
while [ "$(entries_of 2 4)" -lt 1 ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
scancel "${B}_2"
wait_gone "$B"
before=$(entries_of 2 4)
st=$(state "${B}_2")
[ "$st" = CANCELLED ] || fail "the cancelled task is $st"
[ ! -f "$OUTDIR/summary-2-of-4.json" ] || fail "the cancelled shard wrote a summary"
[ "$before" -ge 1 ] && [ "$before" -lt 4 ] || fail "the cancelled shard had finished $before of its 4 mailboxes"
for k in 1 3 4; do [ "$(state "${B}_$k")" = COMPLETED ] || fail "array task $k: $(state "${B}_$k")"; done
C=$(sbatch --parsable --array=2 -o "$WORK/shard-%A_%a.log" "$SBATCH_SCRIPT" "$WORK/m.csv" "$WORK/batch.conf" "$OUTDIR" 4) ||
	fail "sbatch refused the resubmission"
M2=$(sbatch --parsable --dependency="afterok:$C" -o "$WORK/merge-%j.log" \
	--wrap "ostrecon merge -o $OUTDIR $OUTDIR/summary-1-of-4.json $OUTDIR/summary-2-of-4.json $OUTDIR/summary-3-of-4.json $OUTDIR/summary-4-of-4.json") ||
	fail "sbatch refused the second merge"
wait_gone "$C" "$M2"
[ "$(state "${C}_2")" = COMPLETED ] || { cat "$WORK/shard-${C}_2.log"; fail "the resubmitted shard: $(state "${C}_2")"; }
set -- $(resumed_in "$OUTDIR/summary-2-of-4.json")
[ "$1" -eq "$3" ] || fail "shard 2: $1 of $3 mailboxes have a result after the resubmission"
[ "$2" -eq "$before" ] || fail "shard 2 resumed $2 mailboxes; $before were finished when it was cancelled"
[ -f "$OUTDIR/summary.json" ] || { cat "$WORK/merge-$M2.log"; fail "the second merge job wrote no summary"; }
same_as_unsharded "$OUTDIR/summary.json" "Slurm after a cancelled shard"
echo "Slurm: task 2 of array $B cancelled after $before of its 4 mailboxes; resubmitted as $C, it resumed the $before it had finished; the merge equals the unsharded run's"
