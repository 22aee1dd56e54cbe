/* The LTP layer (src/ost/ltp.c) on heaps built here byte by byte: heap ids and their bounds,
 * property values of every stored form (inline, on the heap, multi-valued, strings with surrogate
 * pairs and broken ones), B-trees on the heap with an index level and with an empty leaf (a fuzz
 * finding), and a table's row ids in row order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <iconv.h>

#include "ost/ltp.h"

static const ndb_format fmt = {FMT_UNICODE, "unicode", 512, 496, 488, 8, 16, 64, 8192};
static ndb_file nf = {.f = &fmt, .fd = -1};

typedef struct {
	uint8_t b[4096];
	size_t len;
	uint16_t ends[64];
	size_t n;
} page;

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static void page_init(page *pg, uint8_t client_sig)
{
	memset(pg, 0, sizeof *pg);
	pg->b[2] = 0xEC;
	pg->b[3] = client_sig;
	pg->len = 12;
}

/* Adds an allocation; returns its heap id (page 0). */
static uint32_t page_alloc(page *pg, const void *data, size_t len)
{
	memcpy(pg->b + pg->len, data, len);
	pg->len += len;
	pg->ends[pg->n++] = (uint16_t)pg->len;
	return (uint32_t)pg->n << 5;
}

/* Writes the page map and makes a one-block heap of it, with `root` as the user root. */
static void page_finish(page *pg, uint32_t root, ltp_heap *h)
{
	if (pg->len & 1)
		pg->len++;
	put16(pg->b, (uint16_t)pg->len);
	if (pg->b[2] == 0xEC) /* the first page: its header holds the user root */
		put32(pg->b + 4, root);
	uint8_t *m = pg->b + pg->len;
	put16(m, (uint16_t)pg->n);
	put16(m + 2, 0);
	put16(m + 4, pg->b[2] == 0xEC ? 12 : 2);
	for (size_t i = 0; i < pg->n; i++)
		put16(m + 6 + 2 * i, pg->ends[i]);
	pg->len += 6 + 2 * pg->n;
	memset(h, 0, sizeof *h);
	h->nf = &nf;
	h->nid = 0x200024;
	h->client_sig = pg->b[3];
	h->user_root = root;
	h->data.buf = pg->b;
	h->data.len = pg->len;
	static size_t off0 = 0;
	h->data.off = &off0;
	h->data.n = 1;
}

