# Valgrind's leak check of the main commands on real inputs: `ostrecon ost` on every real sample
# ($SHARED/samples/real) and on written .ost/.pst files (one damaged, one with a folder of 400
# messages: read in batches), `ostrecon server` against
# the test server (also a failing pull), `ostrecon diff` and `ostrecon report`, and `scan` and
# `batch` when present. No definite leak and no memory error is allowed
# (--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99). Valgrind cannot run
# the sanitizer build, so a plain build is made in build/valgrind.
. "$(dirname "$0")/../security/lib.sh"
command -v valgrind >/dev/null 2>&1 || skip "valgrind is not installed (apt-get install valgrind)"
need_ostwrite
mkdir -p "$ROOT/build"
# One build at a time: several test runs may share this tree.
(cd "$ROOT" && flock build/.valgrind-build.lock make --no-print-directory SAN=0 BUILD=build/valgrind all) \
	>"$WORK/build.log" 2>&1 ||
	{ tail -n 20 "$WORK/build.log"; fail "the plain build failed"; }
BIN="$ROOT/build/valgrind/ostrecon"
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
    --suppressions=$ROOT/test/valgrind/libs.supp --num-callers=30"
n=0
# vg NAME ALLOWED-RCS CMD...: runs ostrecon's CMD under valgrind; the exit code must be one of
# ALLOWED-RCS (comma separated), never 99
vg() {
	name=$1 allowed=$2; shift 2
	# shellcheck disable=SC2086
	timeout 900 $VG "$BIN" "$@" >"$WORK/vg-$name.out" 2>"$WORK/vg-$name.log"
	r=$?
	case ",$allowed," in *",$r,"*) ;; *)
		grep -v '^ostrecon' "$WORK/vg-$name.log" | head -n 60
		fail "$name: exit $r under valgrind (99: a leak or a memory error)" ;;
	esac
	n=$((n + 1))
	echo "ok $name (exit $r)"
}

for f in "$SHARED"/samples/real/*.ost "$SHARED"/samples/real/*.pst; do
	[ -f "$f" ] || continue
	vg "real-$(basename "$f")" 0,2 ost -q "$f" -o "$WORK/real.jsonl"
done
[ $n -gt 0 ] || echo "note: no real samples at $SHARED/samples/real; written files only"
"$OSTWRITE" "$FIXTURES/writer_small.json" --format ost4k -o "$WORK/small.ost" || fail "ostwrite failed"
"$OSTWRITE" "$FIXTURES/writer_small.json" --format pst --damage unreadable-message -o "$WORK/damaged.pst" \
	>/dev/null 2>&1 || fail "ostwrite --damage failed"
vg written-ost4k 0,2 ost -q "$WORK/small.ost" -o "$WORK/cache.jsonl"
vg written-damaged 0,2 ost -q "$WORK/damaged.pst" -o "$WORK/damaged.jsonl"
# a folder of 400 messages: read ahead on two threads, in runs whose blocks io_uring reads
# (src/ost/ndb_batch.c), which valgrind does not see write
printf '%s\n' '{"seed": 3, "replicas": ["6aa62d7a1b3ac5449d53431fbea29402"],' \
	' "generate": [{"items": 400, "in": "inbox", "body_size": [100, 3000]}]}' > "$WORK/large.json"
"$OSTWRITE" "$WORK/large.json" --format ost4k -o "$WORK/large.ost" || fail "ostwrite failed (large folder)"
vg written-large-folder 0 ost -q "$WORK/large.ost" -o "$WORK/large.jsonl"
printf 'not a cache file at all\n' >"$WORK/junk.ost"
vg junk 3 ost -q "$WORK/junk.ost" -o "$WORK/junk.jsonl"

"$OSTWRITE" --expand "$FIXTURES/writer_small.json" -o "$WORK/mbx.jsonl" || fail "ostwrite --expand failed"
start_server vg --mailbox "$WORK/mbx.jsonl" $(users_args)
pw=$(secret_file pw alice-pw-1)
vg server 0 server -q --no-progress --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
	--concurrency 3 -o "$WORK/server.jsonl"
vg server-refused 3 server -q --no-progress --url "$(url)" --mailbox alice@example.com --auth basic --user alice \
	--password-file "$(secret_file bad nope)" -o "$WORK/refused.jsonl"
vg diff 0,1,2 diff -q "$WORK/server.jsonl" "$WORK/cache.jsonl" -o "$WORK/report.json"
# (a .pst is no mailbox's cache: --force compares it, through the report's forced note)
vg diff-redact 0,1,2 diff -q "$WORK/server.jsonl" "$WORK/damaged.jsonl" --redact --json --force
vg report 0,1,2 report "$WORK/report.json"
if "$BIN" scan --help >/dev/null 2>&1; then
	vg scan 0,1,2 scan -q --no-progress --ost "$WORK/small.ost" --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" -o "$WORK/scan.json"
fi
if "$BIN" batch --help >/dev/null 2>&1; then
	printf 'mailbox,cache\nalice@example.com,%s\nnobody@example.com,%s/missing.ost\n' "$WORK/small.ost" "$WORK" \
		>"$WORK/manifest.csv"
	vg batch 0,1,2,3 batch "$WORK/manifest.csv" -o "$WORK/batch" --url "$(url)" --auth basic --user alice --password-file "$pw" \
		--no-progress --jobs 2
fi

# Autodiscover (a POX redirect chain; SOAP after POX finds nothing) and --auth auto over https,
# with name mappings: one-off requests, the answers' XML, the per-domain cache, curl's lists.
if command -v openssl >/dev/null 2>&1; then
	san="DNS:example.com,DNS:relay.example,DNS:mail.contoso.example,DNS:soap.example,DNS:autodiscover.soap.example"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=contoso.example" -addext "subjectAltName=$san" \
		-keyout "$WORK/ad-key.pem" -out "$WORK/ad-cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"
	tls_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	ews="https://mail.contoso.example:$tls_port/EWS/Exchange.asmx"
	printf '{"hosts": {"example.com": {"pox": {"*": {"redirect_url": "https://relay.example/autodiscover/autodiscover.xml"}}},
 "relay.example": {"pox": {"*": {"ews_url": "%s"}}}, "autodiscover.soap.example": {"soap": {"*": {"ews_url": "%s"}}}}}\n' \
		"$ews" "$ews" >"$WORK/ad.json"
	start_server vg-ad --port "$tls_port" --mailbox "$WORK/mbx.jsonl" $(users_args) --autodiscover "$WORK/ad.json" \
		--tls-cert "$WORK/ad-cert.pem" --tls-key "$WORK/ad-key.pem"
	map="--cacert $WORK/ad-cert.pem --connect-to :443:127.0.0.1:$tls_port --connect-to :80:127.0.0.1:1
--resolve mail.contoso.example:$tls_port:127.0.0.1"
	# shellcheck disable=SC2086
	vg autodiscover 0 server -q --autodiscover-only --mailbox alice@example.com --user alice --password-file "$pw" $map
	# shellcheck disable=SC2086
	vg autodiscover-soap 0 server -q --autodiscover-only --mailbox alice@soap.example --user alice --password-file "$pw" $map
	# shellcheck disable=SC2086
	vg autodiscover-pull 0 server -q --no-progress --mailbox alice@example.com --user alice --password-file "$pw" $map \
		-o "$WORK/ad.jsonl"
fi
echo "valgrind: $n runs, no definite leak and no memory error"
