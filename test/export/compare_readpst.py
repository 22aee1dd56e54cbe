"""Compares what readpst (libpst, a reader we did not write) writes out of a cache file and out of
the .pst `ostrecon export --all` made of it: the same files under the same names, byte for byte once
what readpst makes up on each run is set aside (MIME boundaries and .ics attachment names drawn from
rand(), the DTSTAMP of the run, and the UID it makes of the item's node id, which a new file
numbers anew).

Usage: compare_readpst.py SOURCE_DIR EXPORT_DIR   (the folders readpst -r -e wrote for each file)"""
import os
import re
import sys

MADE_UP = [
    (re.compile(rb"boundary-LibPST-iamunique-\d+_"), b"boundary-LibPST-iamunique-_"),
    (re.compile(rb"name=\"i\d+\.ics\""), b"name=\"i.ics\""),
    (re.compile(rb"^DTSTAMP:\d{8}T\d{6}Z", re.M), b"DTSTAMP:"),
    (re.compile(rb"^UID:0x[0-9a-f]+", re.M), b"UID:"),
]


def files(root):
    return sorted(os.path.relpath(os.path.join(dp, f), root) for dp, _, fn in os.walk(root) for f in fn)


def norm(data):
    for pattern, repl in MADE_UP:
        data = pattern.sub(repl, data)
    return data


def main():
    a, b = sys.argv[1:3]
    fa, fb = files(a), files(b)
    bad = ["only from the cache: %s" % f for f in sorted(set(fa) - set(fb))]
    bad += ["only from the .pst: %s" % f for f in sorted(set(fb) - set(fa))]
    same = 0
    for f in sorted(set(fa) & set(fb)):
        if norm(open(os.path.join(a, f), "rb").read()) == norm(open(os.path.join(b, f), "rb").read()):
            same += 1
        else:
            bad.append("differs: %s" % f)
    for x in bad[:20]:
        print("readpst:", x)
    print("readpst: %d files from the cache, %d from the .pst, %d equal byte for byte" % (len(fa), len(fb), same))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
