#!/bin/sh
# `export --folder` and `--since` narrow the export to what they name: for a written fixture with
# nested Unicode folders and items across a year, the items read back from each export (ostrecon
# ost) are exactly the source's items in that folder and below, or dated on or after the day
# (delivery, else submit, creation, modification time), each in its folder path recreated under
# the top folder; a folder that does not exist writes nothing and exits 3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$W" "$here/roundtrip.json" --format ost -o "$tmp/src.ost"
"$OSTRECON" ost -q "$tmp/src.ost" -o "$tmp/src.jsonl"

check() { # check LABEL ARGS...: export with ARGS, read back, compare with the source's selection
	label=$1; shift
	rm -f "$tmp/out.pst" "$tmp/out.jsonl"
	"$OSTRECON" export -q --ost "$tmp/src.ost" --name Top -o "$tmp/out.pst" "$@" ||
		{ echo "$label: export failed (exit $?)"; exit 1; }
	"$OSTRECON" ost -q "$tmp/out.pst" -o "$tmp/out.jsonl" || { echo "$label: the export does not read back"; exit 1; }
	/usr/bin/python3 - "$tmp/src.jsonl" "$tmp/out.jsonl" "$label" "$@" <<'PY'
import json, sys
src, out, label, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
args = [a for a in args if a != "--all"]
opt = dict(zip(args[::2], args[1::2]))
def load(p):
    lines = [json.loads(l) for l in open(p)]
    paths = {d["id"]: d.get("path", "") for d in lines if d["type"] == "folder"}
    return [(paths.get(d.get("folder_id"), "?"), d) for d in lines if d["type"] == "item"]
IPM = "/Root - Mailbox/IPM_SUBTREE/"
want = []
for path, d in load(src):
    if not path.startswith(IPM):
        continue
    rel = path[len(IPM):]
    f = opt.get("--folder")
    p = path if f and f.startswith("/") else rel
    if f and not (p == f or p.startswith(f + "/")):
        continue
    date = next((d[k] for k in ("received", "sent", "created", "modified") if d.get(k)), "")
    if "--since" in opt and date[:10] < opt["--since"]:
        continue
    want.append((rel, d.get("subject"), d.get("class"), d.get("received")))
got = []
for path, d in load(out):
    top = "/Top of Personal Folders/Top/"
    if not path.startswith(top):
        print("%s: %r is outside the top folder (%s)" % (label, d.get("subject"), path))
        sys.exit(1)
    got.append((path[len(top):], d.get("subject"), d.get("class"), d.get("received")))
want.sort(key=repr); got.sort(key=repr)
if not want:
    print("%s: the source has nothing to select: the test cannot fail" % label); sys.exit(1)
if want != got:
    for x in want:
        if x not in got: print("%s: missing %r" % (label, x))
    for x in got:
        if x not in want: print("%s: not selected but exported %r" % (label, x))
    sys.exit(1)
print("%s: %d items, each in its folder, as selected" % (label, len(got)))
PY
}
check "--folder Inbox/Erzeugt 1" --folder "Inbox/Erzeugt 1"
check "--folder /Root - Mailbox/IPM_SUBTREE/Inbox/Projekte – Köln" --folder "/Root - Mailbox/IPM_SUBTREE/Inbox/Projekte – Köln"
check "--all --since 2024-08-01" --all --since 2024-08-01
check "--folder Inbox --since 2024-10-01" --folder Inbox --since 2024-10-01
rc=0
"$OSTRECON" export -q --ost "$tmp/src.ost" --folder "Inbox/No such folder" -o "$tmp/none.pst" 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] && [ ! -e "$tmp/none.pst" ] || { echo "unknown folder: exit $rc, file left: $(ls "$tmp")"; exit 1; }
echo "an unknown folder writes nothing (exit 3)"
