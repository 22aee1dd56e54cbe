# Renders the HTML report of a generated comparison (gen.py's "mixed": a few folders to resync,
# an item to export first, expected differences) and takes a screenshot of it with headless
# Chromium at a fixed size. README.md shows docs/report-html.png, made with:
#     sh test/report/screenshot.sh docs/report-html.png
# Usage: screenshot.sh OUT.png [WIDTHxHEIGHT]   (needs a built ostrecon: $OSTRECON or build/ostrecon)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$1 size=${2:-1280x1700}
OSTRECON=${OSTRECON:-$root/build/ostrecon}
. "$here/chromium.sh"
why=$(chromium_check) || { echo "$why" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/gen.py" mixed "$tmp" || exit 2
"$OSTRECON" diff "$tmp/server.jsonl" "$tmp/cache.jsonl" --html "$tmp/report.html" >/dev/null
[ -s "$tmp/report.html" ] || { echo "no HTML report" >&2; exit 2; }
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
chromium_run --window-size="${size%x*},${size#*x}" --screenshot="$out" "file://$tmp/report.html" >/dev/null
[ -s "$out" ] || { echo "chromium wrote no screenshot" >&2; exit 2; }
