#!/bin/sh
# The NDB layer checked by an independent checker (ndb_check.py, which passes on the real Outlook
# files in $SHARED/samples/real): header CRCs, every B-tree page and every block (CRC, signature,
# back pointer, inflated size) and the allocation maps, for every fixture and format; and each
# damage mode breaks exactly what its report says.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
real="$SHARED/samples/real/SampleOstFile.ost"
[ -f "$real" ] && /usr/bin/python3 "$here/ndb_check.py" "$real"
for fixture in writer_small writer_replicas writer_replid0 writer_multiblock; do
	for fmt in pst ost ost4k; do
		"$W" "$here/../fixtures/$fixture.json" --format "$fmt" -o "$tmp/f.$fmt"
		/usr/bin/python3 "$here/ndb_check.py" "$tmp/f.$fmt"
	done
done
expect() { # file pattern: the checker must fail, naming pattern
	if /usr/bin/python3 "$here/ndb_check.py" "$1" > "$tmp/out" 2>&1; then
		cat "$tmp/out"; echo "damage not detected in $1"; exit 1
	fi
	grep -q "$2" "$tmp/out" || { cat "$tmp/out"; echo "expected \"$2\""; exit 1; }
}
F="$here/../fixtures/writer_small.json"
for fmt in pst ost ost4k; do
	d="$tmp/d.$fmt"
	"$W" "$F" --format "$fmt" -o "$d" --damage bad-block-crc --damage-report "$d.json" 2>/dev/null
	bid=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bid'])" "$d.json")
	expect "$d" "block $bid: CRC"
	"$W" "$F" --format "$fmt" -o "$d" --damage unreadable-message --damage-report "$d.json" 2>/dev/null
	bid=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bid'])" "$d.json")
	expect "$d" "block $bid: "
	"$W" "$F" --format "$fmt" -o "$d" --damage zero-page --damage-report "$d.json" 2>/dev/null
	ib=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['offset'])" "$d.json")
	expect "$d" "page at $ib: type 00"
	"$W" "$F" --format "$fmt" -o "$d" --damage bad-btree-pointer 2>/dev/null
	expect "$d" "page at [0-9]*: type"
	"$W" "$F" --format "$fmt" -o "$d" --damage truncate 2>/dev/null
	expect "$d" "beyond the end"
done
echo ok
