#!/bin/sh
# libpst's readpst reads the PST and the 512-byte OST that ostwrite writes: the folder tree under the
# IPM subtree and the subjects of the mail in each folder equal the fixture's expansion. (readpst
# does not read 4 KiB-page OSTs, and writes only mail: other classes are counted as skipped.)
# readpst -j 0: with parallel jobs, readpst's processes writing one message a file (-e) can race for
# the same file name under load and lose a message.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
command -v readpst >/dev/null || { echo "readpst is not installed (Debian: pst-utils)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for fixture in writer_small writer_replicas; do
	F="$here/../fixtures/$fixture.json"
	"$W" --expand "$F" -o "$tmp/$fixture.jsonl"
	for fmt in pst ost; do
		"$W" "$F" --format "$fmt" -o "$tmp/$fixture.$fmt"
		mkdir "$tmp/r.$fixture.$fmt"
		timeout 120 readpst -j 0 -q -r -e -o "$tmp/r.$fixture.$fmt" "$tmp/$fixture.$fmt" > "$tmp/log" 2>&1 ||
			{ cat "$tmp/log"; echo "readpst failed on $fixture.$fmt"; exit 1; }
		/usr/bin/python3 "$here/compare.py" readpst "$tmp/$fixture.jsonl" "$tmp/r.$fixture.$fmt"
	done
done
