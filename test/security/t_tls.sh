# Where credentials may go. (Verification itself, --cacert, a self-signed certificate, another host
# name and --insecure are tested in test/ewsclient/t_e2e.sh.) Here: a failed TLS handshake sends
# no HTTP request at all (the server's request log stays empty) and writes nothing; a redirect is
# not followed (the credentials never reach the Location), with a clear error; plain http:// with
# Basic or bearer credentials is warned about.
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox alice@example.com --folders 4 --items 20 --seed 2 -o "$WORK/mbx.jsonl"
pw=$(secret_file pw alice-pw-1)
make_cert cert localhost

start_server tls --mailbox "$WORK/mbx.jsonl" $(users_args) --tls-cert "$WORK/cert.pem" --tls-key "$WORK/cert.key" \
	--log "$WORK/tls-requests.jsonl"
client self-signed --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" -o "$WORK/s.jsonl"
expect_rc 3 "self-signed certificate"
[ ! -e "$WORK/s.jsonl" ] || fail "a snapshot was written after a TLS failure"
[ ! -s "$WORK/tls-requests.jsonl" ] || { cat "$WORK/tls-requests.jsonl"; fail "an HTTP request got through a failed handshake"; }
client wrong-name --url "https://127.0.0.1:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" --cacert "$WORK/cert.pem" -o "$WORK/s.jsonl"
expect_rc 3 "certificate for localhost, URL with 127.0.0.1"
[ ! -s "$WORK/tls-requests.jsonl" ] || fail "an HTTP request got through a host name mismatch"
grep -q "not for the host" "$WORK/wrong-name.log" && grep -q "localhost" "$WORK/wrong-name.log" ||
	fail "a name mismatch does not say so with the certificate's names: $(grep error: "$WORK/wrong-name.log")"
client verified --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" --cacert "$WORK/cert.pem" -o "$WORK/s.jsonl"
expect_rc 0 "verified with --cacert"
[ -s "$WORK/tls-requests.jsonl" ] || fail "the server logs no request at all: the checks above see nothing"
echo "ok: TLS failures send no request and write nothing"

printf 'moved\n' >"$WORK/moved.txt"
start_replay redirect "302:$WORK/moved.txt"
client redirect --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" -o "$WORK/r.jsonl"
expect_rc 3 "a redirect"
grep -q "redirected" "$WORK/redirect.log" || fail "no clear message: $(cat "$WORK/redirect.log")"
grep -q "redirected.*/elsewhere" "$WORK/redirect.log" || fail "the redirect's target is not named: $(cat "$WORK/redirect.log")"
grep -q "/elsewhere" "$WORK/redirect.requests" && fail "the redirect was followed"
[ ! -e "$WORK/r.jsonl" ] || fail "a snapshot was written after a redirect"
echo "ok: a redirect is refused, not followed"

start_server plain --mailbox "$WORK/mbx.jsonl" $(users_args)
client plain --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" -o "$WORK/p.jsonl"
expect_rc 0 "plain http"
grep -q "travel unencrypted" "$WORK/plain.log" || fail "plain http:// with Basic credentials was not warned about"
client plain-token --url "$(url)" --mailbox alice@example.com --token-file "$(secret_file tok tok-alice-valid)" \
	-o "$WORK/p2.jsonl"
expect_rc 0 "plain http with a token"
grep -q "travel unencrypted" "$WORK/plain-token.log" || fail "plain http:// with a token was not warned about"
echo "ok: plain http:// warned"
