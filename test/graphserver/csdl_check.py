#!/usr/bin/python3
"""Checks Graph JSON payloads against Microsoft's CSDL of Graph v1.0.

Every object's type is resolved (the collection's type from the request path, or the object's
@odata.type, which must be that type or derived from it); every property name must be declared on
the type or one of its base types (navigation properties included), and every value must have the
declared Edm type: strings, integers in the range of Int32/Int64, booleans, DateTimeOffset in ISO
8601, enums by member name, complex types (followupFlag, emailAddress, ...) recursively, and
collections. Annotations are OData's (@odata.context, .type, .etag, .id, .nextLink, .deltaLink,
.count) and @removed on delta entries. Error responses are checked against Graph's error shape.

    csdl_check.py --csdl graph-v1.0-csdl.xml --dump DIR          # a --dump-dir of graphserver.py
    csdl_check.py --csdl graph-v1.0-csdl.xml --type 'Collection(microsoft.graph.message)' FILE...
    csdl_check.py --csdl graph-v1.0-csdl.xml --error FILE...

Exit 0 when everything conforms, 1 with one line per problem otherwise.
"""

import argparse
import base64
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
ANNOTATIONS = frozenset(("@odata.context", "@odata.type", "@odata.etag", "@odata.id", "@odata.nextLink",
                         "@odata.deltaLink", "@odata.count"))
