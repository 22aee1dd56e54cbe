# End-to-end scenarios (samples/scenarios/*/, described in samples/scenarios/README.md): for each,
# the cache fixture is written to an .ost/.pst by ostwrite, the server fixture is expanded into a
# mailbox served by one test EWS server and one test Graph server (all scenarios, one address
# each), `ostrecon scan` pulls and compares both, over EWS and again over Microsoft Graph, and
# check.py validates each JSON report against docs/report.schema.json and compares its verdict and
# findings with the scenario's expect.json (findings, not formatting): the same for both protocols.
# Over EWS the scenarios run here against the test server as Exchange 2016; t_scenarios_ews2010
# and t_scenarios_ews2007 run them against Exchange 2010 SP2 and 2007 SP1 (and skip, saying so,
# when those versions' schemas are absent). The libpff reader gives the same reports.
. "$(dirname "$0")/lib.sh"
scen_build
scen_start_ews ews
url=$url_ews
scen_start_graph
scen_scan_all ews graph
rc=0
scen_check ews graph || rc=1
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
scen_keep
echo "$(echo $names | wc -w) scenarios ($(echo $names_ews | wc -w) over EWS as Exchange 2016, $(echo $names_graph | wc -w) over Graph): build $((built - start)) s, scans $((scanned - built)) s, total $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || fail "scenario mismatches (above)"
