# End-to-end scenarios (samples/scenarios/*/, described in samples/scenarios/README.md): for each,
# the cache fixture is written to an .ost/.pst by ostwrite, the server fixture is expanded into a
# mailbox served by one test EWS server and one test Graph server (all scenarios, one address
# each), `ostrecon scan` pulls and compares both, over EWS and again over Microsoft Graph, and
# check.py validates each JSON report against docs/report.schema.json and compares its verdict and
# findings with the scenario's expect.json (findings, not formatting): the same for both protocols.
. "$(dirname "$0")/../ews/lib.sh"
HERE="$ROOT/test/scenarios"
SCEN=${SCENARIOS_DIR:-"$ROOT/samples/scenarios"}
OSTWRITE="$TOOLS_DIR/ostwrite"
JOBS=${SCENARIO_JOBS:-4}
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built ($OSTWRITE)"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"
start=$(date +%s)

# One service account that may impersonate every scenario's mailbox.
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$WORK/users.json"
printf 'svc-pw\n' >"$WORK/svc.pw"
chmod 600 "$WORK/svc.pw"
mkdir -p "$WORK/mbx"

# Build every scenario's cache file and served mailbox; collect the server options.
names=""
set --
for d in "$SCEN"/*/; do
	n=$(basename "$d")
	[ -f "$d/expect.json" ] || continue
	w="$WORK/$n"
	mkdir -p "$w"
	$PY "$HERE/check.py" prepare "$d" "$w" || fail "$n: check.py prepare"
	MAILBOX= FORMAT= EXT= DAMAGE=
	. "$w/settings.sh"
	if [ -n "$DAMAGE" ]; then
		"$OSTWRITE" "$w/cache.json" --format "$FORMAT" -o "$w/cache.$EXT" --damage "$DAMAGE" \
			--damage-report "$w/damage.json" 2>"$w/ostwrite.err" || { cat "$w/ostwrite.err"; fail "$n: ostwrite --damage $DAMAGE"; }
	else
		"$OSTWRITE" "$w/cache.json" --format "$FORMAT" -o "$w/cache.$EXT" 2>"$w/ostwrite.err" ||
			{ cat "$w/ostwrite.err"; fail "$n: ostwrite"; }
	fi
	"$OSTWRITE" --expand "$w/server.json" -o "$WORK/mbx/$n.jsonl" || fail "$n: ostwrite --expand"
	while IFS= read -r a; do set -- "$@" "$a"; done <"$w/server.args"
	cat "$w/graph_server.args" >>"$WORK/graph_server.args"
	echo "$MAILBOX" >"$w/mailbox"
	echo "$w/cache.$EXT" >"$w/cachefile"
	names="$names $n"
done
[ -n "$names" ] || fail "no scenarios in $SCEN"
built=$(date +%s)

start_server ews --mailbox-dir "$WORK/mbx" --users "$WORK/users.json" "$@"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
# The Graph server: an application token that may read every mailbox through both APIs.
printf '{"tokens": [{"token": "tok-scenarios", "app": "scenarios-app"}]}\n' >"$WORK/graph-tokens.json"
printf 'tok-scenarios\n' >"$WORK/graph.tok"
chmod 600 "$WORK/graph.tok"
set --
while IFS= read -r a; do set -- "$@" "$a"; done <"$WORK/graph_server.args" 2>/dev/null
"$PY" "$ROOT/tools/graphserver/graphserver.py" --port 0 --mailbox-dir "$WORK/mbx" --tokens "$WORK/graph-tokens.json" \
	"$@" >"$WORK/graph.out" 2>"$WORK/graph.err" &
wait_listening graph $!
graph_url="http://127.0.0.1:$PORT/v1.0"

# scan PROTOCOL NAME: one scan, in the background; report, --json output, stderr and exit code in
# $WORK/PROTOCOL/NAME
scan() {
	p=$1 w="$WORK/$2" out="$WORK/$1/$2"
	mkdir -p "$out"
	(
		set --
		while IFS= read -r a; do set -- "$@" "$a"; done <"$w/scan.args"
		if [ "$p" = graph ]; then
			while IFS= read -r a; do set -- "$@" "$a"; done <"$w/graph_scan.args"
			set -- --api graph --graph-url "$graph_url" --token-file "$WORK/graph.tok" "$@"
		else
			set -- --url "$url" --auth basic --user svc --password-file "$WORK/svc.pw" --impersonate "$@"
		fi
		timeout 300 "$OSTRECON" scan --ost "$(cat "$w/cachefile")" --mailbox "$(cat "$w/mailbox")" \
			--no-progress --json -o "$out/report.json" "$@" >"$out/stdout.json" 2>"$out/scan.err"
		echo $? >"$out/rc"
	) &
	pids="$pids $!"
}
# (wait for the scans by pid: a bare `wait` would wait for the servers too)
i=0 pids=""
for proto in ews graph; do
	list=""
	for n in $names; do
		grep -qw "$proto" "$WORK/$n/protocols" || continue
		list="$list $n"
		scan "$proto" "$n"
		i=$((i + 1))
		if [ $((i % JOBS)) -eq 0 ]; then
			# shellcheck disable=SC2086
			wait $pids
			pids=""
		fi
	done
	eval "names_$proto=\$list"
done
# shellcheck disable=SC2086
[ -n "$pids" ] && wait $pids
scanned=$(date +%s)

rc=0
for proto in ews graph; do
	echo "== over $proto"
	eval "list=\$names_$proto"
	# shellcheck disable=SC2086
	$PY "$HERE/check.py" check "$ROOT/docs/report.schema.json" "$SCEN" "$WORK/$proto" $list || rc=1
done
# Every scenario that runs both ways gives the same verdict and findings both ways.
if [ $rc -eq 0 ]; then
	$PY - "$WORK" $names_graph <<'PY' || rc=1
import json, os, sys
work, names = sys.argv[1], sys.argv[2:]
canon = lambda fs: sorted(json.dumps({k: f.get(k) for k in ("kind", "side_label", "folder", "subject", "expected",
                                                           "reason", "newer", "count")}, sort_keys=True) for f in fs)
bad = 0
for n in names:
    paths = [os.path.join(work, p, n, "report.json") for p in ("ews", "graph")]
    if not all(os.path.exists(p) for p in paths):
        continue
    a, b = (json.load(open(p)) for p in paths)
    if a["verdict"] != b["verdict"] or canon(a["findings"]) != canon(b["findings"]):
        print("%s: EWS and Graph disagree: %s / %s" % (n, a["verdict"], b["verdict"]))
        bad += 1
print("EWS and Graph give the same verdict and findings on %d scenarios" % (len(names) - bad))
sys.exit(1 if bad else 0)
PY
fi
# The checker is not vacuous: altered expectations of real reports must each fail.
if [ $rc -eq 0 ] && [ -z "${SCENARIOS_DIR:-}" ]; then
	$PY - "$SCEN" "$WORK/neg" <<'PY' || fail "cannot write the altered expectations"
import json, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
def alter(name, new, how):
    e = json.load(open(os.path.join(src, name, "expect.json")))
    how(e)
    os.makedirs(os.path.join(dst, new))
    json.dump(e, open(os.path.join(dst, new, "expect.json"), "w"))
alter("in_sync", "in_sync", lambda e: e["findings"].append({"kind": "item_missing", "side": "cache"}))
alter("missing_in_cache", "missing_in_cache", lambda e: e["findings"].pop())
alter("changed_items", "changed_items", lambda e: e["findings"][0].update(newer="cache"))
alter("sync_window_given", "sync_window_given", lambda e: e.update(verdict="in_sync_except_expected"))
alter("sync_issues_search_folders", "sync_issues_search_folders", lambda e: e["findings"][0].update(expected=False))
alter("only_in_cache", "only_in_cache", lambda e: e["export"].pop())
PY
	for n in $(ls "$WORK/neg"); do
		if $PY "$HERE/check.py" check "$ROOT/docs/report.schema.json" "$WORK/neg" "$WORK/ews" "$n" >"$WORK/neg/$n.out" 2>&1; then
			cat "$WORK/neg/$n.out"; fail "check.py accepted an altered expectation for $n"
		fi
	done
	echo "check.py refuses $(ls "$WORK/neg" | grep -vc '\.out$') altered expectations"
fi
# The two cache readers give the same report: every undamaged scenario is scanned again with
# --reader libpff; verdict, findings, folders, export list, summary and integrity must be equal,
# and each report names the reader that read its cache.
if [ $rc -eq 0 ]; then
	same=0
	for n in $names_ews; do
		w="$WORK/$n"
		DAMAGE=
		. "$w/settings.sh"
		[ -n "$DAMAGE" ] && continue
		set --
		while IFS= read -r a; do set -- "$@" "$a"; done <"$w/scan.args"
		timeout 300 "$OSTRECON" scan --ost "$(cat "$w/cachefile")" --url "$url" --mailbox "$(cat "$w/mailbox")" \
			--auth basic --user svc --password-file "$WORK/svc.pw" --impersonate --no-progress --reader libpff \
			-o "$w/report.libpff.json" "$@" >/dev/null 2>"$w/scan.libpff.err"
		lrc=$?
		if [ ! -f "$WORK/ews/$n/report.json" ]; then
			# a scan that stops (sides that do not belong together) stops with either reader
			if [ -f "$w/report.libpff.json" ] || [ "$lrc" != "$(cat "$WORK/ews/$n/rc")" ]; then
				echo "$n: the libpff reader's scan exits $lrc, the native reader's $(cat "$WORK/ews/$n/rc")"; rc=1
			fi
			continue
		fi
		$PY - "$WORK/ews/$n/report.json" "$w/report.libpff.json" "$n" <<'PY' || rc=1
import json, sys
a, b, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
ra, rb = a["sides"][1].get("options", {}).get("reader"), b["sides"][1].get("options", {}).get("reader")
if (ra, rb) != ("native", "libpff"):
    sys.exit("%s: the reports name the readers %r and %r" % (name, ra, rb))
# findings and the export list as sets: their order follows the order the cache lists its items
canon = lambda v: sorted(json.dumps(x, sort_keys=True) for x in v) if isinstance(v, list) else v
for k in ("verdict", "exit_code", "summary", "advice", "folders", "findings", "integrity", "export_before_rebuild"):
    x, y = a.get(k), b.get(k)
    if (canon(x), x if k == "folders" else None) != (canon(y), y if k == "folders" else None):
        sys.exit("%s: %s differs between the native and the libpff reader" % (name, k))
PY
		same=$((same + 1))
	done
	[ "$same" -gt 10 ] || fail "only $same scenarios compared across the two readers"
	[ $rc -eq 0 ] && echo "the libpff reader gives the same reports on $same undamaged scenarios"
fi
# SCENARIO_KEEP=DIR keeps the fixtures, files, reports and logs for a look afterwards
[ -n "${SCENARIO_KEEP:-}" ] && { rm -rf "$SCENARIO_KEEP"; cp -r "$WORK" "$SCENARIO_KEEP"; }
echo "$(echo $names | wc -w) scenarios ($(echo $names_graph | wc -w) also over Graph): build $((built - start)) s, scans $((scanned - built)) s, total $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || fail "scenario mismatches (above)"
