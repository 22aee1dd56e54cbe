/* The EWS response parser (src/ews/parse.c) is fed a response as it arrives, in pieces of any
 * size. Every split must give the same page as the response in one piece: every item's fields,
 * the response messages, the sync state, on a SyncFolderItems response built here with entities,
 * multi-byte UTF-8 and extended properties, split at sizes from 1 byte up. Broken and hostile
 * documents fail either way, and say whether a retry could help. What real Exchange sends is
 * read as it means: characters XML 1.0 forbids (repaired, and noted), ChangeKey attributes, the
 * BackOffMilliseconds value by its name, the operation a response answers, PR_ADDITIONAL_REN_ENTRYIDS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ews/internal.h"

#define N_ITEMS 40

static const char *HEAD =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
	"<s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"1\" MajorBuildNumber=\"2507\" "
	"MinorBuildNumber=\"6\" xmlns:h=\"http://schemas.microsoft.com/exchange/services/2006/types\"/></s:Header>"
	"<s:Body><m:SyncFolderItemsResponse xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" "
	"xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><m:ResponseMessages>"
	"<m:SyncFolderItemsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
	"<m:SyncState>H4sIAAAAAAACA/MPDgr21JtvxRE3O3LfniM/tEQ=</m:SyncState>"
	"<m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes>";
static const char *TAIL = "</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages>"
                          "</m:SyncFolderItemsResponse></s:Body></s:Envelope>";

/* A response of N_ITEMS items, each different (ids, subjects, dates, keys, flags). */
static char *build_response(size_t *len)
{
	or_buf b = {0};
	assert_int_equal(buf_append(&b, HEAD, strlen(HEAD)), 0);
	for (int i = 0; i < N_ITEMS; i++) {
		/* source key: 22 bytes (GUID + 6-byte counter), base64 */
		assert_int_equal(buf_printf(&b,
			"<t:%s><t:Message><t:ItemId Id=\"AAMkItem%04d==\" ChangeKey=\"CQAAAB%04d\"/>"
			"<t:ItemClass>IPM.Note%s</t:ItemClass>"
			"<t:Subject>R\xc3\xa9union &amp; &lt;plan&gt; \xe2\x82\xac%d</t:Subject>"
			"<t:DateTimeReceived>2026-08-%02dT16:15:19Z</t:DateTimeReceived>"
			"<t:Size>%d</t:Size><t:Importance>%s</t:Importance>"
			"<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x65e0\" PropertyType=\"Binary\"/>"
			"<t:Value>IboyVP2ZlFlJc6cSxO/uVQAAAAEA%s</t:Value></t:ExtendedProperty>"
			"<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x65e2\" PropertyType=\"Binary\"/>"
			"<t:Value>miuHwT8UGkfxQsFW4OPPSKmu9fDZ%s</t:Value></t:ExtendedProperty>"
			"<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0xe07\" PropertyType=\"Integer\"/>"
			"<t:Value>%d</t:Value></t:ExtendedProperty>"
			"<t:LastModifiedTime>2026-09-%02dT08:00:%02dZ</t:LastModifiedTime>"
			"<t:InternetMessageId>&lt;%d.1@fixture.example&gt;</t:InternetMessageId>"
			"<t:IsRead>%s</t:IsRead></t:Message></t:%s>",
			i % 5 == 4 ? "Update" : "Create", i, i, i % 3 ? "" : ".Custom", i, 1 + i % 28, 1000 + i,
			i % 3 == 0 ? "High" : i % 3 == 1 ? "Low" : "Normal", i % 2 ? "Aw==" : "BA==", i % 2 ? "KQ==" : "Kg==",
			i % 7, 1 + i % 28, i % 60, i, i % 2 ? "true" : "false", i % 5 == 4 ? "Update" : "Create"),
			0);
	}
	assert_int_equal(buf_append(&b, TAIL, strlen(TAIL)), 0);
	*len = b.len;
	return b.data;
}

