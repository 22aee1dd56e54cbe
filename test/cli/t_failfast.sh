# `scan` checks what it can in a moment before the long part: a cache file that is missing or is
# not a PST/OST, and a report path that cannot be written, stop the scan before a single request
# reaches the server; a refused password stops the cache read (the other side) at once.
. "$(dirname "$0")/../ews/lib.sh"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"
OSTWRITE="$TOOLS_DIR/ostwrite"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built"
"$OSTWRITE" --expand "$ROOT/samples/demo/server.json" -o "$WORK/dana.jsonl" || fail "ostwrite --expand"
"$OSTWRITE" "$ROOT/samples/demo/cache.json" --format ost4k -o "$WORK/dana.ost" 2>/dev/null || fail "ostwrite"
printf '{"users": [{"name": "dana", "password": "pw", "mailbox": "dana@contoso.example"}]}\n' >"$WORK/users.json"
printf 'pw\n' >"$WORK/pw"; printf 'wrong\n' >"$WORK/bad"; chmod 600 "$WORK/pw" "$WORK/bad"
start_server s --mailbox "$WORK/dana.jsonl" --users "$WORK/users.json" --log "$WORK/requests.jsonl"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
scan() { "$OSTRECON" scan --url "$url" --mailbox dana@contoso.example --auth basic --user dana --no-progress "$@" >/dev/null 2>"$WORK/err"; }
requests() { [ -f "$WORK/requests.jsonl" ] && wc -l <"$WORK/requests.jsonl" || echo 0; }

scan --ost "$WORK/none.ost" --password-file "$WORK/pw"
[ $? -eq 3 ] || fail "a missing cache file: not exit 3"
grep -q "none.ost" "$WORK/err" || fail "a missing cache file is not named"
printf 'not a pst\n%.0s' $(seq 100) >"$WORK/text.ost"
scan --ost "$WORK/text.ost" --password-file "$WORK/pw"
[ $? -eq 3 ] || fail "a text file as the cache: not exit 3"
grep -q "not a PST/OST file" "$WORK/err" || fail "a text file as the cache: $(cat "$WORK/err")"
mkdir "$WORK/ro" && chmod 500 "$WORK/ro"
if [ "$(id -u)" != 0 ]; then
	scan --ost "$WORK/dana.ost" --password-file "$WORK/pw" -o "$WORK/ro/report.json"
	[ $? -eq 64 ] || fail "an unwritable report: not exit 64"
fi
scan --ost "$WORK/dana.ost" --password-file "$WORK/pw" -o "$WORK/nowhere/report.json"
[ $? -eq 64 ] || fail "a report in a folder that does not exist: not exit 64"
grep -q "nowhere" "$WORK/err" || fail "the report's folder is not named: $(cat "$WORK/err")"
n=$(requests)
[ "$n" -eq 0 ] || fail "$n requests reached the server before the scan stopped"
echo "ok: a missing or foreign cache file and an unwritable report stop the scan before any request"

scan --ost "$WORK/dana.ost" --password-file "$WORK/bad"
[ $? -eq 3 ] || fail "a refused password: not exit 3"
grep -q "refused the credentials" "$WORK/err" || fail "a refused password: $(cat "$WORK/err")"
grep -q "cache file" "$WORK/err" && fail "a refused password is reported as a cache problem: $(cat "$WORK/err")"
echo "ok: a refused password ends the scan, named as such"

# batch: a manifest that is not there is named as such, before any credential is asked for.
"$OSTRECON" batch "$WORK/none.csv" -o "$WORK/b" >/dev/null 2>"$WORK/err"
[ $? -eq 3 ] || fail "a missing manifest: not exit 3"
grep -q "manifest.*none.csv" "$WORK/err" || fail "a missing manifest is not named: $(cat "$WORK/err")"
echo "ok: a missing manifest is named first"
