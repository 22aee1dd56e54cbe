# The NDB integrity scan (src/ost/ndb_check.c): no false alarm on real Outlook files and on files
# ostwrite writes for every fixture in its three formats; every ostwrite damage mode that touches a
# checksum is found (the bad-CRC one names the message's nid); random byte flips in data blocks are
# found by the block CRC check.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
W="$TOOLS_DIR/ostwrite"
[ -x "$W" ] || { echo "ostwrite is not built ($W)"; exit 1; }
fail=0

# clean FILE FORMAT: exit 0, scan complete, nothing bad, no checksum error line
clean() {
	"$OSTRECON" -q ost "$1" -o "$tmp/s.jsonl" 2>"$tmp/err"
	rc=$?
	/usr/bin/python3 - "$tmp/s.jsonl" "$2" "$rc" "$(basename "$1")" "${3:-0}" <<'PY' || fail=1
import json, sys
path, fmt, rc, name, rc_ok = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
lines = [json.loads(l) for l in open(path, encoding='utf-8')]
integ = [l for l in lines if l['type'] == 'integrity'][0]
bad = [l for l in lines if l['type'] == 'error' and l['code'] in ('bad_crc', 'bad_trailer', 'bad_page')]
ok = (integ.get('ndb_scan') == 'complete' and integ.get('ndb_format') == fmt and integ['bad_pages'] == 0
      and integ['bad_blocks'] == 0 and integ['pages_checked'] > 1 and integ['blocks_checked'] > 0 and not bad
      and rc in (0, rc_ok))
print('%s %s: exit %d, %s, %d pages and %d blocks checked, %d bad' % ('ok  ' if ok else 'FAIL', name, rc,
      integ.get('ndb_format'), integ.get('pages_checked', -1), integ.get('blocks_checked', -1),
      integ.get('bad_pages', 0) + integ.get('bad_blocks', 0)))
for b in bad[:5]:
    print('   ', b['message'])
sys.exit(0 if ok else 1)
PY
}

