/* The .pst writer (src/pst) checked byte by byte against [MS-PST]'s structures, reading back the
 * files it writes with code of this test only: the HEADER (2.2.2.6, both CRCs, the ROOT), AMap and
 * PMap pages and, past 128 regions, FMap pages (2.2.2.7), PAGETRAILERs with their signatures and
 * CRCs (2.2.2.7.1), B-tree pages of one and two levels with BTENTRYs, BBTENTRYs and NBTENTRYs
 * (2.2.2.7.7), data blocks and BLOCKTRAILERs (2.2.2.8), XBLOCK and XXBLOCK data trees, SLBLOCK and
 * SIBLOCK subnode trees, heap-on-node pages (HNHDR, HNPAGEMAP, 2.3.1), BTH headers and records
 * (2.3.2), property contexts (2.3.3) and table contexts (TCINFO, TCOLDESC, the row index and the
 * row matrix with its CEB, 2.3.4); then the minimal PST of pst_writer: the mandatory nodes of
 * section 2.7 with their parents, and the message store's entry ids. */
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

#include "pst/pst.h"

/* ---------------------------------------------------------------- reading the file back */

typedef struct {
	uint8_t *b;
	size_t len;
	char dir[64], path[96];
} file;

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* [MS-PST] 5.3: CRC-32 with the reflected 0xEDB88320 table, no inversions (zlib's, undone). */
static uint32_t crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(0xFFFFFFFFul, p, (uInt)n) ^ 0xFFFFFFFFu; }

/* [MS-PST] 5.5: the signature of a page or block. */
static uint16_t sig(uint64_t ib, uint64_t bid)
{
	ib ^= bid;
	return (uint16_t)((uint16_t)(ib >> 16) ^ (uint16_t)ib);
}

static void new_path(file *f)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_pst.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/f.pst", f->dir);
}

