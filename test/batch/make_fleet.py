#!/usr/bin/python3
"""Writes the fixtures of a fleet of mailboxes for the batch tests.
Usage: make_fleet.py DIR N [ITEMS]   (ITEMS messages per mailbox, default 120, plus 10 appointments)
For mailbox i (user01..userNN@fleet.example): DIR/serverNN.json and DIR/cacheNN.json. Every fourth
mailbox differs (the server holds three recent messages the cache lacks); the others are in sync."""
import json, os, sys

out, n = sys.argv[1], int(sys.argv[2])
per = int(sys.argv[3]) if len(sys.argv) > 3 else 120
os.makedirs(out, exist_ok=True)
for i in range(1, n + 1):
    base = {
        "mailbox": "user%02d@fleet.example" % i,
        "seed": 100 + i,
        "folders": [{"name": "Projects", "parent": "inbox"}],
        "items": [],
        "generate": [
            {"items": per, "in": ["inbox", "Inbox/Projects", "sentitems"], "from": "2026-01-01T00:00:00Z",
             "to": "2026-11-01T00:00:00Z", "read": 0.8, "subject": "Message {n}", "body_size": 200},
            {"items": 10, "in": "calendar", "class": "IPM.Appointment", "from": "2026-01-01T00:00:00Z",
             "to": "2026-12-01T00:00:00Z", "subject": "Meeting {n}", "message_id": False},
        ],
    }
    cache = json.loads(json.dumps(base))
    server = json.loads(json.dumps(base))
    if i % 4 == 0:
        server["items"] = [{"folder": "inbox", "subject": "New %d" % k, "key": {"replica": 0, "gc": 0x700000 + k},
                            "received": "2026-11-1%dT09:00:00Z" % k, "read": False} for k in range(3)]
    json.dump(server, open(os.path.join(out, "server%02d.json" % i), "w"), indent=1)
    json.dump(cache, open(os.path.join(out, "cache%02d.json" % i), "w"), indent=1)
