#!/usr/bin/python3
"""ostrecon's test Microsoft Graph server: serves the mailboxes of snapshot files over Graph v1.0
(the mail API, the Exchange mailbox API, calendars and contacts) on 127.0.0.1, with bearer tokens
(static, or from the identity module), delta rounds, fault injection, a request log and counters.
Usage and options: docs/GRAPH_SERVER.md, or --help."""

import argparse
import hashlib
import importlib
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "ewsserver"))
sys.path.insert(2, os.path.join(os.path.dirname(HERE), "testserver"))

import api  # noqa: E402
import errors  # noqa: E402
import httpbase  # noqa: E402
from httpbase import ConfigError  # noqa: E402
import mailbox as mb  # noqa: E402
import model  # noqa: E402
import odata  # noqa: E402
import render  # noqa: E402

STATS_PATH = "/_graph/stats"
ADVANCE_PATH = "/_graph/advance"
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
DEFAULT_APP_ROLES = ("Mail.Read", "Calendars.Read", "Contacts.Read", "User.Read.All", "MailboxFolder.Read.All",
                     "MailboxItem.Read.All")
DEFAULT_USER_SCOPES = ("Mail.Read", "Calendars.Read", "Contacts.Read", "User.Read", "MailboxFolder.Read",
                       "MailboxItem.Read")
DIAGNOSTIC = json.dumps({"ServerInfo": {"DataCenter": "Local", "Slice": "E", "Ring": "5", "ScaleUnit": "000",
                                        "RoleInstance": "LOCALHOST", "ADSiteName": "LOC"}}, separators=(",", ":"))


def _parse_time(v):
    t = odata.parse_time(v) if isinstance(v, str) else None
    if t is None:
        raise ConfigError("bad time %r in tokens file" % (v,))
    return t.timestamp()


def _retry_after(text):
    try:
        v = float(text)
    except ValueError:
        v = -1
    if not 0 < v <= 3600:
        raise argparse.ArgumentTypeError("want seconds, e.g. 1 or 0.25 (at most 3600)")
    return text


