/* request.c: the URLs of the collections, with the fields and MAPI properties each asks for. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* What each collection selects, and its extended properties (16-bit tag form, as Graph takes them;
 * values come back as strings). Keys and change keys are asked for everywhere: where Graph
 * returns them they are PidTagSourceKey itself, otherwise the key comes from the id. */
typedef struct {
	const char *select;
	const char *const *props;
} coll_shape;

static const char *const folder_props[] = {
	"Binary 0x65E0", "Binary 0x65E2", "Binary 0x65E3", "String 0x3613", "Integer 0x3603", "Integer 0x3617", NULL,
};
static const char *const item_props[] = {
	"Binary 0x65E0", "Binary 0x65E2", "Binary 0x65E3", "Integer 0x0E07", "Integer 0x1090", "Integer 0x0017",
	"String 0x0037", "String 0x1035", "SystemTime 0x0E06", "SystemTime 0x0039", NULL,
};
static const char *const message_props[] = {
	"Binary 0x65E0", "Binary 0x65E2", "Binary 0x65E3", "Integer 0x0E07", "Integer 0x1090", "String 0x001A",
	"Integer 0x0E08", NULL,
};
static const char *const other_item_props[] = {
	"Binary 0x65E0", "Binary 0x65E2", "Binary 0x65E3", "Integer 0x0E07", "Integer 0x1090", "Integer 0x0017",
	"String 0x001A", "String 0x0037", "Integer 0x0E08", "SystemTime 0x0E06", NULL,
};
static const char *const calendar_props[] = {
	"Binary 0x65E0", "Binary 0x0E09", "String 0x3613", "Integer 0x3602", NULL,
};

static const char *const special_props[] = {
	"Binary 0x36D0", "Binary 0x36D1", "Binary 0x36D2", "Binary 0x36D3", "Binary 0x36D4", "Binary 0x36D7", NULL,
};
static const char *const no_props[] = {NULL};

static const coll_shape shapes[] = {
	/* no $select: the default properties include wellKnownName, which the v1.0 schema does not
	 * declare (a $select naming it may be refused) */
	[COLL_MAILBOX_FOLDERS] = {NULL, folder_props},
	[COLL_MAILBOX_ITEMS] = {"type,size,createdDateTime,lastModifiedDateTime,changeKey", item_props},
	[COLL_MAIL_FOLDERS] = {"displayName,parentFolderId,childFolderCount,totalItemCount,unreadItemCount,isHidden",
	                       folder_props},
	[COLL_MESSAGES] = {"subject,receivedDateTime,sentDateTime,createdDateTime,lastModifiedDateTime,changeKey,"
	                   "isRead,flag,importance,internetMessageId",
	                   message_props},
	[COLL_CALENDARS] = {"name,changeKey", calendar_props},
	[COLL_EVENTS] = {"subject,createdDateTime,lastModifiedDateTime,changeKey,importance", other_item_props},
	[COLL_CONTACT_FOLDERS] = {"displayName,parentFolderId", folder_props},
	[COLL_CONTACTS] = {"displayName,createdDateTime,lastModifiedDateTime,changeKey", other_item_props},
	[COLL_SETTINGS] = {NULL, no_props}, /* takes no query options */
	[COLL_SPECIAL] = {"displayName", special_props},
	[COLL_NO_ITEMS] = {NULL, no_props},
};

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

/* Appends text, percent-encoding what `keep` does not allow. */
static int put_escaped(or_buf *b, const char *text, const char *keep)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p && rc == 0; p++)
		rc = unreserved(*p) || strchr(keep, *p) ? buf_append(b, p, 1) : buf_printf(b, "%%%02X", *p);
	return rc;
}

char *graph_escape(const char *segment)
{
	or_buf b = {0};
	if (put_escaped(&b, segment, ":@") != 0 || buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

char *graph_url(const char *root, const char *base, const char *path, graph_coll coll, graph_query q)
{
	const coll_shape *sh = &shapes[coll];
	or_buf b = {0};
	size_t rl = strlen(root);
	while (rl && root[rl - 1] == '/')
		rl--;
	int rc = buf_append(&b, root, rl);
	rc = rc ? rc : buf_printf(&b, "%s%s%s", base, path, q.delta ? "/delta" : "");
	if (sh->select) {
		rc = rc ? rc : buf_append(&b, "?$select=", 9);
		rc = rc ? rc : put_escaped(&b, sh->select, ",");
	}
	if (!rc && q.expand && sh->props[0]) {
		rc = buf_printf(&b, "%s$expand=singleValueExtendedProperties($filter=", sh->select ? "&" : "?");
		for (size_t i = 0; rc == 0 && sh->props[i]; i++) {
			rc = buf_printf(&b, "%sid%%20eq%%20%%27", i ? "%20or%20" : "");
			rc = rc ? rc : put_escaped(&b, sh->props[i], "");
			rc = rc ? rc : buf_append(&b, "%27", 3);
		}
		rc = rc ? rc : buf_append(&b, ")", 1);
	}
	rc = rc ? rc : buf_append(&b, "", 1);
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
