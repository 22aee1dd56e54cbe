#!/bin/sh
# Benchmark of `ostrecon diff` (prints figures; not a test): two snapshots of N items each, a few
# percent different (missing each way, read state changed, moved), generated at run time, at
# N = 100k, 300k and 1M, and at 1M again as a real mailbox's snapshots are (row "1000000L"): server
# ids of the length EWS and Graph give (about 150 characters, sharing all but their last few),
# a change key on each server item and a predecessor change list on each cache item. The other
# rows, with short ids and neither, make the smallest footprint. For each N it prints, as medians of REPEAT alternating runs (default 3):
# - the figure: the diff's wall time, CPU time (user + system), peak RSS and time per item;
# - the floor measured in the same run: `wc -l` over the same two inputs (reading them once), and
#   the ratio of the diff's wall time to it;
# - the peer measured in the same run: bench/diff_peer.py, the comparison a person would script in
#   Python over the same two files (json per line, items paired by key, the compared properties),
#   its wall time, CPU time and peak RSS, and how many times faster the diff is;
# - where the diff's time went (its report's timings: the slower of the two loads, which run side
#   by side, the comparison, and the report) and the verdict.
# The machine's load (uptime) is printed first: other work on it skews the figures.
# Usage: bench/diff.sh [N[L]...]   (default: 100000 300000 1000000 1000000L)
set -eu
cd "$(dirname "$0")/.."
OSTRECON=${OSTRECON:-build/ostrecon}
[ -x "$OSTRECON" ] || { echo "build first: make" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=${*:-100000 300000 1000000 1000000L}

gen() { # N OUT-SERVER OUT-CACHE
	/usr/bin/python3 - "$@" <<'PY'
import random, sys
n, srv_path, cache_path, long_ids = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "long"
# An EWS item id: the mailbox, then the folder, then the item (its counter near the end).
ews_head = "AAMkADk0ZjE4YTcwLWI5NzItNDYxZi1hM2YzLTc2ODA1MGE0MmM2YQBGAAAAAAAkp7QJ2Tm7SaC2Dq1Xuz0qBwBQ7aUf3wQ4R4y0mHm8m0ChAAAAAAEMAABQ7aUf3wQ4R4y0mHm8m0ChAA"
def server_id(k, fo):
    return "%s%02dA%08dAAA=" % (ews_head, fo, k) if long_ids else "AAMkAD%d" % k
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
        # The change number of the item's last change, as a change key (server) or as the one
        # entry of a predecessor change list (cache).
        xid = "%s%012x" % (guid, 0x300000 + k)
        extra = "" if not long_ids else ',"pcl":"16%s"' % xid if cache else ',"change_key":"%s"' % xid
        out.write('{"type":"item","id":"%s","folder_id":"f%d","key":"%s%012x","key_origin":"replica","class":"IPM.Note","subject":"Message number %d about the quarterly figures","message_id":"<m%d@example.com>","received":"2026-10-%02dT09:30:00Z","read":%s,"msg_flags":%d,"flag_status":0,"importance":1,"size":%d%s}\n'
                  % ("nid:%d" % k if cache else server_id(k, k % len(folders)), fo, guid, 0x100000 + k, k, k, day, read, flags, 2000 + k % 5000, extra))
        nitems += 1
    out.write('{"type":"end","folders":%d,"items":%d,"errors":0}\n' % (len(folders) + 2, nitems))
write(srv_path, False)
write(cache_path, True)
PY
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
repeat=${REPEAT:-3}
echo "load: $(uptime | sed 's/.*load average: //')"
printf '%-8s %7s %7s %8s %7s  %7s %6s  %7s %7s %8s %6s  %-23s %s\n' items wall_s cpu_s peak_MiB us/item \
	floor_s ratio peer_s peer_cpu peer_MiB faster "load/diff/report_s" verdict
for label in $sizes; do
	n=${label%L}
	ids=short
	[ "$n" = "$label" ] || ids=long
	gen "$n" "$tmp/server.jsonl" "$tmp/cache.jsonl" "$ids"
	: >"$tmp/runs"
	: >"$tmp/floors"
	: >"$tmp/peers"
	i=0
	while [ "$i" -lt "$repeat" ]; do
		# The diff exits 1 when it finds differences (these inputs have some).
		/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$OSTRECON" -q diff "$tmp/server.jsonl" "$tmp/cache.jsonl" \
			-o "$tmp/report.json" >/dev/null || true
		tail -n 1 "$tmp/time" >>"$tmp/runs"
		/usr/bin/time -f '%e' -o "$tmp/time" wc -l "$tmp/server.jsonl" "$tmp/cache.jsonl" >/dev/null
		tail -n 1 "$tmp/time" >>"$tmp/floors"
		/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" /usr/bin/python3 bench/diff_peer.py "$tmp/server.jsonl" \
			"$tmp/cache.jsonl" >"$tmp/peer.out"
		tail -n 1 "$tmp/time" >>"$tmp/peers"
		i=$((i + 1))
	done
	wall=$(awk '{ print $1 }' "$tmp/runs" | median)
	cpu=$(awk '{ print $2 + $3 }' "$tmp/runs" | median)
	rss=$(awk '{ print $4 }' "$tmp/runs" | median)
	floor=$(median <"$tmp/floors")
	pwall=$(awk '{ print $1 }' "$tmp/peers" | median)
	pcpu=$(awk '{ print $2 + $3 }' "$tmp/peers" | median)
	prss=$(awk '{ print $4 }' "$tmp/peers" | median)
	parts=$(/usr/bin/python3 -c 'import json,sys
r = json.load(open(sys.argv[1])); t = r["timings"]; s = r["summary"]
# The peer counts what the diff counts, or its time means nothing.
peer = open(sys.argv[2]).read().split()
if (int(peer[3].split("/")[0]), int(peer[3].split("/")[1])) != tuple(s["missing_on"]) or \
   int(peer[5]) + int(peer[7]) != s["differing"]:
    print("peer disagrees with the report: %s" % " ".join(peer), file=sys.stderr)
print("%.2f/%.2f/%.2f %s" % (max(t["load_ms"]) / 1e3, t["diff_ms"] / 1e3, t["report_ms"] / 1e3, r["verdict"]))' \
		"$tmp/report.json" "$tmp/peer.out")
	awk -v label="$label" -v n="$n" -v w="$wall" -v c="$cpu" -v r="$rss" -v f="$floor" -v pw="$pwall" -v pc="$pcpu" -v pr="$prss" \
		-v p="$parts" 'BEGIN {
		split(p, a, " ")
		printf "%-8s %7.2f %7.2f %8.1f %7.2f  %7.2f %5.1fx  %7.2f %7.2f %8.1f %5.1fx  %-23s %s\n", label, w, c, r / 1024,
			w * 1e6 / n, f, (f > 0 ? w / f : 0), pw, pc, pr / 1024, (w > 0 ? pw / w : 0), a[1], a[2] }'
	rm -f "$tmp/server.jsonl" "$tmp/cache.jsonl" "$tmp/report.json" "$tmp/peer.out"
done
echo "(floor: wc -l over both inputs in the same run; ratio: the diff's wall time over the floor's;"
echo " peer: bench/diff_peer.py over the same inputs in the same run; faster: its wall time over the diff's;"
echo " load: the slower of the two snapshot loads, which run side by side on two threads)"
