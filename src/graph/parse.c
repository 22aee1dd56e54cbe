/*
 * parse.c: Graph's JSON pages. A page is bounded (GRAPH_MAX_PAGE) and parsed whole with jansson;
 * each object of its "value" array becomes a folder or an item of the page's scratch snapshot.
 * Fields Graph leaves out stay absent; a field of the wrong JSON type makes the page unreadable.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	pg->body_len = 0;
	snap_free(pg->scratch);
	pg->scratch = NULL;
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
	free(pg->body);
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

typedef struct {
	graph_page *pg;
	const char *bad; /* the first field of the wrong type or form */
} ctx;

static const char *str(ctx *c, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		if (!c->bad)
			c->bad = name;
		return NULL;
	}
	return json_string_value(v);
}

static int64_t count(ctx *c, json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (!v || json_is_null(v))
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		if (!c->bad)
			c->bad = name;
		return -1;
	}
	return json_integer_value(v);
}

static int64_t time_of(ctx *c, const char *text, const char *name)
{
	int64_t ft = 0;
	if (text && filetime_parse(text, &ft) != 0) {
		if (!c->bad)
			c->bad = name;
		return 0;
	}
	return ft;
}

static snap_bin binary(ctx *c, const char *text, const char *name)
{
	snap_bin b = {NULL, 0};
	size_t n = strlen(text);
	uint8_t *tmp = malloc(n / 4 * 3 + 3);
	int len = tmp ? b64_decode(text, tmp, n / 4 * 3 + 3) : -1;
	if (len < 0) {
		if (!c->bad)
			c->bad = name;
	} else if (len > 0) {
		b = snap_bindup(c->pg->scratch, tmp, (size_t)len);
	}
	free(tmp);
	return b;
}

