/*
 * ndb.c: the node database layer read without libpff (see ndb.h): header, B-trees, blocks.
 */
#include "ndb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>

#define PTYPE_BBT 0x80
#define PTYPE_NBT 0x81
#define MAX_BT_DEPTH 16    /* a real B-tree of either kind has a handful of levels */
#define MAX_DATA_DEPTH 3   /* XXBLOCK -> XBLOCK -> data block */
#define MAX_SUB_DEPTH 4    /* SIBLOCK -> SLBLOCK */
#define HEADER_READ 564    /* the Unicode header; the ANSI one is shorter */
/* The most data read for one node: the reader reads heaps and small property values, never
 * attachments; a data tree that adds up to more is damage (or blocks shared to multiply memory). */
#define MAX_NODE_DATA ((size_t)256 << 20)

static const ndb_format formats[] = {
	{FMT_ANSI, "ansi", 512, 500, 496, 4, 12, 64, 8192},
	{FMT_UNICODE, "unicode", 512, 496, 488, 8, 16, 64, 8192},
	{FMT_4K, "unicode-4k", 4096, 4072, 4056, 8, 24, 512, 65536},
};

static uint64_t leid(const ndb_format *f, const uint8_t *p) { return f->id == 4 ? ndb_le32(p) : ndb_le64(p); }

/* ---------------------------------------------------------------- problems and reads */

ndb_problem *ndb_problem_slot(ndb_report *r)
{
	if (r->n_problems >= NDB_MAX_LISTED) {
		r->unlisted++;
		return NULL;
	}
	if (r->n_problems == r->cap_problems) {
		size_t cap = r->cap_problems ? r->cap_problems * 2 : 16;
		ndb_problem *p = realloc(r->problems, cap * sizeof *p);
		if (!p) {
			r->unlisted++;
			return NULL;
		}
		r->problems = p;
		r->cap_problems = cap;
	}
	return &r->problems[r->n_problems++];
}

