/* object.c: messages, attachments and embedded messages ([MS-PST] 2.4.5, 2.4.6), property by
 * property. An object's small values wait in memory until it ends; values over a heap allocation
 * go to the file as they come (subnodes), and so does every attachment and embedded message when
 * it ends, so memory holds one object per level of nesting. */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

enum { OBJ_MESSAGE, OBJ_ATTACHMENT, OBJ_EMBEDDED };

typedef struct {
	pst_prop p;
	size_t off;            /* the value's bytes at vals.data + off (p.data is set at the end) */
	bool has_data;
} slot;

typedef struct {
	slot *props;
	size_t n, cap;
	or_buf vals;
} plist;

struct pst_object {
	pst_writer *w;           /* NULL for a message of a bare NDB file (pst_node_message_begin) */
	pst_ndb *f;
	pst_nameid *names;
	size_t *open_count;      /* the writer's count of objects being written, or the top object's own */
	size_t own_count;
	uint32_t node_parent;    /* a bare file's message: its parent node */
	pst_object *parent;
	int kind;
	pst_hn *hn;              /* the object's heap: its subnodes gather here as they are written */
	plist props;
	uint32_t nid;            /* top-level message: its node; others: their subnode id in the parent */
	pst_folder_id folder;
	bool assoc;
	pst_col *rcols;          /* recipient table columns asked for */
	size_t n_rcols, cap_rcols;
	plist *recips;           /* recipients, each a property list */
	size_t n_recips, cap_recips;
	pst_col *acols;          /* attachment table columns asked for */
	size_t n_acols, cap_acols;
	plist *atts;             /* one attachment-table row per attachment written */
	uint32_t *att_nids;
	size_t n_atts, cap_atts;
	plist row;               /* an attachment: its row as given (pst_attachment_row) */
	bool row_given;
	/* a value being streamed */
	bool streaming;
	uint16_t s_id, s_type;
	or_buf s_head;           /* its first bytes, kept while they fit a heap allocation */
	pst_stream *s;
	pst_object *child;       /* an attachment or embedded message being written */
};

static void plist_free(plist *l)
{
	free(l->props);
	buf_free(&l->vals);
	memset(l, 0, sizeof *l);
}

static int plist_add(plist *l, const pst_prop *p, or_error *err)
{
	/* a property given twice keeps its last value */
	slot *s = NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->props[i].p.id == p->id)
			s = &l->props[i];
	if (!s && !(s = or_append((void **)&l->props, &l->n, &l->cap, sizeof *s)))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	s->p = *p;
	s->has_data = p->data != NULL;
	s->off = l->vals.len;
	if (p->data && p->len && buf_append(&l->vals, p->data, p->len) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	s->p.data = NULL;
	return 0;
}

/* The properties with their data pointers set (valid until the list changes). */
static pst_prop *plist_props(plist *l, or_error *err)
{
	pst_prop *out = malloc((l->n ? l->n : 1) * sizeof *out);
	if (!out) {
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		out[i] = l->props[i].p;
		if (l->props[i].has_data)
			out[i].data = l->vals.data ? l->vals.data + l->props[i].off : "";
	}
	return out;
}

static int new_object(pst_writer *w, pst_ndb *f, pst_nameid *names, pst_object *parent, int kind, pst_object **out,
                      or_error *err)
{
	*out = NULL;
	if (parent && parent->child)
		return or_fail(err, OR_ERR_USAGE, "an attachment or embedded message is already open");
	pst_object *o = calloc(1, sizeof *o);
	if (!o)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	o->w = w;
	o->f = f;
	o->names = names;
	o->parent = parent;
	o->kind = kind;
	o->open_count = parent ? parent->open_count : w ? &w->open_objects : &o->own_count;
	int rc = pst_hn_new(&o->hn, f, 0xBC, false, err);
	if (rc) {
		free(o);
		return rc;
	}
	if (parent)
		parent->child = o;
	(*o->open_count)++;
	*out = o;
	return 0;
}

