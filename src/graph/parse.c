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

/* The keys this parser acts on, told apart once as each key is read (the fields are then
 * dispatched by number, not by comparing names again). */
typedef enum {
	K_OTHER, K_ID, K_VALUE, K_ODATA_TYPE, K_CHANGE_KEY, K_DISPLAY_NAME, K_NAME, K_PARENT_FOLDER_ID, K_TYPE,
	K_WELL_KNOWN_NAME, K_TOTAL_ITEM_COUNT, K_UNREAD_ITEM_COUNT, K_CREATED, K_LAST_MODIFIED, K_RECEIVED, K_SENT,
	K_SIZE, K_SUBJECT, K_IMPORTANCE, K_INTERNET_MESSAGE_ID, K_IS_READ, K_REMOVED, K_FLAG, K_PROPS, K_FLAG_STATUS,
	K_CODE, K_MESSAGE,
} key_id;

static const char *const key_names[] = {
	[K_OTHER] = "", [K_ID] = "id", [K_VALUE] = "value", [K_ODATA_TYPE] = "@odata.type",
	[K_CHANGE_KEY] = "changeKey", [K_DISPLAY_NAME] = "displayName", [K_NAME] = "name",
	[K_PARENT_FOLDER_ID] = "parentFolderId", [K_TYPE] = "type", [K_WELL_KNOWN_NAME] = "wellKnownName",
	[K_TOTAL_ITEM_COUNT] = "totalItemCount", [K_UNREAD_ITEM_COUNT] = "unreadItemCount",
	[K_CREATED] = "createdDateTime", [K_LAST_MODIFIED] = "lastModifiedDateTime", [K_RECEIVED] = "receivedDateTime",
	[K_SENT] = "sentDateTime", [K_SIZE] = "size", [K_SUBJECT] = "subject", [K_IMPORTANCE] = "importance",
	[K_INTERNET_MESSAGE_ID] = "internetMessageId", [K_IS_READ] = "isRead", [K_REMOVED] = "@removed",
	[K_FLAG] = "flag", [K_PROPS] = "singleValueExtendedProperties", [K_FLAG_STATUS] = "flagStatus",
	[K_CODE] = "code", [K_MESSAGE] = "message",
};

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

typedef enum { V_NULL, V_STRING, V_NUMBER, V_BOOL, V_OBJECT, V_ARRAY } vkind;

/* A string held beyond the callback that gave it: where it stays put (inside the page the scanner
 * reads, until the scan ends) its place, else a copy in `buf`. */
typedef struct {
	const char *text;
	size_t len;
	char *buf;
	size_t cap;
} held_text;

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
	/* while the scanner reads a page: the page, whose strings stay put to the end of the scan
	 * and have no NUL (the scanner leaves \u0000 to yajl); NULL otherwise */
	const char *page_text, *page_end;
	int depth;
	int entity_depth;       /* depth of the entity's object: 3, or 1 for a single entity */
	char page_key[64];      /* the last key met at each interesting level */
	key_id entity_key, sub_key;
	bool in_value;          /* inside the page's "value" array */
	bool saw_value;         /* the page had its "value" array */
	bool in_error;          /* inside the page's "error" object */
	bool in_flag, in_props, in_prop;
	/* the entity being read */
	snap_folder *folder;
	snap_item *item;
	size_t extra;
	bool removed, has_id, nomem;
	/* its changeKey, decoded when the entity ends unless PidTagChangeKey came (it wins) */
	bool change_key_pending;
	held_text change_key;
	/* the extended property being read (its id and value may come in either order) */
	long prop_tag;          /* its tag, -1 when it has none or none that reads */
	bool prop_has_value;
	held_text prop_value;
	const char *bad;        /* the first field of the wrong type or form */
	char message[200];      /* what stopped the parse */
};

static void bad_field(graph_parser *p, const char *name)
{
	if (!p->bad)
		p->bad = name;
}

/* Keeps text for later: its place when it stays put, else a copy. False when out of memory. */
static bool hold(graph_parser *p, held_text *h, const char *text, size_t len)
{
	uintptr_t at = (uintptr_t)text;
	if (p->page_text && at >= (uintptr_t)p->page_text && at < (uintptr_t)p->page_end) {
		h->text = text;
		h->len = len;
		return true;
	}
	if (len + 1 > h->cap) {
		size_t cap = len + 1 < 256 ? 256 : len + 1;
		char *b = realloc(h->buf, cap);
		if (!b)
			return false;
		h->buf = b;
		h->cap = cap;
	}
	memcpy(h->buf, text, len);
	h->buf[len] = '\0';
	h->text = h->buf;
	h->len = len;
	return true;
}

