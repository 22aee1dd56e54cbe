/* ostwrite messaging layer ([MS-PST] 2.4): message store, name-to-id map, folders with their
 * hierarchy/contents/associated-contents tables, messages, and the OST-only parts (PRQ_ID_SECURE4,
 * the replica table at 0x801, Exchange-style folder entry ids). */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>

#define NID_MESSAGE_STORE 0x21
#define NID_ROOT_FOLDER 0x122
#define NID_REPLICA_TABLE 0x801

/* Descriptor ids of the folders created with a mailbox, as in a real OST: readers such as libpst
 * look for the IPM subtree at 0x2142 when the store does not name it. */
static const struct {
	const char *role;
	uint32_t index;
} fixed_nids[] = {
	{"root", 0x105}, {"commonviews", 0x106}, {"searchfolders", 0x107}, {"shortcuts", 0x108},
	{"views", 0x109}, {"msgfolderroot", 0x10A}, {"deleteditems", 0x10B}, {"inbox", 0x10C},
	{"outbox", 0x10D}, {"sentitems", 0x10E},
};

struct mbx {
	struct ow_file *f;
	const struct fixture *fx;
	int ost;
	uint32_t *folder_nid;   /* per fixture folder */
	uint32_t *item_nid;     /* per fixture item */
	uint32_t *first_item;   /* items grouped by folder: order[first_item[f] .. first_item[f+1]) */
	uint32_t *order;
	uint8_t provider[16];
	struct ow_damage_info *dmg;
	int64_t first_plain;    /* the first ordinary message (damage modes aim at it), -1 none */
	pst_nameid *names;      /* the name-to-id map, written after the messages that fill it */
	struct fx_parts_scratch parts;
	uint8_t *chunk;         /* a generated attachment, a piece at a time */
};

static uint32_t folder_nid_index(const struct fixture *fx, uint32_t i, uint32_t *next)
{
	const char *role = fx->folders[i].role;
	for (size_t k = 0; role && k < sizeof(fixed_nids) / sizeof(fixed_nids[0]); k++)
		if (strcmp(role, fixed_nids[k].role) == 0)
			return fixed_nids[k].index;
	return (*next)++;
}

static int assign_nids(struct mbx *m)
{
	const struct fixture *fx = m->fx;
	uint32_t next_folder = 0x401, next_msg = 0x10000, next_assoc = 0x10000;
	m->folder_nid = malloc((fx->n_folders + 1) * sizeof(uint32_t));
	m->item_nid = malloc((fx->n_items + 1) * sizeof(uint32_t));
	m->first_item = calloc(fx->n_folders + 2, sizeof(uint32_t));
	m->order = malloc((fx->n_items + 1) * sizeof(uint32_t));
	if (!m->folder_nid || !m->item_nid || !m->first_item || !m->order)
		return -1;
	for (uint32_t i = 0; i < fx->n_folders; i++)
		m->folder_nid[i] = PST_NID(PST_NID_TYPE_NORMAL_FOLDER, folder_nid_index(fx, i, &next_folder));
	for (uint32_t i = 0; i < fx->n_items; i++) {
		const struct fx_item *it = &fx->items[i];
		m->item_nid[i] = it->associated ? PST_NID(PST_NID_TYPE_ASSOC_MESSAGE, next_assoc++)
						: PST_NID(PST_NID_TYPE_NORMAL_MESSAGE, next_msg++);
		m->first_item[it->folder + 1]++;
	}
	if (next_msg >= (1u << 27) || next_assoc >= (1u << 27))
		return -1;
	for (uint32_t i = 0; i < fx->n_folders; i++)
		m->first_item[i + 1] += m->first_item[i];
	uint32_t *fill = calloc(fx->n_folders + 1, sizeof(uint32_t));
	if (!fill)
		return -1;
	for (uint32_t i = 0; i < fx->n_items; i++) {
		uint32_t fo = fx->items[i].folder;
		m->order[m->first_item[fo] + fill[fo]++] = i;
	}
	free(fill);
	return 0;
}

/* Folders Exchange creates with a mailbox: a real OST stores them with replid 0, a replid that no
 * entry id in the file ties to a GUID (fixture option "ost_replid0"). */
