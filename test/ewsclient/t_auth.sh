# Authentication and secrets: wrong password, expired or revoked token, denied impersonation each
# give a clear error and exit 3 with nothing written; impersonation and bearer tokens work; no test
# needs a secret on the command line, and the password never shows in the snapshot, the traces or
# the logs at the most verbose level.
. "$(dirname "$0")/lib.sh"
$PY "$GEN" --mailbox alice@example.com --folders 25 --items 200 --seed 5 -o "$WORK/alice.jsonl"
$PY "$GEN" --mailbox bob@example.com --folders 25 --items 100 --seed 6 -o "$WORK/bob.jsonl"
start_server auth --mailbox "$WORK/alice.jsonl" --mailbox "$WORK/bob.jsonl" $(users_args)

refused() { # refused NAME PATTERN ARGS...: exit 3, PATTERN in the message, nothing written
	n=$1 pat=$2; shift 2
	client "$n" --url "$(url)" "$@" -o "$WORK/$n.jsonl"
	expect_rc 3 "$n"
	grep -q "$pat" "$WORK/$n.log" || fail "$n: no '$pat' in: $(cat "$WORK/$n.log")"
	[ ! -e "$WORK/$n.jsonl" ] || fail "$n: a snapshot was written"
	echo "ok $n: $(grep error: "$WORK/$n.log" | head -1)"
}
refused wrong-password "refused the credentials" --mailbox alice@example.com --auth basic --user alice \
	--password-file "$(secret_file bad not-the-password)"
refused expired-token "refused the token" --mailbox alice@example.com --auth bearer \
	--token-file "$(secret_file old tok-alice-old)"
refused revoked-token "refused the token" --mailbox alice@example.com --token-file "$(secret_file rev tok-alice-revoked)"
refused denied-impersonation "ImpersonateUserDenied" --mailbox alice@example.com --auth basic --user svc-limited \
	--password-file "$(secret_file svcl svc-pw-5)" --impersonate
refused other-mailbox "root folder" --mailbox bob@example.com --auth basic --user alice --password-file "$(secret_file a alice-pw-1)"

# What works: a bearer token; impersonation by a service account; the password from the environment.
client bearer --url "$(url)" --mailbox alice@example.com --token-file "$(secret_file tok tok-alice-valid)" -o "$WORK/b.jsonl"
expect_rc 0 "bearer token"
client impersonate --url "$(url)" --mailbox bob@example.com --auth basic --user svc-sync --password-file "$(secret_file svc svc-pw-4)" \
	--impersonate -o "$WORK/imp.jsonl"
expect_rc 0 "impersonation"
$PY "$CLIENT_TESTS/compare.py" "$WORK/bob.jsonl" "$WORK/imp.jsonl" --no-associated >/dev/null || fail "impersonated pull differs"

# The most verbose run, with traces: the password appears nowhere.
mkdir "$WORK/trace"
OSTRECON_PASSWORD=alice-pw-1 client verbose -v -v -v --url "$(url)" --mailbox alice@example.com --auth basic --user alice \
	--trace-dir "$WORK/trace" -o "$WORK/v.jsonl"
expect_rc 0 "password from the environment"
grep -c debug: "$WORK/verbose.log" >/dev/null || fail "no debug output at -vvv"
if grep -rl "alice-pw-1" "$WORK/verbose.log" "$WORK/v.jsonl" "$WORK/trace" "$WORK/b.jsonl"; then
	fail "the password leaked into the files above"
fi
b64=$(printf 'alice:alice-pw-1' | base64)
grep -rl "$b64" "$WORK/verbose.log" "$WORK/trace" && fail "the Basic credentials leaked"
grep -rl "tok-alice-valid" "$WORK/b.jsonl" "$WORK/bearer.log" && fail "the token leaked"

# --auth auto, the default: what the server offers. Over plain http this server offers Basic (and
# Bearer) only, so no password goes: exit 3 saying why, and no request carried credentials. Over
# https the same offer gives Basic, said at -v and in the snapshot's header.
start_server autoplain --mailbox "$WORK/alice.jsonl" $(users_args) --log "$WORK/autoplain.log"
client auto-http --url "$(url)" --mailbox alice@example.com --user alice --password-file "$(secret_file a2 alice-pw-1)" \
	-o "$WORK/ah.jsonl"
expect_rc 3 "--auth auto, Basic only, over http"
grep -q "error: .*--auth auto: no usable authentication for http://.*: the server offers Bearer, Basic; Basic would send the password unencrypted over plain http://" \
	"$WORK/auto-http.log" || fail "auto-http: no clear refusal: $(cat "$WORK/auto-http.log")"
client auto-nouser --url "$(url)" --mailbox alice@example.com -o "$WORK/an.jsonl"
expect_rc 3 "--auth auto without a user"
grep -q "Basic needs --user and a password" "$WORK/auto-nouser.log" || fail "auto-nouser: $(cat "$WORK/auto-nouser.log")"
$PY - "$WORK/autoplain.log" <<'PYEOF' || fail "a password went over plain http"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs and all(not r["credentials"] and r["status"] == 401 for r in recs), recs
PYEOF
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
start_server autotls --mailbox "$WORK/alice.jsonl" $(users_args) --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
client auto-https -v --url "https://localhost:$PORT/EWS/Exchange.asmx" --cacert "$WORK/cert.pem" --mailbox alice@example.com \
	--user alice --password-file "$(secret_file a3 alice-pw-1)" -o "$WORK/at.jsonl"
expect_rc 0 "--auth auto over https"
grep -q "offers Bearer, Basic; using Basic (--auth auto)" "$WORK/auto-https.log" || fail "auto-https: -v does not say: $(cat "$WORK/auto-https.log")"
head -n 1 "$WORK/at.jsonl" | grep -q '"auth":"basic","auth_auto":true' || fail "auto-https: header: $(head -n 1 "$WORK/at.jsonl")"
client auto-https-bad --url "https://localhost:$PORT/EWS/Exchange.asmx" --cacert "$WORK/cert.pem" --mailbox alice@example.com \
	--user alice --password-file "$(secret_file a4 wrong-pw)" -o "$WORK/atb.jsonl"
expect_rc 3 "--auth auto, wrong password"
grep -q "error: .*Basic authentication failed: the server refused the credentials" "$WORK/auto-https-bad.log" ||
	fail "auto-https-bad: $(cat "$WORK/auto-https-bad.log")"
echo "ok auto: no password over http (Basic only offered), Basic over https, named at -v and in the header"

# No secret anywhere and no terminal: a usage error, not a hang.
client nosecret --url "$(url)" --mailbox alice@example.com --auth basic --user alice -o "$WORK/n.jsonl" </dev/null
[ "$RC" -eq 64 ] || [ "$RC" -eq 3 ] || fail "no secret: exit $RC"
# A password on the command line is not an option at all.
client argv --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password alice-pw-1 -o "$WORK/a.jsonl"
expect_rc 64 "--password on the command line"
echo "auth: refusals are clear, secrets stay out of logs, traces and snapshots"
