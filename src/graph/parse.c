/*
 * parse.c: Graph's JSON pages, parsed as a stream with yajl as they arrive: no tree of the page
 * is built, and every object of its "value" array becomes a folder or an item of the page's
 * scratch snapshot when its closing brace is read. Fields Graph leaves out stay absent; a field
 * of the wrong JSON type, or a value that does not read (a date, base64), makes the page
 * unreadable, with the field named. Bounded: nesting depth, the length of one string.
 *
 * Where an object sits: depth 1 is the page (or the entity of a single-entity answer), depth 2
 * the "value" array, depth 3 an entity; an entity's singleValueExtendedProperties are objects at
 * depth 5, its flag (followupFlag) an object at depth 4. Anything else nested is skipped.
 */
#include "parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>

#define MAX_DEPTH 64
#define MAX_STRING (32u << 20) /* one string value */

int graph_page_init(graph_page *pg, or_error *err)
{
	memset(pg, 0, sizeof *pg);
	return snap_new(&pg->scratch, err);
}

static void free_extra(graph_page *pg)
{
	for (size_t i = 0; i < pg->n_extra; i++) {
		free(pg->wellknown[i]);
		free(pg->parent_key[i]);
	}
	pg->n_extra = 0;
}

int graph_page_reset(graph_page *pg, or_error *err)
{
	free_extra(pg);
	free(pg->next_link);
	free(pg->delta_link);
	free(pg->mailbox_id);
	pg->next_link = pg->delta_link = pg->mailbox_id = NULL;
	pg->removed = 0;
	memset(pg->special_len, 0, sizeof pg->special_len);
	pg->has_error = false;
	memset(&pg->error, 0, sizeof pg->error);
	if (pg->scratch) { /* its memory serves the next page */
		snap_clear(pg->scratch);
		return 0;
	}
	return snap_new(&pg->scratch, err);
}

void graph_page_free(graph_page *pg)
{
	free_extra(pg);
	free(pg->wellknown);
	free(pg->parent_key);
	free(pg->search);
	free(pg->next_link);
	free(pg->delta_link);
	free(pg->mailbox_id);
	snap_free(pg->scratch);
	memset(pg, 0, sizeof *pg);
}

/* Per-folder extras beside the scratch snapshot's folders, index for index. */
static int add_extra(graph_page *pg)
{
	if (pg->n_extra == pg->cap_extra) {
		size_t cap = pg->cap_extra ? pg->cap_extra * 2 : 64;
		char **w = realloc(pg->wellknown, cap * sizeof *w);
		if (w)
			pg->wellknown = w;
		char **p = realloc(pg->parent_key, cap * sizeof *p);
		if (p)
			pg->parent_key = p;
		bool *s = realloc(pg->search, cap * sizeof *s);
		if (s)
			pg->search = s;
		if (!w || !p || !s)
			return -1;
		pg->cap_extra = cap;
	}
	pg->wellknown[pg->n_extra] = NULL;
	pg->parent_key[pg->n_extra] = NULL;
	pg->search[pg->n_extra] = false;
	pg->n_extra++;
	return 0;
}

