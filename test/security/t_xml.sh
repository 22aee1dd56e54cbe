# XML of a hostile server: the response parser refuses DTDs, so no entity is ever declared or
# expanded ("billion laughs" fails at once, in bounded memory), no external entity or DTD is
# fetched (the server's request log shows no GET) and no local file is read into the output;
# deep nesting and a huge text value are refused. Each fails cleanly: exit 3, a clear message,
# no snapshot written. Served by test/security/replay_server.py on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
pw=$(secret_file pw alice-pw-1)
SOAP_OPEN='<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Body><m:GetFolderResponse><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
SOAP_CLOSE='</m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>'

# hostile NAME PATTERN: serves $WORK/NAME.xml, expects exit 3, PATTERN in the message, no output,
# no GET on the server, peak memory under 400 MiB (the sanitizer build's own overhead included)
hostile() {
	n=$1 pat=$2
	start_replay "$n" "$WORK/$n.xml"
	peak_rss timeout 60 "$OSTRECON" server --no-progress -vvv --url "$(url)" --mailbox alice@example.com \
		--auth basic --user alice --password-file "$pw" --retries 1 -o "$WORK/$n.jsonl" >"$WORK/$n.log" 2>&1 3>"$WORK/$n.rss"
	RC=$?
	expect_rc 3 "$n"
	grep -q "$pat" "$WORK/$n.log" || fail "$n: no '$pat' in: $(grep error: "$WORK/$n.log")"
	[ ! -e "$WORK/$n.jsonl" ] || fail "$n: a snapshot was written"
	if grep -v '^POST ' "$WORK/$n.requests"; then fail "$n: something other than the EWS POST was requested"; fi
	grep -q "$(head -c 12 /etc/hostname)" "$WORK/$n.log" 2>/dev/null && [ -s /etc/hostname ] &&
		fail "$n: the content of a local file shows in the output"
	rss=$(cat "$WORK/$n.rss")
	[ "$rss" -lt 400 ] || fail "$n: peak memory $rss MiB"
	echo "ok $n: $(grep error: "$WORK/$n.log" | head -n 1 | cut -c1-150) (peak ${rss} MiB)"
	stop_server "$SERVER_PID"
}

# Billion laughs: ten levels of ten, 10^10 "lol"s if expanded.
{
	echo '<?xml version="1.0"?>'
	echo '<!DOCTYPE s:Envelope ['
	echo ' <!ENTITY lol "lol">'
	prev=lol
	for i in 1 2 3 4 5 6 7 8 9; do
		printf ' <!ENTITY lol%s "' "$i"
		for j in 1 2 3 4 5 6 7 8 9 10; do printf '&%s;' "$prev"; done
		echo '">'
		prev=lol$i
	done
	echo ']>'
	echo "$SOAP_OPEN<m:MessageText>&lol9;</m:MessageText>$SOAP_CLOSE"
} >"$WORK/laughs.xml"
hostile laughs "DTD"

# An external entity pointing at the server itself and at a local file.
cat >"$WORK/xxe.xml" <<XML
<?xml version="1.0"?>
<!DOCTYPE s:Envelope [
 <!ENTITY net SYSTEM "http://127.0.0.1:@PORT@/xxe-fetched">
 <!ENTITY file SYSTEM "file:///etc/hostname">
]>
$SOAP_OPEN<m:MessageText>&net;&file;</m:MessageText>$SOAP_CLOSE
XML
hostile xxe "DTD"

# An external DTD (would be fetched by a parser that loads DTDs), no internal subset.
printf '<?xml version="1.0"?>\n<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:@PORT@/external.dtd">\n%s%s\n' \
	"$SOAP_OPEN" "$SOAP_CLOSE" >"$WORK/extdtd.xml"
hostile extdtd "DTD"

# Deep nesting: 100,000 levels.
"$PY" -c '
import sys
n = 100000
sys.stdout.write(sys.argv[1] + "<t:x>" * n + "</t:x>" * n + sys.argv[2])' "$SOAP_OPEN" "$SOAP_CLOSE" >"$WORK/deep.xml"
hostile deep "nested too deeply"

# A huge text value: 64 MiB in one element.
"$PY" -c '
import sys
sys.stdout.write(sys.argv[1] + "<m:MessageText>")
chunk = "A" * (1 << 20)
for _ in range(64):
    sys.stdout.write(chunk)
sys.stdout.write("</m:MessageText>" + sys.argv[2])' "$SOAP_OPEN" "$SOAP_CLOSE" >"$WORK/huge.xml"
hostile huge "larger than 4 MiB"
echo "xml: DTDs, entities, external fetches, deep nesting and huge values refused in bounded memory"
