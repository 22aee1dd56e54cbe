# The client against the test server, end to end: a mailbox of a few thousand items in nested
# folders comes back equal (folders, keys, properties) over HTTP and HTTPS, whatever the paging and
# concurrency; every request and response validates against Microsoft's schema; TLS is verified.
. "$(dirname "$0")/lib.sh"
need_schema
$PY "$GEN" --mailbox alice@example.com --folders 60 --items 3000 --assoc 25 --seed 7 -o "$WORK/mbx.jsonl"
pw=$(secret_file pw alice-pw-1)
start_server plain --mailbox "$WORK/mbx.jsonl" $(users_args)

mkdir "$WORK/trace"
client full --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	--associated --page-size 97 --concurrency 4 --trace-dir "$WORK/trace" -o "$WORK/snap.jsonl"
expect_rc 0 "pull over HTTP"
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/snap.jsonl" || fail "snapshot differs from the mailbox"
validate_dir "$WORK/trace"

mkdir "$WORK/trace2"
client finditem --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	--finditem --findfolder --page-size 512 --concurrency 1 --trace-dir "$WORK/trace2" -o "$WORK/snap2.jsonl"
expect_rc 0 "pull with FindFolder and FindItem paging"
validate_dir "$WORK/trace2"
grep -l '<m:FindFolder' "$WORK/trace2"/*request.xml >/dev/null || fail "no FindFolder request was made"
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/snap2.jsonl" --no-associated || fail "FindItem snapshot differs"

# HTTPS with a certificate made now: verified against --cacert, refused without it, refused for
# another host name.
command -v openssl >/dev/null || fail "openssl is not installed"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other.example" \
	-addext "subjectAltName=DNS:other.example" \
	-keyout "$WORK/key2.pem" -out "$WORK/cert2.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
start_server tls --mailbox "$WORK/mbx.jsonl" $(users_args) --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
client tls-ok --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" --cacert "$WORK/cert.pem" -o "$WORK/snap3.jsonl"
expect_rc 0 "pull over HTTPS with --cacert"
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/snap3.jsonl" --no-associated || fail "HTTPS snapshot differs"
client tls-self --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" -o "$WORK/snap4.jsonl"
expect_rc 3 "self-signed certificate without --cacert"
grep -q "TLS" "$WORK/tls-self.log" || fail "no TLS error message: $(cat "$WORK/tls-self.log")"
[ ! -e "$WORK/snap4.jsonl" ] || fail "a snapshot was written despite the TLS failure"
start_server tls2 --mailbox "$WORK/mbx.jsonl" $(users_args) --tls-cert "$WORK/cert2.pem" --tls-key "$WORK/key2.pem"
client tls-host --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" --cacert "$WORK/cert2.pem" -o "$WORK/snap5.jsonl"
expect_rc 3 "certificate for another host name"
grep -q "TLS" "$WORK/tls-host.log" || fail "no TLS error message for the wrong host name"
client tls-insecure --url "https://localhost:$PORT/EWS/Exchange.asmx" --mailbox alice@example.com --user alice \
	--password-file "$pw" --insecure -o "$WORK/snap6.jsonl"
expect_rc 0 "--insecure"
grep -q "verification is OFF" "$WORK/tls-insecure.log" || fail "--insecure was not warned about"
echo "end to end: HTTP (SyncFolderItems, FindItem) and HTTPS pulls equal the mailbox; TLS checks hold"
