#!/bin/sh
# Files written by ostwrite, in all three formats, are read by libpff's pffinfo and pffexport, and
# what pffexport exports (folder tree, messages per folder, subjects) equals the fixture's expansion.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
for t in pffinfo pffexport; do
	command -v $t >/dev/null || { echo "$t is not installed (Debian: pff-tools)"; exit 77; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for fixture in writer_small writer_replicas; do
	F="$here/../fixtures/$fixture.json"
	"$W" --expand "$F" -o "$tmp/$fixture.jsonl"
	for fmt in pst ost ost4k; do
		out="$tmp/$fixture.$fmt"
		"$W" "$F" --format "$fmt" -o "$out"
		timeout 60 pffinfo "$out" > "$tmp/info" 2>&1 || { cat "$tmp/info"; echo "pffinfo failed on $fixture.$fmt"; exit 1; }
		case $fmt in
		pst) grep -q "Personal Storage Tables (PST)" "$tmp/info" ;;
		ost) grep -q "Offline Storage Tables (OST)" "$tmp/info" && grep -q "File type:.*64-bit$" "$tmp/info" ;;
		ost4k) grep -q "64-bit with 4k page" "$tmp/info" ;;
		esac
		timeout 120 pffexport -q -t "$tmp/x.$fixture.$fmt" "$out" > "$tmp/log" 2>&1 ||
			{ cat "$tmp/log"; echo "pffexport failed on $fixture.$fmt"; exit 1; }
		/usr/bin/python3 "$here/compare.py" pff "$tmp/$fixture.jsonl" "$tmp/x.$fixture.$fmt.export"
	done
done
