/* snapshot_read.c: loads a snapshot file into memory, checking it as it goes. */
#include "core.h"
#include "snapshot_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A parsed folder, item, error or end line: the fast form, or a jansson object. */
typedef struct {
	fast_obj *fast;
	json_t *j;
} obj_t;

/* The string value of a field: 1 with *out and *len set, 0 absent, -1 present but not a string. */
static int field_str(obj_t o, key_id k, const char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (o.fast) {
		const fast_val *v = &o.fast->v[k];
		if (v->type == FV_ABSENT)
			return 0;
		if (v->type != FV_STR)
			return -1;
		*out = v->str;
		*len = v->len;
		return 1;
	}
	json_t *v = json_object_get(o.j, line_keys[k].name);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	*len = json_string_length(v);
	return 1;
}

static bool field_is(obj_t o, key_id k, const char *want)
{
	const char *v;
	size_t n;
	return field_str(o, k, &v, &n) == 1 && n == strlen(want) && memcmp(v, want, n) == 0;
}

static const char *get_str(snap_t *s, obj_t o, key_id k)
{
	const char *v;
	size_t n;
	if (field_str(o, k, &v, &n) != 1)
		return NULL;
	if (!o.fast)
		return snap_strndup(s, v, n);
	if (o.fast->last[k] && o.fast->last_len[k] == n && memcmp(o.fast->last[k], v, n) == 0)
		return o.fast->last[k];
	const char *copy = snap_strndup(s, v, n);
	if (copy) { /* arena strings live as long as the snapshot: shared like interned ones */
		o.fast->last[k] = copy;
		o.fast->last_len[k] = n;
	}
	return copy;
}

/* Strings that are nearly always unique (subjects, message and item ids) are copied without
 * interning: the intern table would only grow. */
static const char *get_str_unique(snap_t *s, obj_t o, key_id k)
{
	const char *v;
	size_t n;
	return field_str(o, k, &v, &n) == 1 ? snap_strndup_unique(s, v, n) : NULL;
}

