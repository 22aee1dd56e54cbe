"""The peer of `ostrecon diff` in bench/diff.sh: the comparison a person would script in Python
(standard library only) over the same two snapshots: every line parsed with json, items paired by
source key, and the pairs compared on what the diff compares (folder path, read state, flag,
importance, class, subject). Prints its counts, to be checked against the report's summary.
Usage: /usr/bin/python3 bench/diff_peer.py A.jsonl B.jsonl
"""
import json
import sys


def load(path):
    folders, items, top = {}, {}, ""
    with open(path, encoding="utf-8") as fp:
        for line in fp:
            rec = json.loads(line)
            kind = rec.get("type")
            if kind == "folder":
                folders[rec["id"]] = rec.get("path", "")
                if rec.get("role") == "msgfolderroot":
                    top = rec.get("path", "")
            elif kind == "item" and "key" in rec:
                # What is compared, kept as a tuple (the parsed lines themselves take 1.5 KB each).
                items.setdefault(rec["key"], (rec["folder_id"], read_state(rec), rec.get("flag_status", 0),
                                              rec.get("importance", 1), rec.get("class"), rec.get("subject", "")))
    # Folder paths under the top of the tree (the two sides name their tops differently).
    return {fid: path[len(top):] if path.startswith(top) else path for fid, path in folders.items()}, items


def read_state(it):
    flags = it.get("msg_flags")
    return bool(flags & 1) if flags is not None else it.get("read")


def main():
    (fa, ia), (fb, ib) = load(sys.argv[1]), load(sys.argv[2])
    missing = [0, 0]
    changed = moved = 0
    for key, a in ia.items():
        b = ib.get(key)
        if b is None:
            missing[1] += 1
            continue
        if fa.get(a[0]) != fb.get(b[0]):
            moved += 1
        elif a[1:] != b[1:]:
            changed += 1
    missing[0] = sum(1 for key in ib if key not in ia)
    print("paired %d missing %d/%d changed %d moved %d" % (len(ia) - missing[1], missing[0], missing[1], changed, moved))


main()
