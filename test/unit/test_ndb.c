/* The NDB integrity scan (src/ost/ndb_check.c): the [MS-PST] CRC on known values, and the scan on
 * a small Unicode file built here byte by byte (clean, a flipped data byte, a loop, a block outside
 * the file, a cut file), run on its own and on the reader's open file after a listing read the
 * message (the same report; a block the listing found good is not read again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "ost/ndb.h"
#include "ndb_bytes.h"

/* ---- the CRC ---- */

static void crc_known_values(void **state)
{
	/* CRC-32 with the reflected 0xEDB88320 table, initial value 0, no final inversion. The standard
	 * CRC-32 of "123456789" is 0xCBF43926 (initial and final 0xFFFFFFFF); this one, worked out
	 * with python's zlib as zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF, is 0x2DFD2D88. */
	const uint8_t check[] = "123456789";
	assert_int_equal(ndb_crc(0, check, 9), 0x2DFD2D88u);
	assert_int_equal(ndb_crc(0, check, 0), 0);
	uint8_t zero[496] = {0};
	assert_int_equal(ndb_crc(0, zero, sizeof zero), 0); /* why a zeroed page needs its ptype checked */
	uint8_t seq[256];
	for (int i = 0; i < 256; i++)
		seq[i] = (uint8_t)i;
	assert_int_equal(ndb_crc(0, seq, sizeof seq), 0x2493092Bu);
}

static void crc_is_zlib_crc_without_the_inversions(void **state)
{
	/* zlib's crc32(c, ...) inverts c on the way in and the result on the way out: starting it from
	 * 0xFFFFFFFF and inverting its result leaves the bare register, which is the MS-PST CRC. */
	uint8_t buf[1000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t n = 0; n <= sizeof buf; n += 37) {
		uint32_t z = (uint32_t)crc32(0xFFFFFFFFul, buf, (uInt)n) ^ 0xFFFFFFFFu;
		assert_int_equal(ndb_crc(0, buf, n), z);
	}
	/* and it chains: the CRC of a+b from the CRC of a */
	assert_int_equal(ndb_crc(ndb_crc(0, buf, 300), buf + 300, 700), ndb_crc(0, buf, 1000));
}

/* ---- a small Unicode file ---- */

enum { NBT_IB = 4096, BBT_IB = 4608, BLK_IB = 5120, BLK_CB = 100, BLK_TOTAL = 128,
       FILE_SIZE = BLK_IB + BLK_TOTAL, MSG_NID = 0x200024, FOLDER_NID = 0x2022 };

typedef struct {
	uint8_t b[FILE_SIZE];
	char path[64];
} mini;

static void build(mini *m)
{
	memset(m->b, 0, sizeof m->b);
	put_header(m->b, FILE_SIZE, NBT_IB, BBT_IB);
	/* NBT leaf: one message node whose data is block 4 */
	uint8_t *e = m->b + NBT_IB;
	put64(e, MSG_NID);
	put64(e + 8, 4);
	put64(e + 16, 0);
	put32(e + 24, FOLDER_NID);
	m->b[NBT_IB + 488] = 1;
	m->b[NBT_IB + 489] = 15;
	m->b[NBT_IB + 490] = 32;
	seal_page(m->b, NBT_IB, 0x81, 1);
	/* BBT leaf: block 4 */
	e = m->b + BBT_IB;
	put64(e, 4);
	put64(e + 8, BLK_IB);
	put16(e + 16, BLK_CB);
	put16(e + 18, 1);
	m->b[BBT_IB + 488] = 1;
	m->b[BBT_IB + 489] = 20;
	m->b[BBT_IB + 490] = 24;
	seal_page(m->b, BBT_IB, 0x80, 2);
	/* the block */
	for (int i = 0; i < BLK_CB; i++)
		m->b[BLK_IB + i] = (uint8_t)(i * 7 + 1);
	seal_block(m->b, BLK_IB, BLK_CB, BLK_TOTAL, 4);
}

