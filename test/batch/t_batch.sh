# A batch of 24 mailboxes against the test server: in-sync and differing mailboxes, a missing cache
# file, a damaged cache, a mailbox the service account may not impersonate, rows on a server that
# throttles, bad manifest rows. Each gets the right verdict or error; the good ones are unaffected;
# a re-run resumes everything that finished.
. "$(dirname "$0")/lib.sh"
make_fleet 20
"$OSTWRITE" "$FLEET/cache05.json" --format ost4k --damage unreadable-message -o "$FLEET/damaged05.ost" 2>/dev/null
start_server main --mailbox-dir "$FLEET" --users "$WORK/users.json"
main="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
start_server busy --mailbox-dir "$FLEET" --users "$WORK/users.json" --busy-every 3 --busy-backoff-ms 100
busy="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
cat >"$WORK/svc-some.pw" <<'PW'
some-pw
PW
chmod 600 "$WORK/svc-some.pw"

{
	echo "mailbox,cache,url,label"
	for k in $(seq -w 1 20); do
		case $k in
		05) echo "user$k@fleet.example,fleet/damaged05.ost,,damaged" ;;
		07) echo "user$k@fleet.example,fleet/nowhere.ost,,missing-cache" ;;
		09|10) echo "user$k@fleet.example,fleet/user$k.ost,$busy,throttled-$k" ;;
		*) echo "user$k@fleet.example,fleet/user$k.ost,," ;;
		esac
	done
	echo "user11@fleet.example,,,no-cache-column"
	echo "not an address,fleet/user01.ost,,bad-address"
	echo "user12@fleet.example,fleet/user12.ost,ftp://x,bad-url"
	echo '"user13@fleet.example","fleet/user13.ost",,"quoted, with comma"'
} >"$WORK/manifest.csv"

batch run1 "$WORK/manifest.csv" -o "$WORK/out" --url "$main" --jobs 4 --max-server-requests 4
[ "$RC" -eq 3 ] || { cat "$WORK/run1.log"; fail "exit $RC, expected 3 (some mailboxes failed)"; }
$PY - "$WORK/out/summary.json" <<'PY' || fail "the summary is not what the manifest calls for"
import json, sys
s = json.load(open(sys.argv[1]))
rows = {e["line"]: e for e in s["mailboxes"]}
assert len(rows) == 24, len(rows)
def check(line, status, verdict=None, error=None):
    e = rows[line]
    assert e["status"] == status, (line, e)
    if verdict is not None:
        assert e["verdict"] == verdict, (line, e["verdict"], verdict)
    if error is not None:
        assert error in (e["error"] or ""), (line, e["error"], error)
for k in range(1, 21):
    line = k + 1
    if k == 5:
        check(line, "done", error=None)
        assert rows[line]["findings"]["item_unreadable"] >= 1 or rows[line]["findings"]["file_damaged"] >= 1, rows[line]
        assert rows[line]["verdict"] in ("rebuild_ost", "incomplete"), rows[line]["verdict"]
    elif k == 7:
        check(line, "failed", error="No such file")
    elif k % 4 == 0:
        check(line, "done", "resync_folders")
        assert rows[line]["findings"]["item_missing"] == 3, rows[line]
    else:
        check(line, "done", "in_sync")
check(22, "bad_row", error="no cache file")
check(23, "bad_row", error="not an e-mail address")
check(24, "bad_row", error="not an http(s)")
check(25, "done", "in_sync")
assert rows[25]["label"] == "quoted, with comma"
print("summary: %d mailboxes, statuses and verdicts as the manifest calls for" % len(rows))
PY
grep -q 'ErrorServerBusy\|busy' "$WORK/run1.log" || true
# --json: the summary itself on standard output (a second run: everything resumed).
timeout 600 "$OSTRECON" batch --user svc --password-file "$WORK/svc.pw" --impersonate --no-progress --json \
	"$WORK/manifest.csv" -o "$WORK/out" --url "$main" --jobs 4 >"$WORK/json.out" 2>/dev/null
"$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["format"]=="ostrecon-batch-summary" and len(s["mailboxes"])==24' \
	"$WORK/json.out" || fail "batch --json does not print the summary"
# The summary follows its schema (docs/summary.schema.json), and the schema is not vacuous.
"$PY" "$ROOT/test/report/validate.py" "$ROOT/docs/summary.schema.json" "$WORK/out/summary.json" ||
	fail "summary.json does not follow docs/summary.schema.json"
sed 's/"status":"done"/"status":"finished"/' "$WORK/out/summary.json" >"$WORK/bad-summary.json"
if "$PY" "$ROOT/test/report/validate.py" "$ROOT/docs/summary.schema.json" "$WORK/bad-summary.json" >/dev/null 2>&1; then
	fail "the summary schema accepts an unknown status"
fi
# The throttled rows were slowed, not failed (checked above: done/in_sync); reports exist for done rows.
n_reports=$(ls "$WORK/out/reports" | grep -c "\.json$")
[ "$n_reports" -eq 20 ] || fail "$n_reports reports, expected 20 (19 fleet mailboxes done + the quoted row)"
for f in "$WORK/out/reports"/*.json; do
	"$OSTRECON" report "$f" >/dev/null 2>&1
	[ $? -le 2 ] || fail "report $f does not load"
	[ "$(stat -c %a "$f")" = 600 ] || fail "report $f is not owner-only"
done
head -1 "$WORK/out/summary.csv" | grep -q '^line,label,mailbox,status,verdict' || fail "summary.csv header"
[ "$(wc -l <"$WORK/out/summary.csv")" -eq 25 ] || fail "summary.csv rows"

# Impersonation denied for a mailbox: that one fails, the allowed one is done.
printf 'mailbox,cache\nuser01@fleet.example,fleet/user01.ost\nuser03@fleet.example,fleet/user03.ost\n' >"$WORK/m2.csv"
timeout 300 "$OSTRECON" batch "$WORK/m2.csv" -o "$WORK/out2" --url "$main" --auth basic --user svc-some \
	--password-file "$WORK/svc-some.pw" --impersonate --no-progress >"$WORK/run2.log" 2>&1
[ $? -eq 3 ] || fail "impersonation batch: exit code"
summary_rows "$WORK/out2/summary.json" >"$WORK/rows2"
grep -q '^2 user01@fleet.example done in_sync' "$WORK/rows2" || fail "allowed mailbox: $(cat "$WORK/rows2")"
grep -q '^3 user03@fleet.example failed .*ImpersonateUserDenied' "$WORK/rows2" || fail "denied mailbox: $(cat "$WORK/rows2")"

# Re-run: everything that finished is taken from the first run, the failures are tried again.
batch rerun "$WORK/manifest.csv" -o "$WORK/out" --url "$main" --jobs 4
$PY - "$WORK/out/summary.json" <<'PY' || fail "the re-run redid finished mailboxes"
import json, sys
s = json.load(open(sys.argv[1]))
done = [e for e in s["mailboxes"] if e["status"] == "done"]
assert done and all(e["resumed"] for e in done), [e["line"] for e in done if not e["resumed"]]
assert not any(e["resumed"] for e in s["mailboxes"] if e["status"] != "done")
print("re-run: %d finished mailboxes resumed, failures retried" % len(done))
PY
batch redone "$WORK/manifest.csv" -o "$WORK/out" --url "$main" --jobs 4 --redo
grep -q '"resumed":true' "$WORK/out/summary.json" && fail "--redo still resumed mailboxes"
echo "batch: 24 rows as designed, impersonation denial isolated, resume and --redo hold"
