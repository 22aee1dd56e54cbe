#!/bin/sh
# An independent client: Microsoft's JavaScript SDK (@microsoft/microsoft-graph-client, installed
# from npm at test time) reads a mailbox over HTTPS, following nextLink/deltaLink with its
# PageIterator, through the mailbox API and through the mail API (with calendars and contacts);
# sdk_compare.py finds the same folders, item ids and counts as the snapshot file. The token comes
# from @azure/msal-node against the server's identity endpoints (pointed at the local authority with
# knownAuthorities, authorityMetadata and cloudDiscoveryMetadata) when the identity module is there,
# otherwise from the static tokens file. Skips when npm cannot install.
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
TOKEN_FROM="static tokens file"
IDARGS=""
if [ -f "$ROOT/tools/graphserver/identity.py" ] && "$PY" -c 'import cryptography' 2>/dev/null; then
	# msal-node gets the token from the server's identity endpoints (client credentials).
	TOKEN_FROM=msal
	APP=11111111-2222-4333-8444-555555555555
	printf 'Sdk~Test.secret_0123456789-abcdefgh\n' >"$WORK/secret" && chmod 600 "$WORK/secret"
	cat >"$WORK/identity.json" <<JSON
{"tenants": [{"id": "6f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8", "domains": ["example.com"],
  "apps": [{"client_id": "$APP", "secrets": [{"value": "$(cat "$WORK/secret")"}],
            "roles": ["Mail.Read", "Calendars.Read", "Contacts.Read", "User.Read.All", "MailboxFolder.Read.All",
                      "MailboxItem.Read.All"]}]}]}
JSON
	IDARGS="--identity $WORK/identity.json"
fi
# shellcheck disable=SC2086
start_server sdk --mailbox "$WORK/alice.jsonl" --tokens "$TOKENS" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" \
	--log "$WORK/sdk.log" $IDARGS
BASE="https://127.0.0.1:$PORT"
if [ "$TOKEN_FROM" = msal ]; then
	# msal-node is pointed at the local authority: knownAuthorities, and the metadata documents the
	# server serves given to it so that it never asks login.microsoftonline.com.
	curl -sf --cacert "$WORK/tls.crt" "$BASE/example.com/v2.0/.well-known/openid-configuration" >"$WORK/openid.json" &&
	curl -sf --cacert "$WORK/tls.crt" \
		"$BASE/common/discovery/instance?api-version=1.1&authorization_endpoint=$BASE/example.com/oauth2/v2.0/authorize" \
		>"$WORK/instance.json" || fail "discovery documents"
	"$PY" - "$WORK" "$BASE" "$APP" <<'PYEOF' || fail "msal config"
import json, sys
w, base, app = sys.argv[1:4]
json.dump({"authority": base + "/example.com", "knownAuthority": base.split("://")[1], "clientId": app,
           "clientSecretFile": w + "/secret", "authorityMetadata": json.load(open(w + "/openid.json")),
           "cloudDiscoveryMetadata": json.load(open(w + "/instance.json"))}, open(w + "/msal.json", "w"))
PYEOF
fi
for api in mailbox mail; do
	if [ "$TOKEN_FROM" = msal ]; then
		MSAL_CONFIG="$WORK/msal.json" timeout 300 node "$GRAPH_TESTS/sdk_read.js" "$BASE" alice@example.com "$api" \
			"$WORK/sdk-$api.json" || fail "the SDK could not read the mailbox ($api API)"
	else
		GRAPH_TOKEN=tok-app timeout 300 node "$GRAPH_TESTS/sdk_read.js" "$BASE" alice@example.com "$api" \
			"$WORK/sdk-$api.json" || fail "the SDK could not read the mailbox ($api API)"
	fi
	"$PY" "$GRAPH_TESTS/sdk_compare.py" "$WORK/alice.jsonl" "$WORK/sdk-$api.json" || fail "SDK result differs ($api API)"
done
[ "$TOKEN_FROM" = msal ] && ! grep -q '"grant_type": "client_credentials"' "$WORK/sdk.log" && fail "msal-node did not ask the server"
grep -q 'Sdk~Test' "$WORK/sdk.log" && fail "the client secret reached the log"
n=$(grep -c '"status": 200' "$WORK/sdk.log")
echo "the SDK made $n successful requests (token: $TOKEN_FROM); versions: graph-client $(node -p 'require("@microsoft/microsoft-graph-client/package.json").version'), msal-node $(node -p 'require("@azure/msal-node/package.json").version')"
