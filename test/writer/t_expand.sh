#!/bin/sh
# ostwrite --expand: the snapshot form of a fixture is valid JSON Lines, deterministic, and has the
# folders, items, keys and counts the fixture describes.
set -eu
W="$TOOLS_DIR/ostwrite"
F="$(dirname "$0")/../fixtures/writer_small.json"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$W" --expand "$F" -o "$tmp/a.jsonl"
"$W" --expand "$F" > "$tmp/b.jsonl"
cmp "$tmp/a.jsonl" "$tmp/b.jsonl"
/usr/bin/python3 - "$tmp/a.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["type"] == "snapshot" and lines[0]["source"] == "fixture"
assert lines[-1]["type"] == "end"
folders = [l for l in lines if l["type"] == "folder"]
items = [l for l in lines if l["type"] == "item"]
assert lines[-1]["folders"] == len(folders) and lines[-1]["items"] == len(items)
keys = [o["key"] for o in folders + items]
assert len(keys) == len(set(keys)), "keys must be unique"
assert all(len(k) == 44 and k.endswith(o["gc"]) for k, o in zip(keys, folders + items))
byid = {f["id"]: f for f in folders}
roles = {f["role"] for f in folders}
for r in ("root", "msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox",
          "junkemail", "calendar", "contacts", "tasks", "notes", "journal", "syncissues",
          "conflicts", "localfailures", "serverfailures", "searchfolders", "views",
          "commonviews", "shortcuts"):
    assert r in roles, r
for it in items:
    assert it["folder_id"] in byid
for f in folders:
    mine = [i for i in items if i["folder_id"] == f["id"]]
    normal = [i for i in mine if not i.get("associated")]
    assert f["content_count"] == len(normal), f
    assert f["unread_count"] == sum(1 for i in normal if not i.get("read")), f
    assert f["assoc_count"] == len(mine) - len(normal), f
alpha = [f for f in folders if f["name"] == "Alpha"][0]
assert alpha["gc"] == "000000020001" and alpha["path"].endswith("/Inbox/Projects/Alpha")
assert any(f["path"].endswith("/Receipts\\/2024") for f in folders)
assert len(items) == 48
print("ok: %d folders, %d items" % (len(folders), len(items)))
PY
# a duplicate key is an error, not a silent pick
printf '{"folders":[{"name":"A","gc":"0x0c"}]}' > "$tmp/dup.json"
if "$W" --expand "$tmp/dup.json" >/dev/null 2>"$tmp/err"; then echo "duplicate key accepted"; exit 1; fi
grep -q "duplicate key" "$tmp/err"
# bad fixtures get a clear error and exit 1, never a crash
bad() { # expected-message json
	printf '%s' "$2" > "$tmp/bad.json"
	if "$W" --expand "$tmp/bad.json" >/dev/null 2>"$tmp/err"; then echo "accepted: $2"; exit 1; fi
	grep -q "$1" "$tmp/err" || { echo "for $2 expected \"$1\", got: $(cat "$tmp/err")"; exit 1; }
}
bad "not 44 hex digits" '{"folders":[{"name":"A","key":"abc"}]}'
bad "not in \"replicas\"" '{"replicas":["00112233445566778899aabbccddeeff"],"folders":[{"name":"A","key":"ffffffffffffffffffffffffffffffff000000000001"}]}'
bad "no folder with role or path" '{"items":[{"folder":"Nowhere/Else"}]}'
bad "replica index out of range" '{"items":[{"folder":"inbox","replica":3}]}'
bad "not an ISO 8601" '{"items":[{"folder":"inbox","received":"yesterday"}]}'
bad "line 1" '{"items":['
bad "repeats replicas" '{"replicas":["00112233445566778899aabbccddeeff","00112233445566778899aabbccddeeff"]}'
# generators are deterministic and compact: 2,000 messages over 30 nested folders
printf '%s' '{"seed":3,"generate":[{"folders":30,"under":"inbox"},{"items":2000,"in":"*generated","read":0.7,"flagged":0.05}]}' > "$tmp/gen.json"
"$W" --expand "$tmp/gen.json" > "$tmp/g1"; "$W" --expand "$tmp/gen.json" > "$tmp/g2"
cmp "$tmp/g1" "$tmp/g2"
[ "$(grep -c '"type":"item"' "$tmp/g1")" = 2000 ]
read_share=$(grep '"type":"item"' "$tmp/g1" | grep -c '"read":true')
[ "$read_share" -gt 1300 ] && [ "$read_share" -lt 1500 ] || { echo "read share $read_share of 2000"; exit 1; }
echo "ok"
