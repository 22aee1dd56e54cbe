#!/bin/sh
# pst-extractor (npm, a third reader we did not write) opens every .pst `ostrecon export --all`
# writes and finds what the source holds, compared property by property and byte by byte
# (pstx_dump.js, then compare_pstx.py): every message's properties, recipient rows, attachment
# table (columns and rows in order), each attachment's own properties and data, embedded messages.
#
# Sources: the real samples of $SHARED/samples/real (when present) and the round-trip fixtures
# written by ostwrite in the three formats (test/export/roundtrip.json: large attachments through
# data trees, embedded messages, Unicode text, named properties). pst-extractor does not open a
# source that is "high" encrypted or 32-bit ANSI: the first is compared with libpff's reading of
# the source instead (compare_pff_pstx.py); the ANSI sample's one message (an IPM.Post, which libpff
# and readpst skip) is compared with what `ostrecon ost` lists of the source.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib_pstx.sh"
pstx_setup
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

check() { # check NAME SOURCE: export it and compare what pst-extractor reads of both
	name=$1 src=$2
	out="$tmp/$name.pst"
	rm -f "$out"
	timeout 300 "$OSTRECON" export -q --ost "$src" --all -o "$out" --name rescue ||
		{ echo "$name: export failed (exit $?)"; exit 1; }
	pstx_dump "$out" "$tmp/exp.jsonl" || { cat "$tmp/exp.jsonl.err" | tail -5; echo "$name: pst-extractor cannot read the .pst in full"; exit 1; }
	if pstx_dump "$src" "$tmp/src.jsonl" 2> /dev/null; then
		/usr/bin/python3 "$here/compare_pstx.py" "$tmp/src.jsonl" "$tmp/exp.jsonl" rescue || { echo "$name: differences"; exit 1; }
		return 0
	fi
	echo "$name: pst-extractor does not open the source ($(tail -1 "$tmp/src.jsonl.err" | cut -c1-100))"
	rm -rf "$tmp/px" "$tmp/px.export"
	timeout 300 pffexport -q -d -f all -t "$tmp/px" "$src" > /dev/null 2>&1 || true
	n=$(find "$tmp/px.export" -type d -name 'Message*' 2> /dev/null | wc -l)
	if [ "$n" -gt 0 ]; then
		(cd "$here" && /usr/bin/python3 compare_pff_pstx.py "$tmp/px.export" "$tmp/exp.jsonl" rescue) ||
			{ echo "$name: differences"; exit 1; }
		return 0
	fi
	"$OSTRECON" ost -q "$src" -o "$tmp/src.snap" || [ $? -eq 2 ]
	/usr/bin/python3 - "$tmp/src.snap" "$tmp/exp.jsonl" "$name" <<'PY'
import json, sys
items = [l for l in map(json.loads, open(sys.argv[1])) if l["type"] == "item" and not l.get("associated")]
msgs = [json.loads(l) for l in open(sys.argv[2])]
def text(m, tag, enc):
    v = m["props"].get(tag)
    return bytes.fromhex(v.split(":", 1)[1]).decode(enc) if v else None
got = sorted((text(m, "0x001a/001e", "cp1252") or text(m, "0x001a/001f", "utf-16-le"),
              (text(m, "0x0037/001e", "cp1252") or text(m, "0x0037/001f", "utf-16-le") or "").lstrip("\x01")) for m in msgs)
want = sorted((i.get("class"), i.get("subject", "")) for i in items)
print("%s: no other reader opens its messages; pst-extractor reads %s from the .pst, `ostrecon ost` lists %s in the source" % (sys.argv[3], got, want))
sys.exit(0 if got == want and got else 1)
PY
}

real="$SHARED/samples/real"
n=0
for s in SampleOstFile.ost libyal-outlook.pst pst2john-2003-high-encryption.pst pstsdk-test_ansi.pst; do
	[ -f "$real/$s" ] || continue
	check "$s" "$real/$s"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || echo "no real samples in $real: the fixtures only"
for fmt in pst ost ost4k; do
	"$TOOLS_DIR/ostwrite" "$here/roundtrip.json" --format $fmt -o "$tmp/roundtrip.$fmt"
	check "roundtrip.$fmt" "$tmp/roundtrip.$fmt"
done
echo "pst-extractor reads every exported file as the source"