static void load(file *f)
{
	FILE *fp = fopen(f->path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	f->len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f->b = malloc(f->len);
	assert_non_null(f->b);
	assert_int_equal(fread(f->b, 1, f->len, fp), f->len);
	fclose(fp);
}

static void drop(file *f)
{
	free(f->b);
	unlink(f->path);
	rmdir(f->dir);
}

static pst_ndb *open_ndb(file *f)
{
	pst_ndb *n = NULL;
	or_error err = {0};
	pst_ndb_options o = {.format = PST_FMT_PST, .noreplace = true};
	new_path(f);
	assert_int_equal(pst_ndb_open(&n, f->path, &o, &err), 0);
	return n;
}

static void finish(pst_ndb *n, file *f)
{
	or_error err = {0};
	assert_int_equal(pst_ndb_finish(n, &err), 0);
	assert_int_equal(pst_ndb_commit(n, &err), 0);
	pst_ndb_close(n);
	load(f);
}

/* A page at ib: its PAGETRAILER (ptype twice, wSig, dwCRC over the 496 bytes before, bid). */
static const uint8_t *page(const file *f, uint64_t ib, uint8_t ptype, uint64_t bid, bool signed_page)
{
	assert_true(ib + 512 <= f->len);
	const uint8_t *pg = f->b + ib, *t = pg + 496;
	assert_int_equal(t[0], ptype);
	assert_int_equal(t[1], ptype);
	assert_int_equal(le16(t + 2), signed_page ? sig(ib, bid) : 0);
	assert_int_equal(le32(t + 4), crc(pg, 496));
	assert_int_equal(le64(t + 8), bid);
	return pg;
}

/* The leaf entry of `key` in the B-tree at (ib, bid) of page type ptype, checking every page on
 * the way (entries in key order, levels descending, BTENTRY keys the first key of their child). */
static const uint8_t *bt_find(const file *f, uint8_t ptype, uint64_t ib, uint64_t bid, uint64_t key, int want_level)
{
	const uint8_t *pg = page(f, ib, ptype, bid, true);
	unsigned n = pg[488], max = pg[489], cb = pg[490], level = pg[491];
	if (want_level >= 0)
		assert_int_equal(level, want_level);
	assert_int_equal(cb, level ? 24 : ptype == 0x80 ? 24 : 32);
	assert_int_equal(max, 488 / cb);
	assert_true(n <= max);
	for (unsigned i = 1; i < n; i++)
		assert_true(le64(pg + i * cb) > le64(pg + (i - 1) * cb));
	for (unsigned i = n * cb; i < 488; i++)
		assert_int_equal(pg[i], 0);
	const uint8_t *hit = NULL;
	for (unsigned i = 0; i < n; i++)
		if (le64(pg + i * cb) <= key)
			hit = pg + i * cb;
	if (!hit)
		return NULL;
	if (level == 0)
		return le64(hit) == key ? hit : NULL;
	const uint8_t *child = f->b + le64(hit + 16);
	(void)child;
	return bt_find(f, ptype, le64(hit + 16), le64(hit + 8), key, (int)level - 1);
}

static uint64_t hdr_nbt_ib(const file *f) { return le64(f->b + 224); }
static uint64_t hdr_nbt_bid(const file *f) { return le64(f->b + 216); }
static uint64_t hdr_bbt_ib(const file *f) { return le64(f->b + 240); }
static uint64_t hdr_bbt_bid(const file *f) { return le64(f->b + 232); }

static const uint8_t *node(const file *f, uint32_t nid)
{
	return bt_find(f, 0x81, hdr_nbt_ib(f), hdr_nbt_bid(f), nid, -1);
}

/* Block bid: checked against its BBTENTRY and BLOCKTRAILER (cb, wSig, dwCRC, bid); *len its size. */
static const uint8_t *block(const file *f, uint64_t bid, size_t *len)
{
	const uint8_t *e = bt_find(f, 0x80, hdr_bbt_ib(f), hdr_bbt_bid(f), bid, -1);
	assert_non_null(e);
	uint64_t ib = le64(e + 8);
	uint16_t cb = le16(e + 16);
	size_t total = ((size_t)cb + 16 + 63) / 64 * 64;
	assert_true(le16(e + 18) >= 1); /* cRef */
	assert_true(ib % 64 == 0 && ib + total <= f->len);
	const uint8_t *t = f->b + ib + total - 16;
	assert_int_equal(le16(t), cb);
	assert_int_equal(le16(t + 2), sig(ib, bid));
	assert_int_equal(le32(t + 4), crc(f->b + ib, cb));
	assert_int_equal(le64(t + 8), bid);
	for (size_t i = cb; i < total - 16; i++)
		assert_int_equal(f->b[ib + i], 0); /* padding */
	*len = cb;
	return f->b + ib;
}

/* A node's data through its data tree, into out (cap bytes); returns the length. */
static size_t node_data(const file *f, uint64_t bid, uint8_t *out, size_t cap)
{
	size_t len;
	const uint8_t *b = block(f, bid, &len);
	if (!(bid & 2)) {
		assert_true(len <= cap);
		memcpy(out, b, len);
		return len;
	}
	assert_int_equal(b[0], 1); /* XBLOCK or XXBLOCK */
	size_t n = le16(b + 2), total = le32(b + 4), got = 0;
	assert_int_equal(len, 8 + 8 * n);
	for (size_t i = 0; i < n; i++) {
		uint64_t kid = le64(b + 8 + 8 * i);
		assert_int_equal((kid & 2) != 0, b[1] == 2); /* an XXBLOCK lists XBLOCKs, an XBLOCK data blocks */
		got += node_data(f, kid, out + got, cap - got);
	}
	assert_int_equal(got, total);
	return got;
}

/* ---------------------------------------------------------------- NDB */

static void header_maps_and_one_block(void **state)
{
	file f;
	or_error err = {0};
	pst_ndb *n = open_ndb(&f);
	uint64_t bid;
	assert_int_equal(pst_write_block(n, (const uint8_t *)"hello world", 11, false, 1, &bid, &err), 0);
	assert_int_equal(bid, 4); /* the first block id, bits 0 and 1 clear for a data block */
	assert_int_equal(pst_add_node(n, 0x21, 0, bid, 0, &err), 0);
	finish(n, &f);
	const uint8_t *h = f.b;
	/* HEADER: magic, CRCs, client magic "SM", wVer 23 (Unicode), wVerClient 19, platforms 1 */
	assert_memory_equal(h, "!BDN", 4);
	assert_int_equal(le32(h + 4), crc(h + 8, 471));
	assert_int_equal(le32(h + 524), crc(h + 8, 516));
	assert_memory_equal(h + 8, "SM", 2);
	assert_int_equal(le16(h + 10), 23);
	assert_int_equal(le16(h + 12), 19);
	assert_int_equal(h[14], 1);
	assert_int_equal(h[15], 1);
	assert_int_equal(le32(h + 44 + 4 * 1), 0x400); /* rgnid[NID_TYPE_INTERNAL]: at least 0x400 */
	/* ROOT: the file ends where its last AMap region does; the last AMap is the first one */
	assert_int_equal(le64(h + 184), f.len);
	assert_int_equal(f.len, 0x4400 + 253952);
	assert_int_equal(le64(h + 192), 0x4400);
	assert_int_equal(h[248], 2); /* fAMapValid: VALID_AMAP2 */
	for (int i = 256; i < 512; i++)
		assert_int_equal(h[i], 0xFF); /* rgbFM and rgbFP: deprecated, filled with 0xFF */
	assert_int_equal(h[512], 0x80);  /* bSentinel */
	assert_int_equal(h[513], 0);     /* bCryptMethod: none */
	assert_true(le64(h + 516) > bid); /* bidNextB */
	/* the AMap at 0x4400 and the PMap at 0x4600: unsigned, bid = ib; both pages allocated */
	const uint8_t *amap = page(&f, 0x4400, 0x84, 0x4400, false);
	assert_int_equal(amap[0], 0xFF);
	assert_int_equal(amap[1], 0xFF);
	const uint8_t *pmap = page(&f, 0x4600, 0x83, 0x4600, false);
	for (int i = 0; i < 496; i++)
		assert_int_equal(pmap[i], 0xFF);
	/* the block: 11 bytes and 16 of trailer in one 64-byte unit, marked in the AMap */
	size_t len;
	const uint8_t *b = block(&f, bid, &len);
	assert_int_equal(len, 11);
	assert_memory_equal(b, "hello world", 11);
	uint64_t unit = (uint64_t)(b - f.b - 0x4400) / 64;
	assert_true(amap[unit / 8] & (0x80 >> (unit % 8)));
	/* the node B-tree: one leaf, one NBTENTRY (nid, bidData, bidSub, nidParent, padding) */
	const uint8_t *e = node(&f, 0x21);
	assert_non_null(e);
	assert_int_equal(le64(e + 8), bid);
	assert_int_equal(le64(e + 16), 0);
	assert_int_equal(le32(e + 24), 0);
	assert_int_equal(f.b[hdr_nbt_ib(&f) + 488], 1); /* cEnt */
	assert_int_equal(f.b[hdr_bbt_ib(&f) + 491], 0); /* cLevel */
	drop(&f);
}

static void two_level_btrees(void **state)
{
	/* 15 NBTENTRYs fill a leaf exactly; 16 need a root of level 1 over two leaves; 400 blocks need
	 * 20 leaves of BBTENTRYs under one root */
	for (int count = 15; count <= 16; count++) {
		file f;
		or_error err = {0};
		pst_ndb *n = open_ndb(&f);
		for (int i = 0; i < count; i++)
			assert_int_equal(pst_add_node(n, PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x400 + i), 0, 0, 0, &err), 0);
		finish(n, &f);
		const uint8_t *root = page(&f, hdr_nbt_ib(&f), 0x81, hdr_nbt_bid(&f), true);
		assert_int_equal(root[491], count == 15 ? 0 : 1);
		assert_int_equal(root[488], count == 15 ? 15 : 2);
		if (count == 16) {
			/* BTENTRY: btkey is the first key of the child, BREF its bid and ib */
			assert_int_equal(le64(root), PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x400));
			assert_int_equal(le64(root + 24), PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x400 + 15));
		}
		for (int i = 0; i < count; i++)
			assert_non_null(node(&f, PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x400 + i)));
		assert_null(node(&f, PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x400 + count)));
		drop(&f);
	}
	file f;
	or_error err = {0};
	pst_ndb *n = open_ndb(&f);
	uint64_t bids[400];
	uint8_t data[40];
	for (int i = 0; i < 400; i++) {
		memset(data, i, sizeof data);
		assert_int_equal(pst_write_block(n, data, sizeof data, false, 1, &bids[i], &err), 0);
	}
	finish(n, &f);
	const uint8_t *root = page(&f, hdr_bbt_ib(&f), 0x80, hdr_bbt_bid(&f), true);
	assert_int_equal(root[491], 1);
	assert_int_equal(root[488], 20);
	for (int i = 0; i < 400; i++) {
		size_t len;
		const uint8_t *b = block(&f, bids[i], &len);
		assert_int_equal(len, 40);
		assert_int_equal(b[0], (uint8_t)i);
	}
	drop(&f);
}

