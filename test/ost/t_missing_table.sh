#!/bin/sh
# A normal folder whose contents table is missing from the node B-tree (its NBT entry renamed here,
# page CRC recomputed) is listed as unreadable by the native reader: an error line names the folder
# and the table node, exit 2; the other folders and their messages are still listed.
set -u
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$W" "$(dirname "$0")/../fixtures/writer_small.json" --format ost -o "$tmp/f.ost" || exit 1
"$OSTRECON" ost -q "$tmp/f.ost" -o "$tmp/clean.jsonl" || { echo "FAIL: the clean file does not read"; exit 1; }
inbox=$(/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("type") == "folder" and r.get("role") == "inbox":
        print(r["id"][4:])' "$tmp/clean.jsonl")
[ -n "$inbox" ] || { echo "FAIL: no Inbox in the clean snapshot"; exit 1; }
/usr/bin/python3 - "$tmp/f.ost" "$inbox" <<'PY' || exit 1
import struct, sys, zlib
path, inbox = sys.argv[1], int(sys.argv[2])
table = (inbox & ~0x1F) | 0x0E
data = bytearray(open(path, "rb").read())
hit = 0
for off in range(512, len(data) - 512 + 1, 512):
    pg = data[off:off + 512]
    if pg[496] != 0x81 or pg[497] != 0x81 or pg[491] != 0:      # NBT leaf pages of a 512-byte file
        continue
    for i in range(pg[488]):
        e = off + i * pg[490]
        if struct.unpack_from("<Q", data, e)[0] == table:
            struct.pack_into("<Q", data, e, table | 0x10)          # type 0x1E: not a table any more
            crc = zlib.crc32(bytes(data[off:off + 496]), 0xFFFFFFFF) ^ 0xFFFFFFFF
            struct.pack_into("<I", data, off + 500, crc)
            hit += 1
if hit != 1:
    sys.exit("FAIL: found the contents table %d times" % hit)
open(path, "wb").write(data)
PY
"$OSTRECON" ost -q "$tmp/f.ost" -o "$tmp/out.jsonl"
rc=$?
[ $rc -eq 2 ] || { echo "FAIL: exit $rc, expected 2"; exit 1; }
/usr/bin/python3 - "$tmp/out.jsonl" "$tmp/clean.jsonl" "$inbox" <<'PY'
import json, sys
def load(p):
    return [json.loads(l) for l in open(p)]
out, clean, inbox = load(sys.argv[1]), load(sys.argv[2]), "nid:" + sys.argv[3]
errs = [r for r in out if r["type"] == "error"]
assert len(errs) == 1, errs
e = errs[0]
assert e["scope"] == "folder" and e["id"] == inbox and e["code"] == "unreadable", e
assert "cannot list the messages" in e["message"] and "is not in the node B-tree" in e["message"], e
items = lambda recs: {r["id"] for r in recs if r["type"] == "item"}
lost = items(clean) - items(out)
assert lost and all(r["folder_id"] == inbox for r in clean if r["type"] == "item" and r["id"] in lost), lost
assert items(out) <= items(clean)
print("ok: the Inbox is reported unreadable (%d of its messages not listed), %d other messages listed"
      % (len(lost), len(items(out))))
PY
