#!/bin/sh
# Benchmark of the HTML report (prints figures; not a test): a comparison with 300 folders and
# 10,000 findings (items missing in the cache, changed, moved), its HTML page written by
# `ostrecon report --html`, then opened in headless Chromium. Target: the page opens in under 2 s.
# Figures: the page's size and the time to write it; in the browser, the time from navigation to
# a laid-out page (the page's own performance clock, after a forced layout), the same with every
# findings group opened, the time to sort the folder table by a column; and the wall time of a
# whole Chromium run on the page against one on an empty page (the browser's own start).
# Usage: bench/html.sh [FOLDERS [FINDINGS]]   (default 300 10000)
set -eu
cd "$(dirname "$0")/.."
OSTRECON=${OSTRECON:-build/ostrecon}
[ -x "$OSTRECON" ] || { echo "build first: make" >&2; exit 2; }
. test/report/chromium.sh
why=$(chromium_check) || { echo "bench/html.sh: $why" >&2; exit 2; }
folders=${1:-300} findings=${2:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$folders" "$findings" "$tmp" <<'PY'
import sys
nf, nfind, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
guid = "6aa62d7a1b3ac5449d53431fbea29402"
per = -(-nfind // nf)  # findings per folder
def write(path, cache):
    top = "/Root - Mailbox/IPM_SUBTREE" if cache else "/Top of Information Store"
    lines = ['{"type":"snapshot","format":"ostrecon-snapshot","version":1,"source":"%s","mailbox":"bench@example.com",'
             '"captured":"2026-11-01T00:00:00Z","tool":"bench"}' % ("ost" if cache else "ews"),
             '{"type":"folder","id":"root","key":"%s000000000001","key_origin":"replica","name":"root","path":"%s","role":"root"}'
             % (guid, "/Root - Mailbox" if cache else "/"),
             '{"type":"folder","id":"ipm","parent_id":"root","key":"%s000000000002","key_origin":"replica","name":"top",'
             '"path":"%s","role":"msgfolderroot"}' % (guid, top)]
    for i in range(nf):
        name = "Client %03d/Project %d" % (i // 10, i % 10) if i else "Inbox"
        lines.append('{"type":"folder","id":"f%d","parent_id":"ipm","key":"%s%012x","key_origin":"replica","name":"%s",'
                     '"path":"%s/%s","class":"IPF.Note","role":"%s"}'
                     % (i, guid, 0x100 + i, name.replace("/", "\\\\/"), top, name.replace("/", "\\\\/"),
                        "inbox" if i == 0 else "ipm"))
    k = n = 0
    for i in range(nf):
        for j in range(per + 20):  # 20 in sync, `per` that differ
            k += 1
            differs = j < per and (i * per + j) < nfind
            kind = (i * per + j) % 3 if differs else -1
            if cache and kind == 0:
                continue  # missing in the cache
            read = "false" if cache and kind == 1 else "true"  # read state changed
            fo = (i + 1) % nf if cache and kind == 2 else i  # moved
            lines.append('{"type":"item","id":"%s%d","folder_id":"f%d","key":"%s%012x","key_origin":"replica",'
                         '"class":"IPM.Note","subject":"Message %d about the quarterly figures","received":'
                         '"2026-10-%02dT09:30:00Z","read":%s,"msg_flags":1,"flag_status":0,"importance":1}'
                         % ("nid:" if cache else "AAMkAD", k, fo, guid, 0x100000 + k, k, 1 + k % 28, read))
            n += 1
    lines.append('{"type":"end","folders":%d,"items":%d,"errors":0}' % (nf + 2, n))
    open(path, "w").write("\n".join(lines) + "\n")
write(out + "/server.jsonl", False)
write(out + "/cache.jsonl", True)
PY
"$OSTRECON" -q diff "$tmp/server.jsonl" "$tmp/cache.jsonl" -o "$tmp/report.json" >/dev/null || true
/usr/bin/python3 - "$tmp/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("report: %d folders, %d findings that need action" % (len(r["folders"]), r["summary"]["findings"]))
PY
t0=$(date +%s.%N)
"$OSTRECON" report "$tmp/report.json" --html "$tmp/report.html" >/dev/null || true
t1=$(date +%s.%N)
echo "page: $(($(stat -c %s "$tmp/report.html") / 1024)) KiB, written in $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms"

# The measuring copy: a script after the page's own records, on the page's performance clock,
# when the page was parsed and laid out and when it had loaded; then it opens every group and
# sorts the folder table, each timed.
cp "$tmp/report.html" "$tmp/measured.html"
cat >>"$tmp/measured.html" <<'EOF'
<script>
(function () {
  var b = document.body;
  void b.offsetHeight;
  var d = {open_ms: performance.now(), elements: document.getElementsByTagName('*').length};
  var p = document.createElement('pre');
  p.id = 'bench';
  b.appendChild(p);
  window.addEventListener('load', function () {
    d.load_ms = performance.now();
    var t = performance.now();
    document.querySelectorAll('details').forEach(function (x) { x.open = true; });
    void b.offsetHeight;
    d.open_all_groups_ms = performance.now() - t;
    t = performance.now();
    document.querySelector('#folder-table th[data-key="findings"] button').click();
    void b.offsetHeight;
    d.sort_ms = performance.now() - t;
    p.textContent = JSON.stringify(d);
  });
})();
</script>
EOF
echo '<!DOCTYPE html><title>empty</title>' >"$tmp/empty.html"
printf '%-4s %8s %8s %19s %8s %9s %16s %13s\n' run open_ms load_ms open_all_groups_ms sort_ms elements chromium_wall_s empty_wall_s
for run in 1 2 3; do
	a=$(date +%s.%N)
	chromium_run --dump-dom "file://$tmp/empty.html" >/dev/null
	b=$(date +%s.%N)
	chromium_run --dump-dom "file://$tmp/measured.html" >"$tmp/dom.html"
	c=$(date +%s.%N)
	/usr/bin/python3 - "$tmp/dom.html" "$run" "$(echo "$c - $b" | bc)" "$(echo "$b - $a" | bc)" <<'PY'
import json, re, sys
m = re.search(r'<pre id="bench">(.*?)</pre>', open(sys.argv[1], encoding="utf-8").read())
if not m:
    sys.exit("the page recorded nothing")
d = json.loads(m.group(1).replace("&quot;", '"'))
print("%-4s %8.0f %8s %19.0f %8.1f %9d %16.2f %13.2f" % (sys.argv[2], d["open_ms"],
      "%.0f" % d["load_ms"] if "load_ms" in d else "-", d["open_all_groups_ms"], d["sort_ms"], d["elements"],
      float(sys.argv[3]), float(sys.argv[4])))
PY
done
echo "(target: the page opens in under 2 s: open_ms (parsed and laid out) and load_ms (the load event), on the"
echo " page's own clock; chromium_wall_s - empty_wall_s adds serializing the whole DOM for --dump-dom)"
