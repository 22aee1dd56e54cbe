#!/usr/bin/python3
"""A representative session against the test Graph server: every endpoint, paging, $select,
$expand of extended properties, immutable ids, delta rounds before and after POST
/_graph/advance (with @removed entries), and the error answers. Run against a server started with
--dump-dir, then csdl_check.py --dump checks every payload.

    session.py PORT   (mailboxes alice@example.com with an --advance-to snapshot, bob@example.com;
                       tokens of test/graphserver/data/tokens.json)
"""

import sys

import gclient as G

EXT = G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0' or id eq 'Binary 0x65E2' or "
          "id eq 'Integer 0x0E07' or id eq 'String 0x001A' or id eq 'SystemTime 0x0E06' or id eq 'Integer 0x1090')")
FEXT = G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0' or id eq 'String 0x3613' or "
           "id eq 'Integer 0x3602')")


def main():
    port = int(sys.argv[1])
    c = G.Client(port, "tok-app")
    U = "/v1.0/users/alice@example.com"
    seen = {"requests": 0}

    def ok(url, headers=None, status=200, client=None):
        r = (client or c).get(url, headers)
        seen["requests"] += 1
        if r.status != status:
            raise AssertionError("%s: HTTP %d, want %d: %s" % (url[:160], r.status, status, r.raw[:300]))
        return r

    mbx = ok(U + "/settings/exchange").json["primaryMailboxId"]
    M = "/v1.0/admin/exchange/mailboxes/" + mbx
    ok("/v1.0/users/%s/settings/exchange" % ok(U + "/settings/exchange").json["id"])

    # ---- mail API: folders
    top = G.follow(c, U + "/mailFolders?$top=3")[0]
    hidden = G.follow(c, U + "/mailFolders?includeHiddenFolders=true")[0]
    assert len(hidden) == len(top) + 1, "one hidden folder"
    ok(U + "/mailFolders?$count=true&$select=displayName,totalItemCount")
    ok(U + "/mailFolders/inbox/childFolders")
    sf = ok(U + "/mailFolders/searchfolders/childFolders").json["value"]
    assert sf and sf[0]["@odata.type"] == "#microsoft.graph.mailSearchFolder", sf
    inbox = ok(U + "/mailFolders/Inbox?$expand=" + FEXT).json
    ok(U + "/mailFolders/%s?$select=displayName,parentFolderId" % inbox["id"])
    ok(U + "/mailFolders('%s')" % inbox["id"])
    ok(U + "/mailFolders/msgfolderroot")
    folders_round, last, _ = G.follow(c, U + "/mailFolders/delta", {"Prefer": "odata.maxpagesize=4"})
    folders_link = last.json["@odata.deltaLink"]

    # ---- mail API: messages
    ok(U + "/mailFolders/inbox/messages?$top=5&$count=true")
    G.follow(c, U + "/mailFolders/inbox/messages?$top=50&$select=subject,isRead,flag,importance,categories")
    ok(U + "/mailFolders/inbox/messages?$filter=" + G.q("receivedDateTime ge 2025-06-01T00:00:00Z") +
       "&$orderby=" + G.q("receivedDateTime desc") + "&$top=20")
    msgs, last, pages = G.follow(c, U + "/mailFolders/inbox/messages/delta?$select=subject,isRead,receivedDateTime,"
                                 "flag,categories,parentFolderId,internetMessageId,changeKey&$expand=" + EXT,
                                 {"Prefer": "odata.maxpagesize=7"})
    assert pages > 2
    types = {m.get("@odata.type") for m in msgs}
    assert {"#microsoft.graph.eventMessageRequest", "#microsoft.graph.eventMessageResponse",
            "#microsoft.graph.eventMessage", "#microsoft.graph.message"} <= types, types
    inbox_link = last.json["@odata.deltaLink"]
    imm, last_imm, _ = G.follow(c, U + "/mailFolders/inbox/messages/delta",
                                {"Prefer": 'odata.maxpagesize=50, IdType="ImmutableId"'})
    assert last_imm.header("preference-applied"), "Preference-Applied"
    ok(U + "/mailFolders/inbox/messages/%s" % msgs[0]["id"])
    ok(U + "/messages/%s?$expand=%s" % (imm[0]["id"], EXT), {"Prefer": 'IdType="ImmutableId"'})
    ok(U + "/mailFolders/drafts/messages/delta")
    hid = [f for f in hidden if f.get("isHidden")][0]
    ok(U + "/mailFolders/%s/messages" % hid["id"])
    hx = ok(U + "/mailFolders/%s?$expand=%s" % (hid["id"], G.q("singleValueExtendedProperties($filter=id eq "
                                                            "'Boolean 0x10F4')"))).json
    assert hx["singleValueExtendedProperties"] == [{"id": "Boolean 0x10f4", "value": "true"}], hx
    sz = ok(U + "/mailFolders/inbox/messages?$top=1&$expand=" + G.q("singleValueExtendedProperties($filter=id eq "
                                                                   "'Long 0x0E08' or id eq 'String 0x0E08')")).json
    assert [p["id"] for p in sz["value"][0]["singleValueExtendedProperties"]] == ["Long 0xe08"], sz
    ok(U + "/mailFolders/searchfolders/childFolders?$select=displayName,isSupported")
    ok(U + "/mailFolders/recoverableitemsdeletions/messages/delta")

    # ---- calendars and contacts
    cals = ok(U + "/calendars").json["value"]
    ok(U + "/calendars/%s" % cals[0]["id"])
    ok(U + "/calendars/%s/events?$top=3" % cals[0]["id"])
    ok(U + "/calendars/%s/events?$select=subject,categories" % cals[0]["id"])
    cfs, last, _ = G.follow(c, U + "/contactFolders/delta", {"Prefer": "odata.maxpagesize=1"})
    contacts_folder_link = last.json["@odata.deltaLink"]
    ok(U + "/contactFolders")
    ok(U + "/contactFolders/%s" % cfs[0]["id"])
    ok(U + "/contactFolders/%s/childFolders" % cfs[0]["id"])
    ok(U + "/contactFolders/%s/contacts" % cfs[0]["id"])
    cts, last, _ = G.follow(c, U + "/contactFolders/%s/contacts/delta" % cfs[0]["id"],
                            {"Prefer": "odata.maxpagesize=2"})
    contacts_link = last.json["@odata.deltaLink"]

    # ---- the mailbox API
    ok(M + "/folders")
    ok(M + "/folders?$filter=" + G.q("type eq 'IPF.Appointment'") + "&$select=displayName,type")
    mfolders, last, _ = G.follow(c, M + "/folders/delta", {"Prefer": "odata.maxpagesize=9"})
    mbx_folders_link = last.json["@odata.deltaLink"]
    ok(M + "/folders/inbox/childFolders")
    G.follow(c, M + "/folders/inbox/childFolders/delta")
    ok(M + "/folders/%s?$expand=%s" % (mfolders[0]["id"], FEXT))
    cal = [f for f in mfolders if f.get("type") == "IPF.Appointment"][0]
    ok(M + "/folders/%s/items" % cal["id"])
    items, last, _ = G.follow(c, M + "/folders/inbox/items/delta?$expand=" + EXT, {"Prefer": "odata.maxpagesize=25"})
    mbx_items_link = last.json["@odata.deltaLink"]
    inbox_mf = [f for f in mfolders if f["displayName"] == "Inbox"][0]
    ok(M + "/folders/%s/items/%s" % (inbox_mf["id"], items[0]["id"]))
    ok(M + "/folders/%s/items?$top=4&$select=type,size" % inbox_mf["id"])
    tasks = [f for f in mfolders if f.get("type") == "IPF.Task"][0]
    ok(M + "/folders/%s/items/delta" % tasks["id"], {"Prefer": 'IdType="ImmutableId"'})

    # ---- errors (every one answers Graph's error body)
    G.Client(port).get(U + "/mailFolders")
    for tok in ("no-such-token", "tok-alice-old", "tok-alice-revoked"):
        ok(U + "/mailFolders", status=401, client=G.Client(port, tok))
    ok(U + "/mailFolders/inbox/messages?$expand=" + EXT, status=403, client=G.Client(port, "tok-app-basic"))
    ok("/v1.0/users/bob@example.com/mailFolders", status=403, client=G.Client(port, "tok-alice"))
    ok(M + "/folders", status=403, client=G.Client(port, "tok-app-mail"))
    ok("/v1.0/users/nobody@example.com/mailFolders", status=404)
    ok("/v1.0/users/nobody@example.com/settings/exchange", status=404)
    ok("/v1.0/admin/exchange/mailboxes/MBX:nope@nope/folders", status=404)
    ok(U + "/mailFolders/AAMkAGVmMDEzM/messages", status=400)
    ok(U + "/mailFolders/inbox/messages?$select=nothing", status=400)
    ok(U + "/mailFolders/inbox/messages?$search=x", status=400)
    ok(U + "/mailFolders/inbox/messages/delta?$deltatoken=bogus", status=400)
    ok(U + "/mailFolders/drafts/messages/delta?" + inbox_link.split("?", 1)[1], status=400)
    ok(U + "/mailFolders/drafts/messages/%s" % msgs[0]["id"], status=404)
    ok(U + "/nosuchthing", status=400)
    ok("/v1.0/me/mailFolders", status=400)
    ok("/v1.0/me/mailFolders", client=G.Client(port, "tok-alice"))

    # ---- the next round, after the mailbox changed
    r = c.get("/_graph/advance", method="POST", body=b"")
    assert r.status == 200 and r.json["advanced"], r.raw
    fr = G.follow(c, folders_link)[0]
    assert any("@removed" in f for f in fr) and any("@removed" not in f for f in fr), fr
    mr = G.follow(c, inbox_link, {"Prefer": "odata.maxpagesize=2"})[0]
    assert sum(1 for m in mr if "@removed" in m) >= 4, mr   # 3 deleted and 1 moved out
    G.follow(c, mbx_folders_link)
    G.follow(c, mbx_items_link)
    assert G.follow(c, contacts_link)[0] == [], "contacts did not change"
    G.follow(c, contacts_folder_link)
    G.follow(c, U + "/mailFolders/inbox/messages/delta?changeType=created")
    print("session: %d requests, %d folders, %d inbox messages, %d contacts; second round: %d folder and %d "
          "message changes" % (seen["requests"] + c.requests, len(folders_round), len(msgs), len(cts), len(fr),
                               len(mr)))


if __name__ == "__main__":
    main()