int pst_message_begin(pst_writer *w, pst_folder_id folder, bool associated, pst_object **out, or_error *err)
{
	pst_wfolder *fo = pst_writer_folder(w, folder);
	if (!fo || fo->closed)
		return or_fail(err, OR_ERR_USAGE, fo ? "folder %s is closed" : "no folder %s", fo ? fo->name : "");
	/* one counter for both kinds: message nodes then come in id order, as the node B-tree's
	 * spill file wants them (ndb.c) */
	uint32_t *next = &w->next_message;
	if (*next >= (1u << 27))
		return or_fail(err, OR_ERR_LIMIT, "too many messages for one file");
	int rc = new_object(w, w->f, w->names, NULL, OBJ_MESSAGE, out, err);
	if (rc)
		return rc;
	(*out)->folder = folder;
	(*out)->assoc = associated;
	(*out)->nid = PST_NID(associated ? PST_NID_TYPE_ASSOC_MESSAGE : PST_NID_TYPE_NORMAL_MESSAGE, (*next)++);
	return 0;
}

int pst_node_message_begin(pst_ndb *f, pst_nameid *names, uint32_t nid, uint32_t parent, pst_object **out,
                           or_error *err)
{
	int rc = new_object(NULL, f, names, NULL, OBJ_MESSAGE, out, err);
	if (rc == 0) {
		(*out)->nid = nid;
		(*out)->node_parent = parent;
	}
	return rc;
}

int pst_attachment_begin(pst_object *o, pst_object **att, or_error *err)
{
	if (o->kind == OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "an attachment has no attachments");
	int rc = new_object(o->w, o->f, o->names, o, OBJ_ATTACHMENT, att, err);
	if (rc == 0)
		(*att)->nid = pst_hn_next_subnid(o->hn, PST_NID_TYPE_ATTACHMENT);
	return rc;
}

int pst_embedded_begin(pst_object *att, pst_object **msg, or_error *err)
{
	if (att->kind != OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "only an attachment embeds a message");
	int rc = new_object(att->w, att->f, att->names, att, OBJ_EMBEDDED, msg, err);
	if (rc == 0)
		(*msg)->nid = pst_hn_next_subnid(att->hn, PST_NID_TYPE_NORMAL_MESSAGE);
	return rc;
}

/* A value that does not fit a heap allocation goes to a subnode now. */
static int add_prop(pst_object *o, const pst_prop *p, or_error *err)
{
	if (o->streaming || o->child)
		return or_fail(err, OR_ERR_USAGE, "a property while a value or a sub object is being written");
	if (p->data && p->len > PST_HN_ALLOC_MAX && !pst_fixed_size(p->type)) {
		pst_subnode s = {pst_hn_next_subnid(o->hn, PST_NID_TYPE_LTP), 0, 0};
		int rc = pst_write_data(o->f, p->data, p->len, &s.bid_data, err);
		if (rc == 0)
			rc = pst_hn_add_subnode(o->hn, &s, err);
		if (rc)
			return rc;
		pst_prop q = *p;
		q.data = NULL;
		q.subnode = s.nid;
		return plist_add(&o->props, &q, err);
	}
	return plist_add(&o->props, p, err);
}

int pst_object_prop(pst_object *o, const pst_prop *p, or_error *err)
{
	/* a bare file's caller owns its map (and may write an id the map lacks, to make test files) */
	if (o->w && p->id >= 0x8000 && (size_t)(p->id - 0x8000) >= pst_nameid_count(o->names))
		return or_fail(err, OR_ERR_USAGE, "named property 0x%04x is not in the file's map", p->id);
	return add_prop(o, p, err);
}

int pst_object_named(pst_object *o, const pst_name *name, const pst_prop *p, or_error *err)
{
	pst_prop q = *p;
	int rc = pst_nameid_get(o->names, name, &q.id, err);
	return rc ? rc : add_prop(o, &q, err);
}

int pst_object_value_begin(pst_object *o, uint16_t id, uint16_t type, or_error *err)
{
	if (o->streaming || o->child)
		return or_fail(err, OR_ERR_USAGE, "a value while another is being written");
	o->streaming = true;
	o->s_id = id;
	o->s_type = type;
	o->s_head.len = 0;
	o->s = NULL;
	return 0;
}