_DTO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_TOD = re.compile(r"^\d\d:\d\d(:\d\d(\.\d{1,12})?)?$")
_DUR = re.compile(r"^-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
INT_RANGES = {"Edm.Byte": (0, 255), "Edm.SByte": (-128, 127), "Edm.Int16": (-2**15, 2**15 - 1),
              "Edm.Int32": (-2**31, 2**31 - 1), "Edm.Int64": (-2**63, 2**63 - 1)}


class Schema:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.types = {}    # full name -> dict(kind, base, props {name: (type, nullable)}, navs {name: type})
        self.enums = {}    # full name -> (members, is_flags)
        self.aliases = {}
        for s in root.iter(EDM + "Schema"):
            ns = s.get("Namespace")
            if s.get("Alias"):
                self.aliases[s.get("Alias")] = ns
        for s in root.iter(EDM + "Schema"):
            ns = s.get("Namespace")
            for el in s:
                tag = el.tag[len(EDM):] if el.tag.startswith(EDM) else el.tag
                name = "%s.%s" % (ns, el.get("Name"))
                if tag in ("EntityType", "ComplexType"):
                    t = {"kind": tag, "base": self.full(el.get("BaseType")) if el.get("BaseType") else None,
                         "props": {}, "navs": {}, "open": el.get("OpenType") == "true"}
                    for p in el:
                        ptag = p.tag[len(EDM):]
                        if ptag == "Property":
                            t["props"][p.get("Name")] = (self.full(p.get("Type")), p.get("Nullable") != "false")
                        elif ptag == "NavigationProperty":
                            t["navs"][p.get("Name")] = self.full(p.get("Type"))
                    self.types[name] = t
                elif tag == "EnumType":
                    self.enums[name] = ({m.get("Name") for m in el if m.tag == EDM + "Member"},
                                        el.get("IsFlags") == "true")

    def full(self, t):
        """'graph.x' -> 'microsoft.graph.x', inside Collection(...) too."""
        if t is None:
            return None
        if t.startswith("Collection(") and t.endswith(")"):
            return "Collection(%s)" % self.full(t[11:-1])
        ns, _, name = t.rpartition(".")
        return "%s.%s" % (self.aliases.get(ns, ns), name)

    def chain(self, name):
        out = []
        seen = set()
        while name and name not in seen:
            seen.add(name)
            t = self.types.get(name)
            if t is None:
                break
            out.append(t)
            name = t["base"]
        return out

    def derives(self, name, base):
        n = name
        for _ in range(64):
            if n == base:
                return True
            t = self.types.get(n)
            if t is None or not t["base"]:
                return False
            n = t["base"]
        return False

    def member(self, tname, prop):
        """(kind, type, nullable) of a property declared on tname or its bases, or None."""
        for t in self.chain(tname):
            if prop in t["props"]:
                typ, nullable = t["props"][prop]
                return "prop", typ, nullable
            if prop in t["navs"]:
                return "nav", t["navs"][prop], True
        return None


class Checker:
    def __init__(self, schema):
        self.s = schema
        self.problems = []
        self.objects = 0

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (where, msg))

    def value(self, v, typ, nullable, where):
        s = self.s
        if v is None:
            if not nullable:
                self.bad(where, "null for a non-nullable %s" % typ)
            return
        if typ.startswith("Collection("):
            if not isinstance(v, list):
                self.bad(where, "want a JSON array for %s, got %s" % (typ, type(v).__name__))
                return
            for i, x in enumerate(v):
                self.value(x, typ[11:-1], True, "%s[%d]" % (where, i))
            return
        if typ in INT_RANGES:
            lo, hi = INT_RANGES[typ]
            if isinstance(v, bool) or not isinstance(v, int):
                self.bad(where, "want %s, got %s %s" % (typ, type(v).__name__, _short(v)))
            elif not lo <= v <= hi:
                self.bad(where, "%d out of range of %s" % (v, typ))
            return
        simple = {"Edm.String": str, "Edm.Boolean": bool}
        if typ in simple:
            if not isinstance(v, simple[typ]) or (typ == "Edm.String" and isinstance(v, bool)):
                self.bad(where, "want %s, got %s %s" % (typ, type(v).__name__, _short(v)))
            return
        if typ in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
            if isinstance(v, bool) or not (isinstance(v, (int, float)) or v in ("INF", "-INF", "NaN")):
                self.bad(where, "want %s, got %s" % (typ, _short(v)))
            return
        patterns = {"Edm.DateTimeOffset": _DTO, "Edm.Date": _DATE, "Edm.TimeOfDay": _TOD, "Edm.Duration": _DUR,
                    "Edm.Guid": _GUID}
        if typ in patterns:
            if not isinstance(v, str) or not patterns[typ].match(v):
                self.bad(where, "want %s, got %s" % (typ, _short(v)))
            return
        if typ == "Edm.Binary":
            try:
                t = v.replace("-", "+").replace("_", "/").rstrip("=")
                base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
            except (AttributeError, ValueError, TypeError):
                self.bad(where, "want base64 for Edm.Binary, got %s" % _short(v))
            return
        if typ in ("Edm.Stream", "Edm.Untyped"):
            return
        if typ in s.enums:
            members, flags = s.enums[typ]
            names = v.split(",") if isinstance(v, str) and flags else [v]
            if not isinstance(v, str) or any(n.strip() not in members for n in names):
                self.bad(where, "%s is not a member of %s" % (_short(v), typ))
            return
        if typ in s.types:
            if not isinstance(v, dict):
                self.bad(where, "want an object of %s, got %s" % (typ, type(v).__name__))
                return
            self.obj(v, typ, where)
            return
        self.bad(where, "type %s is not in the CSDL" % typ)

    def obj(self, o, typ, where, removed_ok=False):
        s = self.s
        self.objects += 1
        actual = typ
        ot = o.get("@odata.type")
        if ot is not None:
            if not isinstance(ot, str) or not ot.startswith("#"):
                self.bad(where, "@odata.type %s is not '#namespace.type'" % _short(ot))
                return
            actual = s.full(ot[1:])
            if actual not in s.types:
                self.bad(where, "@odata.type %s is not in the CSDL" % ot)
                return
            if not s.derives(actual, typ):
                self.bad(where, "@odata.type %s is not %s or derived from it" % (ot, typ))
                return
        if "@removed" in o:
            if not removed_ok:
                self.bad(where, "@removed outside a delta response")
            r = o["@removed"]
            if not isinstance(r, dict) or r.get("reason") not in ("changed", "deleted") or set(r) != {"reason"}:
                self.bad(where, "@removed must be {\"reason\": \"changed\"|\"deleted\"}, got %s" % _short(r))
            extra = set(o) - {"@removed", "@odata.type", "id"}
            if extra:
                self.bad(where, "a removed entry carries more than id: %s" % ", ".join(sorted(extra)))
            if not isinstance(o.get("id"), str):
                self.bad(where, "a removed entry without an id")
            return
        t = s.types[actual]
        for k, v in o.items():
            if k.startswith("@"):
                if k not in ANNOTATIONS:
                    self.bad(where, "unknown annotation %s" % k)
                elif k == "@odata.etag" and not isinstance(v, str):
                    self.bad(where, "@odata.etag is not a string")
                continue
            if "@" in k:
                prop, _, ann = k.partition("@")
                if s.member(actual, prop) is None or "@" + ann not in ANNOTATIONS:
                    self.bad(where, "undeclared property annotation %s" % k)
                continue
            m = s.member(actual, k)
            if m is None:
                if t["open"] and s.types[actual]["kind"] == "EntityType":
                    self.bad(where, "%s is not declared on %s (an open type: dynamic property?)" % (k, actual))
                else:
                    self.bad(where, "%s is not declared on %s or its base types" % (k, actual))
                continue
            kind, ptyp, nullable = m
            self.value(v, ptyp, nullable, "%s.%s" % (where, k))

    def payload(self, d, typ, where):
        """A response body: a collection (value + annotations) or one entity."""
        if not isinstance(d, dict):
            self.bad(where, "the body is not a JSON object")
            return
        if typ.startswith("Collection("):
            inner = typ[11:-1]
            if not isinstance(d.get("value"), list):
                self.bad(where, "a collection without a value array")
                return
            delta = "@odata.deltaLink" in d or ("@odata.nextLink" in d and "token=" in d["@odata.nextLink"])
            for k in d:
                if k != "value" and k not in ANNOTATIONS:
                    self.bad(where, "unexpected member %s next to value" % k)
            for k in ("@odata.nextLink", "@odata.deltaLink", "@odata.context"):
                if k in d and not isinstance(d[k], str):
                    self.bad(where, "%s is not a string" % k)
            if "@odata.nextLink" in d and "@odata.deltaLink" in d:
                self.bad(where, "both @odata.nextLink and @odata.deltaLink")
            for i, o in enumerate(d["value"]):
                if not isinstance(o, dict):
                    self.bad("%s.value[%d]" % (where, i), "not an object")
                    continue
                self.obj(o, inner, "%s.value[%d]" % (where, i), removed_ok=delta)
        else:
            self.obj(d, typ, where)

    def error(self, d, where):
        e = d.get("error") if isinstance(d, dict) else None
        if not isinstance(e, dict) or set(d) != {"error"}:
            self.bad(where, "an error body is {\"error\": {...}}")
            return
        for k in ("code", "message"):
            if not isinstance(e.get(k), str) or not e.get(k):
                self.bad(where, "error.%s is not a non-empty string" % k)
        inner = e.get("innerError")
        if not isinstance(inner, dict):
            self.bad(where, "error.innerError is missing")
            return
        for k in ("request-id", "client-request-id"):
            if not isinstance(inner.get(k), str) or not inner.get(k):
                self.bad(where, "innerError.%s is missing" % k)
        if not isinstance(inner.get("date"), str) or not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", inner["date"]):
            self.bad(where, "innerError.date is not yyyy-MM-ddTHH:mm:ss")
        extra = set(e) - {"code", "message", "innerError", "details", "target"}
        if extra:
            self.bad(where, "unexpected members of error: %s" % ", ".join(sorted(extra)))


