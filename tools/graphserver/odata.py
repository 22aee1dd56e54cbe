"""OData query options and Prefer preferences of the test Graph server, and its state tokens.

Only the subset in docs/GRAPH_SERVER.md ("Query options") is served; anything else answers 400
with a Graph error body, never a silently different answer.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import urllib.parse
import zlib

import errors
import render

SYSTEM_OPTIONS = frozenset(("$select", "$expand", "$top", "$skip", "$count", "$filter", "$orderby",
                            "$skiptoken", "$deltatoken", "$search", "$format", "$levels", "$apply",
                            "$compute", "$index", "$schemaversion", "$id"))
UNSUPPORTED = frozenset(("$search", "$format", "$levels", "$apply", "$compute", "$index", "$schemaversion", "$id"))
MAX_QUERY = 16384


class Query:
    __slots__ = ("select", "ext", "top", "skip", "count", "filter", "orderby", "skiptoken", "deltatoken",
                 "change_type", "hidden", "names")

    def __init__(self):
        self.select = None
        self.ext = None
        self.top = None
        self.skip = None
        self.count = False
        self.filter = None       # (property, op, value) — see parse_filter
        self.orderby = None
        self.skiptoken = None
        self.deltatoken = None
        self.change_type = None
        self.hidden = False
        self.names = []          # option names as given (for the log: never their values)

    def options(self):
        """The options a state token carries (everything but the tokens themselves)."""
        return {"s": list(self.select) if self.select is not None else None,
                "e": [list(x) for x in self.ext] if self.ext is not None else None,
                "t": self.top, "f": list(self.filter) if self.filter else None, "o": self.orderby,
                "c": self.change_type, "h": self.hidden}

    def has_options(self):
        return any(v not in (None, False) for v in self.options().values())

    @classmethod
    def from_options(cls, o):
        q = cls()
        q.select = tuple(o["s"]) if o.get("s") is not None else None
        q.ext = tuple(tuple(x) for x in o["e"]) if o.get("e") is not None else None
        q.top = o.get("t")
        q.filter = tuple(o["f"]) if o.get("f") else None
        q.orderby = o.get("o")
        q.change_type = o.get("c")
        q.hidden = bool(o.get("h"))
        return q


_EXPAND = re.compile(r"^\s*(singleValueExtendedProperties|multiValueExtendedProperties)\s*"
                     r"(?:\(\s*\$filter\s*=\s*(.*)\)\s*)?$", re.I | re.S)
_EXT_ID = re.compile(r"^\s*id\s+eq\s+'([^']*)'\s*$", re.I)
_TAG = re.compile(r"^(\w+)\s+0x([0-9a-f]{1,4})$", re.I)
_NAMED = re.compile(r"^(\w+)\s+\{[0-9a-f-]{36}\}\s+(name|id)\s+\S.*$", re.I)
_FILTER = re.compile(r"^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$", re.I)
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)$")


def parse_time(text):
    t = text.strip()
    if not _TIME.match(t):
        return None
    try:
        return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None


def _split_or(text):
    parts = re.split(r"\s+or\s+", text.strip(), flags=re.I)
    return [p for p in parts if p.strip()]


def parse_expand(value, entity):
    """$expand=singleValueExtendedProperties($filter=id eq 'Binary 0x65E0' or ...): returns the
    tuple of (tag, type) asked for. Named properties are accepted and never have a value here."""
    items = _top_level_split(value)
    ext = []
    for part in items:
        m = _EXPAND.match(part)
        if not m:
            name = part.split("(")[0].strip()
            raise errors.bad_request("The test server expands only singleValueExtendedProperties "
                                     "(with a $filter on id), not '%s'." % name[:100])
        if m.group(1).lower().startswith("multi"):
            continue  # snapshots hold no multi-value properties: nothing to return
        if m.group(2) is None:
            raise errors.bad_request("Expanding singleValueExtendedProperties needs a $filter on id.",
                                     "ErrorInvalidRequest")
        for clause in _split_or(m.group(2)):
            cm = _EXT_ID.match(clause)
            if not cm:
                raise errors.bad_request("Invalid filter clause: %s" % clause.strip()[:200], "BadRequest")
            pid = cm.group(1).strip()
            tm = _TAG.match(pid)
            if tm:
                ptype = render.EXT_TYPES.get(tm.group(1).lower())
                if ptype is None:
                    raise _bad_ext()
                ext.append((int(tm.group(2), 16), ptype))
            elif _NAMED.match(pid):
                continue
            else:
                raise _bad_ext()
    # numeric tags match whatever spelling was sent; keep the first of each
    seen = set()
    out = []
    for tag, ptype in ext:
        if (tag, ptype) not in seen:
            seen.add((tag, ptype))
            out.append((tag, ptype))
    return tuple(out)


def _bad_ext():
    return errors.bad_request("The extended property attribute combination is invalid.",
                              "ErrorInvalidExtendedProperty")


def _top_level_split(value):
    """Splits a $expand value on commas outside parentheses."""
    out, depth, cur = [], 0, []
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise errors.bad_request("Syntax error: unbalanced parentheses in $expand.")
    out.append("".join(cur))
    return [p for p in out if p.strip()]


def parse_select(value, entity):
    names = []
    for raw in value.split(","):
        n = raw.strip()
        if not n:
            continue
        if n == "*":
            raise errors.bad_request("$select=* is not supported by the test server; name the properties.")
        d = render.declared_name(entity, n)
        if d is None and entity == "message":
            for sub in ("eventMessageRequest", "eventMessageResponse"):
                d = d or render.declared_name(sub, n)
        if d is None and entity == "mailFolder":
            d = render.declared_name("mailSearchFolder", n)
        if d is None:
            raise errors.bad_request("Could not find a property named '%s' on type 'microsoft.graph.%s'."
                                     % (n[:100], entity), "RequestBroker--ParseUri")
        if d not in names:
            names.append(d)
    return tuple(names)


def _clause(text, filters, value):
    m = _FILTER.match(text)
    if not m or m.group(1).lower() not in filters or m.group(2).lower() not in filters[m.group(1).lower()]:
        raise errors.bad_request("The test server does not support this $filter: %s" % value[:200],
                                 "ErrorInvalidUrlQueryFilter")
    prop, op, val = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if val.startswith("'") and val.endswith("'") and len(val) >= 2:
        return (prop, op, val[1:-1].replace("''", "'"))
    t = parse_time(val)
    if t is None:
        raise errors.bad_request("Invalid filter value: %s" % val[:100], "ErrorInvalidUrlQueryFilter")
    return (prop, op, t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def parse_filter(value, filters, conjunction=False):
    """A $filter of one comparison the endpoint allows (with `conjunction`, of several joined by
    `and`, as a range of times is written): `filters` maps a declared property name (lowercase) to
    the operators allowed; values are a DateTimeOffset or a quoted string. Returns the clauses
    flattened, (property, op, value) for each."""
    parts = re.split(r"\s+and\s+", value.strip(), flags=re.I) if conjunction else [value]
    if len(parts) > 4:
        raise errors.bad_request("The test server takes at most 4 clauses in a $filter.", "ErrorInvalidUrlQueryFilter")
    out = ()
    for part in parts:
        out += _clause(part, filters, value)
    return out


def _int_option(name, value, lo, hi):
    try:
        n = int(value, 10)
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        raise errors.bad_request("Invalid value '%s' for query option %s." % (value[:40], name))
    return n


def parse(qs, entity, allowed, filters=None, orderby=("receivedDateTime",), conjunction=False):
    """Parses a query string for an endpoint. `allowed`: the option names the endpoint takes
    (system options with their $, custom ones lowercase); `entity`: the declared type $select and
    $expand refer to; `orderby`: the properties $orderby may name (ascending or descending);
    `conjunction`: a $filter may join comparisons with `and`. Raises GraphError for anything
    outside the subset."""
    q = Query()
    if len(qs) > MAX_QUERY:
        raise errors.GraphError(414, "BadRequest", "The query string is too long.")
    seen = set()
    for name, value in urllib.parse.parse_qsl(qs, keep_blank_values=True):
        low = name.lower()
        if low.startswith("$"):
            if low not in SYSTEM_OPTIONS:
                raise errors.bad_request("Query option '%s' is not allowed." % name[:40])
            if low in UNSUPPORTED or low not in allowed:
                raise errors.bad_request("Query option '%s' is not supported by this endpoint of the test server."
                                         % name[:40], "BadRequest")
        elif low not in allowed:
            continue  # Graph ignores custom query options it does not know
        if low in seen:
            raise errors.bad_request("Query option '%s' was specified more than once, but it must be specified "
                                     "at most once." % name[:40])
        seen.add(low)
        q.names.append(name[:40])
        if low == "$select":
            q.select = parse_select(value, entity)
        elif low == "$expand":
            q.ext = parse_expand(value, entity)
        elif low == "$top":
            q.top = _int_option("$top", value, 1, 1_000_000)
        elif low == "$skip":
            q.skip = _int_option("$skip", value, 0, 1 << 31)
        elif low == "$count":
            if value.lower() not in ("true", "false"):
                raise errors.bad_request("Invalid value '%s' for query option $count." % value[:40])
            q.count = value.lower() == "true"
        elif low == "$filter":
            q.filter = parse_filter(value, filters or {}, conjunction)
        elif low == "$orderby":
            words = value.split()
            prop = next((p for p in orderby if words and words[0].lower() == p.lower()), None)
            if prop is None or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise errors.bad_request("The test server supports only $orderby=%s [asc|desc] here."
                                         % " or ".join(orderby), "ErrorInvalidUrlQuery")
            q.orderby = prop + (" desc" if len(words) == 2 and words[1].lower() == "desc" else " asc")
        elif low == "$skiptoken":
            q.skiptoken = value
        elif low == "$deltatoken":
            q.deltatoken = value
        elif low == "changetype":
            if value.lower() not in ("created", "updated", "deleted"):
                raise errors.bad_request("Invalid changeType '%s': created, updated or deleted." % value[:40])
            q.change_type = value.lower()
        elif low == "includehiddenfolders":
            if value.lower() not in ("true", "false"):
                raise errors.bad_request("Invalid value '%s' for includeHiddenFolders." % value[:40])
            q.hidden = value.lower() == "true"
    if q.skiptoken is not None and q.deltatoken is not None:
        raise errors.bad_request("A request takes a $skiptoken or a $deltatoken, not both.")
    return q


class Prefer:
    __slots__ = ("maxpagesize", "immutable", "applied")

    def __init__(self, header_values):
        self.maxpagesize = None
        self.immutable = False
        self.applied = []
        for h in header_values:
            for part in h.split(","):
                p = part.strip()
                if not p:
                    continue
                name, _, val = p.partition("=")
                name = name.strip().lower()
                val = val.strip().strip('"')
                if name == "odata.maxpagesize":
                    try:
                        n = int(val)
                    except ValueError:
                        n = 0
                    if n > 0:
                        self.maxpagesize = n
                elif name == "idtype":
                    if val.lower() == "immutableid":
                        self.immutable = True
                # other preferences (outlook.body-content-type, outlook.timezone, ...) change
                # nothing the server models and are not applied


# ---- state tokens ---------------------------------------------------------------------------

_TOKEN_KEY = b"ostrecon-graphserver-state-token-v1"
MAX_TOKEN = 8192


def make_token(payload):
    """Opaque, checksummed: URL-safe base64 of zlib(JSON) + 12 bytes of HMAC-SHA256."""
    body = zlib.compress(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode(), 6)
    mac = hmac.new(_TOKEN_KEY, body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(body + mac).decode("ascii").rstrip("=")


def read_token(text):
    """The payload of one of our tokens; raises ValueError for anything else."""
    if not text or len(text) > MAX_TOKEN or not re.match(r"^[A-Za-z0-9_-]+$", text):
        raise ValueError("not a token")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) < 13:
        raise ValueError("too short")
    body, mac = raw[:-12], raw[-12:]
    if not hmac.compare_digest(hmac.new(_TOKEN_KEY, body, hashlib.sha256).digest()[:12], mac):
        raise ValueError("checksum")
    d = zlib.decompressobj()
    data = d.decompress(body, 65536)
    if d.unconsumed_tail:
        raise ValueError("too large")
    payload = json.loads(data)
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise ValueError("version")
    return payload
