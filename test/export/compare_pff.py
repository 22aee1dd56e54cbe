"""Compares what libpff's pffexport (a reader we did not write) gets out of a cache file and out of
the .pst `ostrecon export --all` made of it: every item, property by property (pffexport -d dumps
each item's values; named properties are compared by the name they map to, since the new file
numbers them anew), every recipient row, the attachment table's rows in order, every file
pffexport renders (bodies: text, HTML, RTF; headers) and every attachment's bytes, recursively
into embedded messages.

Usage: compare_pff.py SOURCE_EXPORT_DIR PST_EXPORT_DIR TOP_FOLDER_NAME
Exit 0 when every source item is in the .pst, equal; prints the counts compared."""
import collections
import hashlib
import os
import re
import sys

import compare_common

ITEM_DIR = re.compile(r"^[A-Z][a-z]+\d{5}$")
SKIP_FILES = {"ItemValues.txt"}


def parse_values(path):
    """[(set, key, value type, value hex)] from an ItemValues.txt; key is the entry type, or for a
    named property what it maps to."""
    out = []
    cur = {}
    val = []
    reading = False

    def flush():
        if cur:
            key = cur.get("maps", cur.get("type"))
            out.append((cur.get("set", "0"), key, cur.get("vtype"), "".join(val)))

    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("Set:"):
            flush()
            cur, val, reading = {"set": line.split()[-1]}, [], False
        elif line.startswith("Entry type:"):
            cur["type"] = line.split()[-1]
        elif line.startswith("Value type:"):
            cur["vtype"] = line.split()[-1]
        elif line.startswith("Maps to"):
            cur["maps"] = line.split(":", 1)[1].strip()
        elif line.startswith("Value:"):
            reading = True
        elif reading and re.match(r"^0x[0-9a-f]{8}: ", line):
            val.append(line[12:60].replace(" ", ""))
        elif not line.strip():
            reading = False
    flush()
    return out


def drop_derived_key(props):
    """The export writes PidTagSourceKey (0x65E0) where the cache stores only "0x000067f4"_ID_SECURE4
    (0x67F4), the key the listing derives (t_keys.sh checks it whole). A key whose global counter
    is the one in 0x67F4 is taken as derived from it and left out of the comparison, on both sides."""
    prq = next((p[-1] for p in props if p[1] == "0x000067f4"), None)
    if not prq or len(prq) != 16:
        return props
    return [p for p in props if not (p[1] == "0x000065e0" and len(p[-1]) == 44 and p[-1][32:] == prq[4:])]


def item_signature(d, counts):
    """A canonical description of the item in directory d (and its attachments)."""
    parts = []
    props = parse_values(os.path.join(d, "ItemValues.txt")) if os.path.exists(os.path.join(d, "ItemValues.txt")) else []
    props = drop_derived_key(props)
    counts["properties"] += len(props)
    parts.append(("props", tuple(sorted((k, t, v) for _, k, t, v in props))))
    rp = os.path.join(d, "RecipientsItemValues.txt")
    if os.path.exists(rp):
        rows = collections.defaultdict(list)
        for s, k, t, v in parse_values(rp):
            if k in ("0x000067f2", "0x000067f3"):
                continue  # a table's row id and version are its own
            rows[s].append((k, t, v))
        counts["recipients"] += len(rows)
        parts.append(("recipients", tuple(sorted(tuple(sorted(r)) for r in rows.values()))))
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isfile(p) and name not in SKIP_FILES and name != "RecipientsItemValues.txt":
            counts["rendered files"] += 1
            parts.append(("file", name, hashlib.sha256(open(p, "rb").read()).hexdigest()))
    ad = os.path.join(d, "Attachments")
    if os.path.isdir(ad):
        tp = os.path.join(ad, "ItemValues.txt")
        if os.path.exists(tp):
            # the attachment table: its rows in order, every cell (libpff prints absent ones too)
            rows = collections.defaultdict(list)
            for s, k, t, v in parse_values(tp):
                if k not in ("0x000067f2", "0x000067f3"):
                    rows[s].append((k, t, v))
            counts["attachment table rows"] += len(rows)
            parts.append(("attachment table", tuple(tuple(sorted(rows[s])) for s in sorted(rows, key=int))))
        for name in sorted(os.listdir(ad)):
            p = os.path.join(ad, name)
            if os.path.isfile(p) and name != "ItemValues.txt":
                counts["attachments"] += 1
                data = open(p, "rb").read()
                counts["attachment bytes"] += len(data)
                parts.append(("attachment", name, hashlib.sha256(data).hexdigest()))
            elif os.path.isdir(p):
                counts["embedded messages"] += 1
                parts.append(("embedded", name, item_signature(p, counts)))
    return tuple(parts)


