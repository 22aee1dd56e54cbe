# Real authentication acceptors in front of the test EWS server, for test/auth/t_*.sh and any later
# test that needs Negotiate or NTLM (sourced, after nothing else; it sources test/ewsclient/lib.sh):
#
#   need_kerberos, need_ntlm   skip (77) unless that acceptor's packages are installed (and, for
#                              NTLM, the test runs as root): call them first
#   start_ews_backend ARGS...  the test EWS server trusting the user the acceptors name in
#                              X-Remote-User (ARGS: --mailbox FILE, --users FILE, ...); sets EWS_PORT
#   start_kdc                  an MIT Kerberos KDC with a realm of its own ($KRB_REALM); exports
#                              KRB5_CONFIG for everything started afterwards
#   krb_add_principal NAME [PASSWORD]   a principal (random key without PASSWORD)
#   krb_kinit CCACHE NAME PASSWORD [LIFETIME]  a ticket into CCACHE; the password goes on stdin
#   start_apache_gssapi [basic] [tls CERT KEY]  Apache, AuthType GSSAPI (mod_auth_gssapi,
#                              HTTP/localhost) proxying to $EWS_PORT; sets NEGOTIATE_PORT. With
#                              "basic" it offers Basic too (the password checked against the KDC:
#                              GssapiBasicAuth); with "tls" it also serves https on
#                              NEGOTIATE_TLS_PORT. $AP/access.log says, per request, whether the
#                              client sent Basic or Negotiate credentials (never their value)
#   start_winbindd NAME PASSWORD  Samba's winbindd as a standalone server with a Unix user NAME and
#                              a Samba user NAME (the NTLM domain is $NTLM_DOMAIN, the server's
#                              NetBIOS name); needs root
#   start_squid_ntlm [negotiate]  Squid as a reverse proxy to $EWS_PORT, NTLM through ntlm_auth;
#                              sets NTLM_PORT (after start_winbindd). With "negotiate" (after
#                              start_kdc) it offers Negotiate first, as IIS does, through
#                              negotiate_kerberos_auth and the key of HTTP/localhost
#   stop_acceptors             stops them all (done on exit anyway)
#
# Everything they write lives under $WORK (nothing in /etc changes). The one outside path is
# /run/samba/winbindd, where libwbclient looks for winbindd's socket: it is created when missing and
# removed afterwards, and an NTLM test skips rather than disturb a winbindd that already answers
# there (one such test runs at a time: a lock). Every daemon is started here and stopped by its PID
# on exit with bounded waits; the Unix user is removed. A missing package or a daemon that cannot
# start here skips the test (77) with the reason; with OSTRECON_REQUIRE_ACCEPTORS=1 (a CI that
# installed scripts/deps.sh) that is a failure instead.
. "$(dirname "$0")/../ewsclient/lib.sh"
AUTH_TESTS="$ROOT/test/auth"
PROXY_USER_HEADER=X-Remote-User
KRB_REALM=OSTRECON.TEST
NTLM_DOMAIN=OSTRSRV         # the server's NetBIOS name: the users' domain on a standalone server
NTLM_WORKGROUP=OSTRWG       # not the users' domain
AUTH_PIDS=""                # daemons to stop, in reverse order of start
AUTH_UNIX_USER=""
AUTH_USER_COMMENT="ostrecon NTLM test user (temporary)"
AUTH_RUN_DIRS=""            # folders under /run made here, removed (if empty) after
chmod 711 "$WORK"           # daemons' unprivileged users (www-data, proxy) reach their files below

auth_cleanup() {
	for p in $AUTH_PIDS; do stop_pid "$p"; done
	AUTH_PIDS=""
	if [ -n "$AUTH_UNIX_USER" ]; then
		userdel "$AUTH_UNIX_USER" 2>/dev/null || echo "warning: could not remove the Unix user $AUTH_UNIX_USER"
		AUTH_UNIX_USER=""
	fi
	for d in $AUTH_RUN_DIRS; do rmdir "$d" 2>/dev/null; done
}
stop_acceptors() { auth_cleanup; }
trap 'auth_cleanup; cleanup' EXIT

