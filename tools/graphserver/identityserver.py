#!/usr/bin/python3
"""ostrecon's test identity platform endpoint, alone: serves identity.py (the token endpoint, the device
code flow, discovery documents) on 127.0.0.1, for tests that need tokens and nothing else.
Usage and the configuration: docs/GRAPH_SERVER.md, "Identity platform endpoint", or --help."""

import argparse
import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import identity  # noqa: E402

MAX_REQUEST = 1 << 20


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, fmt, *a):
        if self.server.args.verbose:
            sys.stderr.write("identityserver: %s\n" % (fmt % a))

    def setup(self):
        self.timeout = self.server.args.timeout
        super().setup()

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
                rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": self.command,
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
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, args, ident, ssl_ctx):
        self.args = args
        self.identity = ident
        self.ssl_ctx = ssl_ctx
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.log_lock = threading.Lock()
        self.tls = threading.local()
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request_thread(self, request, client_address):
        try:
            request.settimeout(self.args.timeout)
            if isinstance(request, ssl.SSLSocket):
                request.do_handshake()
            super().process_request_thread(request, client_address)
        except (OSError, ssl.SSLError):
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        if self.args.verbose:
            super().handle_error(request, client_address)


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
    if bool(args.tls_cert) != bool(args.tls_key):
        print("identityserver: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("identityserver: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        ident = identity.Identity(args.config, scheme="https" if args.tls_cert else "http")
    except identity.ConfigError as e:
        print("identityserver: %s" % e, file=sys.stderr)
        return 1
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print("identityserver: TLS certificate: %s" % e, file=sys.stderr)
            return 1
    try:
        httpd = Server(("127.0.0.1", args.port), args, ident, ssl_ctx)
    except OSError as e:
        print("identityserver: cannot listen on 127.0.0.1:%d: %s" % (args.port, e), file=sys.stderr)
        return 1

    def on_event(ev):
        events = getattr(httpd.tls, "events", None)
        if events is not None:
            events.append(ev)
    ident.on_event = on_event
    port = httpd.server_address[1]
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    print("serving %d tenant(s), %d application(s) over %s" % (
        len(ident.tenants), sum(len(t.apps) for t in ident.tenants), "https" if ssl_ctx else "http"), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        if httpd.log is not None:
            httpd.log.close()
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
