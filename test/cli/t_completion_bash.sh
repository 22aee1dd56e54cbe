# bash completion (completions/ostrecon.bash): sourced into a plain bash, _ostrecon driven with
# COMP_WORDS/COMP_CWORD offers each command's options exactly as its --help names them, the values
# of --auth, --api, --graph-api, --cloud and --reader exactly as the binary states them (in the
# forms --opt VALUE, --opt=VALUE and bash's split --opt = VALUE), --sync-window and --server-version
# values the binary takes, and files by kind (.ost/.pst, .jsonl, .csv, folders).
. "$(dirname "$0")/completion_lib.sh"
command -v bash >/dev/null 2>&1 || skip "bash is not installed"
check_completion bash "$ROOT/completions/ostrecon.bash"
