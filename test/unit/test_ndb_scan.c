/* The checksum scan's reads (src/ost/ndb_check.c) after a listing: it reads over the gaps between
 * the blocks it checks (the blocks the listing found good, padding) as far as the file's bytes
 * read in all stay within 1.2x its size. Whatever the bytes the listing read before it, the scan
 * must find what the scan of the file on its own finds (two blocks with a bad CRC, one of them
 * read by the listing), read no more than the budget allows (unless reading over the shortest
 * gaps alone takes more), and, with the whole budget to spend, read every run of blocks in one
 * read. The same with the blocks in the order of their ids (one run) and out of it (sorted runs),
 * and on two threads (each half of the blocks on one) as on one. The Unicode files are built here
 * byte by byte: twenty 100-byte blocks with gaps of 0 to 40,000 bytes between them, and 400 under
 * a block B-tree of two levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ost/ndb.h"
#include "ndb_bytes.h"

enum { NBT_IB = 4096, BBT_IB = 4608, FIRST_IB = 8192, N_BLOCKS = 20, BLK_CB = 100, BLK_TOTAL = 128 };

/* The gap before the block at each place in offset order (multiples of the 64-byte alignment):
 * none, under, at and over 512 bytes, over the longest read over (32 KiB) once. */
static const uint32_t gap_before[N_BLOCKS] = {0, 0, 64, 448, 512, 576, 960, 1024, 1536, 3008,
                                              40000, 0, 512, 1024, 2048, 4096, 8192, 640, 64, 0};
/* Read (and so checked) by the listing; and damaged (a bad CRC): 3 is both. */
static const bool listed[N_BLOCKS] = {[0] = true, [2] = true, [3] = true, [5] = true, [6] = true, [9] = true,
                                      [12] = true, [15] = true, [16] = true, [19] = true};
static const bool damaged[N_BLOCKS] = {[3] = true, [11] = true};

static uint8_t *file;
static size_t file_size;
static char path[64];

static uint64_t block_bid(int i) { return 4 * (uint64_t)(i + 1); }

/* A file of `size` bytes: its header and its node B-tree (one node, whose data is block 0). */
static void start_file(uint64_t size)
{
	file_size = size;
	free(file);
	file = calloc(1, file_size);
	assert_non_null(file);
	put_header(file, file_size, NBT_IB, BBT_IB);
	put_one_node(file, NBT_IB, 0x200024, block_bid(0), 0x2022);
}

/* Block i at offset ib, its entry at e in a block B-tree leaf; a flipped byte when `damage`. */
static void put_block(uint8_t *e, int i, uint64_t ib, bool damage)
{
	put64(e, block_bid(i));
	put64(e + 8, ib);
	put16(e + 16, BLK_CB);
	put16(e + 18, 1);
	for (int k = 0; k < BLK_CB; k++)
		file[ib + k] = (uint8_t)(k * 13 + i * 101);
	seal_block(file, ib, BLK_CB, BLK_TOTAL, block_bid(i));
	if (damage)
		file[ib + 40] ^= 0x20;
}

/* A block B-tree page at ib (bid) of n entries of `level`. */
static void seal_bbt_page(uint64_t ib, uint64_t bid, int n, int level)
{
	file[ib + 488] = (uint8_t)n;
	file[ib + 489] = 20;
	file[ib + 490] = 24;
	file[ib + 491] = (uint8_t)level;
	seal_page(file, ib, 0x80, bid);
}

static void save_file(void)
{
	snprintf(path, sizeof path, "/tmp/test_ndb_scan.%d.ost", (int)getpid());
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(file, 1, file_size, fp), file_size);
	fclose(fp);
}

/* The scan's findings are those of the scan of the file on its own. */
static void assert_same_findings(const ndb_report *rep, const ndb_report *alone)
{
	assert_int_equal(rep->blocks_checked, alone->blocks_checked);
	assert_int_equal(rep->bad_blocks, alone->bad_blocks);
	assert_int_equal(rep->n_problems, alone->n_problems);
	for (size_t i = 0; i < rep->n_problems; i++) {
		assert_string_equal(rep->problems[i].code, alone->problems[i].code);
		assert_string_equal(rep->problems[i].message, alone->problems[i].message);
		assert_int_equal(rep->problems[i].bid, alone->problems[i].bid);
	}
}

