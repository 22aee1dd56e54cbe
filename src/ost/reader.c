/*
 * reader.c: `ostrecon ost`: lists a cache file into a snapshot.
 *
 * Two passes. The first walks the folder tree and keeps the folders in memory (they are few): their
 * PRQ_ID_SECURE4 values and the special-folder entry ids check the replica table's replid -> GUID
 * records (and tie replids the table leaves out), which every key depends on. The second pass streams the messages folder by folder straight to the output, so
 * memory does not grow with the number of messages. Nothing stops at a bad item: each one that
 * cannot be read becomes an error line and the walk goes on.
 */
#include "internal.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64 /* folder nesting bound: a damaged file must not recurse forever */

/* Property ids read from folders and messages. */
enum {
	P_IMPORTANCE = 0x0017, P_MESSAGE_CLASS = 0x001A, P_SUBJECT = 0x0037, P_SUBMIT_TIME = 0x0039,
	P_DELIVERY_TIME = 0x0E06, P_MESSAGE_FLAGS = 0x0E07, P_MESSAGE_SIZE = 0x0E08,
	P_INTERNET_MESSAGE_ID = 0x1035, P_FLAG_STATUS = 0x1090, P_DISPLAY_NAME = 0x3001,
	P_CREATION_TIME = 0x3007, P_LAST_MODIFICATION_TIME = 0x3008, P_FOLDER_TYPE = 0x3601,
	P_CONTENT_COUNT = 0x3602, P_CONTENT_UNREAD = 0x3603, P_CONTAINER_CLASS = 0x3613,
	P_ASSOC_CONTENT_COUNT = 0x3617, P_SOURCE_KEY = 0x65E0, P_CHANGE_KEY = 0x65E2,
	P_PREDECESSOR_CHANGE_LIST = 0x65E3, P_PRQ_ID_SECURE4 = 0x67F4,
};

static const uint16_t item_props[] = {
	P_IMPORTANCE, P_MESSAGE_CLASS, P_SUBJECT, P_SUBMIT_TIME, P_DELIVERY_TIME, P_MESSAGE_FLAGS,
	P_MESSAGE_SIZE, P_INTERNET_MESSAGE_ID, P_FLAG_STATUS, P_CREATION_TIME, P_LAST_MODIFICATION_TIME,
	P_SOURCE_KEY, P_CHANGE_KEY, P_PREDECESSOR_CHANGE_LIST, P_PRQ_ID_SECURE4,
};

/* What the first pass keeps of each folder beyond its snapshot record. */
typedef struct {
	st_node *node;
	size_t index;      /* in snap->folders */
	uint8_t prq[8];
	bool has_prq;
	int64_t folder_type;
	int64_t messages_found, unread_found; /* filled by the second pass */
	bool listed;       /* the message list could be read */
	st_props entryids; /* special-folder entry ids it carries */
} folder_work;

typedef struct {
	const ost_options *opt;
	st_file *file;
	st_info info;
	snap_t *snap;
	folder_work *work;
	size_t n_work, cap_work;
	ost_replica_map replicas;
	uint8_t (*table)[16];
	size_t n_table;
	st_props store_entryids;
	size_t unresolved;
	bool keep;         /* items go into snap (ost_capture_snap), not to a file */
	or_error err;
	progress_task *prog;            /* the progress line, NULL when not shown */
	const char *phase;
	size_t folders_done;            /* pass 2 */
	int64_t messages_done, messages_total; /* pass 2; the total the folders announce, -1 unknown */
} reader;

/* The progress line: folders and messages read of what the file announces, MB/s, time left. */
static void progress(reader *r, bool final)
{
	if (!r->prog)
		return;
	progress_state st;
	progress_state_init(&st);
	st.phase = r->phase;
	bool pass2 = r->messages_total != -2;
	progress_state_count(&st, "folders", pass2 ? (int64_t)r->folders_done : (int64_t)r->n_work,
	                     pass2 ? (int64_t)r->n_work : -1);
	if (pass2)
		st.eta_count = progress_state_count(&st, "messages", r->messages_done, r->messages_total);
	st_info info;
	st_get_info(r->file, &info);
	st.bytes = info.bytes_read;
	if (final) {
		progress_finish(r->prog, &st);
		r->prog = NULL;
	} else {
		progress_update(r->prog, &st);
	}
}

static uint16_t folder_prop_ids[40];
static size_t n_folder_prop_ids;