static void data_trees(void **state)
{
	/* 20,000 bytes: three blocks of up to 8,176 under an XBLOCK; 1,022 blocks' worth: an XXBLOCK
	 * over two XBLOCKs (an XBLOCK lists at most 1,021 ids) */
	static const size_t sizes[] = {20000, 1022u * 8176u};
	for (size_t k = 0; k < 2; k++) {
		file f;
		or_error err = {0};
		pst_ndb *n = open_ndb(&f);
		size_t len = sizes[k];
		uint8_t *data = malloc(len), *back = malloc(len + 8176);
		assert_non_null(data);
		assert_non_null(back);
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)(i * 7 + i / 8176);
		uint64_t bid;
		assert_int_equal(pst_write_data(n, data, len, &bid, &err), 0);
		assert_true(bid & 2); /* an internal block */
		assert_int_equal(pst_add_node(n, 0x21, 0, bid, 0, &err), 0);
		finish(n, &f);
		size_t bl;
		const uint8_t *x = block(&f, bid, &bl);
		assert_int_equal(x[0], 1);
		assert_int_equal(x[1], k == 0 ? 1 : 2);
		assert_int_equal(le16(x + 2), k == 0 ? 3 : 2);
		assert_int_equal(le32(x + 4), len);
		if (k == 0) {
			size_t l0, l2;
			block(&f, le64(x + 8), &l0);
			block(&f, le64(x + 24), &l2);
			assert_int_equal(l0, 8176);
			assert_int_equal(l2, 20000 - 2 * 8176);
		}
		assert_int_equal(node_data(&f, bid, back, len + 8176), len);
		assert_memory_equal(back, data, len);
		free(data);
		free(back);
		drop(&f);
	}
}

