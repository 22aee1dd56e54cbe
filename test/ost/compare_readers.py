"""Compares two snapshots of the same cache file made by the two readers (`ostrecon ost --reader
native` and `--reader libpff`): the same header facts, folders, items, replica table and integrity
counts, line for line after sorting. Prints the differences; exits 1 when there are any.
Usage: compare_readers.py NATIVE.jsonl LIBPFF.jsonl [--allow-errors]
With --allow-errors, error lines and the counts that follow from them may differ (a file damaged on
purpose, where the two readers may see different amounts of damage)."""
import json
import sys

IGNORED_HEADER = {"captured", "options"}
ERROR_DEPENDENT = {"unreadable_items", "unreadable_folders", "corrupted", "orphan_items", "mismatches"}


def load(path):
    out = {"header": None, "folders": {}, "items": {}, "errors": [], "integrity": None}
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            t = rec.get("type")
            if t == "header":
                out["header"] = {k: v for k, v in rec.items() if k not in IGNORED_HEADER}
            elif t == "folder":
                out["folders"][rec["id"]] = rec
            elif t == "item":
                out["items"][rec["id"]] = rec
            elif t == "error":
                out["errors"].append(rec)
            elif t == "integrity":
                out["integrity"] = rec
    return out


def diff_maps(kind, a, b, problems):
    for k in sorted(set(a) | set(b)):
        if k not in a:
            problems.append("%s %s: only in the libpff snapshot" % (kind, k))
        elif k not in b:
            problems.append("%s %s: only in the native snapshot" % (kind, k))
        elif a[k] != b[k]:
            for field in sorted(set(a[k]) | set(b[k])):
                if a[k].get(field) != b[k].get(field):
                    problems.append("%s %s: %s native %r, libpff %r" % (kind, k, field, a[k].get(field), b[k].get(field)))


def main():
    allow_errors = "--allow-errors" in sys.argv
    paths = [a for a in sys.argv[1:] if not a.startswith("--")]
    nat, pff = load(paths[0]), load(paths[1])
    problems = []
    if nat["header"] != pff["header"]:
        problems.append("header: native %r, libpff %r" % (nat["header"], pff["header"]))
    diff_maps("folder", nat["folders"], pff["folders"], problems)
    diff_maps("item", nat["items"], pff["items"], problems)
    ni, pi = dict(nat["integrity"] or {}), dict(pff["integrity"] or {})
    if allow_errors:
        for k in ERROR_DEPENDENT:
            ni.pop(k, None)
            pi.pop(k, None)
    else:
        key = lambda e: (e.get("scope", ""), e.get("id") or "", e.get("code", ""))
        ne, pe = sorted(map(key, nat["errors"])), sorted(map(key, pff["errors"]))
        if ne != pe:
            problems.append("errors: native %r, libpff %r" % (ne, pe))
    for k in sorted(set(ni) | set(pi)):
        if ni.get(k) != pi.get(k):
            problems.append("integrity %s: native %r, libpff %r" % (k, ni.get(k), pi.get(k)))
    for p in problems[:60]:
        print(p)
    if len(problems) > 60:
        print("... %d more" % (len(problems) - 60))
    print("%d folders, %d items compared; %d differences" % (len(nat["folders"]), len(nat["items"]), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
