#!/usr/bin/python3
"""Paging over a big generated mailbox: every folder and every item exactly once, by delta rounds
of both APIs at the page size given, and by $skip paging of the lists at $top given.

    paging.py PORT SNAPSHOT.jsonl DELTA_PAGE LIST_TOP
"""

import collections
import sys
import time

import gclient as G


def main():
    port, path, dpage, ltop = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    header, folders, items = G.snapshot(path)
    addr = header["mailbox"]
    U = "/v1.0/users/" + addr
    want = collections.defaultdict(list)
    for it in items:
        if not it.get("associated"):
            want[folders[it["folder_id"]]["key"]].append(it["key"])
    c = G.Client(port, "tok-app")
    mbx = c.get(U + "/settings/exchange").json["primaryMailboxId"]
    M = "/v1.0/admin/exchange/mailboxes/" + mbx
    prefer = {"Prefer": "odata.maxpagesize=%d" % dpage}
    t0 = time.monotonic()
    fl = G.follow(c, M + "/folders/delta", prefer)[0]
    assert sorted(G.key_of_id(f["id"]) for f in fl) == sorted(f["key"] for f in folders.values()), "folders once"
    n = 0
    for f in fl:
        got = G.follow(c, M + "/folders/%s/items/delta" % f["id"], prefer)[0]
        keys = [G.key_of_id(o["id"]) for o in got]
        assert len(keys) == len(set(keys)), "an item twice in %s" % f["displayName"]
        assert sorted(keys) == sorted(want[G.key_of_id(f["id"])]), "items of %s" % f["displayName"]
        assert f["totalItemCount"] == len(keys), (f["displayName"], f["totalItemCount"], len(keys))
        n += len(keys)
    assert n == sum(len(v) for v in want.values())
    t1 = time.monotonic()
    # the mail API: mail folders by delta, messages by delta
    mf = G.follow(c, U + "/mailFolders/delta", prefer)[0]
    m = 0
    for f in mf:
        got = G.follow(c, U + "/mailFolders/%s/messages/delta" % f["id"], prefer)[0]
        keys = [G.key_of_id(o["id"]) for o in got]
        assert len(keys) == len(set(keys)) and sorted(keys) == sorted(want[G.key_of_id(f["id"])]), f["displayName"]
        m += len(keys)
    t2 = time.monotonic()
    # lists: $skip paging of the biggest folder
    big = max(fl, key=lambda f: f["totalItemCount"])
    got, _, pages = G.follow(c, M + "/folders/%s/items?$top=%d&$select=type" % (big["id"], ltop))
    keys = [G.key_of_id(o["id"]) for o in got]
    assert len(keys) == len(set(keys)) == big["totalItemCount"] and pages == -(-len(keys) // ltop)
    got = G.follow(c, U + "/mailFolders/%s/messages?$top=%d&$select=subject" % (big["id"], ltop))[0]
    assert sorted(G.key_of_id(o["id"]) for o in got) == sorted(keys)
    print("page %d: mailbox API %d folders, %d items once (%.1f s); mail API %d folders, %d messages once "
          "(%.1f s); lists of %d at $top=%d in %d pages; %d requests"
          % (dpage, len(fl), n, t1 - t0, len(mf), m, t2 - t1, len(keys), ltop, pages, c.requests))


if __name__ == "__main__":
    main()
