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
#include "internal.h"

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

typedef enum { V_NULL, V_STRING, V_NUMBER, V_BOOL, V_OBJECT, V_ARRAY } vkind;

struct graph_parser {
	yajl_handle y;
	graph_page *pg;
	graph_coll coll;
	bool single, folders;
	/* a page given whole is read by json.c's scanner; what it does not take, by yajl */
	bool allow_scan;
	bool scanned;           /* the scanner read the first piece to its end */
	size_t pieces;          /* fed so far */
	gjs_buf scan_buf;
	yajl_handle tail;       /* after a scanned piece: what yajl makes of more text */
	int depth;
	int entity_depth;       /* depth of the entity's object: 3, or 1 for a single entity */
	char key[64];           /* the last key met at each interesting level, below */
	char page_key[64], entity_key[64], sub_key[64];
	bool in_value;          /* inside the page's "value" array */
	bool saw_value;         /* the page had its "value" array */
	bool in_error;          /* inside the page's "error" object */
	bool in_flag, in_props, in_prop;
	/* the entity being read */
	snap_folder *folder;
	snap_item *item;
	size_t extra;
	bool removed, has_id, nomem;
	/* the extended property being read (its id and value may come in either order) */
	char prop_id[64];
	char *prop_value;       /* the parser's buffer, reused for every property */
	size_t prop_cap;
	bool prop_has_value;
	const char *bad;        /* the first field of the wrong type or form */
	char message[200];      /* what stopped the parse */
};

static void bad_field(graph_parser *p, const char *name)
{
	if (!p->bad)
		p->bad = name;
}

static int64_t time_of(graph_parser *p, const char *text, const char *name)
{
	int64_t ft = 0;
	if (filetime_parse(text, &ft) != 0) {
		bad_field(p, name);
		return 0;
	}
	return ft;
}

static snap_bin binary(graph_parser *p, const char *text, const char *name)
{
	snap_bin b = {NULL, 0};
	size_t n = strlen(text);
	uint8_t stack[256];
	uint8_t *tmp = n / 4 * 3 + 3 <= sizeof stack ? stack : malloc(n / 4 * 3 + 3);
	int len = tmp ? b64_decode(text, tmp, n / 4 * 3 + 3) : -1;
	if (len < 0)
		bad_field(p, name);
	else if (len > 0)
		b = snap_bindup(p->pg->scratch, tmp, (size_t)len);
	if (tmp != stack)
		free(tmp);
	return b;
}

static int hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "Binary 0x65e0" (Graph echoes the tag in lower case, without leading zeros): the tag. */
static long prop_tag(const char *id)
{
	const char *sp = strchr(id, ' ');
	if (!sp || strncasecmp(sp + 1, "0x", 2) != 0)
		return -1;
	/* the usual form, one to four hex digits, read here; anything else as strtol reads it */
	const char *h = sp + 3;
	long tag = 0;
	int n = 0;
	for (; n < 5 && h[n]; n++) {
		int v = hex_digit(h[n]);
		if (v < 0)
			break;
		tag = tag << 4 | v;
	}
	if (n < 1 || n > 4 || h[n] != '\0') {
		char *end;
		tag = strtol(h, &end, 16);
		if (*end != '\0')
			return -1;
	}
	return tag > 0 && tag <= 0xffff ? tag : -1;
}

/* A whole decimal number as strtoll reads it (*ok when it is one): up to 18 digits here, the rest
 * by strtoll. */
static long long decimal(const char *text, bool *ok)
{
	long long v = 0;
	int n = 0;
	for (; n < 19 && text[n] >= '0' && text[n] <= '9'; n++)
		v = v * 10 + (text[n] - '0');
	if (n >= 1 && n <= 18 && text[n] == '\0') {
		*ok = true;
		return v;
	}
	char *end;
	v = strtoll(text, &end, 10);
	*ok = *text && *end == '\0';
	return v;
}

static void set_key(snap_ident *id, snap_bin b)
{
	if (b.len == SNAP_KEY_LEN) {
		memcpy(id->key, b.data, SNAP_KEY_LEN);
		memcpy(id->gc, b.data + 16, SNAP_GC_LEN);
		id->has_key = id->has_gc = 1;
		id->origin = KEY_SOURCE_KEY;
	}
}