static void subnode_trees(void **state)
{
	/* an SLBLOCK of SLENTRYs (nid, bidData, bidSub) sorted by nid; over 340 entries, a SIBLOCK of
	 * SIENTRYs (first nid, SLBLOCK) */
	for (size_t count = 3; count <= 341; count += 338) {
		file f;
		or_error err = {0};
		pst_ndb *n = open_ndb(&f);
		pst_subnode *s = calloc(count, sizeof *s);
		assert_non_null(s);
		for (size_t i = 0; i < count; i++)
			s[i] = (pst_subnode){PST_NID(PST_NID_TYPE_LTP, 0x100 + (uint32_t)(count - 1 - i)), 4 * (i + 100), 0};
		uint64_t bid;
		assert_int_equal(pst_write_subnodes(n, s, count, &bid, &err), 0);
		assert_int_equal(pst_add_node(n, 0x21, 0, 0, bid, &err), 0);
		finish(n, &f);
		size_t len;
		const uint8_t *b = block(&f, bid, &len);
		assert_int_equal(b[0], 2);
		assert_int_equal(b[1], count > 340 ? 1 : 0);
		if (count <= 340) {
			assert_int_equal(le16(b + 2), count);
			assert_int_equal(len, 8 + 24 * count);
			for (size_t i = 0; i < count; i++)
				assert_int_equal(le64(b + 8 + 24 * i), PST_NID(PST_NID_TYPE_LTP, 0x100 + (uint32_t)i));
			assert_int_equal(le64(b + 16), 4 * (count - 1 + 100)); /* the lowest nid was given last */
		} else {
			assert_int_equal(le16(b + 2), 2);
			assert_int_equal(le64(b + 8), PST_NID(PST_NID_TYPE_LTP, 0x100));
			assert_int_equal(le64(b + 24), PST_NID(PST_NID_TYPE_LTP, 0x100 + 340));
			size_t l1;
			const uint8_t *sl = block(&f, le64(b + 32), &l1);
			assert_int_equal(sl[0], 2);
			assert_int_equal(sl[1], 0);
			assert_int_equal(le16(sl + 2), 1);
		}
		free(s);
		drop(&f);
	}
}

