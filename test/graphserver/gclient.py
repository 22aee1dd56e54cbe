"""A small Graph client for the tests of tools/graphserver: keep-alive HTTP(S), gzip, JSON, links
followed verbatim, and the key decoding a client does (source key from a REST or immutable id).
Written for the tests from the documented formats; it shares no code with the server."""

import base64
import gzip
import http.client
import json
import struct
import urllib.parse


def q(s):
    """Quotes a query value the way a client library does (spaces as %20, quotes kept readable)."""
    return urllib.parse.quote(s, safe="$(),='/:@")


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self._json = None

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.raw)
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())


class Client:
    def __init__(self, port, token=None, tls_ctx=None, gzip_ok=True, host="127.0.0.1", timeout=60):
        self.port = port
        self.host = host
        self.token = token
        self.tls_ctx = tls_ctx
        self.gzip_ok = gzip_ok
        self.timeout = timeout
        self.conn = None
        self.requests = 0
        self.scheme = "https" if tls_ctx else "http"
        self.base = "%s://%s:%d" % (self.scheme, host, port)

    def _connect(self):
        if self.tls_ctx:
            return http.client.HTTPSConnection(self.host, self.port, context=self.tls_ctx, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def get(self, url, headers=None, method="GET", body=None):
        """url: a path ('/v1.0/...') or a full link from a response (followed verbatim)."""
        if url.startswith("http://") or url.startswith("https://"):
            u = urllib.parse.urlsplit(url)
            assert u.port == self.port, "link to another server: %s" % url
            path = u.path + ("?" + u.query if u.query else "")
        else:
            path = url
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if self.gzip_ok:
            h["Accept-Encoding"] = "gzip"
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        self.requests += 1
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), v)
        if hdrs.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return Response(r.status, hdrs, raw)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def b64any(text):
    # Graph ids write '+' as '_' and '/' as '-' (the reverse of RFC 4648's base64url)
    t = text.replace("_", "+").replace("-", "/").rstrip("=")
    return base64.b64decode(t + "=" * (-len(t) % 4))


def key_of_id(text):
    """The 22-byte source key in a REST id (00 03, mailbox GUID, entry id whose last 24 bytes
    are the key and 2 pad bytes) or an immutable id (00 09 00, u16 46, ..., key, 2 pad bytes)."""
    raw = b64any(text)
    if raw[:3] == b"\x00\x09\x00":
        return raw[-24:-2].hex()
    assert raw[:2] == b"\x00\x03", "unknown id layout"
    glen = struct.unpack_from("<H", raw, 2)[0]
    pos = 4 + glen + 1
    elen = struct.unpack_from("<H", raw, pos)[0]
    eid = raw[pos + 2:]
    assert len(eid) == elen, "entry id length"
    return eid[-24:-2].hex()


def follow(client, url, headers=None, limit=100000):
    """A whole delta round or list: returns (objects in order, final response, pages)."""
    out = []
    pages = 0
    while True:
        r = client.get(url, headers)
        if r.status != 200:
            raise AssertionError("HTTP %d on %s: %s" % (r.status, url[:200], r.raw[:300]))
        d = r.json
        out.extend(d["value"])
        pages += 1
        if pages > limit:
            raise AssertionError("too many pages")
        url = d.get("@odata.nextLink")
        if not url:
            return out, r, pages


def snapshot(path):
    """Folders and items of a snapshot file: (header, folders by id, items list)."""
    header, folders, items = None, {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            t = o.get("type")
            if t == "snapshot":
                header = o
            elif t == "folder":
                folders[o["id"]] = o
            elif t == "item":
                items.append(o)
    return header, folders, items