/* The key of the n bytes at k: by its length first, then its bytes. */
static inline __attribute__((always_inline)) key_id key_of(const unsigned char *k, size_t n)
{
#define IS(id) (memcmp(k, key_names[id], n) == 0 ? (id) : K_OTHER)
	switch (n) {
	case 2: return IS(K_ID);
	case 4:
		switch (k[0]) {
		case 'n': return IS(K_NAME);
		case 't': return IS(K_TYPE);
		case 's': return IS(K_SIZE);
		case 'f': return IS(K_FLAG);
		case 'c': return IS(K_CODE);
		default: return K_OTHER;
		}
	case 5: return IS(K_VALUE);
	case 6: return IS(K_IS_READ);
	case 7: return k[0] == 's' ? IS(K_SUBJECT) : IS(K_MESSAGE);
	case 8: return IS(K_REMOVED);
	case 9: return IS(K_CHANGE_KEY);
	case 10: return k[0] == 'i' ? IS(K_IMPORTANCE) : IS(K_FLAG_STATUS);
	case 11: return k[0] == '@' ? IS(K_ODATA_TYPE) : IS(K_DISPLAY_NAME);
	case 12: return IS(K_SENT);
	case 13: return IS(K_WELL_KNOWN_NAME);
	case 14: return k[0] == 'p' ? IS(K_PARENT_FOLDER_ID) : IS(K_TOTAL_ITEM_COUNT);
	case 15: return k[0] == 'c' ? IS(K_CREATED) : IS(K_UNREAD_ITEM_COUNT);
	case 16: return IS(K_RECEIVED);
	case 17: return IS(K_INTERNET_MESSAGE_ID);
	case 20: return IS(K_LAST_MODIFIED);
	case 29: return IS(K_PROPS);
	default: return K_OTHER;
	}
#undef IS
}

static void copy_text(char *dst, size_t size, const char *text, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	memcpy(dst, text, n);
	dst[n] = '\0';
}

/* A scalar anywhere: routed by where it sits (text has no NUL, and len bytes). */
static inline __attribute__((always_inline)) int scalar(graph_parser *p, vkind kind, const char *text, size_t len)
{
	graph_page *pg = p->pg;
	if (p->in_value && p->depth == 2) {
		snprintf(p->message, sizeof p->message, "an entry of the page is not an object");
		return 0;
	}
	if ((p->folder || p->item) && p->depth == p->entity_depth) {
		graph_entity_field(p, p->entity_key, kind, text, len);
		return 1;
	}
	if (p->in_prop && p->depth == p->entity_depth + 2) {
		if (p->sub_key == K_ID) {
			if (kind != V_STRING)
				bad_field(p, "singleValueExtendedProperties");
			else
				p->prop_tag = graph_prop_tag(text, len);
		} else if (p->sub_key == K_VALUE && kind == V_STRING) {
			if (!graph_hold(p, &p->prop_value, text, len)) {
				p->nomem = true;
				return 1;
			}
			p->prop_has_value = true;
		}
		return 1;
	}
	if (p->in_flag && p->depth == p->entity_depth + 1) {
		if (p->sub_key == K_FLAG_STATUS && kind == V_STRING && p->item && p->item->flag_status < 0)
			p->item->flag_status = len == 7 && memcmp(text, "flagged", 7) == 0    ? 2
			                       : len == 8 && memcmp(text, "complete", 8) == 0 ? 1
			                                                                      : 0;
		return 1;
	}
	if (p->in_error && p->depth == 2 && kind == V_STRING) {
		if (p->sub_key == K_CODE)
			copy_text(pg->error.code, sizeof pg->error.code, text, len);
		else if (p->sub_key == K_MESSAGE)
			copy_text(pg->error.message, sizeof pg->error.message, text, len);
		return 1;
	}
	if (p->depth == 1) {
		const char *k = p->page_key;
		bool link = strcmp(k, "@odata.nextLink") == 0 || strcmp(k, "@odata.deltaLink") == 0;
		if (link && kind != V_STRING) {
			snprintf(p->message, sizeof p->message, "the page's %s is not a string", k);
			return 0;
		}
		char **dst = strcmp(k, "@odata.nextLink") == 0 ? &pg->next_link : strcmp(k, "@odata.deltaLink") == 0 ? &pg->delta_link
		             : p->coll == COLL_SETTINGS && strcmp(k, "primaryMailboxId") == 0 && kind == V_STRING ? &pg->mailbox_id
		                                                                                               : NULL;
		if (strcmp(k, "error") == 0 && kind == V_STRING) { /* the identity platform's form */
			pg->has_error = true;
			copy_text(pg->error.code, sizeof pg->error.code, text, len);
		}
		if (dst) {
			free(*dst);
			if (!(*dst = strndup(text, len)))
				p->nomem = true;
		}
	}
	return 1;
}

