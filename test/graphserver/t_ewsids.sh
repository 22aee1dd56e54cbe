#!/bin/sh
# One fixture, two servers: tools/ewsserver and tools/graphserver serve the same mailbox file with
# the same ids and change keys. Every folder's and item's Graph REST id is its EWS id in Graph's id
# alphabet ('+' as '_', '/' as '-'), every item's Graph changeKey is its EWS ChangeKey, and the
# source key Graph returns as 0x65E0 is the one both ids carry.
. "$(dirname "$0")/lib.sh"
EWSDATA="$ROOT/test/ews/data"
"$PY" "$MKFIX" --mailbox alice@example.com --items 200 -o "$WORK/alice.jsonl" || fail "mkfixture"
start_server graph --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS"
GPORT=$PORT
"$PY" "$ROOT/tools/ewsserver/ewsserver.py" --port 0 --mailbox "$WORK/alice.jsonl" --users "$EWSDATA/users.json" \
	--pid-file "$WORK/ews.pid" >"$WORK/ews.out" 2>"$WORK/ews.err" &
SERVER_PIDS="$SERVER_PIDS $!"
i=0
while ! grep -q '^listening on ' "$WORK/ews.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 300 ] && { cat "$WORK/ews.err"; fail "ewsserver did not start"; }
	sleep 0.1
done
EPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/ews.out" | head -n 1)
PYTHONPATH="$ROOT/test/ews:$PYTHONPATH" "$PY" - "$GPORT" "$EPORT" <<'PYEOF' || fail "ids differ between the servers"
import sys, ewsclient as X, gclient as G
gport, eport = int(sys.argv[1]), int(sys.argv[2])
ews = X.Client(eport, "alice", "alice-pw-1")
st, root, _, _ = ews.call(X.find_folder("root", "Deep", "IdOnly"))
assert st == 200, st
efolders = [e.get("Id") for e in root.iter(X.T + "FolderId")]
st, root, _, _ = ews.call(X.get_folder(["root"], "IdOnly"))
efolders += [e.get("Id") for e in root.iter(X.T + "FolderId")]   # FindFolder Deep lists what is below it
eitems = {}
for fid in efolders:
    off = 0
    while True:
        st, root, _, _ = ews.call(X.find_item(("id", fid), maxn=1000, offset=off))
        got = [(e.get("Id"), e.get("ChangeKey")) for e in root.iter(X.T + "ItemId")]
        for i, ck in got:
            eitems[i] = ck
        if len(got) < 1000:
            break
        off += 1000
graph_alpha = lambda s: s.replace("+", "_").replace("/", "-")
c = G.Client(gport, "tok-app")
mbx = c.get("/v1.0/users/alice@example.com/settings/exchange").json["primaryMailboxId"]
M = "/v1.0/admin/exchange/mailboxes/" + mbx
gfolders = G.follow(c, M + "/folders/delta", {"Prefer": "odata.maxpagesize=100"})[0]
assert sorted(f["id"] for f in gfolders) == sorted(graph_alpha(f) for f in efolders), "folder ids"
ext = G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')")
n = 0
want = {graph_alpha(i): ck for i, ck in eitems.items()}
for f in gfolders:
    for it in G.follow(c, M + "/folders/%s/items/delta?$select=changeKey&$expand=%s" % (f["id"], ext),
                       {"Prefer": "odata.maxpagesize=500"})[0]:
        assert it["id"] in want, "a Graph item id the EWS server does not have"
        assert it["changeKey"] == want[it["id"]], (it["changeKey"], want[it["id"]])
        sk = [p["value"] for p in it["singleValueExtendedProperties"] if p["id"] == "Binary 0x65e0"][0]
        assert G.b64any(sk).hex() == G.key_of_id(it["id"]) == X.decode_key(it["id"].replace("_", "+").replace("-", "/"))
        n += 1
assert n == len(eitems), (n, len(eitems))
print("%d folders and %d items: Graph ids = EWS ids in Graph's alphabet, changeKey = ChangeKey, 0x65E0 = the "
      "key in both ids" % (len(gfolders), n))
PYEOF
