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


/* ------------------------------------------------------------------ fast path
 *
 * Folder and item lines are flat objects (string, integer, boolean and null values). They are
 * parsed here without building a jansson tree, which is most of the cost of loading a large
 * snapshot. The fast parser accepts a strict subset of JSON: anything it is not sure of (nested
 * values, reals, duplicate keys, escapes in keys, \u0000, control characters, invalid UTF-8, ...)
 * sends the line to jansson, which then accepts or rejects it as before. Strings are decoded in
 * place in the line buffer. */

#define FAST_MAX_FIELDS 64

typedef enum { FV_STR, FV_INT, FV_TRUE, FV_FALSE, FV_NULL } fv_type;

typedef struct {
	const char *key, *str; /* str: NUL-terminated, in the line buffer */
	size_t klen;
	int64_t num;
	fv_type type;
} fast_field;

typedef struct {
	fast_field f[FAST_MAX_FIELDS];
	size_t n;
} fast_obj;

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	if (end - p < 4)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead byte), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
	else return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Decodes the string whose opening quote is at p[-1]; returns the byte after the closing quote. */
static char *fast_string(char *p, char *end, const char **out)
{
	char *w = p;
	*out = p;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*w = '\0';
			return p + 1;
		}
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			switch (*p++) {
			case '"': *w++ = '"'; break;
			case '\\': *w++ = '\\'; break;
			case '/': *w++ = '/'; break;
			case 'b': *w++ = '\b'; break;
			case 'f': *w++ = '\f'; break;
			case 'n': *w++ = '\n'; break;
			case 'r': *w++ = '\r'; break;
			case 't': *w++ = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				if (hex4(p, end, &cp) != 0 || cp == 0)
					return NULL;
				p += 4;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return NULL;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) != 0 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return NULL;
					p += 6;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				w = put_utf8(w, cp); /* never longer than the escape it replaces */
				break;
			}
			default: return NULL;
			}
			continue;
		}
		if (c < 0x80) {
			*w++ = *p++;
			continue;
		}
		size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		memmove(w, p, n);
		w += n;
		p += n;
	}
	return NULL;
}

/* Parses a flat JSON object line in place; 0 ok, -1 when the line needs the full parser. */
static int fast_parse(char *p, size_t len, fast_obj *o)
{
	char *end = p + len;
	o->n = 0;
	p = (char *)skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	p = (char *)skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
		return skip_ws(p, end) == end ? 0 : -1;
	}
	for (;;) {
		if (o->n == FAST_MAX_FIELDS || p >= end || *p++ != '"')
			return -1;
		fast_field *f = &o->f[o->n];
		f->key = p;
		while (p < end && *p != '"') {
			unsigned char c = (unsigned char)*p;
			if (c == '\\' || c < 0x20 || c >= 0x80)
				return -1;
			p++;
		}
		if (p >= end)
			return -1;
		f->klen = (size_t)(p - f->key);
		p = (char *)skip_ws(p + 1, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = (char *)skip_ws(p, end);
		if (p >= end)
			return -1;
		if (*p == '"') {
			f->type = FV_STR;
			if (!(p = fast_string(p + 1, end, &f->str)))
				return -1;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			bool neg = *p == '-';
			if (neg)
				p++;
			if (p >= end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
				return -1;
			uint64_t v = 0;
			int digits = 0;
			while (p < end && *p >= '0' && *p <= '9') {
				v = v * 10 + (uint64_t)(*p++ - '0');
				if (++digits > 18)
					return -1;
			}
			if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
				return -1;
			f->type = FV_INT;
			f->num = neg ? -(int64_t)v : (int64_t)v;
		} else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			f->type = FV_TRUE;
			p += 4;
		} else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			f->type = FV_FALSE;
			p += 5;
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			f->type = FV_NULL;
			p += 4;
		} else {
			return -1; /* nested object or array, or not JSON */
		}
		for (size_t i = 0; i < o->n; i++)
			if (o->f[i].klen == f->klen && memcmp(o->f[i].key, f->key, f->klen) == 0)
				return -1; /* duplicate key: jansson rejects it */
		o->n++;
		p = (char *)skip_ws(p, end);
		if (p >= end)
			return -1;
		if (*p == ',') {
			p = (char *)skip_ws(p + 1, end);
			continue;
		}
		if (*p++ != '}')
			return -1;
		return skip_ws(p, end) == end ? 0 : -1;
	}
}

/* A parsed line: the fast form, or a jansson object. */
typedef struct {
	const fast_obj *fast;
	json_t *j;
} obj_t;

static const fast_field *fast_get(const fast_obj *o, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < o->n; i++)
		if (o->f[i].klen == n && memcmp(o->f[i].key, name, n) == 0)
			return &o->f[i];
	return NULL;
}