static int on_null(void *ctx) { return scalar(ctx, V_NULL, "", 0); }
static int on_bool(void *ctx, int v) { return scalar(ctx, V_BOOL, v ? "1" : "0", 1); }

static int on_number(void *ctx, const char *num, size_t len)
{
	if (len >= 64) { /* no count of ours is that long */
		graph_parser *p = ctx;
		bad_field(p, (p->folder || p->item) ? "a number" : "number");
		return 1;
	}
	return scalar(ctx, V_NUMBER, num, len);
}

/* The length of a string up to its first NUL: the snapshot's strings are C strings, so a NUL
 * inside a value (yajl decodes \u0000) ends it. The scanner's strings have none. */
static size_t c_length(const graph_parser *p, const unsigned char *str, size_t len)
{
	if (p->page_text)
		return len;
	const unsigned char *nul = memchr(str, '\0', len);
	return nul ? (size_t)(nul - str) : len;
}

static int on_string(void *ctx, const unsigned char *str, size_t len)
{
	graph_parser *p = ctx;
	if (len > MAX_STRING) {
		snprintf(p->message, sizeof p->message, "a string of %zu bytes (more than %u)", len, MAX_STRING);
		return 0;
	}
	return scalar(p, V_STRING, (const char *)str, c_length(p, str, len));
}

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
	graph_parser *p = ctx;
	len = c_length(p, key, len);
	if (p->depth == 1)
		copy_text(p->page_key, sizeof p->page_key, (const char *)key, len);
	key_id k = key_of(key, len);
	if ((p->folder || p->item) && p->depth == p->entity_depth)
		p->entity_key = k;
	else
		p->sub_key = k;
	return 1;
}

/* An entity begins: a record of the scratch snapshot. */
static int begin_entity(graph_parser *p)
{
	graph_page *pg = p->pg;
	p->removed = p->has_id = false;
	p->change_key_pending = false;
	p->entity_key = K_OTHER;
	if (p->folders) {
		if (!(p->folder = snap_add_folder(pg->scratch)) || add_extra(pg) != 0) {
			p->nomem = true;
			return 0;
		}
		p->extra = pg->n_extra - 1;
	} else if (!(p->item = snap_add_item(pg->scratch))) {
		p->nomem = true;
		return 0;
	}
	return 1;
}

static int end_entity(graph_parser *p)
{
	graph_page *pg = p->pg;
	snap_t *s = pg->scratch;
	bool drop = p->removed || !p->has_id;
	if (!p->removed && !p->has_id)
		bad_field(p, "id");
	if (p->removed)
		pg->removed++;
	if (!drop)
		graph_settle_change_key(p);
	p->change_key_pending = false;
	if (p->folder) {
		if (drop) {
			s->n_folders--;
			free(pg->wellknown[p->extra]);
			free(pg->parent_key[p->extra]);
			pg->n_extra--;
		} else if (!p->folder->cls) {
			p->folder->cls = p->coll == COLL_CALENDARS ? "IPF.Appointment"
			                 : p->coll == COLL_CONTACT_FOLDERS ? "IPF.Contact" : NULL;
		}
	} else if (p->item) {
		if (drop)
			s->n_items--;
		else if (!p->item->cls && p->coll == COLL_EVENTS)
			p->item->cls = "IPM.Appointment";
	}
	p->folder = NULL;
	p->item = NULL;
	return 1;
}

static int on_start_map(void *ctx)
{
	graph_parser *p = ctx;
	if (++p->depth > MAX_DEPTH) {
		snprintf(p->message, sizeof p->message, "nested deeper than %d", MAX_DEPTH);
		return 0;
	}
	if (p->depth == 1 && p->single && p->coll != COLL_SETTINGS) {
		p->entity_depth = 1;
		return begin_entity(p);
	}
	if (p->depth == 3 && p->in_value) {
		p->entity_depth = 3;
		return begin_entity(p);
	}
	if (p->depth == 2 && strcmp(p->page_key, "error") == 0) {
		p->in_error = true;
		p->pg->has_error = true;
	}
	if ((p->folder || p->item) && p->depth == p->entity_depth + 1) {
		if (p->entity_key == K_REMOVED)
			p->removed = true;
		else if (p->entity_key == K_FLAG)
			p->in_flag = true;
	}
	if (p->in_props && p->depth == p->entity_depth + 2) {
		p->in_prop = true;
		p->prop_tag = -1;
		p->prop_has_value = false;
	}
	return 1;
}

