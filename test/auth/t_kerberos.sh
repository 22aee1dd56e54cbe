#!/bin/sh
# Negotiate (Kerberos) against a real acceptor: an MIT KDC with a realm of its own and Apache's
# mod_auth_gssapi in front of the test EWS server. With a ticket from kinit the client pulls the
# whole mailbox (the snapshot equals the mailbox file; the server served the user Kerberos
# authenticated, and only through the acceptor); without a ticket (none, a refused kinit, an
# expired one) or as a principal without a mailbox it stops with an error naming Negotiate, exit 3.
. "$(dirname "$0")/lib.sh"
need_kerberos
t0=$(now)
alice_mailbox 25 300 11
# No password in the users file: Basic cannot open the mailbox, only the acceptor's word can.
printf '{"users": [{"name": "alice", "mailbox": "alice@example.com"}]}\n' >"$WORK/users.json"
start_ews_backend --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json" --latency-ms 10

t1=$(now)
start_kdc
pw=alice-krb-pw-7
krb_add_principal alice "$pw"
krb_add_principal mallory mallory-krb-pw-8 # known to the realm, no mailbox on the server
start_apache_gssapi
echo "setup: KDC with realm $KRB_REALM and Apache on 127.0.0.1:$NEGOTIATE_PORT in $(elapsed "$t1") s" \
	"(with the EWS server: $(elapsed "$t0") s)"
URL="http://127.0.0.1:$NEGOTIATE_PORT/EWS/Exchange.asmx"

# The acceptor itself: no credentials, 401 with a Negotiate challenge and nothing reaches the server.
challenged "$URL" Negotiate Apache

# refused NAME CCACHE: the client with that ticket cache stops with exit 3 and a Negotiate error.
refused() {
	KRB5CCNAME="FILE:$2" client "$1" --url "$URL" --mailbox alice@example.com --auth negotiate -o "$WORK/$1.jsonl"
	expect_rc 3 "$1"
	grep -q "error: .*Negotiate (Kerberos) authentication failed" "$WORK/$1.log" ||
		fail "$1: the error does not name Negotiate: $(cat "$WORK/$1.log")"
	[ ! -e "$WORK/$1.jsonl" ] || fail "$1: a snapshot was written"
	echo "ok $1: exit 3, $(grep -o 'error: .*' "$WORK/$1.log" | cut -c1-90)..."
}

# No ticket at all.
refused no-ticket "$KRB/no-such-cache"
# A wrong password: kinit is refused, so there is no ticket either.
krb_kinit "$KRB/cc.wrong" alice not-the-password
[ "$KINIT_RC" -ne 0 ] && grep -q "Password incorrect" "$KRB/kinit.log" || fail "kinit with a wrong password: $(cat "$KRB/kinit.log")"
refused wrong-password "$KRB/cc.wrong"
# An unknown user: the realm refuses kinit; a principal the realm knows but the server does not
# is authenticated by Apache and refused by the EWS server.
krb_kinit "$KRB/cc.ghost" ghost ghost-pw
[ "$KINIT_RC" -ne 0 ] && grep -q "not found in Kerberos database" "$KRB/kinit.log" || fail "kinit of an unknown principal: $(cat "$KRB/kinit.log")"
krb_kinit_ok "$KRB/cc.mallory" mallory mallory-krb-pw-8
refused unknown-user "$KRB/cc.mallory"
proxied_users | grep -q "proxy alice" && fail "mallory's requests were served as alice"
# An expired ticket: valid for 2 s, used once it ended and the realm's clock skew (1 s) passed.
krb_expired_ticket "$KRB/cc.short" alice "$pw"
KRB5CCNAME="FILE:$KRB/cc.short" klist >"$WORK/klist.txt" 2>&1 && grep -q "krbtgt/$KRB_REALM" "$WORK/klist.txt" ||
	fail "the expired ticket is not in its cache: $(cat "$WORK/klist.txt")"
refused expired-ticket "$KRB/cc.short"
if [ -s "$WORK/ews-requests.log" ] && proxied_users | grep -qv " 401$"; then
	fail "a refused client was served: $(proxied_users)"
fi

# The right ticket: the whole mailbox, served to alice through the acceptor only, with the most
# verbose log and traces; the kinit password shows in neither, nor in any process's command line
# while the client runs (it needs none: the ticket cache is its credential).
krb_kinit_ok "$KRB/cc.alice" alice "$pw"
: >"$WORK/ews-requests.log"
mkdir "$WORK/trace"
t2=$(now)
krbpw=$(secret_file krbpw "$pw")
KRB5CCNAME="FILE:$KRB/cc.alice" watched_pull pull "$krbpw" -v -v -v --url "$URL" --mailbox alice@example.com \
	--auth negotiate --trace-dir "$WORK/trace" -o "$WORK/snap.jsonl"
expect_rc 0 "pull with a Kerberos ticket"
echo "pull: $(elapsed "$t2") s; $(grep pswatch: "$WORK/pull.log")"
$PY "$CLIENT_TESTS/compare.py" "$WORK/alice.jsonl" "$WORK/snap.jsonl" || fail "the snapshot differs from the mailbox"
proxied_users >"$WORK/users.txt"
grep -q "^[0-9]* proxy alice 200$" "$WORK/users.txt" && [ "$(wc -l <"$WORK/users.txt")" -eq 1 ] ||
	fail "the server did not serve alice through the acceptor only: $(cat "$WORK/users.txt")"
echo "served: $(cat "$WORK/users.txt")"
grep -q 'debug:' "$WORK/pull.log" || fail "no debug output at -vvv"
if grep -rl -e "$pw" -e "$(printf 'alice:%s' "$pw" | base64)" "$WORK/pull.log" "$WORK/trace" "$WORK/snap.jsonl"; then
	fail "the Kerberos password leaked into the files above"
fi
KRB5CCNAME="FILE:$KRB/cc.alice" klist | grep -q "HTTP/localhost@$KRB_REALM" ||
	fail "no service ticket for HTTP/localhost in the cache: the pull did not use Kerberos"

# A client cannot name another user: Apache replaces the header the client sends.
: >"$WORK/ews-requests.log"
KRB5CCNAME="FILE:$KRB/cc.mallory" curl -sS -o /dev/null -w '%{http_code}' --negotiate -u : \
	-H "$PROXY_USER_HEADER: alice" -H 'Content-Type: text/xml' \
	--data-binary "@$ROOT/test/ews/data/req-getfolder.xml" "$URL" >"$WORK/code.txt" || fail "curl as mallory"
[ "$(cat "$WORK/code.txt")" = 401 ] && ! proxied_users | grep -q alice ||
	fail "mallory claiming to be alice got $(cat "$WORK/code.txt"): $(proxied_users)"
echo "Negotiate: a Kerberos ticket pulls the mailbox; no, refused, unknown and expired tickets exit 3 naming Negotiate"
