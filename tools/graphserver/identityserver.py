#!/usr/bin/python3
"""ostrecon's test identity platform endpoint, alone: serves identity.py (the token endpoint, the device
code flow, discovery documents) on 127.0.0.1, for tests that need tokens and nothing else.
Usage and the configuration: docs/GRAPH_SERVER.md, "Identity platform endpoint", or --help."""

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(os.path.dirname(HERE), "testserver"))

import httpbase  # noqa: E402
import identity  # noqa: E402

MAX_REQUEST = 1 << 20


class Handler(httpbase.Handler):
    prog = "identityserver"

    def _send(self, status, headers, body):
        self.send_response(status)
        hdrs = {k.lower(): (k, v) for k, v in (headers or {}).items()}
        if "content-type" not in hdrs and body:
            self.send_header("Content-Type", "application/octet-stream")
        for k, v in hdrs.values():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self):
        t0 = time.monotonic()
        length = self.headers.get("Content-Length")
        body = b""
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > MAX_REQUEST:
                self.close_connection = True
                return self._send(413, {"Content-Type": "text/plain"}, b"request too large")
            body = self.rfile.read(n)
        elif self.command == "POST":
            self.close_connection = True
            return self._send(411, {"Content-Type": "text/plain"}, b"Content-Length required")
        events = []  # what identity.py reports of this request (this thread's list)
        self.server.tls.events = events
        try:
            got = self.server.identity.handle(self.command, self.path, self.headers, body)
        finally:
            self.server.tls.events = None
        if got is None:
            got = (404, {"Content-Type": "application/json"},
                   json.dumps({"error": "not_found", "error_description": "not an identity platform path"}).encode())
        status, headers, out = got
        try:
            self._send(status, headers, out)
        finally:
            log = self.server.log
            if log is not None:
                rec = {"time": httpbase.log_time(), "method": self.command,
                       "path": self.path.split("?")[0][:300], "status": status,
                       "ms": round((time.monotonic() - t0) * 1000, 1)}
                for ev in events:  # endpoint, tenant, client_id, grant_type, error: never a secret
                    rec.update({k: v for k, v in ev.items() if k != "status"})
                with self.server.log_lock:
                    log.write(json.dumps(rec, sort_keys=True) + "\n")
                    log.flush()

    def do_GET(self):
        self._guarded()

    do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_GET

    def _guarded(self):
        try:
            self._serve()
        except httpbase.CLIENT_GONE:
            self.close_connection = True


class Server(httpbase.Server):
    def __init__(self, addr, args, ident, ssl_ctx):
        self.identity = ident
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.log_lock = threading.Lock()
        self.tls = threading.local()
        super().__init__(addr, Handler, args, ssl_ctx)


def build_parser():
    p = argparse.ArgumentParser(prog="identityserver.py",
                                description="ostrecon's test identity platform endpoint (127.0.0.1 only).")
    p.add_argument("--config", required=True, metavar="FILE.json",
                   help="tenants, applications, users (docs/GRAPH_SERVER.md)")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick one; printed on stdout)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    p.add_argument("--pid-file", metavar="FILE")
    p.add_argument("--log", metavar="FILE", help="append one JSON line per request (no secrets, no tokens)")
    p.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not httpbase.check_tls_args("identityserver", args):
        return 2
    if args.timeout <= 0:
        print("identityserver: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        ident = identity.Identity(args.config, scheme="https" if args.tls_cert else "http")
    except identity.ConfigError as e:
        print("identityserver: %s" % e, file=sys.stderr)
        return 1
    httpd = httpbase.listen("identityserver", args, lambda addr, ssl_ctx: Server(addr, args, ident, ssl_ctx))
    if httpd is None:
        return 1

    def on_event(ev):
        events = getattr(httpd.tls, "events", None)
        if events is not None:
            events.append(ev)
    ident.on_event = on_event
    httpbase.write_pid_file(args.pid_file)
    httpbase.stop_on_signals(httpd)
    httpbase.serve(httpd, args, "serving %d tenant(s), %d application(s) over %s" % (
        len(ident.tenants), sum(len(t.apps) for t in ident.tenants), "https" if httpd.ssl_ctx else "http"),
        log=httpd.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
