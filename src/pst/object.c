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
	pst_writer *w;
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
	plist *atts;             /* one attachment-table row per attachment written */
	uint32_t *att_nids;
	size_t n_atts, cap_atts;
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

static int new_object(pst_writer *w, pst_object *parent, int kind, pst_object **out, or_error *err)
{
	*out = NULL;
	if (parent && parent->child)
		return or_fail(err, OR_ERR_USAGE, "an attachment or embedded message is already open");
	pst_object *o = calloc(1, sizeof *o);
	if (!o)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	o->w = w;
	o->parent = parent;
	o->kind = kind;
	int rc = pst_hn_new(&o->hn, w->f, 0xBC, false, err);
	if (rc) {
		free(o);
		return rc;
	}
	if (parent)
		parent->child = o;
	w->open_objects++;
	*out = o;
	return 0;
}

int pst_message_begin(pst_writer *w, pst_folder_id folder, bool associated, pst_object **out, or_error *err)
{
	pst_wfolder *fo = pst_writer_folder(w, folder);
	if (!fo || fo->closed)
		return or_fail(err, OR_ERR_USAGE, fo ? "folder %s is closed" : "no folder %s", fo ? fo->name : "");
	uint32_t *next = associated ? &w->next_assoc : &w->next_message;
	if (*next >= (1u << 27))
		return or_fail(err, OR_ERR_LIMIT, "too many messages for one file");
	int rc = new_object(w, NULL, OBJ_MESSAGE, out, err);
	if (rc)
		return rc;
	(*out)->folder = folder;
	(*out)->assoc = associated;
	(*out)->nid = PST_NID(associated ? PST_NID_TYPE_ASSOC_MESSAGE : PST_NID_TYPE_NORMAL_MESSAGE, (*next)++);
	return 0;
}

int pst_attachment_begin(pst_object *o, pst_object **att, or_error *err)
{
	if (o->kind == OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "an attachment has no attachments");
	int rc = new_object(o->w, o, OBJ_ATTACHMENT, att, err);
	if (rc == 0)
		(*att)->nid = pst_hn_next_subnid(o->hn, PST_NID_TYPE_ATTACHMENT);
	return rc;
}

int pst_embedded_begin(pst_object *att, pst_object **msg, or_error *err)
{
	if (att->kind != OBJ_ATTACHMENT)
		return or_fail(err, OR_ERR_USAGE, "only an attachment embeds a message");
	int rc = new_object(att->w, att, OBJ_EMBEDDED, msg, err);
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
		int rc = pst_write_data(o->w->f, p->data, p->len, &s.bid_data, err);
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
	if (p->id >= 0x8000 && (size_t)(p->id - 0x8000) >= pst_nameid_count(o->w->names))
		return or_fail(err, OR_ERR_USAGE, "named property 0x%04x is not in the file's map", p->id);
	return add_prop(o, p, err);
}