static void init_prop_lists(void)
{
	if (n_folder_prop_ids)
		return;
	static const uint16_t base[] = {
		P_FOLDER_TYPE, P_CONTENT_COUNT, P_CONTENT_UNREAD, P_CONTAINER_CLASS, P_ASSOC_CONTENT_COUNT,
		P_SOURCE_KEY, P_CHANGE_KEY, P_PREDECESSOR_CHANGE_LIST, P_PRQ_ID_SECURE4,
	};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
		folder_prop_ids[n_folder_prop_ids++] = base[i];
	for (size_t i = 0; i < ost_n_special_entryids; i++) {
		bool seen = false;
		for (size_t j = 0; j < n_folder_prop_ids; j++)
			seen |= folder_prop_ids[j] == ost_special_entryids[i].prop;
		if (!seen)
			folder_prop_ids[n_folder_prop_ids++] = ost_special_entryids[i].prop;
	}
}

static const char *nid_text(uint32_t nid, char buf[32])
{
	snprintf(buf, 32, "nid:%u", nid);
	return buf;
}

static const char *node_id(reader *r, uint32_t nid)
{
	char buf[32];
	return snap_strdup(r->snap, nid_text(nid, buf));
}

/* Item ids, subjects and message ids are nearly always unique: copied without interning (as
 * snap_load does), which would only grow the intern table. */
static const char *unique_str(reader *r, const char *s)
{
	return s ? (const char *)snap_bindup(r->snap, (const uint8_t *)s, strlen(s) + 1).data : NULL;
}

static const char *item_id(reader *r, uint32_t nid)
{
	char buf[32];
	return unique_str(r, nid_text(nid, buf));
}

/* Appends a path segment, escaping '/' and '\' (docs/SNAPSHOT.md). */
static const char *child_path(reader *r, const char *parent, const char *name)
{
	or_buf b = {0};
	const char *result = NULL;
	if (!parent) {
		result = snap_strdup(r->snap, "/");
		return result;
	}
	buf_append(&b, parent, strlen(parent));
	if (b.len > 1)
		buf_append(&b, "/", 1);
	for (const char *p = name ? name : ""; *p; p++) {
		if (*p == '/' || *p == '\\')
			buf_append(&b, "\\", 1);
		buf_append(&b, p, 1);
	}
	if (b.data)
		result = snap_strdup(r->snap, b.data);
	buf_free(&b);
	return result;
}

static snap_error *add_error(reader *r, snap_err_scope scope, const char *code, const char *id,
                             const char *folder_id, const char *path, const char *message)
{
	snap_error *e = snap_add_error(r->snap, scope, code, message);
	if (e) {
		e->id = id;
		e->folder_id = folder_id;
		e->path = path;
	}
	return e;
}

static folder_work *add_work(reader *r)
{
	folder_work *w = or_append((void **)&r->work, &r->n_work, &r->cap_work, sizeof *w);
	if (w)
		w->folder_type = -1;
	return w;
}

static bool is_entryid_prop(uint16_t id)
{
	for (size_t i = 0; i < ost_n_special_entryids; i++)
		if (ost_special_entryids[i].prop == id)
			return true;
	return false;
}

