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
refused wrong-password "refused the credentials" --mailbox alice@example.com --user alice \
	--password-file "$(secret_file bad not-the-password)"
refused expired-token "refused the token" --mailbox alice@example.com --auth bearer \
	--token-file "$(secret_file old tok-alice-old)"
refused revoked-token "refused the token" --mailbox alice@example.com --token-file "$(secret_file rev tok-alice-revoked)"
refused denied-impersonation "ImpersonateUserDenied" --mailbox alice@example.com --user svc-limited \
	--password-file "$(secret_file svcl svc-pw-5)" --impersonate
refused other-mailbox "root folder" --mailbox bob@example.com --user alice --password-file "$(secret_file a alice-pw-1)"

# What works: a bearer token; impersonation by a service account; the password from the environment.
client bearer --url "$(url)" --mailbox alice@example.com --token-file "$(secret_file tok tok-alice-valid)" -o "$WORK/b.jsonl"
expect_rc 0 "bearer token"
client impersonate --url "$(url)" --mailbox bob@example.com --user svc-sync --password-file "$(secret_file svc svc-pw-4)" \
	--impersonate -o "$WORK/imp.jsonl"
expect_rc 0 "impersonation"
$PY "$CLIENT_TESTS/compare.py" "$WORK/bob.jsonl" "$WORK/imp.jsonl" --no-associated >/dev/null || fail "impersonated pull differs"

# The most verbose run, with traces: the password appears nowhere.
mkdir "$WORK/trace"
OSTRECON_PASSWORD=alice-pw-1 client verbose -v -v -v --url "$(url)" --mailbox alice@example.com --user alice \
	--trace-dir "$WORK/trace" -o "$WORK/v.jsonl"
expect_rc 0 "password from the environment"
grep -c debug: "$WORK/verbose.log" >/dev/null || fail "no debug output at -vvv"
if grep -rl "alice-pw-1" "$WORK/verbose.log" "$WORK/v.jsonl" "$WORK/trace" "$WORK/b.jsonl"; then
	fail "the password leaked into the files above"
fi
b64=$(printf 'alice:alice-pw-1' | base64)
grep -rl "$b64" "$WORK/verbose.log" "$WORK/trace" && fail "the Basic credentials leaked"
grep -rl "tok-alice-valid" "$WORK/b.jsonl" "$WORK/bearer.log" && fail "the token leaked"

# No secret anywhere and no terminal: a usage error, not a hang.
client nosecret --url "$(url)" --mailbox alice@example.com --user alice -o "$WORK/n.jsonl" </dev/null
[ "$RC" -eq 64 ] || [ "$RC" -eq 3 ] || fail "no secret: exit $RC"
# A password on the command line is not an option at all.
client argv --url "$(url)" --mailbox alice@example.com --user alice --password alice-pw-1 -o "$WORK/a.jsonl"
expect_rc 64 "--password on the command line"
echo "auth: refusals are clear, secrets stay out of logs, traces and snapshots"
