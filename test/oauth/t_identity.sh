#!/bin/sh
# The test identity platform endpoint: identity.py's checks in-process (identity_check.py), then the
# runner identityserver.py: its first line, HTTP and HTTPS, 404 outside the identity paths, a log
# without secrets or tokens, a clean exit on SIGTERM (pid file removed), and its usage errors.
. "$(dirname "$0")/lib.sh"
need_crypto
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
"$PY" "$OAUTH_TESTS/identity_check.py" || fail "identity.py checks"

make_cert tls
SECRET='Runner~Secret.value_0123456789-xyz'
cat >"$WORK/config.json" <<JSON
{"tenants": [{"id": "3e2d1c0b-4a59-4687-9a8b-7c6d5e4f3a2b", "domains": ["tailspin.example"],
  "users": [{"name": "Erin", "mailbox": "erin@tailspin.example", "auto_approve_after_polls": 0}],
  "apps": [{"client_id": "runner-app", "secrets": ["$SECRET"], "roles": ["Mail.Read"]},
           {"client_id": "runner-pub", "public_client": true, "device_code": {"interval": 1}}]}]}
JSON
start_idserver plain --config "$WORK/config.json"
grep -q '^serving 1 tenant(s), 2 application(s) over http$' "$WORK/plain.out" || fail "second line: $(cat "$WORK/plain.out")"
[ "$(cat "$WORK/plain.pid")" = "$SERVER_PID" ] || fail "pid file"
U="http://127.0.0.1:$PORT"
curl -s -o "$WORK/tok.json" -w '%{http_code}' -d client_id=runner-app -d grant_type=client_credentials \
	--data-urlencode scope=https://graph.microsoft.com/.default --data-urlencode "client_secret=$SECRET" \
	"$U/tailspin.example/oauth2/v2.0/token" >"$WORK/code" || fail "curl"
[ "$(cat "$WORK/code")" = 200 ] || fail "token: $(cat "$WORK/code") $(cat "$WORK/tok.json")"
TOKEN=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$WORK/tok.json")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$U/_identity/check")" = 200 ] ||
	fail "the token does not check"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1.0/me")" = 404 ] || fail "non-identity path"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' --data-binary @/dev/null \
	"$U/tailspin.example/oauth2/v2.0/token")" = 400 ] || fail "a token request without a form"
# A device code, approved at once (auto_approve_after_polls 0): its code must not reach the log.
curl -s -d client_id=runner-pub -d scope=Mail.Read "$U/tailspin.example/oauth2/v2.0/devicecode" >"$WORK/dc.json"
DEVICE=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["device_code"])' "$WORK/dc.json")
sleep 1
curl -s -d client_id=runner-pub -d grant_type=urn:ietf:params:oauth:grant-type:device_code \
	--data-urlencode "device_code=$DEVICE" "$U/tailspin.example/oauth2/v2.0/token" >"$WORK/dt.json"
grep -q '"access_token"' "$WORK/dt.json" || fail "device code sign-in: $(cat "$WORK/dt.json")"
kill -TERM "$SERVER_PID"
i=0
while kill -0 "$SERVER_PID" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "no exit on SIGTERM"
	sleep 0.1
done
wait "$SERVER_PID"; rc=$?
[ $rc -eq 0 ] || fail "exit $rc on SIGTERM"
[ ! -e "$WORK/plain.pid" ] || fail "the pid file is left behind"
lines=$(wc -l <"$WORK/plain.log")
[ "$lines" -eq 6 ] || fail "$lines log lines, 6 expected"
for s in "$SECRET" "$TOKEN" "$DEVICE" access_token client_secret; do
	grep -qF -- "$s" "$WORK/plain.log" "$WORK/plain.err" && fail "the log holds a secret, a token or a code ($s)"
done
grep -q '"error": "AADSTS900144"' "$WORK/plain.log" || fail "the refusal's code is not logged"
echo "runner over http: token, check, 404, refusal, device code; $lines log lines without secrets; SIGTERM exit 0"

start_idserver tls --config "$WORK/config.json" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
curl -sf --cacert "$WORK/tls.crt" "https://127.0.0.1:$PORT/tailspin.example/v2.0/.well-known/openid-configuration" \
	>"$WORK/oc.json" || fail "openid-configuration over https"
grep -q "\"issuer\": \"https://127.0.0.1:$PORT/3e2d1c0b-4a59-4687-9a8b-7c6d5e4f3a2b/v2.0\"" "$WORK/oc.json" ||
	fail "issuer: $(cat "$WORK/oc.json")"
curl -s --cacert "$WORK/tls.crt" -o /dev/null "https://localhost:$PORT/" 2>/dev/null &&
	fail "the certificate for 127.0.0.1 was accepted for localhost"
echo "runner over https: discovery document with an https issuer"

"$PY" "$IDSERVER" --config "$WORK/nosuch.json" --port 0 >/dev/null 2>"$WORK/bad.err"
[ $? -eq 1 ] && grep -q 'nosuch.json' "$WORK/bad.err" || fail "a missing config: $(cat "$WORK/bad.err")"
"$PY" "$IDSERVER" --config "$WORK/config.json" --tls-cert "$WORK/tls.crt" >/dev/null 2>&1
[ $? -eq 2 ] || fail "--tls-cert without --tls-key"
echo "usage errors: exit 1 for a bad configuration, 2 for bad options"
