#!/bin/sh
# Runs the libFuzzer targets of fuzz/ for a bounded time each, on seed corpora made now:
#   fuzz/run.sh SECONDS [TARGET...]      (make fuzz FUZZ_SECONDS=600, make fuzz-ci)
# Seeds: the real samples in $SHARED/samples/real (when present), .ost/.pst files written by
# ostwrite from test/fixtures/*.json (also damaged ones), responses recorded from the test EWS
# server (--dump-dir), snapshots made by ostrecon and ostwrite --expand, the fixtures, and the
# inputs of test/fuzz-regressions/. Nothing of it is kept in the repository.
# Exit 0 when no target found anything; 1 with the crashing inputs listed (build/fuzz/artifacts).
set -u
cd "$(dirname "$0")/.." || exit 2
SECONDS_EACH=${1:-60}
shift 2>/dev/null || true
TARGETS=${*:-"ost ews_parse snapshot fixture manifest"}
FB=${FUZZ_BUILD:-build/fuzz}
BIN=${OSTRECON_BIN:-build/ostrecon}
OSTWRITE=${OSTWRITE_BIN:-build/ostwrite}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
PY=/usr/bin/python3
export ASAN_OPTIONS="${FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
CORPUS="$FB/corpus"   # grows across runs (libFuzzer adds files; runs at the same time may share it)
ART="$FB/artifacts"   # inputs that failed
mkdir -p "$CORPUS" "$ART"
# Seeds and logs are private to this run: several test runs in one tree must not clash.
RUN=$(mktemp -d "$FB/run.XXXXXX") || exit 2
SEEDS="$RUN/seeds"
tmp="$RUN/tmp"
mkdir -p "$SEEDS" "$tmp"
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for t in $TARGETS; do
	[ -x "$FB/fuzz_$t" ] || { echo "fuzz: $FB/fuzz_$t is not built (make fuzz-build)"; exit 2; }
	mkdir -p "$SEEDS/$t" "$CORPUS/$t" "$ART/$t"
done

# A tiny fixture: the smallest files the writer makes, so that most mutations reach deep code.
cat >"$tmp/tiny.json" <<'JSON'
{"mailbox": "tiny@example.com", "seed": 3,
 "standard": {"commonviews": false, "searchfolders": false, "shortcuts": false, "views": false,
              "deleteditems": false, "outbox": false, "sentitems": false, "calendar": false, "contacts": false},
 "items": [{"folder": "inbox", "subject": "One", "received": "2024-05-01T09:30:00Z", "read": true},
           {"folder": "inbox", "subject": "Two", "importance": 2, "flag_status": 2}]}
JSON