auth_skip() {
	if [ "${OSTRECON_REQUIRE_ACCEPTORS:-}" = 1 ]; then
		fail "$* (OSTRECON_REQUIRE_ACCEPTORS=1)"
	fi
	skip "$*"
}

now() { date +%s.%N; }
elapsed() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; } # elapsed START: seconds since

# need CMD PACKAGE...: skips when a command is missing
need() {
	cmd=$1; shift
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
		auth_skip "$cmd is not installed (Debian package $*; scripts/deps.sh installs it)"
}

# free_port: a port free on 127.0.0.1 for both TCP and UDP at the time of asking
free_port() {
	"$PY" - <<'PYEOF'
import socket
for _ in range(50):
    t = socket.socket()
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    print(port)
    break
PYEOF
}

# wait_port NAME PID PORT LOGS: waits (10 s at most) until PORT accepts connections; skips when the
# daemon exits or never listens, with the end of its LOGS (paths separated by spaces)
wait_port() {
	i=0
	while ! "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$3" 2>/dev/null; do
		i=$((i + 1))
		if ! kill -0 "$2" 2>/dev/null || [ $i -gt 100 ]; then
			# shellcheck disable=SC2086
			tail -n 15 $4 2>/dev/null | sed 's/^/   | /'
			kill -0 "$2" 2>/dev/null && why="did not listen on 127.0.0.1:$3 in 10 s" || why="exited at start"
			auth_skip "$1 cannot start here: it $why (its log: above)"
		fi
		sleep 0.1
	done
}

# stop_pid PID: SIGTERM to the daemon and then to the children it had (winbindd's domain child,
# Squid's ntlm_auth helpers: left to notice on their own, they linger for seconds), up to 10 s for
# each to exit, then SIGKILL
stop_pid() {
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null)
	kill -TERM "$1" 2>/dev/null || return 0
	for p in $kids; do kill -TERM "$p" 2>/dev/null; done
	for p in "$1" $kids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null && echo "warning: pid $p (of daemon $1) ignored SIGTERM for 10 s and was killed"
	done
	return 0
}

# started PID: records a daemon to stop on exit (stopped last-started first)
started() { AUTH_PIDS="$1 $AUTH_PIDS"; }

start_ews_backend() {
	start_server ews --trust-proxy-user "$PROXY_USER_HEADER" --log "$WORK/ews-requests.log" "$@"
	EWS_PORT=$PORT
}

# proxied_users: "COUNT AUTH USER STATUS" for every kind of request the test EWS server logged
proxied_users() {
	"$PY" - "$WORK/ews-requests.log" <<'PYEOF'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    c[(r.get("auth"), r.get("user"), r.get("status"))] += 1
for (auth, user, status), n in sorted(c.items(), key=str):
    print(n, auth, user, status)
PYEOF
}

# alice_mailbox FOLDERS ITEMS SEED: the served mailbox, alice@example.com in $WORK/alice.jsonl
alice_mailbox() {
	$PY "$GEN" --mailbox alice@example.com --folders "$1" --items "$2" --seed "$3" -o "$WORK/alice.jsonl" || fail "genmailbox"
}

# same_mailbox NAME: the snapshot $WORK/NAME.jsonl holds alice's mailbox (compare.py's summary in
# $WORK/NAME.cmp)
same_mailbox() {
	$PY "$CLIENT_TESTS/compare.py" "$WORK/alice.jsonl" "$WORK/$1.jsonl" >"$WORK/$1.cmp" ||
		{ cat "$WORK/$1.cmp"; fail "$1: the snapshot differs from the mailbox"; }
}

