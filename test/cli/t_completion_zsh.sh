# zsh completion (completions/_ostrecon): an interactive zsh on a pseudo-terminal (zpty), with
# compinit and the completion's folder in $fpath, is given each command line and TAB; the matches
# it offers are checked as for bash (test/cli/t_completion_bash.sh).
. "$(dirname "$0")/completion_lib.sh"
command -v zsh >/dev/null 2>&1 || skip "zsh is not installed (Debian package zsh; scripts/deps.sh installs it)"
zsh -f -c 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
check_completion zsh "$ROOT/completions"