static void fmap_after_128_regions(void **state)
{
	/* 129 AMap regions of data: the FMap page of region 128 is its third page (after its AMap and
	 * PMap), type 0x82, unsigned, bid = ib; and the AMap of region 128 marks all three pages */
	file f;
	or_error err = {0};
	pst_ndb *n = open_ndb(&f);
	uint8_t data[8176];
	memset(data, 0x5A, sizeof data);
	uint64_t bid, need = 0x4400ull + 129ull * 253952;
	for (uint64_t at = 0; at < need; at += 8192)
		assert_int_equal(pst_write_block(n, data, sizeof data, false, 1, &bid, &err), 0);
	finish(n, &f);
	uint64_t r128 = 0x4400ull + 128ull * 253952;
	const uint8_t *amap = page(&f, r128, 0x84, r128, false);
	assert_int_equal(amap[0], 0xFF);
	assert_int_equal(amap[1], 0xFF);
	assert_int_equal(amap[2], 0xFF);
	page(&f, r128 + 512, 0x83, r128 + 512, false);
	const uint8_t *fmap = page(&f, r128 + 1024, 0x82, r128 + 1024, false);
	/* one byte per AMap from region 128: its longest run of free 64-byte units (at most 255) */
	assert_true(fmap[0] < 255);
	assert_int_equal(le64(f.b + 192), f.len - 253952); /* ibAMapLast: the last region's AMap */
	drop(&f);
}

/* ---------------------------------------------------------------- LTP */

/* The allocation `hid` of a single-page heap: *len its size. */
static const uint8_t *hid_at(const uint8_t *heap, size_t heap_len, uint32_t hid, size_t *len)
{
	assert_int_equal(hid & 0x1F, 0); /* hidType NID_TYPE_HID */
	assert_int_equal(hid >> 16, 0);  /* page 0 */
	size_t index = (hid >> 5) & 0x7FF;
	const uint8_t *map = heap + le16(heap);
	size_t n = le16(map);
	assert_true(index >= 1 && index <= n);
	size_t from = le16(map + 4 + 2 * (index - 1)), to = le16(map + 4 + 2 * index);
	assert_true(from <= to && to <= heap_len);
	*len = to - from;
	return heap + from;
}

/* A single-page heap's HNHDR and HNPAGEMAP (allocations contiguous from offset 12, the map after
 * them at an even offset); returns hidUserRoot. */
static uint32_t check_heap(const uint8_t *heap, size_t len, uint8_t client_sig)
{
	assert_int_equal(heap[2], 0xEC);
	assert_int_equal(heap[3], client_sig);
	size_t ibHnpm = le16(heap);
	assert_true(ibHnpm % 2 == 0 && ibHnpm + 4 <= len);
	const uint8_t *map = heap + ibHnpm;
	size_t n = le16(map);
	assert_int_equal(le16(map + 2), 0); /* cFree */
	assert_int_equal(ibHnpm + 4 + 2 * (n + 1), len);
	assert_int_equal(le16(map + 4), 12); /* the first allocation follows the 12-byte HNHDR */
	for (size_t i = 0; i < n; i++)
		assert_true(le16(map + 6 + 2 * i) >= le16(map + 4 + 2 * i));
	assert_true(le16(map + 4 + 2 * n) <= ibHnpm);
	return le32(heap + 4);
}