/* The string value of a field: 1 with *out set, 0 absent, -1 present but not a string. */
static int field_str(obj_t o, const char *name, const char **out)
{
	*out = NULL;
	if (o.fast) {
		const fast_field *f = fast_get(o.fast, name);
		if (!f)
			return 0;
		if (f->type != FV_STR)
			return -1;
		*out = f->str;
		return 1;
	}
	json_t *v = json_object_get(o.j, name);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

static const char *get_str(snap_t *s, obj_t o, const char *name)
{
	const char *v;
	return field_str(o, name, &v) == 1 ? snap_strdup(s, v) : NULL;
}

/* Strings that are nearly always unique (subjects, message and item ids) are copied without
 * interning: the intern table would only grow. */
static const char *get_str_unique(snap_t *s, obj_t o, const char *name)
{
	const char *v;
	if (field_str(o, name, &v) != 1)
		return NULL;
	snap_bin b = snap_bindup(s, (const uint8_t *)v, strlen(v) + 1);
	return (const char *)b.data;
}

static int64_t get_int(obj_t o, const char *name, int64_t absent)
{
	if (o.fast) {
		const fast_field *f = fast_get(o.fast, name);
		return f && f->type == FV_INT ? f->num : absent;
	}
	json_t *v = json_object_get(o.j, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : absent;
}

static int8_t get_bool(obj_t o, const char *name)
{
	if (o.fast) {
		const fast_field *f = fast_get(o.fast, name);
		return f && (f->type == FV_TRUE || f->type == FV_FALSE) ? (int8_t)(f->type == FV_TRUE) : -1;
	}
	json_t *v = json_object_get(o.j, name);
	return json_is_boolean(v) ? (int8_t)json_is_true(v) : -1;
}

/* Decodes a hex field into a fixed-size array; returns 1 when present, 0 absent, -1 malformed. */
static int get_hex_fixed(obj_t o, const char *name, uint8_t *out, size_t len)
{
	const char *v;
	int r = field_str(o, name, &v);
	if (r <= 0)
		return r;
	if (strlen(v) != 2 * len)
		return -1;
	return hex_decode(v, out, len) == (int)len ? 1 : -1;
}

static int get_hex_bin(snap_t *s, obj_t o, const char *name, snap_bin *out)
{
	const char *v;
	int r = field_str(o, name, &v);
	if (r <= 0)
		return r;
	size_t n = strlen(v) / 2;
	uint8_t small[256];
	uint8_t *tmp = n <= sizeof small ? small : malloc(n);
	if (!tmp)
		return -1;
	int rc = hex_decode(v, tmp, n);
	if (rc >= 0)
		*out = snap_bindup(s, tmp, (size_t)rc);
	if (tmp != small)
		free(tmp);
	return rc >= 0 ? 1 : -1;
}

static int get_time(obj_t o, const char *name, int64_t *ft)
{
	const char *v;
	*ft = 0;
	int r = field_str(o, name, &v);
	if (r <= 0)
		return r;
	return filetime_parse(v, ft) != 0 ? -1 : 1;
}

static int read_ident(obj_t o, snap_ident *id)
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
	const char *ko;
	snap_key_origin origin = KEY_NONE;
	if (field_str(o, "key_origin", &ko) == 1 && snap_key_origin_parse(ko, &origin) != 0)
		return -1;
	id->origin = (uint8_t)origin;
	return 0;
}

static int read_header(snap_t *s, json_t *jo)
{
	obj_t o = {NULL, jo};
	json_t *fmt = json_object_get(jo, "format");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "ostrecon-snapshot") != 0)
		return -1;
	if (get_int(o, "version", 0) != 1)
		return -2;
	const char *src = get_str(s, o, "source");
	s->hdr.source = SRC_UNKNOWN;
	for (snap_source k = SRC_OST; k <= SRC_GRAPH; k++)
		if (src && strcmp(src, snap_source_name(k)) == 0)
			s->hdr.source = k;
	s->hdr.mailbox = get_str(s, o, "mailbox");
	s->hdr.file = get_str(s, o, "file");
	s->hdr.store_name = get_str(s, o, "store_name");
	s->hdr.file_size = get_int(o, "file_size", -1);
	s->hdr.file_format = get_str(s, o, "file_format");
	s->hdr.encryption = get_str(s, o, "encryption");
	s->hdr.server = get_str(s, o, "server");
	s->hdr.server_version = get_str(s, o, "server_version");
	s->hdr.tool = get_str(s, o, "tool");
	if (get_time(o, "captured", &s->hdr.captured) < 0)
		return -1;
	json_t *opts = json_object_get(jo, "options");
	if (json_is_object(opts)) {
		char *text = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
		s->hdr.options_json = snap_strdup(s, text);
		free(text);
	}
	return 0;
}

static int read_folder(snap_t *s, obj_t o)
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