seed_ost() {
	d="$SEEDS/ost"
	if [ -d "$SHARED/samples/real" ]; then
		for f in "$SHARED"/samples/real/*.ost "$SHARED"/samples/real/*.pst; do
			[ -f "$f" ] && cp "$f" "$d/real-$(basename "$f")"
		done
	else
		echo "fuzz: no real samples at $SHARED/samples/real (seeding with written files only)"
	fi
	[ -x "$OSTWRITE" ] || { echo "fuzz: $OSTWRITE missing: no written seeds"; return; }
	for fx in "$tmp/tiny.json" test/fixtures/*.json; do
		n=$(basename "$fx" .json)
		for fmt in pst ost ost4k; do
			"$OSTWRITE" "$fx" --format "$fmt" -o "$d/w-$n.$fmt" 2>/dev/null || rm -f "$d/w-$n.$fmt"
		done
	done
	for mode in bad-block-crc truncate bad-btree-pointer zero-page unreadable-message; do
		for fmt in pst ost ost4k; do
			"$OSTWRITE" "$tmp/tiny.json" --format "$fmt" --damage "$mode" -o "$d/dmg-$mode.$fmt" \
				>/dev/null 2>&1 || rm -f "$d/dmg-$mode.$fmt"
		done
	done
	# Inputs are cut at 300 kB (-max_len): big written files would only slow the start.
	find "$d" \( -name 'w-*' -o -name 'dmg-*' \) -size +1024k -delete
}

seed_ews() {
	d="$SEEDS/ews_parse"
	# Hand-made hostile responses: DTD, entities, deep nesting, a fault with a back-off.
	printf '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol2;</s:Body></s:Envelope>\n' >"$d/dtd.xml"
	printf '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>\n' >"$d/xxe.xml"
	printf '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring><detail><e:ResponseCode xmlns:e="urn:e">ErrorServerBusy</e:ResponseCode><t:MessageXml xmlns:t="urn:t"><t:Value Name="BackOffMilliseconds">500</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>' >"$d/busy.xml"
	[ -x "$BIN" ] && [ -x "$OSTWRITE" ] || { echo "fuzz: $BIN or $OSTWRITE missing: no recorded responses"; return; }
	"$OSTWRITE" --expand test/fixtures/writer_small.json -o "$tmp/mbx.jsonl" || return
	mkdir -p "$tmp/dump"
	"$PY" tools/ewsserver/ewsserver.py --port 0 --mailbox "$tmp/mbx.jsonl" --users test/ews/data/users.json \
		--tokens test/ews/data/tokens.json --dump-dir "$tmp/dump" --malformed-every 7 --busy-every 5 \
		--folder-error inbox=ErrorMailboxStoreUnavailable --pid-file "$tmp/ews.pid" >"$tmp/ews.out" 2>"$tmp/ews.err" &
	server_pid=$!
	i=0
	while ! grep -q '^listening on ' "$tmp/ews.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "fuzz: the test server did not start"; return; }
		sleep 0.1
	done
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/ews.out")
	printf 'alice-pw-1\n' >"$tmp/pw"; chmod 600 "$tmp/pw"
	for mode in "" "--finditem --associated"; do
		# shellcheck disable=SC2086
		timeout 120 "$BIN" server -q --no-progress --url "http://127.0.0.1:$port/EWS/Exchange.asmx" \
			--mailbox alice@example.com --user alice --auth basic --password-file "$tmp/pw" --page-size 7 \
			--retries 3 $mode -o "$tmp/snap.jsonl" >/dev/null 2>&1
	done
	kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
	for f in "$tmp"/dump/*response*.xml; do [ -f "$f" ] && cp "$f" "$d/"; done
	[ -f "$tmp/snap.jsonl" ] && cp "$tmp/snap.jsonl" "$SEEDS/snapshot/ews.jsonl" 2>/dev/null
}

seed_snapshot() {
	d="$SEEDS/snapshot"
	cp test/ews/data/alice.jsonl "$d/" 2>/dev/null
	[ -x "$OSTWRITE" ] || return
	for fx in "$tmp/tiny.json" test/fixtures/*.json; do
		"$OSTWRITE" --expand "$fx" -o "$d/x-$(basename "$fx" .json).jsonl" 2>/dev/null
	done
	if [ -x "$BIN" ]; then
		"$OSTWRITE" test/fixtures/writer_small.json --format ost -o "$tmp/s.ost" 2>/dev/null &&
			"$BIN" ost -q "$tmp/s.ost" -o "$d/ost-small.jsonl" 2>/dev/null
		"$OSTWRITE" "$tmp/tiny.json" --format pst --damage unreadable-message -o "$tmp/d.pst" >/dev/null 2>&1 &&
			"$BIN" ost -q "$tmp/d.pst" -o "$d/ost-damaged.jsonl" 2>/dev/null
	fi
}

seed_manifest() {
	d="$SEEDS/manifest"
	printf 'mailbox,cache\nuser01@fleet.example,fleet/user01.ost\n' >"$d/min.csv"
	printf 'mailbox,cache,url,sync_window,label\r\n"a@x.example","c:\\o.ost",https://h/EWS/Exchange.asmx,90d,"one, ""quoted"""\r\nb@x.example,,,,\r\n,b.ost,,12m,x\r\n' >"$d/full.csv"
	printf 'label,cache,mailbox,url\nz,"multi\nline.ost",z@x.example,\n' >"$d/order.csv"
	printf 'mailbox,cache,password\nu@x.example,u.ost,secret\n' >"$d/refused.csv"
}

seed_fixture() {
	cp "$tmp/tiny.json" test/fixtures/*.json "$SEEDS/fixture/"
}

for t in $TARGETS; do
	case $t in
	ost) seed_ost ;;
	ews_parse) mkdir -p "$SEEDS/snapshot"; seed_ews ;;
	snapshot) seed_snapshot ;;
	fixture) seed_fixture ;;
	manifest) seed_manifest ;;
	esac
done

status=0
summary=""
for t in $TARGETS; do
	# Regression inputs are seeds too: a fixed crash must stay fixed under mutation.
	[ -d "test/fuzz-regressions/$t" ] && cp test/fuzz-regressions/"$t"/* "$SEEDS/$t/" 2>/dev/null
	opts="-max_total_time=$SECONDS_EACH -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=3"
	case $t in
	ost) opts="$opts -max_len=300000" ;;
	ews_parse) opts="$opts -max_len=65536 -dict=fuzz/ews.dict" ;;
	snapshot | fixture) opts="$opts -max_len=65536 -dict=fuzz/json.dict" ;;
	manifest) opts="$opts -max_len=16384" ;;
	esac
	echo "fuzz: $t for ${SECONDS_EACH}s ($(ls "$SEEDS/$t" | wc -l) seeds, $(ls "$CORPUS/$t" | wc -l) in the corpus)"
	# shellcheck disable=SC2086
	"$FB/fuzz_$t" $opts -artifact_prefix="$ART/$t/" "$CORPUS/$t" "$SEEDS/$t" >"$RUN/$t.log" 2>&1
	rc=$?
	cp "$RUN/$t.log" "$FB/$t.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$RUN/$t.log" | tail -n 1)
	cov=$(grep -aE '^#[0-9]+' "$RUN/$t.log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	line="$t: ${execs:-?} executions, $cov"
	if [ $rc -ne 0 ]; then
		status=1
		line="$line: FOUND A PROBLEM (exit $rc)"
		grep -aE 'ERROR: |SUMMARY: |Test unit written to|runtime error' "$RUN/$t.log" | head -n 8 | sed 's/^/    /'
	fi
	echo "fuzz: $line"
	summary="$summary$line
"
done
printf '%s' "$summary" >"$RUN/summary.txt" && cp "$RUN/summary.txt" "$FB/summary.txt"
exit $status
