#!/usr/bin/python3
"""Fault modes of the test Graph server, one check per mode. The server under test is started by
t_faults.sh with the options each check names.

    faults.py CHECK PORT [ARGS]
"""

import http.client
import json
import sys
import threading
import time

import gclient as G

U = "/v1.0/users/alice@example.com"
B = "/v1.0/users/bob@example.com"


def err(r):
    return r.json["error"]["code"], r.json["error"]["message"]


def check_every(port):
    """--http429-every 3 --http503-every 5 --retry-after 0.25 --fault-mailbox alice@example.com"""
    c = G.Client(port, "tok-app")
    seen = []
    for _ in range(15):
        r = c.get(U + "/mailFolders")
        seen.append(r.status)
        if r.status == 429:
            assert r.header("retry-after") == "0.25" and err(r) == ("TooManyRequests", "Please retry again later.")
        if r.status == 503:
            assert r.header("retry-after") == "0.25" and err(r)[0] == "ServiceUnavailable"
    # request n: 503 when n % 5 == 0 (checked first), else 429 when n % 3 == 0
    want = [503 if n % 5 == 0 else 429 if n % 3 == 0 else 200 for n in range(1, 16)]
    assert seen == want, seen
    for _ in range(6):  # bob is out of scope
        assert c.get(B + "/mailFolders").status == 200
    print("429 every 3rd, 503 every 5th request of alice (Retry-After: 0.25, Graph bodies); bob untouched:", seen)


def check_concurrency(port):
    """--max-concurrent-per-mailbox 2 --latency-ms 1200"""
    results = {}

    def one(name, tok, url):
        results[name] = G.Client(port, tok).get(url)
    threads = [threading.Thread(target=one, args=("a%d" % i, "tok-app", U + "/mailFolders")) for i in range(4)]
    threads.append(threading.Thread(target=one, args=("other-app", "tok-app-mail", U + "/mailFolders")))
    threads.append(threading.Thread(target=one, args=("other-box", "tok-app", B + "/mailFolders")))
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(10)
    same = [results["a%d" % i] for i in range(4)]
    codes = sorted(r.status for r in same)
    assert codes == [200, 200, 429, 429], codes
    for r in same:
        if r.status == 429:
            assert err(r) == ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."), r.raw
            assert r.header("retry-after")
    assert results["other-app"].status == 200 and results["other-box"].status == 200
    assert G.Client(port, "tok-app").get(U + "/mailFolders").status == 200, "slots are given back"
    print("4 at once for one app and mailbox with a limit of 2: %s; another app and another mailbox: 200" % codes)


def check_gone(port):
    """--gone-every 3 --gone-folder alice@example.com:drafts (role)"""
    c = G.Client(port, "tok-app")
    r = c.get(U + "/mailFolders/inbox/messages/delta", {"Prefer": "odata.maxpagesize=5"})
    statuses = []
    link = r.json["@odata.nextLink"]
    for _ in range(6):
        r = c.get(link)
        statuses.append(r.status)
        if r.status == 410:
            assert err(r)[0] == "SyncStateNotFound"
        else:
            link = r.json["@odata.nextLink"]
    assert statuses == [200, 200, 410, 200, 200, 410], statuses
    d = c.get(U + "/mailFolders/drafts/messages/delta", {"Prefer": "odata.maxpagesize=2"}).json
    r = c.get(d["@odata.nextLink"])
    assert r.status == 410, "--gone-folder: first token use"
    r = c.get(d["@odata.nextLink"])
    assert r.status == 200, "--gone-folder fires once"
    print("--gone-every 3: token uses answer", statuses, "; --gone-folder: 410 once, then 200")


