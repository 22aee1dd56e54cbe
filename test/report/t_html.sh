# The HTML report (--html on diff, scan and report) in a real browser, headless Chromium: the page
# is self-contained (no fetch, no external script, style or font), the text a reader sees holds the
# verdict and the report's counts, the sections come in their order, the expected differences are
# folded away, the script runs (the folder table sorts; long tables show the folders with
# differences), items without keys are counted per folder and side (columns and notes, worded as
# the text report words them, and only when there are any), and a screenshot of a fixed size is
# taken. Skipped when chromium is missing or
# does not start.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3
. "$here/chromium.sh"
why=$(chromium_check) || { echo "$why"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1 CHROMIUM_LOG="$tmp/chromium.log"
fail=0
bad() { echo "FAIL $*"; fail=1; }

for s in mixed incomplete deep insync keyless; do
	mkdir -p "$tmp/$s"
	$PY "$here/gen.py" "$s" "$tmp/$s" || bad "gen.py $s"
	"$OSTRECON" diff "$tmp/$s/server.jsonl" "$tmp/$s/cache.jsonl" -o "$tmp/$s/r.json" --html "$tmp/$s/r.html" >/dev/null 2>"$tmp/$s/err"
	[ -s "$tmp/$s/r.html" ] || { bad "$s: no HTML written"; cat "$tmp/$s/err"; }
	[ "$(stat -c %a "$tmp/$s/r.html")" = 600 ] || bad "$s: HTML mode $(stat -c %a "$tmp/$s/r.html"), expected 600"
	# ostrecon report renders the saved report to the same page
	"$OSTRECON" report "$tmp/$s/r.json" --html "$tmp/$s/r2.html" >/dev/null
	cmp -s "$tmp/$s/r.html" "$tmp/$s/r2.html" || bad "$s: report --html differs from diff --html"
	# self-contained: nothing to fetch
	if grep -nE '<link|<img|<iframe|<object|<embed| src=|url\(|@import|https?://[^"<]*\.(js|css|woff)' "$tmp/$s/r.html" | head -3 | grep .; then
		bad "$s: the page refers to something outside it"
	fi
	grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$tmp/$s/r.html" || bad "$s: no policy that forbids fetching"
done

# dom NAME [FRAGMENT]: the page as Chromium rendered it, then what a reader sees (html_text.py)
dom() {
	chromium_run --dump-dom "file://$tmp/$1/r.html${2:-}" >"$tmp/$1/dom${2:+-sorted}.html" ||
		{ bad "$1: chromium failed"; tail -5 "$CHROMIUM_LOG"; return; }
	$PY "$here/html_text.py" "$tmp/$1/dom${2:+-sorted}.html" >"$tmp/$1/seen${2:+-sorted}.json" || bad "$1: html_text.py"
}
for s in mixed incomplete deep insync keyless; do dom "$s"; done

# What the reader sees against the report itself: the verdict, the advice, every count of the summary.
for s in mixed incomplete deep insync keyless; do
	$PY - "$tmp/$s/r.json" "$tmp/$s/seen.json" "$s" <<'PY' || fail=1
import json, sys
r, seen, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
words = {"in_sync": "In sync", "resync_folders": "Resynchronize folders", "incomplete": "Incomplete",
         "rebuild_ost": "Rebuild the OST", "in_sync_except_expected": "In sync, except expected differences"}
problems = []
text, tiles, s = seen["text"], seen["tiles"], r["summary"]
if words[r["verdict"]] not in text[:400]:
    problems.append("the verdict %r is not at the top" % words[r["verdict"]])
if r["advice"]["title"] not in text:
    problems.append("no advice title")
want = {"Findings that need action": s["findings"], "Items the same on both sides": s["matched"],
        "Items that differ": s["differing"], "Missing on the server": s["missing_on"][0],
        "Missing in the cache": s["missing_on"][1], "Expected differences": s["expected"],
        "Items unverified": s["unverified"], "Folders": s["folders"]}
if tiles != want:
    problems.append("summary %r, the report says %r" % (tiles, want))
order = ["advice", "summary", "chart", "folders", "findings", "expected", "integrity", "provenance"]
if seen["sections"] != order:
    problems.append("sections %r" % seen["sections"])
if len(seen["rows"]) != len(r["folders"]):
    problems.append("%d table rows for %d folders" % (len(seen["rows"]), len(r["folders"])))
# the findings grouped by folder: each folder heads a group with the count of its findings
groups = {}
for f in r["findings"]:
    if not f["expected"]:
        groups[f.get("folder", "The whole capture")] = groups.get(f.get("folder", "The whole capture"), 0) + 1
for folder, n in groups.items():
    if ("%s %d finding%s" % (folder, n, "" if n == 1 else "s")) not in text:
        problems.append("no group of %d findings for %s" % (n, folder))
for e in r["export_before_rebuild"]:
    if e["subject"] not in text:
        problems.append("export list: no %r" % e["subject"])
for side in r["sides"]:
    if side.get("mailbox") and side["mailbox"] not in text:
        problems.append("provenance: no mailbox")
if problems:
    sys.exit("FAIL %s: %s" % (name, "; ".join(problems)))
PY
done
# Items without keys: a column per side that has any, with each folder's count from the report,
# and the text report's note for each such side under the table; nothing of it elsewhere.
for s in mixed incomplete deep insync keyless; do
	# (the exit code is the verdict's)
	"$OSTRECON" report "$tmp/$s/r.json" --width 500 >"$tmp/$s/r.txt"
	[ -s "$tmp/$s/r.txt" ] || bad "$s: no text report"
	$PY - "$tmp/$s/r.json" "$tmp/$s/seen.json" "$tmp/$s/r.txt" "$s" <<'PY' || fail=1
import json, sys
r, seen, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[4]
text_notes = [l.strip() for l in open(sys.argv[3]) if l.startswith("No source keys")]
problems = []
where = {0: "on the server", 1: "in the cache"}
sides = [s for s in (0, 1) if any(row.get("keyless", [0, 0])[s] for row in r["folders"])]
heads = ["No source keys " + where[s] for s in sides]
got = [h for h in seen["heads"] if h.startswith("No source keys")]
if got != heads:
    problems.append("keyless columns %r, expected %r" % (got, heads))
elif heads:
    for row, cells in zip(r["folders"], seen["rows"]):
        want = [str(row.get("keyless", [0, 0])[s]) for s in sides]
        if cells[-len(sides):] != want:
            problems.append("%s: keyless cells %r, the report says %r" % (row["folder"], cells[-len(sides):], want))
notes = [n for n in seen["notes"] if n.startswith("No source keys")]
if len(notes) != len(sides) or notes != text_notes:
    problems.append("keyless notes %r, the text report says %r" % (notes, text_notes))
if name == "keyless" and sides != [0, 1]:
    problems.append("the keyless scenario has keyless items on sides %r" % sides)
if name != "keyless" and "No source keys" in seen["text"]:
    problems.append("a note on keys in a report without keyless items")
if problems:
    sys.exit("FAIL %s: %s" % (name, "; ".join(problems)))
print("%s: keyless columns %r" % (name, heads))
PY
done
# The expected differences are folded away (a closed <details>), the findings' groups open.
grep -q '<section id="expected"><h2>Expected differences</h2>' "$tmp/mixed/dom.html" || bad "mixed: no expected section"
sed -n '/<section id="expected">/,/<\/section>/p' "$tmp/mixed/dom.html" | grep -q '<details open' && bad "mixed: the expected differences are not folded"
grep -q '<details class="group" open' "$tmp/mixed/dom.html" || bad "mixed: the findings are folded"
# The unverified folder: its '?' mark in the table.
$PY -c 'import json,sys; rows=json.load(open(sys.argv[1]))["rows"]; r=[x for x in rows if x[0]=="Inbox/Team"]; sys.exit(0 if r and r[0][1]=="0?" else "FAIL incomplete: Inbox/Team row %r" % r)' "$tmp/incomplete/seen.json" || fail=1
# The chart: one bar group per charted folder, every folder with differences in it.
n=$(grep -o '<g><title>' "$tmp/mixed/r.html" | wc -l)
[ "$n" -ge 3 ] || bad "mixed: $n folders charted"

# The script ran: a long table shows the folders with differences first (class only-diff) ...
$PY -c 'import json,sys; c=json.load(open(sys.argv[1]))["table_classes"]; sys.exit(0 if "only-diff" in c else "FAIL deep: table classes %r" % c)' "$tmp/deep/seen.json" || fail=1
# ... and sorts: #sort=findings-desc puts the folder with most findings first, #sort=folder-desc the last path.
dom mixed "#sort=findings-desc"
$PY - "$tmp/mixed/r.json" "$tmp/mixed/seen-sorted.json" <<'PY' || fail=1
import json, sys
r, seen = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
most = max(r["folders"], key=lambda x: x["findings"])["folder"]
first = seen["rows"][0][0]
if not first.startswith(most):
    sys.exit("FAIL sorting by findings: first row %r, expected %r" % (first, most))
PY
chromium_run --dump-dom "file://$tmp/mixed/r.html#sort=folder-desc" >"$tmp/mixed/dom-desc.html"
first=$($PY -c 'import json,sys; print(json.loads(sys.stdin.read())["rows"][0][0])' <<EOT
$($PY "$here/html_text.py" "$tmp/mixed/dom-desc.html")
EOT
)
case "$first" in "Sync Issues"*) ;; *) bad "sorting by folder, descending: first row '$first'" ;; esac

