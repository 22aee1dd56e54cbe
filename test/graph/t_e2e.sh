# `ostrecon server --api graph` against the test Graph server: the mailbox API and the mail API
# give the mailbox as served; keys come from PidTagSourceKey or, when the server returns none,
# from the ids; where the server refuses extended properties on delta rounds, or the mailbox API,
# the pull goes another way and says so; and the Graph snapshot compares in sync with the EWS
# snapshot of the same mailbox.
. "$(dirname "$0")/lib.sh"
demo_mailbox
TOK=$(secret_file app.tok tok-app)
start_server g --mailbox "$MBX" --tokens "$TOKENS" --log "$WORK/g.log"

gclient mbx --mailbox "$ADDR" --token-file "$TOK"
expect_rc 0 "mailbox API"
compare "$MBX" "$WORK/mbx.jsonl"
grep -q '"op":\|ItemsDelta\|items/delta' "$WORK/g.log" || true
# every request asked for immutable ids, and item ids are immutable ids
grep -c '"type":"item","id":"AAkAL' "$WORK/mbx.jsonl" | grep -qv '^0$' || fail "item ids are not immutable ids"
[ "$(grep -c '"type":"item"' "$WORK/mbx.jsonl")" -eq "$(grep -c '"type":"item","id":"AAkAL' "$WORK/mbx.jsonl")" ] ||
	fail "some item ids are not immutable ids"

gclient mail --mailbox "$ADDR" --token-file "$TOK" --graph-api mail
expect_rc 0 "mail API"
compare "$MBX" "$WORK/mail.jsonl" --mail-api

gclient nodelta --mailbox "$ADDR" --token-file "$TOK" --no-delta
expect_rc 0 "plain listings"
compare "$MBX" "$WORK/nodelta.jsonl"
grep -q '"paging":"list"' "$WORK/nodelta.jsonl" || fail "the header does not say the items were listed"
stop_server "$SERVER_PID"

# No PidTagSourceKey from the server: every key from the ids (REST ids of folders, immutable ids).
start_server nokey --mailbox "$MBX" --tokens "$TOKENS" --no-source-key
gclient nokey --mailbox "$ADDR" --token-file "$TOK"
expect_rc 0 "no source keys"
compare "$MBX" "$WORK/nokey.jsonl" --keys-from-ids
stop_server "$SERVER_PID"

# Extended properties refused on delta rounds (as real Graph has done): plain listings instead.
start_server noexp --mailbox "$MBX" --tokens "$TOKENS" --expand-on-delta-fails --log "$WORK/noexp.log"
gclient noexp --mailbox "$ADDR" --token-file "$TOK"
expect_rc 0 "expand refused on delta"
expect_log "refuses extended properties on delta rounds" "expand refused on delta"
compare "$MBX" "$WORK/noexp.jsonl"
grep -q '"paging":"delta+list"' "$WORK/noexp.jsonl" || fail "the header does not say items were listed"
# the refusal was met once, not once per folder or per retry
n=$(grep -c '"status": *500' "$WORK/noexp.log")
[ "$n" -eq 1 ] || fail "the refused delta was asked $n times"
stop_server "$SERVER_PID"

# The mailbox API refused: the mail API, said on stderr and in the header.
start_server nombx --mailbox "$MBX" --tokens "$TOKENS" --refuse-mailbox-api "$ADDR"
gclient nombx --mailbox "$ADDR" --token-file "$TOK"
expect_rc 0 "mailbox API refused"
expect_log "through the mail API" "mailbox API refused"
compare "$MBX" "$WORK/nombx.jsonl" --mail-api
gclient nombx2 --mailbox "$ADDR" --token-file "$TOK" --graph-api mailbox
expect_rc 3 "mailbox API refused, and asked for alone"
stop_server "$SERVER_PID"

# The same mailbox over EWS: the two snapshots compare in sync.
printf '{"users": [{"name": "dana", "password": "pw", "mailbox": "%s"}]}\n' "$ADDR" >"$WORK/users.json"
PW=$(secret_file pw pw)
"$PY" "$ROOT/tools/ewsserver/ewsserver.py" --port 0 --mailbox "$MBX" --users "$WORK/users.json" \
	>"$WORK/ews.out" 2>"$WORK/ews.err" &
SERVER_PIDS="$SERVER_PIDS $!"
i=0
while ! grep -q '^listening on ' "$WORK/ews.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the EWS server did not start"; sleep 0.1
done
EPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/ews.out")
"$OSTRECON" server --url "http://127.0.0.1:$EPORT/EWS/Exchange.asmx" --mailbox "$ADDR" --auth basic --user dana \
	--password-file "$PW" --no-progress -q -o "$WORK/ews.jsonl" || fail "the EWS pull failed"
"$OSTRECON" diff "$WORK/ews.jsonl" "$WORK/mbx.jsonl" --json >"$WORK/d1.json"
[ $? -eq 0 ] || fail "the EWS and Graph snapshots do not compare in sync"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["verdict"]=="in_sync" else 1)' "$WORK/d1.json" ||
	fail "EWS vs Graph: not in_sync"
"$OSTRECON" diff "$WORK/ews.jsonl" "$WORK/nokey.jsonl" -q >/dev/null || fail "EWS vs Graph without source keys: not in sync"
# the mail API's snapshot: what it could not list is unverified, never missing
"$OSTRECON" diff "$WORK/ews.jsonl" "$WORK/mail.jsonl" --json >"$WORK/d2.json"
"$PY" - "$WORK/d2.json" <<'PY' || fail "EWS vs the mail API"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [f for f in r["findings"] if not f["expected"]]
if bad:
    sys.exit("findings: %s" % [(f["kind"], f.get("folder")) for f in bad])
PY
echo "Graph: mailbox API, mail API, plain listings, keys from ids, refused expand and refused mailbox API all as served"