/* Reads one folder's record; `node` is owned by the work entry from here on. */
static int read_folder(reader *r, st_node *node, const char *parent_id, const char *parent_path,
                       const char *parent_role, int depth)
{
	folder_work *w = add_work(r);
	snap_folder *f = w ? snap_add_folder(r->snap) : NULL;
	if (!f) {
		st_node_free(node);
		return or_fail(&r->err, OR_ERR_NOMEM, "out of memory");
	}
	w->node = node;
	w->index = r->snap->n_folders - 1;
	progress(r, false);
	f->id = node_id(r, st_node_id(node));
	f->parent_id = parent_id;

	char *name = NULL;
	or_error e = {0};
	if (parent_id && st_folder_name(node, &name, &e) != 0)
		add_error(r, ERR_SCOPE_FOLDER, "unreadable", f->id, parent_id, parent_path, e.message);
	f->name = snap_strdup(r->snap, name);
	free(name);
	f->path = child_path(r, parent_path, f->name);

	st_props props = {0};
	if (st_read_props(node, folder_prop_ids, n_folder_prop_ids, &props, &e) != 0) {
		add_error(r, ERR_SCOPE_FOLDER, "unreadable", f->id, parent_id, f->path, e.message);
		r->snap->integrity.unreadable_folders++;
	}
	int64_t v;
	if (st_props_int(&props, P_FOLDER_TYPE, &v))
		w->folder_type = v;
	else if ((st_node_id(node) & 0x1f) == 0x03)
		w->folder_type = 2; /* NID type 0x03: a search folder (an OST has no PR_FOLDER_TYPE) */
	if (st_props_int(&props, P_CONTENT_COUNT, &v))
		f->content_count = v;
	if (st_props_int(&props, P_CONTENT_UNREAD, &v))
		f->unread_count = v;
	if (st_props_int(&props, P_ASSOC_CONTENT_COUNT, &v))
		f->assoc_count = v;
	const char *str = st_props_str(&props, P_CONTAINER_CLASS);
	if (str)
		f->cls = snap_strdup(r->snap, str);
	const st_prop *p;
	if ((p = st_props_get(&props, P_CHANGE_KEY)))
		f->change_key = snap_bindup(r->snap, p->data, p->len);
	if ((p = st_props_get(&props, P_PREDECESSOR_CHANGE_LIST)))
		f->pcl = snap_bindup(r->snap, p->data, p->len);
	if ((p = st_props_get(&props, P_SOURCE_KEY)))
		ost_ident_from_source_key(p->data, p->len, &f->ident);
	if ((p = st_props_get(&props, P_PRQ_ID_SECURE4)) && p->len == 8) {
		memcpy(w->prq, p->data, 8);
		w->has_prq = true;
	}
	/* Keep the entry ids for the replica and role passes. */
	for (size_t i = 0; i < props.n; i++) {
		if (is_entryid_prop(props.p[i].id) && w->entryids.n < ST_MAX_PROPS &&
		    st_props_move_one(&w->entryids, &props, i) != 0) {
			st_props_clear(&props);
			return or_fail(&r->err, OR_ERR_NOMEM, "out of memory");
		}
	}
	st_props_clear(&props);
	f->role = ost_role_by_name(parent_role, f->name, w->folder_type);

	/* Children. `f` and `w` may move as the arrays grow: keep what we need by value. */
	const char *id = f->id, *path = f->path, *role = f->role;
	int count = 0;
	if (st_child_count(node, ST_SUBFOLDERS, &count, &e) != 0) {
		if (depth == 0) /* no folder tree: nothing of the file can be listed */
			return or_fail(&r->err, OR_ERR_FORMAT, "the folder tree cannot be read: %s", e.message);
		add_error(r, ERR_SCOPE_FOLDER, "unreadable", id, parent_id, path, e.message);
		r->snap->integrity.unreadable_folders++;
		return 0;
	}
	if (count && depth >= MAX_DEPTH) {
		add_error(r, ERR_SCOPE_FOLDER, "limit", id, parent_id, path,
		          "folders nested deeper than 64 levels: the tree below was not read");
		return 0;
	}
	for (int i = 0; i < count; i++) {
		st_node *child = NULL;
		if (st_child(node, ST_SUBFOLDERS, i, &child, &e) != 0) {
			char msg[640];
			snprintf(msg, sizeof msg, "sub folder %d of %d: %s", i + 1, count, e.message);
			add_error(r, ERR_SCOPE_FOLDER, "unreadable", NULL, id, path, msg);
			r->snap->integrity.unreadable_folders++;
			continue;
		}
		int rc = read_folder(r, child, id, path, role, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* Which folders have this global counter? Returns the only one, or -1 (none or ambiguous). */
static long folder_by_gc(reader *r, const uint8_t gc[SNAP_GC_LEN])
{
	long found = -1;
	for (size_t i = 0; i < r->n_work; i++) {
		if (!r->work[i].has_prq || memcmp(r->work[i].prq + 2, gc, SNAP_GC_LEN) != 0)
			continue;
		if (found >= 0)
			return -1;
		found = (long)i;
	}
	return found;
}

static long folder_by_nid(reader *r, uint32_t nid)
{
	for (size_t i = 0; i < r->n_work; i++)
		if (st_node_id(r->work[i].node) == nid)
			return (long)i;
	return -1;
}

/* An entry id names a folder: 46-byte Exchange form (GUID + GC) or 24-byte PST form (NID). */
static long folder_by_entryid(reader *r, const st_prop *p, bool learn)
{
	uint8_t guid[16], gc[SNAP_GC_LEN];
	if (ost_folder_entryid_parse(p->data, p->len, guid, gc) == 0) {
		long i = folder_by_gc(r, gc);
		if (i >= 0 && learn) {
			uint16_t replid;
			ost_prq_split(r->work[i].prq, &replid, gc);
			ost_replica_learn(&r->replicas, replid, guid, "special-folder entry id");
		}
		return i;
	}
	if (p->len == 24)
		return folder_by_nid(r, (uint32_t)(p->data[20] | p->data[21] << 8 | p->data[22] << 16 |
		                                   (uint32_t)p->data[23] << 24));
	return -1;
}

/* Goes through every special-folder entry id: learn replids (learn = true), or set roles. */
static void use_entryids(reader *r, bool learn)
{
	for (size_t s = 0; s < ost_n_special_entryids; s++) {
		const ost_special_entryid *sp = &ost_special_entryids[s];
		/* On the store, or on any folder (Exchange puts them on the Inbox and the IPM root). */
		for (size_t src = 0; src <= r->n_work; src++) {
			const st_props *props = src == r->n_work ? &r->store_entryids : &r->work[src].entryids;
			if (sp->on_store != (src == r->n_work))
				continue;
			int index = 0;
			for (size_t k = 0; k < props->n; k++) {
				const st_prop *p = &props->p[k];
				if (p->id != sp->prop)
					continue;
				if (sp->index >= 0 && index++ != sp->index)
					continue;
				long i = folder_by_entryid(r, p, learn);
				snap_folder *f = i >= 0 ? &r->snap->folders[r->work[i].index] : NULL;
				if (f && !learn && ost_role_fits_class(sp->role, f->cls))
					f->role = sp->role;
			}
		}
	}
}

/* Folders the entry ids did not name keep their name-based role; children of a renamed-by-role
 * folder (e.g. a localized Sync Issues) get their roles from the fixed parent. */
static void fix_child_roles(reader *r)
{
	for (size_t i = 0; i < r->n_work; i++) {
		snap_folder *f = &r->snap->folders[r->work[i].index];
		if (!f->parent_id)
			continue;
		const char *parent_role = NULL;
		for (size_t j = 0; j < r->snap->n_folders; j++)
			if (strcmp(r->snap->folders[j].id, f->parent_id) == 0)
				parent_role = r->snap->folders[j].role;
		if (parent_role && (strcmp(f->role, "other") == 0 || strcmp(f->role, "ipm") == 0)) {
			const char *role = ost_role_by_name(parent_role, f->name, r->work[i].folder_type);
			if (strcmp(role, "other") != 0)
				f->role = role;
		}
	}
}

static void resolve_folder_keys(reader *r)
{
	for (size_t i = 0; i < r->n_work; i++) {
		snap_folder *f = &r->snap->folders[r->work[i].index];
		if (f->ident.origin == KEY_SOURCE_KEY)
			continue;
		if (r->work[i].has_prq)
			ost_ident_from_prq(&r->replicas, r->work[i].prq, &f->ident);
		if (!f->ident.has_key)
			r->unresolved++;
	}
}

static void fill_item(reader *r, snap_item *it, const st_props *props)
{
	const st_prop *p;
	int64_t v;
	const char *str;
	if ((str = st_props_str(props, P_MESSAGE_CLASS)))
		it->cls = snap_strdup(r->snap, str);
	if ((str = st_props_str(props, P_SUBJECT))) {
		/* A stored subject may start with U+0001 and a character giving the prefix length. */
		if (str[0] == 0x01 && str[1])
			str += 2;
		it->subject = unique_str(r, str);
	}
	if ((str = st_props_str(props, P_INTERNET_MESSAGE_ID)))
		it->message_id = unique_str(r, str);
	it->received = st_props_time(props, P_DELIVERY_TIME);
	it->sent = st_props_time(props, P_SUBMIT_TIME);
	it->created = st_props_time(props, P_CREATION_TIME);
	it->modified = st_props_time(props, P_LAST_MODIFICATION_TIME);
	if (st_props_int(props, P_MESSAGE_FLAGS, &v)) {
		it->msg_flags = v & 0xffffffff;
		it->read = (v & 0x01) != 0;
	}
	if (st_props_int(props, P_FLAG_STATUS, &v))
		it->flag_status = (int8_t)v;
	if (st_props_int(props, P_IMPORTANCE, &v))
		it->importance = (int8_t)v;
	if (st_props_int(props, P_MESSAGE_SIZE, &v))
		it->size = v;
	if ((p = st_props_get(props, P_CHANGE_KEY)))
		it->change_key = snap_bindup(r->snap, p->data, p->len);
	if ((p = st_props_get(props, P_PREDECESSOR_CHANGE_LIST)))
		it->pcl = snap_bindup(r->snap, p->data, p->len);
	if ((p = st_props_get(props, P_SOURCE_KEY)) && ost_ident_from_source_key(p->data, p->len, &it->ident) == 0)
		return;
	if ((p = st_props_get(props, P_PRQ_ID_SECURE4)) && p->len == 8)
		ost_ident_from_prq(&r->replicas, p->data, &it->ident);
}

/* Second pass for one folder: its messages (or associated messages), streamed to the writer.
 * Item strings go to a scratch snapshot that is emptied per folder, so memory stays flat. */
static int list_messages(reader *r, snap_writer *w, size_t wi, st_children kind, snap_t **scratch)
{
	folder_work *fw = &r->work[wi];
	const snap_folder *f = &r->snap->folders[fw->index];
	or_error e = {0};
	int count = 0;
	if (st_child_count(fw->node, kind, &count, &e) != 0) {
		add_error(r, ERR_SCOPE_FOLDER, "unreadable", f->id, f->parent_id, f->path, e.message);
		r->snap->integrity.unreadable_folders++;
		return 0;
	}
	if (kind == ST_MESSAGES)
		fw->listed = true;
	st_prefetch(fw->node, kind, item_props, sizeof item_props / sizeof item_props[0]);
	for (int i = 0; i < count; i++) {
		st_node *node = NULL;
		if (st_child(fw->node, kind, i, &node, &e) != 0) {
			char msg[640];
			snprintf(msg, sizeof msg, "%s %d of %d: %s", kind == ST_MESSAGES ? "message" : "associated message",
			         i + 1, count, e.message);
			add_error(r, ERR_SCOPE_ITEM, "unreadable", NULL, f->id, f->path, msg);
			r->snap->integrity.unreadable_items++;
			continue;
		}
		st_props props = {0};
		if (st_read_props(node, item_props, sizeof item_props / sizeof item_props[0], &props, &e) != 0) {
			add_error(r, ERR_SCOPE_ITEM, "unreadable", node_id(r, st_node_id(node)), f->id, f->path, e.message);
			r->snap->integrity.unreadable_items++;
			st_node_free(node);
			continue;
		}
		snap_t *saved = r->snap;
		if (!r->keep)
			r->snap = *scratch; /* item strings live in the scratch arena */
		snap_item it;
		snap_item_init(&it);
		it.id = item_id(r, st_node_id(node));
		it.folder_id = f->id;
		it.associated = kind == ST_ASSOCIATED;
		fill_item(r, &it, &props);
		r->snap = saved;
		st_props_clear(&props);
		st_node_free(node);
		if (!it.ident.has_key)
			r->unresolved++;
		if (kind == ST_MESSAGES) {
			fw->messages_found++;
			if (it.read == 0)
				fw->unread_found++;
		}
		if (++r->messages_done % 64 == 0)
			progress(r, false);
		if (r->keep) {
			snap_item *slot = snap_add_item(r->snap);
			if (!slot)
				return or_fail(&r->err, OR_ERR_NOMEM, "out of memory");
			snap_item_as_loaded(&it);
			*slot = it;
		} else {
			snap_write_item(w, &it);
		}
	}
	st_children_done(fw->node, kind);
	if (count)
		log_debug("folder %s: %d %smessage%s", f->path ? f->path : f->id, count,
		          kind == ST_MESSAGES ? "" : "associated ", count == 1 ? "" : "s");
	if (r->keep)
		return 0;
	/* Drop the per-folder strings. */
	snap_free(*scratch);
	*scratch = NULL;
	return snap_new(scratch, &r->err);
}

static int add_mismatch(reader *r, const snap_folder *f, const char *what, int64_t stored, int64_t found)
{
	snap_integrity *in = &r->snap->integrity;
	snap_count_mismatch *m = realloc(in->mismatches, (in->n_mismatches + 1) * sizeof *m);
	if (!m)
		return or_fail(&r->err, OR_ERR_NOMEM, "out of memory");
	in->mismatches = m;
	m[in->n_mismatches++] = (snap_count_mismatch){f->id, f->path, what, stored, found};
	return 0;
}

/* Stored counts (0x3602/0x3603) against what was found. Search folders are left out: their
 * counts describe search results, which the cache does not hold as messages of the folder. */
static int check_counts(reader *r)
{
	for (size_t i = 0; i < r->n_work; i++) {
		const folder_work *fw = &r->work[i];
		const snap_folder *f = &r->snap->folders[fw->index];
		if (!fw->listed || strcmp(f->role, "search") == 0 || fw->folder_type == 2)
			continue;
		if (f->content_count >= 0 && f->content_count != fw->messages_found &&
		    add_mismatch(r, f, "content_count", f->content_count, fw->messages_found))
			return r->err.code;
		if (f->unread_count >= 0 && f->unread_count != fw->unread_found &&
		    add_mismatch(r, f, "unread_count", f->unread_count, fw->unread_found))
			return r->err.code;
	}
	return 0;
}

static void fill_integrity(reader *r)
{
	snap_integrity *in = &r->snap->integrity;
	in->present = true;
	in->replica_guids = r->table;
	in->n_replica_guids = r->n_table;
	r->table = NULL;
	in->replicas = calloc(r->replicas.n ? r->replicas.n : 1, sizeof *in->replicas);
	for (size_t i = 0; in->replicas && i < r->replicas.n; i++) {
		if (r->replicas.map[i].conflicts)
			continue;
		snap_replica *rep = &in->replicas[in->n_replicas++];
		rep->replid = r->replicas.map[i].replid;
		memcpy(rep->guid, r->replicas.map[i].guid, 16);
		rep->origin = r->replicas.map[i].origin;
	}
}

/* The replica table (descriptor 0x801): its GUIDs bound what the entry ids may name, and each
 * record ties its replid to its GUID, first evidence of the map (the entry ids then confirm it, or
 * contradict it and make that replid unusable). A table that cannot be read is an error line; the
 * entry ids alone then tie replids to GUIDs. Returns OR_ERR_NOMEM only. */
static int read_replica_table(reader *r)
{
	st_replica *rec = NULL;
	size_t n = 0;
	if (st_replica_table(r->file, &rec, &n, &r->err) != 0) {
		if (r->err.code == OR_ERR_NOMEM)
			return r->err.code;
		add_error(r, ERR_SCOPE_FILE, "unreadable", "nid:2049", NULL, NULL, r->err.message);
		return 0;
	}
	if (n && !(r->table = calloc(n, sizeof *r->table))) {
		free(rec);
		return or_fail(&r->err, OR_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		memcpy(r->table[i], rec[i].guid, 16);
	r->n_table = n;
	r->replicas.table = r->table;
	r->replicas.n_table = r->n_table;
	for (size_t i = 0; i < n; i++)
		if (rec[i].replid >= 0)
			ost_replica_learn(&r->replicas, (uint16_t)rec[i].replid, rec[i].guid, "replica table");
	free(rec);
	return 0;
}

static void reader_free(reader *r)
{
	for (size_t i = 0; i < r->n_work; i++) {
		st_node_free(r->work[i].node);
		st_props_clear(&r->work[i].entryids);
	}
	free(r->work);
	free(r->table);
	st_props_clear(&r->store_entryids);
	snap_free(r->snap);
	st_close(r->file);
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Pass 1: the replica table, the store's entry ids and the folder tree, with each folder's key
 * and role worked out (the replica map every message key depends on). */
static int read_tree(reader *r, const char *path, or_error *err)
{
	const ost_options *opt = r->opt;
	int rc;
	/* The replica table and the store's entry ids. */
	if ((rc = read_replica_table(r)) != 0) {
		*err = r->err;
		return rc;
	}
	st_node *store = NULL;
	if (st_message_store(r->file, &store, &r->err) == 0) {
		or_error e = {0};
		if (st_read_props(store, folder_prop_ids, n_folder_prop_ids, &r->store_entryids, &e) != 0)
			add_error(r, ERR_SCOPE_FILE, "unreadable", "nid:33", NULL, NULL, e.message);
		/* The store's display name: the mailbox a cache names itself after, where it holds one. */
		static const uint16_t name_id[] = {P_DISPLAY_NAME};
		st_props name = {0};
		if (st_read_props(store, name_id, 1, &name, &e) == 0) {
			const char *str = st_props_str(&name, P_DISPLAY_NAME);
			if (str && *str)
				r->snap->hdr.store_name = snap_strdup(r->snap, str);
		}
		st_props_clear(&name);
		st_node_free(store);
	} else {
		add_error(r, ERR_SCOPE_FILE, "unreadable", "nid:33", NULL, NULL, r->err.message);
	}

	/* Pass 1: the folder tree. */
	st_node *root = NULL;
	if (st_root_folder(r->file, &root, err) != 0) {
		rc = err->code == OR_ERR_NOTFOUND ? OR_ERR_FORMAT : err->code;
		err->code = rc;
		if (!opt->no_crc_check && rc == OR_ERR_FORMAT)
			ndb_explain(path, err);
		return rc;
	}
	if ((rc = read_folder(r, root, NULL, NULL, NULL, 0)) != 0) {
		*err = r->err;
		if (!opt->no_crc_check && rc == OR_ERR_FORMAT)
			ndb_explain(path, err);
		return rc;
	}
	use_entryids(r, true);
	use_entryids(r, false);
	fix_child_roles(r);
	resolve_folder_keys(r);
	return 0;
}

static int capture(const char *path, const ost_options *opt, const char *out_path, snap_t **keep,
                   ost_summary *summary, or_error *err)
{
	reader r;
	memset(&r, 0, sizeof r);
	r.keep = keep != NULL;
	memset(summary, 0, sizeof *summary);
	snap_writer w;
	bool writing = false;
	snap_t *scratch = NULL;
	init_prop_lists();
	r.opt = opt;

	int rc = opt->reader == OST_READER_LIBPFF ? pff_open(&r.file, path, err) : native_open(&r.file, path, err);
	if (rc) {
		if (!opt->no_crc_check && rc == OR_ERR_FORMAT)
			ndb_explain(path, err);
		return rc;
	}
	r.messages_total = -2; /* pass 1: no message count yet */
	r.phase = "folders";
	r.prog = opt->progress ? progress_start("cache") : NULL;
	if ((rc = snap_new(&r.snap, err)) != 0 || (rc = snap_new(&scratch, err)) != 0)
		goto out;
	st_get_info(r.file, &r.info);
	log_verbose("%s: %s, %s encoding, %.1f MB; read by the %s reader", path, r.info.format, r.info.encryption,
	            (double)r.info.size / 1e6, opt->reader == OST_READER_LIBPFF ? "libpff" : "native");
	double t0 = mono_s();
	snap_header *h = &r.snap->hdr;
	h->source = r.info.is_ost ? SRC_OST : SRC_PST;
	h->mailbox = opt->mailbox;
	h->file = path;
	h->file_size = r.info.size;
	h->file_format = r.info.format;
	h->encryption = r.info.encryption;
	h->captured = filetime_now();
	h->tool = "ostrecon " OSTRECON_VERSION;
	h->options_json = opt->options_json;

	if ((rc = read_tree(&r, path, err)) != 0)
		goto out;

	log_verbose("%s: %zu folders in the tree (%.2f s)", path, r.snap->n_folders, mono_s() - t0);

	/* Pass 2: the messages, streamed (or kept). */
	r.messages_total = -1;
	for (size_t i = 0; i < r.n_work; i++) {
		const snap_folder *f = &r.snap->folders[r.work[i].index];
		for (int k = 0; k < 2; k++) {
			int64_t n = k ? f->assoc_count : f->content_count;
			if (n >= 0)
				r.messages_total = (r.messages_total < 0 ? 0 : r.messages_total) + n;
		}
	}
	r.phase = "messages";
	if (!r.keep) {
		if ((rc = snap_writer_open(&w, out_path, err)) != 0)
			goto out;
		writing = true;
		snap_write_header(&w, h);
		for (size_t i = 0; i < r.snap->n_folders; i++)
			snap_write_folder(&w, &r.snap->folders[i]);
	}
	for (size_t i = 0; i < r.n_work; i++) {
		if (opt->cancel && *opt->cancel) {
			rc = or_fail(err, OR_ERR_IO, "stopped: the other side of the comparison failed");
			goto out;
		}
		if ((rc = list_messages(&r, &w, i, ST_MESSAGES, &scratch)) != 0 ||
		    (rc = list_messages(&r, &w, i, ST_ASSOCIATED, &scratch)) != 0) {
			*err = r.err;
			goto out;
		}
		r.folders_done++;
		progress(&r, false);
	}
	if ((rc = check_counts(&r)) != 0) {
		*err = r.err;
		goto out;
	}
	log_verbose("%s: messages listed (%.2f s)", path, mono_s() - t0);

	/* Integrity: what libpff saw while reading, orphans, and (on request) deleted items. */
	st_info after;
	st_get_info(r.file, &after);
	r.snap->integrity.corrupted = after.corrupted;
	r.snap->integrity.orphan_items = -1;
	r.snap->integrity.recovered_items = -1;
	or_error e = {0};
	if (st_orphan_count(r.file, &r.snap->integrity.orphan_items, &e) != 0)
		add_error(&r, ERR_SCOPE_FILE, "unreadable", NULL, NULL, NULL, e.message);
	if (opt->recover && st_recover(r.file, &r.snap->integrity.recovered_items, &e) != 0)
		add_error(&r, ERR_SCOPE_FILE, "unreadable", NULL, NULL, NULL, e.message);
	/* A lookup whose B-tree page could not be read back from the temporary file answered "not
	 * found": what it missed would show as damage of the cache, so the listing fails instead. */
	if ((rc = ndb_lost_fail(st_ndb(r.file), err)) != 0)
		goto out;
	/* The file's own checksums, which libpff 20180714 does not check (ndb_check.c). */
	r.phase = "checksums";
	progress(&r, false);
	if ((rc = ndb_check_snapshot(path, st_ndb(r.file), opt->no_crc_check, r.snap, &summary->bad_checksums, err)) != 0)
		goto out;
	if (!opt->no_crc_check)
		log_verbose("%s: page and block checksums checked, %zu bad (%.2f s)", path, summary->bad_checksums,
		            mono_s() - t0);
	fill_integrity(&r);
	progress(&r, true);
	summary->unresolved_keys = r.unresolved;
	summary->corrupted = r.snap->integrity.corrupted;
	if (r.keep) {
		if ((rc = snap_as_loaded(r.snap, err)) != 0)
			goto out;
		summary->folders = r.snap->n_folders;
		summary->items = r.snap->n_items;
		summary->errors = r.snap->n_errors;
		*keep = r.snap;
		r.snap = NULL;
		goto out;
	}
	for (size_t i = 0; i < r.snap->n_errors; i++)
		snap_write_error(&w, &r.snap->errors[i]);
	snap_write_integrity(&w, &r.snap->integrity);
	summary->folders = w.n_folders;
	summary->items = w.n_items;
	summary->errors = w.n_errors;
	writing = false;
	rc = snap_writer_finish(&w, err);
out:
	if (writing)
		snap_writer_abort(&w);
	progress_finish(r.prog, NULL); /* a read that stopped early: its line goes */
	snap_free(scratch);
	reader_free(&r);
	return rc;
}

int ost_capture(const char *path, const ost_options *opt, const char *out_path, ost_summary *summary,
                or_error *err)
{
	return capture(path, opt, out_path, NULL, summary, err);
}

int ost_capture_snap(const char *path, const ost_options *opt, snap_t **out, ost_summary *summary, or_error *err)
{
	*out = NULL;
	return capture(path, opt, NULL, out, summary, err);
}

void ost_options_describe(const ost_options *opt, char *out, size_t size)
{
	snprintf(out, size, "{\"reader\":\"%s\",\"recover\":%s,\"crc_check\":%s}",
	         opt->reader == OST_READER_LIBPFF ? "libpff" : "native", opt->recover ? "true" : "false",
	         opt->no_crc_check ? "false" : "true");
}

/* ---------------------------------------------------------------- keys for a copy (ost.h) */

typedef struct {
	uint32_t nid;
	uint8_t key[SNAP_KEY_LEN];
} keyed_folder;

struct ost_keys {
	ost_replica_map replicas;
	uint8_t (*table)[16];       /* the replica table the map was checked against */
	keyed_folder *folders;      /* sorted by nid */
	size_t n_folders;
	uint32_t *unlisted;         /* sorted */
	size_t n_unlisted;
};

static int cmp_keyed(const void *a, const void *b)
{
	uint32_t x = ((const keyed_folder *)a)->nid, y = ((const keyed_folder *)b)->nid;
	return x < y ? -1 : x > y;
}

int ost_keys_load(const char *path, ost_keys **out, or_error *err)
{
	static const ost_options opt = {.reader = OST_READER_NATIVE, .no_crc_check = true};
	reader r;
	memset(&r, 0, sizeof r);
	r.opt = &opt;
	r.keep = true;
	*out = NULL;
	init_prop_lists();
	ost_keys *k = calloc(1, sizeof *k);
	if (!k)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	int rc = native_open(&r.file, path, err);
	if (rc == 0)
		rc = snap_new(&r.snap, err);
	if (rc == 0)
		rc = read_tree(&r, path, err);
	if (rc)
		goto out;
	k->folders = calloc(r.n_work ? r.n_work : 1, sizeof *k->folders);
	if (!k->folders) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r.n_work; i++) {
		const snap_ident *id = &r.snap->folders[r.work[i].index].ident;
		if (!id->has_key)
			continue;
		k->folders[k->n_folders].nid = st_node_id(r.work[i].node);
		memcpy(k->folders[k->n_folders++].key, id->key, SNAP_KEY_LEN);
	}
	qsort(k->folders, k->n_folders, sizeof *k->folders, cmp_keyed);
	/* Reach every message a folder's table lists, as the listing does; what is left no table
	 * lists (the listing's orphan_items, its messages). A row that cannot be opened was counted
	 * by the listing as an unreadable item, not as an orphan: the same here. */
	for (size_t i = 0; i < r.n_work; i++) {
		for (int kind = ST_MESSAGES; kind <= ST_ASSOCIATED; kind++) {
			int count = 0;
			or_error e = {0};
			if (st_child_count(r.work[i].node, (st_children)kind, &count, &e) != 0)
				continue;
			for (int c = 0; c < count; c++) {
				st_node *node = NULL;
				if (st_child(r.work[i].node, (st_children)kind, c, &node, &e) == 0)
					st_node_free(node);
			}
			st_children_done(r.work[i].node, (st_children)kind);
		}
	}
	if ((rc = r.file->ops->unreached_messages(r.file, &k->unlisted, &k->n_unlisted, err)) != 0)
		goto out;
	k->replicas = r.replicas;
	k->table = r.table;
	r.table = NULL;
	*out = k;
	k = NULL;
out:
	reader_free(&r);
	ost_keys_free(k);
	return rc;
}

void ost_keys_free(ost_keys *k)
{
	if (!k)
		return;
	free(k->table);
	free(k->folders);
	free(k->unlisted);
	free(k);
}

bool ost_keys_folder(const ost_keys *k, uint32_t nid, uint8_t key[SNAP_KEY_LEN])
{
	keyed_folder want = {.nid = nid};
	const keyed_folder *f = bsearch(&want, k->folders, k->n_folders, sizeof *f, cmp_keyed);
	if (f)
		memcpy(key, f->key, SNAP_KEY_LEN);
	return f != NULL;
}

bool ost_keys_prq(const ost_keys *k, const uint8_t prq[8], uint8_t key[SNAP_KEY_LEN])
{
	snap_ident id;
	memset(&id, 0, sizeof id);
	ost_ident_from_prq(&k->replicas, prq, &id);
	if (id.has_key)
		memcpy(key, id.key, SNAP_KEY_LEN);
	return id.has_key;
}

const uint32_t *ost_keys_unlisted(const ost_keys *k, size_t *n)
{
	*n = k->n_unlisted;
	return k->unlisted;
}
