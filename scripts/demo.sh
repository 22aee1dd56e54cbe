#!/bin/sh
# `make demo`: the main job on the bundled sample. Writes the sample cache (an Outlook 2013+ OST,
# 4 KiB pages, compressed blocks) from samples/demo/cache.json, starts the test EWS server on
# 127.0.0.1 with the mailbox of samples/demo/server.json, runs `ostrecon scan` against both, prints
# the text report, leaves the JSON report and the snapshots in build/demo/, and stops the server.
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
trap 'kill $server 2>/dev/null' EXIT INT TERM
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
[ $rc -le 2 ]
