# The reader on every real Outlook file in $SHARED/samples/real: the same folders and per-folder
# message counts as Debian's pffexport (an independent reader), keys well-formed and unique, and on
# the real OST every message keyed and the client-side folders given their roles.
set -u
dir="$SHARED/samples/real"
if [ ! -d "$dir" ]; then echo "skipped: $dir is absent (real sample files are read from shared/)"; exit 77; fi
command -v pffexport >/dev/null || { echo "pffexport (pff-tools) is not installed"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for f in "$dir"/*.ost "$dir"/*.pst; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	b=$(basename "$f")
	"$OSTRECON" -q ost "$f" -o "$tmp/$b.jsonl"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then echo "FAIL $b: ostrecon ost exited $rc"; fail=1; continue; fi
	pffexport -t "$tmp/$b" "$f" >"$tmp/$b.log" 2>&1 || { echo "FAIL $b: pffexport failed"; fail=1; continue; }
	printf '%s: ' "$b"
	/usr/bin/python3 test/ost/compare_pffexport.py "$tmp/$b.jsonl" "$tmp/$b.export" "$tmp/$b.log" || fail=1
	printf '%s: ' "$b"
	case "$b" in
	*.ost)
		/usr/bin/python3 test/ost/check_keys_roles.py "$tmp/$b.jsonl" --all-messages-keyed --all-folders-keyed \
			"/Root - Public=publicroot" "/Root - Mailbox=root" "/Root - Mailbox/IPM_SUBTREE=msgfolderroot" \
			"/Root - Mailbox/IPM_SUBTREE/Inbox=inbox" "/Root - Mailbox/IPM_SUBTREE/Calendar=calendar" \
			"/Root - Mailbox/IPM_SUBTREE/Sync Issues=syncissues" \
			"/Root - Mailbox/IPM_SUBTREE/Sync Issues/Conflicts=conflicts" \
			"/Root - Mailbox/IPM_SUBTREE/Sync Issues/Local Failures=localfailures" \
			"/Root - Mailbox/IPM_SUBTREE/Sync Issues/Server Failures=serverfailures" \
			"/Root - Mailbox/Finder=searchfolders" "/Root - Mailbox/Finder/Reminders=reminders" \
			"/Root - Mailbox/Finder/To-Do Search=todosearch" \
			"/Root - Mailbox/Finder/Tracked Mail Processing=search" \
			"/Root - Mailbox/ItemProcSearch=search" "/Root - Mailbox/SPAM Search Folder 2=search" \
			|| fail=1 ;;
	*)
		/usr/bin/python3 test/ost/check_keys_roles.py "$tmp/$b.jsonl" || fail=1 ;;
	esac
done
[ $n -gt 0 ] || { echo "no .ost/.pst files in $dir"; exit 1; }
exit $fail
