# Shared by test/scenarios/t_*.sh (sourced): builds the scenarios of samples/scenarios/*/
# (described in samples/scenarios/README.md), serves their mailboxes, scans them and checks the
# reports against each scenario's expect.json with check.py.
#
#   scen_build [NAME...]       writes the cache file and the served mailbox of the named scenarios
#                              (every scenario with an expect.json when none is named); sets $names
#   scen_start_ews PROTO [ARG...]  a test EWS server for every built mailbox (ARGs: its version);
#                              PROTO (ews, ews2010, ews2007) names it in scan and its URL
#   scen_start_graph           the test Graph server for every built mailbox
#   scen_scan_all PROTO...     scans every built scenario the protocol applies to, $JOBS at a time;
#                              sets names_PROTO to the scenarios scanned
#   scen_check PROTO...        check.py on each protocol's reports; returns 1 on a mismatch
. "$(dirname "$0")/../ews/lib.sh"
HERE="$ROOT/test/scenarios"
SCEN=${SCENARIOS_DIR:-"$ROOT/samples/scenarios"}
OSTWRITE="$TOOLS_DIR/ostwrite"
JOBS=${SCENARIO_JOBS:-4}
# The scenarios also run against the test server as Exchange 2007 SP1 (the others all run as 2010 SP2).
VERSIONS_2007="in_sync missing_in_cache only_in_cache changed_items item_moved"
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built ($OSTWRITE)"
[ -x "$OSTRECON" ] || fail "ostrecon is not built ($OSTRECON)"
start=$(date +%s)

# One service account that may impersonate every scenario's mailbox.
printf '{"users": [{"name": "svc", "password": "svc-pw", "impersonate": ["*"]}]}\n' >"$WORK/users.json"
printf 'svc-pw\n' >"$WORK/svc.pw"
chmod 600 "$WORK/svc.pw"
mkdir -p "$WORK/mbx"
: >"$WORK/server.args"
: >"$WORK/graph_server.args"

# need_version_schema DIR WHAT: the schema of an older Exchange version, or skip saying what is left out
need_version_schema() {
	[ -f "$SCHEMA/$1/soap-envelope.xsd" ] ||
		skip "no EWS schema of $2 at $SCHEMA/$1 (set SHARED): the scenarios against $2 are not run"
}

