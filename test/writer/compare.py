"""Compares what independent readers got out of a file written by ostwrite with the fixture's
expansion (ostwrite --expand). Usage:
  compare.py pff EXPANSION EXPORT_DIR          pffexport's directory tree
  compare.py readpst EXPANSION OUT_DIR          readpst -r -e output (IPM subtree only)
  compare.py pstx EXPANSION LISTING.json        the pst-extractor listing (pstx_list.js)
  compare.py keys EXPANSION LISTING.jsonl       keys in a pypff listing (pff_list.py): 0x65E0 in a
                                                PST; in an OST 0x67F4 with each replid tied to a
                                                GUID through the folder entry ids
Exit 0 when equal; otherwise prints every difference and exits 1."""
import collections
import email
import email.policy
import json
import os
import re
import sys


def load_expansion(path):
    folders, items = {}, []
    for line in open(path, encoding="utf-8"):
        o = json.loads(line)
        if o["type"] == "folder":
            folders[o["id"]] = o
        elif o["type"] == "item":
            items.append(o)
    return folders, items


def rel_names(folders, fid, top=None):
    """Folder names from the top folder (or below `top`) down to fid."""
    names = []
    while fid is not None and fid != top:
        f = folders[fid]
        names.append(f["name"])
        fid = f.get("parent_id")
    if top is not None and fid != top:
        return None
    return list(reversed(names))


def expected(folders, items, top=None, sanitize=lambda s: s, keep=lambda it: True):
    """{folder path tuple: Counter of subjects} for folders at or below top (excluded)."""
    exp = {}
    for fid in folders:
        names = rel_names(folders, fid, top)
        if names is None or (top is not None and not names):
            continue
        exp[tuple(sanitize(n) for n in names)] = collections.Counter()
    for it in items:
        if it.get("associated") or not keep(it):
            continue
        names = rel_names(folders, it["folder_id"], top)
        if names is None or not names:
            continue
        exp[tuple(sanitize(n) for n in names)][it.get("subject", "")] += 1
    return exp


def report(exp, got, what, empty_may_miss=False):
    bad = []
    for p in sorted(set(exp) | set(got)):
        if p not in got and empty_may_miss and not exp[p]:
            continue
        if p not in got:
            bad.append("%s: folder missing: %s" % (what, "/".join(p)))
        elif p not in exp:
            bad.append("%s: unexpected folder: %s" % (what, "/".join(p)))
        elif exp[p] != got[p]:
            def few(c):
                names = sorted(c.elements())
                return "%s%s" % (names[:5], " and %d more" % (len(names) - 5) if len(names) > 5 else "")
            bad.append("%s: %s: expected %d items, got %d; missing %s, unexpected %s" % (
                what, "/".join(p), sum(exp[p].values()), sum(got[p].values()),
                few(exp[p] - got[p]), few(got[p] - exp[p])))
    for b in bad[:40]:
        print(b)
    n_items = sum(sum(c.values()) for c in exp.values())
    if not bad:
        print("%s: ok, %d folders, %d items" % (what, len(exp), n_items))
    return 1 if bad else 0


ITEM_FILES = ("Message.txt", "Appointment.txt", "Contact.txt", "Task.txt", "Note.txt",
              "Meeting.txt", "Activity.txt", "Document.txt", "OutlookHeaders.txt")


def pff_subject(d):
    for name in ("OutlookHeaders.txt",) + ITEM_FILES:
        p = os.path.join(d, name)
        if not os.path.exists(p):
            continue
        for line in open(p, encoding="utf-8", errors="replace"):
            m = re.match(r"Subject:\s*(.*?)\s*$", line)
            if m:
                return m.group(1)
    return ""


def pff_sanitize(s):
    return s.replace("/", "_").replace("\\", "_")


def cmp_pff(exp_path, root):
    folders, items = load_expansion(exp_path)
    exp = expected(folders, items, sanitize=pff_sanitize)
    return report(exp, pff_tree(root), "pffexport")


def pff_tree(root):
    """{folder path: Counter of subjects} from pffexport's export directory."""
    got = {}

    def walk(d, rel):
        if rel:
            got[rel] = collections.Counter()
        for e in sorted(os.listdir(d)):
            p = os.path.join(d, e)
            if not os.path.isdir(p):
                continue
            if re.match(r"^[A-Z][a-z]+\d{5}$", e) and any(
                    os.path.exists(os.path.join(p, f)) for f in ITEM_FILES):
                got[rel][pff_subject(p)] += 1
            else:
                walk(p, rel + (e,))
    walk(root, ())
    return got


