# Report redaction (`ostrecon diff --redact`, `scan --redact`): no subject and no address of
# either snapshot (mailbox, Internet message ids, any "@") is left in the JSON report, the text
# report, the JSON on standard output or the report rendered again by `ostrecon report`; the same
# comparison without --redact does show them (so the check itself sees what it looks for).
. "$(dirname "$0")/lib.sh"
need_ostwrite
"$OSTRECON" diff --help 2>/dev/null | grep -q -- --redact || skip "this build has no diff --redact"
"$OSTWRITE" --expand "$FIXTURES/writer_small.json" -o "$WORK/a.jsonl" || fail "ostwrite --expand failed"
# The cache side: every third item missing, others with an edited subject.
"$PY" - "$WORK/a.jsonl" "$WORK/b.jsonl" "$WORK/secrets.txt" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
out, n, secrets = [], 0, set()
for o in objs:
    if o["type"] == "snapshot":
        secrets.add(o["mailbox"])
    if o["type"] == "item":
        n += 1
        for k in ("subject", "message_id"):
            if o.get(k):
                secrets.add(o[k])
        if n % 3 == 0:
            continue
        if n % 3 == 1 and o.get("subject"):
            o["subject"] += " (edited on the cache side)"
            o["modified"] = "2025-01-01T00:00:00Z"
            secrets.add(o["subject"])
    out.append(o)
out[-1]["items"] = sum(1 for o in out if o["type"] == "item")
open(sys.argv[2], "w").write("".join(json.dumps(o) + "\n" for o in out))
open(sys.argv[3], "w").write("".join(s + "\n" for s in sorted(secrets) if len(s) >= 4))
PY
[ "$(wc -l <"$WORK/secrets.txt")" -gt 20 ] || fail "too few subjects and addresses to look for"

"$OSTRECON" diff "$WORK/a.jsonl" "$WORK/b.jsonl" -o "$WORK/plain.json" >"$WORK/plain.txt" 2>&1
[ $? -eq 1 ] || fail "the comparison found no difference"
grep -qF -f "$WORK/secrets.txt" "$WORK/plain.json" || fail "the unredacted report shows no subject: the check is blind"

printf 'a-key-kept-for-this-company\n' >"$WORK/key"; chmod 600 "$WORK/key"
"$OSTRECON" diff "$WORK/a.jsonl" "$WORK/b.jsonl" --redact -o "$WORK/r1.json" >"$WORK/r1.txt" 2>&1
"$OSTRECON" diff "$WORK/a.jsonl" "$WORK/b.jsonl" --redact="$WORK/key" --json >"$WORK/r2.json" 2>"$WORK/r2.err"
"$OSTRECON" report "$WORK/r1.json" --all >"$WORK/r3.txt" 2>&1
"$OSTRECON" diff -v "$WORK/a.jsonl" "$WORK/b.jsonl" --redact --text >"$WORK/r4.txt" 2>&1
for f in r1.json r1.txt r2.json r2.err r3.txt r4.txt; do
	[ -s "$WORK/$f" ] || [ "$f" = r2.err ] || fail "$f is empty"
	if grep -nF -f "$WORK/secrets.txt" "$WORK/$f" | head -n 5 | grep .; then fail "$f shows a subject or an address"; fi
	if grep -n '@' "$WORK/$f" | head -n 5 | grep .; then fail "$f shows an address"; fi
done
grep -q '"hmac:' "$WORK/r1.json" || fail "no keyed hash in the redacted report"
echo "redaction: $(wc -l <"$WORK/secrets.txt") subjects and addresses, none in 6 redacted outputs"
