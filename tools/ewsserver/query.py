"""Query parts of the test EWS server's requests: IndexedPage/FractionalPage views and the paging
attributes of answers, and the subset of Restriction and SortOrder it evaluates."""

import datetime
import re

import xmlout as X
from xmlout import schema_error

M = "{%s}" % X.NS_M
T = "{%s}" % X.NS_T

FIND_LIMIT = 1000          # Exchange's default EWSFindCountLimit


def int_attr(el, name, default=None, required=False):
    v = el.get(name)
    if v is None:
        if required:
            raise schema_error("The required attribute '%s' is missing." % name)
        return default
    try:
        return int(v)
    except ValueError:
        raise schema_error("The '%s' attribute is invalid - The value '%s' is not an int." % (name, v)) from None


def page(el, total):
    """IndexedPage view -> (start, end, error). Without a view Exchange returns up to 1000."""
    if el is None:
        return 0, min(total, FIND_LIMIT), None
    tag = el.tag.replace(M, "")
    maxn = int_attr(el, "MaxEntriesReturned", FIND_LIMIT)
    if maxn <= 0:
        return 0, 0, ("ErrorInvalidPagingMaxRows", "The MaxEntriesReturned value must be greater than zero.")
    maxn = min(maxn, FIND_LIMIT)
    if tag.startswith("IndexedPage"):
        off = int_attr(el, "Offset", required=True)
        bp = el.get("BasePoint")
        if bp not in ("Beginning", "End"):
            raise schema_error("The 'BasePoint' attribute is invalid.")
        if off < 0:
            return 0, 0, ("ErrorInvalidIndexedPagingParameters", "The Offset must not be negative.")
        if bp == "Beginning":
            start = min(off, total)
            return start, min(total, start + maxn), None
        end = max(0, total - off)
        return max(0, end - maxn), end, None
    if tag.startswith("FractionalPage"):
        num = int_attr(el, "Numerator", required=True)
        den = int_attr(el, "Denominator", required=True)
        if den <= 0 or num < 0 or num > den:
            return 0, 0, ("ErrorInvalidIndexedPagingParameters", "Numerator/Denominator out of range.")
        start = total * num // den
        return start, min(total, start + maxn), None
    return 0, 0, ("ErrorInvalidRequest", "The %s view is not supported by this test server." % tag)


def paging_attrs(view, start, end, total):
    last = "true" if end >= total else "false"
    if view is not None and view.tag.replace(M, "").startswith("FractionalPage"):
        return ' NumeratorOffset="%d" AbsoluteDenominator="%d" IncludesLastItemInRange="%s" TotalItemsInView="%d"' % (
            end, total, last, total)
    if view is not None and view.get("BasePoint") == "End":
        last = "true" if start == 0 else "false"
        return ' IndexedPagingOffset="%d" IncludesLastItemInRange="%s" TotalItemsInView="%d"' % (total - start, last, total)
    return ' IndexedPagingOffset="%d" IncludesLastItemInRange="%s" TotalItemsInView="%d"' % (end, last, total)


# ---- restrictions and sort order (a useful subset) -------------------------------------------

def parse_time(v):
    if not v:
        return None
    v = re.sub(r"(\.\d{1,6})\d*", r"\1", v.strip()).replace("Z", "+00:00")
    try:
        d = datetime.datetime.fromisoformat(v)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d


ITEM_FIELDS = {
    "item:DateTimeReceived": ("time", lambda i: i.received),
    "item:DateTimeSent": ("time", lambda i: i.sent),
    "item:DateTimeCreated": ("time", lambda i: i.created),
    "item:LastModifiedTime": ("time", lambda i: i.modified),
    "item:Subject": ("str", lambda i: i.subject),
    "item:ItemClass": ("str", lambda i: i.cls),
    "item:Size": ("int", lambda i: i.size),
    "item:Importance": ("str", lambda i: {0: "Low", 1: "Normal", 2: "High"}.get(i.importance, "Normal")),
    "message:IsRead": ("bool", lambda i: i.read),
    "message:InternetMessageId": ("str", lambda i: i.message_id),
}
FOLDER_FIELDS = {
    "folder:DisplayName": ("str", lambda f: f.name),
    "folder:FolderClass": ("str", lambda f: f.cls),
    "folder:TotalCount": ("int", lambda f: f.total()),
    "folder:ChildFolderCount": ("int", lambda f: len(f.children)),
    "folder:UnreadCount": ("int", lambda f: f.unread_count()),
}


