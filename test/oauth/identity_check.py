"""Checks of tools/graphserver/identity.py in-process (run by t_identity.sh with /usr/bin/python3):
the configuration's errors, every refusal of the token endpoint in the identity platform's format,
the client assertion's checks one by one (each with an assertion made here to break exactly one
rule), check_bearer, the device code flow step by step, refresh tokens, the discovery documents,
faults, and concurrent requests. Exits 1 at the first failed check."""

import base64
import datetime
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "graphserver"))
import identity as I  # noqa: E402

TID = "0d4e9c1a-2b3c-4d5e-8f70-a1b2c3d4e5f6"
APP = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SECRET = "Check~secret.value_0123456789-abcdef"
HOST = "127.0.0.1:4443"
BASE = "https://" + HOST
H = {"host": HOST, "content-type": "application/x-www-form-urlencoded"}
checks = 0


def ok(cond, what):
    global checks
    if not cond:
        print("FAIL: %s" % what)
        sys.exit(1)
    checks += 1


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_cert(name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    return key, cert


def thumbs(cert):
    der = cert.public_bytes(serialization.Encoding.DER)
    import hashlib
    return hashlib.sha1(der).digest(), hashlib.sha256(der).digest()


def assertion(key, cert, alg="PS256", salt=32, **over):
    sha1, sha256 = thumbs(cert)
    now = int(time.time())
    header = {"alg": alg, "typ": "JWT"}
    if alg == "PS256":
        header["x5t#S256"] = b64u(sha256)
    else:
        header["x5t"] = b64u(sha1)
    header.update(over.pop("header", {}))
    claims = {"aud": BASE + "/contoso.example/oauth2/v2.0/token", "iss": APP, "sub": APP,
              "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600}
    claims.update(over)
    claims = {k: v for k, v in claims.items() if v is not None}
    data = ("%s.%s" % (b64u(json.dumps(header).encode()), b64u(json.dumps(claims).encode()))).encode()
    if alg == "PS256":
        sig = key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt), hashes.SHA256())
    elif alg == "RS256":
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        sig = b"x"
    return data.decode() + "." + b64u(sig)


def post(idn, path, form, headers=None):
    st, hdrs, body = idn.handle("POST", path, dict(H, **(headers or {})), urllib.parse.urlencode(form).encode())
    return st, hdrs, json.loads(body) if body and hdrs.get("Content-Type", "").startswith("application/json") else body


def get(idn, path, headers=None):
    st, hdrs, body = idn.handle("GET", path, dict(H, **(headers or {})), b"")
    return st, hdrs, json.loads(body) if hdrs.get("Content-Type", "").startswith("application/json") else body


def aadsts(answer, code, error=None, status=None):
    st, hdrs, body = answer
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    good = (isinstance(body, dict) and body.get("error_codes") == [code] and
            body.get("error_description", "").startswith("AADSTS%d: " % code) and
            (error is None or body.get("error") == error) and (status is None or st == status))
    return good, (st, body if isinstance(body, dict) else body[:200])


def expect(answer, code, error=None, status=None, what=""):
    good, got = aadsts(answer, code, error, status)
    ok(good, "%s: expected AADSTS%d %s %s, got %r" % (what, code, error or "", status or "", got))


def cc(idn, cred, tenant="contoso.example", client=APP, scope="https://graph.microsoft.com/.default", headers=None):
    form = {"client_id": client, "scope": scope, "grant_type": "client_credentials"}
    form.update(cred)
    return post(idn, "/%s/oauth2/v2.0/token" % tenant, form, headers)


