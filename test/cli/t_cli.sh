# The command line: help and version, every command's --help, usage errors with exit code 64.
set -u
fail=0
expect() { # want-exit description command...
	want=$1 what=$2; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ $rc -ne "$want" ]; then echo "FAIL $what: exit $rc, expected $want"; echo "$out" | head -5; fail=1; fi
	printf '%s' "$out"
}
expect 0 "--help" "$OSTRECON" --help | grep -q '^Commands:' || { echo "FAIL --help lists no commands"; fail=1; }
expect 0 "--version" "$OSTRECON" --version | grep -qE '^ostrecon [0-9]+\.[0-9]+\.[0-9]+$' || { echo "FAIL --version"; fail=1; }
expect 64 "no command" "$OSTRECON" >/dev/null
expect 64 "unknown command" "$OSTRECON" frobnicate | grep -q "unknown command" || { echo "FAIL unknown command message"; fail=1; }
expect 64 "unknown global option" "$OSTRECON" --bogus >/dev/null
# Every command listed by --help has a --help of its own that starts with its usage line.
for cmd in $("$OSTRECON" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
	expect 0 "$cmd --help" "$OSTRECON" "$cmd" --help | head -1 | grep -q "^Usage: ostrecon $cmd" ||
		{ echo "FAIL $cmd --help has no usage line"; fail=1; }
	expect 64 "$cmd with an unknown option" "$OSTRECON" "$cmd" --no-such-option >/dev/null
done
expect 64 "ost without a file" "$OSTRECON" ost >/dev/null
expect 64 "ost with two files" "$OSTRECON" ost a.ost b.ost >/dev/null
exit $fail