class State:
    """Everything shared between request threads; mutable parts are guarded by self.lock."""

    def __init__(self, args):
        self.args = args
        self.page_cache = {}      # --cache-pages: (request, generation) -> the answer as sent
        try:
            boxes, _ = mb.load_mailboxes(args.mailbox or [], args.mailbox_dir or [])
            later = [mb.load_mailbox(p) for p in args.advance_to or []]
        except (OSError, mb.MailboxError, ValueError) as e:
            raise ConfigError(str(e)) from None
        if not boxes:
            raise ConfigError("no mailbox: give --mailbox FILE or --mailbox-dir DIR")
        self.identity = None
        self.identity_events = threading.local()
        if args.identity:
            try:
                identity = importlib.import_module("identity")
            except ImportError as e:
                raise ConfigError("--identity: the identity module (tools/graphserver/identity.py) cannot be "
                                  "loaded: %s" % e) from None
            try:
                self.identity = identity.Identity(args.identity, scheme="https" if args.tls_cert else "http")
            except Exception as e:  # its own configuration errors
                raise ConfigError("--identity %s: %s" % (args.identity, e)) from None
            self.token_error = identity.TokenError
            self.identity.on_event = self._identity_event
        # A mailbox's tenant: --tenant, else the identity configuration's tenant of its domain,
        # else one derived from the domain.
        domains = {}
        for t in getattr(self.identity, "tenants", None) or []:
            for d in getattr(t, "domains", None) or []:
                domains[d.lower()] = t.id
        self.tenant_known = bool(args.tenant or domains)

        def tenant_of(addr):
            return args.tenant or domains.get(addr.split("@", 1)[-1].lower()) or _gids().tenant_id(addr)
        try:
            self.store = model.Store(boxes, later, tenant_of)
        except mb.MailboxError as e:
            raise ConfigError(str(e)) from None
        self.cache = render.Cache()
        users = {}
        if args.users:
            doc = httpbase.load_json(args.users, "users")
            for u in doc.get("users", []) if isinstance(doc, dict) else []:
                if isinstance(u, dict) and u.get("name"):
                    users[u["name"].lower()] = u
                    if u.get("mailbox"):
                        users[u["mailbox"].lower()] = u
        self.tokens = {}
        if args.tokens:
            doc = httpbase.load_json(args.tokens, "tokens")
            for t in doc.get("tokens", []) if isinstance(doc, dict) else []:
                if not isinstance(t, dict) or not t.get("token"):
                    raise ConfigError("tokens file: every entry needs a token")
                self.tokens[t["token"]] = self._principal(t, users)
        if not self.tokens and self.identity is None:
            raise ConfigError("no credentials: give --tokens FILE and/or --identity CONFIG")
        self.folder_errors = {}           # (address, folder key) -> (status, code)
        for s in args.folder_error or []:
            spec, sep, what = s.rpartition("=")
            status, _, code = what.partition(":")
            if not sep or not status.isdigit() or not 400 <= int(status) <= 599 or not code:
                raise ConfigError("--folder-error %s: want [ADDR:]PATH|ROLE=STATUS:CODE" % s)
            found = self.match_folders(spec)
            if not found:
                raise ConfigError("--folder-error %s matches no folder" % s)
            for addr, f in found:
                self.folder_errors[(addr, f.key)] = (int(status), code)
        self.gone_folders = {}            # (address, folder key) -> still to fire
        for s in args.gone_folder or []:
            found = self.match_folders(s)
            if not found:
                raise ConfigError("--gone-folder %s matches no folder" % s)
            for addr, f in found:
                self.gone_folders[(addr, f.key)] = True
        self.fault_boxes = self._addresses(args.fault_mailbox, "--fault-mailbox")
        self.quota_boxes = self._addresses(args.quota_exceeded, "--quota-exceeded")
        self.odata_disabled = self._addresses(args.odata_disabled, "--odata-disabled")
        self.no_mailbox_api = set()
        for a in args.refuse_mailbox_api or []:
            self.no_mailbox_api |= ({"*"} if a == "*" else self._addresses([a], "--refuse-mailbox-api"))
        self.no_mailbox_users = {a.lower() for a in args.user_without_mailbox or []}
        self.access_policy = {}
        for s in args.access_policy or []:
            app, sep, addrs = s.partition("=")
            if not sep or not app:
                raise ConfigError("--access-policy %s: want APP=ADDR[,ADDR...]" % s)
            self.access_policy[app] = {a.strip().lower() for a in addrs.split(",") if a.strip()}
        self.lock = threading.Lock()
        self.seq = 0
        self.fault_seq = 0
        self.token_uses = 0
        self.cred_uses = {}
        self.inflight = {}
        self.counters = {"requests": 0, "endpoints": {}, "status": {}, "faults": {}, "items": 0, "folders": 0,
                         "bytes_out": 0, "duplicates": 0, "identity": 0}
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        if args.dump_dir:
            os.makedirs(args.dump_dir, exist_ok=True)

    def _identity_event(self, ev):
        """identity.py's record of a request it answered: kept for this thread's log line."""
        self.identity_events.last = ev

    def _principal(self, t, users):
        """A static token as the principal check_bearer would return."""
        exp = _parse_time(t["expires"]) if t.get("expires") else None
        p = {"app": t.get("app") or "static-token-app", "tenant": t.get("tenant"), "roles": None, "user": None,
             "expires": exp, "revoked": bool(t.get("expired")), "mailboxes": t.get("mailboxes")}
        who = (t.get("user") or "").lower()
        if who:
            if who in users and not users[who].get("mailbox"):
                u = users[who]
                p["app"] = t.get("app") or u["name"]
                p["mailboxes"] = t.get("mailboxes") or u.get("impersonate") or []
            elif who in users:
                p["user"] = users[who]["mailbox"].lower()
            elif "@" in who:
                p["user"] = who
            else:
                raise ConfigError("tokens file: token user %r is no address and no user of --users" % who)
        roles = t.get("roles")
        if roles is None:
            roles = DEFAULT_USER_SCOPES if p["user"] else DEFAULT_APP_ROLES
        if not isinstance(roles, list) and not isinstance(roles, tuple):
            raise ConfigError("tokens file: roles must be a list")
        p["roles"] = list(roles)
        return p

    def _addresses(self, values, opt):
        out = set()
        for a in values or []:
            if a.lower() not in self.store.gens:
                raise ConfigError("%s %s: no such mailbox" % (opt, a))
            out.add(a.lower())
        return out

    def match_folders(self, spec):
        head = spec.split(":", 1)[0]
        addr, what = (spec.split(":", 1)) if ("@" in head and ":" in spec) else ("", spec)
        out = []
        for a, gl in self.store.gens.items():
            if addr and a != addr.lower():
                continue
            for f in gl[0].mbx.folders:
                if f.role == what or f.path == what:
                    out.append((a, f))
        return out

    def quota_exceeded(self, addr):
        return addr.lower() in self.quota_boxes

    def count(self, key, name, n=1):
        d = self.counters[key]
        d[name] = d.get(name, 0) + n

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.counters))


