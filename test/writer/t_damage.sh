#!/bin/sh
# Each damage mode, in each format: ostwrite reports what it hit, and libpff's tools (and readpst on
# the formats it reads) finish in bounded time without crashing. Where the mode promises it, the
# effect is checked: unreadable-message loses exactly the reported message in pffexport's export.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
command -v pffexport >/dev/null || { echo "pffexport is not installed (Debian: pff-tools)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
F="$here/../fixtures/writer_small.json"
"$W" --expand "$F" -o "$tmp/exp.jsonl"
bounded() { # name command...: fails on a hang (timeout) or a crash (signal)
	name=$1; shift
	set +e
	timeout 60 "$@" > "$tmp/out" 2>&1
	rc=$?
	set -e
	if [ $rc -eq 124 ] || [ $rc -gt 128 ]; then
		tail -5 "$tmp/out"; echo "$name: hung or crashed (exit $rc)"; exit 1
	fi
	echo "$name: exit $rc"
}
for mode in bad-block-crc truncate bad-btree-pointer zero-page unreadable-message unlisted-message; do
	for fmt in pst ost ost4k; do
		out="$tmp/$mode.$fmt"
		"$W" "$F" --format "$fmt" -o "$out" --damage "$mode" --damage-report "$out.json" 2> "$tmp/err"
		grep -q "damage $mode" "$tmp/err"
		/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['mode']==sys.argv[2]" "$out.json" "$mode"
		bounded "pffinfo $mode $fmt" pffinfo "$out"
		bounded "pffexport $mode $fmt" pffexport -q -t "$tmp/x.$mode.$fmt" "$out"
		if [ "$fmt" != ost4k ] && command -v readpst >/dev/null; then
			mkdir -p "$tmp/r.$mode.$fmt"
			bounded "readpst $mode $fmt" readpst -j 0 -q -r -e -o "$tmp/r.$mode.$fmt" "$out"
		fi
		if [ "$mode" = unreadable-message ]; then
			# everything but the reported message comes out
			/usr/bin/python3 - "$tmp/exp.jsonl" "$out.json" "$tmp/x.$mode.$fmt.export" "$here" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[4])
import compare
folders, items = compare.load_expansion(sys.argv[1])
hit = json.load(open(sys.argv[2]))["item_id"]
kept = [i for i in items if i["id"] != hit]
exp = compare.expected(folders, kept, sanitize=compare.pff_sanitize)
import io, contextlib
sys.exit(compare.report(exp, compare.pff_tree(sys.argv[3]), "pffexport without " + hit))
PY
		fi
	done
done
