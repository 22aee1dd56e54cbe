#!/bin/sh
# The export gives every item and folder the source key the cache's listing gives it: an OST
# stores no PidTagSourceKey, the listing works it out from PRQ_ID_SECURE4 and the replica map, and
# the export writes that key as 0x65E0; a PST source stores 0x65E0, copied as it is (not twice).
# For a fixture written as ost, ost4k and pst, `ostrecon ost` on the source and on the export (both
# readers on the export: native and libpff) give each item (matched by subject) the same key and
# global counter, and each recreated folder its cache folder's key.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for fmt in ost ost4k pst; do
	"$W" "$here/keys.json" --format $fmt -o "$tmp/src.$fmt"
	"$OSTRECON" ost -q "$tmp/src.$fmt" -o "$tmp/src.$fmt.jsonl"
	"$OSTRECON" export -q --ost "$tmp/src.$fmt" --all --name Top -o "$tmp/out.$fmt.pst" ||
		{ echo "$fmt: export failed (exit $?)"; exit 1; }
	for reader in native libpff; do
		"$OSTRECON" ost -q --reader $reader "$tmp/out.$fmt.pst" -o "$tmp/out.$fmt.$reader.jsonl" ||
			{ echo "$fmt: the export does not read back with the $reader reader"; exit 1; }
		/usr/bin/python3 - "$tmp/src.$fmt.jsonl" "$tmp/out.$fmt.$reader.jsonl" "$fmt/$reader" <<'PY'
import json, sys
src, out, label = sys.argv[1:]
def load(p):
    lines = [json.loads(l) for l in open(p)]
    return [d for d in lines if d["type"] == "folder"], [d for d in lines if d["type"] == "item"]
sf, si = load(src)
of, oi = load(out)
bad = 0
src_items = {d["subject"]: d for d in si}
out_items = {d["subject"]: d for d in oi}
if sorted(src_items) != sorted(out_items):
    print("%s: the items differ: %s against %s" % (label, sorted(src_items), sorted(out_items))); sys.exit(1)
keyed = 0
for s, d in sorted(src_items.items()):
    o = out_items[s]
    keyed += "key" in d
    for f in ("key", "gc"):
        if d.get(f) != o.get(f):
            print("%s: %r: %s %s in the cache, %s in the export" % (label, s, f, d.get(f), o.get(f))); bad += 1
if keyed < 4:
    print("%s: only %d items of the cache have a key: the test cannot fail" % (label, keyed)); sys.exit(1)
IPM, TOP = "/Root - Mailbox/IPM_SUBTREE/", "/Top of Personal Folders/Top/"
out_folders = {d["path"][len(TOP):]: d for d in of if d.get("path", "").startswith(TOP)}
checked = 0
for d in sf:
    p = d.get("path", "")
    if not p.startswith(IPM) or "key" not in d or p[len(IPM):] not in out_folders:
        continue
    checked += 1
    o = out_folders[p[len(IPM):]]
    if o.get("key") != d["key"]:
        print("%s: folder %s: key %s in the cache, %s in the export" % (label, p, d["key"], o.get("key"))); bad += 1
if checked < 3:
    print("%s: only %d recreated folders with a key to compare" % (label, checked)); sys.exit(1)
if bad:
    sys.exit(1)
print("%s: %d items (%d with a key) and %d folders: the same keys as the cache's listing" % (label, len(si), keyed, checked))
PY
	done
done
