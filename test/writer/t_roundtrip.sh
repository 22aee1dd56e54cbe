#!/bin/sh
# Round trip through our reader: fixture -> ostwrite (pst, ost, ost4k) -> ostrecon ost -> snapshot,
# which must hold every folder and item of `ostwrite --expand` under the same key, with the same
# parent and every field the fixture sets.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
if [ ! -x "$OSTRECON" ] || ! "$OSTRECON" ost --help >/dev/null 2>&1; then
	echo "ostrecon ost is not built yet: round trip skipped"
	exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for fixture in writer_small writer_replicas writer_replid0; do
	F="$here/../fixtures/$fixture.json"
	"$W" --expand "$F" -o "$tmp/$fixture.jsonl"
	for fmt in pst ost ost4k; do
		"$W" "$F" --format "$fmt" -o "$tmp/$fixture.$fmt"
		timeout 120 "$OSTRECON" ost -q "$tmp/$fixture.$fmt" -o "$tmp/snap.jsonl" ||
			{ echo "ostrecon ost failed on $fixture.$fmt (exit $?)"; exit 1; }
		/usr/bin/python3 "$here/compare.py" snap "$tmp/$fixture.jsonl" "$tmp/snap.jsonl"
	done
done
