#!/usr/bin/python3
"""Hostile input: deterministic mutations of valid requests and hand-picked nasty values. Every
answer must be a well-formed response or SOAP fault, never ErrorInternalServerError, and the server
must still answer afterwards.   robust.py PORT [N]"""
import random
import sys
import xml.etree.ElementTree as ET

import ewsclient as C

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
c = C.Client(port, "alice", "alice-pw-1")
st, root, _, _ = c.call(C.find_item("inbox", maxn=2, offset=0))
item_id = C.messages(root)[0].find(C.M + "RootFolder/" + C.T + "Items")[0].find(C.T + "ItemId").get("Id")
bases = [
    C.get_folder(["inbox", "root"], "AllProperties", tags=[("0x65E0", "Binary")]),
    C.find_folder("root", "Deep", "Default", offset=0, maxn=5),
    C.sync_hierarchy("AllProperties"),
    C.find_item("inbox", "Shallow", "AllProperties", ["item:Subject"], [("0x65E0", "Binary")], 0, 3),
    C.sync_items("inbox", 5, None, "IdOnly", tags=[("0x65E2", "Binary")]),
    C.get_item([item_id], "Default"),
]
nasty = [
    C.find_item("inbox", maxn=0, offset=0), C.find_item("inbox", maxn=5, offset=-3),
    C.find_item("inbox", maxn=5, offset=10 ** 6), C.get_item(["\u00e9\u00e9\u00e9"]), C.get_item(["A" * 400]),
    C.get_item(["AAMk" + "A" * 200]), C.sync_items("inbox", 5, "not-base64!"), C.sync_items("inbox", 5, "H4sIAAAA"),
    C.find_item("inbox", restriction="<t:Not/>"), C.find_item("inbox", sort="<t:FieldOrder Order='Ascending'/>"),
    C.find_item("inbox", restriction="<t:IsEqualTo><t:FieldURI FieldURI='item:Size'/><t:FieldURIOrConstant>"
                "<t:Constant Value='big'/></t:FieldURIOrConstant></t:IsEqualTo>"),
    C.find_item("inbox", restriction="<t:IsEqualTo><t:FieldURI FieldURI='item:DateTimeReceived'/>"
                "<t:FieldURIOrConstant><t:Constant Value='yesterday'/></t:FieldURIOrConstant></t:IsEqualTo>"),
    C.get_folder(["inbox"], tags=[("0x1FFFFF", "Binary")]), C.get_folder(["inbox"], tags=[("zz", "Binary")]),
    '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
    '<m:IndexedPageItemView MaxEntriesReturned="x" Offset="y" BasePoint="Beginning"/><m:ParentFolderIds>'
    '<t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>',
    "<m:GetItem/>", "<m:GetFolder><m:FolderShape/></m:GetFolder>", "<m:SyncFolderItems/>", "<m:FindFolder/>",
    "<m:ConvertId DestinationFormat='EwsId'><m:SourceIds><t:AlternateId Format='HexEntryId' Id='zz' Mailbox='x'/>"
    "</m:SourceIds></m:ConvertId>",
]
rnd = random.Random(7)
reqs = [C.envelope(b).encode() for b in nasty]
for i in range(n):
    data = bytearray(C.envelope(rnd.choice(bases)).encode())
    for _ in range(rnd.randint(1, 4)):
        op = rnd.random()
        pos = rnd.randrange(len(data))
        if op < 0.4:
            del data[pos:pos + rnd.randint(1, 30)]
        elif op < 0.7:
            data[pos:pos] = rnd.choice([b"<", b">", b"&", b'"', b"\xff", b"\x00", b"<t:X/>", b"]]>", b"1e9"])
        else:
            j = rnd.randrange(len(data))
            data[pos:pos + 10], data[j:j + 10] = data[j:j + 10], data[pos:pos + 10]
    reqs.append(bytes(data))
codes = {}
for data in reqs:
    st, h, body = c.raw(data)
    root = ET.fromstring(body)          # always well-formed
    fc = C.fault_code(root) if st == 500 else None
    assert st in (200, 500), st
    assert fc != "ErrorInternalServerError", data
    key = fc or ",".join(sorted({C.code(m) for m in C.messages(root)})) or "?"
    codes[key] = codes.get(key, 0) + 1
st, root, _, _ = c.call(C.get_folder(["inbox"]))
assert st == 200
print("robust: %d hostile requests, no internal error; answers: %s" % (len(reqs), dict(sorted(codes.items()))))
