#!/usr/bin/python3
"""Writes the two snapshots (server.jsonl, cache.jsonl) of a named scenario for the report tests.

Usage: gen.py SCENARIO OUTDIR
The server side looks like an EWS capture, the cache side like an OST capture (replid-0 folders
with a gc only, OST paths). Scenarios: insync, mixed, damaged, incomplete, widespread; for the text
report: words (a flag, an importance and a folder change), one (a single finding), scale (321
folders in sync), deep (scale, plus two deep folders that differ only in their last name); for the
HTML report: keyless (items without keys on both sides, paired by the heuristic).
"""
import json
import sys

GUID = "6aa62d7a1b3ac5449d53431fbea29402"
REPLID0 = {"root": 0x05, "ipm": 0x0a, "inbox": 0x0c, "sent": 0x0e, "deleted": 0x0b}


def key(gc):
    return GUID + "%012x" % gc


class Side:
    def __init__(self, cache):
        self.cache = cache
        self.folders, self.items, self.errors = [], [], []
        self.integrity = None
        top = "/Root - Mailbox/IPM_SUBTREE" if cache else "/Top of Information Store"
        self.top = top
        if cache:
            self.folder("file", None, "/", None, "fileroot", None, None)
        self.folder("root", "file" if cache else None, "/Root - Mailbox" if cache else "/",
                    "Root - Mailbox" if cache else "", "root", None, 0x05)
        self.folder("ipm", "root", top, "IPM_SUBTREE" if cache else "Top of Information Store",
                    "msgfolderroot", None, 0x0a)
        for fid, name, role, cls, gc in [
                ("inbox", "Inbox", "inbox", "IPF.Note", 0x0c), ("sent", "Sent Items", "sentitems", "IPF.Note", 0x0e),
                ("deleted", "Deleted Items", "deleteditems", "IPF.Note", 0x0b),
                ("cal", "Calendar", "calendar", "IPF.Appointment", 0x1d),
                ("con", "Contacts", "contacts", "IPF.Contact", 0x1e),
                ("sync", "Sync Issues", "syncissues", "IPF.Note", 0x1982)]:
            self.folder(fid, "ipm", top + "/" + name, name, role, cls, gc)
        self.folder("proj", "inbox", top + "/Inbox/Projects", "Projects", "ipm", "IPF.Note", 0x101)
        self.folder("team", "inbox", top + "/Inbox/Team", "Team", "ipm", "IPF.Note", 0x102)
        self.folder("finder", "root", ("/Root - Mailbox" if cache else "") + "/Finder", "Finder", "searchfolders",
                    None, 0x07)

    def folder(self, fid, parent, path, name, role, cls, gc):
        f = {"type": "folder", "id": fid, "path": path, "role": role}
        if parent:
            f["parent_id"] = parent
        if name is not None:
            f["name"] = name
        if cls:
            f["class"] = cls
        if gc is None:
            f["key_origin"] = "none"
        elif self.cache and fid in REPLID0:
            f.update(gc="%012x" % gc, replid=0, key_origin="gc_only")
        else:
            f.update(key=key(gc), key_origin="replica" if self.cache else "source_key")
        self.folders.append(f)
        return f

    def item(self, folder, gc, subject, date, cls="IPM.Note", read=True, **extra):
        it = {"type": "item", "id": ("nid:%d" if self.cache else "AAMkAD%x") % gc, "folder_id": folder,
              "key": key(gc), "key_origin": "replica" if self.cache else "source_key", "class": cls,
              "subject": subject, "message_id": "<%x@mail.example.com>" % gc, "received": date,
              "read": read, "msg_flags": 1 if read else 0, "flag_status": 0, "importance": 1, "size": 1000 + gc % 977}
        it.update(extra)
        self.items.append(it)
        return it

    def drop(self, gc):
        self.items = [i for i in self.items if i["key"] != key(gc)]

    def get(self, gc):
        return next(i for i in self.items if i["key"] == key(gc))

    def write(self, path):
        with open(path, "w") as out:
            head = {"type": "snapshot", "format": "ostrecon-snapshot", "version": 1,
                    "source": "ost" if self.cache else "ews", "mailbox": "alice.secret@example.com",
                    "captured": "2026-11-01T00:00:00Z", "tool": "test"}
            if self.cache:
                head.update(file="/cases/alice.ost", file_size=4080640, file_format="ost-unicode-4k")
            else:
                head.update(server="https://mail.example.com/EWS/Exchange.asmx", server_version="15.2")
            lines = [head] + self.folders + self.items + self.errors
            if self.integrity:
                lines.append(dict(type="integrity", **self.integrity))
            lines.append({"type": "end", "folders": len(self.folders), "items": len(self.items),
                          "errors": len(self.errors)})
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")


def day(n):
    """A date n days before the capture (2026-11-01)."""
    import datetime
    d = datetime.datetime(2026, 11, 1) - datetime.timedelta(days=n)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def base():
    sides = [Side(False), Side(True)]
    for s in sides:
        for i in range(12):
            s.item("inbox", 0x1000 + i, "Inbox message %d" % i, day(i))
        for i in range(5):
            s.item("sent", 0x2000 + i, "Sent message %d" % i, day(i))
        for i in range(4):
            s.item("proj", 0x3000 + i, "Project note %d" % i, day(i + 3))
        for i in range(4):
            s.item("team", 0x3100 + i, "Team note %d" % i, day(i + 3))
        for i in range(3):
            s.item("deleted", 0x2100 + i, "Deleted message %d" % i, day(i + 1))
        for i in range(2):
            s.item("cal", 0x4000 + i, "Meeting %d" % i, day(i * 3), cls="IPM.Appointment")
        s.item("con", 0x5000, "Contact card", day(700), cls="IPM.Contact")
    return sides


