/*
 * parse.c: EWS responses, parsed as a stream with libxml2's SAX2 push parser. A response of any
 * size never sits in memory as a tree: folders and items go straight into the page's records.
 * Elements are matched by local name; namespaces are not checked beyond that.
 *
 * Hostile input is bounded: no DTD is accepted (so no entity can be declared or expanded), no
 * network access, a nesting bound and a bound on each text value.
 *
 * Real Exchange writes characters XML 1.0 forbids as character references (&#x0;, &#x10;, &#x1A;
 * in subjects and display names), which libxml2 refuses, and with them the whole response. They
 * are repaired in the byte stream before the parser (repair_feed): each becomes a marker (the
 * noncharacter U+FDD0), which the text handler turns into U+FFFD and notes on the record
 * (snap_item.repaired). libxml2's recovery mode is not used: it would guess at real damage too.
 *
 * CPU per page (bench/ews.sh): libxml2's tokenizer is most of it and stays (hostile servers). The
 * rest is kept small: the repair looks at 16 bytes at a time and hands a piece with nothing to
 * repair to the parser as it came; elements and attributes are told apart by the address of their
 * name in libxml2's dictionary (a table of the names below), not by comparing strings; the input
 * goes to libxml2 in 16 KiB pieces, which keeps its buffer small and warm (64 KiB pieces cost a
 * quarter more CPU, most of it in page faults on the buffer growing and moving).
 *
 * Failures say whether another attempt could pass: OR_ERR_PROTOCOL for XML that is not well formed
 * (a body cut short or garbled in transit), OR_ERR_FORMAT for a well-formed answer whose content
 * cannot be used (a DTD, a bound exceeded, a malformed value), which a retry would only repeat.
 */
#include "internal.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 128
#define MAX_TEXT (4u << 20) /* one text value */
#define FEED_CHUNK 16384    /* input bytes repaired and parsed at a time */
#define REF_MAX 24          /* a character reference longer than this is left to libxml2 */

/* U+FDD0 (a noncharacter, allowed by XML 1.0, never sent by Exchange) stands in for a forbidden
 * character between the repair and the text handler; U+FFFD is what the value then holds. Both
 * are three bytes in UTF-8, so the text is fixed in place. */
static const char MARK[3] = {'\xef', '\xb7', '\x90'};
static const char REPLACEMENT[3] = {'\xef', '\xbf', '\xbd'};

typedef enum { REC_NONE, REC_FOLDER, REC_ITEM } rec_kind;

/* The element and attribute names the handlers act on. libxml2 hands every element and attribute
 * name to the SAX2 callbacks as a string of its parser's dictionary, one string per name, so a
 * name is recognised by its address: each of these is looked up in the dictionary once per
 * parser, and a small table keyed by address gives a name's number (N_OTHER for the rest). */
#define NAMES(X)                                                                                        \
	X(Folders) X(Create) X(Update) X(Items) X(FolderId) X(ItemId) X(SearchFolder) X(ParentFolderId)    \
	X(ExtendedProperty) X(ExtendedFieldURI) X(Value) X(Values) X(MessageXml) X(Body) X(RootFolder)     \
	X(ServerVersionInfo) X(Fault) X(DisplayName) X(FolderClass) X(TotalCount) X(UnreadCount)           \
	X(ItemClass) X(Subject) X(InternetMessageId) X(DateTimeReceived) X(DateTimeSent)                   \
	X(DateTimeCreated) X(LastModifiedTime) X(Size) X(IsRead) X(Importance) X(ResponseCode)             \
	X(MessageText) X(SyncState) X(IncludesLastItemInRange) X(IncludesLastFolderInRange) X(faultcode)  \
	X(faultstring) X(Id) X(ChangeKey) X(PropertyTag) X(Name) X(ResponseClass) X(IndexedPagingOffset)  \
	X(TotalItemsInView) X(MajorVersion) X(MinorVersion) X(MajorBuildNumber) X(MinorBuildNumber)        \
	X(Version)
#define NAME_ENUM(n) N_##n,
#define NAME_TEXT(n) #n,
typedef enum { N_OTHER, NAMES(NAME_ENUM) N_COUNT } name_id;
static const char *const name_text[N_COUNT] = {"", NAMES(NAME_TEXT)};
#define NAME_SLOTS 256 /* a power of two, over 2 * N_COUNT */

