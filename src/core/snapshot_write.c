/* snapshot_write.c: the JSON Lines form of a snapshot, written as a stream (docs/SNAPSHOT.md). */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Small field writers: each writes `,"name":value` (the object is opened by the caller). They
 * write with the unlocked stdio calls and format numbers themselves: a snapshot has a few
 * hundred thousand of these per mailbox, and fprintf's format parsing and stream lock were
 * most of the writer's time. */
static void put_name(FILE *fp, const char *name)
{
	putc_unlocked(',', fp);
	putc_unlocked('"', fp);
	fputs_unlocked(name, fp);
	putc_unlocked('"', fp);
	putc_unlocked(':', fp);
}

static void put_str(FILE *fp, const char *name, const char *v)
{
	if (!v)
		return;
	put_name(fp, name);
	json_put_string(fp, v);
}

static void put_int(FILE *fp, const char *name, int64_t v, bool present)
{
	if (!present)
		return;
	char digits[24];
	size_t n = sizeof digits;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
	do {
		digits[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--n] = '-';
	put_name(fp, name);
	fwrite_unlocked(digits + n, 1, sizeof digits - n, fp);
}

static void put_bool(FILE *fp, const char *name, int v)
{
	if (v < 0)
		return;
	put_name(fp, name);
	fputs_unlocked(v ? "true" : "false", fp);
}

static void put_hex(FILE *fp, const char *name, const uint8_t *data, size_t len)
{
	if (!data || !len)
		return;
	put_name(fp, name);
	putc_unlocked('"', fp);
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		putc_unlocked(digits[data[i] >> 4], fp);
		putc_unlocked(digits[data[i] & 15], fp);
	}
	putc_unlocked('"', fp);
}

/* 10000-01-01T00:00:00Z: ISO 8601 dates have four-digit years, and readers accept only those. */
#define FILETIME_YEAR_10000 INT64_C(2650467744000000000)

bool snap_time_writable(int64_t ft) { return ft > 0 && ft < FILETIME_YEAR_10000; }

static void put_time(FILE *fp, const char *name, int64_t ft)
{
	/* A damaged cache can hold any 64-bit value: one the format cannot express is left out (as
	 * unknown) rather than written in a form that makes the whole snapshot unreadable. */
	if (!snap_time_writable(ft))
		return;
	char iso[32];
	filetime_format(ft, iso);
	put_name(fp, name);
	putc_unlocked('"', fp);
	fputs_unlocked(iso, fp);
	putc_unlocked('"', fp);
}

/* "repaired":["subject",...]: the fields whose forbidden characters were replaced. */
static void put_repaired(FILE *fp, unsigned bits)
{
	if (!(bits & SNAP_REPAIRED_ALL))
		return;
	put_name(fp, "repaired");
	putc_unlocked('[', fp);
	bool first = true;
	for (unsigned bit = 1; bit & SNAP_REPAIRED_ALL; bit <<= 1) {
		if (!(bits & bit))
			continue;
		if (!first)
			putc_unlocked(',', fp);
		json_put_string(fp, snap_repaired_name(bit));
		first = false;
	}
	putc_unlocked(']', fp);
}

static void put_ident(FILE *fp, const snap_ident *id)
{
	if (id->has_key)
		put_hex(fp, "key", id->key, SNAP_KEY_LEN);
	if (id->has_gc)
		put_hex(fp, "gc", id->gc, SNAP_GC_LEN);
	put_int(fp, "replid", id->replid, id->replid >= 0);
	put_str(fp, "key_origin", snap_key_origin_name((snap_key_origin)id->origin));
}

/* An item's line is built in memory and handed to stdio in one call: a pull or a capture writes
 * hundreds of thousands of them, and a dozen stdio calls a field were a fifth of a pull's CPU. A
 * line that does not fit, or a string with anything but printable ASCII other than '"' and '\\'
 * (which json_put_string escapes or checks), sends the item through the field writers above; both
 * give the same bytes. */
typedef struct {
	char *p, *end;
	bool ok; /* false once something did not fit or needs escaping */
} line;

static void l_raw(line *l, const char *s, size_t n)
{
	if ((size_t)(l->end - l->p) < n) {
		l->ok = false;
		return;
	}
	memcpy(l->p, s, n);
	l->p += n;
}

/* `,"name":` for a string literal name */
#define L_NAME(l, name) l_raw(l, ",\"" name "\":", sizeof(",\"" name "\":") - 1)

/* True when none of the 8 bytes of x is below 0x20, at or above 0x80, '"' or '\\'. */
static bool plain8(uint64_t x)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return !(((x - ones * 0x20) | x | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs);
}