# auto_chose NAME METHOD [OFFERS]: --auth auto's run NAME chose METHOD (negotiate, ntlm, basic): the
# snapshot header and the -v log say so (the log after "offers OFFERS", when given)
auto_chose() {
	head -n 1 "$WORK/$1.jsonl" | grep -q "\"auth\":\"$2\",\"auth_auto\":true" || fail "$1: header: $(head -n 1 "$WORK/$1.jsonl")"
	grep -q "${3:+offers $3}; using $(echo "$2" | sed 's/negotiate/Negotiate/; s/ntlm/NTLM/; s/basic/Basic/') (--auth auto)" \
		"$WORK/$1.log" || fail "$1: -v does not name the method: $(cat "$WORK/$1.log")"
}

# challenged URL SCHEME ACCEPTOR: a request without credentials gets 401 with a SCHEME challenge
# from the acceptor and nothing reaches the EWS server
challenged() {
	curl -sS -o /dev/null -D "$WORK/h.txt" -w '%{http_code}' -H 'Content-Type: text/xml' \
		--data-binary "@$ROOT/test/ews/data/req-getfolder.xml" "$1" >"$WORK/code.txt" || fail "curl to $3"
	[ "$(cat "$WORK/code.txt")" = 401 ] && grep -qi "^WWW-Authenticate: $2" "$WORK/h.txt" ||
		fail "$3 did not ask for $2: $(cat "$WORK/code.txt") $(cat "$WORK/h.txt")"
	[ ! -s "$WORK/ews-requests.log" ] || fail "a request without credentials reached the EWS server"
}

# watched_pull NAME SECRET_FILE ARGS...: `ostrecon server --no-progress ARGS` under pswatch.py, which
# fails the run when SECRET_FILE's content shows in any process's command line while the client
# runs; output in $WORK/NAME.log, exit code in RC
watched_pull() {
	name=$1 secret=$2; shift 2
	timeout 300 $PY "$AUTH_TESTS/pswatch.py" "$secret" -- "$OSTRECON" server --no-progress "$@" >"$WORK/$name.log" 2>&1
	RC=$?
	[ $RC -eq 90 ] && fail "the password showed in a process: $(grep pswatch: "$WORK/$name.log")"
	[ $RC -eq 91 ] && fail "the client ended before its command line could be read: $(grep pswatch: "$WORK/$name.log")"
}

# -- Kerberos ------------------------------------------------------------------------------------

# need_kerberos: skips unless everything the Negotiate acceptor needs is installed
need_kerberos() {
	need krb5kdc krb5-kdc
	need kdb5_util krb5-kdc
	need kadmin.local krb5-admin-server
	need kinit krb5-user
	need klist krb5-user
	need apache2 apache2
	[ -f /usr/lib/apache2/modules/mod_auth_gssapi.so ] ||
		auth_skip "mod_auth_gssapi is not installed (Debian package libapache2-mod-auth-gssapi; scripts/deps.sh installs it)"
	for m in mpm_event authn_core authz_core authz_user headers proxy proxy_http; do
		[ -f "/usr/lib/apache2/modules/mod_$m.so" ] ||
			auth_skip "Apache module mod_$m is missing from /usr/lib/apache2/modules (Debian package apache2)"
	done
}