def _short(v):
    t = repr(v)
    return t if len(t) < 80 else t[:77] + "..."


G = "microsoft.graph."
# Request path (below /v1.0, keys as segments, lower case) -> the type its 200 answer carries.
ROUTES = [
    (r"^/(users/[^/]+|me)/settings/exchange$", G + "exchangeSettings"),
    (r"^/(users/[^/]+|me)/mailfolders(/delta)?$", "Collection(%smailFolder)" % G),
    (r"^/(users/[^/]+|me)/mailfolders/[^/]+/childfolders$", "Collection(%smailFolder)" % G),
    (r"^/(users/[^/]+|me)/mailfolders/[^/]+$", G + "mailFolder"),
    (r"^/(users/[^/]+|me)/mailfolders/[^/]+/messages(/delta)?$", "Collection(%smessage)" % G),
    (r"^/(users/[^/]+|me)/(mailfolders/[^/]+/)?messages/[^/]+$", G + "message"),
    (r"^/(users/[^/]+|me)/calendars$", "Collection(%scalendar)" % G),
    (r"^/(users/[^/]+|me)/calendars/[^/]+$", G + "calendar"),
    (r"^/(users/[^/]+|me)/calendars/[^/]+/events$", "Collection(%sevent)" % G),
    (r"^/(users/[^/]+|me)/contactfolders(/delta)?$", "Collection(%scontactFolder)" % G),
    (r"^/(users/[^/]+|me)/contactfolders/[^/]+/childfolders$", "Collection(%scontactFolder)" % G),
    (r"^/(users/[^/]+|me)/contactfolders/[^/]+$", G + "contactFolder"),
    (r"^/(users/[^/]+|me)/contactfolders/[^/]+/contacts(/delta)?$", "Collection(%scontact)" % G),
    (r"^/admin/exchange/mailboxes/[^/]+/folders(/delta)?$", "Collection(%smailboxFolder)" % G),
    (r"^/admin/exchange/mailboxes/[^/]+/folders/[^/]+/childfolders(/delta)?$", "Collection(%smailboxFolder)" % G),
    (r"^/admin/exchange/mailboxes/[^/]+/folders/[^/]+$", G + "mailboxFolder"),
    (r"^/admin/exchange/mailboxes/[^/]+/folders/[^/]+/items(/delta)?$", "Collection(%smailboxItem)" % G),
    (r"^/admin/exchange/mailboxes/[^/]+/folders/[^/]+/items/[^/]+$", G + "mailboxItem"),
]


