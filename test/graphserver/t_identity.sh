#!/bin/sh
# The identity platform endpoints served by the Graph server (tools/graphserver/identity.py, with
# --identity): a client-credentials token read with curl works on the mail and mailbox APIs as its
# app roles allow; a device-code (delegated) token reads its user's mailbox only (/me too); a token
# of another tenant does not see this tenant's users; tampered and expired tokens answer 401; the
# identity requests are in the log, their secrets are not. Skips without identity.py.
. "$(dirname "$0")/lib.sh"
[ -f "$ROOT/tools/graphserver/identity.py" ] || skip "tools/graphserver/identity.py (the identity module) is not there"
"$PY" -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
"$PY" "$MKFIX" --mailbox alice@example.com --items 40 -o "$WORK/alice.jsonl" || fail "mkfixture"
"$PY" "$MKFIX" --mailbox bob@example.com --items 10 -o "$WORK/bob.jsonl" || fail "mkfixture"
TENANT=6f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8
OTHER=0a1b2c3d-4e5f-4061-8273-a4b5c6d7e8f9
SECRET='Graph~Test.secret_0123456789-abcdef'
printf '%s\n' "$SECRET" >"$WORK/secret" && chmod 600 "$WORK/secret"
cat >"$WORK/identity.json" <<JSON
{"tenants": [
 {"id": "$TENANT", "domains": ["example.com"],
  "users": [{"name": "Alice", "mailbox": "alice@example.com", "auto_approve_after_polls": 1}],
  "apps": [
   {"client_id": "11111111-2222-4333-8444-555555555555", "display_name": "sync", "secrets": [{"value": "$SECRET"}],
    "roles": ["Mail.Read", "MailboxFolder.Read.All", "MailboxItem.Read.All", "User.Read.All"]},
   {"client_id": "22222222-3333-4444-8555-666666666666", "display_name": "basic", "secrets": [{"value": "$SECRET"}],
    "roles": ["Mail.ReadBasic.All"]},
   {"client_id": "33333333-4444-4555-8666-777777777777", "display_name": "short", "secrets": [{"value": "$SECRET"}],
    "roles": ["Mail.Read"], "expires_in": 1},
   {"client_id": "dev-app", "public_client": true, "device_code_user": "alice@example.com",
    "device_code": {"interval": 1, "expires_in": 60}}]},
 {"id": "$OTHER", "domains": ["other.example"],
  "apps": [{"client_id": "44444444-5555-4666-8777-888888888888", "secrets": [{"value": "$SECRET"}], "roles": ["Mail.Read"]}]}]}
JSON
start_server ident --mailbox "$WORK/alice.jsonl" --mailbox "$WORK/bob.jsonl" --identity "$WORK/identity.json" \
	--log "$WORK/ident.log"
grep -q 'identity endpoints on' "$WORK/ident.out" || fail "identity endpoints not announced"
"$PY" - "$PORT" "$WORK/secret" "$TENANT" <<'PYEOF' || fail "identity checks"
import json, sys, time, urllib.parse, gclient as G
port, secret, tenant = int(sys.argv[1]), open(sys.argv[2]).read().strip(), sys.argv[3]
c = G.Client(port)

def post(path, form):
    r = c.get(path, {"Content-Type": "application/x-www-form-urlencoded"}, method="POST",
              body=urllib.parse.urlencode(form).encode())
    return r.status, r.json

def token(client_id, tenant_seg="example.com"):
    st, d = post("/%s/oauth2/v2.0/token" % tenant_seg, {"grant_type": "client_credentials", "client_id": client_id,
                 "client_secret": secret, "scope": "https://graph.microsoft.com/.default"})
    assert st == 200, d
    return d["access_token"]

r = c.get("/example.com/v2.0/.well-known/openid-configuration")
assert r.status == 200 and r.json["token_endpoint"] == "http://127.0.0.1:%d/example.com/oauth2/v2.0/token" % port
U, B = "/v1.0/users/alice@example.com", "/v1.0/users/bob@example.com"
sync = G.Client(port, token("11111111-2222-4333-8444-555555555555"))
mbx = sync.get(U + "/settings/exchange").json["primaryMailboxId"]
assert mbx.endswith("@" + tenant), mbx
assert sync.get(U + "/mailFolders/inbox/messages/delta?$expand=" +
                G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')")).status == 200
assert sync.get("/v1.0/admin/exchange/mailboxes/%s/folders/delta" % mbx).status == 200
basic = G.Client(port, token("22222222-3333-4444-8555-666666666666"))
assert basic.get(U + "/mailFolders").status == 200
assert basic.get(U + "/mailFolders/inbox/messages?$expand=" +
                 G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')")).status == 403
assert basic.get("/v1.0/admin/exchange/mailboxes/%s/folders" % mbx).status == 403
other = G.Client(port, token("44444444-5555-4666-8777-888888888888", "other.example"))
r = other.get(U + "/mailFolders")
assert r.status == 404 and r.json["error"]["code"] == "ErrorInvalidUser", r.raw
print("client credentials: roles decide (Mail.Read + mailbox API; ReadBasic without extended properties); "
      "another tenant's token: 404")

tok = sync.token
bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
r = G.Client(port, bad).get(U + "/mailFolders")
assert r.status == 401 and r.json["error"]["code"] == "InvalidAuthenticationToken"
short = token("33333333-4444-4555-8666-777777777777")
time.sleep(2.1)
r = G.Client(port, short).get(U + "/mailFolders")
assert r.status == 401 and r.json["error"]["message"] == "Lifetime validation failed, the token is expired.", r.raw
print("tampered token and expired token: 401")

st, d = post("/example.com/oauth2/v2.0/devicecode", {"client_id": "dev-app", "scope": "Mail.Read offline_access"})
assert st == 200 and d["user_code"] and d["device_code"], d
for i in range(10):
    time.sleep(d["interval"] + 0.1)
    st, t = post("/example.com/oauth2/v2.0/token", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                                                   "client_id": "dev-app", "device_code": d["device_code"]})
    if st == 200:
        break
    assert t["error"] in ("authorization_pending", "slow_down"), t
assert st == 200, t
me = G.Client(port, t["access_token"])
assert me.get("/v1.0/me/mailFolders/inbox/messages/delta").status == 200
assert me.get(U + "/mailFolders").status == 200
assert me.get(B + "/mailFolders").status == 403
assert me.get("/v1.0/admin/exchange/mailboxes/%s/folders" % mbx).status == 403, "Mail.Read is not MailboxFolder.Read"
print("device code: a delegated token reads alice's mailbox (/me too), not bob's")
PYEOF
grep -q '"endpoint": "identity"' "$WORK/ident.log" && grep -q '"grant_type": "client_credentials"' "$WORK/ident.log" ||
	fail "identity requests are not in the log"
grep -q -e "$SECRET" -e 'access_token' -e 'eyJ' "$WORK/ident.log" "$WORK/ident.err" && fail "a secret or token reached the log"
echo "log: identity requests with endpoint and grant type; no secret, no token"