def main():
    d = tempfile.mkdtemp()
    key, cert = make_cert("app")
    okey, ocert = make_cert("other")
    with open(os.path.join(d, "app.crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    cfg = {"tenants": [{"id": TID, "domains": ["contoso.example"],
                        "users": [{"name": "Alice", "mailbox": "alice@contoso.example"},
                                  {"name": "Bob", "mailbox": "bob@contoso.example", "decline": True}],
                        "apps": [
                            {"client_id": APP, "display_name": "check", "secrets": [{"value": SECRET}],
                             "certificates": ["app.crt"], "roles": ["Mail.Read"]},
                            {"client_id": "inline-cert", "secrets": [SECRET],
                             "certificates": [cert.public_bytes(serialization.Encoding.PEM).decode()],
                             "reject_replayed_jti": False},
                            {"client_id": "brief", "secrets": [SECRET], "expires_in": 1},
                            {"client_id": "pub", "public_client": True, "device_code": {"interval": 1, "expires_in": 30},
                             "refresh_token_expires_in": 2},
                            {"client_id": "pub-brief", "public_client": True,
                             "device_code": {"interval": 1, "expires_in": 2}},
                            {"client_id": "busy", "secrets": [SECRET], "fault": {"token": "http429", "count": 2}}]}]}
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    idn = I.Identity(path, scheme="https")

    # -- configuration errors
    def bad_config(doc, says):
        p = os.path.join(d, "bad.json")
        with open(p, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        try:
            I.Identity(p)
        except I.ConfigError as e:
            ok(says in str(e), "config error %r does not say %r" % (str(e), says))
            return
        ok(False, "config accepted: %r" % doc)
    bad_config("{", "not JSON")
    bad_config({"tenants": []}, "list of tenants")
    bad_config({"tenants": [{"id": "x"}]}, "needs an id (a GUID)")
    bad_config({"tenants": [{"id": TID, "apps": [{}]}]}, "needs a client_id")
    bad_config({"tenants": [{"id": TID, "apps": [{"client_id": "a", "certificates": ["nope.pem"]}]}]}, "nope.pem")
    bad_config({"tenants": [{"id": TID, "apps": [{"client_id": "a", "fault": {"token": "boom"}}]}]}, "fault.token")
    bad_config({"tenants": [{"id": TID, "apps": [{"client_id": "a", "expires_in": "1h"}]}]}, "expires_in")
    bad_config({"tenants": [{"id": TID, "apps": [{"client_id": "a", "secrets": [{"value": "x", "expires": "soon"}]}]}]},
               "bad time")
    try:
        I.Identity(os.path.join(d, "missing.json"))
        ok(False, "a missing config file was accepted")
    except I.ConfigError as e:
        ok("missing.json" in str(e), str(e))

    # -- not identity paths
    for p in ("/v1.0/me", "/", "/contoso.example/oauth2/v2.0/authorize", "/contoso.example/oauth2/token", "/x/y/z"):
        ok(idn.handle("GET", p, H, b"") is None, "handled %s" % p)

    # -- the error format
    st, hdrs, body = cc(idn, {"client_secret": "wrong"})
    ok(st == 401 and body["error"] == "invalid_client" and body["error_codes"] == [7000215], body)
    ok("\r\nTrace ID: " in body["error_description"] and "\r\nCorrelation ID: " in body["error_description"], body)
    ok(all(k in body for k in ("timestamp", "trace_id", "correlation_id", "error_uri")), body)
    ok(hdrs["Cache-Control"].startswith("no-store") and hdrs["Content-Type"].startswith("application/json"), hdrs)
    ok("wrong" not in json.dumps(body), "the secret given is echoed")

    # -- requests the token endpoint refuses
    tok = "/contoso.example/oauth2/v2.0/token"
    expect(get(idn, tok), 900561, "invalid_request", 400, "GET on the token endpoint")
    expect(idn.handle("POST", tok, {"host": HOST, "content-type": "application/json"}, b"{}"), 900144,
           what="JSON body")
    expect(post(idn, tok, {"client_id": APP}), 900144, "invalid_request", 400, "no grant_type")
    expect(post(idn, tok, {"grant_type": "password", "client_id": APP}), 70003, "unsupported_grant_type", 400)
    expect(post(idn, tok, {"grant_type": "client_credentials"}), 900144, what="no client_id")
    expect(idn.handle("POST", tok, H, b"client_id=a&client_id=b&grant_type=client_credentials"), 90023,
           what="a parameter twice")
    expect(cc(idn, {"client_secret": SECRET}, client="nope"), 700016, "unauthorized_client", 400)
    expect(cc(idn, {"client_secret": SECRET}, tenant="nosuch.example"), 90002, "invalid_request", 400)
    expect(cc(idn, {"client_secret": SECRET}, tenant="not_a_tenant"), 900023, "invalid_request", 400)
    expect(cc(idn, {"client_secret": SECRET}, tenant="organizations"), 50059, what="client credentials on organizations")
    expect(cc(idn, {}), 7000218, "invalid_client", 401, "no credential")
    expect(cc(idn, {"client_secret": SECRET, "client_assertion": "a.b.c",
                    "client_assertion_type": I.JWT_BEARER}), 90014, what="two credentials")
    expect(cc(idn, {"client_secret": SECRET}, scope="https://graph.microsoft.com/Mail.Read"), 1002012, "invalid_scope")
    expect(cc(idn, {"client_secret": SECRET}, scope="https://graph.microsoft.com/.default openid"), 1002012,
           "invalid_scope")
    expect(cc(idn, {"client_secret": SECRET}, scope="https://nosuch.example/.default"), 500011, "invalid_resource")
    st, _, body = cc(idn, {"client_secret": SECRET}, scope="00000003-0000-0000-c000-000000000000/.default")
    ok(st == 200, "Graph by its application id: %r" % body)
    st, _, body = cc(idn, {"client_secret": SECRET}, tenant=TID)
    ok(st == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3599, body)
    # client_secret_basic
    basic = base64.b64encode(("%s:%s" % (APP, urllib.parse.quote_plus(SECRET))).encode()).decode()
    st, _, body = post(idn, tok, {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
                       {"authorization": "Basic " + basic})
    ok(st == 200, "client_secret_basic: %r" % body)

    # -- client assertions, one broken rule at a time
    def with_assertion(a, client=APP):
        return cc(idn, {"client_assertion_type": I.JWT_BEARER, "client_assertion": a}, client=client)
    for alg in ("PS256", "RS256"):
        st, _, body = with_assertion(assertion(key, cert, alg))
        ok(st == 200, "%s assertion refused: %r" % (alg, body))
        ok(idn.check_bearer(body["access_token"])["auth"] == "certificate", "appidacr")
    once = assertion(key, cert)
    ok(with_assertion(once)[0] == 200, "first use")
    expect(with_assertion(once), 50027, "invalid_client", 401, "replayed jti")
    ok(with_assertion(once, client="inline-cert")[0] == 401, "iss is not inline-cert")
    again = assertion(key, cert, iss="inline-cert", sub="inline-cert")
    ok(with_assertion(again, client="inline-cert")[0] == 200 and with_assertion(again, client="inline-cert")[0] == 200,
       "replay allowed when reject_replayed_jti is false")
    for aud in (BASE + "/%s/oauth2/v2.0/token" % TID, BASE + "/contoso.example/oauth2/v2.0/token"):
        ok(with_assertion(assertion(key, cert, aud=aud))[0] == 200, "aud %s" % aud)
    now = int(time.time())
    cases = [
        (dict(aud="https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"), 50027, "other audience"),
        (dict(aud="http://" + HOST + "/contoso.example/oauth2/v2.0/token"), 50027, "http audience on https"),
        (dict(exp=now - 400), 700024, "expired"),
        (dict(exp=now + 7200), 700024, "expires too far ahead"),
        (dict(nbf=now + 900), 700024, "not yet valid"),
        (dict(iss="someone-else"), 700021, "iss is not the client"),
        (dict(sub="someone-else"), 50048, "sub is not iss"),
        (dict(jti=None), 50027, "no jti"),
        (dict(exp="soon"), 50027, "exp not a number"),
    ]
    for over, code, what in cases:
        expect(with_assertion(assertion(key, cert, **over)), code, "invalid_client", 401, what)
    expect(with_assertion(assertion(okey, ocert)), 700027, "invalid_client", 401, "unregistered certificate")
    ok(thumbs(ocert)[1].hex().upper() in with_assertion(assertion(okey, ocert))[2]["error_description"],
       "the unknown thumbprint is named")
    forged = assertion(okey, ocert, header={"x5t#S256": b64u(thumbs(cert)[1])})
    expect(with_assertion(forged), 700027, what="signed by another key")
    ok("signature validation" in with_assertion(assertion(okey, ocert, header={"x5t#S256": b64u(thumbs(cert)[1])}))[2]
       ["error_description"], "signature failure named")
    expect(with_assertion(assertion(key, cert, salt=padding.PSS.MAX_LENGTH)), 700027, what="PSS salt not 32 bytes")
    a = assertion(key, cert)
    expect(with_assertion(a[:-4] + ("AAAA" if not a.endswith("AAAA") else "BBBB")), 700027, what="tampered signature")
    expect(with_assertion(assertion(key, cert, alg="none")), 50027, what="alg none")
    expect(with_assertion(assertion(key, cert, alg="HS256")), 50027, what="alg HS256")
    expect(with_assertion("a.b"), 50027, what="two parts")
    expect(with_assertion("@@@.@@@.@@@"), 50027, what="not base64url")
    expect(with_assertion(assertion(key, cert, header={"x5t#S256": "!!"})), 50027, what="bad thumbprint text")
    expect(cc(idn, {"client_assertion": assertion(key, cert), "client_assertion_type": "jwt"}), 90014,
           what="wrong assertion type")

    # -- check_bearer
    st, _, body = cc(idn, {"client_secret": SECRET})
    t = body["access_token"]
    who = idn.check_bearer(t)
    ok(who["app"] == APP and who["tenant"] == TID and who["roles"] == ["Mail.Read"] and who["user"] is None
       and who["scopes"] == [] and who["expires"] > time.time() and who["audience"] == I.GRAPH, who)

    def refused(token, kind):
        try:
            idn.check_bearer(token)
        except I.TokenError as e:
            ok(e.kind == kind, "kind %s, not %s: %s" % (e.kind, kind, e.message))
            return
        ok(False, "check_bearer accepted %r" % token[:40])
    h, p, s = t.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["roles"] = ["Mail.ReadWrite"]
    refused("%s.%s.%s" % (h, b64u(json.dumps(claims).encode()), s), "invalid_token")
    refused("garbage", "invalid_token")
    refused("a.b.c", "invalid_token")
    other = I.Identity(path)
    refused(cc(other, {"client_secret": SECRET})[2]["access_token"], "invalid_token")
    brief = cc(idn, {"client_secret": SECRET}, client="brief")[2]["access_token"]
    ok(idn.check_bearer(brief)["app"] == "brief", "brief token")
    time.sleep(1.1)
    refused(brief, "expired")
    st, _, body = post(idn, "/_identity/revoke", {"app": APP})
    ok(st == 200, body)
    time.sleep(1.05)
    refused(t, "invalid_token")
    ok(idn.check_bearer(cc(idn, {"client_secret": SECRET})[2]["access_token"])["app"] == APP, "new token after revoke")
    st, _, body = get(idn, "/_identity/check", {"authorization": "Bearer garbage"})
    ok(st == 401 and body["kind"] == "invalid_token", body)

    # -- device code flow
    dev = "/contoso.example/oauth2/v2.0/devicecode"
    expect(post(idn, dev, {"client_id": "nope", "scope": "Mail.Read"}), 700016, "unauthorized_client")
    expect(post(idn, dev, {"client_id": "pub"}), 900144, what="no scope")
    st, _, code = post(idn, dev, {"client_id": "pub", "scope": "Mail.Read openid offline_access"})
    ok(st == 200 and len(code["user_code"]) == 9 and code["interval"] == 1 and code["expires_in"] == 30, code)
    ok(code["verification_uri"] == BASE + "/_identity/devicelogin", code)
    ok(code["user_code"] in code["message"] and code["verification_uri"] in code["message"], code)
    poll = {"grant_type": I.DEVICE_GRANT, "client_id": "pub", "device_code": code["device_code"]}
    expect(post(idn, tok, poll), 70016, "authorization_pending", 400, "first poll (immediately)")
    expect(post(idn, tok, poll), 70016, "slow_down", 400, "a poll too soon")
    ok(idn.stats["device"]["too_fast"] == 1, idn.stats["device"])
    st, hdrs, page = get(idn, "/_identity/devicelogin")
    ok(st == 200 and b"user_code" in page, "the sign-in page")
    st, _, _ = post(idn, "/_identity/devicelogin", {"user_code": "BADCODE00"})
    ok(st == 400, "unknown user code")
    st, _, _ = post(idn, "/_identity/devicelogin", {"user_code": code["user_code"], "user": "alice@contoso.example"})
    ok(st == 200, "approved")
    time.sleep(6.1)  # slow_down added 5 s to the interval
    st, _, got = post(idn, tok, dict(poll, grant_type="device_code"))  # msal's spelling
    ok(st == 200 and got["refresh_token"] and got["id_token"] and "Mail.Read" in got["scope"].split(), got)
    who = idn.check_bearer(got["access_token"])
    ok(who["user"] == "alice@contoso.example" and who["scopes"] == ["Mail.Read"] and who["roles"] == [], who)
    # -- refresh tokens
    rt = got["refresh_token"]
    ref = {"grant_type": "refresh_token", "client_id": "pub", "refresh_token": rt}
    st, _, again = post(idn, tok, ref)
    ok(st == 200 and again["access_token"] != got["access_token"] and again["refresh_token"], again)
    ok(idn.check_bearer(again["access_token"])["user"] == "alice@contoso.example", "refreshed token's user")
    expect(post(idn, tok, dict(ref, refresh_token="nope")), 9002313, "invalid_grant")
    expect(post(idn, tok, dict(ref, client_id="pub-brief")), 9002313, "invalid_grant", what="another app's refresh token")
    time.sleep(2.1)
    expect(post(idn, tok, ref), 70008, "invalid_grant", what="expired refresh token")

    expect(post(idn, tok, poll), 54005, "invalid_grant", what="redeemed twice")
    expect(post(idn, tok, dict(poll, device_code="nope")), 70018, "bad_verification_code")
    expect(post(idn, tok, dict(poll, client_id="pub-brief")), 70018, "bad_verification_code", what="another app's code")
    # 'organizations': the application's own tenant signs in
    st, _, code4 = post(idn, "/organizations/oauth2/v2.0/devicecode", {"client_id": "pub", "scope": "Mail.Read"})
    ok(st == 200, code4)
    post(idn, "/_identity/devicelogin", {"user_code": code4["user_code"], "user": "alice"})
    st, _, got4 = post(idn, "/organizations/oauth2/v2.0/token", dict(poll, device_code=code4["device_code"]))
    ok(st == 200 and idn.check_bearer(got4["access_token"])["tenant"] == TID and "refresh_token" not in got4, got4)
    # declined at the page, and by a user who always declines
    st, _, code2 = post(idn, dev, {"client_id": "pub", "scope": "Mail.Read"})
    post(idn, "/_identity/devicelogin", {"user_code": code2["user_code"], "user": "alice", "action": "decline"})
    expect(post(idn, tok, dict(poll, device_code=code2["device_code"])), 65004, "authorization_declined")
    # expiry (2 s)
    st, _, code3 = post(idn, dev, {"client_id": "pub-brief", "scope": "Mail.Read"})
    time.sleep(2.1)
    expect(post(idn, tok, dict(poll, client_id="pub-brief", device_code=code3["device_code"])), 70019, "expired_token")
    st, _, _ = post(idn, "/_identity/devicelogin", {"user_code": code3["user_code"], "user": "alice"})
    ok(st == 400, "an expired code cannot be approved")
    # confidential app without a credential
    expect(post(idn, tok, dict(poll, client_id=APP, device_code="x")), 7000218, "invalid_client", 401)

    # -- discovery
    st, _, oc = get(idn, "/contoso.example/v2.0/.well-known/openid-configuration")
    ok(st == 200 and oc["token_endpoint"] == BASE + "/contoso.example/oauth2/v2.0/token", oc)
    ok(oc["issuer"] == BASE + "/%s/v2.0" % TID and oc["device_authorization_endpoint"].endswith("/devicecode"), oc)
    ok(all(k in oc for k in ("authorization_endpoint", "jwks_uri", "end_session_endpoint")), oc)
    st, _, oc = get(idn, "/organizations/v2.0/.well-known/openid-configuration")
    ok(st == 200 and oc["issuer"] == BASE + "/{tenantid}/v2.0", oc)
    expect(get(idn, "/nosuch.example/v2.0/.well-known/openid-configuration"), 90002, "invalid_tenant", 400)
    st, _, keys = get(idn, "/contoso.example/discovery/v2.0/keys")
    ok(st == 200 and keys == {"keys": []}, keys)
    q = urllib.parse.urlencode({"api-version": "1.1",
                                "authorization_endpoint": BASE + "/contoso.example/oauth2/v2.0/authorize"})
    st, _, inst = get(idn, "/common/discovery/instance?" + q)
    ok(st == 200 and inst["metadata"][0]["aliases"] == [HOST] and
       inst["tenant_discovery_endpoint"] == BASE + "/contoso.example/v2.0/.well-known/openid-configuration", inst)
    q = urllib.parse.urlencode({"authorization_endpoint": "https://elsewhere.example/x/oauth2/v2.0/authorize"})
    st, _, inst = get(idn, "/common/discovery/instance?" + q)
    ok(st == 400 and inst["error"] == "invalid_instance", inst)

    # -- faults: 429 twice, then served
    for i in range(2):
        st, hdrs, body = cc(idn, {"client_secret": SECRET}, client="busy")
        ok(st == 429 and hdrs.get("Retry-After") == "1" and body["error"] == "temporarily_unavailable", (st, body))
    ok(cc(idn, {"client_secret": SECRET}, client="busy")[0] == 200, "after the faults")

    # -- concurrent requests
    before = idn.stats["tokens_issued"]
    tokens, lock = [], threading.Lock()

    def one():
        st, _, body = cc(idn, {"client_secret": SECRET})
        with lock:
            tokens.append(body.get("access_token") if st == 200 else None)
    ts = [threading.Thread(target=one) for _ in range(20)]
    for t_ in ts:
        t_.start()
    for t_ in ts:
        t_.join()
    ok(None not in tokens and len(set(tokens)) == 20 and idn.stats["tokens_issued"] == before + 20, "concurrency")
    print("identity.py: %d checks passed" % checks)


if __name__ == "__main__":
    main()
