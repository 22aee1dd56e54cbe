#!/bin/sh
# `ostrecon export --all` on the real Outlook files of $SHARED/samples/real: libpff's pffexport reads
# the cache and the .pst and gets the same items, property by property (compare_pff.py: values,
# recipients, the attachment table, bodies, attachments byte for byte, embedded messages); readpst
# writes the same files out of both, byte for byte (compare_readpst.py); our NDB check finds no bad
# page or block; the cache is left unchanged and an existing output is never overwritten.
#
# readpst runs with -D (Deleted Items too, where one sample keeps all its mail) and -j 0: by default it forks a process per message (4 per CPU), and a child that
# closes its copy of the file moves the offset the parent shares with it between the parent's
# lseek and read (libpst's pst_reopen), so the parent reads the wrong bytes and drops the message:
# the same file gives 81 or 82 files from run to run (docs/EXPORT.md). Without forks it is exact.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
real="$SHARED/samples/real"
[ -d "$real" ] || { echo "no real samples in $real: skipped"; exit 77; }
for t in pffexport readpst; do
	command -v $t >/dev/null || { echo "$t is not installed (Debian: pff-tools, readpst)"; exit 77; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for s in SampleOstFile.ost libyal-outlook.pst pst2john-2003-high-encryption.pst pstsdk-test_ansi.pst; do
	src="$real/$s"
	[ -f "$src" ] || continue
	before=$(sha256sum "$src" | cut -d' ' -f1)
	out="$tmp/$s.pst"
	timeout 120 "$OSTRECON" export -q --ost "$src" --all -o "$out" --name rescue ||
		{ echo "export of $s failed (exit $?)"; exit 1; }
	[ "$(sha256sum "$src" | cut -d' ' -f1)" = "$before" ] || { echo "$s changed"; exit 1; }
	ls "$tmp" | grep -q part && { echo "a partial file was left behind"; exit 1; }
	# our own NDB check of every page and block of the new file
	"$OSTRECON" ost -q "$out" -o "$tmp/snap.jsonl" || { echo "ostrecon ost cannot list the export of $s"; exit 1; }
	/usr/bin/python3 - "$tmp/snap.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
integ = [l for l in lines if l["type"] == "integrity"][0]
errs = [l for l in lines if l["type"] == "error"]
assert integ.get("ndb_scan") == "complete", integ
assert integ.get("bad_pages", 0) == 0 and integ.get("bad_blocks", 0) == 0, integ
assert not errs, errs[:3]
print("ndb check: %d pages, %d blocks, none bad" % (integ["pages_checked"], integ["blocks_checked"]))
PY
	rm -rf "$tmp/px"; mkdir "$tmp/px"
	timeout 120 pffexport -q -d -f all -t "$tmp/px/src" "$src" > /dev/null 2>&1 || true
	timeout 120 pffexport -q -d -f all -t "$tmp/px/exp" "$out" > /dev/null 2>&1 ||
		{ echo "pffexport cannot export the .pst made of $s"; exit 1; }
	if [ -d "$tmp/px/src.export" ]; then
		/usr/bin/python3 "$here/compare_pff.py" "$tmp/px/src.export" "$tmp/px/exp.export" rescue
	fi
	# readpst: the same files out of the .pst as out of the cache, byte for byte
	rm -rf "$tmp/rs" "$tmp/re"; mkdir "$tmp/rs" "$tmp/re"
	timeout 120 readpst -j 0 -D -q -r -e -o "$tmp/re" "$out" > /dev/null 2>&1 ||
		{ echo "readpst cannot read the .pst made of $s"; exit 1; }
	if timeout 120 readpst -j 0 -D -q -r -e -o "$tmp/rs" "$src" > /dev/null 2>&1; then
		# readpst names its top folder after the store: the cache's, and "rescue/rescue" in the .pst
		rs=$(find "$tmp/rs" -mindepth 1 -maxdepth 1 -type d | head -1)
		[ -n "$rs" ] || rs="$tmp/rs"
		re="$tmp/re/rescue/rescue"
		[ -d "$re" ] || re="$tmp/re"
		echo "$s:"
		/usr/bin/python3 "$here/compare_readpst.py" "$rs" "$re"
	fi
done
# never over an existing file
touch "$tmp/exists.pst"
if "$OSTRECON" export -q --ost "$real/libyal-outlook.pst" --all -o "$tmp/exists.pst" 2>/dev/null; then
	echo "an existing file was overwritten"; exit 1
fi
[ ! -s "$tmp/exists.pst" ] || { echo "the existing file was changed"; exit 1; }
echo "real samples exported and read back equal"
