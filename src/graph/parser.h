/* parser.h: the state of a Graph page's parser, shared by parse.c (the callbacks, the routing of
 * each value by where it sits) and fields.c (what each field and extended property becomes).
 * Internal to src/graph. */
#ifndef OSTRECON_GRAPH_PARSER_H
#define OSTRECON_GRAPH_PARSER_H

#include "internal.h"

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

/* The first field of the wrong type or form names the page's failure. */
static inline void bad_field(graph_parser *p, const char *name)
{
	if (!p->bad)
		p->bad = name;
}

/* Keeps text for later: its place when it stays put, else a copy. False when out of memory. */
bool graph_hold(graph_parser *p, held_text *h, const char *text, size_t len);
/* An extended property's id ("Binary 0x65e0"): its tag, or -1. */
long graph_prop_tag(const char *id, size_t len);
/* One extended property of the entity, once both its id and value are known. */
void graph_apply_prop(graph_parser *p, long tag, const char *val, size_t len);
/* A scalar field of the entity (text has no NUL; for V_BOOL "1"/"0", V_NUMBER the digits). */
void graph_entity_field(graph_parser *p, key_id k, vkind kind, const char *text, size_t len);
/* The entity's changeKey, read where no PidTagChangeKey replaced it. */
void graph_settle_change_key(graph_parser *p);

#endif
