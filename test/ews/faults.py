#!/usr/bin/python3
"""Raw checks of one fault mode of the test server (see t_faults.sh).
    faults.py MODE PORT"""
import base64
import http.client
import json
import socket
import sys
import time
import xml.etree.ElementTree as ET

import ewsclient as C

mode, port = sys.argv[1], int(sys.argv[2])
REQ = C.envelope(C.find_item("inbox", base="Default", maxn=50, offset=0)).encode()


def client():
    return C.Client(port, "alice", "alice-pw-1")


def statuses(n, c=None):
    c = c or client()
    out = []
    for _ in range(n):
        st, h, body = c.raw(REQ)
        out.append((st, h, body))
    return out


def well_formed(body):
    try:
        ET.fromstring(body)
        return True
    except ET.ParseError:
        return False


if mode == "busy":        # --busy-every 3 --busy-backoff-ms 1234
    r = statuses(6)
    assert [s for s, _, _ in r] == [200, 200, 500, 200, 200, 500], [s for s, _, _ in r]
    root = ET.fromstring(r[2][2])
    assert C.fault_code(root) == "ErrorServerBusy"
    assert root.find(".//" + C.S + "Fault").findtext("faultcode").endswith(":ErrorServerBusy")
    vals = root.findall(".//" + C.T + "MessageXml/" + C.T + "Value")
    v = [x for x in vals if x.get("Name") == "BackOffMilliseconds"]
    assert len(v) == 1 and v[0].text == "1234" and vals[0].get("Name") == "Policy", C.ET.tostring(root)
    print("busy: every 3rd request is HTTP 500 ErrorServerBusy with BackOffMilliseconds=1234 after other values")
elif mode in ("http503", "http429"):   # --http503-every 2 / --http429-every 2, --retry-after 7
    want = 503 if mode == "http503" else 429
    r = statuses(4)
    assert [s for s, _, _ in r] == [200, want, 200, want], [s for s, _, _ in r]
    assert r[1][1]["retry-after"] == ["7"], r[1][1]
    print("%s: every 2nd request is HTTP %d with Retry-After: 7" % (mode, want))
elif mode == "http500":   # --http500-every 2
    r = statuses(4)
    assert [s for s, _, _ in r] == [200, 500, 200, 500]
    assert r[1][2] == b"" and r[1][1]["content-length"] == ["0"], r[1]
    print("http500: every 2nd request is HTTP 500 with an empty body")
elif mode == "drop":      # --drop-every 2
    c = client()
    st, _, body = c.raw(REQ)
    assert st == 200 and well_formed(body)
    try:
        c.raw(REQ)
        raise SystemExit("the 2nd response was complete")
    except (http.client.IncompleteRead, ConnectionError, http.client.RemoteDisconnected) as e:
        print("drop: the 2nd response is cut off mid-body (%s)" % type(e).__name__)
    st, _, body = c.raw(REQ)   # a new connection works again
    assert st == 200 and well_formed(body)
elif mode == "malformed":  # --malformed-every 2
    r = statuses(4)
    assert [s for s, _, _ in r] == [200] * 4
    assert well_formed(r[0][2]) and not well_formed(r[1][2]) and well_formed(r[2][2]) and not well_formed(r[3][2])
    print("malformed: every 2nd response is HTTP 200 with XML that does not parse")
elif mode == "latency":   # --latency-ms 150
    c = client()
    c.raw(REQ)
    t0 = time.monotonic()
    for _ in range(3):
        c.raw(REQ)
    per = (time.monotonic() - t0) / 3 * 1000
    assert per >= 150, per
    print("latency: %.0f ms per request with --latency-ms 150" % per)
elif mode == "deny":      # --deny-folder calendar --deny-folder 'alice@example.com:/Top of Information Store/Tasks'
    c = client()
    st, root, _, _ = c.call(C.get_folder(["calendar", "tasks", "inbox"]))
    codes = [C.code(m) for m in C.messages(root)]
    assert codes == ["ErrorAccessDenied", "ErrorAccessDenied", "NoError"], codes
    for op in (C.find_item("calendar"), C.sync_items("calendar", 10), C.find_item("tasks", maxn=5, offset=0)):
        st, root, _, _ = c.call(op)
        assert C.code(C.messages(root)[0]) == "ErrorAccessDenied"
    st, root, _, _ = c.call(C.find_folder("msgfolderroot", "Shallow", "Default"))
    names = [f.findtext(C.T + "DisplayName") for f in C.messages(root)[0].find(C.M + "RootFolder/" + C.T + "Folders")]
    assert "Calendar" in names, names   # still listed in the hierarchy, like Exchange
    st, root, _, _ = c.call(C.sync_items("sentitems", 10))
    assert C.code(C.messages(root)[0]) == "ErrorMailboxStoreUnavailable", C.code(C.messages(root)[0])
    print("deny-folder: Calendar (by role) and Tasks (by path) answer ErrorAccessDenied, the rest is served; "
          "folder-error: Sent Items answers ErrorMailboxStoreUnavailable")
elif mode == "scope":     # --busy-every 1 --fault-mailbox bob@example.com
    c = client()
    for _ in range(3):
        st, _, _ = c.raw(REQ)
        assert st == 200
    b = C.Client(port, "bob", "bob-pw-2")
    for _ in range(3):
        st, root, _, _ = b.call(C.get_folder(["inbox"]))
        assert st == 500 and C.fault_code(root) == "ErrorServerBusy"
    print("fault-mailbox: faults hit bob's requests only")
