#!/usr/bin/python3
"""Writes the test mailboxes of test/graphserver: genmailbox.py's tree and messages, plus what the
Graph APIs tell apart (a search folder, a hidden folder, meeting messages of each kind, calendar
items, contacts and a distribution list, tasks, categories, an associated item), and with --later a
second snapshot of the same mailbox with changes: items deleted, updated, created and moved,
a folder renamed, one removed and one added.

    mkfixture.py --mailbox alice@example.com --items 300 -o base.jsonl [--later later.jsonl]
"""

import argparse
import copy
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "ewsserver"))

import genmailbox  # noqa: E402


def _key(guid_hex, gc):
    return guid_hex + "%012x" % gc


def build(address, nitems, folders):
    buf = io.StringIO()
    genmailbox.generate(address, folders, nitems, 1, 0, buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    header = lines[0]
    fl = [o for o in lines if o["type"] == "folder"]
    items = [o for o in lines if o["type"] == "item"]
    for f in fl:  # counts come from the items, which this script changes
        f.pop("content_count", None)
        f.pop("unread_count", None)
    guid = fl[0]["key"][:32]
    by_role = {}
    for f in fl:
        by_role.setdefault(f["role"], f)
    gc = [0x700000]

    def nk():
        gc[0] += 1
        return _key(guid, gc[0])

    def folder(fid, name, parent, role, cls=None, **extra):
        f = {"type": "folder", "id": fid, "parent_id": parent["id"], "key": nk(), "name": name,
             "path": parent["path"].rstrip("/") + "/" + name, "role": role, "change_key": nk()}
        if cls:
            f["class"] = cls
        f.update(extra)
        fl.append(f)
        return f

    def item(iid, f, cls, subject, n, **extra):
        t = "2025-%02d-%02dT%02d:00:00Z" % (1 + n % 12, 1 + n % 28, n % 24)
        it = {"type": "item", "id": iid, "folder_id": f["id"], "key": nk(), "class": cls, "subject": subject,
              "received": t, "sent": t, "created": t, "modified": t, "read": n % 3 != 0,
              "msg_flags": 1 if n % 3 != 0 else 0, "importance": 1, "size": 1000 + n, "change_key": nk()}
        it.update(extra)
        items.append(it)
        return it

    folder("gs-search", "Unread Mail", by_role["searchfolders"], "search", "IPF.Note")
    folder("gs-hidden", "Hidden Stuff", by_role["msgfolderroot"], "ipm", "IPF.Note", hidden=True)
    folder("gs-subcal", "Team Calendar", by_role["calendar"], "ipm", "IPF.Appointment")
    folder("gs-subcontacts", "Suppliers", by_role["contacts"], "ipm", "IPF.Contact")
    inbox = by_role["inbox"]
    for n, (cls, subj) in enumerate((("IPM.Schedule.Meeting.Request", "Invitation: planning"),
                                     ("IPM.Schedule.Meeting.Resp.Pos", "Accepted: planning"),
                                     ("IPM.Schedule.Meeting.Resp.Tent", "Tentative: planning"),
                                     ("IPM.Schedule.Meeting.Resp.Neg", "Declined: planning"),
                                     ("IPM.Schedule.Meeting.Canceled", "Canceled: planning"))):
        item("gs-mtg%d" % n, inbox, cls, subj, n)
    item("gs-cat1", inbox, "IPM.Note", "Categorized", 7, categories=["Red category", "Project X"],
         flag_status=2, importance=2)
    item("gs-draft", by_role["drafts"], "IPM.Note", "A draft", 8, msg_flags=9, read=True)
    for n in range(5):
        item("gs-appt%d" % n, by_role["calendar"], "IPM.Appointment", "Meeting %d" % n, 10 + n)
    item("gs-appt-team", [f for f in fl if f["id"] == "gs-subcal"][0], "IPM.Appointment", "Team meeting", 20)
    for n in range(4):
        item("gs-contact%d" % n, by_role["contacts"], "IPM.Contact", "Contact %d" % n, 30 + n)
    item("gs-dl", by_role["contacts"], "IPM.DistList", "All suppliers", 40)
    item("gs-supplier", [f for f in fl if f["id"] == "gs-subcontacts"][0], "IPM.Contact", "Supplier One", 41)
    for n in range(2):
        item("gs-task%d" % n, by_role["tasks"], "IPM.Task", "Task %d" % n, 50 + n)
    item("gs-note", by_role["notes"], "IPM.StickyNote", "A sticky note", 60)
    hidden = [f for f in fl if f["id"] == "gs-hidden"][0]
    item("gs-hidden-item", hidden, "IPM.Note", "In a hidden folder", 61)
    item("gs-fai", inbox, "IPM.Configuration.Rules", "", 62, associated=True)
    return header, fl, items


def later_of(fl, items):
    """The same mailbox some time later: a list of changes a delta round must report."""
    fl = copy.deepcopy(fl)
    items = copy.deepcopy(items)
    inbox = [f for f in fl if f["role"] == "inbox"][0]
    projects = [f for f in fl if f["name"].startswith("Project ")]
    in_inbox = [it for it in items if it["folder_id"] == inbox["id"] and not it.get("associated")]
    guid = fl[0]["key"][:32]
    gc = [0x900000]

    def nk():
        gc[0] += 1
        return _key(guid, gc[0])
    changes = {"deleted": [], "updated": [], "created": [], "moved": []}
    for it in in_inbox[:3]:                       # deleted
        items.remove(it)
        changes["deleted"].append(it["key"])
    for it in in_inbox[3:5]:                      # updated: read state flips, new change key
        it["read"] = not it.get("read")
        it["msg_flags"] = 1 if it["read"] else 0
        it["change_key"] = nk()
        it["modified"] = "2026-02-01T10:00:00Z"
        changes["updated"].append(it["key"])
    moved = in_inbox[5]                           # moved to Project 01
    moved["folder_id"] = projects[0]["id"]
    changes["moved"].append(moved["key"])
    for n in range(3):                            # created
        k = nk()
        items.append({"type": "item", "id": "gs-new%d" % n, "folder_id": inbox["id"], "key": k,
                      "class": "IPM.Note", "subject": "New mail %d" % n, "received": "2026-02-0%dT09:00:00Z" % (n + 1),
                      "created": "2026-02-0%dT09:00:00Z" % (n + 1), "modified": "2026-02-0%dT09:00:00Z" % (n + 1),
                      "read": False, "msg_flags": 0, "importance": 1, "size": 4242, "change_key": nk()})
        changes["created"].append(k)
    projects[1]["name"] = projects[1]["name"] + " (renamed)"
    projects[1]["change_key"] = nk()
    gone = projects[2]                            # removed, with its items and subfolders
    gone_ids = {gone["id"]}
    grew = True
    while grew:
        grew = False
        for f in fl:
            if f.get("parent_id") in gone_ids and f["id"] not in gone_ids:
                gone_ids.add(f["id"])
                grew = True
    fl = [f for f in fl if f["id"] not in gone_ids]
    items = [it for it in items if it["folder_id"] not in gone_ids]
    newf = {"type": "folder", "id": "gs-newfolder", "parent_id": inbox["id"], "key": nk(), "name": "Receipts",
            "path": inbox["path"] + "/Receipts", "role": "ipm", "class": "IPF.Note", "change_key": nk()}
    fl.append(newf)
    for n in range(2):
        items.append({"type": "item", "id": "gs-receipt%d" % n, "folder_id": newf["id"], "key": nk(),
                      "class": "IPM.Note", "subject": "Receipt %d" % n, "received": "2026-02-10T09:00:00Z",
                      "created": "2026-02-10T09:00:00Z", "modified": "2026-02-10T09:00:00Z", "read": True,
                      "msg_flags": 1, "importance": 1, "size": 999, "change_key": nk()})
    return fl, items, changes


def write(path, header, fl, items):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(header, ensure_ascii=False) + "\n")
        for o in fl + items:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
        f.write(json.dumps({"type": "end", "folders": len(fl), "items": len(items), "errors": 0}) + "\n")
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mailbox", required=True)
    p.add_argument("--items", type=int, default=300)
    p.add_argument("--folders", type=int, default=30)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--later", help="also write the later snapshot here")
    p.add_argument("--changes", help="write the list of changes (keys) as JSON here")
    a = p.parse_args()
    header, fl, items = build(a.mailbox, a.items, a.folders)
    write(a.output, header, fl, items)
    if a.later:
        fl2, items2, changes = later_of(fl, items)
        write(a.later, header, fl2, items2)
        if a.changes:
            with open(a.changes, "w") as f:
                json.dump(changes, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
