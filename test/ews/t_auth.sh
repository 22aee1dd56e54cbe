#!/bin/sh
# Authentication and access: Basic and Bearer, expired tokens, token expiry after N requests,
# impersonation rights, delegate access, and HTTPS with certificates made here with openssl.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox bob@example.com --folders 25 --items 30 -o "$WORK/bob.jsonl" || fail "genmailbox"
"$PY" "$GEN" --mailbox carol@example.com --folders 25 --items 10 --seed 3 -o "$WORK/carol.jsonl" || fail "genmailbox"
mkdir "$WORK/boxes" && cp "$DATA/alice.jsonl" "$WORK/bob.jsonl" "$WORK/carol.jsonl" "$WORK/boxes/"
start_server auth --mailbox-dir "$WORK/boxes" $(users_args) --log "$WORK/auth.log"
grep -q '^serving 3 mailbox' "$WORK/auth.out" || fail "--mailbox-dir did not load 3 mailboxes"
"$PY" - "$PORT" <<'PYEOF' || fail "auth checks"
import sys, ewsclient as C
port = int(sys.argv[1])
req = C.envelope(C.get_folder(["inbox"], "IdOnly")).encode()

def status(client, headers=None):
    st, h, body = client.raw(req, headers)
    return st, h, body

st, h, _ = status(C.Client(port, "alice", "wrong-password"))
assert st == 401 and any(v.startswith("Basic") for v in h.get("www-authenticate", [])), (st, h)
st, h, _ = status(C.Client(port, "nobody", "x"))
assert st == 401, st
st, h, _ = status(C.Client(port))
assert st == 401 and len(h.get("www-authenticate", [])) == 2, h
for tok in ("tok-alice-old", "tok-alice-revoked", "no-such-token"):
    st, h, _ = status(C.Client(port, token=tok))
    assert st == 401 and h.get("www-authenticate") == ['Bearer error="invalid_token"'], (tok, st, h)
st, h, body = status(C.Client(port, token="tok-alice-valid"))
assert st == 200 and b"NoError" in body, st
st, h, body = status(C.Client(port, "ALICE@example.com", "alice-pw-1"))
assert st == 200, "user by address, any case"
st, h, body = status(C.Client(port, "EXAMPLE\\alice", "alice-pw-1"))
assert st == 200, "DOMAIN\\user"
print("basic/bearer: wrong password, unknown user, no credentials, expired/revoked/unknown tokens -> 401")

# Impersonation: an app token and a service account; the allow-list; a user without the right.
app = C.Client(port, token="tok-app")
st, root, _, _ = app.call(C.get_folder(["inbox"]), impersonate="bob@example.com",
                          headers={"X-AnchorMailbox": "bob@example.com"})
assert st == 200 and C.code(C.messages(root)[0]) == "NoError"
st, root, _, _ = app.call(C.get_folder(["inbox"]), impersonate="ghost@example.com")
assert st == 500 and C.fault_code(root) == "ErrorNonExistentMailbox", C.fault_code(root)
lim = C.Client(port, "svc-limited", "svc-pw-5")
st, root, _, _ = lim.call(C.get_folder(["inbox"]), impersonate="bob@example.com")
assert st == 200 and C.code(C.messages(root)[0]) == "NoError"
st, root, _, _ = lim.call(C.get_folder(["inbox"]), impersonate="alice@example.com")
assert st == 500 and C.fault_code(root) == "ErrorImpersonateUserDenied"
st, root, _, _ = lim.call(C.get_folder(["inbox"], mailbox="bob@example.com"))
assert C.code(C.messages(root)[0]) == "ErrorNonExistentMailbox" or C.code(C.messages(root)[0]) == "ErrorAccessDenied"
# the impersonated mailbox only
st, root, _, _ = lim.call(C.get_folder(["inbox"], mailbox="carol@example.com"), impersonate="bob@example.com")
assert C.code(C.messages(root)[0]) == "ErrorAccessDenied"
alice = C.Client(port, "alice", "alice-pw-1")
st, root, _, _ = alice.call(C.get_folder(["inbox"]), impersonate="bob@example.com")
assert st == 500 and C.fault_code(root) == "ErrorImpersonateUserDenied"
print("impersonation: allowed, allow-listed, denied (ErrorImpersonateUserDenied), unknown mailbox")