def check_mailbox_faults(port):
    """--quota-exceeded bob --odata-disabled carol --refuse-mailbox-api alice --access-policy policy-app=alice"""
    c = G.Client(port, "tok-app")
    r = c.get(B + "/mailFolders/delta")
    assert r.status == 403 and err(r)[0] == "ErrorQuotaExceeded", r.raw
    r = c.get(B + "/mailFolders/inbox/messages/delta")
    assert r.status == 403 and err(r)[0] == "ErrorQuotaExceeded"
    assert c.get(B + "/mailFolders/inbox/messages").status == 200, "plain listing still works"
    r = c.get("/v1.0/users/carol@example.com/mailFolders")
    assert r.status == 403 and err(r)[0] == "ErrorAccessDenied" and err(r)[1].startswith("Access to OData is disabled")
    mbx = c.get(U + "/settings/exchange").json["primaryMailboxId"]
    r = c.get("/v1.0/admin/exchange/mailboxes/%s/folders/delta" % mbx)
    assert r.status == 403 and err(r)[0] == "ErrorAccessDenied", "mailbox API refused"
    assert c.get(U + "/mailFolders/delta").status == 200, "the mail API is the fallback"
    mbx_b = c.get(B + "/settings/exchange").json["primaryMailboxId"]
    assert c.get("/v1.0/admin/exchange/mailboxes/%s/folders" % mbx_b).status == 200
    s = G.Client(port, "tok-app-policy")
    assert s.get(U + "/mailFolders").status == 200
    r = s.get(B + "/mailFolders")
    assert r.status == 403 and err(r)[1].startswith("Access to OData is disabled"), "application access policy"
    r = G.Client(port, "tok-app-scoped").get(B + "/mailFolders")
    assert r.status == 403 and err(r) == ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    print("quota (delta 403, list 200), OData disabled, mailbox API refused (mail API works), access policy: ok")


