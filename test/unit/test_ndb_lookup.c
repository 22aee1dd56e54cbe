/* Node and block lookups in the packed B-tree tables (src/ost/ndb_table.c, through ndb_find_node
 * and ndb_find_block): for every key, present or not, they must find the first entry with that key
 * in key order, as a scan of the entries does, with its fields as they were added, including ids
 * listed twice (damage) across the boundaries between groups, a block id's reserved bit 0, keys
 * beyond either end, tables shorter than a group, and empty tables. Entries added out of order are
 * sorted, equal keys in the order added; offsets and ids of any size (damage) come back as added;
 * the cursors hand out the entries in order from any place. Each test runs with the pages in
 * memory, with every page in the temporary file (a bound of 0 pages), and with a bound of 2 pages
 * (the first in memory, the rest in the file). Keys spread far from evenly (dense runs, gaps of
 * every size, lone powers of 2) hold the lookups' guess in proportion to the same scan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ost/ndb.h"

/* the 4 KiB format's block trailer and alignment, for the tables' offset prediction */
static const ndb_format fmt4k = {FMT_4K, "unicode-4k", 4096, 4072, 4056, 8, 24, 512, 65536};

/* The bound on the pages the tables keep in memory in this run; SIZE_MAX: none. */
static size_t bound = SIZE_MAX;

typedef struct {
	ndb_file nf;
	size_t mem_left;
	ndb_bbt_ent *b; /* what was added, in key order: the reference */
	ndb_nbt_ent *n;
	size_t n_b, n_n;
} tables;

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Both tables from sorted keys; the other fields made up from i (and from `salt`, for large values). */
static void make(tables *t, const uint64_t *bids, size_t n_b, const uint32_t *nids, size_t n_n, uint64_t salt)
{
	memset(t, 0, sizeof *t);
	ndb_table_init(&t->nf.bbt, NDB_TABLE_BLOCKS, &fmt4k);
	ndb_table_init(&t->nf.nbt, NDB_TABLE_NODES, NULL);
	if (bound != SIZE_MAX) {
		t->mem_left = bound;
		t->nf.bbt.mem_left = t->nf.nbt.mem_left = &t->mem_left;
	}
	t->b = calloc(n_b ? n_b : 1, sizeof *t->b);
	t->n = calloc(n_n ? n_n : 1, sizeof *t->n);
	assert_non_null(t->b);
	assert_non_null(t->n);
	uint64_t x = salt | 1;
	for (size_t i = 0; i < n_b; i++) {
		uint64_t ib = salt ? rnd(&x) : 4096 * (i + 1) + (i % 3 == 0 ? 512 : 0);
		t->b[i] = (ndb_bbt_ent){bids[i], ib, (uint16_t)(salt ? rnd(&x) : i * 37)};
		uint64_t v[4] = {t->b[i].bid, t->b[i].ib, t->b[i].cb, 0};
		assert_int_equal(ndb_table_add(&t->nf.bbt, v), 0);
	}
	for (size_t i = 0; i < n_n; i++) {
		uint64_t data = salt ? rnd(&x) : 4 * i, sub = salt ? (i % 2 ? rnd(&x) : 0) : (i % 3 ? 4 * i + 8 : 0);
		t->n[i] = (ndb_nbt_ent){nids[i], salt ? (uint32_t)rnd(&x) : (uint32_t)(i % 7) << 5 | 2, data, sub};
		uint64_t v[4] = {t->n[i].nid, t->n[i].data, t->n[i].sub, t->n[i].parent};
		assert_int_equal(ndb_table_add(&t->nf.nbt, v), 0);
	}
	assert_int_equal(ndb_table_finish(&t->nf.bbt), 0);
	assert_int_equal(ndb_table_finish(&t->nf.nbt), 0);
	t->n_b = n_b;
	t->n_n = n_n;
	if (bound != SIZE_MAX)
		assert_true(t->nf.bbt.mem_pages + t->nf.nbt.mem_pages <= bound);
	if (bound == 0)
		assert_int_equal(ndb_table_spilled(&t->nf.bbt), t->nf.bbt.n_pages);
}

static void drop(tables *t)
{
	ndb_table_free(&t->nf.bbt);
	ndb_table_free(&t->nf.nbt);
	free(t->b);
	free(t->n);
}

