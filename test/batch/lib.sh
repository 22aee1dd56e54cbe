# Shared by test/batch/t_*.sh (sourced): a fleet of mailboxes on the test EWS server.
. "$(dirname "$0")/../ews/lib.sh"
BATCH_TESTS="$ROOT/test/batch"
OSTWRITE="$TOOLS_DIR/ostwrite"
[ -x "$OSTWRITE" ] || fail "ostwrite is not built ($OSTWRITE)"

# make_fleet N: fixtures, caches (FLEET/userNN.ost) and served mailboxes (FLEET/mbxNN.jsonl).
make_fleet() {
	FLEET="$WORK/fleet"
	$PY "$BATCH_TESTS/make_fleet.py" "$FLEET" "$1" || fail "make_fleet.py failed"
	for s in "$FLEET"/server*.json; do
		k=$(basename "$s" .json | sed 's/server//')
		"$OSTWRITE" "$FLEET/cache$k.json" --format ost4k -o "$FLEET/user$k.ost" 2>/dev/null || fail "ostwrite cache$k"
		"$OSTWRITE" --expand "$s" -o "$FLEET/mbx$k.jsonl" || fail "ostwrite --expand server$k"
	done
	cat >"$WORK/users.json" <<'JSON'
{"users": [
  {"name": "svc", "password": "svc-pw", "impersonate": ["*"]},
  {"name": "svc-some", "password": "some-pw", "impersonate": ["user01@fleet.example", "user02@fleet.example"]}
]}
JSON
	printf 'svc-pw\n' >"$WORK/svc.pw"
	chmod 600 "$WORK/svc.pw"
}

# batch NAME ARGS...: runs `ostrecon batch` (service account, impersonation), output in $WORK/NAME.log
batch() {
	name=$1; shift
	timeout 600 "$OSTRECON" batch --auth basic --user svc --password-file "$WORK/svc.pw" --impersonate --no-progress "$@" \
		>"$WORK/$name.log" 2>&1
	RC=$?
}

# summary_rows FILE: "line status verdict error" per mailbox, for comparisons
summary_rows() {
	$PY -c '
import json, sys
s = json.load(open(sys.argv[1]))
for e in s["mailboxes"]:
    f = e["findings"]
    print(e["line"], e["mailbox"], e["status"], e["verdict"], sorted((k, v) for k, v in f.items() if v),
          e["expected"], e["only_in_cache"], e["items"], e["error"])' "$1"
}
