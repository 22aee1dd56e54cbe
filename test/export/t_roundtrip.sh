#!/bin/sh
# Round trips on written fixtures: test/export/roundtrip.json (Unicode names, subjects and bodies;
# recipients, 42 of them in one table; named properties of every kind; attachments by value up to
# 9 MB, which takes an XXBLOCK data tree; embedded messages two deep; an associated message; 40
# generated messages with parts of their own) written by ostwrite as a PST, an OST and a 4 KiB OST,
# exported --all, and read back both ways: `ostrecon ost` lists the same items in the same folders
# (every snapshot field but the key's derivation), and libpff's pffexport gets the same items
# property by property (compare_pff.py). pst-extractor reads the same files in t_pst_extractor.sh.
#
# A named property whose name the cache's map lacks is kept under a name that says what it was,
# and the item is listed (exit 2), never dropped in silence.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
command -v pffexport > /dev/null || { echo "pffexport is not installed (Debian: pff-tools)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for fmt in pst ost ost4k; do
	src="$tmp/roundtrip.$fmt" out="$tmp/roundtrip-$fmt.pst"
	"$W" "$here/roundtrip.json" --format $fmt -o "$src"
	"$OSTRECON" export -q --ost "$src" --all -o "$out" --name rescue || { echo "$fmt: export failed (exit $?)"; exit 1; }
	"$OSTRECON" ost -q "$src" -o "$tmp/src.jsonl"
	"$OSTRECON" ost -q "$out" -o "$tmp/exp.jsonl" || { echo "$fmt: ostrecon ost finds damage in the export"; exit 1; }
	/usr/bin/python3 - "$tmp/src.jsonl" "$tmp/exp.jsonl" "$fmt" <<'PY'
import collections, json, sys
def load(path, export):
    lines = [json.loads(l) for l in open(path)]
    folders = {l["id"]: l for l in lines if l["type"] == "folder"}
    integ = [l for l in lines if l["type"] == "integrity"][0]
    assert not [l for l in lines if l["type"] == "error"], "errors in " + path
    assert integ["bad_pages"] == 0 and integ["bad_blocks"] == 0, integ
    items = collections.Counter()
    for l in lines:
        if l["type"] != "item":
            continue
        parts = folders[l["folder_id"]]["path"].split("/")[1:]
        if export:  # /Top of Personal Folders/rescue/...
            assert parts[:2] == ["Top of Personal Folders", "rescue"], parts
            parts = parts[2:]
        else:       # /Root - Mailbox/IPM_SUBTREE/... or /Top of Personal Folders/...
            parts = parts[2:] if parts[0] == "Root - Mailbox" else parts[1:]
        # the key's GUID comes from the cache's replica table, which a .pst has not: its counter stays
        fields = {k: v for k, v in l.items() if k not in ("type", "id", "folder_id", "key", "key_origin", "replid")}
        items[("/".join(parts), json.dumps(fields, sort_keys=True))] += 1
    return items
a, b = load(sys.argv[1], False), load(sys.argv[2], True)
print("%s: ostrecon ost: %d items in the cache, %d in the .pst, %d equal" % (sys.argv[3], sum(a.values()), sum(b.values()), sum((a & b).values())))
for k in list((a - b))[:5]:
    print("  only in the cache:", k)
for k in list((b - a))[:5]:
    print("  only in the .pst:", k)
sys.exit(0 if a == b and a else 1)
PY
	rm -rf "$tmp/px"; mkdir "$tmp/px"
	pffexport -q -d -f all -t "$tmp/px/src" "$src" > /dev/null 2>&1 || { echo "$fmt: pffexport cannot read the fixture"; exit 1; }
	pffexport -q -d -f all -t "$tmp/px/exp" "$out" > /dev/null 2>&1 || { echo "$fmt: pffexport cannot read the export"; exit 1; }
	/usr/bin/python3 "$here/compare_pff.py" "$tmp/px/src.export" "$tmp/px/exp.export" rescue
done

# a named property without a map entry: kept under a readable name, and the item listed
cat > "$tmp/unnamed.json" <<'JSON'
{"seed": 3, "items": [{"folder": "inbox", "subject": "orphan named", "received": "2024-05-01T09:30:00Z",
 "named": [{"id": "0x8123", "type": "string", "value": "kept"},
           {"guid": "00020329-0000-0000-C000-000000000046", "name": "x-ok", "type": "long", "value": 1}]}]}
JSON
"$W" "$tmp/unnamed.json" --format ost -o "$tmp/unnamed.ost"
rc=0
"$OSTRECON" export --ost "$tmp/unnamed.ost" --all -o "$tmp/unnamed.pst" --name rescue 2> "$tmp/err" || rc=$?
[ "$rc" -eq 2 ] || { cat "$tmp/err"; echo "unnamed: exit $rc, expected 2 (an item exported with a note)"; exit 1; }
grep -q 'named property 0x8123.*kept under the name "ostrecon:unnamed:0x8123"' "$tmp/err" ||
	{ cat "$tmp/err"; echo "unnamed: the note is missing"; exit 1; }
rm -rf "$tmp/px" "$tmp/px.export"
pffexport -q -d -t "$tmp/px" "$tmp/unnamed.pst" > /dev/null 2>&1
v=$(grep -A3 'Maps to entry:.*ostrecon:unnamed:0x8123' "$tmp"/px.export/*/*/Inbox/Message00001/ItemValues.txt | sed -n 's/^0x00000000: //p')
[ "$(echo "$v" | cut -c1-23)" = "6b 00 65 00 70 00 74 00" ] || { echo "unnamed: the value is not in the .pst under its new name ($v)"; exit 1; }
echo "round trips equal in three formats; a property without a name kept and listed"
