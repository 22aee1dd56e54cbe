# Inputs that made a fuzz target fail (test/fuzz-regressions/TARGET/, small or compressed), replayed
# through the real commands of the sanitizer build: each must end with a clean outcome (a result or
# a clear error), never a sanitizer report or a signal; a snapshot that is written must load back.
# The defects themselves are also unit cases in test/unit/test_fuzz_regressions.c.
. "$(dirname "$0")/../security/lib.sh"
REG="$ROOT/test/fuzz-regressions"
n=0
clean_exit() { # clean_exit RC WHAT ALLOWED...
	r=$1 what=$2; shift 2
	for a in "$@"; do [ "$r" -eq "$a" ] && return 0; done
	tail -n 20 "$WORK/out.log"; fail "$what: exit $r"
}
unpack() { # unpack FILE -> path of the raw input in $WORK
	case "$1" in
	*.xz) xz -dc "$1" >"$WORK/input" ;;
	*.gz) gzip -dc "$1" >"$WORK/input" ;;
	*) cp "$1" "$WORK/input" ;;
	esac
	echo "$WORK/input"
}
for f in "$REG"/ost/*; do
	[ -f "$f" ] || continue
	in=$(unpack "$f"); rm -f "$WORK/out.jsonl"
	timeout 120 "$OSTRECON" ost "$in" -o "$WORK/out.jsonl" >"$WORK/out.log" 2>&1
	clean_exit $? "ost $(basename "$f")" 0 2 3
	if [ -f "$WORK/out.jsonl" ]; then
		"$OSTRECON" diff -q "$WORK/out.jsonl" "$WORK/out.jsonl" >"$WORK/out.log" 2>&1
		clean_exit $? "the snapshot of $(basename "$f") does not load back" 0 1 2
	fi
	n=$((n + 1))
done
for f in "$REG"/snapshot/*; do
	[ -f "$f" ] || continue
	in=$(unpack "$f")
	timeout 60 "$OSTRECON" diff -q "$in" "$in" >"$WORK/out.log" 2>&1
	clean_exit $? "snapshot $(basename "$f")" 0 1 2 3
	n=$((n + 1))
done
for f in "$REG"/fixture/*; do
	[ -f "$f" ] || continue
	need_ostwrite
	in=$(unpack "$f")
	timeout 60 "$OSTWRITE" --expand "$in" -o "$WORK/x.jsonl" >"$WORK/out.log" 2>&1
	clean_exit $? "fixture $(basename "$f")" 0 1 2
	n=$((n + 1))
done
for f in "$REG"/manifest/*; do
	[ -f "$f" ] || continue
	in=$(unpack "$f")
	timeout 120 "$OSTRECON" batch "$in" -o "$WORK/batch" --url http://127.0.0.1:1/EWS/Exchange.asmx --auth basic --user x \
		--password-file "$(secret_file bpw x)" --no-progress >"$WORK/out.log" 2>&1
	clean_exit $? "manifest $(basename "$f")" 0 1 2 3 64
	n=$((n + 1))
done
# Generated at run time from a written file (no binary in the repository):
# fuzz_ost found a submit time of year 29319 in a damaged cache; the snapshot carried
# "29319-11-25T..." and no reader would load it. Here: the writer's file with one date made 7.6e18.
need_ostwrite
"$OSTWRITE" "$FIXTURES/writer_small.json" --format ost -o "$WORK/small.ost" || fail "ostwrite failed"
"$PY" - "$WORK/small.ost" "$WORK/far-date.ost" <<'PY' || fail "the date to damage is not in the file"
import datetime, struct, sys
data = open(sys.argv[1], "rb").read()
sent = datetime.datetime(2024, 5, 1, 9, 29, 10) - datetime.datetime(1601, 1, 1)
old = struct.pack("<Q", (sent.days * 86400 + sent.seconds) * 10**7)
assert data.count(old) == 1
open(sys.argv[2], "wb").write(data.replace(old, struct.pack("<Q", 9130000000000000000)))
PY
"$OSTRECON" ost -q "$WORK/far-date.ost" -o "$WORK/far.jsonl" >"$WORK/out.log" 2>&1
clean_exit $? "ost with a date beyond year 9999" 0 2
"$OSTRECON" diff -q "$WORK/far.jsonl" "$WORK/far.jsonl" >"$WORK/out.log" 2>&1
clean_exit $? "the snapshot of a file with a date beyond year 9999 does not load" 0 1 2
grep '"subject":"Welcome"' "$WORK/far.jsonl" | grep -q '"sent"' && fail "an impossible date was written"
n=$((n + 1))

pw=$(secret_file pw alice-pw-1)
for f in "$REG"/ews_parse/*; do
	[ -f "$f" ] || continue
	in=$(unpack "$f"); cp "$in" "$WORK/response.xml"
	start_replay replay "$WORK/response.xml"
	timeout 60 "$OSTRECON" server --no-progress --url "$(url)" --mailbox alice@example.com --auth basic --user alice \
		--password-file "$pw" --retries 0 -o "$WORK/s.jsonl" >"$WORK/out.log" 2>&1
	clean_exit $? "ews response $(basename "$f")" 0 2 3
	stop_server "$SERVER_PID"
	n=$((n + 1))
done
[ $n -gt 0 ] || skip "no regression inputs"
echo "fuzz regressions: $n inputs replayed, each ended cleanly"