/* `"v"` when v is printable ASCII without '"' and '\\' (checked 16 or 8 bytes at a time), else
 * l->ok false: json_put_string has escapes or UTF-8 checks to make. */
static void l_quoted(line *l, const char *v)
{
	size_t n = strlen(v), i = 0;
	if ((size_t)(l->end - l->p) < n + 2) {
		l->ok = false;
		return;
	}
#ifdef __SSE2__
	/* signed, a byte at or above 0x80 is below 0x20 too */
	const __m128i c20 = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v + i));
		__m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, c20), _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)));
		if (_mm_movemask_epi8(bad))
			break;
	}
#endif
	for (uint64_t x; i + 8 <= n && (memcpy(&x, v + i, 8), plain8(x));)
		i += 8;
	/* fewer than eight left of a string of eight or more: its last eight bytes at once */
	uint64_t last;
	if (i < n && n >= 8 && n - i < 8 && (memcpy(&last, v + n - 8, 8), plain8(last)))
		i = n;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
			l->ok = false;
			return;
		}
	}
	*l->p++ = '"';
	memcpy(l->p, v, n);
	l->p += n;
	*l->p++ = '"';
}

#define L_STR(l, name, v)                                                                               \
	do {                                                                                            \
		if (v) {                                                                                \
			L_NAME(l, name);                                                                \
			l_quoted(l, v);                                                                 \
		}                                                                                       \
	} while (0)

static void l_int(line *l, int64_t v)
{
	char digits[24];
	size_t n = sizeof digits;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		digits[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--n] = '-';
	l_raw(l, digits + n, sizeof digits - n);
}

static void l_hex(line *l, const uint8_t *data, size_t len)
{
	if ((size_t)(l->end - l->p) < 2 * len + 2) {
		l->ok = false;
		return;
	}
	char *o = l->p;
	*o++ = '"';
	hex_encode(data, len, o); /* its NUL falls where the closing quote goes */
	o += 2 * len;
	*o++ = '"';
	l->p = o;
}

static void l_time(line *l, int64_t ft)
{
	if (l->end - l->p < 34) { /* the quotes and the longest date with its NUL */
		l->ok = false;
		return;
	}
	*l->p = '"';
	l->p += 1 + filetime_format(ft, l->p + 1);
	*l->p++ = '"';
}

static void item_line(line *l, const snap_item *it)
{
	const snap_ident *id = &it->ident;
	l_raw(l, "{\"type\":\"item\"", sizeof "{\"type\":\"item\"" - 1);
	L_STR(l, "id", it->id);
	L_STR(l, "folder_id", it->folder_id);
	if (id->has_key) {
		L_NAME(l, "key");
		l_hex(l, id->key, SNAP_KEY_LEN);
	}
	if (id->has_gc) {
		L_NAME(l, "gc");
		l_hex(l, id->gc, SNAP_GC_LEN);
	}
	if (id->replid >= 0) {
		L_NAME(l, "replid");
		l_int(l, id->replid);
	}
	L_STR(l, "key_origin", snap_key_origin_name((snap_key_origin)id->origin));
	L_STR(l, "class", it->cls);
	L_STR(l, "subject", it->subject);
	L_STR(l, "message_id", it->message_id);
#define L_TIME(name, ft)                                                                                \
	if (snap_time_writable(ft)) {                                                                   \
		L_NAME(l, name);                                                                        \
		l_time(l, ft);                                                                          \
	}
	L_TIME("received", it->received)
	L_TIME("sent", it->sent)
	L_TIME("created", it->created)
	L_TIME("modified", it->modified)
#undef L_TIME
	if (it->read >= 0) {
		L_NAME(l, "read");
		l_raw(l, it->read ? "true" : "false", it->read ? 4 : 5);
	}
#define L_INT(name, v)                                                                                  \
	if ((v) >= 0) {                                                                                 \
		L_NAME(l, name);                                                                        \
		l_int(l, v);                                                                            \
	}
	L_INT("msg_flags", it->msg_flags)
	L_INT("flag_status", it->flag_status)
	L_INT("importance", it->importance)
	L_INT("size", it->size)
#undef L_INT
	if (it->associated)
		l_raw(l, ",\"associated\":true", sizeof ",\"associated\":true" - 1);
	if (it->change_key.data && it->change_key.len) {
		L_NAME(l, "change_key");
		l_hex(l, it->change_key.data, it->change_key.len);
	}
	if (it->pcl.data && it->pcl.len) {
		L_NAME(l, "pcl");
		l_hex(l, it->pcl.data, it->pcl.len);
	}
	if (it->repaired & SNAP_REPAIRED_ALL) {
		L_NAME(l, "repaired");
		bool first = true;
		for (unsigned bit = 1; bit & SNAP_REPAIRED_ALL; bit <<= 1) {
			if (!(it->repaired & bit))
				continue;
			l_raw(l, first ? "[" : ",", 1);
			l_quoted(l, snap_repaired_name(bit));
			first = false;
		}
		l_raw(l, "]", 1);
	}
	l_raw(l, "}\n", 2);
}

