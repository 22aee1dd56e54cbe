/*
 * native.c: the cache reader's default implementation of store.h, on ndb.c and ltp.c.
 *
 * Both B-trees are loaded once into sorted arrays, so finding a node is a binary search and the
 * cost of a listing grows with the number of messages, not with its square. A folder's children
 * are the rows of its hierarchy (0x0D), contents (0x0E) and associated contents (0x0F) tables, in
 * row order, as Outlook and libpff list them; a row whose node is missing is an unreadable child,
 * and so is a missing table of a normal folder (search folders have none).
 */
#include "ltp.h"

#include <stdlib.h>
#include <string.h>

#define NID_MESSAGE_STORE 0x21
#define NID_ROOT_FOLDER 0x122
#define NID_REPLICA_TABLE 0x801

typedef struct {
	st_file base;
	ndb_file nf;
	ndb_report rep;  /* page problems met while loading the B-trees */
	or_error err;    /* the ndb layer's error slot for reads outside a call */
	ltp_heap heap;   /* reused from node to node */
	char *path;
	uint8_t *reached; /* one byte per node B-tree entry: opened as the file was walked */
} nat_file;

typedef struct {
	st_node base;
	nat_file *file;
	uint64_t data, sub;
	uint32_t *kids[3];
	size_t n_kids[3];
	bool listed[3];
} nat_node;

static const st_ops native_ops;

static int open_node(nat_file *f, uint32_t nid, st_node **out, or_error *err)
{
	*out = NULL;
	const ndb_nbt_ent *e = ndb_find_node(&f->nf, nid);
	if (!e)
		return or_fail(err, OR_ERR_FORMAT, "node %u is not in the node B-tree", nid);
	f->reached[e - f->nf.nbt] = 1;
	nat_node *n = calloc(1, sizeof *n);
	if (!n)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	n->base.ops = &native_ops;
	n->base.id = nid;
	n->file = f;
	n->data = e->data;
	n->sub = e->sub;
	*out = &n->base;
	return 0;
}

static int heap_of(nat_file *f, uint32_t nid, uint64_t data, uint64_t sub, or_error *err)
{
	return ltp_open(&f->heap, &f->nf, nid, data, sub, err);
}

/* ---------------------------------------------------------------- file */

static void n_close(st_file *sf)
{
	nat_file *f = (nat_file *)sf;
	ndb_close(&f->nf);
	ndb_report_free(&f->rep);
	ltp_free(&f->heap);
	free(f->path);
	free(f->reached);
	free(f);
}

int native_open(st_file **out, const char *path, or_error *err)
{
	*out = NULL;
	nat_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	f->base.ops = &native_ops;
	int rc = ndb_open(&f->nf, path, &f->rep, err);
	if (rc > 0) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s", f->rep.skipped ? f->rep.skipped : "not a PST/OST file");
	} else if (rc == 0 && (f->nf.n_nbt == 0 || f->nf.n_bbt == 0)) {
		if (f->nf.eof > f->nf.size)
			rc = or_fail(err, OR_ERR_FORMAT, "the file is truncated: %llu bytes of the %llu its header states",
			             (unsigned long long)f->nf.size, (unsigned long long)f->nf.eof);
		else
			rc = or_fail(err, OR_ERR_FORMAT, "the file is damaged beyond opening: its %s B-tree cannot be read%s%s",
			             f->nf.n_nbt == 0 ? "node" : "block",
			             f->rep.n_problems ? ": " : "", f->rep.n_problems ? f->rep.problems[0].message : "");
	}
	if (rc == 0 && !(f->reached = calloc(f->nf.n_nbt, 1)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc) {
		n_close(&f->base);
		return rc;
	}
	*out = &f->base;
	return 0;
}

