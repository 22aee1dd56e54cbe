"""HTTP plumbing shared by ostrecon's test servers (tools/ewsserver/ewsserver.py,
tools/graphserver/graphserver.py, tools/graphserver/identityserver.py): a threading server on
127.0.0.1 with optional TLS (handshake in the connection's thread) and a cap on connections, a
handler base that answers as IIS does, and the start-up and shutdown steps (pid file, the
"listening on" line, SIGTERM/SIGINT, the counters file). Each server keeps its own protocol.
A server imports it after putting this folder on sys.path, relative to its own file."""

import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
import zlib

# What a client that goes away mid-request raises while it is read or answered.
CLIENT_GONE = (ConnectionError, socket.timeout, ssl.SSLError)
POLL_INTERVAL = 0.2


class ConfigError(Exception):
    """A configuration (a file, an option) the server cannot serve with: said, exit 1."""


def gzip_body(body):
    """A body as gzip: level 1, a third of level 5's CPU for a 10 % larger body (the answers are
    repetitive text, about 11:1 either way); no time stamp, as IIS sends none."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


PAGE_CACHE_MAX = 20000  # answers --cache-pages keeps before it starts again


def remember_page(lock, cache, key, entry):
    """Keeps an answer for --cache-pages (a bounded dict, emptied when full)."""
    with lock:
        if len(cache) >= PAGE_CACHE_MAX:
            cache.clear()
        cache[key] = entry


def load_json(path, what):
    """The JSON document in path; ConfigError naming `what` file it is when it cannot be read."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError("%s file %s: %s" % (what, path, e)) from None


def log_time():
    """The time field of a request log line (UTC, to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Server(http.server.ThreadingHTTPServer):
    """Serves `handler` on addr; `args` is the server's parsed command line (its timeout and
    verbose flag are read here). max_connections: connections served at once, the others wait
    up to 10 s for a slot and are then closed; None for no cap."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, args, ssl_ctx, max_connections=None):
        self.args = args
        self.ssl_ctx = ssl_ctx
        self.slots = threading.BoundedSemaphore(max_connections) if max_connections else None
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            # Handshake in the connection's thread (first read), not in the accept loop.
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def process_request(self, request, client_address):
        if self.slots is None:
            return super().process_request(request, client_address)
        if not self.slots.acquire(timeout=10):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            request.settimeout(self.args.timeout)
            if isinstance(request, ssl.SSLSocket):
                request.do_handshake()
            super().process_request_thread(request, client_address)
        except (OSError, ssl.SSLError):
            self.shutdown_request(request)
        finally:
            if self.slots is not None:
                self.slots.release()

    def handle_error(self, request, client_address):
        if self.args.verbose:
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers as IIS does (HTTP/1.1, Server: Microsoft-IIS/10.0); logs to stderr under the
    server's name (`prog`) with -v; the socket timeout is the server's --timeout."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    prog = "testserver"

    def log_message(self, fmt, *a):
        if self.server.args.verbose:
            sys.stderr.write("%s: %s\n" % (self.prog, fmt % a))

    def setup(self):
        self.timeout = self.server.args.timeout
        super().setup()

    def id_headers(self, request_id):
        """Headers naming the request, after Content-Length (a server adds its own)."""
        return [("request-id", request_id)]

    def send_body(self, status, body, ctype, headers=(), gzip_ok=True, request_id=None):
        """Answers with body (gzip when the client takes it and gzip_ok); returns the bytes sent."""
        if body and gzip_ok and "gzip" in (self.headers.get("Accept-Encoding") or "").lower():
            body = gzip_body(body)
            headers = list(headers) + [("Content-Encoding", "gzip")]
        self.send_response(status)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in self.id_headers(request_id or str(uuid.uuid4())):
            self.send_header(k, v)
        for k, v in headers:
            self.send_header(k, v)
        with_body = body and self.command != "HEAD"
        if with_body and self.request_version != "HTTP/0.9":
            # Headers and body in one write: one segment for small answers, one wake-up for the
            # client instead of two.
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(body)
            self.flush_headers()
        else:
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        return len(body)

    def drop(self, status, payload, ctype, headers=()):
        """Announces the whole body, sends half of it, then closes the connection."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def check_tls_args(prog, args):
    """False (after saying so) when only one of --tls-cert and --tls-key is given."""
    if bool(args.tls_cert) != bool(args.tls_key):
        print("%s: --tls-cert and --tls-key go together" % prog, file=sys.stderr)
        return False
    return True


def listen(prog, args, make_server):
    """The server make_server(addr, ssl_ctx) builds on 127.0.0.1:--port, with TLS (1.2 or later)
    when --tls-cert is given; None (after saying why) when the certificate or the port fails."""
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print("%s: TLS certificate: %s" % (prog, e), file=sys.stderr)
            return None
    try:
        return make_server(("127.0.0.1", args.port), ssl_ctx)
    except OSError as e:
        print("%s: cannot listen on 127.0.0.1:%d: %s" % (prog, args.port, e), file=sys.stderr)
        return None


def write_pid_file(path):
    if path:
        with open(path, "w") as f:
            f.write("%d\n" % os.getpid())


def stop_on_signals(httpd):
    """SIGTERM and SIGINT end serve_forever (from another thread, as shutdown() must be called)."""
    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve(httpd, args, banner, counters=None, log=None, before_close=None):
    """Prints "listening on 127.0.0.1:PORT" (what tests wait for) and banner, serves until
    stopped, then: before_close(), the socket closed, counters() written to --stats-file
    (atomically), log closed, --pid-file removed."""
    print("listening on 127.0.0.1:%d" % httpd.server_address[1], flush=True)
    print(banner, flush=True)
    try:
        httpd.serve_forever(poll_interval=POLL_INTERVAL)
    finally:
        if before_close is not None:
            before_close()
        httpd.server_close()
        stats_file = getattr(args, "stats_file", None)
        if stats_file and counters is not None:
            tmp = stats_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(counters(), f, sort_keys=True)
            os.replace(tmp, stats_file)
        if log:
            log.close()
        if args.pid_file:
            try:
                os.unlink(args.pid_file)
            except OSError:
                pass


def count_option(group, option, help, metavar="N"):
    """An option taking a whole number, 0 (off) by default: the every-N faults and the like."""
    group.add_argument(option, type=int, default=0, metavar=metavar, help=help)


def repeatable(group, option, metavar, help=None):
    """An option that may be given more than once (a list, None when never given)."""
    group.add_argument(option, action="append", metavar=metavar, help=help)