/* Writes the file with block i (by id) at the place order[i] in offset order. */
static void build(const int order[N_BLOCKS])
{
	uint64_t at[N_BLOCKS], ib = FIRST_IB;
	for (int k = 0; k < N_BLOCKS; k++) {
		ib += gap_before[k];
		at[k] = ib;
		ib += BLK_TOTAL;
	}
	start_file(ib);
	for (int i = 0; i < N_BLOCKS; i++)
		put_block(file + BBT_IB + 24 * i, i, at[order[i]], damaged[i]);
	seal_bbt_page(BBT_IB, 2, N_BLOCKS, 0);
	save_file();
}

typedef struct {
	uint64_t bytes, reads; /* what the scan read */
} scan_reads;

/* Opens the file, reads the listed blocks as a listing would, counts `before` more bytes as read
 * by it, and runs the scan: its report must be `alone`'s. */
static scan_reads scan_after(const ndb_report *alone, uint64_t before)
{
	ndb_file nf;
	ndb_report walked, rep;
	or_error err = {0};
	ndb_data d = {0};
	memset(&walked, 0, sizeof walked);
	assert_int_equal(ndb_open(&nf, path, &walked, &err), 0);
	for (int i = 0; i < N_BLOCKS; i++)
		if (listed[i])
			assert_int_equal(ndb_read_data(&nf, block_bid(i), &d, &err), 0); /* bad CRCs are read */
	nf.bytes_read += before;
	scan_reads r = {nf.bytes_read, nf.n_reads};
	memset(&rep, 0, sizeof rep);
	assert_int_equal(ndb_check_open(&nf, &rep, &err), 0);
	r.bytes = nf.bytes_read - r.bytes;
	r.reads = nf.n_reads - r.reads;
	assert_same_findings(&rep, alone);
	ndb_data_free(&d);
	ndb_report_free(&rep);
	ndb_report_free(&walked);
	ndb_close(&nf);
	return r;
}

/* The bytes of the blocks the scan must read: those the listing did not find good. */
static uint64_t bytes_needed(void)
{
	uint64_t n = 0;
	for (int i = 0; i < N_BLOCKS; i++)
		if (!listed[i] || damaged[i])
			n += BLK_TOTAL;
	return n;
}

static void check_budget(const int order[N_BLOCKS])
{
	build(order);
	ndb_report alone;
	or_error err = {0};
	assert_int_equal(ndb_check(path, &alone, &err), 0);
	assert_int_equal(alone.bad_blocks, 2);
	/* the listing's bytes and the scan's: at most 1.2x the file */
	uint64_t budget = file_size / 100 * 120, listing;
	{
		ndb_file nf;
		ndb_report walked;
		ndb_data d = {0};
		memset(&walked, 0, sizeof walked);
		assert_int_equal(ndb_open(&nf, path, &walked, &err), 0);
		for (int i = 0; i < N_BLOCKS; i++)
			if (listed[i])
				assert_int_equal(ndb_read_data(&nf, block_bid(i), &d, &err), 0);
		listing = nf.bytes_read;
		ndb_data_free(&d);
		ndb_report_free(&walked);
		ndb_close(&nf);
	}
	/* over budget: gaps of 512 bytes at most read over, as ever */
	scan_reads least = scan_after(&alone, budget);
	assert_true(least.bytes >= bytes_needed());
	assert_true(least.reads > 2);
	/* the whole budget to spend: the two runs of blocks either side of the 40,000-byte gap, one
	 * read each */
	scan_reads most = scan_after(&alone, 0);
	assert_int_equal(most.reads, 2);
	assert_true(listing + most.bytes <= budget);
	/* and anything between */
	for (uint64_t before = 0; before <= budget; before += 256) {
		scan_reads r = scan_after(&alone, before);
		assert_true(r.bytes >= bytes_needed());
		assert_true(r.reads <= least.reads);
		assert_true(r.reads >= most.reads);
		if (listing + before + least.bytes <= budget)
			assert_true(listing + before + r.bytes <= budget);
		else
			assert_int_equal(r.bytes, least.bytes);
	}
	ndb_report_free(&alone);
	unlink(path);
}

static void blocks_in_id_order(void **state)
{
	int order[N_BLOCKS];
	for (int i = 0; i < N_BLOCKS; i++)
		order[i] = i;
	check_budget(order);
}