static void n_get_info(st_file *sf, st_info *info)
{
	nat_file *f = (nat_file *)sf;
	memset(info, 0, sizeof *info);
	info->is_ost = f->nf.is_ost;
	info->is_pst = !f->nf.is_ost;
	static const char *const names[2][3] = {
		{"pst-ansi", "pst-unicode-512", "pst-unicode-4k"},
		{"ost-ansi", "ost-unicode-512", "ost-unicode-4k"},
	};
	info->format = names[f->nf.is_ost][f->nf.f->kind];
	info->encryption = f->nf.crypt == NDB_CRYPT_NONE ? "none" : f->nf.crypt == NDB_CRYPT_PERMUTE ? "compressible" : "high";
	info->size = (int64_t)f->nf.size;
	info->corrupted = f->rep.bad_pages > 0 || f->rep.limit_hit || f->nf.eof > f->nf.size;
	info->bytes_read = (int64_t)f->nf.bytes_read;
}

static bool is_item_type(uint32_t nid)
{
	uint32_t t = nid & 0x1F;
	return t == 0x02 || t == 0x03 || t == 0x04 || t == 0x08;
}

/* Folders and messages in the node B-tree that the walk did not reach: no folder's table lists
 * them (called after the walk). */
static int n_orphan_count(st_file *sf, int64_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	int64_t count = 0;
	for (size_t i = 0; i < f->nf.n_nbt; i++)
		if (is_item_type(f->nf.nbt[i].nid) && !f->reached[i])
			count++;
	*n = count;
	return 0;
}

/* The messages (normal and associated) in the node B-tree that the walk did not reach, by node id
 * (called after the walk has opened every row of every table). */
static int n_unreached_messages(st_file *sf, uint32_t **out, size_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	size_t count = 0, cap = 0;
	*out = NULL;
	for (size_t i = 0; i < f->nf.n_nbt; i++) {
		uint32_t t = f->nf.nbt[i].nid & 0x1F;
		if ((t != 0x04 && t != 0x08) || f->reached[i])
			continue;
		uint32_t *slot = or_append((void **)out, &count, &cap, sizeof *slot);
		if (!slot) {
			free(*out);
			*out = NULL;
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		*slot = f->nf.nbt[i].nid;
	}
	*n = count;
	return 0;
}

/* libpff's scan for deleted items: the native reader has none of its own. */
static int n_recover(st_file *sf, int64_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	st_file *p = NULL;
	int rc = pff_open(&p, f->path, err);
	if (rc == 0)
		rc = st_recover(p, n, err);
	st_close(p);
	return rc;
}

static int n_replica_guids(st_file *sf, uint8_t (**out)[16], size_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	*out = NULL;
	*n = 0;
	const ndb_nbt_ent *e = ndb_find_node(&f->nf, NID_REPLICA_TABLE);
	if (!e)
		return 0; /* no replica table: a PST, or a file without one */
	const uint8_t *hdr;
	size_t len;
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t count = 0;
	or_error e2 = {0};
	int rc = heap_of(f, e->nid, e->data, e->sub, &e2);
	if (rc == 0 && (rc = ltp_hid(&f->heap, f->heap.user_root, &hdr, &len, &e2)) == 0 && len < 8)
		rc = or_fail(&e2, OR_ERR_FORMAT, "its header is %zu bytes", len);
	if (rc == 0)
		rc = ltp_bth_records(&f->heap, ndb_le32(hdr), &rec, &count, &cb_key, &cb_ent, &e2);
	if (rc == 0 && cb_key != 16)
		rc = or_fail(&e2, OR_ERR_FORMAT, "its records have %u-byte keys", cb_key);
	if (rc == 0 && !(*out = calloc(count ? count : 1, 16)))
		rc = or_fail(&e2, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++)
		memcpy((*out)[(*n)++], rec + i * ((size_t)cb_key + cb_ent), 16);
	free(rec);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc == OR_ERR_NOMEM ? or_fail(err, rc, "out of memory")
		                          : or_fail(err, rc, "cannot read the replica table (descriptor 0x801): %s", e2.message);
	}
	return 0;
}

static int n_message_store(st_file *sf, st_node **out, or_error *err)
{
	int rc = open_node((nat_file *)sf, NID_MESSAGE_STORE, out, err);
	return rc == OR_ERR_FORMAT ? or_fail(err, OR_ERR_NOTFOUND, "the file has no message store") : rc;
}

