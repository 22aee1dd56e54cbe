"""The Microsoft identity platform's token endpoint, for ostrecon's tests: client credentials (client
secret or certificate assertion), the device code flow, refresh tokens, discovery documents, and
error answers in the identity platform's format with its AADSTS codes. The test Graph server
(graphserver.py) routes to it; identityserver.py serves it alone. Configuration and behaviour:
docs/GRAPH_SERVER.md, "Identity platform endpoint".

Interface (fixed; the Graph server relies on it):
    Identity(config_path)                            loads the configuration (ConfigError)
    Identity.handle(method, path, headers, body)     -> (status, headers, body) or None
    Identity.check_bearer(token)                     -> dict, or raises TokenError(kind, message)

Nothing here logs or echoes a secret, an assertion, a device code or a token."""

import base64
import binascii
import datetime
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
import uuid

try:  # Debian's python3-cryptography: verifies the assertions' RSA signatures
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # pragma: no cover - reported when a certificate is configured
    x509 = None

GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
ALIASES = ("common", "organizations", "consumers")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MAX_BODY = 1 << 20
CLOCK_SKEW = 300           # seconds of clock difference tolerated on assertions
HANG_SECONDS = 30          # how long a "hang" fault holds the request
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))+$")
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
FAULTS = ("garbage", "html", "huge", "hang", "http500", "http503", "http429", "empty")

ROUTES = [
    ("token", re.compile(r"^/([^/?#]+)/oauth2/v2\.0/token$")),
    ("devicecode", re.compile(r"^/([^/?#]+)/oauth2/v2\.0/devicecode$")),
    ("openid", re.compile(r"^/([^/?#]+)/v2\.0/\.well-known/openid-configuration$")),
    ("keys", re.compile(r"^/([^/?#]+)/discovery/v2\.0/keys$")),
    ("instance", re.compile(r"^/(common)/discovery/instance$")),
    ("control", re.compile(r"^/_identity/(stats|check|devicelogin|revoke)$")),
]


class ConfigError(Exception):
    pass