void ndb_add_problem(ndb_report *r, uint8_t what, const char *code, uint64_t offset, uint64_t bid,
                     const char *fmt, ...)
{
	if (what == NDB_BLOCK)
		r->bad_blocks++;
	else
		r->bad_pages++;
	ndb_problem *p = ndb_problem_slot(r);
	if (!p)
		return;
	memset(p, 0, sizeof *p);
	p->what = what;
	p->code = code;
	p->offset = offset;
	p->bid = bid;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof p->message, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- reading the file
 *
 * Every read is a pread of exactly the bytes wanted: the listing reads a folder's messages, which a
 * cache file scatters over its whole length (messages arrive over time into every folder), so a
 * read-ahead window rarely holds the next block wanted and refilling it read the file many times
 * over (7x on the 300 MB, 200,000-message benchmark file, 2.1 GB in 205,000 reads).
 *
 * Mapping the file (mmap) was measured against this on that file: the same user time, 0.45 s less
 * system time (0.33 s against 0.79 s: a few thousand page faults instead of the listing's 176,000
 * preads); but the mapped pages count as the process's memory, which then grows with the file
 * (320 MB resident for the 300 MB file, against 28 MB), and dropping them as the listing goes
 * costs a page fault per block read again (9.5 s in all with 64 MiB kept mapped). A 50 GB cache
 * must be read in memory that does not depend on its size, and with pread a file cut short
 * underfoot is a failed read rather than a SIGBUS to catch and recover from: pread it is.
 * Measured again on the 484 MB benchmark file with two threads (three runs each, no checksum
 * scan): mapped, 0.24 to 0.32 s of system time against 0.55 to 0.75 s but more user time, 2.2 to
 * 2.3 s of CPU in all against 2.2 to 2.5 s, and 485 MB resident against 29 MB; dropping the mapped
 * pages (MADV_DONTNEED over the mapping after every 32 MiB read), 1.7x the CPU and still 460 MB at
 * the peak. The checksum scan (ndb_check.c) shares these reads: a block the listing reads is
 * checked against its CRC on the way (`verified`), and the scan reads only the others.
 * The cost was the entering of the kernel, a pread a message, more than the copy: a large folder's
 * blocks are now read in runs of up to 32 through io_uring, one system call a run (ndb_batch.c,
 * read_block takes them from there). On that file, medians of three alternating runs at load 3.5:
 * 1.87 s of CPU against 2.45 (0.47 s of system time against 0.62, 1.42 of user time against 1.78:
 * a system call costs user time too on this virtual machine), 46,000 system calls against 239,371,
 * the same reads and bytes; on one core 1.49 s against 2.15. A replay of the listing's 207,328
 * reads alone: 0.47 s of CPU by pread, 0.27 s in runs of 8, 0.20 in runs of 32, 0.19 in runs of
 * 64; 0.27 with the file registered with the ring (no file lookup a read).
 */

int ndb_read_at(ndb_file *nf, uint8_t *buf, size_t n, uint64_t off, or_error *err)
{
	if (off > nf->size || nf->size - off < n)
		return or_fail(err, OR_ERR_FORMAT, "%zu bytes at offset %llu lie outside the file (%llu bytes)", n,
		               (unsigned long long)off, (unsigned long long)nf->size);
	size_t done = 0;
	while (done < n) {
		ssize_t got = pread(nf->fd, buf + done, n - done, (off_t)(off + done));
		nf->n_reads++;
		nf->n_calls++;
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return or_fail(err, OR_ERR_IO, "read error at offset %llu: %s", (unsigned long long)(off + done),
			               got < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t)got;
		nf->bytes_read += (uint64_t)got;
	}
	return 0;
}

bool ndb_take_budget(ndb_file *nf)
{
	if (nf->budget == 0) {
		nf->rep->limit_hit = true;
		return false;
	}
	nf->budget--;
	return true;
}

/* Adds a page offset to the visited set; false when it was there already (a loop or a shared page). */
static bool visit(ndb_file *nf, uint64_t ib, int *rc)
{
	*rc = 0;
	if (nf->seen_n * 2 >= nf->seen_cap) {
		size_t cap = nf->seen_cap ? nf->seen_cap * 2 : 1024;
		uint64_t *t = calloc(cap, sizeof *t);
		if (!t) {
			*rc = or_fail(nf->err, OR_ERR_NOMEM, "out of memory");
			return false;
		}
		for (size_t i = 0; i < nf->seen_cap; i++) {
			if (!nf->seen[i])
				continue;
			size_t h = (size_t)(nf->seen[i] / 512 * 0x9E3779B97F4A7C15ull) & (cap - 1);
			while (t[h])
				h = (h + 1) & (cap - 1);
			t[h] = nf->seen[i];
		}
		free(nf->seen);
		nf->seen = t;
		nf->seen_cap = cap;
	}
	size_t h = (size_t)(ib / 512 * 0x9E3779B97F4A7C15ull) & (nf->seen_cap - 1);
	while (nf->seen[h]) {
		if (nf->seen[h] == ib)
			return false;
		h = (h + 1) & (nf->seen_cap - 1);
	}
	nf->seen[h] = ib;
	nf->seen_n++;
	return true;
}

/* ---------------------------------------------------------------- B-trees */

static int keep_bbt(ndb_file *nf, const uint8_t *e)
{
	const ndb_format *f = nf->f;
	uint64_t v[4] = {leid(f, e), leid(f, e + f->id), ndb_le16(e + 2 * f->id), 0};
	return ndb_table_add(&nf->bbt, v) ? or_fail(nf->err, OR_ERR_NOMEM, "out of memory") : 0;
}

static int keep_nbt(ndb_file *nf, const uint8_t *e)
{
	const ndb_format *f = nf->f;
	uint64_t v[4] = {(uint32_t)leid(f, e), leid(f, e + f->id), leid(f, e + 2 * f->id), ndb_le32(e + 3 * f->id)};
	return ndb_table_add(&nf->nbt, v) ? or_fail(nf->err, OR_ERR_NOMEM, "out of memory") : 0;
}

/* Checks one B-tree page and what it points to. `level` is the level the parent expects (-1 at the
 * root), `bid` the back pointer its BREF names. */
static int walk(ndb_file *nf, uint8_t ptype, uint64_t ib, uint64_t bid, int level, int depth)
{
	const ndb_format *f = nf->f;
	const char *tree = ptype == PTYPE_BBT ? "block B-tree" : "node B-tree";
	ndb_report *rep = nf->rep;
	int rc = 0;
	if (depth >= MAX_BT_DEPTH) {
		ndb_add_problem(rep, NDB_PAGE, "bad_page", ib, bid, "%s deeper than %d levels at offset %llu", tree,
		                MAX_BT_DEPTH, (unsigned long long)ib);
		return 0;
	}
	if (ib < f->page || ib > nf->size || nf->size - ib < f->page) {
		ndb_add_problem(rep, NDB_PAGE, "bad_page", ib, bid,
		                "%s page at offset %llu lies outside the file (%llu bytes)", tree, (unsigned long long)ib,
		                (unsigned long long)nf->size);
		return 0;
	}
	if (!visit(nf, ib, &rc)) {
		if (rc == 0)
			ndb_add_problem(rep, NDB_PAGE, "bad_page", ib, bid, "%s page at offset %llu is reached twice (a loop)",
			                tree, (unsigned long long)ib);
		return rc;
	}
	if (!ndb_take_budget(nf))
		return 0;
	uint8_t *pg = nf->page + (size_t)depth * f->page;
	if ((rc = ndb_read_at(nf, pg, f->page, ib, nf->err)) != 0)
		return rc;
	rep->pages_checked++;
	const uint8_t *t = pg + f->trailer;
	uint32_t crc_stored = f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4);
	uint64_t back = f->kind == FMT_ANSI ? ndb_le32(t + 4) : ndb_le64(t + 8);
	if (t[0] != ptype || t[1] != ptype) {
		ndb_add_problem(rep, NDB_PAGE, "bad_page", ib, bid,
		                "%s page at offset %llu: page type 0x%02x/0x%02x, expected 0x%02x", tree,
		                (unsigned long long)ib, t[0], t[1], ptype);
		return 0;
	}
	uint32_t crc = ndb_crc(0, pg, f->trailer);
	if (crc != crc_stored) {
		ndb_add_problem(rep, NDB_PAGE, "bad_crc", ib, bid, "%s page at offset %llu: CRC 0x%08x stored, 0x%08x computed",
		                tree, (unsigned long long)ib, crc_stored, crc);
		return 0;
	}
	if (back != bid || ndb_le16(t + 2) != ndb_sig(ib, bid)) {
		ndb_add_problem(rep, NDB_PAGE, "bad_trailer", ib, bid,
		                "%s page at offset %llu: back pointer 0x%llx and signature 0x%04x, expected 0x%llx and 0x%04x",
		                tree, (unsigned long long)ib, (unsigned long long)back, ndb_le16(t + 2),
		                (unsigned long long)bid, ndb_sig(ib, bid));
		return 0;
	}
	const uint8_t *m = pg + f->meta;
	size_t n_ent = f->kind == FMT_4K ? ndb_le16(m) : m[0];
	size_t cb_ent = f->kind == FMT_4K ? m[4] : m[2];
	int lvl = f->kind == FMT_4K ? m[5] : m[3];
	size_t need = lvl > 0 ? 3 * f->id : ptype == PTYPE_BBT ? 2 * f->id + 4 : 3 * f->id + 4;
	if ((level >= 0 && lvl != level) || (level < 0 && lvl >= MAX_BT_DEPTH) || cb_ent < need ||
	    n_ent * cb_ent > f->meta) {
		ndb_add_problem(rep, NDB_PAGE, "bad_page", ib, bid,
		                "%s page at offset %llu: %zu entries of %zu bytes at level %d do not fit a page%s", tree,
		                (unsigned long long)ib, n_ent, cb_ent, lvl,
		                level >= 0 && lvl != level ? " or its place" : "");
		return 0;
	}
	for (size_t i = 0; i < n_ent && rc == 0; i++) {
		const uint8_t *e = pg + i * cb_ent;
		if (lvl > 0)
			rc = walk(nf, ptype, leid(f, e + 2 * f->id), leid(f, e + f->id), lvl - 1, depth + 1);
		else if (ptype == PTYPE_BBT)
			rc = keep_bbt(nf, e);
		else
			rc = keep_nbt(nf, e);
		/* the deeper walk used the scratch pages below this one only: pg is intact */
	}
	return rc;
}

