# Sourced by t_btree_spill.sh, t_uring.sh and t_prefetch.sh (with $W and $tmp set): writes into $tmp a file with
# a 3,000-message folder (read on two threads), folders of a few hundred and small ones, in the
# three formats, and five damaged 4 KiB-format ones (a bad block CRC, a message no folder lists, an
# unreadable message, a bad B-tree pointer, a zeroed page); $files lists them, then the real
# samples of $SHARED/samples/real. An ostwrite that fails sets fail=1.
cat > "$tmp/fx.json" <<'JSON'
{"seed": 5, "replicas": ["6aa62d7a1b3ac5449d53431fbea29402"],
 "generate": [
  {"folders": 5, "under": "inbox", "max_depth": 2, "name": "Sub {n}"},
  {"items": 3000, "in": "inbox", "read": 0.6, "body_size": [100, 3000]},
  {"items": 800, "in": "*generated", "read": 0.5, "associated": 0.1},
  {"items": 30, "in": "sentitems"}
 ]}
JSON
files=""
for fmt in pst ost ost4k; do
	"$W" "$tmp/fx.json" --format "$fmt" -o "$tmp/f.$fmt" 2>/dev/null || { echo "FAIL ostwrite $fmt"; fail=1; continue; }
	files="$files $tmp/f.$fmt"
done
for d in bad-block-crc unlisted-message unreadable-message bad-btree-pointer zero-page; do
	"$W" "$tmp/fx.json" --format ost4k --damage "$d" -o "$tmp/d-$d.ost" 2>/dev/null ||
		{ echo "FAIL ostwrite --damage $d"; fail=1; continue; }
	files="$files $tmp/d-$d.ost"
done
for f in "${SHARED:-/nonexistent}"/samples/real/*.ost "${SHARED:-/nonexistent}"/samples/real/*.pst; do
	[ -f "$f" ] && files="$files $f"
done