/* Parses `doc` in one piece (chunk 0) or in pieces of `chunk` bytes; returns the parse result. */
static int parse(const char *doc, size_t len, size_t chunk, ews_page *pg, or_error *err)
{
	assert_int_equal(ews_page_init(pg, err), 0);
	ews_parser *p = NULL;
	assert_int_equal(ews_parser_new(&p, pg, err), 0);
	int rc = 0;
	if (chunk == 0)
		chunk = len;
	for (size_t off = 0; off < len && rc == 0; off += chunk)
		rc = ews_parser_feed(p, doc + off, len - off < chunk ? len - off : chunk, err);
	if (rc == 0)
		rc = ews_parser_finish(p, err);
	ews_parser_free(p);
	return rc;
}

static void same_bin(snap_bin a, snap_bin b)
{
	assert_int_equal(a.len, b.len);
	if (a.len)
		assert_memory_equal(a.data, b.data, a.len);
}

static void same_str(const char *a, const char *b)
{
	assert_true((a == NULL) == (b == NULL));
	if (a)
		assert_string_equal(a, b);
}

static void same_page(const ews_page *a, const ews_page *b)
{
	assert_int_equal(a->n_status, b->n_status);
	for (size_t i = 0; i < a->n_status; i++) {
		assert_string_equal(a->status[i].cls, b->status[i].cls);
		assert_string_equal(a->status[i].code, b->status[i].code);
	}
	same_str(a->sync_state, b->sync_state);
	assert_int_equal(a->includes_last, b->includes_last);
	assert_string_equal(a->server_version, b->server_version);
	assert_int_equal(a->scratch->n_items, b->scratch->n_items);
	for (size_t i = 0; i < a->scratch->n_items; i++) {
		const snap_item *x = &a->scratch->items[i], *y = &b->scratch->items[i];
		same_str(x->id, y->id);
		same_str(x->cls, y->cls);
		same_str(x->subject, y->subject);
		same_str(x->message_id, y->message_id);
		assert_int_equal(x->received, y->received);
		assert_int_equal(x->modified, y->modified);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->importance, y->importance);
		assert_int_equal(x->read, y->read);
		assert_int_equal(x->msg_flags, y->msg_flags);
		assert_int_equal(x->ident.has_key, y->ident.has_key);
		assert_memory_equal(x->ident.key, y->ident.key, SNAP_KEY_LEN);
		same_bin(x->change_key, y->change_key);
		assert_int_equal(a->item_msg[i], b->item_msg[i]);
	}
}

static void one_piece_and_pieces_agree(void **state)
{
	size_t len;
	char *doc = build_response(&len);
	ews_page one;
	or_error err = {0};
	assert_int_equal(parse(doc, len, 0, &one, &err), 0);
	/* The one-piece parse read what was written (so that agreeing means something). */
	assert_int_equal(one.scratch->n_items, N_ITEMS);
	assert_string_equal(one.server_version, "15.1.2507.6");
	assert_int_equal(one.includes_last, 1);
	assert_non_null(one.sync_state);
	const snap_item *it = &one.scratch->items[7];
	assert_string_equal(it->id, "AAMkItem0007==");
	assert_string_equal(it->subject, "R\xc3\xa9union & <plan> \xe2\x82\xac" "7");
	assert_string_equal(it->message_id, "<7.1@fixture.example>");
	assert_string_equal(it->cls, "IPM.Note");
	assert_int_equal(it->size, 1007);
	assert_int_equal(it->importance, 0); /* Low */
	assert_true(it->read);
	assert_int_equal(it->msg_flags, 0);
	assert_true(it->ident.has_key);
	assert_int_equal(it->change_key.len, 22);
	assert_string_equal(one.scratch->items[9].cls, "IPM.Note.Custom");

	static const size_t chunks[] = {1, 2, 3, 7, 64, 1000, 16384};
	for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
		ews_page pieces;
		assert_int_equal(parse(doc, len, chunks[c], &pieces, &err), 0);
		same_page(&one, &pieces);
		ews_page_free(&pieces);
	}
	ews_page_free(&one);
	free(doc);
}