/* The n bytes at text as a C string: in small when they fit, else malloc'd (NULL: no memory). */
static char *c_string(const char *text, size_t n, char *small, size_t size)
{
	char *s = n < size ? small : malloc(n + 1);
	if (s) {
		memcpy(s, text, n);
		s[n] = '\0';
	}
	return s;
}

static void copy_text(char *dst, size_t size, const char *text, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;
	memcpy(dst, text, n);
	dst[n] = '\0';
}

static int64_t time_of(graph_parser *p, const char *text, size_t len, const char *name)
{
	int64_t ft = 0;
	if (filetime_parse_n(text, len, &ft) != 0) {
		bad_field(p, name);
		return 0;
	}
	return ft;
}

/* Base64 into out (room for at least len / 4 * 3 + 3 bytes): the byte count, or -1 (named). */
static int decode_binary(graph_parser *p, const char *text, size_t len, uint8_t *out, const char *name)
{
	int n = b64_decode_n(text, len, out, len / 4 * 3 + 3);
	if (n < 0)
		bad_field(p, name);
	return n;
}

static snap_bin binary(graph_parser *p, const char *text, size_t len, const char *name)
{
	snap_bin b = {NULL, 0};
	uint8_t stack[256];
	uint8_t *tmp = len / 4 * 3 + 3 <= sizeof stack ? stack : malloc(len / 4 * 3 + 3);
	int n = tmp ? decode_binary(p, text, len, tmp, name) : -1;
	if (!tmp)
		bad_field(p, name);
	if (n > 0)
		b = snap_bindup(p->pg->scratch, tmp, (size_t)n);
	if (tmp != stack)
		free(tmp);
	return b;
}

