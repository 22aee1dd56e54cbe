/*
 * ndb_batch.c: blocks read many at a time through io_uring (see ndb.h, ndb_batch_read).
 *
 * A listing reads one block for most messages, each a few hundred bytes to a few KiB somewhere in
 * the file: one pread each, and on the benchmark file a third of the process's CPU was the kernel's,
 * most of it the cost of entering it once a message (see ndb_read_at). The thread that reads
 * messages ahead knows the next ones (native.c): it hands their first blocks here, which submits
 * all their reads in one io_uring_enter and waits for them, and read_block (ndb.c) then takes each
 * block's bytes from the batch instead of reading them. A read the batch did not complete (an error,
 * a short read: a file cut short underfoot) is left to read_block's pread, which fails as before;
 * where io_uring is missing or refused (an older kernel, seccomp, kernel.io_uring_disabled) and
 * with OSTRECON_TEST_NO_URING set in the environment (tests), ndb_batch_read does nothing and
 * every block is read by pread: the bytes read are the same, and so is the listing.
 */
#include "ndb.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>

/* The most bytes one batch holds: blocks past it are read by pread (a batch of NDB_BATCH blocks of
 * a few KiB each fits many times over). */
#define BATCH_BYTES ((size_t)512 << 10)

typedef struct {
	ndb_bbt_ent e;  /* the block (bid with bit 0 cleared) */
	size_t at;      /* its place in the block table */
	size_t total;   /* the bytes read: the block, its trailer and its padding */
	size_t pos;     /* where they are in buf */
	int res;        /* the read's result: total when complete */
} batch_ent;

struct ndb_batch {
	struct io_uring ring;
	bool ready;     /* the ring is set up */
	bool off;       /* io_uring is refused, or the batch gave up: pread only */
	size_t n;       /* entries of the last batch */
	size_t next;    /* the entry expected next */
	batch_ent ent[NDB_BATCH];
	uint8_t *buf;
	size_t cap;
	uint8_t *pages; /* NDB_BATCH pages of a table's temporary file (ndb_batch_pages) */
};

/* The ring, set up on the first batch; false (and pread from then on) when it cannot be. */
static bool batch_ring(ndb_file *nf)
{
	if (!nf->batch) {
		if (!(nf->batch = calloc(1, sizeof *nf->batch)))
			return false;
		const char *knob = getenv("OSTRECON_TEST_NO_URING");
		nf->batch->off = knob && *knob;
	}
	struct ndb_batch *b = nf->batch;
	if (b->off || b->ready)
		return !b->off;
	int rc = io_uring_queue_init(NDB_BATCH, &b->ring, 0);
	if (rc < 0) {
		static int told; /* once a process: every reader of every file meets the same refusal */
		if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
			log_verbose("cache file reads: io_uring is not available (%s): one read at a time", strerror(-rc));
		b->off = true;
		return false;
	}
	b->ready = true;
	return true;
}

/* Waits for the `pending` reads submitted, each read's result into res[its number] (numbers past n
 * ignored); false when the ring failed (then it is given up, and the buffers kept until
 * ndb_batch_free: a read still in flight may write to them). */