static void check_block(const tables *t, uint64_t bid)
{
	size_t want = t->n_b;
	for (size_t i = 0; i < t->n_b && want == t->n_b; i++)
		if ((t->b[i].bid & ~1ull) == (bid & ~1ull))
			want = i;
	ndb_bbt_ent got;
	size_t at = SIZE_MAX;
	bool found = ndb_find_block(&t->nf, bid, &got, &at);
	assert_int_equal(found, want < t->n_b);
	if (!found)
		return;
	assert_int_equal(at, want);
	assert_int_equal(got.bid, t->b[want].bid);
	assert_int_equal(got.ib, t->b[want].ib);
	assert_int_equal(got.cb, t->b[want].cb);
}

static void check_node(const tables *t, uint32_t nid)
{
	size_t want = t->n_n;
	for (size_t i = 0; i < t->n_n && want == t->n_n; i++)
		if (t->n[i].nid == nid)
			want = i;
	ndb_nbt_ent got;
	size_t at = SIZE_MAX;
	bool found = ndb_find_node(&t->nf, nid, &got, &at);
	assert_int_equal(found, want < t->n_n);
	if (!found)
		return;
	assert_int_equal(at, want);
	assert_int_equal(got.nid, t->n[want].nid);
	assert_int_equal(got.data, t->n[want].data);
	assert_int_equal(got.sub, t->n[want].sub);
	assert_int_equal(got.parent, t->n[want].parent);
}

/* Every entry through a cursor from each place, and through ndb_table_at. */
static void check_cursors(const tables *t)
{
	uint64_t v[4];
	for (size_t from = 0; from <= t->n_b; from += from < 70 ? 1 : 97) {
		ndb_cursor c;
		ndb_cursor_init(&c, &t->nf.bbt, from);
		for (size_t i = from; i < t->n_b; i++) {
			assert_true(ndb_cursor_next(&c, v));
			assert_int_equal(v[0], t->b[i].bid);
			assert_int_equal(v[1], t->b[i].ib);
			assert_int_equal(v[2], t->b[i].cb);
		}
		assert_false(ndb_cursor_next(&c, v));
	}
	for (size_t i = 0; i < t->n_n; i++) {
		assert_true(ndb_table_at(&t->nf.nbt, i, v));
		ndb_nbt_ent e = ndb_nbt_of(v);
		assert_int_equal(e.nid, t->n[i].nid);
		assert_int_equal(e.data, t->n[i].data);
		assert_int_equal(e.sub, t->n[i].sub);
		assert_int_equal(e.parent, t->n[i].parent);
	}
	assert_false(ndb_table_at(&t->nf.nbt, t->n_n, v));
}

static void random_keys_with_duplicates(void **state)
{
	enum { N = 5000 };
	uint64_t x = 88172645463325252ull;
	uint64_t *bids = malloc(N * sizeof *bids);
	uint32_t *nids = malloc(N * sizeof *nids);
	uint64_t *tmp = malloc(N * sizeof *tmp);
	assert_non_null(bids);
	assert_non_null(nids);
	assert_non_null(tmp);
	/* block ids in steps of 4 as files number them, some with bit 0 set, some repeated */
	for (size_t i = 0; i < N; i++)
		bids[i] = 4 * (rnd(&x) % (2 * N)) + (rnd(&x) % 5 == 0 ? 1 : 0);
	qsort(bids, N, sizeof *bids, cmp_u64);
	for (size_t i = 0; i < N; i++)
		tmp[i] = (uint32_t)(rnd(&x) % (3 * N)) << 5 | (uint32_t)(rnd(&x) % 4);
	qsort(tmp, N, sizeof *tmp, cmp_u64);
	for (size_t i = 0; i < N; i++)
		nids[i] = (uint32_t)tmp[i];
	for (uint64_t salt = 0; salt < 2; salt++) {
		tables t;
		make(&t, bids, N, nids, N, salt * 0x9E3779B97F4A7C15ull);
		assert_int_equal(t.nf.bbt.pgroup[t.nf.bbt.n_pages], (N + NDB_GROUP - 1) / NDB_GROUP);
		assert_true(t.nf.bbt.n_pages > 2); /* lookups cross the pages' boundaries */
		if (!salt && bound == SIZE_MAX) /* ids in order, blocks one after another: a few bytes an entry */
			assert_true(ndb_table_bytes(&t.nf.bbt) < 8 * N);
		for (uint64_t b = 0; b < 8 * N + 16; b++)
			check_block(&t, b);
		check_block(&t, UINT64_MAX);
		check_block(&t, UINT64_MAX - 1);
		for (uint32_t k = 0; k < (3 * N + 4) << 5; k += 7)
			check_node(&t, k);
		for (size_t i = 0; i < N; i++)
			check_node(&t, nids[i]);
		check_node(&t, UINT32_MAX);
		check_cursors(&t);
		drop(&t);
	}
	free(bids);
	free(nids);
	free(tmp);
}

