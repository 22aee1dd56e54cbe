#!/bin/sh
# --auth auto (the default) against a real acceptor that offers two methods: Apache's
# mod_auth_gssapi with Negotiate and Basic (the password checked against the KDC), over http and
# https, in front of the test EWS server. With a Kerberos ticket the client takes Negotiate (even
# with a password at hand); without one, Basic over https only: over http no password goes out,
# and the error says why (exit 3). A refused ticket falls back to Basic over https. The method is
# named at -v and in the snapshot header's options.
. "$(dirname "$0")/lib.sh"
need_kerberos
command -v openssl >/dev/null || auth_skip "openssl is not installed"
t0=$(now)
alice_mailbox 15 150 13
printf '{"users": [{"name": "alice", "mailbox": "alice@example.com"}]}\n' >"$WORK/users.json"
start_ews_backend --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
	-keyout "$WORK/tls.key" -out "$WORK/tls.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
chmod 644 "$WORK/tls.key" # read by Apache before it drops to www-data
start_kdc
pw=alice-auto-pw-3
krb_add_principal alice "$pw"
start_apache_gssapi basic tls "$WORK/tls.pem" "$WORK/tls.key"
echo "setup: KDC, Apache (Negotiate + Basic) on http :$NEGOTIATE_PORT and https :$NEGOTIATE_TLS_PORT in $(elapsed "$t0") s"
HTTP_URL="http://127.0.0.1:$NEGOTIATE_PORT/EWS/Exchange.asmx"
HTTPS_URL="https://localhost:$NEGOTIATE_TLS_PORT/EWS/Exchange.asmx"
pwfile=$(secret_file pw "$pw")

# The acceptor offers both.
curl -sS -o /dev/null -D "$WORK/h.txt" --cacert "$WORK/tls.pem" "$HTTPS_URL" || fail "curl to Apache"
grep -qi '^WWW-Authenticate: Negotiate' "$WORK/h.txt" && grep -qi '^WWW-Authenticate: Basic' "$WORK/h.txt" ||
	fail "Apache does not offer Negotiate and Basic: $(cat "$WORK/h.txt")"
krb_kinit_ok "$KRB/cc.alice" alice "$pw"

# pulled NAME METHOD: exit 0, the mailbox equal, the header and -v name METHOD, served to alice
pulled() {
	expect_rc 0 "$1"
	same_mailbox "$1"
	auto_chose "$1" "$2"
	proxied_users | grep -q "^[0-9]* proxy alice" && ! proxied_users | grep -v " 401$" | grep -qv "proxy alice" ||
		fail "$1: not served to alice only: $(proxied_users)"
	echo "ok $1: $2 ($(cat "$WORK/$1.cmp")); the server $(grep -o 'offers [^;]*' "$WORK/$1.log" | head -n 1)"
	: >"$WORK/ews-requests.log"
	: >"$AP/access.log"
}
# sent WHAT: how many requests carried WHAT (basic, negotiate) credentials to Apache
sent() { grep -c "$1=yes" "$AP/access.log"; }

# With a ticket: Negotiate, over http and over https, even with a password at hand.
KRB5CCNAME="FILE:$KRB/cc.alice" client neg-http -v --url "$HTTP_URL" --mailbox alice@example.com -o "$WORK/neg-http.jsonl"
pulled neg-http negotiate
KRB5CCNAME="FILE:$KRB/cc.alice" client neg-https -v --url "$HTTPS_URL" --cacert "$WORK/tls.pem" --mailbox alice@example.com \
	--user alice --password-file "$pwfile" -o "$WORK/neg-https.jsonl"
n=$(sent basic)
pulled neg-https negotiate
[ "$n" -eq 0 ] || fail "neg-https: the password went too ($n requests with Basic)"

# No ticket, a password, https: Basic (checked by Apache against the KDC).
KRB5CCNAME="FILE:$KRB/none" client basic-https -v --url "$HTTPS_URL" --cacert "$WORK/tls.pem" --mailbox alice@example.com \
	--user alice --password-file "$pwfile" -o "$WORK/basic-https.jsonl"
pulled basic-https basic

# No ticket, a password, plain http: nothing goes, and the error says why.
KRB5CCNAME="FILE:$KRB/none" client basic-http --url "$HTTP_URL" --mailbox alice@example.com --user alice \
	--password-file "$pwfile" -o "$WORK/basic-http.jsonl"
expect_rc 3 "no ticket over http"
grep -q "error: .*--auth auto: no usable authentication for http://.*: the server offers Negotiate, Basic; Negotiate: no Kerberos ticket the server accepts (klist lists the tickets, kinit gets one); Basic would send the password unencrypted" \
	"$WORK/basic-http.log" || fail "basic-http: $(cat "$WORK/basic-http.log")"
[ "$(sent basic)" -eq 0 ] || fail "basic-http: the password went over plain http"
[ ! -e "$WORK/basic-http.jsonl" ] || fail "basic-http: a snapshot was written"
grep -rl "$pw" "$WORK"/*.log "$AP" 2>/dev/null && fail "the password leaked into the files above"
echo "ok basic-http: exit 3, no password over http: $(grep -o 'error: .*' "$WORK/basic-http.log" | cut -c1-100)..."

# An expired ticket: refused (curl sends no token), then Basic over https with the password;
# without a password, exit 3 naming the missing ticket.
krb_expired_ticket "$KRB/cc.short" alice "$pw"
KRB5CCNAME="FILE:$KRB/cc.short" client expired-https -v --url "$HTTPS_URL" --cacert "$WORK/tls.pem" --mailbox alice@example.com \
	--user alice --password-file "$pwfile" -o "$WORK/expired-https.jsonl"
pulled expired-https basic
KRB5CCNAME="FILE:$KRB/cc.short" client expired-only --url "$HTTPS_URL" --cacert "$WORK/tls.pem" --mailbox alice@example.com \
	-o "$WORK/expired-only.jsonl"
expect_rc 3 "expired ticket, no password"
grep -q "Negotiate: no Kerberos ticket the server accepts.*Basic needs --user and a password" "$WORK/expired-only.log" ||
	fail "expired-only: $(cat "$WORK/expired-only.log")"
echo "ok expired: Basic over https after the refused ticket; without a password exit 3 naming the ticket"
echo "--auth auto with Apache (Negotiate, Basic): Negotiate with a ticket, Basic over https only, never a password over http"