class TokenError(Exception):
    """A bearer token that check_bearer refuses: kind is 'invalid_token' or 'expired'."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Refusal(Exception):
    """An error answer in the identity platform's format."""

    def __init__(self, status, error, code, text, headers=None):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text
        self.headers = headers or {}


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_time(v, where):
    """Epoch seconds from a number or an ISO 8601 UTC time; None stays None."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError("%s: bad time %r (ISO 8601, e.g. 2030-01-01T00:00:00Z)" % (where, v)) from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return t.timestamp()
    raise ConfigError("%s: bad time %r" % (where, v))


def _int(v, where, lo, hi, default):
    if v is None:
        return default
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ConfigError("%s must be an integer from %d to %d" % (where, lo, hi))
    return v


class _Cert:
    def __init__(self, pem, where):
        if x509 is None:
            raise ConfigError("%s: certificates need python3-cryptography (apt-get install python3-cryptography)" % where)
        try:
            self.cert = x509.load_pem_x509_certificate(pem)
        except ValueError as e:
            raise ConfigError("%s: not a PEM certificate (%s)" % (where, e)) from None
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.sha1 = hashlib.sha1(der).digest()
        self.sha256 = hashlib.sha256(der).digest()
        self.key = self.cert.public_key()
        if not isinstance(self.key, rsa.RSAPublicKey):
            raise ConfigError("%s: the certificate's key is not RSA" % where)


class _App:
    def __init__(self, d, tenant, base_dir, where):
        if not isinstance(d, dict) or not isinstance(d.get("client_id"), str) or not d["client_id"]:
            raise ConfigError("%s: every app needs a client_id" % where)
        self.tenant = tenant
        self.client_id = d["client_id"]
        where = "%s (app %s)" % (where, self.client_id)
        self.name = str(d.get("display_name") or d.get("name") or "app " + self.client_id)
        self.secrets = []
        for s in d.get("secrets") or []:
            if isinstance(s, str):
                s = {"value": s}
            if not isinstance(s, dict) or not isinstance(s.get("value"), str) or not s["value"]:
                raise ConfigError("%s: a secret needs a value" % where)
            self.secrets.append((s["value"].encode("utf-8"), _parse_time(s.get("expires"), where)))
        self.certs = []
        for c in d.get("certificates") or []:
            if not isinstance(c, str):
                raise ConfigError("%s: a certificate is a PEM file path or PEM text" % where)
            if "-----BEGIN" in c:
                pem = c.encode("ascii", "replace")
            else:
                path = c if os.path.isabs(c) else os.path.join(base_dir, c)
                try:
                    with open(path, "rb") as f:
                        pem = f.read()
                except OSError as e:
                    raise ConfigError("%s: certificate %s: %s" % (where, path, e.strerror)) from None
            self.certs.append(_Cert(pem, where))
        self.roles = [str(r) for r in d.get("roles") or []]
        self.admin_consent = bool(d.get("admin_consent", True))
        self.public_client = bool(d.get("public_client", False))
        ds = d.get("delegated_scopes")
        self.delegated = None if ds is None else {str(s).lower(): str(s) for s in ds}
        self.expires_in = _int(d.get("expires_in"), where + " expires_in", 1, 86400 * 7, 3599)
        self.refresh_expires_in = _int(d.get("refresh_token_expires_in"), where + " refresh_token_expires_in",
                                       1, 86400 * 365, 86400 * 90)
        dc = d.get("device_code") or {}
        if not isinstance(dc, dict):
            raise ConfigError("%s: device_code is an object" % where)
        self.code_expires_in = _int(dc.get("expires_in"), where + " device_code.expires_in", 1, 3600, 900)
        self.code_interval = _int(dc.get("interval"), where + " device_code.interval", 1, 60, 5)
        self.device_user = d.get("device_code_user")
        self.max_assertion_lifetime = _int(d.get("max_assertion_lifetime"), where + " max_assertion_lifetime",
                                           60, 86400, 3600)
        self.reject_replayed_jti = bool(d.get("reject_replayed_jti", True))
        f = d.get("fault") or {}
        if not isinstance(f, dict) or (f.get("token") is not None and f.get("token") not in FAULTS):
            raise ConfigError("%s: fault.token is one of %s" % (where, ", ".join(FAULTS)))
        self.fault = f.get("token")
        self.fault_count = _int(f.get("count"), where + " fault.count", 0, 1 << 30, 0)
        self.latency_ms = _int(f.get("latency_ms"), where + " fault.latency_ms", 0, 60000, 0)
        self.not_before = 0.0  # tokens issued before this time are revoked (/_identity/revoke)


class _Tenant:
    def __init__(self, d, base_dir, where):
        if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not GUID_RE.match(d["id"]):
            raise ConfigError("%s: every tenant needs an id (a GUID)" % where)
        self.id = d["id"].lower()
        where = "%s (tenant %s)" % (where, self.id)
        self.domains = [str(x).lower() for x in d.get("domains") or []]
        self.name = self.domains[0] if self.domains else self.id
        self.users = []
        for u in d.get("users") or []:
            if not isinstance(u, dict) or not u.get("mailbox"):
                raise ConfigError("%s: every user needs a mailbox" % where)
            u = dict(u)
            u.setdefault("name", u["mailbox"].split("@")[0])
            _int(u.get("auto_approve_after_polls"), where + " auto_approve_after_polls", 0, 1000, 0)
            self.users.append(u)
        self.apps = {}
        for a in d.get("apps") or []:
            app = _App(a, self, base_dir, where)
            if app.client_id.lower() in self.apps:
                raise ConfigError("%s: app %s twice" % (where, app.client_id))
            self.apps[app.client_id.lower()] = app

    def user(self, who):
        for u in self.users:
            if who and (u["mailbox"].lower() == str(who).lower() or u["name"].lower() == str(who).lower()):
                return u
        return None


class Identity:
    """The identity platform's endpoints over one configuration. Thread-safe."""

    def __init__(self, config_path, scheme=None):
        try:
            with open(config_path, "r", encoding="utf-8") as f:
                doc = json.load(f)
        except OSError as e:
            raise ConfigError("%s: %s" % (config_path, e.strerror)) from None
        except ValueError as e:
            raise ConfigError("%s: not JSON: %s" % (config_path, e)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("tenants"), list) or not doc["tenants"]:
            raise ConfigError("%s: a JSON object with a list of tenants is expected" % config_path)
        base_dir = os.path.dirname(os.path.abspath(config_path))
        self.tenants = []
        for i, t in enumerate(doc["tenants"]):
            self.tenants.append(_Tenant(t, base_dir, "%s: tenants[%d]" % (config_path, i)))
        self.resources = [GRAPH] + [str(r).rstrip("/") for r in doc.get("resources") or []]
        #: "http" or "https" as the server serves; None: URLs are made with https and assertion
        #: audiences are accepted with either scheme.
        self.scheme = scheme
        #: called with one dict per handled request (endpoint, status, error code, ids; no secret)
        self.on_event = None
        self.key = secrets.token_bytes(32)  # signs the tokens of this process
        self.lock = threading.Lock()
        self.jtis = {}        # jti -> expiry
        self.codes = {}       # device_code -> record
        self.user_codes = {}  # user_code -> device_code
        self.refresh = {}     # refresh token -> record
        self.fault_seen = {}  # client_id -> faulted requests so far
        self.stats = {"requests": 0, "tokens_issued": 0, "by_grant": {}, "by_app": {}, "errors": {},
                      "device": {"codes": 0, "polls": 0, "pending": 0, "slow_down": 0, "too_fast": 0,
                                 "approved": 0, "declined": 0, "expired": 0}}

    # -- lookups ------------------------------------------------------------------------------

    def _tenant(self, name):
        n = name.lower()
        for t in self.tenants:
            if n == t.id or n in t.domains:
                return t
        return None

    def _app_anywhere(self, client_id):
        for t in self.tenants:
            a = t.apps.get(client_id.lower())
            if a is not None:
                return a
        return None

    def _resolve_tenant(self, name):
        """The tenant for a path segment; raises the identity platform's refusal."""
        if name.lower() in ALIASES:
            return None
        t = self._tenant(name)
        if t is not None:
            return t
        if not GUID_RE.match(name) and not DOMAIN_RE.match(name):
            raise _Refusal(400, "invalid_request", 900023,
                           "Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external "
                           "domain." % name[:100])
        raise _Refusal(400, "invalid_request", 90002,
                       "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing "
                       "into the correct cloud. Check with your subscription administrator, this may happen if there "
                       "are no active subscriptions for the tenant." % name[:100])

    def _base(self, headers):
        host = (headers.get("host") or "127.0.0.1").strip()
        return "%s://%s" % (self.scheme or "https", host)

    # -- answers ------------------------------------------------------------------------------

    def _json(self, status, obj, extra=None):
        h = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store, no-cache",
             "Pragma": "no-cache", "x-ms-request-id": str(uuid.uuid4())}
        h.update(extra or {})
        return status, h, json.dumps(obj).encode("utf-8")

    def _error(self, r, base):
        now = datetime.datetime.now(datetime.timezone.utc)
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        body = {"error": r.error,
                "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
                    r.code, r.text, trace, corr, stamp),
                "error_codes": [r.code], "timestamp": stamp, "trace_id": trace, "correlation_id": corr,
                "error_uri": "%s/error?code=%d" % (base, r.code)}
        with self.lock:
            key = "AADSTS%d" % r.code
            self.stats["errors"][key] = self.stats["errors"].get(key, 0) + 1
        return self._json(r.status, body, r.headers)

    def _event(self, ev):
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception:  # a logger's failure must not fail the request
                pass

    # -- the interface --------------------------------------------------------------------------

    def handle(self, method, path, headers, body):
        """Answers an identity platform request as (status, headers, body), or None when `path` is not
        one. `headers` has lower-case names (a dict, or an http.client.HTTPMessage)."""
        route, _, query = path.partition("?")
        for name, rx in ROUTES:
            m = rx.match(route)
            if m:
                break
        else:
            return None
        seg = urllib.parse.unquote(m.group(1))
        base = self._base(headers)
        ev = {"endpoint": name, "tenant": seg[:100] if name != "control" else None}
        with self.lock:
            self.stats["requests"] += 1
        try:
            if name == "control":
                out = self._control(seg, method, query, headers, body or b"", base)
            elif name in ("token", "devicecode"):
                if method != "POST":
                    raise _Refusal(400, "invalid_request", 900561,
                                   "The endpoint only accepts POST, OPTIONS requests. Received a %s request." %
                                   method[:10])
                form = self._form(headers, body or b"")
                ev["client_id"] = (form.get("client_id") or "")[:100] or None
                ev["grant_type"] = (form.get("grant_type") or "")[:100] or None
                if name == "token":
                    out = self._token(seg, form, headers, base, route)
                else:
                    out = self._devicecode(seg, form, base)
            elif method not in ("GET", "HEAD"):
                out = self._json(405, {"error": "invalid_request", "error_description": "GET only"},
                                 {"Allow": "GET"})
            elif name == "openid":
                out = self._openid(seg, base)
            elif name == "keys":
                self._resolve_tenant(seg)
                out = self._json(200, {"keys": []})
            else:
                out = self._instance(query, base)
        except _Refusal as r:
            ev["error"] = "AADSTS%d" % r.code
            out = self._error(r, base)
        ev["status"] = out[0]
        self._event(ev)
        return out

    def check_bearer(self, token):
        """What a token issued here grants: {app, tenant, roles, scopes, user, expires, audience, app_name,
        auth}. Raises TokenError('expired' | 'invalid_token', message)."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise TokenError("invalid_token", "the token is not a JWT issued by this server")
        h, p, s = token.split(".")
        try:
            sig = _b64url_decode(s)
            header = json.loads(_b64url_decode(h))
            claims = json.loads(_b64url_decode(p))
        except (ValueError, binascii.Error):
            raise TokenError("invalid_token", "the token is malformed") from None
        want = hmac.new(self.key, ("%s.%s" % (h, p)).encode("ascii"), hashlib.sha256).digest()
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(sig, want):
            raise TokenError("invalid_token", "the token's signature does not verify (issued by another server?)")
        if not isinstance(claims, dict):
            raise TokenError("invalid_token", "the token is malformed")
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= now:
            raise TokenError("expired", "the token expired at %s" % (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp)) if isinstance(exp, int) else "?"))
        tenant = self._tenant(str(claims.get("tid") or ""))
        app = tenant.apps.get(str(claims.get("appid") or "").lower()) if tenant else None
        if app is None:
            raise TokenError("invalid_token", "the token's application or tenant is no longer known")
        if claims.get("iat", 0) < app.not_before:
            raise TokenError("invalid_token", "the token was revoked")
        scp = claims.get("scp")
        return {"app": app.client_id, "tenant": tenant.id, "roles": list(claims.get("roles") or []),
                "scopes": scp.split() if isinstance(scp, str) else [],
                "user": claims.get("upn") if claims.get("idtyp") == "user" else None,
                "expires": exp, "audience": claims.get("aud"), "app_name": app.name,
                "auth": {"0": "user", "1": "secret", "2": "certificate"}.get(str(claims.get("appidacr")), "?")}

    # -- requests ---------------------------------------------------------------------------------

    def _form(self, headers, body):
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise _Refusal(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.")
        if len(body) > MAX_BODY:
            raise _Refusal(400, "invalid_request", 90015, "The request is too long.")
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise _Refusal(400, "invalid_request", 90023, "The request body is not valid form data.") from None
        form = {}
        for k, v in pairs:
            if k in form:
                raise _Refusal(400, "invalid_request", 90023, "The parameter '%s' is given twice." % k[:50])
            form[k] = v
        return form

    @staticmethod
    def _need(form, *names):
        for n in names:
            if not form.get(n):
                raise _Refusal(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: '%s'." % n)

    def _app(self, tenant, seg, client_id):
        app = tenant.apps.get(client_id.lower()) if tenant else self._app_anywhere(client_id)
        if app is None:
            raise _Refusal(400, "unauthorized_client", 700016,
                           "Application with identifier '%s' was not found in the directory '%s'. This can happen if "
                           "the application has not been installed by the administrator of the tenant or consented to "
                           "by any user in the tenant. You may have sent your authentication request to the wrong "
                           "tenant." % (client_id[:100], tenant.name if tenant else seg[:100]))
        return app

    def _count(self, app, grant):
        with self.lock:
            self.stats["by_grant"][grant] = self.stats["by_grant"].get(grant, 0) + 1
            per = self.stats["by_app"].setdefault(app.client_id, {})
            per[grant] = per.get(grant, 0) + 1

    def _fault(self, app):
        """The test faults configured for an app's token requests: an answer, or None."""
        if app.latency_ms:
            time.sleep(app.latency_ms / 1000.0)
        if not app.fault:
            return None
        with self.lock:
            n = self.fault_seen.get(app.client_id, 0) + 1
            self.fault_seen[app.client_id] = n
        if app.fault_count and n > app.fault_count:
            return None
        f = app.fault
        if f == "garbage":
            return 200, {"Content-Type": "application/json"}, b"\x00\x9f{garbage]]" + os.urandom(64)
        if f == "empty":
            return 200, {"Content-Type": "application/json"}, b""
        if f == "html":
            return 200, {"Content-Type": "text/html; charset=utf-8"}, (
                b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head><body><form method='post'>"
                b"<p>Accept the terms of use to continue.</p></form></body></html>")
        if f == "huge":
            return 200, {"Content-Type": "application/json"}, b'{"access_token":"' + b"A" * (8 << 20) + b'"}'
        if f == "hang":
            time.sleep(HANG_SECONDS)
            return 504, {"Content-Type": "text/plain"}, b"gateway timeout"
        if f == "http500":
            return 500, {"Content-Type": "text/html"}, b"<html><body>Internal Server Error</body></html>"
        if f in ("http503", "http429"):
            status = 503 if f == "http503" else 429
            return self._error(_Refusal(status, "temporarily_unavailable", 90033 if status == 503 else 50196,
                                        "The service is temporarily unavailable." if status == 503 else
                                        "The server is busy: too many requests.", {"Retry-After": "1"}),
                               "")
        return None

    def _resource_scopes(self, scope, app_only):
        """Splits a scope parameter: (resource, [permission names], oidc scopes). Raises refusals."""
        items = scope.split()
        oidc = [s for s in items if s.lower() in OIDC_SCOPES]
        rest = [s for s in items if s.lower() not in OIDC_SCOPES]
        if app_only:
            if len(items) != 1 or not items[0].endswith("/.default"):
                raise _Refusal(400, "invalid_scope", 1002012,
                               "The provided value for scope %s is not valid. Client credential flows must have a "
                               "scope value with /.default suffixed to the resource identifier (application ID URI)."
                               % scope[:200])
        resources, perms = set(), []
        for s in rest:
            if s.startswith("https://") or s.startswith("http://") or GUID_RE.match(s.split("/")[0]):
                res, _, perm = s.rpartition("/")
            else:
                res, perm = GRAPH, s  # a bare permission name is Microsoft Graph's
            res = GRAPH if res.lower() in (GRAPH_APP_ID, GRAPH + "/") else res.rstrip("/")
            resources.add(res.lower())
            perms.append(perm)
            if res.lower() not in [r.lower() for r in self.resources]:
                raise _Refusal(400, "invalid_resource", 500011,
                               "The resource principal named %s was not found in the tenant. This can happen if the "
                               "application has not been installed by the administrator of the tenant or consented "
                               "to by any user in the tenant." % res[:200])
        if len(resources) > 1:
            raise _Refusal(400, "invalid_scope", 700022,
                           "The provided value for the input parameter scope is not valid because it contains more "
                           "than one resource.")
        if not rest and app_only:
            raise _Refusal(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is "
                                                        "not valid.")
        return (GRAPH if not resources else next(iter(resources))), perms, oidc

    # -- token endpoint ---------------------------------------------------------------------------

    def _token(self, seg, form, headers, base, route):
        tenant = self._resolve_tenant(seg)
        basic = (headers.get("authorization") or "").split(" ", 1)
        if len(basic) == 2 and basic[0].lower() == "basic":
            try:  # client_secret_basic: client_id:client_secret, each form-encoded
                cid, _, sec = base64.b64decode(basic[1].strip(), validate=True).decode("utf-8").partition(":")
                form.setdefault("client_id", urllib.parse.unquote_plus(cid))
                form.setdefault("client_secret", urllib.parse.unquote_plus(sec))
            except (ValueError, UnicodeDecodeError):
                raise _Refusal(401, "invalid_client", 7000215, "Invalid client secret provided.") from None
        self._need(form, "grant_type")
        grant = form["grant_type"]
        if grant == "device_code":  # msal's spelling of the device code grant; the identity platform takes both
            grant = DEVICE_GRANT
        if grant not in ("client_credentials", DEVICE_GRANT, "refresh_token"):
            raise _Refusal(400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type '%s'." % grant[:100])
        self._need(form, "client_id")
        app = self._app(tenant, seg, form["client_id"])
        self._count(app, grant)
        faulted = self._fault(app)
        if faulted is not None:
            return faulted
        if grant == "client_credentials":
            return self._client_credentials(tenant, seg, app, form, base, route)
        if grant == DEVICE_GRANT:
            return self._device_poll(app, form)
        return self._refresh(app, form)

    def _client_credentials(self, tenant, seg, app, form, base, route):
        if tenant is None:
            raise _Refusal(400, "invalid_request", 50059,
                           "No tenant-identifying information found in either the request or implied by any provided "
                           "credentials.")
        self._need(form, "scope")
        resource, _, _ = self._resource_scopes(form["scope"], True)
        secret, assertion = form.get("client_secret"), form.get("client_assertion")
        if secret and assertion:
            raise _Refusal(400, "invalid_request", 90014,
                           "Both client_secret and client_assertion were given: send one credential.")
        if secret:
            self._check_secret(app, secret)
            acr = "1"
        elif assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise _Refusal(400, "invalid_request", 90014,
                               "The client_assertion_type must be '%s'." % JWT_BEARER)
            self._check_assertion(app, seg, assertion, base, route)
            acr = "2"
        else:
            raise _Refusal(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        roles = list(app.roles) if app.admin_consent else []
        token, exp = self._issue(app, resource, roles=roles, acr=acr)
        return self._json(200, {"token_type": "Bearer", "expires_in": app.expires_in,
                                "ext_expires_in": app.expires_in, "access_token": token})

    def _check_secret(self, app, secret):
        given = secret.encode("utf-8")
        now = time.time()
        for value, expires in app.secrets:
            if hmac.compare_digest(value, given):
                if expires is not None and expires <= now:
                    raise _Refusal(401, "invalid_client", 7000222,
                                   "The provided client secret keys for app '%s' are expired. Visit the Azure portal "
                                   "to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
                                   "using certificate credentials for added security: https://aka.ms/certCreds."
                                   % app.client_id)
                return
        raise _Refusal(401, "invalid_client", 7000215,
                       "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                       "secret value, not the client secret ID, for a secret added to app '%s'." % app.client_id)

    def _audiences(self, app, seg, base, route):
        """The token endpoint URLs an assertion's aud may name."""
        hostpart = base.split("://", 1)[1]
        schemes = [self.scheme] if self.scheme else ["https", "http"]
        names = {seg, app.tenant.id} | set(app.tenant.domains)
        return {"%s://%s/%s/oauth2/v2.0/token" % (s, hostpart, n) for s in schemes for n in names} | \
               {"%s://%s%s" % (s, hostpart, route) for s in schemes}

    def _check_assertion(self, app, seg, assertion, base, route):
        bad = lambda why: _Refusal(401, "invalid_client", 50027, "Invalid JWT token. %s" % why)  # noqa: E731
        parts = assertion.split(".")
        if len(parts) != 3:
            raise bad("The token is malformed.")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise bad("The token is malformed.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise bad("The token is malformed.")
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise bad("Unsupported signing algorithm '%s'." % str(alg)[:20])
        cert, used = None, None
        try:
            if "x5t#S256" in header:
                used = _b64url_decode(str(header["x5t#S256"]))
                cert = next((c for c in app.certs if c.sha256 == used), None)
            elif "x5t" in header:
                used = _b64url_decode(str(header["x5t"]))
                cert = next((c for c in app.certs if c.sha1 == used), None)
        except (ValueError, binascii.Error):
            raise bad("The certificate thumbprint in the header is malformed.") from None
        if cert is None:
            raise _Refusal(401, "invalid_client", 700027,
                           "The certificate with identifier used to sign the client assertion is not registered on "
                           "application. [Reason - The key was not found., Thumbprint of key used by client: '%s', "
                           "Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured "
                           "keys for app Id '%s'.]" % ((used or b"").hex().upper(), app.client_id))
        data = ("%s.%s" % (parts[0], parts[1])).encode("ascii")
        try:
            if alg == "RS256":
                cert.key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                cert.key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                hashes.SHA256())
        except InvalidSignature:
            raise _Refusal(401, "invalid_client", 700027, "Client assertion failed signature validation.") from None
        if claims.get("iss") != app.client_id:
            raise _Refusal(401, "invalid_client", 700021,
                           "Client assertion application identifier doesn't match 'client_id' parameter.")
        if claims.get("sub") != claims.get("iss"):
            raise _Refusal(401, "invalid_client", 50048, "Subject mismatches Issuer claim in the client assertion.")
        if claims.get("aud") not in self._audiences(app, seg, base, route):
            raise bad("The audience '%s' is not this token endpoint." % str(claims.get("aud"))[:200])
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int) or (nbf is not None and not isinstance(nbf, int)):
            raise bad("The exp and nbf claims must be numbers.")
        if exp <= now - CLOCK_SKEW or (nbf is not None and nbf > now + CLOCK_SKEW):
            raise _Refusal(401, "invalid_client", 700024,
                           "Client assertion is not within its valid time range. Current time: %s, assertion valid "
                           "from %s, expiry time of assertion %s." % (
                               time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                               time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(nbf or 0)),
                               time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))))
        if exp > now + app.max_assertion_lifetime + CLOCK_SKEW:
            raise _Refusal(401, "invalid_client", 700024,
                           "Client assertion is not within its valid time range: it expires more than %d seconds "
                           "from now." % app.max_assertion_lifetime)
        jti = claims.get("jti")
        if app.reject_replayed_jti:
            if not isinstance(jti, str) or not jti:
                raise bad("The client assertion has no jti claim.")
            with self.lock:
                for k in [k for k, v in self.jtis.items() if v < now - CLOCK_SKEW]:
                    del self.jtis[k]
                if jti in self.jtis:
                    raise bad("The client assertion (jti '%s') was already used." % jti[:64])
                self.jtis[jti] = exp

    # -- tokens -----------------------------------------------------------------------------------

    def _issue(self, app, resource, roles=None, scopes=None, user=None, acr="1"):
        now = int(time.time())
        exp = now + app.expires_in
        tid = app.tenant.id
        claims = {"aud": resource, "iss": "https://sts.windows.net/%s/" % tid, "iat": now, "nbf": now, "exp": exp,
                  "app_displayname": app.name, "appid": app.client_id, "appidacr": acr,
                  "idp": "https://sts.windows.net/%s/" % tid, "tid": tid, "uti": _b64url(secrets.token_bytes(16)),
                  "ver": "1.0"}
        if user is None:
            oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "sp:" + app.client_id))
            claims.update({"idtyp": "app", "oid": oid, "sub": oid})
            if roles:
                claims["roles"] = roles
        else:
            oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "user:" + user["mailbox"].lower()))
            claims.update({"idtyp": "user", "oid": oid, "sub": oid, "upn": user["mailbox"],
                           "unique_name": user["mailbox"], "name": user["name"], "amr": ["pwd"],
                           "scp": " ".join(scopes or [])})
        head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "ostrecon-test"}, separators=(",", ":")).encode())
        body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64url(hmac.new(self.key, ("%s.%s" % (head, body)).encode("ascii"), hashlib.sha256).digest())
        with self.lock:
            self.stats["tokens_issued"] += 1
        return "%s.%s.%s" % (head, body, sig), exp

    def _delegated_answer(self, app, user, resource, perms, oidc, client_info):
        token, _ = self._issue(app, resource, scopes=perms, user=user, acr="0")
        out = {"token_type": "Bearer", "scope": " ".join(
            ["%s/%s" % (resource, p) if resource != GRAPH else p for p in perms] + list(oidc)),
               "expires_in": app.expires_in, "ext_expires_in": app.expires_in, "access_token": token}
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "user:" + user["mailbox"].lower()))
        if "offline_access" in [o.lower() for o in oidc]:
            rt = _b64url(secrets.token_bytes(48))
            with self.lock:
                self.refresh[rt] = {"app": app, "user": user, "resource": resource, "perms": perms, "oidc": oidc,
                                    "expires": time.time() + app.refresh_expires_in}
            out["refresh_token"] = rt
        if "openid" in [o.lower() for o in oidc]:
            now = int(time.time())
            idc = {"aud": app.client_id, "iss": "https://login.microsoftonline.com/%s/v2.0" % app.tenant.id,
                   "iat": now, "nbf": now, "exp": now + 3600, "name": user["name"], "oid": oid,
                   "preferred_username": user["mailbox"], "sub": oid, "tid": app.tenant.id, "ver": "2.0"}
            head = _b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "ostrecon-test"}, separators=(",", ":")).encode())
            body = _b64url(json.dumps(idc, separators=(",", ":")).encode())
            sig = _b64url(hmac.new(self.key, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
            out["id_token"] = "%s.%s.%s" % (head, body, sig)
        if client_info:
            out["client_info"] = _b64url(json.dumps({"uid": oid, "utid": app.tenant.id}).encode())
        return self._json(200, out)

    def _consented(self, app, perms):
        if app.delegated is None:
            return True
        return all(p.lower() in app.delegated or p.lower() == ".default" for p in perms)

    # -- device code ------------------------------------------------------------------------------

    def _devicecode(self, seg, form, base):
        tenant = self._resolve_tenant(seg)
        self._need(form, "client_id")
        app = self._app(tenant, seg, form["client_id"])
        self._need(form, "scope")
        resource, perms, oidc = self._resource_scopes(form["scope"], False)
        user = app.tenant.user(app.device_user) if app.device_user else (
            app.tenant.users[0] if app.tenant.users else None)
        device_code = _b64url(secrets.token_bytes(48))
        with self.lock:
            while True:
                user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9))
                if user_code not in self.user_codes:
                    break
            now = time.time()
            self.codes[device_code] = {"app": app, "user": user, "resource": resource, "perms": perms, "oidc": oidc,
                                       "expires": now + app.code_expires_in, "interval": app.code_interval,
                                       "last_poll": None, "polls": 0, "state": "pending", "user_code": user_code}
            self.user_codes[user_code] = device_code
            self.stats["device"]["codes"] += 1
        uri = base + "/_identity/devicelogin"
        return self._json(200, {"user_code": user_code, "device_code": device_code, "verification_uri": uri,
                                "expires_in": app.code_expires_in, "interval": app.code_interval,
                                "message": "To sign in, use a web browser to open the page %s and enter the code %s "
                                           "to authenticate." % (uri, user_code)})

    def _device_poll(self, app, form):
        self._need(form, "device_code")
        if not app.public_client:
            raise _Refusal(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        client_info = form.get("client_info") == "1"
        now = time.time()
        with self.lock:
            rec = self.codes.get(form["device_code"])
            if rec is None or rec["app"] is not app:
                raise _Refusal(400, "bad_verification_code", 70018,
                               "Invalid verification code. The device code was not recognized.")
            dev = self.stats["device"]
            dev["polls"] += 1
            if rec["state"] == "redeemed":
                raise _Refusal(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please "
                                                            "retry with a new valid code.")
            if now >= rec["expires"]:
                dev["expired"] += 1
                raise _Refusal(400, "expired_token", 70019, "Verification code expired.")
            early = rec["last_poll"] is not None and now - rec["last_poll"] < rec["interval"] - 0.5
            rec["last_poll"] = now
            if early:  # RFC 8628 3.5: a client polling faster than told is told to slow down
                dev["too_fast"] += 1
                dev["slow_down"] += 1
                rec["interval"] += 5
                raise _Refusal(400, "slow_down", 70016, "OAuth 2.0 device flow error. Poll more slowly.")
            rec["polls"] += 1
            user = rec["user"] or {}
            if rec["polls"] in (user.get("slow_down_at_polls") or []):
                dev["slow_down"] += 1
                rec["interval"] += 5
                raise _Refusal(400, "slow_down", 70016, "OAuth 2.0 device flow error. Poll more slowly.")
            if rec["state"] == "pending" and rec["user"] is not None:
                n = user.get("auto_approve_after_polls")
                if user.get("decline") and rec["polls"] > (n or 0):
                    rec["state"] = "declined"
                elif n is not None and not user.get("decline") and rec["polls"] > n:
                    rec["state"] = "approved"
            if rec["state"] == "declined":
                dev["declined"] += 1
                raise _Refusal(400, "authorization_declined", 65004,
                               "User declined to consent to access the app.")
            if rec["state"] != "approved":
                dev["pending"] += 1
                raise _Refusal(400, "authorization_pending", 70016,
                               "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
            rec["state"] = "redeemed"
            dev["approved"] += 1
        if not self._consented(app, rec["perms"]):
            raise _Refusal(400, "invalid_grant", 65001,
                           "The user or administrator has not consented to use the application with ID '%s' named "
                           "'%s'. Send an interactive authorization request for this user and resource." % (
                               app.client_id, app.name))
        return self._delegated_answer(app, rec["user"], rec["resource"], rec["perms"], rec["oidc"], client_info)

    def _refresh(self, app, form):
        self._need(form, "refresh_token")
        if not app.public_client:
            raise _Refusal(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: 'client_assertion' or "
                           "'client_secret'.")
        with self.lock:
            rec = self.refresh.get(form["refresh_token"])
        if rec is None or rec["app"] is not app:
            raise _Refusal(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if rec["expires"] <= time.time() or rec.get("revoked"):
            raise _Refusal(400, "invalid_grant", 70008,
                           "The provided authorization code or refresh token has expired due to inactivity.")
        resource, perms, oidc = rec["resource"], rec["perms"], rec["oidc"]
        if form.get("scope"):
            resource, perms, oidc = self._resource_scopes(form["scope"], False)
            if "offline_access" not in [o.lower() for o in oidc]:
                oidc = list(oidc) + ["offline_access"]  # the answer keeps a refresh token
        if not self._consented(app, perms):
            raise _Refusal(400, "invalid_grant", 65001,
                           "The user or administrator has not consented to use the application with ID '%s' named "
                           "'%s'." % (app.client_id, app.name))
        return self._delegated_answer(app, rec["user"], resource, perms, oidc, form.get("client_info") == "1")

    # -- discovery --------------------------------------------------------------------------------

    def _openid(self, seg, base):
        try:
            tenant = self._resolve_tenant(seg)
        except _Refusal as r:
            r.error = "invalid_tenant"
            raise
        tid = tenant.id if tenant else "{tenantid}"
        t = "%s/%s" % (base, seg)
        host = base.split("://", 1)[1]
        return self._json(200, {
            "token_endpoint": t + "/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": t + "/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": "%s/%s/v2.0" % (base, tid),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": GRAPH + "/oidc/userinfo",
            "authorization_endpoint": t + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": t + "/oauth2/v2.0/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": t + "/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": t + "/kerberos",
            "tenant_region_scope": None,
            "cloud_instance_name": host, "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com", "rbac_url": "https://pas.windows.net"})

    def _instance(self, query, base):
        q = dict(urllib.parse.parse_qsl(query))
        host = base.split("://", 1)[1]
        ep = q.get("authorization_endpoint") or ""
        p = urllib.parse.urlsplit(ep)
        seg = p.path.strip("/").split("/")[0] if p.path.strip("/") else "common"
        if ep and p.netloc.lower() != host.lower():
            return self._json(400, {"error": "invalid_instance", "error_description":
                                    "AADSTS50049: Unknown or invalid instance.", "error_codes": [50049]})
        return self._json(200, {"tenant_discovery_endpoint": "%s/%s/v2.0/.well-known/openid-configuration" % (
            base, seg), "api-version": "1.1", "metadata": [
            {"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})

    # -- test controls ----------------------------------------------------------------------------

    def _control(self, what, method, query, headers, body, base):
        if what == "stats":
            with self.lock:
                return self._json(200, json.loads(json.dumps(self.stats)))
        if what == "check":
            auth = (headers.get("authorization") or "").split(" ", 1)
            if len(auth) != 2 or auth[0].lower() != "bearer":
                return self._json(401, {"kind": "invalid_token", "message": "no bearer token"})
            try:
                return self._json(200, self.check_bearer(auth[1].strip()))
            except TokenError as e:
                return self._json(401, {"kind": e.kind, "message": e.message})
        if what == "revoke":
            if method != "POST":
                return self._json(405, {"error": "POST only"}, {"Allow": "POST"})
            q = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            app = self._app_anywhere(q.get("app") or "")
            if app is None:
                return self._json(404, {"error": "no such app"})
            with self.lock:
                app.not_before = int(time.time()) + 1  # tokens issued up to this second (iat is in seconds)
                n = 0
                for rec in self.refresh.values():
                    if rec["app"] is app and q.get("refresh") == "1":
                        rec["revoked"] = True
                        n += 1
            return self._json(200, {"revoked": app.client_id, "refresh_tokens": n})
        # devicelogin: the page a person opens to enter the code (tests POST it)
        if method == "GET":
            page = ("<!DOCTYPE html><html><head><title>Device sign-in (test)</title></head><body>"
                    "<form method='post'><p>Code: <input name='user_code'></p><p>User: <input name='user'></p>"
                    "<button name='action' value='approve'>Sign in</button> "
                    "<button name='action' value='decline'>Decline</button></form></body></html>")
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
        if method != "POST":
            return self._json(405, {"error": "GET or POST"}, {"Allow": "GET, POST"})
        q = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        code = (q.get("user_code") or "").strip().upper().replace("-", "")
        with self.lock:
            rec = self.codes.get(self.user_codes.get(code, ""))
            if rec is None or rec["state"] != "pending" or time.time() >= rec["expires"]:
                ok, msg = False, "That code is not valid or has expired."
            else:
                if q.get("user"):
                    u = rec["app"].tenant.user(q["user"])
                    if u is None:
                        return self._json(404, {"error": "no such user in the tenant"})
                    rec["user"] = u
                if rec["user"] is None:
                    return self._json(400, {"error": "name the user who signs in (user=MAILBOX)"})
                rec["state"] = "declined" if q.get("action") == "decline" else "approved"
                ok, msg = True, "Signed in: you can close this page." if rec["state"] == "approved" else "Declined."
        status = 200 if ok else 400
        return status, {"Content-Type": "text/html; charset=utf-8"}, (
            "<!DOCTYPE html><html><body><p>%s</p></body></html>" % html.escape(msg)).encode()
