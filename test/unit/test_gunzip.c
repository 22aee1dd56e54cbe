/* gzip response bodies (src/pull/gunzip.c): a body inflated whole, fed in one piece or byte by
 * byte; bodies the whole-body path must not take (a trailer that lies about the size, several
 * members, a compressed body over the kept bound) inflated as a stream to the same bytes; damaged
 * and truncated bodies refused; a small body that inflates past the cap refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "pull/internal.h"

typedef struct {
	unsigned char *data;
	size_t len, cap;
	int calls;
} sink_buf;

static void sink(void *ctx, const char *data, size_t len)
{
	sink_buf *b = ctx;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = realloc(b->data, b->cap);
		assert_non_null(b->data);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->calls++;
}

/* Text that compresses like a page: repeated JSON with varying numbers. */
static unsigned char *make_text(size_t len)
{
	unsigned char *t = malloc(len);
	assert_non_null(t);
	unsigned x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		t[i] = i % 37 == 0 ? (unsigned char)('0' + (x >> 16) % 10) : (unsigned char)"{\"id\":\"AAkALg\",\"v\":1}"[i % 22];
	}
	return t;
}

static unsigned char *gzip_of(const unsigned char *in, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, len) + 64;
	unsigned char *out = malloc(cap);
	assert_non_null(out);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Feeds `gz` in pieces of `piece` bytes; returns feed's or finish's first nonzero result. */
static int run(pull_gunzip *g, const unsigned char *gz, size_t len, size_t piece, sink_buf *out)
{
	pull_gunzip_reset(g);
	memset(out, 0, sizeof *out);
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		int rc = pull_gunzip_feed(g, gz + off, n, sink, out);
		if (rc)
			return rc;
	}
	return pull_gunzip_finish(g, sink, out);
}

static void test_whole_and_pieces(void **state)
{
	(void)state;
	size_t n = 300000, zn;
	unsigned char *text = make_text(n), *gz = gzip_of(text, n, &zn);
	pull_gunzip *g = NULL;
	assert_int_equal(pull_gunzip_new(&g, 1u << 30), 0);
	size_t pieces[] = {zn, 4096, 7, 1};
	for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
		sink_buf out;
		assert_int_equal(run(g, gz, zn, pieces[i], &out), 0);
		assert_int_equal(out.len, n);
		assert_memory_equal(out.data, text, n);
		assert_int_equal(out.calls, 1); /* inflated whole */
		free(out.data);
	}
	/* an empty body is no body: nothing comes out, nothing fails */
	sink_buf out;
	assert_int_equal(run(g, gz, 0, 1, &out), 0);
	assert_int_equal(out.len, 0);
	pull_gunzip_free(g);
	free(text);
	free(gz);
}

static void test_trailer_lies_and_members(void **state)
{
	(void)state;
	size_t n = 200000, zn;
	unsigned char *text = make_text(n), *gz = gzip_of(text, n, &zn);
	pull_gunzip *g = NULL;
	assert_int_equal(pull_gunzip_new(&g, 1u << 30), 0);
	sink_buf out;
	/* ISIZE understated, and overstated past the one-piece bound: libdeflate checks ISIZE, so
	 * these bodies are damaged gzip (refused either way), never an overrun */
	unsigned char *lie = malloc(zn);
	memcpy(lie, gz, zn);
	lie[zn - 4] = 10, lie[zn - 3] = lie[zn - 2] = lie[zn - 1] = 0;
	assert_int_not_equal(run(g, lie, zn, zn, &out), 0);
	free(out.data);
	lie[zn - 4] = lie[zn - 3] = lie[zn - 2] = lie[zn - 1] = 0xff;
	assert_int_not_equal(run(g, lie, zn, 999, &out), 0);
	free(out.data);
	free(lie);
	/* two members one after the other: the text twice, through the stream */
	unsigned char *two = malloc(2 * zn);
	memcpy(two, gz, zn);
	memcpy(two + zn, gz, zn);
	assert_int_equal(run(g, two, 2 * zn, 5000, &out), 0);
	assert_int_equal(out.len, 2 * n);
	assert_memory_equal(out.data, text, n);
	assert_memory_equal(out.data + n, text, n);
	free(out.data);
	free(two);
	pull_gunzip_free(g);
	free(text);
	free(gz);
}

static void test_large_body_streams(void **state)
{
	(void)state;
	/* random bytes do not compress: over 16 MiB compressed, the body is inflated as it comes */
	size_t n = (17u << 20), zn;
	unsigned char *text = malloc(n);
	assert_non_null(text);
	unsigned x = 7;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		text[i] = (unsigned char)(x >> 16);
	}
	unsigned char *gz = gzip_of(text, n, &zn);
	assert_true(zn > (16u << 20));
	pull_gunzip *g = NULL;
	assert_int_equal(pull_gunzip_new(&g, 1u << 30), 0);
	sink_buf out;
	assert_int_equal(run(g, gz, zn, 256 << 10, &out), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, text, n);
	assert_true(out.calls > 1);
	free(out.data);
	/* cut short inside the stream: refused at the end */
	assert_int_not_equal(run(g, gz, zn - 100, 256 << 10, &out), 0);
	free(out.data);
	pull_gunzip_free(g);
	free(text);
	free(gz);
}

static void test_damaged_and_bombs(void **state)
{
	(void)state;
	size_t n = 100000, zn;
	unsigned char *text = make_text(n), *gz = gzip_of(text, n, &zn);
	pull_gunzip *g = NULL;
	assert_int_equal(pull_gunzip_new(&g, 50000), 0); /* a cap below the text */
	sink_buf out;
	assert_int_not_equal(run(g, gz, zn, zn, &out), 0);
	assert_true(out.len <= 50000);
	free(out.data);
	assert_int_not_equal(run(g, gz, zn, 333, &out), 0);
	free(out.data);
	pull_gunzip_free(g);
	assert_int_equal(pull_gunzip_new(&g, 1u << 30), 0);
	/* truncated, a flipped byte in the deflate data, not gzip at all, a lone header */
	assert_int_not_equal(run(g, gz, zn - 1, zn, &out), 0);
	free(out.data);
	unsigned char *bad = malloc(zn);
	memcpy(bad, gz, zn);
	bad[zn / 2] ^= 0x55;
	assert_int_not_equal(run(g, bad, zn, 1000, &out), 0);
	free(out.data);
	assert_int_not_equal(run(g, (const unsigned char *)"{\"value\":[]} this is plain text", 31, 31, &out), 0);
	free(out.data);
	assert_int_not_equal(run(g, gz, 10, 10, &out), 0);
	free(out.data);
	/* and the decoder is still good for the next body */
	assert_int_equal(run(g, gz, zn, zn, &out), 0);
	assert_int_equal(out.len, n);
	free(out.data);
	free(bad);
	pull_gunzip_free(g);
	free(text);
	free(gz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_and_pieces),
		cmocka_unit_test(test_trailer_lies_and_members),
		cmocka_unit_test(test_large_body_streams),
		cmocka_unit_test(test_damaged_and_bombs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
