#!/usr/bin/python3
"""End-to-end scenario helper for test/scenarios/t_scenarios.sh (samples/scenarios/README.md).

  check.py prepare SCENARIO_DIR OUT_DIR
      Writes OUT_DIR/server.json and OUT_DIR/cache.json (the fixtures, dates shifted when the
      scenario has an "anchor"), OUT_DIR/settings.sh (MAILBOX, FORMAT, DAMAGE), OUT_DIR/scan.args
      and OUT_DIR/server.args (one argument per line).
  check.py check SCHEMA SCENARIOS_DIR WORK_DIR NAME...
      For every scenario NAME: validates WORK_DIR/NAME/report.json (and the --json output on
      standard output) against the schema, compares the report with SCENARIOS_DIR/NAME/expect.json
      and prints one line per scenario. Exit 1 listing every mismatch.
"""
import datetime
import json
import os
import re
import sys

ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")
DATE_FIELDS = ("received", "sent", "created", "modified", "from", "to")
FORMATS = {"ost": "ost", "ost4k": "ost", "pst": "pst"}


def load(path):
    with open(path) as f:
        return json.load(f)


# ------------------------------------------------------------------ prepare

def shift_dates(obj, days):
    """Moves every date of a fixture (items and generators) by whole days."""
    if isinstance(obj, list):
        return [shift_dates(v, days) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k in DATE_FIELDS and isinstance(v, str) and ISO.match(v):
            m = ISO.match(v)
            t = datetime.datetime(*(int(x) for x in m.groups()[:6])) + datetime.timedelta(days=days)
            v = t.strftime("%Y-%m-%dT%H:%M:%S") + (m.group(7) or "") + "Z"
        else:
            v = shift_dates(v, days)
        out[k] = v
    return out


def prepare(scen, out):
    exp = load(os.path.join(scen, "expect.json"))
    server = load(os.path.join(scen, "server.json"))
    cache = load(os.path.join(scen, "cache.json"))
    mailbox = server.get("mailbox", "user@example.com")
    if (cache.get("mailbox", "user@example.com") != mailbox) != bool(exp.get("other_mailbox")):
        sys.exit("%s: server.json and cache.json name %s mailboxes, and expect.json's other_mailbox says "
                 "otherwise" % (scen, "different" if cache.get("mailbox") != mailbox else "the same"))
    days = 0
    if "anchor" in exp:
        # The fixtures are written as of the anchor date; the sync window counts back from the
        # capture time (now), so the dates move with the calendar.
        anchor = datetime.date.fromisoformat(exp["anchor"][:10])
        days = (datetime.datetime.now(datetime.timezone.utc).date() - anchor).days
    for name, fx in (("server.json", server), ("cache.json", cache)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(shift_dates(fx, days), f, indent=1)
    fmt = exp.get("format", "ost4k")
    if fmt not in FORMATS:
        sys.exit("%s: format %r is not one of %s" % (scen, fmt, ", ".join(FORMATS)))
    with open(os.path.join(out, "settings.sh"), "w") as f:
        f.write("MAILBOX='%s'\nFORMAT='%s'\nEXT='%s'\nDAMAGE='%s'\n"
                % (mailbox, fmt, FORMATS[fmt], exp.get("damage", "")))
    with open(os.path.join(out, "scan.args"), "w") as f:
        for a in exp.get("scan_options", []):
            f.write(a + "\n")
    with open(os.path.join(out, "server.args"), "w") as f:
        for a in exp.get("server_options", []):
            f.write(a.replace("{mailbox}", mailbox) + "\n")
    # Over Microsoft Graph: the test Graph server's way of the same fault, and the protocols the
    # scenario makes sense for.
    with open(os.path.join(out, "graph_server.args"), "w") as f:
        for a in exp.get("graph_server_options", []):
            f.write(a.replace("{mailbox}", mailbox) + "\n")
    with open(os.path.join(out, "graph_scan.args"), "w") as f:
        for a in exp.get("graph_scan_options", []):
            f.write(a + "\n")
    with open(os.path.join(out, "protocols"), "w") as f:
        f.write(" ".join(exp.get("protocols", ["ews", "graph"])) + "\n")


# ------------------------------------------------------------------ check

def norm_finding(f):
    """The semantic content of a report finding: what expect.json states."""
    return {
        "kind": f["kind"],
        "side": f.get("side_label"),
        "folder": f.get("folder"),
        "subject": f.get("subject"),
        # a changed subject: either side's value names the item
        "subjects": [f.get("subject")] + [v for e in f.get("evidence", []) if e["property"] == "subject"
                                          for v in e["values"]],
        "class": f.get("class"),
        "count": f.get("count"),
        "expected": f["expected"],
        "reason": f.get("reason"),
        "newer": f.get("newer"),
        "evidence": sorted(e["property"] for e in f.get("evidence", [])),
        "what": f.get("what"),
        "associated": f.get("associated", False),
    }


def matches(want, got):
    for k, v in want.items():
        if k in ("times", "note"):
            continue
        if k == "evidence":
            if sorted(v) != got["evidence"]:
                return False
        elif k == "subject":
            if v not in got["subjects"]:
                return False
        elif got.get(k) != v:
            return False
    if "expected" not in want and got["expected"]:
        return False  # expected: false unless stated
    return True


def describe(d):
    keys = ("kind", "side", "folder", "subject", "class", "count", "expected", "reason", "newer", "evidence", "what")
    return ", ".join("%s=%s" % (k, json.dumps(d[k])) for k in keys
                     if k in d and d[k] not in (None, [], False) or (k == "expected" and k in d))


def match_findings(wants, gots):
    """Maximum bipartite matching (each expectation stands for `times` findings)."""
    slots = []
    for i, w in enumerate(wants):
        slots += [i] * int(w.get("times", 1))
    owner = [-1] * len(gots)  # finding -> slot

    def augment(s, seen):
        for g in range(len(gots)):
            if g in seen or not matches(wants[slots[s]], gots[g]):
                continue
            seen.add(g)
            if owner[g] < 0 or augment(owner[g], seen):
                owner[g] = s
                return True
        return False

    unmatched_slots = [s for s in range(len(slots)) if not augment(s, set())]
    problems = []
    for s in unmatched_slots:
        problems.append("expected finding not produced: " + describe(wants[slots[s]]))
    for g in range(len(gots)):
        if owner[g] < 0:
            problems.append("unexpected finding: " + describe(gots[g]))
    return problems


def subset(path, want, got, problems):
    """Every key of `want` has the same value in `got` (recursively for objects)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            problems.append("%s: %s, expected an object" % (path, json.dumps(got)))
            return
        for k, v in want.items():
            subset(path + "." + k, v, got.get(k), problems)
    elif want != got:
        problems.append("%s: %s, expected %s" % (path, json.dumps(got), json.dumps(want)))


def check_one(validator, scen, work):
    exp = load(os.path.join(scen, "expect.json"))
    problems = []
    rc_path = os.path.join(work, "rc")
    rc = int(open(rc_path).read().strip()) if os.path.exists(rc_path) else None
    path = os.path.join(work, "report.json")
    if exp.get("report", True) is False:
        # a side that cannot be captured at all: no report, an exit code and what stderr must say
        if rc != exp["exit_code"]:
            problems.append("scan exit code %s, expected %s" % (rc, exp["exit_code"]))
        if os.path.exists(path):
            problems.append("a report was written")
        err = open(os.path.join(work, "scan.err")).read()
        for want in exp.get("stderr", []):
            if want not in err:
                problems.append("stderr does not say %r: %s" % (want, tail(os.path.join(work, "scan.err"))))
        return None, problems
    if not os.path.exists(path):
        return None, ["no report written (scan exit %s): %s" % (rc, tail(os.path.join(work, "scan.err")))]
    rep = load(path)
    for err in validator.iter_errors(rep):
        problems.append("report.json does not validate: %s: %s"
                        % ("/".join(str(p) for p in err.absolute_path), err.message))
    try:
        out = load(os.path.join(work, "stdout.json"))
        for err in validator.iter_errors(out):
            problems.append("--json output does not validate: %s: %s"
                            % ("/".join(str(p) for p in err.absolute_path), err.message))
        if [norm_finding(f) for f in out["findings"]] != [norm_finding(f) for f in rep["findings"]]:
            problems.append("--json output and report.json differ in their findings")
    except (OSError, ValueError, KeyError) as e:
        problems.append("--json output is not a report: %s" % e)
    if rep["verdict"] != exp["verdict"]:
        problems.append("verdict %s, expected %s" % (rep["verdict"], exp["verdict"]))
    want_rc = exp.get("exit_code", {"in_sync": 0, "in_sync_except_expected": 0, "resync_folders": 1,
                                     "rebuild_ost": 1, "incomplete": 2}[exp["verdict"]])
    if rc != want_rc:
        problems.append("scan exit code %s, expected %s" % (rc, want_rc))
    if rep["exit_code"] != want_rc:
        problems.append("report exit_code %s, expected %s" % (rep["exit_code"], want_rc))
    for section in ("advice", "sync_window", "summary", "options"):
        if section in exp:
            subset(section, exp[section], rep[section], problems)
    if "export" in exp:
        got = sorted([e.get("subject"), e.get("folder"), e["unverified"]] for e in rep["export_before_rebuild"])
        want = sorted([e["subject"], e["folder"], e.get("unverified", False)] for e in exp["export"])
        if got != want:
            problems.append("export_before_rebuild %s, expected %s" % (json.dumps(got), json.dumps(want)))
    if "folders" in exp:
        rows = {r["folder"]: r for r in rep["folders"]}
        for name, want in exp["folders"].items():
            if name not in rows:
                problems.append("no folder row %r" % name)
            else:
                subset("folders[%s]" % name, want, rows[name], problems)
    gots = [norm_finding(f) for f in rep["findings"]]
    problems += match_findings(exp["findings"], gots)
    return rep, problems


def tail(path, n=5):
    try:
        return " | ".join(open(path).read().strip().splitlines()[-n:])
    except OSError:
        return "(no stderr)"


def check(schema_path, scen_root, work_root, names):
    import jsonschema
    schema = load(schema_path)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    failed = []
    for name in names:
        rep, problems = check_one(validator, os.path.join(scen_root, name), os.path.join(work_root, name))
        if problems:
            failed.append(name)
            print("%s: MISMATCH (%d)" % (name, len(problems)))
            for p in problems:
                print("    " + p)
        elif rep is None:
            print("%s: no report, exit %s as expected" % (name, open(os.path.join(work_root, name, "rc")).read().strip()))
        else:
            n = len(rep["findings"])
            e = sum(1 for f in rep["findings"] if f["expected"])
            print("%s: %s, %d finding%s as expected (%d expected differences)"
                  % (name, rep["verdict"], n, "" if n == 1 else "s", e))
    if failed:
        print("%d of %d scenarios failed: %s" % (len(failed), len(names), " ".join(failed)))
        return 1
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "prepare":
        prepare(argv[2], argv[3])
        return 0
    if len(argv) >= 5 and argv[1] == "check":
        return check(argv[2], argv[3], argv[4], argv[5:])
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
