/* ostwrite NDB layer: blocks with trailers, data trees (XBLOCK/XXBLOCK), subnode blocks (SLBLOCK),
 * the node and block B-trees, allocation maps and the header ([MS-PST] 2.2). Blocks are streamed to
 * the file as they are made; only the B-tree entries stay in memory. */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PTYPE_BBT 0x80
#define PTYPE_NBT 0x81
#define PTYPE_PMAP 0x83
#define PTYPE_AMAP 0x84

/* ---- buffers ---- */

int ow_buf_reserve(struct ow_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return 0;
	if (b->len + extra > OW_BUF_MAX)
		return -1;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	void *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int ow_buf_put(struct ow_buf *b, const void *p, size_t n)
{
	if (ow_buf_reserve(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int ow_buf_zero(struct ow_buf *b, size_t n)
{
	if (ow_buf_reserve(b, n) < 0)
		return -1;
	memset(b->p + b->len, 0, n);
	b->len += n;
	return 0;
}

void ow_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void ow_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void ow_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int ow_buf_u8(struct ow_buf *b, uint8_t v) { return ow_buf_put(b, &v, 1); }

int ow_buf_u16(struct ow_buf *b, uint16_t v)
{
	uint8_t t[2];
	ow_put16(t, v);
	return ow_buf_put(b, t, 2);
}

int ow_buf_u32(struct ow_buf *b, uint32_t v)
{
	uint8_t t[4];
	ow_put32(t, v);
	return ow_buf_put(b, t, 4);
}

int ow_buf_u64(struct ow_buf *b, uint64_t v)
{
	uint8_t t[8];
	ow_put64(t, v);
	return ow_buf_put(b, t, 8);
}

void ow_buf_free(struct ow_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- [MS-PST] 5.3: CRC-32 (reflected 0xEDB88320, initial 0, no final xor) and 5.5 signature ---- */

static uint32_t crc_table[256];

uint32_t ow_crc(const uint8_t *p, size_t n)
{
	if (!crc_table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
			crc_table[i] = c;
		}
	}
	uint32_t c = 0;
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c;
}

static uint16_t compute_sig(uint64_t ib, uint64_t bid)
{
	ib ^= bid;
	return (uint16_t)((uint16_t)(ib >> 16) ^ (uint16_t)ib);
}

/* ---- file and space ---- */

int ow_file_open(struct ow_file *f, const char *path, enum ow_format format, struct fx_error *err)
{
	memset(f, 0, sizeof(*f));
	f->err = err;
	f->format = format;
	if (format == OW_OST4K) {
		f->page = 4096;
		f->align = 512;
		f->trailer = 24;
		f->bt_area = 4056;
		f->amap_first = 0x22000;
		f->amap_unit = 512;
		f->amap_cover = (uint64_t)4072 * 8 * 512;
	} else {
		f->page = 512;
		f->align = 64;
		f->trailer = 16;
		f->bt_area = 488;
		f->amap_first = 0x4400;
		f->amap_unit = 64;
		f->amap_cover = (uint64_t)496 * 8 * 64;
	}
	f->data_block_max = OW_BLOCK_DATA_MAX;
	f->next_bid = 4;
	f->next_pbid = 1;
	/* the first map pages sit right after the header area */
	f->cursor = f->amap_first + f->page + (format == OW_OST4K ? 0 : f->page);
	f->fp = fopen(path, "w+b");
	if (!f->fp) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot create", path);
		return -1;
	}
	return 0;
}

void ow_file_close(struct ow_file *f)
{
	if (f->fp)
		fclose(f->fp);
	free(f->allocmap);
	free(f->bbt);
	free(f->nbt);
	memset(f, 0, sizeof(*f));
}

static int mark_alloc(struct ow_file *f, uint64_t ib, uint64_t len)
{
	size_t last = (size_t)((ib + len + f->amap_unit - 1) / f->amap_unit);
	if (last > f->allocmap_bits) {
		size_t bits = f->allocmap_bits ? f->allocmap_bits : 65536;
		while (bits < last)
			bits *= 2;
		uint8_t *p = realloc(f->allocmap, bits / 8);
		if (!p)
			return -1;
		memset(p + f->allocmap_bits / 8, 0, (bits - f->allocmap_bits) / 8);
		f->allocmap = p;
		f->allocmap_bits = bits;
	}
	for (size_t i = (size_t)(ib / f->amap_unit); i < last; i++)
		f->allocmap[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return 0;
}

/* Room for len bytes aligned to al, never over a map page (every amap_cover bytes). */
static int alloc_space(struct ow_file *f, uint64_t len, uint32_t al, uint64_t *ib)
{
	for (;;) {
		uint64_t at = (f->cursor + al - 1) / al * al;
		uint64_t region = (at - f->amap_first) / f->amap_cover;
		uint64_t start = f->amap_first + region * f->amap_cover;
		/* each region opens with its AMap page, and every 8th with a PMap too (512 only) */
		uint64_t maps = f->page * (f->format != OW_OST4K && region % 8 == 0 ? 2u : 1u);
		if (at < start + maps) {
			f->cursor = start + maps;
			continue;
		}
		if (at + len <= start + f->amap_cover) {
			*ib = at;
			f->cursor = at + len;
			return mark_alloc(f, at, len);
		}
		f->cursor = start + f->amap_cover;
	}
}

static int write_at(struct ow_file *f, uint64_t ib, const void *p, size_t n)
{
	if (fseeko(f->fp, (off_t)ib, SEEK_SET) != 0 || fwrite(p, 1, n, f->fp) != n) {
		snprintf(f->err->msg, sizeof(f->err->msg), "write error at offset %llu",
			 (unsigned long long)ib);
		return -1;
	}
	return 0;
}

static int add_bbt(struct ow_file *f, uint64_t bid, uint64_t ib, uint16_t cb, uint16_t cref)
{
	if (f->n_bbt == f->cap_bbt) {
		size_t cap = f->cap_bbt ? f->cap_bbt * 2 : 1024;
		void *p = realloc(f->bbt, cap * sizeof(*f->bbt));
		if (!p)
			return -1;
		f->bbt = p;
		f->cap_bbt = cap;
	}
	f->bbt[f->n_bbt++] = (struct ow_bbt_entry){.bid = bid, .ib = ib, .cb = cb, .cref = cref};
	return 0;
}

int ow_add_node(struct ow_file *f, uint32_t nid, uint32_t parent, uint64_t bid_data, uint64_t bid_sub)
{
	if (f->n_nbt == f->cap_nbt) {
		size_t cap = f->cap_nbt ? f->cap_nbt * 2 : 1024;
		void *p = realloc(f->nbt, cap * sizeof(*f->nbt));
		if (!p)
			return -1;
		f->nbt = p;
		f->cap_nbt = cap;
	}
	f->nbt[f->n_nbt++] = (struct ow_nbt_entry){nid, parent, bid_data, bid_sub};
	uint32_t type = nid & 0x1F, index = nid >> 5;
	if (index >= f->nid_hwm[type])
		f->nid_hwm[type] = index + 1;
	return 0;
}

/* ---- blocks ---- */

int ow_write_block(struct ow_file *f, const uint8_t *data, size_t len, int internal, uint16_t cref,
		   uint64_t *bid)
{
	uint8_t *zbuf = NULL;
	const uint8_t *stored = data;
	size_t cb = len;
	uint8_t *blk = NULL;
	uint64_t ib;
	int rc = -1;
	if (len > OW_BLOCK_MAX)
		return -1;
	/* Outlook 2013+ deflates data blocks (zlib stream); a block that would not shrink stays raw */
	if (f->format == OW_OST4K && !internal && len > 0) {
		uLongf zl = compressBound((uLong)len);
		zbuf = malloc(zl);
		if (!zbuf)
			return -1;
		if (compress2(zbuf, &zl, data, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK && zl < len) {
			stored = zbuf;
			cb = zl;
		}
	}
	size_t total = (cb + f->trailer + f->align - 1) / f->align * f->align;
	blk = calloc(1, total);
	if (!blk)
		goto done;
	*bid = f->next_bid | (internal ? 2u : 0u);
	f->next_bid += 4;
	if (alloc_space(f, total, f->align, &ib) < 0)
		goto done;
	memcpy(blk, stored, cb);
	uint8_t *t = blk + total - f->trailer;
	ow_put16(t, (uint16_t)cb);
	ow_put16(t + 2, compute_sig(ib, *bid));
	ow_put32(t + 4, ow_crc(stored, cb));
	ow_put64(t + 8, *bid);
	if (f->format == OW_OST4K) {
		ow_put16(t + 16, 2); /* seen as 2 in Outlook 2013 files; meaning unknown */
		ow_put16(t + 18, (uint16_t)len); /* inflated size: equal to cb when not compressed */
	}
	if (write_at(f, ib, blk, total) < 0 || add_bbt(f, *bid, ib, (uint16_t)cb, cref) < 0)
		goto done;
	rc = 0;
done:
	free(zbuf);
	free(blk);
	return rc;
}

/* An XBLOCK (level 1) or XXBLOCK (level 2) over child block ids. */
static int write_xblock(struct ow_file *f, int level, const uint64_t *bids, size_t n, uint32_t total,
			uint64_t *bid)
{
	struct ow_buf b = {0};
	int rc = -1;
	if (ow_buf_u8(&b, 1) < 0 || ow_buf_u8(&b, (uint8_t)level) < 0 || ow_buf_u16(&b, (uint16_t)n) < 0 ||
	    ow_buf_u32(&b, total) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (ow_buf_u64(&b, bids[i]) < 0)
			goto done;
	rc = ow_write_block(f, b.p, b.len, 1, 2, bid);
done:
	ow_buf_free(&b);
	return rc;
}

#define XBLOCK_MAX ((OW_BLOCK_DATA_MAX - 8) / 8)

/* Tops a list of data block ids with an XBLOCK, or XBLOCKs under an XXBLOCK. */
static int write_tree(struct ow_file *f, const uint64_t *bids, const uint32_t *sizes, size_t n,
		      uint64_t *bid)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sizes[i];
	if (n == 1) {
		*bid = bids[0];
		return 0;
	}
	if (total > UINT32_MAX || n > XBLOCK_MAX * XBLOCK_MAX)
		return -1;
	if (n <= XBLOCK_MAX)
		return write_xblock(f, 1, bids, n, (uint32_t)total, bid);
	size_t nx = (n + XBLOCK_MAX - 1) / XBLOCK_MAX;
	uint64_t *xb = malloc(nx * sizeof(*xb));
	int rc = -1;
	if (!xb)
		return -1;
	for (size_t k = 0; k < nx; k++) {
		size_t from = k * XBLOCK_MAX, cnt = n - from < XBLOCK_MAX ? n - from : XBLOCK_MAX;
		uint64_t sub = 0;
		for (size_t i = 0; i < cnt; i++)
			sub += sizes[from + i];
		if (write_xblock(f, 1, bids + from, cnt, (uint32_t)sub, &xb[k]) < 0)
			goto done;
	}
	rc = write_xblock(f, 2, xb, nx, (uint32_t)total, bid);
done:
	free(xb);
	return rc;
}

int ow_write_data(struct ow_file *f, const uint8_t *data, size_t len, uint64_t *bid)
{
	size_t per = f->data_block_max, n = (len + per - 1) / per;
	uint64_t *bids = NULL;
	uint32_t *sizes = NULL;
	int rc = -1;
	*bid = 0;
	if (len == 0)
		return 0;
	bids = malloc(n * sizeof(*bids));
	sizes = malloc(n * sizeof(*sizes));
	if (!bids || !sizes)
		goto done;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * per;
		sizes[i] = (uint32_t)(len - off < per ? len - off : per);
		if (ow_write_block(f, data + off, sizes[i], 0, n == 1 ? 2 : 1, &bids[i]) < 0)
			goto done;
	}
	rc = write_tree(f, bids, sizes, n, bid);
done:
	free(bids);
	free(sizes);
	return rc;
}

int ow_write_chunks(struct ow_file *f, struct ow_buf *chunks, size_t n, uint64_t *bid)
{
	uint64_t *bids = malloc((n ? n : 1) * sizeof(*bids));
	uint32_t *sizes = malloc((n ? n : 1) * sizeof(*sizes));
	int rc = -1;
	if (!bids || !sizes)
		goto done;
	for (size_t i = 0; i < n; i++) {
		sizes[i] = (uint32_t)chunks[i].len;
		if (ow_write_block(f, chunks[i].p, chunks[i].len, 0, n == 1 ? 2 : 1, &bids[i]) < 0)
			goto done;
	}
	rc = n ? write_tree(f, bids, sizes, n, bid) : 0;
done:
	free(bids);
	free(sizes);
	return rc;
}

static int cmp_sub(const void *a, const void *b)
{
	const struct ow_subnode *x = a, *y = b;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

#define SLBLOCK_MAX ((OW_BLOCK_DATA_MAX - 8) / 24)

int ow_write_subnodes(struct ow_file *f, struct ow_subnode *s, size_t n, uint64_t *bid)
{
	struct ow_buf b = {0};
	int rc = -1;
	*bid = 0;
	if (n == 0)
		return 0;
	if (n > SLBLOCK_MAX) {
		snprintf(f->err->msg, sizeof(f->err->msg), "more than %u subnodes in one node",
			 (unsigned)SLBLOCK_MAX);
		return -1;
	}
	qsort(s, n, sizeof(*s), cmp_sub);
	if (ow_buf_u8(&b, 2) < 0 || ow_buf_u8(&b, 0) < 0 || ow_buf_u16(&b, (uint16_t)n) < 0 ||
	    ow_buf_u32(&b, 0) < 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (ow_buf_u64(&b, s[i].nid) < 0 || ow_buf_u64(&b, s[i].bid_data) < 0 ||
		    ow_buf_u64(&b, s[i].bid_sub) < 0)
			goto done;
	rc = ow_write_block(f, b.p, b.len, 1, 2, bid);
done:
	ow_buf_free(&b);
	return rc;
}

/* ---- pages ---- */

/* Fills the page trailer (and CRC) of a page of f->page bytes at ib. */
static int write_page(struct ow_file *f, uint8_t *pg, uint8_t ptype, uint64_t ib, uint64_t bid)
{
	size_t body = f->page == 4096 ? 4072 : 496;
	uint8_t *t = pg + body;
	t[0] = ptype;
	t[1] = ptype;
	ow_put16(t + 2, (ptype == PTYPE_BBT || ptype == PTYPE_NBT) ? compute_sig(ib, bid) : 0);
	ow_put32(t + 4, ow_crc(pg, body));
	ow_put64(t + 8, bid);
	return write_at(f, ib, pg, f->page);
}

/* One level of a B-tree: entries (ent bytes each) cut into pages; returns each page's first key. */
struct bt_level {
	uint64_t *keys, *ibs, *bids;
	size_t n;
};

static int write_bt_level(struct ow_file *f, uint8_t ptype, int level, const uint8_t *ents,
			  size_t n, size_t ent, struct bt_level *out, uint64_t *leaf_ib)
{
	size_t per = f->bt_area / ent;
	size_t pages = n ? (n + per - 1) / per : 1;
	uint8_t *pg = malloc(f->page);
	int rc = -1;
	memset(out, 0, sizeof(*out));
	out->keys = calloc(pages, 8);
	out->ibs = calloc(pages, 8);
	out->bids = calloc(pages, 8);
	if (!pg || !out->keys || !out->ibs || !out->bids)
		goto done;
	for (size_t p = 0; p < pages; p++) {
		size_t from = p * per, cnt = n - from < per ? n - from : per;
		if (n == 0)
			cnt = 0;
		memset(pg, 0, f->page);
		memcpy(pg, ents + from * ent, cnt * ent);
		uint8_t *m = pg + f->bt_area;
		if (f->page == 4096) {
			ow_put16(m, (uint16_t)cnt);
			ow_put16(m + 2, (uint16_t)per);
			m[4] = (uint8_t)ent;
			m[5] = (uint8_t)level;
		} else {
			m[0] = (uint8_t)cnt;
			m[1] = (uint8_t)per;
			m[2] = (uint8_t)ent;
			m[3] = (uint8_t)level;
		}
		uint64_t ib, bid = f->next_pbid++;
		if (alloc_space(f, f->page, f->page, &ib) < 0)
			goto done;
		out->keys[p] = 0;
		for (int k = 7; k >= 0 && cnt; k--)
			out->keys[p] = out->keys[p] << 8 | ents[from * ent + (size_t)k];
		out->ibs[p] = ib;
		out->bids[p] = bid;
		if (leaf_ib && level == 0 && p == pages - 1)
			*leaf_ib = ib;
		if (write_page(f, pg, ptype, ib, bid) < 0)
			goto done;
	}
	out->n = pages;
	rc = 0;
done:
	free(pg);
	return rc;
}

static void free_level(struct bt_level *l)
{
	free(l->keys);
	free(l->ibs);
	free(l->bids);
	memset(l, 0, sizeof(*l));
}

/* Bulk-loads a B-tree from sorted leaf entries; returns its root page. */
static int write_btree(struct ow_file *f, uint8_t ptype, const uint8_t *leaf, size_t n, size_t ent,
		       uint64_t *root_ib, uint64_t *root_bid, uint64_t *leaf_ib)
{
	struct bt_level lv;
	uint8_t *ents = NULL;
	int level = 0, rc = -1;
	if (write_bt_level(f, ptype, 0, leaf, n, ent, &lv, leaf_ib) < 0)
		goto done;
	while (lv.n > 1) {
		/* BTENTRY: btkey (8), BREF (bid 8, ib 8) */
		free(ents);
		ents = malloc(lv.n * 24);
		if (!ents)
			goto done;
		for (size_t i = 0; i < lv.n; i++) {
			ow_put64(ents + i * 24, lv.keys[i]);
			ow_put64(ents + i * 24 + 8, lv.bids[i]);
			ow_put64(ents + i * 24 + 16, lv.ibs[i]);
		}
		size_t cnt = lv.n;
		free_level(&lv);
		if (write_bt_level(f, ptype, ++level, ents, cnt, 24, &lv, NULL) < 0)
			goto done;
	}
	*root_ib = lv.ibs[0];
	*root_bid = lv.bids[0];
	rc = 0;
done:
	free_level(&lv);
	free(ents);
	return rc;
}

static int cmp_nbt(const void *a, const void *b)
{
	const struct ow_nbt_entry *x = a, *y = b;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

static int write_btrees(struct ow_file *f)
{
	uint8_t *ents = NULL;
	int rc = -1;
	qsort(f->nbt, f->n_nbt, sizeof(*f->nbt), cmp_nbt);
	for (size_t i = 1; i < f->n_nbt; i++) {
		if (f->nbt[i].nid == f->nbt[i - 1].nid) {
			snprintf(f->err->msg, sizeof(f->err->msg), "node 0x%x written twice", f->nbt[i].nid);
			return -1;
		}
	}
	ents = malloc((f->n_nbt + 1) * 32);
	if (!ents)
		return -1;
	for (size_t i = 0; i < f->n_nbt; i++) {
		uint8_t *e = ents + i * 32;
		ow_put64(e, f->nbt[i].nid);
		ow_put64(e + 8, f->nbt[i].bid_data);
		ow_put64(e + 16, f->nbt[i].bid_sub);
		ow_put32(e + 24, f->nbt[i].parent);
		ow_put32(e + 28, 0);
	}
	if (write_btree(f, PTYPE_NBT, ents, f->n_nbt, 32, &f->nbt_root_ib, &f->nbt_root_bid,
			&f->nbt_leaf_ib) < 0)
		goto done;
	free(ents);
	/* the block tree is written last, so it holds no entry for its own pages: pages are not blocks */
	ents = malloc((f->n_bbt + 1) * 24);
	if (!ents)
		return -1;
	for (size_t i = 0; i < f->n_bbt; i++) {
		uint8_t *e = ents + i * 24;
		ow_put64(e, f->bbt[i].bid);
		ow_put64(e + 8, f->bbt[i].ib);
		ow_put16(e + 16, f->bbt[i].cb);
		ow_put16(e + 18, f->bbt[i].cref);
		ow_put32(e + 20, 0);
	}
	rc = write_btree(f, PTYPE_BBT, ents, f->n_bbt, 24, &f->bbt_root_ib, &f->bbt_root_bid,
			 &f->bbt_leaf_ib);
done:
	free(ents);
	return rc;
}

/* AMaps (and PMaps in 512-byte files) for every region up to the end of the file. */
static int write_maps(struct ow_file *f, uint64_t *free_bytes)
{
	size_t body = f->page == 4096 ? 4072 : 496;
	uint8_t *pg = malloc(f->page);
	int rc = -1;
	uint64_t eof = f->cursor;
	*free_bytes = 0;
	if (!pg)
		return -1;
	for (uint64_t r = 0; f->amap_first + r * f->amap_cover < eof; r++) {
		uint64_t ib = f->amap_first + r * f->amap_cover;
		int has_pmap = f->format != OW_OST4K && r % 8 == 0;
		memset(pg, 0, f->page);
		/* the map pages themselves are allocated */
		if (mark_alloc(f, ib, f->page * (has_pmap ? 2u : 1u)) < 0)
			goto done;
		size_t first = (size_t)(ib / f->amap_unit);
		for (size_t i = 0; i < body * 8; i++) {
			size_t bit = first + i;
			int used = bit < f->allocmap_bits && (f->allocmap[bit / 8] & (0x80 >> (bit % 8)));
			if (used)
				pg[i / 8] |= (uint8_t)(0x80 >> (i % 8));
			else if (ib + (uint64_t)i * f->amap_unit < eof)
				*free_bytes += f->amap_unit;
		}
		if (write_page(f, pg, PTYPE_AMAP, ib, ib) < 0)
			goto done;
		f->last_amap = ib;
		if (has_pmap) {
			/* PMaps are deprecated: all pages marked allocated, as [MS-PST] asks */
			memset(pg, 0xFF, f->page);
			if (write_page(f, pg, PTYPE_PMAP, ib + f->page, ib + f->page) < 0)
				goto done;
		}
	}
	rc = 0;
done:
	free(pg);
	return rc;
}

static int write_header(struct ow_file *f, uint64_t amap_free)
{
	uint8_t h[564];
	memset(h, 0, sizeof(h));
	memcpy(h, "!BDN", 4);
	memcpy(h + 8, f->format == OW_PST ? "SM" : "SO", 2);
	ow_put16(h + 10, f->format == OW_OST4K ? 36 : 23);
	ow_put16(h + 12, 19);
	h[14] = 1;
	h[15] = 1;
	ow_put64(h + 24, 0);                 /* bidUnused */
	ow_put64(h + 32, f->next_pbid);      /* bidNextP */
	ow_put32(h + 40, 0x4F535452);        /* dwUnique */
	for (int i = 0; i < 32; i++)
		ow_put32(h + 44 + 4 * i, f->nid_hwm[i] > 0x400 ? f->nid_hwm[i] : 0x400);
	/* ROOT */
	ow_put64(h + 184, f->cursor);        /* ibFileEof */
	ow_put64(h + 192, f->last_amap);     /* ibAMapLast */
	ow_put64(h + 200, amap_free);        /* cbAMapFree */
	ow_put64(h + 208, 0);                /* cbPMapFree */
	ow_put64(h + 216, f->nbt_root_bid);
	ow_put64(h + 224, f->nbt_root_ib);
	ow_put64(h + 232, f->bbt_root_bid);
	ow_put64(h + 240, f->bbt_root_ib);
	h[248] = 2;                          /* fAMapValid: VALID_AMAP2 */
	memset(h + 256, 0xFF, 128);          /* rgbFM, deprecated */
	memset(h + 384, 0xFF, 128);          /* rgbFP, deprecated */
	h[512] = 0x80;                       /* bSentinel */
	h[513] = 0;                          /* bCryptMethod: none */
	ow_put64(h + 516, f->next_bid);      /* bidNextB */
	ow_put32(h + 4, ow_crc(h + 8, 471));
	ow_put32(h + 524, ow_crc(h + 8, 516));
	return write_at(f, 0, h, sizeof(h));
}

int ow_finish(struct ow_file *f)
{
	uint64_t amap_free;
	if (write_btrees(f) < 0)
		return -1;
	/* Outlook grows a file a whole map region at a time: the file ends where the last region
	 * does, and the space after the last allocation is free in its AMap (a sparse hole here) */
	f->data_end = f->cursor;
	uint64_t region = (f->cursor - f->amap_first + f->amap_cover - 1) / f->amap_cover;
	f->cursor = f->amap_first + region * f->amap_cover;
	if (write_maps(f, &amap_free) < 0 || write_header(f, amap_free) < 0)
		return -1;
	if (fflush(f->fp) != 0 || ftruncate(fileno(f->fp), (off_t)f->cursor) != 0) {
		snprintf(f->err->msg, sizeof(f->err->msg), "cannot finish the file");
		return -1;
	}
	return 0;
}