static int on_end_map(void *ctx)
{
	graph_parser *p = ctx;
	int rc = 1;
	if (p->in_prop && p->depth == p->entity_depth + 2) {
		p->in_prop = false;
		if (p->prop_tag >= 0 && p->prop_has_value && (p->folder || p->item))
			graph_apply_prop(p, p->prop_tag, p->prop_value.text, p->prop_value.len);
	}
	if (p->in_flag && p->depth == p->entity_depth + 1)
		p->in_flag = false;
	if ((p->folder || p->item) && p->depth == p->entity_depth)
		rc = end_entity(p);
	if (p->in_error && p->depth == 2)
		p->in_error = false;
	p->depth--;
	return rc && !p->nomem;
}

static int on_start_array(void *ctx)
{
	graph_parser *p = ctx;
	if (++p->depth > MAX_DEPTH) {
		snprintf(p->message, sizeof p->message, "nested deeper than %d", MAX_DEPTH);
		return 0;
	}
	if (p->depth == 2 && !p->single && strcmp(p->page_key, "value") == 0)
		p->in_value = true;
	else if (p->in_value && p->depth == 3) {
		snprintf(p->message, sizeof p->message, "an entry of the page is not an object");
		return 0;
	}
	if ((p->folder || p->item) && p->depth == p->entity_depth + 1 && p->entity_key == K_PROPS)
		p->in_props = true;
	return 1;
}

