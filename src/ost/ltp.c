/* ltp.c: heaps, BTHs, property contexts and table row ids ([MS-PST] 2.3), see ltp.h. */
#include "ltp.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#define BTH_MAX_LEVELS 8
#define BTH_MAX_RECORDS (1u << 24)

int ltp_open(ltp_heap *h, ndb_file *nf, uint32_t nid, uint64_t bid_data, uint64_t bid_sub, or_error *err)
{
	h->nf = nf;
	h->nid = nid;
	h->bid_sub = bid_sub;
	h->client_sig = 0;
	h->user_root = 0;
	int rc = ndb_read_data(nf, bid_data, &h->data, err);
	if (rc)
		return rc;
	if (h->data.n == 0 || ndb_data_block_len(&h->data, 0) < 12)
		return or_fail(err, OR_ERR_FORMAT, "node %u has no heap", nid);
	const uint8_t *b = h->data.buf;
	if (b[2] != 0xEC)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap signature 0x%02x, expected 0xEC", nid, b[2]);
	h->client_sig = b[3];
	h->user_root = ndb_le32(b + 4);
	return 0;
}

void ltp_free(ltp_heap *h)
{
	ndb_data_free(&h->data);
	ndb_data_free(&h->value);
	if (h->ansi && h->ansi != (void *)-1)
		iconv_close((iconv_t)h->ansi);
	h->ansi = NULL;
}

/* The allocation at (block, index), or an error message in err. */
static int hid_at(const ltp_heap *h, uint32_t hid, size_t block, size_t index, const uint8_t **p, size_t *len,
                  or_error *err)
{
	if (index == 0 || block >= h->data.n)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap id 0x%x names page %zu of %zu", h->nid, hid, block,
		               h->data.n);
	const uint8_t *b = h->data.buf + h->data.off[block];
	size_t blen = ndb_data_block_len(&h->data, block);
	if (blen < 2)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap page %zu is empty", h->nid, block);
	size_t map = ndb_le16(b);
	if (map + 4 > blen)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap page %zu has its map outside it", h->nid, block);
	size_t n_alloc = ndb_le16(b + map);
	if (index > n_alloc || map + 4 + 2 * (n_alloc + 1) > blen)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap id 0x%x: allocation %zu of %zu", h->nid, hid, index,
		               n_alloc);
	size_t start = ndb_le16(b + map + 4 + 2 * (index - 1)), end = ndb_le16(b + map + 4 + 2 * index);
	if (start > end || end > map)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap id 0x%x spans %zu..%zu", h->nid, hid, start, end);
	*p = b + start;
	*len = end - start;
	return 0;
}

int ltp_hid(const ltp_heap *h, uint32_t hid, const uint8_t **p, size_t *len, or_error *err)
{
	*p = NULL;
	*len = 0;
	if (hid & 0x1F)
		return or_fail(err, OR_ERR_FORMAT, "node %u: 0x%x is not a heap id", h->nid, hid);
	/* [MS-PST]: an 11-bit allocation index and a 16-bit page. For the 4 KiB format libpff's format
	 * document gives 14 and 13 bits, which ostwrite writes; a heap id that does not resolve that way
	 * is tried the [MS-PST] way (for the first page and fewer than 2048 allocations both agree). */
	if (h->nf->f->kind == FMT_4K && hid_at(h, hid, hid >> 19, (hid >> 5) & 0x3FFF, p, len, err) == 0)
		return 0;
	return hid_at(h, hid, hid >> 16, (hid >> 5) & 0x7FF, p, len, err);
}

/* ---------------------------------------------------------------- BTH */

typedef struct {
	uint8_t *rec;
	size_t n, cap;
} recs;

