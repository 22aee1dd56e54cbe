# The text report read as a person reads it: only the folders with differences unless --all, the
# width of the terminal or --width, long paths shortened in the middle, lines broken at spaces,
# changes in words with the side that holds each value, moved items with the folders as the user
# sees them, sentences and right plurals, an "unverified" column and mark.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export NO_COLOR=1
fail=0
bad() { echo "FAIL $*"; fail=1; }

for s in mixed incomplete words one scale deep; do
	mkdir -p "$tmp/$s"
	$PY "$here/gen.py" "$s" "$tmp/$s" || bad "gen.py $s"
	"$OSTRECON" diff "$tmp/$s/server.jsonl" "$tmp/$s/cache.jsonl" -o "$tmp/$s/r.json" >"$tmp/$s/text" 2>"$tmp/$s/err"
	[ $? -le 2 ] || { bad "$s: diff failed"; cat "$tmp/$s/err"; }
done

# fits FILE WIDTH WHAT: no line wider than WIDTH columns (code points)
fits() {
	$PY - "$@" <<'PY' || fail=1
import sys
path, width, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if len(line) > width:
        sys.exit("FAIL %s: line %d has %d columns (more than %d): %s" % (what, n, len(line), width, line))
PY
}
# widest FILE: the widest line's columns
widest() { $PY -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$1"; }

# --- Scale: 319 folders in sync give one line about the folders; --all lists every one.
t="$tmp/scale/text"
[ "$(wc -l <"$t")" -lt 25 ] || bad "scale: $(wc -l <"$t") lines for a mailbox in sync"
grep -q "^Folders: 319 folders, all in sync; --all lists them.$" "$t" || bad "scale: no one-line count of the folders: $(grep Folders "$t")"
"$OSTRECON" report --all "$tmp/scale/r.json" >"$tmp/scale/all"
n=$(grep -c "^Inbox/Folder [0-9]" "$tmp/scale/all")
[ "$n" -eq 307 ] || bad "scale --all: $n folder rows, expected 307"
"$OSTRECON" diff "$tmp/scale/server.jsonl" "$tmp/scale/cache.jsonl" --all >"$tmp/scale/all2"
cmp -s "$tmp/scale/all" "$tmp/scale/all2" || bad "scale: diff --all and report --all differ"
# With differences in two deep folders: those two rows and a count of the rest.
t="$tmp/deep/text"
rows=$(grep -c "^Inbox/.*  *[0-9]" "$t")
[ "$rows" -eq 2 ] || bad "deep: $rows folder rows, expected the 2 with differences"
grep -q "^(323 more folders not shown, all in sync; --all lists every folder)$" "$t" || bad "deep: no count of the folders left out"

# --- Paths shortened in the middle: the first name, "…", the last names; the two rows stay apart.
grep -q "^Inbox/…/Projects 2024/Project 44/Q3  " "$t" || bad "deep: the Q3 row is not shortened in the middle: $(grep Q3 "$t" | head -1)"
grep -q "^Inbox/…/Projects 2024/Project 44/Q4  " "$t" || bad "deep: the Q4 row is not shortened in the middle"
grep -qE "^Inbox/Clients/Contoso.* [0-9]+$" "$t" && bad "deep: a path too long for its column is shown whole"
"$OSTRECON" report --width 50 "$tmp/deep/r.json" >"$tmp/deep/w50"
for q in Q3 Q4; do
	grep -q "^- Inbox/…/.*Project 44/$q$" "$tmp/deep/w50" || bad "deep at 50 columns: the $q folder lost its last name"
done

# --- Width: --width N is used to the full and never exceeded; a terminal's width is detected;
# standard output that is not a terminal gets 80 columns.
for w in 40 57 80 132; do
	"$OSTRECON" report --all --width "$w" "$tmp/mixed/r.json" >"$tmp/w$w"
	fits "$tmp/w$w" "$w" "mixed --width $w"
done
[ "$(widest "$tmp/w132")" -gt 80 ] || bad "--width 132 does not use the width"
fits "$tmp/mixed/text" 80 "mixed text (not a terminal)"
[ "$(widest "$tmp/mixed/text")" -gt 70 ] || bad "the text does not use 80 columns"
"$OSTRECON" report --width 30 "$tmp/mixed/r.json" >/dev/null 2>&1; [ $? -eq 64 ] || bad "--width 30 is not a usage error"
if command -v script >/dev/null 2>&1; then
	script -qec "stty cols 120 rows 50; '$OSTRECON' report --all '$tmp/deep/r.json'" /dev/null | tr -d '\r' >"$tmp/tty120"
	fits "$tmp/tty120" 120 "a terminal of 120 columns"
	[ "$(widest "$tmp/tty120")" -gt 90 ] || bad "a terminal of 120 columns: the text does not use them ($(widest "$tmp/tty120"))"
	script -qec "stty cols 60 rows 50; '$OSTRECON' report '$tmp/deep/r.json'" /dev/null | tr -d '\r' >"$tmp/tty60"
	fits "$tmp/tty60" 60 "a terminal of 60 columns"
fi

# --- Lines break at spaces, never inside a word: each advice step read back from the text, lines
# joined with one space, is the step itself; at every width.
for w in 40 57 80 132; do
	$PY - "$tmp/mixed/r.json" "$tmp/w$w" "$w" <<'PY' || fail=1
import json, re, sys
steps = json.load(open(sys.argv[1]))["advice"]["steps"]
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")
got, cur = [], None
for line in lines:
    m = re.match(r"^  (\d+)\. (.*)$", line)
    if m:
        cur = [m.group(2)]
        got.append(cur)
    elif cur is not None and line.startswith("     ") and line.strip():
        cur.append(line.strip())
    else:
        cur = None
got = [" ".join(g) for g in got]
if got != steps:
    sys.exit("FAIL width %s: the advice steps read back %r, expected %r" % (sys.argv[3], got, steps))
PY
done

# --- Words, not codes: which side holds which value; moved items as the user sees the folders.
t="$tmp/words/text"
for want in "flag: server not flagged, cache flagged." "importance: server high, cache normal." \
	"folder: server Inbox/Finance, cache Inbox." "- Item changed, in Inbox:" "- Item in different folders, in Inbox/Finance:"; do
	grep -qF -- "$want" "$t" || bad "words: no '$want'"
done
grep -q "read: server yes, cache no. The cache's version is newer" "$tmp/mixed/text" || bad "mixed: the read change is not in words"
grep -qF -- "- Item missing in the cache, in Inbox:" "$tmp/mixed/text" || bad "mixed: no 'Item missing in the cache'"
grep -qF -- "- Item missing on the server, in Inbox:" "$tmp/mixed/text" || bad "mixed: no 'Item missing on the server'"
for t in "$tmp"/*/text; do
	if grep -nE -- '->.*(true|false)|flag_status|item_missing|item_changed|item_moved|Top of Information Store|IPM_SUBTREE' "$t"; then
		bad "$t: codes or raw paths where words belong"
	fi
done

# --- Sentences and plurals.
grep -q "^Findings that need action: 1 finding:$" "$tmp/one/text" || bad "one: $(grep Findings "$tmp/one/text")"
grep -q "1 finding needs action\.$" "$tmp/one/text" || bad "one: the totals do not say '1 finding needs action'"
grep -q "^No finding needs action\.\|No finding needs action\." "$tmp/scale/text" || bad "scale: no 'No finding needs action'"
if cat "$tmp"/*/text | grep -nE '(^|[^0-9,.])1 (findings|items|folders|differences|mailboxes|days|parts)\b'; then
	bad "a plural after 1"
fi
if cat "$tmp"/*/text | grep -nE '(^|[^0-9,.])([02-9]|[1-9][0-9]+) (finding|item|folder|difference|day|part)([^s]|$)'; then
	bad "a singular after a number other than 1"
fi

# --- What could not be checked: the Unverified column, the '?' mark on the side that could not
# read the folder, and the legend; and the counts the summary gives.
t="$tmp/incomplete/text"
grep -q "Unverified$" "$t" || bad "incomplete: no Unverified column"
$PY - "$t" <<'PY' || fail=1
import re, sys
rows = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("Inbox/Team ")]
if len(rows) != 1 or not re.match(r"^Inbox/Team +0\? +4 +0 +0 +0 +0 +4$", rows[0].rstrip()):
    sys.exit("FAIL incomplete: the Inbox/Team row is %r" % rows)
PY
grep -q "'?': that side could not read the folder" "$t" || bad "incomplete: no legend for '?'"
grep -q "4 unverified" "$t" || bad "incomplete: the totals do not count 4 unverified items"
exit $fail
