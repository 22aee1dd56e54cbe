/*
 * ndb_check.c: the NDB integrity scan ([MS-PST] 2.2.2), independent of libpff.
 *
 * libpff 20180714 reads a block whose CRC is wrong without a word (docs/QUIRKS.md), so the reader
 * checks the file's own checksums here: from the header's ROOT it walks the node B-tree (NBT) and
 * the block B-tree (BBT), verifies every page trailer (ptype, wSig, CRC, back pointer), then reads
 * every block the BBT lists and verifies its trailer (cb, bid) and its CRC. A bad block that is a
 * node's data or subnode block is tied to that node, so the snapshot can name the message or folder.
 *
 * Nothing read from the file is trusted before it is checked: every offset and size is held against
 * the file size, B-tree depth is bounded, pages already visited are not walked again, and the whole
 * scan stops after a number of pages and blocks proportional to the file size.
 */
#include "ndb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- blocks */

/* Blocks are checked in offset order through a window of the file: a window starts at a block to
 * read and covers the blocks after it that need reading, up to WINDOW bytes, reading over a gap (a
 * block the listing already read and checked, the padding of blocks) rather than issuing another
 * read. A read costs more than the bytes it saves: on the 484 MB benchmark file after its listing
 * (4 KiB format, 200,000 messages), reading over gaps of at most 512 bytes the scan read 0.74x the
 * file in 85,000 reads (about 0.2 s of system time), over gaps of 1 KiB 0.92x in 1,000. So gaps of
 * GAP_OVER bytes are always read over, and longer ones (up to GAP_MAX) as far as the bytes read
 * from the file in all, the listing's and the scan's, stay within READ_BUDGET percent of the file
 * (the target: 1.2x): the gaps of each run of blocks (scan_blocks, scan_runs) are counted
 * (gaps_add) and pick_gap takes the longest gap that keeps within the run's share of what is left;
 * window_get spends what remains of that share on gaps up to GAP_OVER bytes longer.
 * With the 1.2x budget that file is read 1.20x in all (1.09x before) in 239,000 reads (292,000). */
#define WINDOW (1u << 20)
#define GAP_OVER 512u
#define GAP_MAX (32u << 10)
#define READ_BUDGET 120u
typedef struct {
	uint8_t *buf;
	uint64_t off;
	size_t len;
} window;

/* A block of a run: the blocks of a range of offsets, unpacked and sorted by offset. */
typedef struct {
	uint64_t ib, bid;
	uint32_t at; /* its place in the block table */
	uint16_t cb;
} run_ent;

typedef struct {
	ndb_file *nf;
	const run_ent *run; /* the run checked; NULL when the block table is in offset order */
	size_t n;           /* blocks in the run (or the table) */
	window win;
	ndb_cursor cur, ahead; /* the block checked, and the look-ahead of window_get */
	uint64_t gap;          /* the longest gap window_get reads over, for this run (pick_gap) */
	uint64_t extra;        /* and the bytes it may read over in gaps up to GAP_OVER longer */
	uint64_t left;         /* bytes of blocks to read in the runs not checked yet */
} scan;

/* The i-th block in offset order (of the run), and its place in the block table in *at; from the
 * table with cursor c, which reads on from the last block it read. */
static ndb_bbt_ent entry_at(const scan *sc, ndb_cursor *c, size_t i, size_t *at)
{
	if (sc->run) {
		const run_ent *r = &sc->run[i];
		*at = r->at;
		return (ndb_bbt_ent){r->bid, r->ib, r->cb};
	}
	uint64_t v[4] = {0, 0, 0, 0}; /* when the tables' temporary file fails (the scan then fails) */
	if (c->t != &sc->nf->bbt || c->i != i)
		ndb_cursor_init(c, &sc->nf->bbt, i);
	ndb_cursor_next(c, v);
	*at = i;
	return ndb_bbt_of(v);
}

static size_t block_total(const ndb_format *f, const ndb_bbt_ent *b)
{
	return ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
}

static bool block_inside(const ndb_file *s, const ndb_bbt_ent *b, size_t total)
{
	return total <= s->f->blk_max && b->ib >= s->f->page && b->ib <= s->size && s->size - b->ib >= total;
}

/* Whether block `at` is one the scan reads: not read and found good by the listing, and its
 * bytes inside the file. */
