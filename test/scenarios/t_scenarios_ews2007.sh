# A set of the scenarios of samples/scenarios (in sync, missing each way, changed, moved:
# $VERSIONS_2007 in lib.sh) against the test EWS server as Exchange 2007 SP1: every request is
# held to that version's schema ($SHARED/ews-schema/exchange2007sp1) and refused as 2007 SP1
# refuses it, and each report must still match its expect.json. Skipped, saying so, when that
# schema is absent.
. "$(dirname "$0")/lib.sh"
need_version_schema exchange2007sp1 "Exchange 2007 SP1"
# shellcheck disable=SC2086
scen_build $VERSIONS_2007
scen_start_ews ews2007 --exchange-version 2007sp1 --schema-dir "$SCHEMA"
scen_scan_all ews2007
[ "$(echo $names_ews2007 | wc -w)" -eq "$(echo $VERSIONS_2007 | wc -w)" ] ||
	fail "only$names_ews2007 of $VERSIONS_2007 were scanned"
rc=0
scen_check ews2007 || rc=1
scen_keep ews2007
echo "$(echo $names_ews2007 | wc -w) scenarios against Exchange 2007 SP1: build $((built - start)) s, scans $((scanned - built)) s, total $(($(date +%s) - start)) s"
[ $rc -eq 0 ] || fail "scenario mismatches against Exchange 2007 SP1 (above)"