static int bth_level(const ltp_heap *h, uint32_t hid, int level, uint8_t cb_key, uint8_t cb_ent, recs *out,
                     or_error *err)
{
	const uint8_t *p;
	size_t len;
	int rc = ltp_hid(h, hid, &p, &len, err);
	if (rc)
		return rc;
	if (level == 0) {
		size_t w = (size_t)cb_key + cb_ent, n = len / w;
		if (n == 0)
			return 0;
		/* each record is stored once on the heap: more record bytes than the heap holds means index
		 * entries that lead to the same leaf again (damage), which must not multiply memory */
		if (out->n + n > BTH_MAX_RECORDS || (out->n + n) * w > h->data.len)
			return or_fail(err, OR_ERR_FORMAT, "node %u: a B-tree on the heap with more records than the heap holds",
			               h->nid);
		if (out->n + n > out->cap) {
			size_t cap = out->cap ? out->cap : 64;
			while (cap < out->n + n)
				cap *= 2;
			uint8_t *r = realloc(out->rec, cap * w);
			if (!r)
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
			out->rec = r;
			out->cap = cap;
		}
		memcpy(out->rec + out->n * w, p, n * w);
		out->n += n;
		return 0;
	}
	size_t w = (size_t)cb_key + 4, n = len / w;
	/* copy the index records: the recursion does not move the heap, but keep it simple and safe */
	uint32_t *next = malloc((n ? n : 1) * sizeof *next);
	if (!next)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		next[i] = ndb_le32(p + i * w + cb_key);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = bth_level(h, next[i], level - 1, cb_key, cb_ent, out, err);
	free(next);
	return rc;
}

int ltp_bth_records(const ltp_heap *h, uint32_t hid, uint8_t **rec, size_t *n, uint8_t *cb_key, uint8_t *cb_ent,
                    or_error *err)
{
	*rec = NULL;
	*n = 0;
	const uint8_t *p;
	size_t len;
	int rc = ltp_hid(h, hid, &p, &len, err);
	if (rc)
		return rc;
	if (len < 8 || p[0] != 0xB5)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap id 0x%x is not a B-tree header", h->nid, hid);
	*cb_key = p[1];
	*cb_ent = p[2];
	int levels = p[3];
	uint32_t root = ndb_le32(p + 4);
	if (*cb_key == 0 || *cb_key > 16 || *cb_ent == 0 || levels > BTH_MAX_LEVELS)
		return or_fail(err, OR_ERR_FORMAT, "node %u: B-tree with %u-byte keys, %u-byte records, %d levels", h->nid,
		               *cb_key, *cb_ent, levels);
	if (root == 0)
		return 0;
	recs r = {0};
	rc = bth_level(h, root, levels, *cb_key, *cb_ent, &r, err);
	if (rc) {
		free(r.rec);
		return rc;
	}
	*rec = r.rec;
	*n = r.n;
	return 0;
}

/* ---------------------------------------------------------------- values */

/* Whether the four UTF-16LE characters at p are ASCII, none of them a NUL. */
static inline bool ascii4(const uint8_t *p)
{
	uint64_t w = (uint64_t)ndb_le32(p) | (uint64_t)ndb_le32(p + 4) << 32;
	return !(w & 0xFF80FF80FF80FF80ull) && (w & 0xFFFF) && (w & 0xFFFF0000ull) && (w & 0xFFFF00000000ull) && (w >> 48);
}

/* The UTF-8 bytes of a UTF-16LE string as utf16_to_utf8 converts it (up to a NUL; an unpaired
 * surrogate becomes the 3 bytes of U+FFFD), without its terminator. */
static size_t utf8_size(const uint8_t *p, size_t len)
{
	size_t n = len / 2, size = 0, i = 0;
	/* ASCII four characters at a time, as utf16_to_utf8 converts them */
	for (; i + 4 <= n && ascii4(p + 2 * i); i += 4)
		size += 4;
	for (; i < n; i++) {
		uint32_t c = ndb_le16(p + 2 * i);
		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n && ndb_le16(p + 2 * i + 2) >= 0xDC00 &&
		    ndb_le16(p + 2 * i + 2) < 0xE000) {
			size += 4;
			i++;
		} else {
			size += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
		}
	}
	return size;
}

/* UTF-16LE to UTF-8 into `o` (room for utf8_size's bytes and a NUL), NUL-terminated; unpaired
 * surrogates become U+FFFD. Stops at a NUL. */
static void utf16_to_utf8(const uint8_t *p, size_t len, uint8_t *o)
{
	size_t n = len / 2, i = 0;
	uint8_t *q = o;
	/* ASCII four characters at a time: most of a mailbox's strings */
	for (; i + 4 <= n && ascii4(p + 2 * i); i += 4) {
		q[0] = p[2 * i];
		q[1] = p[2 * i + 2];
		q[2] = p[2 * i + 4];
		q[3] = p[2 * i + 6];
		q += 4;
	}
	for (; i < n; i++) {
		uint32_t c = ndb_le16(p + 2 * i);
		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
			uint32_t d = ndb_le16(p + 2 * i + 2);
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
			*q++ = (uint8_t)c;
		} else if (c < 0x800) {
			*q++ = (uint8_t)(0xC0 | c >> 6);
			*q++ = (uint8_t)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			*q++ = (uint8_t)(0xE0 | c >> 12);
			*q++ = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
			*q++ = (uint8_t)(0x80 | (c & 0x3F));
		} else {
			*q++ = (uint8_t)(0xF0 | c >> 18);
			*q++ = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
			*q++ = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
			*q++ = (uint8_t)(0x80 | (c & 0x3F));
		}
	}
	*q = '\0';
}

