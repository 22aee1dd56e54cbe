# The client against every server version of the test server (Exchange 2007 SP1, 2010 SP2, 2016):
# every request of a pull validates (xmllint) against the schema of the version it names, which is
# one the server takes, so no request is refused; the snapshot equals the mailbox, roles included
# (those the version cannot ask for by name found otherwise), and its options say which version
# was used and which roles were found how. Without a ServerVersionInfo the client learns the
# version from the refusals, a version lower each time.
. "$(dirname "$0")/lib.sh"
need_schema
$PY "$GEN" --mailbox alice@example.com --folders 40 --items 400 --assoc 6 --seed 13 -o "$WORK/mbx.jsonl"
pw=$(secret_file pw alice-pw-1)

# check_trace DIR SERVER-VERSION REFUSALS: every request validates against the schema of the
# version it names; exactly REFUSALS of them were refused (ErrorInvalidServerVersion).
check_trace() {
	$PY - "$1" "$SCHEMA" "$2" "$3" <<'PY' || fail "requests of the pull against $2 (trace $1)"
import glob, os, re, subprocess, sys
trace, schema, server, refusals = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# The schema files of 2007 SP1 and 2010 SP2 fix RequestServerVersion to their own value; a request
# is held to the newest schema at or below the version it names.
older = {"Exchange2007": "exchange2007sp1", "Exchange2007_SP1": "exchange2007sp1", "Exchange2010": "exchange2007sp1",
         "Exchange2010_SP1": "exchange2007sp1", "Exchange2010_SP2": "exchange2010sp2"}
fixed = {"exchange2007sp1": "Exchange2007_SP1", "exchange2010sp2": "Exchange2010_SP2"}
takes = {"2007sp1": ["Exchange2007", "Exchange2007_SP1"],
         "2010sp2": ["Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2"]}
reqs = sorted(glob.glob(os.path.join(trace, "*-request.xml")))
assert len(reqs) > 10, len(reqs)
seen, refused, groups = set(), 0, {}
for r in reqs:
    data = open(r, encoding="utf-8").read()
    v = re.search(r'RequestServerVersion Version="([^"]+)"', data).group(1)
    seen.add(v)
    folder = older.get(v, "")
    if folder and v != fixed[folder]:
        r = r.replace("-request.xml", "-request.fixed.xml")
        open(r, "w", encoding="utf-8").write(data.replace('Version="%s"' % v, 'Version="%s"' % fixed[folder], 1))
    groups.setdefault(folder, []).append(r)
for folder, files in groups.items():  # one xmllint per schema: loading it is most of the cost
    p = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", os.path.join(schema, folder, "soap-envelope.xsd")]
                       + files, capture_output=True)
    assert p.returncode == 0, [l for l in p.stderr.decode().splitlines() if "validates" not in l][:5]
for r in reqs:
    data = open(r, encoding="utf-8").read()
    v = re.search(r'RequestServerVersion Version="([^"]+)"', data).group(1)
    resp = open(r.replace("-request.xml", "-response.xml"), encoding="utf-8").read()
    if "ErrorInvalidServerVersion" in resp:
        refused += 1
        assert server in takes and v not in takes[server], (r, v)
    else:
        assert server not in takes or v in takes[server], (r, v)
    assert "ErrorSchemaValidation" not in resp, r
assert refused == refusals, (refused, refusals)
print("%d requests validate against the schema of the version each names (%s); %d refused" %
      (len(reqs), ", ".join(sorted(seen)), refused))
PY
}

# check_snapshot SNAP VERSION-USED ASSOCIATED ROLES-NOT-BY-NAME...
check_snapshot() {
	MBX="$WORK/mbx.jsonl" $PY - "$@" <<'PY' || fail "snapshot of the pull ($2)"
import json, os, sys
MBX = os.environ["MBX"]
snap, used, assoc, not_by_name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
lines = [json.loads(l) for l in open(snap, encoding="utf-8")]
o = lines[0]["options"]
assert o["server_version"] == used, o
assert sorted(o.get("roles_not_by_name", [])) == sorted(not_by_name), o
found = o.get("roles_found", {})
roles = {f.get("role") for f in lines if f["type"] == "folder"}
has = {f.get("role") for f in map(json.loads, open(MBX, encoding="utf-8")) if f["type"] == "folder"}
for r in not_by_name:
    # each of these folders the mailbox has was found, by its entry id or its name
    if r in has:
        assert r in found and found[r] in ("entry_id", "name") and r in roles, (r, found)
    else:
        assert r not in found and r not in roles, (r, found)
for r in ("syncissues", "conflicts", "localfailures", "serverfailures"):
    assert r not in not_by_name or found[r] == "entry_id", (r, found)
assert str(o.get("associated")).lower() == assoc, o
print("options: %s, %d roles not asked by name, all found (%s)" % (used, len(not_by_name),
      ", ".join("%s by %s" % kv for kv in sorted(found.items())) or "-"))
PY
}

pull() { # pull NAME SERVER-VERSION CLIENT-ARGS...: a pull with a trace, compared with the mailbox
	name=$1 v=$2
	shift 2
	mkdir -p "$WORK/$name"
	client "$name" --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" --page-size 64 \
		--trace-dir "$WORK/$name" -o "$WORK/$name.jsonl" "$@"
	expect_rc 0 "a pull from Exchange $v"
}

