# Man pages: every option a command's --help names is defined in its man page (man/*.1.in and the
# fragments of man/include/) and the page defines no other; the pages build with `make man` and
# render without a groff warning. The check is shown to fail on an option added to a --help and on
# one taken out of a page, naming the file to change.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
CHECK="$ROOT/test/cli/clidoc.py"
WORK=$(mktemp -d) || exit 2
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }
command -v soelim >/dev/null 2>&1 || skip "soelim is not installed (Debian package groff-base; scripts/deps.sh installs it)"
command -v man >/dev/null 2>&1 || skip "man is not installed (Debian package man-db)"

# The pages as `make install` installs them.
make -s --no-print-directory -C "$ROOT" BUILD="$WORK/build" man >"$WORK/make.log" 2>&1 ||
	{ cat "$WORK/make.log"; fail "make man failed"; }
pages=$(ls "$WORK/build/man" | grep -c '\.1$')
[ "$pages" -eq "$(ls "$ROOT"/man/*.1.in | wc -l)" ] || fail "make man built $pages pages of $(ls "$ROOT"/man/*.1.in | wc -l)"
grep -l -e '^\.so ' -e '@[A-Z]*@' "$WORK"/build/man/*.1 && fail "unexpanded .so or @VARIABLE@ in the built pages"
for p in "$WORK"/build/man/*.1; do
	# As lintian renders them (tag groff-message).
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$p" >"$WORK/out" 2>"$WORK/warn" ||
		fail "man cannot render $(basename "$p")"
	[ -s "$WORK/warn" ] && { cat "$WORK/warn"; fail "groff warns about $(basename "$p")"; }
	grep -q "ostrecon" "$WORK/out" || fail "$(basename "$p") renders empty"
done
echo "$pages pages built and rendered without warnings"

# Each --help against its page.
(cd "$ROOT" && $PY "$CHECK" man "$OSTRECON" man) || fail "man pages and --help differ (above: what to change)"

# The check fails, and says where, when a --help gains an option ...
cat >"$WORK/ostrecon" <<SH
#!/bin/sh
if [ "\$1" = scan ] && [ "\${2-}" = --help ]; then
	"$OSTRECON" "\$@"; echo "      --frobnicate FILE    a new option"; exit 0
fi
exec "$OSTRECON" "\$@"
SH
chmod +x "$WORK/ostrecon"
(cd "$ROOT" && $PY "$CHECK" man "$WORK/ostrecon" man) >"$WORK/added" 2>&1 && fail "an option added to scan --help went unnoticed"
grep -q "'ostrecon scan --help' names --frobnicate; ostrecon-scan(1) does not define it. Add to the OPTIONS of .*man/ostrecon-scan.1.in" \
	"$WORK/added" || { cat "$WORK/added"; fail "the message for a new option does not say what to add where"; }
grep -q '\.BI \\-\\-frobnicate " VALUE"' "$WORK/added" || { cat "$WORK/added"; fail "the message does not show the tag to add"; }
# ... and when a page loses one (a shared option: the message names the fragment).
cp -r "$ROOT/man" "$WORK/man"
$PY - "$WORK/man/include/server-options.roff" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
cut = ".TP\n.B \\-\\-no\\-delta\nGraph: plain listings instead of delta rounds.\n"
assert cut in s, "the --no-delta paragraph moved: update this test"
open(p, "w").write(s.replace(cut, ""))
PY
(cd "$ROOT" && $PY "$CHECK" man "$OSTRECON" "$WORK/man") >"$WORK/removed" 2>&1 && fail "an option taken out of the pages went unnoticed"
for c in server scan batch; do
	grep -q "'ostrecon $c --help' names --no-delta; ostrecon-$c(1) does not define it. Add to the OPTIONS of .*include/server-options.roff (included by the pages of batch, scan, server)" \
		"$WORK/removed" || { cat "$WORK/removed"; fail "the message for a missing shared option does not name the fragment ($c)"; }
done
# ... and when a page defines an option that no --help names.
printf '.TP\n.B \\-\\-gone\nOld.\n' >>"$WORK/man/include/log-options.roff"
(cd "$ROOT" && $PY "$CHECK" man "$OSTRECON" "$WORK/man") >"$WORK/extra" 2>&1
grep -q "log-options.roff:[0-9]*: ostrecon-ost(1) defines --gone, which 'ostrecon ost --help' does not name" "$WORK/extra" ||
	{ cat "$WORK/extra"; fail "an option only in a page went unnoticed"; }
echo "the check names the file and the tag to add when a --help and a page differ"
