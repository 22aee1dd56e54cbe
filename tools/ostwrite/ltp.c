/* ostwrite LTP layer ([MS-PST] 2.3): heap-on-node pages, BTH, property contexts and table contexts. */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>

int ow_utf16(struct ow_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c;
		int n;
		if (*p < 0x80) {
			c = *p;
			n = 1;
		} else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			c = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else if ((*p & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
			c = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			n = 3;
		} else if ((*p & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
			   (p[3] & 0xC0) == 0x80) {
			c = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
			    (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
			n = 4;
		} else {
			c = 0xFFFD; /* invalid UTF-8 becomes the replacement character */
			n = 1;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			if (ow_buf_u16(b, (uint16_t)(0xD800 | (c >> 10))) < 0 ||
			    ow_buf_u16(b, (uint16_t)(0xDC00 | (c & 0x3FF))) < 0)
				return -1;
		} else if (ow_buf_u16(b, (uint16_t)c) < 0) {
			return -1;
		}
		p += n;
	}
	return 0;
}

/* ---- heap on node ---- */

/* Bytes before the first allocation of heap page i: HNHDR, HNBITMAPHDR or HNPAGEHDR. */
static size_t page_header_size(size_t i)
{
	if (i == 0)
		return 12;
	if (i == 8 || (i > 8 && (i - 8) % 128 == 0))
		return 66;
	return 2;
}

static int hn_open_block(struct ow_hn *hn)
{
	if (hn->n_blocks == hn->cap_blocks) {
		size_t cap = hn->cap_blocks ? hn->cap_blocks * 2 : 4;
		void *p = realloc(hn->blocks, cap * sizeof(*hn->blocks));
		if (!p)
			return -1;
		hn->blocks = p;
		hn->cap_blocks = cap;
	}
	struct ow_buf *b = &hn->blocks[hn->n_blocks++];
	memset(b, 0, sizeof(*b));
	hn->n_allocs = 0;
	return ow_buf_zero(b, page_header_size(hn->n_blocks - 1));
}

int ow_hn_init(struct ow_hn *hn, struct ow_file *f, uint8_t client_sig)
{
	memset(hn, 0, sizeof(*hn));
	hn->f = f;
	hn->client_sig = client_sig;
	return hn_open_block(hn);
}

void ow_hn_free(struct ow_hn *hn)
{
	for (size_t i = 0; i < hn->n_blocks; i++)
		ow_buf_free(&hn->blocks[i]);
	free(hn->blocks);
	free(hn->allocs);
	free(hn->subs);
	memset(hn, 0, sizeof(*hn));
}

/* Closes the open page: appends its HNPAGEMAP and points the header at it. */
static int hn_close_block(struct ow_hn *hn)
{
	struct ow_buf *b = &hn->blocks[hn->n_blocks - 1];
	if (b->len & 1 && ow_buf_zero(b, 1) < 0)
		return -1;
	uint16_t ib = (uint16_t)b->len;
	uint16_t start = (uint16_t)page_header_size(hn->n_blocks - 1);
	if (ow_buf_u16(b, (uint16_t)hn->n_allocs) < 0 || ow_buf_u16(b, 0) < 0 ||
	    ow_buf_u16(b, start) < 0)
		return -1;
	for (size_t i = 0; i < hn->n_allocs; i++)
		if (ow_buf_u16(b, hn->allocs[i]) < 0)
			return -1;
	ow_put16(b->p, ib);
	return 0;
}

static size_t map_size(size_t n_allocs) { return 4 + 2 * (n_allocs + 1) + 1; }

static uint32_t make_hid(const struct ow_file *f, size_t block, size_t index)
{
	/* the 4 KiB format gives the allocation index 14 bits and the page 13 (libpff's document) */
	if (f->format == OW_OST4K)
		return (uint32_t)(block << 19 | index << 5);
	return (uint32_t)(block << 16 | index << 5);
}

int ow_hn_alloc(struct ow_hn *hn, const void *data, size_t len, uint32_t *hid)
{
	struct ow_buf *b = &hn->blocks[hn->n_blocks - 1];
	size_t max_index = hn->f->format == OW_OST4K ? 0x3FFF : 0x7FF;
	if (len > OW_HN_ALLOC_MAX)
		return -1;
	if (b->len + len + map_size(hn->n_allocs + 1) > OW_BLOCK_DATA_MAX ||
	    hn->n_allocs + 1 > max_index) {
		if (hn_close_block(hn) < 0 || hn_open_block(hn) < 0)
			return -1;
		b = &hn->blocks[hn->n_blocks - 1];
	}
	if (hn->n_allocs == hn->cap_allocs) {
		size_t cap = hn->cap_allocs ? hn->cap_allocs * 2 : 32;
		void *p = realloc(hn->allocs, cap * sizeof(*hn->allocs));
		if (!p)
			return -1;
		hn->allocs = p;
		hn->cap_allocs = cap;
	}
	if (ow_buf_put(b, data, len) < 0)
		return -1;
	hn->allocs[hn->n_allocs++] = (uint16_t)b->len;
	*hid = make_hid(hn->f, hn->n_blocks - 1, hn->n_allocs);
	return 0;
}

int ow_hn_value(struct ow_hn *hn, const void *data, size_t len, uint32_t *hnid)
{
	if (len == 0) {
		*hnid = 0;
		return 0;
	}
	if (len <= OW_HN_ALLOC_MAX)
		return ow_hn_alloc(hn, data, len, hnid);
	/* too big for the heap: a subnode of the node, which may span several blocks */
	if (hn->n_subs == hn->cap_subs) {
		size_t cap = hn->cap_subs ? hn->cap_subs * 2 : 4;
		void *p = realloc(hn->subs, cap * sizeof(*hn->subs));
		if (!p)
			return -1;
		hn->subs = p;
		hn->cap_subs = cap;
	}
	struct ow_subnode *s = &hn->subs[hn->n_subs];
	s->nid = OW_NID(NID_TYPE_LTP, 0x100 + hn->next_sub_index++);
	s->bid_sub = 0;
	if (ow_write_data(hn->f, data, len, &s->bid_data) < 0)
		return -1;
	hn->n_subs++;
	*hnid = s->nid;
	return 0;
}

int ow_hn_write_node(struct ow_hn *hn, uint32_t user_root, uint32_t nid, uint32_t parent)
{
	uint64_t bid_data, bid_sub;
	if (hn_close_block(hn) < 0)
		return -1;
	uint8_t *h = hn->blocks[0].p;
	h[2] = 0xEC;
	h[3] = hn->client_sig;
	ow_put32(h + 4, user_root);
	if (ow_write_chunks(hn->f, hn->blocks, hn->n_blocks, &bid_data) < 0 ||
	    ow_write_subnodes(hn->f, hn->subs, hn->n_subs, &bid_sub) < 0)
		return -1;
	return ow_add_node(hn->f, nid, parent, bid_data, bid_sub);
}

/* ---- BTH ---- */

/* The header is allocated before its records: pst-extractor expects a table's first allocation
 * (hid 0x20) to be a BTH header. bth_end completes it once the root is known. */
struct bth_hdr {
	size_t block, off;
	uint32_t hid;
};

static int bth_begin(struct ow_hn *hn, uint8_t cb_key, uint8_t cb_ent, struct bth_hdr *h)
{
	uint8_t hdr[8] = {0xB5, cb_key, cb_ent, 0, 0, 0, 0, 0};
	size_t before = hn->n_blocks;
	h->block = hn->n_blocks - 1;
	h->off = hn->blocks[h->block].len;
	if (ow_hn_alloc(hn, hdr, sizeof(hdr), &h->hid) < 0)
		return -1;
	if (hn->n_blocks != before) { /* the header opened a new heap page */
		h->block = hn->n_blocks - 1;
		h->off = page_header_size(h->block);
	}
	return 0;
}

static int bth_end(struct ow_hn *hn, const struct bth_hdr *h, const uint8_t *recs, size_t n,
		   uint8_t cb_key, uint8_t cb_ent)
{
	uint8_t *cur = NULL, *next = NULL;
	size_t rec = (size_t)cb_key + cb_ent;
	int levels = 0, rc = -1;
	uint32_t root = 0;
	if (n > 0) {
		/* leaves of at most OW_HN_ALLOC_MAX bytes; index levels of (key, hid) above them */
		cur = malloc(n * rec);
		if (!cur)
			goto done;
		memcpy(cur, recs, n * rec);
		size_t cnt = n, width = rec;
		for (;;) {
			size_t per = OW_HN_ALLOC_MAX / width, parts = (cnt + per - 1) / per;
			if (parts == 1) {
				if (ow_hn_alloc(hn, cur, cnt * width, &root) < 0)
					goto done;
				break;
			}
			free(next);
			next = malloc(parts * ((size_t)cb_key + 4));
			if (!next)
				goto done;
			for (size_t p = 0; p < parts; p++) {
				size_t from = p * per, c = cnt - from < per ? cnt - from : per;
				uint32_t hid;
				if (ow_hn_alloc(hn, cur + from * width, c * width, &hid) < 0)
					goto done;
				memcpy(next + p * (cb_key + 4u), cur + from * width, cb_key);
				ow_put32(next + p * (cb_key + 4u) + cb_key, hid);
			}
			uint8_t *t = cur;
			cur = next;
			next = t;
			cnt = parts;
			width = (size_t)cb_key + 4;
			levels++;
		}
	}
	hn->blocks[h->block].p[h->off + 3] = (uint8_t)levels;
	ow_put32(hn->blocks[h->block].p + h->off + 4, root);
	rc = 0;
done:
	free(cur);
	free(next);
	return rc;
}

int ow_bth_build(struct ow_hn *hn, const uint8_t *recs, size_t n, uint8_t cb_key, uint8_t cb_ent,
		 uint32_t *hid)
{
	struct bth_hdr h;
	if (bth_begin(hn, cb_key, cb_ent, &h) < 0 || bth_end(hn, &h, recs, n, cb_key, cb_ent) < 0)
		return -1;
	*hid = h.hid;
	return 0;
}

/* ---- property context ---- */

static int cmp_prop(const void *a, const void *b)
{
	const struct ow_prop *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int fixed_size(uint16_t type)
{
	switch (type) {
	case PT_I2: return 2;
	case PT_LONG: return 4;
	case PT_BOOLEAN: return 1;
	case PT_I8:
	case PT_SYSTIME: return 8;
	default: return 0;
	}
}

int ow_write_pc(struct ow_file *f, uint32_t nid, uint32_t parent, struct ow_prop *props, size_t n)
{
	struct ow_hn hn;
	struct bth_hdr h;
	uint8_t *recs = malloc((n ? n : 1) * 8);
	int rc = -1;
	if (!recs)
		return -1;
	if (ow_hn_init(&hn, f, 0xBC) < 0 || bth_begin(&hn, 2, 6, &h) < 0)
		goto done;
	qsort(props, n, sizeof(*props), cmp_prop);
	for (size_t i = 0; i < n; i++) {
		struct ow_prop *p = &props[i];
		uint8_t *r = recs + i * 8;
		uint32_t v = 0;
		int fs = fixed_size(p->type);
		ow_put16(r, p->id);
		ow_put16(r + 2, p->type);
		if (fs && fs <= 4) {
			v = (uint32_t)p->num;
		} else if (fs == 8) {
			uint8_t t[8];
			ow_put64(t, p->num);
			if (ow_hn_alloc(&hn, t, 8, &v) < 0)
				goto done;
		} else if (ow_hn_value(&hn, p->data, p->len, &v) < 0) {
			goto done;
		}
		ow_put32(r + 4, v);
	}
	if (bth_end(&hn, &h, recs, n, 2, 6) < 0 || ow_hn_write_node(&hn, h.hid, nid, parent) < 0)
		goto done;
	rc = 0;
done:
	ow_hn_free(&hn);
	free(recs);
	return rc;
}

/* ---- table context ---- */

struct col_layout {
	uint32_t tag;
	uint16_t ib;
	uint8_t cb, ibit;
	int src; /* index into the caller's columns, -1 row id, -2 row version */
};

static int cmp_col(const void *a, const void *b)
{
	const struct col_layout *x = a, *y = b;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* Row index records (row id, row number), both stored little-endian: ordered by row id. */
static int cmp_u32pair(const void *a, const void *b)
{
	const uint8_t *p = a, *q = b;
	uint32_t x = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	uint32_t y = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
	return x < y ? -1 : x > y;
}

int ow_write_tc(struct ow_file *f, uint32_t nid, uint32_t parent, const struct ow_tc_col *cols,
		size_t n_cols, const uint32_t *row_ids, const uint64_t *cells, size_t n_rows)
{
	size_t nc = n_cols + 2;
	struct col_layout *lay = calloc(nc, sizeof(*lay));
	uint8_t *rows = NULL, *idx = NULL, *info = NULL;
	struct ow_hn hn;
	uint32_t hid_index, hnid_rows = 0, hid_info;
	int rc = -1, hn_ok = 0;
	if (!lay || nc > 255)
		goto done;
	/* the row id and version come first ([MS-PST] 2.3.4.4.1), then 8/4-byte, 2-byte, 1-byte cells */
	lay[0] = (struct col_layout){0x67F20003u, 0, 4, 0, -1};
	lay[1] = (struct col_layout){0x67F30003u, 4, 4, 1, -2};
	uint16_t ib = 8;
	uint8_t bit = 2;
	for (int pass = 0; pass < 3; pass++) {
		for (size_t c = 0; c < n_cols; c++) {
			int sz = fixed_size(cols[c].type);
			if (!sz)
				sz = 4; /* variable-size values are HNIDs */
			if ((pass == 0 && sz < 4) || (pass == 1 && sz != 2) || (pass == 2 && sz != 1))
				continue;
			lay[2 + c] = (struct col_layout){(uint32_t)cols[c].id << 16 | cols[c].type, ib,
							 (uint8_t)sz, bit++, (int)c};
			ib = (uint16_t)(ib + sz);
		}
	}
	uint16_t end4 = 8, end2, end1;
	for (size_t c = 2; c < nc; c++)
		if (lay[c].cb >= 4 && lay[c].ib + lay[c].cb > end4)
			end4 = (uint16_t)(lay[c].ib + lay[c].cb);
	end2 = end4;
	for (size_t c = 2; c < nc; c++)
		if (lay[c].cb == 2)
			end2 = (uint16_t)(lay[c].ib + 2);
	end1 = end2;
	for (size_t c = 2; c < nc; c++)
		if (lay[c].cb == 1)
			end1 = (uint16_t)(lay[c].ib + 1);
	size_t row_size = end1 + (nc + 7) / 8;

	if (ow_hn_init(&hn, f, 0x7C) < 0)
		goto done;
	hn_ok = 1;
	rows = calloc(n_rows ? n_rows : 1, row_size);
	idx = malloc((n_rows ? n_rows : 1) * 8);
	if (!rows || !idx)
		goto done;
	for (size_t r = 0; r < n_rows; r++) {
		uint8_t *row = rows + r * row_size, *ceb = row + end1;
		for (size_t c = 0; c < nc; c++) {
			uint64_t v = lay[c].src == -1 ? row_ids[r] : lay[c].src == -2 ? 1 : cells[r * n_cols + (size_t)lay[c].src];
			for (int k = 0; k < lay[c].cb; k++)
				row[lay[c].ib + k] = (uint8_t)(v >> (8 * k));
			ceb[lay[c].ibit / 8] |= (uint8_t)(0x80 >> (lay[c].ibit % 8));
		}
		ow_put32(idx + r * 8, row_ids[r]);
		ow_put32(idx + r * 8 + 4, (uint32_t)r);
	}
	/* the row index first: its BTH header must be the heap's first allocation */
	qsort(idx, n_rows, 8, cmp_u32pair);
	if (ow_bth_build(&hn, idx, n_rows, 4, 4, &hid_index) < 0)
		goto done;
	/* row matrix: in the heap when small, else a subnode with whole rows per block */
	if (n_rows * row_size <= OW_HN_ALLOC_MAX) {
		if (n_rows && ow_hn_alloc(&hn, rows, n_rows * row_size, &hnid_rows) < 0)
			goto done;
	} else {
		size_t per = OW_BLOCK_DATA_MAX / row_size;
		size_t nb = (n_rows + per - 1) / per;
		struct ow_buf *chunks = calloc(nb, sizeof(*chunks));
		uint64_t bid = 0;
		int bad = !chunks;
		for (size_t k = 0; !bad && k < nb; k++) {
			size_t from = k * per, c = n_rows - from < per ? n_rows - from : per;
			bad = ow_buf_put(&chunks[k], rows + from * row_size, c * row_size) < 0;
			/* every block but the last is padded to the full block size, as Outlook does:
			 * readers locate row r at (r / per) * 8176 + (r % per) * row_size */
			if (!bad && k + 1 < nb)
				bad = ow_buf_zero(&chunks[k], OW_BLOCK_DATA_MAX - c * row_size) < 0;
		}
		bad = bad || ow_write_chunks(f, chunks, nb, &bid) < 0;
		for (size_t k = 0; chunks && k < nb; k++)
			ow_buf_free(&chunks[k]);
		free(chunks);
		if (bad || hn.n_subs >= 1)
			goto done;
		hn.subs = calloc(1, sizeof(*hn.subs));
		if (!hn.subs)
			goto done;
		hn.cap_subs = 1;
		hn.subs[0] = (struct ow_subnode){OW_NID(NID_TYPE_LTP, 0x100 + hn.next_sub_index++), bid, 0};
		hn.n_subs = 1;
		hnid_rows = hn.subs[0].nid;
	}
	qsort(lay, nc, sizeof(*lay), cmp_col);
	size_t info_len = 22 + 8 * nc;
	info = calloc(1, info_len);
	if (!info)
		goto done;
	info[0] = 0x7C;
	info[1] = (uint8_t)nc;
	ow_put16(info + 2, end4);
	ow_put16(info + 4, end2);
	ow_put16(info + 6, end1);
	ow_put16(info + 8, (uint16_t)row_size);
	ow_put32(info + 10, hid_index);
	ow_put32(info + 14, hnid_rows);
	ow_put32(info + 18, 0);
	for (size_t c = 0; c < nc; c++) {
		uint8_t *d = info + 22 + 8 * c;
		ow_put32(d, lay[c].tag);
		ow_put16(d + 4, lay[c].ib);
		d[6] = lay[c].cb;
		d[7] = lay[c].ibit;
	}
	if (ow_hn_alloc(&hn, info, info_len, &hid_info) < 0 ||
	    ow_hn_write_node(&hn, hid_info, nid, parent) < 0)
		goto done;
	rc = 0;
done:
	if (hn_ok)
		ow_hn_free(&hn);
	free(lay);
	free(rows);
	free(idx);
	free(info);
	return rc;
}