/* "Binary 0x65e0" (Graph echoes the tag in lower case, without leading zeros): the tag. */
static long prop_tag(const char *id)
{
	const char *sp = strchr(id, ' ');
	if (!sp || strncasecmp(sp + 1, "0x", 2) != 0)
		return -1;
	char *end;
	long tag = strtol(sp + 3, &end, 16);
	return *end == '\0' && tag > 0 && tag <= 0xffff ? tag : -1;
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

/* The extended properties of a folder (f) or an item (it). */
static void ext_props(ctx *c, json_t *o, snap_folder *f, snap_item *it, size_t folder_index)
{
	json_t *arr = json_object_get(o, "singleValueExtendedProperties");
	if (!arr || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		c->bad = c->bad ? c->bad : "singleValueExtendedProperties";
		return;
	}
	snap_t *s = c->pg->scratch;
	size_t i;
	json_t *p;
	json_array_foreach(arr, i, p) {
		const char *pid = json_is_object(p) ? str(c, p, "id") : NULL;
		const char *val = json_is_object(p) ? str(c, p, "value") : NULL;
		long tag = pid ? prop_tag(pid) : -1;
		if (tag < 0 || !val)
			continue;
		char *end;
		long long num = strtoll(val, &end, 10);
		bool is_num = *val && *end == '\0';
		snap_ident *ident = f ? &f->ident : &it->ident;
		switch (tag) {
		case 0x65E0: set_key(ident, binary(c, val, "PidTagSourceKey")); break;
		case 0x65E2: *(f ? &f->change_key : &it->change_key) = binary(c, val, "PidTagChangeKey"); break;
		case 0x65E3: *(f ? &f->pcl : &it->pcl) = binary(c, val, "PidTagPredecessorChangeList"); break;
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
			if (f) {
				snap_bin b = binary(c, val, "special folder entry id");
				if (b.len >= 46 && b.len <= sizeof c->pg->special[0]) {
					memcpy(c->pg->special[tag - 0x36D0], b.data, b.len);
					c->pg->special_len[tag - 0x36D0] = (uint8_t)b.len;
				}
			}
			break;
		case 0x0E09: /* a calendar's parent: its entry id */
			if (f) {
				snap_bin b = binary(c, val, "PidTagParentEntryId");
				if (b.len >= 46) {
					char hex[2 * SNAP_KEY_LEN + 1];
					hex_encode(b.data + b.len - 24, SNAP_KEY_LEN, hex);
					free(c->pg->parent_key[folder_index]);
					c->pg->parent_key[folder_index] = strdup(hex);
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
				it->received = time_of(c, val, "PidTagMessageDeliveryTime");
			break;
		case 0x0039:
			if (it)
				it->sent = time_of(c, val, "PidTagClientSubmitTime");
			break;
		case 0x0E08:
			if (it && is_num && num >= 0)
				it->size = num;
			break;
		default: break;
		}
	}
}

static int parse_folder(ctx *c, json_t *o, graph_coll coll)
{
	graph_page *pg = c->pg;
	snap_t *s = pg->scratch;
	snap_folder *f = snap_add_folder(s);
	if (!f || add_extra(pg) != 0)
		return -1;
	size_t k = pg->n_extra - 1;
	f->id = snap_strdup(s, str(c, o, "id"));
	f->parent_id = snap_strdup(s, str(c, o, "parentFolderId"));
	f->name = snap_strdup(s, str(c, o, coll == COLL_CALENDARS ? "name" : "displayName"));
	f->content_count = count(c, o, "totalItemCount");
	f->unread_count = count(c, o, "unreadItemCount");
	const char *type = coll == COLL_MAILBOX_FOLDERS ? str(c, o, "type") : NULL;
	f->cls = snap_strdup(s, type);
	const char *wk = coll == COLL_MAILBOX_FOLDERS ? str(c, o, "wellKnownName") : NULL;
	if (wk && *wk && !(pg->wellknown[k] = strdup(wk)))
		return -1;
	const char *otype = str(c, o, "@odata.type");
	pg->search[k] = otype && strstr(otype, "SearchFolder") != NULL;
	const char *ck = str(c, o, "changeKey");
	uint8_t key[SNAP_KEY_LEN];
	if (ck && pull_change_key(ck, key) == 0)
		f->change_key = snap_bindup(s, key, SNAP_KEY_LEN);
	ext_props(c, o, f, NULL, k);
	if (!f->cls)
		f->cls = coll == COLL_CALENDARS ? "IPF.Appointment" : coll == COLL_CONTACT_FOLDERS ? "IPF.Contact" : NULL;
	return 0;
}

static int8_t level(const char *v)
{
	return !v ? -1 : strcasecmp(v, "low") == 0 ? 0 : strcasecmp(v, "normal") == 0 ? 1 : strcasecmp(v, "high") == 0 ? 2 : -1;
}

static int parse_item(ctx *c, json_t *o, graph_coll coll)
{
	snap_t *s = c->pg->scratch;
	snap_item *it = snap_add_item(s);
	if (!it)
		return -1;
	it->id = snap_strdup(s, str(c, o, "id"));
	it->created = time_of(c, str(c, o, "createdDateTime"), "createdDateTime");
	it->modified = time_of(c, str(c, o, "lastModifiedDateTime"), "lastModifiedDateTime");
	const char *ck = str(c, o, "changeKey");
	if (coll == COLL_MAILBOX_ITEMS) {
		it->cls = snap_strdup(s, str(c, o, "type"));
		json_t *size = json_object_get(o, "size");
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			it->size = json_integer_value(size);
	} else {
		it->subject = snap_strdup(s, str(c, o, "subject"));
		it->importance = level(str(c, o, "importance"));
	}
	if (coll == COLL_MESSAGES) {
		it->received = time_of(c, str(c, o, "receivedDateTime"), "receivedDateTime");
		it->sent = time_of(c, str(c, o, "sentDateTime"), "sentDateTime");
		it->message_id = snap_strdup(s, str(c, o, "internetMessageId"));
		json_t *r = json_object_get(o, "isRead");
		if (json_is_boolean(r))
			it->read = json_is_true(r);
		json_t *flag = json_object_get(o, "flag");
		const char *st = json_is_object(flag) ? str(c, flag, "flagStatus") : NULL;
		if (st)
			it->flag_status = strcmp(st, "flagged") == 0 ? 2 : strcmp(st, "complete") == 0 ? 1 : 0;
	}
	ext_props(c, o, NULL, it, 0);
	if (!it->change_key.len && ck) { /* the changeKey field where PidTagChangeKey is not returned */
		uint8_t key[SNAP_KEY_LEN];
		if (pull_change_key(ck, key) == 0)
			it->change_key = snap_bindup(s, key, SNAP_KEY_LEN);
	}
	if (!it->cls && coll == COLL_EVENTS)
		it->cls = "IPM.Appointment";
	return 0;
}

void graph_page_parse_error(graph_page *pg)
{
	json_error_t je;
	json_t *root = pg->body_len ? json_loadb(pg->body, pg->body_len, 0, &je) : NULL;
	json_t *e = root ? json_object_get(root, "error") : NULL;
	if (json_is_object(e)) {
		pg->has_error = true;
		json_t *code = json_object_get(e, "code"), *msg = json_object_get(e, "message");
		str_copy(pg->error.code, json_is_string(code) ? json_string_value(code) : "", sizeof pg->error.code);
		str_copy(pg->error.message, json_is_string(msg) ? json_string_value(msg) : "", sizeof pg->error.message);
	} else if (root && json_is_string(json_object_get(root, "error"))) { /* the identity platform's form */
		pg->has_error = true;
		str_copy(pg->error.code, json_string_value(json_object_get(root, "error")), sizeof pg->error.code);
	}
	json_decref(root);
}

int graph_page_parse(graph_page *pg, graph_coll coll, or_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(pg->body, pg->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return or_fail(err, OR_ERR_FORMAT, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
	int rc = 0;
	json_t *one = NULL;
	bool folders = coll == COLL_MAILBOX_FOLDERS || coll == COLL_MAIL_FOLDERS || coll == COLL_CALENDARS ||
	               coll == COLL_CONTACT_FOLDERS || coll == COLL_SPECIAL;
	if (coll == COLL_SETTINGS) {
		json_t *id = json_is_object(root) ? json_object_get(root, "primaryMailboxId") : NULL;
		if (!json_is_string(id) || !*json_string_value(id))
			rc = or_fail(err, OR_ERR_FORMAT, "the user's Exchange settings give no primaryMailboxId");
		else if (!(pg->mailbox_id = strdup(json_string_value(id))))
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_t *value = json_object_get(root, "value");
	if (folders && json_is_object(root) && !value && json_is_string(json_object_get(root, "id"))) {
		one = json_array(); /* one entity: a page of one */
		if (!one || json_array_append(one, root) != 0) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		value = one;
	}
	if (!json_is_object(root) || !json_is_array(value)) {
		rc = or_fail(err, OR_ERR_FORMAT, "the page is not a collection (no \"value\" array)");
		goto out;
	}
	ctx c = {.pg = pg};
	size_t i;
	json_t *o;
	json_array_foreach(value, i, o) {
		if (!json_is_object(o)) {
			rc = or_fail(err, OR_ERR_FORMAT, "entry %zu of the page is not an object", i);
			goto out;
		}
		if (json_object_get(o, "@removed")) {
			pg->removed++;
			continue;
		}
		if (!json_is_string(json_object_get(o, "id"))) {
			rc = or_fail(err, OR_ERR_FORMAT, "entry %zu of the page has no id", i);
			goto out;
		}
		if ((folders ? parse_folder(&c, o, coll) : parse_item(&c, o, coll)) != 0) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (c.bad) {
			rc = or_fail(err, OR_ERR_FORMAT, "entry %zu of the page: field %s has an unusable value", i, c.bad);
			goto out;
		}
	}
	json_t *next = json_object_get(root, "@odata.nextLink"), *delta = json_object_get(root, "@odata.deltaLink");
	if ((next && !json_is_string(next)) || (delta && !json_is_string(delta))) {
		rc = or_fail(err, OR_ERR_FORMAT, "the page's next or delta link is not a string");
		goto out;
	}
	if ((next && !(pg->next_link = strdup(json_string_value(next)))) ||
	    (delta && !(pg->delta_link = strdup(json_string_value(delta)))))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
out:
	json_decref(one);
	json_decref(root);
	return rc;
}
