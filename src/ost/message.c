/*
 * message.c: a whole message read from the cache (ost.h, "whole messages"): every property as
 * stored, the recipient table's rows, the attachments and the messages embedded in them, and the
 * file's named property map; and the folders an export walks (their names and tables). Read-only,
 * on the native NDB/LTP reader with its B-trees searched on disk (ndb_open_lazy), so that memory
 * holds one message and a few pages whatever the size of the file; big values are handed out
 * block by block.
 */
#include "ltp.h"

#include <stdlib.h>
#include <string.h>

#define NID_MESSAGE_STORE 0x21
#define NID_NAME_TO_ID_MAP 0x61
#define NID_ROOT_FOLDER 0x122
#define MAX_EMBED_DEPTH 32

struct ost_cache {
	ndb_file nf;
	ndb_report rep;
	or_error ndb_err;
	ost_propname *names; /* index: id - 0x8000 */
	size_t n_names;
	char *names_problem;
	ltp_heap fheap;      /* folders and their tables, reused from one to the next */
	uint32_t ipm;        /* the IPM subtree, 0 unknown */
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
	ltp_heap aheap;      /* the attachment table's heap */
	ltp_table at;
	uint32_t *att;       /* attachment subnode ids, in table row order */
	size_t *att_row;     /* and the row each one is */
	size_t n_att;
	bool atts_read;
	ndb_data scratch;
};

/* The entry of node `nid` in *buf, or NULL when the node B-tree has none. */
static const ndb_nbt_ent *node_entry(const ost_cache *c, uint32_t nid, ndb_nbt_ent *buf)
{
	return ndb_find_node(&c->nf, nid, buf, NULL) ? buf : NULL;
}

/* ---------------------------------------------------------------- the name map */

static void load_names(ost_cache *c)
{
	static const uint16_t ids[] = {0x0002, 0x0003, 0x0004};
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, NID_NAME_TO_ID_MAP, &ent);
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
			/* a string name: its offset in the string stream, a 4-byte length, UTF-16 characters;
			 * a name that cannot be read leaves the entry with its GUID and no name */
			pn->is_string = true;
			size_t sl = 0;
			if (!strs || v > strs->len || strs->len - v < 4 || (sl = ndb_le32(strs->data + v)) > strs->len - v - 4) {
				pn->name_lost = true;
				continue;
			}
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

/* ---------------------------------------------------------------- folders */

static int folder_props(ost_cache *c, uint32_t nid, st_props *props, or_error *err)
{
	static const uint16_t ids[] = {0x3001, 0x3613};
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, nid, &ent);
	if (!e)
		return or_fail(err, OR_ERR_NOTFOUND, "folder %u is not in the node B-tree", nid);
	uint64_t data = e->data, sub = e->sub;
	int rc = ltp_open(&c->fheap, &c->nf, nid, data, sub, err);
	if (rc == 0 && c->fheap.client_sig != 0xBC)
		rc = or_fail(err, OR_ERR_FORMAT, "folder %u: heap of kind 0x%02x, not a property context", nid,
		             c->fheap.client_sig);
	return rc ? rc : ltp_pc_read(&c->fheap, ids, sizeof ids / sizeof ids[0], props, err);
}

int ost_cache_folder(ost_cache *c, uint32_t nid, ost_folder *out, or_error *err)
{
	memset(out, 0, sizeof *out);
	out->nid = nid;
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, nid, &ent);
	out->parent = e && e->parent != nid ? e->parent : 0;
	st_props props = {0};
	int rc = folder_props(c, nid, &props, err);
	if (rc == 0) {
		const char *name = st_props_str(&props, 0x3001), *cls = st_props_str(&props, 0x3613);
		if ((name && !(out->name = strdup(name))) || (cls && !(out->cls = strdup(cls))))
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	st_props_clear(&props);
	if (rc)
		ost_folder_clear(out);
	return rc;
}

void ost_folder_clear(ost_folder *f)
{
	free(f->name);
	free(f->cls);
	f->name = f->cls = NULL;
}