static void heap_ids_are_held_to_the_heap(void **state)
{
	page pg;
	ltp_heap h;
	page_init(&pg, 0xBC);
	uint32_t a = page_alloc(&pg, "abc", 3), b = page_alloc(&pg, "", 0);
	page_finish(&pg, a, &h);
	const uint8_t *p;
	size_t len;
	or_error err = {0};
	assert_int_equal(ltp_hid(&h, a, &p, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(ltp_hid(&h, b, &p, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_int_equal(ltp_hid(&h, 0, &p, &len, &err), OR_ERR_FORMAT);           /* index 0 */
	assert_int_equal(ltp_hid(&h, 3 << 5, &p, &len, &err), OR_ERR_FORMAT);      /* past the last allocation */
	assert_int_equal(ltp_hid(&h, 1u << 16 | 1 << 5, &p, &len, &err), OR_ERR_FORMAT); /* page 1 of 1 */
	assert_int_equal(ltp_hid(&h, a | 1, &p, &len, &err), OR_ERR_FORMAT);       /* a node id, not a heap id */
	assert_non_null(strstr(err.message, "not a heap id"));
	put16(pg.b, 4000); /* the page map outside the page */
	assert_int_equal(ltp_hid(&h, a, &p, &len, &err), OR_ERR_FORMAT);
}

/* A property context of `n` records (id, type, value-or-hnid). */
static uint32_t pc_records(page *pg, const uint16_t *ids, const uint16_t *types, const uint32_t *vals, size_t n)
{
	uint8_t recs[64 * 8];
	for (size_t i = 0; i < n; i++) {
		put16(recs + 8 * i, ids[i]);
		put16(recs + 8 * i + 2, types[i]);
		put32(recs + 8 * i + 4, vals[i]);
	}
	return page_alloc(pg, recs, n * 8);
}

/* Two heap pages in the 4 KiB format: a heap id of page 1 resolves written either way (14/13 bits
 * as libpff documents the format, 11/16 as [MS-PST] gives it). */
static void heap_ids_of_a_second_page_in_the_4k_format(void **state)
{
	static const ndb_format fmt4k = {FMT_4K, "unicode-4k", 4096, 4072, 4056, 8, 24, 512, 65536};
	static ndb_file nf4k = {.f = &fmt4k, .fd = -1};
	page p0, p1;
	ltp_heap h0, h1;
	page_init(&p0, 0xBC);
	page_alloc(&p0, "first", 5);
	page_finish(&p0, 1 << 5, &h0);
	memset(&p1, 0, sizeof p1);
	p1.len = 2; /* a later page starts with its map offset only */
	page_alloc(&p1, "xx", 2);
	page_alloc(&p1, "second", 6);
	page_finish(&p1, 0, &h1);
	uint8_t both[8192];
	memcpy(both, p0.b, p0.len);
	memcpy(both + p0.len, p1.b, p1.len);
	size_t offs[2] = {0, p0.len};
	ltp_heap h = h0;
	h.nf = &nf4k;
	h.data.buf = both;
	h.data.len = p0.len + p1.len;
	h.data.off = offs;
	h.data.n = 2;
	const uint8_t *p;
	size_t len;
	or_error err = {0};
	assert_int_equal(ltp_hid(&h, 1u << 19 | 2 << 5, &p, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(p, "second", 6);
	assert_int_equal(ltp_hid(&h, 1u << 16 | 2 << 5, &p, &len, &err), 0);
	assert_memory_equal(p, "second", 6);
	assert_int_equal(ltp_hid(&h, 1 << 5, &p, &len, &err), 0);
	assert_memory_equal(p, "first", 5);
	assert_int_equal(ltp_hid(&h, 2u << 19 | 1 << 5, &p, &len, &err), OR_ERR_FORMAT);
	(void)h1;
}

static void property_values_in_every_form(void **state)
{
	page pg;
	ltp_heap h;
	page_init(&pg, 0xBC);
	uint8_t hdr[8] = {0xB5, 2, 6, 0, 0, 0, 0, 0};
	uint32_t hid_hdr = page_alloc(&pg, hdr, 8);
	/* "Hé😀" in UTF-16LE: H, é, a surrogate pair, and a lone high surrogate before a NUL */
	const uint8_t subj[] = {'H', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 0x01, 0xD8, 'x', 0, 0, 0, 'y', 0};
	uint32_t hid_subj = page_alloc(&pg, subj, sizeof subj);
	const uint8_t time[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint32_t hid_time = page_alloc(&pg, time, 8);
	uint8_t mv[4 + 12 + 3];
	put32(mv, 3);
	put32(mv + 4, 16);
	put32(mv + 8, 16);
	put32(mv + 12, 18);
	memcpy(mv + 16, "xyz", 3);
	uint32_t hid_mv = page_alloc(&pg, mv, sizeof mv);
	const uint8_t ansi[] = {'c', 'a', 'f', 0xE9, 0x80, 0};
	uint32_t hid_ansi = page_alloc(&pg, ansi, sizeof ansi);
	const uint16_t ids[] = {0x0017, 0x001A, 0x0037, 0x0039, 0x0E07, 0x0E1B, 0x1035, 0x36D8, 0x3FFF};
	const uint16_t types[] = {0x0003, 0x001E, 0x001F, 0x0040, 0x0003, 0x000B, 0x001F, 0x1102, 0x0102};
	const uint32_t vals[] = {2, hid_ansi, hid_subj, hid_time, 0x11223344, 1, 0x41, hid_mv, 0};
	uint32_t leaf = pc_records(&pg, ids, types, vals, 9);
	put32(hdr + 4, leaf);
	memcpy(pg.b + 12, hdr, 8); /* the header was allocated first, at the start of the page */
	page_finish(&pg, hid_hdr, &h);

	const uint16_t want[] = {0x0017, 0x001A, 0x0037, 0x0039, 0x0E07, 0x0E1B, 0x1035, 0x36D8};
	st_props props = {0};
	or_error err = {0};
	assert_int_equal(ltp_pc_read(&h, want, 8, &props, &err), 0);
	int64_t v;
	assert_true(st_props_int(&props, 0x0017, &v));
	assert_int_equal(v, 2);
	assert_true(st_props_int(&props, 0x0E07, &v));
	assert_int_equal(v, 0x11223344);
	assert_true(st_props_int(&props, 0x0E1B, &v));
	assert_int_equal(v, 1);
	assert_int_equal(st_props_get(&props, 0x0E1B)->len, 1);
	assert_string_equal((const char *)st_props_get(&props, 0x0037)->data, "H\xC3\xA9\xF0\x9F\x98\x80\xEF\xBF\xBDx");
	assert_string_equal((const char *)st_props_get(&props, 0x001A)->data, "caf\xC3\xA9\xE2\x82\xAC");
	assert_int_equal(st_props_time(&props, 0x0039), 0x0807060504030201);
	/* 0x1035 names subnode 0x41, which this node does not have: the value is left out */
	assert_null(st_props_get(&props, 0x1035));
	/* 0x3FFF was not asked for */
	assert_null(st_props_get(&props, 0x3FFF));
	/* the multi-valued binary: three values in their places, the first empty */
	size_t k = 0;
	const char *expect[] = {"", "xy", "z"};
	for (size_t i = 0; i < props.n; i++) {
		if (props.p[i].id != 0x36D8)
			continue;
		assert_true(k < 3);
		assert_int_equal(props.p[i].len, strlen(expect[k]));
		assert_memory_equal(props.p[i].data, expect[k], props.p[i].len);
		k++;
	}
	assert_int_equal(k, 3);
	st_props_clear(&props);
	if (h.ansi) /* the heap's buffers are this test's own: close only the converter */
		iconv_close((iconv_t)h.ansi);
	h.ansi = NULL;

	/* a table heap is not a property context */
	h.client_sig = 0x7C;
	assert_int_equal(ltp_pc_read(&h, want, 8, &props, &err), OR_ERR_FORMAT);
	assert_int_equal(props.n, 0);
}

/* The fuzz finding: a damaged file stored the message class as binary (no NUL), and the reader
 * took it for a string. Strings are now taken from string types only. */
static void a_string_property_of_another_type_is_not_a_string(void **state)
{
	st_props props = {0};
	uint8_t *bin = malloc(3), *str = malloc(4);
	assert_non_null(bin);
	assert_non_null(str);
	memcpy(bin, "IPM", 3);
	memcpy(str, "abc", 4);
	st_props_add(&props, 0x001A, 0x0102, bin, 3);
	st_props_add(&props, 0x0037, 0x001F, str, 3);
	assert_null(st_props_str(&props, 0x001A));
	assert_string_equal(st_props_str(&props, 0x0037), "abc");
	assert_null(st_props_str(&props, 0x1035));
	st_props_clear(&props);
	assert_int_equal(props.n, 0);
}

static void bth_index_level_and_empty_leaf(void **state)
{
	page pg;
	ltp_heap h;
	page_init(&pg, 0xB5);
	uint8_t hdr[8] = {0xB5, 4, 2, 1, 0, 0, 0, 0};
	uint32_t hid_hdr = page_alloc(&pg, hdr, 8);
	uint8_t l1[12], l2[6];
	put32(l1, 10); put16(l1 + 4, 1); put32(l1 + 6, 20); put16(l1 + 10, 2);
	put32(l2, 30); put16(l2 + 4, 3);
	uint32_t h1 = page_alloc(&pg, l1, sizeof l1), h2 = page_alloc(&pg, l2, sizeof l2);
	uint8_t idx[16];
	put32(idx, 10); put32(idx + 4, h1); put32(idx + 8, 30); put32(idx + 12, h2);
	uint32_t hidx = page_alloc(&pg, idx, sizeof idx);
	uint32_t empty = page_alloc(&pg, "", 0);
	put32(pg.b + 12 + 4, hidx);
	page_finish(&pg, hid_hdr, &h);
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t n;
	or_error err = {0};
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cb_key, 4);
	assert_int_equal(cb_ent, 2);
	assert_int_equal(ndb_le32(rec), 10);
	assert_int_equal(ndb_le32(rec + 6), 20);
	assert_int_equal(ndb_le32(rec + 12), 30);
	assert_int_equal(ndb_le16(rec + 16), 3);
	free(rec);
	/* the fuzz finding: a leaf allocation of zero bytes is a B-tree without records */
	pg.b[12 + 3] = 0;
	put32(pg.b + 12 + 4, empty);
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), 0);
	assert_int_equal(n, 0);
	free(rec);
	/* a header that is not one */
	pg.b[12] = 0xB4;
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), OR_ERR_FORMAT);
	/* more levels than a heap can hold */
	pg.b[12] = 0xB5;
	pg.b[12 + 3] = 9;
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), OR_ERR_FORMAT);
}

