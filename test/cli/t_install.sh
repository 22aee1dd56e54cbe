# `make install` and `make uninstall` with DESTDIR and PREFIX: the program, the man pages, the bash
# and zsh completions where each shell looks for them, the docs and examples, the JSON schemas
# under share/ostrecon/; the installed program runs and its man pages are found; uninstall leaves
# no file behind.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d) || exit 2
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }
command -v soelim >/dev/null 2>&1 || skip "soelim is not installed (Debian package groff-base; scripts/deps.sh installs it)"
BUILD=${BUILD:-build}
case "$BUILD" in */asan|asan) san=1 ;; *) san=0 ;; esac # the build under test, not rebuilt otherwise
version=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")

for prefix in /usr /usr/local; do
	D="$WORK/root$(echo $prefix | tr / _)"
	make -s --no-print-directory -C "$ROOT" SAN=$san BUILD="$BUILD" DESTDIR="$D" PREFIX="$prefix" install \
		>"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "make install PREFIX=$prefix failed"; }
	P="$D$prefix"
	zshdir=share/zsh/site-functions
	[ $prefix = /usr ] && zshdir=share/zsh/vendor-completions
	for f in bin/ostrecon share/man/man1/ostrecon.1 share/bash-completion/completions/ostrecon "$zshdir/_ostrecon" \
		share/ostrecon/report.schema.json share/doc/ostrecon/README.md share/doc/ostrecon/BATCH.md \
		share/doc/ostrecon/examples/ostrecon-batch.sbatch share/doc/ostrecon/examples/kubernetes-shards.yaml; do
		[ -f "$P/$f" ] || fail "PREFIX=$prefix: $prefix/$f is not installed"
	done
	for c in $("$P/bin/ostrecon" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
		[ -f "$P/share/man/man1/ostrecon-$c.1" ] || fail "no man page ostrecon-$c.1 installed"
	done
	[ "$(find "$D" -type f | grep -v "$prefix/bin/" | xargs stat -c %a | sort -u)" = 644 ] || fail "data files are not mode 644"
	[ "$(stat -c %a "$P/bin/ostrecon")" = 755 ] || fail "the program is not mode 755"
	[ "$(find "$D" -type f | sed "s#^$D##" | grep -v "^$prefix/")" = "" ] || fail "files outside PREFIX $prefix"
	"$P/bin/ostrecon" --version | grep -qx "ostrecon $version" || fail "the installed program says '$("$P/bin/ostrecon" --version)'"
	cmp -s "$P/share/ostrecon/report.schema.json" "$ROOT/docs/report.schema.json" || fail "the report schema differs"
	grep -q "$prefix/share/ostrecon/report.schema.json" "$P/share/man/man1/ostrecon.1" || fail "ostrecon(1) does not name the installed schema"
	# man finds the pages there.
	if command -v man >/dev/null 2>&1; then
		[ "$(MANPATH="$P/share/man" man -w ostrecon-batch 2>/dev/null)" = "$P/share/man/man1/ostrecon-batch.1" ] ||
			fail "man -w does not find ostrecon-batch(1) under $prefix/share/man"
	fi
	# bash-completion loads the completion on demand from share/bash-completion/completions of
	# XDG_DATA_DIRS (/usr/local/share and /usr/share by default).
	if [ -f /usr/share/bash-completion/bash_completion ]; then
		out=$(XDG_DATA_DIRS="$P/share" bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion
			__load_completion ostrecon; complete -p ostrecon' 2>&1)
		[ "$out" = "complete -F _ostrecon ostrecon" ] || fail "bash-completion does not load the installed completion: $out"
	fi
	# zsh: the folder is one of Debian zsh's default $fpath, and compinit registers _ostrecon.
	if command -v zsh >/dev/null 2>&1; then
		zsh -f -c 'print -l $fpath' | grep -qx "$prefix/$zshdir" || fail "$prefix/$zshdir is not in zsh's \$fpath"
		out=$(zsh -f -c "fpath=($P/$zshdir \$fpath); autoload -Uz compinit; compinit -u -d $WORK/zcd; print \$_comps[ostrecon]")
		[ "$out" = _ostrecon ] || fail "zsh's compinit does not register the installed _ostrecon ($out)"
	fi
	n=$(find "$D" -type f | wc -l)
	make -s --no-print-directory -C "$ROOT" SAN=$san BUILD="$BUILD" DESTDIR="$D" PREFIX="$prefix" uninstall \
		>"$WORK/uninstall.log" 2>&1 || { cat "$WORK/uninstall.log"; fail "make uninstall PREFIX=$prefix failed"; }
	left=$(find "$D" -type f)
	[ -z "$left" ] || fail "make uninstall left: $left"
	for d in share/doc/ostrecon share/ostrecon; do [ ! -d "$P/$d" ] || fail "make uninstall left the folder $prefix/$d"; done
	echo "PREFIX=$prefix: $n files installed (the program runs, man and both shells find theirs), all removed by uninstall"
done
# Uninstall removes what install put there, not the other files of a folder it shares.
D="$WORK/shared"
mkdir -p "$D/doc"
echo keep >"$D/doc/other.txt"
make -s --no-print-directory -C "$ROOT" SAN=$san BUILD="$BUILD" DESTDIR="$D" PREFIX=/opt/o DOCDIR=/doc install uninstall \
	>"$WORK/shared.log" 2>&1 || { cat "$WORK/shared.log"; fail "make install uninstall with DOCDIR=/doc failed"; }
[ -f "$D/doc/other.txt" ] && [ "$(ls "$D/doc")" = other.txt ] || fail "make uninstall touched another file of DOCDIR: $(ls "$D/doc")"
echo "DOCDIR shared with other files: uninstall removes only its own"
