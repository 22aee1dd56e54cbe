# The folder workers take folders largest first: a folder's pages follow one another, so a large
# folder taken last would keep the pull waiting on it alone at the end. With one worker the
# SyncFolderItems requests (from the trace) visit the folders in non-increasing order of the item
# count the hierarchy gave, and the pulled snapshot is still the whole mailbox.
. "$(dirname "$0")/lib.sh"
$PY "$GEN" --mailbox alice@example.com --folders 30 --items 1500 --seed 11 -o "$WORK/mbx.jsonl"
pw=$(secret_file pw alice-pw-1)
start_server order --mailbox "$WORK/mbx.jsonl" $(users_args)
mkdir "$WORK/trace"
client order --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	--concurrency 1 --page-size 64 --trace-dir "$WORK/trace" -o "$WORK/snap.jsonl"
expect_rc 0 "pull with one worker"
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/snap.jsonl" --no-associated || fail "snapshot differs from the mailbox"
$PY - "$WORK/snap.jsonl" "$WORK/trace" <<'PY' || fail "folders were not pulled largest first"
import glob, json, os, re, sys
counts = {}
for line in open(sys.argv[1], encoding="utf-8"):
    rec = json.loads(line)
    if rec.get("type") == "folder":
        counts[rec["id"]] = rec.get("content_count", -1)
seen = []
for path in sorted(glob.glob(os.path.join(sys.argv[2], "*-SyncFolderItems-request.xml"))):
    m = re.search(r'<t:FolderId Id="([^"]+)"', open(path, encoding="utf-8").read())
    assert m, "no folder id in " + path
    if m.group(1) not in seen:
        seen.append(m.group(1))
order = [counts[f] for f in seen]
assert len(seen) >= 20, "only %d folders pulled" % len(seen)
assert max(order) > 100 and len(set(order)) > 5, "the mailbox does not tell orders apart: %s" % order
assert order == sorted(order, reverse=True), "item counts in pull order: %s" % order
print("ok: %d folders pulled largest first (%d items first, then %s, ...)" % (len(seen), order[0], order[1:4]))
PY
echo "order: folders pulled largest first"