# Delegate access: carol may open bob's folders, not alice's; ids of alice's folders are refused too.
carol = C.Client(port, "carol", "carol-pw-3")
st, root, _, _ = carol.call(C.get_folder(["inbox"], mailbox="bob@example.com"))
assert C.code(C.messages(root)[0]) == "NoError"
st, root, _, _ = carol.call(C.get_folder(["inbox"], mailbox="alice@example.com"))
assert C.code(C.messages(root)[0]) == "ErrorAccessDenied"
st, root, _, _ = alice.call(C.get_folder(["inbox"]))
alice_inbox = C.messages(root)[0].find(C.M + "Folders")[0].find(C.T + "FolderId").get("Id")
st, root, _, _ = carol.call(C.find_item(("id", alice_inbox)))
assert C.code(C.messages(root)[0]) == "ErrorAccessDenied"
print("delegate: carol reads bob's mailbox, not alice's (by address or by id)")
PYEOF
grep -q -e 'alice-pw-1' -e 'tok-alice-valid' "$WORK/auth.log" && fail "a secret reached the request log"
stop_server "$SERVER_PID"
[ -f "$WORK/auth.pid" ] && fail "pid file left after SIGTERM"

# Token expiry halfway: every credential answers 401 after 3 requests.
start_server expiry --mailbox "$DATA/alice.jsonl" $(users_args) --expire-after 3
"$PY" - "$PORT" <<'PYEOF' || fail "expire-after"
import sys, ewsclient as C
port = int(sys.argv[1])
req = C.envelope(C.get_folder(["inbox"], "IdOnly")).encode()
c = C.Client(port, token="tok-alice-valid")
got = [c.raw(req)[0] for _ in range(5)]
assert got == [200, 200, 200, 401, 401], got
st, h, _ = c.raw(req)
assert h.get("www-authenticate") == ['Bearer error="invalid_token"'], h
print("--expire-after 3: statuses", got, "then", st, h["www-authenticate"][0])
PYEOF

# HTTPS: a certificate for 127.0.0.1 made now, and one for a wrong host name.
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (HTTP parts passed)"
for n in good:127.0.0.1 wrong:wrong.example.com; do
	name=${n%%:*} host=${n#*:}
	case $host in *[a-z]*) san="DNS:$host" ;; *) san="IP:$host,DNS:localhost" ;; esac
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$host" \
		-addext "subjectAltName=$san" -keyout "$WORK/$name.key" -out "$WORK/$name.crt" 2>/dev/null ||
		fail "openssl could not make a certificate"
done
start_server tls --mailbox "$DATA/alice.jsonl" $(users_args) --tls-cert "$WORK/good.crt" --tls-key "$WORK/good.key"
TLS_PORT=$PORT
start_server tlswrong --mailbox "$DATA/alice.jsonl" $(users_args) --tls-cert "$WORK/wrong.crt" --tls-key "$WORK/wrong.key"
"$PY" - "$TLS_PORT" "$PORT" "$WORK/good.crt" "$WORK/wrong.crt" <<'PYEOF' || fail "TLS"
import ssl, sys, ewsclient as C
good, wrong, good_ca, wrong_ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=good_ca)
c = C.Client(good, "alice", "alice-pw-1", tls_ctx=ctx, gzip_ok=True)
st, root, _, _ = c.call(C.find_item("inbox", maxn=2, offset=0))
assert st == 200 and C.code(C.messages(root)[0]) == "NoError"
ctx = ssl.create_default_context(cafile=wrong_ca)
try:
    C.Client(wrong, "alice", "alice-pw-1", tls_ctx=ctx).call(C.get_folder(["inbox"]))
    raise SystemExit("a certificate for the wrong host name was accepted")
except ssl.SSLCertVerificationError as e:
    assert "match" in str(e) or "mismatch" in str(e), e
try:
    C.Client(good, "alice", "alice-pw-1", tls_ctx=ssl.create_default_context()).call(C.get_folder(["inbox"]))
    raise SystemExit("an unknown issuer was accepted")
except ssl.SSLCertVerificationError:
    pass
print("TLS: verified with the test CA; wrong host name and unknown issuer refused by the client")
PYEOF
curl -sS --cacert "$WORK/good.crt" -u alice:alice-pw-1 -H 'Content-Type: text/xml' \
	--data-binary "@$DATA/req-getfolder.xml" "https://127.0.0.1:$TLS_PORT/EWS/Exchange.asmx" -o "$WORK/curl.xml" ||
	fail "curl over https"
grep -q 'NoError' "$WORK/curl.xml" || fail "curl over https: no NoError"
if "$PY" -c 'import exchangelib' 2>/dev/null; then
	timeout 120 "$PY" "$EWS_TESTS/xl_check.py" "https://127.0.0.1:$TLS_PORT/EWS/Exchange.asmx" "$DATA/alice.jsonl" \
		alice alice-pw-1 --no-verify || fail "exchangelib over https"
fi
echo "curl and exchangelib over https: ok"