start_kdc() {
	need_kerberos
	KRB=$WORK/krb
	mkdir -p "$KRB" && chmod 711 "$KRB"
	KDC_PORT=$(free_port)
	[ -n "$KDC_PORT" ] || fail "no free port for the KDC"
	# TCP only (udp_preference_limit 1), so the KDC is reached on the port checked above. A clock
	# skew of 1 s instead of 300: the KDC and the acceptor tolerate that much past a ticket's end,
	# and a test of an expired ticket should not wait five minutes.
	cat >"$KRB/krb5.conf" <<EOF
[libdefaults]
	default_realm = $KRB_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	udp_preference_limit = 1
	clockskew = 1
[realms]
	$KRB_REALM = {
		kdc = 127.0.0.1:$KDC_PORT
	}
EOF
	cat >"$KRB/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
	$KRB_REALM = {
		database_name = $KRB/principal
		key_stash_file = $KRB/stash
		max_life = 1h
		max_renewable_life = 0
	}
[logging]
	kdc = FILE:$KRB/kdc.log
EOF
	export KRB5_CONFIG="$KRB/krb5.conf" KRB5_KDC_PROFILE="$KRB/kdc.conf"
	export KRB5CCNAME="FILE:$KRB/no-such-cache" # until a test picks one
	# The master password is the realm's own, made here and given on stdin, never in argv.
	mpw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n%s\n' "$mpw" "$mpw" | kdb5_util create -r "$KRB_REALM" -s >"$KRB/create.log" 2>&1 ||
		{ cat "$KRB/create.log"; auth_skip "kdb5_util could not create the realm's database here"; }
	krb5kdc -n 8>&- >"$KRB/krb5kdc.out" 2>&1 &
	started $!
	wait_port "the Kerberos KDC (krb5kdc -n)" $! "$KDC_PORT" "$KRB/krb5kdc.out $KRB/kdc.log"
}

# krb_add_principal NAME [PASSWORD]: commands go to kadmin.local on stdin, so no password is in argv
krb_add_principal() {
	if [ $# -ge 2 ]; then
		printf 'addprinc -pw %s %s\n' "$2" "$1"
	else
		printf 'addprinc -randkey %s\n' "$1"
	fi | kadmin.local -r "$KRB_REALM" >"$KRB/kadmin.log" 2>&1 || { cat "$KRB/kadmin.log"; fail "kadmin.local addprinc $1"; }
	grep -q "Principal \"$1@$KRB_REALM\" created" "$KRB/kadmin.log" || { cat "$KRB/kadmin.log"; fail "principal $1 not created"; }
}

# krb_kinit CCACHE NAME PASSWORD [LIFETIME]: kinit into FILE:CCACHE, the password on stdin; KINIT_RC
krb_kinit() {
	printf '%s\n' "$3" | KRB5CCNAME="FILE:$1" kinit ${4:+-l "$4"} "$2" >"$KRB/kinit.log" 2>&1
	KINIT_RC=$?
}

# krb_kinit_ok CCACHE NAME PASSWORD [LIFETIME]: krb_kinit, which must succeed
krb_kinit_ok() {
	krb_kinit "$@"
	[ "$KINIT_RC" -eq 0 ] || fail "kinit $2${4:+ -l $4}: $(cat "$KRB/kinit.log")"
}

# krb_expired_ticket CCACHE NAME PASSWORD: a ticket valid for 2 s in CCACHE, returned once it ended
# and the realm's clock skew (1 s) passed
krb_expired_ticket() {
	krb_kinit_ok "$1" "$2" "$3" 2s
	i=0
	while KRB5CCNAME="FILE:$1" klist -s; do
		i=$((i + 1)); [ $i -gt 100 ] && fail "the 2 s ticket is still valid after 10 s"
		sleep 0.1
	done
	sleep 1.5
}

# krb_service_keytab: the key of HTTP/localhost in $KRB/http.keytab (made once), the service
# principal curl asks for when the URL names localhost or 127.0.0.1 (reverse lookup: localhost)
krb_service_keytab() {
	[ -s "$KRB/http.keytab" ] && return 0
	krb_add_principal HTTP/localhost
	printf 'ktadd -k %s HTTP/localhost\n' "$KRB/http.keytab" | kadmin.local -r "$KRB_REALM" >"$KRB/ktadd.log" 2>&1 &&
		[ -s "$KRB/http.keytab" ] || { cat "$KRB/ktadd.log"; fail "kadmin.local ktadd"; }
}

start_apache_gssapi() {
	need_kerberos
	ap_basic="" ap_tls="" ap_listen="" ap_vhost=""
	while [ $# -gt 0 ]; do
		case $1 in
		basic) ap_basic="GssapiBasicAuth On
	GssapiBasicAuthMech krb5"; shift ;;
		tls) ap_tls=1; ap_cert=$2 ap_key=$3; shift 3 ;;
		*) fail "start_apache_gssapi: unknown argument $1" ;;
		esac
	done
	AP=$WORK/apache
	mkdir -p "$AP/rcache"
	krb_service_keytab
	run_as=""
	if [ "$(id -u)" = 0 ]; then # Apache will not serve as root: its children run as www-data
		id www-data >/dev/null 2>&1 || auth_skip "no www-data user for Apache's children"
		chgrp www-data "$KRB/http.keytab" && chmod 640 "$KRB/http.keytab" && chown www-data "$AP/rcache" ||
			fail "cannot hand the keytab to www-data"
		run_as="User www-data
