#!/bin/sh
# `export --report R.json` narrowed by --folder or --since: every entry of the export list says
# where it went or why it did not go. For the only_in_cache scenario (a draft in Drafts, a contact
# in Contacts, a day apart), --folder Drafts exports the draft and notes the contact
# "not_selected", its reason naming --folder and the contact's folder; --since the contact's day
# exports the contact and notes the draft as dated before --since. The report stays valid against
# docs/report.schema.json and the .pst holds exactly the entries marked exported.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
W="$TOOLS_DIR/ostwrite"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
d="$root/samples/scenarios/only_in_cache"
"$W" --expand "$d/server.json" -o "$tmp/server.jsonl"
"$W" "$d/cache.json" --format ost4k -o "$tmp/c.ost"
"$OSTRECON" ost -q "$tmp/c.ost" -o "$tmp/cache.jsonl"
"$OSTRECON" diff -q "$tmp/server.jsonl" "$tmp/cache.jsonl" -o "$tmp/base.json" > /dev/null || true
check() { # check LABEL WANT_EXPORTED ARGS...
	label=$1 want=$2; shift 2
	cp "$tmp/base.json" "$tmp/r.json"
	rm -f "$tmp/out.pst"; rc=0
	"$OSTRECON" export -q --ost "$tmp/c.ost" --report "$tmp/r.json" --name Top -o "$tmp/out.pst" "$@" || rc=$?
	[ "$rc" -eq 0 ] || { echo "$label: exit $rc"; exit 1; }
	"$OSTRECON" ost -q "$tmp/out.pst" -o "$tmp/out.jsonl"
	/usr/bin/python3 - "$tmp/r.json" "$root/docs/report.schema.json" "$tmp/out.jsonl" "$label" "$want" "$@" <<'PY'
import json, sys
import jsonschema
rep_p, schema_p, out_p, label, want = sys.argv[1:6]
args = sys.argv[6:]
rep = json.load(open(rep_p))
jsonschema.validate(rep, json.load(open(schema_p)))
in_pst = {json.loads(l).get("subject") for l in open(out_p) if json.loads(l)["type"] == "item"}
entries = rep["export_before_rebuild"]
bad = []
if len(entries) != 2:
    bad.append("the report lists %d entries, the scenario has 2" % len(entries))
for e in entries:
    x = e.get("exported")
    if not x:
        bad.append("%s (%s): no 'exported'" % (e["id"], e["folder"])); continue
    if e["folder"] == want:
        if x["status"] != "complete" or e["subject"] not in in_pst:
            bad.append("%s: status %s, in the .pst: %s" % (e["subject"], x["status"], e["subject"] in in_pst))
    else:
        flag = args[0]
        if x["status"] != "not_selected" or flag not in x.get("reason", "") or e["subject"] in in_pst:
            bad.append("%s: %s, expected not_selected with a reason naming %s" % (e["subject"], x, flag))
        elif flag == "--folder" and e["folder"] not in x["reason"]:
            bad.append("%s: the reason does not name its folder: %s" % (e["subject"], x["reason"]))
        else:
            print("%s: %r not exported: %s" % (label, e["subject"], x["reason"]))
for b in bad:
    print("%s: %s" % (label, b))
sys.exit(1 if bad else 0)
PY
}
check "--folder Drafts" Drafts --folder Drafts
check "--since 2026-11-20" Contacts --since 2026-11-20