int pst_object_named(pst_object *o, const pst_name *name, const pst_prop *p, or_error *err)
{
	pst_prop q = *p;
	int rc = pst_nameid_get(o->w->names, name, &q.id, err);
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
		rc = pst_stream_open(o->w->f, 1, &o->s, err);
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
		int rc = pst_stream_open(o->w->f, 1, &o->s, err);
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

int pst_object_recipient_columns(pst_object *o, const pst_col *cols, size_t n, or_error *err)
{
	for (size_t i = 0; i < n; i++) {
		pst_col *c = or_append((void **)&o->rcols, &o->n_rcols, &o->cap_rcols, sizeof *c);
		if (!c)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		*c = cols[i];
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

/* The recipient table (subnode 0x692): the template's columns and every property a recipient has. */
static int write_recipients(pst_object *o, or_error *err)
{
	pst_col *cols = NULL;
	size_t nc = 0, cap = 0;
	pst_cell *cells = NULL;
	pst_tc *t = NULL;
	int rc = 0;
	for (size_t i = 0; i < pst_n_recipient_cols; i++) {
		pst_col *c = or_append((void **)&cols, &nc, &cap, sizeof *c);
		if (!c)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		*c = pst_recipient_cols[i];
	}
	for (size_t r = 0; r <= o->n_recips; r++) {
		size_t nk = r < o->n_recips ? o->recips[r].n : o->n_rcols;
		for (size_t k = 0; k < nk; k++) {
			pst_prop asked = {0};
			if (r == o->n_recips)
				asked = (pst_prop){.id = o->rcols[k].id, .type = o->rcols[k].type};
			const pst_prop *p = r < o->n_recips ? &o->recips[r].props[k].p : &asked;
			if (has_col(cols, nc, p->id, p->type))
				continue;
			/* a column holds one type: a second type of one id cannot be a column too */
			bool id_taken = false;
			for (size_t i = 0; i < nc; i++)
				id_taken |= cols[i].id == p->id;
			if (id_taken)
				continue;
			pst_col *c = or_append((void **)&cols, &nc, &cap, sizeof *c);
			if (!c) {
				free(cols);
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
			}
			*c = (pst_col){p->id, p->type};
		}
	}
	if (nc > 250) {
		free(cols);
		return or_fail(err, OR_ERR_LIMIT, "recipients with %zu different properties", nc);
	}
	if (!(cells = calloc(nc, sizeof *cells)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pst_tc_new(&t, o->w->f, cols, nc, err);
	for (size_t r = 0; r < o->n_recips && rc == 0; r++) {
		pst_prop *ps = plist_props(&o->recips[r], err);
		if (!ps) {
			rc = OR_ERR_NOMEM;
			break;
		}
		for (size_t c = 0; c < nc; c++) {
			cells[c] = (pst_cell){0};
			for (size_t k = 0; k < o->recips[r].n; k++)
				if (ps[k].id == cols[c].id && ps[k].type == cols[c].type && !ps[k].subnode)
					cells[c] = (pst_cell){true, ps[k].data, ps[k].len, ps[k].num};
		}
		rc = pst_tc_row(t, (uint32_t)r, cells, err);
		free(ps);
	}
	pst_subnode s = {0x692, 0, 0};
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

/* The attachment table (subnode 0x671): one row per attachment, from its properties. */
static int write_attachment_table(pst_object *o, or_error *err)
{
	pst_tc *t = NULL;
	pst_cell cells[8];
	int rc = pst_tc_new(&t, o->w->f, pst_attachment_cols, pst_n_attachment_cols, err);
	for (size_t a = 0; a < o->n_atts && rc == 0; a++) {
		pst_prop *ps = plist_props(&o->atts[a], err);
		if (!ps)
			return OR_ERR_NOMEM;
		for (size_t c = 0; c < pst_n_attachment_cols; c++) {
			cells[c] = (pst_cell){0};
			for (size_t k = 0; k < o->atts[a].n; k++)
				if (ps[k].id == pst_attachment_cols[c].id && ps[k].type == pst_attachment_cols[c].type && !ps[k].subnode)
					cells[c] = (pst_cell){true, ps[k].data, ps[k].len, ps[k].num};
		}
		rc = pst_tc_row(t, o->att_nids[a], cells, err);
		free(ps);
	}
	pst_subnode s = {0x671, 0, 0};
	if (rc == 0) {
		rc = pst_tc_finish(t, 0, 0, &s, err);
		t = NULL;
	}
	pst_tc_free(t);
	return rc ? rc : pst_hn_add_subnode(o->hn, &s, err);
}

/* ---------------------------------------------------------------- end */

static void object_free(pst_object *o)
{
	if (!o)
		return;
	if (o->parent && o->parent->child == o)
		o->parent->child = NULL;
	o->w->open_objects--;
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

/* The attachment's row for its message's attachment table. */
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
	pst_prop *ps = plist_props(&att->props, err);
	if (!ps)
		return OR_ERR_NOMEM;
	int rc = 0;
	for (size_t k = 0; k < att->props.n && rc == 0; k++)
		if (has_col(pst_attachment_cols, pst_n_attachment_cols, ps[k].id, ps[k].type) && !ps[k].subnode)
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
		rc = write_recipients(o, err);
	if (rc == 0 && o->n_atts)
		rc = write_attachment_table(o, err);
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
			if (o->kind == OBJ_MESSAGE) {
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
