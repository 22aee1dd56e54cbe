# Messages a person can act on: a missing or folder input is named as such (not "line -1" or
# "reading ... failed"), another kind of file given as a snapshot is called that, too many operands
# after a bare --redact say that the key file goes after '=', and `-o -` prints the JSON report
# on standard output for diff (and is refused beside --text).
. "$(dirname "$0")/../ews/lib.sh"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"
OSTWRITE="$TOOLS_DIR/ostwrite"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built"
"$OSTWRITE" --expand "$ROOT/samples/demo/server.json" -o "$WORK/server.jsonl" || fail "ostwrite --expand"
"$OSTWRITE" "$ROOT/samples/demo/cache.json" --format ost4k -o "$WORK/dana.ost" 2>/dev/null || fail "ostwrite"
"$OSTRECON" ost -q "$WORK/dana.ost" -o "$WORK/cache.jsonl" || fail "ostrecon ost"
mkdir "$WORK/adir"
head -c 300 /dev/urandom >"$WORK/key"

# expect CODE PATTERN COMMAND...: the exit code and one line of standard error matching PATTERN
expect() {
	code=$1 pat=$2; shift 2
	"$OSTRECON" "$@" >"$WORK/out" 2>"$WORK/err"
	rc=$?
	[ $rc -eq "$code" ] || fail "ostrecon $*: exit $rc, expected $code ($(cat "$WORK/err"))"
	grep -q -- "$pat" "$WORK/err" || fail "ostrecon $*: '$(cat "$WORK/err")' does not say '$pat'"
	grep -q "line -1\|reading .* failed" "$WORK/err" && fail "ostrecon $*: $(cat "$WORK/err")"
	return 0
}
expect 3 "the report $WORK/none.json does not exist" report "$WORK/none.json"
expect 3 "$WORK/adir is a folder; a report file is expected" report "$WORK/adir"
printf '{"format":' >"$WORK/broken.json"
expect 3 "broken.json:1: not a JSON report" report "$WORK/broken.json"
expect 3 "$WORK/adir/ is a folder; a snapshot file is expected" diff "$WORK/server.jsonl" "$WORK/adir/"
expect 3 "the snapshot $WORK/none.jsonl does not exist" diff "$WORK/none.jsonl" "$WORK/cache.jsonl"
expect 3 "README.md is not an ostrecon snapshot" diff "$ROOT/README.md" "$WORK/cache.jsonl"
expect 3 "$WORK/adir is a folder; a manifest file is expected" batch "$WORK/adir"
expect 3 "the manifest $WORK/none.csv does not exist" batch "$WORK/none.csv"
echo "ok: missing inputs, folders and foreign files are named as such"

expect 64 "3 given (a key file goes with --redact as --redact=KEYFILE)" diff --redact "$WORK/key" "$WORK/server.jsonl" "$WORK/cache.jsonl"
expect 64 "3 given\$" diff "$WORK/key" "$WORK/server.jsonl" "$WORK/cache.jsonl"
expect 64 "a key file goes with --redact" scan --redact "$WORK/key" --ost "$WORK/dana.ost"
"$OSTRECON" diff --redact="$WORK/key" "$WORK/server.jsonl" "$WORK/cache.jsonl" >/dev/null 2>"$WORK/err"
[ $? -le 2 ] || fail "diff --redact=KEYFILE: $(cat "$WORK/err")"
echo "ok: a key file given after a space is explained"

"$OSTRECON" diff "$WORK/server.jsonl" "$WORK/cache.jsonl" -o - >"$WORK/stdout.json" 2>"$WORK/err"
[ $? -le 2 ] || fail "diff -o -: $(cat "$WORK/err")"
"$OSTRECON" diff "$WORK/server.jsonl" "$WORK/cache.jsonl" -o "$WORK/file.json" >/dev/null 2>&1
[ $? -le 2 ] || fail "diff -o FILE"
/usr/bin/python3 - "$WORK/stdout.json" "$WORK/file.json" <<'PY' || fail "diff -o - is not the JSON report"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for r in (a, b):
    r.pop("generated", None)
assert a["format"] == b["format"] and a["summary"] == b["summary"], "different reports"
PY
expect 64 "would both write to standard output" diff "$WORK/server.jsonl" "$WORK/cache.jsonl" -o - --text
echo "ok: -o - prints the JSON report on standard output"