def _gids():
    import gids
    return gids


class Ctx:
    """One request as the endpoints see it."""

    def __init__(self, state, principal, base, query_string, prefer):
        self.state = state
        self.store = state.store
        self.cache = state.cache
        self.principal = principal
        self.base = base
        self.query_string = query_string
        self.prefer = prefer
        self.applied = []
        self.huge = False
        self.huge_done = False
        self.duplicates = 0
        self.fault = None

    def prefer_headers(self):
        applied = list(self.applied)
        if self.prefer.immutable:
            applied.append('IdType="ImmutableId"')
        return [("Preference-Applied", ", ".join(applied))] if applied else []

    def check_folder_fault(self, view, f):
        if f is None:
            return
        got = self.state.folder_errors.get((view.address.lower(), f.key))
        if got:
            raise errors.GraphError(got[0], got[1], "The folder answers %s (--folder-error)." % got[1],
                                    fault="folder-error")

    def token_use(self, view, folder, restart_url):
        st = self.state
        with st.lock:
            st.token_uses += 1
            n = st.token_uses
            fire = False
            if folder is not None and st.gone_folders.get((view.address.lower(), folder.key)):
                st.gone_folders[(view.address.lower(), folder.key)] = False
                fire = True
        if fire or (st.args.gone_every and n % st.args.gone_every == 0):
            e = errors.sync_state_gone(view.gen, view.gen + 1)
            e.fault = "gone"
            raise e
        if st.args.resync_every and n % st.args.resync_every == 0:
            # "Synchronization reset": start over at the URL given, an empty $deltatoken
            raise errors.GraphError(410, "resyncRequired", "The delta token is no longer valid, and the app must "
                                    "reset the sync state.", headers=[("Location", restart_url)], fault="resync")

    def maybe_huge(self, texts):
        if not self.huge or not texts:
            return texts
        d = json.loads(texts[0])
        for prop in ("subject", "displayName", "type", "name"):
            if prop in d:
                d[prop] = "X" * self.state.args.huge_bytes
                break
        else:
            return texts
        self.huge_done = True
        return [render.dumps(d)] + texts[1:]


