#!/bin/sh
# Tokens and access: missing, unknown, expired and revoked tokens (401 with Graph's body and
# WWW-Authenticate); app roles per API (Mail.ReadBasic without extended properties, Mail.Read,
# MailboxFolder/MailboxItem.Read.All, User.Read.All for settings); delegated tokens read their own
# mailbox only (/me too); app tokens limited to some mailboxes; ewsserver's users and tokens files;
# users by address, by id and in key syntax; no secret in the log; HTTPS with a certificate made
# here with openssl, read by curl.
. "$(dirname "$0")/lib.sh"
"$PY" "$MKFIX" --mailbox alice@example.com --items 60 -o "$WORK/alice.jsonl" || fail "mkfixture"
"$PY" "$MKFIX" --mailbox bob@example.com --items 20 -o "$WORK/bob.jsonl" || fail "mkfixture"
start_server auth --mailbox "$WORK/alice.jsonl" --mailbox "$WORK/bob.jsonl" --tokens "$TOKENS" --log "$WORK/auth.log"
"$PY" - "$PORT" <<'PYEOF' || fail "token and role checks"
import sys, gclient as G
port = int(sys.argv[1])
U, B = "/v1.0/users/alice@example.com", "/v1.0/users/bob@example.com"
EXT = "?$expand=" + G.q("singleValueExtendedProperties($filter=id eq 'Binary 0x65E0')")

def get(tok, url):
    r = G.Client(port, tok).get(url)
    code = r.json["error"]["code"] if r.status >= 400 else None
    return r.status, code, r

for tok, msg in ((None, "Access token is empty."), ("no-such-token", None),
                 ("tok-alice-old", "Lifetime validation failed, the token is expired."),
                 ("tok-alice-revoked", "Lifetime validation failed, the token is expired.")):
    st, code, r = get(tok, U + "/mailFolders")
    assert st == 401 and code == "InvalidAuthenticationToken", (tok, st, code)
    assert msg is None or r.json["error"]["message"] == msg, r.raw
    assert r.header("www-authenticate").startswith('Bearer realm=""'), r.headers
print("401 InvalidAuthenticationToken: no token, unknown, expired, revoked")

mbx = get("tok-app", U + "/settings/exchange")[2].json["primaryMailboxId"]
M = "/v1.0/admin/exchange/mailboxes/" + mbx
inbox = get("tok-app", M + "/folders/inbox")[2].json["id"]
table = [  # token, url, status, code
    ("tok-app-basic", U + "/mailFolders/inbox/messages", 200, None),
    ("tok-app-basic", U + "/mailFolders/inbox/messages" + EXT, 403, "ErrorAccessDenied"),
    ("tok-app-basic", U + "/mailFolders/inbox/messages/delta" + EXT, 403, "ErrorAccessDenied"),
    ("tok-app-basic", M + "/folders", 403, "ErrorAccessDenied"),
    ("tok-app-mail", U + "/mailFolders/inbox/messages" + EXT, 200, None),
    ("tok-app-mail", M + "/folders/delta", 403, "ErrorAccessDenied"),
    ("tok-app-mail", U + "/settings/exchange", 403, "Authorization_RequestDenied"),
    ("tok-app-mail", U + "/calendars", 403, "ErrorAccessDenied"),
    ("tok-app-folders", M + "/folders/delta", 200, None),
    ("tok-app-folders", M + "/folders/%s/items" % inbox, 403, "ErrorAccessDenied"),
    ("tok-app-folders", U + "/mailFolders", 403, "ErrorAccessDenied"),
    ("tok-app-none", U + "/mailFolders", 403, "ErrorAccessDenied"),
    ("tok-app", M + "/folders/%s/items/delta" % inbox + EXT, 200, None),
    ("tok-app", U + "/calendars", 200, None),
    ("tok-app", U + "/contactFolders", 200, None),
    ("tok-app-scoped", U + "/mailFolders", 200, None),
    ("tok-app-scoped", B + "/mailFolders", 403, "ErrorAccessDenied"),
    ("tok-alice", U + "/mailFolders" , 200, None),
    ("tok-alice", "/v1.0/me/mailFolders/inbox/messages/delta", 200, None),
    ("tok-alice", "/v1.0/me/settings/exchange", 200, None),
    ("tok-alice", M + "/folders", 200, None),
    ("tok-alice", B + "/mailFolders", 403, "ErrorAccessDenied"),
    ("tok-alice", B + "/settings/exchange", 403, "Authorization_RequestDenied"),
    ("tok-app", "/v1.0/me/mailFolders", 400, "BadRequest"),
    ("tok-bob", "/v1.0/me/mailFolders", 200, None),
]
for tok, url, want, code in table:
    st, got, r = get(tok, url)
    assert (st, got) == (want, code), (tok, url, st, got, r.raw[:200])
