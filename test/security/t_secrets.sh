# Secrets never leave the process: no option takes a password or token (--password/--token are
# refused without echoing the value); at every verbosity (-q, default, -v, -vv, -vvv) and on every
# path (success, wrong password, TLS failure, credentials refused halfway, bearer token accepted
# and expired) the password, the Basic header value and the token are in no log line, snapshot,
# trace file or error message. (TLS verification itself: test/ewsclient/t_e2e.sh; here only what a
# TLS failure prints.)
. "$(dirname "$0")/lib.sh"
"$PY" "$GEN" --mailbox alice@example.com --folders 6 --items 60 --seed 9 -o "$WORK/mbx.jsonl"
PW=alice-pw-1
TOKEN=tok-alice-valid
B64=$(printf 'alice:%s' "$PW" | base64)
pwf=$(secret_file pw "$PW")
badf=$(secret_file bad "wrong-$PW-secret")
tokf=$(secret_file tok "$TOKEN")
oldf=$(secret_file old tok-alice-old)
mkdir "$WORK/out"

# leaks DIR...: fails when a secret shows in any file under the arguments
leaks() {
	for s in "$PW" "$B64" "$TOKEN" "wrong-$PW-secret" tok-alice-old; do
		if grep -rlF -- "$s" "$@"; then fail "a secret ('$s') leaked into the files above"; fi
	done
}

# 1. No option takes a secret, and a refused one is not echoed.
for cmd in server scan; do
	"$OSTRECON" "$cmd" --help >"$WORK/help.txt" 2>&1 || continue
	if grep -E -- '--(password|token|secret|passwd|pass)([ =]|$)' "$WORK/help.txt"; then
		fail "$cmd --help lists an option that takes a secret"
	fi
	for opt in "--password $PW" "--password=$PW" "--token $TOKEN" "--token=$TOKEN"; do
		# shellcheck disable=SC2086
		"$OSTRECON" "$cmd" --url http://127.0.0.1:1/EWS/Exchange.asmx --mailbox alice@example.com --auth basic --user alice \
			$opt -o "$WORK/out/argv.jsonl" >"$WORK/out/argv-$cmd.log" 2>&1
		rc=$?
		[ $rc -eq 64 ] || fail "$cmd $opt: exit $rc, expected 64 (usage)"
		grep -q "never taken on the command line" "$WORK/out/argv-$cmd.log" || fail "$cmd $opt: no clear refusal"
	done
done
# batch: nor in its config file, nor in the manifest (a column of secrets is refused).
if "$OSTRECON" batch --help >/dev/null 2>&1; then
	printf 'mailbox,cache\nalice@example.com,%s/none.ost\n' "$WORK" >"$WORK/m.csv"
	printf 'password = %s\n' "$PW" >"$WORK/conf"
	"$OSTRECON" batch "$WORK/m.csv" -o "$WORK/b1" --config "$WORK/conf" --url http://127.0.0.1:1/EWS/Exchange.asmx \
		--auth basic --user alice --no-progress >"$WORK/out/batch-conf.log" 2>&1
	rc=$?; [ $rc -eq 64 ] || fail "a password in the batch config file: exit $rc, expected 64"
	printf 'mailbox,cache,password\nalice@example.com,%s/none.ost,%s\n' "$WORK" "$PW" >"$WORK/m2.csv"
	"$OSTRECON" batch "$WORK/m2.csv" -o "$WORK/b2" --url http://127.0.0.1:1/EWS/Exchange.asmx --auth basic --user alice \
		--password-file "$pwf" --no-progress >"$WORK/out/batch-manifest.log" 2>&1
	rc=$?; [ $rc -ne 0 ] && [ $rc -lt 80 ] || fail "a password column in the manifest: exit $rc"
	grep -q "credentials never go in the manifest" "$WORK/out/batch-manifest.log" || fail "no clear refusal of the column"
fi
leaks "$WORK/out"
echo "ok argv: --password/--token refused (exit 64), values not echoed; none in batch config or manifest"

# 2. Every verbosity on every path.
make_cert good localhost
start_server plain --mailbox "$WORK/mbx.jsonl" $(users_args)
plain=$PORT
start_server tls --mailbox "$WORK/mbx.jsonl" $(users_args) --tls-cert "$WORK/good.pem" --tls-key "$WORK/good.key"
tls=$PORT
start_server expire --expire-after 5 --mailbox "$WORK/mbx.jsonl" $(users_args)
expire=$PORT
runs=0
for v in -q "" -v -vv -vvv; do
	tag=${v:-default}
	run() { # run NAME WANT-RC ARGS...: one pull, with traces, everything under $WORK/out
		n="$1-$tag" want=$2; shift 2
		mkdir -p "$WORK/out/trace-$n"
		# shellcheck disable=SC2086
		timeout 120 "$OSTRECON" server --no-progress $v --mailbox alice@example.com --trace-dir "$WORK/out/trace-$n" \
			-o "$WORK/out/$n.jsonl" "$@" >"$WORK/out/$n.log" 2>&1
		rc=$?
		[ $rc -eq "$want" ] || { tail -n 5 "$WORK/out/$n.log"; fail "$n: exit $rc, expected $want"; }
		runs=$((runs + 1))
	}
	run ok 0 --url "http://127.0.0.1:$plain/EWS/Exchange.asmx" --auth basic --user alice --password-file "$pwf"
	OSTRECON_PASSWORD=$PW run env 0 --url "http://127.0.0.1:$plain/EWS/Exchange.asmx" --auth basic --user alice
	run wrong 3 --url "http://127.0.0.1:$plain/EWS/Exchange.asmx" --auth basic --user alice --password-file "$badf"
	run tlsfail 3 --url "https://localhost:$tls/EWS/Exchange.asmx" --user alice --password-file "$pwf"
	run tlsok 0 --url "https://localhost:$tls/EWS/Exchange.asmx" --user alice --password-file "$pwf" --cacert "$WORK/good.pem"
	run halfway 3 --url "http://127.0.0.1:$expire/EWS/Exchange.asmx" --auth basic --user alice --password-file "$pwf" --retries 1
	run bearer 0 --url "http://127.0.0.1:$plain/EWS/Exchange.asmx" --token-file "$tokf"
	run bearer-old 3 --url "http://127.0.0.1:$plain/EWS/Exchange.asmx" --token-file "$oldf"
	grep -q "TLS" "$WORK/out/tlsfail-$tag.log" || [ "$v" = -q ] && : || fail "no TLS message at $tag"
	stop_server "$SERVER_PID"  # the expire server: its credentials are spent, start it afresh
	start_server "expire$runs" --expire-after 5 --mailbox "$WORK/mbx.jsonl" $(users_args)
	expire=$PORT
done
grep -q "debug:" "$WORK/out/ok--vvv.log" || fail "no debug output at -vvv"
[ "$(ls "$WORK"/out/trace-ok--vvv | wc -l)" -gt 4 ] || fail "no trace files written"
leaks "$WORK/out"
echo "ok: $runs runs (8 paths x 5 verbosities), no secret in logs, snapshots, traces or messages"