int ost_cache_folder_rows(ost_cache *c, uint32_t folder, ost_table which, uint32_t **rows, size_t *n, or_error *err)
{
	*rows = NULL;
	*n = 0;
	static const uint8_t types[] = {0x0D, 0x0E, 0x0F};
	uint32_t tnid = (folder & ~0x1Fu) | types[which];
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, tnid, &ent);
	if (!e)
		return OR_ERR_NOTFOUND;
	uint64_t data = e->data, sub = e->sub;
	int rc = ltp_open(&c->fheap, &c->nf, tnid, data, sub, err);
	if (rc == 0)
		rc = ltp_tc_rows(&c->fheap, rows, n, err);
	if (rc)
		return or_wrap(err, "the %s table of folder %u",
		               which == OST_TABLE_HIERARCHY ? "hierarchy" : which == OST_TABLE_CONTENTS ? "contents"
		                                                                                      : "associated contents",
		               folder);
	return 0;
}

int ost_cache_parent(ost_cache *c, uint32_t nid, uint32_t *parent, or_error *err)
{
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, nid, &ent);
	if (!e)
		return or_fail(err, OR_ERR_NOTFOUND, "node %u is not in the node B-tree", nid);
	*parent = e->parent;
	return 0;
}

uint32_t ost_cache_root(const ost_cache *c) { return NID_ROOT_FOLDER; }

uint32_t ost_cache_ipm_subtree(const ost_cache *c) { return c->ipm; }

/* The child of `folder` whose role (by name, roles.c) is `role`, or 0. */
static uint32_t child_with_role(ost_cache *c, uint32_t folder, const char *parent_role, const char *role)
{
	uint32_t *rows = NULL, found = 0;
	size_t n = 0;
	or_error e = {0};
	if (ost_cache_folder_rows(c, folder, OST_TABLE_HIERARCHY, &rows, &n, &e) != 0)
		return 0;
	for (size_t i = 0; i < n && !found; i++) {
		st_props props = {0};
		if (folder_props(c, rows[i], &props, &e) == 0 &&
		    strcmp(ost_role_by_name(parent_role, st_props_str(&props, 0x3001), -1), role) == 0)
			found = rows[i];
		st_props_clear(&props);
	}
	free(rows);
	return found;
}

/* The IPM subtree: named by the store's PidTagIpmSubTreeEntryId when it is a PST entry id (24
 * bytes ending in the node id), else found by name as roles.c names it: "Top of Personal Folders"
 * under the root, or IPM_SUBTREE under "Root - Mailbox" in an OST. */
static void find_ipm(ost_cache *c)
{
	static const uint16_t ids[] = {0x35E0};
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, NID_MESSAGE_STORE, &ent);
	st_props props = {0};
	or_error err = {0};
	if (e) {
		uint64_t data = e->data, sub = e->sub;
		if (ltp_open(&c->fheap, &c->nf, NID_MESSAGE_STORE, data, sub, &err) == 0 &&
		    ltp_pc_read(&c->fheap, ids, 1, &props, &err) == 0) {
			const st_prop *p = st_props_get(&props, 0x35E0);
			if (p && p->len == 24) {
				uint32_t nid = ndb_le32(p->data + 20);
				if ((nid & 0x1F) == 0x02 && node_entry(c, nid, &(ndb_nbt_ent){0}))
					c->ipm = nid;
			}
		}
		st_props_clear(&props);
	}
	if (c->ipm)
		return;
	c->ipm = child_with_role(c, NID_ROOT_FOLDER, "fileroot", "msgfolderroot");
	if (!c->ipm) {
		uint32_t root = child_with_role(c, NID_ROOT_FOLDER, "fileroot", "root");
		if (root)
			c->ipm = child_with_role(c, root, "root", "msgfolderroot");
	}
}

