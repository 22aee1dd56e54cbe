#!/bin/sh
# Multi-block data in the 4 KiB compressed OST, read by Debian's libpff 20180714 (the question of
# docs/QUIRKS.md, "Writer / libpff 20180714 and compressed multi-block data"): bodies over one block
# (XBLOCK), a 1,100-row table over several blocks, a property heap over two pages, and larger
# compressed blocks (--data-block-size) all come out of pffexport complete and byte-identical to
# the uncompressed PST of the same fixture.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
command -v pffexport >/dev/null || { echo "pffexport is not installed (Debian: pff-tools)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
F="$here/../fixtures/writer_multiblock.json"
"$W" --expand "$F" -o "$tmp/exp.jsonl"
body() { # export-dir subject-prefix: md5 and size of that message's Message.txt
	h=$(grep -l "^Subject:[[:space:]]*$2" "$1"/*/*/*/Message*/OutlookHeaders.txt | head -n 1)
	[ -n "$h" ] || { echo "no message \"$2\" in $1"; exit 1; }
	f="$(dirname "$h")/Message.txt"
	echo "$(md5sum < "$f" | cut -c1-32) $(wc -c < "$f")"
}
"$W" "$F" --format pst -o "$tmp/ref.pst"
timeout 120 pffexport -q -t "$tmp/ref" "$tmp/ref.pst" > /dev/null 2>&1
for variant in ost4k ost4k:65535; do
	fmt=${variant%%:*}; size=${variant#*:}
	set -- --format "$fmt"
	[ "$size" != "$variant" ] && set -- "$@" --data-block-size "$size"
	"$W" "$F" "$@" -o "$tmp/t.$fmt"
	rm -rf "$tmp/x.export"
	timeout 120 pffexport -q -t "$tmp/x" "$tmp/t.$fmt" > "$tmp/log" 2>&1 ||
		{ tail "$tmp/log"; echo "pffexport failed on $variant"; exit 1; }
	if grep -qi "unable" "$tmp/log"; then
		grep -i unable "$tmp/log" | sort | uniq -c | head; echo "libpff errors on $variant"; exit 1
	fi
	/usr/bin/python3 "$here/compare.py" pff "$tmp/exp.jsonl" "$tmp/x.export"
	for s in "Body 3000\$" "Body 30000\$" "Body 300000\$" "Heap over two pages"; do
		want=$(body "$tmp/ref.export" "$s"); got=$(body "$tmp/x.export" "$s")
		[ "$want" = "$got" ] || { echo "$variant: body of \"$s\": $got, PST has $want"; exit 1; }
	done
	echo "$variant: bodies identical to the PST's"
done