Group www-data"
	fi
	NEGOTIATE_PORT=$(free_port)
	if [ -n "$ap_tls" ]; then
		[ -f /usr/lib/apache2/modules/mod_ssl.so ] && [ -f /usr/lib/apache2/modules/mod_socache_shmcb.so ] ||
			auth_skip "Apache's mod_ssl is missing (Debian package apache2)"
		NEGOTIATE_TLS_PORT=$(free_port)
		ap_listen="Listen 127.0.0.1:$NEGOTIATE_TLS_PORT
LoadModule ssl_module modules/mod_ssl.so
LoadModule socache_shmcb_module modules/mod_socache_shmcb.so
SSLSessionCache shmcb:$AP/ssl_scache(512000)"
		ap_vhost="<VirtualHost 127.0.0.1:$NEGOTIATE_TLS_PORT>
	SSLEngine on
	SSLCertificateFile $ap_cert
	SSLCertificateKeyFile $ap_key
</VirtualHost>"
	fi
	[ -f /usr/lib/apache2/modules/mod_setenvif.so ] || auth_skip "Apache's mod_setenvif is missing (Debian package apache2)"
	cat >"$AP/httpd.conf" <<EOF
ServerRoot /usr/lib/apache2
ServerName localhost
Listen 127.0.0.1:$NEGOTIATE_PORT
$ap_listen
PidFile $AP/httpd.pid
DefaultRuntimeDir $AP
Mutex file:$AP default
ErrorLog $AP/error.log
LogLevel warn auth_gssapi:info
$run_as
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authn_core_module modules/mod_authn_core.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule authz_user_module modules/mod_authz_user.so
LoadModule headers_module modules/mod_headers.so
LoadModule proxy_module modules/mod_proxy.so
LoadModule proxy_http_module modules/mod_proxy_http.so
LoadModule auth_gssapi_module modules/mod_auth_gssapi.so
LoadModule setenvif_module modules/mod_setenvif.so
# Which credentials each request carried (the scheme, never the value).
SetEnvIf Authorization "^Basic " sent_basic=yes
SetEnvIf Authorization "^Negotiate " sent_negotiate=yes
CustomLog $AP/access.log "%{local}p %s basic=%{sent_basic}e negotiate=%{sent_negotiate}e"
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
KeepAlive On
<Location /EWS/>
	AuthType GSSAPI
	AuthName "ostrecon test realm"
	GssapiCredStore keytab:$KRB/http.keytab
	GssapiAllowedMech krb5
	$ap_basic
	Require valid-user
	# The user Kerberos authenticated (user@REALM) replaces whatever the client sent.
	RequestHeader unset Authorization
	RequestHeader set $PROXY_USER_HEADER "expr=%{REMOTE_USER}"
	ProxyPass http://127.0.0.1:$EWS_PORT/EWS/
</Location>
$ap_vhost
EOF
	KRB5RCACHEDIR="$AP/rcache" apache2 -f "$AP/httpd.conf" -DFOREGROUND 8>&- >"$AP/apache.out" 2>&1 &
	started $!
	wait_port "Apache (mod_auth_gssapi)" $! "$NEGOTIATE_PORT" "$AP/apache.out $AP/error.log"
}

# -- NTLM ----------------------------------------------------------------------------------------