struct ews_parser {
	xmlParserCtxtPtr ctxt;
	ews_page *page;
	int depth;
	uint8_t names[MAX_DEPTH];  /* name_id of the open elements */
	const xmlChar *atom[N_COUNT]; /* the dictionary's string of each name */
	struct {
		const xmlChar *key;
		uint8_t id;
	} slot[NAME_SLOTS];        /* name_id by the string's address (open addressing) */
	or_buf text;
	bool collect;              /* collecting text for the current element */
	rec_kind rec;
	int rec_depth;             /* depth of the record element */
	snap_folder *folder;
	snap_item *item;
	uint8_t ck[SNAP_KEY_LEN];  /* the record's ChangeKey attribute, decoded */
	bool has_ck;
	long ext_tag;              /* ExtendedProperty being read; -1 none */
	int ext_value;             /* index of the Value in an ExtendedProperty's Values */
	int status_depth;          /* depth of the open ResponseMessage, or 0 */
	bool in_fault;
	bool backoff_value;        /* the open Value is MessageXml's BackOffMilliseconds */
	bool failed;
	int fail_code;             /* OR_ERR_PROTOCOL: not well formed; OR_ERR_FORMAT: unusable content */
	char error[256];
	/* the repair of forbidden character references (repair_feed) */
	char ref[REF_MAX];         /* a reference not finished yet ("&#x1" at the end of a chunk) */
	size_t ref_len;
	char *out;                 /* repaired bytes for the parser */
	size_t repairs;
};

