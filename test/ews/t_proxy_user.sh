#!/bin/sh
# --trust-proxy-user: the user an authenticating proxy names in a header is served, and nothing
# else is: without the option the header is ignored (no credentials: 401; Basic credentials: that
# user), an unknown name, an empty value or the header twice answer 401, and requests without the
# header still authenticate as usual. test/auth/ puts real Kerberos and NTLM acceptors in front.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox bob@example.com --folders 23 --items 5 --seed 2 -o "$WORK/bob.jsonl" || fail "genmailbox"

check() { # check PORT TRUSTED NAME: the Python checks below against one server (its log: $WORK/NAME.log)
	"$PY" - "$1" "$2" "$WORK/$3.log" <<'PYEOF'
import http.client, json, sys, time, ewsclient as C
port, trusted, log = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
req = C.envelope(C.get_folder(["inbox"], "IdOnly")).encode()
sent = [0]

# One keep-alive connection: one server thread answers and logs each request before reading the
# next, so the log's lines are in request order.
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def post(headers, auth=None):
    """headers: a list of (name, value), so one name can be sent twice."""
    conn.putrequest("POST", "/EWS/Exchange.asmx")
    conn.putheader("Content-Type", "text/xml; charset=utf-8")
    conn.putheader("Content-Length", str(len(req)))
    if auth:
        conn.putheader("Authorization", C.Client(port, *auth).auth)
    for k, v in headers:
        conn.putheader(k, v)
    conn.endheaders(req)
    sent[0] += 1
    r = conn.getresponse()
    r.read()
    assert not r.will_close, "the server closed the connection"
    return r.status

def last():
    """The log record of the last request (the server writes it just after answering)."""
    for _ in range(100):
        with open(log, encoding="utf-8") as f:
            lines = f.readlines()
        if len(lines) >= sent[0]:
            break
        time.sleep(0.05)
    rec = json.loads(lines[sent[0] - 1])
    return rec["status"], rec["user"], rec["auth"], rec["mailbox"]

hdr = "X-Remote-User"
if not trusted:
    assert post([(hdr, "alice")]) == 401, "the header alone was trusted without the option"
    assert post([(hdr, "alice")], ("bob", "bob-pw-2")) == 200
    assert last() == (200, "bob", "basic", "bob@example.com"), last()
    print("without --trust-proxy-user: the header is ignored (401 alone; Basic bob stays bob)")
    sys.exit(0)
for name in ("alice", "ALICE", "EXAMPLE\\alice", "alice@OSTRECON.TEST", "alice@example.com"):
    assert post([(hdr, name)]) == 200, name
    assert last() == (200, "alice", "proxy", "alice@example.com"), (name, last())
assert post([(hdr, "alice")], ("bob", "bob-pw-2")) == 200 and last()[1:3] == ("alice", "proxy"), last()
for bad in ("mallory", "mallory@OSTRECON.TEST", "EXAMPLE\\mallory", ""):
    assert post([(hdr, bad)]) == 401, "unknown user %r was served" % bad
assert post([(hdr, "bob"), (hdr, "alice")]) == 401, "two values were accepted"
assert post([], ("bob", "bob-pw-2")) == 200 and last()[1:3] == ("bob", "basic"), last()
assert post([], ("bob", "wrong")) == 401
print("with --trust-proxy-user X-Remote-User: user, DOMAIN\\user, user@REALM, address served as that user;"
      " unknown, empty and doubled values 401; without the header Basic as usual")
PYEOF
}

start_server plain --mailbox "$DATA/alice.jsonl" --mailbox "$WORK/bob.jsonl" $(users_args) --log "$WORK/plain.log"
check "$PORT" 0 plain || fail "the header was trusted without --trust-proxy-user"
start_server trusted --mailbox "$DATA/alice.jsonl" --mailbox "$WORK/bob.jsonl" $(users_args) --log "$WORK/trusted.log" \
	--trust-proxy-user X-Remote-User
check "$PORT" 1 trusted || fail "--trust-proxy-user"

for bad in Authorization host "X Remote" "X:User" ""; do
	"$PY" "$SERVER" --port 0 --mailbox "$DATA/alice.jsonl" $(users_args) --trust-proxy-user "$bad" \
		>"$WORK/bad.out" 2>&1 && fail "--trust-proxy-user '$bad' was accepted"
	grep -q "trust-proxy-user takes a header name" "$WORK/bad.out" || fail "no clear message for '$bad': $(cat "$WORK/bad.out")"
done
echo "--trust-proxy-user: refused for Authorization, Host and names that are not header names"
