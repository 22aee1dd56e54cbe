# CI's bounded fuzz run: builds the libFuzzer targets of fuzz/ with clang and runs each for
# FUZZ_CI_SECONDS (default 45) on seed corpora made now (fuzz/run.sh). Fails when a target finds a
# crash, a leak, a hang or undefined behaviour (the input is in build/fuzz/artifacts/). Skips,
# saying why, when clang or libFuzzer is not installed (scripts/deps.sh installs both as root).
set -u
cd "$(dirname "$0")/../.." || exit 2
command -v clang >/dev/null 2>&1 || { echo "skip: clang is not installed (apt-get install clang libclang-rt-14-dev)"; exit 77; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$tmp/probe.c"
clang -fsanitize=fuzzer,address "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1 ||
	{ echo "skip: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"; exit 77; }
mkdir -p build
# One build at a time: several test runs may share this tree.
flock build/.fuzz-build.lock make --no-print-directory -f fuzz/fuzz.mk -j2 fuzz-build >"$tmp/build.log" 2>&1 ||
	{ tail -n 30 "$tmp/build.log"; echo "FAIL: the fuzz targets do not build"; exit 1; }
# Seeds are made with the binaries of this test run (test/run sets OSTRECON and TOOLS_DIR).
OSTRECON_BIN=${OSTRECON:-build/ostrecon} OSTWRITE_BIN=${TOOLS_DIR:-build}/ostwrite \
	sh fuzz/run.sh "${FUZZ_CI_SECONDS:-45}"
