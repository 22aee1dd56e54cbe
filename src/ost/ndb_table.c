/*
 * ndb_table.c: the node and block B-trees as packed tables (see ndb.h, ndb_table).
 *
 * A listing looks up a node and a block for every message it reads, and the checksum scan goes
 * through every block, so both trees are walked once at open and their entries kept: searching the
 * file's own B-tree pages at each lookup read the file 1.4 to 4 times over (ndb.c, "B-trees searched
 * on disk"). Held as plain arrays they took 24 bytes a node and 16 a block; a cache has 3 to 4
 * blocks a message (its properties, its recipient table, attachments), which made 80 bytes of
 * memory a message, 80 MB for a million.
 *
 * Packed: the entries, in key order, are cut into groups of NDB_GROUP. The first of a group is
 * written whole, the others as the difference to the one before, each field a variable-length
 * integer (7 bits a byte, signed differences zigzag-coded):
 *   block: bid - previous bid; ib - where the previous block ends (its cb and trailer rounded up
 *          to the format's alignment: 0 where blocks lie one after the other), in units of that
 *          alignment (64 or 512 bytes; an offset off it, which only damage gives, in bytes); cb.
 *   node:  nid - previous nid; data - previous data; sub - data (a node's subnode blocks are
 *          written next to its data); parent - previous parent.
 * A block then takes 4 to 5 bytes, a node 5 to 7, for any values (64-bit ids and offsets are
 * coded as they are, damage included).
 *
 * Pages: the groups are laid out in pages of NDB_TPAGE bytes (a group never straddles two):
 *   u16 number of groups, u16 offset of each group in the page, the groups.
 * Only each page's first key, its first group and where it is are held apart (24 bytes a page of
 * about 800 entries).
 * A lookup searches the pages' first keys, then the first keys of the groups of one page (each the
 * first field of the group's first entry, written whole), then decodes one group and at most the
 * first entry of the next. Both searches start from a guess in proportion (where the key lies
 * between the first and the last key, then between the page's first key and the next page's), and
 * try the slot guessed and the one after it before a binary search over what they leave: the ids
 * of a file are counted up as it grows, so the guess is most often right, and a group key read is
 * a line of the page brought into the cache, where a binary search read 5 of them (its misses were
 * 60% of the lookups' time; the guess took the lookups from 15% of the reader's samples to 8%,
 * docs/ARCHITECTURE.md, "The cache reader's data flow"). Keys spread any other way are found all
 * the same, by the binary search.
 * Pages stay in memory while the file's tables have room (`mem_left`, a number of pages set by
 * ndb_open); past it they are written to an unlinked temporary file
 * ($TMPDIR or /tmp) as they are laid out and read back, a page at a time, with pread: into a
 * thread's lookup pages for lookups (or a batch's pages at once, ndb_table_pages_wanted and
 * ndb_batch_pages), the cursor's own for cursors. Lookups need no lock: the pages in
 * memory do not change after ndb_table_finish. So the memory a file's tables take is bounded
 * whatever the file's size; what is past the bound costs a read of the temporary file (held by the
 * system's page cache) for a lookup that falls there. A file where the temporary file cannot be
 * made or written keeps every page in memory, as before the bound.
 *
 * An entry is known by its place in key order (0 .. n - 1): the scan's `verified` marks and the
 * listing's `reached` marks are indexed by it.
 */
#include "ndb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ENTRY 40 /* four fields of at most 10 bytes */

static inline uint64_t zig(uint64_t d) { return d << 1 ^ (uint64_t)-(int64_t)(d >> 63); }
static inline uint64_t unzig(uint64_t z) { return z >> 1 ^ (uint64_t)-(int64_t)(z & 1); }