/* Windows-1252 (the code page ANSI files are read with) to UTF-8. Stops at a NUL. The converter
 * is opened once per heap (a file's heap is reused from node to node). */
static uint8_t *ansi_to_utf8(ltp_heap *h, const uint8_t *p, size_t len, size_t *out_len)
{
	const uint8_t *nul = memchr(p, 0, len);
	if (nul)
		len = (size_t)(nul - p);
	uint8_t *o = malloc(len * 3 + 1);
	if (!o)
		return NULL;
	if (!h->ansi)
		h->ansi = (void *)iconv_open("UTF-8", "WINDOWS-1252");
	iconv_t cd = (iconv_t)h->ansi;
	char *in = (char *)p, *outp = (char *)o;
	size_t in_left = len, out_left = len * 3;
	if (cd == (iconv_t)-1) {
		memcpy(o, p, len); /* no converter: the bytes as they are */
		outp += len;
	} else {
		while (in_left > 0 && iconv(cd, &in, &in_left, &outp, &out_left) == (size_t)-1) {
			/* a byte the code page does not define: U+FFFD */
			if (out_left < 3)
				break;
			memcpy(outp, "\xEF\xBF\xBD", 3);
			outp += 3;
			out_left -= 3;
			in++;
			in_left--;
		}
		iconv(cd, NULL, NULL, NULL, NULL); /* back to the initial state for the next string */
	}
	*outp = '\0';
	*out_len = (size_t)(outp - (char *)o);
	return o;
}

/* The bytes of a value an HNID names: a heap allocation, or a subnode's data. */
int ltp_hnid_value(ltp_heap *h, uint32_t hnid, const uint8_t **p, size_t *len, or_error *err)
{
	*p = NULL;
	*len = 0;
	if (hnid == 0)
		return 0;
	if ((hnid & 0x1F) == 0)
		return ltp_hid(h, hnid, p, len, err);
	uint64_t bid_data, bid_sub;
	int rc = ndb_find_subnode(h->nf, h->bid_sub, hnid, &bid_data, &bid_sub, err);
	if (rc == OR_ERR_NOTFOUND)
		return or_fail(err, OR_ERR_FORMAT, "node %u: value subnode %u is missing", h->nid, hnid);
	if (rc || (rc = ndb_read_data(h->nf, bid_data, &h->value, err)) != 0)
		return rc;
	*p = h->value.buf;
	*len = h->value.len;
	return 0;
}

/* A copy of len bytes for st_props_add to `out` (st_props_room). */
static uint8_t *dup_bytes(st_props *out, const uint8_t *p, size_t len)
{
	uint8_t *d = st_props_room(out, len);
	if (d && len)
		memcpy(d, p, len);
	return d;
}