static int64_t get_int(obj_t o, key_id k, int64_t absent)
{
	if (o.fast) {
		const fast_val *v = &o.fast->v[k];
		return v->type == FV_INT ? v->num : absent;
	}
	json_t *v = json_object_get(o.j, line_keys[k].name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static int8_t get_bool(obj_t o, key_id k)
{
	if (o.fast) {
		const fast_val *v = &o.fast->v[k];
		return v->type == FV_TRUE || v->type == FV_FALSE ? (int8_t)(v->type == FV_TRUE) : -1;
	}
	json_t *v = json_object_get(o.j, line_keys[k].name);
	return json_is_boolean(v) ? (int8_t)json_is_true(v) : -1;
}

/* Decodes a hex field into a fixed-size array; returns 1 when present, 0 absent, -1 malformed. */
static int get_hex_fixed(obj_t o, key_id k, uint8_t *out, size_t len)
{
	const char *v;
	size_t n;
	int r = field_str(o, k, &v, &n);
	if (r <= 0)
		return r;
	if (n != 2 * len)
		return -1;
	return hex_decode_n(v, n, out, len) == (int)len ? 1 : -1;
}

/* Where a decoded binary goes: 0, or the or_code of a failure to keep it. */
typedef int (*bin_sink)(void *ctx, const uint8_t *data, size_t n);

/* Decodes a hex field of any length and hands the bytes to put: 1 when present, 0 absent, -1
 * malformed; *rc the sink's failure, else 0. */
static int get_hex_to(obj_t o, key_id k, bin_sink put, void *ctx, int *rc)
{
	const char *v;
	size_t n;
	*rc = 0;
	int r = field_str(o, k, &v, &n);
	if (r <= 0)
		return r;
	if (n % 2)
		return -1;
	n /= 2;
	uint8_t small[256];
	uint8_t *tmp = n <= sizeof small ? small : malloc(n);
	if (!tmp)
		return -1;
	bool ok = hex_decode_n(v, 2 * n, tmp, n) == (int)n;
	if (ok)
		*rc = put(ctx, tmp, n);
	if (tmp != small)
		free(tmp);
	return ok ? 1 : -1;
}

typedef struct {
	snap_t *s;
	snap_bin *out;
} arena_sink;

static int put_arena(void *ctx, const uint8_t *data, size_t n)
{
	arena_sink *a = ctx;
	*a->out = snap_bindup(a->s, data, n);
	return 0;
}

static int get_hex_bin(snap_t *s, obj_t o, key_id k, snap_bin *out)
{
	int rc;
	return get_hex_to(o, k, put_arena, &(arena_sink){s, out}, &rc);
}

static int get_time(obj_t o, key_id k, int64_t *ft)
{
	const char *v;
	size_t n;
	*ft = 0;
	int r = field_str(o, k, &v, &n);
	if (r <= 0)
		return r;
	return filetime_parse_n(v, n, ft) != 0 ? -1 : 1;
}

/* "repaired": a list of field names (an array: never on the fast path). 0 ok, -1 malformed. */
static int get_repaired(obj_t o, uint8_t *out)
{
	*out = 0;
	if (o.fast) { /* the fast parser holds no arrays: a "repaired" it met is not a list */
		for (size_t i = 0; i < o.fast->n_unknown; i++)
			if (o.fast->unknown[i].n == 8 && memcmp(o.fast->unknown[i].p, "repaired", 8) == 0)
				return -1;
		return 0;
	}
	json_t *a = json_object_get(o.j, "repaired"), *v;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return -1;
	size_t i;
	json_array_foreach(a, i, v) {
		unsigned bit = 1;
		while ((bit & SNAP_REPAIRED_ALL) && !(json_is_string(v) && strcmp(json_string_value(v), snap_repaired_name(bit)) == 0))
			bit <<= 1;
		if (!(bit & SNAP_REPAIRED_ALL))
			return -1;
		*out |= (uint8_t)bit;
	}
	return 0;
}

static int read_ident(obj_t o, snap_ident *id)
{
	int k = get_hex_fixed(o, K_KEY, id->key, SNAP_KEY_LEN);
	int g = get_hex_fixed(o, K_GC, id->gc, SNAP_GC_LEN);
	if (k < 0 || g < 0)
		return -1;
	id->has_key = k == 1;
	id->has_gc = g == 1;
	if (id->has_key && !id->has_gc) {
		memcpy(id->gc, id->key + 16, SNAP_GC_LEN);
		id->has_gc = 1;
	}
	id->replid = (int32_t)get_int(o, K_REPLID, -1);
	const char *ko;
	size_t n;
	snap_key_origin origin = KEY_NONE;
	if (field_str(o, K_KEY_ORIGIN, &ko, &n) == 1) {
		while (origin < KEY_ORIGIN_COUNT) { /* the names, compared in place */
			const char *name = snap_key_origin_name(origin);
			if (strlen(name) == n && memcmp(name, ko, n) == 0)
				break;
			origin++;
		}
		if (origin == KEY_ORIGIN_COUNT)
			return -1;
	}
	id->origin = (uint8_t)origin;
	return 0;
}

/* ------------------------------------------------------------------ header and integrity
 * (one line each: read with jansson) */

static const char *j_str(snap_t *s, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_string(v) ? snap_strndup(s, json_string_value(v), json_string_length(v)) : NULL;
}

static int64_t j_int(json_t *o, const char *name, int64_t absent)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static int read_header(snap_t *s, json_t *jo)
{
	json_t *fmt = json_object_get(jo, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "ostrecon-snapshot") != 0)
		return -1;
	if (j_int(jo, "version", 0) != 1)
		return -2;
	const char *src = j_str(s, jo, "source");
	s->hdr.source = SRC_UNKNOWN;
	for (snap_source k = SRC_OST; k <= SRC_GRAPH; k++)
		if (src && strcmp(src, snap_source_name(k)) == 0)
			s->hdr.source = k;
	s->hdr.mailbox = j_str(s, jo, "mailbox");
	s->hdr.file = j_str(s, jo, "file");
	s->hdr.store_name = j_str(s, jo, "store_name");
	s->hdr.file_size = j_int(jo, "file_size", -1);
	s->hdr.file_format = j_str(s, jo, "file_format");
	s->hdr.encryption = j_str(s, jo, "encryption");
	s->hdr.server = j_str(s, jo, "server");
	s->hdr.server_version = j_str(s, jo, "server_version");
	s->hdr.tool = j_str(s, jo, "tool");
	json_t *cap = json_object_get(jo, "captured");
	s->hdr.captured = 0;
	if (cap && (!json_is_string(cap) || filetime_parse(json_string_value(cap), &s->hdr.captured) != 0))
		return -1;
	json_t *opts = json_object_get(jo, "options");
	if (json_is_object(opts)) {
		char *text = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
		s->hdr.options_json = snap_strdup(s, text);
		free(text);
	}
	return 0;
}

static int read_integrity(snap_t *s, json_t *jo)
{
	snap_integrity *in = &s->integrity;
	if (in->present)
		return -1; /* at most one integrity line: a second would append past the first's arrays */
	in->present = true;
	in->corrupted = json_is_true(json_object_get(jo, "corrupted"));
	in->orphan_items = j_int(jo, "orphan_items", -1);
	in->recovered_items = j_int(jo, "recovered_items", -1);
	in->unreadable_items = j_int(jo, "unreadable_items", 0);
	in->unreadable_folders = j_int(jo, "unreadable_folders", 0);
	in->ndb_scan = j_str(s, jo, "ndb_scan");
	in->ndb_format = j_str(s, jo, "ndb_format");
	in->pages_checked = j_int(jo, "pages_checked", -1);
	in->blocks_checked = j_int(jo, "blocks_checked", -1);
	in->bad_pages = j_int(jo, "bad_pages", -1);
	in->bad_blocks = j_int(jo, "bad_blocks", -1);
	json_t *arr = json_object_get(jo, "count_mismatches"), *v;
	size_t i;
	if (json_is_array(arr) && json_array_size(arr)) {
		in->mismatches = calloc(json_array_size(arr), sizeof *in->mismatches);
		if (!in->mismatches)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_count_mismatch *m = &in->mismatches[in->n_mismatches++];
			m->folder_id = j_str(s, v, "folder_id");
			m->path = j_str(s, v, "path");
			m->what = j_str(s, v, "what");
			m->stored = j_int(v, "stored", 0);
			m->found = j_int(v, "found", 0);
		}
	}
	arr = json_object_get(jo, "replicas");
	if (json_is_array(arr) && json_array_size(arr)) {
		in->replicas = calloc(json_array_size(arr), sizeof *in->replicas);
		if (!in->replicas)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_replica *r = &in->replicas[in->n_replicas++];
			r->replid = (int32_t)j_int(v, "replid", -1);
			r->origin = j_str(s, v, "origin");
			json_t *g = json_object_get(v, "guid");
			if (!json_is_string(g) || guid_parse(json_string_value(g), r->guid) != 0)
				return -1;
		}
	}
	arr = json_object_get(jo, "replica_guids");
	if (json_is_array(arr) && json_array_size(arr)) {
		in->replica_guids = calloc(json_array_size(arr), sizeof *in->replica_guids);
		if (!in->replica_guids)
			return -1;
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v) || guid_parse(json_string_value(v), in->replica_guids[in->n_replica_guids++]) != 0)
				return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ records */

