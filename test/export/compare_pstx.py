"""Compares two pstx_dump.js dumps (pst-extractor's reading) of a cache file and of the .pst
`ostrecon export --all` made of it: every message in the same folder, with the same properties
(named ones by the name they map to), the same recipient rows, the same attachment table (columns
and rows, in order) and the same attachments (their own properties and data), recursively into
embedded messages; values byte by byte (SHA-256 over 512 bytes).

Usage: compare_pstx.py SOURCE.jsonl EXPORT.jsonl TOP_FOLDER_NAME
Exit 0 when every source message is in the export, equal, and the export holds nothing else;
prints the counts compared."""
import collections
import json
import sys

import compare_common

TOPS = ("Top of Personal Folders", "Top of Outlook data file", "Top of Information Store")


def strip_source(path):
    if len(path) >= 2 and path[0] == "Root - Mailbox" and path[1] == "IPM_SUBTREE":
        return tuple(path[2:])
    if path and path[0] in TOPS:
        return tuple(path[1:])
    return tuple(path)


def drop_derived_key(props):
    """The export writes PidTagSourceKey (0x65E0) where the cache stores only PRQ_ID_SECURE4
    (0x67F4), the key the listing derives (t_keys.sh checks it whole): a key whose global counter
    is the one in 0x67F4 is left out of the comparison, on both sides."""
    prq, sk = props.get("0x67f4/0014", ""), props.get("0x65e0/0102", "")
    if len(prq) == 21 and len(sk) == 49 and sk[-12:] == prq[-12:]:
        del props["0x65e0/0102"]


def load(path, strip):
    items = collections.defaultdict(list)
    errors = []
    for line in open(path, encoding="utf-8"):
        m = json.loads(line)
        if "error" in m:
            errors.append(m)
            continue
        folder = strip(m.pop("folder"))
        drop_derived_key(m.get("props", {}))
        items[folder].append((json.dumps(m, sort_keys=True), m))
    return items, errors


def subject(m):
    v = m["props"].get("0x0037/001f", "")
    try:
        return bytes.fromhex(v.split(":", 1)[1]).decode("utf-16-le", "replace")
    except ValueError:
        return v


def what_differs(a, b, where=""):
    """A short account of how message a differs from message b."""
    out = []
    pa, pb = a.get("props", {}), b.get("props", {})
    for k in sorted(set(pa) | set(pb)):
        if pa.get(k) != pb.get(k):
            out.append("%sproperty %s: %s / %s" % (where, k, str(pa.get(k))[:60], str(pb.get(k))[:60]))
    if a.get("recipients") != b.get("recipients"):
        out.append("%srecipients differ (%d / %d rows)" % (where, len(a.get("recipients", [])), len(b.get("recipients", []))))
    ta, tb = a.get("attachment_table"), b.get("attachment_table")
    if ta != tb:
        if ta and tb and ta["columns"] != tb["columns"]:
            out.append("%sattachment table columns: only in the source %s, only in the .pst %s" % (
                where, sorted(set(ta["columns"]) - set(tb["columns"])), sorted(set(tb["columns"]) - set(ta["columns"]))))
        else:
            out.append("%sattachment table rows differ" % where)
    for i, (x, y) in enumerate(zip(a.get("attachments", []), b.get("attachments", []))):
        out += what_differs(x, y, "%sattachment %d: " % (where, i + 1))
        if x.get("embedded") and y.get("embedded"):
            out += what_differs(x["embedded"], y["embedded"], "%sattachment %d: embedded: " % (where, i + 1))
    if len(a.get("attachments", [])) != len(b.get("attachments", [])):
        out.append("%s%d / %d attachments" % (where, len(a.get("attachments", [])), len(b.get("attachments", []))))
    return out


def count(m, c):
    c["properties"] += len(m.get("props", {}))
    c["recipients"] += len(m.get("recipients", []))
    if m.get("attachment_table"):
        c["attachment table rows"] += len(m["attachment_table"]["rows"])
    for a in m.get("attachments", []):
        c["attachments"] += 1
        c["attachment properties"] += len(a.get("props", {}))
        if a.get("embedded"):
            c["embedded messages"] += 1
            count(a["embedded"], c)


def main():
    src, exp, top = sys.argv[1:4]
    s_items, s_err = load(src, strip_source)
    e_items, e_err = load(exp, lambda path: compare_common.export_folder(path, top))
    bad = []
    for e in e_err:
        bad.append("pst-extractor cannot read a message of the .pst: %s" % e["error"])
    counts = collections.Counter()
    for folder in sorted(set(s_items) | set(e_items)):
        a = collections.Counter(k for k, _ in s_items.get(folder, []))
        b = collections.Counter(k for k, _ in e_items.get(folder, []))
        for k, m in s_items.get(folder, []):
            if a[k] and b[k]:
                counts["messages"] += 1
                count(m, counts)
                a[k] -= 1
                b[k] -= 1
            elif a[k]:
                msg = "%s: %r is not in the .pst as the source has it" % ("/".join(folder), subject(m))
                same = [x for _, x in e_items.get(folder, []) if subject(x) == subject(m)]
                if same:
                    msg += ": " + "; ".join(what_differs(m, same[0])[:6])
                bad.append(msg)
                a[k] -= 1
        for k, m in e_items.get(folder, []):
            if b[k] > 0:
                bad.append("%s: the .pst has %r, which the source does not" % ("/".join(folder), subject(m)))
                b[k] -= 1
    lines = ["pst-extractor: compared %s" % dict(counts)]
    if s_err:
        lines.append("pst-extractor: %d messages of the source it cannot read itself" % len(s_err))
    return compare_common.report("pst-extractor", bad, lines,
                                 "pst-extractor: ok, %d messages equal property by property" % counts["messages"])


if __name__ == "__main__":
    sys.exit(main())
