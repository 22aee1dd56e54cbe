#!/usr/bin/python3
"""Raw checks of the test server's version modes (see t_versions.sh).
    versions.py VERSION PORT
What each version answers: its ServerVersionInfo and envelope, ErrorInvalidServerVersion for a
RequestServerVersion it does not take, ErrorSchemaValidation (in its fault shape) for a value or
element its schema does not have, and ordinary answers to what it does take."""
import sys
import xml.etree.ElementTree as ET

import ewsclient as C

version, port = sys.argv[1], int(sys.argv[2])
c = C.Client(port, "alice", "alice-pw-1")
NEWEST = {"2007sp1": "Exchange2007_SP1", "2010sp2": "Exchange2010_SP2", "2016": "V2017_07_11"}[version]
TOO_NEW = {"2007sp1": "Exchange2010", "2010sp2": "Exchange2013", "2016": None}[version]
INFO = {"2007sp1": ("8", "1", None), "2010sp2": ("14", "2", "Exchange2010_SP2"), "2016": ("15", "1", "V2017_07_11")}[version]
checks = 0


def call(body, v=NEWEST):
    global checks
    checks += 1
    st, _, raw = c.raw(C.envelope(body, version=v).encode())
    return st, ET.fromstring(raw), raw


def refused(body, code, v=NEWEST):
    st, root, raw = call(body, v)
    assert st == 500 and C.fault_code(root) == code, (st, raw[:400])
    fc = root.find(".//" + C.S + "Fault").findtext("faultcode")
    # Exchange 2007 writes soap11:Client and leaves the EWS code to the detail
    assert fc == ("soap11:Client" if version == "2007sp1" else "a:" + code), fc
    assert root.find(C.S + "Header") is None, "a fault carries no ServerVersionInfo"


st, root, raw = call(C.get_folder(["inbox"]))
assert st == 200 and C.code(C.messages(root)[0]) == "NoError", raw[:300]
info = root.find(C.S + "Header/" + C.T + "ServerVersionInfo")
assert (info.get("MajorVersion"), info.get("MinorVersion"), info.get("Version")) == INFO, info.attrib
assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?><%s:Envelope' % (b"soap" if version == "2007sp1" else b"s"))
# the oldest version every server takes
st, root, raw = call(C.get_folder(["root"], base="IdOnly"), "Exchange2007_SP1")
assert st == 200 and C.code(C.messages(root)[0]) == "NoError"
if TOO_NEW:
    refused(C.get_folder(["inbox"]), "ErrorInvalidServerVersion", TOO_NEW)
if version == "2007sp1":
    refused(C.sync_items("inbox", 10, scope="NormalItems"), "ErrorSchemaValidation")
    refused(C.find_item("inbox", traversal="Associated"), "ErrorSchemaValidation")
    refused(C.get_folder(["recoverableitemsroot"]), "ErrorSchemaValidation")
    st, root, raw = call(C.sync_items("inbox", 10))
    assert C.code(C.messages(root)[0]) == "NoError"
if version in ("2007sp1", "2010sp2"):
    for name in ("syncissues", "conflicts", "conversationhistory", "todosearch"):
        refused(C.get_folder(["inbox", name]), "ErrorSchemaValidation")
if version in ("2010sp2", "2016"):
    st, root, raw = call(C.get_folder(["recoverableitemsroot"]))
    assert C.code(C.messages(root)[0]) in ("NoError", "ErrorFolderNotFound")
    st, root, raw = call(C.sync_items("inbox", 10, scope="NormalAndAssociatedItems"))
    assert C.code(C.messages(root)[0]) == "NoError"
if version == "2016":
    st, root, raw = call(C.get_folder(["syncissues", "conversationhistory"]))
    assert [C.code(m) for m in C.messages(root)] == ["NoError", "NoError"], raw[:400]
print("%s: %d checks passed (ServerVersionInfo %s.%s, %s)" % (version, checks, INFO[0], INFO[1], INFO[2] or "no Version"))
