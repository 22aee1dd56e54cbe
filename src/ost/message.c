/*
 * message.c: a whole message read from the cache (ost.h, "whole messages"): every property as
 * stored, the recipient table's rows, the attachments and the messages embedded in them, and the
 * file's named property map. Read-only, on the native NDB/LTP reader; big values are handed out
 * block by block.
 */
#include "ltp.h"

#include <stdlib.h>
#include <string.h>

#define NID_NAME_TO_ID_MAP 0x61
#define MAX_EMBED_DEPTH 32

struct ost_cache {
	ndb_file nf;
	ndb_report rep;
	or_error ndb_err;
	ost_propname *names; /* index: id - 0x8000 */
	size_t n_names;
	char *names_problem;
};

struct ost_object {
	ost_cache *c;
	uint32_t nid;
	uint64_t bid_data, bid_sub;
	int depth;
	ltp_heap heap;
	uint8_t *rec;        /* the PC's records: id, type, value (8 bytes each) */
	size_t n_rec;
	uint8_t inl[8];      /* an inline value handed out */
	ltp_heap theap;      /* the recipient table's heap */
	ltp_table rt;
	bool recips_read;
	uint32_t *att;       /* attachment subnode ids, in table order */
	size_t n_att;
	bool atts_read;
	ndb_data scratch;
};

/* ---------------------------------------------------------------- the name map */

static void load_names(ost_cache *c)
{
	static const uint16_t ids[] = {0x0002, 0x0003, 0x0004};
	const ndb_nbt_ent *e = ndb_find_node(&c->nf, NID_NAME_TO_ID_MAP);
	ltp_heap h;
	st_props props = {0};
	or_error err = {0};
	memset(&h, 0, sizeof h);
	if (!e) {
		c->names_problem = strdup("the file has no named property map");
		return;
	}
	if (ltp_open(&h, &c->nf, e->nid, e->data, e->sub, &err) != 0 || ltp_pc_read(&h, ids, 3, &props, &err) != 0) {
		size_t n = strlen(err.message) + 64;
		if ((c->names_problem = malloc(n)))
			snprintf(c->names_problem, n, "the named property map cannot be read: %s", err.message);
		ltp_free(&h);
		return;
	}
	const st_prop *guids = st_props_get(&props, 0x0002), *ents = st_props_get(&props, 0x0003),
	              *strs = st_props_get(&props, 0x0004);
	size_t n = ents ? ents->len / 8 : 0;
	c->names = calloc(n ? n : 1, sizeof *c->names);
	for (size_t i = 0; c->names && i < n; i++) {
		const uint8_t *r = ents->data + 8 * i;
		uint32_t v = ndb_le32(r);
		uint16_t g = ndb_le16(r + 4), idx = ndb_le16(r + 6);
		uint16_t gi = g >> 1;
		if (idx >= n)
			continue;
		ost_propname *pn = &c->names[idx];
		static const uint8_t ps_mapi[16] = {0x28, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};
		static const uint8_t ps_public[16] = {0x29, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46};
		if (gi == 1)
			memcpy(pn->guid, ps_mapi, 16);
		else if (gi == 2)
			memcpy(pn->guid, ps_public, 16);
		else if (guids && gi >= 3 && (size_t)(gi - 3) * 16 + 16 <= guids->len)
			memcpy(pn->guid, guids->data + (gi - 3) * 16, 16);
		else
			continue;
		if (g & 1) {
			/* a string name: its offset in the string stream, a 4-byte length, UTF-16 characters */
			if (!strs || v > strs->len || strs->len - v < 4)
				continue;
			size_t sl = ndb_le32(strs->data + v);
			if (sl > strs->len - v - 4)
				continue;
			or_buf b = {0};
			for (size_t k = 0; k + 1 < sl; k += 2) {
				uint32_t ch = ndb_le16(strs->data + v + 4 + k);
				char u[4];
				size_t ul;
				if (ch >= 0xD800 && ch < 0xDC00 && k + 3 < sl) {
					uint32_t lo = ndb_le16(strs->data + v + 6 + k);
					ch = 0x10000 + ((ch - 0xD800) << 10) + (lo - 0xDC00);
					k += 2;
				}
				if (ch < 0x80) {
					u[0] = (char)ch;
					ul = 1;
				} else if (ch < 0x800) {
					u[0] = (char)(0xC0 | ch >> 6);
					u[1] = (char)(0x80 | (ch & 0x3F));
					ul = 2;
				} else if (ch < 0x10000) {
					u[0] = (char)(0xE0 | ch >> 12);
					u[1] = (char)(0x80 | ((ch >> 6) & 0x3F));
					u[2] = (char)(0x80 | (ch & 0x3F));
					ul = 3;
				} else {
					u[0] = (char)(0xF0 | ch >> 18);
					u[1] = (char)(0x80 | ((ch >> 12) & 0x3F));
					u[2] = (char)(0x80 | ((ch >> 6) & 0x3F));
					u[3] = (char)(0x80 | (ch & 0x3F));
					ul = 4;
				}
				buf_append(&b, u, ul);
			}
			buf_append(&b, "", 1);
			pn->is_string = true;
			pn->name = b.data;
		} else {
			pn->lid = v;
		}
		pn->known = true;
	}
	c->n_names = c->names ? n : 0;
	st_props_clear(&props);
	ltp_free(&h);
}