# need_ntlm: skips unless everything the NTLM acceptor needs is installed and the test runs as root
need_ntlm() {
	[ "$(id -u)" = 0 ] || auth_skip "the NTLM acceptor needs root (a Unix user for the test, winbindd's socket in /run/samba/winbindd)"
	need winbindd winbind
	need ntlm_auth winbind
	need wbinfo winbind
	need smbpasswd samba-common-bin
	need squid squid
	need useradd passwd
	need flock util-linux
	id proxy >/dev/null 2>&1 || auth_skip "no 'proxy' user (Squid's)"
}

start_winbindd() {
	need_ntlm
	# One NTLM acceptor at a time on this machine: libwbclient knows one socket path only.
	exec 8>/tmp/ostrecon-winbindd.lock
	flock -w 120 8 || auth_skip "another test held winbindd's socket for 120 s"
	if [ -S /run/samba/winbindd/pipe ] && timeout 10 wbinfo -p >/dev/null 2>&1; then
		auth_skip "a winbindd already answers on /run/samba/winbindd/pipe: not disturbing it"
	fi
	for d in /run/samba /run/samba/winbindd; do
		if [ ! -d "$d" ]; then
			mkdir -m 755 "$d" || auth_skip "cannot create $d"
			AUTH_RUN_DIRS="$d $AUTH_RUN_DIRS"
		fi
	done
	SMB=$WORK/samba
	mkdir -p "$SMB/private" "$SMB/lock" "$SMB/state" "$SMB/cache" "$SMB/run" "$SMB/log" "$SMB/ncalrpc"
	chmod 711 "$SMB" && chmod 700 "$SMB/private"
	# ntlm_auth runs as Squid's user and reaches winbindd's privileged socket through this folder.
	mkdir -m 750 "$SMB/state/winbindd_privileged" && chgrp proxy "$SMB/state/winbindd_privileged" ||
		fail "cannot prepare winbindd's privileged socket folder"
	cat >"$SMB/smb.conf" <<EOF
[global]
	workgroup = $NTLM_WORKGROUP
	netbios name = $NTLM_DOMAIN
	server role = standalone server
	security = user
	passdb backend = tdbsam:$SMB/private/passdb.tdb
	private dir = $SMB/private
	binddns dir = $SMB/private
	lock directory = $SMB/lock
	state directory = $SMB/state
	cache directory = $SMB/cache
	pid directory = $SMB/run
	ncalrpc dir = $SMB/ncalrpc
	winbindd socket directory = /run/samba/winbindd
	logging = file
	# winbind:3 logs the domain and user name of each NTLM logon (never a password or hash)
	log level = 1 winbind:3
	disable netbios = yes
	load printers = no
	printcap name = /dev/null
	obey pam restrictions = no
	unix password sync = no
	idmap config * : backend = tdb
	idmap config * : range = 3000-7999
	rpc start on demand helpers = no
EOF
	chmod 644 "$SMB/smb.conf"
	# Users an earlier run could not remove (it was killed) carry the same comment; under the lock
	# no other run's user is live.
	for u in $(getent passwd | awk -F: -v c="$AUTH_USER_COMMENT" '$5 == c { print $1 }'); do
		userdel "$u" && echo "removed the Unix user $u an interrupted run left"
	done
	id "$1" >/dev/null 2>&1 && fail "a Unix user $1 exists already"
	useradd -M -N -g nogroup -s /usr/sbin/nologin -c "$AUTH_USER_COMMENT" "$1" ||
		fail "useradd $1"
	AUTH_UNIX_USER=$1
	printf '%s\n%s\n' "$2" "$2" | smbpasswd -c "$SMB/smb.conf" -a -s "$1" >"$SMB/smbpasswd.log" 2>&1 ||
		{ cat "$SMB/smbpasswd.log"; fail "smbpasswd -a $1"; }
	# -l: its log folder, also for what it logs before it reads smb.conf
	winbindd -s "$SMB/smb.conf" -l "$SMB/log" -F --no-process-group 8>&- >"$SMB/winbindd.out" 2>&1 &
	started $!
	WINBINDD_PID=$!
	i=0
	until timeout 5 wbinfo -p >/dev/null 2>&1; do
		i=$((i + 1))
		if ! kill -0 "$WINBINDD_PID" 2>/dev/null || [ $i -gt 100 ]; then
			tail -n 15 "$SMB/winbindd.out" "$SMB/log/log.winbindd" 2>/dev/null | sed 's/^/   | /'
			auth_skip "winbindd cannot start here (no answer on /run/samba/winbindd/pipe; its log: above)"
		fi
		sleep 0.1
	done
}

