#!/usr/bin/python3
"""Validates ostrecon JSON reports against docs/report.schema.json (Draft 2020-12), and checks that
every per-side pair agrees with its twin keyed by side label (docs/REPORT.md).
Usage: validate.py SCHEMA REPORT..."""
import json
import sys

import jsonschema

# (where, array field, twin field): "where" is a function giving the objects that hold the pair.
TWINS = [
    (lambda r: [r["summary"]], "items", "found"),
    (lambda r: [r["summary"]], "associated_items", "found_associated"),
    (lambda r: [r["summary"]], "missing_on", "missing"),
    (lambda r: r["folders"], "paths", "path"),
    (lambda r: r["folders"], "count", "found"),
    (lambda r: r["folders"], "associated", "found_associated"),
    (lambda r: r["folders"], "missing_on", "missing"),
    (lambda r: r["folders"], "unreadable", "unreadable_on"),
    (lambda r: r["folders"], "oldest_mail", "oldest_mail_on"),
    (lambda r: r["folders"], "keyless", "keyless_on"),
    (lambda r: r["findings"], "paths", "path"),
    (lambda r: r["findings"], "ids", "id"),
    (lambda r: [e for f in r["findings"] for e in f.get("evidence", [])], "values", "value"),
    (lambda r: r["sync_window"]["evidence"], "oldest_mail", "oldest_mail_on"),
]


def twins(path, rep):
    bad = 0
    labels = [s["label"] for s in rep["sides"]]
    if rep.get("side_index") != {labels[0]: 0, labels[1]: 1}:
        print("%s: side_index %r does not match the sides' labels %r" % (path, rep.get("side_index"), labels))
        bad += 1
    for where, arr, twin in TWINS:
        for o in where(rep):
            if arr not in o:
                continue
            want = {labels[0]: o[arr][0], labels[1]: o[arr][1]}
            if o.get(twin) != want:
                print("%s: %s %r and %s %r disagree" % (path, arr, o[arr], twin, o.get(twin)))
                bad += 1
    for e in rep["export_before_rebuild"]:
        if e.get("side_label") != labels[e["side"]]:
            print("%s: export side %r labelled %r" % (path, e["side"], e.get("side_label")))
            bad += 1
    return bad


schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
bad = 0
for path in sys.argv[2:]:
    rep = json.load(open(path))
    for err in validator.iter_errors(rep):
        bad += 1
        print("%s: %s: %s" % (path, "/".join(str(p) for p in err.absolute_path), err.message))
    if not bad and "sides" in rep:  # a report (a batch summary has no sides)
        bad += twins(path, rep)
sys.exit(1 if bad else 0)