static inline uint8_t *put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Decodes what put() wrote (the table's own bytes: no bound to check). */
static inline uint64_t get(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t v = *p & 0x7F;
	if (*p++ & 0x80) {
		unsigned shift = 7;
		uint8_t b;
		do {
			b = *p++;
			v |= (uint64_t)(b & 0x7F) << shift;
			shift += 7;
		} while (b & 0x80);
	}
	*pp = p;
	return v;
}

/* Where a block that starts at `ib` with `cb` bytes ends, as the next one's predicted offset. */
static inline uint64_t block_end(const ndb_table *t, uint64_t ib, uint64_t cb)
{
	return ib + ((cb + t->trailer + t->align - 1) & ~(t->align - 1)); /* align: a power of 2 */
}

static uint64_t sort_key(const ndb_table *t, uint64_t key)
{
	return t->kind == NDB_TABLE_BLOCKS ? key & ~1ull : key;
}

/* Writes entry v (4 fields) after `prev` (NULL: the first of a group) at p. */
static uint8_t *encode(const ndb_table *t, uint8_t *p, const uint64_t v[4], const uint64_t *prev)
{
	static const uint64_t zero[4] = {0, 0, 0, 0};
	const uint64_t *q = prev ? prev : zero;
	p = put(p, zig(v[0] - q[0]));
	if (t->kind == NDB_TABLE_BLOCKS) {
		/* the offset's difference in units of the alignment, flagged in bit 0: 0 when aligned (as
		 * every block of a sound file is), 1 when not, the difference in bytes following */
		uint64_t r = v[1] - (prev ? block_end(t, q[1], q[2]) : 0);
		if (t->shift && !(r & (t->align - 1))) {
			p = put(p, zig((uint64_t)((int64_t)r >> t->shift)) << 1);
		} else {
			if (t->shift)
				p = put(p, 1);
			p = put(p, zig(r));
		}
		p = put(p, v[2]);
	} else {
		p = put(p, zig(v[1] - q[1]));
		p = put(p, zig(v[2] - v[1]));
		p = put(p, zig(v[3] - q[3]));
	}
	return p;
}

/* Reads the entry at *pp into v, which holds the one before (ignored when `first`). One function
 * per kind, inlined into the loops that decode many (a lookup, a cursor). */
static inline __attribute__((always_inline)) void decode_block(const ndb_table *t, const uint8_t **pp, uint64_t v[4],
                                                               bool first)
{
	uint64_t end = first ? 0 : block_end(t, v[1], v[2]);
	v[0] = (first ? 0 : v[0]) + unzig(get(pp));
	uint64_t c = get(pp);
	if (!t->shift)
		v[1] = end + unzig(c);
	else if (!(c & 1))
		v[1] = end + (unzig(c >> 1) << t->shift);
	else
		v[1] = end + unzig(get(pp));
	v[2] = get(pp);
	v[3] = 0;
}

static inline __attribute__((always_inline)) void decode_node(const uint8_t **pp, uint64_t v[4], bool first)
{
	if (first)
		v[0] = v[1] = v[3] = 0;
	v[0] += unzig(get(pp));
	v[1] += unzig(get(pp));
	v[2] = v[1] + unzig(get(pp));
	v[3] += unzig(get(pp));
}

static inline __attribute__((always_inline)) void decode(const ndb_table *t, const uint8_t **pp, uint64_t v[4],
                                                         bool first)
{
	if (t->kind == NDB_TABLE_BLOCKS)
		decode_block(t, pp, v, first);
	else
		decode_node(pp, v, first);
}

/* ---------------------------------------------------------------- adding */

#define MAX_GROUP_BYTES (NDB_GROUP * MAX_ENTRY)
#define MAX_PAGE_GROUPS 64 /* a group takes at least 3 bytes an entry: fewer fit a page */

/* The group being added, and the page being filled with groups. */
struct ndb_build {
	uint8_t grp[MAX_GROUP_BYTES];
	size_t glen;
	uint64_t gkey;           /* its first key */
	uint8_t data[NDB_TPAGE]; /* the page's groups, one after the other */
	size_t dlen, ng;
	uint16_t off[MAX_PAGE_GROUPS];
	uint64_t pkey;           /* the page's first key */
	size_t pgroup;           /* and its first group */
	size_t groups;           /* groups laid out in pages */
};

struct ndb_spill {
	int fd;
	bool failed;             /* could not be made or written: pages stay in memory */
	uint64_t reads;          /* pages read back (atomic: two threads read) */
	uint64_t calls;          /* the system calls that read them: a pread each, or a batch's */
	uint64_t batched;        /* pages read in batches (ndb_table_pages_read) */
	uint64_t lost;           /* reads back that failed: lookups that answered "not found" */
};

static uint64_t next_table_id = 1;

void ndb_table_init(ndb_table *t, ndb_table_kind kind, const ndb_format *f)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->trailer = f ? f->blk_trailer : 0;
	t->align = f && f->blk_align ? f->blk_align : 1;
	while ((2ull << t->shift) <= t->align)
		t->shift++;
	t->id = __atomic_fetch_add(&next_table_id, 1, __ATOMIC_RELAXED);
}