static int read_folder(snap_t *s, obj_t o)
{
	snap_folder *f = snap_add_folder(s);
	if (!f)
		return -1;
	f->id = get_str(s, o, K_ID);
	f->parent_id = get_str(s, o, K_PARENT_ID);
	f->name = get_str(s, o, K_NAME);
	f->path = get_str(s, o, K_PATH);
	f->cls = get_str(s, o, K_CLASS);
	f->role = get_str(s, o, K_ROLE);
	f->content_count = get_int(o, K_CONTENT_COUNT, -1);
	f->unread_count = get_int(o, K_UNREAD_COUNT, -1);
	f->assoc_count = get_int(o, K_ASSOC_COUNT, -1);
	if (!f->id || read_ident(o, &f->ident) < 0 || get_hex_bin(s, o, K_CHANGE_KEY, &f->change_key) < 0 ||
	    get_hex_bin(s, o, K_PCL, &f->pcl) < 0 || get_repaired(o, &f->repaired) < 0)
		return -1;
	return 0;
}

static int read_item(snap_t *s, obj_t o)
{
	snap_item *it = snap_add_item(s);
	if (!it)
		return -1;
	it->id = get_str_unique(s, o, K_ID);
	it->folder_id = get_str(s, o, K_FOLDER_ID);
	it->cls = get_str(s, o, K_CLASS);
	it->subject = get_str_unique(s, o, K_SUBJECT);
	it->message_id = get_str_unique(s, o, K_MESSAGE_ID);
	it->read = get_bool(o, K_READ);
	it->msg_flags = get_int(o, K_MSG_FLAGS, -1);
	it->flag_status = (int8_t)get_int(o, K_FLAG_STATUS, -1);
	it->importance = (int8_t)get_int(o, K_IMPORTANCE, -1);
	it->size = get_int(o, K_SIZE, -1);
	it->associated = get_bool(o, K_ASSOCIATED) == 1;
	if (!it->id || !it->folder_id || read_ident(o, &it->ident) < 0 ||
	    get_time(o, K_RECEIVED, &it->received) < 0 || get_time(o, K_SENT, &it->sent) < 0 ||
	    get_time(o, K_CREATED, &it->created) < 0 || get_time(o, K_MODIFIED, &it->modified) < 0 ||
	    get_hex_bin(s, o, K_CHANGE_KEY, &it->change_key) < 0 || get_hex_bin(s, o, K_PCL, &it->pcl) < 0 ||
	    get_repaired(o, &it->repaired) < 0)
		return -1;
	return 0;
}