def check_expire(port):
    """--expire-after 3"""
    c = G.Client(port, "tok-app")
    got = [c.get(U + "/mailFolders").status for _ in range(5)]
    assert got == [200, 200, 200, 401, 401], got
    r = c.get(U + "/mailFolders")
    assert err(r) == ("InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
    assert r.header("www-authenticate").startswith("Bearer "), r.headers
    assert G.Client(port, "tok-app-mail").get(U + "/mailFolders").status == 200, "another token still works"
    print("--expire-after 3:", got)


def _raw(port, path, token="tok-app", gzip_ok=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Authorization": "Bearer " + token}
    if gzip_ok:
        h["Accept-Encoding"] = "gzip"
    conn.request("GET", path, headers=h)
    r = conn.getresponse()
    return conn, r


def check_broken(port):
    """--drop-every 4 --truncate-every 5 --malformed-every 7 (requests 4, 5, 7 of a run)"""
    kinds = []
    for n in range(1, 8):
        conn, r = _raw(port, U + "/mailFolders/inbox/messages?$top=20")
        try:
            body = r.read()
        except http.client.IncompleteRead as e:
            kinds.append("dropped(%d of %s)" % (len(e.partial), r.getheader("Content-Length")))
            conn.close()
            continue
        try:
            json.loads(body)
            kinds.append("ok")
        except ValueError:
            kinds.append("bad-json(%d)" % r.status)
        conn.close()
    assert kinds[3].startswith("dropped") and kinds[4] == "bad-json(200)" and kinds[6] == "bad-json(200)", kinds
    assert kinds[0] == kinds[1] == kinds[2] == kinds[5] == "ok", kinds
    print("drop, truncate, malformed:", kinds)


def check_huge(port):
    """--huge-every 2"""
    c = G.Client(port, "tok-app")
    a = c.get(U + "/mailFolders/inbox/messages?$top=3")
    b = c.get(U + "/mailFolders/inbox/messages?$top=3")
    assert len(a.raw) < 100000 and len(b.json["value"][0]["subject"]) == 20 << 20, len(b.raw)
    assert len(b.json["value"][1]["subject"]) < 200
    print("--huge-every 2: the second response's first message has a %d-byte subject (%d bytes in all)"
          % (len(b.json["value"][0]["subject"]), len(b.raw)))


def check_folder_error(port):
    """--folder-error alice@example.com:inbox=503:ErrorMailboxStoreUnavailable --latency-ms 150"""
    c = G.Client(port, "tok-app")
    t0 = time.monotonic()
    r = c.get(U + "/mailFolders/inbox/messages/delta")
    assert time.monotonic() - t0 >= 0.15, "latency"
    assert r.status == 503 and err(r)[0] == "ErrorMailboxStoreUnavailable", r.raw
    assert c.get(U + "/mailFolders/inbox/messages").status == 503
    assert c.get(U + "/mailFolders/drafts/messages").status == 200
    assert c.get(U + "/mailFolders/delta").status == 200, "the folder is still listed"
    assert c.get(B + "/mailFolders/inbox/messages").status == 200, "only alice's inbox"
    print("--folder-error: inbox answers 503 ErrorMailboxStoreUnavailable, the rest works; latency applied")


def check_misc(port):
    """--resync-every 2 --expand-on-delta-fails --user-without-mailbox dan@example.com"""
    c = G.Client(port, "tok-app")
    first = c.get(U + "/mailFolders/inbox/messages/delta", {"Prefer": "odata.maxpagesize=5"}).json
    assert c.get(first["@odata.nextLink"]).status == 200            # token use 1
    r = c.get(first["@odata.nextLink"])                             # token use 2
    assert r.status == 410 and err(r)[0] == "resyncRequired", r.raw
    loc = r.header("location")
    assert loc.endswith("/messages/delta?$deltatoken="), loc
    got = G.follow(c, loc, {"Prefer": "odata.maxpagesize=500"})[0]  # the Location starts a full round
    assert len(got) > 20 and not any("@removed" in o for o in got), len(got)
    ext = "$expand=" + G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')")
    r = c.get(U + "/mailFolders/inbox/messages/delta?" + ext)
    assert r.status == 500 and err(r) == ("InternalServerError", "Value cannot be null.\r\nParameter name: type"), r.raw
    assert c.get(U + "/mailFolders/inbox/messages?" + ext).status == 200, "lists still expand"
    bad = G.q("singleValueExtendedProperties($filter=id eq 'Binary 0xZZ')")
    r = c.get(U + "/mailFolders/inbox/messages?$expand=" + bad)
    assert r.status == 400 and err(r)[0] == "ErrorInvalidExtendedProperty", r.raw
    r = c.get("/v1.0/users/dan@example.com/mailFolders")
    assert r.status == 404 and err(r)[0] == "MailboxNotEnabledForRESTAPI", r.raw
    print("resyncRequired with a Location that starts over; $expand on delta fails (500) as reported; "
          "a bad property id: ErrorInvalidExtendedProperty; a user without mailbox: MailboxNotEnabledForRESTAPI")


def check_http(port):
    """keep-alive, gzip, headers"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sizes = []
    for n in range(3):
        conn.request("GET", U + "/mailFolders/drafts/messages?$top=50",
                     headers={"Authorization": "Bearer tok-app", "Accept-Encoding": "gzip",
                              "client-request-id": "cr-%d" % n})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200 and r.getheader("Content-Encoding") == "gzip"
        assert r.getheader("client-request-id") == "cr-%d" % n and r.getheader("request-id")
        assert r.getheader("Content-Type").startswith("application/json") and r.getheader("OData-Version") == "4.0"
        sizes.append(len(body))
    conn.request("GET", U + "/mailFolders/drafts/messages?$top=50", headers={"Authorization": "Bearer tok-app"})
    r = conn.getresponse()
    plain = len(r.read())
    assert r.getheader("Content-Encoding") is None
    conn.request("POST", U + "/mailFolders", body=b"{}", headers={"Authorization": "Bearer tok-app",
                                                                   "Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 405 and json.loads(r.read())["error"]["code"]
    conn.request("GET", "/v1.0/users/alice@example.com/mailFolders", headers={"Authorization": "Bearer tok-app"})
    r = conn.getresponse()
    assert r.status == 200
    r.read()
    conn.close()
    print("keep-alive: 6 requests on one connection; gzip %d bytes vs %d plain; client-request-id echoed; "
          "POST refused (405)" % (sizes[0], plain))


if __name__ == "__main__":
    globals()["check_" + sys.argv[1]](int(sys.argv[2]))