static int n_root_folder(st_file *sf, st_node **out, or_error *err)
{
	int rc = open_node((nat_file *)sf, NID_ROOT_FOLDER, out, err);
	return rc == OR_ERR_FORMAT ? or_fail(err, OR_ERR_NOTFOUND, "the file has no root folder") : rc;
}

/* ---------------------------------------------------------------- nodes */

static void n_node_free(st_node *sn)
{
	nat_node *n = (nat_node *)sn;
	for (int k = 0; k < 3; k++)
		free(n->kids[k]);
	free(n);
}

static int n_read_props(st_node *sn, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	out->n = 0;
	int rc = heap_of(n->file, n->base.id, n->data, n->sub, err);
	if (rc == 0)
		rc = ltp_pc_read(&n->file->heap, ids, n_ids, out, err);
	return rc ? or_wrap(err, "cannot read the item's properties") : 0;
}

static int n_folder_name(st_node *sn, char **out, or_error *err)
{
	static const uint16_t ids[] = {0x3001};
	st_props props = {0};
	*out = NULL;
	int rc = n_read_props(sn, ids, 1, &props, err);
	if (rc)
		return or_wrap(err, "cannot read the folder name");
	const st_prop *p = st_props_get(&props, 0x3001);
	if (p && (p->type == 0x1F || p->type == 0x1E) && !(*out = strdup((const char *)p->data)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	st_props_clear(&props);
	return rc;
}

static const char *const kind_what[3] = {"cannot list the sub folders", "cannot list the messages",
                                         "cannot list the associated messages"};

static int list_children(nat_node *n, st_children kind, or_error *err)
{
	if (n->listed[kind])
		return 0;
	static const uint32_t table_type[3] = {0x0D, 0x0E, 0x0F};
	uint32_t tnid = (n->base.id & ~0x1Fu) | table_type[kind];
	nat_file *f = n->file;
	const ndb_nbt_ent *t = ndb_find_node(&f->nf, tnid);
	int rc = 0;
	if (!t && (n->base.id & 0x1F) == 0x02)
		/* every normal folder has all three tables (search folders have none of them) */
		rc = or_fail(err, OR_ERR_FORMAT, "its table node %u is not in the node B-tree", tnid);
	if (t && (rc = heap_of(f, tnid, t->data, t->sub, err)) == 0)
		rc = ltp_tc_rows(&f->heap, &n->kids[kind], &n->n_kids[kind], err);
	if (rc)
		return or_wrap(err, "%s", kind_what[kind]);
	n->listed[kind] = true;
	return 0;
}

static int n_child_count(st_node *sn, st_children kind, int *count, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	*count = 0;
	int rc = list_children(n, kind, err);
	if (rc)
		return rc;
	*count = n->n_kids[kind] > INT32_MAX ? INT32_MAX : (int)n->n_kids[kind];
	return 0;
}

static int n_child(st_node *sn, st_children kind, int index, st_node **out, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	*out = NULL;
	int rc = list_children(n, kind, err);
	if (rc)
		return rc;
	if (index < 0 || (size_t)index >= n->n_kids[kind])
		return or_fail(err, OR_ERR_NOTFOUND, "cannot read the item: no child %d", index);
	uint32_t nid = n->kids[kind][index];
	if (!ndb_find_node(&n->file->nf, nid))
		return or_fail(err, OR_ERR_FORMAT, "cannot read the item: node %u, listed in the folder's table, is not in "
		               "the node B-tree", nid);
	return open_node(n->file, nid, out, err);
}

static const st_ops native_ops = {
	.name = "native",
	.close = n_close,
	.get_info = n_get_info,
	.orphan_count = n_orphan_count,
	.unreached_messages = n_unreached_messages,
	.recover = n_recover,
	.replica_guids = n_replica_guids,
	.message_store = n_message_store,
	.root_folder = n_root_folder,
	.node_free = n_node_free,
	.folder_name = n_folder_name,
	.child_count = n_child_count,
	.child = n_child,
	.read_props = n_read_props,
};
