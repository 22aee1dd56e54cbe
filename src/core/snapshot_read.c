/* snapshot_read.c: loads a snapshot file into memory, checking it as it goes. */
#include "core.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LINE_LIMIT (16u << 20)

/* Reads one line of at most LINE_LIMIT bytes; returns its length, -1 at end, -2 when too long. */
static long read_line(FILE *fp, or_buf *b)
{
	b->len = 0;
	char chunk[8192];
	while (fgets(chunk, sizeof chunk, fp)) {
		size_t n = strlen(chunk);
		if (buf_append(b, chunk, n) != 0)
			return -2;
		if (n && chunk[n - 1] == '\n')
			return (long)b->len;
	}
	return b->len ? (long)b->len : -1;
}

static const char *get_str(snap_t *s, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_string(v) ? snap_strdup(s, json_string_value(v)) : NULL;
}

static int64_t get_int(json_t *o, const char *name, int64_t absent)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static int8_t get_bool(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_boolean(v) ? (int8_t)json_is_true(v) : -1;
}

/* Decodes a hex field into a fixed-size array; returns 1 when present, 0 absent, -1 malformed. */
static int get_hex_fixed(json_t *o, const char *name, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != 2 * len)
		return -1;
	return hex_decode(json_string_value(v), out, len) == (int)len ? 1 : -1;
}

static int get_hex_bin(snap_t *s, json_t *o, const char *name, snap_bin *out)
{
	json_t *v = json_object_get(o, name);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	size_t n = strlen(json_string_value(v)) / 2;
	uint8_t *tmp = malloc(n ? n : 1);
	if (!tmp)
		return -1;
	int rc = hex_decode(json_string_value(v), tmp, n);
	if (rc >= 0)
		*out = snap_bindup(s, tmp, (size_t)rc);
	free(tmp);
	return rc >= 0 ? 1 : -1;
}

static int get_time(json_t *o, const char *name, int64_t *ft)
{
	json_t *v = json_object_get(o, name);
	*ft = 0;
	if (!v)
		return 0;
	if (!json_is_string(v) || filetime_parse(json_string_value(v), ft) != 0)
		return -1;
	return 1;
}

static int read_ident(json_t *o, snap_ident *id)
{
	int k = get_hex_fixed(o, "key", id->key, SNAP_KEY_LEN);
	int g = get_hex_fixed(o, "gc", id->gc, SNAP_GC_LEN);
	if (k < 0 || g < 0)
		return -1;
	id->has_key = k == 1;
	id->has_gc = g == 1;
	if (id->has_key && !id->has_gc) {
		memcpy(id->gc, id->key + 16, SNAP_GC_LEN);
		id->has_gc = 1;
	}
	id->replid = (int32_t)get_int(o, "replid", -1);
	json_t *ko = json_object_get(o, "key_origin");
	snap_key_origin origin = KEY_NONE;
	if (json_is_string(ko) && snap_key_origin_parse(json_string_value(ko), &origin) != 0)
		return -1;
	id->origin = (uint8_t)origin;
	return 0;
}

static int read_header(snap_t *s, json_t *o)
{
	json_t *fmt = json_object_get(o, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "ostrecon-snapshot") != 0)
		return -1;
	if (get_int(o, "version", 0) != 1)
		return -2;
	const char *src = get_str(s, o, "source");
	s->hdr.source = SRC_UNKNOWN;
	for (snap_source k = SRC_OST; k <= SRC_FIXTURE; k++)
		if (src && strcmp(src, snap_source_name(k)) == 0)
			s->hdr.source = k;
	s->hdr.mailbox = get_str(s, o, "mailbox");
	s->hdr.file = get_str(s, o, "file");
	s->hdr.file_size = get_int(o, "file_size", -1);
	s->hdr.file_format = get_str(s, o, "file_format");
	s->hdr.encryption = get_str(s, o, "encryption");
	s->hdr.server = get_str(s, o, "server");
	s->hdr.server_version = get_str(s, o, "server_version");
	s->hdr.tool = get_str(s, o, "tool");
	if (get_time(o, "captured", &s->hdr.captured) < 0)
		return -1;
	json_t *opts = json_object_get(o, "options");
	if (json_is_object(opts)) {
		char *text = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
		s->hdr.options_json = snap_strdup(s, text);
		free(text);
	}
	return 0;
}

