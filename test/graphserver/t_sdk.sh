#!/bin/sh
# An independent client: Microsoft's JavaScript SDK (@microsoft/microsoft-graph-client, installed
# from npm at test time) reads a mailbox over HTTPS, following nextLink/deltaLink with its
# PageIterator, through the mailbox API and through the mail API (with calendars and contacts);
# sdk_compare.py finds the same folders, item ids and counts as the snapshot file. The token comes
# from @azure/msal-node against the server's identity endpoints when the identity module is there
# (t_identity.sh), otherwise from the static tokens file. Skips when npm cannot install.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
NPMDIR="$ROOT/build/npm-graph"
mkdir -p "$NPMDIR" || fail "cannot make $NPMDIR"
if [ ! -f "$NPMDIR/node_modules/@microsoft/microsoft-graph-client/package.json" ] ||
	[ ! -f "$NPMDIR/node_modules/@azure/msal-node/package.json" ]; then
	printf '{"name":"ostrecon-graph-sdk-test","private":true}\n' >"$NPMDIR/package.json"
	(cd "$NPMDIR" && timeout 300 npm install --no-audit --no-fund --silent \
		@microsoft/microsoft-graph-client@3.0.7 @azure/msal-node@2 >"$WORK/npm.log" 2>&1) ||
		{ tail -n 5 "$WORK/npm.log"; skip "npm could not install @microsoft/microsoft-graph-client and @azure/msal-node"; }
fi
export NODE_PATH="$NPMDIR/node_modules"
"$PY" "$MKFIX" --mailbox alice@example.com --items 500 -o "$WORK/alice.jsonl" || fail "mkfixture"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null ||
	fail "openssl could not make a certificate"
export NODE_EXTRA_CA_CERTS="$WORK/tls.crt"
start_server sdk --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" \
	--log "$WORK/sdk.log"
for api in mailbox mail; do
	GRAPH_TOKEN=tok-app timeout 300 node "$GRAPH_TESTS/sdk_read.js" "https://127.0.0.1:$PORT" alice@example.com "$api" \
		"$WORK/sdk-$api.json" || fail "the SDK could not read the mailbox ($api API)"
	"$PY" "$GRAPH_TESTS/sdk_compare.py" "$WORK/alice.jsonl" "$WORK/sdk-$api.json" || fail "SDK result differs ($api API)"
done
n=$(grep -c '"status": 200' "$WORK/sdk.log")
echo "the SDK made $n successful requests; versions: graph-client $(node -p 'require("@microsoft/microsoft-graph-client/package.json").version'), msal-node $(node -p 'require("@azure/msal-node/package.json").version')"