int pst_object_value_write(pst_object *o, const void *data, size_t len, or_error *err)
{
	if (!o->streaming)
		return or_fail(err, OR_ERR_USAGE, "no value is being written");
	if (!o->s && o->s_head.len + len <= PST_HN_ALLOC_MAX)
		return len && buf_append(&o->s_head, data, len) != 0 ? or_fail(err, OR_ERR_NOMEM, "out of memory") : 0;
	int rc = 0;
	if (!o->s) {
		rc = pst_stream_open(o->f, 1, &o->s, err);
		if (rc == 0 && o->s_head.len)
			rc = pst_stream_write(o->s, o->s_head.data, o->s_head.len, err);
		o->s_head.len = 0;
	}
	return rc ? rc : pst_stream_write(o->s, data, len, err);
}

int pst_object_value_end(pst_object *o, or_error *err)
{
	if (!o->streaming)
		return or_fail(err, OR_ERR_USAGE, "no value is being written");
	o->streaming = false;
	pst_prop p = {.id = o->s_id, .type = o->s_type};
	if (o->s_type == PT_OBJECT && !o->s) {
		/* an object (OLE) always lives in a subnode */
		int rc = pst_stream_open(o->f, 1, &o->s, err);
		if (rc == 0 && o->s_head.len)
			rc = pst_stream_write(o->s, o->s_head.data, o->s_head.len, err);
		if (rc)
			return rc;
	}
	if (!o->s) {
		p.data = o->s_head.data ? o->s_head.data : "";
		p.len = (uint32_t)o->s_head.len;
		int rc = plist_add(&o->props, &p, err);
		buf_free(&o->s_head);
		return rc;
	}
	pst_subnode s = {pst_hn_next_subnid(o->hn, PST_NID_TYPE_LTP), 0, 0};
	uint64_t total = 0;
	int rc = pst_stream_close(o->s, &s.bid_data, &total, err);
	o->s = NULL;
	buf_free(&o->s_head);
	if (rc == 0 && total > UINT32_MAX)
		rc = or_fail(err, OR_ERR_LIMIT, "a value over 4 GiB");
	if (rc == 0)
		rc = pst_hn_add_subnode(o->hn, &s, err);
	p.subnode = s.nid;
	p.len = (uint32_t)total;
	if (rc == 0 && o->s_type == PT_OBJECT) {
		/* PT_OBJECT: the heap value names the subnode and gives the size ([MS-PST] 2.3.3.5) */
		uint8_t v[8];
		pst_put32(v, s.nid);
		pst_put32(v + 4, (uint32_t)total);
		p.subnode = 0;
		p.data = v;
		p.len = 8;
		return plist_add(&o->props, &p, err);
	}
	return rc ? rc : plist_add(&o->props, &p, err);
}