class Handler(httpbase.Handler):
    disable_nagle_algorithm = True
    prog = "graphserver"

    # -- plumbing ---------------------------------------------------------------------------

    def id_headers(self, request_id):
        return [("request-id", request_id),
                ("client-request-id", self.headers.get("client-request-id") or request_id),
                ("x-ms-ags-diagnostic", DIAGNOSTIC)]

    def _send(self, status, body=b"", ctype=JSON_TYPE, headers=(), gzip_ok=True, request_id=None):
        if ctype == JSON_TYPE:
            headers = [("OData-Version", "4.0")] + list(headers)
        return self.send_body(status, body, ctype, headers, gzip_ok, request_id)

    def _error(self, rec, e, request_id):
        rec["status"] = e.status
        rec["error"] = e.code
        if e.fault:
            rec["fault"] = e.fault
        body = errors.body(e.code, e.message, request_id, self.headers.get("client-request-id") or request_id)
        hdrs = list(e.headers)
        if e.status == 401:
            hdrs.append(("WWW-Authenticate", 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", '
                         'client_id="00000003-0000-0000-c000-000000000000"' % self._base()))
        self._dump(rec, body, "response")
        rec["bytes_out"] = self._send(e.status, body, headers=hdrs, request_id=request_id)

    def _base(self):
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1]
        if not all(c.isalnum() or c in ".-:[]" for c in host) or len(host) > 300:
            host = "127.0.0.1:%d" % self.server.server_address[1]
        return "%s://%s" % ("https" if self.server.ssl_ctx else "http", host)

    def _read_body(self, rec):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise errors.GraphError(411, "BadRequest", "Send a Content-Length.")
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > self.server.state.args.max_request_bytes:
            self.close_connection = True
            raise errors.GraphError(413, "RequestEntityTooLarge", "The request body is too large.")
        data = self.rfile.read(length) if length else b""
        if len(data) != length:
            self.close_connection = True
            raise ConnectionError("short request body")
        return data

    # -- methods ----------------------------------------------------------------------------

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_OTHER(self):
        self._serve(self.command)

    do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_OTHER

    def _serve(self, method):
        st = self.server.state
        t0 = time.monotonic()
        path, _, qs = self.path.partition("?")
        rec = {"method": method, "path": path[:300], "query": None, "status": 0, "fault": None, "error": None,
               "mailbox": None, "app": None, "endpoint": None, "items": 0, "folders": 0, "bytes_out": 0}
        with st.lock:
            st.seq += 1
            rec["seq"] = st.seq
        try:
            self._dispatch(st, method, path, qs, rec)
        except httpbase.CLIENT_GONE:  # BrokenPipeError is a ConnectionError
            self.close_connection = True
            rec["fault"] = rec["fault"] or "client-gone"
        finally:
            ms = (time.monotonic() - t0) * 1000.0
            with st.lock:
                st.counters["bytes_out"] += rec["bytes_out"]
                st.count("status", str(rec["status"]))
                if rec["endpoint"]:
                    st.count("endpoints", rec["endpoint"])
                if rec["fault"]:
                    st.count("faults", rec["fault"])
                st.counters["items"] += rec["items"]
                st.counters["folders"] += rec["folders"]
                if st.log:
                    out = dict(rec, time=httpbase.log_time(),
                               duration_ms=round(ms, 2))
                    st.log.write(json.dumps(out, sort_keys=True) + "\n")
                    st.log.flush()

    def _dispatch(self, st, method, path, qs, rec):
        low = path.lower()
        rid = str(uuid.uuid4())
        if low == STATS_PATH and method == "GET":
            rec["endpoint"] = "stats"
            rec["status"] = 200
            rec["bytes_out"] = self._send(200, json.dumps(st.snapshot(), sort_keys=True).encode(), "application/json",
                                          gzip_ok=False)
            return
        if low == ADVANCE_PATH and method == "POST":
            rec["endpoint"] = "advance"
            self._read_body(rec)
            q = dict(urllib.parse.parse_qsl(qs))
            addr = q.get("mailbox")
            if addr and addr.lower() not in st.store.gens:
                return self._error(rec, errors.GraphError(404, "ResourceNotFound", "No such mailbox."), rid)
            done = st.store.advance(addr)
            rec["status"] = 200
            rec["bytes_out"] = self._send(200, json.dumps({"advanced": done}, sort_keys=True).encode(),
                                          "application/json", gzip_ok=False)
            return
        if not low.startswith("/v1.0/") and low != "/v1.0":
            self._identity_or_404(st, method, path, qs, rec, rid)
            return
        try:
            if method != "GET":
                self._read_body(rec)
                raise errors.GraphError(405, "Request_BadRequest" if method != "HEAD" else "BadRequest",
                                        "The test Graph server is read-only: %s is not served." % method,
                                        headers=[("Allow", "GET")])
            self._api(st, path, qs, rec, rid)
        except errors.GraphError as e:
            self._error(rec, e, rid)

    def _identity_or_404(self, st, method, path, qs, rec, rid):
        if st.identity is not None:
            try:
                body = self._read_body(rec) if method in ("POST", "PUT", "PATCH") else b""
            except errors.GraphError as e:
                return self._error(rec, e, rid)
            st.identity_events.last = None
            try:
                got = st.identity.handle(method, self.path, self.headers, body)
            except Exception as e:  # a bug there must answer, never drop the connection
                sys.stderr.write("graphserver: identity module failed: %s\n" % type(e).__name__)
                got = (500, {"Content-Type": "application/json"},
                       json.dumps({"error": "server_error", "error_description": "identity module failed"}).encode())
            if got is not None:
                status, hdrs, body = got
                rec["endpoint"] = "identity"
                rec["status"] = status
                ev = st.identity_events.last or {}
                rec["identity"] = {k: ev.get(k) for k in ("endpoint", "tenant", "client_id", "grant_type", "error")
                                   if ev.get(k) is not None}
                with st.lock:
                    st.counters["identity"] += 1
                ctype = "application/json; charset=utf-8"
                extra = []
                for k, v in (hdrs or {}).items():
                    if k.lower() == "content-type":
                        ctype = v
                    elif k.lower() not in ("content-length", "content-encoding"):
                        extra.append((k, v))
                rec["bytes_out"] = self._send(status, body or b"", ctype, headers=extra, request_id=rid)
                return
        rec["path"] = path[:300]
        if path.lower().startswith("/beta/"):
            return self._error(rec, errors.bad_request("The test server serves Graph v1.0 only.", "BadRequest"), rid)
        self._error(rec, errors.GraphError(404, "ResourceNotFound", "Resource not found."), rid)

    def _principal(self, st, rec):
        h = self.headers.get("Authorization") or ""
        scheme, _, token = h.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise errors.token_missing()
        p = st.tokens.get(token)
        if p is not None:
            if p["revoked"] or (p["expires"] is not None and p["expires"] < time.time()):
                raise errors.token_expired()
        elif st.identity is not None:
            try:
                p = dict(st.identity.check_bearer(token))
            except st.token_error as e:
                kind = getattr(e, "kind", None) or (e.args[0] if e.args else "invalid_token")
                raise errors.token_expired() if kind == "expired" else errors.token_invalid() from None
            p["user"] = (p.get("user") or "").lower() or None
            # delegated tokens carry scopes (scp), app tokens roles: both are permissions here
            p["roles"] = list(p.get("roles") or []) + list(p.get("scopes") or [])
        else:
            raise errors.token_invalid()
        cred = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        with st.lock:
            uses = st.cred_uses[cred] = st.cred_uses.get(cred, 0) + 1
        if st.args.expire_after and uses > st.args.expire_after:
            e = errors.token_expired()
            e.fault = "expired"
            raise e
        rec["app"] = p.get("app")
        return p

    def _api(self, st, path, qs, rec, rid):
        args = st.args
        p = self._principal(st, rec)
        with st.lock:
            st.counters["requests"] += 1
        ctx = Ctx(st, p, self._base(), qs, odata.Prefer(self.headers.get_all("Prefer") or []))
        rec["query"] = ",".join(k for k, _ in urllib.parse.parse_qsl(qs, keep_blank_values=True))[:200] or None
        segs = api.split_path(path[len("/v1.0"):])
        r = api.route(ctx, segs)
        rec["endpoint"] = r.name
        rec["mailbox"] = r.addr
        addr = r.addr.lower()
        if p.get("tenant") and st.tenant_known and p["tenant"].lower() != st.store.current(addr).tenant.lower():
            # a token of another tenant does not see this tenant's users
            raise errors.invalid_user(r.addr)
        if addr in st.odata_disabled:
            raise errors.GraphError(403, "ErrorAccessDenied", api.RAOP_MESSAGE, fault="odata-disabled")
        if r.mailbox_api and ("*" in st.no_mailbox_api or addr in st.no_mailbox_api):
            raise errors.GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.",
                                    fault="mailbox-api-refused")
        ck = None
        if args.cache_pages:
            # The answer to the same request of the same generation, as sent the first time (a
            # benchmark's server must not be the slower side: bench/split.sh).
            ck = (p.get("app"), path, qs, tuple(self.headers.get_all("Prefer") or []),
                  "gzip" in (self.headers.get("Accept-Encoding") or "").lower(), st.store.current(addr).gen)
            with st.lock:
                hit = st.page_cache.get(ck)
            if hit is not None:
                if args.latency_ms:
                    time.sleep(args.latency_ms / 1000.0)
                rec["status"], body, headers, rec["items"], rec["folders"] = hit
                rec["bytes_out"] = self._send(rec["status"], body, headers=headers, gzip_ok=False, request_id=rid)
                return
        slot = (p.get("app") or "user:%s" % p.get("user"), addr)
        limit = args.max_concurrent_per_mailbox
        with st.lock:
            busy = st.inflight.get(slot, 0)
            if limit and busy >= limit:
                busy = -1
            else:
                st.inflight[slot] = busy + 1
        if busy < 0:
            raise errors.GraphError(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                                    headers=[("Retry-After", args.retry_after)], fault="concurrency")
        try:
            fault, resp = self._run(st, args, addr, r, ctx)
        finally:
            with st.lock:
                st.inflight[slot] -= 1
                if not st.inflight[slot]:
                    del st.inflight[slot]
        if fault == "huge" and not ctx.huge_done:
            fault = None
        rec["fault"] = fault
        rec["items"] = resp.items
        rec["folders"] = resp.folders
        if ctx.duplicates:
            with st.lock:
                st.counters["duplicates"] += ctx.duplicates
        pieces = resp.pieces
        payload = ("".join(pieces) if isinstance(pieces, list) else pieces).encode("utf-8", "replace")
        rec["status"] = resp.status
        if fault == "malformed":
            payload = payload[: max(1, len(payload) // 2)] + b'",,{"value":[}]'
        elif fault == "truncate":
            payload = payload[: max(1, len(payload) // 2)]
        self._dump(rec, payload, "response.malformed" if fault in ("malformed", "truncate") else "response")
        if fault == "drop":
            self.drop(resp.status, payload, JSON_TYPE, headers=[("request-id", rid)])
            rec["bytes_out"] = len(payload) // 2
            return
        if ck is not None and fault is None and resp.status == 200:
            headers = list(resp.headers)
            if ck[4]:
                payload = httpbase.gzip_body(payload)
                headers.append(("Content-Encoding", "gzip"))
            httpbase.remember_page(st.lock, st.page_cache, ck, (resp.status, payload, headers, resp.items, resp.folders))
            rec["bytes_out"] = self._send(resp.status, payload, headers=headers, gzip_ok=False, request_id=rid)
            return
        rec["bytes_out"] = self._send(resp.status, payload, headers=resp.headers, request_id=rid)

    def _run(self, st, args, addr, r, ctx):
        """Runs a routed request inside its concurrency slot: latency, the every-N faults (counted
        over the requests in scope), then the endpoint. Returns (fault, response)."""
        if args.latency_ms:
            time.sleep(args.latency_ms / 1000.0)
        fault = None
        if not st.fault_boxes or addr in st.fault_boxes:
            with st.lock:
                st.fault_seq += 1
                n = st.fault_seq
            for kind, every in (("http503", args.http503_every), ("http429", args.http429_every),
                                ("drop", args.drop_every), ("truncate", args.truncate_every),
                                ("malformed", args.malformed_every), ("huge", args.huge_every)):
                if every and n % every == 0:
                    fault = kind
                    break
        if fault == "http503":
            raise errors.GraphError(503, "ServiceUnavailable", "Service Unavailable",
                                    headers=[("Retry-After", args.retry_after)], fault="http503")
        if fault == "http429":
            raise errors.GraphError(429, "TooManyRequests", "Please retry again later.",
                                    headers=[("Retry-After", args.retry_after)], fault="http429")
        ctx.huge = fault == "huge"
        try:
            return fault, r.run()
        except errors.GraphError:
            raise
        except Exception as e:  # a bug must answer, never drop the thread silently
            sys.stderr.write("graphserver: internal error in %s: %r\n" % (r.name, e))
            raise errors.GraphError(500, "InternalServerError", "An internal server error occurred: %s"
                                    % type(e).__name__) from None

    def _dump(self, rec, data, what):
        d = self.server.state.args.dump_dir
        if not d:
            return
        seq = rec["seq"]
        name = "".join(c for c in (rec.get("endpoint") or "error") if c.isalnum() or c == ".")[:40]
        meta = {"method": rec["method"], "path": rec["path"], "query": self.path.partition("?")[2][:4000],
                "status": rec["status"], "endpoint": rec.get("endpoint"), "prefer": self.headers.get_all("Prefer")}
        try:
            base = os.path.join(d, "%06d-%s" % (seq, name))
            with open(base + "-%s.json" % what, "wb") as f:
                f.write(data)
            with open(base + "-request.json", "w", encoding="utf-8") as f:
                json.dump(meta, f)
        except OSError as e:
            sys.stderr.write("graphserver: cannot dump: %s\n" % e)


class Server(httpbase.Server):
    def __init__(self, addr, state, ssl_ctx):
        self.state = state
        super().__init__(addr, Handler, state.args, ssl_ctx, state.args.max_connections)


def build_parser():
    p = argparse.ArgumentParser(prog="graphserver.py",
                                description="ostrecon's test Microsoft Graph server (127.0.0.1 only).")
    g = p.add_argument_group("serving")
    g.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick one; printed on stdout)")
    httpbase.repeatable(g, "--mailbox", "FILE.jsonl", help="snapshot file to serve (repeatable)")
    httpbase.repeatable(g, "--mailbox-dir", "DIR", help="serve every *.jsonl in DIR")
    httpbase.repeatable(g, "--advance-to", "FILE.jsonl",
                        help="a later snapshot of a served mailbox, switched to by POST /_graph/advance or SIGUSR1 "
                             "(repeatable: several rounds)")
    g.add_argument("--tokens", metavar="FILE", help="static bearer tokens (JSON; ewsserver's format plus roles)")
    g.add_argument("--users", metavar="FILE", help="ewsserver's users file, to read its tokens file")
    g.add_argument("--identity", metavar="CONFIG", help="serve the identity platform endpoints (identity.py) "
                                                        "with this apps/tenants file and accept its tokens")
    g.add_argument("--tenant", metavar="GUID", help="tenant id in mailbox ids (default: one per mail domain)")
    g.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    g.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    g.add_argument("--pid-file", metavar="FILE")
    g.add_argument("--log", metavar="FILE", help="append one JSON line per request")
    g.add_argument("--stats-file", metavar="FILE", help="write the counters as JSON at shutdown")
    g.add_argument("--dump-dir", metavar="DIR", help="write every response body (and its request line) to DIR")
    g.add_argument("--page-size", type=int, default=10, metavar="N", help="default page of lists (Graph: 10)")
    g.add_argument("--delta-page-size", type=int, default=10, metavar="N",
                   help="default page of delta rounds without odata.maxpagesize (Graph: 10)")
    g.add_argument("--max-page-size", type=int, default=1000, metavar="N",
                   help="cap on $top and odata.maxpagesize")
    g.add_argument("--cache-pages", action="store_true",
                   help="answer a request met before (same query, headers and mailbox generation) with the "
                        "bytes sent then, after --latency-ms (benchmarks: the server is not the slow side; "
                        "faults and the per-mailbox concurrency limit do not apply to such answers)")
    g.add_argument("--no-source-key", action="store_true",
                   help="never return 0x65E0, 0x65E2, 0x65E3 (clients must derive keys from ids)")
    g.add_argument("--undeclared-properties", action="store_true",
                   help="add wellKnownName and parentMailboxUrl to mailboxFolder (in Microsoft's examples, "
                        "not in the v1.0 CSDL)")
    g.add_argument("--max-request-bytes", type=int, default=1 << 20)
    g.add_argument("--max-connections", type=int, default=32)
    g.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds (idle keep-alive too)")
    g.add_argument("-v", "--verbose", action="store_true")
    f = p.add_argument_group("faults (N counts the requests in scope, 1-based)")
    httpbase.count_option(f, "--http429-every", help="429 TooManyRequests with Retry-After")
    httpbase.count_option(f, "--http503-every", help="503 serviceNotAvailable with Retry-After")
    f.add_argument("--retry-after", type=_retry_after, default="1", metavar="SECONDS",
                   help="Retry-After of 429/503 answers, integer or fractional (e.g. 0.25)")
    f.add_argument("--max-concurrent-per-mailbox", type=int, default=4, metavar="N",
                   help="requests in flight per app and mailbox before 429 MailboxConcurrency (0: no limit)")
    httpbase.count_option(f, "--drop-every", help="close the connection mid-response")
    httpbase.count_option(f, "--truncate-every", help="200 with half the JSON")
    httpbase.count_option(f, "--malformed-every", help="200 with broken JSON")
    httpbase.count_option(f, "--huge-every", help="the first object of a page gets a huge subject (or name, or type)")
    f.add_argument("--huge-bytes", type=int, default=20 << 20, metavar="N", help="size of the huge value")
    httpbase.count_option(f, "--latency-ms", metavar="MS", help="delay every API request")
    httpbase.count_option(f, "--expire-after", help="each token answers 401 (expired) after N requests")
    httpbase.count_option(f, "--gone-every",
                          help="every N-th use of a skip or delta token answers 410 SyncStateNotFound")
    httpbase.repeatable(f, "--gone-folder", "[ADDR:]PATH|ROLE",
                        help="the first token use for this folder answers 410 SyncStateNotFound")
    httpbase.count_option(f, "--resync-every",
                          help="every N-th token use answers 410 resyncRequired with a Location to start over")
    f.add_argument("--expand-on-delta-fails", action="store_true",
                   help="delta requests with $expand answer 500 InternalServerError, as reported of Graph")
    httpbase.repeatable(f, "--user-without-mailbox", "ADDR",
                        help="a user that exists but has no mailbox: 404 MailboxNotEnabledForRESTAPI")
    httpbase.count_option(f, "--duplicate-every",
                          help="every N-th page of a delta round repeats the last object of the page before")
    httpbase.count_option(f, "--filter-misses",
                          help="listings of items with a $filter on their time leave out every N-th item of the "
                               "folder (a server whose ranges miss items: ostrecon's count check)")
    httpbase.repeatable(f, "--quota-exceeded", "ADDR",
                        help="delta requests for this mailbox answer 403 ErrorQuotaExceeded")
    httpbase.repeatable(f, "--odata-disabled", "ADDR",
                        help="every request for this mailbox answers 403 'Access to OData is disabled'")
    httpbase.repeatable(f, "--access-policy", "APP=ADDR[,ADDR]",
                        help="application access policy: APP may read only these mailboxes")
    httpbase.repeatable(f, "--refuse-mailbox-api", "ADDR|*",
                        help="the mailbox API answers 403 for this mailbox (the mail API still works)")
    httpbase.repeatable(f, "--folder-error", "[ADDR:]PATH|ROLE=STATUS:CODE",
                        help="requests on this folder answer STATUS with Graph error CODE (repeatable)")
    httpbase.repeatable(f, "--fault-mailbox", "ADDR",
                        help="limit the every-N request faults to this mailbox (repeatable)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    for name in ("http429_every", "http503_every", "drop_every", "truncate_every", "malformed_every", "huge_every",
                 "latency_ms", "expire_after", "gone_every", "resync_every", "duplicate_every",
                 "filter_misses", "max_concurrent_per_mailbox", "max_request_bytes"):
        if getattr(args, name) < 0:
            print("graphserver: --%s must not be negative" % name.replace("_", "-"), file=sys.stderr)
            return 2
    if (args.max_connections < 1 or args.timeout <= 0 or not 1 <= args.page_size <= args.max_page_size
            or not 1 <= args.delta_page_size <= args.max_page_size or not 1 <= args.max_page_size <= 10000
            or not 1 <= args.huge_bytes <= 256 << 20):
        print("graphserver: bad --max-connections, --timeout, page sizes or --huge-bytes", file=sys.stderr)
        return 2
    if not httpbase.check_tls_args("graphserver", args):
        return 2
    try:
        state = State(args)
    except ConfigError as e:
        print("graphserver: %s" % e, file=sys.stderr)
        return 1
    httpd = httpbase.listen("graphserver", args, lambda addr, ssl_ctx: Server(addr, state, ssl_ctx))
    if httpd is None:
        return 1
    httpbase.write_pid_file(args.pid_file)

    def advance(signum, frame):
        threading.Thread(target=lambda: state.store.advance(None), daemon=True).start()
    httpbase.stop_on_signals(httpd)
    signal.signal(signal.SIGUSR1, advance)
    views = [gl[0] for gl in state.store.gens.values()]
    httpbase.serve(httpd, args, "serving %d mailbox(es), %d folders, %d items over %s%s" % (
        len(views), sum(len(v.mbx.folders) for v in views), sum(v.mbx.items_total for v in views),
        "https" if httpd.ssl_ctx else "http", "; identity endpoints on" if state.identity else ""),
        counters=state.snapshot, log=state.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