void ndb_table_free(ndb_table *t)
{
	for (size_t p = 0; p < t->n_pages; p++)
		free(t->pmem[p]);
	if (t->mem_left)
		*t->mem_left += t->mem_pages;
	if (t->spill) {
		if (t->spill->fd >= 0)
			close(t->spill->fd);
		free(t->spill);
	}
	free(t->pmem);
	free(t->pkey);
	free(t->pgroup);
	free(t->build);
	t->pmem = NULL;
	t->pkey = NULL;
	t->pgroup = NULL;
	t->build = NULL;
	t->spill = NULL;
	t->n = t->n_pages = t->cap_pages = t->mem_pages = 0;
}

/* An unlinked file in $TMPDIR (or /tmp) for the pages past the bound; -1 when none can be made. */
static int spill_open(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/ostrecon-btree.XXXXXX", dir) >= (int)sizeof path)
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Writes (or reads) page p of the spill file whole: 0, or the errno (EIO: nothing more written
 * or read). */
static int page_io(int fd, uint8_t *page, size_t p, bool write)
{
	size_t done = 0;
	while (done < NDB_TPAGE) {
		off_t at = (off_t)(p * NDB_TPAGE + done);
		ssize_t n = write ? pwrite(fd, page + done, NDB_TPAGE - done, at) : pread(fd, page + done, NDB_TPAGE - done, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Writes page p to the spill file; false: it stays in memory (and so do the pages after it). */
static bool spill_write(ndb_table *t, size_t p, uint8_t *page)
{
	if (!t->spill) {
		if (!(t->spill = calloc(1, sizeof *t->spill)))
			return false;
		t->spill->fd = spill_open();
		if (t->spill->fd < 0) {
			t->spill->failed = true;
			log_debug("B-tree tables: no temporary file in $TMPDIR or /tmp (%s): kept whole in memory",
			          strerror(errno));
		}
	}
	if (t->spill->failed)
		return false;
	int e = page_io(t->spill->fd, page, p, true);
	if (e) {
		t->spill->failed = true;
		log_debug("B-tree tables: cannot write the temporary file (%s): the rest kept in memory", strerror(e));
		return false;
	}
	return true;
}

/* Lays out the page being filled and keeps it: in memory while the file's tables have room (or
 * the spill file cannot take it), else in the spill file. */
static int flush_page(ndb_table *t)
{
	struct ndb_build *b = t->build;
	if (!b->ng)
		return 0;
	if (t->n_pages + 1 >= t->cap_pages) {
		size_t cap = t->cap_pages ? t->cap_pages * 2 : 16;
		uint64_t *k = realloc(t->pkey, cap * sizeof *k);
		if (!k)
			return OR_ERR_NOMEM;
		t->pkey = k;
		size_t *g = realloc(t->pgroup, cap * sizeof *g);
		if (!g)
			return OR_ERR_NOMEM;
		t->pgroup = g;
		uint8_t **m = realloc(t->pmem, cap * sizeof *m);
		if (!m)
			return OR_ERR_NOMEM;
		t->pmem = m;
		t->cap_pages = cap;
	}
	uint8_t *page = malloc(NDB_TPAGE);
	if (!page)
		return OR_ERR_NOMEM;
	size_t head = 2 + 2 * b->ng;
	memset(page, 0, NDB_TPAGE);
	page[0] = (uint8_t)b->ng;
	page[1] = (uint8_t)(b->ng >> 8);
	for (size_t g = 0; g < b->ng; g++) {
		size_t o = head + b->off[g];
		page[2 + 2 * g] = (uint8_t)o;
		page[3 + 2 * g] = (uint8_t)(o >> 8);
	}
	memcpy(page + head, b->data, b->dlen);
	size_t p = t->n_pages++;
	t->pkey[p] = b->pkey;
	t->pgroup[p] = b->pgroup;
	t->pmem[p] = page;
	if (t->mem_left && *t->mem_left == 0 && spill_write(t, p, page)) {
		free(page);
		t->pmem[p] = NULL;
	} else {
		t->mem_pages++;
		if (t->mem_left && *t->mem_left)
			--*t->mem_left;
	}
	b->ng = b->dlen = 0;
	return 0;
}

/* Puts the group just added in the page being filled, laying that one out first when it is full. */
static int close_group(ndb_table *t)
{
	struct ndb_build *b = t->build;
	if (!b->glen)
		return 0;
	if (b->ng && (b->ng == MAX_PAGE_GROUPS || 2 + 2 * (b->ng + 1) + b->dlen + b->glen > NDB_TPAGE)) {
		int rc = flush_page(t);
		if (rc)
			return rc;
	}
	if (!b->ng) {
		b->pkey = b->gkey;
		b->pgroup = b->groups;
	}
	b->off[b->ng++] = (uint16_t)b->dlen;
	memcpy(b->data + b->dlen, b->grp, b->glen);
	b->dlen += b->glen;
	b->glen = 0;
	b->groups++;
	return 0;
}

int ndb_table_add(ndb_table *t, const uint64_t v[4])
{
	if (!t->build && !(t->build = calloc(1, sizeof *t->build)))
		return OR_ERR_NOMEM;
	struct ndb_build *b = t->build;
	bool first = t->n % NDB_GROUP == 0;
	if (first) {
		int rc = close_group(t);
		if (rc)
			return rc;
		b->gkey = sort_key(t, v[0]);
	}
	if (t->n && sort_key(t, t->last[0]) >= sort_key(t, v[0]))
		t->unsorted = true;
	uint8_t *end = encode(t, b->grp + b->glen, v, first ? NULL : t->last);
	b->glen = (size_t)(end - b->grp);
	memcpy(t->last, v, sizeof t->last);
	t->n++;
	return 0;
}

/* The last group and page laid out, the builder freed, pgroup[n_pages] set. */
static int close_build(ndb_table *t)
{
	if (!t->build)
		return 0;
	int rc = close_group(t);
	if (rc == 0)
		rc = flush_page(t);
	if (rc == 0 && !t->pgroup) {
		if (!(t->pgroup = malloc(sizeof *t->pgroup)))
			rc = OR_ERR_NOMEM;
		else
			t->cap_pages = 1;
	}
	if (rc == 0)
		t->pgroup[t->n_pages] = t->build->groups;
	free(t->build);
	t->build = NULL;
	return rc;
}

/* ---------------------------------------------------------------- reading */

/* Page p read from the spill file into buf (which holds page *buf_page, SIZE_MAX: none). NULL when
 * the read fails (logged). */
static __attribute__((noinline)) const uint8_t *read_page(const ndb_table *t, size_t p, uint8_t *buf,
                                                          size_t *buf_page)
{
	int e = page_io(t->spill->fd, buf, p, false);
	if (e) {
		*buf_page = SIZE_MAX;
		if (__atomic_fetch_add(&t->spill->lost, 1, __ATOMIC_RELAXED) == 0) /* the first only: they are counted */
			log_error("B-tree tables: cannot read page %zu of the temporary file: %s", p, strerror(e));
		return NULL;
	}
	__atomic_fetch_add(&t->spill->reads, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->spill->calls, 1, __ATOMIC_RELAXED);
	*buf_page = p;
	return buf;
}

/* Page p's bytes: in memory, or from the spill file through buf (read_page). */
static inline const uint8_t *page_of(const ndb_table *t, size_t p, uint8_t *buf, size_t *buf_page)
{
	if (t->pmem[p])
		return t->pmem[p];
	return *buf_page == p ? buf : read_page(t, p, buf, buf_page);
}

/* A thread's pages for the lookups, read from the spill file, the least recently used one read
 * over: the listing's node and block lookups go through both tables in turn and often fall in the
 * page the last one of a table read, and a batch of them has its pages read at once beforehand
 * (ndb_table_pages_wanted): room for a batch's pages of each table, and a few more. */
#define LOOKUP_PAGES (4 + 2 * NDB_BATCH)
static _Thread_local struct {
	uint64_t id[LOOKUP_PAGES];   /* the table (0: none) */
	size_t page[LOOKUP_PAGES];
	uint64_t used[LOOKUP_PAGES], clock;
	uint8_t buf[LOOKUP_PAGES][NDB_TPAGE];
} lookup_pages;

/* How many of them are used: LOOKUP_PAGES, or fewer (2 at least) with OSTRECON_TEST_LOOKUP_PAGES
 * in the environment (tests: the batches' pages read over before their lookups on a small file). */
static size_t lookup_pages_n(void)
{
	static size_t n;
	size_t v = __atomic_load_n(&n, __ATOMIC_RELAXED);
	if (!v) {
		const char *knob = getenv("OSTRECON_TEST_LOOKUP_PAGES");
		v = knob && *knob ? strtoul(knob, NULL, 10) : LOOKUP_PAGES;
		v = v < 2 ? 2 : v > LOOKUP_PAGES ? LOOKUP_PAGES : v;
		__atomic_store_n(&n, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* The slot of this thread's lookup pages that holds page p of t, or else the least recently used
 * one, taken for it (its page not read yet: SIZE_MAX); *held: whether it holds it. Marked used
 * either way. */
static size_t lookup_slot(const ndb_table *t, size_t p, bool *held)
{
	size_t k = 0, n = lookup_pages_n();
	*held = false;
	for (size_t j = 0; j < n; j++) {
		if (lookup_pages.id[j] == t->id && lookup_pages.page[j] == p) {
			k = j;
			*held = true;
			break;
		}
		if (lookup_pages.used[j] < lookup_pages.used[k])
			k = j;
	}
	if (!*held) {
		lookup_pages.id[k] = t->id;
		lookup_pages.page[k] = SIZE_MAX;
	}
	lookup_pages.used[k] = ++lookup_pages.clock;
	return k;
}

static __attribute__((noinline)) const uint8_t *lookup_spilled(const ndb_table *t, size_t p)
{
	bool held;
	size_t k = lookup_slot(t, p, &held);
	const uint8_t *pg = page_of(t, p, lookup_pages.buf[k], &lookup_pages.page[k]);
	if (!pg)
		lookup_pages.id[k] = 0;
	return pg;
}

static inline const uint8_t *lookup_page_of(const ndb_table *t, size_t p)
{
	return t->pmem[p] ? t->pmem[p] : lookup_spilled(t, p);
}

static inline size_t page_groups(const uint8_t *pg) { return (size_t)pg[0] | (size_t)pg[1] << 8; }
static inline size_t group_off(const uint8_t *pg, size_t g)
{
	return (size_t)pg[2 + 2 * g] | (size_t)pg[3 + 2 * g] << 8;
}

/* The page that holds group g: the last whose first group is not above it. */
static size_t page_of_group(const ndb_table *t, size_t g)
{
	size_t a = 0, b = t->n_pages;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (t->pgroup[mid] <= g)
			a = mid + 1;
		else
			b = mid;
	}
	return a ? a - 1 : 0;
}

void ndb_cursor_init(ndb_cursor *c, const ndb_table *t, size_t i)
{
	c->t = t;
	c->i = i;
	c->buf_page = SIZE_MAX;
	memset(c->v, 0, sizeof c->v);
	if (i >= t->n)
		return;
	c->g = i / NDB_GROUP;
	c->page = page_of_group(t, c->g);
	c->gi = c->g - t->pgroup[c->page];
	const uint8_t *pg = page_of(t, c->page, c->buf, &c->buf_page);
	if (!pg) {
		c->i = t->n;
		return;
	}
	const uint8_t *p = pg + group_off(pg, c->gi);
	for (size_t k = c->g * NDB_GROUP; k < i; k++)
		decode(t, &p, c->v, k % NDB_GROUP == 0);
	c->off = (size_t)(p - pg);
}

bool ndb_cursor_next(ndb_cursor *c, uint64_t v[4])
{
	const ndb_table *t = c->t;
	if (c->i >= t->n)
		return false;
	const uint8_t *pg = page_of(t, c->page, c->buf, &c->buf_page);
	if (pg && c->i / NDB_GROUP != c->g) {
		/* the next group: in this page or first in the next */
		c->g++;
		if (++c->gi >= page_groups(pg)) {
			c->page++;
			c->gi = 0;
			pg = page_of(t, c->page, c->buf, &c->buf_page);
		}
		if (pg)
			c->off = group_off(pg, c->gi);
	}
	if (!pg) {
		c->i = t->n; /* the spill file failed: the entries end here (counted, the first logged) */
		return false;
	}
	const uint8_t *p = pg + c->off;
	decode(t, &p, c->v, c->i % NDB_GROUP == 0);
	c->off = (size_t)(p - pg);
	c->i++;
	memcpy(v, c->v, sizeof c->v);
	return true;
}

bool ndb_table_at(const ndb_table *t, size_t i, uint64_t v[4])
{
	ndb_cursor c;
	ndb_cursor_init(&c, t, i);
	return ndb_cursor_next(&c, v);
}

/* The key of the group at `off` in a page: the first field of its first entry, written whole. */
static inline uint64_t group_key(const ndb_table *t, const uint8_t *pg, size_t off)
{
	const uint8_t *p = pg + off;
	return sort_key(t, unzig(get(&p)));
}

/* The largest key of the table: where the last page's keys end. */
static inline uint64_t last_key(const ndb_table *t) { return sort_key(t, t->last[0]); }

/* Where `key` is guessed to fall among n slots whose keys go from lo to hi: in proportion, as the
 * keys of a table are close to evenly spread (ids counted up as the file grew). */
static inline size_t guess(uint64_t key, uint64_t lo, uint64_t hi, size_t n)
{
	if (key <= lo || hi <= lo)
		return 0;
	double f = (double)(key - lo) / (double)(hi - lo); /* past hi: n - 1 (f * n may not fit a size_t) */
	size_t g = f < 1 ? (size_t)(f * (double)n) : n - 1;
	return g < n ? g : n - 1;
}

/* Key i of a search: the first key of page i of the table (pg NULL), or of group i of page pg. */
static inline uint64_t slot_key(const ndb_table *t, const uint8_t *pg, size_t i)
{
	return pg ? group_key(t, pg, group_off(pg, i)) : t->pkey[i];
}

/* The first of n slots (the table's pages, pg NULL, or the groups of page pg) whose key is not below
 * `key` (n: none), their keys going from lo to hi. The guess and the slot after it are tried
 * first; a binary search over what they leave, which is nothing when the keys are evenly spread,
 * gives the answer for any spread. Each group key read is a line of the page to bring into the
 * cache: the guess and the group after it are most often all that is read of the page's. */
static inline __attribute__((always_inline)) size_t first_not_below(const ndb_table *t, const uint8_t *pg, size_t n,
                                                                    uint64_t key, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = n; /* slots before a: below key; from b: not below */
	size_t g = guess(key, lo, hi, n);
	if (slot_key(t, pg, g) < key) {
		a = g + 1;
		if (a < b && slot_key(t, pg, a) >= key)
			b = a;
	} else {
		b = g;
	}
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (slot_key(t, pg, mid) < key)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

/* The page where an entry with (sorted) key `key` lies, if any: the last whose first key is below
 * it, else the first (the table has pages). */
static inline size_t page_of_key(const ndb_table *t, uint64_t key)
{
	size_t a = first_not_below(t, NULL, t->n_pages, key, t->pkey[0], last_key(t));
	return a ? a - 1 : 0;
}

bool ndb_table_find(const ndb_table *t, uint64_t key, uint64_t v[4], size_t *index)
{
	key = sort_key(t, key);
	if (!t->n_pages)
		return false;
	/* The page and in it the group: the last whose first key is below `key` (else the first). The
	 * first entry with that key lies in that group, or is the first of the group after it. */
	size_t page = page_of_key(t, key);
	const uint8_t *pg = lookup_page_of(t, page);
	if (!pg)
		return false;
	size_t ng = page_groups(pg);
	size_t a = first_not_below(t, pg, ng, key, t->pkey[page], page + 1 < t->n_pages ? t->pkey[page + 1] : last_key(t));
	size_t gi = a ? a - 1 : 0, g = t->pgroup[page] + gi;
	size_t i = g * NDB_GROUP, end = i + NDB_GROUP < t->n ? i + NDB_GROUP : t->n;
	const uint8_t *p = pg + group_off(pg, gi);
	uint64_t w[4] = {0, 0, 0, 0};
	if (t->kind == NDB_TABLE_BLOCKS) {
		for (; i < end; i++) {
			decode_block(t, &p, w, i % NDB_GROUP == 0);
			if ((w[0] & ~1ull) >= key)
				break;
		}
	} else {
		for (; i < end; i++) {
			decode_node(&p, w, i % NDB_GROUP == 0);
			if (w[0] >= key)
				break;
		}
	}
	if (i == end && i < t->n) {
		/* every entry of the group is below `key`: the next group's first, in this page or the next */
		if (gi + 1 >= ng) {
			if (!(pg = lookup_page_of(t, page + 1)))
				return false;
			gi = 0;
		} else {
			gi++;
		}
		p = pg + group_off(pg, gi);
		decode(t, &p, w, true);
	} else if (i == end) {
		return false;
	}
	if (sort_key(t, w[0]) != key)
		return false;
	memcpy(v, w, sizeof w);
	if (index)
		*index = i;
	return true;
}

/* ---------------------------------------------------------------- a batch's pages read at once (ndb_batch_pages) */

size_t ndb_table_pages_wanted(const ndb_table *t, const uint64_t *keys, size_t n, ndb_tpage *out, size_t max)
{
	size_t m = 0;
	if (!t->spill || t->spill->fd < 0 || t->mem_pages == t->n_pages)
		return 0;
	if (max > lookup_pages_n() / 2)
		max = lookup_pages_n() / 2;
	for (size_t i = 0; i < n && m < max; i++) {
		if (!keys[i])
			continue;
		size_t p = page_of_key(t, sort_key(t, keys[i]));
		bool held = t->pmem[p] != NULL;
		for (size_t k = 0; k < m && !held; k++)
			held = out[k].page == p;
		if (held)
			continue;
		size_t k = lookup_slot(t, p, &held); /* taken, its page read by ndb_table_pages_read */
		if (held)
			continue;
		out[m++] = (ndb_tpage){t->spill->fd, p, lookup_pages.buf[k], k, 0};
	}
	return m;
}

void ndb_table_pages_read(const ndb_table *t, const ndb_tpage *w, size_t m)
{
	uint64_t read = 0;
	for (size_t i = 0; i < m; i++) {
		if (w[i].res == NDB_TPAGE) {
			lookup_pages.page[w[i].slot] = w[i].page;
			read++;
		} else {
			lookup_pages.id[w[i].slot] = 0; /* read by the lookup itself, which says what fails */
		}
	}
	if (m) {
		__atomic_fetch_add(&t->spill->reads, read, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->spill->batched, read, __ATOMIC_RELAXED);
		__atomic_fetch_add(&t->spill->calls, 1, __ATOMIC_RELAXED);
	}
}

size_t ndb_table_spilled(const ndb_table *t)
{
	return t->n_pages - t->mem_pages;
}

uint64_t ndb_table_spill_reads(const ndb_table *t)
{
	return t->spill ? __atomic_load_n(&t->spill->reads, __ATOMIC_RELAXED) : 0;
}

uint64_t ndb_table_spill_calls(const ndb_table *t)
{
	return t->spill ? __atomic_load_n(&t->spill->calls, __ATOMIC_RELAXED) : 0;
}

uint64_t ndb_table_spill_batched(const ndb_table *t)
{
	return t->spill ? __atomic_load_n(&t->spill->batched, __ATOMIC_RELAXED) : 0;
}

uint64_t ndb_table_spill_lost(const ndb_table *t)
{
	return t->spill ? __atomic_load_n(&t->spill->lost, __ATOMIC_RELAXED) : 0;
}

/* ---------------------------------------------------------------- damage: trees out of order */

typedef struct {
	uint64_t v[4];
	size_t at; /* place in the walk: equal keys keep the walk's order */
} loose;

static int cmp_loose(const void *a, const void *b, void *ctx)
{
	const ndb_table *t = ctx;
	const loose *x = a, *y = b;
	uint64_t p = sort_key(t, x->v[0]), q = sort_key(t, y->v[0]);
	if (p != q)
		return p < q ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

int ndb_table_finish(ndb_table *t)
{
	int rc = close_build(t);
	if (rc || !t->unsorted)
		return rc;
	/* a damaged tree: its entries unpacked, sorted (ties in walk order) and packed again */
	loose *all = malloc((t->n ? t->n : 1) * sizeof *all);
	if (!all)
		return OR_ERR_NOMEM;
	ndb_cursor *c = malloc(sizeof *c);
	if (!c) {
		free(all);
		return OR_ERR_NOMEM;
	}
	ndb_cursor_init(c, t, 0);
	size_t n = 0;
	while (ndb_cursor_next(c, all[n].v)) {
		all[n].at = n;
		n++;
	}
	free(c);
	qsort_r(all, n, sizeof *all, cmp_loose, t);
	ndb_table sorted;
	ndb_table_init(&sorted, t->kind, NULL);
	sorted.trailer = t->trailer;
	sorted.align = t->align;
	sorted.shift = t->shift;
	sorted.mem_left = t->mem_left;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ndb_table_add(&sorted, all[i].v);
	free(all);
	if (rc == 0)
		rc = close_build(&sorted);
	if (rc) {
		ndb_table_free(&sorted);
		return rc;
	}
	ndb_table_free(t);
	*t = sorted;
	t->unsorted = true; /* kept: the file's tree was out of order */
	return 0;
}

size_t ndb_table_bytes(const ndb_table *t)
{
	return t->mem_pages * NDB_TPAGE + t->cap_pages * (sizeof *t->pkey + sizeof *t->pgroup + sizeof *t->pmem);
}