/* One extended property of the entity, once both its id and value are known. */
static void apply_prop(graph_parser *p, const char *pid, const char *val)
{
	long tag = prop_tag(pid);
	if (tag < 0)
		return;
	snap_t *s = p->pg->scratch;
	snap_folder *f = p->folder;
	snap_item *it = p->item;
	long long num = 0;
	bool is_num = false;
	/* the tags whose values are numbers: the rest are not read as one */
	if (tag == 0x3602 || tag == 0x3603 || tag == 0x3617 || tag == 0x0E07 || tag == 0x1090 || tag == 0x0017 ||
	    tag == 0x0E08) {
		num = decimal(val, &is_num);
	}
	snap_ident *ident = f ? &f->ident : &it->ident;
	switch (tag) {
	case 0x65E0: set_key(ident, binary(p, val, "PidTagSourceKey")); break;
	case 0x65E2: *(f ? &f->change_key : &it->change_key) = binary(p, val, "PidTagChangeKey"); break;
	case 0x65E3: *(f ? &f->pcl : &it->pcl) = binary(p, val, "PidTagPredecessorChangeList"); break;
	case 0x3613:
		if (f)
			f->cls = snap_strdup(s, val);
		break;
	case 0x3602:
		if (f && is_num && num >= 0)
			f->content_count = num;
		break;
	case 0x3603:
		if (f && is_num && num >= 0)
			f->unread_count = num;
		break;
	case 0x3617:
		if (f && is_num && num >= 0)
			f->assoc_count = num;
		break;
	case 0x36D0: case 0x36D1: case 0x36D2: case 0x36D3: case 0x36D4: case 0x36D5: case 0x36D6: case 0x36D7:
		if (f) { /* the special folders' entry ids the Inbox carries */
			snap_bin b = binary(p, val, "special folder entry id");
			if (b.len >= 46 && b.len <= sizeof p->pg->special[0]) {
				memcpy(p->pg->special[tag - 0x36D0], b.data, b.len);
				p->pg->special_len[tag - 0x36D0] = (uint8_t)b.len;
			}
		}
		break;
	case 0x0E09: /* a calendar's parent: its entry id */
		if (f) {
			snap_bin b = binary(p, val, "PidTagParentEntryId");
			if (b.len >= 46) {
				char hex[2 * SNAP_KEY_LEN + 1];
				hex_encode(b.data + b.len - 24, SNAP_KEY_LEN, hex);
				free(p->pg->parent_key[p->extra]);
				if (!(p->pg->parent_key[p->extra] = strdup(hex)))
					p->nomem = true;
			}
		}
		break;
	case 0x0E07:
		if (it && is_num) {
			it->msg_flags = num & 0xffffffff;
			it->read = (it->msg_flags & 1) != 0;
		}
		break;
	case 0x1090:
		if (it && is_num && num >= 0 && num <= 2)
			it->flag_status = (int8_t)num;
		break;
	case 0x0017:
		if (it && is_num && num >= 0 && num <= 2)
			it->importance = (int8_t)num;
		break;
	case 0x001A:
		if (it)
			it->cls = snap_strdup(s, val);
		break;
	case 0x0037:
		if (it)
			it->subject = snap_strdup(s, val);
		break;
	case 0x1035:
		if (it)
			it->message_id = snap_strdup(s, val);
		break;
	case 0x0E06:
		if (it)
			it->received = time_of(p, val, "PidTagMessageDeliveryTime");
		break;
	case 0x0039:
		if (it)
			it->sent = time_of(p, val, "PidTagClientSubmitTime");
		break;
	case 0x0E08:
		if (it && is_num && num >= 0)
			it->size = num;
		break;
	default: break;
	}
}

static int8_t level(const char *v)
{
	return strcasecmp(v, "low") == 0 ? 0 : strcasecmp(v, "normal") == 0 ? 1 : strcasecmp(v, "high") == 0 ? 2 : -1;
}

