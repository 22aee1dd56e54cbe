/*
 * ostinflate: the decompression floor of a cache reader (bench/writer_ost.sh). Inflates every
 * compressed block of an Outlook 2013+ file (4 KiB pages, zlib blocks) with libdeflate, in file
 * order, and prints how long the inflating took: no reader of the file that inflates its blocks can
 * take less CPU than this. The blocks are found through the block B-tree (src/ost/ndb.c, not
 * timed) and read in large sequential pieces (timed apart from the inflating).
 *
 *     ostinflate FILE
 *
 * prints one line: blocks, compressed and inflated bytes, inflate CPU and wall seconds, read seconds.
 * Exit 0; 3 when the file cannot be read or has no compressed blocks to speak of (not 4 KiB format).
 */
#include "ost/ndb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>

#define CHUNK ((size_t)8 << 20)

static double now(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_ib(const void *a, const void *b)
{
	const ndb_bbt_ent *x = a, *y = b;
	return x->ib < y->ib ? -1 : x->ib > y->ib;
}

int main(int argc, char **argv)
{
	ndb_file nf;
	ndb_report rep;
	or_error err = {0};
	uint8_t *chunk = NULL, *out = NULL;
	struct libdeflate_decompressor *zs = NULL;
	int status = 3;
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: ostinflate FILE\n");
		return 64;
	}
	memset(&rep, 0, sizeof rep);
	int rc = ndb_open(&nf, argv[1], &rep, &err);
	if (rc != 0) {
		fprintf(stderr, "ostinflate: %s: %s\n", argv[1], rc > 0 ? rep.skipped : err.message);
		ndb_close(&nf);
		ndb_report_free(&rep);
		return 3;
	}
	const ndb_format *f = nf.f;
	if (f->kind != FMT_4K) {
		fprintf(stderr, "ostinflate: %s: %s format, whose blocks are not compressed\n", argv[1], f->name);
		goto out;
	}
	chunk = malloc(CHUNK + f->blk_max);
	out = malloc(65536);
	zs = libdeflate_alloc_decompressor();
	if (!chunk || !out || !zs) {
		fprintf(stderr, "ostinflate: out of memory\n");
		goto out;
	}
	/* in file order (the lookups, whose fence keys this leaves stale, are not used after this) */
	qsort(nf.bbt, nf.n_bbt, sizeof *nf.bbt, cmp_ib);
	uint64_t n_blocks = 0, bytes_in = 0, bytes_out = 0, failed = 0;
	double cpu = 0, wall = 0, read_wall = 0;
	size_t i = 0;
	while (i < nf.n_bbt) {
		/* the next piece of the file, from block i on; then every block that lies in it */
		uint64_t chunk_off = nf.bbt[i].ib;
		if (chunk_off >= nf.size)
			break;
		size_t want = nf.size - chunk_off < CHUNK ? (size_t)(nf.size - chunk_off) : CHUNK;
		double t0 = now(CLOCK_MONOTONIC);
		if (ndb_read_at(&nf, chunk, want, chunk_off, &err) != 0) {
			fprintf(stderr, "ostinflate: %s\n", err.message);
			goto out;
		}
		read_wall += now(CLOCK_MONOTONIC) - t0;
		double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
		size_t first = i;
		for (; i < nf.n_bbt; i++) {
			const ndb_bbt_ent *b = &nf.bbt[i];
			size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
			if (total > f->blk_max || b->ib < chunk_off)
				continue; /* not a block (damage) */
			if (b->ib - chunk_off + total > want)
				break;
			const uint8_t *blk = chunk + (b->ib - chunk_off), *t = blk + total - f->blk_trailer;
			size_t inflated = (size_t)t[18] | (size_t)t[19] << 8, got = 0;
			if (inflated == 0 || inflated == b->cb)
				continue; /* stored as is */
			if (libdeflate_zlib_decompress(zs, blk, b->cb, out, inflated, &got) != LIBDEFLATE_SUCCESS ||
			    got != inflated)
				failed++;
			n_blocks++;
			bytes_in += b->cb;
			bytes_out += inflated;
		}
		cpu += now(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall += now(CLOCK_MONOTONIC) - w0;
		if (i == first)
			i++; /* a block running past the end of the file */
	}
	printf("ostinflate: %llu compressed blocks, %llu bytes inflated to %llu, inflate %.3f s CPU, %.3f s wall; "
	       "read %.3f s; %llu blocks did not inflate\n",
	       (unsigned long long)n_blocks, (unsigned long long)bytes_in, (unsigned long long)bytes_out, cpu, wall,
	       read_wall, (unsigned long long)failed);
	status = n_blocks ? 0 : 3;
out:
	if (zs)
		libdeflate_free_decompressor(zs);
	free(chunk);
	free(out);
	ndb_close(&nf);
	ndb_report_free(&rep);
	return status;
}
