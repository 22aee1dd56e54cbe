# The scenarios of samples/scenarios (as t_scenarios runs them over EWS) against the test EWS
# server as Exchange 2010 SP2: every request is held to that version's schema
# ($SHARED/ews-schema/exchange2010sp2) and refused as 2010 SP2 refuses it, and every scenario's
# report must still match its expect.json. Skipped, saying so, when that schema is absent.
. "$(dirname "$0")/lib.sh"
need_version_schema exchange2010sp2 "Exchange 2010 SP2"
scen_build
scen_start_ews ews2010 --exchange-version 2010sp2 --schema-dir "$SCHEMA"
scen_scan_all ews2010
rc=0
scen_check ews2010 || rc=1
scen_keep ews2010
echo "$(echo $names_ews2010 | wc -w) scenarios against Exchange 2010 SP2: build $((built - start)) s, scans $((scanned - built)) s, total $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || fail "scenario mismatches against Exchange 2010 SP2 (above)"
