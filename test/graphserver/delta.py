#!/usr/bin/python3
"""Delta rounds of the test Graph server, checked against the two snapshot files: the first round
lists every object once, tokens are bound to their folder, kind and query, and after the mailbox
advanced to the later snapshot the saved delta links return exactly what mkfixture.py changed
(created, updated, @removed), in both APIs.

    delta.py PORT BASE.jsonl LATER.jsonl CHANGES.json
"""

import json
import sys

import gclient as G

U = "/v1.0/users/alice@example.com"


def keys_of(objs):
    return [G.key_of_id(o["id"]) for o in objs if "@removed" not in o]


def main():
    port = int(sys.argv[1])
    _, folders, items = G.snapshot(sys.argv[2])
    _, folders2, items2 = G.snapshot(sys.argv[3])
    with open(sys.argv[4]) as f:
        changes = json.load(f)
    c = G.Client(port, "tok-app")
    mbx = c.get(U + "/settings/exchange").json["primaryMailboxId"]
    M = "/v1.0/admin/exchange/mailboxes/" + mbx
    by_role = {f["role"]: f for f in folders.values()}
    inbox_id = by_role["inbox"]["id"]
    proj = sorted((f for f in folders.values() if f["name"].startswith("Project ")), key=lambda f: f["name"])
    want_inbox = [it["key"] for it in items if it["folder_id"] == inbox_id and not it.get("associated")]

    # ---- round 1, both APIs, mail API with immutable ids too
    got, last, pages = G.follow(c, U + "/mailFolders/inbox/messages/delta")
    assert sorted(keys_of(got)) == sorted(want_inbox), "mail API inbox round 1"
    assert pages == -(-len(want_inbox) // 10), ("default page size 10", pages, len(want_inbox))
    inbox_link = last.json["@odata.deltaLink"]
    rest_ids = {G.key_of_id(o["id"]): o["id"] for o in got}
    got_imm, last, _ = G.follow(c, U + "/mailFolders/inbox/messages/delta",
                                {"Prefer": 'IdType="ImmutableId", odata.maxpagesize=1000'})
    assert sorted(keys_of(got_imm)) == sorted(want_inbox)
    assert all(o["id"].startswith("AAkALgAAAAAAHYQD") for o in got_imm)
    inbox_imm_link = last.json["@odata.deltaLink"]
    got_m, last, _ = G.follow(c, M + "/folders/inbox/items/delta", {"Prefer": "odata.maxpagesize=33"})
    assert sorted(keys_of(got_m)) == sorted(want_inbox), "mailbox API inbox round 1"
    mbx_inbox_link = last.json["@odata.deltaLink"]
    p1 = c.get(M + "/folders?$top=999").json  # just to see the API answers
    assert p1["value"]
    proj0_rest = G.follow(c, U + "/mailFolders/inbox/childFolders")[0]
    proj0 = [f for f in proj0_rest if G.key_of_id(f["id"]) == proj[0]["key"]]
    assert proj0, "Project 01 is a child of Inbox"
    p1_round, last, _ = G.follow(c, M + "/folders/%s/items/delta" % proj0[0]["id"])
    p1_link = last.json["@odata.deltaLink"]
    p1_imm_link = G.follow(c, U + "/mailFolders/%s/messages/delta" % proj0[0]["id"],
                           {"Prefer": 'IdType="ImmutableId"'})[1].json["@odata.deltaLink"]
    gone_folder = [f for f in G.follow(c, M + "/folders/delta")[0] if G.key_of_id(f["id"]) == proj[2]["key"]][0]
    gone_link = G.follow(c, M + "/folders/%s/items/delta" % gone_folder["id"])[1].json["@odata.deltaLink"]
    fr1, last, _ = G.follow(c, M + "/folders/delta", {"Prefer": "odata.maxpagesize=7"})
    assert sorted(keys_of(fr1)) == sorted(f["key"] for f in folders.values()), "every folder once"
    folders_link = last.json["@odata.deltaLink"]
    mf1, last, _ = G.follow(c, U + "/mailFolders/delta")
    mail_folders_link = last.json["@odata.deltaLink"]
    created_link = G.follow(c, U + "/mailFolders/inbox/messages/delta?changeType=created")[1].json["@odata.deltaLink"]
    # a round without changes: empty, with a new delta link
    r = c.get(inbox_link)
    assert r.status == 200 and r.json["value"] == [] and "@odata.deltaLink" in r.json
    print("round 1: %d inbox messages (mail and mailbox API, REST and immutable ids), %d folders" %
          (len(want_inbox), len(fr1)))

    # ---- tokens are opaque, checksummed and bound
    first = c.get(U + "/mailFolders/inbox/messages/delta", {"Prefer": "odata.maxpagesize=5"}).json
    nxt = first["@odata.nextLink"]
    tok = nxt.split("$skiptoken=")[1]
    damaged = tok[:10] + ("A" if tok[10] != "A" else "B") + tok[11:]

    def status(url, code=None):
        r = c.get(url)
        if code is not None:
            assert r.json["error"]["code"] == code, (url[:100], r.raw[:300])
        return r.status
    assert status(nxt.replace(tok, damaged), "ErrorInvalidSyncStateData") == 400, "damaged token"
    assert status(U + "/mailFolders/drafts/messages/delta?$skiptoken=" + tok, "ErrorInvalidSyncStateData") == 400
    assert status(U + "/mailFolders/inbox/messages/delta?$deltatoken=" + tok, "ErrorInvalidSyncStateData") == 400
    assert status(M + "/folders/inbox/items/delta?$skiptoken=" + tok, "ErrorInvalidSyncStateData") == 400
    assert status(nxt + "&$select=subject") == 400, "query options changed within a round"
    assert status(nxt + "&$skiptoken=x") == 400, "two tokens"
    assert status(nxt) == 200, "the link itself still works (tokens are positions)"
    print("tokens: damaged, foreign folder, foreign kind, wrong token type, changed options -> 400")

    # ---- $top caps the whole round; odata.maxpagesize is capped and applied
    top, last, pages = G.follow(c, U + "/mailFolders/inbox/messages/delta?$top=7", {"Prefer": "odata.maxpagesize=3"})
    assert len(top) == 7 and pages == 3 and "@odata.deltaLink" in last.json, (len(top), pages)
    r = c.get(U + "/mailFolders/inbox/messages/delta", {"Prefer": "odata.maxpagesize=50000"})
    assert r.header("preference-applied") == "odata.maxpagesize=1000" and len(r.json["value"]) == len(want_inbox)
    print("$top=7 on delta: 7 messages in 3 pages, then the delta link; maxpagesize capped at 1000")

    # ---- the mailbox changes
    r = c.get("/_graph/advance", method="POST", body=b"")
    assert r.status == 200 and r.json["advanced"] == {"alice@example.com": 1}, r.raw
    old_keys = {it["key"] for it in items}
    deleted, updated, created, moved = (set(changes[k]) for k in ("deleted", "updated", "created", "moved"))

    got, last, _ = G.follow(c, inbox_link, {"Prefer": "odata.maxpagesize=4"})
    removed = [o for o in got if "@removed" in o]
    assert all(o["@removed"] == {"reason": "deleted"} and o["@odata.type"] == "#microsoft.graph.message"
               for o in removed)
    assert {G.key_of_id(o["id"]) for o in removed} == deleted | moved, "removed: deleted and moved out"
    assert all(o["id"] == rest_ids[G.key_of_id(o["id"])] for o in removed), "removed ids are the ids the client has"
    present = {G.key_of_id(o["id"]): o for o in got if "@removed" not in o}
    assert set(present) == updated | created, (sorted(present), updated, created)
    for k in updated:
        assert k in old_keys and present[k]["lastModifiedDateTime"] == "2026-02-01T10:00:00Z"
    round2_link = last.json["@odata.deltaLink"]
    got_imm2 = G.follow(c, inbox_imm_link, {"Prefer": 'IdType="ImmutableId"'})[0]
    assert {G.key_of_id(o["id"]) for o in got_imm2 if "@removed" in o} == deleted | moved
    got_m2 = G.follow(c, mbx_inbox_link)[0]
    assert {G.key_of_id(o["id"]) for o in got_m2 if "@removed" in o} == deleted | moved
    assert {G.key_of_id(o["id"]) for o in got_m2 if "@removed" not in o} == updated | created
    print("round 2, inbox: %d removed (deleted or moved out), %d updated, %d created, in both APIs"
          % (len(removed), len(updated), len(created)))

    # the moved message: created in Project 01, with a new REST id and the same immutable id
    p1_2 = G.follow(c, p1_link)[0]
    assert keys_of(p1_2) == list(moved), p1_2
    (mk,) = moved
    assert p1_2[0]["id"] != rest_ids[mk], "a moved message gets a new REST id"
    imm2 = G.follow(c, p1_imm_link, {"Prefer": 'IdType="ImmutableId"'})[0]
    old_imm = [o["id"] for o in got_imm if G.key_of_id(o["id"]) == mk]
    assert [o["id"] for o in imm2] == old_imm, "the immutable id survives the move"
    print("moved message: new REST id in its new folder, same immutable id")

    # folders
    fr2 = G.follow(c, folders_link)[0]
    f_removed = {G.key_of_id(o["id"]) for o in fr2 if "@removed" in o}
    f_present = {G.key_of_id(o["id"]): o for o in fr2 if "@removed" not in o}
    keys1 = {f["key"] for f in folders.values()}
    keys2 = {f["key"] for f in folders2.values()}
    assert f_removed == keys1 - keys2 and proj[2]["key"] in f_removed, f_removed
    assert (keys2 - keys1) <= set(f_present), "created folders"
    renamed = f_present[proj[1]["key"]]
    assert renamed["displayName"].endswith("(renamed)"), renamed
    mf2 = G.follow(c, mail_folders_link)[0]
    assert {G.key_of_id(o["id"]) for o in mf2 if "@removed" in o} == keys1 - keys2
    print("folders: %d removed, %d created, renamed one updated (mailbox and mail API)"
          % (len(f_removed), len(keys2 - keys1)))

    # changeType=created returns only the new messages; a removed folder's link answers 404
    cr = G.follow(c, created_link)[0]
    assert set(keys_of(cr)) == created and not any("@removed" in o for o in cr), cr
    assert c.get(gone_link).status == 404
    # round 3: nothing changed since round 2
    r = c.get(round2_link)
    assert r.status == 200 and r.json["value"] == [], r.raw[:300]
    # the first round's links stay usable (generation 0 is held)
    again = G.follow(c, inbox_link, {"Prefer": "odata.maxpagesize=100"})[0]
    assert len(again) == len(got)
    with open(sys.argv[4] + ".round2", "w") as f:
        f.write(round2_link)
    print("changeType=created, removed folder (404), empty third round, first-round links reusable: ok")


if __name__ == "__main__":
    main()
