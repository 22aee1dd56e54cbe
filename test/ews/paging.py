#!/usr/bin/python3
"""Pulls a whole mailbox from the test server twice, with SyncFolderItems and with FindItem paging,
and checks that every item of the mailbox file arrives exactly once each way. Prints throughput.
    paging.py PORT MAILBOX.jsonl USER PASSWORD [SYNC_PAGE [FIND_PAGE]]"""
import base64
import json
import sys
import time

import ewsclient as C
from ewsclient import M, T

port, path, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sync_page = int(sys.argv[5]) if len(sys.argv) > 5 else 512
find_page = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
want = {}
with open(path, encoding="utf-8") as f:
    for line in f:
        o = json.loads(line)
        if o["type"] == "item" and not o.get("associated"):
            want[o["key"]] = o["folder_id"]
c = C.Client(port, user, pw, gzip_ok=True)

st, root, _, _ = c.call(C.find_folder("root", "Deep", "IdOnly", ["folder:TotalCount"], [("0x65E0", "Binary")],
                                      0, 1000))
rf = C.messages(root)[0].find(M + "RootFolder")
assert rf.get("IncludesLastItemInRange") == "true"
folders = [(f.find(T + "FolderId").get("Id"), int(f.findtext(T + "TotalCount"))) for f in rf.find(T + "Folders")]


def pull(kind):
    seen, requests, wire, t0 = [], 0, 0, time.monotonic()
    biggest = 0
    for fid, total in folders:
        state, offset = None, 0
        for _ in range(100000):        # bounded: far more pages than any test mailbox needs
            if kind == "sync":
                body = C.sync_items(("id", fid), sync_page, state, "IdOnly",
                                    ["item:Subject", "item:DateTimeReceived", "message:IsRead"],
                                    [("0x65E0", "Binary"), ("0x65E2", "Binary"), ("0x0E07", "Integer")])
            else:
                body = C.find_item(("id", fid), "Shallow", "IdOnly",
                                   ["item:Subject", "item:DateTimeReceived", "message:IsRead"],
                                   [("0x65E0", "Binary")], offset, find_page)
            st, root, data, _ = c.call(body)
            requests += 1
            wire += len(data)
            biggest = max(biggest, len(data))
            assert st == 200, (st, data[:300])
            m = C.messages(root)[0]
            assert C.code(m) == "NoError", data[:300]
            if kind == "sync":
                for ch in m.find(M + "Changes"):
                    ep = ch[0].find(T + "ExtendedProperty/" + T + "Value")
                    seen.append(base64.b64decode(ep.text).hex())
                state = m.findtext(M + "SyncState")
                if m.findtext(M + "IncludesLastItemInRange") == "true":
                    break
            else:
                rf = m.find(M + "RootFolder")
                assert int(rf.get("TotalItemsInView")) == total
                for it in rf.find(T + "Items"):
                    seen.append(base64.b64decode(it.find(T + "ExtendedProperty/" + T + "Value").text).hex())
                if rf.get("IncludesLastItemInRange") == "true":
                    break
                offset = int(rf.get("IndexedPagingOffset"))
        else:
            raise SystemExit("%s: paging did not end in folder %s" % (kind, fid))
    secs = time.monotonic() - t0
    dup = len(seen) - len(set(seen))
    assert dup == 0, "%s: %d items returned twice" % (kind, dup)
    assert set(seen) == set(want), "%s: %d missing, %d unexpected" % (
        kind, len(set(want) - set(seen)), len(set(seen) - set(want)))
    print("%s: %d items in %d folders exactly once, %d requests, %.1f s, %.0f items/s, "
          "largest response %.0f KiB (uncompressed), %.0f bytes/item" % (
              kind, len(seen), len(folders), requests, secs, len(seen) / secs, biggest / 1024, wire / max(1, len(seen))))


pull("sync")
pull("find")