static void property_context(void **state)
{
	file f;
	or_error err = {0};
	pst_ndb *n = open_ndb(&f);
	static const uint8_t inbox[] = {'I', 0, 'n', 0, 'b', 0, 'o', 0, 'x', 0};
	uint8_t big[5000];
	memset(big, 0x33, sizeof big);
	pst_prop p[] = {
		{.id = 0x3602, .type = PT_LONG, .num = 5},
		{.id = 0x3001, .type = PT_UNICODE, .data = inbox, .len = sizeof inbox},
		{.id = 0x0E06, .type = PT_SYSTIME, .num = 0x01D9A1B2C3D4E5F6ull},
		{.id = 0x360A, .type = PT_BOOLEAN, .num = 1},
		{.id = 0x1000, .type = PT_UNICODE, .data = big, .len = sizeof big},
		{.id = 0x0037, .type = PT_UNICODE, .data = NULL, .len = 0},
	};
	assert_int_equal(pst_write_pc(n, 0x122, 0x122, p, 6, &err), 0);
	finish(n, &f);
	const uint8_t *e = node(&f, 0x122);
	assert_non_null(e);
	assert_int_equal(le32(e + 24), 0x122); /* the root folder is its own parent */
	size_t len;
	const uint8_t *heap = block(&f, le64(e + 8), &len);
	uint32_t root = check_heap(heap, len, 0xBC);
	/* BTHHEADER: bType 0xB5, cbKey 2, cbEnt 6, no index level, then the records' allocation */
	size_t hl;
	const uint8_t *bth = hid_at(heap, len, root, &hl);
	assert_int_equal(hl, 8);
	assert_int_equal(bth[0], 0xB5);
	assert_int_equal(bth[1], 2);
	assert_int_equal(bth[2], 6);
	assert_int_equal(bth[3], 0);
	size_t rl;
	const uint8_t *rec = hid_at(heap, len, le32(bth + 4), &rl);
	assert_int_equal(rl, 6 * 8);
	/* PC BTH records (wPropId, wPropType, dwValueHnid) in property id order */
	static const uint16_t ids[] = {0x0037, 0x0E06, 0x1000, 0x3001, 0x3602, 0x360A};
	for (int i = 0; i < 6; i++)
		assert_int_equal(le16(rec + 8 * i), ids[i]);
	assert_int_equal(le32(rec + 4), 0);                    /* an empty value without allocation: HNID 0 */
	size_t vl;
	const uint8_t *v = hid_at(heap, len, le32(rec + 8 + 4), &vl); /* PtypTime: 8 bytes on the heap */
	assert_int_equal(vl, 8);
	assert_int_equal(le64(v), 0x01D9A1B2C3D4E5F6ull);
	uint32_t body = le32(rec + 16 + 4);                    /* 5,000 bytes: a subnode (NID_TYPE_LTP) */
	assert_int_equal(body & 0x1F, PST_NID_TYPE_LTP);
	v = hid_at(heap, len, le32(rec + 24 + 4), &vl);       /* the string on the heap */
	assert_int_equal(vl, sizeof inbox);
	assert_memory_equal(v, inbox, sizeof inbox);
	assert_int_equal(le32(rec + 32 + 4), 5);               /* PtypInteger32 inline */
	assert_int_equal(le32(rec + 40 + 4), 1);               /* PtypBoolean inline */
	/* the subnode tree names the body's subnode and its data */
	const uint8_t *sl = block(&f, le64(e + 16), &vl);
	assert_int_equal(sl[0], 2);
	assert_int_equal(le16(sl + 2), 1);
	assert_int_equal(le64(sl + 8), body);
	uint8_t back[5000];
	assert_int_equal(node_data(&f, le64(sl + 16), back, sizeof back), sizeof big);
	assert_memory_equal(back, big, sizeof big);
	drop(&f);
}