/* A string of an item loaded for a comparison (snap_load_compared): its offset in the heap. */
static int get_cstr(snap_compared *c, obj_t o, key_id k, bool interned, uint32_t *off)
{
	const char *v;
	size_t n;
	*off = 0;
	if (field_str(o, k, &v, &n) != 1)
		return 0;
	if (!interned || !o.fast)
		return snap_compared_str(c, v, n, interned, off);
	uint32_t last = o.fast->last_off[k];
	if (last && o.fast->last_off_len[k] == n && memcmp(c->heap + last, v, n) == 0) {
		*off = last;
		return 0;
	}
	int rc = snap_compared_str(c, v, n, true, off);
	if (rc == 0) {
		o.fast->last_off[k] = *off;
		o.fast->last_off_len[k] = n;
	}
	return rc;
}

typedef struct {
	snap_compared *c;
	uint32_t *off;
} heap_sink;

static int put_heap(void *ctx, const uint8_t *data, size_t n)
{
	heap_sink *h = ctx;
	return snap_compared_bin(h->c, data, n, h->off);
}

/* get_hex_bin into the heap; *rc the heap's failure (OR_ERR_NOMEM, OR_ERR_LIMIT) or 0. */
static int get_cbin(snap_compared *c, obj_t o, key_id k, uint32_t *off, int *rc)
{
	*off = 0;
	return get_hex_to(o, k, put_heap, &(heap_sink){c, off}, rc);
}

/* The subject of an item line, as a comparison keeps it: its text, NULL when absent or not a
 * string (as the heap kept it: up to a NUL). */
static const char *subject_of(obj_t o, size_t *n)
{
	const char *v;
	if (field_str(o, K_SUBJECT, &v, n) != 1) {
		*n = 0;
		return NULL;
	}
	*n = strnlen(v, *n);
	return v;
}

/* read_item for a comparison: the same checks, the item kept as a snap_citem; `at` is where the
 * line lies in the file (SNAP_LINE_AT). 0 ok, 1 malformed, or OR_ERR_NOMEM / OR_ERR_LIMIT. */
