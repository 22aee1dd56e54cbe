/*
 * fields.c: what each field of a Graph entity and each of its extended properties becomes in the
 * page's scratch snapshot: dates, base64 keys and change keys, counts, strings (used by length,
 * where they lie; parse.c routes each value here by where it sits). A value of the wrong type or
 * form names its field (bad_field) and makes the page unreadable.
 */
#include "parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool graph_hold(graph_parser *p, held_text *h, const char *text, size_t len)
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

/* Graph echoes the tag in lower case, without leading zeros. Of a longer id only its first 63
 * bytes are read. */
long graph_prop_tag(const char *id, size_t len)
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

void graph_apply_prop(graph_parser *p, long tag, const char *val, size_t len)
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

void graph_settle_change_key(graph_parser *p)
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

void graph_entity_field(graph_parser *p, key_id k, vkind kind, const char *text, size_t len)
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
		graph_settle_change_key(p);
		snap_bin *dst = p->folder ? &p->folder->change_key : &p->item->change_key;
		if (!dst->len) { /* PidTagChangeKey, where returned, wins */
			if (!graph_hold(p, &p->change_key, text, len))
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
	case K_SIZE: {
		if (p->coll != COLL_MAILBOX_ITEMS)
			break;
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