static void save(mini *m, size_t len)
{
	snprintf(m->path, sizeof m->path, "/tmp/test_ndb.%d.pst", (int)getpid());
	FILE *fp = fopen(m->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(m->b, 1, len, fp), len);
	fclose(fp);
}

/* The scan of a file the reader has open, after the reader read the message's data (as a listing
 * would): the same report as the scan of the file on its own. *read_again: the bytes the scan read. */
static void scan_open(mini *m, const ndb_report *alone, uint64_t *read_again)
{
	ndb_file nf;
	ndb_report walked, rep;
	or_error err = {0};
	ndb_data d = {0};
	memset(&walked, 0, sizeof walked);
	assert_int_equal(ndb_open(&nf, m->path, &walked, &err), 0);
	ndb_nbt_ent e;
	if (ndb_find_node(&nf, MSG_NID, &e, NULL))
		ndb_read_data(&nf, e.data, &d, &err); /* fails on a damaged block: the scan says why */
	uint64_t before = nf.bytes_read;
	memset(&rep, 0, sizeof rep);
	assert_int_equal(ndb_check_open(&nf, &rep, &err), 0);
	*read_again = nf.bytes_read - before;
	assert_int_equal(rep.checked, alone->checked);
	assert_int_equal(rep.pages_checked, alone->pages_checked);
	assert_int_equal(rep.blocks_checked, alone->blocks_checked);
	assert_int_equal(rep.bad_pages, alone->bad_pages);
	assert_int_equal(rep.bad_blocks, alone->bad_blocks);
	assert_int_equal(rep.n_problems, alone->n_problems);
	for (size_t i = 0; i < rep.n_problems; i++) {
		assert_string_equal(rep.problems[i].code, alone->problems[i].code);
		assert_string_equal(rep.problems[i].message, alone->problems[i].message);
		assert_int_equal(rep.problems[i].offset, alone->problems[i].offset);
		assert_int_equal(rep.problems[i].nid, alone->problems[i].nid);
	}
	/* the walk's own report is left as it was */
	assert_int_equal(walked.blocks_checked, 0);
	ndb_data_free(&d);
	ndb_report_free(&rep);
	ndb_report_free(&walked);
	ndb_close(&nf);
}

static void scan(mini *m, size_t len, ndb_report *rep)
{
	or_error err = {0};
	uint64_t read_again;
	save(m, len);
	assert_int_equal(ndb_check(m->path, rep, &err), 0);
	assert_true(rep->checked);
	assert_string_equal(rep->format, "unicode");
	scan_open(m, rep, &read_again);
	unlink(m->path);
}

static void block_read_by_the_listing_is_not_read_again(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	or_error err = {0};
	uint64_t read_again;
	build(m);
	save(m, FILE_SIZE);
	assert_int_equal(ndb_check(m->path, &rep, &err), 0);
	scan_open(m, &rep, &read_again);
	assert_int_equal(read_again, 0);
	ndb_report_free(&rep);

	/* a block whose CRC is wrong is read again by the scan, which reports it */
	m->b[BLK_IB + 42] ^= 0x10;
	save(m, FILE_SIZE);
	assert_int_equal(ndb_check(m->path, &rep, &err), 0);
	assert_int_equal(rep.bad_blocks, 1);
	scan_open(m, &rep, &read_again);
	assert_int_equal(read_again, BLK_TOTAL);
	unlink(m->path);
	ndb_report_free(&rep);
	free(m);
}

static void clean_file_has_no_problem(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.pages_checked, 3); /* header, NBT leaf, BBT leaf */
	assert_int_equal(rep.blocks_checked, 1);
	assert_int_equal(rep.bad_pages + rep.bad_blocks, 0);
	assert_int_equal(rep.n_problems, 0);
	ndb_report_free(&rep);
	free(m);
}

static void flipped_data_byte_is_a_bad_crc_of_the_node(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	m->b[BLK_IB + 42] ^= 0x10;
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.bad_blocks, 1);
	assert_int_equal(rep.n_problems, 1);
	assert_string_equal(rep.problems[0].code, "bad_crc");
	assert_int_equal(rep.problems[0].nid, MSG_NID);
	assert_int_equal(rep.problems[0].parent, FOLDER_NID);
	assert_int_equal(rep.problems[0].bid, 4);
	ndb_report_free(&rep);
	free(m);
}

