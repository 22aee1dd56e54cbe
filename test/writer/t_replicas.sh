#!/bin/sh
# Keys come through: a fixture with three replica GUIDs is written in each format; libpff (pypff)
# reads 0x65E0 from the PST, and 0x67F4 plus the special-folder entry ids from the OSTs; tying each
# replid to a GUID through the entry ids gives back every key of the expansion. The replica table at
# descriptor 0x801 maps exactly the fixture's GUIDs to the replids the entry ids imply, and both of
# ostrecon's readers take that map from the table's records (origin "replica table").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
/usr/bin/python3 -c "import pypff" 2>/dev/null || { echo "python3-pypff is not installed"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
F="$here/../fixtures/writer_replicas.json"
"$W" --expand "$F" -o "$tmp/exp.jsonl"
for fmt in pst ost ost4k; do
	"$W" "$F" --format "$fmt" -o "$tmp/r.$fmt"
	timeout 120 /usr/bin/python3 "$here/pff_list.py" "$tmp/r.$fmt" > "$tmp/list.$fmt"
	/usr/bin/python3 "$here/compare.py" keys "$tmp/exp.jsonl" "$tmp/list.$fmt"
done
for fmt in ost ost4k; do
	got=$(/usr/bin/python3 "$here/replica_table.py" "$tmp/r.$fmt")
	want='{"1": "6aa62d7a1b3ac5449d53431fbea29402", "2": "f6969b54aab8b442a46d2551f038a243", "3": "0123456789abcdef0123456789abcdef"}'
	[ "$got" = "$want" ] || { echo "replica table of $fmt: $got"; exit 1; }
	for reader in native libpff; do
		"$OSTRECON" -q ost --reader "$reader" "$tmp/r.$fmt" -o "$tmp/snap.jsonl" || { echo "ostrecon ost --reader $reader $fmt failed"; exit 1; }
		got=$(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "integrity":
        print(json.dumps({str(r["replid"]): [r["guid"], r["origin"]] for r in o["replicas"]}, sort_keys=True))
' "$tmp/snap.jsonl")
		want='{"1": ["7a2da66a-3a1b-44c5-9d53-431fbea29402", "replica table"], "2": ["549b96f6-b8aa-42b4-a46d-2551f038a243", "replica table"], "3": ["67452301-ab89-efcd-0123-456789abcdef", "replica table"]}'
		[ "$got" = "$want" ] || { echo "ostrecon --reader $reader, $fmt: replicas $got"; exit 1; }
	done
done
echo "ok"
