#!/usr/bin/python3
"""Compares the snapshot `ostrecon server --api graph` wrote with the mailbox file the test Graph
server served. Usage: compare.py MAILBOX.jsonl SNAPSHOT.jsonl [--mail-api] [--keys-from-ids]
Folders and items are matched by source key; every property the file sets and Graph carries must
come back. --mail-api: only what the mail API lists (mail, calendar and contact folders under the
message folder root; the snapshot header must say what it could not cover). --keys-from-ids: the
server returned no PidTagSourceKey, so every key must come from the object's id."""
import json
import sys

args = sys.argv[1:]
mbx_path, snap_path = args[0], args[1]
mail_api = "--mail-api" in args
from_ids = "--keys-from-ids" in args


def load(path):
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    folders = {o["key"]: o for o in lines if o["type"] == "folder" and "key" in o}
    items = {o["key"]: o for o in lines if o["type"] == "item" and not o.get("associated")}
    ids = {o["id"]: o for o in lines if o["type"] == "folder"}
    return lines, folders, items, ids


# the roles a server names (EWS's distinguished folders); the others are the cache reader's
SERVER_ROLES = {"root", "msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail",
                "calendar", "contacts", "tasks", "notes", "journal", "syncissues", "conflicts", "localfailures",
                "serverfailures", "searchfolders", "conversationhistory", "archive"}
_, mf, mi, mids = load(mbx_path)
root_path = next((o.get("path", "/") for o in mids.values() if o.get("role") == "root" or not o.get("parent_id")), "/")
lines, sf, si, sids = load(snap_path)
hdr = lines[0]
problems = []
if hdr["type"] != "snapshot" or hdr["source"] != "graph" or lines[-1]["type"] != "end":
    problems.append("not a complete Graph snapshot")
api = hdr.get("options", {}).get("api")
if api != ("mail" if mail_api else "mailbox"):
    problems.append("the header says api %r" % api)
if mail_api and "IPF.Task" not in hdr.get("options", {}).get("not_covered", []):
    problems.append("the header does not say the mail API leaves tasks out")


def covered(m):
    if not mail_api:
        return True
    path, cls = m.get("path", ""), m.get("class") or ""
    if "/IPM_SUBTREE/" not in path + "/" or cls.startswith(("IPF.Task", "IPF.StickyNote", "IPF.Journal")):
        return False
    return m.get("role") not in ("search",)


for key, m in mf.items():
    s = sf.get(key)
    if s is None:
        if covered(m):
            problems.append("folder missing: %s" % m.get("path"))
        continue
    for f in ("name", "content_count"):
        if mail_api and m.get("role") == "root":
            continue  # the mail API never lists the root: only its id is known
        if f in m and f in s and m.get(f) != s.get(f):
            problems.append("folder %s: %s %r != %r" % (m.get("path"), f, m.get(f), s.get(f)))
    # a server's paths start below the root; the file's may start with the root's name
    mpath = m.get("path", "/")
    if root_path != "/" and (mpath + "/").startswith(root_path + "/"):
        mpath = "/" + mpath[len(root_path):].lstrip("/")
    if mpath != s.get("path"):
        problems.append("folder path %r != %r" % (mpath, s.get("path")))
    mp, sp = mids.get(m.get("parent_id"), {}), sids.get(s.get("parent_id"), {})
    if mp.get("key") != sp.get("key"):
        problems.append("folder %s: parent differs" % m.get("path"))
    if m.get("role") in SERVER_ROLES and m.get("role") != s.get("role"):
        problems.append("folder %s: role %r != %r" % (m.get("path"), m.get("role"), s.get("role")))
    if from_ids and s.get("key_origin") != "entry_id":
        problems.append("folder %s: key_origin %r" % (m.get("path"), s.get("key_origin")))

folder_of = {o["id"]: o for o in mids.values()}
n_items = 0
for key, m in mi.items():
    mfolder = folder_of.get(m.get("folder_id"), {})
    s = si.get(key)
    if s is None:
        if covered(mfolder) and mfolder.get("role") != "search":
            problems.append("item missing: %s in %s" % (m.get("subject"), mfolder.get("path")))
        continue
    n_items += 1
    sfolder = sids.get(s.get("folder_id"), {})
    if sfolder.get("key") != mfolder.get("key"):
        problems.append("item %s: in another folder" % m.get("subject"))
    fields = ["subject", "received", "created", "modified", "flag_status", "importance"]
    if not mail_api or (m.get("class") or "IPM.Note").startswith(("IPM.Note", "IPM.Schedule")):
        fields += ["message_id", "sent"]
    if not from_ids:
        fields += ["class", "msg_flags", "change_key", "pcl"]
    for f in fields:
        if f in m and m.get(f) != s.get(f):
            problems.append("item %s: %s %r != %r" % (m.get("subject"), f, m.get(f), s.get(f)))
    if "read" in m and "read" in s and m["read"] != s["read"]:
        problems.append("item %s: read %r != %r" % (m.get("subject"), m["read"], s["read"]))
    want_origin = "entry_id" if from_ids else "source_key"
    if s.get("key_origin") != want_origin:
        problems.append("item %s: key_origin %r, expected %r" % (m.get("subject"), s.get("key_origin"), want_origin))
ids = [o["id"] for o in lines if o["type"] == "item"]
if len(ids) != len(set(ids)):
    problems.append("%d items are in the snapshot twice" % (len(ids) - len(set(ids))))
extra = set(si) - set(mi)
if extra:
    problems.append("%d items the mailbox does not hold" % len(extra))
for p in problems[:25]:
    print("  " + p)
if problems:
    print("%d problems (%s)" % (len(problems), snap_path))
    sys.exit(1)
print("%s: %d folders, %d items as served" % (snap_path.rsplit("/", 1)[-1], len(sf), n_items))