/* Cut short, broken in the middle, or carrying a DTD: an error either way, with a reason. */
static void bad_documents_fail_either_way(void **state)
{
	size_t len;
	char *doc = build_response(&len);
	char *broken = strdup(doc);
	memcpy(broken + len / 2, "</t:Nope>&&", 11);
	const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY x \"y\">]><s:Envelope "
	                  "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>&x;</s:Body></s:Envelope>";
	struct {
		const char *doc;
		size_t len;
		const char *why;
	} cases[] = {{doc, len / 3, "XML"}, {broken, len, "malformed XML"}, {dtd, strlen(dtd), "DTD"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		for (size_t chunk = 0; chunk <= 512; chunk += 512) {
			ews_page pg;
			or_error err = {0};
			assert_int_not_equal(parse(cases[i].doc, cases[i].len, chunk, &pg, &err), 0);
			if (!strstr(err.message, cases[i].why)) {
				print_error("case %zu (chunk %zu): '%s' lacks '%s'\n", i, chunk, err.message, cases[i].why);
				fail();
			}
			ews_page_free(&pg);
		}
	}
	free(broken);
	free(doc);
}

/* Parses a whole document in pieces of every size from 1 to 40 bytes and in one piece; each parse
 * must agree with the one-piece parse (returned in *one, to be freed by the caller). */
static void parse_all_splits(const char *doc, ews_page *one)
{
	or_error err = {0};
	size_t len = strlen(doc);
	if (parse(doc, len, 0, one, &err) != 0) {
		print_error("%s\n", err.message);
		fail();
	}
	for (size_t chunk = 1; chunk <= 40; chunk++) {
		ews_page pg;
		assert_int_equal(parse(doc, len, chunk, &pg, &err), 0);
		same_page(one, &pg);
		for (size_t i = 0; i < one->scratch->n_folders; i++) {
			same_str(one->scratch->folders[i].name, pg.scratch->folders[i].name);
			assert_int_equal(one->scratch->folders[i].repaired, pg.scratch->folders[i].repaired);
		}
		for (size_t i = 0; i < one->scratch->n_items; i++)
			assert_int_equal(one->scratch->items[i].repaired, pg.scratch->items[i].repaired);
		assert_int_equal(one->repairs, pg.repairs);
		ews_page_free(&pg);
	}
}

#define ENV_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
#define ENV_TAIL "</s:Body></s:Envelope>"
#define NS_MT " xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" " \
              "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\""

/* Real Exchange writes &#x0;, &#x10;, &#x1A; in subjects and display names: the folder and the
 * item are kept, each such character becomes U+FFFD, and the field is named as repaired. Other
 * references (&#x41;, &#233;, &amp;) are left as they are, also when a chunk ends inside one. */
static void forbidden_character_references_are_repaired(void **state)
{
	const char *doc = ENV_HEAD "<m:SyncFolderItemsResponse" NS_MT "><m:ResponseMessages>"
		"<m:SyncFolderItemsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
		"<m:SyncState>S</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange><m:Changes>"
		"<t:Create><t:Message><t:ItemId Id=\"I1\"/><t:Subject>a&#x0;b&#x10;c&#26;d &#x41;&#233;&amp;</t:Subject>"
		"<t:InternetMessageId>&lt;x&#x1A;@y&gt;</t:InternetMessageId></t:Message></t:Create>"
		"<t:Create><t:Message><t:ItemId Id=\"I2\"/><t:Subject>plain &#x1F600; &#xD;</t:Subject></t:Message></t:Create>"
		"<t:Create><t:Message><t:ItemId Id=\"I3\"/><t:Subject>raw \x01 control</t:Subject></t:Message></t:Create>"
		"</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>" ENV_TAIL;
	ews_page one;
	parse_all_splits(doc, &one);
	assert_int_equal(one.scratch->n_items, 3);
	const snap_item *a = &one.scratch->items[0], *b = &one.scratch->items[1], *c = &one.scratch->items[2];
	assert_string_equal(a->subject, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d A\xc3\xa9&");
	assert_string_equal(a->message_id, "<x\xef\xbf\xbd@y>");
	assert_int_equal(a->repaired, SNAP_REPAIRED_SUBJECT | SNAP_REPAIRED_MESSAGE_ID);
	assert_string_equal(b->subject, "plain \xf0\x9f\x98\x80 \r");
	assert_int_equal(b->repaired, 0);
	assert_string_equal(c->subject, "raw \xef\xbf\xbd control");
	assert_int_equal(c->repaired, SNAP_REPAIRED_SUBJECT);
	assert_int_equal(one.repairs, 5);
	ews_page_free(&one);

	const char *folders = ENV_HEAD "<m:GetFolderResponse" NS_MT "><m:ResponseMessages>"
		"<m:GetFolderResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>"
		"<t:Folder><t:FolderId Id=\"F1\"/><t:DisplayName>Pro&#x10;jects</t:DisplayName></t:Folder>"
		"</m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>" ENV_TAIL;
	parse_all_splits(folders, &one);
	assert_int_equal(one.scratch->n_folders, 1);
	assert_string_equal(one.scratch->folders[0].name, "Pro\xef\xbf\xbdjects");
	assert_int_equal(one.scratch->folders[0].repaired, SNAP_REPAIRED_NAME);
	assert_string_equal(one.operation, "GetFolder");
	ews_page_free(&one);
}

/* The parser takes its input in pieces of its own (16 KiB): a reference to repair, an entity and a
 * raw control character are read the same wherever a piece ends, in a body handed over whole.
 * The subject's text is moved across the first piece's end one byte at a time. */
static void references_across_the_parser_pieces(void **state)
{
	const char *head = ENV_HEAD "<m:SyncFolderItemsResponse" NS_MT "><m:ResponseMessages>"
		"<m:SyncFolderItemsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
		"<m:Changes><t:Create><t:Message><t:ItemId Id=\"I1\"/><t:ItemClass>";
	const char *tail = "</t:Subject></t:Message></t:Create></m:Changes></m:SyncFolderItemsResponseMessage>"
		"</m:ResponseMessages></m:SyncFolderItemsResponse>" ENV_TAIL;
	const char *subject = "a&#x1A;b&amp;c&lt;d\x02" "e&#65;f";
	for (size_t at = 16384 - 24; at <= 16384 + 2; at++) {
		or_buf b = {0};
		assert_int_equal(buf_append(&b, head, strlen(head)), 0);
		size_t pad = at - b.len - strlen("</t:ItemClass><t:Subject>");
		for (size_t i = 0; i < pad; i++)
			assert_int_equal(buf_append(&b, "C", 1), 0);
		const char *mid = "</t:ItemClass><t:Subject>";
		assert_int_equal(buf_append(&b, mid, strlen(mid)), 0);
		assert_int_equal(b.len, at);
		assert_int_equal(buf_append(&b, subject, strlen(subject)), 0);
		assert_int_equal(buf_append(&b, tail, strlen(tail)), 0);
		ews_page pg;
		or_error err = {0};
		assert_int_equal(parse(b.data, b.len, 0, &pg, &err), 0);
		assert_int_equal(pg.scratch->n_items, 1);
		assert_string_equal(pg.scratch->items[0].subject, "a\xef\xbf\xbd" "b&c<d\xef\xbf\xbd" "eAf");
		assert_int_equal(pg.scratch->items[0].repaired, SNAP_REPAIRED_SUBJECT);
		assert_int_equal(strlen(pg.scratch->items[0].cls), pad);
		assert_int_equal(pg.repairs, 2);
		ews_page_free(&pg);
		buf_free(&b);
	}
}

/* The ChangeKey attribute of every ItemId and FolderId holds the change key after an 8-byte
 * header: kept where the server gives no PidTagChangeKey (0x65E2), which wins when it does. */
static void change_key_attributes_are_kept(void **state)
{
	const char *doc = ENV_HEAD "<m:SyncFolderItemsResponse" NS_MT "><m:ResponseMessages>"
		"<m:SyncFolderItemsResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>"
		"<m:Changes>"
		/* Microsoft's mailboxItem example changeKey (docs/QUIRKS.md) */
		"<t:Create><t:Message><t:ItemId Id=\"I1\" ChangeKey=\"CQAAABYAAACQ2fKdhq8oSKEDSVrdi3lRAAFR+6ZT\"/></t:Message></t:Create>"
		"<t:Create><t:Message><t:ItemId Id=\"I2\" ChangeKey=\"CQAAABYAAACQ2fKdhq8oSKEDSVrdi3lRAAFR+6ZT\"/>"
		"<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x65e2\" PropertyType=\"Binary\"/>"
		"<t:Value>AQID</t:Value></t:ExtendedProperty></t:Message></t:Create>"
		"<t:Create><t:Message><t:ItemId Id=\"I3\" ChangeKey=\"CQAAAA==\"/></t:Message></t:Create>"
		"<t:Create><t:Message><t:ItemId Id=\"I4\"/></t:Message></t:Create>"
		"</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>" ENV_TAIL;
	ews_page one;
	parse_all_splits(doc, &one);
	assert_int_equal(one.scratch->n_items, 4);
	const snap_item *it = one.scratch->items;
	char hex[2 * SNAP_KEY_LEN + 1];
	assert_int_equal(it[0].change_key.len, SNAP_KEY_LEN);
	hex_encode(it[0].change_key.data, SNAP_KEY_LEN, hex);
	assert_string_equal(hex, "90d9f29d86af2848a103495add8b7951000151fba653");
	assert_int_equal(it[1].change_key.len, 3); /* the property, not the attribute */
	assert_int_equal(it[2].change_key.len, 0); /* the object type alone: no change key */
	assert_int_equal(it[3].change_key.len, 0);
	ews_page_free(&one);

	const char *folders = ENV_HEAD "<m:GetFolderResponse" NS_MT "><m:ResponseMessages>"
		"<m:GetFolderResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>"
		"<t:Folder><t:FolderId Id=\"F1\" ChangeKey=\"AQAAABYAAACQ2fKdhq8oSKEDSVrdi3lRAAFR+6ZT\"/></t:Folder>"
		"</m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>" ENV_TAIL;
	parse_all_splits(folders, &one);
	assert_int_equal(one.scratch->folders[0].change_key.len, SNAP_KEY_LEN);
	ews_page_free(&one);
}

/* Throttling: BackOffMilliseconds is found by its Name, after other values, in a SOAP fault (whose
 * faultcode may be pretty-printed) and in a normal response message. */
static void back_off_is_read_by_name(void **state)
{
	const char *fault = ENV_HEAD "<s:Fault><faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">"
		"\n  a:ErrorServerBusy\n</faultcode><faultstring>busy</faultstring><detail>"
		"<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">ErrorServerBusy</e:ResponseCode>"
		"<t:MessageXml xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">"
		"<t:Value Name=\"MaxConcurrency\">27</t:Value><t:Value Name=\"BackOffMilliseconds\">297749</t:Value>"
		"</t:MessageXml></detail></s:Fault>" ENV_TAIL;
	ews_page one;
	parse_all_splits(fault, &one);
	assert_true(one.is_fault);
	assert_string_equal(one.fault_code, "ErrorServerBusy");
	assert_int_equal(one.backoff_ms, 297749);
	ews_page_free(&one);

	const char *msg = ENV_HEAD "<m:SyncFolderItemsResponse" NS_MT "><m:ResponseMessages>"
		"<m:SyncFolderItemsResponseMessage ResponseClass=\"Error\"><m:MessageText>busy</m:MessageText>"
		"<m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
		"<m:MessageXml><t:Value Name=\"Policy\">Default</t:Value><t:Value Name=\"MaxConcurrency\">10</t:Value>"
		"<t:Value Name=\"BackOffMilliseconds\">1500</t:Value></m:MessageXml>"
		"</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>" ENV_TAIL;
	parse_all_splits(msg, &one);
	assert_false(one.is_fault);
	assert_int_equal(one.n_status, 1);
	assert_string_equal(one.status[0].code, "ErrorServerBusy");
	assert_int_equal(one.backoff_ms, 1500);
	assert_string_equal(one.operation, "SyncFolderItems");
	ews_page_free(&one);

	/* Neither the position nor the size of a value makes it the back-off: a larger value of
	 * another name after it is not taken. */
	const char *after = ENV_HEAD "<m:GetFolderResponse" NS_MT "><m:ResponseMessages>"
		"<m:GetFolderResponseMessage ResponseClass=\"Error\"><m:MessageText>busy</m:MessageText>"
		"<m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
		"<m:MessageXml><t:Value Name=\"BackOffMilliseconds\">800</t:Value>"
		"<t:Value Name=\"MaxConcurrency\">90000</t:Value></m:MessageXml>"
		"</m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>" ENV_TAIL;
	parse_all_splits(after, &one);
	assert_int_equal(one.backoff_ms, 800);
	ews_page_free(&one);

	/* Exchange 2007's faultcode names no EWS code; the detail does. */
	const char *old = ENV_HEAD "<soap11:Fault xmlns:soap11=\"http://schemas.xmlsoap.org/soap/envelope/\">"
		"<faultcode>soap11:Client</faultcode><faultstring>The request failed schema validation</faultstring><detail>"
		"<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">ErrorSchemaValidation</e:ResponseCode>"
		"</detail></soap11:Fault>" ENV_TAIL;
	parse_all_splits(old, &one);
	assert_string_equal(one.fault_code, "ErrorSchemaValidation");
	assert_int_equal(one.backoff_ms, -1);
	ews_page_free(&one);
}

/* A failure says whether another attempt could pass: XML that is not well formed (cut short) may;
 * a DTD, a malformed value, a bound exceeded will not. */
static void failures_say_whether_a_retry_helps(void **state)
{
	struct {
		const char *doc;
		int code;
	} cases[] = {
		{ENV_HEAD "<m:GetFolderResponse" NS_MT "><m:Resp", OR_ERR_PROTOCOL},
		{ENV_HEAD "<a></b>" ENV_TAIL, OR_ERR_PROTOCOL},
		{"<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY x \"y\">]><s>&x;</s>", OR_ERR_FORMAT},
		{ENV_HEAD "<m:SyncFolderItemsResponse" NS_MT "><m:ResponseMessages><m:SyncFolderItemsResponseMessage "
		 "ResponseClass=\"Success\"><m:Changes><t:Create><t:Message><t:ItemId Id=\"I\"/><t:DateTimeSent>"
		 "yesterday</t:DateTimeSent></t:Message></t:Create></m:Changes></m:SyncFolderItemsResponseMessage>"
		 "</m:ResponseMessages></m:SyncFolderItemsResponse>" ENV_TAIL, OR_ERR_FORMAT},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ews_page pg;
		or_error err = {0};
		assert_int_not_equal(parse(cases[i].doc, strlen(cases[i].doc), 7, &pg, &err), 0);
		if (err.code != cases[i].code) {
			print_error("case %zu: code %d (%s), expected %d\n", i, err.code, err.message, cases[i].code);
			fail();
		}
		ews_page_free(&pg);
	}
}

/* PR_ADDITIONAL_REN_ENTRYIDS (a BinaryArray): each value's source key with its position; empty
 * values keep their place. */
static void special_folder_entry_ids(void **state)
{
	/* a 46-byte folder entry id: flags, provider, type 1, GUID 11..11, counter 000000000042, pad */
	const char *eid = "AAAAACIiIiIiIiIiIiIiIiIiIiIBABEREREREREREREREREREREAAAAAAEIAAA==";
	char doc[2048];
	snprintf(doc, sizeof doc, ENV_HEAD "<m:GetFolderResponse" NS_MT "><m:ResponseMessages>"
		"<m:GetFolderResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode><m:Folders>"
		"<t:Folder><t:FolderId Id=\"F1\"/><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x36d8\" "
		"PropertyType=\"BinaryArray\"/><t:Values><t:Value></t:Value><t:Value>%s</t:Value></t:Values>"
		"</t:ExtendedProperty></t:Folder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages>"
		"</m:GetFolderResponse>" ENV_TAIL, eid);
	ews_page one;
	parse_all_splits(doc, &one);
	assert_int_equal(one.n_special, 1);
	assert_int_equal(one.special[0].folder, 0);
	assert_int_equal(one.special[0].position, 1);
	char hex[2 * SNAP_KEY_LEN + 1];
	hex_encode(one.special[0].key, SNAP_KEY_LEN, hex);
	assert_string_equal(hex, "11111111111111111111111111111111000000000042");
	ews_page_free(&one);
}

int main(void)
{
	log_set_level(LOG_QUIET);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_piece_and_pieces_agree),
		cmocka_unit_test(bad_documents_fail_either_way),
		cmocka_unit_test(forbidden_character_references_are_repaired),
		cmocka_unit_test(references_across_the_parser_pieces),
		cmocka_unit_test(change_key_attributes_are_kept),
		cmocka_unit_test(back_off_is_read_by_name),
		cmocka_unit_test(failures_say_whether_a_retry_helps),
		cmocka_unit_test(special_folder_entry_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