def _conv(kind, v):
    if v is None:
        return None
    if kind == "time":
        return parse_time(v) if isinstance(v, str) else v
    if kind == "int":
        return int(v)
    if kind == "bool":
        return v if isinstance(v, bool) else str(v).lower() == "true"
    return str(v)


class Unsupported(Exception):
    pass


def compile_restriction(el, fields):
    """Restriction element -> predicate; raises Unsupported for what this subset lacks."""
    tag = el.tag.replace(T, "")
    kids = list(el)
    if (tag == "Not" and len(kids) != 1) or (tag in ("And", "Or") and not kids):
        raise schema_error("The element '%s' has incomplete content." % tag)
    if tag in ("And", "Or"):
        preds = [compile_restriction(k, fields) for k in kids]
        return (lambda o: all(p(o) for p in preds)) if tag == "And" else (lambda o: any(p(o) for p in preds))
    if tag == "Not":
        p = compile_restriction(kids[0], fields)
        return lambda o: not p(o)
    if not kids or kids[0].tag != T + "FieldURI" or kids[0].get("FieldURI") not in fields:
        raise Unsupported("restriction on %s" % (kids[0].get("FieldURI") if kids else tag))
    kind, get = fields[kids[0].get("FieldURI")]
    if tag == "Exists":
        return lambda o: get(o) is not None
    if tag == "Contains":
        const = el.find(T + "Constant")
        needle = (const.get("Value") if const is not None else "") or ""
        mode = el.get("ContainmentMode", "Substring")
        ic = "Ignore" in (el.get("ContainmentComparison") or "")
        n = needle.lower() if ic else needle

        def contains(o):
            v = get(o)
            if v is None:
                return False
            v = v.lower() if ic else v
            return {"FullString": v == n, "Prefixed": v.startswith(n)}.get(mode, n in v)
        return contains
    ops = {"IsEqualTo": lambda a, b: a == b, "IsNotEqualTo": lambda a, b: a != b,
           "IsGreaterThan": lambda a, b: a > b, "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
           "IsLessThan": lambda a, b: a < b, "IsLessThanOrEqualTo": lambda a, b: a <= b}
    if tag not in ops:
        raise Unsupported(tag)
    const = el.find(T + "FieldURIOrConstant/" + T + "Constant")
    if const is None:
        raise Unsupported("comparison with a field")
    try:
        rhs = _conv(kind, const.get("Value"))
    except ValueError:
        raise Unsupported("constant %r" % const.get("Value")) from None
    if rhs is None:
        raise Unsupported("constant %r" % const.get("Value"))
    cmp = ops[tag]

    def compare(o):
        v = _conv(kind, get(o))
        if v is None:
            return tag == "IsNotEqualTo"
        return cmp(v, rhs)
    return compare


def apply_sort(objs, sort_el, fields):
    if sort_el is None:
        return objs
    orders = list(sort_el)
    for fo in reversed(orders):     # stable sorts, least significant first
        uri = fo.find(T + "FieldURI")
        if uri is None or uri.get("FieldURI") not in fields:
            raise Unsupported("sort on this field")
        kind, get = fields[uri.get("FieldURI")]
        desc = fo.get("Order") == "Descending"
        objs = sorted(objs, key=lambda o: (get(o) is not None, _conv(kind, get(o)) if get(o) is not None else 0), reverse=desc)
    return objs
