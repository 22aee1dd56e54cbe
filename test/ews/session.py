#!/usr/bin/python3
"""A representative session against the test server, checking what each answer says.

    session.py valid PORT MAILBOX.jsonl     schema-valid requests: every operation, paging, errors
    session.py invalid PORT                 requests the schema rejects: the server must fault
    session.py busy PORT                    the ErrorServerBusy fault body

Exit 0 when every check holds; prints what was exercised."""

import base64
import json
import sys

import ewsclient as C
from ewsclient import M, T

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print("CHECK FAILED:", what)
        sys.exit(1)


def load(path):
    folders, items = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "folder":
                folders.append(o)
            elif o["type"] == "item":
                items.append(o)
    return folders, items


def ok_messages(root, n=None):
    msgs = C.messages(root)
    if n is not None:
        check(len(msgs) == n, "expected %d response messages, got %d" % (n, len(msgs)))
    return msgs


def ext_values(el):
    out = {}
    for ep in el.findall(T + "ExtendedProperty"):
        out[ep.find(T + "ExtendedFieldURI").get("PropertyTag")] = ep.findtext(T + "Value")
    return out


def valid(port, path):
    folders, items = load(path)
    by_role = {f.get("role"): f for f in folders}
    key_of_item = {i["key"]: i for i in items}
    c = C.Client(port, "alice", "alice-pw-1", gzip_ok=True)

    # GetFolder: distinguished folders, extended properties in three spellings of the tag.
    st, root, _, _ = c.call(C.get_folder(["root", "msgfolderroot", "inbox"], "AllProperties",
                                         tags=[("0x65E0", "Binary"), ("0x65e2", "Binary"), ("13826", "Integer")]))
    check(st == 200, "GetFolder status %d" % st)
    msgs = ok_messages(root, 3)
    inbox_el = msgs[2].find(M + "Folders")[0]
    ev = ext_values(inbox_el)
    check(set(ev) == {"0x65e0", "0x65e2", "0x3602"}, "extended tags echoed as 0x…: %s" % ev)
    check(base64.b64decode(ev["0x65e0"]).hex() == by_role["inbox"]["key"], "inbox source key")
    check(ev["0x3602"] == str(by_role["inbox"]["content_count"]), "inbox 0x3602")
    inbox_id = inbox_el.find(T + "FolderId").get("Id")
    check(C.decode_key(inbox_id) == by_role["inbox"]["key"], "key decoded from the FolderId")
    check(inbox_el.findtext(T + "UnreadCount") == str(by_role["inbox"]["unread_count"]), "UnreadCount")
    check(inbox_el.findtext(T + "FolderClass") == "IPF.Note", "FolderClass")

    # GetFolder by id, and the errors: malformed id, item id, absent distinguished folder, other mailbox.
    st, root, _, _ = c.call(C.get_folder([("id", inbox_id), ("id", "AAMkAGZvbw=="), "journal"], "Default"))
    codes = [C.code(m) for m in ok_messages(root, 3)]
    check(codes == ["NoError", "ErrorInvalidIdMalformed", "ErrorFolderNotFound"], "GetFolder codes %s" % codes)
    st, root, _, _ = c.call(C.get_folder(["inbox"], mailbox="nobody@example.com"))
    check([C.code(m) for m in ok_messages(root, 1)] == ["ErrorNonExistentMailbox"], "non-existent mailbox")
    st, root, _, _ = c.call(C.get_folder(["inbox"], mailbox="bob@example.com"))
    check([C.code(m) for m in ok_messages(root, 1)] == ["ErrorAccessDenied"], "other user's mailbox")

    # FindFolder Deep with paging (3 per page): every folder once.
    got, offset = [], 0
    for _ in range(100):
        st, root, _, _ = c.call(C.find_folder("root", "Deep", "IdOnly", ["folder:DisplayName", "folder:ParentFolderId"],
                                              [("0x65E0", "Binary")], offset, 3))
        m = ok_messages(root, 1)[0]
        rf = m.find(M + "RootFolder")
        fl = rf.find(T + "Folders")
        got += [base64.b64decode(ext_values(f)["0x65e0"]).hex() for f in fl]
        check(int(rf.get("TotalItemsInView")) == len(folders) - 1, "FindFolder TotalItemsInView")
        if rf.get("IncludesLastItemInRange") == "true":
            break
        offset = int(rf.get("IndexedPagingOffset"))
    check(sorted(got) == sorted(f["key"] for f in folders if f.get("parent_id")), "FindFolder Deep paging")
    st, root, _, _ = c.call(C.find_folder("msgfolderroot", "Shallow", "Default"))
    n = len(ok_messages(root, 1)[0].find(M + "RootFolder/" + T + "Folders"))
    check(n == sum(1 for f in folders if f.get("parent_id") == by_role["msgfolderroot"]["id"]), "Shallow count")

    # SyncFolderHierarchy: everything, then nothing from the new state, then a corrupt state.
    st, root, _, _ = c.call(C.sync_hierarchy("AllProperties"))
    m = ok_messages(root, 1)[0]
    check(len(m.find(M + "Changes")) == len(folders) - 1, "SyncFolderHierarchy creates")
    state = m.findtext(M + "SyncState")
    st, root, _, _ = c.call(C.sync_hierarchy("IdOnly", state=state))
    check(len(ok_messages(root, 1)[0].find(M + "Changes")) == 0, "hierarchy in sync")
    st, root, _, _ = c.call(C.sync_hierarchy("IdOnly", state="H4sIAAAAAAAA/wMAAAAAAAAAAAA="))
    check(C.code(ok_messages(root, 1)[0]) == "ErrorInvalidSyncStateData", "bad hierarchy state")

    # FindItem: default order (newest first), every shape, tags, Associated traversal.
    inbox_items = [i for i in items if i["folder_id"] == by_role["inbox"]["id"] and not i.get("associated")]
    inbox_fai = [i for i in items if i["folder_id"] == by_role["inbox"]["id"] and i.get("associated")]
    for shape in ("IdOnly", "Default", "AllProperties"):
        st, root, _, _ = c.call(C.find_item("inbox", "Shallow", shape,
                                            ["item:Subject", "message:IsRead", "item:DateTimeReceived"],
                                            [("26080", "Binary"), ("0x0E07", "Integer"), ("0x1090", "Integer"),
                                             ("0x65E3", "Binary")]))
        rf = ok_messages(root, 1)[0].find(M + "RootFolder")
        its = list(rf.find(T + "Items"))
        check(len(its) == len(inbox_items) and rf.get("IncludesLastItemInRange") == "true", "FindItem %s" % shape)
        for el in its:
            ev = ext_values(el)
            k = base64.b64decode(ev["0x65e0"]).hex()
            src = key_of_item[k]
            check(C.decode_key(el.find(T + "ItemId").get("Id")) == k, "key decoded from the ItemId")
            if "msg_flags" in src:
                check(ev["0xe07"] == str(src["msg_flags"]), "0x0E07")
            if src.get("pcl"):
                check(base64.b64decode(ev["0x65e3"]).hex() == src["pcl"], "PCL")
    dates = [el.findtext(T + "DateTimeReceived") for el in its]
    check(dates == sorted(dates, reverse=True), "newest first")
    elements = {el.tag.replace(T, "") for el in its}
    check({"Message", "MeetingRequest"} <= elements, "element types %s" % elements)
    st, root, _, _ = c.call(C.find_item("inbox", "Associated", "AllProperties", tags=[("0x65E0", "Binary")]))
    its = list(ok_messages(root, 1)[0].find(M + "RootFolder/" + T + "Items"))
    check(len(its) == len(inbox_fai) and all(e.findtext(T + "IsAssociated") == "true" for e in its), "Associated")

    # FindItem paging from the beginning and from the end, a restriction, a sort order.
    for bp in ("Beginning", "End"):
        got, offset = [], 0
        for _ in range(100):
            st, root, _, _ = c.call(C.find_item("inbox", maxn=4, offset=offset, base_point=bp))
            rf = ok_messages(root, 1)[0].find(M + "RootFolder")
            got += [C.decode_key(e.find(T + "ItemId").get("Id")) for e in rf.find(T + "Items")]
            if rf.get("IncludesLastItemInRange") == "true":
                break
            offset = int(rf.get("IndexedPagingOffset"))
        check(sorted(got) == sorted(i["key"] for i in inbox_items), "FindItem paging from %s" % bp)
    restr = ('<t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant>'
             '<t:Constant Value="2026-09-20T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo>')
    sort = '<t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Subject"/></t:FieldOrder>'
    st, root, _, _ = c.call(C.find_item("inbox", base="Default", restriction=restr, sort=sort))
    its = list(ok_messages(root, 1)[0].find(M + "RootFolder/" + T + "Items"))
    want = [i for i in inbox_items if (i.get("received") or "") >= "2026-09-20"]
    check(len(its) == len(want), "restriction: %d of %d" % (len(its), len(want)))
    subj = [e.findtext(T + "Subject") for e in its]
    check(subj == sorted(subj), "sorted by subject")

    # SyncFolderItems: pages of 2, every normal item once; the associated ones with the other scope.
    for scope, want in (("NormalItems", inbox_items), ("NormalAndAssociatedItems", inbox_items + inbox_fai)):
        got, state = [], None
        for _ in range(100):
            st, root, _, _ = c.call(C.sync_items("inbox", 2, state, "IdOnly", ["item:Subject"],
                                                 [("0x65E0", "Binary"), ("0x65E2", "Binary")], scope))
            m = ok_messages(root, 1)[0]
            for ch in m.find(M + "Changes"):
                check(ch.tag == T + "Create", "only creates")
                got.append(base64.b64decode(ext_values(ch[0])["0x65e0"]).hex())
            state = m.findtext(M + "SyncState")
            if m.findtext(M + "IncludesLastItemInRange") == "true":
                break
        check(sorted(got) == sorted(i["key"] for i in want), "SyncFolderItems %s" % scope)
    st, root, _, _ = c.call(C.sync_items("inbox", 10, state, scope="NormalItems"))
    check(C.code(ok_messages(root, 1)[0]) == "ErrorInvalidSyncStateData", "state of another scope")

    # GetItem: several ids, with the errors.
    st, root, _, _ = c.call(C.find_item("inbox", maxn=3, offset=0))
    ids = [e.find(T + "ItemId").get("Id") for e in ok_messages(root, 1)[0].find(M + "RootFolder/" + T + "Items")]
    unknown = base64.b64decode(ids[0])
    unknown = base64.b64encode(unknown[:-8] + b"\xff\xff\xff\xff\xff\xff\x00\x00").decode()
    st, root, _, _ = c.call(C.get_item(ids + ["bm90IGFuIGlk", inbox_id, unknown], "AllProperties",
                                       tags=[("0x65E0", "Binary"), ("0x0E07", "Integer")]))
    codes = [C.code(m) for m in ok_messages(root, 6)]
    check(codes == ["NoError"] * 3 + ["ErrorInvalidIdMalformed", "ErrorCannotUseFolderIdForItemId",
                                      "ErrorItemNotFound"], "GetItem codes %s" % codes)

    # The folder denied by --deny-folder, and operations the server does not implement.
    st, root, _, _ = c.call(C.find_item(("id", folder_id(c, "/Top of Information Store/Legal Hold")), maxn=10, offset=0))
    check(C.code(ok_messages(root, 1)[0]) == "ErrorAccessDenied", "denied folder")
    st, root, _, _ = c.call('<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>bob</m:UnresolvedEntry></m:ResolveNames>')
    check(st == 500 and C.fault_code(root) == "ErrorInvalidRequest", "unimplemented operation")

    # ConvertId: EwsId -> HexEntryId -> EwsId.
    conv = ('<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="%s" '
            'Mailbox="alice@example.com"/></m:SourceIds></m:ConvertId>' % ids[0])
    st, root, _, _ = c.call(conv)
    hexid = ok_messages(root, 1)[0].find(M + "AlternateId").get("Id")
    conv = ('<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="HexEntryId" Id="%s" '
            'Mailbox="alice@example.com"/></m:SourceIds></m:ConvertId>' % hexid)
    st, root, _, _ = c.call(conv)
    check(ok_messages(root, 1)[0].find(M + "AlternateId").get("Id") == ids[0], "ConvertId round trip")

    # Impersonation: allowed, and denied.
    svc = C.Client(port, "svc-sync", "svc-pw-4")
    st, root, _, _ = svc.call(C.get_folder(["inbox"], "IdOnly"), impersonate="alice@example.com")
    check(C.code(ok_messages(root, 1)[0]) == "NoError", "impersonation allowed")
    lim = C.Client(port, "svc-limited", "svc-pw-5")
    st, root, _, _ = lim.call(C.get_folder(["inbox"], "IdOnly"), impersonate="alice@example.com")
    check(st == 500 and C.fault_code(root) == "ErrorImpersonateUserDenied", "impersonation denied")
    st, root, _, _ = c.call(C.get_folder(["inbox"], "IdOnly"), impersonate="bob@example.com")
    check(st == 500 and C.fault_code(root) == "ErrorImpersonateUserDenied", "no impersonation right")
    print("valid session: %d checks passed" % checks)