int snap_writer_open(snap_writer *w, const char *path, or_error *err)
{
	memset(w, 0, sizeof *w);
	return atomic_open(&w->af, path, err);
}

void snap_write_header(snap_writer *w, const snap_header *h)
{
	FILE *fp = w->af.fp;
	fputs("{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1", fp);
	put_str(fp, "source", snap_source_name(h->source));
	put_str(fp, "mailbox", h->mailbox);
	put_str(fp, "file", h->file);
	put_str(fp, "store_name", h->store_name);
	put_int(fp, "file_size", h->file_size, h->file_size >= 0);
	put_str(fp, "file_format", h->file_format);
	put_str(fp, "encryption", h->encryption);
	put_str(fp, "server", h->server);
	put_str(fp, "server_version", h->server_version);
	put_time(fp, "captured", h->captured);
	put_str(fp, "tool", h->tool);
	if (h->options_json)
		fprintf(fp, ",\"options\":%s", h->options_json);
	fputs("}\n", fp);
	w->header_done = true;
}

void snap_write_folder(snap_writer *w, const snap_folder *f)
{
	FILE *fp = w->af.fp;
	fputs("{\"type\":\"folder\"", fp);
	put_str(fp, "id", f->id);
	put_str(fp, "parent_id", f->parent_id);
	put_ident(fp, &f->ident);
	put_str(fp, "name", f->name);
	put_str(fp, "path", f->path);
	put_str(fp, "class", f->cls);
	put_str(fp, "role", f->role);
	put_int(fp, "content_count", f->content_count, f->content_count >= 0);
	put_int(fp, "unread_count", f->unread_count, f->unread_count >= 0);
	put_int(fp, "assoc_count", f->assoc_count, f->assoc_count >= 0);
	put_hex(fp, "change_key", f->change_key.data, f->change_key.len);
	put_hex(fp, "pcl", f->pcl.data, f->pcl.len);
	put_repaired(fp, f->repaired);
	fputs("}\n", fp);
	w->n_folders++;
}

/* An item's line by the field writers: a line over 4 KiB, or a string that needs escaping. */
static void item_fields(FILE *fp, const snap_item *it)
{
	fputs("{\"type\":\"item\"", fp);
	put_str(fp, "id", it->id);
	put_str(fp, "folder_id", it->folder_id);
	put_ident(fp, &it->ident);
	put_str(fp, "class", it->cls);
	put_str(fp, "subject", it->subject);
	put_str(fp, "message_id", it->message_id);
	put_time(fp, "received", it->received);
	put_time(fp, "sent", it->sent);
	put_time(fp, "created", it->created);
	put_time(fp, "modified", it->modified);
	put_bool(fp, "read", it->read);
	put_int(fp, "msg_flags", it->msg_flags, it->msg_flags >= 0);
	put_int(fp, "flag_status", it->flag_status, it->flag_status >= 0);
	put_int(fp, "importance", it->importance, it->importance >= 0);
	put_int(fp, "size", it->size, it->size >= 0);
	if (it->associated)
		fputs(",\"associated\":true", fp);
	put_hex(fp, "change_key", it->change_key.data, it->change_key.len);
	put_hex(fp, "pcl", it->pcl.data, it->pcl.len);
	put_repaired(fp, it->repaired);
	fputs("}\n", fp);
}

void snap_write_item(snap_writer *w, const snap_item *it)
{
	FILE *fp = w->af.fp;
	char buf[4096];
	line l = {buf, buf + sizeof buf, true};
	item_line(&l, it);
	if (l.ok)
		fwrite_unlocked(buf, 1, (size_t)(l.p - buf), fp);
	else
		item_fields(fp, it);
	w->n_items++;
}

void snap_write_item_text(snap_writer *w, const char *text, size_t len, size_t n_items)
{
	fwrite_unlocked(text, 1, len, w->af.fp);
	w->n_items += n_items;
}

