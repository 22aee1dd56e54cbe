# Shared by test/cli/t_completion_*.sh (sourced): checks one shell's completion of ostrecon against
# every --help and the binary (test/cli/clidoc.py), then shows the check failing, with the file to
# change, when a --help gains an option. Usage: check_completion bash|zsh COMPLETION-PATH
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
CHECK="$ROOT/test/cli/clidoc.py"
WORK=$(mktemp -d) || exit 2
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }

check_completion() {
	kind=$1 path=$2
	$PY "$CHECK" "$kind" "$OSTRECON" "$path" "$WORK/real" || fail "the $kind completion and --help differ (above)"
	cat >"$WORK/ostrecon" <<SH
#!/bin/sh
if [ "\$1" = report ] && [ "\${2-}" = --help ]; then
	"$OSTRECON" "\$@"; echo "      --frobnicate FILE    a new option"; exit 0
fi
exec "$OSTRECON" "\$@"
SH
	chmod +x "$WORK/ostrecon"
	CLIDOC_OPTIONS_ONLY=1 $PY "$CHECK" "$kind" "$WORK/ostrecon" "$path" "$WORK/mutated" >"$WORK/added" 2>&1 &&
		fail "an option added to report --help went unnoticed by the $kind check"
	grep -q "$kind: 'ostrecon report -<TAB>' does not offer --frobnicate, which 'ostrecon report --help' names: add it to completions/" \
		"$WORK/added" || { cat "$WORK/added"; fail "the $kind message for a new option does not say where to add it"; }
	[ "$kind" = zsh ] || grep -q "bash: _ostrecon_takes_value says --frobnicate does not take a value for report" "$WORK/added" ||
		{ cat "$WORK/added"; fail "the bash check missed that the new option takes a value"; }
	echo "$kind: an option added to a --help and not to the completion is named"
}
