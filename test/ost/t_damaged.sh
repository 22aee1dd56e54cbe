# Damaged and wrong input: each case ends with a clear error (exit 3, nothing written) or a snapshot
# that lists the damage (exit 2), never a crash, a hang or a sanitizer report, and the input file is
# never modified.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
src="$SHARED/samples/real/SampleOstFile.ost"
[ -f "$src" ] || src=""

check() { # name file expected-codes...
	name=$1 file=$2; shift 2
	before=$( [ -f "$file" ] && sha256sum <"$file")
	rm -f "$tmp/out.jsonl"
	timeout 120 "$OSTRECON" -q ost "$file" -o "$tmp/out.jsonl" 2>"$tmp/err"
	rc=$?
	after=$( [ -f "$file" ] && sha256sum <"$file")
	ok=0
	for want in "$@"; do [ $rc -eq "$want" ] && ok=1; done
	if [ $ok -eq 0 ]; then
		echo "FAIL $name: exit $rc, expected one of: $*"; sed 's/^/   /' "$tmp/err" | head -20; fail=1; return
	fi
	[ "$before" = "$after" ] || { echo "FAIL $name: the input file changed"; fail=1; }
	case $rc in
	3)
		[ -e "$tmp/out.jsonl" ] && { echo "FAIL $name: output written although nothing could be read"; fail=1; }
		[ -s "$tmp/err" ] || { echo "FAIL $name: no error message"; fail=1; }
		ls "$tmp" | grep -q 'out.jsonl.tmp' && { echo "FAIL $name: temporary file left behind"; fail=1; } ;;
	2)
		/usr/bin/python3 - "$tmp/out.jsonl" <<'PY' || { echo "FAIL $name: snapshot does not list the damage"; fail=1; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
assert lines[0]['type'] == 'snapshot' and lines[-1]['type'] == 'end'
errors = [l for l in lines if l['type'] == 'error']
integ = [l for l in lines if l['type'] == 'integrity']
assert errors or (integ and integ[0]['corrupted']), 'exit 2 without errors or corruption flag'
PY
		;;
	esac
	echo "ok   $name: exit $rc $(head -c 150 "$tmp/err" | tr '\n' ' ')"
}

: >"$tmp/empty.ost"
check "empty file" "$tmp/empty.ost" 3
check "missing file" "$tmp/does-not-exist.ost" 3
mkdir "$tmp/dir.ost"
check "directory" "$tmp/dir.ost" 3
head -c 300000 /dev/urandom >"$tmp/random.ost"
check "random bytes" "$tmp/random.ost" 3
printf '!BDN' >"$tmp/sig-only.ost"
check "signature only" "$tmp/sig-only.ost" 3
cp /etc/services "$tmp/text.pst" 2>/dev/null || echo "not a pst" >"$tmp/text.pst"
check "text file" "$tmp/text.pst" 3

if [ -z "$src" ]; then
	echo "skipped the damaged-OST cases: $SHARED/samples/real/SampleOstFile.ost is absent"
else
	/usr/bin/python3 test/ost/damage.py "$src" "$tmp/trunc.ost" truncate
	check "truncated OST" "$tmp/trunc.ost" 2 3
	for seed in 1 2 3 4 5 6; do
		/usr/bin/python3 test/ost/damage.py "$src" "$tmp/idx$seed.ost" index $seed
		check "index bytes overwritten (seed $seed)" "$tmp/idx$seed.ost" 0 2 3
		/usr/bin/python3 test/ost/damage.py "$src" "$tmp/data$seed.ost" data $seed
		check "data bytes overwritten (seed $seed)" "$tmp/data$seed.ost" 0 2 3
		/usr/bin/python3 test/ost/damage.py "$src" "$tmp/hdr$seed.ost" header $seed
		check "header bytes overwritten (seed $seed)" "$tmp/hdr$seed.ost" 0 2 3
	done
	# A block offset past 256 TiB (kept apart from the 48 bits a block entry holds): both the
	# listing's error and the checksum scan's name it exactly.
	far=$(/usr/bin/python3 test/ost/damage.py "$src" "$tmp/far.ost" far 3)
	check "block offset past 256 TiB" "$tmp/far.ost" 2
	if ! grep -q "at offset $far lie outside the file" "$tmp/out.jsonl" ||
	   ! grep -q "at offset $far (.* bytes) lies outside the file" "$tmp/out.jsonl"; then
		echo "FAIL block offset past 256 TiB: offset $far not named in the snapshot's errors"; fail=1
	fi
	# Refuses to write the snapshot over the cache file itself.
	cp "$src" "$tmp/self.ost"
	"$OSTRECON" -q ost "$tmp/self.ost" -o "$tmp/self.ost" 2>/dev/null
	[ $? -eq 64 ] && cmp -s "$src" "$tmp/self.ost" || { echo "FAIL: -o onto the input was not refused"; fail=1; }
fi
exit $fail
