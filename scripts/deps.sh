#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when they are missing.
# As root it runs apt-get itself; otherwise it prints the one line to run and fails.
# The last line: the real Kerberos and NTLM acceptors of test/auth/ (about 30 s to install on the
# 2-core build machine, downloads included). The tests start their own daemons from their own
# configuration; on a machine where package scripts start services (systemd), the system's
# apache2, squid, winbind and krb5-kdc start too, and the NTLM test skips while a system winbindd runs.
set -u
PKGS="build-essential pkg-config libpff-dev libbfio-dev libjansson-dev libcurl4-openssl-dev
libxml2-dev libxml2-utils libssl-dev zlib1g-dev libdeflate-dev libcmocka-dev pff-tools pst-utils openssl
libcsv-dev python3 python3-exchangelib python3-pypff python3-jsonschema python3-cryptography python3-lxml curl ca-certificates
clang libclang-rt-14-dev valgrind bc
krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi winbind samba-common-bin squid"
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