static bool to_read(const scan *sc, const ndb_bbt_ent *b, size_t at, size_t total)
{
	return !ndb_verified(sc->nf, at) && block_inside(sc->nf, b, total);
}

/* Points *out at the `total` bytes of block i (in offset order), reading a new window when they are not
 * in the current one. */
static int window_get(scan *sc, size_t i, const ndb_bbt_ent *b, size_t total, const uint8_t **out)
{
	ndb_file *s = sc->nf;
	window *w = &sc->win;
	uint64_t off = b->ib;
	if (!(w->len && off >= w->off && off + total <= w->off + w->len)) {
		uint64_t end = off + total;
		sc->ahead = sc->cur; /* at block i + 1 */
		for (size_t j = i + 1; j < sc->n; j++) {
			size_t at;
			ndb_bbt_ent next = entry_at(sc, &sc->ahead, j, &at);
			const ndb_bbt_ent *nb = &next;
			size_t nt = block_total(s->f, nb);
			if (!to_read(sc, nb, at, nt))
				continue;
			if (nb->ib + nt - off > WINDOW)
				break;
			if (nb->ib > end + sc->gap) {
				/* a gap of the next GAP_OVER bytes, as far as the run's bytes to spare allow */
				uint64_t gap = nb->ib - end;
				if (gap > sc->gap + GAP_OVER || gap > sc->extra)
					break;
				sc->extra -= gap;
			}
			if (nb->ib + nt > end)
				end = nb->ib + nt;
		}
		int rc = ndb_read_at(s, w->buf, (size_t)(end - off), off, s->err);
		if (rc)
			return rc;
		w->off = off;
		w->len = (size_t)(end - off);
	}
	*out = w->buf + (off - w->off);
	return 0;
}

/* The gaps between the blocks a run reads, counted as they come in offset order: gap[k] sums
 * the gaps of (k - 1) * GAP_OVER + 1 to k * GAP_OVER bytes (gap[0]: none), up to GAP_MAX. */
typedef struct {
	uint64_t gap[GAP_MAX / GAP_OVER + 1];
	uint64_t need; /* the bytes of the blocks to read */
	uint64_t end;  /* where the last one ends */
} gaps;

static void gaps_add(gaps *g, const scan *sc, const ndb_bbt_ent *b, size_t at)
{
	size_t total = block_total(sc->nf->f, b);
	if (!to_read(sc, b, at, total))
		return;
	g->need += total;
	if (g->end && b->ib > g->end && b->ib - g->end <= GAP_MAX)
		g->gap[(b->ib - g->end + GAP_OVER - 1) / GAP_OVER] += b->ib - g->end;
	if (b->ib + total > g->end)
		g->end = b->ib + total;
}

/* The longest gap between two blocks to read that the run with gaps `g` reads over (sc->gap): at
 * least GAP_OVER, and longer as far as the bytes so read over keep the file's bytes read within
 * READ_BUDGET percent of its size, this run taking its share (by the bytes of blocks it reads) of
 * what the blocks of this run and of the runs after it (sc->left) leave, after the bytes `pending`
 * that a run on another thread may still read; what remains of the share goes to gaps up to
 * GAP_OVER longer (sc->extra, spent by window_get). Returns the most this run reads. */
static uint64_t pick_gap(scan *sc, const gaps *g, uint64_t pending)
{
	ndb_file *s = sc->nf;
	uint64_t need = g->need, budget = s->size / 100 * READ_BUDGET, rest = sc->left > need ? sc->left : need;
	uint64_t spent = g->gap[1]; /* the gaps of GAP_OVER bytes or less, read over whatever the budget */
	sc->gap = GAP_OVER;
	sc->extra = 0;
	if (need && budget > s->bytes_read + pending + rest) {
		/* this run's share of the spare bytes */
		uint64_t spare = (uint64_t)((double)(budget - s->bytes_read - pending - rest) * (double)need / (double)rest);
		for (size_t k = 2; k < sizeof g->gap / sizeof *g->gap && spent + g->gap[k] <= spare; k++) {
			spent += g->gap[k];
			sc->gap = k * GAP_OVER;
		}
		sc->extra = spare > spent ? spare - spent : 0;
	}
	log_debug("checksum scan: %zu blocks, %llu bytes to read, read over gaps of %llu bytes and %llu bytes more",
	          sc->n, (unsigned long long)need, (unsigned long long)sc->gap, (unsigned long long)sc->extra);
	sc->left = rest - need;
	return need + spent + sc->extra;
}

