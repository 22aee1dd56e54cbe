# bash completion for ostrecon(1): commands, options and their values, files.
# Installed as share/bash-completion/completions/ostrecon (loaded on demand by bash-completion),
# or sourced from ~/.bashrc. Self-contained: it needs none of bash-completion's helpers.
# test/cli/t_completion_bash.sh holds the option lists equal to each command's --help.

_ostrecon_commands='ost server diff scan batch merge report export'

# Options shared by several commands (src/cli/server_args.c, report_args.c).
_ostrecon_progress_opts='--progress --no-progress'
_ostrecon_server_opts="--mailbox --api --url --autodiscover-only --graph-url --authority --cloud
    --graph-api --no-delta --auth --user --password-file --token-file --tenant --client-id
    --client-secret-file --certificate --certificate-key --scope --impersonate --anchor
    --server-version --cacert --resolve --connect-to --insecure --concurrency --split-threshold --retries
    --retry-deadline --timeout --idle-timeout --connect-timeout --page-size --finditem --findfolder --associated --trace-dir
    $_ostrecon_progress_opts"
_ostrecon_report_opts='-o --output --sync-window --text --json --html --all --width --redact --force'
_ostrecon_log_opts='-q --quiet -v --verbose --log-file'
_ostrecon_help_opts='-h --help'

# _ostrecon_options COMMAND: the options COMMAND takes (none: the ones before a command).
_ostrecon_options()
{
    case $1 in
    '') echo '-q -v --help --version' ;;
    ost) echo "-o --output --mailbox --reader --recover --no-recover --no-crc-check $_ostrecon_progress_opts
        $_ostrecon_log_opts $_ostrecon_help_opts" ;;
    # server takes -h too, merge --quiet, --verbose and -h, but their --help does not say so.
    server) echo "-o --output $_ostrecon_log_opts $_ostrecon_server_opts" ;;
    diff) echo "$_ostrecon_report_opts --associated $_ostrecon_log_opts $_ostrecon_help_opts" ;;
    scan) echo "--ost --keep-snapshots --recover --no-recover --reader --export $_ostrecon_report_opts
        $_ostrecon_server_opts $_ostrecon_log_opts $_ostrecon_help_opts" ;;
    batch) echo "--jobs --max-server-requests --shard --redo --keep-snapshots --recover --no-recover
        --reader --mailbox-logs --no-mailbox-logs --config $_ostrecon_report_opts $_ostrecon_server_opts
        $_ostrecon_log_opts $_ostrecon_help_opts" ;;
    merge) echo '-o --output --partial -q -v --log-file' ;;
    report) echo "--all --width --html $_ostrecon_log_opts $_ostrecon_help_opts" ;;
    export) echo "--ost -o --output --report --all --folder --since --name $_ostrecon_log_opts
        $_ostrecon_help_opts" ;;
    esac
}

# Options followed by a value (a separate word, or after '='). --redact takes its key file and
# --progress its WHEN only after '=' (--redact=KEYFILE, --progress=json).
_ostrecon_takes_value()
{
    case $2 in
    -o|--output|--mailbox|--reader|--api|--url|--graph-url|--authority|--cloud|--graph-api|--auth|\
    --user|--password-file|--token-file|--tenant|--client-id|--client-secret-file|--certificate|\
    --certificate-key|--scope|--anchor|--server-version|--cacert|--concurrency|--split-threshold|--retries|--retry-deadline|--timeout|\
    --connect-timeout|--page-size|--trace-dir|--sync-window|--ost|--jobs|--max-server-requests|\
    --shard|--config|--width|--log-file|--html|--resolve|--connect-to|--idle-timeout) return 0 ;;
    --export) [ "$1" = scan ] ;;
    --report|--folder|--since|--name) [ "$1" = export ] ;;
    --keep-snapshots) [ "$1" = scan ] ;;
    *) return 1 ;;
    esac
}

