# The Debian package: built with `dpkg-buildpackage -us -uc -b` (scripts/build-deb.sh, in a copy of
# the tree), its contents and dependencies checked (every library the program needs comes from a
# package it depends on), lintian clean (each override in debian/ostrecon.lintian-overrides says
# why), then installed with `apt install ./ostrecon_*.deb` into a fresh Debian 12 root made by
# debootstrap (a chroot; no container), which pulls the run-time libraries from Debian's archive;
# there the installed ostrecon prints its version and runs `make demo`'s two scans (over EWS and
# over Microsoft Graph, against the test servers on 127.0.0.1) with the verdicts and findings of
# the build's own binary.
# It takes a few minutes (the build, debootstrap's download): `make test` runs it only with
# OSTRECON_PACKAGE_TEST=1 (`make test-package` sets it). Without the tools, or without root or
# Debian's archive for the fresh root, it says so and is skipped.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d) || exit 2
PIDS=""
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "skip: $*"; exit 77; }
[ "${OSTRECON_PACKAGE_TEST:-0}" = 1 ] ||
	skip "the package test takes minutes: OSTRECON_PACKAGE_TEST=1 runs it (make test-package)"
for t in dpkg-buildpackage dh lintian debootstrap chroot; do
	command -v $t >/dev/null 2>&1 || skip "$t is not installed (Debian packages dpkg-dev, debhelper, lintian, debootstrap)"
done
OSTRECON=${OSTRECON:-$ROOT/build/ostrecon}
TOOLS_DIR=${TOOLS_DIR:-$ROOT/build}
[ -x "$TOOLS_DIR/ostwrite" ] || fail "ostwrite is not built ($TOOLS_DIR/ostwrite)"
version=$(sed -n 's/^VERSION *:= *//p' "$ROOT/Makefile")
now() { date +%s; }

# 1. Build.
t0=$(now)
sh "$ROOT/scripts/build-deb.sh" "$WORK/deb" >"$WORK/build.out" 2>&1 || { cat "$WORK/build.out"; fail "the package does not build"; }
deb=$(ls "$WORK"/deb/ostrecon_*.deb)
[ "$deb" = "$WORK/deb/ostrecon_${version}_$(dpkg --print-architecture).deb" ] || fail "unexpected package file $deb"
echo "built $(basename "$deb") in $(($(now) - t0)) s"

