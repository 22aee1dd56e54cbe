# Shared by the scheduler tests (test/batch/t_parallel.sh, t_slurm.sh, t_kubernetes.sh; sourced
# after lib.sh): one fleet on the test EWS server, its manifest and config, the unsharded run to
# compare with, and `ostrecon` first on PATH (the build under test) for the schedulers' jobs.

# sched_setup N LATENCY_MS: N mailboxes (every fourth differs) and one row whose cache file is
# missing (it fails), served with LATENCY_MS per request; sets URL, writes $WORK/m.csv (cache
# paths relative to it) and $WORK/batch.conf (the service account, --jobs 1).
sched_setup() {
	make_fleet "$1"
	start_server s --mailbox-dir "$FLEET" --users "$WORK/users.json" --latency-ms "$2"
	URL="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
	{ echo "mailbox,cache"; for k in $(seq -f %02g 1 "$1"); do echo "user$k@fleet.example,fleet/user$k.ost"; done
	  echo "ghost@fleet.example,fleet/missing.ost"; } >"$WORK/m.csv"
	ROWS=$(($1 + 1))
	cat >"$WORK/batch.conf" <<CONF
# the test's service account (test/batch/lib.sh)
url = $URL
auth = basic
user = svc
password-file = $WORK/svc.pw
impersonate
jobs = 1
CONF
	mkdir -p "$WORK/bin"
	ln -s "$OSTRECON" "$WORK/bin/ostrecon"
	PATH="$WORK/bin:$PATH"
	export PATH
}

# rows SUMMARY: summary_rows, with the folder of the cache files (in error messages) left out.
rows() { summary_rows "$1" | sed -E 's#/[^ ]*/(fleet|data/ost)/#CACHES/#g'; }

# unsharded: the whole manifest in one run, the reference; its rows in $WORK/all.rows.
unsharded() {
	ostrecon batch "$WORK/m.csv" --config "$WORK/batch.conf" --jobs 4 -o "$WORK/all" --no-progress >"$WORK/all.log" 2>&1
	[ -f "$WORK/all/summary.json" ] || { cat "$WORK/all.log"; fail "the unsharded run wrote no summary"; }
	rows "$WORK/all/summary.json" >"$WORK/all.rows"
	[ "$(wc -l <"$WORK/all.rows")" -eq "$ROWS" ] || fail "the unsharded summary has $(wc -l <"$WORK/all.rows") rows of $ROWS"
	grep -q ' failed ' "$WORK/all.rows" || fail "the unsharded run has no failed row (the missing cache file)"
}

# same_as_unsharded SUMMARY WHAT: SUMMARY's rows are the unsharded run's.
same_as_unsharded() {
	rows "$1" >"$WORK/cmp.rows"
	diff "$WORK/all.rows" "$WORK/cmp.rows" || fail "$2: the merged summary differs from the unsharded run's"
}

# entries_of K N: how many of shard K/N's rows have a resume record in $OUTDIR/entries.
entries_of() {
	n=0 i=0
	while read -r line; do
		i=$((i + 1))
		[ $(( (i - 1) % $2 + 1 )) -eq "$1" ] || continue
		mbx=${line%%,*}
		[ -f "$OUTDIR/entries/$mbx.json" ] && n=$((n + 1))
	done <<ROWS
$(tail -n +2 "$WORK/m.csv")
ROWS
	echo $n
}

# resumed_in SUMMARY: "done resumed" counts of a shard's summary.
resumed_in() {
	$PY -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(sum(e["status"] in ("done", "failed") for e in s["mailboxes"]), sum(bool(e["resumed"]) for e in s["mailboxes"]), len(s["mailboxes"]))' "$1"
}
