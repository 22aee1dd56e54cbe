/* finding.c: one finding written as JSON text straight from the diff result, the same bytes as
 * json.c's finding_json gives through report_dump, without building a jansson tree for it: for
 * the tens of thousands of findings of a large comparison the tree (an object and a string per
 * value, each key hashed) cost more than all the rest of the report. Used when nothing is
 * redacted (report_finding_direct_ok); the tree stays the reference, and the tests hold the two
 * equal (OSTRECON_TEST_FINDINGS_TREE makes a report build the trees). Where jansson would drop a
 * value (json_string refuses invalid UTF-8, and set() then leaves the key out, or_null() writes
 * null) this writer does the same. */
#include "internal.h"

#include <stddef.h>

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* jansson's test of a string's UTF-8 (json_string refuses the rest): no overlong forms, no
 * surrogates, nothing past U+10FFFF. */
static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
#ifdef __SSE2__
	/* ASCII (what a report mostly holds) sixteen bytes a step, up to the end found first */
	const unsigned char *end = p + strlen(s);
	while (end - p >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)p));
		if (m) {
			p += __builtin_ctz(m);
			break;
		}
		p += 16;
	}
#endif
	while (*p) {
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n;
		unsigned cp;
		if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
		else return false;
		for (size_t i = 1; i < n; i++) { /* a NUL ends the string: it is no continuation byte */
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n;
	}
	return true;
}

/* What json_string(s) holds: s, or NULL when s is NULL or not valid UTF-8. */
static const char *js(const char *s)
{
	return s && utf8_ok(s) ? s : NULL;
}

/* set(j, key, json_string(s)): the key left out when s is NULL. */
static void key_str(report_writer *w, const char *key, const char *s)
{
	if (!s)
		return;
	jw_key(w, key);
	jw_str(w, s);
}

/* One value of a pair: null, a string, an integer or a boolean. */
typedef struct {
	enum { V_NULL, V_STR, V_INT, V_BOOL } t;
	const char *s;
	int64_t i;
} val;

static val v_str(const char *s) { return s ? (val){V_STR, s, 0} : (val){V_NULL, NULL, 0}; }
static val v_int(int64_t i) { return (val){V_INT, NULL, i}; }
static val v_bool(bool b) { return (val){V_BOOL, NULL, b}; }

static void put_val(report_writer *w, val v)
{
	switch (v.t) {
	case V_NULL: jw_str(w, NULL); break;
	case V_STR: jw_str(w, v.s); break;
	case V_INT: jw_int(w, v.i); break;
	case V_BOOL: jw_bool(w, v.i != 0); break;
	}
}

/* set_pair: the pair as an array under `name`, and keyed by side label under `twin`. */
static void pair(const report_ctx *b, report_writer *w, const char *name, const char *twin, val v0, val v1)
{
	jw_key(w, name);
	jw_open(w, '[');
	jw_next(w);
	put_val(w, v0);
	jw_next(w);
	put_val(w, v1);
	jw_close(w, ']');
	jw_key(w, twin);
	jw_open(w, '{');
	jw_key(w, diff_side_label(b->r, 0));
	put_val(w, v0);
	jw_key(w, diff_side_label(b->r, 1));
	put_val(w, v1);
	jw_close(w, '}');
}

static void evidence(const report_ctx *b, report_writer *w, const char *property, val v0, val v1)
{
	jw_next(w);
	jw_open(w, '{');
	key_str(w, "property", property);
	pair(b, w, "values", "value", v0, v1);
	jw_close(w, '}');
}

/* hex_json's text: at most a key's length. */
static const char *hex_text(const uint8_t *p, size_t n, char buf[2 * SNAP_KEY_LEN + 1])
{
	hex_encode(p, n > SNAP_KEY_LEN ? SNAP_KEY_LEN : n, buf);
	return buf;
}

/* folder_shown's text, NULL when none. */
static const char *folder_text(const report_ctx *b, int s, int32_t f)
{
	if (f < 0)
		return NULL;
	int32_t row = b->row_of[s][f];
	const char *p = b->r->snap[s]->folders[f].path;
	return js(row >= 0 ? b->row_path[row] : p ? p : "");
}

