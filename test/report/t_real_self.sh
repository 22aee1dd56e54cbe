# The real OST's snapshot compared with itself is in sync (its unreadable search-folder parts are
# the same on both sides and in a client-side folder), and the report validates.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ost="$SHARED/samples/real/SampleOstFile.ost"
[ -f "$ost" ] || { echo "no real samples in $SHARED/samples/real"; exit 77; }
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || { echo "python3-jsonschema is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
"$OSTRECON" -q ost "$ost" -o "$tmp/snap.jsonl"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 2 ] || { echo "FAIL ostrecon ost: exit $rc"; exit 1; }
NO_COLOR=1 "$OSTRECON" diff "$tmp/snap.jsonl" "$tmp/snap.jsonl" -o "$tmp/report.json" >"$tmp/text"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL self diff: exit $rc"; cat "$tmp/text"; fail=1; }
head -1 "$tmp/text" | grep -q "^Verdict: in sync (in_sync, exit 0)$" || { echo "FAIL self diff: $(head -1 "$tmp/text")"; fail=1; }
/usr/bin/python3 - "$tmp/report.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
ok = (r["verdict"] == "in_sync" and s["matched"] == s["items"][0] == s["items"][1] == 92
      and s["missing_on"] == [0, 0] and s["differing"] == 0 and s["findings"] == 0)
if not ok:
    print("FAIL self diff summary:", r["verdict"], s)
sys.exit(0 if ok else 1)
PY
/usr/bin/python3 "$here/validate.py" "$root/docs/report.schema.json" "$tmp/report.json" || fail=1
exit $fail