static int check_block(scan *sc, size_t i)
{
	ndb_file *s = sc->nf;
	size_t at;
	ndb_bbt_ent ent = entry_at(sc, &sc->cur, i, &at);
	const ndb_bbt_ent *b = &ent;
	const ndb_format *f = s->f;
	size_t total = block_total(f, b);
	int rc = 0;
	if (!ndb_take_budget(s))
		goto out;
	s->rep->blocks_checked++;
	if (ndb_verified(s, at))
		goto out; /* read and found good while listing */
	if (total > f->blk_max) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx: the block B-tree gives it %u bytes, "
		        "more than a block holds", (unsigned long long)b->bid, b->cb);
		goto out;
	}
	if (!block_inside(s, b, total)) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu (%zu bytes) lies "
		        "outside the file (%llu bytes)", (unsigned long long)b->bid,
		        (unsigned long long)b->ib, total,
		        (unsigned long long)s->size);
		goto out;
	}
	const uint8_t *blk;
	if ((rc = window_get(sc, i, b, total, &blk)) != 0)
		goto out;
	const uint8_t *t = blk + total - f->blk_trailer;
	uint16_t cb = ndb_le16(t);
	uint32_t crc_stored = f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4);
	uint64_t bid = f->kind == FMT_ANSI ? ndb_le32(t + 4) : ndb_le64(t + 8);
	/* bit 0 of a BID is reserved: readers ignore it ([MS-PST] 2.2.2.2) */
	if (cb != b->cb || (bid & ~1ull) != (b->bid & ~1ull)) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu: its trailer names "
		        "block 0x%llx of %u bytes, the block B-tree block 0x%llx of %u bytes", (unsigned long long)b->bid,
		        (unsigned long long)b->ib, (unsigned long long)bid, cb, (unsigned long long)b->bid, b->cb);
		goto out;
	}
	uint32_t crc = ndb_crc(0, blk, cb);
	if (crc != crc_stored)
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_crc", b->ib, b->bid, "block 0x%llx at offset %llu: CRC 0x%08x stored, "
		        "0x%08x computed over its %u bytes", (unsigned long long)b->bid, (unsigned long long)b->ib,
		        crc_stored, crc, cb);
out:
	return rc;
}