int pst_object_recipient(pst_object *o, const pst_prop *props, size_t n, or_error *err)
{
	if (o->kind == OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "an attachment has no recipients");
	plist *l = or_append((void **)&o->recips, &o->n_recips, &o->cap_recips, sizeof *l);
	if (!l)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (props[i].id == 0x67F2 || props[i].id == 0x67F3)
			continue; /* the row id and version are the table's own */
		int rc = plist_add(l, &props[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_cols(pst_col **arr, size_t *n, size_t *cap, const pst_col *cols, size_t k, or_error *err)
{
	for (size_t i = 0; i < k; i++) {
		pst_col *c = or_append((void **)arr, n, cap, sizeof *c);
		if (!c)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		*c = cols[i];
	}
	return 0;
}

int pst_object_recipient_columns(pst_object *o, const pst_col *cols, size_t n, or_error *err)
{
	return add_cols(&o->rcols, &o->n_rcols, &o->cap_rcols, cols, n, err);
}

int pst_object_attachment_columns(pst_object *o, const pst_col *cols, size_t n, or_error *err)
{
	if (o->kind == OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "an attachment has no attachments");
	return add_cols(&o->acols, &o->n_acols, &o->cap_acols, cols, n, err);
}

int pst_attachment_row(pst_object *att, const pst_prop *cells, size_t n, or_error *err)
{
	if (att->kind != OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "only an attachment has a row in an attachment table");
	plist_free(&att->row);
	att->row_given = true;
	for (size_t i = 0; i < n; i++) {
		if (cells[i].id == 0x67F2 || cells[i].id == 0x67F3)
			continue; /* the row id and version are the table's own */
		int rc = plist_add(&att->row, &cells[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- tables of a message */

static bool has_col(const pst_col *cols, size_t n, uint16_t id, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (cols[i].id == id && cols[i].type == type)
			return true;
	return false;
}

/* A table of a message (recipients 0x692, attachments 0x671): the template's columns, the columns
 * asked for, and every property a row has (one type per id: a second type of an id is left out of
 * the columns, as a table column holds one type). Row r gets id ids[r] (NULL: r). */
static int write_table(pst_object *o, uint32_t nid, const pst_col *tmpl, size_t n_tmpl, const pst_col *asked,
                       size_t n_asked, plist *rows, const uint32_t *ids, size_t n_rows, or_error *err)
{
	pst_col *cols = NULL;
	size_t nc = 0, cap = 0;
	pst_cell *cells = NULL;
	pst_tc *t = NULL;
	int rc = add_cols(&cols, &nc, &cap, tmpl, n_tmpl, err);
	for (size_t r = 0; r <= n_rows && rc == 0; r++) {
		size_t nk = r < n_rows ? rows[r].n : n_asked;
		for (size_t k = 0; k < nk && rc == 0; k++) {
			pst_col c = r < n_rows ? (pst_col){rows[r].props[k].p.id, rows[r].props[k].p.type} : asked[k];
			bool id_taken = false;
			for (size_t i = 0; i < nc && !id_taken; i++)
				id_taken = cols[i].id == c.id;
			if (!id_taken)
				rc = add_cols(&cols, &nc, &cap, &c, 1, err);
		}
	}
	if (rc == 0 && nc > 250)
		rc = or_fail(err, OR_ERR_LIMIT, "a table of %zu columns", nc);
	if (rc == 0 && !(cells = calloc(nc, sizeof *cells)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pst_tc_new(&t, o->f, cols, nc, err);
	for (size_t r = 0; r < n_rows && rc == 0; r++) {
		pst_prop *ps = plist_props(&rows[r], err);
		if (!ps) {
			rc = OR_ERR_NOMEM;
			break;
		}
		for (size_t c = 0; c < nc; c++) {
			cells[c] = (pst_cell){0};
			for (size_t k = 0; k < rows[r].n; k++)
				if (ps[k].id == cols[c].id && ps[k].type == cols[c].type && !ps[k].subnode)
					cells[c] = (pst_cell){true, ps[k].data, ps[k].len, ps[k].num};
		}
		rc = pst_tc_row(t, ids ? ids[r] : (uint32_t)r, cells, err);
		free(ps);
	}
	pst_subnode s = {nid, 0, 0};
	if (rc == 0) {
		rc = pst_tc_finish(t, 0, 0, &s, err);
		t = NULL;
	}
	if (rc == 0)
		rc = pst_hn_add_subnode(o->hn, &s, err);
	pst_tc_free(t);
	free(cells);
	free(cols);
	return rc;
}

/* ---------------------------------------------------------------- end */

static void object_free(pst_object *o)
{
	if (!o)
		return;
	if (o->parent && o->parent->child == o)
		o->parent->child = NULL;
	(*o->open_count)--;
	pst_hn_free(o->hn);
	plist_free(&o->props);
	for (size_t i = 0; i < o->n_recips; i++)
		plist_free(&o->recips[i]);
	free(o->recips);
	free(o->rcols);
	for (size_t i = 0; i < o->n_atts; i++)
		plist_free(&o->atts[i]);
	free(o->atts);
	free(o->att_nids);
	free(o->acols);
	plist_free(&o->row);
	buf_free(&o->s_head);
	pst_stream_free(o->s);
	free(o);
}

void pst_object_abort(pst_object *o)
{
	if (!o)
		return;
	if (o->child)
		pst_object_abort(o->child);
	object_free(o);
}

/* The attachment's row for its message's attachment table: as given, or made of its properties
 * that are columns (the template's and those asked for). */
static int note_attachment(pst_object *att, or_error *err)
{
	pst_object *m = att->parent;
	plist *row = or_append((void **)&m->atts, &m->n_atts, &m->cap_atts, sizeof *row);
	if (!row)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	uint32_t *nids = realloc(m->att_nids, m->cap_atts * sizeof *nids);
	if (!nids)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	m->att_nids = nids;
	nids[m->n_atts - 1] = att->nid;
	if (att->row_given) {
		*row = att->row;
		memset(&att->row, 0, sizeof att->row);
		return 0;
	}
	pst_prop *ps = plist_props(&att->props, err);
	if (!ps)
		return OR_ERR_NOMEM;
	int rc = 0;
	for (size_t k = 0; k < att->props.n && rc == 0; k++)
		if ((has_col(pst_attachment_cols, pst_n_attachment_cols, ps[k].id, ps[k].type) ||
		     has_col(m->acols, m->n_acols, ps[k].id, ps[k].type)) && !ps[k].subnode)
			rc = plist_add(row, &ps[k], err);
	free(ps);
	return rc;
}

int pst_object_end(pst_object *o, or_error *err)
{
	int rc = 0;
	if (o->child)
		return or_fail(err, OR_ERR_USAGE, "a sub object is still open");
	if (o->streaming)
		return or_fail(err, OR_ERR_USAGE, "a value is still being written");
	if (o->kind != OBJ_ATTACHMENT)
		rc = write_table(o, 0x692, pst_recipient_cols, pst_n_recipient_cols, o->rcols, o->n_rcols, o->recips, NULL,
		                 o->n_recips, err);
	if (rc == 0 && o->n_atts)
		rc = write_table(o, 0x671, pst_attachment_cols, pst_n_attachment_cols, o->acols, o->n_acols, o->atts,
		                 o->att_nids, o->n_atts, err);
	pst_prop *ps = rc == 0 ? plist_props(&o->props, err) : NULL;
	if (rc == 0 && !ps)
		rc = OR_ERR_NOMEM;
	pst_subnode sub = {o->nid, 0, 0};
	if (rc == 0) {
		pst_prop *copy = malloc((o->props.n ? o->props.n : 1) * sizeof *copy);
		if (!copy) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		} else {
			/* pst_pc_write sorts its list: keep ps in the caller's order for the table row */
			memcpy(copy, ps, o->props.n * sizeof *copy);
			if (o->kind == OBJ_MESSAGE && !o->w) {
				rc = pst_pc_write(o->hn, copy, o->props.n, o->nid, o->node_parent, NULL, err);
			} else if (o->kind == OBJ_MESSAGE) {
				pst_wfolder *fo = pst_writer_folder(o->w, o->folder);
				rc = pst_pc_write(o->hn, copy, o->props.n, o->nid, o->folder, NULL, err);
				if (rc == 0)
					rc = pst_folder_add_row(o->w, fo, o->assoc, o->nid, ps, o->props.n, err);
			} else {
				rc = pst_pc_write(o->hn, copy, o->props.n, 0, 0, &sub, err);
			}
			free(copy);
		}
	}
	if (rc == 0 && o->kind != OBJ_MESSAGE)
		rc = pst_hn_add_subnode(o->parent->hn, &sub, err);
	if (rc == 0 && o->kind == OBJ_ATTACHMENT)
		rc = note_attachment(o, err);
	if (rc == 0 && o->kind == OBJ_EMBEDDED) {
		/* the attachment's PidTagAttachDataObject names the embedded message's subnode ([MS-PST] 2.4.6.2) */
		uint8_t v[8];
		uint64_t size = 0;
		for (size_t i = 0; i < o->hn->n_pages; i++)
			size += o->hn->page_len[i];
		pst_put32(v, o->nid);
		pst_put32(v + 4, (uint32_t)size);
		pst_prop p = {.id = 0x3701, .type = PT_OBJECT, .data = v, .len = 8};
		pst_object *att = o->parent;
		att->child = NULL;
		rc = plist_add(&att->props, &p, err);
		att->child = o;
	}
	free(ps);
	object_free(o);
	return rc;
}