/* One PC record: adds its value(s) to `out`. A value that cannot be read is left out. */
static int pc_value(ltp_heap *h, uint16_t id, uint16_t type, uint32_t v, st_props *out, or_error *err)
{
	uint8_t inl[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	size_t fixed = 0;
	switch (type) {
	case 0x0002: fixed = 2; break;                          /* PT_SHORT */
	case 0x0003: case 0x0004: case 0x000A: fixed = 4; break; /* PT_LONG, PT_FLOAT, PT_ERROR */
	case 0x000B: fixed = 1; break;                          /* PT_BOOLEAN */
	default: break;
	}
	if (fixed) {
		uint8_t *d = dup_bytes(out, inl, fixed);
		if (!d)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		st_props_add(out, id, type, d, fixed);
		return 0;
	}
	const uint8_t *p;
	size_t len;
	or_error e;
	e.code = 0; /* set with its message by a failure (516 bytes zeroed per value took 1% of a listing) */
	if (ltp_hnid_value(h, v, &p, &len, &e) != 0)
		return e.code == OR_ERR_NOMEM ? or_fail(err, OR_ERR_NOMEM, "out of memory") : 0;
	uint8_t *d = NULL;
	size_t dlen = len;
	if (type == 0x001F) {
		const uint8_t *s = p ? p : (const uint8_t *)"";
		dlen = utf8_size(s, len);
		if ((d = st_props_room(out, dlen + 1)) != NULL)
			utf16_to_utf8(s, len, d);
	} else if (type == 0x001E)
		d = ansi_to_utf8(h, p ? p : (const uint8_t *)"", len, &dlen);
	else if (type == 0x1102) {
		/* multi-valued binary: a count, offsets, then the values end to end */
		if (len < 4)
			return 0;
		size_t count = ndb_le32(p);
		if (count > (len - 4) / 4)
			return 0;
		for (size_t i = 0; i < count; i++) {
			size_t a = ndb_le32(p + 4 + 4 * i), b = i + 1 < count ? ndb_le32(p + 8 + 4 * i) : len;
			if (a > b || b > len)
				continue;
			uint8_t *one = dup_bytes(out, p + a, b - a);
			if (!one)
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
			st_props_add(out, id, type, one, b - a);
		}
		return 0;
	} else
		d = dup_bytes(out, p, len);
	if (!d)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	st_props_add(out, id, type, d, dlen);
	return 0;
}

/* A property context's records where they lie on the heap, when its BTH is a single leaf (a
 * message's, nearly always): what ltp_bth_records would copy out. False: read them with it. */
static bool pc_leaf(const ltp_heap *h, const uint8_t **rec, size_t *n)
{
	const uint8_t *p, *leaf;
	size_t len, leaf_len;
	or_error e;
	if (ltp_hid(h, h->user_root, &p, &len, &e) != 0 || len < 8 || p[0] != 0xB5 || p[1] != 2 || p[2] != 6 ||
	    p[3] != 0 || ndb_le32(p + 4) == 0 || ltp_hid(h, ndb_le32(p + 4), &leaf, &leaf_len, &e) != 0)
		return false;
	*rec = leaf;
	*n = leaf_len / 8;
	return true;
}

int ltp_pc_read(ltp_heap *h, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err)
{
	st_props_init(out);
	if (h->client_sig != 0xBC)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap of kind 0x%02x, not a property context", h->nid,
		               h->client_sig);
	const uint8_t *leaf = NULL;
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t n;
	int rc = 0;
	if (pc_leaf(h, &leaf, &n)) {
		cb_key = 2;
		cb_ent = 6;
	} else if ((rc = ltp_bth_records(h, h->user_root, &rec, &n, &cb_key, &cb_ent, err)) != 0) {
		return rc;
	} else if (cb_key != 2 || cb_ent != 6) {
		free(rec);
		return or_fail(err, OR_ERR_FORMAT, "node %u: property B-tree of %u/%u-byte records", h->nid, cb_key, cb_ent);
	} else {
		leaf = rec;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *r = leaf + i * 8;
		uint16_t id = ndb_le16(r);
		if (st_wanted(ids, n_ids, id))
			rc = pc_value(h, id, ndb_le16(r + 2), ndb_le32(r + 4), out, err);
	}
	free(rec);
	if (rc)
		st_props_clear(out);
	return rc;
}

/* ---------------------------------------------------------------- TC */

typedef struct { uint32_t row, index; } row_ref;

