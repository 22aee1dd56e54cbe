#!/bin/sh
# Builds the Debian package (debian/) with `dpkg-buildpackage -us -uc -b` in a copy of this tree
# (the build/ folder left out: `debian/rules clean` empties build/, and the copy starts clean), and
# puts ostrecon_VERSION_ARCH.deb, its .buildinfo, .changes and the build log into OUTDIR.
# Usage: scripts/build-deb.sh OUTDIR     (make deb: build/deb)
set -u
cd "$(dirname "$0")/.." || exit 2
out=${1:?usage: scripts/build-deb.sh OUTDIR}
for t in dpkg-buildpackage dh; do
	command -v $t >/dev/null 2>&1 || { echo "build-deb: $t is missing (apt-get install dpkg-dev debhelper)" >&2; exit 3; }
done
version=$(dpkg-parsechangelog -S Version) || exit 3
[ "$version" = "$(sed -n 's/^VERSION *:= *//p' Makefile)" ] ||
	{ echo "build-deb: debian/changelog says $version, the Makefile's VERSION differs" >&2; exit 3; }
mkdir -p "$out" || exit 3
out=$(cd "$out" && pwd)
tmp=$(mktemp -d) || exit 3
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/ostrecon-$version"
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$tmp/ostrecon-$version" || exit 3
echo "build-deb: dpkg-buildpackage -us -uc -b in $tmp/ostrecon-$version (log: $out/build.log)" >&2
(cd "$tmp/ostrecon-$version" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
	dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 30 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (exit $rc); the whole log is $out/build.log" >&2
	exit 3
fi
rm -f "$out"/ostrecon_*.deb "$out"/ostrecon_*.buildinfo "$out"/ostrecon_*.changes "$out"/ostrecon-dbgsym_*.deb
mv "$tmp"/ostrecon_* "$out"/ || exit 3
mv "$tmp"/ostrecon-dbgsym_* "$out"/ 2>/dev/null
ls "$out"/ostrecon_*.deb