/* Index entries that all lead to the same leaf would multiply the records without bound: a B-tree
 * with more record bytes than its heap holds is refused. */
static void bth_with_a_shared_leaf_is_refused(void **state)
{
	page pg;
	ltp_heap h;
	page_init(&pg, 0xB5);
	uint8_t hdr[8] = {0xB5, 4, 8, 1, 0, 0, 0, 0};
	uint32_t hid_hdr = page_alloc(&pg, hdr, 8);
	uint8_t leaf[12 * 8] = {0};
	uint32_t hl = page_alloc(&pg, leaf, sizeof leaf);
	uint8_t idx[40 * 8];
	for (int i = 0; i < 40; i++) {
		put32(idx + 8 * i, 0);
		put32(idx + 8 * i + 4, hl);
	}
	uint32_t hidx = page_alloc(&pg, idx, sizeof idx);
	put32(pg.b + 12 + 4, hidx);
	page_finish(&pg, hid_hdr, &h);
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t n;
	or_error err = {0};
	assert_true(40 * sizeof leaf > h.data.len);
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), OR_ERR_FORMAT);
	assert_non_null(strstr(err.message, "more records than the heap holds"));
	assert_null(rec);
	/* one entry to the leaf is fine */
	put16(pg.b + pg.ends[1] + 0, 0); /* (keys are not checked for order) */
	size_t map = ndb_le16(pg.b);
	put16(pg.b + map + 6 + 2 * 2, (uint16_t)(pg.ends[1] + 8)); /* the index allocation now holds one entry */
	assert_int_equal(ltp_bth_records(&h, hid_hdr, &rec, &n, &cb_key, &cb_ent, &err), 0);
	assert_int_equal(n, 8);
	free(rec);
}