/* ---------------------------------------------------------------- header and open */

static int read_header(ndb_file *nf, const uint8_t *h, size_t n, uint64_t *nbt_bid, uint64_t *nbt_ib,
                       uint64_t *bbt_bid, uint64_t *bbt_ib)
{
	const ndb_format *f = NULL;
	uint16_t ver = ndb_le16(h + 10);
	if (ver == 14 || ver == 15)
		f = &formats[0];
	else if (ver == 23)
		f = &formats[1];
	else if (ver == 36)
		f = &formats[2];
	if (!f) {
		nf->rep->skipped = "a format version the reader does not know";
		return 1;
	}
	nf->f = f;
	nf->rep->format = f->name;
	nf->is_ost = h[8] == 'S' && h[9] == 'O';
	nf->rep->pages_checked++;
	if (f->kind == FMT_ANSI) {
		nf->eof = ndb_le32(h + 168);
		*nbt_bid = ndb_le32(h + 184);
		*nbt_ib = ndb_le32(h + 188);
		*bbt_bid = ndb_le32(h + 192);
		*bbt_ib = ndb_le32(h + 196);
		nf->crypt = h[461];
	} else {
		nf->eof = ndb_le64(h + 184);
		*nbt_bid = ndb_le64(h + 216);
		*nbt_ib = ndb_le64(h + 224);
		*bbt_bid = ndb_le64(h + 232);
		*bbt_ib = ndb_le64(h + 240);
		nf->crypt = h[513];
	}
	uint32_t partial = ndb_crc(0, h + 8, 471);
	bool bad = partial != ndb_le32(h + 4);
	if (f->kind != FMT_ANSI && n >= 528)
		bad |= ndb_crc(0, h + 8, 516) != ndb_le32(h + 524);
	/* The walk goes on after a bad header CRC: every page it reaches is checked on its own. */
	if (bad)
		ndb_add_problem(nf->rep, NDB_HEADER, "bad_crc", 0, 0, "the file header's CRC does not match its contents");
	if (nf->eof > nf->size)
		ndb_add_problem(nf->rep, NDB_HEADER, "bad_page", 0, 0,
		                "the file is %llu bytes, its header says %llu: it was cut short",
		                (unsigned long long)nf->size, (unsigned long long)nf->eof);
	return 0;
}

/* What both ways of opening do: the file opened, its header read and checked. 0 to go on (the
 * B-tree roots in roots[]: NBT bid and ib, BBT bid and ib), 1 when the file is skipped (the reason in
 * rep->skipped), else a negative or_code. */