static void table_context(void **state)
{
	file f;
	or_error err = {0};
	pst_ndb *n = open_ndb(&f);
	static const pst_col cols[] = {{0x0E07, PT_LONG}, {0x0037, PT_UNICODE}, {0x0057, PT_BOOLEAN}, {0x0E06, PT_SYSTIME}};
	static const uint8_t hi[] = {'H', 0, 'i', 0};
	pst_tc *t;
	assert_int_equal(pst_tc_new(&t, n, cols, 4, &err), 0);
	for (uint32_t r = 0; r < 3; r++) {
		pst_cell c[4] = {
			{true, NULL, 0, 0x10 + r}, {true, hi, sizeof hi, 0}, {r != 1, NULL, 0, 1}, {true, NULL, 0, 1000 + r},
		};
		assert_int_equal(pst_tc_row(t, 0x100 * (r + 1), c, &err), 0);
	}
	assert_int_equal(pst_tc_finish(t, 0x12E, 0, NULL, &err), 0);
	finish(n, &f);
	const uint8_t *e = node(&f, 0x12E);
	assert_non_null(e);
	size_t len;
	const uint8_t *heap = block(&f, le64(e + 8), &len);
	uint32_t root = check_heap(heap, len, 0x7C);
	size_t il;
	const uint8_t *info = hid_at(heap, len, root, &il);
	/* TCINFO: bType 0x7C, cCols 6 (the row id and version added); 4- and 8-byte cells from offset 8
	 * (0x0E07 at 8, 0x0037's HNID at 12, 0x0E06 at 16), no 2-byte cells, 1-byte cells after
	 * (0x0057 at 24), the CEB at 25: rows of 26 bytes */
	assert_int_equal(il, 22 + 8 * 6);
	assert_int_equal(info[0], 0x7C);
	assert_int_equal(info[1], 6);
	assert_int_equal(le16(info + 2), 24);
	assert_int_equal(le16(info + 4), 24);
	assert_int_equal(le16(info + 6), 25);
	assert_int_equal(le16(info + 8), 26);
	assert_int_equal(le32(info + 18), 0); /* hidIndex: deprecated, 0 */
	/* TCOLDESCs sorted by tag: tag, ibData, cbData, iBit */
	static const struct { uint32_t tag; uint16_t ib; uint8_t cb, bit; } want[] = {
		{0x0037001F, 12, 4, 3}, {0x0057000B, 24, 1, 5}, {0x0E060040, 16, 8, 4},
		{0x0E070003, 8, 4, 2},  {0x67F20003, 0, 4, 0},  {0x67F30003, 4, 4, 1},
	};
	for (int c = 0; c < 6; c++) {
		const uint8_t *d = info + 22 + 8 * c;
		assert_int_equal(le32(d), want[c].tag);
		assert_int_equal(le16(d + 4), want[c].ib);
		assert_int_equal(d[6], want[c].cb);
		assert_int_equal(d[7], want[c].bit);
	}
	/* the row index: a BTH of (dwRowID, dwRowIndex) in row id order */
	size_t bl, rl;
	const uint8_t *bth = hid_at(heap, len, le32(info + 10), &bl);
	assert_int_equal(bth[0], 0xB5);
	assert_int_equal(bth[1], 4);
	assert_int_equal(bth[2], 4);
	const uint8_t *idx = hid_at(heap, len, le32(bth + 4), &rl);
	assert_int_equal(rl, 3 * 8);
	for (uint32_t r = 0; r < 3; r++) {
		assert_int_equal(le32(idx + 8 * r), 0x100 * (r + 1));
		assert_int_equal(le32(idx + 8 * r + 4), r);
	}
	/* the row matrix: on the heap while it fits one allocation */
	const uint8_t *rows = hid_at(heap, len, le32(info + 14), &rl);
	assert_int_equal(rl, 3 * 26);
	for (uint32_t r = 0; r < 3; r++) {
		const uint8_t *row = rows + 26 * r;
		assert_int_equal(le32(row), 0x100 * (r + 1));
		assert_int_equal(le32(row + 8), 0x10 + r);
		assert_int_equal(le64(row + 16), 1000 + r);
		size_t sl;
		const uint8_t *s = hid_at(heap, len, le32(row + 12), &sl);
		assert_int_equal(sl, sizeof hi);
		assert_memory_equal(s, hi, sizeof hi);
		/* the CEB: bit i (from the high bit) for the column of iBit i; row 1 lacks 0x0057 */
		assert_int_equal(row[25], r == 1 ? 0xF8 : 0xFC);
		assert_int_equal(row[24], r == 1 ? 0 : 1);
	}
	drop(&f);
}

/* ---------------------------------------------------------------- the minimal PST */

/* A property of a PC node (single-page heap): its HNID or inline value. */
static bool pc_prop(const file *f, uint32_t nid, uint16_t id, const uint8_t **val, size_t *vlen, uint32_t *raw)
{
	const uint8_t *e = node(f, nid);
	assert_non_null(e);
	size_t len, hl, rl;
	const uint8_t *heap = block(f, le64(e + 8), &len);
	const uint8_t *bth = hid_at(heap, len, check_heap(heap, len, 0xBC), &hl);
	const uint8_t *rec = hid_at(heap, len, le32(bth + 4), &rl);
	for (size_t i = 0; i < rl / 8; i++) {
		if (le16(rec + 8 * i) != id)
			continue;
		*raw = le32(rec + 8 * i + 4);
		if (val && (*raw & 0x1F) == 0 && *raw)
			*val = hid_at(heap, len, *raw, vlen);
		return true;
	}
	return false;
}