static int read_item_compared(snap_t *s, obj_t o, uint64_t at)
{
	snap_compared *c = s->compared;
	snap_citem *it;
	int rc = snap_compared_add(c, &it);
	if (rc)
		return rc;
	s->n_items = c->n_items;
	const char *id;
	size_t id_len;
	if ((field_str(o, K_ID, &id, &id_len) == 1 && (rc = snap_compared_id(c, it, id, id_len)) != 0) ||
	    (rc = get_cstr(c, o, K_FOLDER_ID, true, &it->folder_id)) != 0 ||
	    (rc = get_cstr(c, o, K_CLASS, true, &it->cls)) != 0)
		return rc;
	size_t subject_len;
	const char *subject = subject_of(o, &subject_len);
	it->subject_hash = snap_text_hash(subject, subject_len);
	if (c->subjects_in_file) {
		it->subject_at = at;
	} else if (subject) {
		uint32_t off;
		if ((rc = snap_compared_str(c, subject, subject_len, false, &off)) != 0)
			return rc;
		it->subject_at = off;
	}
	int8_t read = get_bool(o, K_READ);
	int64_t msg_flags = get_int(o, K_MSG_FLAGS, -1);
	it->read = (int8_t)(msg_flags >= 0 ? (msg_flags & 0x01) != 0 /* mfRead */ : read >= 0 ? read != 0 : -1);
	it->flag_status = (int8_t)get_int(o, K_FLAG_STATUS, -1);
	it->importance = (int8_t)get_int(o, K_IMPORTANCE, -1);
	it->associated = get_bool(o, K_ASSOCIATED) == 1;
	int64_t t[4];
	uint8_t repaired;
	if (!it->id || !it->folder_id || read_ident(o, &it->ident) < 0 || get_time(o, K_RECEIVED, &t[0]) < 0 ||
	    get_time(o, K_SENT, &t[1]) < 0 || get_time(o, K_CREATED, &t[2]) < 0 || get_time(o, K_MODIFIED, &t[3]) < 0 ||
	    get_cbin(c, o, K_CHANGE_KEY, &it->change_key, &rc) < 0 || rc || get_cbin(c, o, K_PCL, &it->pcl, &rc) < 0 || rc ||
	    get_repaired(o, &repaired) < 0)
		return rc ? rc : 1;
	it->date = t[0] ? t[0] : t[1] ? t[1] : t[2] ? t[2] : t[3];
	return 0;
}

static int read_error(snap_t *s, obj_t o)
{
	snap_err_scope sc = ERR_SCOPE_FILE;
	if (field_is(o, K_SCOPE, "folder"))
		sc = ERR_SCOPE_FOLDER;
	else if (field_is(o, K_SCOPE, "item"))
		sc = ERR_SCOPE_ITEM;
	snap_error *e = snap_add_error(s, sc, NULL, NULL);
	if (!e)
		return -1;
	e->id = get_str(s, o, K_ID);
	e->folder_id = get_str(s, o, K_FOLDER_ID);
	e->path = get_str(s, o, K_PATH);
	e->code = get_str(s, o, K_CODE);
	e->message = get_str(s, o, K_MESSAGE);
	return 0;
}

typedef enum { L_OTHER, L_FOLDER, L_ITEM, L_ERROR, L_INTEGRITY, L_END, L_SNAPSHOT } line_type;

static line_type type_of(const char *t, size_t n)
{
	static const struct {
		const char *name;
		size_t len;
		line_type type;
	} types[] = {{"item", 4, L_ITEM}, {"folder", 6, L_FOLDER}, {"error", 5, L_ERROR}, {"integrity", 9, L_INTEGRITY},
	             {"end", 3, L_END}, {"snapshot", 8, L_SNAPSHOT}};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (types[i].len == n && memcmp(types[i].name, t, n) == 0)
			return types[i].type;
	return L_OTHER;
}

