# The Kubernetes manifests of docs/examples/ (an Indexed Job of 4 shards, then a merge Job),
# checked offline: parsed with PyYAML and held field by field against Kubernetes' API models
# (python3-kubernetes, generated from Kubernetes' OpenAPI schema; test/batch/k8s_check.py); the
# ConfigMap's batch.conf read by ostrecon itself; and the containers' scripts run here as the pods
# would run them (JOB_COMPLETION_INDEX 0..3 side by side, the mounts mapped to folders of this
# test, the ConfigMap's server and account swapped for the test EWS server's), then the merge
# Job's: the merged summary is the unsharded run's. No cluster is started.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sched_lib.sh"
EX="$ROOT/docs/examples"
K="$WORK/k8s"
$PY -c 'import yaml' 2>/dev/null || skip "PyYAML is not installed (Debian package python3-yaml)"
$PY "$BATCH_TESTS/k8s_check.py" "$EX/kubernetes-shards.yaml" "$EX/kubernetes-merge.yaml" "$K" >"$WORK/check.out" 2>&1
rc=$?
cat "$WORK/check.out"
[ $rc -eq 77 ] && exit 77
[ $rc -eq 0 ] || fail "the manifests are not valid"

# The ConfigMap's batch.conf, as it is: ostrecon reads every line and goes on to the password file,
# which only the pod has.
printf 'mailbox,cache\nuser01@fleet.example,user01.ost\n' >"$WORK/one.csv"
"$OSTRECON" batch --config "$K/batch.conf" "$WORK/one.csv" >"$WORK/conf.out" 2>&1
grep -q "cannot read the secret file /run/secrets/ostrecon/svc.pw" "$WORK/conf.out" ||
	{ cat "$WORK/conf.out"; fail "ostrecon does not take the ConfigMap's batch.conf"; }

# The pods' view: each mount path becomes a folder here.
sched_setup 8 0
unsharded
mkdir -p "$K/data" "$K/etc" "$K/secret"
while read -r path name; do
	case "$path" in /data|/etc/ostrecon|/run/secrets/ostrecon|/tmp) ;; *) fail "unexpected mount $path ($name)" ;; esac
done <"$K/mounts"
map() { sed -e "s#/run/secrets/ostrecon/#$K/secret/#g" -e "s#/etc/ostrecon/#$K/etc/#g" -e "s#/data/#$K/data/#g" "$@"; }
sed 's#,fleet/#,ost/#' "$WORK/m.csv" >"$K/data/manifest.csv"
ln -s "$FLEET" "$K/data/ost"
cp "$WORK/svc.pw" "$K/secret/svc.pw"
# the test server speaks plain http: the password goes as Basic (the cluster's URL is https)
map "$K/batch.conf" | sed -e "s#^url = .*#url = $URL#" -e 's#^user = .*#user = svc#' -e '/^url = /a auth = basic' >"$K/etc/batch.conf"
map "$K/shard.sh" >"$K/shard.run"
map "$K/merge.sh" >"$K/merge.run"
grep -n '/data\|/etc/ostrecon\|/run/secrets' "$K/shard.run" "$K/merge.run" | grep -v "$K" && fail "a path of the pods is left unmapped"

pids=
for i in 0 1 2 3; do
	JOB_COMPLETION_INDEX=$i timeout 300 sh "$K/shard.run" >"$K/shard$i.log" 2>&1 &
	pids="$pids $!"
done
i=0
for p in $pids; do
	wait "$p" || { cat "$K/shard$i.log"; fail "the pod of index $i would fail (exit $?)"; }
	i=$((i + 1))
done
timeout 60 sh "$K/merge.run" >"$K/merge.log" 2>&1 || { cat "$K/merge.log"; fail "the merge pod would fail"; }
same_as_unsharded "$K/data/run/summary.json" "the Kubernetes Jobs' scripts"
echo "Kubernetes: the pods' scripts for indexes 0..3 and the merge Job's give the unsharded run's summary ($ROWS rows)"