scen_build() {
	names=""
	for d in "$SCEN"/*/; do
		n=$(basename "$d")
		[ -f "$d/expect.json" ] || continue
		if [ $# -gt 0 ]; then
			case " $* " in *" $n "*) ;; *) continue ;; esac
		fi
		w="$WORK/$n"
		mkdir -p "$w"
		$PY "$HERE/check.py" prepare "$d" "$w" || fail "$n: check.py prepare"
		MAILBOX= FORMAT= EXT= DAMAGE=
		. "$w/settings.sh"
		if [ -n "$DAMAGE" ]; then
			"$OSTWRITE" "$w/cache.json" --format "$FORMAT" -o "$w/cache.$EXT" --damage "$DAMAGE" \
				--damage-report "$w/damage.json" 2>"$w/ostwrite.err" || { cat "$w/ostwrite.err"; fail "$n: ostwrite --damage $DAMAGE"; }
		else
			"$OSTWRITE" "$w/cache.json" --format "$FORMAT" -o "$w/cache.$EXT" 2>"$w/ostwrite.err" ||
				{ cat "$w/ostwrite.err"; fail "$n: ostwrite"; }
		fi
		"$OSTWRITE" --expand "$w/server.json" -o "$WORK/mbx/$n.jsonl" || fail "$n: ostwrite --expand"
		cat "$w/server.args" >>"$WORK/server.args"
		cat "$w/graph_server.args" >>"$WORK/graph_server.args"
		echo "$MAILBOX" >"$w/mailbox"
		echo "$w/cache.$EXT" >"$w/cachefile"
		names="$names $n"
	done
	[ -n "$names" ] || fail "no scenarios in $SCEN${*:+ named $*}"
	built=$(date +%s)
}

scen_start_ews() {
	proto=$1; shift
	set -- "$@" --mailbox-dir "$WORK/mbx" --users "$WORK/users.json"
	while IFS= read -r a; do set -- "$@" "$a"; done <"$WORK/server.args"
	start_server "$proto" "$@"
	eval "url_$proto=http://127.0.0.1:$PORT/EWS/Exchange.asmx"
}

scen_start_graph() {
	# an application token that may read every mailbox through both APIs
	printf '{"tokens": [{"token": "tok-scenarios", "app": "scenarios-app"}]}\n' >"$WORK/graph-tokens.json"
	printf 'tok-scenarios\n' >"$WORK/graph.tok"
	chmod 600 "$WORK/graph.tok"
	set --
	while IFS= read -r a; do set -- "$@" "$a"; done <"$WORK/graph_server.args"
	"$PY" "$ROOT/tools/graphserver/graphserver.py" --port 0 --mailbox-dir "$WORK/mbx" --tokens "$WORK/graph-tokens.json" \
		"$@" >"$WORK/graph.out" 2>"$WORK/graph.err" &
	wait_listening graph $!
	graph_url="http://127.0.0.1:$PORT/v1.0"
}

# scan PROTOCOL NAME: one scan, in the background; report, --json output, stderr and exit code in
# $WORK/PROTOCOL/NAME
scan() {
	p=$1 w="$WORK/$2" out="$WORK/$1/$2"
	mkdir -p "$out"
	(
		set --
		while IFS= read -r a; do set -- "$@" "$a"; done <"$w/scan.args"
		case $p in
		graph)
			while IFS= read -r a; do set -- "$@" "$a"; done <"$w/graph_scan.args"
			set -- --api graph --graph-url "$graph_url" --token-file "$WORK/graph.tok" "$@" ;;
		*)
			eval "u=\$url_$p"
			set -- --url "$u" --auth basic --user svc --password-file "$WORK/svc.pw" --impersonate "$@" ;;
		esac
		# A folder that keeps answering 503 is retried as throttling until the deadline: keep it short.
		timeout 300 "$OSTRECON" scan --ost "$(cat "$w/cachefile")" --mailbox "$(cat "$w/mailbox")" \
			--no-progress --retry-deadline 20 --json -o "$out/report.json" "$@" >"$out/stdout.json" 2>"$out/scan.err"
		echo $? >"$out/rc"
	) &
	pids="$pids $!"
}

scen_scan_all() {
	# (wait for the scans by pid: a bare `wait` would wait for the servers too)
	i=0 pids=""
	for proto in "$@"; do
		list=""
		for n in $names; do
			case $proto in
			ews2010) grep -qw ews "$WORK/$n/protocols" || continue ;;
			ews2007) case " $VERSIONS_2007 " in *" $n "*) ;; *) continue ;; esac ;;
			*) grep -qw "$proto" "$WORK/$n/protocols" || continue ;;
			esac
			list="$list $n"
			scan "$proto" "$n"
			i=$((i + 1))
			if [ $((i % JOBS)) -eq 0 ]; then
				# shellcheck disable=SC2086
				wait $pids
				pids=""
			fi
		done
		eval "names_$proto=\$list"
	done
	# shellcheck disable=SC2086
	[ -n "$pids" ] && wait $pids
	scanned=$(date +%s)
}

scen_check() {
	src=0
	for proto in "$@"; do
		echo "== over $proto"
		eval "list=\$names_$proto"
		# shellcheck disable=SC2086
		$PY "$HERE/check.py" check "$ROOT/docs/report.schema.json" "$SCEN" "$WORK/$proto" $list || src=1
	done
	return $src
}

# SCENARIO_KEEP=DIR keeps the fixtures, files, reports and logs for a look afterwards (scen_keep
# SUFFIX: in DIR-SUFFIX)
scen_keep() {
	[ -n "${SCENARIO_KEEP:-}" ] || return 0
	keep="$SCENARIO_KEEP${1:+-$1}"
	rm -rf "$keep"
	cp -r "$WORK" "$keep"
}
