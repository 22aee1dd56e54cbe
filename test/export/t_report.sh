#!/bin/sh
# The report's export list, exported: for the scenarios whose cache holds items the server does
# not (only_in_cache, damaged_cache), `ostrecon diff` of the two captures lists them, `ostrecon
# export --report` copies exactly them into a .pst (pffexport finds each subject there), and the
# report gains where each went, still valid against docs/report.schema.json. The damaged cache's
# unreadable message is listed as failed with its reason; every readable local-only item is there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
W="$TOOLS_DIR/ostwrite"
command -v pffexport >/dev/null || { echo "pffexport is not installed (Debian: pff-tools)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for sc in only_in_cache only_in_cache:unreadable-message only_in_cache:zero-page; do
	case $sc in *:*) dmg=${sc#*:}; sc=${sc%%:*} ;; *) dmg= ;; esac
	d="$root/samples/scenarios/$sc"
	fmt=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('format','ost'))" "$d/expect.json")
	"$W" --expand "$d/server.json" -o "$tmp/server.jsonl"
	"$W" "$d/cache.json" --format "$fmt" -o "$tmp/$sc.ost" ${dmg:+--damage $dmg} 2>/dev/null
	"$OSTRECON" ost -q "$tmp/$sc.ost" -o "$tmp/cache.jsonl" || [ $? -eq 2 ]
	"$OSTRECON" diff -q "$tmp/server.jsonl" "$tmp/cache.jsonl" -o "$tmp/r.json" > /dev/null || true
	n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['export_before_rebuild']))" "$tmp/r.json")
	[ "$n" -gt 0 ] || { echo "$sc: the report lists nothing to export"; exit 1; }
	rc=0
	rm -f "$tmp/$sc.pst"
	"$OSTRECON" export -q --ost "$tmp/$sc.ost" --report "$tmp/r.json" -o "$tmp/$sc.pst" 2> "$tmp/err" || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || { cat "$tmp/err"; echo "$sc: export failed (exit $rc)"; exit 1; }
	rm -rf "$tmp/px" "$tmp/px.export"
	pffexport -q -d -t "$tmp/px" "$tmp/$sc.pst" > /dev/null 2>&1 || { echo "$sc: pffexport cannot read the .pst"; exit 1; }
	PYTHONPATH="$here" /usr/bin/python3 - "$tmp/r.json" "$tmp/px.export" "$root/docs/report.schema.json" "$rc" <<'PY'
import json, os, re, sys
import jsonschema
import compare_pff
rep = json.load(open(sys.argv[1]))
jsonschema.validate(rep, json.load(open(sys.argv[3])))
subjects = []
for dp, dn, fn in os.walk(sys.argv[2]):
    if compare_pff.ITEM_DIR.match(os.path.basename(dp)) and "ItemValues.txt" in fn:
        subj = compare_pff.subject(dp)
        subjects.append(subj[2:] if subj.startswith("\x01") else subj)
bad, done = [], 0
for e in rep["export_before_rebuild"]:
    x = e.get("exported")
    if not x:
        bad.append("no 'exported' on %s" % e["id"])
        continue
    if x["status"] == "failed":
        if not x["problems"]:
            bad.append("%s failed without a reason" % e["id"])
        continue
    done += 1
    if e.get("subject") and e["subject"] not in subjects:
        bad.append("%s (%r) is not in the .pst" % (e["id"], e.get("subject")))
failed = sum(1 for e in rep["export_before_rebuild"] if e.get("exported", {}).get("status") == "failed")
if failed and sys.argv[4] != "2":
    bad.append("items failed but the exit code is %s" % sys.argv[4])
for b in bad:
    print("export:", b)
print("export: %d of %d listed items in the .pst, %d failed with their reason" % (done, len(rep["export_before_rebuild"]), failed))
sys.exit(1 if bad else 0)
PY
done

# A damaged cache exported whole: every message the listing reads is in the .pst, and every one it
# cannot read in full (unreadable, or a block whose checksum fails) is listed (stderr, exit 2),
# none skipped in silence.
d="$root/samples/scenarios/only_in_cache"
for dmg in unreadable-message zero-page bad-block-crc; do
	"$W" "$d/cache.json" --format ost4k -o "$tmp/d.ost" --damage $dmg 2>/dev/null
	"$OSTRECON" ost -q "$tmp/d.ost" -o "$tmp/d.jsonl" || true
	rm -f "$tmp/d.pst"; rc=0
	"$OSTRECON" export --ost "$tmp/d.ost" --all -o "$tmp/d.pst" 2> "$tmp/err" || rc=$?
	[ "$rc" -eq 2 ] || { cat "$tmp/err"; echo "$dmg: exit $rc, expected 2 (written, some items unreadable)"; exit 1; }
	rm -rf "$tmp/px" "$tmp/px.export"; pffexport -q -d -t "$tmp/px" "$tmp/d.pst" > /dev/null 2>&1
	PYTHONPATH="$here" /usr/bin/python3 - "$tmp/d.jsonl" "$tmp/px.export" "$tmp/err" <<'PY'
import json, os, sys
import compare_pff
lines = [json.loads(l) for l in open(sys.argv[1])]
readable = [l for l in lines if l["type"] == "item" and not l.get("associated")]
unreadable = [l for l in lines if l["type"] == "error" and l.get("scope") == "item"]
n = sum(1 for dp, dn, fn in os.walk(sys.argv[2]) if compare_pff.ITEM_DIR.match(os.path.basename(dp)) and "ItemValues.txt" in fn)
err = open(sys.argv[3]).read()
named = [e for e in unreadable if e.get("id") and e["id"] not in err]
print("damaged export: %d readable messages listed, %d in the .pst; %d unreadable, named on stderr: %s" % (
    len(readable), n, len(unreadable), not named))
sys.exit(0 if n == len(readable) and unreadable and not named else 1)
PY
done