def subject(d):
    for s, k, t, v in parse_values(os.path.join(d, "ItemValues.txt")):
        if k == "0x00000037":
            try:
                return bytes.fromhex(v).decode("utf-16-le", "replace")
            except ValueError:
                return v
    return ""


def item_dirs(root, strip_top):
    """{folder path: [item dir]} for every item pffexport wrote below root; strip_top maps the
    folder names on the way to the item to its folder path."""
    items = collections.defaultdict(list)

    def walk(d, rel):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not os.path.isdir(p):
                continue
            if ITEM_DIR.match(name) and os.path.exists(os.path.join(p, "ItemValues.txt")):
                items[strip_top(rel)].append(p)
            else:
                walk(p, rel + (name,))
    walk(root, ())
    return items


def collect(root, strip_top):
    """{folder path: [(signature, dir)]} for every item below root."""
    items = collections.defaultdict(list)
    counts = collections.Counter()
    for folder, dirs in item_dirs(root, strip_top).items():
        counts["items"] += len(dirs)
        items[folder] = [(item_signature(p, counts), p) for p in dirs]
    return items, counts


def strip_source(rel):
    for top in ("IPM_SUBTREE", "Top of Personal Folders"):
        if len(rel) >= 2 and rel[1] == top and rel[0] == "Root - Mailbox":
            return rel[2:]
        if rel and rel[0] == top:
            return rel[1:]
    return rel


def main():
    src, exp, top = sys.argv[1:4]
    s_items, s_counts = collect(src, strip_source)
    e_items, e_counts = collect(exp, lambda rel: compare_common.export_folder(rel, top))
    bad = []
    for folder in sorted(set(s_items) | set(e_items)):
        a = collections.Counter(sig for sig, _ in s_items.get(folder, []))
        b = collections.Counter(sig for sig, _ in e_items.get(folder, []))
        for sig in (a - b):
            d = [p for s, p in s_items[folder] if s == sig][0]
            msg = "%s: item %s (%r) not found equal in the .pst" % ("/".join(folder), os.path.basename(d), subject(d))
            # the export's item with the same subject, to name what differs
            same = [(s, p) for s, p in e_items.get(folder, []) if subject(p) == subject(d)]
            if same:
                mine, theirs = dict((x[0], x[1:]) for x in sig), dict((x[0], x[1:]) for x in same[0][0])
                for part in sorted(set(mine) | set(theirs)):
                    if mine.get(part) != theirs.get(part):
                        if part == "props":
                            sp, ep = set(mine[part][0]), set(theirs.get(part, ((),))[0])
                            msg += "; properties only in the source: %s; only in the .pst: %s" % (
                                sorted(sp - ep)[:4], sorted(ep - sp)[:4])
                        else:
                            msg += "; %s differs" % part
            bad.append(msg)
        for sig in (b - a):
            d = [p for s, p in e_items[folder] if s == sig][0]
            bad.append("%s: the .pst has an item the source does not: %s (%r)" % ("/".join(folder), os.path.basename(d),
                                                                                 subject(d)))
    return compare_common.report("pffexport", bad, ["pffexport: source %s; .pst %s" % (dict(s_counts), dict(e_counts))],
                                 "pffexport: ok, %d items equal property by property" % s_counts["items"])


if __name__ == "__main__":
    sys.exit(main())