static int load(snap_t **out, const char *path, bool compared, or_error *err)
{
	*out = NULL;
	snap_t *s = NULL;
	line_reader lr = {0};
	json_t *o = NULL;
	fast_obj *fast = fast_new();
	int rc = snap_new(&s, err);
	if (rc) {
		fast_free(fast);
		return rc;
	}
	if (!fast || (compared && !(s->compared = calloc(1, sizeof *s->compared)))) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!(lr.fp = or_open_input(path, "snapshot", err))) {
		rc = err ? err->code : OR_ERR_IO;
		goto out;
	}
	struct stat st;
	if (compared && fstat(fileno(lr.fp), &st) == 0 && S_ISREG(st.st_mode)) {
		/* An item line with its type, id, folder id and key takes more than 128 bytes, and its
		 * strings other than the subject are a part of it (a file of shorter lines grows the
		 * arrays as before). */
		if (st.st_size > 0)
			snap_compared_reserve(s->compared, (size_t)st.st_size / 128, (size_t)st.st_size / 4);
		/* The subjects stay in the file, read back for the report (standard input keeps them in
		 * memory). */
		int fd = lr.fp != stdin ? fcntl(fileno(lr.fp), F_DUPFD_CLOEXEC, 0) : -1;
		char *name = fd >= 0 ? strdup(path) : NULL;
		if (name) {
			s->compared->subjects_in_file = true;
			s->compared->fd = fd;
			s->compared->path = name;
		} else if (fd >= 0) {
			close(fd);
		}
	}
	long lineno = 0, n;
	bool have_header = false, have_end = false;
	const char *line;
	while ((n = lr_next(&lr, &line)) != -1) {
		lineno++;
		if (n == -2) {
			rc = or_fail(err, OR_ERR_LIMIT, "%s:%ld: line longer than %u bytes", path, lineno, LINE_LIMIT);
			goto out;
		}
		if (n == -3) {
			rc = or_fail(err, OR_ERR_IO, "reading %s failed", path);
			goto out;
		}
		if (have_end) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: data after the end line", path, lineno);
			goto out;
		}
		/* Folder, item, error and end lines take the fast path; the header, the integrity line
		 * and anything the fast parser is unsure of go through jansson. */
		const char *type = NULL;
		size_t type_len = 0;
		line_type lt = L_OTHER;
		obj_t ob = {NULL, NULL};
		int fp_rc = have_header ? fast_parse(fast, line, (size_t)n) : -1;
		if (fp_rc == -2) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (fp_rc == 0 && field_str((obj_t){fast, NULL}, K_TYPE, &type, &type_len) == 1 &&
		    (lt = type_of(type, type_len)) != L_INTEGRITY) {
			ob.fast = fast;
		} else {
			json_error_t jerr;
			o = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(o)) {
				if (!have_header) /* the first line: most likely some other file given by mistake */
					rc = or_fail(err, OR_ERR_FORMAT, "%s is not an ostrecon snapshot (its first line is not JSON)",
					             path);
				else
					rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: not a JSON object: %s", path, lineno, jerr.text);
				goto out;
			}
			ob.j = o;
			json_t *t = json_object_get(o, "type");
			type = json_string_value(t);
			type_len = type ? json_string_length(t) : 0;
			lt = type ? type_of(type, type_len) : L_OTHER;
		}
		int r = 0;
		if (!type) {
			r = -1;
		} else if (!have_header) {
			if (lt != L_SNAPSHOT || (r = read_header(s, o)) != 0) {
				rc = or_fail(err, OR_ERR_FORMAT, "%s: %s", path,
				             r == -2 ? "unsupported snapshot version" : "not an ostrecon snapshot file");
				goto out;
			}
			have_header = true;
		} else if (lt == L_FOLDER) {
			r = read_folder(s, ob);
		} else if (lt == L_ITEM && compared) {
			uint64_t off = lr.base + (uint64_t)(line - lr.buf);
			if (SNAP_LINE_OFF(SNAP_LINE_AT(off, n)) != off)
				r = OR_ERR_LIMIT;
			else
				r = read_item_compared(s, ob, SNAP_LINE_AT(off, n));
			if (r < 0) {
				rc = or_fail(err, r, r == OR_ERR_LIMIT ? "%s:%ld: snapshot too large to compare" : "%s:%ld: out of memory",
				             path, lineno);
				goto out;
			}
		} else if (lt == L_ITEM) {
			r = read_item(s, ob);
		} else if (lt == L_ERROR) {
			r = read_error(s, ob);
		} else if (lt == L_INTEGRITY) {
			r = read_integrity(s, o);
		} else if (lt == L_END) {
			have_end = true;
			if ((size_t)get_int(ob, K_FOLDERS, -1) != s->n_folders || (size_t)get_int(ob, K_ITEMS, -1) != s->n_items ||
			    (size_t)get_int(ob, K_ERRORS, -1) != s->n_errors) {
				rc = or_fail(err, OR_ERR_FORMAT, "%s: the end line's counts do not match the file", path);
				goto out;
			}
		}
		/* Unknown types are skipped: later versions may add lines old readers can ignore. */
		if (r != 0) {
			/* The type as a name: printable ASCII only, as the line may be hostile. */
			char name[32];
			size_t k = 0;
			for (; type && k < type_len && k < sizeof name - 1; k++)
				name[k] = type[k] >= 0x20 && type[k] < 0x7f ? type[k] : '?';
			name[k] = '\0';
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: malformed %s line", path, lineno, type ? name : "untyped");
			goto out;
		}
		json_decref(o);
		o = NULL;
	}
	if (!have_header) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s: empty or not a snapshot file", path);
		goto out;
	}
	if (!have_end) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s: incomplete snapshot (no end line: the capture was interrupted?)", path);
		goto out;
	}
	if (s->compared)
		snap_compared_done(s->compared);
	*out = s;
	s = NULL;