def folder_id(c, path):
    st, root, _, _ = c.call(C.find_folder("root", "Deep", "IdOnly", ["folder:DisplayName", "folder:ParentFolderId"]))
    fl = ok_messages(root, 1)[0].find(M + "RootFolder/" + T + "Folders")
    names = {f.find(T + "FolderId").get("Id"): (f.findtext(T + "DisplayName"), (f.find(T + "ParentFolderId").get("Id")))
             for f in fl}

    def p(i):
        n, parent = names[i]
        return ("" if parent not in names else p(parent)) + "/" + n.replace("/", "\\/")
    return next(i for i in names if p(i) == path)


def invalid(port):
    c = C.Client(port, "alice", "alice-pw-1")
    cases = [
        ("not XML", b"<soap:Envelope", "ErrorSchemaValidation"),
        ("unknown operation", C.envelope("<m:FetchEverything/>").encode(), "ErrorSchemaValidation"),
        ("bad distinguished id", C.envelope(C.get_folder(["nowhere"])).encode(), "ErrorSchemaValidation"),
        ("MaxChangesReturned 513", C.envelope(C.sync_items("inbox", 513)).encode(), "ErrorSchemaValidation"),
        ("bad BaseShape", C.envelope(C.get_folder(["inbox"], "Everything")).encode(), "ErrorSchemaValidation"),
        ("bad version", C.envelope(C.get_folder(["inbox"])).replace("Exchange2016", "Exchange2019").encode(),
         "ErrorSchemaValidation"),
        ("DTD", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "ErrorSchemaValidation"),
        ("no body", ('<soap:Envelope xmlns:soap="%s"><soap:Body/></soap:Envelope>' % C.NS_S).encode(),
         "ErrorInvalidRequest"),
    ]
    for what, data, want in cases:
        st, _, body = c.raw(data)
        root = C.ET.fromstring(body)
        check(st == 500 and C.fault_code(root) == want, "%s: %d %s" % (what, st, body[:200]))
    print("invalid requests: %d checks passed" % checks)


def busy(port):
    c = C.Client(port, "alice", "alice-pw-1")
    seen = 0
    for _ in range(4):
        st, root, data, _ = c.call(C.get_folder(["inbox"]))
        if st == 500:
            check(C.fault_code(root) == "ErrorServerBusy", "busy fault code")
            vals = root.findall(".//" + T + "MessageXml/" + T + "Value")
            # as Exchange lists them: other values first, BackOffMilliseconds found by its Name
            v = [x for x in vals if x.get("Name") == "BackOffMilliseconds"]
            check(len(vals) > 1 and len(v) == 1 and vals[0] is not v[0] and int(v[0].text) > 0, "BackOffMilliseconds")
            seen += 1
    check(seen == 2, "busy every 2nd request: %d of 4" % seen)
    print("busy: %d checks passed" % checks)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    {"valid": lambda: valid(port, sys.argv[3]), "invalid": lambda: invalid(port), "busy": lambda: busy(port)}[mode]()
