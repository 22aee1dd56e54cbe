#!/usr/bin/python3
"""ostrecon's test EWS server: serves mailboxes from snapshot files over SOAP 1.1 on 127.0.0.1,
with Basic/Bearer auth (or the user a local authenticating proxy names), impersonation, paging, fault injection, a request log and counters;
and Autodiscover (POX, the HTTP redirect method, SOAP GetUserSettings) per host name (autodiscover.py).
Usage and options: docs/TEST_SERVER.md, or --help."""

import argparse
import base64
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "testserver"))

import autodiscover as ad  # noqa: E402
import httpbase  # noqa: E402
from httpbase import ConfigError  # noqa: E402
import mailbox as mb  # noqa: E402
import ops  # noqa: E402
import query  # noqa: E402
import versions  # noqa: E402
import xmlout as X  # noqa: E402

ENDPOINT = "/ews/exchange.asmx"
STATS_PATH = "/_ews/stats"
# Throttling codes --busy-code may give (Exchange's answers when a client asks too much at once).
BUSY_CODES = ("ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorTooManyObjectsOpened")
# Codes --folder-error may give a folder (all in the schema's ResponseCodeType).
FOLDER_ERRORS = frozenset(("ErrorAccessDenied", "ErrorFolderNotFound", "ErrorItemNotFound", "ErrorInternalServerError",
                           "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "ErrorTimeoutExpired",
                           "ErrorCorruptData", "ErrorNoPublicFolderReplicaAvailable"))


def default_schema_dir():
    """$SHARED/ews-schema, else ../shared/ews-schema beside the repository."""
    shared = os.environ.get("SHARED")
    if shared:
        return os.path.join(shared, "ews-schema")
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "ews-schema"))


def _parse_time(v):
    t = query.parse_time(v)
    if t is None:
        raise ConfigError("bad time %r in tokens file" % v)
    return t.timestamp()