/* n sorted keys below 2^bits spread far from evenly, as the lookups' guess in proportion (of where
 * a key lies between a page's first key and the next's) gets them wrong: dense runs of ids in steps
 * of 4 at bases from 4 to 2^(bits - 2), gaps of every size between them, and the powers of 2 alone
 * (one key a page, or a page of keys beside a lone one). */
static void skewed_keys(uint64_t *out, size_t n, unsigned bits)
{
	size_t i = 0;
	for (unsigned k = 2; k < bits && i < n; k++)
		out[i++] = 1ull << k;
	for (size_t run = 0; i < n; run++) {
		uint64_t base = (1ull << (2 + run * 7 % (bits - 4))) + 4 * run;
		for (size_t j = 0; j < 40 + run * 53 % 400 && i < n; j++)
			out[i++] = base + 4 * j;
	}
	qsort(out, n, sizeof *out, cmp_u64);
}

static void skewed_keys_found_as_a_scan_finds_them(void **state)
{
	enum { N = 3000 };
	uint64_t *bids = malloc(N * sizeof *bids), *tmp = malloc(N * sizeof *tmp);
	uint32_t *nids = malloc(N * sizeof *nids);
	assert_non_null(bids);
	assert_non_null(tmp);
	assert_non_null(nids);
	skewed_keys(bids, N, 62);
	skewed_keys(tmp, N, 32);
	for (size_t i = 0; i < N; i++)
		nids[i] = (uint32_t)tmp[i];
	tables t;
	make(&t, bids, N, nids, N, 0);
	assert_true(t.nf.bbt.n_pages > 2);
	assert_true(t.nf.nbt.n_pages > 2);
	/* every key, the ids beside it (between two keys, in the gaps) and both ends */
	for (size_t i = 0; i < N; i++) {
		for (uint64_t d = 0; d < 8; d++) {
			check_block(&t, bids[i] + d);
			check_block(&t, bids[i] - d);
		}
		for (uint32_t d = 0; d < 3; d++) {
			check_node(&t, nids[i] + d);
			check_node(&t, nids[i] - d);
		}
	}
	/* each page's first key and the ids just below it (the search over the pages' first keys) */
	for (size_t p = 0; p < t.nf.bbt.n_pages; p++)
		for (uint64_t d = 0; d < 6; d++)
			check_block(&t, t.nf.bbt.pkey[p] - d);
	for (size_t p = 0; p < t.nf.nbt.n_pages; p++)
		for (uint32_t d = 0; d < 3; d++)
			check_node(&t, (uint32_t)t.nf.nbt.pkey[p] - d);
	check_block(&t, 0);
	check_block(&t, UINT64_MAX);
	check_node(&t, 0);
	check_node(&t, UINT32_MAX);
	check_cursors(&t);
	drop(&t);
	free(bids);
	free(tmp);
	free(nids);
}

static void runs_of_one_id_across_groups(void **state)
{
	/* 200 entries in runs of equal ids of every length from 1 to 45, so that runs start before,
	 * on and after the group boundaries and span one or more of them */
	enum { N = 200 };
	uint64_t bids[N];
	uint32_t nids[N];
	size_t i = 0;
	for (uint64_t run = 1, id = 1; i < N; run = run % 45 + 1, id++)
		for (uint64_t k = 0; k < run && i < N; k++, i++) {
			bids[i] = 4 * id + (k & 1);
			nids[i] = (uint32_t)(id << 5 | 4);
		}
	tables t;
	make(&t, bids, N, nids, N, 0);
	for (uint64_t b = 0; b <= bids[N - 1] + 8; b++)
		check_block(&t, b);
	for (uint32_t k = 0; k <= nids[N - 1] + 64; k++)
		check_node(&t, k);
	check_cursors(&t);
	drop(&t);
	/* shorter than one group, and exactly one group and one more */
	for (size_t n = 1; n <= NDB_GROUP + 1; n++) {
		make(&t, bids, n, nids, n, 0);
		for (uint64_t b = 0; b <= bids[n - 1] + 8; b++)
			check_block(&t, b);
		for (uint32_t k = 0; k <= nids[n - 1] + 64; k++)
			check_node(&t, k);
		check_cursors(&t);
		drop(&t);
	}
}