start_server v2007 --exchange-version 2007sp1 --schema-dir "$SCHEMA" --mailbox "$WORK/mbx.jsonl" $(users_args)
pull 2007 2007sp1 --associated
check_trace "$WORK/2007" 2007sp1 0
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/2007.jsonl" --no-associated || fail "2007 SP1 snapshot differs"
check_snapshot "$WORK/2007.jsonl" Exchange2007_SP1 not_available syncissues conflicts localfailures serverfailures \
	recoverableitemsroot recoverableitemsdeletions recoverableitemsversions recoverableitemspurges conversationhistory todosearch
grep -q "associated items cannot be listed with Exchange2007_SP1" "$WORK/2007.log" || fail "no warning about associated items"
stop_server "$SERVER_PID"

start_server v2010 --exchange-version 2010sp2 --schema-dir "$SCHEMA" --mailbox "$WORK/mbx.jsonl" $(users_args)
pull 2010 2010sp2 --associated
check_trace "$WORK/2010" 2010sp2 0
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/2010.jsonl" || fail "2010 SP2 snapshot differs"
check_snapshot "$WORK/2010.jsonl" Exchange2010_SP2 true syncissues conflicts localfailures serverfailures \
	conversationhistory todosearch
# FindFolder and FindItem paging too
pull 2010find 2010sp2 --finditem --findfolder
check_trace "$WORK/2010find" 2010sp2 0
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/2010find.jsonl" --no-associated || fail "2010 SP2 FindItem snapshot differs"
stop_server "$SERVER_PID"

start_server v2016 --exchange-version 2016 --schema-dir "$SCHEMA" --mailbox "$WORK/mbx.jsonl" $(users_args)
pull 2016 2016 --associated
check_trace "$WORK/2016" 2016 0
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/2016.jsonl" || fail "2016 snapshot differs"
check_snapshot "$WORK/2016.jsonl" Exchange2013_SP1 true
stop_server "$SERVER_PID"

# Once the first answer named the version, the distinguished folders and the first page of the
# hierarchy are asked for at once (the server answering one when the other comes: 200 ms each),
# and that page is the hierarchy's first: SyncFolderHierarchy is asked once (FindFolder with
# --findfolder). With one connection, one after the other.
$PY "$GEN" --mailbox alice@example.com --folders 4 --items 20 --seed 5 -o "$WORK/small.jsonl"
start_server early --exchange-version 2016 --schema-dir "$SCHEMA" --mailbox "$WORK/small.jsonl" $(users_args) \
	--latency-ms 200 --log "$WORK/early-requests.jsonl"
check_early() { # check_early NAME OP ALONGSIDE: the pull's hierarchy requests in the server's log
	$PY - "$WORK/early-requests.jsonl" "$1" "$2" "$3" <<'PY' || fail "the hierarchy's requests ($1)"
import json, sys
log, name, op, alongside = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
recs = [json.loads(l) for l in open(log, encoding="utf-8")]
pull = [r for r in recs if r.get("seq") and r["seq"] > int(open(log + ".mark").read() or 0)]
listing = [r for r in pull if r["op"] == op]
if op == "FindFolder":
    listing = listing[:1]
assert len(listing) == 1, (name, [r["op"] for r in pull])
getfolder = [r for r in pull if r["op"] == "GetFolder"]
assert len(getfolder) == 2, (name, [r["op"] for r in pull])
# the probe comes alone; the other two, at once (one of them came while the other was answered)
got = sum(r["alongside"] for r in getfolder + listing)
assert got == alongside, (name, getfolder + listing)
print("%s: %s asked %s" % (name, op, "beside the distinguished folders" if alongside else "alone"))
PY
}
mark() { $PY -c 'import json,sys; print(max([json.loads(l)["seq"] or 0 for l in open(sys.argv[1])] or [0]))' \
	"$WORK/early-requests.jsonl" >"$WORK/early-requests.jsonl.mark"; }
: >"$WORK/early-requests.jsonl.mark"
for args in "sync SyncFolderHierarchy 1" "find FindFolder 1 --findfolder" "one SyncFolderHierarchy 0 --concurrency 1"; do
	set -- $args
	mark
	client "early-$1" --url "$(url)" --mailbox alice@example.com --auth basic --user alice --password-file "$pw" \
		-o "$WORK/early-$1.jsonl" $4 $5
	expect_rc 0 "a pull ($1)"
	check_early "$1" "$2" "$3"
	$PY "$CLIENT_TESTS/compare.py" "$WORK/small.jsonl" "$WORK/early-$1.jsonl" --no-associated || fail "snapshot ($1) differs"
done
stop_server "$SERVER_PID"

# No ServerVersionInfo (a proxy that drops SOAP headers): the versions are stepped down on
# refusal, 2013 SP1 and 2013 refused, then 2010 SP2 taken.
start_server nohdr --exchange-version 2010sp2 --schema-dir "$SCHEMA" --no-version-header --mailbox "$WORK/mbx.jsonl" $(users_args)
pull nohdr 2010sp2 -v
check_trace "$WORK/nohdr" 2010sp2 2
grep -q "the server refused Exchange2013 " "$WORK/nohdr.log" || fail "no step down logged"
$PY "$CLIENT_TESTS/compare.py" "$WORK/mbx.jsonl" "$WORK/nohdr.jsonl" --no-associated || fail "stepped-down snapshot differs"
check_snapshot "$WORK/nohdr.jsonl" Exchange2010_SP2 false syncissues conflicts localfailures serverfailures \
	conversationhistory todosearch
stop_server "$SERVER_PID"
echo "versions: Exchange 2007 SP1, 2010 SP2 (learned, and stepped down to), 2016: every request valid, snapshots whole; the hierarchy's first page beside the distinguished folders"