int ost_cache_open(ost_cache **out, const char *path, or_error *err)
{
	*out = NULL;
	ost_cache *c = calloc(1, sizeof *c);
	if (!c)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	int rc = ndb_open(&c->nf, path, &c->rep, err);
	if (rc > 0)
		rc = or_fail(err, OR_ERR_FORMAT, "%s: %s", path, c->rep.skipped ? c->rep.skipped : "not a PST/OST file");
	else if (rc == 0 && (c->nf.n_nbt == 0 || c->nf.n_bbt == 0))
		rc = or_fail(err, OR_ERR_FORMAT, "%s: the file is damaged beyond opening", path);
	if (rc) {
		ost_cache_close(c);
		return rc;
	}
	c->nf.err = &c->ndb_err;
	load_names(c);
	*out = c;
	return 0;
}

void ost_cache_close(ost_cache *c)
{
	if (!c)
		return;
	ndb_close(&c->nf);
	ndb_report_free(&c->rep);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i].name);
	free(c->names);
	free(c->names_problem);
	free(c);
}

const ost_propname *ost_cache_name(const ost_cache *c, uint16_t id)
{
	if (id < 0x8000 || (size_t)(id - 0x8000) >= c->n_names || !c->names[id - 0x8000].known)
		return NULL;
	return &c->names[id - 0x8000];
}

const char *ost_cache_names_problem(const ost_cache *c) { return c->names_problem; }

/* ---------------------------------------------------------------- objects */

