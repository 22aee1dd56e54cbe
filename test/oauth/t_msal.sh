#!/bin/sh
# Microsoft's client library @azure/msal-node (npm, installed under build/npm-msal) gets tokens from
# the test identity platform endpoint over HTTPS: client secret, certificate (PS256 and RS256), the
# device code flow with a silent refresh, and a private authority given either as knownAuthorities
# or as authorityMetadata + cloudDiscoveryMetadata fetched from the server's discovery documents, and
# msal's own refusal of an http authority.
. "$(dirname "$0")/lib.sh"
need_crypto
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "node and npm are not installed"
NPM_DIR="$ROOT/build/npm-msal"
mkdir -p "$ROOT/build"
if [ ! -f "$NPM_DIR/node_modules/@azure/msal-node/package.json" ]; then
	# One install at a time: several test runs may share the tree.
	( flock 9
	  [ -f "$NPM_DIR/node_modules/@azure/msal-node/package.json" ] ||
		timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error '@azure/msal-node@7' \
			>"$WORK/npm.log" 2>&1 ) 9>"$ROOT/build/.npm-msal.lock" ||
		{ tail -n 5 "$WORK/npm.log"; skip "cannot install @azure/msal-node from npm"; }
fi
echo "msal-node $(sed -n 's/^ *"version": "\(.*\)",$/\1/p' "$NPM_DIR/node_modules/@azure/msal-node/package.json")"

make_cert app
make_cert other
make_cert tls
TENANT_ID=5a1c7e2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d
APP=2f6d1a3c-7b8e-4c9d-a0e1-b2c3d4e5f607
SECRET='Msal~Test.secret_0123456789-abcdefgh'
printf '%s\n' "$SECRET" >"$WORK/secret" && chmod 600 "$WORK/secret"
cat >"$WORK/config.json" <<JSON
{"tenants": [{"id": "$TENANT_ID", "domains": ["fabrikam.example"],
  "users": [{"name": "Alice", "mailbox": "alice@fabrikam.example", "auto_approve_after_polls": 1}],
  "apps": [
    {"client_id": "$APP", "display_name": "msal test", "secrets": [{"value": "$SECRET"}],
     "certificates": ["app.crt"], "roles": ["Mail.Read"]},
    {"client_id": "dev-msal", "public_client": true, "device_code_user": "alice@fabrikam.example",
     "device_code": {"interval": 1, "expires_in": 60}}]}]}
JSON
start_idserver msal --config "$WORK/config.json" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
BASE="https://127.0.0.1:$PORT"
curl -sf --cacert "$WORK/tls.crt" "$BASE/fabrikam.example/v2.0/.well-known/openid-configuration" >"$WORK/openid.json" ||
	fail "openid-configuration"
curl -sf --cacert "$WORK/tls.crt" \
	"$BASE/common/discovery/instance?api-version=1.1&authorization_endpoint=$BASE/fabrikam.example/oauth2/v2.0/authorize" \
	>"$WORK/instance.json" || fail "instance discovery"
fp() { openssl x509 -in "$1" -noout -fingerprint -"$2" | sed 's/.*=//; s/://g'; }

BASE="$BASE" TENANT=fabrikam.example APP="$APP" SECRET_FILE="$WORK/secret" KEY="$WORK/app.key" \
SHA1=$(fp "$WORK/app.crt" sha1) SHA256=$(fp "$WORK/app.crt" sha256) \
OTHER_SHA256=$(fp "$WORK/other.crt" sha256) OTHER_KEY="$WORK/other.key" \
OPENID_JSON="$WORK/openid.json" INSTANCE_JSON="$WORK/instance.json" \
DEVICE_APP=dev-msal DEVICE_USER=alice@fabrikam.example \
NODE_PATH="$NPM_DIR/node_modules" NODE_EXTRA_CA_CERTS="$WORK/tls.crt" \
	timeout 120 node "$OAUTH_TESTS/msal_check.cjs" >"$WORK/msal.out" 2>&1
rc=$?
cat "$WORK/msal.out"
[ $rc -eq 0 ] || fail "msal-node checks (exit $rc)"
[ "$(grep -c '^ok ' "$WORK/msal.out")" -eq 8 ] || fail "not every msal-node check ran"
# What msal-node asked for, from the server's log (never a secret in it).
grep -q "$SECRET" "$WORK/msal.log" "$WORK/msal.err" && fail "the secret is in the server's log"
# knownAuthorities: no instance discovery (the one request is this script's curl); authorityMetadata:
# no openid-configuration request (6 applications fetched it, plus this script's curl).
[ "$(grep -c '"endpoint": "instance"' "$WORK/msal.log")" -eq 1 ] || fail "msal-node asked for instance discovery"
[ "$(grep -c '"endpoint": "openid"' "$WORK/msal.log")" -eq 7 ] || fail "openid-configuration requests: $(grep -c '"endpoint": "openid"' "$WORK/msal.log"), 7 expected"
echo "requests: $(wc -l <"$WORK/msal.log"); endpoints: $(sed -n 's/.*"endpoint": "\([a-z]*\)".*/\1/p' "$WORK/msal.log" | sort | uniq -c | tr -s ' \n' ' ')"
echo "msal-node: 8 checks passed"
