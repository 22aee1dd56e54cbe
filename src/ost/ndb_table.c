/*
 * ndb_table.c: the node and block B-trees held in memory, packed (see ndb.h, ndb_table).
 *
 * A listing looks up a node and a block for every message it reads, and the checksum scan goes
 * through every block, so both trees are loaded whole: searching them on disk at each lookup read
 * the file 1.4 to 4 times over (ndb.c, "B-trees searched on disk"). Held as plain arrays they took
 * 24 bytes a node and 16 a block; a cache has 3 to 4 blocks a message (its properties, its
 * recipient table, attachments), which made 80 bytes of memory a message, 80 MB for a million.
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
 * coded as they are, damage included). The first key of each group is kept apart (`key`, with where
 * the group starts): a lookup searches those keys, then decodes one group from its start (at most
 * NDB_GROUP entries of a few bytes, in one or two cache lines). Measured on the 200,000-message
 * benchmark file against the arrays with their fence keys: see docs/ARCHITECTURE.md.
 *
 * An entry is known by its place in key order (0 .. n - 1): the scan's `verified` marks and the
 * listing's `reached` marks are indexed by it.
 */
#include "ndb.h"

#include <stdlib.h>
#include <string.h>

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

void ndb_table_init(ndb_table *t, ndb_table_kind kind, const ndb_format *f)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->trailer = f ? f->blk_trailer : 0;
	t->align = f && f->blk_align ? f->blk_align : 1;
	while ((2ull << t->shift) <= t->align)
		t->shift++;
}

void ndb_table_free(ndb_table *t)
{
	free(t->blob);
	free(t->key);
	free(t->pos);
	t->blob = NULL;
	t->key = NULL;
	t->pos = NULL;
	t->n = t->len = t->cap = t->n_groups = t->cap_groups = 0;
}

int ndb_table_add(ndb_table *t, const uint64_t v[4])
{
	if (t->len + MAX_ENTRY > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		uint8_t *b = realloc(t->blob, cap);
		if (!b)
			return OR_ERR_NOMEM;
		t->blob = b;
		t->cap = cap;
	}
	bool first = t->n % NDB_GROUP == 0;
	if (first) {
		if (t->n_groups == t->cap_groups) {
			size_t cap = t->cap_groups ? t->cap_groups * 2 : 64;
			uint64_t *k = realloc(t->key, cap * sizeof *k);
			if (!k)
				return OR_ERR_NOMEM;
			t->key = k;
			uint64_t *p = realloc(t->pos, cap * sizeof *p);
			if (!p)
				return OR_ERR_NOMEM;
			t->pos = p;
			t->cap_groups = cap;
		}
		t->key[t->n_groups] = sort_key(t, v[0]);
		t->pos[t->n_groups++] = t->len;
	}
	if (t->n && sort_key(t, t->last[0]) >= sort_key(t, v[0]))
		t->unsorted = true;
	uint8_t *end = encode(t, t->blob + t->len, v, first ? NULL : t->last);
	t->len = (size_t)(end - t->blob);
	memcpy(t->last, v, sizeof t->last);
	t->n++;
	return 0;
}

/* ---------------------------------------------------------------- reading */

void ndb_cursor_init(ndb_cursor *c, const ndb_table *t, size_t i)
{
	c->t = t;
	c->i = i;
	memset(c->v, 0, sizeof c->v);
	if (i >= t->n) {
		c->p = NULL;
		return;
	}
	size_t g = i / NDB_GROUP;
	c->p = t->blob + t->pos[g];
	for (size_t k = g * NDB_GROUP; k < i; k++)
		decode(t, &c->p, c->v, k % NDB_GROUP == 0);
}

bool ndb_cursor_next(ndb_cursor *c, uint64_t v[4])
{
	const ndb_table *t = c->t;
	if (c->i >= t->n)
		return false;
	decode(t, &c->p, c->v, c->i % NDB_GROUP == 0);
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

bool ndb_table_find(const ndb_table *t, uint64_t key, uint64_t v[4], size_t *index)
{
	key = sort_key(t, key);
	if (!t->n_groups)
		return false;
	/* a: the first group whose first key is not below `key`. The first entry with that key lies
	 * in group g = a - 1 (after its first entry) or is group a's first. */
	size_t a = 0, b = t->n_groups;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (t->key[mid] < key)
			a = mid + 1;
		else
			b = mid;
	}
	size_t g = a ? a - 1 : 0, end = a * NDB_GROUP + 1; /* up to group a's first entry */
	if (end > t->n)
		end = t->n;
	const uint8_t *p = t->blob + t->pos[g];
	uint64_t w[4];
	size_t i = g * NDB_GROUP;
	/* group a follows group g in the blob; its first entry is whole (decoded as such) */
	if (t->kind == NDB_TABLE_BLOCKS) {
		for (; i < end; i++) {
			decode_block(t, &p, w, i % NDB_GROUP == 0);
			if ((w[0] & ~1ull) >= key)
				break;
		}
		if (i == end || (w[0] & ~1ull) != key)
			return false;
	} else {
		for (; i < end; i++) {
			decode_node(&p, w, i % NDB_GROUP == 0);
			if (w[0] >= key)
				break;
		}
		if (i == end || w[0] != key)
			return false;
	}
	memcpy(v, w, sizeof w);
	if (index)
		*index = i;
	return true;
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
	if (t->unsorted) {
		/* a damaged tree: its entries unpacked, sorted (ties in walk order) and packed again */
		loose *all = malloc((t->n ? t->n : 1) * sizeof *all);
		if (!all)
			return OR_ERR_NOMEM;
		ndb_cursor c;
		ndb_cursor_init(&c, t, 0);
		size_t n = 0;
		while (ndb_cursor_next(&c, all[n].v)) {
			all[n].at = n;
			n++;
		}
		qsort_r(all, n, sizeof *all, cmp_loose, t);
		ndb_table sorted;
		ndb_table_init(&sorted, t->kind, NULL);
		sorted.trailer = t->trailer;
		sorted.align = t->align;
		sorted.shift = t->shift;
		int rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = ndb_table_add(&sorted, all[i].v);
		free(all);
		if (rc) {
			ndb_table_free(&sorted);
			return rc;
		}
		ndb_table_free(t);
		*t = sorted;
		t->unsorted = true; /* kept: the file's tree was out of order */
	}
	/* the room left for growth is given back */
	if (t->len && t->len < t->cap) {
		uint8_t *b = realloc(t->blob, t->len);
		if (b) {
			t->blob = b;
			t->cap = t->len;
		}
	}
	return 0;
}

size_t ndb_table_bytes(const ndb_table *t)
{
	return t->len + t->n_groups * (sizeof *t->key + sizeof *t->pos);
}
