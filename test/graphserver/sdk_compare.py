#!/usr/bin/python3
"""Compares what sdk_read.js read with Microsoft's JavaScript SDK against the snapshot file the
server served: the same folders, the same item ids (by the source key each id carries) and
counts per folder.

    sdk_compare.py SNAPSHOT.jsonl SDK_OUTPUT.json
"""

import collections
import json
import sys

import gclient as G


def mail_class(cls):
    c = (cls or "").lower()
    return c in ("", "ipf") or c.startswith("ipf.note") or c.startswith("ipf.imap")


def main():
    _, folders, items = G.snapshot(sys.argv[1])
    with open(sys.argv[2]) as f:
        got = json.load(f)
    by_key = {f["key"]: f for f in folders.values()}
    want = collections.defaultdict(list)
    classes = collections.defaultdict(list)
    for it in items:
        if not it.get("associated"):
            k = folders[it["folder_id"]]["key"]
            want[k].append(it["key"])
            classes[k].append(it.get("class") or "IPM.Note")
    root = [f for f in folders.values() if f["role"] == "msgfolderroot"][0]

    def in_ipm(f):
        seen = 0
        while f.get("parent_id") and seen < 100:
            if f["parent_id"] == root["id"]:
                return True
            f = folders[f["parent_id"]]
            seen += 1
        return False

    assert got["folderDeltaLink"], "the folder round ended with a delta link"
    seen_keys = []
    total = 0
    for f in got["folders"]:
        k = G.key_of_id(f["id"])
        seen_keys.append(k)
        sf = by_key[k]
        assert f["displayName"] == sf["name"], (f["displayName"], sf["name"])
        keys = [G.key_of_id(i) for i in f["items"]]
        assert len(keys) == len(set(keys)), "an item twice in %s" % sf["path"]
        assert sorted(keys) == sorted(want[k]), "items of %s: %d vs %d" % (sf["path"], len(keys), len(want[k]))
        assert f["totalItemCount"] == len(keys), sf["path"]
        assert f["deltaLink"], "items round of %s ended with a delta link" % sf["path"]
        if got["api"] == "mailbox":
            assert f["type"] == sf.get("class"), (sf["path"], f["type"], sf.get("class"))
            by_item = dict(zip(keys, f["classes"]))
            want_cls = dict(zip(want[k], classes[k]))
            assert by_item == want_cls, "message classes of %s" % sf["path"]
        total += len(keys)
    assert len(seen_keys) == len(set(seen_keys)), "a folder twice"
    if got["api"] == "mailbox":
        assert set(seen_keys) == set(by_key), "every folder of the mailbox"
        what = "mailbox API: %d folders (every one), %d items" % (len(seen_keys), total)
    else:
        expect = {f["key"] for f in folders.values() if in_ipm(f) and mail_class(f.get("class"))}
        assert set(seen_keys) == expect, (set(seen_keys) ^ expect)
        cal_want = {f["key"]: f for f in folders.values()
                    if in_ipm(f) and (f.get("class") or "").startswith("IPF.Appointment")}
        assert {G.key_of_id(c["id"]) for c in got["calendars"]} == set(cal_want)
        for c in got["calendars"]:
            k = G.key_of_id(c["id"])
            assert sorted(G.key_of_id(i) for i in c["items"]) == sorted(want[k]), "events of %s" % c["name"]
        ct_want = {f["key"] for f in folders.values()
                   if in_ipm(f) and (f.get("class") or "").startswith("IPF.Contact")}
        assert {G.key_of_id(c["id"]) for c in got["contactFolders"]} == ct_want
        contacts = 0
        for c in got["contactFolders"]:
            k = G.key_of_id(c["id"])
            only = [it["key"] for it in items if folders[it["folder_id"]]["key"] == k
                    and (it.get("class") or "").startswith("IPM.Contact")]
            assert sorted(G.key_of_id(i) for i in c["items"]) == sorted(only), c["displayName"]
            contacts += len(only)
        what = ("mail API: %d mail folders, %d messages; %d calendars, %d events; %d contact folders, %d contacts"
                % (len(seen_keys), total, len(got["calendars"]), sum(len(c["items"]) for c in got["calendars"]),
                   len(got["contactFolders"]), contacts))
    assert got["errorCode"] == "RequestBroker--ParseUri" and got["errorStatus"] == 400, got.get("errorCode")
    print("%s, as the snapshot holds (token: %s; SDK error for a bad $select: %s)"
          % (what, got["via"], got["errorCode"]))


if __name__ == "__main__":
    main()