/* Offset order; blocks at the same offset (damage) in key order. */
static int cmp_run(const void *a, const void *b)
{
	const run_ent *x = a, *y = b;
	if (x->ib != y->ib)
		return x->ib < y->ib ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

typedef struct { uint64_t bid; size_t k; } bad_ref;

static int cmp_bad(const void *a, const void *b)
{
	const bad_ref *x = a, *y = b;
	return x->bid < y->bid ? -1 : x->bid > y->bid;
}

static void tie(ndb_report *r, const bad_ref *refs, size_t n, uint64_t bid, const ndb_nbt_ent *node, bool sub)
{
	if (!bid)
		return;
	bad_ref key = {bid & ~1ull, 0};
	const bad_ref *hit = bsearch(&key, refs, n, sizeof *refs, cmp_bad);
	if (!hit)
		return;
	/* equal bids sit side by side: the same block can be listed once only, but be safe */
	while (hit > refs && hit[-1].bid == key.bid)
		hit--;
	for (; hit < refs + n && hit->bid == key.bid; hit++) {
		ndb_problem *p = &r->problems[hit->k];
		if (!p->nid) {
			p->nid = node->nid;
			p->parent = node->parent;
			p->sub = sub;
		}
	}
}

/* Ties each listed bad block to the node whose data or subnode block it is. */
static int map_nodes(ndb_file *s)
{
	ndb_report *r = s->rep;
	bad_ref *refs = malloc((r->n_problems ? r->n_problems : 1) * sizeof *refs);
	size_t n = 0;
	if (!refs)
		return or_fail(s->err, OR_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < r->n_problems; k++)
		if (r->problems[k].what == NDB_BLOCK)
			refs[n++] = (bad_ref){r->problems[k].bid & ~1ull, k};
	if (n) {
		qsort(refs, n, sizeof *refs, cmp_bad);
		ndb_cursor c;
		uint64_t v[4];
		ndb_cursor_init(&c, &s->nbt, 0);
		while (ndb_cursor_next(&c, v)) {
			ndb_nbt_ent e = ndb_nbt_of(v);
			tie(r, refs, n, e.data, &e, false);
			tie(r, refs, n, e.sub, &e, true);
		}
	}
	free(refs);
	return 0;
}

/* ---------------------------------------------------------------- entry point */

/* Blocks out of offset order (a file Outlook wrote reuses freed space) are checked in runs: the
 * offsets are cut into SLICES equal slices, counted, and consecutive slices grouped into runs of at
 * most RUN_MAX blocks (a single slice may hold more); each run is unpacked from the table (one pass
 * over it), sorted by offset and checked. Memory: one run, 12 MiB at most (unless one slice holds
 * more blocks), whatever the file's size, where an order of every block cost 4 bytes a block (and 8
 * more while sorting); CPU: a pass over the packed table per run, a few milliseconds per million
 * blocks. */
#ifndef SLICES
#define SLICES 4096
#endif
#ifndef RUN_MAX
#define RUN_MAX ((size_t)1 << 19)
#endif

static int scan_runs(scan *sc, uint64_t lo, uint64_t hi)
{
	ndb_file *nf = sc->nf;
	uint64_t width = (hi - lo) / SLICES + 1, v[4];
	size_t *count = calloc(SLICES, sizeof *count), cap = 0;
	run_ent *run = NULL;
	ndb_cursor c;
	int rc = 0;
	size_t runs = 0;
	if (!count)
		return or_fail(nf->err, OR_ERR_NOMEM, "out of memory");
	ndb_cursor_init(&c, &nf->bbt, 0);
	while (ndb_cursor_next(&c, v))
		count[(v[1] - lo) / width]++;
	for (size_t s0 = 0, s1; s0 < SLICES && !nf->rep->limit_hit; s0 = s1) {
		size_t total = 0;
		for (s1 = s0; s1 < SLICES && (total == 0 || total + count[s1] <= RUN_MAX); s1++)
			total += count[s1];
		if (total == 0)
			continue;
		if (total > cap) {
			run_ent *r = realloc(run, total * sizeof *r);
			if (!r) {
				rc = or_fail(nf->err, OR_ERR_NOMEM, "out of memory");
				break;
			}
			run = r;
			cap = total;
		}
		size_t n = 0;
		/* the slices' offsets from lo, [from, to); `to` is not used for the last slice, where it
		 * could overflow */
		uint64_t from = s0 * width, to = s1 * width;
		ndb_cursor_init(&c, &nf->bbt, 0);
		for (size_t i = 0; ndb_cursor_next(&c, v); i++)
			if (v[1] - lo >= from && (s1 == SLICES || v[1] - lo < to))
				run[n++] = (run_ent){v[1], v[0], (uint32_t)i, (uint16_t)v[2]};
		qsort(run, n, sizeof *run, cmp_run);
		runs++;
		sc->run = run;
		sc->n = n;
		gaps g = {0};
		for (size_t i = 0; i < n; i++) {
			ndb_bbt_ent b = {run[i].bid, run[i].ib, run[i].cb};
			gaps_add(&g, sc, &b, run[i].at);
		}
		pick_gap(sc, &g, 0);
		for (size_t i = 0; i < n && !nf->rep->limit_hit && rc == 0; i++)
			rc = check_block(sc, i);
		if (rc)
			break;
	}
	log_debug("checksum scan: the blocks out of offset order, sorted in %zu runs of at most %zu", runs, cap);
	sc->run = NULL;
	free(run);
	free(count);
	return rc;
}

/* ---------------------------------------------------------------- on two threads
 *
 * The blocks of a file in offset order are checked in two halves, the second by another thread
 * with a reader of its own (ndb_reader_init) and a report of its own, added after the first's: the
 * same findings in the same order as one thread gives. Only when the scan's budget cannot run out
 * on the way (every block takes one unit of it) and the first half reads without an error (else
 * one thread would have stopped there: the second half's findings are dropped). The halves share
 * the bytes the file may still be read (pick_gap): the first takes its share, the second what the
 * first leaves at most. */
#define SPLIT_MIN 128 /* blocks in each half at least */

typedef struct {
	scan sc;
	ndb_file reader;
	ndb_report rep;
	or_error err;
	size_t from;
	int rc;
} half;

static int check_range(scan *sc, size_t from, size_t to)
{
	int rc = 0;
	for (size_t i = from; i < to && !sc->nf->rep->limit_hit && rc == 0; i++)
		rc = check_block(sc, i);
	return rc;
}

static void *half_main(void *arg)
{
	half *h = arg;
	h->rc = check_range(&h->sc, h->from, h->sc.n);
	return NULL;
}

/* Adds the findings of the second half to the report of the first, as ndb_add_problem would have. */
static void add_half(ndb_report *r, const ndb_report *second)
{
	r->blocks_checked += second->blocks_checked;
	r->bad_blocks += second->bad_blocks;
	r->bad_pages += second->bad_pages;
	r->unlisted += second->unlisted;
	for (size_t i = 0; i < second->n_problems; i++) {
		ndb_problem *p = ndb_problem_slot(r);
		if (p)
			*p = second->problems[i];
	}
}

/* Checks blocks [0, m) here and [m, sc->n) on another thread; g[0] and g[1] their gaps. */
static int scan_halves(scan *sc, size_t m, const gaps g[2])
{
	ndb_file *nf = sc->nf;
	half *h = calloc(1, sizeof *h);
	if (!h || !(h->sc.win.buf = malloc(WINDOW > nf->f->blk_max ? WINDOW : nf->f->blk_max))) {
		free(h);
		return or_fail(nf->err, OR_ERR_NOMEM, "out of memory");
	}
	uint64_t budget = nf->budget;
	ndb_reader_init(&h->reader, nf);
	h->reader.rep = &h->rep;
	h->reader.err = &h->err;
	h->sc.nf = &h->reader;
	h->sc.n = sc->n;
	h->from = m;
	sc->n = m;
	uint64_t first = pick_gap(sc, &g[0], 0);
	h->sc.left = sc->left;
	pick_gap(&h->sc, &g[1], nf->bytes_read + first); /* the reader counts its own bytes from 0 */
	pthread_t th;
	bool threaded = or_thread_create(&th, half_main, h) == 0;
	log_debug("checksum scan: blocks %zu to %zu on %s", m, h->sc.n, threaded ? "a second thread" : "this one");
	int rc = check_range(sc, 0, m);
	if (threaded)
		pthread_join(th, NULL);
	else if (rc == 0)
		half_main(h);
	if (rc == 0) {
		add_half(nf->rep, &h->rep);
		nf->rep->threads = threaded ? 2 : 1;
		nf->budget -= budget - h->reader.budget;
		if ((rc = h->rc) != 0)
			*nf->err = h->err;
	}
	ndb_reader_done(&h->reader, nf);
	ndb_report_free(&h->rep);
	free(h->sc.win.buf);
	free(h);
	return rc;
}

/* The block scan of an open file, its walk's report already in nf->rep. */
static int scan_blocks(ndb_file *nf)
{
	size_t n_bbt = nf->bbt.n;
	scan sc = {.nf = nf, .n = n_bbt};
	int rc = 0;
	if (n_bbt > UINT32_MAX)
		return or_fail(nf->err, OR_ERR_FORMAT, "%zu blocks: more than the scan can order", n_bbt);
	/* A file whose blocks lie in the order of their ids (written front to back) is read in the
	 * table's order (equal offsets stay in key order); any other in runs. */
	bool in_order = true;
	ndb_cursor c;
	uint64_t v[4], last = 0, lo = UINT64_MAX, hi = 0;
	/* in the table's order: the run's gaps when that is offset order, and each half's */
	gaps g = {0}, halves[2];
	memset(halves, 0, sizeof halves);
	size_t m = n_bbt / 2;
	ndb_cursor_init(&c, &nf->bbt, 0);
	for (size_t i = 0; ndb_cursor_next(&c, v); i++) {
		in_order &= i == 0 || last <= v[1];
		last = v[1];
		lo = v[1] < lo ? v[1] : lo;
		hi = v[1] > hi ? v[1] : hi;
		ndb_bbt_ent b = ndb_bbt_of(v);
		gaps_add(&g, &sc, &b, i);
		gaps_add(&halves[i >= m], &sc, &b, i);
	}
	if (!(sc.win.buf = malloc(WINDOW > nf->f->blk_max ? WINDOW : nf->f->blk_max))) {
		rc = or_fail(nf->err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	sc.left = g.need;
	/* In offset order: the file is read front to back (in two halves on two threads). */
	if (!in_order) {
		rc = scan_runs(&sc, lo, hi);
		nf->rep->threads = 1;
	} else if (nf->scan_threads >= 2 && m >= SPLIT_MIN && nf->budget >= n_bbt) {
		rc = scan_halves(&sc, m, halves);
	} else {
		pick_gap(&sc, &g, 0);
		rc = check_range(&sc, 0, n_bbt);
		nf->rep->threads = 1;
	}
	if (rc == 0)
		rc = map_nodes(nf);
out:
	free(sc.win.buf);
	return rc;
}

int ndb_check(const char *path, ndb_report *rep, or_error *err)
{
	ndb_file nf;
	memset(rep, 0, sizeof *rep);
	int rc = ndb_open(&nf, path, rep, err);
	if (rc == 0)
		rc = scan_blocks(&nf);
	else if (rc > 0)
		rc = 0;
	if (rc == 0)
		rc = ndb_lost_fail(&nf, err);
	ndb_close(&nf);
	return rc;
}

int ndb_check_open(ndb_file *nf, ndb_report *rep, or_error *err)
{
	ndb_report *walked = nf->rep;
	or_error *saved_err = nf->err;
	int rc = 0;
	*rep = *walked;
	rep->problems = NULL;
	rep->n_problems = rep->cap_problems = 0;
	if (walked->n_problems) {
		if (!(rep->problems = malloc(walked->n_problems * sizeof *rep->problems)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		memcpy(rep->problems, walked->problems, walked->n_problems * sizeof *rep->problems);
		rep->n_problems = rep->cap_problems = walked->n_problems;
	}
	nf->rep = rep;
	nf->err = err;
	nf->budget = nf->walk_budget;
	rc = scan_blocks(nf);
	nf->rep = walked;
	nf->err = saved_err;
	return rc ? rc : ndb_lost_fail(nf, err);
}

void ndb_report_free(ndb_report *rep)
{
	if (!rep)
		return;
	free(rep->problems);
	memset(rep, 0, sizeof *rep);
}

/* ---------------------------------------------------------------- into the snapshot */

static const snap_folder *folder_of(const snap_t *snap, uint32_t nid)
{
	char id[32];
	snprintf(id, sizeof id, "nid:%u", nid);
	for (size_t i = 0; i < snap->n_folders; i++)
		if (snap->folders[i].id && strcmp(snap->folders[i].id, id) == 0)
			return &snap->folders[i];
	return NULL;
}

/* One error line for one problem: a folder's or an item's when the block is theirs. */
static int add_problem(snap_t *snap, const ndb_problem *p)
{
	uint32_t type = p->nid & 0x1f;
	snap_err_scope scope = ERR_SCOPE_FILE;
	const snap_folder *f = NULL, *parent = NULL;
	char id[32], folder_id[32], msg[400];
	const char *what = "";
	int rc = 0;
	id[0] = folder_id[0] = '\0';
	if (p->nid) {
		snprintf(id, sizeof id, "nid:%u", p->nid);
		if (type == 0x02 || type == 0x03) {
			scope = ERR_SCOPE_FOLDER;
			f = folder_of(snap, p->nid);
			what = p->sub ? "a subnode block of folder" : "the data block of folder";
		} else if (type == 0x0d || type == 0x0e || type == 0x0f || type == 0x10) {
			/* a folder's hierarchy, contents or associated contents table: the folder's own nid
			 * has the same index and type 0x02 (0x03 for a search folder's contents) */
			uint32_t owner = (p->nid & ~0x1fu) | (type == 0x10 ? 0x03u : 0x02u);
			f = folder_of(snap, owner);
			if (f) {
				scope = ERR_SCOPE_FOLDER;
				snprintf(id, sizeof id, "nid:%u", owner);
			}
			what = type == 0x0d ? "the subfolder table of a folder" : "the message table of a folder";
		} else if (type == 0x04 || type == 0x08) {
			scope = ERR_SCOPE_ITEM;
			parent = folder_of(snap, p->parent);
			if (p->parent)
				snprintf(folder_id, sizeof folder_id, "nid:%u", p->parent);
			what = p->sub ? "a subnode block (attachments, recipients) of message" : "the property block of message";
		} else {
			what = p->sub ? "a subnode block of node" : "the data block of node";
		}
	}
	if (p->nid)
		snprintf(msg, sizeof msg, "%s (%s nid:%u)", p->message, what, p->nid);
	else
		snprintf(msg, sizeof msg, "%s", p->message);
	/* An object libpff could not read already has its error line: the checksum finding is added
	 * to it, so that one damaged object stays one error. */
	for (size_t i = 0; id[0] && i < snap->n_errors; i++) {
		snap_error *old = &snap->errors[i];
		if (old->scope != scope || !old->id || strcmp(old->id, id) != 0)
			continue;
		char both[sizeof msg + 512];
		snprintf(both, sizeof both, "%s; checksum: %s", old->message ? old->message : "", msg);
		old->message = snap_strdup(snap, both);
		if (!old->message)
			rc = OR_ERR_NOMEM;
		goto out;
	}
	snap_error *e = snap_add_error(snap, scope, p->code, msg);
	if (!e) {
		rc = OR_ERR_NOMEM;
		goto out;
	}
	e->id = id[0] ? snap_strdup(snap, id) : NULL;
	if (f) {
		e->folder_id = f->parent_id;
		e->path = f->path;
	} else if (folder_id[0]) {
		e->folder_id = snap_strdup(snap, folder_id);
		e->path = parent ? parent->path : NULL;
	}
out:
	return rc;
}

int ndb_check_snapshot(const char *path, ndb_file *open, bool skip, snap_t *snap, size_t *problems,
                       or_error *err)
{
	snap_integrity *in = &snap->integrity;
	ndb_report rep;
	or_error e = {0};
	int rc = 0;
	*problems = 0;
	memset(&rep, 0, sizeof rep);
	in->pages_checked = in->blocks_checked = in->bad_pages = in->bad_blocks = -1;
	if (skip) {
		in->ndb_scan = "off";
		goto out;
	}
	int scan_rc = open ? ndb_check_open(open, &rep, &e) : ndb_check(path, &rep, &e);
	if (scan_rc == OR_ERR_NOMEM) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!rep.checked) {
		in->ndb_scan = "unsupported";
		if (scan_rc != 0 && !snap_add_error(snap, ERR_SCOPE_FILE, "unreadable", e.message))
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	in->ndb_scan = scan_rc != 0 || rep.limit_hit ? "partial" : "complete";
	in->ndb_format = rep.format;
	in->pages_checked = (int64_t)rep.pages_checked;
	in->blocks_checked = (int64_t)rep.blocks_checked;
	in->bad_pages = (int64_t)rep.bad_pages;
	in->bad_blocks = (int64_t)rep.bad_blocks;
	*problems = (size_t)(rep.bad_pages + rep.bad_blocks);
	for (size_t i = 0; i < rep.n_problems; i++) {
		if (add_problem(snap, &rep.problems[i]) != 0) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (rep.unlisted) {
		char msg[120];
		snprintf(msg, sizeof msg, "%zu more bad pages or blocks, not listed one by one", rep.unlisted);
		if (!snap_add_error(snap, ERR_SCOPE_FILE, "bad_crc", msg)) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (scan_rc != 0 && !snap_add_error(snap, ERR_SCOPE_FILE, "unreadable", e.message))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
out:
	ndb_report_free(&rep);
	return rc;
}

void ndb_explain(const char *path, or_error *err)
{
	ndb_report rep;
	or_error e = {0};
	if (ndb_check(path, &rep, &e) == 0 && rep.checked && rep.n_problems) {
		/* a file cut short says so once: its first problem is the same truncation */
		bool same = strstr(err->message, "truncated") && strstr(rep.problems[0].message, "cut short");
		char more[sizeof err->message];
		if (same && rep.n_problems == 1)
			more[0] = '\0';
		else if (same)
			snprintf(more, sizeof more, "%s; its own checksums: %llu bad pages, %llu bad blocks", err->message,
			         (unsigned long long)rep.bad_pages, (unsigned long long)rep.bad_blocks);
		else
			snprintf(more, sizeof more, "%s; its own checksums: %llu bad pages, %llu bad blocks, the first: %s",
			         err->message, (unsigned long long)rep.bad_pages, (unsigned long long)rep.bad_blocks,
			         rep.problems[0].message);
		if (*more)
			str_copy(err->message, more, sizeof err->message);
	}
	ndb_report_free(&rep);
}
