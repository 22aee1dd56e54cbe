#!/bin/sh
# `make demo`: lists a cache file into a snapshot and shows what it holds.
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/demo
mkdir -p "$out"
sample="${DEMO_OST:-../shared/samples/real/SampleOstFile.ost}"
if [ ! -f "$sample" ]; then
	echo "demo: no sample cache file at $sample (set DEMO_OST=FILE to use another)" >&2
	exit 1
fi
echo "== ostrecon ost $sample"
./build/ostrecon ost "$sample" -o "$out/cache.jsonl"
rc=$?
[ $rc -le 2 ] || exit $rc
echo
echo "== folders (path, role, messages, key origin)"
/usr/bin/python3 - "$out/cache.jsonl" <<'PY'
import json, sys
from collections import Counter
folders, counts, origins = [], Counter(), Counter()
for line in open(sys.argv[1], encoding='utf-8'):
    o = json.loads(line)
    if o['type'] == 'folder':
        folders.append(o)
    elif o['type'] == 'item':
        counts[o['folder_id']] += 1
        origins[o.get('key_origin')] += 1
for f in folders:
    print('  %-62.62s %-16s %4d  %s' % (f['path'], f.get('role', ''), counts[f['id']], f.get('key_origin')))
print('\nitem keys by origin: ' + ', '.join('%s %d' % kv for kv in origins.items()))
PY
echo
echo "The snapshot is in $out/cache.jsonl (JSON Lines, see docs/SNAPSHOT.md)."
