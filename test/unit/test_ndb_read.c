/* Block reads of the NDB layer (src/ost/ndb.c). Whatever the order of the reads (in file order,
 * backwards, shuffled, over a gap and up to the end of the file), every block must come back with
 * its own bytes, and reading it reads just its bytes from the file (no read-ahead that a listing
 * of scattered blocks would refill over and over). The Unicode file is built here byte by byte:
 * two runs of ten 8,000-byte blocks (80 KB each) with 200 KB between them. */
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

enum { NBT_IB = 4096, BBT_IB = 4608, RUN1_IB = 8192, N_BLOCKS = 20, BLK_CB = 8000,
       BLK_TOTAL = (BLK_CB + 16 + 63) / 64 * 64, GAP = 200 * 1024 };

#define RUN2_IB (RUN1_IB + 10 * BLK_TOTAL + GAP)
#define FILE_SIZE (RUN2_IB + 10 * BLK_TOTAL)

static uint8_t file[FILE_SIZE];
static char path[64];

static uint64_t block_bid(int i) { return 4 * (uint64_t)(i + 1); }
static uint64_t block_ib(int i) { return (i < 10 ? RUN1_IB : RUN2_IB) + (uint64_t)(i % 10) * BLK_TOTAL; }
static uint8_t block_byte(int i, int k) { return (uint8_t)(k * 13 + i * 101 + (k >> 8)); }

static int build(void **state)
{
	put_header(file, FILE_SIZE, NBT_IB, BBT_IB);
	/* NBT leaf: one message node whose data is the first block */
	put_one_node(file, NBT_IB, 0x200024, block_bid(0), 0x2022);
	/* BBT leaf: the twenty blocks, in bid order */
	for (int i = 0; i < N_BLOCKS; i++) {
		uint8_t *e = file + BBT_IB + 24 * i;
		put64(e, block_bid(i));
		put64(e + 8, block_ib(i));
		put16(e + 16, BLK_CB);
		put16(e + 18, 1);
		uint8_t *b = file + block_ib(i);
		for (int k = 0; k < BLK_CB; k++)
			b[k] = block_byte(i, k);
		seal_block(file, block_ib(i), BLK_CB, BLK_TOTAL, block_bid(i));
	}
	file[BBT_IB + 488] = N_BLOCKS;
	file[BBT_IB + 489] = 20;
	file[BBT_IB + 490] = 24;
	seal_page(file, BBT_IB, 0x80, 2);
	snprintf(path, sizeof path, "/tmp/test_ndb_read.%d.ost", (int)getpid());
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(file, 1, sizeof file, fp), sizeof file);
	assert_int_equal(fclose(fp), 0);
	return 0;
}

static int cleanup(void **state)
{
	unlink(path);
	return 0;
}

/* Opens the file and reads the blocks in `order`; each must hold its own bytes. */
static void read_in_order(const int *order, int n)
{
	ndb_file nf;
	ndb_report rep;
	or_error err = {0};
	memset(&rep, 0, sizeof rep);
	assert_int_equal(ndb_open(&nf, path, &rep, &err), 0);
	assert_int_equal(rep.bad_pages, 0);
	uint64_t opened = nf.bytes_read;
	for (int j = 0; j < n; j++) {
		int i = order[j];
		ndb_data d = {0};
		if (ndb_read_data(&nf, block_bid(i), &d, &err) != 0) {
			print_error("block %d (read %d of %d): %s\n", i, j + 1, n, err.message);
			fail();
		}
		assert_int_equal(d.len, BLK_CB);
		for (int k = 0; k < BLK_CB; k++) {
			if (d.buf[k] != block_byte(i, k)) {
				print_error("block %d (read %d of %d): byte %d is 0x%02x, not 0x%02x\n", i, j + 1, n, k,
				            d.buf[k], block_byte(i, k));
				fail();
			}
		}
		ndb_data_free(&d);
	}
	assert_int_equal(nf.bytes_read - opened, (uint64_t)n * BLK_TOTAL);
	ndb_close(&nf);
	ndb_report_free(&rep);
}

