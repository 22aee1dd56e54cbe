/*
 * ostinflate: the decompression floor of a cache reader (bench/writer_ost.sh). Inflates every
 * compressed block of an Outlook 2013+ file (4 KiB pages, zlib blocks) with libdeflate, in file
 * order, and prints how long the inflating took: no reader of the file that inflates its blocks can
 * take less CPU than this. The blocks are found through the block B-tree (src/ost/ndb.c, not
 * timed) and read in large sequential pieces of CHUNK bytes.
 *
 *     ostinflate [-j THREADS] FILE
 *
 * prints one line: blocks, compressed and inflated bytes, inflate CPU and wall seconds, read seconds.
 * With -j 2 (up to 16) the pieces are shared out among that many threads, each reading and
 * inflating its own: the line gives the CPU of all of them and the wall time of the whole, reads
 * included (the floor of a reader that inflates on that many cores). With one thread (the default)
 * the wall time is the inflating's alone and the reads are timed apart.
 * Exit 0; 3 when the file cannot be read or has no compressed blocks to speak of (not 4 KiB format).
 */
#include "ost/ndb.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libdeflate.h>

#define CHUNK ((size_t)8 << 20)
#define MAX_THREADS 16

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

/* One piece of the file: blocks [first, end) of the offset-sorted blocks lie in [off, off + len). */
typedef struct {
	size_t first, end;
	uint64_t off;
	size_t len;
} piece;

typedef struct {
	ndb_file *nf;
	const ndb_bbt_ent *blocks; /* every block, in offset order */
	const piece *pieces;
	size_t n_pieces, stride, start;
	bool ok;
	uint64_t n_blocks, bytes_in, bytes_out, failed;
	double cpu, wall, read_wall;
	char error[200];
} worker;

/* Reads and inflates pieces start, start + stride, ... */
static void *work(void *arg)
{
	worker *w = arg;
	ndb_file reader, *nf = &reader; /* its own counters: the arrays and descriptor are shared */
	ndb_reader_init(nf, w->nf);
	const ndb_format *f = nf->f;
	uint8_t *chunk = malloc(CHUNK + f->blk_max), *out = malloc(65536);
	struct libdeflate_decompressor *zs = libdeflate_alloc_decompressor();
	or_error err = {0};
	if (!chunk || !out || !zs) {
		snprintf(w->error, sizeof w->error, "out of memory");
		goto out;
	}
	for (size_t p = w->start; p < w->n_pieces; p += w->stride) {
		const piece *pc = &w->pieces[p];
		double t0 = now(CLOCK_MONOTONIC);
		if (ndb_read_at(nf, chunk, pc->len, pc->off, &err) != 0) {
			snprintf(w->error, sizeof w->error, "%s", err.message);
			goto out;
		}
		w->read_wall += now(CLOCK_MONOTONIC) - t0;
		double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
		for (size_t i = pc->first; i < pc->end; i++) {
			const ndb_bbt_ent *b = &w->blocks[i];
			size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
			if (total > f->blk_max || b->ib < pc->off || b->ib - pc->off + total > pc->len)
				continue; /* not a block (damage) */
			const uint8_t *blk = chunk + (b->ib - pc->off), *t = blk + total - f->blk_trailer;
			size_t inflated = (size_t)t[18] | (size_t)t[19] << 8, got = 0;
			if (inflated == 0 || inflated == b->cb)
				continue; /* stored as is */
			if (libdeflate_zlib_decompress(zs, blk, b->cb, out, inflated, &got) != LIBDEFLATE_SUCCESS ||
			    got != inflated)
				w->failed++;
			w->n_blocks++;
			w->bytes_in += b->cb;
			w->bytes_out += inflated;
		}
		w->cpu += now(CLOCK_THREAD_CPUTIME_ID) - c0;
		w->wall += now(CLOCK_MONOTONIC) - w0;
	}
	w->ok = true;
out:
	if (zs)
		libdeflate_free_decompressor(zs);
	free(chunk);
	free(out);
	ndb_file counters = {0}; /* the reader's counts are not used: not added to the shared file */
	ndb_reader_done(&reader, &counters);
	return NULL;
}

