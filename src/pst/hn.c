/* hn.c: heaps on nodes, BTHs and property contexts ([MS-PST] 2.3.1 to 2.3.3). */
#include "hn.h"

#include <stdlib.h>
#include <string.h>

int pst_utf16(or_buf *b, const char *s)
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
		} else if ((*p & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
			c = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
			    (p[3] & 0x3F);
			n = 4;
		} else {
			c = 0xFFFD; /* invalid UTF-8 becomes the replacement character */
			n = 1;
		}
		uint8_t u[4];
		size_t un = 2;
		if (c >= 0x10000) {
			c -= 0x10000;
			pst_put16(u, (uint16_t)(0xD800 | (c >> 10)));
			pst_put16(u + 2, (uint16_t)(0xDC00 | (c & 0x3FF)));
			un = 4;
		} else {
			pst_put16(u, (uint16_t)c);
		}
		if (buf_append(b, u, un) != 0)
			return -1;
		p += n;
	}
	return 0;
}

/* ---------------------------------------------------------------- heap */

/* Bytes before the first allocation of heap page i: HNHDR, HNBITMAPHDR or HNPAGEHDR. */
static size_t page_header_size(size_t i)
{
	if (i == 0)
		return 12;
	if (i == 8 || (i > 8 && (i - 8) % 128 == 0))
		return 66;
	return 2;
}

static int grow_pages(pst_hn *hn, or_error *err)
{
	if (hn->n_pages == hn->cap_pages) {
		size_t cap = hn->cap_pages ? hn->cap_pages * 2 : 4;
		or_buf *p = realloc(hn->pages, cap * sizeof *p);
		uint64_t *b = p ? realloc(hn->page_bid, cap * sizeof *b) : NULL;
		if (p)
			hn->pages = p;
		if (b)
			hn->page_bid = b;
		uint32_t *z = b ? realloc(hn->page_len, cap * sizeof *z) : NULL;
		if (!p || !b || !z)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		hn->page_len = z;
		hn->cap_pages = cap;
	}
	return 0;
}

