# Sourced by tests: pst-extractor (npm, a PST/OST reader we did not write) installed once into
# $TOOLS_DIR/npm-pst-extractor, and pstx_dump FILE OUT.jsonl, which dumps every message of FILE
# with it (pstx_dump.js). A machine without node and npm, or without access to npm's registry,
# skips the test (exit 77).
PSTX_VERSION=1.12.0

pstx_setup() {
	command -v node > /dev/null && command -v npm > /dev/null ||
		{ echo "node and npm are not installed: pst-extractor cannot run"; exit 77; }
	PSTX_DIR="$TOOLS_DIR/npm-pst-extractor"
	mkdir -p "$PSTX_DIR"
	# one install for every test that needs it, whichever comes first
	if ! flock "$PSTX_DIR/.lock" sh -c '
		[ -f "$1/node_modules/pst-extractor/package.json" ] ||
		(cd "$1" && timeout 300 npm install --no-audit --no-fund --no-save --silent "pst-extractor@$2" > npm.log 2>&1)
	' sh "$PSTX_DIR" "$PSTX_VERSION"; then
		echo "npm cannot install pst-extractor@$PSTX_VERSION (no access to the registry?): see $PSTX_DIR/npm.log"
		exit 77
	fi
	export NODE_PATH="$PSTX_DIR/node_modules"
}

# pstx_dump FILE OUT.jsonl: 0 when pst-extractor read every message (counts printed), else 1.
pstx_dump() {
	timeout 300 node "$(dirname "$0")/pstx_dump.js" "$1" "$2" > "$2.counts" 2> "$2.err" || return 1
	/usr/bin/python3 -c 'import json,sys; c=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(sys.argv[2]+":", c); sys.exit(1 if c["problems"] else 0)' \
		"$2.counts" "$(basename "$1")"
}