def type_of_path(path):
    p = path
    if p.lower().startswith("/v1.0"):
        p = p[5:]
    # OData key syntax: mailFolders('X') -> mailFolders/X; functions delta() -> delta
    p = re.sub(r"\('([^']*)'\)", r"/\1", p)
    p = p.replace("()", "")
    low = p.lower()
    for rx, t in ROUTES:
        if re.match(rx, low):
            return t
    return None


def check_dump(checker, d):
    files = sorted(glob.glob(os.path.join(d, "*-response.json")))
    counts = {"ok": 0, "error": 0, "skipped": 0}
    for f in files:
        meta_path = f[:-len("-response.json")] + "-request.json"
        with open(meta_path, encoding="utf-8") as mf:
            meta = json.load(mf)
        name = os.path.basename(f)
        try:
            with open(f, encoding="utf-8") as bf:
                body = json.load(bf)
        except ValueError as e:
            checker.bad(name, "not JSON: %s" % e)
            continue
        status = meta.get("status", 0)
        if status >= 400:
            checker.error(body, name)
            counts["error"] += 1
            continue
        typ = type_of_path(meta.get("path", ""))
        if typ is None:
            counts["skipped"] += 1
            checker.bad(name, "no type known for path %s" % meta.get("path"))
            continue
        checker.payload(body, typ, name)
        counts["ok"] += 1
    return len(files), counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csdl", required=True)
    ap.add_argument("--dump", help="a --dump-dir of graphserver.py")
    ap.add_argument("--type", help="the type of every FILE, e.g. Collection(microsoft.graph.message)")
    ap.add_argument("--error", action="store_true", help="FILEs are error bodies")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args(argv)
    checker = Checker(Schema(a.csdl))
    summary = ""
    if a.dump:
        n, counts = check_dump(checker, a.dump)
        if n == 0:
            checker.bad(a.dump, "no responses to check")
        summary = "%d responses (%d payloads, %d error bodies)" % (n, counts["ok"], counts["error"])
    for f in a.files:
        with open(f, encoding="utf-8") as fh:
            body = json.load(fh)
        if a.error:
            checker.error(body, f)
        elif a.type:
            checker.payload(body, a.type, f)
        else:
            ap.error("give --type or --error with FILEs")
    for p in checker.problems[:200]:
        print(p)
    if len(checker.problems) > 200:
        print("... %d more" % (len(checker.problems) - 200))
    print("%s%s%d objects checked, %d problems" % (summary, "; " if summary else "", checker.objects,
                                                   len(checker.problems)))
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