static void blocks_out_of_id_order(void **state)
{
	/* a fixed shuffle: the scan sorts them by offset in runs */
	static const int order[N_BLOCKS] = {7, 19, 2, 11, 0, 15, 4, 9, 13, 1, 18, 6, 3, 16, 10, 5, 12, 17, 8, 14};
	check_budget(order);
}

/* ---- on two threads ----
 *
 * 400 blocks under a B-tree of two levels (a root and twenty leaves of twenty): the scan of a file
 * the reader has open, after a listing, on two threads, finds what one thread finds, in the same
 * order: damaged blocks in both halves, some of them read by the listing. */
enum { N_BIG = 400, LEAVES = 20, LEAF_IB = 8192, BIG_IB = LEAF_IB + LEAVES * 512 };

static bool big_listed(int i) { return i % 3 == 0; }
static bool big_damaged(int i) { return i % 37 == 5 || i == 0 || i == N_BIG - 1 || i == N_BIG / 2; }

static void build_big(void)
{
	uint64_t ib = BIG_IB, at[N_BIG];
	for (int i = 0; i < N_BIG; i++) {
		ib += gap_before[i % N_BLOCKS] % 4096;
		at[i] = ib;
		ib += BLK_TOTAL;
	}
	start_file(ib);
	for (int l = 0; l < LEAVES; l++) {
		uint64_t leaf_ib = LEAF_IB + 512 * (uint64_t)l, leaf_bid = 0x10000 + 4 * (uint64_t)l;
		uint8_t *e = file + BBT_IB + 24 * l;
		put64(e, block_bid(l * 20));
		put64(e + 8, leaf_bid);
		put64(e + 16, leaf_ib);
		for (int k = 0; k < 20; k++)
			put_block(file + leaf_ib + 24 * k, l * 20 + k, at[l * 20 + k], big_damaged(l * 20 + k));
		seal_bbt_page(leaf_ib, leaf_bid, 20, 0);
	}
	seal_bbt_page(BBT_IB, 2, LEAVES, 1);
	save_file();
}

static void two_threads_find_what_one_finds(void **state)
{
	build_big();
	ndb_report alone;
	or_error err = {0};
	assert_int_equal(ndb_check(path, &alone, &err), 0);
	assert_int_equal(alone.blocks_checked, N_BIG);
	int n_damaged = 0;
	for (int i = 0; i < N_BIG; i++)
		n_damaged += big_damaged(i);
	assert_int_equal(alone.bad_blocks, n_damaged);
	uint64_t budget = file_size / 100 * 120, least = 0;
	for (int threads = 1; threads <= 2; threads++) {
		/* first over the budget: the bytes read over the shortest gaps alone (`least`) */
		for (int step = -1; step <= 9; step++) {
			uint64_t before = step < 0 ? budget : file_size / 8 * (uint64_t)step;
			ndb_file nf;
			ndb_report walked, rep;
			ndb_data d = {0};
			memset(&walked, 0, sizeof walked);
			assert_int_equal(ndb_open(&nf, path, &walked, &err), 0);
			assert_int_equal(walked.bad_pages, 0);
			for (int i = 0; i < N_BIG; i++)
				if (big_listed(i))
					assert_int_equal(ndb_read_data(&nf, block_bid(i), &d, &err), 0);
			nf.bytes_read += before;
			uint64_t read_before = nf.bytes_read, need = 0;
			for (int i = 0; i < N_BIG; i++)
				need += big_listed(i) && !big_damaged(i) ? 0 : BLK_TOTAL;
			nf.scan_threads = threads;
			memset(&rep, 0, sizeof rep);
			assert_int_equal(ndb_check_open(&nf, &rep, &err), 0);
			assert_int_equal(rep.threads, threads);
			assert_same_findings(&rep, &alone);
			/* within the budget whenever the shortest gaps alone leave room */
			uint64_t read = nf.bytes_read - read_before;
			assert_true(read >= need);
			if (step < 0 && threads == 1)
				least = read;
			else if (read_before + least <= budget)
				assert_true(read_before + read <= budget);
			ndb_data_free(&d);
			ndb_report_free(&rep);
			ndb_report_free(&walked);
			ndb_close(&nf);
		}
	}
	ndb_report_free(&alone);
	unlink(path);
}

int main(void)
{
	ndb_crypt_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocks_in_id_order),
		cmocka_unit_test(blocks_out_of_id_order),
		cmocka_unit_test(two_threads_find_what_one_finds),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(file);
	return rc;
}
