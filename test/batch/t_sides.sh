# Sides that do not belong together stop `diff` and `batch` (exit 3, or a failed row naming both
# sides) unless --force, which compares them and records it in the report (options.forced): a .pst
# given as a mailbox's cache, a cache whose store names another mailbox. Two .pst files, or a .pst
# with itself, compare as before.
. "$(dirname "$0")/lib.sh"
SC="$ROOT/samples/scenarios/in_sync"
mkdir -p "$WORK/c"
# The in_sync mailbox as alice's; its cache as alice's .ost, as a .pst, and as bob's .ost.
sed 's/insync@scenarios.example/alice@sides.example/' "$SC/server.json" >"$WORK/server.json"
sed 's/insync@scenarios.example/alice@sides.example/' "$SC/cache.json" >"$WORK/c/alice.json"
sed 's/insync@scenarios.example/bob@sides.example/' "$SC/cache.json" >"$WORK/c/bob.json"
"$OSTWRITE" "$WORK/c/alice.json" --format ost4k -o "$WORK/alice.ost" 2>/dev/null || fail "ostwrite alice.ost"
"$OSTWRITE" "$WORK/c/alice.json" --format pst -o "$WORK/alice.pst" 2>/dev/null || fail "ostwrite alice.pst"
"$OSTWRITE" "$WORK/c/bob.json" --format ost4k -o "$WORK/bob.ost" 2>/dev/null || fail "ostwrite bob.ost"
sed 's/insync@scenarios.example/bob@sides.example/' "$SC/server.json" >"$WORK/bob-server.json"
mkdir -p "$WORK/mbx"
"$OSTWRITE" --expand "$WORK/server.json" -o "$WORK/mbx/alice.jsonl" || fail "ostwrite --expand"
"$OSTWRITE" --expand "$WORK/bob-server.json" -o "$WORK/mbx/bob.jsonl" || fail "ostwrite --expand bob"
for c in alice.ost alice.pst bob.ost; do
	"$OSTRECON" -q ost "$WORK/$c" -o "$WORK/$c.jsonl" || fail "ostrecon ost $c"
done

# forced REPORT: the sides check the report says --force overrode ("" when none)
forced() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["options"].get("forced", ""))' "$1"; }

# diff: the server snapshot (the fixture's expansion) against each cache snapshot
"$OSTRECON" diff "$WORK/mbx/alice.jsonl" "$WORK/alice.ost.jsonl" -o "$WORK/ok.json" >/dev/null 2>"$WORK/ok.err"
[ $? -eq 0 ] || { cat "$WORK/ok.err"; fail "alice's cache against alice's mailbox"; }
[ -z "$(forced "$WORK/ok.json")" ] || fail "a check overridden without --force"
for c in alice.pst bob.ost; do
	"$OSTRECON" diff "$WORK/mbx/alice.jsonl" "$WORK/$c.jsonl" -o "$WORK/no.json" >/dev/null 2>"$WORK/no.err"
	rc=$?
	[ $rc -eq 3 ] || fail "diff against $c: exit $rc, expected 3"
	[ ! -e "$WORK/no.json" ] || fail "diff against $c wrote a report"
	grep -q "$WORK/mbx/alice.jsonl" "$WORK/no.err" && grep -q "$WORK/$c.jsonl" "$WORK/no.err" ||
		{ cat "$WORK/no.err"; fail "the error does not name both sides"; }
	grep -q -- "--force" "$WORK/no.err" || fail "the error does not say --force"
done
grep -q "bob@sides.example" "$WORK/no.err" && grep -q "alice@sides.example" "$WORK/no.err" ||
	fail "the error does not name both mailboxes"
"$OSTRECON" diff "$WORK/mbx/alice.jsonl" "$WORK/alice.pst.jsonl" --force -o "$WORK/f.json" >/dev/null 2>"$WORK/f.err"
[ $? -eq 0 ] || { cat "$WORK/f.err"; fail "diff --force against the .pst"; }
[ "$(forced "$WORK/f.json")" = pst_as_cache ] || fail "the forced report does not say pst_as_cache"
grep -q "compared anyway (--force)" "$WORK/f.err" || fail "--force gives no warning"
"$OSTRECON" report "$WORK/f.json" | grep -q "Compared with --force" || fail "the text report does not say --force"
"$OSTRECON" diff "$WORK/alice.pst.jsonl" "$WORK/alice.pst.jsonl" -o "$WORK/p.json" >/dev/null 2>&1 ||
	fail "a .pst against itself"
"$OSTRECON" diff "$WORK/alice.pst.jsonl" "$WORK/alice.ost.jsonl" -o "$WORK/p.json" >/dev/null 2>&1 ||
	fail "a .pst against a cache"

# batch: the same three caches for alice's mailbox on the test EWS server, and bob's own cache for
# bob's mailbox: the two rows whose sides do not belong together fail (exit code 3, no report, the
# error naming both mailboxes), the others are compared as usual; the run's exit code is 3.
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$WORK/users.json"
printf 'svc-pw\n' >"$WORK/svc.pw"
chmod 600 "$WORK/svc.pw"
start_server ews --mailbox-dir "$WORK/mbx" --users "$WORK/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
{
	echo "mailbox,cache,label"
	for c in alice.ost alice.pst bob.ost; do echo "alice@sides.example,$c,$c"; done
	echo "bob@sides.example,bob.ost,bob-own"
} >"$WORK/m.csv"
rows() { $PY -c '
import json, sys
for e in json.load(open(sys.argv[1]))["mailboxes"]:
    named = "alice@sides.example" in (e["error"] or "") and ("bob@sides.example" in e["error"] or ".pst" in e["error"])
    print(e["label"], e["status"], e["exit_code"], e["verdict"] or "-", "report" if e.get("report") else "-",
          "named" if named else "")
' "$1"; }
batch plain "$WORK/m.csv" -o "$WORK/out" --url "$url" --jobs 2
[ "$RC" -eq 3 ] || { cat "$WORK/plain.log"; fail "batch without --force: exit $RC, expected 3"; }
got=$(rows "$WORK/out/summary.json")
want='alice.ost done 0 in_sync report 
alice.pst failed 3 - - named
bob.ost failed 3 - - named
bob-own done 0 in_sync report '
[ "$got" = "$want" ] || { cat "$WORK/plain.log"; echo "$got"; fail "batch without --force"; }
[ ! -e "$WORK/out/reports/bob.ost.json" ] && [ -s "$WORK/out/reports/bob-own.json" ] ||
	fail "a report for the mismatched row, or none for bob's own"
batch forced "$WORK/m.csv" -o "$WORK/out2" --url "$url" --jobs 2 --force
[ "$RC" -eq 0 ] || { cat "$WORK/forced.log"; fail "batch --force: exit $RC, expected 0"; }
got=$(rows "$WORK/out2/summary.json")
want='alice.ost done 0 in_sync report 
alice.pst done 0 in_sync report 
bob.ost done 0 in_sync report 
bob-own done 0 in_sync report '
[ "$got" = "$want" ] || { cat "$WORK/forced.log"; echo "$got"; fail "batch --force"; }
[ "$(forced "$WORK/out2/reports/bob.ost.json")" = other_mailbox ] || fail "bob's forced report"
echo "diff and batch stop on a .pst as the cache and on another mailbox's cache, naming both sides; --force compares them"