class State:
    """Everything shared between request threads. Mutable parts are guarded by self.lock."""

    def __init__(self, args):
        self.args = args
        try:
            self.boxes, self.by_guid = mb.load_mailboxes(args.mailbox or [], args.mailbox_dir or [])
        except (OSError, mb.MailboxError, ValueError) as e:
            raise ConfigError(str(e)) from None
        if not self.boxes:
            raise ConfigError("no mailbox: give --mailbox FILE or --mailbox-dir DIR")
        self.users = []
        self.sid_of = {}
        if args.users:
            doc = httpbase.load_json(args.users, "users")
            for u in doc.get("users", []) if isinstance(doc, dict) else []:
                if not isinstance(u, dict) or not u.get("name"):
                    raise ConfigError("users file: every user needs a name")
                self.users.append(u)
                if u.get("sid") and u.get("mailbox"):
                    self.sid_of[u["mailbox"].lower()] = u["sid"]
        self.tokens = {}
        if args.tokens:
            doc = httpbase.load_json(args.tokens, "tokens")
            for t in doc.get("tokens", []) if isinstance(doc, dict) else []:
                user = self.find_user(t.get("user", ""))
                if not t.get("token") or user is None:
                    raise ConfigError("tokens file: token %r names no known user" % t.get("user"))
                exp = _parse_time(t["expires"]) if t.get("expires") else None
                self.tokens[t["token"]] = (user, bool(t.get("expired")), exp)
        if not self.users:
            raise ConfigError("no users: give --users FILE (JSON, see docs/TEST_SERVER.md)")
        self.denied = {}                  # Folder -> EWS response code its content operations answer
        specs = [(s, "ErrorAccessDenied") for s in args.deny_folder or []]
        for s in args.folder_error or []:
            spec, sep, code = s.rpartition("=")
            if not sep or code not in FOLDER_ERRORS:
                raise ConfigError("--folder-error %s: want [ADDR:]PATH|ROLE=CODE, CODE one of %s"
                                  % (s, ", ".join(sorted(FOLDER_ERRORS))))
            specs.append((spec, code))
        for spec, code in specs:
            found = self.match_folders(spec)
            if not found:
                raise ConfigError("folder %s matches no folder" % spec)
            for f in found:
                self.denied[f] = code
        self.hierarchy_errors = {}        # Folder -> EWS response code listing its subtree answers
        for s in args.hierarchy_error or []:
            spec, sep, code = s.rpartition("=")
            if not sep or code not in FOLDER_ERRORS:
                raise ConfigError("--hierarchy-error %s: want [ADDR:]PATH|ROLE=CODE, CODE one of %s"
                                  % (s, ", ".join(sorted(FOLDER_ERRORS))))
            found = self.match_folders(spec)
            if not found:
                raise ConfigError("folder %s matches no folder" % spec)
            for f in found:
                self.hierarchy_errors[f] = code
        self.profile = versions.PROFILES[args.exchange_version or "2016"]
        self.validator = None
        schema_root = args.validate_requests or (args.schema_dir if args.exchange_version else None)
        if args.exchange_version and not schema_root:
            schema_root = default_schema_dir()
        if schema_root:
            try:
                self.validator = versions.Validator(schema_root, self.profile if args.exchange_version
                                                    else versions.PROFILES["2016"])
            except OSError as e:
                raise ConfigError("%s (give --schema-dir)" % e) from None
        try:
            self.autodiscover = ad.load(args.autodiscover) if args.autodiscover else {}
        except ad.ConfigError as e:
            raise ConfigError(str(e)) from None
        self.fault_boxes = {a.lower() for a in (args.fault_mailbox or [])}
        for a in self.fault_boxes:
            if a not in self.boxes:
                raise ConfigError("--fault-mailbox %s: no such mailbox" % a)
        self.lock = threading.Lock()
        self.page_cache = {}      # --cache-pages: (user, request body, gzip) -> the answer as sent
        self.seq = 0
        self.active = 0           # requests being answered now (the log's "alongside")
        self.fault_seq = 0
        self.cred_uses = {}
        self.counters = {"requests": 0, "operations": {}, "status": {}, "faults": {},
                         "items": 0, "folders": 0, "bytes_in": 0, "bytes_out": 0}
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        if args.dump_dir:
            os.makedirs(args.dump_dir, exist_ok=True)

    def find_user(self, name):
        n = name.lower()
        if "\\" in n:
            n = n.split("\\", 1)[1]
        for u in self.users:
            if u["name"].lower() == n or (u.get("mailbox") or "").lower() == n:
                return u
        return None

    def find_proxy_user(self, name):
        """The user a proxy names: as in the users file, DOMAIN\\user (NTLM), or user@REALM (a
        Kerberos principal) when the whole name is no user's name or address."""
        if not name:
            return None
        u = self.find_user(name)
        if u is None and "@" in name:
            u = self.find_user(name.rsplit("@", 1)[0])
        return u

    def match_folders(self, spec):
        addr, _, what = spec.rpartition(":") if ("@" in spec.split(":", 1)[0]) else ("", "", spec)
        boxes = [self.boxes[addr.lower()]] if addr else list(self.boxes.values())
        out = []
        for m in boxes:
            for f in m.folders:
                if f.role == what or f.path == what:
                    out.append(f)
        return out

    def count(self, key, name, n=1):
        d = self.counters[key]
        d[name] = d.get(name, 0) + n

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.counters))