static int open_header(ndb_file *nf, const char *path, ndb_report *rep, or_error *err, uint64_t roots[4])
{
	memset(nf, 0, sizeof *nf);
	nf->rep = rep;
	nf->err = err;
	nf->fd = -1;
	uint8_t h[HEADER_READ];
	struct stat st;
	ndb_crypt_init();
	nf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (nf->fd < 0 || fstat(nf->fd, &st) != 0)
		return or_fail(err, OR_ERR_IO, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return or_fail(err, OR_ERR_IO, "%s: is a directory", path);
	nf->size = (uint64_t)st.st_size;
	if (nf->size < HEADER_READ) {
		rep->skipped = "the file is shorter than a header";
		return 1;
	}
	int rc = ndb_read_at(nf, h, sizeof h, 0, err);
	if (rc)
		return rc;
	if (memcmp(h, "!BDN", 4) != 0) {
		rep->skipped = "not a PST/OST file";
		return 1;
	}
	if (read_header(nf, h, sizeof h, &roots[0], &roots[1], &roots[2], &roots[3]) != 0)
		return 1;
	if (nf->crypt > NDB_CRYPT_CYCLIC) {
		rep->skipped = "an encoding the reader does not know";
		return 1;
	}
	rep->checked = true;
	return 0;
}

/* The memory the two packed B-tree tables may take (ndb_table.c): at the 4 to 5 bytes a block and 6
 * a node they take, the trees of a cache of about 220,000 messages (530 MB); a larger file's pages
 * past it go to a temporary file. OSTRECON_TEST_BTREE_MEMORY (bytes) sets another bound (tests:
 * small files that spill). */
#ifndef NDB_TABLE_MEMORY
#define NDB_TABLE_MEMORY ((size_t)4 << 20)
#endif

static size_t table_memory(void)
{
	const char *knob = getenv("OSTRECON_TEST_BTREE_MEMORY");
	if (knob && *knob) {
		char *end;
		unsigned long long v = strtoull(knob, &end, 10);
		if (*end == '\0')
			return (size_t)v;
	}
	return NDB_TABLE_MEMORY;
}

static int open_walk(ndb_file *nf, const char *path, ndb_report *rep, bool prefetch, or_error *err)
{
	uint64_t roots[4];
	int rc = open_header(nf, path, rep, err, roots);
	if (rc)
		return rc;
	if (prefetch)
		ndb_prefetch_start(nf);
	uint64_t nbt_bid = roots[0], nbt_ib = roots[1], bbt_bid = roots[2], bbt_ib = roots[3];
	nf->budget = nf->size / 64 > 4096 ? nf->size / 64 : 4096;
	nf->page = malloc((size_t)MAX_BT_DEPTH * nf->f->page);
	if (!nf->page)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	ndb_table_init(&nf->nbt, NDB_TABLE_NODES, NULL);
	ndb_table_init(&nf->bbt, NDB_TABLE_BLOCKS, nf->f);
	nf->table_pages = table_memory() / NDB_TPAGE;
	nf->nbt.mem_left = nf->bbt.mem_left = &nf->table_pages;
	if ((rc = walk(nf, PTYPE_NBT, nbt_ib, nbt_bid, -1, 0)) != 0 ||
	    (rc = walk(nf, PTYPE_BBT, bbt_ib, bbt_bid, -1, 0)) != 0)
		return rc;
	if (ndb_table_finish(&nf->nbt) != 0 || ndb_table_finish(&nf->bbt) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	nf->walk_budget = nf->budget;
	/* the visited set is the walk's only: the scan starts from walk_budget */
	free(nf->seen);
	nf->seen = NULL;
	nf->seen_cap = nf->seen_n = 0;
	if (!(nf->verified = calloc(nf->bbt.n / 8 + 1, 1)))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	log_debug("B-trees: %zu nodes in %zu bytes of memory and %zu pages of a temporary file, %zu blocks in %zu "
	          "bytes and %zu pages", nf->nbt.n, ndb_table_bytes(&nf->nbt), ndb_table_spilled(&nf->nbt), nf->bbt.n,
	          ndb_table_bytes(&nf->bbt), ndb_table_spilled(&nf->bbt));
	return 0;
}

int ndb_open(ndb_file *nf, const char *path, ndb_report *rep, or_error *err)
{
	return open_walk(nf, path, rep, false, err);
}

int ndb_open_prefetched(ndb_file *nf, const char *path, ndb_report *rep, or_error *err)
{
	return open_walk(nf, path, rep, true, err);
}

/* ---------------------------------------------------------------- B-trees searched on disk
 *
 * For readers that open a few nodes by id (message.c). Not for the listing: a folder's messages are
 * spread over the whole node and block B-trees (messages arrive over time into every folder), so
 * each folder listed walks the leaves of both trees again. Measured on the 200,000-message
 * benchmark file (484 MB, 5,714 B-tree pages, one thread, no checksum scan): with the 128 pages
 * kept here the listing read 1.96 GB (4.0x the file, against 0.35x with the trees loaded) in
 * 643,000 reads and took 2.5x the wall time; with 4,096 pages kept (16 MiB, most of the trees at
 * that size but not at 1,000,000 messages) it still read 1.36x the file. The listing keeps its
 * memory bounded otherwise: the packed tables past NDB_TABLE_MEMORY go to a temporary file
 * (ndb_table.c), whose pages hold about 800 entries against the file's 126 to 169, and whose reads
 * are not the cache file's.
 */

#define LAZY_SLOTS 128 /* pages kept: the upper levels of both trees and the leaves in use */

struct ndb_lazy {
	uint64_t root_ib[2], root_bid[2]; /* [0] node B-tree, [1] block B-tree */
	uint64_t slot_ib[LAZY_SLOTS];     /* offset of the page in each slot (0: empty) */
	uint8_t *slots;                   /* LAZY_SLOTS pages */
};

/* The page at `ib` of the tree `kind` (0 node, 1 block), from the cache or checked as it is read
 * (type, CRC, back pointer and signature): NULL when it cannot be used. */
static const uint8_t *lazy_page(const ndb_file *nf, int kind, uint64_t ib, uint64_t bid)
{
	const ndb_format *f = nf->f;
	struct ndb_lazy *z = nf->lazy;
	size_t s = (size_t)((ib / f->page) % LAZY_SLOTS);
	uint8_t *pg = z->slots + s * f->page;
	if (z->slot_ib[s] == ib && ib)
		return pg;
	z->slot_ib[s] = 0;
	if (ib < f->page || ib > nf->size || nf->size - ib < f->page)
		return NULL;
	size_t done = 0;
	while (done < f->page) {
		ssize_t got = pread(nf->fd, pg + done, f->page - done, (off_t)(ib + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return NULL;
		done += (size_t)got;
	}
	const uint8_t *t = pg + f->trailer;
	uint8_t ptype = kind ? PTYPE_BBT : PTYPE_NBT;
	uint32_t crc_stored = f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4);
	uint64_t back = f->kind == FMT_ANSI ? ndb_le32(t + 4) : ndb_le64(t + 8);
	if (t[0] != ptype || t[1] != ptype || ndb_crc(0, pg, f->trailer) != crc_stored || back != bid ||
	    ndb_le16(t + 2) != ndb_sig(ib, bid))
		return NULL;
	z->slot_ib[s] = ib;
	return pg;
}

/* Descends tree `kind` to the leaf entry whose key is `key` (block ids compared without bit 0). */
static const uint8_t *lazy_find(const ndb_file *nf, int kind, uint64_t key)
{
	const ndb_format *f = nf->f;
	struct ndb_lazy *z = nf->lazy;
	uint64_t ib = z->root_ib[kind], bid = z->root_bid[kind], mask = kind ? ~1ull : ~0ull;
	int want = -1;
	key &= mask;
	for (int depth = 0; depth < MAX_BT_DEPTH; depth++) {
		const uint8_t *pg = lazy_page(nf, kind, ib, bid);
		if (!pg)
			return NULL;
		const uint8_t *m = pg + f->meta;
		size_t n_ent = f->kind == FMT_4K ? ndb_le16(m) : m[0];
		size_t cb_ent = f->kind == FMT_4K ? m[4] : m[2];
		int lvl = f->kind == FMT_4K ? m[5] : m[3];
		size_t need = lvl > 0 ? 3 * f->id : kind ? 2 * f->id + 4 : 3 * f->id + 4;
		if ((want >= 0 && lvl != want) || lvl >= MAX_BT_DEPTH || cb_ent < need || n_ent * cb_ent > f->meta)
			return NULL;
		/* the last entry whose key is not above `key` (a leaf needs it equal) */
		size_t lo = 0, hi = n_ent;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if ((leid(f, pg + mid * cb_ent) & mask) <= key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			return NULL;
		const uint8_t *e = pg + (lo - 1) * cb_ent;
		if (lvl == 0)
			return (leid(f, e) & mask) == key ? e : NULL;
		bid = leid(f, e + f->id);
		ib = leid(f, e + 2 * f->id);
		want = lvl - 1;
	}
	return NULL;
}

int ndb_open_lazy(ndb_file *nf, const char *path, ndb_report *rep, or_error *err)
{
	uint64_t roots[4];
	int rc = open_header(nf, path, rep, err, roots);
	if (rc)
		return rc;
	uint64_t nbt_bid = roots[0], nbt_ib = roots[1], bbt_bid = roots[2], bbt_ib = roots[3];
	struct ndb_lazy *z = calloc(1, sizeof *z);
	if (!z || !(z->slots = malloc((size_t)LAZY_SLOTS * nf->f->page))) {
		free(z);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	z->root_ib[0] = nbt_ib;
	z->root_bid[0] = nbt_bid;
	z->root_ib[1] = bbt_ib;
	z->root_bid[1] = bbt_bid;
	nf->lazy = z;
	return 0;
}

void ndb_close(ndb_file *nf)
{
	ndb_prefetch_stop(nf);
	if (nf->fd >= 0)
		close(nf->fd);
	free(nf->page);
	free(nf->seen);
	ndb_table_free(&nf->bbt);
	ndb_table_free(&nf->nbt);
	free(nf->verified);
	if (nf->zs)
		libdeflate_free_decompressor(nf->zs);
	free(nf->raw);
	ndb_batch_free(nf);
	nf->zs = NULL;
	nf->raw = NULL;
	if (nf->lazy) {
		free(nf->lazy->slots);
		free(nf->lazy);
		nf->lazy = NULL;
	}
	nf->fd = -1;
	nf->page = NULL;
	nf->seen = NULL;
	nf->verified = NULL;
}

void ndb_reader_init(ndb_file *reader, const ndb_file *nf)
{
	*reader = *nf;
	reader->zs = NULL;
	reader->raw = NULL;
	reader->page = NULL;
	reader->seen = NULL;
	reader->rep = NULL;
	reader->err = NULL;
	reader->batch = NULL;
	reader->bytes_read = reader->n_reads = reader->n_calls = 0;
}

void ndb_reader_done(ndb_file *reader, ndb_file *nf)
{
	if (reader->zs)
		libdeflate_free_decompressor(reader->zs);
	free(reader->raw);
	ndb_batch_free(reader);
	nf->bytes_read += reader->bytes_read;
	nf->n_reads += reader->n_reads;
	nf->n_calls += reader->n_calls;
	memset(reader, 0, sizeof *reader);
	reader->fd = -1;
}

/* ---------------------------------------------------------------- lookups
 *
 * A listing looks up a node and a block for every message it reads. In the packed tables
 * (ndb_table.c) a lookup is a binary search of the groups' first keys, then the decoding of at most
 * one group and an entry, a few hundred bytes read in order. The arrays held before (24 bytes a
 * node, 16 a block) were searched through fence keys, every 16th key in an array of its own; on the
 * 200,000-message benchmark file their lookups took 7 to 8% of the CPU, nearly all of it waiting
 * on memory (a hash of positions: 12%; interpolating from the key: 3% for blocks, 6% for nodes).
 * The packed tables' take 9% there (perf record, the same run): about 2% more CPU for a quarter of
 * the memory. Laid out in pages (a search of the pages' first keys, then of the groups' of one
 * page), and past NDB_TABLE_MEMORY read back from a temporary file: see ndb_table.c. */

bool ndb_find_node(const ndb_file *nf, uint32_t nid, ndb_nbt_ent *out, size_t *index)
{
	if (nf->lazy) {
		const uint8_t *e = lazy_find(nf, 0, nid);
		if (!e)
			return false;
		const ndb_format *f = nf->f;
		out->nid = (uint32_t)leid(f, e);
		out->data = leid(f, e + f->id);
		out->sub = leid(f, e + 2 * f->id);
		out->parent = ndb_le32(e + 3 * f->id);
		return true;
	}
	uint64_t v[4];
	if (!ndb_table_find(&nf->nbt, nid, v, index))
		return false;
	*out = ndb_nbt_of(v);
	return true;
}

bool ndb_find_block(const ndb_file *nf, uint64_t bid, ndb_bbt_ent *out, size_t *index)
{
	bid &= ~1ull; /* bit 0 of a BID is reserved: readers ignore it ([MS-PST] 2.2.2.2) */
	if (nf->lazy) {
		const uint8_t *e = lazy_find(nf, 1, bid);
		if (!e)
			return false;
		const ndb_format *f = nf->f;
		out->bid = leid(f, e);
		out->ib = leid(f, e + f->id);
		out->cb = ndb_le16(e + 2 * f->id);
		return true;
	}
	uint64_t v[4];
	if (!ndb_table_find(&nf->bbt, bid, v, index))
		return false;
	*out = ndb_bbt_of(v);
	return true;
}

/* ---------------------------------------------------------------- blocks and data trees */

static int data_reserve(ndb_data *d, size_t extra, or_error *err)
{
	if (d->len + extra <= d->cap && d->n < d->cap_off)
		return 0;
	if (d->len + extra > d->cap) {
		size_t cap = d->cap ? d->cap : 16384;
		while (cap < d->len + extra)
			cap *= 2;
		uint8_t *p = realloc(d->buf, cap);
		if (!p)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		d->buf = p;
		d->cap = cap;
	}
	if (d->n >= d->cap_off) {
		size_t cap = d->cap_off ? d->cap_off * 2 : 16;
		size_t *p = realloc(d->off, cap * sizeof *p);
		if (!p)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		d->off = p;
		d->cap_off = cap;
	}
	return 0;
}

/* Reads block `bid` raw (trailer checked; its CRC with nf->check_crc) into `buf` (blk_max bytes); *cb
 * its size, *inflated the size its trailer gives for the decoded data (4 KiB format; else *cb). Its
 * CRC is checked on the way: a block found good is marked in nf->verified (files opened whole), and
 * the checksum scan does not read it again. */
static int read_block(ndb_file *nf, uint64_t bid, uint8_t *buf, size_t *cb, size_t *inflated, or_error *err)
{
	const ndb_format *f = nf->f;
	ndb_bbt_ent ent;
	size_t i = 0;
	const uint8_t *batched = ndb_batch_take(nf, bid, &ent, &i);
	if (!batched && !ndb_find_block(nf, bid, &ent, &i))
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx is not in the block B-tree", (unsigned long long)bid);
	const ndb_bbt_ent *b = &ent;
	size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
	if (total > f->blk_max || b->ib < f->page || b->ib > nf->size || nf->size - b->ib < total)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: %u bytes at offset %llu lie outside the file",
		               (unsigned long long)bid, (unsigned)b->cb, (unsigned long long)b->ib);
	int rc = 0;
	if (batched)
		memcpy(buf, batched, total);
	else if ((rc = ndb_read_at(nf, buf, total, b->ib, err)) != 0)
		return rc;
	const uint8_t *t = buf + total - f->blk_trailer;
	uint64_t tbid = f->kind == FMT_ANSI ? ndb_le32(t + 4) : ndb_le64(t + 8);
	if (ndb_le16(t) != b->cb || (tbid & ~1ull) != (b->bid & ~1ull))
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx at offset %llu: its trailer names block 0x%llx of %u bytes",
		               (unsigned long long)bid, (unsigned long long)b->ib, (unsigned long long)tbid, ndb_le16(t));
	if (nf->check_crc) {
		uint32_t stored = f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4), crc = ndb_crc(0, buf, b->cb);
		if (crc != stored) {
			/* the bytes may still be right (or mostly): they are used, and the reader told */
			nf->bad_crc++;
			snprintf(nf->bad_crc_last, sizeof nf->bad_crc_last, "block 0x%llx at offset %llu: CRC 0x%08x stored, "
			         "0x%08x computed over its %u bytes", (unsigned long long)bid, (unsigned long long)b->ib,
			         stored, crc, b->cb);
		}
	}
	*cb = b->cb;
	*inflated = f->kind == FMT_4K ? ndb_le16(t + 18) : b->cb;
	if (f->kind == FMT_4K && *inflated == 0)
		*inflated = b->cb;
	/* relaxed atomics: readers on two threads (ndb_reader_init) may mark the same block */
	if (nf->verified && !nf->lazy && !ndb_verified(nf, i) &&
	    ndb_crc(0, buf, b->cb) == (f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4)))
		__atomic_fetch_or(&nf->verified[i >> 3], (uint8_t)(1u << (i & 7)), __ATOMIC_RELAXED);
	return 0;
}

/* Inflates one zlib stream (whole buffer, checksum verified) into exactly *out_len bytes; the
 * decompressor is kept in `nf` from block to block. */
static int inflate_block(ndb_file *nf, const uint8_t *in, size_t in_len, uint8_t *out, size_t *out_len)
{
	if (!nf->zs && !(nf->zs = libdeflate_alloc_decompressor()))
		return -1;
	size_t got = 0;
	if (libdeflate_zlib_decompress(nf->zs, in, in_len, out, *out_len, &got) != LIBDEFLATE_SUCCESS)
		return -1;
	*out_len = got;
	return 0;
}

/* Appends the decoded contents of data block `bid` to `d`. */
static int append_block(ndb_file *nf, uint64_t bid, ndb_data *d, uint8_t *raw, or_error *err)
{
	size_t cb, inflated;
	int rc = read_block(nf, bid, raw, &cb, &inflated, err);
	if (rc)
		return rc;
	if (d->len + inflated > MAX_NODE_DATA)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: the data tree adds up to more than %zu MiB",
		               (unsigned long long)bid, MAX_NODE_DATA >> 20);
	if ((rc = data_reserve(d, inflated, err)) != 0)
		return rc;
	uint8_t *out = d->buf + d->len;
	if (inflated != cb) {
		size_t n = inflated;
		if (inflate_block(nf, raw, cb, out, &n) != 0 || n != inflated)
			return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: its compressed data (%zu bytes) does not inflate to "
			               "the %zu bytes its trailer states", (unsigned long long)bid, cb, inflated);
	} else {
		memcpy(out, raw, cb);
	}
	ndb_decode(nf->crypt, (uint32_t)bid, out, inflated);
	d->off[d->n++] = d->len;
	d->len += inflated;
	return 0;
}