static int read_item(snap_t *s, obj_t o)
{
	snap_item *it = snap_add_item(s);
	if (!it)
		return -1;
	it->id = get_str_unique(s, o, "id");
	it->folder_id = get_str(s, o, "folder_id");
	it->cls = get_str(s, o, "class");
	it->subject = get_str_unique(s, o, "subject");
	it->message_id = get_str_unique(s, o, "message_id");
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

static int read_error(snap_t *s, obj_t o)
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

static int read_integrity(snap_t *s, json_t *jo)
{
	obj_t o = {NULL, jo};
	snap_integrity *in = &s->integrity;
	if (in->present)
		return -1; /* at most one integrity line: a second would append past the first's arrays */
	in->present = true;
	in->corrupted = json_is_true(json_object_get(jo, "corrupted"));
	in->orphan_items = get_int(o, "orphan_items", -1);
	in->recovered_items = get_int(o, "recovered_items", -1);
	in->unreadable_items = get_int(o, "unreadable_items", 0);
	in->unreadable_folders = get_int(o, "unreadable_folders", 0);
	in->ndb_scan = get_str(s, o, "ndb_scan");
	in->ndb_format = get_str(s, o, "ndb_format");
	in->pages_checked = get_int(o, "pages_checked", -1);
	in->blocks_checked = get_int(o, "blocks_checked", -1);
	in->bad_pages = get_int(o, "bad_pages", -1);
	in->bad_blocks = get_int(o, "bad_blocks", -1);
	json_t *arr = json_object_get(jo, "count_mismatches"), *v;
	size_t i;
	if (json_is_array(arr) && json_array_size(arr)) {
		in->mismatches = calloc(json_array_size(arr), sizeof *in->mismatches);
		if (!in->mismatches)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_count_mismatch *m = &in->mismatches[in->n_mismatches++];
			m->folder_id = get_str(s, (obj_t){NULL, v}, "folder_id");
			m->path = get_str(s, (obj_t){NULL, v}, "path");
			m->what = get_str(s, (obj_t){NULL, v}, "what");
			m->stored = get_int((obj_t){NULL, v}, "stored", 0);
			m->found = get_int((obj_t){NULL, v}, "found", 0);
		}
	}
	arr = json_object_get(jo, "replicas");
	if (json_is_array(arr) && json_array_size(arr)) {
		in->replicas = calloc(json_array_size(arr), sizeof *in->replicas);
		if (!in->replicas)
			return -1;
		json_array_foreach(arr, i, v) {
			snap_replica *r = &in->replicas[in->n_replicas++];
			r->replid = (int32_t)get_int((obj_t){NULL, v}, "replid", -1);
			r->origin = get_str(s, (obj_t){NULL, v}, "origin");
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

int snap_load(snap_t **out, const char *path, or_error *err)
{
	*out = NULL;
	snap_t *s = NULL;
	FILE *fp = NULL;
	or_buf line = {.limit = LINE_LIMIT}, scratch = {.limit = LINE_LIMIT};
	json_t *o = NULL;
	fast_obj *fast = malloc(sizeof *fast);
	int rc = snap_new(&s, err);
	if (rc) {
		free(fast);
		return rc;
	}
	if (!fast) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	fp = or_open_input(path, "snapshot", err);
	if (!fp) {
		rc = err ? err->code : OR_ERR_IO;
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
		/* Folder, item, error and end lines take the fast path; the header, the integrity line
		 * and anything the fast parser is unsure of go through jansson. */
		const char *type = NULL;
		obj_t ob = {NULL, NULL};
		/* The fast parser decodes in place: it works on a copy, so that jansson still sees the
		 * line as read when the fast parser gives up. */
		if (have_header && (scratch.len = 0, buf_append(&scratch, line.data, line.len) == 0) &&
		    fast_parse(scratch.data, scratch.len, fast) == 0 && field_str((obj_t){fast, NULL}, "type", &type) == 1 &&
		    strcmp(type, "integrity") != 0) {
			ob.fast = fast;
		} else {
			json_error_t jerr;
			o = json_loadb(line.data, line.len, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(o)) {
				if (!have_header) /* the first line: most likely some other file given by mistake */
					rc = or_fail(err, OR_ERR_FORMAT, "%s is not an ostrecon snapshot (its first line is not JSON)",
					             path);
				else
					rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: not a JSON object: %s", path, lineno, jerr.text);
				goto out;
			}
			ob.j = o;
			type = json_string_value(json_object_get(o, "type"));
		}
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
			r = read_folder(s, ob);
		} else if (strcmp(type, "item") == 0) {
			r = read_item(s, ob);
		} else if (strcmp(type, "error") == 0) {
			r = read_error(s, ob);
		} else if (strcmp(type, "integrity") == 0) {
			r = read_integrity(s, o);
		} else if (strcmp(type, "end") == 0) {
			have_end = true;
			if ((size_t)get_int(ob, "folders", -1) != s->n_folders ||
			    (size_t)get_int(ob, "items", -1) != s->n_items ||
			    (size_t)get_int(ob, "errors", -1) != s->n_errors) {
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
	free(fast);
	buf_free(&line);
	buf_free(&scratch);
	if (fp && fp != stdin)
		fclose(fp);
	snap_free(s);
	return rc;
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