elif mode == "http":      # defaults, --max-request-bytes 4096: keep-alive, gzip, limits, stats
    c = C.Client(port, "alice", "alice-pw-1", gzip_ok=True)
    st, h, body = c.raw(REQ)
    assert st == 200 and h.get("content-encoding") == ["gzip"] and well_formed(body)
    sock = c.conn.sock
    for _ in range(3):
        st, h, body = c.raw(REQ)
        assert st == 200 and c.conn.sock is sock, "keep-alive"
    st, h, _ = c.raw(b"x" * 5000)
    assert st == 413, st
    st, h, _ = C.Client(port, "alice", "alice-pw-1").raw(REQ, path="/owa/")
    assert st == 404, st
    st, h, _ = C.Client(port, "alice", "alice-pw-1").raw(None, method="GET")
    assert st == 405, st
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 411"), "no Content-Length"
    s.close()
    st, h, body = C.Client(port, "alice", "alice-pw-1").raw(None, path="/_ews/stats", method="GET")
    stats = json.loads(body)
    assert stats["operations"]["FindItem"] >= 4 and stats["status"]["200"] >= 4, stats
    print("http: keep-alive, gzip, 413 over the size cap, 404, 405, 411; counters:", stats["operations"])
elif mode == "busymsg":   # --busy-every 2 --busy-style message --busy-code ErrorExceededConnectionCount --busy-backoff-ms 77
    r = statuses(4)
    assert [s for s, _, _ in r] == [200] * 4, [s for s, _, _ in r]
    root = ET.fromstring(r[1][2])
    msg = C.messages(root)
    assert len(msg) == 1 and msg[0].tag == C.M + "FindItemResponseMessage" and msg[0].get("ResponseClass") == "Error"
    assert C.code(msg[0]) == "ErrorExceededConnectionCount", C.code(msg[0])
    vals = msg[0].findall(C.M + "MessageXml/" + C.T + "Value")
    assert [v.get("Name") for v in vals][-1] == "BackOffMilliseconds" and vals[-1].text == "77" and len(vals) > 1
    assert C.code(C.messages(ET.fromstring(r[0][2]))[0]) == "NoError"
    print("busymsg: every 2nd response is HTTP 200 with ErrorExceededConnectionCount in its message, "
          "BackOffMilliseconds=77 after %d other values" % (len(vals) - 1))
elif mode == "wrongop":   # --wrong-operation-every 2
    r = statuses(2)
    a, b = ET.fromstring(r[0][2]), ET.fromstring(r[1][2])
    body = lambda root: root.find(C.S + "Body")[0].tag
    assert body(a) == C.M + "FindItemResponse" and body(b) == C.M + "GetItemResponse", (body(a), body(b))
    assert C.messages(b)[0].tag == C.M + "GetItemResponseMessage"
    print("wrongop: every 2nd FindItem is answered with a GetItemResponse")
elif mode == "charrefs":  # --bad-char-refs, a mailbox with control characters in a subject
    c = client()
    st, _, body = c.raw(C.envelope(C.find_item("inbox", base="Default", maxn=50, offset=0)).encode())
    assert st == 200 and b"&#x1A;" in body and b"&#x0;" in body, body[:300]
    print("charrefs: forbidden characters are written as &#x0; and &#x1A;")
elif mode == "opaque":    # --opaque-ids
    c = client()
    st, root, _, _ = c.call(C.get_folder(["inbox"], base="IdOnly", tags=(("0x65E0", "Binary"),)))
    f = C.messages(root)[0].find(C.M + "Folders")[0]
    fid = f.find(C.T + "FolderId")
    raw = base64.b64decode(fid.get("Id"))
    assert raw[:2] == b"GX" and f.find(C.T + "ExtendedProperty") is None, C.ET.tostring(f)
    assert len(base64.b64decode(fid.get("ChangeKey"))) == 8
    st, root, _, _ = c.call(C.find_item(("id", fid.get("Id")), maxn=5, offset=0))
    assert C.code(C.messages(root)[0]) == "NoError"
    print("opaque: ids and change keys of an unknown layout (and they work), no PidTagSourceKey")
elif mode == "herr":      # --hierarchy-error inbox=ErrorCorruptData
    c = client()
    st, root, _, _ = c.call(C.sync_hierarchy())
    assert C.code(C.messages(root)[0]) == "ErrorCorruptData"
    st, root, _, _ = c.call(C.find_folder("root", "Deep"))
    assert C.code(C.messages(root)[0]) == "ErrorCorruptData"
    st, root, _, _ = c.call(C.find_folder("inbox", "Shallow"))
    assert C.code(C.messages(root)[0]) == "ErrorCorruptData"
    st, root, _, _ = c.call(C.find_folder("msgfolderroot", "Shallow"))
    assert C.code(C.messages(root)[0]) == "NoError"
    st, root, _, _ = c.call(C.get_folder(["inbox"]))
    assert C.code(C.messages(root)[0]) == "NoError"
    st, root, _, _ = c.call(C.find_item("inbox", maxn=5, offset=0))
    assert C.code(C.messages(root)[0]) == "NoError"
    print("hierarchy-error: listings over the Inbox's subtree answer ErrorCorruptData; the Inbox itself is served")
else:
    raise SystemExit("unknown mode " + mode)