static int created_with_mailbox(const char *role)
{
	static const char *const roles[] = {"root", "msgfolderroot", "inbox", "deleteditems", "outbox",
					    "sentitems", "searchfolders", "views", "commonviews",
					    "shortcuts"};
	for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return 1;
	return 0;
}

/* PRQ_ID_SECURE4: bytes 0-1 the replid (little-endian), bytes 2-7 the GC in XID (big-endian) order. */
static uint64_t id_secure4(int replid, uint64_t gc)
{
	uint8_t b[8];
	uint64_t v = 0;
	pst_put16(b, (uint16_t)replid);
	for (int i = 0; i < 6; i++)
		b[2 + i] = (uint8_t)(gc >> (8 * (5 - i)));
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* Entry id of folder i: 46-byte Exchange folder entry id in an OST, 24-byte NID entry id in a PST. */
static size_t folder_entry_id(const struct mbx *m, uint32_t i, uint8_t *out)
{
	const struct fx_folder *fo = &m->fx->folders[i];
	memset(out, 0, 46);
	memcpy(out + 4, m->provider, 16);
	if (!m->ost) {
		pst_put32(out + 20, m->folder_nid[i]);
		return 24;
	}
	pst_put16(out + 20, 1); /* eitLTPrivateFolder */
	memcpy(out + 22, m->fx->replicas[fo->replica], 16);
	for (int k = 0; k < 6; k++)
		out[38 + k] = (uint8_t)(fo->gc >> (8 * (5 - k)));
	return 46;
}

/* Properties are collected in a small list; values point into a scratch buffer list. */
struct plist {
	pst_prop p[48];
	size_t n;
	or_buf scratch[24];
	size_t n_scratch;
};

static void pl_free(struct plist *l)
{
	for (size_t i = 0; i < l->n_scratch; i++)
		buf_free(&l->scratch[i]);
	l->n = l->n_scratch = 0;
}

static int pl_num(struct plist *l, uint16_t id, uint16_t type, uint64_t v)
{
	if (l->n >= sizeof(l->p) / sizeof(l->p[0]))
		return -1;
	l->p[l->n++] = (pst_prop){.id = id, .type = type, .num = v};
	return 0;
}

static int pl_bin(struct plist *l, uint16_t id, const void *data, size_t len)
{
	if (l->n >= sizeof(l->p) / sizeof(l->p[0]) || l->n_scratch >= 24)
		return -1;
	or_buf *b = &l->scratch[l->n_scratch++];
	memset(b, 0, sizeof(*b));
	if (buf_append(b, data, len) < 0)
		return -1;
	l->p[l->n++] = (pst_prop){.id = id, .type = PT_BINARY, .data = b->data, .len = (uint32_t)len};
	return 0;
}

static int pl_str(struct plist *l, uint16_t id, const char *s)
{
	if (l->n >= sizeof(l->p) / sizeof(l->p[0]) || l->n_scratch >= 24)
		return -1;
	or_buf *b = &l->scratch[l->n_scratch++];
	memset(b, 0, sizeof(*b));
	if (pst_utf16(b, s) < 0)
		return -1;
	l->p[l->n++] = (pst_prop){.id = id, .type = PT_UNICODE, .data = b->data ? b->data : "", .len = (uint32_t)b->len};
	return 0;
}

static int pl_key(struct plist *l, const struct mbx *m, uint8_t replica, uint64_t gc, const char *role)
{
	if (m->ost) {
		int replid = m->fx->ost_replid0 && created_with_mailbox(role) ? 0 : replica + 1;
		return pl_num(l, 0x67F4, PT_I8, id_secure4(replid, gc));
	}
	uint8_t key[22];
	fx_make_key(m->fx, replica, gc, key);
	return pl_bin(l, 0x65E0, key, sizeof(key));
}

static int pl_entry(struct plist *l, const struct mbx *m, uint16_t id, const char *role)
{
	uint8_t eid[46];
	int f = fx_find_role(m->fx, role);
	if (f < 0)
		return 0;
	size_t n = folder_entry_id(m, (uint32_t)f, eid);
	return pl_bin(l, id, eid, n);
}

static int write_store(struct mbx *m)
{
	struct plist l = {0};
	static const struct {
		uint16_t id;
		const char *role;
		uint32_t mask;
	} eids[] = {
		{0x35E0, "msgfolderroot", 0x01}, {0x35E2, "outbox", 0x04}, {0x35E3, "deleteditems", 0x08},
		{0x35E4, "sentitems", 0x10}, {0x35E5, "views", 0x20}, {0x35E6, "commonviews", 0x40},
		{0x35E7, "searchfolders", 0x80},
	};
	uint32_t mask = 0;
	int rc = -1;
	if (pl_bin(&l, 0x0FF9, m->provider, 16) < 0 || pl_str(&l, 0x3001, m->fx->mailbox) < 0 ||
	    pl_num(&l, 0x67FF, PT_LONG, 0) < 0)
		goto done;
	for (size_t i = 0; i < sizeof(eids) / sizeof(eids[0]); i++) {
		if (fx_find_role(m->fx, eids[i].role) < 0)
			continue;
		mask |= eids[i].mask;
		/* An OST's store does not name its IPM subtree (Outlook's do not): libpst would read the
		 * 46-byte Exchange entry id as a 24-byte one and lose the folder tree. With replid 0 the
		 * store names none of them, as in the real sample. */
		if (m->ost && (eids[i].id == 0x35E0 || (m->fx->ost_replid0 && created_with_mailbox(eids[i].role))))
			continue;
		if (pl_entry(&l, m, eids[i].id, eids[i].role) < 0)
			goto done;
	}
	if (fx_find_role(m->fx, "inbox") >= 0)
		mask |= 0x02;
	if (pl_num(&l, 0x35DF, PT_LONG, mask) < 0)
		goto done;
	rc = pst_write_pc(m->f->ndb, NID_MESSAGE_STORE, 0, l.p, l.n, &m->f->oerr);
done:
	pl_free(&l);
	return rc;
}

/* Descriptor 0x801: records (GUID, replid) sorted by GUID; values array of GUIDs indexed by replid.
 * Replid = replica index + 1; slot 0 (a replid this writer never uses) holds a zero GUID. */
static int write_replica_table(struct mbx *m)
{
	const struct fixture *fx = m->fx;
	pst_hn *hn = NULL;
	uint8_t recs[FX_MAX_REPLICAS * 18], vals[(FX_MAX_REPLICAS + 1) * 16], hdr[8];
	uint32_t hid_bth, hid_vals, hid_hdr;
	int rc = -1;
	if (pst_hn_new(&hn, m->f->ndb, 0x6C, false, &m->f->oerr) < 0)
		return -1;
	memset(vals, 0, sizeof(vals));
	for (uint32_t i = 0; i < fx->n_replicas; i++) {
		memcpy(recs + i * 18, fx->replicas[i], 16);
		pst_put16(recs + i * 18 + 16, (uint16_t)(i + 1));
		memcpy(vals + (i + 1) * 16, fx->replicas[i], 16);
	}
	/* sort records by GUID bytes (insertion sort: at most 64) */
	for (uint32_t i = 1; i < fx->n_replicas; i++) {
		uint8_t t[18];
		memcpy(t, recs + i * 18, 18);
		uint32_t k = i;
		for (; k > 0 && memcmp(recs + (k - 1) * 18, t, 16) > 0; k--)
			memcpy(recs + k * 18, recs + (k - 1) * 18, 18);
		memcpy(recs + k * 18, t, 18);
	}
	if (pst_bth_build(hn, recs, fx->n_replicas, 16, 2, &hid_bth, &m->f->oerr) < 0 ||
	    pst_hn_alloc(hn, vals, (fx->n_replicas + 1) * 16, &hid_vals, &m->f->oerr) < 0)
		goto done;
	pst_put32(hdr, hid_bth);
	pst_put32(hdr + 4, hid_vals);
	if (pst_hn_alloc(hn, hdr, sizeof(hdr), &hid_hdr, &m->f->oerr) < 0 ||
	    pst_hn_write(hn, hid_hdr, NID_REPLICA_TABLE, 0, NULL, &m->f->oerr) < 0)
		goto done;
	rc = 0;
done:
	pst_hn_free(hn);
	return rc;
}

static int write_folder_pc(struct mbx *m, uint32_t i, uint32_t nid, uint32_t parent)
{
	const struct fixture *fx = m->fx;
	const struct fx_folder *fo = &fx->folders[i];
	struct plist l = {0};
	int rc = -1;
	if (pl_str(&l, 0x3001, fo->name) < 0 || pl_num(&l, 0x3602, PT_LONG, fo->content_count) < 0 ||
	    pl_num(&l, 0x3603, PT_LONG, fo->unread_count) < 0 ||
	    pl_num(&l, 0x3617, PT_LONG, fo->assoc_count) < 0 ||
	    pl_num(&l, 0x360A, PT_BOOLEAN, fo->n_children > 0) < 0 || pl_key(&l, m, fo->replica, fo->gc, fo->role) < 0)
		goto done;
	if (fo->cls && pl_str(&l, 0x3613, fo->cls) < 0)
		goto done;
	if (fo->change_key.len && pl_bin(&l, 0x65E2, fo->change_key.data, fo->change_key.len) < 0)
		goto done;
	if (fo->pcl.len && pl_bin(&l, 0x65E3, fo->pcl.data, fo->pcl.len) < 0)
		goto done;
	if (fo->role && strcmp(fo->role, "inbox") == 0) {
		/* the Inbox names the special folders, as Outlook's does */
		if (pl_entry(&l, m, 0x36D0, "calendar") < 0 || pl_entry(&l, m, 0x36D1, "contacts") < 0 ||
		    pl_entry(&l, m, 0x36D2, "journal") < 0 || pl_entry(&l, m, 0x36D3, "notes") < 0 ||
		    pl_entry(&l, m, 0x36D4, "tasks") < 0 || pl_entry(&l, m, 0x36D7, "drafts") < 0)
			goto done;
	}
	rc = pst_write_pc(m->f->ndb, nid, parent, l.p, l.n, &m->f->oerr);
done:
	pl_free(&l);
	return rc;
}

static const pst_col hier_cols[] = {
	{0x3602, PT_LONG}, {0x3603, PT_LONG}, {0x360A, PT_BOOLEAN},
};

static const pst_col content_cols[] = {
	{0x0017, PT_LONG}, {0x0E06, PT_SYSTIME}, {0x0E07, PT_LONG}, {0x0E08, PT_LONG},
};

static uint32_t item_flags(struct mbx *m, uint32_t i)
{
	const struct fx_item *it = &m->fx->items[i];
	uint32_t v = it->has & FXI_MSGFLAGS ? it->msg_flags : 0;
	const struct fx_msg *parts = fx_item_parts(m->fx, i, &m->parts);
	if (parts && parts->n_atts)
		v |= 0x10; /* MSGFLAG_HASATTACH */
	if (it->read)
		v |= 1;
	else
		v &= ~1u;
	return v;
}

static uint32_t item_size(const struct fixture *fx, uint32_t i)
{
	const struct fx_item *it = &fx->items[i];
	if (it->has & FXI_SIZE)
		return it->size;
	return (uint32_t)(512 + 2 * fx_body_len(fx, i) + (it->subject ? 2 * strlen(it->subject) : 0));
}

/* Hierarchy table of folder i (children: folders whose parent is i). */
static int write_hierarchy(struct mbx *m, int64_t i, uint32_t nid)
{
	const struct fixture *fx = m->fx;
	size_t n = 0;
	uint32_t *ids = malloc((fx->n_folders + 1) * sizeof(uint32_t));
	uint64_t *cells = malloc((fx->n_folders + 1) * 3 * sizeof(uint64_t));
	int rc = -1;
	if (!ids || !cells)
		goto done;
	for (uint32_t c = 0; c < fx->n_folders; c++) {
		const struct fx_folder *fo = &fx->folders[c];
		if ((i < 0 && fo->parent != FX_NO_PARENT) || (i >= 0 && fo->parent != (uint32_t)i))
			continue;
		ids[n] = m->folder_nid[c];
		cells[n * 3] = fo->content_count;
		cells[n * 3 + 1] = fo->unread_count;
		cells[n * 3 + 2] = fo->n_children > 0;
		n++;
	}
	rc = pst_write_tc(m->f->ndb, nid, 0, hier_cols, 3, ids, cells, n, &m->f->oerr);
done:
	free(ids);
	free(cells);
	return rc;
}

static int write_contents(struct mbx *m, int64_t i, uint32_t nid, int assoc)
{
	const struct fixture *fx = m->fx;
	uint32_t from = i < 0 ? 0 : m->first_item[i], to = i < 0 ? 0 : m->first_item[i + 1];
	size_t n = 0;
	uint32_t *ids = malloc((to - from + 1) * sizeof(uint32_t));
	uint64_t *cells = malloc((to - from + 1) * 4 * sizeof(uint64_t));
	int rc = -1;
	if (!ids || !cells)
		goto done;
	for (uint32_t k = from; k < to; k++) {
		uint32_t it_i = m->order[k];
		const struct fx_item *it = &fx->items[it_i];
		if (!it->associated != !assoc)
			continue;
		if (m->dmg && m->dmg->unlist && (int64_t)it_i == m->first_plain)
			continue; /* --damage unlisted-message: the node exists, its folder's table omits it */
		ids[n] = m->item_nid[it_i];
		cells[n * 4] = it->importance;
		cells[n * 4 + 1] = (uint64_t)it->received;
		cells[n * 4 + 2] = item_flags(m, it_i);
		cells[n * 4 + 3] = item_size(fx, it_i);
		n++;
	}
	rc = pst_write_tc(m->f->ndb, nid, 0, content_cols, 4, ids, cells, n, &m->f->oerr);
done:
	free(ids);
	free(cells);
	return rc;
}

/* Properties collected in a plist go to the object being written. */
static int put_props(struct mbx *m, pst_object *o, struct plist *l)
{
	for (size_t k = 0; k < l->n; k++)
		if (pst_object_prop(o, &l->p[k], &m->f->oerr) < 0)
			return -1;
	return 0;
}

static int put_str(struct mbx *m, pst_object *o, uint16_t id, const char *s)
{
	struct plist l = {0};
	int rc = pl_str(&l, id, s) < 0 || put_props(m, o, &l) < 0 ? -1 : 0;
	pl_free(&l);
	return rc;
}

static int put_num(struct mbx *m, pst_object *o, uint16_t id, uint16_t type, uint64_t v)
{
	pst_prop p = {.id = id, .type = type, .num = v};
	return pst_object_prop(o, &p, &m->f->oerr);
}

/* A body (UTF-8 text) as PidTagBody, UTF-16: over a heap allocation it goes to a subnode, over a
 * block to a data tree. */
static int put_body(struct mbx *m, pst_object *o, const char *text)
{
	or_buf u = {0};
	int rc = -1;
	if (pst_utf16(&u, text) == 0) {
		pst_prop p = {.id = 0x1000, .type = PT_UNICODE, .data = u.data ? u.data : "", .len = (uint32_t)u.len};
		rc = pst_object_prop(o, &p, &m->f->oerr);
	}
	buf_free(&u);
	return rc;
}

static int put_recipients(struct mbx *m, pst_object *o, const struct fx_msg *parts)
{
	for (uint32_t k = 0; parts && k < parts->n_recips; k++) {
		const struct fx_recipient *r = &parts->recips[k];
		struct plist l = {0};
		int rc = -1;
		if (pl_num(&l, 0x0C15, PT_LONG, r->type) == 0 && pl_str(&l, 0x3001, r->name) == 0 &&
		    pl_str(&l, 0x3002, "SMTP") == 0 && pl_str(&l, 0x3003, r->email) == 0 &&
		    pl_str(&l, 0x39FE, r->email) == 0 && pl_num(&l, 0x0FFE, PT_LONG, 6) == 0 &&
		    pl_num(&l, 0x3900, PT_LONG, 0) == 0)
			rc = pst_object_recipient(o, l.p, l.n, &m->f->oerr);
		pl_free(&l);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int put_named(struct mbx *m, pst_object *o, const struct fx_msg *parts)
{
	for (uint32_t k = 0; parts && k < parts->n_named; k++) {
		const struct fx_named *n = &parts->named[k];
		pst_prop p = {0};
		or_buf u = {0};
		int rc;
		switch (n->kind) {
		case FX_NAMED_LONG: p = (pst_prop){.type = PT_LONG, .num = (uint64_t)n->num}; break;
		case FX_NAMED_BOOL: p = (pst_prop){.type = PT_BOOLEAN, .num = (uint64_t)n->num}; break;
		case FX_NAMED_TIME: p = (pst_prop){.type = PT_SYSTIME, .num = (uint64_t)n->num}; break;
		case FX_NAMED_BINARY:
			p = (pst_prop){.type = PT_BINARY, .data = n->bin.len ? (const void *)n->bin.data : "", .len = n->bin.len};
			break;
		default:
			if (pst_utf16(&u, n->str) < 0)
				return -1;
			p = (pst_prop){.type = PT_UNICODE, .data = u.data ? u.data : "", .len = (uint32_t)u.len};
			break;
		}
		if (n->raw_id) {
			/* an id the map does not list (a cache whose map lost the name) */
			p.id = n->raw_id;
			rc = pst_object_prop(o, &p, &m->f->oerr);
		} else {
			pst_name name = {.is_string = n->name != NULL, .lid = n->lid, .name = n->name};
			memcpy(name.guid, n->guid, 16);
			rc = pst_object_named(o, &name, &p, &m->f->oerr);
		}
		buf_free(&u);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int put_parts(struct mbx *m, pst_object *o, const struct fx_msg *parts, int depth);

/* An attachment: by value or an OLE object (its bytes streamed a piece at a time), by reference, or
 * an embedded message. */
static int put_attachment(struct mbx *m, pst_object *o, const struct fx_attachment *a, int depth)
{
	pst_object *att = NULL, *em = NULL;
	if (pst_attachment_begin(o, &att, &m->f->oerr) < 0)
		return -1;
	int rc = put_num(m, att, 0x3705, PT_LONG, a->method) < 0 || put_str(m, att, 0x3707, a->name) < 0 ||
		 put_str(m, att, 0x3704, a->name) < 0 || put_str(m, att, 0x3001, a->name) < 0 ||
		 put_num(m, att, 0x370B, PT_LONG, 0xFFFFFFFF) < 0 || put_num(m, att, 0x7FFE, PT_BOOLEAN, 0) < 0 ||
		 (a->mime && put_str(m, att, 0x370E, a->mime) < 0) ? -1 : 0;
	if (rc == 0 && a->method == 5) {
		const struct fx_msg *e = a->message;
		rc = put_num(m, att, 0x0E20, PT_LONG, 0);
		if (rc == 0)
			rc = pst_embedded_begin(att, &em, &m->f->oerr);
		if (rc == 0)
			rc = put_str(m, em, 0x001A, e->cls ? e->cls : "IPM.Note");
		if (rc == 0 && e->subject)
			rc = put_str(m, em, 0x0037, e->subject);
		if (rc == 0 && e->body)
			rc = put_body(m, em, e->body);
		if (rc == 0)
			rc = put_num(m, em, 0x0E07, PT_LONG, e->n_atts ? 0x11 : 0x01);
		if (rc == 0)
			rc = put_parts(m, em, e, depth + 1);
		if (rc == 0) {
			rc = pst_object_end(em, &m->f->oerr);
			em = NULL;
		}
	} else if (rc == 0 && a->method == 4) {
		/* by reference only: the path names the file, the attachment holds no bytes */
		rc = put_num(m, att, 0x0E20, PT_LONG, 0) < 0 || put_str(m, att, 0x370D, a->path) < 0 ||
		     put_str(m, att, 0x3708, a->path) < 0 ? -1 : 0;
	} else if (rc == 0) {
		/* by value (PT_BINARY) or an OLE object (PT_OBJECT: its bytes in a subnode of their own) */
		rc = put_num(m, att, 0x0E20, PT_LONG, a->size);
		if (rc == 0)
			rc = pst_object_value_begin(att, 0x3701, a->method == 6 ? PT_OBJECT : PT_BINARY, &m->f->oerr);
		for (uint64_t off = 0; rc == 0 && off < a->size;) {
			size_t n = a->size - off < 65536 ? (size_t)(a->size - off) : 65536;
			if (a->data) {
				rc = pst_object_value_write(att, a->data + off, n, &m->f->oerr);
			} else {
				fx_attachment_bytes(a->seed, off, m->chunk, n);
				rc = pst_object_value_write(att, m->chunk, n, &m->f->oerr);
			}
			off += n;
		}
		if (rc == 0)
			rc = pst_object_value_end(att, &m->f->oerr);
	}
	if (rc == 0)
		return pst_object_end(att, &m->f->oerr);
	pst_object_abort(em);
	pst_object_abort(att);
	return -1;
}

static int put_parts(struct mbx *m, pst_object *o, const struct fx_msg *parts, int depth)
{
	if (!parts)
		return 0;
	if (put_recipients(m, o, parts) < 0 || put_named(m, o, parts) < 0)
		return -1;
	for (uint32_t k = 0; k < parts->n_atts; k++)
		if (put_attachment(m, o, &parts->atts[k], depth) < 0)
			return -1;
	return 0;
}

static int write_message(struct mbx *m, uint32_t i, char **body_buf, size_t *body_cap)
{
	const struct fixture *fx = m->fx;
	const struct fx_item *it = &fx->items[i];
	struct plist l = {0};
	pst_object *o = NULL;
	int rc = -1;
	size_t blen = fx_body_len(fx, i);
	uint32_t flags = item_flags(m, i);
	const struct fx_msg *parts = fx_item_parts(fx, i, &m->parts);
	if (pl_str(&l, 0x001A, fx->classes[it->cls]) < 0 || pl_num(&l, 0x0E07, PT_LONG, flags) < 0 ||
	    pl_num(&l, 0x0E08, PT_LONG, item_size(fx, i)) < 0 ||
	    pl_num(&l, 0x0017, PT_LONG, it->importance) < 0 || pl_key(&l, m, it->replica, it->gc, NULL) < 0)
		goto done;
	if (it->subject && pl_str(&l, 0x0037, it->subject) < 0)
		goto done;
	if (it->message_id && pl_str(&l, 0x1035, it->message_id) < 0)
		goto done;
	if ((it->has & FXI_FLAG) && pl_num(&l, 0x1090, PT_LONG, it->flag_status) < 0)
		goto done;
	if (((it->has & FXI_RECEIVED) && pl_num(&l, 0x0E06, PT_SYSTIME, (uint64_t)it->received) < 0) ||
	    ((it->has & FXI_SENT) && pl_num(&l, 0x0039, PT_SYSTIME, (uint64_t)it->sent) < 0) ||
	    ((it->has & FXI_CREATED) && pl_num(&l, 0x3007, PT_SYSTIME, (uint64_t)it->created) < 0) ||
	    ((it->has & FXI_MODIFIED) && pl_num(&l, 0x3008, PT_SYSTIME, (uint64_t)it->modified) < 0))
		goto done;
	if (it->change_key.len && pl_bin(&l, 0x65E2, it->change_key.data, it->change_key.len) < 0)
		goto done;
	if (it->pcl.len && pl_bin(&l, 0x65E3, it->pcl.data, it->pcl.len) < 0)
		goto done;
	if (pst_node_message_begin(m->f->ndb, m->names, m->item_nid[i], m->folder_nid[it->folder], &o, &m->f->oerr) < 0 ||
	    put_props(m, o, &l) < 0)
		goto done;
	if (blen) {
		if (blen + 1 > *body_cap) {
			char *p = realloc(*body_buf, blen + 1);
			if (!p)
				goto done;
			*body_buf = p;
			*body_cap = blen + 1;
		}
		fx_body_text(fx, i, *body_buf, blen);
		(*body_buf)[blen] = 0;
		if (put_body(m, o, *body_buf) < 0)
			goto done;
	}
	if (put_parts(m, o, parts, 0) < 0)
		goto done;
	rc = pst_object_end(o, &m->f->oerr);
	o = NULL;
	/* remember the first ordinary message's property block: damage modes aim at it */
	if (rc == 0 && m->dmg && m->dmg->item < 0 && !it->associated) {
		/* the PC's heap is the last data block written: the body, the tables and the
		 * attachments, if any, went before it */
		pst_ndb_layout lay;
		pst_ndb_layout_get(m->f->ndb, &lay);
		m->dmg->item = i;
		m->dmg->folder = it->folder;
		m->dmg->nid = m->item_nid[i];
		m->dmg->bid = lay.last_bid;
		m->dmg->offset = lay.last_ib;
		m->dmg->length = lay.last_cb;
	}
done:
	pst_object_abort(o);
	pl_free(&l);
	return rc;
}

static int write_folder(struct mbx *m, uint32_t i)
{
	uint32_t nid = m->folder_nid[i], idx = nid >> 5;
	const struct fx_folder *fo = &m->fx->folders[i];
	uint32_t parent = fo->parent == FX_NO_PARENT ? NID_ROOT_FOLDER : m->folder_nid[fo->parent];
	if (write_folder_pc(m, i, nid, parent) < 0 ||
	    write_hierarchy(m, i, PST_NID(PST_NID_TYPE_HIERARCHY_TABLE, idx)) < 0 ||
	    write_contents(m, i, PST_NID(PST_NID_TYPE_CONTENTS_TABLE, idx), 0) < 0 ||
	    write_contents(m, i, PST_NID(PST_NID_TYPE_ASSOC_CONTENTS_TABLE, idx), 1) < 0)
		return -1;
	return 0;
}

/* The unnamed top folder of every file, parent of the fixture's top folders. */
static int write_file_root(struct mbx *m)
{
	struct plist l = {0};
	uint32_t idx = NID_ROOT_FOLDER >> 5;
	int has_children = 0, rc = -1;
	for (uint32_t i = 0; i < m->fx->n_folders; i++)
		has_children |= m->fx->folders[i].parent == FX_NO_PARENT;
	if (pl_str(&l, 0x3001, "") < 0 || pl_num(&l, 0x3602, PT_LONG, 0) < 0 ||
	    pl_num(&l, 0x3603, PT_LONG, 0) < 0 || pl_num(&l, 0x360A, PT_BOOLEAN, has_children) < 0)
		goto done;
	if (pst_write_pc(m->f->ndb, NID_ROOT_FOLDER, NID_ROOT_FOLDER, l.p, l.n, &m->f->oerr) < 0 ||
	    write_hierarchy(m, -1, PST_NID(PST_NID_TYPE_HIERARCHY_TABLE, idx)) < 0 ||
	    write_contents(m, -1, PST_NID(PST_NID_TYPE_CONTENTS_TABLE, idx), 0) < 0 ||
	    write_contents(m, -1, PST_NID(PST_NID_TYPE_ASSOC_CONTENTS_TABLE, idx), 1) < 0)
		goto done;
	rc = 0;
done:
	pl_free(&l);
	return rc;
}

int ow_write_mailbox(struct ow_file *f, const struct fixture *fx, struct ow_damage_info *dmg)
{
	struct mbx m = {.f = f, .fx = fx, .ost = f->format != OW_PST, .dmg = dmg};
	char *body = NULL;
	size_t body_cap = 0;
	int rc = -1;
	uint64_t st = fx->seed ^ 0x50524F5649444552ULL;
	for (int i = 0; i < 16; i += 8) {
		uint64_t x = fx_rand(&st);
		memcpy(m.provider + i, &x, 8);
	}
	if (dmg)
		dmg->item = dmg->folder = -1;
	m.first_plain = -1;
	for (uint32_t i = 0; i < fx->n_items && m.first_plain < 0; i++)
		if (!fx->items[i].associated)
			m.first_plain = i;
	if (assign_nids(&m) < 0 || pst_nameid_new(&m.names, &f->oerr) < 0 || !(m.chunk = malloc(65536)))
		goto done;
	if (write_store(&m) < 0 || write_file_root(&m) < 0)
		goto done;
	if (m.ost && write_replica_table(&m) < 0)
		goto done;
	for (uint32_t i = 0; i < fx->n_folders; i++)
		if (write_folder(&m, i) < 0)
			goto done;
	for (uint32_t i = 0; i < fx->n_items; i++)
		if (write_message(&m, i, &body, &body_cap) < 0)
			goto done;
	/* the map last: the messages' named properties are in it */
	if (pst_nameid_write(m.names, f->ndb, &f->oerr) < 0)
		goto done;
	rc = 0;
done:
	if (rc < 0)
		ow_fail(f);
	free(body);
	free(m.chunk);
	pst_nameid_free(m.names);
	free(m.folder_nid);
	free(m.item_nid);
	free(m.first_item);
	free(m.order);
	return rc;
}
