# Sourced by the HTML tests and bench/html.sh: headless Chromium (Debian's `chromium`) with a fresh
# profile and nothing that reaches the network. CHROMIUM names it; chromium_check says why it
# cannot be used (not installed, does not start), or nothing.
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

# chromium_run ARGS...: one headless run with a fresh profile (removed afterwards), bounded in time.
chromium_run() {
	_prof=$(mktemp -d) || return 2
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --disable-default-apps \
		--disable-extensions --hide-scrollbars --user-data-dir="$_prof" "$@" 2>>"${CHROMIUM_LOG:-/dev/null}"
	_rc=$?
	rm -rf "$_prof"
	return $_rc
}

chromium_check() {
	[ -n "$CHROMIUM" ] || { echo "chromium is not installed (scripts/deps.sh installs Debian's chromium)"; return 1; }
	_t=$(mktemp -d)
	printf '<!DOCTYPE html><title>t</title><p id="p">static</p><script>document.getElementById("p").textContent="ran"</script>' >"$_t/t.html"
	if ! chromium_run --dump-dom "file://$_t/t.html" 2>/dev/null | grep -q '>ran<'; then
		rm -rf "$_t"
		echo "chromium does not start headless here ($CHROMIUM)"
		return 1
	fi
	rm -rf "$_t"
}
