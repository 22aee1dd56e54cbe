#!/usr/bin/python3
"""Writes a deterministic mailbox in the snapshot format (docs/SNAPSHOT.md, "source":"fixture"):
the folder tree of a real Exchange 2016 mailbox, extra user folders up to --folders, and --items
messages spread over the mail folders. The same options always give the same bytes.

    genmailbox.py --mailbox user@example.com --folders 50 --items 100000 -o big.jsonl
"""

import argparse
import hashlib
import json
import random
import sys
import uuid

# (role, name, class, parent role); the parent of root is None.
STANDARD = [
    ("root", "", None, None),
    ("msgfolderroot", "Top of Information Store", None, "root"),
    ("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    ("drafts", "Drafts", "IPF.Note", "msgfolderroot"),
    ("sentitems", "Sent Items", "IPF.Note", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
    ("outbox", "Outbox", "IPF.Note", "msgfolderroot"),
    ("junkemail", "Junk Email", "IPF.Note", "msgfolderroot"),
    ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    ("contacts", "Contacts", "IPF.Contact", "msgfolderroot"),
    ("tasks", "Tasks", "IPF.Task", "msgfolderroot"),
    ("notes", "Notes", "IPF.StickyNote", "msgfolderroot"),
    ("journal", "Journal", "IPF.Journal", "msgfolderroot"),
    ("conversationhistory", "Conversation History", "IPF.Note", "msgfolderroot"),
    ("syncissues", "Sync Issues", "IPF.Note", "msgfolderroot"),
    ("conflicts", "Conflicts", "IPF.Note", "syncissues"),
    ("localfailures", "Local Failures", "IPF.Note", "syncissues"),
    ("serverfailures", "Server Failures", "IPF.Note", "syncissues"),
    ("searchfolders", "Finder", None, "root"),
    ("recoverableitemsroot", "Recoverable Items", None, "root"),
    ("recoverableitemsdeletions", "Deletions", None, "recoverableitemsroot"),
    ("recoverableitemsversions", "Versions", None, "recoverableitemsroot"),
    ("recoverableitemspurges", "Purges", None, "recoverableitemsroot"),
]
MAIL_ROLES = ("inbox", "sentitems", "deleteditems", "drafts", "junkemail", "ipm")
WORDS = ("quarterly report budget meeting follow-up invoice project plan review draft update "
         "schedule lunch offsite roadmap release notes question answer contract travel").split()


def esc_path(name):
    return name.replace("\\", "\\\\").replace("/", "\\/")


def iso(ts):
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(address, nfolders, nitems, seed, assoc, out):
    rnd = random.Random("%s|%d" % (address, seed))
    guid = uuid.uuid5(uuid.NAMESPACE_URL, "replica:" + address.lower()).bytes
    mailbox_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "mailbox:" + address.lower()))
    folders = []            # dicts in output order
    by_role = {}
    gc = [0x100]

    def add_folder(role, name, cls, parent):
        gc[0] += 1
        fid = "f%d" % (len(folders) + 1)
        path = "/" if parent is None else (parent["path"].rstrip("/") + "/" + esc_path(name))
        f = {"type": "folder", "id": fid, "key": (guid + gc[0].to_bytes(6, "big")).hex(), "name": name,
             "path": path, "role": role}
        if parent is not None:
            f["parent_id"] = parent["id"]
        if cls:
            f["class"] = cls
        f["change_key"] = (guid + (0x800000 + gc[0]).to_bytes(6, "big")).hex()
        f["_items"] = 0
        f["_unread"] = 0
        folders.append(f)
        return f

    for role, name, cls, parent in STANDARD:
        by_role[role] = add_folder(role, name, cls, by_role.get(parent))
    extra = max(0, nfolders - len(folders))
    mail_parents = [by_role["inbox"], by_role["msgfolderroot"], by_role["inbox"]]
    for i in range(extra):
        parent = mail_parents[i % len(mail_parents)] if i < 6 else rnd.choice(
            [f for f in folders if f["role"] == "ipm"] + [by_role["inbox"]])
        add_folder("ipm", "Project %02d" % (i + 1), "IPF.Note", parent)

    mail = [f for f in folders if f["role"] in MAIL_ROLES]
    weights = [8 if f["role"] == "inbox" else 3 if f["role"] == "sentitems" else 1 for f in mail]
    # the whole item list is decided first so folder counts go in the folder lines
    picks = rnd.choices(range(len(mail)), weights=weights, k=nitems)
    base = 1767225600  # 2026-01-01T00:00:00Z
    lines = []
    for n in range(nitems):
        f = mail[picks[n]]
        gcv = 0x100000 + n
        received = base - rnd.randrange(0, 2 * 365 * 86400)
        read = rnd.random() < 0.8
        flag = 2 if rnd.random() < 0.05 else 0
        subj = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 6))).capitalize()
        if n % 97 == 0:
            subj += " <R&D> \"quoted\" caf\u00e9 \u2713"
        it = {"type": "item", "id": "i%d" % (n + 1), "folder_id": f["id"],
              "key": (guid + gcv.to_bytes(6, "big")).hex(), "class": "IPM.Note", "subject": subj,
              "message_id": "<%s@mail.example.com>" % hashlib.sha1(b"%d" % gcv).hexdigest()[:20],
              "received": iso(received), "sent": iso(received - rnd.randint(1, 600)),
              "created": iso(received), "modified": iso(received + rnd.randint(0, 86400)),
              "read": read, "msg_flags": (1 if read else 0), "flag_status": flag,
              "importance": rnd.choice((1, 1, 1, 1, 2, 0)), "size": rnd.randint(2000, 200000),
              "change_key": (guid + (0x8000000 + gcv).to_bytes(6, "big")).hex()}
        it["pcl"] = "16" + it["change_key"]
        f["_items"] += 1
        if not read:
            f["_unread"] += 1
        lines.append(it)
    for a in range(assoc):
        f = by_role["inbox"] if a % 2 == 0 else by_role["calendar"]
        gcv = 0x80000000 + a
        lines.append({"type": "item", "id": "a%d" % (a + 1), "folder_id": f["id"],
                      "key": (guid + gcv.to_bytes(6, "big")).hex(),
                      "class": "IPM.Configuration.View%d" % a, "subject": "", "associated": True,
                      "modified": iso(base), "created": iso(base), "read": True, "msg_flags": 1})

    out.write(json.dumps({"type": "snapshot", "format": "ostrecon-snapshot", "version": 1, "source": "fixture",
                          "mailbox": address, "mailbox_guid": mailbox_guid, "captured": iso(base),
                          "tool": "genmailbox", "options": {"folders": nfolders, "items": nitems,
                                                            "seed": seed, "assoc": assoc}},
                         ensure_ascii=False) + "\n")
    for f in folders:
        f["content_count"] = f.pop("_items")
        f["unread_count"] = f.pop("_unread")
        out.write(json.dumps(f, ensure_ascii=False) + "\n")
    for it in lines:
        out.write(json.dumps(it, ensure_ascii=False) + "\n")
    out.write(json.dumps({"type": "end", "folders": len(folders), "items": len(lines), "errors": 0}) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mailbox", default="user@example.com", help="SMTP address")
    p.add_argument("--folders", type=int, default=30, help="total folders (at least the %d standard ones)" % len(STANDARD))
    p.add_argument("--items", type=int, default=200, help="normal messages")
    p.add_argument("--assoc", type=int, default=0, help="associated (FAI) messages, in Inbox and Calendar")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    a = p.parse_args(argv)
    if a.items < 0 or a.folders < 0 or a.assoc < 0 or a.items > 10_000_000:
        p.error("counts must be between 0 and 10,000,000")
    if a.output == "-":
        generate(a.mailbox, a.folders, a.items, a.seed, a.assoc, sys.stdout)
    else:
        tmp = a.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            generate(a.mailbox, a.folders, a.items, a.seed, a.assoc, f)
        import os
        os.replace(tmp, a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
