# Signing in to Microsoft Graph the ways the engineer can, against the test Graph server's identity
# platform endpoint: an application's client secret, its certificate (a signed client assertion),
# the device code flow, a token given in a file; a token that expires halfway is renewed once; a
# wrong secret, a certificate the application does not have, a declined sign-in and a tenant that
# does not exist each fail clearly (exit 3), naming the cause; each snapshot's header names the
# method (options.auth); no secret or token ever shows on a command line, in the log at -vvv or in
# traces.
. "$(dirname "$0")/lib.sh"
"$PY" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
ADDR=alice@example.com
"$PY" "$ROOT/test/graphserver/mkfixture.py" --mailbox "$ADDR" --items 120 -o "$WORK/alice.jsonl" >/dev/null ||
	fail "mkfixture"
MBX="$WORK/alice.jsonl"
TENANT=6f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8
APP=11111111-2222-4333-8444-555555555555
SECRET='Graph~Test.secret_0123456789-abcdef'
SECRET_FILE=$(secret_file app.secret "$SECRET")
BAD_FILE=$(secret_file bad.secret 'not-the-secret')
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/app.key" -out "$WORK/app.crt" -days 2 \
	-subj "/CN=ostrecon test" >/dev/null 2>&1 || fail "openssl req"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other.key" -out "$WORK/other.crt" -days 2 \
	-subj "/CN=another" >/dev/null 2>&1 || fail "openssl req"
chmod 600 "$WORK/app.key" "$WORK/other.key"
cat >"$WORK/identity.json" <<JSON
{"tenants": [
 {"id": "$TENANT", "domains": ["example.com"],
  "users": [{"name": "Alice", "mailbox": "$ADDR", "auto_approve_after_polls": 1},
            {"name": "Bob", "mailbox": "bob@example.com", "decline": true}],
  "apps": [
   {"client_id": "$APP", "display_name": "ostrecon", "secrets": [{"value": "$SECRET"}],
    "certificates": ["$WORK/app.crt"],
    "roles": ["Mail.Read", "MailboxFolder.Read.All", "MailboxItem.Read.All", "User.Read.All"]},
   {"client_id": "dev-app", "public_client": true, "device_code_user": "$ADDR",
    "device_code": {"interval": 1, "expires_in": 60}},
   {"client_id": "dev-declined", "public_client": true, "device_code_user": "bob@example.com",
    "device_code": {"interval": 1, "expires_in": 60}}]}]}
JSON
start_server g --mailbox "$MBX" --identity "$WORK/identity.json" --log "$WORK/g.log" --expire-after 25
AUTH="http://127.0.0.1:$PORT"
app() { gclient "$@" --mailbox "$ADDR" --tenant "$TENANT" --client-id "$APP" --authority "$AUTH"; }
# expect_auth NAME METHOD: the header of snapshot NAME records the sign-in method METHOD
expect_auth() {
	got=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["options"].get("auth"))' \
		"$WORK/$1.jsonl") || fail "$1: no snapshot header"
	[ "$got" = "$2" ] || fail "$1: the snapshot header records the sign-in as '$got', expected '$2'"
}

# A client secret; every token expires after 25 requests: renewed, the pull completes.
app secret --client-secret-file "$SECRET_FILE" -vvv --trace-dir "$WORK"
expect_rc 0 "client secret"
compare "$MBX" "$WORK/secret.jsonl"
expect_log "renewing it" "token renewal"
expect_auth secret client-secret
# the secret from the environment, as batch runs give it
OSTRECON_CLIENT_SECRET="$SECRET" app env --auth client-secret
expect_rc 0 "client secret from the environment"
expect_auth env client-secret

# A certificate: the assertion is signed with its key.
app cert --certificate "$WORK/app.crt" --certificate-key "$WORK/app.key"
expect_rc 0 "certificate"
compare "$MBX" "$WORK/cert.jsonl"
expect_auth cert certificate
app cert2 --certificate "$WORK/other.crt" --certificate-key "$WORK/other.key"
expect_rc 3 "a certificate the application does not have"
expect_log "AADSTS" "a certificate the application does not have"

# Refusals name the cause.
app wrong --client-secret-file "$BAD_FILE"
expect_rc 3 "wrong client secret"
expect_log "7000215" "wrong client secret"
gclient notenant --mailbox "$ADDR" --tenant nowhere.example --client-id "$APP" --authority "$AUTH" \
	--client-secret-file "$SECRET_FILE"