def cmp_readpst(exp_path, root):
    folders, items = load_expansion(exp_path)
    top = [f for f in folders.values() if f.get("role") == "msgfolderroot"][0]["id"]
    # readpst writes mail (IPM.Note*) as .eml and skips items of other classes it cannot render
    exp = expected(folders, items, top=top, sanitize=pff_sanitize,
                   keep=lambda it: it.get("class", "IPM.Note").startswith("IPM.Note"))
    tops = [e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e))]
    if len(tops) != 1:
        print("readpst: expected one top directory, got %s" % tops)
        return 1
    got = {}

    def walk(d, rel):
        if rel:
            got[rel] = collections.Counter()
        for e in sorted(os.listdir(d)):
            p = os.path.join(d, e)
            if os.path.isdir(p):
                walk(p, rel + (e,))
            elif e.endswith(".eml") and rel:
                with open(p, "rb") as fh:
                    msg = email.message_from_binary_file(fh, policy=email.policy.default)
                got[rel][str(msg.get("Subject", ""))] += 1
    walk(os.path.join(root, tops[0]), ())
    # readpst makes no directory for a folder it wrote nothing into
    return report(exp, got, "readpst", empty_may_miss=True)


def cmp_pstx(exp_path, listing):
    folders, items = load_expansion(exp_path)
    exp = expected(folders, items)
    got = {}
    for f in json.load(open(listing, encoding="utf-8")):
        path = tuple(f["path"])
        got[path] = collections.Counter(f["subjects"])
    # pst-extractor starts below the unnamed root folder, as the expansion does
    return report(exp, got, "pst-extractor")


def cmp_keys(exp_path, listing):
    folders, items = load_expansion(exp_path)
    rows = [json.loads(l) for l in open(listing, encoding="utf-8")]
    exp = collections.Counter()
    for f in folders.values():
        exp[("folder", tuple(rel_names(folders, f["id"])), f["name"], f["key"])] += 1
    for it in items:
        exp[("message", tuple(rel_names(folders, it["folder_id"])), it.get("subject", ""),
             it["key"])] += 1
    # replid -> GUID from the 46-byte folder entry ids (GUID at 22, GC at 38) on the store and
    # the Inbox, tied to folders through the GC of their PRQ_ID_SECURE4
    by_gc = collections.defaultdict(set)
    for r in rows:
        if r["type"] == "folder" and "id_secure4" in r:
            sec = bytes.fromhex(r["id_secure4"])
            by_gc[sec[2:8].hex()].add(int.from_bytes(sec[:2], "little"))
    guid_of = {}
    bad = []
    for r in rows:
        for tag, eid in r.get("entry_ids", {}).items():
            e = bytes.fromhex(eid)
            if len(e) != 46:
                continue
            guid, gc = e[22:38].hex(), e[38:44].hex()
            for replid in by_gc.get(gc, ()):
                if guid_of.setdefault(replid, guid) != guid:
                    bad.append("replid %d tied to two GUIDs" % replid)
    got = collections.Counter()
    for r in rows:
        if r["type"] not in ("folder", "message") or not r["path"]:
            continue
        if "source_key" in r:
            key = r["source_key"]
        elif "id_secure4" in r:
            sec = bytes.fromhex(r["id_secure4"])
            replid = int.from_bytes(sec[:2], "little")
            if replid not in guid_of:
                bad.append("replid %d of %s is tied to no GUID" % (replid, r["path"]))
                continue
            key = guid_of[replid] + sec[2:8].hex()
        else:
            bad.append("no key on %s %s" % (r["type"], r["path"]))
            continue
        label = r["path"][-1] if r["type"] == "folder" else r.get("subject", "")
        path = tuple(r["path"][:-1] if r["type"] == "folder" else r["path"])
        if r["type"] == "folder":
            path = tuple(r["path"])
        got[(r["type"], path, label, key)] += 1
    for k in sorted(set(exp) | set(got)):
        if exp[k] != got[k]:
            bad.append("%s: expected %d, found %d" % (k, exp[k], got[k]))
    for b in bad[:40]:
        print("keys:", b)
    if not bad:
        print("keys: ok, %d objects, replids %s" % (sum(exp.values()), sorted(guid_of.items())))
    return 1 if bad else 0


