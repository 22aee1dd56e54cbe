#!/usr/bin/python3
"""Checks a cache snapshot's keys and roles.
Usage: check_keys_roles.py SNAPSHOT.jsonl [--all-messages-keyed] [--all-folders-keyed] [PATH=ROLE ...]
Always: keys are 44 hex digits, unique among folders and among items, gc agrees with the key,
key_origin agrees with what is present, every item's folder exists."""
import json, sys
from collections import Counter

args = sys.argv[1:]
snap = args.pop(0)
need_keys = '--all-messages-keyed' in args
need_folder_keys = '--all-folders-keyed' in args
roles = dict(a.split('=', 1) for a in args if '=' in a)

folders, items, problems = {}, [], []
with open(snap, encoding='utf-8') as f:
    for line in f:
        o = json.loads(line)
        if o['type'] == 'folder':
            folders[o['id']] = o
        elif o['type'] == 'item':
            items.append(o)

for kind, objs in (('folder', list(folders.values())), ('item', items)):
    keys = Counter(o['key'] for o in objs if 'key' in o)
    for k, n in keys.items():
        if n > 1:
            problems.append('%s key %s used %d times' % (kind, k, n))
    for o in objs:
        k, origin = o.get('key'), o.get('key_origin')
        if k is not None:
            if len(k) != 44 or any(c not in '0123456789abcdef' for c in k):
                problems.append('%s %s: malformed key %r' % (kind, o['id'], k))
            if o.get('gc') != k[32:]:
                problems.append('%s %s: gc %s does not end the key' % (kind, o['id'], o.get('gc')))
            if origin not in ('replica', 'source_key', 'entry_id'):
                problems.append('%s %s: key with origin %s' % (kind, o['id'], origin))
        elif origin not in ('gc_only', 'none'):
            problems.append('%s %s: no key but origin %s' % (kind, o['id'], origin))
        if origin == 'gc_only' and 'gc' not in o:
            problems.append('%s %s: gc_only without gc' % (kind, o['id']))

for it in items:
    if it['folder_id'] not in folders:
        problems.append('item %s in unknown folder %s' % (it['id'], it['folder_id']))
    if need_keys and not it.get('associated') and 'key' not in it:
        problems.append('message %s (%s) has no key' % (it['id'], it.get('subject')))

for o in folders.values():
    if need_folder_keys and o.get('role') != 'fileroot' and 'key' not in o:
        problems.append('folder %s (%s) has no key' % (o['id'], o.get('path')))

by_path = {o['path']: o for o in folders.values()}
for path, role in roles.items():
    if path not in by_path:
        problems.append('no folder %s' % path)
    elif by_path[path].get('role') != role:
        problems.append('%s: role %s, expected %s' % (path, by_path[path].get('role'), role))

keyed = sum(1 for i in items if 'key' in i)
print('%d folders, %d items, %d items keyed, %d roles checked' % (len(folders), len(items), keyed, len(roles)))
for p in problems:
    print('PROBLEM', p)
sys.exit(1 if problems else 0)