static int cmp_row_index(const void *a, const void *b)
{
	const row_ref *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

int ltp_tc_rows(ltp_heap *h, uint32_t **rows, size_t *n, or_error *err)
{
	*rows = NULL;
	*n = 0;
	if (h->client_sig != 0x7C)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap of kind 0x%02x, not a table", h->nid, h->client_sig);
	const uint8_t *info;
	size_t len;
	int rc = ltp_hid(h, h->user_root, &info, &len, err);
	if (rc)
		return rc;
	if (len < 22 || info[0] != 0x7C)
		return or_fail(err, OR_ERR_FORMAT, "node %u: not a table header", h->nid);
	uint32_t hid_rows = ndb_le32(info + 10);
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t count;
	if ((rc = ltp_bth_records(h, hid_rows, &rec, &count, &cb_key, &cb_ent, err)) != 0)
		return rc;
	if (cb_key != 4 || (cb_ent != 2 && cb_ent != 4)) {
		free(rec);
		return or_fail(err, OR_ERR_FORMAT, "node %u: row index of %u/%u-byte records", h->nid, cb_key, cb_ent);
	}
	row_ref *refs = malloc((count ? count : 1) * sizeof *refs);
	*rows = malloc((count ? count : 1) * sizeof **rows);
	if (!refs || !*rows) {
		free(refs);
		free(rec);
		free(*rows);
		*rows = NULL;
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	size_t w = (size_t)cb_key + cb_ent;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *r = rec + i * w;
		refs[i].row = ndb_le32(r);
		refs[i].index = cb_ent == 2 ? ndb_le16(r + 4) : ndb_le32(r + 4);
	}
	qsort(refs, count, sizeof *refs, cmp_row_index);
	for (size_t i = 0; i < count; i++)
		(*rows)[i] = refs[i].row;
	*n = count;
	free(refs);
	free(rec);
	return 0;
}

/* ---------------------------------------------------------------- whole tables */

int ltp_tc_open(ltp_heap *h, ltp_table *t, or_error *err)
{
	memset(t, 0, sizeof *t);
	if (h->client_sig != 0x7C)
		return or_fail(err, OR_ERR_FORMAT, "node %u: heap of kind 0x%02x, not a table", h->nid, h->client_sig);
	const uint8_t *info;
	size_t len;
	int rc = ltp_hid(h, h->user_root, &info, &len, err);
	if (rc)
		return rc;
	if (len < 22 || info[0] != 0x7C || len < 22 + 8 * (size_t)info[1])
		return or_fail(err, OR_ERR_FORMAT, "node %u: not a table header", h->nid);
	t->n_cols = info[1];
	t->ceb = ndb_le16(info + 6);
	t->row_size = ndb_le16(info + 8);
	if (t->row_size == 0 || t->ceb + (t->n_cols + 7) / 8 > t->row_size)
		return or_fail(err, OR_ERR_FORMAT, "node %u: rows of %zu bytes", h->nid, t->row_size);
	t->cols = calloc(t->n_cols ? t->n_cols : 1, sizeof *t->cols);
	if (!t->cols)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t c = 0; c < t->n_cols; c++) {
		const uint8_t *d = info + 22 + 8 * c;
		t->cols[c] = (ltp_col){ndb_le32(d), ndb_le16(d + 4), d[6], d[7]};
		if (t->cols[c].ib + (size_t)t->cols[c].cb > t->row_size || t->cols[c].ibit >= t->n_cols) {
			ltp_tc_free(t);
			return or_fail(err, OR_ERR_FORMAT, "node %u: a column outside its row", h->nid);
		}
	}
	uint32_t hnid_rows = ndb_le32(info + 14);
	uint32_t *ids = NULL;
	if ((rc = ltp_tc_rows(h, &ids, &t->n_rows, err)) != 0) {
		ltp_tc_free(t);
		return rc;
	}
	free(ids);
	if (hnid_rows && (hnid_rows & 0x1F) == 0) {
		const uint8_t *p;
		if ((rc = ltp_hid(h, hnid_rows, &p, &len, err)) == 0) {
			t->rows.buf = malloc(len ? len : 1);
			t->rows.off = malloc(sizeof *t->rows.off);
			if (!t->rows.buf || !t->rows.off) {
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			} else {
				memcpy(t->rows.buf, p, len);
				t->rows.len = t->rows.cap = len;
				t->rows.off[0] = 0;
				t->rows.n = t->rows.cap_off = 1;
			}
		}
	} else if (hnid_rows) {
		uint64_t bid_data, bid_sub;
		rc = ndb_find_subnode(h->nf, h->bid_sub, hnid_rows, &bid_data, &bid_sub, err);
		if (rc == OR_ERR_NOTFOUND)
			rc = or_fail(err, OR_ERR_FORMAT, "node %u: the row matrix (subnode %u) is missing", h->nid, hnid_rows);
		if (rc == 0)
			rc = ndb_read_data(h->nf, bid_data, &t->rows, err);
	}
	if (rc)
		ltp_tc_free(t);
	return rc;
}

const uint8_t *ltp_tc_row_at(const ltp_table *t, size_t r)
{
	for (size_t b = 0; b < t->rows.n; b++) {
		size_t per = ndb_data_block_len(&t->rows, b) / t->row_size;
		if (r < per)
			return t->rows.buf + t->rows.off[b] + r * t->row_size;
		r -= per;
	}
	return NULL;
}

void ltp_tc_free(ltp_table *t)
{
	free(t->cols);
	ndb_data_free(&t->rows);
	memset(t, 0, sizeof *t);
}