start_squid_ntlm() {
	need_ntlm
	SQ=$WORK/squid
	mkdir -p "$SQ" && chown proxy:proxy "$SQ"
	NTLM_PORT=$(free_port)
	sq_negotiate=""
	if [ "${1:-}" = negotiate ]; then
		[ -x /usr/lib/squid/negotiate_kerberos_auth ] ||
			auth_skip "Squid's negotiate_kerberos_auth is missing (Debian package squid)"
		krb_service_keytab
		cp "$KRB/http.keytab" "$SQ/http.keytab" && chown proxy "$SQ/http.keytab" && chmod 600 "$SQ/http.keytab" &&
			mkdir -p "$SQ/rcache" && chown proxy "$SQ/rcache" || fail "cannot hand the keytab to Squid"
		# Offered first, as IIS offers Negotiate before NTLM; the helper finds the realm in KRB5_CONFIG.
		sq_negotiate="auth_param negotiate program /usr/lib/squid/negotiate_kerberos_auth -k $SQ/http.keytab -s HTTP/localhost@$KRB_REALM -c $SQ/rcache
auth_param negotiate children 4 startup=1 idle=1
auth_param negotiate keep_alive on"
	fi
	cat >"$SQ/squid.conf" <<EOF
http_port 127.0.0.1:$NTLM_PORT accel defaultsite=127.0.0.1:$NTLM_PORT no-vhost
cache_peer 127.0.0.1 parent $EWS_PORT 0 no-query originserver no-digest name=ews
$sq_negotiate
auth_param ntlm program /usr/bin/ntlm_auth --helper-protocol=squid-2.5-ntlmssp --configfile=$SMB/smb.conf
auth_param ntlm children 4 startup=1 idle=1
auth_param ntlm keep_alive on
acl ews_path urlpath_regex -i ^/EWS/
acl authenticated proxy_auth REQUIRED
http_access deny !ews_path
http_access allow authenticated
http_access deny all
cache_peer_access ews allow all
never_direct allow all
cache deny all
cache_mem 0 MB
# The user NTLM authenticated (DOMAIN\\user) replaces whatever the client sent; the client's
# Authorization header stays here.
request_header_access $PROXY_USER_HEADER deny all
request_header_access Authorization deny all
request_header_add $PROXY_USER_HEADER "%ul" all
cache_effective_user proxy
cache_effective_group proxy
pid_filename $SQ/squid.pid
cache_log $SQ/cache.log
access_log stdio:$SQ/access.log
cache_store_log none
coredump_dir $SQ
netdb_filename none
icp_port 0
htcp_port 0
pinger_enable off
logfile_rotate 0
shutdown_lifetime 0 seconds
visible_hostname localhost
dns_nameservers 127.0.0.1
EOF
	squid -k parse -f "$SQ/squid.conf" >"$SQ/parse.log" 2>&1 ||
		{ tail -n 15 "$SQ/parse.log"; auth_skip "squid refuses its configuration here (above)"; }
	squid -N -f "$SQ/squid.conf" 8>&- >"$SQ/squid.out" 2>&1 &
	started $!
	wait_port "Squid (NTLM through ntlm_auth)" $! "$NTLM_PORT" "$SQ/squid.out $SQ/cache.log"
}