out:
	json_decref(o);
	fast_free(fast);
	free(lr.buf);
	if (lr.fp && lr.fp != stdin)
		fclose(lr.fp);
	snap_free(s);
	return rc;
}

/* Reads [off, off + n) of the file; 0, or -1 with errno set (0 when the file ends before). */
static int read_at(int fd, char *buf, size_t n, uint64_t off)
{
	while (n) {
		ssize_t got = pread(fd, buf, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = 0;
			return -1;
		}
		buf += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* Lines closer than this are read in one piece, up to SUBJECT_PIECE bytes: a system call costs
 * about what copying a few KiB does. */
#define SUBJECT_GAP (8u << 10)
#define SUBJECT_PIECE (1u << 20)

int snap_compared_subjects(const snap_compared *c, const int32_t *items, size_t n, snap_subject_fn put, void *ctx,
                           or_error *err)
{
	if (!c->subjects_in_file || n == 0)
		return 0;
	fast_obj *fast = fast_new();
	char *buf = NULL;
	size_t cap = 0;
	int rc = fast ? 0 : or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t k = 0; rc == 0 && k < n;) {
		/* A piece from items[k]'s line to the end of the last line close enough after it. */
		uint64_t first = SNAP_LINE_OFF(c->items[items[k]].subject_at), end = first;
		size_t stop = k;
		for (; stop < n; stop++) {
			uint64_t at = c->items[items[stop]].subject_at;
			uint64_t off = SNAP_LINE_OFF(at), e = off + SNAP_LINE_LEN(at);
			if (stop > k && (off < end || off - end > SUBJECT_GAP || e - first > SUBJECT_PIECE))
				break;
			end = e;
		}
		size_t len = (size_t)(end - first);
		if (len > cap) {
			char *p = realloc(buf, len);
			if (!p) {
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
				break;
			}
			buf = p;
			cap = len;
		}
		if (read_at(c->fd, buf, len, first) != 0) {
			rc = errno ? or_fail(err, OR_ERR_IO, "reading %s again failed: %s", c->path, strerror(errno))
			           : or_fail(err, OR_ERR_FORMAT, "%s changed while it was compared (it is shorter now)", c->path);
			break;
		}
		for (; rc == 0 && k < stop; k++) {
			const snap_citem *it = &c->items[items[k]];
			const char *line = buf + (SNAP_LINE_OFF(it->subject_at) - first);
			size_t line_len = SNAP_LINE_LEN(it->subject_at);
			json_t *j = NULL;
			obj_t o = {fast, NULL};
			int fp = fast_parse(fast, line, line_len);
			if (fp == -2) {
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
				break;
			}
			if (fp != 0) {
				o = (obj_t){NULL, j = json_loadb(line, line_len, JSON_REJECT_DUPLICATES, NULL)};
				if (!json_is_object(j))
					o.j = NULL;
			}
			size_t sn = 0;
			const char *subject = o.fast || o.j ? subject_of(o, &sn) : NULL;
			if ((!o.fast && !o.j) || snap_text_hash(subject, sn) != it->subject_hash)
				rc = or_fail(err, OR_ERR_FORMAT, "%s changed while it was compared (its line %llu bytes in differs)",
				             c->path, (unsigned long long)SNAP_LINE_OFF(it->subject_at));
			else
				rc = put(ctx, k, subject, sn);
			json_decref(j);
		}
	}
	free(buf);
	fast_free(fast);
	return rc;
}

int snap_load(snap_t **out, const char *path, or_error *err)
{
	return load(out, path, false, err);
}

int snap_load_compared(snap_t **out, const char *path, or_error *err)
{
	return load(out, path, true, err);
}

/* ------------------------------------------------- records kept in memory, as loaded */

static void ident_as_loaded(snap_ident *id)
{
	if (id->has_key && !id->has_gc) {
		memcpy(id->gc, id->key + 16, SNAP_GC_LEN);
		id->has_gc = 1;
	}
	if (id->replid < 0)
		id->replid = -1;
	if (!snap_key_origin_name((snap_key_origin)id->origin))
		id->origin = KEY_NONE;
}

static void bin_as_loaded(snap_bin *b)
{
	if (!b->data || !b->len)
		*b = (snap_bin){NULL, 0};
}

static int64_t time_as_loaded(int64_t ft) { return snap_time_writable(ft) ? ft : 0; }

static int64_t count_as_loaded(int64_t v) { return v < 0 ? -1 : v; }

void snap_item_as_loaded(snap_item *it)
{
	ident_as_loaded(&it->ident);
	it->received = time_as_loaded(it->received);
	it->sent = time_as_loaded(it->sent);
	it->created = time_as_loaded(it->created);
	it->modified = time_as_loaded(it->modified);
	if (it->read < 0)
		it->read = -1;
	if (it->flag_status < 0)
		it->flag_status = -1;
	if (it->importance < 0)
		it->importance = -1;
	it->msg_flags = count_as_loaded(it->msg_flags);
	it->size = count_as_loaded(it->size);
	bin_as_loaded(&it->change_key);
	bin_as_loaded(&it->pcl);
	it->repaired &= SNAP_REPAIRED_ALL;
}

int snap_as_loaded(snap_t *s, or_error *err)
{
	snap_header *h = &s->hdr;
	h->captured = time_as_loaded(h->captured);
	h->file_size = count_as_loaded(h->file_size);
	if (h->options_json) { /* the reader keeps the options object compact, keys sorted */
		json_t *o = json_loads(h->options_json, 0, NULL);
		char *text = json_is_object(o) ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		h->options_json = text ? snap_strdup(s, text) : NULL;
		free(text);
		json_decref(o);
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		snap_folder *f = &s->folders[i];
		if (!f->id)
			return or_fail(err, OR_ERR_FORMAT, "a folder without an id");
		f->content_count = count_as_loaded(f->content_count);
		f->unread_count = count_as_loaded(f->unread_count);
		f->assoc_count = count_as_loaded(f->assoc_count);
		ident_as_loaded(&f->ident);
		bin_as_loaded(&f->change_key);
		bin_as_loaded(&f->pcl);
	}
	snap_integrity *in = &s->integrity;
	if (!in->present)
		return 0;
	in->orphan_items = count_as_loaded(in->orphan_items);
	in->recovered_items = count_as_loaded(in->recovered_items);
	int64_t *scan[] = {&in->pages_checked, &in->blocks_checked, &in->bad_pages, &in->bad_blocks};
	for (size_t i = 0; i < sizeof scan / sizeof scan[0]; i++) /* written with the scan's name only */
		*scan[i] = in->ndb_scan ? count_as_loaded(*scan[i]) : -1;
	for (size_t i = 0; i < in->n_mismatches; i++)
		if (!in->mismatches[i].folder_id)
			in->mismatches[i].folder_id = "";
	return 0;
}
