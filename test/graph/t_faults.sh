# The Graph client against a misbehaving Graph server: throttling (429 and 503 with fractional
# Retry-After, the per-mailbox concurrency limit), expired delta states (410), a mailbox over
# quota, dropped connections, cut and broken pages, huge values, pages that repeat items, a folder
# that fails, expired tokens, an application access policy and an unknown mailbox. Every pull that
# can complete gives the mailbox as served, each item once; every other one fails clearly.
. "$(dirname "$0")/lib.sh"
ADDR=alice@example.com
"$PY" "$ROOT/test/graphserver/mkfixture.py" --mailbox "$ADDR" --items 400 -o "$WORK/alice.jsonl" >/dev/null ||
	fail "mkfixture"
MBX="$WORK/alice.jsonl"
TOK=$(secret_file app.tok tok-app)

# run NAME SERVER-OPTIONS... -- CLIENT-OPTIONS...: a server with these faults, one pull
run() {
	rname=$1; shift
	sargs=""
	set -- "$@"
	n=0
	for a in "$@"; do
		n=$((n + 1))
		[ "$a" = -- ] && break
	done
	srv=$(printf '%s\n' "$@" | head -n $((n - 1)))
	cli=$(printf '%s\n' "$@" | tail -n +$((n + 1)))
	set --
	while IFS= read -r a; do [ -n "$a" ] && set -- "$@" "$a"; done <<EOS
$srv
EOS
	start_server "$rname" --mailbox "$MBX" --tokens "$TOKENS" --log "$WORK/$rname.srv.jsonl" "$@"
	set --
	while IFS= read -r a; do [ -n "$a" ] && set -- "$@" "$a"; done <<EOS
$cli
EOS
	gclient "$rname" --mailbox "$ADDR" --token-file "$TOK" --page-size 7 -v "$@"
	stop_server "$SERVER_PID"
}
served() { compare "$MBX" "$WORK/$name.jsonl"; }
faults_met() { # faults_met NAME KIND: the server's log shows that fault at least once
	grep -q "\"fault\": *\"$2" "$WORK/$1.srv.jsonl" || fail "$1: the server never injected $2"
}

run clean --
expect_rc 0 "clean"; served

run t429 --http429-every 4 --retry-after 0.2 --
expect_rc 0 "429 with a fractional Retry-After"; served; faults_met t429 http429
grep -q "retrying in 2[0-9][0-9] ms\|retrying in 3[0-9][0-9] ms\|retrying in 4[0-4][0-9] ms" "$WORK/t429.log" ||
	fail "the fractional Retry-After (0.2 s) was not honoured"

run t503 --http503-every 5 --retry-after 0.1 --
expect_rc 0 "503"; served; faults_met t503 http503

run conc --max-concurrent-per-mailbox 2 --latency-ms 30 -- --concurrency 8
expect_rc 0 "over the mailbox's concurrency limit"; served; faults_met conc concurrency

run gone --gone-every 9 --
expect_rc 0 "410 on delta tokens"; served; faults_met gone gone
expect_log "starting the" "410"
run gonef --gone-folder "$ADDR:inbox" --
expect_rc 0 "410 in the Inbox"; served; faults_met gonef gone
expect_log "starting the folder again" "410 in the Inbox"

run quota --quota-exceeded "$ADDR" --
expect_rc 0 "over quota"; served
expect_log "over its quota" "over quota"
grep -q '"paging":"list"' "$WORK/quota.jsonl" || fail "quota: the header does not say items were listed"

run drop --drop-every 6 --
expect_rc 0 "dropped connections"; served; faults_met drop drop
run cut --truncate-every 5 --
expect_rc 0 "cut pages"; served; faults_met cut trunc
run broken --malformed-every 5 --
expect_rc 0 "malformed pages"; served; faults_met broken malformed
run dup --duplicate-every 2 --stats-file "$WORK/dup.stats" --
expect_rc 0 "repeated items"; served
"$PY" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["duplicates"] > 0 else 1)' "$WORK/dup.stats" ||
	fail "the server sent no item twice"
run huge --huge-every 9 --huge-bytes 3000000 --
expect_rc 0 "huge values"
"$PY" - "$WORK/huge.jsonl" <<'PY' || fail "the huge value is not in the snapshot whole"
import json, sys
longest = max(len(json.dumps(json.loads(l))) for l in open(sys.argv[1]))
sys.exit(0 if longest > 3000000 else "longest line %d bytes" % longest)
PY

run ffail --folder-error "$ADDR:inbox=403:ErrorAccessDenied" --
expect_rc 2 "a folder that fails"
grep -q '"type":"error","scope":"folder".*access_denied' "$WORK/ffail.jsonl" || fail "no error line for the folder"

# A token the server refuses halfway, with nothing to renew it: a clear error, nothing written.
run expired --expire-after 5 --
expect_rc 3 "expired token"
expect_log "refused the token" "expired token"
[ ! -e "$WORK/expired.jsonl" ] || fail "a snapshot was written after the token expired"

run policy --odata-disabled "$ADDR" --
expect_rc 3 "application access policy"
expect_log "application access policy" "application access policy"

start_server unknown --mailbox "$MBX" --tokens "$TOKENS"
gclient unknown --mailbox nobody@example.com --token-file "$TOK"
expect_rc 3 "unknown mailbox"
stop_server "$SERVER_PID"

# No Graph server at all: a clear error within the bounded retries.
gclient down --mailbox "$ADDR" --token-file "$TOK" --retries 1 --connect-timeout 2
expect_rc 3 "no server"
echo "Graph client: 16 fault modes met, every complete pull as served"