static void in_file_order(void **state)
{
	int order[N_BLOCKS];
	for (int i = 0; i < N_BLOCKS; i++)
		order[i] = i;
	read_in_order(order, N_BLOCKS);
}

static void backwards(void **state)
{
	int order[N_BLOCKS];
	for (int i = 0; i < N_BLOCKS; i++)
		order[i] = N_BLOCKS - 1 - i;
	read_in_order(order, N_BLOCKS);
}

static void shuffled_and_repeated(void **state)
{
	/* every block three times, in an order fixed by a small generator: skips forward within a
	 * read-ahead, back into it, over the gap and back */
	int order[3 * N_BLOCKS];
	for (int i = 0; i < 3 * N_BLOCKS; i++)
		order[i] = i % N_BLOCKS;
	uint32_t x = 12345;
	for (int i = 3 * N_BLOCKS - 1; i > 0; i--) {
		x = x * 1103515245u + 12345u;
		int j = (int)((x >> 8) % (uint32_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	read_in_order(order, 3 * N_BLOCKS);
}

static void every_other_then_the_rest(void **state)
{
	int order[N_BLOCKS], n = 0;
	for (int i = 0; i < N_BLOCKS; i += 2)
		order[n++] = i;
	for (int i = 1; i < N_BLOCKS; i += 2)
		order[n++] = i;
	read_in_order(order, n);
}

/* Files listed at once in one process (a batch's jobs) share half the memory available for their
 * prefetch (ndb_prefetch.c): with room for one file and a byte short of two, the second of two
 * open files is not prefetched, and a third is once the first is closed; with room for both, both
 * are. Blocks read while the prefetch runs come back whole. */
static void prefetch_shares_half_the_memory(void **state)
{
	char avail[32];
	ndb_file a, b, c;
	ndb_report ra, rb, rc;
	or_error err = {0};
	memset(&ra, 0, sizeof ra);
	memset(&rb, 0, sizeof rb);
	memset(&rc, 0, sizeof rc);
	snprintf(avail, sizeof avail, "%d", 2 * (2 * FILE_SIZE - 1));
	setenv("OSTRECON_TEST_MEMAVAILABLE", avail, 1);
	assert_int_equal(ndb_open_prefetched(&a, path, &ra, &err), 0);
	assert_non_null(a.prefetch);
	assert_int_equal(ndb_open_prefetched(&b, path, &rb, &err), 0);
	assert_null(b.prefetch);
	ndb_data d = {0};
	assert_int_equal(ndb_read_data(&a, block_bid(N_BLOCKS - 1), &d, &err), 0);
	assert_int_equal(d.len, BLK_CB);
	assert_int_equal(d.buf[BLK_CB - 1], block_byte(N_BLOCKS - 1, BLK_CB - 1));
	ndb_close(&a);
	assert_int_equal(ndb_open_prefetched(&c, path, &rc, &err), 0);
	assert_non_null(c.prefetch);
	ndb_close(&b);
	ndb_close(&c);
	snprintf(avail, sizeof avail, "%d", 4 * FILE_SIZE);
	setenv("OSTRECON_TEST_MEMAVAILABLE", avail, 1);
	assert_int_equal(ndb_open_prefetched(&a, path, &ra, &err), 0);
	assert_int_equal(ndb_open_prefetched(&b, path, &rb, &err), 0);
	assert_non_null(a.prefetch);
	assert_non_null(b.prefetch);
	ndb_close(&a);
	ndb_close(&b);
	unsetenv("OSTRECON_TEST_MEMAVAILABLE");
	ndb_data_free(&d);
	ndb_report_free(&ra);
	ndb_report_free(&rb);
	ndb_report_free(&rc);
}

int main(void)
{
	log_set_level(LOG_QUIET);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_file_order),
		cmocka_unit_test(backwards),
		cmocka_unit_test(shuffled_and_repeated),
		cmocka_unit_test(every_other_then_the_rest),
		cmocka_unit_test(prefetch_shares_half_the_memory),
	};
	return cmocka_run_group_tests(tests, build, cleanup);
}