static int read_folder(snap_t *s, json_t *o)
{
	snap_folder *f = snap_add_folder(s);
	if (!f)
		return -1;
	f->id = get_str(s, o, "id");
	f->parent_id = get_str(s, o, "parent_id");
	f->name = get_str(s, o, "name");
	f->path = get_str(s, o, "path");
	f->cls = get_str(s, o, "class");
	f->role = get_str(s, o, "role");
	f->content_count = get_int(o, "content_count", -1);
	f->unread_count = get_int(o, "unread_count", -1);
	f->assoc_count = get_int(o, "assoc_count", -1);
	if (!f->id || read_ident(o, &f->ident) < 0 || get_hex_bin(s, o, "change_key", &f->change_key) < 0 ||
	    get_hex_bin(s, o, "pcl", &f->pcl) < 0)
		return -1;
	return 0;
}

static int read_item(snap_t *s, json_t *o)
{
	snap_item *it = snap_add_item(s);
	if (!it)
		return -1;
	it->id = get_str(s, o, "id");
	it->folder_id = get_str(s, o, "folder_id");
	it->cls = get_str(s, o, "class");
	it->subject = get_str(s, o, "subject");
	it->message_id = get_str(s, o, "message_id");
	it->read = get_bool(o, "read");
	it->msg_flags = get_int(o, "msg_flags", -1);
	it->flag_status = (int8_t)get_int(o, "flag_status", -1);
	it->importance = (int8_t)get_int(o, "importance", -1);
	it->size = get_int(o, "size", -1);
	it->associated = get_bool(o, "associated") == 1;
	if (!it->id || !it->folder_id || read_ident(o, &it->ident) < 0 ||
	    get_time(o, "received", &it->received) < 0 || get_time(o, "sent", &it->sent) < 0 ||
	    get_time(o, "created", &it->created) < 0 || get_time(o, "modified", &it->modified) < 0 ||
	    get_hex_bin(s, o, "change_key", &it->change_key) < 0 || get_hex_bin(s, o, "pcl", &it->pcl) < 0)
		return -1;
	return 0;
}

static int read_error(snap_t *s, json_t *o)
{
	const char *scope = get_str(s, o, "scope");
	snap_err_scope sc = ERR_SCOPE_FILE;
	if (scope && strcmp(scope, "folder") == 0)
		sc = ERR_SCOPE_FOLDER;
	else if (scope && strcmp(scope, "item") == 0)
		sc = ERR_SCOPE_ITEM;
	snap_error *e = snap_add_error(s, sc, NULL, NULL);
	if (!e)
		return -1;
	e->id = get_str(s, o, "id");
	e->folder_id = get_str(s, o, "folder_id");
	e->path = get_str(s, o, "path");
	e->code = get_str(s, o, "code");
	e->message = get_str(s, o, "message");
	return 0;
}