/* UTF-16LE to UTF-8 one code unit at a time, as the reader converted strings before it took ASCII
 * four characters at a time: the reference for the strings the fast path converts. */
static size_t plain_utf8(const uint8_t *p, size_t len, char *o)
{
	size_t n = len / 2, k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8);
		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
			uint32_t d = (uint32_t)(p[2 * i + 2] | p[2 * i + 3] << 8);
			if (d >= 0xDC00 && d < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
				i++;
			} else {
				c = 0xFFFD;
			}
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD;
		}
		if (c < 0x80) {
			o[k++] = (char)c;
		} else if (c < 0x800) {
			o[k++] = (char)(0xC0 | c >> 6);
			o[k++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			o[k++] = (char)(0xE0 | c >> 12);
			o[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
			o[k++] = (char)(0x80 | (c & 0x3F));
		} else {
			o[k++] = (char)(0xF0 | c >> 18);
			o[k++] = (char)(0x80 | ((c >> 12) & 0x3F));
			o[k++] = (char)(0x80 | ((c >> 6) & 0x3F));
			o[k++] = (char)(0x80 | (c & 0x3F));
		}
	}
	o[k] = '\0';
	return k;
}

/* A property context of n strings (the UTF-16LE bytes at str + i * stride, len[i] of them), with
 * ids 0x3000 + i into ids, on one page: *hid_hdr its BTH header; returns its leaf's heap id. */
