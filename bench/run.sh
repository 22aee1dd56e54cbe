#!/bin/sh
# `make bench`: every benchmark, each printing its figures and ratios (none is a test).
# Sizes follow the issues' targets (the cache reader's at 200,000 messages, then its memory at
# 1,000,000; the pypff listing it is compared with takes over half an hour at 200,000); SMALL=1
# runs every benchmark at a tenth of the size.
set -u
cd "$(dirname "$0")/.." || exit 1
command -v bc >/dev/null || { echo "bench: the bc command is needed (apt-get install bc)"; exit 1; }
if [ "${SMALL:-0}" = 1 ]; then
	export ITEMS_EWS=10000 ITEMS_GRAPH=10000 SPLIT_ITEMS=20000 N=10 BATCH_ITEMS=2000 BENCH_ITEMS=10000 BENCH_LARGE_ITEMS=100000 DIFF_SIZES="10000 30000 100000 100000L"
fi
echo "== cache reader on a generated Outlook 2013+ OST (bench/writer_ost.sh)"
sh bench/writer_ost.sh
echo; echo "== EWS client against the test server, a curl replay of its requests and exchangelib (bench/ews.sh)"
ITEMS=${ITEMS_EWS:-100000} sh bench/ews.sh
echo; echo "== Graph client against the JavaScript SDK and a curl replay (bench/graph_client.sh)"
ITEMS=${ITEMS_GRAPH:-100000} sh bench/graph_client.sh
echo; echo "== one large folder read in parallel parts, 1 stream against 4, at 20 ms latency (bench/split.sh)"
ITEMS=${SPLIT_ITEMS:-200000} sh bench/split.sh
echo; echo "== test Graph server throughput (bench/graph.sh)"
ITEMS=${ITEMS_GRAPH:-100000} sh bench/graph.sh
echo; echo "== diff of two large snapshots (bench/diff.sh)"
# shellcheck disable=SC2086
sh bench/diff.sh ${DIFF_SIZES:-}
echo; echo "== batch of many mailboxes (bench/batch.sh)"
ITEMS=${BATCH_ITEMS:-2000} sh bench/batch.sh
echo; echo "== HTML report of 300 folders and 10,000 findings in headless Chromium (bench/html.sh)"
sh bench/html.sh || echo "(skipped: chromium is needed)"