# Redacted: the page of a redacted report shows no subject and no address.
"$OSTRECON" diff "$tmp/mixed/server.jsonl" "$tmp/mixed/cache.jsonl" --redact --html "$tmp/mixed/red.html" >/dev/null
grep -Eq "Inbox message|alice.secret|mail.example.com|/cases/" "$tmp/mixed/red.html" && bad "the redacted page shows a subject, an address or a path"
grep -q "hmac:" "$tmp/mixed/red.html" || bad "the redacted page shows no hash"

# A screenshot at a fixed size, as README's is made.
OSTRECON="$OSTRECON" sh "$here/screenshot.sh" "$tmp/shot.png" 1280x900
rc=$?
[ $rc -eq 0 ] || bad "screenshot.sh: exit $rc"
$PY - "$tmp/shot.png" <<'PY' || fail=1
import struct, sys
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("FAIL the screenshot is not a PNG")
w, h = struct.unpack(">II", data[16:24])
if (w, h) != (1280, 900):
    sys.exit("FAIL the screenshot is %dx%d, expected 1280x900" % (w, h))
if len(data) < 30000:
    sys.exit("FAIL the screenshot holds almost nothing (%d bytes)" % len(data))
print("screenshot: %dx%d, %d bytes" % (w, h, len(data)))
PY
exit $fail