# 2. Contents: the program, a man page per command, completions, schemas, docs and examples.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$WORK/contents"
want="/usr/bin/ostrecon /usr/share/man/man1/ostrecon.1.gz /usr/share/bash-completion/completions/ostrecon
/usr/share/zsh/vendor-completions/_ostrecon /usr/share/ostrecon/report.schema.json /usr/share/doc/ostrecon/copyright
/usr/share/doc/ostrecon/changelog.gz /usr/share/doc/ostrecon/README.md.gz /usr/share/doc/ostrecon/BATCH.md.gz
/usr/share/doc/ostrecon/examples/ostrecon-batch.sbatch /usr/share/doc/ostrecon/examples/kubernetes-shards.yaml"
for c in $("$OSTRECON" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'); do
	want="$want /usr/share/man/man1/ostrecon-$c.1.gz"
done
for f in $want; do grep -qx "$f" "$WORK/contents" || fail "the package lacks $f"; done
grep -v -e '/$' -e '^/usr/bin/ostrecon$' -e '^/usr/share/' "$WORK/contents" && fail "files outside /usr/share besides the program"
echo "contents: $(grep -vc '/$' "$WORK/contents") files, among them $(echo "$want" | wc -w) expected ones"

# 3. Dependencies: the package that holds each library the program is linked with (on this machine)
# is in Depends.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
mkdir "$WORK/x"
dpkg-deb -x "$deb" "$WORK/x"
for so in $(readelf -d "$WORK/x/usr/bin/ostrecon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64|x32|AArch64/ {print $NF; exit}')
	[ -n "$path" ] || path=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
	# dpkg knows a library by the path its package ships, /lib or /usr/lib (merged /usr).
	pkg=
	for p in "$path" "${path#/usr}" "/usr$path" "$(readlink -f "$path")"; do
		pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] && break
	done
	[ -n "$pkg" ] || fail "no package holds $so ($path)"
	echo "$depends" | tr ',' '\n' | grep -q "^ *$pkg\( \|$\)" || fail "the program needs $so from $pkg, which Depends lacks"
done

# 4. lintian, every severity: nothing left but the overridden tags (each explained in the override
# file).
t0=$(now)
lintian --info --pedantic --display-experimental --fail-on error,warning,info,pedantic \
	"$WORK"/deb/ostrecon_*.changes >"$WORK/lintian.out" 2>&1
rc=$?
grep -v '^running with root privileges' "$WORK/lintian.out" >"$WORK/tags"
[ $rc -eq 0 ] && [ ! -s "$WORK/tags" ] || { cat "$WORK/tags"; fail "lintian: exit $rc"; }
echo "lintian: no tag at any severity ($(grep -c '^[a-z]' "$ROOT/debian/ostrecon.lintian-overrides") overridden, explained in debian/ostrecon.lintian-overrides; $(($(now) - t0)) s)"

# 5. A fresh Debian 12 root, and apt install of the package in it.
[ "$(id -u)" = 0 ] || skip "built and checked; installing into a fresh root needs root (debootstrap, chroot)"
mirror=${OSTRECON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
R="$WORK/root"
t0=$(now)
# The downloaded packages are kept in build/package-cache for the next run.
mkdir -p "$ROOT/build/package-cache"
if ! timeout 900 debootstrap --variant=minbase --cache-dir="$ROOT/build/package-cache" bookworm "$R" "$mirror" \
	>"$WORK/debootstrap.log" 2>&1; then
	tail -n 5 "$WORK/debootstrap.log"
	skip "built and checked (contents, dependencies, lintian); debootstrap could not make a fresh root from $mirror"
fi
echo "fresh root: debootstrap --variant=minbase bookworm in $(($(now) - t0)) s"
for p in libpff1 libcurl4 libjansson4 libyajl2 libcsv3 libdeflate0; do
	chroot "$R" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed && fail "the fresh root already has $p"
done
cp "$deb" "$R/tmp/"
t0=$(now)
chroot "$R" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
	"cd /tmp && apt-get update -qq && apt install -y --no-install-recommends ./$(basename "$deb")" >"$WORK/apt.log" 2>&1 ||
	{ tail -n 20 "$WORK/apt.log"; fail "apt install of the package into the fresh root failed"; }
pulled=$(sed -n 's/^Setting up \([^: ]*\).*/\1/p' "$WORK/apt.log" | grep -v '^ostrecon$' | tr '\n' ' ')
echo "apt install ./$(basename "$deb") in the fresh root ($(($(now) - t0)) s) pulled: $pulled"
for p in libpff1 libcurl4 libjansson4 libyajl2 libcsv3 libdeflate0; do
	echo " $pulled " | grep -q " $p " || fail "apt did not pull $p"
done
out=$(chroot "$R" ostrecon --version) || fail "the installed ostrecon does not run"
[ "$out" = "ostrecon $version" ] || fail "the installed ostrecon says '$out'"
echo "installed: $out ($(chroot "$R" sh -c 'command -v ostrecon'))"

# 6. make demo's scans with the installed program: the sample cache and mailbox, the test EWS and
# Graph servers on this machine (the root shares its network); the same outcome as the build's own.
D="$R/tmp/demo"
mkdir -p "$D"
"$TOOLS_DIR/ostwrite" "$ROOT/samples/demo/cache.json" --format ost4k -o "$D/dana.ost" >/dev/null || fail "ostwrite"
"$TOOLS_DIR/ostwrite" --expand "$ROOT/samples/demo/server.json" -o "$WORK/mailbox.jsonl" || fail "ostwrite --expand"
printf '{"users": [{"name": "dana", "password": "demo-password", "mailbox": "dana@contoso.example"}]}\n' >"$WORK/users.json"
printf 'demo-password\n' >"$D/password"
tenant=5d0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b app=0c6e2a4b-1d3f-4a5b-9c7d-8e9f0a1b2c3d
printf 'demo-client-secret\n' >"$D/client-secret"
chmod 600 "$D/password" "$D/client-secret"
printf '{"tenants": [{"id": "%s", "domains": ["contoso.example"], "apps": [{"client_id": "%s", "secrets": [{"value": "demo-client-secret"}], "roles": ["User.Read.All", "MailboxFolder.Read.All", "MailboxItem.Read.All", "Mail.Read"]}]}]}\n' \
	"$tenant" "$app" >"$WORK/identity.json"
start() { # start NAME COMMAND...: a test server; sets PORT
	name=$1; shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	PIDS="$PIDS $!"
	i=0
	until grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { cat "$WORK/$name.err"; fail "the test $name server did not start"; }
		sleep 0.1
	done
	PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -n 1)
}
start ews $PY "$ROOT/tools/ewsserver/ewsserver.py" --port 0 --mailbox "$WORK/mailbox.jsonl" --users "$WORK/users.json"
url="http://127.0.0.1:$PORT/EWS/Exchange.asmx"
start graph $PY "$ROOT/tools/graphserver/graphserver.py" --port 0 --mailbox "$WORK/mailbox.jsonl" \
	--identity "$WORK/identity.json" --undeclared-properties
g="http://127.0.0.1:$PORT"
ews_args="--url $url --mailbox dana@contoso.example --user dana --password-file /tmp/demo/password --no-progress"
graph_args="--api graph --graph-url $g/v1.0 --authority $g --tenant $tenant --client-id $app --client-secret-file /tmp/demo/client-secret --mailbox dana@contoso.example --no-progress"
outcome() { # outcome REPORT: verdict and findings, to compare
	$PY -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["verdict"], r["exit_code"], sorted((f["kind"], f.get("folder", ""), f.get("count", 1)) for f in r["findings"]))' "$1"
}
for kind in ews graph; do
	eval "args=\$${kind}_args"
	# shellcheck disable=SC2086
	chroot "$R" ostrecon scan --ost /tmp/demo/dana.ost $args -o "/tmp/demo/$kind.json" >"$WORK/$kind.txt" 2>"$WORK/$kind.err"
	rc=$?
	[ $rc -le 2 ] && [ -s "$D/$kind.json" ] || { cat "$WORK/$kind.err"; fail "the installed ostrecon's $kind scan: exit $rc"; }
	# The build's own binary, the same scan (paths outside the root).
	# shellcheck disable=SC2086
	"$OSTRECON" scan --ost "$D/dana.ost" $(echo "$args" | sed "s#/tmp/demo/#$D/#g") -o "$WORK/$kind-ref.json" \
		>/dev/null 2>"$WORK/$kind-ref.err"
	ref=$?
	[ $rc -eq $ref ] || fail "$kind scan: the installed ostrecon exits $rc, the build's $ref"
	[ "$(outcome "$D/$kind.json")" = "$(outcome "$WORK/$kind-ref.json")" ] || fail "$kind scan: the reports differ"
	grep -q "^Verdict: " "$WORK/$kind.txt" || fail "no text report from the $kind scan"
	echo "installed ostrecon, make demo's scan over $kind: exit $rc, $(outcome "$D/$kind.json" | cut -c1-100)"
done