static void minimal_pst(void **state)
{
	file f;
	or_error err = {0};
	pst_writer *w = NULL;
	new_path(&f);
	pst_writer_options o = {.display_name = "rescue", .noreplace = true};
	assert_int_equal(pst_writer_open(&w, f.path, &o, &err), 0);
	assert_int_equal(pst_writer_finish(w, &err), 0);
	assert_int_equal(pst_writer_commit(w, &err), 0);
	pst_writer_free(w);
	load(&f);
	/* [MS-PST] 2.7: the message store, the name-to-id map, the table templates, the search queues,
	 * and the folders every PST has (each a PC and its hierarchy, contents and FAI contents tables):
	 * the root (0x122, its own parent), the IPM subtree, Search Root and the spam search folder
	 * under the root, Deleted Items under the IPM subtree */
	static const struct { uint32_t nid, parent; } need[] = {
		{0x21, 0}, {0x61, 0}, {0x1E1, 0}, {0x201, 0}, {0x60D, 0}, {0x60E, 0}, {0x60F, 0}, {0x610, 0},
		{0x671, 0}, {0x692, 0}, {0x6B6, 0},
		{0x122, 0x122}, {0x8022, 0x122}, {0x8042, 0x122}, {0x8062, 0x122}, {0x8082, 0x8022},
	};
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		const uint8_t *e = node(&f, need[i].nid);
		assert_non_null(e);
		assert_int_equal(le32(e + 24), need[i].parent);
		if ((need[i].nid & 0x1F) == PST_NID_TYPE_NORMAL_FOLDER)
			for (uint32_t t = 0x0D; t <= 0x0F; t++)
				assert_non_null(node(&f, (need[i].nid & ~0x1Fu) | t));
	}
	/* the store names the IPM subtree, Deleted Items and the search root by 24-byte entry ids
	 * (rgbFlags, the store's record key 0x0FF9, the folder's nid) */
	const uint8_t *rk, *v;
	size_t rkl, vl;
	uint32_t raw;
	assert_true(pc_prop(&f, 0x21, 0x0FF9, &rk, &rkl, &raw));
	assert_int_equal(rkl, 16);
	static const struct { uint16_t id; uint32_t nid; } eids[] = {{0x35E0, 0x8022}, {0x35E3, 0x8082}, {0x35E7, 0x8042}};
	for (size_t i = 0; i < 3; i++) {
		assert_true(pc_prop(&f, 0x21, eids[i].id, &v, &vl, &raw));
		assert_int_equal(vl, 24);
		assert_int_equal(le32(v), 0);
		assert_memory_equal(v + 4, rk, 16);
		assert_int_equal(le32(v + 20), eids[i].nid);
	}
	/* the root folder's hierarchy table lists its three subfolders */
	const uint8_t *e = node(&f, 0x12D);
	size_t len, il, rl, bl;
	const uint8_t *heap = block(&f, le64(e + 8), &len);
	const uint8_t *info = hid_at(heap, len, check_heap(heap, len, 0x7C), &il);
	const uint8_t *bth = hid_at(heap, len, le32(info + 10), &bl);
	const uint8_t *idx = hid_at(heap, len, le32(bth + 4), &rl);
	assert_int_equal(rl, 3 * 8);
	assert_int_equal(le32(idx), 0x8022);
	assert_int_equal(le32(idx + 8), 0x8042);
	assert_int_equal(le32(idx + 16), 0x8062);
	/* Deleted Items' content count is 0 */
	assert_true(pc_prop(&f, 0x8082, 0x3602, NULL, NULL, &raw));
	assert_int_equal(raw, 0);
	drop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_maps_and_one_block),
		cmocka_unit_test(two_level_btrees),
		cmocka_unit_test(data_trees),
		cmocka_unit_test(subnode_trees),
		cmocka_unit_test(fmap_after_128_regions),
		cmocka_unit_test(property_context),
		cmocka_unit_test(table_context),
		cmocka_unit_test(minimal_pst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
