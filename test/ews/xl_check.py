#!/usr/bin/python3
"""An independent client (Debian's exchangelib) reads the test server and compares what it sees
with the mailbox file: same folders (path, class, counts), same item count per folder, and the
source key (0x65E0) of every item equal to the file's key.

    xl_check.py URL MAILBOX.jsonl USER PASSWORD [--impersonate] [--no-verify]
Exit 0 when everything matches; prints a summary line.
"""

import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")

from exchangelib import (BASIC, DELEGATE, IMPERSONATION, Account, Build, Configuration,  # noqa: E402
                         Credentials, ExtendedProperty, Version)
from exchangelib.items import (CalendarItem, Contact, Message, MeetingRequest, PostItem,  # noqa: E402
                               Task)
from exchangelib.protocol import BaseProtocol, NoVerifyHTTPAdapter  # noqa: E402


class SourceKey(ExtendedProperty):
    property_tag = 0x65E0
    property_type = "Binary"


ITEM_CLASSES = (Message, CalendarItem, Contact, Task, PostItem, MeetingRequest)


def load(path):
    folders, items = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "folder":
                folders[o["id"]] = o
            elif o["type"] == "item":
                items[o["id"]] = o
            elif o["type"] == "snapshot":
                header = o
    return header, folders, items


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    url, path, user, password = args[:4]
    if "--no-verify" in sys.argv:
        BaseProtocol.HTTP_ADAPTER_CLS = NoVerifyHTTPAdapter
    if "--debug" in sys.argv:
        logging.basicConfig(level=logging.DEBUG)
    header, ffile, ifile = load(path)
    for cls in ITEM_CLASSES:
        cls.register("source_key", SourceKey)
    try:
        config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                               version=Version(build=Build(15, 1, 2507, 6)), max_connections=2)
        acct = Account(primary_smtp_address=header["mailbox"], config=config, autodiscover=False,
                       access_type=IMPERSONATION if "--impersonate" in sys.argv else DELEGATE)
        # Folder paths as exchangelib sees them, from the mailbox root.
        root = acct.root
        seen = {}
        for f in root.walk():
            parts, p = [], f
            while p is not None and p.id != root.id:
                parts.append(p.name.replace("\\", "\\\\").replace("/", "\\/"))
                p = p.parent
            seen["/" + "/".join(reversed(parts))] = f
        # The file's paths start at its top folder, which may have a name ("/Root - Mailbox/…").
        top = next(o for o in ffile.values() if not o.get("parent_id"))
        prefix = top["path"].rstrip("/")
        expect_paths = {o["path"][len(prefix):]: o for o in ffile.values() if o.get("parent_id")}
        errors = []
        if set(seen) != set(expect_paths):
            errors.append("folder paths differ: only server %s, only file %s" % (
                sorted(set(seen) - set(expect_paths))[:5], sorted(set(expect_paths) - set(seen))[:5]))
        keys_by_folder = {}
        for o in ifile.values():
            if not o.get("associated"):
                keys_by_folder.setdefault(o["folder_id"], set()).add(o["key"])
        nitems = 0
        for p, o in sorted(expect_paths.items()):
            f = seen.get(p)
            if f is None:
                continue
            want = keys_by_folder.get(o["id"], set())
            if o.get("class") and f.folder_class != o["class"]:
                errors.append("%s: class %r != %r" % (p, f.folder_class, o["class"]))
            if f.total_count != o.get("content_count", len(want)):
                errors.append("%s: TotalCount %r != %r" % (p, f.total_count, o.get("content_count")))
            got = []
            for it in f.all().only("source_key", "subject"):
                if isinstance(it, Exception):
                    errors.append("%s: %r" % (p, it))
                    continue
                got.append(it.source_key.hex() if it.source_key else None)
            if len(got) != len(want):
                errors.append("%s: %d items over EWS, %d in the file" % (p, len(got), len(want)))
            if set(got) != want:
                errors.append("%s: source keys differ (%d missing)" % (p, len(want - set(got))))
            nitems += len(got)
        # GetItem on a few ids, with the extended property.
        inbox = acct.inbox
        ids = [(i.id, i.changekey) for i in inbox.all().only("id", "changekey")[:5]]
        fetched = list(acct.fetch(ids=ids, only_fields=["subject", "source_key", "datetime_received", "is_read"]))
        for it in fetched:
            if isinstance(it, Exception) or not it.source_key:
                errors.append("GetItem: %r" % (it,))
        # SyncFolderItems through exchangelib's own sync support, pages of 7.
        synced = 0
        for change_type, item in inbox.sync_items(max_changes_returned=7, only_fields=["subject"]):
            synced += 1
        inbox_keys = keys_by_folder.get(expect_paths[inbox_path(ffile)]["id"], set())
        if synced != len(inbox_keys):
            errors.append("sync_items returned %d changes, %d in the file" % (synced, len(inbox_keys)))
        hier = sum(1 for _ in acct.root.sync_hierarchy())
        if hier != len(expect_paths):
            errors.append("sync_hierarchy returned %d folders, %d in the file" % (hier, len(expect_paths)))
    except Exception as e:  # any protocol failure is a test failure with a clear message
        print("exchangelib failed: %s: %s" % (type(e).__name__, e))
        return 1
    for e in errors[:20]:
        print("MISMATCH", e)
    print("exchangelib: %d folders, %d items with source keys, %d fetched by GetItem, %d via sync_items, %d errors"
          % (len(seen), nitems, len(fetched), synced, len(errors)))
    return 1 if errors else 0


def inbox_path(ffile):
    top = next(o for o in ffile.values() if not o.get("parent_id"))
    return next(o["path"] for o in ffile.values() if o.get("role") == "inbox")[len(top["path"].rstrip("/")):]


if __name__ == "__main__":
    sys.exit(main())