static int on_end_array(void *ctx)
{
	graph_parser *p = ctx;
	if (p->in_value && p->depth == 2) {
		p->in_value = false;
		p->saw_value = true;
	}
	if (p->in_props && p->depth == p->entity_depth + 1)
		p->in_props = false;
	p->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

int graph_parser_new(graph_parser **out, graph_page *pg, graph_coll coll, bool single, or_error *err)
{
	graph_parser *p = calloc(1, sizeof *p);
	if (!p || !(p->y = yajl_alloc(&callbacks, NULL, p))) {
		free(p);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	/* UTF-8 is checked where strings are written (invalid sequences become U+FFFD) */
	yajl_config(p->y, yajl_dont_validate_strings, 1);
	p->pg = pg;
	p->allow_scan = true;
	p->coll = coll;
	p->single = single || coll == COLL_SETTINGS;
	p->folders = coll == COLL_MAILBOX_FOLDERS || coll == COLL_MAIL_FOLDERS || coll == COLL_CALENDARS ||
	             coll == COLL_CONTACT_FOLDERS || coll == COLL_SPECIAL;
	*out = p;
	return 0;
}

/* Why the parse stopped, into err. */
static int stopped(graph_parser *p, const unsigned char *data, size_t len, or_error *err)
{
	if (p->nomem)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (p->message[0])
		return or_fail(err, OR_ERR_FORMAT, "unusable page: %s", p->message);
	unsigned char *e = yajl_get_error(p->y, 0, data, len);
	int rc = or_fail(err, OR_ERR_FORMAT, "malformed JSON: %s", e ? (const char *)e : "?");
	if (e)
		yajl_free_error(p->y, e);
	return rc;
}

/* The scanner gave up on the first piece: the page, and the parser's state, as before it. */
static int restart(graph_parser *p, or_error *err)
{
	graph_parser keep = *p;
	memset(p, 0, sizeof *p);
	p->y = keep.y;
	p->pg = keep.pg;
	p->coll = keep.coll;
	p->single = keep.single;
	p->folders = keep.folders;
	p->allow_scan = keep.allow_scan;
	p->pieces = keep.pieces;
	p->scan_buf = keep.scan_buf;
	p->prop_value.buf = keep.prop_value.buf;
	p->prop_value.cap = keep.prop_value.cap;
	p->change_key.buf = keep.change_key.buf;
	p->change_key.cap = keep.change_key.cap;
	return graph_page_reset(p->pg, err);
}

/* Text after a page the scanner read whole: yajl's verdict on it, as if it had read the page
 * (whitespace is nothing; anything else is trailing garbage, in yajl's words). */
static int after_scanned(graph_parser *p, const char *data, size_t len, bool finish, or_error *err)
{
	if (!p->tail) {
		if (!(p->tail = yajl_alloc(NULL, NULL, NULL)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		yajl_config(p->tail, yajl_dont_validate_strings, 1);
		if (yajl_parse(p->tail, (const unsigned char *)"{}", 2) != yajl_status_ok)
			return or_fail(err, OR_ERR_FORMAT, "malformed JSON: ?");
	}
	yajl_status st = finish ? yajl_complete_parse(p->tail) : yajl_parse(p->tail, (const unsigned char *)data, len);
	if (st == yajl_status_ok)
		return 0;
	unsigned char *e = yajl_get_error(p->tail, 0, (const unsigned char *)data, len);
	int rc = or_fail(err, OR_ERR_FORMAT, "malformed JSON: %s", e ? (const char *)e : "?");
	if (e)
		yajl_free_error(p->tail, e);
	return rc;
}

int graph_parser_feed(graph_parser *p, const char *data, size_t len, or_error *err)
{
	if (p->scanned)
		return after_scanned(p, data, len, false, err);
	if (p->pieces++ == 0 && p->allow_scan) {
		/* a page given whole (as an inflated gzip page is) or its first piece */
		p->page_text = data;
		p->page_end = data + len;
		int scan = gjs_scan(&callbacks, p, data, len, &p->scan_buf);
		p->page_text = p->page_end = NULL;
		if (scan == 0) {
			p->scanned = true;
			return 0;
		}
		int rc = restart(p, err);
		if (rc)
			return rc;
	}
	yajl_status st = yajl_parse(p->y, (const unsigned char *)data, len);
	return st == yajl_status_ok ? 0 : stopped(p, (const unsigned char *)data, len, err);
}

void graph_parser_allow_scan(graph_parser *p, bool allow)
{
	p->allow_scan = allow;
}

int graph_parser_finish(graph_parser *p, or_error *err)
{
	yajl_status st = p->scanned ? yajl_status_ok : yajl_complete_parse(p->y);
	if (p->scanned && p->tail) {
		int rc = after_scanned(p, NULL, 0, true, err);
		if (rc)
			return rc;
	}
	if (st != yajl_status_ok)
		return stopped(p, NULL, 0, err);
	if (p->bad)
		return or_fail(err, OR_ERR_FORMAT, "unusable page: field %s has an unusable value", p->bad);
	if (!p->single && !p->saw_value && !p->pg->has_error)
		return or_fail(err, OR_ERR_FORMAT, "unusable page: not a collection (no \"value\" array)");
	if (p->coll == COLL_SETTINGS && !p->pg->mailbox_id && !p->pg->has_error)
		return or_fail(err, OR_ERR_FORMAT, "the user's Exchange settings give no primaryMailboxId");
	return 0;
}

void graph_parser_free(graph_parser *p)
{
	if (!p)
		return;
	yajl_free(p->y);
	if (p->tail)
		yajl_free(p->tail);
	free(p->scan_buf.data);
	free(p->prop_value.buf);
	free(p->change_key.buf);
	free(p);
}

int graph_page_parse(graph_page *pg, graph_coll coll, bool single, const char *text, size_t len, or_error *err)
{
	graph_parser *p = NULL;
	int rc = graph_parser_new(&p, pg, coll, single, err);
	rc = rc ? rc : graph_parser_feed(p, text, len, err);
	rc = rc ? rc : graph_parser_finish(p, err);
	graph_parser_free(p);
	return rc;
}