int snap_item_text(or_buf *b, const snap_item *it)
{
	char buf[4096];
	line l = {buf, buf + sizeof buf, true};
	item_line(&l, it);
	if (l.ok)
		return buf_append(b, buf, (size_t)(l.p - buf));
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	if (!fp)
		return OR_ERR_NOMEM;
	item_fields(fp, it);
	int rc = fclose(fp) != 0 || !text ? OR_ERR_NOMEM : buf_append(b, text, len);
	free(text);
	return rc;
}

static const char *scope_name(uint8_t scope)
{
	return scope == ERR_SCOPE_FOLDER ? "folder" : scope == ERR_SCOPE_ITEM ? "item" : "file";
}

void snap_write_error(snap_writer *w, const snap_error *e)
{
	FILE *fp = w->af.fp;
	fputs("{\"type\":\"error\"", fp);
	put_str(fp, "scope", scope_name(e->scope));
	put_str(fp, "id", e->id);
	put_str(fp, "folder_id", e->folder_id);
	put_str(fp, "path", e->path);
	put_str(fp, "code", e->code);
	put_str(fp, "message", e->message);
	fputs("}\n", fp);
	w->n_errors++;
}

void snap_write_integrity(snap_writer *w, const snap_integrity *in)
{
	if (!in->present)
		return;
	FILE *fp = w->af.fp;
	fprintf(fp, "{\"type\":\"integrity\",\"corrupted\":%s", in->corrupted ? "true" : "false");
	put_int(fp, "orphan_items", in->orphan_items, in->orphan_items >= 0);
	put_int(fp, "recovered_items", in->recovered_items, in->recovered_items >= 0);
	put_int(fp, "unreadable_items", in->unreadable_items, true);
	put_int(fp, "unreadable_folders", in->unreadable_folders, true);
	if (in->ndb_scan) {
		put_str(fp, "ndb_scan", in->ndb_scan);
		put_str(fp, "ndb_format", in->ndb_format);
		put_int(fp, "pages_checked", in->pages_checked, in->pages_checked >= 0);
		put_int(fp, "blocks_checked", in->blocks_checked, in->blocks_checked >= 0);
		put_int(fp, "bad_pages", in->bad_pages, in->bad_pages >= 0);
		put_int(fp, "bad_blocks", in->bad_blocks, in->bad_blocks >= 0);
	}
	fputs(",\"count_mismatches\":[", fp);
	for (size_t i = 0; i < in->n_mismatches; i++) {
		const snap_count_mismatch *m = &in->mismatches[i];
		fputs(i ? ",{" : "{", fp);
		fputs("\"folder_id\":", fp);
		json_put_string(fp, m->folder_id ? m->folder_id : "");
		put_str(fp, "path", m->path);
		put_str(fp, "what", m->what);
		fprintf(fp, ",\"stored\":%lld,\"found\":%lld}", (long long)m->stored, (long long)m->found);
	}
	fputs("],\"replicas\":[", fp);
	for (size_t i = 0; i < in->n_replicas; i++) {
		char g[37];
		guid_format(in->replicas[i].guid, g);
		fprintf(fp, "%s{\"replid\":%d,\"guid\":\"%s\"", i ? "," : "", (int)in->replicas[i].replid, g);
		put_str(fp, "origin", in->replicas[i].origin);
		fputs("}", fp);
	}
	fputs("],\"replica_guids\":[", fp);
	for (size_t i = 0; i < in->n_replica_guids; i++) {
		char g[37];
		guid_format(in->replica_guids[i], g);
		fprintf(fp, "%s\"%s\"", i ? "," : "", g);
	}
	fputs("]}\n", fp);
}

int snap_writer_finish(snap_writer *w, or_error *err)
{
	fprintf(w->af.fp, "{\"type\":\"end\",\"folders\":%zu,\"items\":%zu,\"errors\":%zu}\n",
	        w->n_folders, w->n_items, w->n_errors);
	return atomic_commit(&w->af, err);
}

void snap_writer_abort(snap_writer *w)
{
	atomic_abort(&w->af);
}

int snap_save(const snap_t *s, const char *path, or_error *err)
{
	snap_writer w;
	int rc = snap_writer_open(&w, path, err);
	if (rc)
		return rc;
	snap_write_header(&w, &s->hdr);
	for (size_t i = 0; i < s->n_folders; i++)
		snap_write_folder(&w, &s->folders[i]);
	for (size_t i = 0; i < s->n_items; i++)
		snap_write_item(&w, &s->items[i]);
	for (size_t i = 0; i < s->n_errors; i++)
		snap_write_error(&w, &s->errors[i]);
	snap_write_integrity(&w, &s->integrity);
	return snap_writer_finish(&w, err);
}
