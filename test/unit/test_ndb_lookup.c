/* Node and block lookups through the fence keys (src/ost/ndb.c, ndb_find_node and ndb_find_block):
 * for every key, present or not, they must find the first entry with that key in the sorted array,
 * as a scan of the array does, including ids listed twice (damage) across the boundaries between
 * fences, a block id's reserved bit 0, keys beyond either end, arrays shorter than a fence's stride,
 * and empty arrays; and the same without the fences (no memory for them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ost/ndb.h"

/* The reference: the first entry whose key is `key` in a sorted array, or NULL. */
static const ndb_bbt_ent *ref_block(const ndb_file *nf, uint64_t bid)
{
	for (size_t i = 0; i < nf->n_bbt; i++)
		if ((nf->bbt[i].bid & ~1ull) == (bid & ~1ull))
			return &nf->bbt[i];
	return NULL;
}

static const ndb_nbt_ent *ref_node(const ndb_file *nf, uint32_t nid)
{
	for (size_t i = 0; i < nf->n_nbt; i++)
		if (nf->nbt[i].nid == nid)
			return &nf->nbt[i];
	return NULL;
}

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

/* An ndb_file holding only the two arrays, built from sorted keys. */
static void make(ndb_file *nf, const uint64_t *bids, size_t n_b, const uint32_t *nids, size_t n_n)
{
	memset(nf, 0, sizeof *nf);
	nf->bbt = calloc(n_b ? n_b : 1, sizeof *nf->bbt);
	nf->nbt = calloc(n_n ? n_n : 1, sizeof *nf->nbt);
	assert_non_null(nf->bbt);
	assert_non_null(nf->nbt);
	for (size_t i = 0; i < n_b; i++)
		nf->bbt[i] = (ndb_bbt_ent){bids[i], 4096 * (i + 1), (uint16_t)i};
	for (size_t i = 0; i < n_n; i++)
		nf->nbt[i] = (ndb_nbt_ent){nids[i], (uint32_t)i, 4 * i, 0};
	nf->n_bbt = n_b;
	nf->n_nbt = n_n;
	ndb_fences_build(nf);
}

static void drop(ndb_file *nf)
{
	ndb_fences_free(nf);
	free(nf->bbt);
	free(nf->nbt);
}

/* Every query, with the fences and without them (the whole array searched). */
static void check_block(ndb_file *nf, uint64_t bid)
{
	const ndb_bbt_ent *want = ref_block(nf, bid);
	assert_ptr_equal(ndb_find_block(nf, bid), want);
	ndb_fence saved = nf->bbt_fence;
	memset(&nf->bbt_fence, 0, sizeof nf->bbt_fence);
	assert_ptr_equal(ndb_find_block(nf, bid), want);
	nf->bbt_fence = saved;
}

static void check_node(ndb_file *nf, uint32_t nid)
{
	const ndb_nbt_ent *want = ref_node(nf, nid);
	assert_ptr_equal(ndb_find_node(nf, nid), want);
	ndb_fence saved = nf->nbt_fence;
	memset(&nf->nbt_fence, 0, sizeof nf->nbt_fence);
	assert_ptr_equal(ndb_find_node(nf, nid), want);
	nf->nbt_fence = saved;
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
	ndb_file nf;
	make(&nf, bids, N, nids, N);
	assert_non_null(nf.bbt_fence.key);
	assert_int_equal(nf.bbt_fence.n, (N + 15) / 16);
	for (uint64_t b = 0; b < 8 * N + 16; b++)
		check_block(&nf, b);
	check_block(&nf, UINT64_MAX);
	check_block(&nf, UINT64_MAX - 1);
	for (uint32_t k = 0; k < (3 * N + 4) << 5; k += 7)
		check_node(&nf, k);
	for (size_t i = 0; i < N; i++)
		check_node(&nf, nids[i]);
	check_node(&nf, UINT32_MAX);
	drop(&nf);
	free(bids);
	free(nids);
	free(tmp);
}

static void runs_of_one_id_across_fences(void **state)
{
	/* 100 entries in runs of equal ids of every length from 1 to 13, so that runs start before,
	 * on and after the fence positions (every 16th entry) and span one or more of them */
	enum { N = 100 };
	uint64_t bids[N];
	uint32_t nids[N];
	size_t i = 0;
	for (uint64_t run = 1, id = 1; i < N; run = run % 13 + 1, id++)
		for (uint64_t k = 0; k < run && i < N; k++, i++) {
			bids[i] = 4 * id + (k & 1);
			nids[i] = (uint32_t)(id << 5 | 4);
		}
	ndb_file nf;
	make(&nf, bids, N, nids, N);
	for (uint64_t b = 0; b <= bids[N - 1] + 8; b++)
		check_block(&nf, b);
	for (uint32_t k = 0; k <= nids[N - 1] + 64; k++)
		check_node(&nf, k);
	drop(&nf);
	/* shorter than one stride, and exactly one stride and one more */
	for (size_t n = 1; n <= 17; n++) {
		make(&nf, bids, n, nids, n);
		for (uint64_t b = 0; b <= bids[n - 1] + 8; b++)
			check_block(&nf, b);
		for (uint32_t k = 0; k <= nids[n - 1] + 64; k++)
			check_node(&nf, k);
		drop(&nf);
	}
}

static void an_id_listed_twice_finds_the_first(void **state)
{
	uint64_t bids[] = {4, 8, 9, 9, 12, 13};
	uint32_t nids[] = {33, 33, 33, 97, 97};
	ndb_file nf;
	make(&nf, bids, 6, nids, 5); /* 8 and 9, 12 and 13: the same block once bit 0 is cleared */
	assert_ptr_equal(ndb_find_block(&nf, 8), &nf.bbt[1]);
	assert_ptr_equal(ndb_find_block(&nf, 9), &nf.bbt[1]);
	assert_ptr_equal(ndb_find_block(&nf, 13), &nf.bbt[4]);
	assert_ptr_equal(ndb_find_node(&nf, 33), &nf.nbt[0]);
	assert_ptr_equal(ndb_find_node(&nf, 97), &nf.nbt[3]);
	assert_null(ndb_find_node(&nf, 34));
	assert_null(ndb_find_block(&nf, 16));
	assert_null(ndb_find_block(&nf, 0));
	drop(&nf);
}

static void empty_arrays_find_nothing(void **state)
{
	ndb_file nf;
	make(&nf, NULL, 0, NULL, 0);
	assert_null(nf.bbt_fence.key);
	assert_null(ndb_find_block(&nf, 4));
	assert_null(ndb_find_node(&nf, 33));
	drop(&nf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_keys_with_duplicates),
		cmocka_unit_test(runs_of_one_id_across_fences),
		cmocka_unit_test(an_id_listed_twice_finds_the_first),
		cmocka_unit_test(empty_arrays_find_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
