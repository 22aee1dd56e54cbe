#!/bin/sh
# Autodiscover against the test EWS server, which answers POX, the HTTP redirect method and SOAP
# GetUserSettings per host name. The client reaches every name (contoso.example, ...) through
# --connect-to (any host on port 443 to the HTTPS server, port 80 to the plain one) and --resolve,
# and verifies a certificate made here for those names (--cacert). Covered: each method, the
# second POX URL, a redirectAddr + redirectUrl chain, a URL loop and an address loop (stopped),
# more than 10 redirects (stopped), redirects to http:// (refused, never followed), a domain with
# no Autodiscover (clear error, exit 3), an Exchange Online answer (Graph), and a whole pull
# without --url. No credentials ever reach the plain-http server.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is not installed"
# The last step asks DNS for an SRV record; where DNS does not answer, fail fast.
export RES_OPTIONS="timeout:1 attempts:1"
$PY "$GEN" --mailbox alice@contoso.example --folders 12 --items 120 --seed 21 -o "$WORK/alice.jsonl" || fail "genmailbox"
printf '{"users": [{"name": "alice", "password": "alice-ad-pw", "mailbox": "alice@contoso.example"}]}\n' >"$WORK/users.json"
pw=$(secret_file pw alice-ad-pw)

# One certificate for every name the servers play.
domains="contoso.example fabrikam.example chain.example relay.example hub.example loop.example ping.example
pong.example redir.example badredir.example plainurl.example plainews.example soap.example soap2.example nowhere.example
online.example"
san=""
for d in $domains; do san="$san,DNS:$d,DNS:autodiscover.$d,DNS:mail.$d"; done
i=0; while [ $i -le 11 ]; do san="$san,DNS:hop$i.example"; i=$((i + 1)); done
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=contoso.example" -addext "subjectAltName=${san#,}" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make the certificate"

# The HTTPS server plays every https:// name; the plain one the http:// names (the HTTP redirect
# method). The EWS URL handed out names a port of its own, reached with --resolve.
tls_port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EWS="https://mail.contoso.example:$tls_port/EWS/Exchange.asmx"
AD=/autodiscover/autodiscover.xml
hops=""
i=0; while [ $i -le 11 ]; do
	hops="$hops, \"hop$i.example\": {\"pox\": {\"*\": {\"redirect_url\": \"https://hop$((i + 1)).example$AD\"}}}"
	i=$((i + 1))
done
cat >"$WORK/ad.json" <<EOF
{"hosts": {
  "contoso.example": {"pox": {"*": {"ews_url": "$EWS", "internal_ews_url": "https://internal.contoso.example/EWS/Exchange.asmx",
                                    "version": "15.1.2507.6"}}},
  "autodiscover.fabrikam.example": {"pox": {"*": {"ews_url": "$EWS", "version": "15.2.1544.4"}}},
  "chain.example": {"pox": {"*": {"redirect_addr": "{local}@relay.example"}}},
  "relay.example": {"pox": {"*": {"redirect_url": "https://hub.example$AD"}}},
  "hub.example": {"pox": {"*": {"ews_url": "$EWS", "version": "15.2.2562.17"}}},
  "loop.example": {"pox": {"*": {"redirect_url": "https://autodiscover.loop.example$AD"}}},
  "autodiscover.loop.example": {"pox": {"*": {"status": 302, "location": "https://loop.example$AD"}}},
  "ping.example": {"pox": {"*": {"redirect_addr": "{local}@pong.example"}}},
  "pong.example": {"pox": {"*": {"redirect_addr": "{local}@ping.example"}}},
  "autodiscover.redir.example": {"redirect": "https://hub.example$AD"},
  "autodiscover.badredir.example": {"redirect": "http://mail.badredir.example$AD"},
  "plainurl.example": {"pox": {"*": {"redirect_url": "http://mail.plainurl.example$AD"}}},
  "plainews.example": {"pox": {"*": {"ews_url": "http://mail.plainews.example/EWS/Exchange.asmx"}}},
  "soap.example": {"soap": {"*": {"redirect_addr": "{local}@soap2.example"}}},
  "autodiscover.soap2.example": {"soap": {"*": {"ews_url": "$EWS", "version": "15.2.1544.4"}}},
  "online.example": {"pox": {"*": {"ews_url": "https://outlook.office365.com/EWS/Exchange.asmx", "version": "15.20.7741.0"}}}
  $hops
}}
EOF
"$PY" "$SERVER" --port "$tls_port" --pid-file "$WORK/tls.pid" --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json" \
	--autodiscover "$WORK/ad.json" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --log "$WORK/tls.log" \
	>"$WORK/tls.out" 2>"$WORK/tls.err" &
wait_listening tls $!
start_server plain --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json" --autodiscover "$WORK/ad.json" \
	--log "$WORK/plain.log"
plain_port=$PORT
MAP="--cacert $WORK/cert.pem --connect-to :443:127.0.0.1:$tls_port --connect-to :80:127.0.0.1:$plain_port
--resolve mail.contoso.example:$tls_port:127.0.0.1"

# discover NAME ADDRESS [ARGS]: --autodiscover-only -v for ADDRESS, as alice; output in NAME.log
discover() {
	n=$1 addr=$2; shift 2
	# shellcheck disable=SC2086
	client "$n" --autodiscover-only -v --mailbox "$addr" --user alice --password-file "$pw" $MAP "$@"
}
# field NAME KEY: a line of --autodiscover-only's answer
field() { sed -n "s/^$2: //p" "$WORK/$1.log"; }
# tried NAME PATTERN: the -v log shows an attempt matching PATTERN
tried() { grep -q "Autodiscover: $2" "$WORK/$1.log" || fail "$1: no attempt '$2' in -v: $(grep Autodiscover "$WORK/$1.log")"; }
# stopped NAME PATTERN: exit 3 and an error matching PATTERN
stopped() {
	expect_rc 3 "$1"
	grep -q "error: .*$2" "$WORK/$1.log" || fail "$1: no error '$2': $(cat "$WORK/$1.log")"
	echo "ok $1: exit 3, $(grep -o 'error: .*' "$WORK/$1.log" | cut -c1-150)..."
}

# 1. POX at https://DOMAIN: the external EWS URL (EXPR) over the internal one, the server version.
discover pox alice@contoso.example
expect_rc 0 "POX"
[ "$(field pox ews_url)" = "$EWS" ] || fail "POX: ews_url '$(field pox ews_url)', expected $EWS"
[ "$(field pox server_version)" = "15.1.2507 (Exchange 2016)" ] || fail "POX: server_version '$(field pox server_version)'"
field pox found_by | grep -q "^pox, https://contoso.example$AD" || fail "POX: found_by '$(field pox found_by)'"
[ "$(field pox api)" = ews ] || fail "POX: api '$(field pox api)'"
tried pox "POX https://contoso.example$AD: EWS URL $EWS"
echo "ok pox: $(field pox ews_url), $(field pox server_version)"

# 2. POX at https://autodiscover.DOMAIN after https://DOMAIN answers 404.
discover pox2 bob@fabrikam.example
expect_rc 0 "POX, second URL"
tried pox2 "POX https://fabrikam.example$AD: HTTP 404"
field pox2 found_by | grep -q "^pox, https://autodiscover.fabrikam.example$AD" || fail "pox2: found_by '$(field pox2 found_by)'"
[ "$(field pox2 server_version)" = "15.2.1544 (Exchange 2019)" ] || fail "pox2: server_version '$(field pox2 server_version)'"
echo "ok pox2: the second POX URL, after HTTP 404 at the first"

# 3. A chain: redirectAddr to another domain, then redirectUrl to a third host.
discover chain carol@chain.example
expect_rc 0 "redirect chain"
tried chain "POX https://chain.example$AD: redirected to the address carol@relay.example"
tried chain "POX https://relay.example$AD: redirected to https://hub.example$AD"
field chain found_by | grep -q "^pox, https://hub.example$AD, as carol@relay.example" || fail "chain: found_by '$(field chain found_by)'"
[ "$(field chain server_version)" = "15.2.2562 (Exchange Server Subscription Edition)" ] || fail "chain: version '$(field chain server_version)'"
echo "ok chain: chain.example -> carol@relay.example -> hub.example"

# 4. Loops and too many redirects stop the search.
discover loop dave@loop.example
stopped loop "redirect loop: https://loop.example$AD was asked twice"
discover pingpong erin@ping.example
stopped pingpong "redirect loop: the address erin@ping.example was redirected back"
discover hops frank@hop0.example
stopped hops "stopped after 10 redirects"
[ "$(grep -c '"host": "hop' "$WORK/tls.log")" -le 22 ] || fail "hops: more requests than 11 hops allow"

# 5. The HTTP redirect method: a GET without credentials over http, its 302 to https followed
#    (said without -v), and POX there.
client redir --autodiscover-only --mailbox gina@redir.example --user alice --password-file "$pw" $MAP
expect_rc 0 "HTTP redirect method"
grep -q "the HTTP redirect method, over plain http) points at https://hub.example$AD: following it" "$WORK/redir.log" ||
	fail "redir: the user was not told: $(cat "$WORK/redir.log")"
field redir found_by | grep -q "^http-redirect, https://hub.example$AD" || fail "redir: found_by '$(field redir found_by)'"
echo "ok redir: http://autodiscover.redir.example -> 302 -> https://hub.example, told on stderr"

# 6. Redirects to http:// are refused, never followed: the HTTP method's 302, a POX redirectUrl.
discover badredir hank@badredir.example
stopped badredir "found no EWS URL for hank@badredir.example"
grep -q "HTTP 302 to http://mail.badredir.example$AD: refused" "$WORK/badredir.log" || fail "badredir: no refusal: $(cat "$WORK/badredir.log")"
discover plainurl ida@plainurl.example
stopped plainurl "found no EWS URL"
grep -q "POX http://mail.plainurl.example$AD: refused: credentials are sent over https only" "$WORK/plainurl.log" ||
	fail "plainurl: no refusal: $(cat "$WORK/plainurl.log")"
grep -q '"host": "mail\.' "$WORK/plain.log" && fail "a redirect to http:// was followed: $(grep mail. "$WORK/plain.log")"
discover plainews liv@plainews.example
stopped plainews "found no EWS URL"
grep -q "the EWS URL in the answer, http://mail.plainews.example/EWS/Exchange.asmx, is not https://: refused" "$WORK/plainews.log" ||
	fail "plainews: an http:// EWS URL was not refused: $(cat "$WORK/plainews.log")"

# 7. SOAP GetUserSettings, with a RedirectAddress to another domain.
discover soap jo@soap.example
expect_rc 0 "SOAP"
tried soap "SOAP https://soap.example/autodiscover/autodiscover.svc: redirected to the address jo@soap2.example"
field soap found_by | grep -q "^soap, https://autodiscover.soap2.example/autodiscover/autodiscover.svc, as jo@soap2.example" ||
	fail "soap: found_by '$(field soap found_by)'"
[ "$(field soap server_version)" = "15.2.1544.4 (Exchange 2019)" ] || fail "soap: version '$(field soap server_version)'"
echo "ok soap: GetUserSettings after POX and the HTTP method found nothing"

# 8. A domain with no Autodiscover at all: every step is named, exit 3, nothing written.
client nowhere --mailbox kim@nowhere.example --user alice --password-file "$pw" $MAP -o "$WORK/nowhere.jsonl"
stopped nowhere "Autodiscover found no EWS URL for kim@nowhere.example, give it with --url (tried: POX https://nowhere.example$AD: HTTP 404"
for what in "POX https://autodiscover.nowhere.example$AD" "GET http://autodiscover.nowhere.example$AD" \
	"SOAP https://nowhere.example/autodiscover/autodiscover.svc" "SOAP https://autodiscover.nowhere.example"; do
	grep -q "$what" "$WORK/nowhere.log" || fail "nowhere: '$what' not named: $(cat "$WORK/nowhere.log")"
done
[ ! -e "$WORK/nowhere.jsonl" ] || fail "nowhere: a snapshot was written"

# 9. An answer pointing at Exchange Online: --api auto takes Microsoft Graph for that mailbox.
discover online lee@online.example
expect_rc 0 "Exchange Online answer"
field online api | grep -q "^graph" || fail "online: api '$(field online api)'"
client online-pull --mailbox lee@online.example --user alice --password-file "$pw" $MAP -o "$WORK/online.jsonl"
stopped online-pull "lee@online.example is in Exchange Online (Autodiscover found https://outlook.office365.com/EWS/Exchange.asmx): --api auto reads it over Microsoft Graph"

# A wrong password: refused at the first server, and the search stops there (trying it at every
# next URL would only count towards locking the account).
refusals() { grep -c '"credentials": true.*"status": 401' "$WORK/tls.log"; }
before=$(refusals)
client wrongpw --autodiscover-only --mailbox alice@contoso.example --user alice \
	--password-file "$(secret_file bad not-the-password)" $MAP
stopped wrongpw "Autodiscover stopped at https://contoso.example$AD: Basic authentication failed: the server refused the credentials"
[ $(($(refusals) - before)) -eq 1 ] || fail "wrongpw: the wrong password was sent $(($(refusals) - before)) times, expected once"

# 10. The credentials: over TLS only. The plain server never saw any; the HTTPS one saw them only
#     after its 401 (--auth auto), as Basic.
$PY - "$WORK/plain.log" "$WORK/tls.log" <<'PYEOF' || fail "credentials check"
import json, sys
plain = [json.loads(l) for l in open(sys.argv[1])]
tls = [json.loads(l) for l in open(sys.argv[2])]
assert plain and all(r["op"] == "Autodiscover-redirect" and not r["credentials"] for r in plain), [
    r for r in plain if r["credentials"] or r["op"] != "Autodiscover-redirect"]
pox = [r for r in tls if r["op"] in ("Autodiscover-POX", "Autodiscover-SOAP")]
assert pox and {r["auth"] for r in pox if r["credentials"] and r["status"] != 401} == {"basic"}, "methods"
assert all(r["status"] in (401, 404) for r in pox if not r["credentials"]), "an answer without credentials"
print("ok credentials: %d plain-http requests, none with credentials; %d Autodiscover requests over https"
      % (len(plain), len(pox)))
PYEOF

# 11. The whole pull without --url: the EWS URL found, reached with --resolve, the mailbox equal.
mkdir "$WORK/trace"
client pull --mailbox alice@contoso.example --user alice --password-file "$pw" $MAP -v --trace-dir "$WORK/trace" \
	-o "$WORK/snap.jsonl"
expect_rc 0 "pull without --url"
$PY "$CLIENT_TESTS/compare.py" "$WORK/alice.jsonl" "$WORK/snap.jsonl" --no-associated || fail "the snapshot differs"
head -n 1 "$WORK/snap.jsonl" | grep -q "\"server\":\"$EWS\"" || fail "the header does not name the EWS URL: $(head -n 1 "$WORK/snap.jsonl")"
head -n 1 "$WORK/snap.jsonl" | grep -q '"auth":"basic","auth_auto":true' || fail "the header does not name the method: $(head -n 1 "$WORK/snap.jsonl")"
grep -q "using Basic (--auth auto)" "$WORK/pull.log" || fail "-v does not say which method: $(cat "$WORK/pull.log")"
grep -rl "alice-ad-pw" "$WORK/pull.log" "$WORK/trace" "$WORK/snap.jsonl" && fail "the password leaked"
ls "$WORK/trace" | grep -q "Autodiscover-POX-response" || fail "no Autodiscover trace"
echo "ok pull: no --url, Autodiscover found $EWS; the snapshot equals the mailbox"
echo "Autodiscover: POX (both URLs), a redirect chain, the HTTP redirect method, SOAP; loops, too many redirects and http:// stopped; credentials over TLS only"
