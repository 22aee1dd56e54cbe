"""A tiny HTTP server for the hardening tests: answers every POST with the next of the given
bodies (the last one repeats), with HTTP status 200 unless a body file is named STATUS:FILE
(a 3xx status also sends a Location: to /elsewhere on the same server).
"@PORT@" in a body becomes the server's own port. Every request line goes to --log, so a test can tell whether the client (or its XML parser)
fetched anything else. Listens on 127.0.0.1 only; prints "listening on 127.0.0.1:PORT"."""
import argparse
import http.server
import socketserver
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("bodies", nargs="+")
    a = ap.parse_args()
    answers = []
    for spec in a.bodies:
        status, _, path = spec.partition(":") if spec[:3].isdigit() and spec[3:4] == ":" else ("200", "", spec)
        with open(path, "rb") as f:
            answers.append((int(status), f.read()))
    log = open(a.log, "a", buffering=1)
    state = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            log.write("GET %s\n" % self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            log.write("POST %s\n" % self.path)
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            status, body = answers[min(state["n"], len(answers) - 1)]
            state["n"] += 1
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:%d/elsewhere" % self.server.server_address[1])
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", 0), Handler)
    port = str(srv.server_address[1]).encode()
    answers[:] = [(st, body.replace(b"@PORT@", port)) for st, body in answers]
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