# _ostrecon_values COMMAND OPTION CUR: fills COMPREPLY with OPTION's values.
_ostrecon_values()
{
    local words=
    case $2 in
    --auth) words='auto basic ntlm negotiate bearer client-secret certificate device-code' ;;
    --progress) words='auto always never json' ;;
    --api) words='ews graph auto' ;;
    --graph-api) words='mailbox mail auto' ;;
    --cloud) words='global usgov usgov-dod china' ;;
    --reader) words='native libpff' ;;
    # Outlook's "Mail to keep offline" choices, and the two keywords.
    --sync-window) words='3d 1w 2w 1m 3m 6m 12m 24m 5y all infer' ;;
    --server-version) words='Exchange2007 Exchange2007_SP1 Exchange2009 Exchange2010 Exchange2010_SP1
        Exchange2010_SP2 Exchange2012 Exchange2013 Exchange2013_SP1 Exchange2015 Exchange2016
        V2015_10_05 V2016_01_06 V2016_04_13 V2016_07_13 V2016_10_10 V2017_01_07 V2017_04_14 V2017_07_11' ;;
    --ost) _ostrecon_files "$3" '@(ost|OST|pst|PST)'; return ;;
    --export) _ostrecon_files "$3" '@(pst|PST)'; return ;;
    --report) _ostrecon_files "$3" '@(json|JSON)'; return ;;
    --html) _ostrecon_files "$3" '@(html|htm|HTML|HTM)'; return ;;
    --trace-dir|--keep-snapshots) _ostrecon_dirs "$3"; return ;;
    -o|--output)
        case $1 in
        batch|merge) _ostrecon_dirs "$3" ;;
        *) _ostrecon_files "$3" ;;
        esac
        return ;;
    --password-file|--token-file|--client-secret-file|--certificate|--certificate-key|--cacert|\
    --config|--redact|--log-file) _ostrecon_files "$3"; return ;;
    # a name, an address, a URL, a number, a date, HOST:PORT:...: nothing to offer
    *) COMPREPLY=(); return ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$3"))
}

# Files (those matching the extended glob PATTERN, if given) and folders to descend into.
_ostrecon_files()
{
    local IFS=$'\n' f
    COMPREPLY=()
    compopt -o filenames 2>/dev/null
    if [ -n "${2-}" ]; then
        local restore; restore=$(shopt -p extglob)
        shopt -s extglob
        for f in $(compgen -f -- "$1"); do
            # shellcheck disable=SC2053
            if [ -d "$f" ] || [[ $f == *.$2 ]]; then COMPREPLY+=("$f"); fi
        done
        eval "$restore"
    else
        COMPREPLY=($(compgen -f -- "$1"))
    fi
}

_ostrecon_dirs()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -d -- "$1"))
}

_ostrecon()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev= command= i w
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()

    # --option=value: with '=' in COMP_WORDBREAKS (the default) the words are --option, =, value.
    local opt=
    if [ "$cur" = = ]; then
        opt=$prev cur=
    elif [ "$prev" = = ] && [ "$COMP_CWORD" -gt 1 ]; then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*} cur=${cur#*=}
    fi

    # The command: the first word after the leading options that is not an option.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -*) ;;
        *) command=$w; break ;;
        esac
    done

    if [ -n "$opt" ]; then
        _ostrecon_values "$command" "$opt" "$cur"
        return 0
    fi
    if [ -n "$command" ] && [ "$prev" != = ] && _ostrecon_takes_value "$command" "$prev"; then
        _ostrecon_values "$command" "$prev" "$cur"
        return 0
    fi
    if [ -z "$command" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_ostrecon_options '')" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_ostrecon_commands" -- "$cur"))
        fi
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_ostrecon_options "$command")" -- "$cur"))
        return 0
    fi
    # The command's operands.
    case $command in
    ost) _ostrecon_files "$cur" '@(ost|OST|pst|PST)' ;;
    diff) _ostrecon_files "$cur" '@(jsonl|json)' ;;
    batch) _ostrecon_files "$cur" '@(csv|CSV)' ;;
    merge|report) _ostrecon_files "$cur" 'json' ;;
    esac
    return 0
}
complete -F _ostrecon ostrecon