/* A scalar field of the entity (text is NUL-terminated; for V_BOOL "1"/"0", V_NUMBER the digits). */
static void entity_field(graph_parser *p, const char *k, vkind kind, const char *text)
{
	snap_t *s = p->pg->scratch;
	bool str = kind == V_STRING, null = kind == V_NULL;
	if (strcmp(k, "id") == 0) {
		if (!str) {
			bad_field(p, "id");
			return;
		}
		p->has_id = true;
		if (p->folder)
			p->folder->id = snap_strdup(s, text);
		else
			p->item->id = snap_strdup(s, text);
		return;
	}
	if (null)
		return; /* absent */
	if (strcmp(k, "@odata.type") == 0) {
		if (p->folder && str && strstr(text, "SearchFolder"))
			p->pg->search[p->extra] = true;
		return;
	}
	if (strcmp(k, "changeKey") == 0) {
		uint8_t ck[SNAP_KEY_LEN];
		if (!str)
			bad_field(p, k);
		else if (pull_change_key(text, ck) == 0) {
			snap_bin *dst = p->folder ? &p->folder->change_key : &p->item->change_key;
			if (!dst->len) /* PidTagChangeKey, where returned, wins */
				*dst = snap_bindup(s, ck, SNAP_KEY_LEN);
		}
		return;
	}
	if (p->folder) {
		snap_folder *f = p->folder;
		bool name = strcmp(k, p->coll == COLL_CALENDARS ? "name" : "displayName") == 0;
		bool parent = strcmp(k, "parentFolderId") == 0;
		bool type = p->coll == COLL_MAILBOX_FOLDERS && strcmp(k, "type") == 0;
		bool wk = p->coll == COLL_MAILBOX_FOLDERS && strcmp(k, "wellKnownName") == 0;
		bool total = strcmp(k, "totalItemCount") == 0, unread = strcmp(k, "unreadItemCount") == 0;
		if ((name || parent || type || wk) && !str) {
			bad_field(p, k);
		} else if (name) {
			f->name = snap_strdup(s, text);
		} else if (parent) {
			f->parent_id = snap_strdup(s, text);
		} else if (type) {
			if (!f->cls || !*f->cls)
				f->cls = snap_strdup(s, text);
		} else if (wk) {
			if (*text && !(p->pg->wellknown[p->extra] = strdup(text)))
				p->nomem = true;
		} else if (total || unread) {
			char *end;
			long long v = kind == V_NUMBER ? strtoll(text, &end, 10) : -1;
			if (kind != V_NUMBER || *end || v < 0)
				bad_field(p, k);
			else if (total)
				f->content_count = v;
			else
				f->unread_count = v;
		}
		return;
	}
	snap_item *it = p->item;
	if (strcmp(k, "createdDateTime") == 0 || strcmp(k, "lastModifiedDateTime") == 0 ||
	    (p->coll == COLL_MESSAGES && (strcmp(k, "receivedDateTime") == 0 || strcmp(k, "sentDateTime") == 0))) {
		if (!str) {
			bad_field(p, k);
			return;
		}
		int64_t t = time_of(p, text, k);
		switch (k[0]) {
		case 'c': it->created = t; break;
		case 'l': it->modified = t; break;
		case 'r': it->received = t; break;
		default: it->sent = t; break;
		}
	} else if (p->coll == COLL_MAILBOX_ITEMS && strcmp(k, "type") == 0) {
		if (!str)
			bad_field(p, k);
		else if (!it->cls)
			it->cls = snap_strdup(s, text);
	} else if (p->coll == COLL_MAILBOX_ITEMS && strcmp(k, "size") == 0) {
		char *end;
		long long v = kind == V_NUMBER ? strtoll(text, &end, 10) : -1;
		if (kind != V_NUMBER || *end || v < 0)
			bad_field(p, k);
		else
			it->size = v;
	} else if (p->coll != COLL_MAILBOX_ITEMS && strcmp(k, "subject") == 0) {
		if (!str)
			bad_field(p, k);
		else if (!it->subject)
			it->subject = snap_strdup(s, text);
	} else if (p->coll != COLL_MAILBOX_ITEMS && strcmp(k, "importance") == 0) {
		if (!str)
			bad_field(p, k);
		else if (it->importance < 0)
			it->importance = level(text);
	} else if (p->coll == COLL_MESSAGES && strcmp(k, "internetMessageId") == 0) {
		if (!str)
			bad_field(p, k);
		else if (!it->message_id)
			it->message_id = snap_strdup(s, text);
	} else if (p->coll == COLL_MESSAGES && strcmp(k, "isRead") == 0) {
		if (kind != V_BOOL)
			bad_field(p, k);
		else if (it->msg_flags < 0)
			it->read = text[0] == '1';
	}
}