class Handler(httpbase.Handler):
    disable_nagle_algorithm = True     # headers and body go out at once; no 40 ms delayed-ACK stalls
    prog = "ewsserver"

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status, body=b"", ctype="text/xml; charset=utf-8", headers=(), gzip_ok=True):
        return self.send_body(status, body, ctype, headers, gzip_ok)

    def _answer(self, rec, status, body=b"", close=False, **kw):
        """Answers status (and body), recorded in the request's log line rec; close: then close
        the connection."""
        rec["status"] = status
        if close:
            self.close_connection = True
        rec["bytes_out"] = self._send(status, body, **kw)

    def _authenticated(self, rec):
        """The request's (user, credential id), recorded in rec; (None, None) once it is answered 401."""
        user, cred, method = self._authenticate()
        if user is None:
            rec["status"] = 401
            rec["bytes_out"] = self._unauthorized(bearer_error=cred is True)
            return None, None
        rec["user"], rec["auth"] = user["name"], method
        return user, cred

    def _unauthorized(self, bearer_error=False):
        hdrs = [("WWW-Authenticate", 'Bearer error="invalid_token"' if bearer_error else 'Bearer realm="ews"'),
                ("WWW-Authenticate", 'Basic realm="127.0.0.1"')]
        if bearer_error:
            hdrs = hdrs[:1]
        return self._send(401, b"", headers=hdrs)

    def _authenticate(self):
        """Returns (user, credential id, method) or (None, bearer_error flag, None)."""
        st = self.server.state
        trusted = st.args.trust_proxy_user
        if trusted and self.client_address[0] == "127.0.0.1":
            # A real acceptor in front (Apache with Kerberos, Squid with NTLM) authenticated the
            # client and names the user; its Authorization header is the proxy's business. Two
            # values mean the proxy appended to a header the client sent: refused, not guessed.
            names = self.headers.get_all(trusted) or []
            if len(names) > 1:
                return None, False, None
            if names:
                u = st.find_proxy_user(names[0].strip())
                return (u, "proxy:" + u["name"], "proxy") if u else (None, False, None)
        h = self.headers.get("Authorization") or ""
        scheme, _, value = h.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                name, _, pw = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, False, None
            u = st.find_user(name)
            if u is None or u.get("password") is None or not hmac.compare_digest(
                    u["password"].encode("utf-8"), pw.encode("utf-8")):
                return None, False, None
            return u, "basic:" + u["name"], "basic"
        if scheme == "bearer":
            tok = st.tokens.get(value.strip())
            if tok is None:
                return None, True, None
            user, expired, exp = tok
            if expired or (exp is not None and exp < time.time()):
                return None, True, None
            return user, "bearer:" + value.strip(), "bearer"
        return None, False, None

    # -- HTTP methods -----------------------------------------------------------------------

    def do_GET(self):
        path = self.path.split("?")[0].lower()
        if self.path.split("?")[0] == STATS_PATH:
            self._send(200, json.dumps(self.server.state.snapshot(), sort_keys=True).encode(), "application/json",
                       gzip_ok=False)
        elif path == ENDPOINT:
            # As IIS: authentication first (a client's probe reads WWW-Authenticate), then the method.
            user, cred, method = self._authenticate()
            rec = {"op": "GET", "credentials": "Authorization" in self.headers, "user": user and user["name"],
                   "auth": method, "mailbox": None, "status": 405 if user else 401}
            if user is None:
                self._unauthorized(bearer_error=cred is True)
            else:
                self._send(405, b"", headers=[("Allow", "POST")])
            self._log_line(rec)
        elif path == ad.POX_PATH:
            self._autodiscover_redirect()
        else:
            self._send(404, b"")

    def _log_line(self, rec):
        st = self.server.state
        with st.lock:
            st.count("status", str(rec["status"]))
            if rec.get("op"):
                st.count("operations", rec["op"])
            if st.log:
                st.log.write(json.dumps(dict(rec, time=httpbase.log_time()),
                                        sort_keys=True) + "\n")
                st.log.flush()

    def _autodiscover_redirect(self):
        """The HTTP redirect method: GET without credentials, a 302 to where Autodiscover answers."""
        host = ad.host_of(self)
        conf = self.server.state.autodiscover.get(host) or {}
        rec = {"op": "Autodiscover-redirect", "host": host, "credentials": "Authorization" in self.headers,
               "user": None, "auth": None, "mailbox": None}
        if conf.get("redirect"):
            rec["status"] = 302
            self._send(302, b"", headers=[("Location", conf["redirect"])])
        else:
            rec["status"] = 404
            self._send(404, b"")
        self._log_line(rec)

    def _autodiscover_post(self, st, rec, soap):
        """POX or SOAP Autodiscover for the host the client asked for."""
        host = ad.host_of(self)
        rec.update(op="Autodiscover-SOAP" if soap else "Autodiscover-POX", host=host,
                   credentials="Authorization" in self.headers)
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if length < 0 or length > st.args.max_request_bytes:
            return self._answer(rec, 411 if length < 0 else 413, close=True)
        data = self.rfile.read(length)
        rec["bytes_in"] = len(data)
        conf = st.autodiscover.get(host) or {}
        kind = "soap" if soap else "pox"
        if kind not in conf:
            return self._answer(rec, 404)
        user, _ = self._authenticated(rec)
        if user is None:
            return
        address = ad.requested_address(data, soap)
        rec["mailbox"] = address
        if address is None:
            return self._answer(rec, 400)
        if soap and (self.headers.get("SOAPAction") or "").strip('"') != ad.SOAP_ACTION:
            return self._answer(rec, 500, X.fault("ErrorInvalidRequest", "SOAPAction is not GetUserSettings").encode())
        rule = ad.rule_for(conf, kind, address)
        status, headers, body = ad.soap_answer(rule, address, None) if soap else ad.pox_answer(rule, address)
        self._answer(rec, status, body, headers=headers)

    def do_PUT(self):
        self._send(405, b"", headers=[("Allow", "POST")])
        self.close_connection = True

    do_DELETE = do_PATCH = do_PUT

    def do_POST(self):
        st = self.server.state
        args = st.args
        t0 = time.monotonic()
        rec = {"op": None, "status": 0, "fault": None, "user": None, "auth": None, "mailbox": None, "bytes_in": 0,
               "bytes_out": 0}
        with st.lock:
            rec["alongside"] = st.active
            st.active += 1
        body = None
        resp = None
        try:
            self._post(st, args, rec)
        except httpbase.CLIENT_GONE:
            self.close_connection = True
            rec["status"] = rec["status"] or 0
            rec["fault"] = rec["fault"] or "client-gone"
        finally:
            ms = (time.monotonic() - t0) * 1000.0
            with st.lock:
                st.active -= 1
                st.counters["bytes_in"] += rec["bytes_in"]
                st.counters["bytes_out"] += rec["bytes_out"]
                st.count("status", str(rec["status"]))
                if rec["op"]:
                    st.count("operations", rec["op"])
                if rec["fault"]:
                    st.count("faults", rec["fault"])
                if st.log:
                    rec2 = dict(rec, seq=rec.get("seq"), time=httpbase.log_time(),
                                duration_ms=round(ms, 2))
                    st.log.write(json.dumps(rec2, sort_keys=True) + "\n")
                    st.log.flush()
            del body, resp

    def _post(self, st, args, rec):
        path = self.path.split("?")[0].lower()
        if path in (ad.POX_PATH, ad.SOAP_PATH):
            return self._autodiscover_post(st, rec, path == ad.SOAP_PATH)
        if path != ENDPOINT:
            return self._answer(rec, 404, close=True)
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._answer(rec, 411, close=True)
        if length < 0 or length > args.max_request_bytes:
            return self._answer(rec, 413, close=True)
        data = self.rfile.read(length)
        rec["bytes_in"] = len(data)
        if len(data) != length:
            self.close_connection = True
            rec["fault"] = "short-request"
            return

        user, cred = self._authenticated(rec)
        if user is None:
            return
        with st.lock:
            st.seq += 1
            seq = rec["seq"] = st.seq
            st.counters["requests"] += 1
            uses = st.cred_uses[cred] = st.cred_uses.get(cred, 0) + 1
        if args.expire_after and uses > args.expire_after:
            rec["status"] = 401
            rec["fault"] = "expired"
            rec["bytes_out"] = self._unauthorized(bearer_error=cred.startswith("bearer:"))
            return

        ck = None
        if args.cache_pages:
            # The answer to the same request, as sent the first time (the mailbox never changes
            # here): a benchmark's server must not be the slower side (bench/split.sh).
            ck = (user["name"], data, "gzip" in (self.headers.get("Accept-Encoding") or "").lower())
            with st.lock:
                hit = st.page_cache.get(ck)
            if hit is not None:
                if args.latency_ms:
                    time.sleep(args.latency_ms / 1000.0)
                rec["op"], rec["mailbox"], rec["items"], body, headers = hit
                return self._answer(rec, 200, body, headers=headers, gzip_ok=False)
        status, text, ctx = 200, None, None
        try:
            if st.validator:
                self._validate(st, data)
            req = ops.parse(data)
            rec["op"] = req.op
            ctx = ops.Context(st, user, req)
            rec["mailbox"] = ctx.mailbox.address if ctx.mailbox else None
        except ops.SoapFault as f:
            status, text = 500, f.xml
            rec["error"] = f.code
        except Exception as e:  # a bug must answer, never drop the connection
            status, text = 500, X.fault("ErrorInternalServerError", "An internal server error occurred.")
            rec["error"] = "ErrorInternalServerError"
            sys.stderr.write("ewsserver: internal error reading a request: %r\n" % (e,))
        dump_op = rec["op"] or "invalid"
        if args.dump_dir:
            self._dump(seq, dump_op, "request", data)

        # Request-level faults, counted over the requests in scope.
        if args.latency_ms:
            time.sleep(args.latency_ms / 1000.0)
        fault = None
        in_scope = not st.fault_boxes or (rec["mailbox"] or "").lower() in st.fault_boxes
        if in_scope and text is None:
            with st.lock:
                st.fault_seq += 1
                n = st.fault_seq
            for kind, every in (("http500", args.http500_every), ("http503", args.http503_every),
                                ("http429", args.http429_every), ("busy", args.busy_every),
                                ("drop", args.drop_every), ("malformed", args.malformed_every),
                                ("wrongop", args.wrong_operation_every)):
                if every and n % every == 0:
                    fault = kind
                    break
        rec["fault"] = fault
        if fault == "http500":
            return self._answer(rec, 500, gzip_ok=False)
        if fault in ("http503", "http429"):
            msg = b"Service Unavailable" if fault == "http503" else b"Too Many Requests"
            return self._answer(rec, 503 if fault == "http503" else 429, msg, ctype="text/plain", gzip_ok=False,
                                headers=[("Retry-After", str(args.retry_after))])
        if fault == "busy" and args.busy_style == "message":
            status, text = 200, X.busy_message(req.op, args.busy_backoff_ms, args.busy_code)
            rec["error"] = args.busy_code
        elif fault == "busy":
            status, text = 500, X.busy_fault(args.busy_backoff_ms, args.busy_code)
            rec["error"] = args.busy_code

        if text is None:
            counters = {"items": 0, "folders": 0}
            try:
                text = ops.execute(ctx, req, counters)
            except ops.SoapFault as f:
                status, text = 500, f.xml
                rec["error"] = f.code
            except Exception as e:  # a bug must answer, never kill the thread silently
                status = 500
                text = X.fault("ErrorInternalServerError", "An internal server error occurred: %s" % type(e).__name__)
                rec["error"] = "ErrorInternalServerError"
                sys.stderr.write("ewsserver: internal error in %s: %r\n" % (rec["op"], e))
            with st.lock:
                st.counters["items"] += counters["items"]
                st.counters["folders"] += counters["folders"]
            rec["items"] = counters["items"]
        payload = ("".join(text) if isinstance(text, list) else text).encode("utf-8")
        if fault == "malformed":
            payload = payload[: max(1, len(payload) // 2)] + b"<m:Broken attr=></t:Items>&&"
        if fault == "wrongop" and rec["op"] and rec["op"] != "GetItem":
            # The answer to another operation: the same content under GetItem's element names.
            payload = payload.replace(b"m:%sResponse" % rec["op"].encode(), b"m:GetItemResponse")
        if args.dump_dir:
            self._dump(seq, dump_op, "response.malformed" if fault == "malformed" else "response", payload)
        rec["status"] = status
        if fault == "drop":
            self.drop(status, payload, "text/xml; charset=utf-8")
            rec["bytes_out"] = len(payload) // 2
            return
        if ck is not None and fault is None and status == 200 and rec.get("error") is None:
            headers = []
            if ck[2]:
                payload = httpbase.gzip_body(payload)
                headers.append(("Content-Encoding", "gzip"))
            httpbase.remember_page(st.lock, st.page_cache, ck,
                                   (rec["op"], rec["mailbox"], rec.get("items", 0), payload, headers))
            rec["bytes_out"] = self._send(status, payload, headers=headers, gzip_ok=False)
            return
        rec["bytes_out"] = self._send(status, payload)

    def _dump(self, seq, op, what, data):
        safe = "".join(c for c in op if c.isalnum())[:40] or "unknown"
        path = os.path.join(self.server.state.args.dump_dir, "%06d-%s-%s.xml" % (seq, safe, what))
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            sys.stderr.write("ewsserver: cannot dump %s: %s\n" % (path, e))

    def _validate(self, st, data):
        """Holds a request to the served version's schema. A RequestServerVersion the version does
        not take is ErrorInvalidServerVersion (as Exchange 2007 and 2010 answer it); anything
        else the schema refuses is ErrorSchemaValidation."""
        accepts = st.profile["accepts"]
        v = versions.request_version(data)
        if accepts is not None and v is not None and v not in accepts:
            raise ops.SoapFault("ErrorInvalidServerVersion", "The specified server version is invalid.")
        try:
            violation = st.validator.check(data, v)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ops.SoapFault("ErrorInternalServerError", "request validation failed to run: %s" % e) from None
        if violation:
            raise ops.schema_error(violation)


class Server(httpbase.Server):
    def __init__(self, addr, state, ssl_ctx):
        self.state = state
        super().__init__(addr, Handler, state.args, ssl_ctx, state.args.max_connections)
        # With --workers every process selects on this one socket and all of them wake for each
        # connection; the ones that lose the race must not block in accept() (a blocked worker
        # would also never see a stop): a non-blocking accept just fails and the loop goes on.
        self.socket.setblocking(False)


def build_parser():
    p = argparse.ArgumentParser(prog="ewsserver.py", description="ostrecon's test EWS server (127.0.0.1 only).")
    g = p.add_argument_group("serving")
    g.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick one; printed on stdout)")
    httpbase.repeatable(g, "--mailbox", "FILE.jsonl", help="snapshot file to serve (repeatable)")
    httpbase.repeatable(g, "--mailbox-dir", "DIR", help="serve every *.jsonl in DIR")
    g.add_argument("--users", metavar="FILE", help="JSON users file (passwords, impersonation rights)")
    g.add_argument("--tokens", metavar="FILE", help="JSON bearer tokens file (token -> user, expiry)")
    g.add_argument("--trust-proxy-user", metavar="HEADER",
                   help="take the user a local authenticating proxy names in HEADER (from 127.0.0.1 only); "
                        "requests without it authenticate as usual")
    g.add_argument("--autodiscover", metavar="FILE",
                   help="answer Autodiscover (POX, the HTTP redirect method, SOAP) per host name as FILE says "
                        "(JSON; tools/ewsserver/autodiscover.py)")
    g.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    g.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    g.add_argument("--pid-file", metavar="FILE")
    g.add_argument("--log", metavar="FILE", help="append one JSON line per request")
    g.add_argument("--stats-file", metavar="FILE", help="write the counters as JSON at shutdown")
    g.add_argument("--dump-dir", metavar="DIR", help="write every request and response body to DIR")
    g.add_argument("--validate-requests", metavar="SCHEMA_DIR",
                   help="check each request against SCHEMA_DIR/soap-envelope.xsd")
    g.add_argument("--exchange-version", choices=sorted(versions.PROFILES),
                   help="answer as this Exchange version: its ServerVersionInfo and envelope shape, every "
                        "request held to its schema, refusals with the fault it sends")
    g.add_argument("--schema-dir", metavar="DIR",
                   help="the EWS schema folder for --exchange-version (default $SHARED/ews-schema)")
    g.add_argument("--no-version-header", action="store_true",
                   help="answer without ServerVersionInfo (the client must learn the version from refusals)")
    g.add_argument("--opaque-ids", action="store_true",
                   help="ids of a layout Exchange does not use and no PidTagSourceKey, change key or PCL "
                        "(as some open-source EWS servers answer)")
    g.add_argument("--bad-char-refs", action="store_true",
                   help="write characters XML 1.0 forbids as character references (&#x1A;), as Exchange "
                        "does, instead of dropping them")
    g.add_argument("--max-request-bytes", type=int, default=1 << 20)
    g.add_argument("--max-connections", type=int, default=32)
    g.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds (idle keep-alive too)")
    g.add_argument("--workers", type=int, default=1, metavar="N",
                   help="N processes accept on the one socket (benchmarks: the GIL bounds one process; "
                        "counters, every-N faults and --expire-after then count per process)")
    g.add_argument("--cache-pages", action="store_true",
                   help="answer a request met before (same user and body) with the bytes sent then, after "
                        "--latency-ms (benchmarks: the server is not the slow side; faults do not apply to such "
                        "answers)")
    g.add_argument("-v", "--verbose", action="store_true")
    f = p.add_argument_group("fault injection (N counts the requests in scope, 1-based)")
    httpbase.count_option(f, "--busy-every", help="ErrorServerBusy SOAP fault (HTTP 500)")
    f.add_argument("--busy-backoff-ms", type=int, default=500, metavar="MS")
    f.add_argument("--busy-style", choices=("fault", "message"), default="fault",
                   help="ErrorServerBusy as a SOAP fault (HTTP 500) or in a normal response message (HTTP 200)")
    f.add_argument("--busy-code", choices=BUSY_CODES, default="ErrorServerBusy",
                   help="the throttling code --busy-every answers with")
    httpbase.count_option(f, "--wrong-operation-every", help="answer with another operation's response (GetItem)")
    httpbase.count_option(f, "--http503-every", help="503 with Retry-After")
    httpbase.count_option(f, "--http429-every", help="429 with Retry-After")
    f.add_argument("--retry-after", type=int, default=1, metavar="SECONDS")
    httpbase.count_option(f, "--http500-every", help="HTTP 500 without a body")
    httpbase.count_option(f, "--drop-every", help="close the connection mid-response")
    httpbase.count_option(f, "--malformed-every", help="truncated, malformed XML (HTTP 200)")
    httpbase.count_option(f, "--latency-ms", metavar="MS", help="delay every request")
    httpbase.count_option(f, "--expire-after", help="each credential answers 401 after N requests (token expiry)")
    httpbase.repeatable(f, "--deny-folder", "[ADDR:]PATH|ROLE",
                        help="folder that answers ErrorAccessDenied (repeatable)")
    httpbase.repeatable(f, "--folder-error", "[ADDR:]PATH|ROLE=CODE",
                        help="folder whose content operations answer this EWS error code (repeatable)")
    httpbase.repeatable(f, "--hierarchy-error", "[ADDR:]PATH|ROLE=CODE",
                        help="SyncFolderHierarchy and FindFolder over this folder's subtree answer CODE; the "
                             "folder itself and its items stay readable (repeatable)")
    httpbase.repeatable(f, "--fault-mailbox", "ADDR",
                        help="limit the request faults above to requests for this mailbox (repeatable)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    for name in ("busy_every", "http503_every", "http429_every", "http500_every", "drop_every",
                 "malformed_every", "wrong_operation_every", "latency_ms", "expire_after", "max_request_bytes"):
        if getattr(args, name) < 0:
            print("ewsserver: --%s must not be negative" % name.replace("_", "-"), file=sys.stderr)
            return 2
    if args.max_connections < 1 or args.timeout <= 0 or not 1 <= args.workers <= 16:
        print("ewsserver: --max-connections and --timeout must be positive, --workers 1..16", file=sys.stderr)
        return 2
    if args.trust_proxy_user is not None and (
            not args.trust_proxy_user or args.trust_proxy_user.lower() in ("authorization", "host") or
            any(not (c.isascii() and (c.isalnum() or c == "-")) for c in args.trust_proxy_user)):
        print("ewsserver: --trust-proxy-user takes a header name (letters, digits, '-'), not Authorization or Host",
              file=sys.stderr)
        return 2
    if not httpbase.check_tls_args("ewsserver", args):
        return 2
    # Fixed for the process before the mailboxes are loaded (ids are made as they load).
    info = versions.PROFILES[args.exchange_version or "2016"]
    X.SERVER_VERSION = info["info"]
    X.STYLE = info["style"]
    X.BAD_CHAR_REFS = args.bad_char_refs
    X.VERSION_HEADER = not args.no_version_header
    if args.opaque_ids:
        mb.OPAQUE_IDS = {}
        for tag in (0x65E0, 0x65E2, 0x65E3, 0x0FFF, 0x0E09, 0x36D0, 0x36D1, 0x36D2, 0x36D3, 0x36D4, 0x36D7, 0x36D8):
            X.ITEM_TAGS.pop(tag, None)
            X.FOLDER_TAGS.pop(tag, None)
    try:
        state = State(args)
    except ConfigError as e:
        print("ewsserver: %s" % e, file=sys.stderr)
        return 1
    httpd = httpbase.listen("ewsserver", args, lambda addr, ssl_ctx: Server(addr, state, ssl_ctx))
    if httpd is None:
        return 1
    httpbase.write_pid_file(args.pid_file)

    # Extra worker processes share the listening socket; the mailbox is loaded once, before fork.
    # The handlers are in place before the first fork, so a stop that arrives meanwhile still
    # reaches every worker already started.
    children = []
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        for c in children or []:
            try:
                os.kill(c, signal.SIGTERM)
            except OSError:
                pass
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(args.workers - 1):
        if stopping:
            break
        pid = os.fork()
        if pid == 0:
            children = None
            break
        children.append(pid)
    if children is None:  # a worker: serve until told to stop, nothing else
        try:
            httpd.serve_forever(poll_interval=httpbase.POLL_INTERVAL)
        finally:
            os._exit(0)

    def reap_workers():
        for c in children:
            try:
                os.waitpid(c, 0)
            except OSError:
                pass
    nitems = sum(m.items_total for m in state.boxes.values())
    httpbase.serve(httpd, args, "serving %d mailbox(es), %d folders, %d items over %s" % (
        len(state.boxes), sum(len(m.folders) for m in state.boxes.values()), nitems,
        "https" if httpd.ssl_ctx else "http"), counters=state.snapshot, log=state.log, before_close=reap_workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