def pcl(ctr):
    return "14" + GUID + "%08x" % ctr


def scenario(name):
    srv, cache = base()
    if name == "insync":
        pass
    elif name == "mixed":
        cache.drop(0x1003)                                    # missing in the cache
        srv.drop(0x1004)                                      # only in the cache: export first
        c = cache.get(0x1005)                                 # read offline, not uploaded
        c["read"], c["msg_flags"], c["pcl"] = False, 0, pcl(12)
        srv.get(0x1005)["pcl"] = pcl(11)
        cache.get(0x3000)["folder_id"] = "inbox"              # moved in the cache only
        srv.get(0x1006)["subject"] = "Renamed on the server"  # subject changed, direction unknown
        for i in range(6):                                    # older than the window: expected
            srv.item("inbox", 0x6000 + i, "Old newsletter %d" % i, day(200 + 40 * i))
        srv.item("cal", 0x6100, "Old board meeting", day(900), cls="IPM.Appointment")  # calendar: real
        for i in range(3):                                    # sync logs stay local: expected
            cache.item("sync", 0x7000 + i, "Synchronization log %d" % i, day(i))
        cache.folder("rem", "finder", "/Root - Mailbox/Finder/Reminders", "Reminders", "reminders",
                     "Outlook.Reminder", 0x19852982)
        srv.folder("recov", "root", "/Recoverable Items", "Recoverable Items", "recoverableitemsroot", None, 0x8000)
        srv.item("recov", 0x8100, "Purged long ago", day(30))
    elif name == "damaged":
        cache.integrity = {"corrupted": True, "orphan_items": 2, "unreadable_items": 1, "unreadable_folders": 0,
                           "count_mismatches": [{"folder_id": "inbox", "path": cache.top + "/Inbox",
                                                 "what": "content_count", "stored": 13, "found": 12}]}
        cache.drop(0x1002)
        cache.errors.append({"type": "error", "scope": "item", "folder_id": "inbox", "path": cache.top + "/Inbox",
                             "code": "unreadable", "message": "message 3 of 13: cannot read the item"})
    elif name == "incomplete":
        for i in range(4):
            srv.drop(0x3100 + i)
        srv.errors.append({"type": "error", "scope": "folder", "id": "team", "path": srv.top + "/Inbox/Team",
                           "code": "throttled", "message": "FindItem: ErrorServerBusy, retries exhausted"})
    elif name == "words":
        for s in (srv, cache):
            s.folder("fin", "inbox", s.top + "/Inbox/Finance", "Finance", "ipm", "IPF.Note", 0x103)
        srv.get(0x1007)["flag_status"], cache.get(0x1007)["flag_status"] = 0, 2
        srv.get(0x1008)["importance"], cache.get(0x1008)["importance"] = 2, 1
        srv.get(0x3100)["folder_id"] = "fin"                  # in Inbox/Finance on the server, Inbox in the cache
        cache.get(0x3100)["folder_id"] = "inbox"
    elif name == "one":
        cache.drop(0x1003)
    elif name in ("scale", "deep"):
        for s in (srv, cache):
            parent, path = "inbox", s.top + "/Inbox"
            for i in range(307):
                fid = "gen%d" % i
                s.folder(fid, "inbox", s.top + "/Inbox/Folder %03d" % i, "Folder %03d" % i, "ipm", "IPF.Note",
                         0x20000 + i)
                s.item(fid, 0x30000 + i, "Filed message %d" % i, day(i % 30))
            if name == "deep":
                chain = ["Clients", "Contoso Ltd", "Projects 2024", "Project 44"]
                for k, nm in enumerate(chain):
                    fid = "deep%d" % k
                    path += "/" + nm
                    s.folder(fid, parent, path, nm, "ipm", "IPF.Note", 0x40000 + k)
                    parent = fid
                for k, nm in enumerate(["Q3", "Q4"]):
                    s.folder("q%d" % k, parent, path + "/" + nm, nm, "ipm", "IPF.Note", 0x40010 + k)
                    s.item("q%d" % k, 0x41000 + k, "Quarter report %d" % k, day(2))
        if name == "deep":
            cache.drop(0x41000)
            cache.drop(0x41001)
    elif name == "keyless":
        # a server that gives neither source keys nor ids of a known layout (the Inbox and Sent
        # Items), and a cache item that lost its key (Inbox/Team): paired by the heuristic
        for it in srv.items:
            if it["folder_id"] in ("inbox", "sent"):
                del it["key"]
                it["key_origin"] = "none"
        c = cache.get(0x3100)
        del c["key"]
        c["key_origin"] = "none"
    elif name == "widespread":
        for gc in (0x1000, 0x2000, 0x2100, 0x3000, 0x3100):
            cache.drop(gc)
    else:
        sys.exit("unknown scenario " + name)
    return srv, cache


if __name__ == "__main__":
    srv, cache = scenario(sys.argv[1])
    srv.write(sys.argv[2] + "/server.jsonl")
    cache.write(sys.argv[2] + "/cache.jsonl")
