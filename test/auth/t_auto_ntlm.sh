#!/bin/sh
# --auth auto (the default) against what on-premises Exchange offers: Negotiate and NTLM (IIS's
# order), here Squid with negotiate_kerberos_auth (an MIT KDC) and ntlm_auth (Samba's winbindd as a
# standalone server) in front of the test EWS server. With a Kerberos ticket the client takes
# Negotiate; without one, NTLM with the password (user or DOMAIN\user); with neither, exit 3
# saying what is missing. A wrong NTLM password is refused once (never retried with Basic or
# elsewhere). The method is named at -v and in the snapshot header's options.
. "$(dirname "$0")/lib.sh"
need_ntlm
need_kerberos
t0=$(now)
NTLM_USER=ostra$$ # a Unix and Samba user made for this run and removed after it
pw=auto-ntlm-pw-5
alice_mailbox 15 150 14
# The Samba user and the Kerberos principal are both users of alice's mailbox.
printf '{"users": [{"name": "%s", "mailbox": "alice@example.com"}, {"name": "alice", "mailbox": "alice@example.com"}]}\n' \
	"$NTLM_USER" >"$WORK/users.json"
start_ews_backend --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json"
start_kdc
krb_add_principal alice alice-krb-pw-6
start_winbindd "$NTLM_USER" "$pw"
start_squid_ntlm negotiate
echo "setup: KDC, winbindd and Squid (Negotiate + NTLM) on 127.0.0.1:$NTLM_PORT in $(elapsed "$t0") s"
URL="http://127.0.0.1:$NTLM_PORT/EWS/Exchange.asmx"
pwfile=$(secret_file pw "$pw")
curl -sS -o /dev/null -D "$WORK/h.txt" "$URL" || fail "curl to Squid"
[ "$(grep -i '^WWW-Authenticate:' "$WORK/h.txt" | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ')" = "Negotiate NTLM " ] ||
	fail "Squid does not offer Negotiate then NTLM: $(cat "$WORK/h.txt")"
krb_kinit_ok "$KRB/cc.alice" alice alice-krb-pw-6

# pulled NAME METHOD USER: exit 0, the mailbox equal, the header and -v name METHOD, served to USER only
pulled() {
	expect_rc 0 "$1"
	same_mailbox "$1"
	auto_chose "$1" "$2" "Negotiate, NTLM"
	proxied_users >"$WORK/users.txt"
	grep -q "proxy $3 " "$WORK/users.txt" && ! grep -v "proxy $3 " "$WORK/users.txt" | grep -qv " 401$" ||
		fail "$1: not served to $3 only: $(cat "$WORK/users.txt")"
	echo "ok $1: $2 as $3 ($(cat "$WORK/$1.cmp"))"
	: >"$WORK/ews-requests.log"
}

# A ticket: Negotiate, even with a password at hand.
KRB5CCNAME="FILE:$KRB/cc.alice" client neg -v --url "$URL" --mailbox alice@example.com --user "$NTLM_USER" \
	--password-file "$pwfile" -o "$WORK/neg.jsonl"
pulled neg negotiate alice
# No ticket: NTLM with the password, as user and as DOMAIN\user.
KRB5CCNAME="FILE:$KRB/none" client ntlm -v --url "$URL" --mailbox alice@example.com --user "$NTLM_USER" \
	--password-file "$pwfile" -o "$WORK/ntlm.jsonl"
pulled ntlm ntlm "$NTLM_USER"
KRB5CCNAME="FILE:$KRB/none" client ntlm-domain -v --url "$URL" --mailbox alice@example.com \
	--user "$NTLM_DOMAIN\\$NTLM_USER" --password-file "$pwfile" -o "$WORK/ntlm-domain.jsonl"
pulled ntlm-domain ntlm "$NTLM_USER"

# Neither: exit 3 naming both; a wrong password: NTLM refused, once.
KRB5CCNAME="FILE:$KRB/none" client nothing --url "$URL" --mailbox alice@example.com -o "$WORK/nothing.jsonl"
expect_rc 3 "no ticket, no user"
grep -q "error: .*--auth auto: no usable authentication for $URL: the server offers Negotiate, NTLM; Negotiate: no Kerberos ticket the server accepts (klist lists the tickets, kinit gets one); NTLM needs --user and a password" \
	"$WORK/nothing.log" || fail "nothing: $(cat "$WORK/nothing.log")"
echo "ok nothing: $(grep -o 'error: .*' "$WORK/nothing.log" | cut -c1-120)..."
# logons: NTLM logons winbindd saw (its main log; a domain child's log repeats them)
logons() { grep -c "pam auth crap" "$SMB/log/log.winbindd"; }
logons_before=$(logons)
KRB5CCNAME="FILE:$KRB/none" client wrong --url "$URL" --mailbox alice@example.com --user "$NTLM_USER" \
	--password-file "$(secret_file bad not-the-password)" -o "$WORK/wrong.jsonl"
expect_rc 3 "a wrong NTLM password"
grep -q "error: .*NTLM authentication failed: the server refused the credentials" "$WORK/wrong.log" || fail "wrong: $(cat "$WORK/wrong.log")"
logons=$(($(logons) - logons_before))
[ "$logons" -eq 1 ] || fail "wrong: the wrong password was tried $logons times, expected once"
[ ! -e "$WORK/wrong.jsonl" ] || fail "wrong: a snapshot was written"
grep -rl -e "$pw" -e alice-krb-pw-6 "$WORK"/*.log "$SQ" "$SMB/log" 2>/dev/null && fail "a password leaked into the files above"
echo "ok wrong: NTLM refused after one logon attempt, exit 3"
echo "--auth auto with Squid (Negotiate, NTLM): Negotiate with a ticket, else NTLM; nothing usable or a wrong password exit 3"