int ost_cache_open(ost_cache **out, const char *path, or_error *err)
{
	*out = NULL;
	ost_cache *c = calloc(1, sizeof *c);
	if (!c)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	int rc = ndb_open_lazy(&c->nf, path, &c->rep, err);
	if (rc > 0)
		rc = or_fail(err, OR_ERR_FORMAT, "%s: %s", path, c->rep.skipped ? c->rep.skipped : "not a PST/OST file");
	else if (rc == 0 && (!node_entry(c, NID_MESSAGE_STORE, &(ndb_nbt_ent){0}) ||
	                     !node_entry(c, NID_ROOT_FOLDER, &(ndb_nbt_ent){0})))
		rc = or_fail(err, OR_ERR_FORMAT, "%s: the file is damaged beyond opening (its message store or root "
		             "folder cannot be found)", path);
	if (rc) {
		ost_cache_close(c);
		return rc;
	}
	c->nf.err = &c->ndb_err;
	c->nf.check_crc = true;
	load_names(c);
	find_ipm(c);
	*out = c;
	return 0;
}

uint64_t ost_cache_bad_blocks(const ost_cache *c, const char **last)
{
	*last = c->nf.bad_crc_last;
	return c->nf.bad_crc;
}

void ost_cache_close(ost_cache *c)
{
	if (!c)
		return;
	ltp_free(&c->fheap);
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
	if (id < 0x8000 || (size_t)(id - 0x8000) >= c->n_names)
		return NULL;
	const ost_propname *n = &c->names[id - 0x8000];
	return n->known || n->name_lost ? n : NULL;
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
	ndb_nbt_ent ent;
	const ndb_nbt_ent *e = node_entry(c, nid, &ent);
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
	ltp_free(&o->aheap);
	ltp_tc_free(&o->at);
	free(o->att_row);
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
	if (hnid == 0) {
		v->no_ref = true; /* an empty value stored as HNID 0 */
		return 0;
	}
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

bool ost_object_i64(ost_object *o, uint16_t id, int64_t *out)
{
	for (size_t i = 0; i < o->n_rec; i++) {
		const uint8_t *r = o->rec + 8 * i;
		if (ndb_le16(r) != id)
			continue;
		uint16_t type = ndb_le16(r + 2);
		if (type == 0x0003) {
			*out = (int32_t)ndb_le32(r + 4);
			return true;
		}
		if (type != 0x0014 && type != 0x0040)
			return false;
		const uint8_t *p;
		size_t len;
		or_error e = {0};
		if (ltp_hid(&o->heap, ndb_le32(r + 4), &p, &len, &e) != 0 || len != 8)
			return false;
		*out = (int64_t)ndb_le64(p);
		return true;
	}
	return false;
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

/* Row `row` of table t (heap h): its cells as values; those in a subnode of the table are copied
 * (owned). `what` names the table in errors. */
static int row_cells(ltp_heap *h, const ltp_table *t, size_t row, ost_value *vals, size_t cap, size_t *n,
                     const char *what, or_error *err)
{
	*n = 0;
	const uint8_t *r = row < t->n_rows ? ltp_tc_row_at(t, row) : NULL;
	if (!r)
		return or_fail(err, OR_ERR_FORMAT, "%s %zu is outside its table's rows", what, row + 1);
	const uint8_t *ceb = r + t->ceb;
	int rc = 0;
	for (size_t c = 0; c < t->n_cols && *n < cap; c++) {
		const ltp_col *col = &t->cols[c];
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
				rc = ltp_hnid_value(h, hnid, &v->data, &v->len, err);
				if (rc == 0) {
					uint8_t *copy = malloc(v->len ? v->len : 1);
					if (!copy)
						return or_fail(err, OR_ERR_NOMEM, "out of memory");
					memcpy(copy, v->data, v->len);
					v->data = copy;
					v->owned = true;
				}
			} else if (hnid) {
				rc = ltp_hid(h, hnid, &v->data, &v->len, err);
			} else {
				v->no_ref = true;
			}
			if (rc) {
				ost_values_release(vals, *n + 1);
				return or_wrap(err, "%s %zu, property 0x%04x", what, row + 1, v->id);
			}
		}
		(*n)++;
	}
	return 0;
}

