#!/bin/sh
# `ostrecon scan --export FILE.pst` exports in the same run when the verdict asks for it: against
# the test EWS server, the only_in_cache scenario's scan writes the .pst with exactly the items of
# the report's export list (pffexport finds each subject there, and nothing else), and each entry
# of the saved report says where it went. The in_sync scenario, with nothing to export, writes no
# file. The cache file is the same, byte for byte, before and after.
. "$(dirname "$0")/../ews/lib.sh"
command -v pffexport >/dev/null || skip "pffexport is not installed (Debian: pff-tools)"
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
W="$TOOLS_DIR/ostwrite"
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$WORK/users.json"
printf 'svc-pw\n' >"$WORK/svc.pw"
chmod 600 "$WORK/svc.pw"
mkdir -p "$WORK/mbx"
for sc in only_in_cache in_sync; do
	mkdir -p "$WORK/$sc"
	$PY "$ROOT/test/scenarios/check.py" prepare "$ROOT/samples/scenarios/$sc" "$WORK/$sc" || fail "$sc: prepare"
	. "$WORK/$sc/settings.sh"
	"$W" "$WORK/$sc/cache.json" --format "$FORMAT" -o "$WORK/$sc/cache.$EXT" || fail "$sc: ostwrite"
	"$W" --expand "$WORK/$sc/server.json" -o "$WORK/mbx/$sc.jsonl" || fail "$sc: ostwrite --expand"
	echo "$MAILBOX" >"$WORK/$sc/mailbox"
	echo "$WORK/$sc/cache.$EXT" >"$WORK/$sc/cachefile"
done
start_server ews --mailbox-dir "$WORK/mbx" --users "$WORK/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"

scan_export() { # scan_export SCENARIO: scan with --export; exit code in $rc
	sc=$1 cache=$(cat "$WORK/$1/cachefile")
	sha1sum "$cache" >"$WORK/$sc/before.sha1"
	rc=0
	timeout 300 "$OSTRECON" scan --ost "$cache" --mailbox "$(cat "$WORK/$sc/mailbox")" --no-progress \
		--url "$url" --auth basic --user svc --password-file "$WORK/svc.pw" --impersonate \
		-o "$WORK/$sc/report.json" --export "$WORK/$sc/rescue.pst" >"$WORK/$sc/out" 2>"$WORK/$sc/err" || rc=$?
	sha1sum -c --status "$WORK/$sc/before.sha1" || fail "$sc: the cache file changed"
}

scan_export only_in_cache
[ -f "$WORK/only_in_cache/rescue.pst" ] || { cat "$WORK/only_in_cache/err"; fail "only_in_cache: no .pst written (exit $rc)"; }
pffexport -q -d -t "$WORK/px" "$WORK/only_in_cache/rescue.pst" >/dev/null 2>&1 || fail "pffexport cannot read the .pst"
PYTHONPATH="$ROOT/test/export" $PY - "$WORK/only_in_cache/report.json" "$WORK/px.export" "$ROOT/docs/report.schema.json" \
	"$WORK/only_in_cache/rescue.pst" <<'PY' || fail "only_in_cache: the export does not match the report"
import json, os, sys
import jsonschema
import compare_pff
rep = json.load(open(sys.argv[1]))
jsonschema.validate(rep, json.load(open(sys.argv[3])))
subjects = []
for dp, dn, fn in os.walk(sys.argv[2]):
    if compare_pff.ITEM_DIR.match(os.path.basename(dp)) and "ItemValues.txt" in fn:
        s = compare_pff.subject(dp)
        subjects.append(s[2:] if s.startswith("\x01") else s)
listed = rep["export_before_rebuild"]
bad = []
if not listed:
    bad.append("the report lists nothing to export")
for e in listed:
    x = e.get("exported")
    if not x or x.get("status") != "complete" or x.get("file") != sys.argv[4] or not x.get("folder"):
        bad.append("%s: exported is %r" % (e["id"], x))
if sorted(e.get("subject") for e in listed) != sorted(subjects):
    bad.append("the .pst holds %r, the report lists %r" % (sorted(subjects), sorted(e.get("subject") for e in listed)))
for b in bad:
    print(b)
print("scan --export: %d listed items, %d in the .pst, each entry saying where it went" % (len(listed), len(subjects)))
sys.exit(1 if bad else 0)
PY

scan_export in_sync
[ "$rc" -eq 0 ] || { cat "$WORK/in_sync/err"; fail "in_sync: scan exit $rc"; }
[ ! -e "$WORK/in_sync/rescue.pst" ] || fail "in_sync: nothing to export, but a .pst was written"
echo "in_sync: nothing to export, no file written"