static uint32_t strings_pc(page *pg, ltp_heap *h, const uint8_t *str, size_t stride, const size_t *len, size_t n,
                           uint16_t *ids, uint32_t *hid_hdr)
{
	page_init(pg, 0xBC);
	uint8_t hdr[8] = {0xB5, 2, 6, 0, 0, 0, 0, 0};
	*hid_hdr = page_alloc(pg, hdr, 8);
	uint16_t types[64];
	uint32_t vals[64];
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		ids[i] = (uint16_t)(0x3000 + i);
		types[i] = 0x001F;
		vals[i] = page_alloc(pg, str + i * stride, len[i]);
	}
	uint32_t leaf = pc_records(pg, ids, types, vals, n);
	put32(hdr + 4, leaf);
	memcpy(pg->b + 12, hdr, 8);
	page_finish(pg, *hid_hdr, h);
	return leaf;
}

/* Strings of every mix (ASCII runs of each length before and after a NUL, an odd byte, non-ASCII,
 * surrogate pairs and lone halves at each place of a group of four) come out as the plain
 * conversion gives them; with more values than the list's block holds (some in it, some
 * malloc'd), read from a one-leaf B-tree (in place) and from one with an index level (copied), the
 * same list; a value moved out of the list is a copy of its own. */
static void strings_as_the_plain_conversion(void **state)
{
	uint32_t x = 2024;
	for (int round = 0; round < 200; round++) {
		page pg;
		ltp_heap h;
		enum { N = 24 };
		uint8_t str[N][90];
		size_t len[N];
		uint16_t ids[N];
		uint32_t hid_hdr;
		for (int i = 0; i < N; i++) {
			x = x * 1103515245u + 12345u;
			len[i] = (x >> 8) % 90;
			for (size_t k = 0; k + 1 < len[i]; k += 2) {
				x = x * 1103515245u + 12345u;
				unsigned r = (x >> 16) % 64;
				uint16_t c = r < 40 ? (uint16_t)(' ' + (x >> 8) % 95)                  /* ASCII */
				           : r < 44 ? 0                                                /* NUL */
				           : r < 50 ? (uint16_t)(0x80 + (x >> 8) % 0x780)              /* 2 bytes */
				           : r < 55 ? (uint16_t)(0x800 + (x >> 8) % 0xD000)            /* 3 bytes */
				           : r < 60 ? (uint16_t)(0xD800 + (x >> 8) % 0x400)            /* high half */
				                    : (uint16_t)(0xDC00 + (x >> 8) % 0x400);           /* low half */
				put16(str[i] + k, c);
			}
			if (len[i] & 1)
				str[i][len[i] - 1] = 'z';
		}
		uint32_t leaf = strings_pc(&pg, &h, str[0], sizeof str[0], len, N, ids, &hid_hdr);
		st_props props = {0}, moved = {0};
		or_error err = {0};
		assert_int_equal(ltp_pc_read(&h, ids, N, &props, &err), 0);
		assert_int_equal(props.n, N);
		size_t in_block = 0;
		for (int i = 0; i < N; i++) {
			char want[90 * 2 + 1];
			size_t n = plain_utf8(str[i], len[i], want);
			const st_prop *p = st_props_get(&props, ids[i]);
			assert_non_null(p);
			assert_int_equal(p->len, n);
			assert_string_equal((const char *)p->data, want);
			in_block += props.block && p->data >= props.block && p->data < props.block + ST_PROPS_BLOCK;
		}
		assert_true(in_block > 0);
		/* the same records under an index level: read through ltp_bth_records */
		uint8_t idx[6];
		put16(idx, ids[0]);
		put32(idx + 2, leaf);
		page pg2 = pg;
		ltp_heap h2;
		pg2.len = 12 + 8;
		for (size_t i = 0; i < pg.n; i++)
			pg2.len = pg.ends[i];
		pg2.n = pg.n;
		uint32_t hid_idx = page_alloc(&pg2, idx, sizeof idx);
		uint8_t hdr2[8] = {0xB5, 2, 6, 1, 0, 0, 0, 0};
		put32(hdr2 + 4, hid_idx);
		memcpy(pg2.b + 12, hdr2, 8);
		page_finish(&pg2, hid_hdr, &h2);
		st_props again = {0};
		assert_int_equal(ltp_pc_read(&h2, ids, N, &again, &err), 0);
		assert_int_equal(again.n, props.n);
		for (size_t i = 0; i < props.n; i++) {
			assert_int_equal(again.p[i].id, props.p[i].id);
			assert_int_equal(again.p[i].len, props.p[i].len);
			assert_memory_equal(again.p[i].data, props.p[i].data, props.p[i].len + 1);
		}
		st_props_clear(&again);
		/* moved out, then the list freed: the moved value is whole (ASan: no use after free) */
		assert_int_equal(st_props_move_one(&moved, &props, 0), 0);
		st_props_clear(&props);
		char want[90 * 2 + 1];
		assert_string_equal((const char *)moved.p[0].data, (plain_utf8(str[0], len[0], want), want));
		st_props_clear(&moved);
	}
	/* the list's block filled to its last byte by eight strings of 127 characters, so that the
	 * strings after it are malloc'd to their exact size (the sanitizer build sees a byte written
	 * past it): a NUL at each place of a group of four, with characters after it */
	page pg;
	ltp_heap h;
	enum { FILL = ST_PROPS_BLOCK / 128, N = FILL + 4 };
	uint16_t ids[N];
	uint32_t hid_hdr;
	uint8_t str[N][254];
	size_t len[N];
	for (int i = 0; i < N; i++) {
		len[i] = i < FILL ? 254 : 2 * 24;
		for (size_t k = 0; k < len[i] / 2; k++)
			put16(str[i] + 2 * k, (uint16_t)(i < FILL || (int)k != i - FILL ? 'a' + (k + (size_t)i) % 26 : 0));
	}
	strings_pc(&pg, &h, str[0], sizeof str[0], len, N, ids, &hid_hdr);
	st_props props = {0};
	or_error err = {0};
	assert_int_equal(ltp_pc_read(&h, ids, N, &props, &err), 0);
	assert_int_equal(props.n, N);
	assert_int_equal(props.used, ST_PROPS_BLOCK);
	for (int i = 0; i < N; i++) {
		char want[254 * 2 + 1];
		size_t n = plain_utf8(str[i], len[i], want);
		assert_int_equal(props.p[i].len, n);
		assert_int_equal(n, i < FILL ? 127 : (size_t)(i - FILL));
		assert_string_equal((const char *)props.p[i].data, want);
	}
	st_props_clear(&props);
}