/* A scalar anywhere: routed by where it sits. */
static int scalar(graph_parser *p, vkind kind, const char *text)
{
	graph_page *pg = p->pg;
	if (p->in_value && p->depth == 2) {
		snprintf(p->message, sizeof p->message, "an entry of the page is not an object");
		return 0;
	}
	if (p->in_prop && p->depth == p->entity_depth + 2) {
		if (strcmp(p->sub_key, "id") == 0) {
			if (kind != V_STRING)
				bad_field(p, "singleValueExtendedProperties");
			else
				str_copy(p->prop_id, text, sizeof p->prop_id);
		} else if (strcmp(p->sub_key, "value") == 0 && kind == V_STRING) {
			size_t n = strlen(text) + 1;
			if (n > p->prop_cap) {
				size_t cap = n < 256 ? 256 : n;
				char *v = realloc(p->prop_value, cap);
				if (!v) {
					p->nomem = true;
					return 1;
				}
				p->prop_value = v;
				p->prop_cap = cap;
			}
			memcpy(p->prop_value, text, n);
			p->prop_has_value = true;
		}
		return 1;
	}
	if (p->in_flag && p->depth == p->entity_depth + 1) {
		if (strcmp(p->sub_key, "flagStatus") == 0 && kind == V_STRING && p->item && p->item->flag_status < 0)
			p->item->flag_status = strcmp(text, "flagged") == 0 ? 2 : strcmp(text, "complete") == 0 ? 1 : 0;
		return 1;
	}
	if ((p->folder || p->item) && p->depth == p->entity_depth) {
		entity_field(p, p->entity_key, kind, text);
		return 1;
	}
	if (p->in_error && p->depth == 2 && kind == V_STRING) {
		if (strcmp(p->sub_key, "code") == 0)
			str_copy(pg->error.code, text, sizeof pg->error.code);
		else if (strcmp(p->sub_key, "message") == 0)
			str_copy(pg->error.message, text, sizeof pg->error.message);
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
			str_copy(pg->error.code, text, sizeof pg->error.code);
		}
		if (dst) {
			free(*dst);
			if (!(*dst = strdup(text)))
				p->nomem = true;
		}
	}
	return 1;
}

static int on_null(void *ctx) { return scalar(ctx, V_NULL, ""); }
static int on_bool(void *ctx, int v) { return scalar(ctx, V_BOOL, v ? "1" : "0"); }

static int on_number(void *ctx, const char *num, size_t len)
{
	char buf[64];
	if (len >= sizeof buf) { /* no count of ours is that long */
		graph_parser *p = ctx;
		bad_field(p, (p->folder || p->item) ? "a number" : "number");
		return 1;
	}
	memcpy(buf, num, len);
	buf[len] = '\0';
	return scalar(ctx, V_NUMBER, buf);
}

static int on_string(void *ctx, const unsigned char *str, size_t len)
{
	graph_parser *p = ctx;
	if (len > MAX_STRING) {
		snprintf(p->message, sizeof p->message, "a string of %zu bytes (more than %u)", len, MAX_STRING);
		return 0;
	}
	char stack[512];
	char *text = len < sizeof stack ? stack : malloc(len + 1);
	if (!text) {
		p->nomem = true;
		return 0;
	}
	memcpy(text, str, len);
	text[len] = '\0';
	/* a NUL inside the value ends it: the snapshot's strings are C strings */
	int rc = scalar(p, V_STRING, text);
	if (text != stack)
		free(text);
	return rc;
}

static void copy_key(char *dst, size_t size, const unsigned char *key, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	memcpy(dst, key, n);
	dst[n] = '\0';
}

static int on_key(void *ctx, const unsigned char *key, size_t len)
{
	graph_parser *p = ctx;
	if (p->depth == 1)
		copy_key(p->page_key, sizeof p->page_key, key, len);
	if ((p->folder || p->item) && p->depth == p->entity_depth)
		copy_key(p->entity_key, sizeof p->entity_key, key, len);
	else
		copy_key(p->sub_key, sizeof p->sub_key, key, len);
	return 1;
}

/* An entity begins: a record of the scratch snapshot. */
static int begin_entity(graph_parser *p)
{
	graph_page *pg = p->pg;
	p->removed = p->has_id = false;
	p->entity_key[0] = '\0';
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
		if (strcmp(p->entity_key, "@removed") == 0)
			p->removed = true;
		else if (strcmp(p->entity_key, "flag") == 0)
			p->in_flag = true;
	}
	if (p->in_props && p->depth == p->entity_depth + 2) {
		p->in_prop = true;
		p->prop_id[0] = '\0';
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
		if (p->prop_id[0] && p->prop_has_value && (p->folder || p->item))
			apply_prop(p, p->prop_id, p->prop_value);
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
	if ((p->folder || p->item) && p->depth == p->entity_depth + 1 &&
	    strcmp(p->entity_key, "singleValueExtendedProperties") == 0)
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
	p->prop_value = keep.prop_value;
	p->prop_cap = keep.prop_cap;
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
		if (gjs_scan(&callbacks, p, data, len, &p->scan_buf) == 0) {
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
	free(p->prop_value);
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