static int read_integrity(snap_t *s, json_t *o)
{
	snap_integrity *in = &s->integrity;
	in->present = true;
	in->corrupted = json_is_true(json_object_get(o, "corrupted"));
	in->orphan_items = get_int(o, "orphan_items", -1);
	in->recovered_items = get_int(o, "recovered_items", -1);
	in->unreadable_items = get_int(o, "unreadable_items", 0);
	in->unreadable_folders = get_int(o, "unreadable_folders", 0);
	json_t *arr = json_object_get(o, "count_mismatches"), *v;
	size_t i;
	if (json_is_array(arr) && json_array_size(arr)) {
		in->mismatches = calloc(json_array_size(arr), sizeof *in->mismatches);
		if (!in->mismatches)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_count_mismatch *m = &in->mismatches[in->n_mismatches++];
			m->folder_id = get_str(s, v, "folder_id");
			m->path = get_str(s, v, "path");
			m->what = get_str(s, v, "what");
			m->stored = get_int(v, "stored", 0);
			m->found = get_int(v, "found", 0);
		}
	}
	arr = json_object_get(o, "replicas");
	if (json_is_array(arr) && json_array_size(arr)) {
		in->replicas = calloc(json_array_size(arr), sizeof *in->replicas);
		if (!in->replicas)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_replica *r = &in->replicas[in->n_replicas++];
			r->replid = (int32_t)get_int(v, "replid", -1);
			r->origin = get_str(s, v, "origin");
			json_t *g = json_object_get(v, "guid");
			if (!json_is_string(g) || guid_parse(json_string_value(g), r->guid) != 0)
				return -1;
		}
	}
	arr = json_object_get(o, "replica_guids");
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

int snap_load(snap_t **out, const char *path, or_error *err)
{
	*out = NULL;
	snap_t *s = NULL;
	FILE *fp = NULL;
	or_buf line = {.limit = LINE_LIMIT};
	json_t *o = NULL;
	int rc = snap_new(&s, err);
	if (rc)
		return rc;
	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!fp) {
		rc = or_fail(err, errno == ENOENT ? OR_ERR_NOTFOUND : OR_ERR_IO, "cannot open %s: %s", path,
		             strerror(errno));
		goto out;
	}
	long lineno = 0, n;
	bool have_header = false, have_end = false;
	while ((n = read_line(fp, &line)) != -1) {
		lineno++;
		if (n == -2) {
			rc = or_fail(err, OR_ERR_LIMIT, "%s:%ld: line longer than %u bytes", path, lineno, LINE_LIMIT);
			goto out;
		}
		if (have_end) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: data after the end line", path, lineno);
			goto out;
		}
		json_error_t jerr;
		o = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(o)) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: not a JSON object: %s", path, lineno, jerr.text);
			goto out;
		}
		const char *type = json_string_value(json_object_get(o, "type"));
		int r = 0;
		if (!type) {
			r = -1;
		} else if (!have_header) {
			if (strcmp(type, "snapshot") != 0 || (r = read_header(s, o)) != 0) {
				rc = or_fail(err, OR_ERR_FORMAT, "%s: %s", path,
				             r == -2 ? "unsupported snapshot version" : "not an ostrecon snapshot file");
				goto out;
			}
			have_header = true;
		} else if (strcmp(type, "folder") == 0) {
			r = read_folder(s, o);
		} else if (strcmp(type, "item") == 0) {
			r = read_item(s, o);
		} else if (strcmp(type, "error") == 0) {
			r = read_error(s, o);
		} else if (strcmp(type, "integrity") == 0) {
			r = read_integrity(s, o);
		} else if (strcmp(type, "end") == 0) {
			have_end = true;
			if ((size_t)get_int(o, "folders", -1) != s->n_folders ||
			    (size_t)get_int(o, "items", -1) != s->n_items ||
			    (size_t)get_int(o, "errors", -1) != s->n_errors) {
				rc = or_fail(err, OR_ERR_FORMAT, "%s: the end line's counts do not match the file", path);
				goto out;
			}
		}
		/* Unknown types are skipped: later versions may add lines old readers can ignore. */
		if (r != 0) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: malformed %s line", path, lineno, type ? type : "untyped");
			goto out;
		}
		json_decref(o);
		o = NULL;
	}
	if (ferror(fp)) {
		rc = or_fail(err, OR_ERR_IO, "reading %s failed", path);
		goto out;
	}
	if (!have_header) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s: empty or not a snapshot file", path);
		goto out;
	}
	if (!have_end) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s: incomplete snapshot (no end line: the capture was interrupted?)", path);
		goto out;
	}
	*out = s;
	s = NULL;
out:
	json_decref(o);
	buf_free(&line);
	if (fp && fp != stdin)
		fclose(fp);
	snap_free(s);
	return rc;
}
