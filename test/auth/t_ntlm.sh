#!/bin/sh
# NTLM against a real acceptor: Samba's winbindd as a standalone server with a user of its own, and
# its ntlm_auth behind Squid (reverse proxy) in front of the test EWS server. With the right
# password (user, DOMAIN\user) the client pulls the whole mailbox as that user, through the
# acceptor only; a wrong password, an unknown user or another domain stop with an error naming
# NTLM, exit 3. The password, read from --password-file, never shows in any process's command
# line while the client runs, nor in its -vvv log or traces. user@domain reaches winbindd as a UPN
# (the name whole, an empty domain, as Windows sends it); a standalone Samba has no UPNs and
# refuses it, an Active Directory domain controller resolves it.
. "$(dirname "$0")/lib.sh"
need_ntlm
t0=$(now)
NTLM_USER=ostrt$$ # a Unix user made for this run and removed after it
pw=ntlm-pw-Qx7
alice_mailbox 25 300 12
# No password in the users file: Basic cannot open the mailbox, only the acceptor's word can.
printf '{"users": [{"name": "%s", "mailbox": "alice@example.com"}]}\n' "$NTLM_USER" >"$WORK/users.json"
start_ews_backend --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json" --latency-ms 10

t1=$(now)
start_winbindd "$NTLM_USER" "$pw"
start_squid_ntlm
echo "setup: winbindd (domain $NTLM_DOMAIN, user $NTLM_USER) and Squid on 127.0.0.1:$NTLM_PORT in $(elapsed "$t1") s" \
	"(with the EWS server: $(elapsed "$t0") s)"
URL="http://127.0.0.1:$NTLM_PORT/EWS/Exchange.asmx"
pwfile=$(secret_file pw "$pw")
badfile=$(secret_file bad not-the-password)

# The acceptor itself: no credentials, 401 with an NTLM challenge and nothing reaches the server.
challenged "$URL" NTLM Squid

# logon_seen USER DOMAIN: winbindd logged an NTLM logon with exactly that user and domain
logon_seen() {
	grep -rqF "pam auth crap domain: [$2] user: [$1]" "$SMB/log"
}

# refused NAME USER PWFILE: exit 3, an error naming NTLM, nothing written
refused() {
	client "$1" --url "$URL" --mailbox alice@example.com --auth ntlm --user "$2" --password-file "$3" -o "$WORK/$1.jsonl"
	expect_rc 3 "$1"
	grep -q "error: .*NTLM authentication failed" "$WORK/$1.log" || fail "$1: the error does not name NTLM: $(cat "$WORK/$1.log")"
	[ ! -e "$WORK/$1.jsonl" ] || fail "$1: a snapshot was written"
	echo "ok $1: exit 3, $(grep -o 'error: .*' "$WORK/$1.log" | cut -c1-100)..."
}
refused wrong-password "$NTLM_USER" "$badfile"
logon_seen "$NTLM_USER" "" || fail "winbindd saw no logon for $NTLM_USER"
refused unknown-user "nobody$$" "$pwfile"
refused wrong-domain "$NTLM_WORKGROUP\\$NTLM_USER" "$pwfile"
logon_seen "$NTLM_USER" "$NTLM_WORKGROUP" || fail "winbindd saw no logon for $NTLM_WORKGROUP\\$NTLM_USER"
refused upn "$NTLM_USER@$NTLM_DOMAIN" "$pwfile"
logon_seen "$NTLM_USER@$NTLM_DOMAIN" "" ||
	fail "user@domain did not reach winbindd as a UPN (the whole name, no domain): $(grep -rh "auth crap" "$SMB/log")"
echo "ok upn: '$NTLM_USER@$NTLM_DOMAIN' reached winbindd whole with an empty domain (a UPN; no UPNs on a standalone server)"
if [ -s "$WORK/ews-requests.log" ] && proxied_users | grep -qv " 401$"; then
	fail "a refused client was served: $(proxied_users)"
fi

# The right password: the whole mailbox, served to that user through the acceptor only, in the
# user forms libcurl sends as such (user, DOMAIN\user, any case). The first pull runs under watch:
# no process's command line (nor the client's environment) holds the password while it runs.
pulled() { # pulled NAME: the snapshot equals the mailbox; the server served NTLM_USER only, through the acceptor
	same_mailbox "$1"
	proxied_users >"$WORK/users.txt"
	grep -q "^[0-9]* proxy $NTLM_USER 200$" "$WORK/users.txt" && [ "$(wc -l <"$WORK/users.txt")" -eq 1 ] ||
		fail "$1: the server did not serve $NTLM_USER through the acceptor only: $(cat "$WORK/users.txt")"
	echo "ok $1: $(cat "$WORK/$1.cmp"); served: $(cat "$WORK/users.txt")"
	: >"$WORK/ews-requests.log"
}
: >"$WORK/ews-requests.log"
mkdir "$WORK/trace"
t2=$(now)
watched_pull plain "$pwfile" -v -v -v --url "$URL" --mailbox alice@example.com --auth ntlm --user "$NTLM_USER" \
	--password-file "$pwfile" --trace-dir "$WORK/trace" -o "$WORK/plain.jsonl"
expect_rc 0 "pull with NTLM"
echo "pull: $(elapsed "$t2") s; $(grep pswatch: "$WORK/plain.log")"
pulled plain
grep -q 'debug:' "$WORK/plain.log" || fail "no debug output at -vvv"
if grep -rl -e "$pw" -e "$(printf '%s:%s' "$NTLM_USER" "$pw" | base64)" "$WORK/plain.log" "$WORK/trace" "$WORK/plain.jsonl" \
	"$SQ" "$SMB/log" "$WORK/ews-requests.log"; then
	fail "the password leaked into the files above"
fi
for form in "$NTLM_DOMAIN\\$NTLM_USER" "$(echo "$NTLM_DOMAIN" | tr 'A-Z' 'a-z')\\$NTLM_USER"; do
	name=$(echo "$form" | tr -c 'A-Za-z0-9\n' _)
	client "$name" --url "$URL" --mailbox alice@example.com --auth ntlm --user "$form" --password-file "$pwfile" \
		-o "$WORK/$name.jsonl"
	expect_rc 0 "pull as $form"
	pulled "$name"
done
logon_seen "$NTLM_USER" "$NTLM_DOMAIN" || fail "winbindd saw no logon for $NTLM_DOMAIN\\$NTLM_USER"

# A client cannot name another user: Squid replaces the header the client sends (eve is no user
# of the server; were her name to arrive, alone or beside the right one, the answer would be 401).
# curl reads the credentials from stdin (-K -), not from its command line.
curl -sS -o /dev/null -w '%{http_code}' --ntlm -K - -H "$PROXY_USER_HEADER: eve" -H 'Content-Type: text/xml' \
	--data-binary "@$ROOT/test/ews/data/req-getfolder.xml" "$URL" >"$WORK/code.txt" <<EOF || fail "curl --ntlm"
user = "$NTLM_USER:$pw"
EOF
[ "$(cat "$WORK/code.txt")" = 200 ] && [ "$(proxied_users)" = "1 proxy $NTLM_USER 200" ] ||
	fail "the header the client sent reached the server: HTTP $(cat "$WORK/code.txt"), $(proxied_users)"
echo "NTLM: the password pulls the mailbox as user and DOMAIN\\user; wrong password, unknown user, other domain and a UPN exit 3 naming NTLM"