static int hex_digit(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "Binary 0x65e0" (Graph echoes the tag in lower case, without leading zeros): the tag, or -1.
 * Of a longer id only its first 63 bytes are read. */
static long prop_tag(const char *id, size_t len)
{
	if (len > 63)
		len = 63;
	const char *sp = memchr(id, ' ', len), *e = id + len;
	if (!sp || e - sp < 3 || sp[1] != '0' || (sp[2] != 'x' && sp[2] != 'X'))
		return -1;
	/* the usual form, one to four hex digits, read here; anything else as strtol reads it */
	const char *h = sp + 3;
	long tag = 0;
	size_t n = 0, left = (size_t)(e - h);
	for (; n < 5 && n < left; n++) {
		int v = hex_digit(h[n]);
		if (v < 0)
			break;
		tag = tag << 4 | v;
	}
	if (n < 1 || n > 4 || n != left) {
		char small[64], *end;
		memcpy(small, h, left);
		small[left] = '\0';
		tag = strtol(small, &end, 16);
		if (*end != '\0')
			return -1;
	}
	return tag > 0 && tag <= 0xffff ? tag : -1;
}

/* A whole decimal number as strtoll reads it (*ok when it is one): up to 18 digits here, the rest
 * by strtoll. */
static long long decimal(const char *text, size_t len, bool *ok)
{
	long long v = 0;
	size_t n = 0;
	for (; n < 19 && n < len && text[n] >= '0' && text[n] <= '9'; n++)
		v = v * 10 + (text[n] - '0');
	if (n >= 1 && n <= 18 && n == len) {
		*ok = true;
		return v;
	}
	char small[64], *end;
	char *s = c_string(text, len, small, sizeof small);
	if (!s) {
		*ok = false;
		return 0;
	}
	v = strtoll(s, &end, 10);
	*ok = *s && *end == '\0';
	if (s != small)
		free(s);
	return v;
}

static void set_key(graph_parser *p, snap_ident *id, const char *text, size_t len)
{
	uint8_t stack[256];
	uint8_t *raw = len / 4 * 3 + 3 <= sizeof stack ? stack : malloc(len / 4 * 3 + 3);
	int n = raw ? decode_binary(p, text, len, raw, "PidTagSourceKey") : -1;
	if (!raw)
		bad_field(p, "PidTagSourceKey");
	if (n == SNAP_KEY_LEN) {
		memcpy(id->key, raw, SNAP_KEY_LEN);
		memcpy(id->gc, raw + 16, SNAP_GC_LEN);
		id->has_key = id->has_gc = 1;
		id->origin = KEY_SOURCE_KEY;
	}
	if (raw != stack)
		free(raw);
}

/* One extended property of the entity, once both its id and value are known. */
static void apply_prop(graph_parser *p, long tag, const char *val, size_t len)
{
	snap_t *s = p->pg->scratch;
	snap_folder *f = p->folder;
	snap_item *it = p->item;
	long long num = 0;
	bool is_num = false;
	/* the tags whose values are numbers: the rest are not read as one */
	if (tag == 0x3602 || tag == 0x3603 || tag == 0x3617 || tag == 0x0E07 || tag == 0x1090 || tag == 0x0017 ||
	    tag == 0x0E08) {
		num = decimal(val, len, &is_num);
	}
	snap_ident *ident = f ? &f->ident : &it->ident;
	switch (tag) {
	case 0x65E0: set_key(p, ident, val, len); break;
	case 0x65E2:
		*(f ? &f->change_key : &it->change_key) = binary(p, val, len, "PidTagChangeKey");
		p->change_key_pending = false; /* it wins over changeKey */
		break;
	case 0x65E3: *(f ? &f->pcl : &it->pcl) = binary(p, val, len, "PidTagPredecessorChangeList"); break;
	case 0x3613:
		if (f)
			f->cls = snap_strndup(s, val, len);
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
			snap_bin b = binary(p, val, len, "special folder entry id");
			if (b.len >= 46 && b.len <= sizeof p->pg->special[0]) {
				memcpy(p->pg->special[tag - 0x36D0], b.data, b.len);
				p->pg->special_len[tag - 0x36D0] = (uint8_t)b.len;
			}
		}
		break;
	case 0x0E09: /* a calendar's parent: its entry id */
		if (f) {
			snap_bin b = binary(p, val, len, "PidTagParentEntryId");
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
			it->cls = snap_strndup(s, val, len);
		break;
	case 0x0037: /* subjects and message ids rarely repeat within a page: copied, not interned */
		if (it)
			it->subject = snap_strndup_unique(s, val, len);
		break;
	case 0x1035:
		if (it)
			it->message_id = snap_strndup_unique(s, val, len);
		break;
	case 0x0E06:
		if (it)
			it->received = time_of(p, val, len, "PidTagMessageDeliveryTime");
		break;
	case 0x0039:
		if (it)
			it->sent = time_of(p, val, len, "PidTagClientSubmitTime");
		break;
	case 0x0E08:
		if (it && is_num && num >= 0)
			it->size = num;
		break;
	default: break;
	}
}

/* The entity's changeKey, read where no PidTagChangeKey replaced it. */
static void settle_change_key(graph_parser *p)
{
	if (!p->change_key_pending)
		return;
	p->change_key_pending = false;
	uint8_t ck[SNAP_KEY_LEN];
	char small[128];
	char *text = c_string(p->change_key.text, p->change_key.len, small, sizeof small);
	if (!text) {
		p->nomem = true;
		return;
	}
	snap_bin *dst = p->folder ? &p->folder->change_key : &p->item->change_key;
	if (pull_change_key(text, ck) == 0)
		*dst = snap_bindup(p->pg->scratch, ck, SNAP_KEY_LEN);
	if (text != small)
		free(text);
}

static int8_t level(const char *v, size_t len)
{
#define LEVEL(word) (len == sizeof word - 1 && strncasecmp(v, word, len) == 0)
	return LEVEL("low") ? 0 : LEVEL("normal") ? 1 : LEVEL("high") ? 2 : -1;
#undef LEVEL
}

/* A number's text as strtoll reads it, for the counts and sizes Graph gives as JSON numbers:
 * -1 when it is not a whole number of at least 0. */
static long long count_of(vkind kind, const char *text, size_t len)
{
	bool ok = false;
	long long v = kind == V_NUMBER ? decimal(text, len, &ok) : -1;
	return ok && v >= 0 ? v : -1;
}

/* A scalar field of the entity (text has no NUL; for V_BOOL "1"/"0", V_NUMBER the digits). */
static void entity_field(graph_parser *p, key_id k, vkind kind, const char *text, size_t len)
{
	snap_t *s = p->pg->scratch;
	bool str = kind == V_STRING, null = kind == V_NULL;
	const char *name = key_names[k];
	if (k == K_ID) {
		if (!str) {
			bad_field(p, "id");
			return;
		}
		p->has_id = true;
		if (p->folder)
			p->folder->id = snap_strndup(s, text, len);
		else /* an item's id is its own: copied, not interned */
			p->item->id = snap_strndup_unique(s, text, len);
		return;
	}
	if (null)
		return; /* absent */
	if (k == K_ODATA_TYPE) {
		if (p->folder && str && memmem(text, len, "SearchFolder", 12))
			p->pg->search[p->extra] = true;
		return;
	}
	if (k == K_CHANGE_KEY) {
		if (!str) {
			bad_field(p, name);
			return;
		}
		/* a changeKey met before is read now, as it would have been where it stood */
		settle_change_key(p);
		snap_bin *dst = p->folder ? &p->folder->change_key : &p->item->change_key;
		if (!dst->len) { /* PidTagChangeKey, where returned, wins */
			if (!hold(p, &p->change_key, text, len))
				p->nomem = true;
			else
				p->change_key_pending = true;
		}
		return;
	}
	if (p->folder) {
		snap_folder *f = p->folder;
		bool is_name = k == (p->coll == COLL_CALENDARS ? K_NAME : K_DISPLAY_NAME);
		bool parent = k == K_PARENT_FOLDER_ID;
		bool type = p->coll == COLL_MAILBOX_FOLDERS && k == K_TYPE;
		bool wk = p->coll == COLL_MAILBOX_FOLDERS && k == K_WELL_KNOWN_NAME;
		bool total = k == K_TOTAL_ITEM_COUNT, unread = k == K_UNREAD_ITEM_COUNT;
		if ((is_name || parent || type || wk) && !str) {
			bad_field(p, name);
		} else if (is_name) {
			f->name = snap_strndup(s, text, len);
		} else if (parent) {
			f->parent_id = snap_strndup(s, text, len);
		} else if (type) {
			if (!f->cls || !*f->cls)
				f->cls = snap_strndup(s, text, len);
		} else if (wk) {
			if (len && !(p->pg->wellknown[p->extra] = strndup(text, len)))
				p->nomem = true;
		} else if (total || unread) {
			long long v = count_of(kind, text, len);
			if (v < 0)
				bad_field(p, name);
			else if (total)
				f->content_count = v;
			else
				f->unread_count = v;
		}
		return;
	}
	snap_item *it = p->item;
	switch (k) {
	case K_RECEIVED:
	case K_SENT:
		if (p->coll != COLL_MESSAGES)
			break;
		/* fall through */
	case K_CREATED:
	case K_LAST_MODIFIED: {
		if (!str) {
			bad_field(p, name);
			break;
		}
		int64_t t = time_of(p, text, len, name);
		*(k == K_CREATED ? &it->created : k == K_LAST_MODIFIED ? &it->modified : k == K_RECEIVED ? &it->received
		                                                                                          : &it->sent) = t;
		break;
	}
	case K_TYPE:
		if (p->coll != COLL_MAILBOX_ITEMS)
			break;
		if (!str)
			bad_field(p, name);
		else if (!it->cls)
			it->cls = snap_strndup(s, text, len);
		break;
	case K_SIZE:
		if (p->coll != COLL_MAILBOX_ITEMS)
			break;
	{
		long long v = count_of(kind, text, len);
		if (v < 0)
			bad_field(p, name);
		else
			it->size = v;
		break;
	}
	case K_SUBJECT:
		if (p->coll == COLL_MAILBOX_ITEMS)
			break;
		if (!str)
			bad_field(p, name);
		else if (!it->subject)
			it->subject = snap_strndup_unique(s, text, len);
		break;
	case K_IMPORTANCE:
		if (p->coll == COLL_MAILBOX_ITEMS)
			break;
		if (!str)
			bad_field(p, name);
		else if (it->importance < 0)
			it->importance = level(text, len);
		break;
	case K_INTERNET_MESSAGE_ID:
		if (p->coll != COLL_MESSAGES)
			break;
		if (!str)
			bad_field(p, name);
		else if (!it->message_id)
			it->message_id = snap_strndup_unique(s, text, len);
		break;
	case K_IS_READ:
		if (p->coll != COLL_MESSAGES)
			break;
		if (kind != V_BOOL)
			bad_field(p, name);
		else if (it->msg_flags < 0)
			it->read = text[0] == '1';
		break;
	default: break;
	}
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
		entity_field(p, p->entity_key, kind, text, len);
		return 1;
	}
	if (p->in_prop && p->depth == p->entity_depth + 2) {
		if (p->sub_key == K_ID) {
			if (kind != V_STRING)
				bad_field(p, "singleValueExtendedProperties");
			else
				p->prop_tag = prop_tag(text, len);
		} else if (p->sub_key == K_VALUE && kind == V_STRING) {
			if (!hold(p, &p->prop_value, text, len)) {
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
		settle_change_key(p);
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
			apply_prop(p, p->prop_tag, p->prop_value.text, p->prop_value.len);
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