/* With `each` set, every data block is handed to it as soon as it is decoded and `d` holds only
 * that block: a value of any size costs one block of memory. */
typedef struct {
	int (*fn)(void *ctx, const uint8_t *p, size_t n, or_error *err);
	void *ctx;
} block_sink;

static int read_tree_to(ndb_file *nf, uint64_t bid, ndb_data *d, uint8_t *raw, int depth, const block_sink *each,
                        or_error *err);

static int read_tree(ndb_file *nf, uint64_t bid, ndb_data *d, uint8_t *raw, int depth, or_error *err)
{
	return read_tree_to(nf, bid, d, raw, depth, NULL, err);
}

static int read_tree_to(ndb_file *nf, uint64_t bid, ndb_data *d, uint8_t *raw, int depth, const block_sink *each,
                        or_error *err)
{
	if (!(bid & 2) && each) {
		d->n = 0;
		d->len = 0;
		int rc = append_block(nf, bid, d, raw, err);
		return rc ? rc : each->fn(each->ctx, d->buf, d->len, err);
	}
	if (!(bid & 2))
		return append_block(nf, bid, d, raw, err);
	if (depth >= MAX_DATA_DEPTH)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: data tree deeper than %d levels", (unsigned long long)bid,
		               MAX_DATA_DEPTH);
	size_t cb, inflated;
	int rc = read_block(nf, bid, raw, &cb, &inflated, err);
	if (rc)
		return rc;
	size_t id = nf->f->id;
	if (cb < 8 || raw[0] != 0x01 || raw[1] < 1 || raw[1] > 2 || 8 + (size_t)ndb_le16(raw + 2) * id > cb)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: not a valid XBLOCK/XXBLOCK", (unsigned long long)bid);
	size_t n = ndb_le16(raw + 2);
	uint8_t level = raw[1];
	uint64_t *kids = malloc((n ? n : 1) * sizeof *kids);
	if (!kids)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		kids[i] = leid(nf->f, raw + 8 + i * id);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (level == 2 && !(kids[i] & 2))
			rc = or_fail(err, OR_ERR_FORMAT, "block 0x%llx: an XXBLOCK entry is not an XBLOCK", (unsigned long long)bid);
		else if (level == 1 && (kids[i] & 2))
			rc = or_fail(err, OR_ERR_FORMAT, "block 0x%llx: an XBLOCK entry is not a data block", (unsigned long long)bid);
		else
			rc = read_tree_to(nf, kids[i], d, raw, depth + 1, each, err);
	}
	free(kids);
	return rc;
}