FOLDER_FIELDS = ("name", "path", "class", "role", "content_count", "unread_count", "assoc_count",
                 "change_key", "pcl")
ITEM_FIELDS = ("class", "subject", "message_id", "received", "sent", "created", "modified", "read",
               "msg_flags", "flag_status", "importance", "size", "associated", "change_key", "pcl")


def cmp_snap(exp_path, snap_path):
    """Every folder and item of the expansion is in the snapshot under the same key, with the same
    parent (by key) and every field the expansion has; nothing else in the snapshot has a key."""
    lines = [json.loads(l) for l in open(snap_path, encoding="utf-8")]
    if not lines or lines[-1].get("type") != "end":
        print("snapshot: no end line")
        return 1
    ef, ei = load_expansion(exp_path)
    sf = {o["id"]: o for o in lines if o["type"] == "folder"}
    si = [o for o in lines if o["type"] == "item"]
    errors = [o for o in lines if o["type"] == "error"]
    bad = ["snapshot error line: %s" % e for e in errors]

    def by_key(objs, what):
        m = {}
        for o in objs:
            if "key" in o:
                if o["key"] in m:
                    bad.append("%s key %s twice in the snapshot" % (what, o["key"]))
                m[o["key"]] = o
        return m
    sfk, sik = by_key(sf.values(), "folder"), by_key(si, "item")
    # A folder stored with replid 0 (fixture option ost_replid0, as in real OSTs) has no GUID in
    # the file: the reader gives its GC alone ("gc_only"); pair it on GC and path.
    gc_only = {(o["gc"], o.get("path")): o for o in sf.values() if o.get("key_origin") == "gc_only"}
    paired_by_gc = 0

    def parent_key(objs, o, field):
        p = o.get(field)
        return (objs[p].get("key") or objs[p].get("gc")) if p in objs else None

    def exp_parent_key(o, field):
        """The expansion's parent key, or its GC where the snapshot could only give that."""
        p = ef.get(o.get(field))
        if p is None:
            return None
        return p["key"] if p["key"] in sfk else p["gc"]
    for f in ef.values():
        g = sfk.get(f["key"])
        if g is None and (f["gc"], f["path"]) in gc_only:
            g = gc_only[(f["gc"], f["path"])]
            paired_by_gc += 1
        if g is None:
            bad.append("folder %s (%s) missing" % (f["path"], f["key"]))
            continue
        for k in FOLDER_FIELDS:
            if k in f and f[k] != g.get(k):
                bad.append("folder %s: %s is %r, expected %r" % (f["path"], k, g.get(k), f[k]))
        if "parent_id" in f and exp_parent_key(f, "parent_id") != parent_key(sf, g, "parent_id"):
            bad.append("folder %s: parent differs" % f["path"])
    for it in ei:
        g = sik.get(it["key"])
        if g is None:
            bad.append("item %s %r missing" % (it["id"], it.get("subject")))
            continue
        for k in ITEM_FIELDS:
            if k in it and it[k] != g.get(k):
                bad.append("item %s %r: %s is %r, expected %r" % (it["id"], it.get("subject"), k,
                                                                g.get(k), it[k]))
        if exp_parent_key(it, "folder_id") != parent_key(sf, g, "folder_id"):
            bad.append("item %s: in another folder" % it["id"])
    extra = (set(sfk) - {f["key"] for f in ef.values()}) | (set(sik) - {i["key"] for i in ei})
    for k in sorted(extra):
        bad.append("snapshot has an object the fixture does not: %s" % k)
    if len(si) != len(ei):
        bad.append("snapshot has %d items, the fixture %d" % (len(si), len(ei)))
    for b in bad[:40]:
        print("round trip:", b)
    if not bad:
        print("round trip: ok, %d folders (%d paired on GC alone), %d items" % (
            len(ef), paired_by_gc, len(ei)))
    return 1 if bad else 0


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, exp_path, other = sys.argv[1:4]
    if mode == "pff":
        return cmp_pff(exp_path, other)
    if mode == "readpst":
        return cmp_readpst(exp_path, other)
    if mode == "snap":
        return cmp_snap(exp_path, other)
    if mode == "keys":
        return cmp_keys(exp_path, other)
    if mode == "pstx":
        return cmp_pstx(exp_path, other)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