print("roles and scopes: %d checks (ReadBasic without extended properties, Mail.Read, MailboxFolder.Read.All, "
      "User.Read.All, delegated, scoped app, /me)" % len(table))

c = G.Client(port, "tok-app")
uid = c.get(U + "/settings/exchange").json["id"]
for who in (uid, "ALICE@Example.COM", "%s@%s" % (uid, "a-tenant")):
    assert c.get("/v1.0/users/%s/mailFolders" % who).status == 200, who
assert c.get("/v1.0/users('alice@example.com')/mailFolders('inbox')/messages").status == 200
assert c.get("/v1.0/users/%s/mailFolders" % uid.replace("a", "b")).status == 404
print("users by address (any case), by id, by id@tenant, in key syntax")
PYEOF
grep -q 'tok-' "$WORK/auth.log" && fail "a token reached the request log"
grep -q '"app": "basic-app"' "$WORK/auth.log" && grep -q '"error": "ErrorAccessDenied"' "$WORK/auth.log" &&
	grep -q '"query": "\$expand"' "$WORK/auth.log" || fail "log lines lack app, error or query option names"
grep -q 'singleValueExtendedProperties' "$WORK/auth.log" && fail "query values reached the log"
stop_server "$SERVER_PID"
[ -f "$WORK/auth.pid" ] && fail "pid file left after SIGTERM"
echo "log: app, error code and query option names; no token, no query value"

# ewsserver's users and tokens files work unchanged.
EWSDATA="$ROOT/test/ews/data"
"$PY" "$MKFIX" --mailbox carol@example.com --items 10 -o "$WORK/carol.jsonl" || fail "mkfixture"
start_server ewsfmt --mailbox "$WORK/alice.jsonl" --mailbox "$WORK/bob.jsonl" --mailbox "$WORK/carol.jsonl" \
	--users "$EWSDATA/users.json" --tokens "$EWSDATA/tokens.json"
"$PY" - "$PORT" <<'PYEOF' || fail "ewsserver's token format"
import sys, gclient as G
port = int(sys.argv[1])
get = lambda tok, u: G.Client(port, tok).get(u).status
assert get("tok-alice-valid", "/v1.0/me/mailFolders") == 200
assert get("tok-alice-valid", "/v1.0/users/bob@example.com/mailFolders") == 403
assert get("tok-alice-old", "/v1.0/me/mailFolders") == 401
assert get("tok-app", "/v1.0/users/carol@example.com/mailFolders/delta") == 200
print("ewsserver's tokens: a user's token reads its mailbox only; svc-sync (impersonate *) is an app token")
PYEOF
stop_server "$SERVER_PID"

command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (HTTP parts passed)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null ||
	fail "openssl could not make a certificate"
start_server tls --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
grep -q 'over https' "$WORK/tls.out" || fail "not serving https"
curl -sS --cacert "$WORK/tls.crt" -H 'Authorization: Bearer tok-app' --compressed \
	"https://127.0.0.1:$PORT/v1.0/users/alice@example.com/mailFolders/delta" -o "$WORK/curl.json" || fail "curl over https"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["value"] and d["@odata.nextLink"].startswith("https://127.0.0.1:")' \
	"$WORK/curl.json" || fail "curl over https: body or links"
curl -s -o /dev/null "https://127.0.0.1:$PORT/v1.0/users/alice@example.com/mailFolders" 2>/dev/null &&
	fail "curl accepted the test certificate without --cacert"
echo "https: curl with the test CA reads a delta page whose links are https; without the CA it refuses"
