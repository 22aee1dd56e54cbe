#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when they are missing.
# As root it runs apt-get itself; otherwise it prints the one line to run and fails.
# Usage: scripts/deps.sh [package]   ("package": also what `make test-package` needs)
# chromium renders the HTML report in the tests (headless, test/report/chromium.sh) and jq runs
# the recipes of docs/REPORT.md. The Kerberos/NTLM line: the real acceptors of test/auth/ (about
# 30 s to install on the 2-core build machine, downloads included). The tests start their own daemons from their own
# configuration; on a machine where package scripts start services (systemd), the system's
# apache2, squid, winbind and krb5-kdc start too, and the NTLM test skips while a system winbindd runs.
# The line after: man pages (soelim, man), the shells the completions are tested in, and the
# schedulers of test/batch/ (GNU parallel, Slurm with munge; Kubernetes' API models to check the
# manifests); about 60 s more. The Slurm test starts its own munged, slurmctld and slurmd.
set -u
PKGS="build-essential pkg-config libpff-dev libbfio-dev libjansson-dev libcurl4-openssl-dev
libxml2-dev libxml2-utils libssl-dev zlib1g-dev libdeflate-dev liburing-dev libcmocka-dev pff-tools pst-utils openssl
libcsv-dev libyajl-dev python3 python3-exchangelib python3-pypff python3-jsonschema python3-cryptography python3-lxml curl ca-certificates
clang libclang-rt-14-dev valgrind bc time chromium jq
krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi winbind samba-common-bin squid
groff-base man-db zsh bash-completion parallel slurm-wlm munge python3-yaml python3-kubernetes"
# The Debian package's build, lintian, and debootstrap for the fresh root it is installed into.
[ "${1:-}" = package ] && PKGS="$PKGS dpkg-dev debhelper lintian debootstrap"
# Node.js runs Microsoft's Graph SDK and pst-extractor in the tests (from npm at test time): Debian's
# when the machine has none of its own.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ echo "deps: apt-get install failed" >&2; exit 1; }
	exit 0
fi
echo "deps: missing Debian packages. Run as root:" >&2
echo "  apt-get update && apt-get install -y$missing" >&2
exit 1
