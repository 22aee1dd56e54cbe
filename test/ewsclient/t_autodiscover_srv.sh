#!/bin/sh
# Autodiscover's last step, the DNS SRV record _autodiscover._tcp.DOMAIN: when POX, the HTTP
# redirect method and SOAP find nothing, the record's target (and port) is asked with POX. The
# client runs in a mount namespace of its own whose /etc/resolv.conf names a DNS server started
# here on 127.0.0.1:53 (nothing outside the namespace changes); without root, unshare or a free
# port 53 the test is skipped.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "the DNS server needs port 53 and the client a mount namespace: root only"
command -v unshare >/dev/null || skip "unshare is not installed (Debian package util-linux)"
command -v openssl >/dev/null || fail "openssl is not installed"
unshare -m sh -c 'mount --bind /dev/null /etc/resolv.conf' 2>/dev/null ||
	skip "no mount namespace here (unshare -m, mount --bind over /etc/resolv.conf refused)"
$PY "$GEN" --mailbox alice@srv.example --folders 5 --items 30 --seed 22 -o "$WORK/alice.jsonl" || fail "genmailbox"
printf '{"users": [{"name": "alice", "password": "alice-srv-pw", "mailbox": "alice@srv.example"}]}\n' >"$WORK/users.json"
pw=$(secret_file pw alice-srv-pw)
san="DNS:srv.example,DNS:autodiscover.srv.example,DNS:mail.srvhost.example,DNS:mail.srv.example"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=srv.example" -addext "subjectAltName=$san" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 || fail "openssl could not make the certificate"
tls_port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EWS="https://mail.srv.example:$tls_port/EWS/Exchange.asmx"
printf '{"hosts": {"mail.srvhost.example": {"pox": {"*": {"ews_url": "%s", "version": "15.1.2507.6"}}}}}\n' "$EWS" >"$WORK/ad.json"
"$PY" "$SERVER" --port "$tls_port" --pid-file "$WORK/tls.pid" --mailbox "$WORK/alice.jsonl" --users "$WORK/users.json" \
	--autodiscover "$WORK/ad.json" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" >"$WORK/tls.out" 2>"$WORK/tls.err" &
wait_listening tls $!

# The DNS server: the SRV record points at mail.srvhost.example, on the HTTPS server's own port.
"$PY" "$CLIENT_TESTS/dns_srv.py" 53 "_autodiscover._tcp.srv.example=0:0:$tls_port:mail.srvhost.example" \
	>"$WORK/dns.out" 2>"$WORK/dns.err" &
DNS_PID=$!
SERVER_PIDS="$SERVER_PIDS $DNS_PID"
i=0
while ! grep -q listening "$WORK/dns.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 $DNS_PID 2>/dev/null; then
		skip "no DNS server on 127.0.0.1:53 here: $(tail -n 1 "$WORK/dns.err")"
	fi
	sleep 0.1
done
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$WORK/resolv.conf"

# in_ns NAME ARGS...: the client with that resolv.conf, every other https name to the HTTPS server
in_ns() {
	n=$1; shift
	timeout 120 unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" \
		"$OSTRECON" server --no-progress "$@" >"$WORK/$n.log" 2>&1
	RC=$?
	name=$n
}
MAP="--cacert $WORK/cert.pem --connect-to :443:127.0.0.1:$tls_port --resolve mail.srvhost.example:$tls_port:127.0.0.1
--resolve mail.srv.example:$tls_port:127.0.0.1"
# shellcheck disable=SC2086
in_ns srv --autodiscover-only -v --mailbox alice@srv.example --user alice --password-file "$pw" $MAP
expect_rc 0 "SRV"
grep -q "^found_by: srv, https://mail.srvhost.example:$tls_port/autodiscover/autodiscover.xml" "$WORK/srv.log" ||
	fail "srv: $(cat "$WORK/srv.log")"
grep -q "^ews_url: $EWS" "$WORK/srv.log" || fail "srv: no EWS URL: $(cat "$WORK/srv.log")"
grep -q "the DNS SRV record of srv.example points at https://mail.srvhost.example:$tls_port" "$WORK/srv.log" ||
	fail "srv: the user was not told"
grep -q "_autodiscover._tcp.srv.example type 33: 1 answers" "$WORK/dns.err" || fail "the DNS server saw no SRV query"
echo "ok srv: after POX, the HTTP method and SOAP found nothing, _autodiscover._tcp.srv.example led to $EWS"
# shellcheck disable=SC2086
in_ns srv-pull --mailbox alice@srv.example --user alice --password-file "$pw" $MAP -o "$WORK/snap.jsonl"
expect_rc 0 "pull through the SRV record"
$PY "$CLIENT_TESTS/compare.py" "$WORK/alice.jsonl" "$WORK/snap.jsonl" --no-associated || fail "the snapshot differs"
echo "Autodiscover by DNS SRV: found and pulled"
