#!/bin/sh
# An interrupted export leaves no partial file: `ostrecon export --all` of a cache of some 60 MB is
# stopped with SIGINT, then SIGTERM, once its temporary file is growing; the run ends with 130 or
# 143 (core's signal cleanup, which removes the writer's registered temporary file), and the
# output folder holds nothing but what was there before (the B-tree spill files are unlinked from
# the start). A run left alone afterwards writes the file.
set -eu
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/fixture.json" <<'JSON'
{"seed": 5, "generate": [
  {"folders": 6, "under": "inbox", "max_depth": 1},
  {"items": 600, "in": "*generated", "body_size": [2000, 20000], "recipients": [1, 3],
   "attachments": [1, 2], "attachment_size": [20000, 80000], "embedded": 0.1}]}
JSON
"$W" "$tmp/fixture.json" --format ost -o "$tmp/cache.ost"
mkdir "$tmp/out"
for sig in INT TERM; do
	want=130
	[ $sig = TERM ] && want=143
	"$OSTRECON" export -q --ost "$tmp/cache.ost" --all -o "$tmp/out/rescue.pst" 2> "$tmp/err" &
	pid=$!
	# wait (bounded) until the temporary file beside the output has grown past 1 MB
	n=0
	while [ $n -lt 300 ]; do
		part=$(find "$tmp/out" -name 'rescue.pst.part*' -size +1M 2> /dev/null | head -1)
		[ -n "$part" ] && break
		kill -0 $pid 2> /dev/null || break
		sleep 0.1
		n=$((n + 1))
	done
	[ -n "$part" ] || { wait $pid || true; echo "$sig: the export ended before it could be interrupted"; exit 1; }
	kill -$sig $pid
	rc=0
	wait $pid || rc=$?
	[ $rc -eq $want ] || { cat "$tmp/err"; echo "$sig: exit $rc, expected $want"; exit 1; }
	left=$(ls -A "$tmp/out")
	[ -z "$left" ] || { echo "$sig: files left behind: $left"; exit 1; }
	grep -q "removed" "$tmp/err" || { cat "$tmp/err"; echo "$sig: no word of the removed file"; exit 1; }
	echo "SIG$sig: exit $rc, the partial file ($(basename "$part")) removed, nothing left"
done
"$OSTRECON" export -q --ost "$tmp/cache.ost" --all -o "$tmp/out/rescue.pst"
[ "$(ls -A "$tmp/out")" = "rescue.pst" ] || { ls -A "$tmp/out"; echo "an uninterrupted run left more than its file"; exit 1; }
echo "an interrupted export leaves no partial file"
