# zsh_complete.zsh COMPDIR DUMPFILE 'COMMAND LINE': prints the matches zsh's completion system
# offers for the last word of the line (one a line), using the _ostrecon of COMPDIR. Run with
# `zsh -f`. DUMPFILE is compinit's dump (made on the first call; later calls start in 0.1 s).
# It types the line into an interactive zsh on a pseudo-terminal (zpty) and presses TAB; compadd
# is wrapped to print the matches instead of inserting them.
zmodload zsh/zpty || exit 2
compdir=$1 dump=$2 cmdline=$3
setup=$(mktemp) || exit 2
cat >"$setup" <<SETUP
PROMPT= RPROMPT= PS2=
fpath=($compdir \$fpath)
autoload -Uz compinit && compinit -u -d ${(q)dump}
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
bindkey '^I' complete-word
bindkey '^M' undefined
bindkey '^J' undefined
_mark() { print -n -- '\0' }
compprefuncs=(_mark)
comppostfuncs=(_mark exit)
compadd() {
  # Calls that only ask for the matches (-O, -A, -D) go through untouched.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "\$@"; return; fi
  local -a hits
  builtin compadd -A hits "\$@"
  (( \$#hits )) || return 1
  local -A o
  zparseopts -E -A o P: S: p: s: i: I: q Q f
  local h
  for h in \$hits; do print -r -- "<M>\${o[-P]}\$h\${o[-S]}"; done
  builtin compadd "\$@"
}
SETUP
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
zpty -w -n z "$cmdline"$'\t'
out= line=
integer n=0
# Read until the shell exits after the completion (bounded: at most 400 reads of 50 ms).
while (( n < 400 )); do
  if zpty -r -t z line; then out+=$line; [[ $out == *$'\0'*$'\0'* ]] && break; else sleep 0.05; n+=1; fi
done
zpty -d z
rm -f "$setup"
print -r -- "$out" | tr -d '\r' | sed -n 's/^.*<M>//p' | sort -u
