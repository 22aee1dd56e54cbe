# Logging: -v and -vv add detail to every command (ost included); --log-file writes a timestamped
# log of the run, owner-only, never through a symbolic link, with no secret in it, whatever -q
# says; batch writes each mailbox's own log beside its report (reports/NAME.log, named in the
# summary) holding that mailbox's lines only, unless --no-mailbox-logs.
. "$(dirname "$0")/../batch/lib.sh"
make_fleet 3
TS='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warning|info|verbose|debug): '

# ost: quiet, normal, -v and -vv say more and more.
for v in -q "" -v -vv; do
	# shellcheck disable=SC2086
	"$OSTRECON" ost $v "$FLEET/user01.ost" -o "$WORK/ost.jsonl" 2>"$WORK/ost$v.err" || fail "ostrecon ost $v"
done
n_q=$(wc -l <"$WORK/ost-q.err") n=$(wc -l <"$WORK/ost.err") n_v=$(wc -l <"$WORK/ost-v.err") n_vv=$(wc -l <"$WORK/ost-vv.err")
[ "$n_q" -eq 0 ] && [ "$n" -ge 1 ] && [ "$n_v" -gt "$n" ] && [ "$n_vv" -gt "$n_v" ] ||
	fail "ost -q/-/-v/-vv print $n_q/$n/$n_v/$n_vv lines"
grep -q "read by the native reader" "$WORK/ost-v.err" || fail "ost -v does not say how the file is read"
grep -q "debug: folder .*messages\?$" "$WORK/ost-vv.err" || fail "ost -vv does not list the folders"
echo "ok: ost -q/-/-v/-vv: $n_q/$n/$n_v/$n_vv lines"

# --log-file with -q: nothing on the console, the log holds the -v lines with timestamps.
start_server main --mailbox-dir "$FLEET" --users "$WORK/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
printf 'x\n' >"$WORK/old.log" && chmod 644 "$WORK/old.log"
"$OSTRECON" scan -q --log-file "$WORK/old.log" --url "$url" --mailbox user01@fleet.example --auth basic --user svc \
	--password-file "$WORK/svc.pw" --impersonate --ost "$FLEET/user01.ost" --no-progress >/dev/null 2>"$WORK/scan.err"
rc=$?
[ $rc -le 2 ] || fail "scan --log-file: exit $rc ($(cat "$WORK/scan.err"))"
[ -s "$WORK/scan.err" ] && fail "scan -q wrote to the console: $(cat "$WORK/scan.err")"
[ "$(stat -c %a "$WORK/old.log")" = 600 ] || fail "the log file is mode $(stat -c %a "$WORK/old.log"), not 600"
head -1 "$WORK/old.log" | grep -qx x || fail "the log file was not appended to"
tail -n +2 "$WORK/old.log" | grep -Evq "$TS" && fail "a line without a timestamp: $(tail -n +2 "$WORK/old.log" | grep -Ev "$TS" | head -1)"
grep -q "verbose: ostrecon .* scan (pid [0-9]*): logging to" "$WORK/old.log" || fail "no opening line"
grep -q "verbose: scan: exit code $rc after" "$WORK/old.log" || fail "no closing line with the exit code"
grep -q "read by the native reader" "$WORK/old.log" || fail "the cache side is not in the log"
grep -q "svc-pw" "$WORK/old.log" && fail "the password is in the log"
echo "ok: --log-file: $(wc -l <"$WORK/old.log") timestamped lines, mode 600, appended, no secret, -q notwithstanding"

ln -s "$WORK/target.log" "$WORK/link.log"
"$OSTRECON" ost --log-file "$WORK/link.log" "$FLEET/user01.ost" -o "$WORK/ost.jsonl" 2>"$WORK/err"
[ $? -eq 64 ] || fail "a log file that is a symbolic link: not a usage error"
grep -q "symbolic link" "$WORK/err" || fail "the symbolic link is not named: $(cat "$WORK/err")"
[ -e "$WORK/target.log" ] && fail "the symbolic link was followed"
"$OSTRECON" ost --log-file "$WORK/nowhere/x.log" "$FLEET/user01.ost" -o "$WORK/ost.jsonl" 2>"$WORK/err"
[ $? -eq 64 ] || fail "a log file in a missing folder: not a usage error"
echo "ok: a log file through a symbolic link or in a missing folder is refused"

# batch: one log per mailbox, that mailbox's lines only.
{ echo "mailbox,cache"; for k in 01 02 03; do echo "user$k@fleet.example,fleet/user$k.ost"; done; } >"$WORK/m.csv"
batch logs "$WORK/m.csv" -o "$WORK/out" --url "$url" --jobs 3 --log-file "$WORK/run.log"
[ "$RC" -le 2 ] || { cat "$WORK/logs.log"; fail "batch: exit $RC"; }
for k in 01 02 03; do
	l="$WORK/out/reports/user$k@fleet.example.log"
	[ -f "$l" ] || fail "no log for user$k: $(ls "$WORK/out/reports")"
	[ "$(stat -c %a "$l")" = 600 ] || fail "$l is mode $(stat -c %a "$l")"
	grep -Evq "$TS" "$l" && fail "$l: a line without a timestamp"
	grep -q "mailbox user$k@fleet.example (manifest line" "$l" || fail "$l does not open with its mailbox"
	grep -q "read by the native reader" "$l" || fail "$l lacks the cache side's lines (another thread's)"
	grep -q "mailbox user$k@fleet.example: in_sync\|mailbox user$k@fleet.example: [a-z_]* (" "$l" ||
		fail "$l does not end with the outcome: $(tail -1 "$l")"
	grep "fleet.example" "$l" | grep -v "user$k@fleet.example" | grep -q . && fail "$l holds another mailbox's lines"
	grep -q "svc-pw" "$l" && fail "$l holds the password"
	grep -q "user$k@fleet.example: " "$WORK/run.log" || fail "the run's log lacks user$k"
done
$PY - "$WORK/out/summary.json" "$WORK/out" <<'PY' || fail "the summary does not name the logs"
import json, os, sys
s = json.load(open(sys.argv[1]))
for e in s["mailboxes"]:
    assert e["log"] and os.path.exists(e["log"]), e
PY
batch nologs "$WORK/m.csv" -o "$WORK/out2" --url "$url" --no-mailbox-logs
[ "$RC" -le 2 ] || fail "batch --no-mailbox-logs: exit $RC"
ls "$WORK/out2/reports" | grep -q '\.log$' && fail "--no-mailbox-logs wrote logs"
echo "ok: batch: a private log per mailbox with its lines only, named in the summary; --no-mailbox-logs"