/* evidence_json */
static void evidence_list(const report_ctx *b, report_writer *w, const diff_finding *f)
{
	const diff_result *r = b->r;
	const snap_compared *ci[2] = {r->cmp[0], r->cmp[1]};
	const snap_citem *it[2] = {NULL, NULL};
	for (int s = 0; s < 2; s++)
		if (f->item[s] >= 0)
			it[s] = &ci[s]->items[f->item[s]];
	jw_key(w, "evidence");
	jw_open(w, '[');
	if (f->kind == FIND_FOLDER_RENAMED) {
		const snap_folder *a = &r->snap[0]->folders[f->folder[0]], *c = &r->snap[1]->folders[f->folder[1]];
		evidence(b, w, "name", v_str(js(a->name)), v_str(js(c->name)));
	} else if (it[0] && it[1]) {
		if (f->props & PROP_READ)
			evidence(b, w, "read", v_bool(diff_item_read(it[0]) == 1), v_bool(diff_item_read(it[1]) == 1));
		if (f->props & PROP_FLAG)
			evidence(b, w, "flag_status", v_int(diff_item_flag_status(it[0])), v_int(diff_item_flag_status(it[1])));
		if (f->props & PROP_SUBJECT)
			evidence(b, w, "subject", v_str(js(diff_item_subject(r, 0, f->item[0]))),
			         v_str(js(diff_item_subject(r, 1, f->item[1]))));
		if (f->props & PROP_CLASS)
			evidence(b, w, "class", v_str(js(it[0]->cls ? ci[0]->heap + it[0]->cls : "")),
			         v_str(js(it[1]->cls ? ci[1]->heap + it[1]->cls : "")));
		if (f->props & PROP_IMPORTANCE)
			evidence(b, w, "importance", v_int(diff_item_importance(it[0])), v_int(diff_item_importance(it[1])));
		if (f->props & PROP_CHANGE_KEY) {
			snap_bin k0 = snap_cbin(ci[0], it[0]->change_key), k1 = snap_cbin(ci[1], it[1]->change_key);
			char h0[2 * SNAP_KEY_LEN + 1], h1[2 * SNAP_KEY_LEN + 1];
			evidence(b, w, "change_key", v_str(hex_text(k0.data, k0.len, h0)), v_str(hex_text(k1.data, k1.len, h1)));
		}
		if (f->kind == FIND_ITEM_MOVED)
			evidence(b, w, "folder", v_str(folder_text(b, 0, f->folder[0])), v_str(folder_text(b, 1, f->folder[1])));
	}
	jw_close(w, ']');
}

void report_finding_objects(const diff_result *r, const diff_finding *f, report_objects *o)
{
	memset(o, 0, offsetof(report_objects, id_text));
	for (int s = 0; s < 2; s++) {
		const snap_folder *fo = f->folder[s] >= 0 ? &r->snap[s]->folders[f->folder[s]] : NULL;
		o->path[s] = fo ? fo->path : NULL;
		if (f->item[s] >= 0) {
			o->item_ci = r->cmp[s];
			o->item = &o->item_ci->items[f->item[s]];
			o->item_side = s;
			o->item_index = f->item[s];
			o->id[s] = snap_citem_id(o->item_ci, o->item, o->id_text[s]);
			if (!o->ident || !o->ident->has_key)
				o->ident = &o->item->ident;
		} else if (fo && (f->kind == FIND_FOLDER_MISSING || f->kind == FIND_FOLDER_RENAMED ||
		                  f->kind == FIND_FOLDER_MOVED || (f->kind == FIND_DUPLICATE_KEY && f->item[0] < 0 && f->item[1] < 0))) {
			o->id[s] = fo->id;
			if (!o->ident || !o->ident->has_key)
				o->ident = &fo->ident;
		}
	}
	if (f->kind == FIND_DUPLICATE_KEY && f->second >= 0 && f->side >= 0) {
		o->second = true;
		o->second_id = f->item[f->side] >= 0
		                   ? snap_citem_id(r->cmp[f->side], &r->cmp[f->side]->items[f->second], o->id_text[2])
		                   : r->snap[f->side]->folders[f->second].id;
	}
}

const char *report_newer_name(const diff_result *r, int newer)
{
	switch (newer) {
	case NEWER_SIDE0:
	case NEWER_SIDE1: return diff_side_label(r, newer);
	case NEWER_CONFLICT: return "conflict";
	case NEWER_SAME: return "same";
	default: return "unknown";
	}
}

bool report_finding_direct_ok(const report_ctx *b)
{
	const char *l0 = diff_side_label(b->r, 0), *l1 = diff_side_label(b->r, 1);
	return !b->rd.on && js(l0) && js(l1) && strcmp(l0, l1) != 0;
}

