#!/usr/bin/python3
"""Pulls a whole mailbox from the test Graph server the way a sync client does: folders by delta,
then every folder's items by delta, with THREADS workers (largest folders first), gzip,
odata.maxpagesize PAGE, the source key, change key and message flags as extended properties.
Prints requests, items, seconds, requests/s, items/s and the bytes received.

    graph_pull.py PORT ADDRESS mailbox|mail THREADS PAGE
"""

import os
import queue
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "graphserver"))
import gclient as G  # noqa: E402

EXT = G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0' or id eq 'Binary 0x65E2' or "
          "id eq 'Integer 0x0E07')")


def main():
    port, addr, api, threads, page = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    prefer = {"Prefer": "odata.maxpagesize=%d" % page}
    c = G.Client(port, "bench-token")
    t0 = time.monotonic()
    if api == "mailbox":
        mbx = c.get("/v1.0/users/%s/settings/exchange" % addr).json["primaryMailboxId"]
        base = "/v1.0/admin/exchange/mailboxes/%s/folders" % mbx
        folders = G.follow(c, base + "/delta", prefer)[0]
        first = base + "/{fid}/items/delta?$select=type,changeKey&$expand=" + EXT
    else:
        base = "/v1.0/users/%s/mailFolders" % addr
        folders = G.follow(c, base + "/delta", prefer)[0]
        first = base + "/{fid}/messages/delta?$select=subject,isRead,flag,receivedDateTime,changeKey&$expand=" + EXT
    q = queue.Queue()
    for f in sorted(folders, key=lambda f: -f.get("totalItemCount", 0)):
        q.put(f["id"])
    totals = {"items": 0, "requests": c.requests, "bytes": 0}
    lock = threading.Lock()

    failed = []

    def worker():
        try:
            pull()
        except Exception as e:
            failed.append(repr(e)[:300])

    def pull():
        w = G.Client(port, "bench-token")
        n = b = 0
        while True:
            try:
                fid = q.get_nowait()
            except queue.Empty:
                break
            url = first.replace("{fid}", fid)
            while url:
                r = w.get(url, prefer)
                assert r.status == 200, (r.status, r.raw[:200])
                n += len(r.json["value"])
                b += len(r.raw)
                url = r.json.get("@odata.nextLink")
        with lock:
            totals["items"] += n
            totals["requests"] += w.requests
            totals["bytes"] += b
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    if failed:
        print("graph_pull: %s" % failed[0])
        return 1
    print("%s API, %d threads, %d a page: %d requests, %d items in %.2f s: %.0f requests/s, %.0f items/s, "
          "%.1f MB of JSON" % (api, threads, page, totals["requests"], totals["items"], dt, totals["requests"] / dt,
                               totals["items"] / dt, totals["bytes"] / 1e6))


if __name__ == "__main__":
    sys.exit(main())