static int open_object(ost_cache *c, uint32_t nid, uint64_t bid_data, uint64_t bid_sub, int depth,
                       ost_object **out, or_error *err)
{
	*out = NULL;
	ost_object *o = calloc(1, sizeof *o);
	if (!o)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	o->c = c;
	o->nid = nid;
	o->bid_data = bid_data;
	o->bid_sub = bid_sub;
	o->depth = depth;
	uint8_t cb_key, cb_ent;
	int rc = ltp_open(&o->heap, &c->nf, nid, bid_data, bid_sub, err);
	if (rc == 0 && o->heap.client_sig != 0xBC)
		rc = or_fail(err, OR_ERR_FORMAT, "node %u: heap of kind 0x%02x, not a property context", nid,
		             o->heap.client_sig);
	if (rc == 0)
		rc = ltp_bth_records(&o->heap, o->heap.user_root, &o->rec, &o->n_rec, &cb_key, &cb_ent, err);
	if (rc == 0 && (cb_key != 2 || cb_ent != 6))
		rc = or_fail(err, OR_ERR_FORMAT, "node %u: property B-tree of %u/%u-byte records", nid, cb_key, cb_ent);
	if (rc) {
		ost_object_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

int ost_message_open(ost_cache *c, uint32_t nid, ost_object **out, or_error *err)
{
	const ndb_nbt_ent *e = ndb_find_node(&c->nf, nid);
	if (!e)
		return or_fail(err, OR_ERR_NOTFOUND, "node %u is not in the node B-tree", nid);
	return open_object(c, nid, e->data, e->sub, 0, out, err);
}

void ost_object_free(ost_object *o)
{
	if (!o)
		return;
	ltp_free(&o->heap);
	ltp_free(&o->theap);
	ltp_tc_free(&o->rt);
	ndb_data_free(&o->scratch);
	free(o->rec);
	free(o->att);
	free(o);
}

uint32_t ost_object_nid(const ost_object *o) { return o->nid; }

size_t ost_object_prop_count(const ost_object *o) { return o->n_rec; }

int ost_object_prop(ost_object *o, size_t i, ost_value *v, or_error *err)
{
	memset(v, 0, sizeof *v);
	if (i >= o->n_rec)
		return or_fail(err, OR_ERR_NOTFOUND, "no property %zu", i);
	const uint8_t *r = o->rec + 8 * i;
	v->id = ndb_le16(r);
	v->type = ndb_le16(r + 2);
	uint32_t hnid = ndb_le32(r + 4);
	int fs = 0;
	switch (v->type) {
	case 0x0002: fs = 2; break;
	case 0x0003: case 0x0004: case 0x000A: fs = 4; break;
	case 0x000B: fs = 1; break;
	default: break;
	}
	if (fs) {
		memcpy(o->inl, r + 4, 4);
		v->data = o->inl;
		v->len = (size_t)fs;
		return 0;
	}
	if (hnid == 0)
		return 0; /* an empty value */
	if (v->type == 0x000D && (hnid & 0x1F) == 0) {
		/* PT_OBJECT: a heap value naming a subnode (4 bytes) and the object's size (4 bytes) */
		const uint8_t *p;
		size_t len;
		int rc = ltp_hid(&o->heap, hnid, &p, &len, err);
		if (rc == 0 && len < 8)
			rc = or_fail(err, OR_ERR_FORMAT, "an object reference of %zu bytes", len);
		if (rc)
			return or_wrap(err, "property 0x%04x", v->id);
		hnid = ndb_le32(p);
		v->object = hnid;
		v->len = ndb_le32(p + 4);
	} else if ((hnid & 0x1F) == 0) {
		int rc = ltp_hid(&o->heap, hnid, &v->data, &v->len, err);
		return rc ? or_wrap(err, "property 0x%04x", v->id) : 0;
	}
	/* in a subnode: read through ost_object_value_read */
	uint64_t bid_data, bid_sub;
	int rc = ndb_find_subnode(&o->c->nf, o->bid_sub, hnid, &bid_data, &bid_sub, err);
	if (rc == OR_ERR_NOTFOUND)
		rc = or_fail(err, OR_ERR_FORMAT, "property 0x%04x: its value (subnode %u) is missing", v->id, hnid);
	if (rc)
		return rc;
	v->big = true;
	v->bid = bid_data;
	return 0;
}

int ost_attachment_method(const ost_object *att)
{
	for (size_t i = 0; i < att->n_rec; i++) {
		const uint8_t *r = att->rec + 8 * i;
		if (ndb_le16(r) == 0x3705 && ndb_le16(r + 2) == 0x0003)
			return (int)ndb_le32(r + 4);
	}
	return -1;
}

int ost_object_value_read(ost_object *o, const ost_value *v,
                          int (*fn)(void *ctx, const uint8_t *p, size_t n, or_error *err), void *ctx, or_error *err)
{
	if (!v->big)
		return v->len ? fn(ctx, v->data, v->len, err) : 0;
	int rc = ndb_read_data_each(&o->c->nf, v->bid, &o->scratch, fn, ctx, err);
	return rc ? or_wrap(err, "property 0x%04x", v->id) : 0;
}

/* ---------------------------------------------------------------- recipients */

static int sub_heap(ost_object *o, uint32_t nid, ltp_heap *h, or_error *err)
{
	uint64_t bid_data, bid_sub;
	int rc = ndb_find_subnode(&o->c->nf, o->bid_sub, nid, &bid_data, &bid_sub, err);
	if (rc)
		return rc;
	return ltp_open(h, &o->c->nf, nid, bid_data, bid_sub, err);
}

int ost_object_recipient_count(ost_object *o, size_t *n, or_error *err)
{
	*n = 0;
	if (!o->recips_read) {
		int rc = sub_heap(o, 0x692, &o->theap, err);
		if (rc == OR_ERR_NOTFOUND)
			rc = 0; /* no recipient table */
		else if (rc == 0)
			rc = ltp_tc_open(&o->theap, &o->rt, err);
		if (rc)
			return or_wrap(err, "the recipient table");
		o->recips_read = true;
	}
	*n = o->rt.n_rows;
	return 0;
}

int ost_object_recipient(ost_object *o, size_t row, ost_value *vals, size_t cap, size_t *n, or_error *err)
{
	*n = 0;
	size_t count;
	int rc = ost_object_recipient_count(o, &count, err);
	if (rc)
		return rc;
	const uint8_t *r = row < count ? ltp_tc_row_at(&o->rt, row) : NULL;
	if (!r)
		return or_fail(err, OR_ERR_FORMAT, "recipient %zu is outside the recipient table's rows", row + 1);
	const uint8_t *ceb = r + o->rt.ceb;
	for (size_t c = 0; c < o->rt.n_cols && *n < cap; c++) {
		const ltp_col *col = &o->rt.cols[c];
		if (!(ceb[col->ibit / 8] & (0x80 >> (col->ibit % 8))))
			continue;
		ost_value *v = &vals[*n];
		memset(v, 0, sizeof *v);
		v->id = (uint16_t)(col->tag >> 16);
		v->type = (uint16_t)col->tag;
		if (v->id == 0x67F2 || v->id == 0x67F3)
			continue;
		int fs = 0;
		switch (v->type) {
		case 0x0002: fs = 2; break;
		case 0x0003: case 0x0004: case 0x000A: fs = 4; break;
		case 0x000B: fs = 1; break;
		case 0x0005: case 0x0006: case 0x0007: case 0x0014: case 0x0040: fs = 8; break;
		default: break;
		}
		if (fs) {
			if ((size_t)fs > col->cb)
				continue;
			v->data = r + col->ib;
			v->len = (size_t)fs;
		} else {
			if (col->cb != 4)
				continue;
			uint32_t hnid = ndb_le32(r + col->ib);
			if (hnid && (hnid & 0x1F) != 0) {
				/* a value in a subnode of the table: copied, since the next one reuses the buffer */
				rc = ltp_hnid_value(&o->theap, hnid, &v->data, &v->len, err);
				if (rc == 0) {
					uint8_t *copy = malloc(v->len ? v->len : 1);
					if (!copy)
						return or_fail(err, OR_ERR_NOMEM, "out of memory");
					memcpy(copy, v->data, v->len);
					v->data = copy;
					v->owned = true;
				}
			} else if (hnid) {
				rc = ltp_hid(&o->theap, hnid, &v->data, &v->len, err);
			}
			if (rc)
				return or_wrap(err, "recipient %zu, property 0x%04x", row + 1, v->id);
		}
		(*n)++;
	}
	return 0;
}

int ost_object_recipient_columns(ost_object *o, uint32_t *tags, size_t cap, size_t *n, or_error *err)
{
	size_t count;
	*n = 0;
	int rc = ost_object_recipient_count(o, &count, err);
	if (rc)
		return rc;
	for (size_t c = 0; c < o->rt.n_cols && *n < cap; c++) {
		uint16_t id = (uint16_t)(o->rt.cols[c].tag >> 16);
		if (id != 0x67F2 && id != 0x67F3)
			tags[(*n)++] = o->rt.cols[c].tag;
	}
	return 0;
}

void ost_values_release(ost_value *vals, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vals[i].owned) {
			free((void *)vals[i].data);
			vals[i].owned = false;
			vals[i].data = NULL;
		}
}

/* ---------------------------------------------------------------- attachments */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int ost_object_attachment_count(ost_object *o, size_t *n, or_error *err)
{
	*n = 0;
	if (!o->atts_read) {
		ltp_heap h;
		memset(&h, 0, sizeof h);
		int rc = sub_heap(o, 0x671, &h, err);
		if (rc == OR_ERR_NOTFOUND) {
			rc = 0; /* no attachment table: no attachments */
		} else if (rc == 0) {
			rc = ltp_tc_rows(&h, &o->att, &o->n_att, err);
		}
		ltp_free(&h);
		if (rc)
			return or_wrap(err, "the attachment table");
		/* a row listed twice would be copied twice */
		if (o->n_att)
			qsort(o->att, o->n_att, sizeof *o->att, cmp_u32);
		size_t k = 0;
		for (size_t i = 0; i < o->n_att; i++)
			if (k == 0 || o->att[k - 1] != o->att[i])
				o->att[k++] = o->att[i];
		o->n_att = k;
		o->atts_read = true;
	}
	*n = o->n_att;
	return 0;
}

int ost_attachment_open(ost_object *o, size_t i, ost_object **att, or_error *err)
{
	*att = NULL;
	size_t n;
	int rc = ost_object_attachment_count(o, &n, err);
	if (rc)
		return rc;
	if (i >= n)
		return or_fail(err, OR_ERR_NOTFOUND, "no attachment %zu", i + 1);
	uint64_t bid_data, bid_sub;
	rc = ndb_find_subnode(&o->c->nf, o->bid_sub, o->att[i], &bid_data, &bid_sub, err);
	if (rc == OR_ERR_NOTFOUND)
		return or_fail(err, OR_ERR_FORMAT, "attachment %zu (subnode %u) is missing", i + 1, o->att[i]);
	if (rc)
		return rc;
	rc = open_object(o->c, o->att[i], bid_data, bid_sub, o->depth, att, err);
	return rc ? or_wrap(err, "attachment %zu", i + 1) : 0;
}

int ost_embedded_open(ost_object *att, ost_object **msg, or_error *err)
{
	*msg = NULL;
	if (ost_attachment_method(att) != 5) /* ATTACH_EMBEDDED_MSG; an OLE object is bytes */
		return OR_ERR_NOTFOUND;
	for (size_t i = 0; i < att->n_rec; i++) {
		const uint8_t *r = att->rec + 8 * i;
		if (ndb_le16(r) != 0x3701 || ndb_le16(r + 2) != 0x000D)
			continue;
		if (att->depth + 1 >= MAX_EMBED_DEPTH)
			return or_fail(err, OR_ERR_LIMIT, "messages embedded more than %d deep", MAX_EMBED_DEPTH);
		/* PidTagAttachDataObject: a heap value naming the embedded message's subnode and its size */
		uint32_t hnid = ndb_le32(r + 4), nid = hnid;
		if ((hnid & 0x1F) == 0) {
			const uint8_t *p;
			size_t len;
			int rc = ltp_hid(&att->heap, hnid, &p, &len, err);
			if (rc)
				return rc;
			if (len < 4)
				return or_fail(err, OR_ERR_FORMAT, "the embedded message's reference is %zu bytes", len);
			nid = ndb_le32(p);
		}
		uint64_t bid_data, bid_sub;
		int rc = ndb_find_subnode(&att->c->nf, att->bid_sub, nid, &bid_data, &bid_sub, err);
		if (rc == OR_ERR_NOTFOUND)
			return or_fail(err, OR_ERR_FORMAT, "the embedded message (subnode %u) is missing", nid);
		if (rc)
			return rc;
		rc = open_object(att->c, nid, bid_data, bid_sub, att->depth + 1, msg, err);
		return rc ? or_wrap(err, "the embedded message") : 0;
	}
	return OR_ERR_NOTFOUND;
}