static bool batch_wait(struct ndb_batch *b, unsigned pending, int *res, size_t n, size_t stride)
{
	while (pending > 0) {
		struct io_uring_cqe *cqe;
		int rc = io_uring_wait_cqe(&b->ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return false;
		size_t k = (size_t)io_uring_cqe_get_data64(cqe);
		if (k < n)
			*(int *)(void *)((char *)res + k * stride) = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		pending--;
	}
	return true;
}

/* Submits the reads prepared in the ring and waits for them (batch_wait); false when not all went
 * or the ring failed: then it is given up (b->off) once what was submitted is done. */
static bool batch_run(struct ndb_batch *b, unsigned pending, int *res, size_t n, size_t stride)
{
	int rc;
	do
		rc = io_uring_submit_and_wait(&b->ring, pending);
	while (rc == -EINTR);
	if (rc >= 0 && (unsigned)rc == pending && batch_wait(b, pending, res, n, stride))
		return true;
	/* not all submitted (the rest stay queued), or the ring failed */
	if (rc > 0 && (unsigned)rc < pending)
		batch_wait(b, (unsigned)rc, res, n, stride);
	b->off = true;
	return false;
}

size_t ndb_batch_read(ndb_file *nf, const uint64_t *bids, size_t n)
{
	if (nf->lazy || n < 2 || !batch_ring(nf))
		return 0;
	struct ndb_batch *b = nf->batch;
	const ndb_format *f = nf->f;
	b->n = b->next = 0;
	size_t bytes = 0;
	ndb_batch_pages(nf, &nf->bbt, bids, n); /* the block table's pages the lookups below need */
	if (b->off)
		return 0; /* that batch gave the ring up */
	for (size_t i = 0; i < n && b->n < NDB_BATCH; i++) {
		batch_ent *x = &b->ent[b->n];
		if (!bids[i] || !ndb_find_block(nf, bids[i], &x->e, &x->at))
			continue; /* read_block says what is wrong with it */
		x->total = ((size_t)x->e.cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
		if (x->total > f->blk_max || x->e.ib < f->page || x->e.ib > nf->size || nf->size - x->e.ib < x->total)
			continue;
		if (bytes + x->total > BATCH_BYTES)
			break;
		bool twice = false;
		for (size_t k = 0; k < b->n && !twice; k++)
			twice = b->ent[k].e.bid == x->e.bid;
		if (twice)
			continue;
		x->pos = bytes;
		x->res = -EINPROGRESS;
		bytes += x->total;
		b->n++;
	}
	if (b->n < 2) {
		b->n = 0;
		return 0;
	}
	if (bytes > b->cap) {
		uint8_t *p = realloc(b->buf, bytes);
		if (!p) {
			b->n = 0;
			return 0;
		}
		/* zeroed once: valgrind does not see the kernel write there, and would take every block
		 * read from the batch for uninitialised memory */
		memset(p + b->cap, 0, bytes - b->cap);
		b->buf = p;
		b->cap = bytes;
	}
	for (size_t k = 0; k < b->n; k++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		io_uring_prep_read(sqe, nf->fd, b->buf + b->ent[k].pos, (unsigned)b->ent[k].total, b->ent[k].e.ib);
		io_uring_sqe_set_data64(sqe, k);
	}
	nf->n_reads += b->n;
	nf->n_calls++;
	bool ok = batch_run(b, (unsigned)b->n, &b->ent[0].res, b->n, sizeof b->ent[0]);
	for (size_t k = 0; k < b->n; k++)
		if (b->ent[k].res > 0)
			nf->bytes_read += (uint64_t)b->ent[k].res;
	if (!ok) {
		b->n = 0; /* read_block reads this batch's blocks by pread */
		return 0;
	}
	return b->n;
}

void ndb_batch_pages(ndb_file *nf, const ndb_table *t, const uint64_t *keys, size_t n)
{
	ndb_tpage w[NDB_BATCH];
	if (nf->lazy || !batch_ring(nf))
		return;
	struct ndb_batch *b = nf->batch;
	/* zeroed once, for valgrind as buf is; read into here, then copied to the lookup pages, so that
	 * a ring that fails with reads in flight leaves them to write into memory kept until the end */
	if (!b->pages && !(b->pages = calloc(NDB_BATCH, NDB_TPAGE)))
		return;
	size_t m = ndb_table_pages_wanted(t, keys, n, w, NDB_BATCH);
	for (size_t k = 0; k < m; k++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		io_uring_prep_read(sqe, w[k].fd, b->pages + k * NDB_TPAGE, NDB_TPAGE, (uint64_t)w[k].page * NDB_TPAGE);
		io_uring_sqe_set_data64(sqe, k);
		w[k].res = -EINPROGRESS;
	}
	if (m && batch_run(b, (unsigned)m, &w[0].res, m, sizeof w[0])) {
		for (size_t k = 0; k < m; k++)
			if (w[k].res == NDB_TPAGE)
				memcpy(w[k].buf, b->pages + k * NDB_TPAGE, NDB_TPAGE);
	} else {
		for (size_t k = 0; k < m; k++)
			w[k].res = -EIO; /* the lookups read them */
	}
	ndb_table_pages_read(t, w, m);
}

const uint8_t *ndb_batch_take(ndb_file *nf, uint64_t bid, ndb_bbt_ent *e, size_t *at)
{
	struct ndb_batch *b = nf->batch;
	if (!b || b->n == 0)
		return NULL;
	bid &= ~1ull;
	size_t k = b->next < b->n && b->ent[b->next].e.bid == bid ? b->next : b->n;
	for (size_t j = 0; k == b->n && j < b->n; j++)
		if (b->ent[j].e.bid == bid)
			k = j;
	if (k == b->n || b->ent[k].res != (int)b->ent[k].total)
		return NULL;
	b->next = k + 1;
	*e = b->ent[k].e;
	*at = b->ent[k].at;
	return b->buf + b->ent[k].pos;
}

void ndb_batch_free(ndb_file *nf)
{
	struct ndb_batch *b = nf->batch;
	if (!b)
		return;
	if (b->ready)
		io_uring_queue_exit(&b->ring);
	free(b->buf);
	free(b->pages);
	free(b);
	nf->batch = NULL;
}
