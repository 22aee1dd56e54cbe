#!/usr/bin/python3
"""Compares an ostrecon snapshot with what Debian's pffexport (libpff's own exporter, an independent
reader) exports from the same file: folder tree, message count, per-folder message counts.
pffexport skips some message classes (it says so: "Skipped item 1 out of 1 of type: IPM.Post."):
a folder may hold more messages in the snapshot than in the export only by messages of those classes,
and the total excess must equal the number of skips pffexport reported.
Usage: compare_pffexport.py SNAPSHOT.jsonl EXPORT_DIR PFFEXPORT_LOG"""
import json, os, re, sys
from collections import Counter

ITEM_DIR = re.compile(r'^[A-Za-z]+[0-9]{5}$')


def sanitize(name):
    # pffexport writes folder names with characters unsafe in file names replaced by '_'.
    return ''.join(c if (c.isalnum() or c in ' .,()-_+&\'[]{}@#$%!=;') else '_' for c in name)


def export_tree(root):
    """Folder path -> number of messages exported directly in it."""
    counts = {}
    def walk(d, rel):
        n = 0
        for entry in sorted(os.listdir(d)):
            full = os.path.join(d, entry)
            if not os.path.isdir(full):
                continue
            if ITEM_DIR.match(entry):
                n += 1
            else:
                walk(full, rel + '/' + entry)
        counts[rel or '/'] = n
    walk(root, '')
    return counts


def skipped_classes(log):
    skips = Counter()
    with open(log, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = re.match(r'Skipped item \d+ out of \d+ of type: (.*)\.$', line.strip())
            if m:
                skips[m.group(1)] += 1
    return skips


def snapshot_tree(path):
    folders, items, errors = {}, Counter(), []
    classes = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            o = json.loads(line)
            if o['type'] == 'folder':
                folders[o['id']] = o
            elif o['type'] == 'item' and not o.get('associated'):
                items[o['folder_id']] += 1
                classes.setdefault(o['folder_id'], Counter())[o.get('class', '')] += 1
            elif o['type'] == 'error':
                errors.append(o)
    counts, by_path = {}, {}
    for fid, o in folders.items():
        segs, cur = [], o
        while cur.get('parent_id'):
            segs.append(sanitize(cur.get('name', '')))
            cur = folders[cur['parent_id']]
        p = '/' + '/'.join(reversed(segs)) if segs else '/'
        counts[p] = items[fid]
        by_path[p] = classes.get(fid, Counter())
    return counts, by_path, errors


def main():
    snap, export, log = sys.argv[1], sys.argv[2], sys.argv[3]
    ours, classes, errors = snapshot_tree(snap)
    skips = skipped_classes(log)
    excess = 0
    theirs = export_tree(export)
    problems = []
    if set(ours) != set(theirs):
        problems.append('folders only in the snapshot: %s' % sorted(set(ours) - set(theirs)))
        problems.append('folders only in pffexport: %s' % sorted(set(theirs) - set(ours)))
    for p in sorted(set(ours) & set(theirs)):
        d = ours[p] - theirs[p]
        skippable = sum(n for c, n in classes[p].items() if c in skips)
        if 0 < d <= skippable:
            excess += d
        elif d:
            problems.append('%s: snapshot %d messages, pffexport %d' % (p, ours[p], theirs[p]))
    if excess != sum(skips.values()):
        problems.append('pffexport reported %d skipped messages, the snapshot has %d more'
                        % (sum(skips.values()), excess))
    print('folders: snapshot %d, pffexport %d; messages: snapshot %d, pffexport %d; read errors %d; skipped by pffexport %d'
          % (len(ours), len(theirs), sum(ours.values()), sum(theirs.values()), len(errors), sum(skips.values())))
    for p in problems:
        print('MISMATCH', p)
    sys.exit(1 if problems else 0)


main()