int main(int argc, char **argv)
{
	ndb_file nf;
	ndb_report rep;
	or_error err = {0};
	piece *pieces = NULL;
	ndb_bbt_ent *blocks = NULL;
	size_t n_pieces = 0, cap_pieces = 0;
	int threads = 1, status = 3;
	if (argc == 4 && strcmp(argv[1], "-j") == 0) {
		long j;
		if (parse_long(argv[2], 1, MAX_THREADS, &j) != 0) {
			fprintf(stderr, "ostinflate: -j takes 1 to %d threads\n", MAX_THREADS);
			return 64;
		}
		threads = (int)j;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: ostinflate [-j THREADS] FILE\n");
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
	/* unpacked, in file order, cut into pieces of at most CHUNK bytes, each starting at a block */
	size_t n_blocks = nf.bbt.n;
	if (!(blocks = malloc((n_blocks ? n_blocks : 1) * sizeof *blocks))) {
		fprintf(stderr, "ostinflate: out of memory\n");
		goto out;
	}
	ndb_cursor c;
	uint64_t v[4];
	ndb_cursor_init(&c, &nf.bbt, 0);
	for (size_t k = 0; ndb_cursor_next(&c, v); k++)
		blocks[k] = ndb_bbt_of(v);
	qsort(blocks, n_blocks, sizeof *blocks, cmp_ib);
	size_t i = 0;
	while (i < n_blocks && blocks[i].ib < nf.size) {
		uint64_t off = blocks[i].ib;
		size_t len = nf.size - off < CHUNK ? (size_t)(nf.size - off) : CHUNK, first = i;
		for (; i < n_blocks; i++) {
			const ndb_bbt_ent *b = &blocks[i];
			size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
			if (total <= f->blk_max && b->ib - off + total > len)
				break;
		}
		if (i == first)
			i++; /* a block running past the end of the file */
		piece *pc = or_append((void **)&pieces, &n_pieces, &cap_pieces, sizeof *pc);
		if (!pc) {
			fprintf(stderr, "ostinflate: out of memory\n");
			goto out;
		}
		*pc = (piece){first, i, off, len};
	}
	worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	bool started[MAX_THREADS] = {false};
	memset(w, 0, sizeof w);
	double wall0 = now(CLOCK_MONOTONIC);
	for (int t = 0; t < threads; t++) {
		w[t] = (worker){.nf = &nf, .blocks = blocks, .pieces = pieces, .n_pieces = n_pieces, .stride = (size_t)threads,
		                .start = (size_t)t};
		if (t > 0)
			started[t] = or_thread_create(&th[t], work, &w[t]) == 0;
	}
	work(&w[0]);
	uint64_t n_inflated = 0, bytes_in = 0, bytes_out = 0, failed = 0;
	double cpu = 0, wall = 0, read_wall = 0;
	bool ok = true;
	for (int t = 0; t < threads; t++) {
		if (t > 0 && started[t])
			pthread_join(th[t], NULL);
		else if (t > 0)
			snprintf(w[t].error, sizeof w[t].error, "cannot start a thread");
		if (!w[t].ok) {
			fprintf(stderr, "ostinflate: %s\n", w[t].error);
			ok = false;
		}
		n_inflated += w[t].n_blocks;
		bytes_in += w[t].bytes_in;
		bytes_out += w[t].bytes_out;
		failed += w[t].failed;
		cpu += w[t].cpu;
		wall += w[t].wall;
		read_wall += w[t].read_wall;
	}
	if (!ok)
		goto out;
	if (threads > 1)
		wall = now(CLOCK_MONOTONIC) - wall0; /* the whole, reads included */
	char how[48] = "";
	if (threads > 1)
		snprintf(how, sizeof how, " on %d threads, reads included", threads);
	printf("ostinflate: %llu compressed blocks, %llu bytes inflated to %llu, inflate %.3f s CPU, %.3f s wall%s; "
	       "read %.3f s; %llu blocks did not inflate\n",
	       (unsigned long long)n_inflated, (unsigned long long)bytes_in, (unsigned long long)bytes_out, cpu, wall, how,
	       read_wall, (unsigned long long)failed);
	status = n_inflated ? 0 : 3;
out:
	free(pieces);
	free(blocks);
	ndb_close(&nf);
	ndb_report_free(&rep);
	return status;
}