static int open_page(pst_hn *hn, or_error *err)
{
	int rc = grow_pages(hn, err);
	if (rc)
		return rc;
	or_buf *b = &hn->pages[hn->n_pages++];
	memset(b, 0, sizeof *b);
	hn->page_bid[hn->n_pages - 1] = 0;
	hn->page_len[hn->n_pages - 1] = 0;
	hn->n_allocs = 0;
	uint8_t zero[66] = {0};
	if (buf_append(b, zero, page_header_size(hn->n_pages - 1)) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	return 0;
}

int pst_hn_new(pst_hn **out, pst_ndb *f, uint8_t client_sig, bool stream, or_error *err)
{
	*out = NULL;
	pst_hn *hn = calloc(1, sizeof *hn);
	if (!hn)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	hn->f = f;
	hn->client_sig = client_sig;
	hn->stream = stream;
	hn->next_sub_index = 0x100;
	int rc = open_page(hn, err);
	if (rc) {
		pst_hn_free(hn);
		return rc;
	}
	*out = hn;
	return 0;
}

void pst_hn_free(pst_hn *hn)
{
	if (!hn)
		return;
	for (size_t i = 0; i < hn->n_pages; i++)
		buf_free(&hn->pages[i]);
	free(hn->pages);
	free(hn->page_bid);
	free(hn->page_len);
	free(hn->allocs);
	free(hn->subs);
	free(hn);
}

/* Closes the open page: appends its HNPAGEMAP and points the page header at it; a streamed heap
 * writes every page but the first at once. */
static int close_page(pst_hn *hn, or_error *err)
{
	size_t i = hn->n_pages - 1;
	or_buf *b = &hn->pages[i];
	uint8_t z = 0;
	if ((b->len & 1) && buf_append(b, &z, 1) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	uint16_t ib = (uint16_t)b->len;
	size_t n = 4 + 2 * (hn->n_allocs + 1);
	uint8_t *m = malloc(n);
	if (!m)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pst_put16(m, (uint16_t)hn->n_allocs);
	pst_put16(m + 2, 0);
	pst_put16(m + 4, (uint16_t)page_header_size(i));
	for (size_t k = 0; k < hn->n_allocs; k++)
		pst_put16(m + 6 + 2 * k, hn->allocs[k]);
	int bad = buf_append(b, m, n) != 0;
	free(m);
	if (bad)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pst_put16((uint8_t *)b->data, ib);
	hn->page_len[i] = (uint32_t)b->len;
	if (hn->stream && i > 0) {
		int rc = pst_write_block(hn->f, (const uint8_t *)b->data, b->len, false, 1, &hn->page_bid[i], err);
		if (rc)
			return rc;
		buf_free(b);
	}
	return 0;
}

static size_t map_size(size_t n_allocs) { return 4 + 2 * (n_allocs + 1) + 1; }

static uint32_t make_hid(const pst_hn *hn, size_t page, size_t index)
{
	/* the 4 KiB format gives the allocation index 14 bits and the page 13 (libpff's document) */
	if (hn->f->format == PST_FMT_OST4K)
		return (uint32_t)(page << 19 | index << 5);
	return (uint32_t)(page << 16 | index << 5);
}

int pst_hn_alloc(pst_hn *hn, const void *data, size_t len, uint32_t *hid, or_error *err)
{
	or_buf *b = &hn->pages[hn->n_pages - 1];
	size_t max_index = hn->f->format == PST_FMT_OST4K ? 0x3FFF : 0x7FF;
	int rc;
	if (len > PST_HN_ALLOC_MAX)
		return or_fail(err, OR_ERR_LIMIT, "a heap allocation of %zu bytes", len);
	if (b->len + len + map_size(hn->n_allocs + 1) > PST_BLOCK_DATA_MAX || hn->n_allocs + 1 > max_index) {
		if (hn->n_pages >= 0xFFFF)
			return or_fail(err, OR_ERR_LIMIT, "a heap of more than 65,535 pages");
		if ((rc = close_page(hn, err)) != 0 || (rc = open_page(hn, err)) != 0)
			return rc;
		b = &hn->pages[hn->n_pages - 1];
	}
	if (hn->n_allocs == hn->cap_allocs) {
		size_t cap = hn->cap_allocs ? hn->cap_allocs * 2 : 32;
		uint16_t *p = realloc(hn->allocs, cap * sizeof *p);
		if (!p)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		hn->allocs = p;
		hn->cap_allocs = cap;
	}
	if (len && buf_append(b, data, len) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	hn->allocs[hn->n_allocs++] = (uint16_t)b->len;
	*hid = make_hid(hn, hn->n_pages - 1, hn->n_allocs);
	return 0;
}

uint8_t *pst_hn_at(pst_hn *hn, size_t page, size_t off)
{
	if (page >= hn->n_pages || !hn->pages[page].data)
		return NULL;
	return (uint8_t *)hn->pages[page].data + off;
}

uint32_t pst_hn_next_subnid(pst_hn *hn, uint8_t type) { return PST_NID(type, hn->next_sub_index++); }

int pst_hn_add_subnode(pst_hn *hn, const pst_subnode *s, or_error *err)
{
	pst_subnode *d = or_append((void **)&hn->subs, &hn->n_subs, &hn->cap_subs, sizeof *d);
	if (!d)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	*d = *s;
	return 0;
}

int pst_hn_value(pst_hn *hn, const void *data, size_t len, uint32_t *hnid, or_error *err)
{
	/* an empty value is an empty allocation, as Outlook writes it (readers take HNID 0 for no value) */
	if (len <= PST_HN_ALLOC_MAX)
		return pst_hn_alloc(hn, data, len, hnid, err);
	/* too big for the heap: a subnode of the node, which may span several blocks */
	pst_subnode s = {pst_hn_next_subnid(hn, PST_NID_TYPE_LTP), 0, 0};
	int rc = pst_write_data(hn->f, data, len, &s.bid_data, err);
	if (rc == 0)
		rc = pst_hn_add_subnode(hn, &s, err);
	*hnid = s.nid;
	return rc;
}

int pst_hn_write(pst_hn *hn, uint32_t user_root, uint32_t nid, uint32_t parent, pst_subnode *sub, or_error *err)
{
	uint64_t bid_data, bid_sub;
	int rc = close_page(hn, err);
	if (rc)
		return rc;
	uint8_t *h = (uint8_t *)hn->pages[0].data;
	h[2] = 0xEC;
	h[3] = hn->client_sig;
	pst_put32(h + 4, user_root);
	for (size_t i = 0; i < hn->n_pages && rc == 0; i++)
		if (hn->pages[i].data)
			rc = pst_write_block(hn->f, (const uint8_t *)hn->pages[i].data, hn->pages[i].len, false,
			                     hn->n_pages == 1 ? 2 : 1, &hn->page_bid[i], err);
	if (rc == 0)
		rc = pst_write_chunks(hn->f, hn->page_bid, hn->page_len, hn->n_pages, &bid_data, err);
	if (rc == 0)
		rc = pst_write_subnodes(hn->f, hn->subs, hn->n_subs, &bid_sub, err);
	if (rc)
		return rc;
	if (sub) {
		sub->bid_data = bid_data;
		sub->bid_sub = bid_sub;
		return 0;
	}
	return pst_add_node(hn->f, nid, parent, bid_data, bid_sub, err);
}

/* ---------------------------------------------------------------- BTH */

int pst_bth_begin(pst_hn *hn, uint8_t cb_key, uint8_t cb_ent, pst_bth *h, or_error *err)
{
	uint8_t hdr[8] = {0xB5, cb_key, cb_ent, 0, 0, 0, 0, 0};
	size_t before = hn->n_pages;
	h->page = hn->n_pages - 1;
	h->off = hn->pages[h->page].len;
	h->cb_key = cb_key;
	h->cb_ent = cb_ent;
	int rc = pst_hn_alloc(hn, hdr, sizeof hdr, &h->hid, err);
	if (rc)
		return rc;
	if (hn->n_pages != before) { /* the header opened a new heap page */
		h->page = hn->n_pages - 1;
		h->off = page_header_size(h->page);
	}
	return 0;
}

int pst_bth_levels(pst_hn *hn, const pst_bth *h, const uint8_t *leaves, size_t n, or_error *err)
{
	size_t w = (size_t)h->cb_key + 4;
	const uint8_t *in = leaves;
	uint8_t *cur = NULL;
	uint32_t root = 0;
	int levels = 0, rc = 0;
	if (n == 1)
		root = (uint32_t)in[h->cb_key] | (uint32_t)in[h->cb_key + 1] << 8 | (uint32_t)in[h->cb_key + 2] << 16 |
		       (uint32_t)in[h->cb_key + 3] << 24;
	while (n > 1 && rc == 0) {
		/* index records (key, hid) over the allocations of the level below */
		size_t per = PST_HN_ALLOC_MAX / w, parts = (n + per - 1) / per;
		uint8_t *next = malloc(parts * w);
		if (!next) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			break;
		}
		for (size_t p = 0; p < parts && rc == 0; p++) {
			size_t from = p * per, c = n - from < per ? n - from : per;
			uint32_t hid = 0;
			rc = pst_hn_alloc(hn, in + from * w, c * w, &hid, err);
			memcpy(next + p * w, in + from * w, h->cb_key);
			pst_put32(next + p * w + h->cb_key, hid);
			root = hid;
		}
		free(cur);
		cur = next;
		in = cur;
		n = parts;
		levels++;
	}
	free(cur);
	if (rc)
		return rc;
	uint8_t *hp = pst_hn_at(hn, h->page, h->off);
	if (!hp)
		return or_fail(err, OR_ERR_FORMAT, "a B-tree header left the heap's memory");
	hp[3] = (uint8_t)levels;
	pst_put32(hp + 4, root);
	return 0;
}

int pst_bth_build(pst_hn *hn, const uint8_t *recs, size_t n, uint8_t cb_key, uint8_t cb_ent, uint32_t *hid,
                  or_error *err)
{
	pst_bth h;
	int rc = pst_bth_begin(hn, cb_key, cb_ent, &h, err);
	if (rc)
		return rc;
	*hid = h.hid;
	size_t rec = (size_t)cb_key + cb_ent, per = PST_HN_ALLOC_MAX / rec;
	size_t leaves = (n + per - 1) / per;
	uint8_t *index = malloc((leaves ? leaves : 1) * ((size_t)cb_key + 4));
	if (!index)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t l = 0; l < leaves && rc == 0; l++) {
		size_t from = l * per, c = n - from < per ? n - from : per;
		uint32_t leaf;
		rc = pst_hn_alloc(hn, recs + from * rec, c * rec, &leaf, err);
		memcpy(index + l * (cb_key + 4u), recs + from * rec, cb_key);
		pst_put32(index + l * (cb_key + 4u) + cb_key, leaf);
	}
	if (rc == 0)
		rc = pst_bth_levels(hn, &h, index, leaves, err);
	free(index);
	return rc;
}

/* ---------------------------------------------------------------- property context */

static int cmp_prop(const void *a, const void *b)
{
	const pst_prop *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int pst_pc_write(pst_hn *hn, pst_prop *props, size_t n, uint32_t nid, uint32_t parent, pst_subnode *sub,
                 or_error *err)
{
	pst_bth h;
	uint8_t *recs = malloc((n ? n : 1) * 8);
	int rc;
	if (!recs)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	if ((rc = pst_bth_begin(hn, 2, 6, &h, err)) != 0)
		goto done;
	qsort(props, n, sizeof *props, cmp_prop);
	for (size_t i = 0; i < n && rc == 0; i++) {
		pst_prop *p = &props[i];
		uint8_t *r = recs + i * 8, t[16];
		uint32_t v = 0;
		int fs = pst_fixed_size(p->type);
		pst_put16(r, p->id);
		pst_put16(r + 2, p->type);
		if (p->subnode) {
			v = p->subnode;
		} else if (fs && fs <= 4) {
			if (p->data) {
				memset(t, 0, 4);
				memcpy(t, p->data, p->len < 4 ? p->len : 4);
				v = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
			} else {
				v = (uint32_t)p->num;
			}
		} else if (fs && !p->data) {
			pst_put64(t, p->num);
			rc = pst_hn_alloc(hn, t, 8, &v, err);
		} else if (!p->data) {
			v = 0; /* an empty value without an allocation (HNID 0), as the source had it */
		} else {
			rc = pst_hn_value(hn, p->data, p->len, &v, err);
		}
		pst_put32(r + 4, v);
	}
	if (rc)
		goto done;
	size_t per = PST_HN_ALLOC_MAX / 8, leaves = (n + per - 1) / per;
	uint8_t *index = malloc((leaves ? leaves : 1) * 6);
	if (!index) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (size_t l = 0; l < leaves && rc == 0; l++) {
		size_t from = l * per, c = n - from < per ? n - from : per;
		uint32_t leaf;
		rc = pst_hn_alloc(hn, recs + from * 8, c * 8, &leaf, err);
		memcpy(index + l * 6, recs + from * 8, 2);
		pst_put32(index + l * 6 + 2, leaf);
	}
	if (rc == 0)
		rc = pst_bth_levels(hn, &h, index, leaves, err);
	free(index);
	if (rc == 0)
		rc = pst_hn_write(hn, h.hid, nid, parent, sub, err);
done:
	free(recs);
	return rc;
}

int pst_write_pc(pst_ndb *f, uint32_t nid, uint32_t parent, pst_prop *props, size_t n, or_error *err)
{
	pst_hn *hn;
	int rc = pst_hn_new(&hn, f, 0xBC, false, err);
	if (rc == 0)
		rc = pst_pc_write(hn, props, n, nid, parent, NULL, err);
	pst_hn_free(hn);
	return rc;
}