expect_rc 3 "unknown tenant"
expect_log "90002" "unknown tenant"
gclient noapp --mailbox "$ADDR" --tenant "$TENANT" --client-id 99999999-2222-4333-8444-555555555555 --authority "$AUTH" \
	--client-secret-file "$SECRET_FILE"
expect_rc 3 "unknown application"
expect_log "700016" "unknown application"

# The device code flow: the code and the page go to stderr; approved after one poll.
gclient device --mailbox "$ADDR" --tenant "$TENANT" --client-id dev-app --authority "$AUTH" --auth device-code
expect_rc 0 "device code"
compare "$MBX" "$WORK/device.jsonl"
expect_auth device device-code
expect_log "devicelogin" "device code: the page to open"
gclient declined --mailbox bob@example.com --tenant "$TENANT" --client-id dev-declined --authority "$AUTH" --auth device-code
expect_rc 3 "declined sign-in"
expect_log "declined" "declined sign-in"

# A token in a file: used as is, never renewed; when it expires, the error says so.
TOKEN=$(curl -s -d "grant_type=client_credentials&client_id=$APP&scope=https://graph.microsoft.com/.default" \
	--data-urlencode "client_secret=$SECRET" "$AUTH/$TENANT/oauth2/v2.0/token" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ -n "$TOKEN" ] || fail "no token from the endpoint"
TOKFILE=$(secret_file app.tok "$TOKEN")
gclient static --mailbox "$ADDR" --token-file "$TOKFILE"
expect_rc 3 "a static token that expires halfway"
expect_log "refused the token" "a static token that expires halfway"
# ... and from a server whose tokens do not expire, the whole mailbox, the header naming a given token
start_server g2 --mailbox "$MBX" --identity "$WORK/identity.json"
TOKEN2=$(curl -s -d "grant_type=client_credentials&client_id=$APP&scope=https://graph.microsoft.com/.default" \
	--data-urlencode "client_secret=$SECRET" "http://127.0.0.1:$PORT/$TENANT/oauth2/v2.0/token" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
[ -n "$TOKEN2" ] || fail "no token from the second server's endpoint"
gclient static2 --mailbox "$ADDR" --token-file "$(secret_file app2.tok "$TOKEN2")"
expect_rc 0 "a token in a file"
compare "$MBX" "$WORK/static2.jsonl"
expect_auth static2 bearer
OSTRECON_TOKEN="$TOKEN2" gclient envtoken --mailbox "$ADDR"
expect_rc 0 "a token from the environment"
expect_auth envtoken bearer

# No secret or token in the logs, the traces or the server's log.
for f in "$WORK"/secret.log "$WORK"/*.log "$WORK"/g.log "$WORK"/*-response.json "$WORK"/*-request.json; do
	[ -f "$f" ] || continue
	grep -qF "$SECRET" "$f" && fail "the client secret is in $f"
	grep -qF "$TOKEN" "$f" && fail "a token is in $f"
	grep -qF "$TOKEN2" "$f" && fail "a token is in $f"
	grep -q 'eyJ[A-Za-z0-9_-]\{20,\}\.eyJ' "$f" && fail "something token-shaped is in $f"
done
# ... nor on a command line while the client runs (it reads the secret from its file)
"$OSTRECON" server --api graph --graph-url "http://127.0.0.1:$PORT/v1.0" --mailbox "$ADDR" --tenant "$TENANT" \
	--client-id "$APP" --authority "$AUTH" --client-secret-file "$SECRET_FILE" --concurrency 1 --no-progress \
	-o "$WORK/ps.jsonl" >/dev/null 2>&1 &
cpid=$!
found=0
while kill -0 $cpid 2>/dev/null; do
	for p in /proc/[0-9]*; do
		grep -aqF "$SECRET" "$p/cmdline" 2>/dev/null && found=1
		grep -aqF "$SECRET" "$p/environ" 2>/dev/null && found=1
	done
	sleep 0.05
done
wait $cpid
[ $found -eq 0 ] || fail "the client secret showed on a command line or in an environment"
echo "Graph sign-in: client secret (with renewal), certificate, device code and token file, each recorded in the header; 6 refusals named"