static void table_rows_in_row_order(void **state)
{
	page pg;
	ltp_heap h;
	page_init(&pg, 0x7C);
	uint8_t info[22] = {0x7C, 0};
	uint32_t hid_info = page_alloc(&pg, info, sizeof info);
	uint8_t hdr[8] = {0xB5, 4, 4, 0, 0, 0, 0, 0};
	uint32_t hid_hdr = page_alloc(&pg, hdr, 8);
	uint8_t rows[24];
	put32(rows, 100); put32(rows + 4, 2);
	put32(rows + 8, 200); put32(rows + 12, 0);
	put32(rows + 16, 300); put32(rows + 20, 1);
	uint32_t hid_rows = page_alloc(&pg, rows, sizeof rows);
	put32(pg.b + 12 + 10, hid_hdr);          /* TCINFO.hidRowIndex */
	put32(pg.b + 12 + 22 + 4, hid_rows);     /* BTH root */
	page_finish(&pg, hid_info, &h);
	uint32_t *ids = NULL;
	size_t n;
	or_error err = {0};
	assert_int_equal(ltp_tc_rows(&h, &ids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 200);
	assert_int_equal(ids[1], 300);
	assert_int_equal(ids[2], 100);
	free(ids);
	h.client_sig = 0xBC;
	assert_int_equal(ltp_tc_rows(&h, &ids, &n, &err), OR_ERR_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_ids_are_held_to_the_heap),
		cmocka_unit_test(heap_ids_of_a_second_page_in_the_4k_format),
		cmocka_unit_test(property_values_in_every_form),
		cmocka_unit_test(a_string_property_of_another_type_is_not_a_string),
		cmocka_unit_test(bth_index_level_and_empty_leaf),
		cmocka_unit_test(bth_with_a_shared_leaf_is_refused),
		cmocka_unit_test(table_rows_in_row_order),
		cmocka_unit_test(strings_as_the_plain_conversion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
