#!/bin/sh
# A cache of which nothing can be read (writer damage `truncate`: the file is cut inside the last
# page of its block B-tree, so no block can be found) is an error, not an empty .pst: `export`
# exits 3, leaves no file, and says on stderr that the file is truncated and that its folder tree
# cannot be read, as `ostrecon ost` does (exit 3). For ost, ost4k and pst files, with --all,
# --folder and --report.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
d="$root/samples/scenarios/only_in_cache"
"$W" --expand "$d/server.json" -o "$tmp/server.jsonl"
"$W" "$d/cache.json" --format ost4k -o "$tmp/whole.ost"
"$OSTRECON" ost -q "$tmp/whole.ost" -o "$tmp/cache.jsonl"
"$OSTRECON" diff -q "$tmp/server.jsonl" "$tmp/cache.jsonl" -o "$tmp/r.json" > /dev/null || true
for fmt in ost ost4k pst; do
	"$W" "$d/cache.json" --format $fmt -o "$tmp/c.$fmt" --damage truncate 2>/dev/null
	rc=0; "$OSTRECON" ost -q "$tmp/c.$fmt" -o "$tmp/c.jsonl" 2>/dev/null || rc=$?
	[ "$rc" -eq 3 ] || { echo "$fmt: ostrecon ost reads the truncated file (exit $rc): no test"; exit 1; }
	for sel in all folder report; do
		case $sel in
		all) set -- --all ;;
		folder) set -- --folder Drafts ;;
		report) set -- --report "$tmp/r.json" ;;
		esac
		rc=0
		"$OSTRECON" export --ost "$tmp/c.$fmt" -o "$tmp/out.pst" "$@" 2> "$tmp/err" || rc=$?
		if [ "$rc" -ne 3 ] || [ -e "$tmp/out.pst" ]; then
			cat "$tmp/err"; echo "$fmt $sel: exit $rc, file left: $([ -e "$tmp/out.pst" ] && echo yes || echo no)"; exit 1
		fi
		grep -q "error: .*c\.$fmt cannot be read: the file is truncated" "$tmp/err" &&
			grep -q "folder tree cannot be listed" "$tmp/err" ||
			{ cat "$tmp/err"; echo "$fmt $sel: stderr does not say what could not be read"; exit 1; }
		echo "$fmt $sel: exit 3, no file, stderr: $(grep error: "$tmp/err" | cut -c1-120)..."
	done
done
