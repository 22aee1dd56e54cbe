#!/bin/sh
# Large folders are read on two threads (native.c, "reading ahead": a second thread reads the
# messages' properties ahead of the listing when a folder has more than 32 messages, one run). On a file with
# a 3,000-message folder, folders of a few hundred and small ones, in the three formats: the
# snapshot read on two cores equals the one read on one core (taskset -c 0: one thread) line for
# line after the header, and holds every item of the fixture with every field (test/writer/compare.py).
set -u
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v taskset >/dev/null || { echo "taskset (util-linux) is not installed: skipped"; exit 77; }
[ "$(nproc --all)" -ge 2 ] || { echo "one core: the two-thread path cannot run here: skipped"; exit 77; }
cat > "$tmp/fx.json" <<'JSON'
{"seed": 11, "replicas": ["6aa62d7a1b3ac5449d53431fbea29402"],
 "generate": [
  {"folders": 6, "under": "inbox", "max_depth": 2, "name": "Big {n}"},
  {"items": 3000, "in": "inbox", "read": 0.6, "flagged": 0.1, "body_size": [100, 2000]},
  {"items": 1500, "in": "*generated", "read": 0.5, "associated": 0.1},
  {"items": 40, "in": "sentitems"}
 ]}
JSON
"$W" --expand "$tmp/fx.json" -o "$tmp/expand.jsonl" || { echo "FAIL ostwrite --expand"; exit 1; }
fail=0
for fmt in pst ost ost4k; do
	"$W" "$tmp/fx.json" --format "$fmt" -o "$tmp/f.$fmt" || { echo "FAIL ostwrite $fmt"; fail=1; continue; }
	"$OSTRECON" ost -q "$tmp/f.$fmt" -o "$tmp/two.jsonl" || { echo "FAIL $fmt: ostrecon ost exit $?"; fail=1; continue; }
	taskset -c 0 "$OSTRECON" ost -q "$tmp/f.$fmt" -o "$tmp/one.jsonl" ||
		{ echo "FAIL $fmt: ostrecon ost on one core exit $?"; fail=1; continue; }
	if ! cmp -s "$tmp/one.jsonl" "$tmp/two.jsonl"; then
		tail -n +2 "$tmp/one.jsonl" > "$tmp/one.body"; tail -n +2 "$tmp/two.jsonl" > "$tmp/two.body"
		if ! cmp -s "$tmp/one.body" "$tmp/two.body"; then
			echo "FAIL $fmt: the two-thread snapshot differs from the one-thread one:"
			diff "$tmp/one.body" "$tmp/two.body" | head -5 | sed 's/^/    /'; fail=1; continue
		fi
	fi
	items=$(grep -c '"type":"item"' "$tmp/two.jsonl")
	[ "$items" = 4540 ] || { echo "FAIL $fmt: $items items listed, expected 4540"; fail=1; continue; }
	/usr/bin/python3 "$here/../writer/compare.py" snap "$tmp/expand.jsonl" "$tmp/two.jsonl" > "$tmp/cmp" 2>&1 ||
		{ echo "FAIL $fmt: the snapshot does not hold the fixture:"; sed 's/^/    /' "$tmp/cmp" | head -5; fail=1; continue; }
	echo "ok   $fmt: $items items, the same on one and on two threads"
done
exit $fail
