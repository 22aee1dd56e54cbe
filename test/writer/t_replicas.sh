#!/bin/sh
# Keys come through: a fixture with three replica GUIDs is written in each format; libpff (pypff)
# reads 0x65E0 from the PST, and 0x67F4 plus the special-folder entry ids from the OSTs; tying each
# replid to a GUID through the entry ids gives back every key of the expansion. The replica table at
# descriptor 0x801 maps exactly the fixture's GUIDs to the replids the entry ids imply.
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
done
echo "ok"
