#!/usr/bin/python3
"""Hostile requests: random and mutated paths, query strings, ids, tokens and headers. Every answer
must be a complete HTTP response with a JSON body (Graph's error shape when it is an error), never
a 500, a dropped connection or a hang; the server still answers normally afterwards.

    robust.py PORT SEED COUNT
"""

import http.client
import json
import random
import sys
import urllib.parse

import gclient as G

PIECES = ["v1.0", "users", "alice@example.com", "me", "mailFolders", "inbox", "messages", "delta", "delta()",
          "childFolders", "admin", "exchange", "mailboxes", "folders", "items", "settings", "calendars", "events",
          "contactFolders", "contacts", "microsoft.graph.delta()", "mailFolders('inbox')", "%00", "..", "%2F",
          "AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQAuAAAAAADbrwBIJbBSTKolRbhHUzSHAQCQ2fKdhq8oSKEDSVrdi3lRAAACgfP_AAA=",
          "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A", "MBX:x@y", "'", "(", ")", "%", "\u00e9", "x" * 3000]
OPTIONS = ["$select", "$expand", "$top", "$skip", "$count", "$filter", "$orderby", "$skiptoken", "$deltatoken",
           "$search", "includeHiddenFolders", "changeType", "$SELECT", "$", "x"]
VALUES = ["", "subject", "id,subject", "-1", "0", "99999999999999999999", "true", "maybe", "'", "(((",
          "singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')", "singleValueExtendedProperties($filter=",
          "receivedDateTime ge 2020-01-01T00:00:00Z", "receivedDateTime ge x", "A" * 9000, "eJw1jV0K", "%ZZ", "\x00"]


def main():
    port, seed, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(seed)
    real = G.Client(port, "tok-app")
    links = []
    r = real.get("/v1.0/users/alice@example.com/mailFolders/inbox/messages/delta", {"Prefer": "odata.maxpagesize=3"})
    links.append(r.json["@odata.nextLink"])
    statuses = {}
    for n in range(count):
        kind = rnd.random()
        if kind < 0.3 and links:
            u = urllib.parse.urlsplit(rnd.choice(links))
            q = u.query
            if q:
                i = rnd.randrange(len(q))
                q = q[:i] + rnd.choice("A_-=%&$x") + q[i + 1:]
            path = u.path + "?" + q
        else:
            segs = [rnd.choice(PIECES) for _ in range(rnd.randint(0, 8))]
            if rnd.random() < 0.8:
                segs = ["v1.0"] + segs
            path = "/" + "/".join(urllib.parse.quote(s, safe="@:()'$%.") for s in segs)
            if rnd.random() < 0.6:
                path += "?" + "&".join("%s=%s" % (urllib.parse.quote(rnd.choice(OPTIONS), safe="$"),
                                                  urllib.parse.quote(rnd.choice(VALUES), safe="$(),='"))
                                       for _ in range(rnd.randint(1, 4)))
        headers = {"Authorization": rnd.choice(["Bearer tok-app", "Bearer tok-alice", "Bearer ", "Basic eA==",
                                                "Bearer " + "x" * 5000, "bearer tok-app"])}
        if rnd.random() < 0.3:
            headers["Prefer"] = rnd.choice(['odata.maxpagesize=abc', 'IdType="Immutable"', 'odata.maxpagesize=-5',
                                           ",,,", 'IdType="ImmutableId", odata.maxpagesize=2'])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            conn.request(rnd.choice(["GET", "GET", "GET", "POST", "HEAD"]), path, headers=headers)
            r = conn.getresponse()
            body = r.read()
        except Exception as e:
            raise AssertionError("request %d %s: %r" % (n, path[:200], e))
        finally:
            conn.close()
        statuses[r.status] = statuses.get(r.status, 0) + 1
        assert r.status < 500, (n, path[:200], r.status, body[:300])
        if body:
            d = json.loads(body)
            if r.status >= 400:
                assert isinstance(d.get("error", {}).get("code"), str), body[:200]
            elif "@odata.nextLink" in d and "token" in d["@odata.nextLink"]:
                links.append(d["@odata.nextLink"])
    assert real.get("/v1.0/users/alice@example.com/mailFolders").status == 200
    print("%d hostile requests: statuses %s; none failed the server" % (count, dict(sorted(statuses.items()))))


if __name__ == "__main__":
    main()