/* One block-sized scratch buffer per file: a data tree or subnode tree walk copies the ids it
 * needs out of a block before it reads the next one into it. */
static uint8_t *scratch_block(ndb_file *nf)
{
	if (!nf->raw)
		nf->raw = malloc(nf->f->blk_max);
	return nf->raw;
}

int ndb_read_data(ndb_file *nf, uint64_t bid, ndb_data *out, or_error *err)
{
	out->n = 0;
	out->len = 0;
	if (!bid)
		return 0;
	uint8_t *raw = scratch_block(nf);
	if (!raw)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	return read_tree(nf, bid, out, raw, 0, err);
}

int ndb_read_data_each(ndb_file *nf, uint64_t bid, ndb_data *scratch,
                       int (*fn)(void *ctx, const uint8_t *p, size_t n, or_error *err), void *ctx, or_error *err)
{
	scratch->n = 0;
	scratch->len = 0;
	if (!bid)
		return 0;
	uint8_t *raw = scratch_block(nf);
	if (!raw)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	block_sink sink = {fn, ctx};
	return read_tree_to(nf, bid, scratch, raw, 0, &sink, err);
}

void ndb_data_free(ndb_data *d)
{
	free(d->buf);
	free(d->off);
	memset(d, 0, sizeof *d);
}

