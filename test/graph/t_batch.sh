# A batch whose manifest mixes protocols: rows read over Microsoft Graph (api column, or no EWS URL)
# and rows over EWS (an on-premises URL), one application token for both; every mailbox gets the
# same verdict and findings as when the whole manifest is read over EWS, each report names its
# protocol, and the summary lists every row.
. "$(dirname "$0")/../batch/lib.sh"
make_fleet 6
# One token both test servers accept: an application that may act as every mailbox.
cat >"$WORK/users-app.json" <<'JSON'
{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}, {"name": "svc-app", "impersonate": ["*"]}]}
JSON
printf '{"tokens": [{"token": "tok-fleet", "user": "svc-app"}]}\n' >"$WORK/ews-tokens.json"
printf '{"tokens": [{"token": "tok-fleet", "app": "fleet-app"}]}\n' >"$WORK/graph-tokens.json"
printf 'tok-fleet\n' >"$WORK/tok"
chmod 600 "$WORK/tok"
start_server ews --mailbox-dir "$FLEET" --users "$WORK/users-app.json" --tokens "$WORK/ews-tokens.json"
ews="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
"$PY" "$ROOT/tools/graphserver/graphserver.py" --port 0 --mailbox-dir "$FLEET" --tokens "$WORK/graph-tokens.json" \
	>"$WORK/graph.out" 2>"$WORK/graph.err" &
wait_listening graph $!
graph="http://127.0.0.1:$PORT/v1.0"

{
	echo "mailbox,cache,url,api"
	echo "user01@fleet.example,fleet/user01.ost,,graph"
	echo "user02@fleet.example,fleet/user02.ost,$ews,graph"
	echo "user03@fleet.example,fleet/user03.ost,,"
	echo "user04@fleet.example,fleet/user04.ost,$ews,"
	echo "user05@fleet.example,fleet/user05.ost,$ews,ews"
	echo "user06@fleet.example,fleet/user06.ost,,auto"
	echo "user01@fleet.example,fleet/user01.ost,,carrier-pigeon"
} >"$WORK/mixed.csv"
{
	echo "mailbox,cache,url"
	for k in 01 02 03 04 05 06; do echo "user$k@fleet.example,fleet/user$k.ost,$ews"; done
} >"$WORK/ews.csv"

timeout 600 "$OSTRECON" batch "$WORK/mixed.csv" -o "$WORK/mixed" --token-file "$WORK/tok" --impersonate \
	--graph-url "$graph" --jobs 3 --no-progress >"$WORK/mixed.log" 2>&1
rc=$?
grep -q "api is not ews, graph or auto" "$WORK/mixed.log" || { cat "$WORK/mixed.log"; fail "the bad api value is not named"; }
timeout 600 "$OSTRECON" batch "$WORK/ews.csv" -o "$WORK/allews" --auth basic --user svc --password-file "$WORK/svc.pw" \
	--impersonate --jobs 3 --no-progress >"$WORK/allews.log" 2>&1
[ $? -le 2 ] || { cat "$WORK/allews.log"; fail "the all-EWS batch failed"; }
[ $rc -le 3 ] || { cat "$WORK/mixed.log"; fail "mixed batch: exit $rc"; }
"$PY" - "$WORK/mixed" "$WORK/allews" <<'PY' || fail "the mixed batch differs from the all-EWS one"
import json, os, sys
mixed, allews = sys.argv[1], sys.argv[2]
ms = {e["line"]: e for e in json.load(open(os.path.join(mixed, "summary.json")))["mailboxes"]}
es = {e["mailbox"]: e for e in json.load(open(os.path.join(allews, "summary.json")))["mailboxes"]}
assert len(ms) == 7, sorted(ms)
assert ms[8]["status"] == "bad_row", ms[8]
want = {2: "graph", 3: "graph", 4: "graph", 5: "ews", 6: "ews", 7: "graph"}
for line, proto in want.items():
    e = ms[line]
    assert e["status"] == "done", (line, e["status"], e["error"])
    rep = json.load(open(e["report"]))
    src = rep["sides"][0]["source"]
    assert src == proto, (line, src, proto)
    ref = es[e["mailbox"]]
    assert (e["verdict"], e["findings"], e["items"]) == (ref["verdict"], ref["findings"], ref["items"]), (line, e, ref)
print("mixed batch: 6 mailboxes (%d over Graph, %d over EWS) as over EWS alone; the bad row named"
      % (sum(1 for p in want.values() if p == "graph"), sum(1 for p in want.values() if p == "ews")))
PY
