# A batch's reports for people: --html writes each mailbox's report as an HTML page beside its JSON
# report and an index page linking them (with --redact: pages named by hash, names hashed, failures
# without their paths); the overview on standard output fits --width and breaks at spaces.
. "$(dirname "$0")/lib.sh"
make_fleet 4
start_server main --mailbox-dir "$FLEET" --users "$WORK/users.json"
main="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
{
	echo "mailbox,cache,label"
	for k in 01 02 03 04; do echo "user$k@fleet.example,fleet/user$k.ost,"; done
	echo "user05@fleet.example,fleet/a folder that does not exist/with a long name/user05.ost,lost-cache"
} >"$WORK/manifest.csv"

batch run1 "$WORK/manifest.csv" -o "$WORK/out" --url "$main" --jobs 2 --html "$WORK/out/index.html" --width 40 --all
[ "$RC" -eq 3 ] || { cat "$WORK/run1.log"; fail "exit $RC, expected 3 (one mailbox failed)"; }
[ -s "$WORK/out/index.html" ] || fail "no index page"
for k in 01 02 03 04; do
	[ -s "$WORK/out/reports/user$k@fleet.example.html" ] || fail "no HTML report for user$k"
	grep -q "href=\"reports/user$k@fleet.example.html\"" "$WORK/out/index.html" || fail "the index does not link user$k's report"
done
grep -q 'lost-cache' "$WORK/out/index.html" || fail "the index does not list the failed mailbox"
grep -q 'failed: <span class="note">cache file' "$WORK/out/index.html" || fail "the index does not say why it failed"
grep -q '<h1>5 mailboxes</h1>' "$WORK/out/index.html" || fail "the index does not count the mailboxes"
grep -q 'Resynchronize folders' "$WORK/out/reports/user04@fleet.example.html" || fail "user04's page has not its verdict"
grep -qE '<link|<script src| src=' "$WORK/out/index.html" && fail "the index refers to something outside it"

# The overview: at most 40 columns, every mailbox (--all), the failure's reason whole once the lines are joined.
sed -n '/^5 mailboxes/,/^Reports and summary/p' "$WORK/run1.log" | grep -v '^Reports and summary' >"$WORK/overview"
$PY - "$WORK/overview" "$WORK/out/summary.json" <<'PY' || fail "the overview does not fit 40 columns or cuts a word"
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")
wide = [l for l in lines if len(l) > 40]
assert not wide, "lines wider than 40 columns: %r" % wide
entries = json.load(open(sys.argv[2]))["mailboxes"]
rows = [i for i, l in enumerate(lines) if re.match(r"^  line \d+ ", l)]
assert len(rows) == 5, "%d mailbox lines, expected 5 (--all): %r" % (len(rows), lines)
failed = [e for e in entries if e["status"] == "failed"][0]
i = [k for k in rows if lines[k].startswith("  line %d " % failed["line"])][0]
end = next((k for k in rows if k > i), len(lines))
text = " ".join(l.strip() for l in lines[i:end])
want = "failed: " + failed["error"]
assert " ".join(want.split()) in text, "read back %r, expected it to hold %r" % (text, want)
PY
grep -q "HTML index: $WORK/out/index.html" "$WORK/run1.log" || fail "the run does not name the index page"

# Redacted: the pages are named by hash, the index shows no address, no label, no path.
batch run2 "$WORK/manifest.csv" -o "$WORK/red" --url "$main" --jobs 2 --redact --html "$WORK/red/index.html"
[ "$RC" -eq 3 ] || { cat "$WORK/run2.log"; fail "redacted run: exit $RC"; }
n=$(ls "$WORK/red/reports/" | grep -c '^r-[0-9a-f]\{16\}\.html$')
[ "$n" -eq 4 ] || fail "$n redacted pages named by hash, expected 4: $(ls "$WORK/red/reports/")"
for f in "$WORK/red/index.html" "$WORK/red/reports/"r-*.html; do
	if grep -nE 'fleet\.example|user0[0-9]|lost-cache|does not exist' "$f" | head -3 | grep .; then
		fail "$(basename "$f") shows a name, an address or a path"
	fi
done
grep -q 'href="reports/r-[0-9a-f]\{16\}\.html"' "$WORK/red/index.html" || fail "the redacted index does not link the pages"
grep -q 'failed: <span class="note">cache file hmac:' "$WORK/red/index.html" || fail "the redacted failure reason lost its words or kept its path"
echo "batch HTML: 4 pages and an index; redacted: pages by hash, no names"
