#!/bin/sh
# `make demo`: the main job on the bundled sample. Writes the sample cache (an Outlook 2013+ OST,
# 4 KiB pages, compressed blocks) from samples/demo/cache.json, starts the test EWS server and the
# test Microsoft Graph server on 127.0.0.1 with the mailbox of samples/demo/server.json, runs
# `ostrecon scan` against both over EWS (on-premises Exchange) and again over Graph (Exchange
# Online, signing in with an application's client secret), prints the text reports, leaves the
# JSON reports and the snapshots in build/demo/, and stops the servers.
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/demo
rm -rf "$out"
mkdir -p "$out"
PY=/usr/bin/python3
./build/ostwrite samples/demo/cache.json --format ost4k -o "$out/dana.ost" || exit 1
./build/ostwrite --expand samples/demo/server.json -o "$out/mailbox.jsonl" || exit 1
printf '{"users": [{"name": "dana", "password": "demo-password", "mailbox": "dana@contoso.example"}]}\n' >"$out/users.json"
printf 'demo-password\n' >"$out/password"
chmod 600 "$out/password" "$out/users.json"

$PY tools/ewsserver/ewsserver.py --port 0 --mailbox "$out/mailbox.jsonl" --users "$out/users.json" \
	>"$out/server.out" 2>"$out/server.err" &
server=$!
graph=
trap 'kill $server $graph 2>/dev/null' EXIT INT TERM
i=0
while ! grep -q '^listening on ' "$out/server.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $server 2>/dev/null; then
		echo "demo: the test EWS server did not start:" >&2
		cat "$out/server.err" >&2
		exit 1
	fi
	sleep 0.1
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out/server.out" | head -n 1)
url="http://127.0.0.1:$port/EWS/Exchange.asmx"

echo "== ostrecon scan --ost $out/dana.ost --url $url --mailbox dana@contoso.example"
echo
NO_COLOR=${NO_COLOR:-} ./build/ostrecon scan --ost "$out/dana.ost" --url "$url" --mailbox dana@contoso.example \
	--auth basic --user dana --password-file "$out/password" --keep-snapshots "$out/snapshots" -o "$out/report.json" \
	--no-progress 2>"$out/scan.err"
rc=$?
grep -v 'plain http://' "$out/scan.err" >&2
echo
echo "Exit code $rc (0 in sync, 1 differences that need action, 2 incomplete, 3 error)."
echo "JSON report: $out/report.json   snapshots: $out/snapshots/   render again: ./build/ostrecon report $out/report.json"
[ $rc -le 2 ] || exit 1

# The same mailbox in Exchange Online: Microsoft Graph, with an application's client secret from the
# test server's identity platform endpoint (the tenant, the application and its secret are the demo's).
tenant=5d0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b app=0c6e2a4b-1d3f-4a5b-9c7d-8e9f0a1b2c3d
printf 'demo-client-secret\n' >"$out/client-secret"
chmod 600 "$out/client-secret"
printf '{"tenants": [{"id": "%s", "domains": ["contoso.example"], "apps": [{"client_id": "%s", "display_name": "ostrecon demo", "secrets": [{"value": "demo-client-secret"}], "roles": ["User.Read.All", "MailboxFolder.Read.All", "MailboxItem.Read.All", "Mail.Read"]}]}]}\n' \
	"$tenant" "$app" >"$out/identity.json"
$PY tools/graphserver/graphserver.py --port 0 --mailbox "$out/mailbox.jsonl" --identity "$out/identity.json" \
	--undeclared-properties >"$out/graph.out" 2>"$out/graph.err" &
graph=$!
i=0
while ! grep -q '^listening on ' "$out/graph.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $graph 2>/dev/null; then
		echo "demo: the test Graph server did not start:" >&2
		cat "$out/graph.err" >&2
		exit 1
	fi
	sleep 0.1
done
gport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out/graph.out" | head -n 1)
echo
echo "== ostrecon scan --ost $out/dana.ost --api graph --mailbox dana@contoso.example --tenant ... --client-id ..."
echo "   (Microsoft Graph at http://127.0.0.1:$gport/v1.0, the identity platform at http://127.0.0.1:$gport)"
echo
NO_COLOR=${NO_COLOR:-} ./build/ostrecon scan --ost "$out/dana.ost" --api graph --graph-url "http://127.0.0.1:$gport/v1.0" \
	--authority "http://127.0.0.1:$gport" --tenant "$tenant" --client-id "$app" --client-secret-file "$out/client-secret" \
	--mailbox dana@contoso.example --keep-snapshots "$out/snapshots-graph" -o "$out/report-graph.json" --no-progress \
	2>"$out/scan-graph.err"
grc=$?
grep -v 'plain http://' "$out/scan-graph.err" >&2
echo
echo "Exit code $grc over Microsoft Graph, $rc over EWS: the same mailbox, the same verdict."
echo "JSON report: $out/report-graph.json   snapshots: $out/snapshots-graph/"
[ $grc -le 2 ]
