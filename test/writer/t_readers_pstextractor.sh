#!/bin/sh
# The npm package pst-extractor 1.12.0 (a reader we did not write) lists the same folders and
# messages as the fixture's expansion, for the PST and both OST formats. It is installed once into a
# cache directory; without node/npm (or the registry) the test is skipped.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm not installed: pst-extractor check skipped"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cache="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/ostrecon-test/pst-extractor-1.12.0"
mkdir -p "$cache" 2>/dev/null || cache="$tmp/npm" # no writable cache: install for this run only
if [ ! -f "$cache/node_modules/pst-extractor/package.json" ]; then
	mkdir -p "$cache"
	if ! (cd "$cache" && timeout 300 npm install --no-audit --no-fund --silent pst-extractor@1.12.0) >/dev/null 2>&1; then
		echo "npm install pst-extractor@1.12.0 failed (no registry?): pst-extractor check skipped"
		exit 77
	fi
fi
for fixture in writer_small writer_replicas; do
	F="$here/../fixtures/$fixture.json"
	"$W" --expand "$F" -o "$tmp/$fixture.jsonl"
	for fmt in pst ost ost4k; do
		"$W" "$F" --format "$fmt" -o "$tmp/$fixture.$fmt"
		NODE_PATH="$cache/node_modules" timeout 120 node "$here/pstx_list.js" "$tmp/$fixture.$fmt" > "$tmp/list.json" 2> "$tmp/err" ||
			{ cat "$tmp/err"; echo "pst-extractor failed on $fixture.$fmt"; exit 1; }
		/usr/bin/python3 "$here/compare.py" pstx "$tmp/$fixture.jsonl" "$tmp/list.json"
	done
done