static void wrong_trailer_bid_is_bad_trailer(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	put64(m->b + BLK_IB + BLK_TOTAL - 8, 8);
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.n_problems, 1);
	assert_string_equal(rep.problems[0].code, "bad_trailer");
	ndb_report_free(&rep);
	free(m);
}

static void page_loop_is_reported_not_followed(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	/* the NBT root becomes a branch whose only entry is itself */
	uint8_t *pg = m->b + NBT_IB;
	memset(pg, 0, 512);
	put64(pg, MSG_NID);
	put64(pg + 8, 1);
	put64(pg + 16, NBT_IB);
	pg[488] = 1;
	pg[489] = 20;
	pg[490] = 24;
	pg[491] = 1;
	seal_page(m->b, NBT_IB, 0x81, 1);
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.bad_pages, 1);
	assert_string_equal(rep.problems[0].code, "bad_page");
	assert_int_equal(rep.blocks_checked, 1);
	ndb_report_free(&rep);
	free(m);
}

static void block_outside_the_file_is_not_read(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	put64(m->b + BBT_IB + 8, (uint64_t)1 << 40);
	seal_page(m->b, BBT_IB, 0x80, 2);
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.bad_blocks, 1);
	assert_string_equal(rep.problems[0].code, "bad_trailer");
	ndb_report_free(&rep);
	free(m);
}

static void bad_page_crc_and_cut_file(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	m->b[BBT_IB + 3] ^= 1; /* inside the BBT leaf's entries, CRC left as it was */
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.bad_pages, 1);
	assert_string_equal(rep.problems[0].code, "bad_crc");
	assert_int_equal(rep.blocks_checked, 0); /* nothing under a bad page is trusted */
	ndb_report_free(&rep);

	build(m);
	scan(m, BBT_IB + 100, &rep); /* cut inside the BBT page: the header says more */
	assert_int_equal(rep.bad_pages, 2);
	assert_string_equal(rep.problems[0].code, "bad_page");
	ndb_report_free(&rep);
	free(m);
}

static void bad_header_crc_is_reported_and_the_walk_goes_on(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	build(m);
	m->b[300] ^= 0x40; /* inside the CRC-covered header, CRCs left as they were */
	scan(m, FILE_SIZE, &rep);
	assert_int_equal(rep.bad_pages, 1);
	assert_int_equal(rep.problems[0].what, NDB_HEADER);
	assert_string_equal(rep.problems[0].code, "bad_crc");
	assert_int_equal(rep.blocks_checked, 1);
	ndb_report_free(&rep);
	free(m);
}

static void unknown_version_is_not_checked(void **state)
{
	mini *m = malloc(sizeof *m);
	ndb_report rep;
	or_error err = {0};
	build(m);
	put16(m->b + 10, 99);
	seal_header(m->b);
	save(m, FILE_SIZE);
	assert_int_equal(ndb_check(m->path, &rep, &err), 0);
	unlink(m->path);
	assert_false(rep.checked);
	assert_non_null(rep.skipped);
	assert_int_equal(rep.n_problems, 0);
	ndb_report_free(&rep);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_known_values),
		cmocka_unit_test(crc_is_zlib_crc_without_the_inversions),
		cmocka_unit_test(clean_file_has_no_problem),
		cmocka_unit_test(flipped_data_byte_is_a_bad_crc_of_the_node),
		cmocka_unit_test(wrong_trailer_bid_is_bad_trailer),
		cmocka_unit_test(page_loop_is_reported_not_followed),
		cmocka_unit_test(block_outside_the_file_is_not_read),
		cmocka_unit_test(bad_page_crc_and_cut_file),
		cmocka_unit_test(bad_header_crc_is_reported_and_the_walk_goes_on),
		cmocka_unit_test(unknown_version_is_not_checked),
		cmocka_unit_test(block_read_by_the_listing_is_not_read_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