static unsigned slot_of(const xmlChar *key)
{
	return (unsigned)(((uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 56) & (NAME_SLOTS - 1);
}

/* The name_id of a name the parser handed over (a dictionary string). */
static name_id name_of(const ews_parser *p, const xmlChar *key)
{
	for (unsigned i = slot_of(key);; i = (i + 1) & (NAME_SLOTS - 1)) {
		if (p->slot[i].key == key)
			return (name_id)p->slot[i].id;
		if (!p->slot[i].key)
			return N_OTHER;
	}
}

/* Interns the names in the parser's dictionary; -1 when it is out of memory. */
static int names_init(ews_parser *p)
{
	for (int n = 1; n < N_COUNT; n++) {
		const xmlChar *key = xmlDictLookup(p->ctxt->dict, (const xmlChar *)name_text[n], -1);
		if (!key)
			return -1;
		p->atom[n] = key;
		unsigned i = slot_of(key);
		while (p->slot[i].key)
			i = (i + 1) & (NAME_SLOTS - 1);
		p->slot[i].key = key;
		p->slot[i].id = (uint8_t)n;
	}
	return 0;
}

/* The name of the open element `up` levels above the innermost (N_OTHER above the root). */
static name_id parent_name(const ews_parser *p, int up)
{
	int d = p->depth - 1 - up;
	return d >= 0 ? (name_id)p->names[d] : N_OTHER;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *attr(const ews_parser *p, const xmlChar **attrs, int n, name_id name, char *buf, size_t size)
{
	/* SAX2 attributes: localname (a dictionary string), prefix, URI, value start, value end. */
	for (int i = 0; i < n; i++) {
		const xmlChar **a = attrs + 5 * i;
		if (a[0] == p->atom[name]) {
			size_t len = (size_t)(a[4] - a[3]);
			if (len >= size)
				len = size - 1;
			memcpy(buf, a[3], len);
			buf[len] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* A failure found by the handlers: the document is XML, its content is not usable. */
static void fail_code(ews_parser *p, int code, const char *msg)
{
	if (!p->failed) {
		p->failed = true;
		p->fail_code = code;
		str_copy(p->error, msg, sizeof p->error);
	}
	xmlStopParser(p->ctxt);
}

static void fail(ews_parser *p, const char *msg)
{
	fail_code(p, OR_ERR_FORMAT, msg);
}

static ews_status *add_status(ews_page *pg)
{
	return or_append((void **)&pg->status, &pg->n_status, &pg->cap_status, sizeof *pg->status);
}

static long parse_tag(const char *text)
{
	char *end;
	long v = strtol(text, &end, 0); /* "0x65E0" or "26080" */
	return *end || v < 0 || v > 0xffff ? -1 : v;
}

/* A record begins where a folder or an item element sits in a list of results. */
static rec_kind record_kind(name_id parent, name_id id, const char *name)
{
	if (parent != N_Folders && parent != N_Create && parent != N_Update && parent != N_Items)
		return REC_NONE;
	if (id == N_FolderId || id == N_ItemId)
		return REC_NONE;
	return ends_with(name, "Folder") ? REC_FOLDER : REC_ITEM;
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri, int nns,
                     const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs)
{
	ews_parser *p = ctx;
	ews_page *pg = p->page;
	const char *name = (const char *)local;
	char v[512];
	if (p->depth >= MAX_DEPTH) {
		fail(p, "response nested too deeply");
		return;
	}
	name_id id = name_of(p, local), parent = parent_name(p, 0);
	rec_kind kind = p->rec == REC_NONE ? record_kind(parent, id, name) : REC_NONE;
	bool in_message_xml = parent == N_MessageXml;
	bool body_child = p->depth == 2 && parent == N_Body;
	p->names[p->depth] = (uint8_t)id;
	p->depth++;
	p->collect = false;
	p->text.len = 0;

	if (kind != REC_NONE) {
		p->rec = kind;
		p->rec_depth = p->depth;
		p->has_ck = false;
		int msg = (int)pg->n_status - 1;
		if (kind == REC_FOLDER) {
			p->folder = snap_add_folder(pg->scratch);
			int *slot = or_append((void **)&pg->folder_msg, &pg->n_folder_msg, &pg->cap_folder_msg, sizeof *slot);
			if (!p->folder || !slot) {
				fail_code(p, OR_ERR_NOMEM, "out of memory");
				return;
			}
			*slot = msg;
			if (id == N_SearchFolder)
				p->folder->role = "search";
		} else {
			p->item = snap_add_item(pg->scratch);
			int *slot = or_append((void **)&pg->item_msg, &pg->n_item_msg, &pg->cap_item_msg, sizeof *slot);
			if (!p->item || !slot) {
				fail_code(p, OR_ERR_NOMEM, "out of memory");
				return;
			}
			*slot = msg;
		}
		return;
	}
	if (p->rec != REC_NONE) {
		int rel = p->depth - p->rec_depth;
		if (rel == 1 && (id == N_FolderId || id == N_ItemId)) {
			const char *oid = attr(p, attrs, nattr, N_Id, v, sizeof v);
			if (p->rec == REC_FOLDER)
				p->folder->id = snap_strdup(pg->scratch, oid);
			else
				p->item->id = snap_strdup(pg->scratch, oid);
			/* The ChangeKey attribute carries the object's change key (docs/QUIRKS.md). */
			const char *ck = attr(p, attrs, nattr, N_ChangeKey, v, sizeof v);
			p->has_ck = ck && pull_change_key(ck, p->ck) == 0;
		} else if (rel == 1 && id == N_ParentFolderId) {
			const char *oid = attr(p, attrs, nattr, N_Id, v, sizeof v);
			if (p->rec == REC_FOLDER)
				p->folder->parent_id = snap_strdup(pg->scratch, oid);
			else
				p->item->folder_id = snap_strdup(pg->scratch, oid);
		} else if (rel == 1 && id == N_ExtendedProperty) {
			p->ext_tag = -1;
			p->ext_value = 0;
		} else if (rel == 2 && id == N_ExtendedFieldURI) {
			const char *tag = attr(p, attrs, nattr, N_PropertyTag, v, sizeof v);
			p->ext_tag = tag ? parse_tag(tag) : -1;
		} else if (rel == 1 || (rel == 2 && id == N_Value) ||
		           (rel == 3 && id == N_Value && parent_name(p, 1) == N_Values)) {
			p->collect = true;
		}
		return;
	}
	if (body_child) {
		/* The operation this answers: "GetFolderResponse" answers GetFolder. */
		size_t n = strlen(name);
		if (n > 8 && strcmp(name + n - 8, "Response") == 0 && n - 8 < sizeof pg->operation) {
			memcpy(pg->operation, name, n - 8);
			pg->operation[n - 8] = '\0';
		}
	}
	if (in_message_xml && id == N_Value) {
		/* MessageXml's values are told apart by Name (a throttling answer may list MaxConcurrency
		 * and others before BackOffMilliseconds). */
		const char *what = attr(p, attrs, nattr, N_Name, v, sizeof v);
		p->backoff_value = what && strcmp(what, "BackOffMilliseconds") == 0;
		p->collect = p->backoff_value;
	} else if (id == N_RootFolder) {
		const char *a;
		if ((a = attr(p, attrs, nattr, N_IndexedPagingOffset, v, sizeof v)))
			pg->next_offset = strtol(a, NULL, 10);
		if ((a = attr(p, attrs, nattr, N_TotalItemsInView, v, sizeof v)))
			pg->total_in_view = strtol(a, NULL, 10);
		if ((a = attr(p, attrs, nattr, N_IncludesLastItemInRange, v, sizeof v)))
			pg->includes_last = strcmp(a, "true") == 0;
	} else if (id == N_ServerVersionInfo) {
		char maj[16] = "", min[16] = "", b1[16] = "", b2[16] = "";
		attr(p, attrs, nattr, N_MajorVersion, maj, sizeof maj);
		attr(p, attrs, nattr, N_MinorVersion, min, sizeof min);
		attr(p, attrs, nattr, N_MajorBuildNumber, b1, sizeof b1);
		attr(p, attrs, nattr, N_MinorBuildNumber, b2, sizeof b2);
		snprintf(pg->server_version, sizeof pg->server_version, "%s.%s.%s.%s", maj, min, b1, b2);
		pg->server_major = (int)strtol(maj, NULL, 10);
		pg->server_minor = (int)strtol(min, NULL, 10);
		pg->server_build = (int)strtol(b1, NULL, 10);
		if (!attr(p, attrs, nattr, N_Version, pg->server_schema, sizeof pg->server_schema))
			pg->server_schema[0] = '\0';
	} else if (id == N_Fault) {
		pg->is_fault = true;
		p->in_fault = true;
	} else if (id == N_OTHER && ends_with(name, "ResponseMessage")) { /* no named one ends so */
		ews_status *s = add_status(pg);
		if (!s) {
			fail_code(p, OR_ERR_NOMEM, "out of memory");
			return;
		}
		const char *cls = attr(p, attrs, nattr, N_ResponseClass, v, sizeof v);
		str_copy(s->cls, cls ? cls : "", sizeof s->cls);
		p->status_depth = p->depth;
	} else {
		p->collect = true;
	}
}

/* Leading and trailing white space off (pretty-printed faults); in place. */
static char *trim(char *t)
{
	while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
		t[--n] = '\0';
	return t;
}

static bool parse_bool(const char *t) { return strcmp(t, "true") == 0 || strcmp(t, "1") == 0; }

static void set_time(ews_parser *p, int64_t *ft, const char *t)
{
	if (filetime_parse(t, ft) != 0) {
		*ft = 0;
		char msg[160];
		snprintf(msg, sizeof msg, "malformed date value '%.60s'", t);
		fail(p, msg);
	}
}

/* Base64 text of a binary extended property. */
static snap_bin decode_b64(snap_t *s, const char *t, bool *ok)
{
	size_t n = strlen(t);
	uint8_t small[192]; /* change keys and PCLs are tens of bytes */
	uint8_t *tmp = n / 4 * 3 + 3 <= sizeof small ? small : malloc(n / 4 * 3 + 3);
	snap_bin b = {NULL, 0};
	int len = tmp ? b64_decode(t, tmp, n / 4 * 3 + 3) : -1;
	*ok = len >= 0;
	if (len > 0)
		b = snap_bindup(s, tmp, (size_t)len);
	if (tmp != small)
		free(tmp);
	return b;
}

/* One value of PR_ADDITIONAL_REN_ENTRYIDS (0x36D8) on a folder: the entry id of a special folder
 * (conflicts, sync issues, local failures, server failures, junk), by position. */
static void add_special(ews_parser *p, const char *t)
{
	ews_page *pg = p->page;
	uint8_t eid[256];
	int n = b64_decode(t, eid, sizeof eid);
	if (n < 0) {
		fail(p, "malformed base64 in an extended property");
		return;
	}
	if (n < 46) /* an empty slot, or not a folder entry id: it names nothing */
		return;
	ews_special *sp = or_append((void **)&pg->special, &pg->n_special, &pg->cap_special, sizeof *sp);
	if (!sp) {
		fail_code(p, OR_ERR_NOMEM, "out of memory");
		return;
	}
	sp->folder = (int)pg->scratch->n_folders - 1;
	sp->position = p->ext_value;
	memcpy(sp->key, eid + n - 24, SNAP_KEY_LEN); /* GUID, counter, 2 pad bytes end an entry id */
}

static void record_field(ews_parser *p, name_id name, const char *t, size_t len, bool repaired)
{
	snap_t *s = p->page->scratch;
	int rel = p->depth - p->rec_depth;
	if (rel == 3 && name == N_Value) { /* ExtendedProperty/Values/Value */
		if (p->rec == REC_FOLDER && p->ext_tag == 0x36D8)
			add_special(p, t);
		p->ext_value++;
		return;
	}
	if (rel == 2 && name == N_Value) { /* ExtendedProperty/Value */
		bool ok = true;
		long tag = p->ext_tag;
		bool folder = p->rec == REC_FOLDER;
		snap_ident *id = folder ? &p->folder->ident : &p->item->ident;
		snap_bin *ck = folder ? &p->folder->change_key : &p->item->change_key;
		snap_bin *pcl = folder ? &p->folder->pcl : &p->item->pcl;
		if (tag == 0x65E0) {
			snap_bin b = decode_b64(s, t, &ok);
			if (ok && b.len == SNAP_KEY_LEN) {
				memcpy(id->key, b.data, SNAP_KEY_LEN);
				memcpy(id->gc, b.data + 16, SNAP_GC_LEN);
				id->has_key = id->has_gc = 1;
				id->origin = KEY_SOURCE_KEY;
			}
		} else if (tag == 0x65E2) {
			*ck = decode_b64(s, t, &ok);
		} else if (tag == 0x65E3) {
			*pcl = decode_b64(s, t, &ok);
		} else if (folder && tag == 0x3617) {
			p->folder->assoc_count = strtoll(t, NULL, 10);
		} else if (!folder && tag == 0x0E07) {
			p->item->msg_flags = strtoll(t, NULL, 10) & 0xffffffff;
		} else if (!folder && tag == 0x1090) {
			p->item->flag_status = (int8_t)strtol(t, NULL, 10);
		}
		if (!ok)
			fail(p, "malformed base64 in an extended property");
		return;
	}
	if (rel != 1)
		return;
	if (p->rec == REC_FOLDER) {
		snap_folder *f = p->folder;
		switch (name) {
		case N_DisplayName:
			f->name = snap_strndup(s, t, len);
			f->repaired |= repaired ? SNAP_REPAIRED_NAME : 0;
			break;
		case N_FolderClass:
			f->cls = snap_strndup(s, t, len);
			f->repaired |= repaired ? SNAP_REPAIRED_CLASS : 0;
			break;
		case N_TotalCount:
			f->content_count = strtoll(t, NULL, 10);
			break;
		case N_UnreadCount:
			f->unread_count = strtoll(t, NULL, 10);
			break;
		default:
			break;
		}
		return;
	}
	snap_item *it = p->item;
	switch (name) {
	case N_ItemClass:
		it->cls = snap_strndup(s, t, len);
		it->repaired |= repaired ? SNAP_REPAIRED_CLASS : 0;
		break;
	case N_Subject:
		it->subject = snap_strndup(s, t, len);
		it->repaired |= repaired ? SNAP_REPAIRED_SUBJECT : 0;
		break;
	case N_InternetMessageId:
		it->message_id = snap_strndup(s, t, len);
		it->repaired |= repaired ? SNAP_REPAIRED_MESSAGE_ID : 0;
		break;
	case N_DateTimeReceived:
		set_time(p, &it->received, t);
		break;
	case N_DateTimeSent:
		set_time(p, &it->sent, t);
		break;
	case N_DateTimeCreated:
		set_time(p, &it->created, t);
		break;
	case N_LastModifiedTime:
		set_time(p, &it->modified, t);
		break;
	case N_Size:
		it->size = strtoll(t, NULL, 10);
		break;
	case N_IsRead:
		it->read = parse_bool(t);
		break;
	case N_Importance:
		it->importance = strcmp(t, "Low") == 0 ? 0 : strcmp(t, "High") == 0 ? 2 : 1;
		break;
	default:
		break;
	}
}

/* A record is complete: its change key from the ChangeKey attribute where the server gave no
 * PidTagChangeKey. */
static void end_record(ews_parser *p)
{
	snap_bin *ck = p->rec == REC_FOLDER ? &p->folder->change_key : &p->item->change_key;
	if (!ck->len && p->has_ck)
		*ck = snap_bindup(p->page->scratch, p->ck, SNAP_KEY_LEN);
	p->rec = REC_NONE;
	p->folder = NULL;
	p->item = NULL;
	p->has_ck = false;
}

/* Turns the repair's markers in a collected text into U+FFFD; true when there were any. */
static bool unmark(char *t, size_t len)
{
	bool any = false;
	if (len < 3 || !memchr(t, MARK[0], len)) /* the usual case: no marker's first byte at all */
		return false;
	for (char *m = memmem(t, len, MARK, 3); m; m = memmem(m, len - (size_t)(m - t), MARK, 3)) {
		memcpy(m, REPLACEMENT, 3);
		any = true;
	}
	return any;
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	ews_parser *p = ctx;
	ews_page *pg = p->page;
	name_id name = name_of(p, local);
	static char empty[1];
	char *t = p->text.data ? p->text.data : empty;
	bool repaired = p->collect && p->text.len && unmark(t, p->text.len);
	if (p->rec != REC_NONE) {
		if (p->depth == p->rec_depth)
			end_record(p);
		else if (p->collect)
			record_field(p, name, t, p->text.len, repaired);
	} else if (p->collect && p->backoff_value && name == N_Value) {
		long ms = strtol(t, NULL, 10); /* MessageXml/Value Name="BackOffMilliseconds" */
		if (ms > pg->backoff_ms)
			pg->backoff_ms = ms;
		p->backoff_value = false;
	} else if (p->collect) {
		if (p->status_depth && p->depth == p->status_depth + 1 && pg->n_status) {
			ews_status *s = &pg->status[pg->n_status - 1];
			if (name == N_ResponseCode)
				str_copy(s->code, t, sizeof s->code);
			else if (name == N_MessageText)
				str_copy(s->text, t, sizeof s->text);
			else if (name == N_SyncState) {
				free(pg->sync_state);
				if (!(pg->sync_state = strdup(t)))
					fail_code(p, OR_ERR_NOMEM, "out of memory");
			} else if (name == N_IncludesLastItemInRange || name == N_IncludesLastFolderInRange)
				pg->includes_last = parse_bool(t);
		} else if (p->in_fault) {
			/* faultcode is "a:ErrorServerBusy" or, on Exchange 2007, "soap11:Client": the
			 * detail's ResponseCode, when there, names the error. */
			if (name == N_faultcode && !*pg->fault_code)
				str_copy(pg->fault_code, trim(t), sizeof pg->fault_code);
			else if (name == N_faultstring)
				str_copy(pg->fault_text, trim(t), sizeof pg->fault_text);
			else if (name == N_ResponseCode)
				str_copy(pg->fault_code, trim(t), sizeof pg->fault_code);
		}
	}
	if (p->depth == p->status_depth && name == N_OTHER && ends_with((const char *)local, "ResponseMessage"))
		p->status_depth = 0;
	p->depth--;
	p->collect = false;
	p->text.len = 0;
	if (p->text.data)
		p->text.data[0] = '\0';
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
	ews_parser *p = ctx;
	if (!p->collect)
		return;
	if (buf_append(&p->text, ch, (size_t)len) != 0)
		fail(p, "a text value in the response is larger than 4 MiB");
}

static void on_dtd(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	fail(ctx, "the response carries a DTD, which SOAP forbids (refused: entity declarations)");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
                           xmlChar *content)
{
	fail(ctx, "the response declares an entity (refused)");
}

static void on_error(void *ctx, const char *msg, ...)
{
	ews_parser *p = ctx;
	char text[200];
	va_list ap;
	va_start(ap, msg);
	vsnprintf(text, sizeof text, msg, ap);
	va_end(ap);
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	char full[256];
	xmlParserInputPtr in = p->ctxt ? p->ctxt->input : NULL;
	if (in)
		snprintf(full, sizeof full, "malformed XML: %s (line %d, column %d)", text, in->line, in->col);
	else
		snprintf(full, sizeof full, "malformed XML: %s", text);
	if (!p->failed) {
		p->failed = true;
		p->fail_code = OR_ERR_PROTOCOL;
		str_copy(p->error, full, sizeof p->error);
	}
}

int ews_parser_new(ews_parser **out, ews_page *page, or_error *err)
{
	*out = NULL;
	ews_parser *p = calloc(1, sizeof *p);
	if (!p || !(p->out = malloc(3 * FEED_CHUNK + REF_MAX))) {
		free(p);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	p->page = page;
	p->text.limit = MAX_TEXT;
	/* Only the callbacks below; everything else (external entities, DTD loading) stays off. */
	static xmlSAXHandler sax = {
		.internalSubset = on_dtd,
		.entityDecl = on_entity_decl,
		.characters = on_text,
		.error = on_error,
		.fatalError = on_error,
		.initialized = XML_SAX2_MAGIC,
		.startElementNs = on_start,
		.endElementNs = on_end,
	};
	p->ctxt = xmlCreatePushParserCtxt(&sax, p, NULL, 0, NULL);
	if (!p->ctxt) {
		free(p->out);
		free(p);
		return or_fail(err, OR_ERR_NOMEM, "cannot create an XML parser");
	}
	xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
	if (names_init(p) != 0) {
		ews_parser_free(p);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	*out = p;
	return 0;
}

/* XML 1.0's Char production: what a character reference may name. */
static bool xml_char(unsigned long c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
	       (c >= 0x10000 && c <= 0x10FFFF);
}

/* The code point of a complete reference "&#x1A;" / "&#26;" held in ref (without the ';'), or
 * (unsigned long)-1 when it has no digits or is out of range. */
static unsigned long ref_value(const char *ref, size_t n)
{
	bool hex = n > 2 && ref[2] == 'x';
	size_t i = hex ? 3 : 2;
	if (i >= n)
		return (unsigned long)-1;
	unsigned long v = 0;
	for (; i < n; i++) {
		int d = ref[i] >= '0' && ref[i] <= '9' ? ref[i] - '0' : ref[i] >= 'a' && ref[i] <= 'f' ? ref[i] - 'a' + 10
		                                                      : ref[i] - 'A' + 10;
		v = v * (hex ? 16 : 10) + (unsigned long)d;
		if (v > 0x10FFFF)
			return (unsigned long)-1;
	}
	return v;
}

static bool ref_digit(const char *ref, size_t n, char c)
{
	if (n > 2 && ref[2] == 'x')
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	return c >= '0' && c <= '9';
}

/* Copies `len` bytes to p->out, each character reference to a character XML 1.0 forbids, and
 * each raw control character it forbids, replaced by MARK. A reference split across two feeds
 * is held in p->ref until its end arrives. Returns the number of bytes written (at most
 * 3 * len + REF_MAX). */
/* True when the repair has to look at in[k]: a control character XML 1.0 forbids, or a '&' that
 * may begin a character reference (one followed by '#', or the last byte of the piece: its next
 * byte is not known yet). Any other '&' (an entity: "&lt;") goes on as it is. */
static bool stop_at(const char *in, size_t k, size_t len)
{
	unsigned char u = (unsigned char)in[k];
	if (u == '&')
		return k + 1 == len || in[k + 1] == '#';
	return u < 0x20 && u != 0x9 && u != 0xA && u != 0xD;
}

/* The length of the run at the start of in[0..len) the repair passes on unchanged (up to the
 * first stop_at). 16 or 8 bytes at a time: a block none of whose bytes is below 0x20 or is '&' is
 * passed whole; the marked bytes of another (a tab, a line end, an entity) are looked at. */
static size_t plain_run(const char *in, size_t len)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i amp16 = _mm_set1_epi8('&'), c1f = _mm_set1_epi8(0x1f);
	for (; i + 16 <= len; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
		/* bytes <= 0x1f (unsigned: min(x, 0x1f) == x), and '&' */
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x), _mm_cmpeq_epi8(x, amp16)));
		for (; m; m &= m - 1) {
			size_t k = i + (size_t)__builtin_ctz(m);
			if (stop_at(in, k, len))
				return k;
		}
	}
#endif
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	for (; i + 8 <= len; i += 8) {
		uint64_t x, amp;
		memcpy(&x, in + i, 8);
		amp = x ^ (ones * '&');
		/* a byte of x below 0x20, or a zero byte of amp (a '&' in x) */
		if (((x - ones * 0x20) & ~x & highs) | ((amp - ones) & ~amp & highs))
			for (size_t k = i; k < i + 8; k++)
				if (stop_at(in, k, len))
					return k;
	}
	while (i < len && !stop_at(in, i, len))
		i++;
	return i;
}

/* Copies `len` bytes to p->out, each character reference to a character XML 1.0 forbids, and
 * each raw control character it forbids, replaced by MARK. A reference split across two feeds
 * is held in p->ref until its end arrives. `plain` bytes at the start are known to need nothing
 * (plain_run). Returns the number of bytes written (at most 3 * len + REF_MAX). */
static size_t repair(ews_parser *p, const char *in, size_t len, size_t plain)
{
	char *w = p->out;
	for (size_t i = 0; i < len;) {
		char c = in[i];
		if (p->ref_len == 0) {
			size_t run = plain ? plain : plain_run(in + i, len - i);
			plain = 0;
			if (run) {
				memcpy(w, in + i, run);
				w += run;
				i += run;
				continue;
			}
			if (c == '&') { /* perhaps a reference */
				p->ref[p->ref_len++] = c;
			} else { /* a control character XML 1.0 forbids */
				memcpy(w, MARK, 3);
				w += 3;
				p->repairs++;
			}
			i++;
			continue;
		}
		/* inside "&", "&#", "&#x", "&#x1..." */
		bool take = (p->ref_len == 1 && c == '#') || (p->ref_len == 2 && (c == 'x' || (c >= '0' && c <= '9'))) ||
		            (p->ref_len >= 3 && ref_digit(p->ref, p->ref_len, c));
		if (take && p->ref_len < REF_MAX) {
			p->ref[p->ref_len++] = c;
			i++;
			continue;
		}
		if (c == ';' && p->ref_len >= 3) {
			unsigned long v = ref_value(p->ref, p->ref_len);
			if (v != (unsigned long)-1 && !xml_char(v)) {
				memcpy(w, MARK, 3);
				w += 3;
				p->repairs++;
				p->ref_len = 0;
				i++;
				continue;
			}
		}
		/* Not a reference to repair: its bytes go on as they were, and c is read afresh. */
		memcpy(w, p->ref, p->ref_len);
		w += p->ref_len;
		p->ref_len = 0;
	}
	return (size_t)(w - p->out);
}

static int parse_error(ews_parser *p, or_error *err)
{
	return or_fail(err, p->fail_code ? p->fail_code : OR_ERR_PROTOCOL, "%s", p->error);
}

int ews_parser_feed(ews_parser *p, const char *data, size_t len, or_error *err)
{
	while (len && !p->failed) {
		size_t chunk = len > FEED_CHUNK ? FEED_CHUNK : len;
		/* Most pieces hold nothing to repair: those go to the parser as they are. */
		size_t plain = p->ref_len ? 0 : plain_run(data, chunk);
		const char *in = data;
		size_t n = chunk;
		if (plain < chunk) {
			in = p->out;
			n = repair(p, data, chunk, plain);
		}
		if (n && xmlParseChunk(p->ctxt, in, (int)n, 0) != 0 && !p->failed) {
			p->failed = true;
			p->fail_code = OR_ERR_PROTOCOL;
			str_copy(p->error, "malformed XML", sizeof p->error);
		}
		data += chunk;
		len -= chunk;
	}
	return p->failed ? parse_error(p, err) : 0;
}

int ews_parser_finish(ews_parser *p, or_error *err)
{
	if (!p->failed && p->ref_len) { /* a reference the body ended in */
		memcpy(p->out, p->ref, p->ref_len);
		if (xmlParseChunk(p->ctxt, p->out, (int)p->ref_len, 0) != 0 && !p->failed) {
			p->failed = true;
			p->fail_code = OR_ERR_PROTOCOL;
			str_copy(p->error, "malformed XML", sizeof p->error);
		}
		p->ref_len = 0;
	}
	if (!p->failed && xmlParseChunk(p->ctxt, NULL, 0, 1) != 0 && !p->failed) {
		p->failed = true;
		p->fail_code = OR_ERR_PROTOCOL;
		str_copy(p->error, "malformed XML (truncated response?)", sizeof p->error);
	}
	if (!p->failed && p->depth != 0) {
		p->failed = true;
		p->fail_code = OR_ERR_PROTOCOL;
		str_copy(p->error, "truncated XML response", sizeof p->error);
	}
	if (!p->failed)
		p->page->repairs += p->repairs;
	return p->failed ? parse_error(p, err) : 0;
}

void ews_parser_free(ews_parser *p)
{
	if (!p)
		return;
	if (p->ctxt) {
		xmlFreeParserCtxt(p->ctxt);
	}
	buf_free(&p->text);
	free(p->out);
	free(p);
}

int ews_page_init(ews_page *pg, or_error *err)
{
	memset(pg, 0, sizeof *pg);
	pg->includes_last = -1;
	pg->next_offset = pg->total_in_view = -1;
	pg->backoff_ms = -1;
	return snap_new(&pg->scratch, err);
}

int ews_page_reset(ews_page *pg, or_error *err)
{
	snap_free(pg->scratch);
	free(pg->sync_state);
	pg->scratch = NULL;
	pg->sync_state = NULL;
	pg->n_status = pg->n_folder_msg = pg->n_item_msg = 0;
	pg->includes_last = -1;
	pg->next_offset = pg->total_in_view = -1;
	pg->is_fault = false;
	pg->fault_code[0] = pg->fault_text[0] = '\0';
	pg->backoff_ms = -1;
	pg->operation[0] = '\0';
	pg->server_version[0] = pg->server_schema[0] = '\0';
	pg->server_major = pg->server_minor = pg->server_build = 0;
	pg->n_special = 0;
	pg->repairs = 0;
	return snap_new(&pg->scratch, err);
}

void ews_page_free(ews_page *pg)
{
	free(pg->sync_state);
	snap_free(pg->scratch);
	free(pg->folder_msg);
	free(pg->item_msg);
	free(pg->status);
	free(pg->special);
	memset(pg, 0, sizeof *pg);
}