int report_finding_write(const report_ctx *b, const diff_finding *f, report_writer *w, bool *folder)
{
	const diff_result *r = b->r;
	char time[32], hex[2 * SNAP_KEY_LEN + 1];
	*folder = false;
	jw_open(w, '{');
	key_str(w, "kind", js(diff_kind_name(f->kind)));
	key_str(w, "category", diff_kind_is_integrity(f->kind) ? "integrity" : "difference");
	if (f->side >= 0) {
		jw_key(w, "side");
		jw_int(w, f->side);
		key_str(w, "side_label", js(diff_side_label(r, f->side)));
	}
	jw_key(w, "expected");
	jw_bool(w, f->expected);
	if (f->reason != REASON_NONE) {
		key_str(w, "reason", js(diff_reason_name((diff_reason)f->reason)));
		key_str(w, "why", js(diff_reason_text((diff_reason)f->reason)));
	}
	if (f->row >= 0) {
		const char *p = js(b->row_path[f->row]);
		key_str(w, "folder", p);
		*folder = p != NULL;
	}
	report_objects o;
	report_finding_objects(r, f, &o);
	const snap_ident *ident = o.ident;
	const snap_citem *item = o.item;
	const snap_compared *item_ci = o.item_ci;
	pair(b, w, "paths", "path", v_str(js(o.path[0])), v_str(js(o.path[1])));
	pair(b, w, "ids", "id", v_str(js(o.id[0])), v_str(js(o.id[1])));
	if (o.second)
		key_str(w, "second_id", js(o.second_id));
	if (ident && ident->has_key)
		key_str(w, "key", hex_text(ident->key, SNAP_KEY_LEN, hex));
	if (ident && ident->has_gc)
		key_str(w, "gc", hex_text(ident->gc, SNAP_GC_LEN, hex));
	if (ident)
		key_str(w, "key_origin", js(snap_key_origin_name((snap_key_origin)ident->origin)));
	if (f->pair != PAIR_NONE)
		key_str(w, "pair", js(diff_pair_method_name((diff_pair_method)f->pair)));
	if (item) {
		if (item->cls)
			key_str(w, "class", js(snap_cstr(item_ci, item->cls)));
		key_str(w, "subject", js(diff_item_subject(r, o.item_side, o.item_index)));
		int64_t date = diff_item_date(item);
		if (date)
			key_str(w, "date", (filetime_format(date, time), time));
	}
	if (f->associated) {
		jw_key(w, "associated");
		jw_bool(w, true);
	}
	if (f->summary) {
		jw_key(w, "summarized");
		jw_bool(w, true);
	}
	if (f->kind == FIND_ITEM_CHANGED || f->kind == FIND_ITEM_MOVED || f->kind == FIND_FOLDER_RENAMED) {
		evidence_list(b, w, f);
		if (f->kind != FIND_FOLDER_RENAMED)
			key_str(w, "newer", js(report_newer_name(r, f->newer)));
	}
	jw_key(w, "count");
	jw_int(w, f->count);
	if (f->date_min || f->date_max) {
		jw_key(w, "dates");
		jw_open(w, '{');
		if (f->date_min)
			key_str(w, "oldest", (filetime_format(f->date_min, time), time));
		if (f->date_max)
			key_str(w, "newest", (filetime_format(f->date_max, time), time));
		jw_close(w, '}');
	}
	if (f->error >= 0 && f->side >= 0 && f->kind != FIND_COUNT_MISMATCH) {
		const snap_error *e = &r->snap[f->side]->errors[f->error];
		if (!e->code || js(e->code)) { /* json_pack refuses the whole object for a code it refuses */
			jw_key(w, "error");
			jw_open(w, '{');
			key_str(w, "code", e->code);
			key_str(w, "message", js(e->message));
			jw_close(w, '}');
		}
	}
	if (f->kind == FIND_COUNT_MISMATCH || (f->kind == FIND_FILE_DAMAGED && f->what)) {
		key_str(w, "what", js(f->what ? f->what : ""));
		if (f->kind == FIND_COUNT_MISMATCH) {
			jw_key(w, "stored");
			jw_int(w, f->stored);
		}
		jw_key(w, "found");
		jw_int(w, f->found);
	}
	key_str(w, "action", js(diff_finding_action(r, f)));
	jw_close(w, '}');
	return w->rc;
}