int ost_object_recipient(ost_object *o, size_t row, ost_value *vals, size_t cap, size_t *n, or_error *err)
{
	*n = 0;
	size_t count;
	int rc = ost_object_recipient_count(o, &count, err);
	return rc ? rc : row_cells(&o->theap, &o->rt, row, vals, cap, n, "recipient", err);
}

static void table_columns(const ltp_table *t, uint32_t *tags, size_t cap, size_t *n)
{
	*n = 0;
	for (size_t c = 0; c < t->n_cols && *n < cap; c++) {
		uint16_t id = (uint16_t)(t->cols[c].tag >> 16);
		if (id != 0x67F2 && id != 0x67F3)
			tags[(*n)++] = t->cols[c].tag;
	}
}

int ost_object_recipient_columns(ost_object *o, uint32_t *tags, size_t cap, size_t *n, or_error *err)
{
	size_t count;
	*n = 0;
	int rc = ost_object_recipient_count(o, &count, err);
	if (rc == 0)
		table_columns(&o->rt, tags, cap, n);
	return rc;
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

/* The attachment table: its cells, and the attachments in row order (a row id listed twice is
 * copied once). */
int ost_object_attachment_count(ost_object *o, size_t *n, or_error *err)
{
	*n = 0;
	if (!o->atts_read) {
		int rc = sub_heap(o, 0x671, &o->aheap, err);
		if (rc == OR_ERR_NOTFOUND) {
			o->atts_read = true; /* no attachment table: no attachments */
			return 0;
		}
		if (rc == 0)
			rc = ltp_tc_open(&o->aheap, &o->at, err);
		const ltp_col *idcol = NULL;
		for (size_t c = 0; rc == 0 && c < o->at.n_cols; c++)
			if (o->at.cols[c].tag == 0x67F20003u && o->at.cols[c].cb == 4)
				idcol = &o->at.cols[c];
		if (rc == 0 && !idcol && o->at.n_rows)
			rc = or_fail(err, OR_ERR_FORMAT, "no row id column");
		if (rc == 0 && o->at.n_rows) {
			o->att = malloc(o->at.n_rows * sizeof *o->att);
			o->att_row = malloc(o->at.n_rows * sizeof *o->att_row);
			if (!o->att || !o->att_row)
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		for (size_t r = 0; rc == 0 && r < o->at.n_rows; r++) {
			const uint8_t *row = ltp_tc_row_at(&o->at, r);
			if (!row)
				break; /* a row matrix shorter than its index: the rows there are read */
			uint32_t id = ndb_le32(row + idcol->ib);
			bool dup = false;
			for (size_t k = 0; k < o->n_att && !dup; k++)
				dup = o->att[k] == id;
			if (!dup) {
				o->att[o->n_att] = id;
				o->att_row[o->n_att++] = r;
			}
		}
		if (rc)
			return or_wrap(err, "the attachment table");
		o->atts_read = true;
	}
	*n = o->n_att;
	return 0;
}

int ost_object_attachment_columns(ost_object *o, uint32_t *tags, size_t cap, size_t *n, or_error *err)
{
	size_t count;
	*n = 0;
	int rc = ost_object_attachment_count(o, &count, err);
	if (rc == 0 && o->at.cols)
		table_columns(&o->at, tags, cap, n);
	return rc;
}

int ost_object_attachment_row(ost_object *o, size_t i, ost_value *vals, size_t cap, size_t *n, or_error *err)
{
	size_t count;
	*n = 0;
	int rc = ost_object_attachment_count(o, &count, err);
	if (rc)
		return rc;
	if (i >= count)
		return or_fail(err, OR_ERR_NOTFOUND, "no attachment %zu", i + 1);
	return row_cells(&o->aheap, &o->at, o->att_row[i], vals, cap, n, "attachment table row", err);
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
