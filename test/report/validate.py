#!/usr/bin/python3
"""Validates ostrecon JSON reports against docs/report.schema.json (Draft 2020-12).
Usage: validate.py SCHEMA REPORT..."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
bad = 0
for path in sys.argv[2:]:
    for err in validator.iter_errors(json.load(open(path))):
        bad += 1
        print("%s: %s: %s" % (path, "/".join(str(p) for p in err.absolute_path), err.message))
sys.exit(1 if bad else 0)
