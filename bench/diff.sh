#!/bin/sh
# Benchmark of `ostrecon diff` (prints figures; not a test): two snapshots of N items each, a few
# percent different (missing each way, read state changed, moved), generated at run time, at
# N = 100k, 300k and 1M. Prints wall time, CPU time, peak RSS and the time per item.
# Usage: bench/diff.sh [N...]   (default: 100000 300000 1000000)
set -eu
cd "$(dirname "$0")/.."
OSTRECON=${OSTRECON:-build/ostrecon}
[ -x "$OSTRECON" ] || { echo "build first: make" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=${*:-100000 300000 1000000}

gen() { # N OUT-SERVER OUT-CACHE
	/usr/bin/python3 - "$@" <<'PY'
import random, sys
n, srv_path, cache_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rnd = random.Random(n)
guid = "6aa62d7a1b3ac5449d53431fbea29402"
folders = ["Inbox"] + ["Inbox/f%02d" % i for i in range(40)] + ["Sent Items", "Deleted Items", "Archive"]
def write(path, cache):
    out = open(path, "w")
    top = "/Root - Mailbox/IPM_SUBTREE" if cache else "/Top of Information Store"
    src = "ost" if cache else "ews"
    out.write('{"type":"snapshot","format":"ostrecon-snapshot","version":1,"source":"%s","mailbox":"bench@example.com","captured":"2026-11-01T00:00:00Z","tool":"bench"}\n' % src)
    out.write('{"type":"folder","id":"root","key":"%s000000000001","key_origin":"replica","name":"root","path":"%s","role":"root"}\n' % (guid, "/Root - Mailbox" if cache else "/"))
    out.write('{"type":"folder","id":"ipm","parent_id":"root","key":"%s000000000002","key_origin":"replica","name":"top","path":"%s","role":"msgfolderroot"}\n' % (guid, top))
    for i, f in enumerate(folders):
        parent = "ipm" if "/" not in f else "f0"
        out.write('{"type":"folder","id":"f%d","parent_id":"%s","key":"%s%012x","key_origin":"replica","name":"%s","path":"%s/%s","class":"IPF.Note","role":"%s"}\n'
                  % (i, parent, guid, 0x100 + i, f.split("/")[-1], top, f, "inbox" if i == 0 else "ipm"))
    nitems = 0
    r = random.Random(7)
    for k in range(n):
        x = r.random()
        if cache and x < 0.01: continue          # missing in the cache
        if not cache and 0.01 <= x < 0.015: continue  # only in the cache
        fo = k % len(folders)
        if cache and 0.015 <= x < 0.02: fo = (fo + 1) % len(folders)  # moved
        unread = cache and 0.02 <= x < 0.04                          # read state: read bit of the flags
        read, flags = ("false", 0) if unread else ("true", 1)
        day = 1 + (k % 28)
        out.write('{"type":"item","id":"%s%d","folder_id":"f%d","key":"%s%012x","key_origin":"replica","class":"IPM.Note","subject":"Message number %d about the quarterly figures","message_id":"<m%d@example.com>","received":"2026-10-%02dT09:30:00Z","read":%s,"msg_flags":%d,"flag_status":0,"importance":1,"size":%d}\n'
                  % ("nid:" if cache else "AAMkAD", k, fo, guid, 0x100000 + k, k, k, day, read, flags, 2000 + k % 5000))
        nitems += 1
    out.write('{"type":"end","folders":%d,"items":%d,"errors":0}\n' % (len(folders) + 2, nitems))
write(srv_path, False)
write(cache_path, True)
PY
}

printf '%-9s %8s %8s %10s %12s %s\n' items wall_s cpu_s peak_MiB us_per_item verdict
for n in $sizes; do
	gen "$n" "$tmp/server.jsonl" "$tmp/cache.jsonl"
	/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$OSTRECON" -q diff "$tmp/server.jsonl" "$tmp/cache.jsonl" \
		-o "$tmp/report.json" >/dev/null || true
	verdict=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$tmp/report.json")
	read -r wall user sys rss <<EOT
$(tail -n 1 "$tmp/time")
EOT
	awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v v="$verdict" \
		'BEGIN { printf "%-9d %8.2f %8.2f %10.1f %12.2f %s\n", n, w, u + s, r / 1024, w * 1e6 / n, v }'
	rm -f "$tmp/server.jsonl" "$tmp/cache.jsonl" "$tmp/report.json"
done
