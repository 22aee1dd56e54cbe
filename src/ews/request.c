/* request.c: the SOAP requests, one short function per operation, built with a small writer.
 * Each sends only what opt->server_version accepts (version.c). */
#include "internal.h"

#include <string.h>

#define NS_M "http://schemas.microsoft.com/exchange/services/2006/messages"
#define NS_T "http://schemas.microsoft.com/exchange/services/2006/types"

int ews_xml_escape(or_buf *out, const char *text)
{
	int rc = 0;
	for (const char *p = text; *p && rc == 0; p++) {
		switch (*p) {
		case '<': rc = buf_append(out, "&lt;", 4); break;
		case '>': rc = buf_append(out, "&gt;", 4); break;
		case '&': rc = buf_append(out, "&amp;", 5); break;
		case '"': rc = buf_append(out, "&quot;", 6); break;
		case '\'': rc = buf_append(out, "&apos;", 6); break;
		default: rc = buf_append(out, p, 1);
		}
	}
	return rc;
}

static int add(or_buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int ews_envelope(or_buf *out, const ews_options *opt, const char *body)
{
	int rc = add(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                  "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	                  "xmlns:m=\"" NS_M "\" xmlns:t=\"" NS_T "\"><soap:Header>");
	rc = rc ? rc : buf_printf(out, "<t:RequestServerVersion Version=\"%s\"/>", opt->server_version);
	if (!rc && opt->impersonate) {
		rc = add(out, "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>");
		rc = rc ? rc : ews_xml_escape(out, opt->pull.mailbox);
		rc = rc ? rc : add(out, "</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>");
	}
	rc = rc ? rc : add(out, "</soap:Header><soap:Body>");
	rc = rc ? rc : add(out, body);
	return rc ? rc : add(out, "</soap:Body></soap:Envelope>\n");
}

/* Extended properties asked for by numeric tag (the server may echo another spelling). */
static const char *const folder_ext[][2] = {
	{"0x65E0", "Binary"}, {"0x65E2", "Binary"}, {"0x65E3", "Binary"}, {"0x3617", "Integer"},
};
static const char *const item_ext[][2] = {
	{"0x65E0", "Binary"}, {"0x65E2", "Binary"}, {"0x65E3", "Binary"}, {"0x0E07", "Integer"}, {"0x1090", "Integer"},
};
static const char *const folder_fields[] = {
	"folder:DisplayName", "folder:FolderClass", "folder:TotalCount", "folder:UnreadCount", "folder:ParentFolderId",
};
static const char *const item_fields[] = {
	"item:ItemClass", "item:Subject", "item:DateTimeReceived", "item:DateTimeSent", "item:DateTimeCreated",
	"item:LastModifiedTime", "item:Size", "item:Importance", "message:IsRead", "message:InternetMessageId",
};

static int shape(or_buf *b, ews_shape kind, bool specials)
{
	const char *el = kind == SHAPE_FOLDER ? "FolderShape" : "ItemShape";
	int rc = buf_printf(b, "<m:%s><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>", el);
	size_t nf = kind == SHAPE_FOLDER ? sizeof folder_fields / sizeof *folder_fields : sizeof item_fields / sizeof *item_fields;
	for (size_t i = 0; rc == 0 && i < nf; i++)
		rc = buf_printf(b, "<t:FieldURI FieldURI=\"%s\"/>", kind == SHAPE_FOLDER ? folder_fields[i] : item_fields[i]);
	size_t ne = kind == SHAPE_FOLDER ? sizeof folder_ext / sizeof *folder_ext : sizeof item_ext / sizeof *item_ext;
	for (size_t i = 0; rc == 0 && i < ne; i++) {
		const char *const *e = kind == SHAPE_FOLDER ? folder_ext[i] : item_ext[i];
		rc = buf_printf(b, "<t:ExtendedFieldURI PropertyTag=\"%s\" PropertyType=\"%s\"/>", e[0], e[1]);
	}
	/* PR_ADDITIONAL_REN_ENTRYIDS: the entry ids of Sync Issues and its subfolders, which older
	 * versions cannot name (pull.c finds them by it). */
	if (!rc && specials)
		rc = add(b, "<t:ExtendedFieldURI PropertyTag=\"0x36D8\" PropertyType=\"BinaryArray\"/>");
	return rc ? rc : buf_printf(b, "</t:AdditionalProperties></m:%s>", el);
}

/* A distinguished folder of the mailbox; names the mailbox unless impersonating. */
static int distinguished(or_buf *b, const ews_options *opt, const char *name)
{
	int rc = buf_printf(b, "<t:DistinguishedFolderId Id=\"%s\">", name);
	if (!rc && !opt->impersonate && opt->pull.mailbox) {
		rc = add(b, "<t:Mailbox><t:EmailAddress>");
		rc = rc ? rc : ews_xml_escape(b, opt->pull.mailbox);
		rc = rc ? rc : add(b, "</t:EmailAddress></t:Mailbox>");
	}
	return rc ? rc : add(b, "</t:DistinguishedFolderId>");
}

static int folder_id(or_buf *b, const char *id)
{
	int rc = add(b, "<t:FolderId Id=\"");
	rc = rc ? rc : ews_xml_escape(b, id);
	return rc ? rc : add(b, "\"/>");
}

static int finish(or_buf *b, const ews_options *opt, or_buf *body, int rc)
{
	if (rc == 0)
		rc = ews_envelope(b, opt, body->data);
	buf_free(body);
	return rc;
}

int ews_req_get_folders(or_buf *b, const ews_options *opt, const char *const *names, size_t n)
{
	or_buf body = {0};
	int rc = add(&body, "<m:GetFolder>");
	rc = rc ? rc : shape(&body, SHAPE_FOLDER, true);
	rc = rc ? rc : add(&body, "<m:FolderIds>");
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = distinguished(&body, opt, names[i]);
	rc = rc ? rc : add(&body, "</m:FolderIds></m:GetFolder>");
	return finish(b, opt, &body, rc);
}

int ews_req_sync_hierarchy(or_buf *b, const ews_options *opt, const char *sync_state)
{
	or_buf body = {0};
	int rc = add(&body, "<m:SyncFolderHierarchy>");
	rc = rc ? rc : shape(&body, SHAPE_FOLDER, false);
	rc = rc ? rc : add(&body, "<m:SyncFolderId>");
	rc = rc ? rc : distinguished(&body, opt, "root");
	rc = rc ? rc : add(&body, "</m:SyncFolderId>");
	if (!rc && sync_state) {
		rc = add(&body, "<m:SyncState>");
		rc = rc ? rc : ews_xml_escape(&body, sync_state);
		rc = rc ? rc : add(&body, "</m:SyncState>");
	}
	rc = rc ? rc : add(&body, "</m:SyncFolderHierarchy>");
	return finish(b, opt, &body, rc);
}

int ews_req_find_folders(or_buf *b, const ews_options *opt, const char *parent_id, bool deep, int offset, int page)
{
	or_buf body = {0};
	int rc = buf_printf(&body, "<m:FindFolder Traversal=\"%s\">", deep ? "Deep" : "Shallow");
	rc = rc ? rc : shape(&body, SHAPE_FOLDER, false);
	rc = rc ? rc : buf_printf(&body, "<m:IndexedPageFolderView MaxEntriesReturned=\"%d\" Offset=\"%d\" "
	                                 "BasePoint=\"Beginning\"/><m:ParentFolderIds>", page, offset);
	rc = rc ? rc : parent_id ? folder_id(&body, parent_id) : distinguished(&body, opt, "root");
	rc = rc ? rc : add(&body, "</m:ParentFolderIds></m:FindFolder>");
	return finish(b, opt, &body, rc);
}

int ews_req_sync_items(or_buf *b, const ews_options *opt, const char *fid, const char *sync_state)
{
	or_buf body = {0};
	int rc = add(&body, "<m:SyncFolderItems>");
	rc = rc ? rc : shape(&body, SHAPE_ITEM, false);
	rc = rc ? rc : add(&body, "<m:SyncFolderId>");
	rc = rc ? rc : folder_id(&body, fid);
	rc = rc ? rc : add(&body, "</m:SyncFolderId>");
	if (!rc && sync_state) {
		rc = add(&body, "<m:SyncState>");
		rc = rc ? rc : ews_xml_escape(&body, sync_state);
		rc = rc ? rc : add(&body, "</m:SyncState>");
	}
	rc = rc ? rc : buf_printf(&body, "<m:MaxChangesReturned>%d</m:MaxChangesReturned>", opt->page_size);
	/* NormalItems is the default; Exchange 2007 has no SyncScope at all. */
	if (!rc && ews_version_sync_scope(opt->server_version))
		rc = add(&body, "<m:SyncScope>NormalItems</m:SyncScope>");
	rc = rc ? rc : add(&body, "</m:SyncFolderItems>");
	return finish(b, opt, &body, rc);
}

int ews_req_find_items(or_buf *b, const ews_options *opt, const char *fid, bool associated, int offset, int max)
{
	or_buf body = {0};
	int rc = buf_printf(&body, "<m:FindItem Traversal=\"%s\">", associated ? "Associated" : "Shallow");
	rc = rc ? rc : shape(&body, SHAPE_ITEM, false);
	rc = rc ? rc : buf_printf(&body, "<m:IndexedPageItemView MaxEntriesReturned=\"%d\" Offset=\"%d\" "
	                                 "BasePoint=\"Beginning\"/><m:ParentFolderIds>",
	                          max > 0 && max < opt->page_size ? max : opt->page_size, offset);
	rc = rc ? rc : folder_id(&body, fid);
	rc = rc ? rc : add(&body, "</m:ParentFolderIds></m:FindItem>");
	return finish(b, opt, &body, rc);
}