static void an_id_listed_twice_finds_the_first(void **state)
{
	uint64_t bids[] = {4, 8, 9, 9, 12, 13};
	uint32_t nids[] = {33, 33, 33, 97, 97};
	tables t;
	ndb_bbt_ent b;
	ndb_nbt_ent n;
	size_t at = 0;
	make(&t, bids, 6, nids, 5, 0); /* 8 and 9, 12 and 13: the same block once bit 0 is cleared */
	assert_true(ndb_find_block(&t.nf, 8, &b, &at));
	assert_int_equal(at, 1);
	assert_int_equal(b.bid, 8);
	assert_true(ndb_find_block(&t.nf, 9, &b, &at));
	assert_int_equal(at, 1);
	assert_true(ndb_find_block(&t.nf, 13, &b, &at));
	assert_int_equal(at, 4);
	assert_int_equal(b.bid, 12);
	assert_true(ndb_find_node(&t.nf, 33, &n, &at));
	assert_int_equal(at, 0);
	assert_true(ndb_find_node(&t.nf, 97, &n, NULL));
	assert_int_equal(n.data, 12);
	assert_false(ndb_find_node(&t.nf, 34, &n, NULL));
	assert_false(ndb_find_block(&t.nf, 16, &b, NULL));
	assert_false(ndb_find_block(&t.nf, 0, &b, NULL));
	drop(&t);
}

static void out_of_order_is_sorted_keeping_equal_keys_in_order(void **state)
{
	/* a damaged tree: keys out of order, one repeated, values telling the copies apart */
	uint64_t keys[] = {40, 8, 24, 8, 16, 41, 4, 24, 8};
	enum { N = sizeof keys / sizeof keys[0] };
	ndb_table t;
	size_t mem_left = bound;
	ndb_table_init(&t, NDB_TABLE_BLOCKS, &fmt4k);
	if (bound != SIZE_MAX)
		t.mem_left = &mem_left;
	for (size_t i = 0; i < N; i++) {
		uint64_t v[4] = {keys[i], 1000 * i, i, 0};
		assert_int_equal(ndb_table_add(&t, v), 0);
	}
	assert_true(t.unsorted);
	assert_int_equal(ndb_table_finish(&t), 0);
	/* sorted by bid without bit 0: 4, 8 (added 2nd, 4th, 9th), 16, 24 (3rd, 8th), 40, 41 */
	static const size_t want[] = {6, 1, 3, 8, 4, 2, 7, 0, 5};
	uint64_t v[4];
	ndb_cursor c;
	ndb_cursor_init(&c, &t, 0);
	for (size_t i = 0; i < N; i++) {
		assert_true(ndb_cursor_next(&c, v));
		assert_int_equal(v[0], keys[want[i]]);
		assert_int_equal(v[1], 1000 * want[i]);
		assert_int_equal(v[2], want[i]);
	}
	assert_false(ndb_cursor_next(&c, v));
	size_t at;
	assert_true(ndb_table_find(&t, 8, v, &at));
	assert_int_equal(at, 1);
	assert_int_equal(v[1], 1000);
	assert_true(ndb_table_find(&t, 41, v, &at)); /* 40 and 41: one block */
	assert_int_equal(v[1], 0);
	ndb_table_free(&t);
}

static void empty_tables_find_nothing(void **state)
{
	tables t;
	ndb_bbt_ent b;
	ndb_nbt_ent n;
	make(&t, NULL, 0, NULL, 0, 0);
	assert_int_equal(t.nf.bbt.n_pages, 0);
	assert_false(ndb_find_block(&t.nf, 4, &b, NULL));
	assert_false(ndb_find_node(&t.nf, 33, &n, NULL));
	check_cursors(&t);
	drop(&t);
}

static int in_memory(void **state)
{
	bound = SIZE_MAX;
	return 0;
}

static int all_spilled(void **state)
{
	bound = 0;
	return 0;
}

static int two_pages_kept(void **state)
{
	bound = 2;
	return 0;
}

#define EACH(test) cmocka_unit_test_setup(test, in_memory), cmocka_unit_test_setup(test, all_spilled), \
	cmocka_unit_test_setup(test, two_pages_kept)

int main(void)
{
	const struct CMUnitTest tests[] = {
		EACH(random_keys_with_duplicates),
		EACH(runs_of_one_id_across_groups),
		EACH(skewed_keys_found_as_a_scan_finds_them),
		EACH(an_id_listed_twice_finds_the_first),
		EACH(out_of_order_is_sorted_keeping_equal_keys_in_order),
		EACH(empty_tables_find_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
