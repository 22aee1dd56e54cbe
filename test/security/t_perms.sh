# Files that hold mailbox data are created owner-only (0600) whatever the umask: snapshots of
# `ost` and `server`, reports of `diff` (and `scan`, with the snapshots it keeps), and the trace
# files of --trace-dir (also when a trace file of an earlier run was there with a wider mode).
. "$(dirname "$0")/lib.sh"
need_ostwrite
umask 022
"$OSTWRITE" "$FIXTURES/writer_small.json" --format ost -o "$WORK/small.ost" || fail "ostwrite failed"
"$OSTWRITE" --expand "$FIXTURES/writer_small.json" -o "$WORK/mbx.jsonl" || fail "ostwrite --expand failed"

"$OSTRECON" ost -q "$WORK/small.ost" -o "$WORK/cache.jsonl" || fail "ostrecon ost failed"
mode_is "$WORK/cache.jsonl" 600

start_server perms --mailbox "$WORK/mbx.jsonl" $(users_args)
pw=$(secret_file pw alice-pw-1)
mkdir "$WORK/trace"
: >"$WORK/trace/00001-GetFolder-request.xml"
chmod 644 "$WORK/trace/00001-GetFolder-request.xml"
client pull --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	--trace-dir "$WORK/trace" -o "$WORK/server.jsonl"
expect_rc 0 "pull"
mode_is "$WORK/server.jsonl" 600
n=0
for f in "$WORK"/trace/*.xml; do mode_is "$f" 600; n=$((n + 1)); done
[ $n -ge 4 ] || fail "only $n trace files"

"$OSTRECON" diff -q "$WORK/server.jsonl" "$WORK/cache.jsonl" -o "$WORK/report.json" >/dev/null
[ $? -le 2 ] || fail "diff failed"
mode_is "$WORK/report.json" 600
echo "ost, server, diff and $n trace files: all 0600 under umask 022"

if "$OSTRECON" scan --help >/dev/null 2>&1; then
	mkdir "$WORK/keep"
	"$OSTRECON" scan -q --no-progress --ost "$WORK/small.ost" --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" --keep-snapshots "$WORK/keep" -o "$WORK/scan.json" >/dev/null 2>&1
	[ -f "$WORK/scan.json" ] || fail "scan wrote no report"
	mode_is "$WORK/scan.json" 600
	for f in "$WORK"/keep/*; do mode_is "$f" 600; done
	echo "scan: report and kept snapshots 0600"
fi
