#!/bin/sh
# Delta rounds: the first round lists every object once; tokens are bound to folder, kind and query
# options; after POST /_graph/advance the saved delta links return exactly the changes between the
# two snapshot files (created, updated, @removed, a move, folders removed, created and renamed);
# a token of a generation the server does not hold answers 410; --duplicate-every repeats objects
# across pages and SIGUSR1 advances like the admin endpoint.
. "$(dirname "$0")/lib.sh"
"$PY" "$MKFIX" --mailbox alice@example.com --items 300 -o "$WORK/a.jsonl" --later "$WORK/a2.jsonl" \
	--changes "$WORK/changes.json" || fail "mkfixture"
start_server delta --mailbox "$WORK/a.jsonl" --advance-to "$WORK/a2.jsonl" --tokens "$TOKENS"
"$PY" "$GRAPH_TESTS/delta.py" "$PORT" "$WORK/a.jsonl" "$WORK/a2.jsonl" "$WORK/changes.json" || fail "delta rounds"
stop_server "$SERVER_PID"

# A server that holds only the first snapshot does not know generation 1: 410 SyncStateNotFound.
start_server fresh --mailbox "$WORK/a.jsonl" --tokens "$TOKENS"
"$PY" - "$PORT" "$WORK/changes.json.round2" <<'PYEOF' || fail "410 for an unknown generation"
import sys, urllib.parse, gclient as G
port = int(sys.argv[1])
link = open(sys.argv[2]).read()
u = urllib.parse.urlsplit(link)
r = G.Client(port, "tok-app").get(u.path + "?" + u.query)
assert r.status == 410 and r.json["error"]["code"] == "SyncStateNotFound", (r.status, r.raw[:300])
print("a delta link of a generation the server does not hold: 410", r.json["error"]["message"])
PYEOF
stop_server "$SERVER_PID"

# Duplicates across pages; SIGUSR1 advances.
start_server dup --mailbox "$WORK/a.jsonl" --advance-to "$WORK/a2.jsonl" --tokens "$TOKENS" --duplicate-every 2 \
	--stats-file "$WORK/dup-stats.json"
"$PY" - "$PORT" "$WORK/a.jsonl" "$SERVER_PID" <<'PYEOF' || fail "duplicates"
import os, signal, sys, time, gclient as G
port, pid = int(sys.argv[1]), int(sys.argv[3])
_, folders, items = G.snapshot(sys.argv[2])
inbox = [f for f in folders.values() if f["role"] == "inbox"][0]
want = sorted(it["key"] for it in items if it["folder_id"] == inbox["id"] and not it.get("associated"))
c = G.Client(port, "tok-app")
got, last, pages = G.follow(c, "/v1.0/users/alice@example.com/mailFolders/inbox/messages/delta",
                            {"Prefer": "odata.maxpagesize=10"})
keys = [G.key_of_id(o["id"]) for o in got]
assert len(keys) == len(want) + (pages - 1) // 2, (len(keys), len(want), pages)
assert sorted(set(keys)) == want, "every message, some twice"
link = last.json["@odata.deltaLink"]
os.kill(pid, signal.SIGUSR1)
for _ in range(50):
    r = c.get(link)
    if r.json["value"]:
        break
    time.sleep(0.1)
assert r.json["value"], "SIGUSR1 did not advance the mailbox"
print("--duplicate-every 2: %d objects for %d messages over %d pages; SIGUSR1 advanced" % (len(keys), len(want), pages))
PYEOF
stop_server "$SERVER_PID"
grep -q '"duplicates": [1-9]' "$WORK/dup-stats.json" || fail "duplicates not counted"
