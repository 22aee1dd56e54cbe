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
# The server options of on-premises Exchange: name mappings as curl takes them, --autodiscover-only
# for one mailbox without --url, --auth auto in the list.
S="server --mailbox a@contoso.example --no-progress"
for bad in "--resolve contoso.example:443" "--resolve contoso.example:https:10.0.0.1" "--resolve :443:10.0.0.1" \
	"--connect-to :443:127.0.0.1:80/x" "--connect-to contoso.example:443:cas" "--connect-to a:b:c:d"; do
	# shellcheck disable=SC2086
	expect 64 "$bad" "$OSTRECON" $S $bad | grep -q "takes HOST:PORT" || { echo "FAIL $bad: no clear message"; fail=1; }
done
expect 64 "--autodiscover-only with --url" "$OSTRECON" $S --autodiscover-only --url https://mail.contoso.example/EWS/Exchange.asmx |
	grep -q -- "--autodiscover-only finds the EWS URL of one mailbox" || { echo "FAIL --autodiscover-only with --url"; fail=1; }
expect 64 "--autodiscover-only in batch" "$OSTRECON" batch --autodiscover-only m.csv | grep -q "applies to one mailbox" ||
	{ echo "FAIL --autodiscover-only in batch"; fail=1; }
expect 64 "--auth auto with a password file but no user" "$OSTRECON" $S --password-file /dev/null |
	grep -q -- "--password-file needs --user" || { echo "FAIL --password-file without --user"; fail=1; }
expect 64 "OAuth without --url for EWS" "$OSTRECON" $S --api ews --token-file /dev/null |
	grep -q -- "--url is required for EWS with OAuth credentials" || { echo "FAIL OAuth without --url"; fail=1; }
expect 64 "--auth unknown" "$OSTRECON" $S --auth kerberos | grep -q "takes auto, basic, ntlm" || { echo "FAIL --auth list"; fail=1; }
expect 0 "server --help" "$OSTRECON" server --help | grep -q -- "--connect-to HOST:PORT:HOST2:PORT2" || { echo "FAIL --help lacks --connect-to"; fail=1; }
exit $fail