static int find_sub(ndb_file *nf, uint64_t bid, uint32_t nid, uint64_t *bid_data, uint64_t *bid_sub, int depth,
                    uint8_t *raw, or_error *err)
{
	if (depth >= MAX_SUB_DEPTH)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: subnode tree deeper than %d levels",
		               (unsigned long long)bid, MAX_SUB_DEPTH);
	size_t cb, inflated;
	int rc = read_block(nf, bid, raw, &cb, &inflated, err);
	if (rc)
		return rc;
	size_t id = nf->f->id;
	size_t hdr = id == 8 ? 8 : 4;
	if (cb < hdr || raw[0] != 0x02 || raw[1] > 1)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: not a valid SLBLOCK/SIBLOCK", (unsigned long long)bid);
	size_t n = ndb_le16(raw + 2), ent = raw[1] == 0 ? 3 * id : 2 * id;
	if (hdr + n * ent > cb)
		return or_fail(err, OR_ERR_FORMAT, "block 0x%llx: %zu subnode entries do not fit it", (unsigned long long)bid, n);
	if (raw[1] == 0) {
		for (size_t i = 0; i < n; i++) {
			const uint8_t *e = raw + hdr + i * ent;
			if ((uint32_t)leid(nf->f, e) == nid) {
				*bid_data = leid(nf->f, e + id);
				*bid_sub = leid(nf->f, e + 2 * id);
				return 0;
			}
		}
		return OR_ERR_NOTFOUND;
	}
	/* SIBLOCK: the last entry whose key is not above nid */
	uint64_t next = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = raw + hdr + i * ent;
		if ((uint32_t)leid(nf->f, e) > nid)
			break;
		next = leid(nf->f, e + id);
	}
	if (!next)
		return OR_ERR_NOTFOUND;
	return find_sub(nf, next, nid, bid_data, bid_sub, depth + 1, raw, err);
}

int ndb_find_subnode(ndb_file *nf, uint64_t bid_sub, uint32_t nid, uint64_t *bid_data, uint64_t *sub, or_error *err)
{
	*bid_data = *sub = 0;
	if (!bid_sub)
		return OR_ERR_NOTFOUND;
	uint8_t *raw = scratch_block(nf);
	if (!raw)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	return find_sub(nf, bid_sub, nid, bid_data, sub, 0, raw, err);
}

uint64_t ndb_lost_lookups(const ndb_file *nf)
{
	return nf ? ndb_table_spill_lost(&nf->nbt) + ndb_table_spill_lost(&nf->bbt) : 0;
}

int ndb_lost_fail(const ndb_file *nf, or_error *err)
{
	uint64_t lost = ndb_lost_lookups(nf);
	if (!lost)
		return 0;
	return or_fail(err, OR_ERR_IO, "%llu reads of the B-tree tables' temporary file failed (logged), so what was "
	               "read of the file is incomplete; check the disk of TMPDIR (or /tmp) and run it again",
	               (unsigned long long)lost);
}
