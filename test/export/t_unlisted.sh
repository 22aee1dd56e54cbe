#!/bin/sh
# A message that is a node of its folder but that the folder's contents table leaves out (writer
# damage `unlisted-message`; `ostrecon ost` counts it in orphan_items) is not skipped by `export
# --all`: it goes to "Not in any folder" under the run's top folder, named on stderr (its node id
# and the folder its node names) and counted in the summary; every other message keeps its folder
# and the export exits 0 (every item whole). `--folder` takes it when its node names a folder in
# scope, and only then. For an OST and a PST source.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$W" --expand "$here/keys.json" -o "$tmp/expand.jsonl"
for fmt in ost pst; do
	"$W" "$here/keys.json" --format $fmt -o "$tmp/src.$fmt" --damage unlisted-message --damage-report "$tmp/dmg.json" 2>/dev/null
	"$OSTRECON" ost -q "$tmp/src.$fmt" -o "$tmp/src.jsonl" || true
	for sel in all inbox sent; do
		case $sel in
		all) set -- --all ;;
		inbox) set -- --folder Inbox ;;
		sent) set -- --folder "Sent Items" ;;
		esac
		rm -f "$tmp/out.pst"; rc=0
		"$OSTRECON" export --ost "$tmp/src.$fmt" --name Top -o "$tmp/out.pst" "$@" 2> "$tmp/err" || rc=$?
		[ "$rc" -eq 0 ] || { cat "$tmp/err"; echo "$fmt $sel: exit $rc, expected 0"; exit 1; }
		"$OSTRECON" ost -q "$tmp/out.pst" -o "$tmp/out.jsonl" || { echo "$fmt $sel: the export does not read back"; exit 1; }
		/usr/bin/python3 - "$tmp/expand.jsonl" "$tmp/src.jsonl" "$tmp/dmg.json" "$tmp/out.jsonl" "$tmp/err" "$fmt $sel" <<'PY'
import json, sys
expand, src, dmg, out, err, label = sys.argv[1:]
sel = label.split()[1]
dmg = json.load(open(dmg))
exp = [json.loads(l) for l in open(expand)]
folders = {d["id"]: d["path"] for d in exp if d["type"] == "folder"}
orphan = next(d for d in exp if d["type"] == "item" and d["id"] == dmg["item_id"])
srcl = [json.loads(l) for l in open(src)]
integ = next(d for d in srcl if d["type"] == "integrity")
if integ.get("orphan_items") != 1 or any(d.get("subject") == orphan["subject"] for d in srcl if d["type"] == "item"):
    print("%s: the damaged cache's listing does not count the message as an orphan: no test" % label); sys.exit(1)
IPM, TOP = "/Root - Mailbox/IPM_SUBTREE/", "/Top of Personal Folders/Top/"
scope = {"all": "", "inbox": "Inbox", "sent": "Sent Items"}[sel]
def in_scope(path):
    rel = path[len(IPM):] if path.startswith(IPM) else None
    return rel is not None and (not scope or rel == scope or rel.startswith(scope + "/"))
want = {}
for d in exp:
    if d["type"] != "item" or not in_scope(folders[d["folder_id"]]):
        continue
    want[d["subject"]] = "Not in any folder" if d["id"] == dmg["item_id"] else folders[d["folder_id"]][len(IPM):]
outl = [json.loads(l) for l in open(out)]
opaths = {d["id"]: d["path"] for d in outl if d["type"] == "folder"}
got = {d["subject"]: opaths[d["folder_id"]][len(TOP):] for d in outl if d["type"] == "item"}
bad = []
if want != got:
    bad.append("items and folders: want %s, got %s" % (sorted(want.items()), sorted(got.items())))
text = open(err).read()
named = "nid:%d" % dmg["nid"] in text and "Not in any folder" in text and "/Root - Mailbox/IPM_SUBTREE/Inbox" in text
if (orphan["subject"] in want) != named:
    bad.append("stderr %s the unlisted message: %r" % ("does not name" if not named else "names", text))
for b in bad:
    print("%s: %s" % (label, b))
if not bad:
    print("%s: %d items, the unlisted one %s" % (label, len(got), "in \"Not in any folder\", named on stderr"
          if orphan["subject"] in want else "outside the selection, not exported"))
sys.exit(1 if bad else 0)
PY
	done
done
