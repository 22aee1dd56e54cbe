"""Compares two readers we did not write across files: libpff's pffexport dump of a cache file that
pst-extractor cannot open (high encryption, 32-bit ANSI) and pst-extractor's dump (pstx_dump.js)
of the .pst `ostrecon export --all` made of it. Every message in the same folder with the same
properties (named ones by the LID or name they map to: pffexport gives no GUID), the same
recipient rows, the same attachment table rows in order, and the same attachment bytes.

Usage: compare_pff_pstx.py SOURCE_PFF_EXPORT_DIR EXPORT.jsonl TOP_FOLDER_NAME"""
import collections
import hashlib
import json
import os
import sys

import compare_common
import compare_pff
import compare_pstx

TABLE_OWN = ("0x000067f2", "0x000067f3")


def rep(data):
    return data.hex() if len(data) <= 512 else "%d:%s" % (len(data), hashlib.sha256(data).hexdigest())


def pff_props(path, table=False):
    """[(key, type, value)] of an ItemValues.txt; a table's rows when `table`."""
    rows = collections.defaultdict(list)
    vals = compare_pff.parse_values(path)
    if not table:
        vals = compare_pff.drop_derived_key(vals)
    for s, k, t, v in vals:
        if k in TABLE_OWN or (table and not v.strip("0")):
            continue  # a table's own columns; libpff shows an absent cell as an empty or zero one
        # parse_values keys a named property by what it maps to: a LID (0x...) or a string name
        key = k.lower().replace("0x0000", "0x") if k.startswith("0x") else "name:" + k
        rows[s].append((key, t[-4:].lower(), rep(bytes.fromhex(v))))
    if table:
        return [tuple(sorted(rows[s])) for s in sorted(rows, key=int)]
    return tuple(sorted(rows.get("0", [])))


def pff_item(d):
    sig = {"props": pff_props(os.path.join(d, "ItemValues.txt"))}
    rp = os.path.join(d, "RecipientsItemValues.txt")
    sig["recipients"] = tuple(sorted(pff_props(rp, table=True))) if os.path.exists(rp) else ()
    ad = os.path.join(d, "Attachments")
    rows, data = [], []
    if os.path.isdir(ad):
        if os.path.exists(os.path.join(ad, "ItemValues.txt")):
            rows = pff_props(os.path.join(ad, "ItemValues.txt"), table=True)
        for name in sorted(os.listdir(ad)):
            p = os.path.join(ad, name)
            if os.path.isfile(p) and name != "ItemValues.txt":
                data.append(rep(open(p, "rb").read()))
    sig["attachment_rows"] = tuple(rows)
    sig["attachment_data"] = tuple(sorted(data))
    return sig


def key_of(k):
    """pstx key "0x0037/001f" or "N:GUID:lid:0x8501/0003" -> (pffexport's key, type)."""
    name, t = k.rsplit("/", 1)
    if name.startswith("N:"):
        parts = name.split(":", 3)
        return (parts[3].lower() if parts[2] == "lid" else "name:" + parts[3]), t
    return name.lower(), t


def pstx_value(v):
    t, rest = v.split(":", 1)
    if rest == "noref":
        return rep(b"")
    if ":" in rest:
        return rest  # LEN:SHA
    return rep(bytes.fromhex(rest))


def pstx_item(m):
    def props(p, table=False):
        out = []
        for k, v in p.items():
            name, t = key_of(k)
            if table and not pstx_value(v).strip("0"):
                continue  # as libpff sees table cells: an empty or zero one is no different from an absent one
            out.append((name, t, pstx_value(v)))
        return tuple(sorted(out))

    mp = dict(m["props"])
    compare_pstx.drop_derived_key(mp)  # a key the export derived from 0x67F4 (compare_pff.drop_derived_key)
    sig = {"props": props(mp)}
    sig["recipients"] = tuple(sorted(props(r, True) for r in m.get("recipients", [])))
    t = m.get("attachment_table")
    sig["attachment_rows"] = tuple(props(r, True) for r in t["rows"]) if t else ()
    data = []
    for a in m.get("attachments", []):
        v = a.get("props", {}).get("0x3701/0102")
        if v:
            data.append(pstx_value(v))
    sig["attachment_data"] = tuple(sorted(data))
    return sig


def main():
    src, exp, top = sys.argv[1:4]
    s_items = compare_pff.item_dirs(src, compare_pff.strip_source)
    counts = collections.Counter()
    e_items = collections.defaultdict(list)
    for line in open(exp, encoding="utf-8"):
        m = json.loads(line)
        if "error" in m:
            print("pst-extractor cannot read a message of the .pst: %s" % m["error"])
            return 1
        e_items[compare_common.export_folder(m["folder"], top)].append(m)
    bad = []
    for folder in sorted(set(s_items) | set(e_items)):
        a = collections.Counter(json.dumps(pff_item(d), sort_keys=True) for d in s_items.get(folder, []))
        b = collections.Counter(json.dumps(pstx_item(m), sort_keys=True) for m in e_items.get(folder, []))
        for k in a:
            n = min(a[k], b.get(k, 0))
            counts["messages"] += n
            if a[k] > n:
                sig = json.loads(k)
                others = [json.loads(x) for x in b if x not in a]
                detail = ""
                if others:
                    o = others[0]
                    sp, ep = set(map(tuple, sig["props"])), set(map(tuple, o["props"]))
                    detail = "; only in the source %s; only in the .pst %s" % (sorted(sp - ep)[:3], sorted(ep - sp)[:3])
                    for part in ("recipients", "attachment_rows", "attachment_data"):
                        if sig[part] != o[part]:
                            detail += "; %s differ" % part
                bad.append("%s: %d source messages not found equal in the .pst%s" % ("/".join(folder), a[k] - n, detail))
        for k in b:
            if b[k] > a.get(k, 0):
                bad.append("%s: %d messages of the .pst not in the source" % ("/".join(folder), b[k] - a.get(k, 0)))
    for x in bad[:20]:
        print("libpff/pst-extractor:", x)
    print("libpff (source) / pst-extractor (.pst): %d messages equal" % counts["messages"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
