#!/usr/bin/python3
"""Compares the snapshot `ostrecon server` wrote with the mailbox file the test server served.
Usage: compare.py MAILBOX.jsonl SNAPSHOT.jsonl [--no-associated] [--skip-folder PATH ...]
Folders and items are matched by source key; every property the mailbox file sets must come back
(IsRead only exists on messages in EWS, so `read` is compared for IPM.Note items only)."""
import json, sys

args = sys.argv[1:]
mbx_path, snap_path = args[0], args[1]
with_assoc = '--no-associated' not in args
skip = {args[i + 1] for i, a in enumerate(args) if a == '--skip-folder'}


def load(path):
    lines = [json.loads(l) for l in open(path, encoding='utf-8')]
    folders = {o['key']: o for o in lines if o['type'] == 'folder'}
    items = {o['key']: o for o in lines if o['type'] == 'item'}
    ids = {o['id']: o for o in lines if o['type'] == 'folder'}
    return lines, folders, items, ids


_, mf, mi, mids = load(mbx_path)
lines, sf, si, sids = load(snap_path)
problems = []
assert lines[0]['type'] == 'snapshot' and lines[0]['source'] == 'ews' and lines[-1]['type'] == 'end'

for key, m in mf.items():
    s = sf.get(key)
    if s is None:
        problems.append('folder missing: %s' % m['path'])
        continue
    for f in ('name', 'class', 'content_count', 'change_key', 'pcl'):
        if f in m and m.get(f) != s.get(f):
            problems.append('folder %s: %s %r != %r' % (m['path'], f, m.get(f), s.get(f)))
    if m.get('role') not in (None, 'ipm', 'other') and m.get('role') != s.get('role'):
        problems.append('folder %s: role %r != %r' % (m['path'], m.get('role'), s.get('role')))
    mp = mids.get(m.get('parent_id'))
    sp = sids.get(s.get('parent_id'))
    if (mp or {}).get('key') != (sp or {}).get('key'):
        problems.append('folder %s: parent differs' % m['path'])
for key in sf:
    if key not in mf:
        problems.append('extra folder %s' % sf[key].get('path'))

fields = ('class', 'subject', 'message_id', 'received', 'sent', 'created', 'modified', 'msg_flags',
          'flag_status', 'importance', 'size', 'change_key', 'pcl')
n = 0
for key, m in mi.items():
    if m.get('associated') and not with_assoc:
        continue
    folder = mids.get(m['folder_id'], {})
    if folder.get('path') in skip:
        continue
    n += 1
    s = si.get(key)
    if s is None:
        problems.append('item missing: %s in %s' % (m.get('subject'), folder.get('path')))
        continue
    if s.get('key_origin') != 'source_key':
        problems.append('item %s: key origin %s' % (key, s.get('key_origin')))
    for f in fields:
        if f in m and m.get(f) != s.get(f):
            problems.append('item %s: %s %r != %r' % (m.get('subject'), f, m.get(f), s.get(f)))
    if 'read' in m and (m.get('class') or '').startswith('IPM.Note') and m['read'] != s.get('read'):
        problems.append('item %s: read %r != %r' % (m.get('subject'), m['read'], s.get('read')))
    if bool(m.get('associated')) != bool(s.get('associated')):
        problems.append('item %s: associated differs' % m.get('subject'))
    if sids.get(s['folder_id'], {}).get('key') != folder.get('key'):
        problems.append('item %s: in another folder' % m.get('subject'))
extra = [k for k in si if k not in mi]
if extra:
    problems.append('%d items not in the mailbox' % len(extra))
print('%d folders and %d items compared' % (len(mf), n))
for p in problems[:30]:
    print('PROBLEM', p)
sys.exit(1 if problems else 0)
