#!/bin/sh
# A batch whose manifest leaves the url column empty: each row's EWS URL is found by Autodiscover,
# once per domain in the run (the other rows of a domain, in parallel jobs too, wait for that one
# search and share its answer or its failure). Rows with a url keep it. A domain without
# Autodiscover fails its rows with the reason; the others are unaffected.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"
export RES_OPTIONS="timeout:1 attempts:1" # the last step's DNS SRV query: fail fast where DNS does not answer
make_fleet 6
# zed@other.example: the sixth fleet mailbox under another domain's address, with its own cache
for f in server cache; do sed 's/user06@fleet\.example/zed@other.example/' "$FLEET/${f}06.json" >"$WORK/zed-$f.json"; done
"$OSTWRITE" --expand "$WORK/zed-server.json" -o "$FLEET/zed.jsonl" || fail "ostwrite --expand zed"
"$OSTWRITE" "$WORK/zed-cache.json" --format ost4k -o "$FLEET/zed.ost" 2>/dev/null || fail "ostwrite zed.ost"
san=""
for d in fleet.example other.example nowhere.example; do san="$san,DNS:$d,DNS:autodiscover.$d,DNS:mail.$d"; done
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fleet.example" -addext "subjectAltName=${san#,}" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make the certificate"
tls_port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EWS="https://mail.fleet.example:$tls_port/EWS/Exchange.asmx"
cat >"$WORK/ad.json" <<EOF
{"hosts": {
  "fleet.example": {"pox": {"*": {"ews_url": "$EWS"}}},
  "autodiscover.other.example": {"pox": {"*": {"ews_url": "$EWS"}}}
}}
EOF
"$PY" "$SERVER" --port "$tls_port" --pid-file "$WORK/tls.pid" --mailbox-dir "$FLEET" --users "$WORK/users.json" \
	--autodiscover "$WORK/ad.json" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --log "$WORK/tls.log" \
	>"$WORK/tls.out" 2>"$WORK/tls.err" &
wait_listening tls $!
start_server plain --mailbox-dir "$FLEET" --users "$WORK/users.json" --autodiscover "$WORK/ad.json" --log "$WORK/plain.log"
plain="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
{
	echo "mailbox,cache,url,label"
	for k in 01 02 03 04; do echo "user$k@fleet.example,fleet/user$k.ost,,"; done
	echo "user05@fleet.example,fleet/user05.ost,$plain,given-url"
	echo "zed@other.example,fleet/zed.ost,,other-domain"
	echo "ann@nowhere.example,fleet/user01.ost,,nowhere-1"
	echo "ben@nowhere.example,fleet/user02.ost,,nowhere-2"
} >"$WORK/manifest.csv"
# The run's credentials go to the Autodiscover servers over https and to the EWS servers.
batch run "$WORK/manifest.csv" -o "$WORK/out" --jobs 4 --cacert "$WORK/cert.pem" \
	--connect-to ":443:127.0.0.1:$tls_port" --connect-to ":80:127.0.0.1:$PORT" \
	--resolve "mail.fleet.example:$tls_port:127.0.0.1" -v
[ "$RC" -eq 3 ] || { cat "$WORK/run.log"; fail "exit $RC, expected 3 (the nowhere.example rows fail)"; }
$PY - "$WORK/out/summary.json" "$WORK/tls.log" "$WORK/plain.log" <<'PY' || { cat "$WORK/run.log"; fail "the summary or the requests are not as expected"; }
import json, sys
s = json.load(open(sys.argv[1]))
rows = {e["label"] or e["mailbox"]: e for e in s["mailboxes"]}
for k in ("01", "02", "03"):
    e = rows["user%s@fleet.example" % k]
    assert e["status"] == "done" and e["verdict"] == "in_sync", e
e = rows["user04@fleet.example"]
assert e["status"] == "done" and e["verdict"] != "in_sync", e      # every fourth mailbox differs
assert rows["given-url"]["status"] == "done", rows["given-url"]
assert rows["other-domain"]["status"] == "done", rows["other-domain"]
errs = [rows["nowhere-1"]["error"], rows["nowhere-2"]["error"]]
assert all(r["status"] == "failed" for r in (rows["nowhere-1"], rows["nowhere-2"])), errs
assert all("Autodiscover found no EWS URL for " in e for e in errs), errs
assert all("GET http://autodiscover.nowhere.example/autodiscover/autodiscover.xml: HTTP 404" in e for e in errs), errs
assert sum("searched earlier in this run" in e for e in errs) == 1, errs   # one search for the domain
tls = [json.loads(l) for l in open(sys.argv[2])]
plain_log = lambda: [json.loads(l) for l in open(sys.argv[3])]
found = [r for r in tls if r["op"] == "Autodiscover-POX" and r["status"] == 200]
hosts = sorted(r["host"] for r in found)
assert hosts == ["autodiscover.other.example", "fleet.example"], hosts    # once per domain
nowhere = [r for r in tls if (r["op"] or "").startswith("Autodiscover") and "nowhere" in r["host"]]
assert len(nowhere) == 4, nowhere          # POX and SOAP at both names, once
assert [r["host"] for r in plain_log() if "nowhere" in r.get("host", "")] == ["autodiscover.nowhere.example"]
pulled = {r["mailbox"] for r in tls if r["op"] not in (None, "GET") and not r["op"].startswith("Autodiscover")}
assert pulled == {"user0%d@fleet.example" % k for k in (1, 2, 3, 4)} | {"zed@other.example"}, pulled
plain = [json.loads(l) for l in open(sys.argv[3])]
assert all(not r["credentials"] for r in plain if r["op"] == "Autodiscover-redirect"), plain
assert any(r["mailbox"] == "user05@fleet.example" for r in plain), "the given url was not used"
print("ok: %d rows; 2 Autodiscover answers for 2 domains, nowhere.example searched once for 2 rows" % len(rows))
PY
grep -q "the EWS URL found for fleet.example earlier in this run" "$WORK/run.log" || fail "-v does not say the cache answered"

# Again with --auth auto, one job at a time: the method is chosen once per server (one request
# without credentials to the EWS URL), the other mailboxes of that server take the same.
: >"$WORK/tls.log"
batch auto "$WORK/manifest.csv" -o "$WORK/out-auto" --redo --jobs 1 --auth auto --cacert "$WORK/cert.pem" \
	--connect-to ":443:127.0.0.1:$tls_port" --connect-to ":80:127.0.0.1:$PORT" \
	--resolve "mail.fleet.example:$tls_port:127.0.0.1" -v
[ "$RC" -eq 3 ] || { cat "$WORK/auto.log"; fail "auto: exit $RC, expected 3"; }
probes=$(grep '"op": "GET"' "$WORK/tls.log" | grep -c '"credentials": false')
[ "$probes" -eq 1 ] || fail "auto: $probes probes of the EWS URL for 5 mailboxes on it, expected 1"
[ "$(grep -c "using Basic (--auth auto)" "$WORK/auto.log")" -eq 1 ] &&
	[ "$(grep -c "Basic, as chosen for $EWS earlier in this run" "$WORK/auto.log")" -eq 4 ] ||
	fail "auto: the choice is not made once and reused: $(grep -i "basic" "$WORK/auto.log")"
$PY - "$WORK/out-auto/reports/user02@fleet.example.json" "$WORK/out-auto/summary.json" <<'PY' || fail "auto: reports"
import json, sys
r = json.load(open(sys.argv[1]))
opts = r["sides"][0]["options"]
assert opts["auth"] == "basic" and opts["auth_auto"] is True, opts
given = [e for e in json.load(open(sys.argv[2]))["mailboxes"] if e["label"] == "given-url"][0]
assert given["status"] == "failed" and "Basic would send the password unencrypted" in given["error"], given
PY
echo "ok auto: one probe for the 5 mailboxes of the server, Basic over https for all; the http:// row refused"
echo "batch: empty url columns found by Autodiscover once per domain; given urls kept; failures per row"