# 1. Real files: all clean. SampleOstFile.ost has two items libpff cannot read (exit 2 for that).
dir="$SHARED/samples/real"
if [ -d "$dir" ]; then
	for f in "$dir"/*.ost "$dir"/*.pst; do
		[ -f "$f" ] || continue
		case "$(basename "$f")" in
		*ansi*) fmt=ansi ;;
		*) fmt=unicode ;;
		esac
		clean "$f" "$fmt" 2
	done
else
	echo "skipped the real samples: $dir is absent"
fi

# 2. Written files: every fixture, every format, clean and exit 0.
for fx in test/fixtures/*.json; do
	for format in pst ost ost4k; do
		out="$tmp/$(basename "$fx" .json).$format"
		"$W" "$fx" --format "$format" -o "$out" 2>/dev/null || { echo "FAIL ostwrite $fx $format"; fail=1; continue; }
		[ $format = ost4k ] && fmt=unicode-4k || fmt=unicode
		clean "$out" "$fmt"
		rm -f "$out"
	done
done

# 3. Damage modes. A file libpff can still open gives exit 2 and error lines; one it cannot open
# gives exit 3, and the message says what the scan found.
F=test/fixtures/writer_small.json
for format in pst ost ost4k; do
	for mode in bad-block-crc unreadable-message zero-page bad-btree-pointer truncate; do
		d="$tmp/$mode.$format"
		"$W" "$F" --format "$format" -o "$d" --damage "$mode" --damage-report "$d.json" 2>/dev/null
		rm -f "$tmp/d.jsonl"
		"$OSTRECON" -q ost "$d" -o "$tmp/d.jsonl" 2>"$tmp/err"
		rc=$?
		/usr/bin/python3 - "$tmp/d.jsonl" "$d.json" "$rc" "$tmp/err" "$mode.$format" <<'PY' || fail=1
import json, os, sys
snap, report, rc, errf, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
rep = json.load(open(report))
mode = rep['mode']
err = open(errf, encoding='utf-8').read()
problems = []
if rc == 2:
    lines = [json.loads(l) for l in open(snap, encoding='utf-8')]
    integ = [l for l in lines if l['type'] == 'integrity'][0]
    # a checksum problem is its own error line, or is added ("; checksum: ") to the line of an
    # object libpff could not read
    bad = [l for l in lines if l['type'] == 'error' and
           (l['code'] in ('bad_crc', 'bad_trailer', 'bad_page') or '; checksum: ' in l['message'])]
    if not bad or integ['bad_pages'] + integ['bad_blocks'] != len(bad):
        problems.append('expected checksum error lines matching the integrity counts')
    if mode in ('bad-block-crc', 'unreadable-message'):
        want = 'nid:%d' % rep['nid']
        hits = [b for b in bad if b.get('id') == want and b['scope'] == 'item']
        if mode == 'bad-block-crc':  # libpff reads it: the line is the scan's own
            ok = hits and hits[0]['code'] == 'bad_crc'
        else:  # libpff cannot read it: its line also gives the bad trailer
            ok = hits and hits[0]['code'] == 'unreadable' and 'checksum: ' in hits[0]['message'] \
                and 'its trailer names' in hits[0]['message']
        if len(bad) != 1 or not ok:
            problems.append('expected one item error naming %s, got %s' % (want, bad))
        if integ['bad_blocks'] != 1 or integ['bad_pages'] != 0:
            problems.append('expected exactly one bad block')
    shown = bad[0]['message'] if bad else ''
elif rc == 3:
    if os.path.exists(snap):
        problems.append('exit 3 but a snapshot was written')
    if mode in ('bad-block-crc', 'unreadable-message'):
        problems.append('libpff reads this file: exit 2 expected')
    if 'its own checksums' not in err:
        problems.append('the message does not give the checksum scan finding')
    shown = err.strip()[-120:]
else:
    problems.append('exit %d' % rc)
    shown = ''
print('%s %s: exit %d: %s' % ('FAIL' if problems else 'ok  ', name, rc, shown))
for p in problems:
    print('    ' + p)
sys.exit(1 if problems else 0)
PY
	done
done

# 4. Random byte flips inside data blocks of a written file: each flipped block is reported bad_crc.
for format in pst ost4k; do
	for seed in 1 2 3; do
		f="$tmp/flip.$format.$seed"
		"$W" test/fixtures/writer_multiblock.json --format "$format" -o "$f" 2>/dev/null
		/usr/bin/python3 - "$f" "$seed" >"$tmp/flipped" <<'PY' || { fail=1; continue; }
# Finds the blocks through the block B-tree (64-bit layouts) and flips one byte in 3 data blocks.
import random, struct, sys
path, seed = sys.argv[1], int(sys.argv[2])
d = bytearray(open(path, 'rb').read())
k4 = struct.unpack_from('<H', d, 10)[0] == 36
PG, META = (4096, 4056) if k4 else (512, 488)
blocks = []
def walk(ib):
    p = d[ib:ib + PG]
    n = struct.unpack_from('<H', p, META)[0] if k4 else p[META]
    cb = p[META + 4] if k4 else p[META + 2]
    lvl = p[META + 5] if k4 else p[META + 3]
    for i in range(n):
        e = p[i * cb:(i + 1) * cb]
        if lvl:
            walk(struct.unpack_from('<Q', e, 16)[0])
        else:
            bid, off, size = struct.unpack_from('<QQH', e, 0)
            if not bid & 2 and size > 0:
                blocks.append((bid, off, size))
walk(struct.unpack_from('<Q', d, 240)[0])
rnd = random.Random(seed)
for bid, off, size in rnd.sample(blocks, 3):
    d[off + rnd.randrange(size)] ^= 1 << rnd.randrange(8)
    print('0x%x' % bid)
open(path, 'wb').write(bytes(d))
PY
		rm -f "$tmp/f.jsonl"
		"$OSTRECON" -q ost "$f" -o "$tmp/f.jsonl" 2>"$tmp/err"
		rc=$?
		/usr/bin/python3 - "$tmp/f.jsonl" "$tmp/flipped" "$rc" "$tmp/err" "flips $format seed $seed" <<'PY' || fail=1
import json, os, re, sys
snap, flipped, rc, errf, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
want = set(open(flipped).read().split())
if rc == 2:
    lines = [json.loads(l) for l in open(snap, encoding='utf-8')]
    got = set(m.group(1) for l in lines if l['type'] == 'error'
              for m in re.finditer(r'block (0x[0-9a-f]+) at offset [0-9]+: CRC', l['message']))
    ok = got == want
    print('%s %s: exit 2, flipped %s, reported %s' % ('ok  ' if ok else 'FAIL', name, sorted(want), sorted(got)))
elif rc == 3:
    err = open(errf).read()
    ok = not os.path.exists(snap) and '3 bad blocks' in err
    print('%s %s: exit 3, %s' % ('ok  ' if ok else 'FAIL', name, err.strip()[-150:]))
else:
    ok = False
    print('FAIL %s: exit %d' % (name, rc))
sys.exit(0 if ok else 1)
PY
	done
done
exit $fail
