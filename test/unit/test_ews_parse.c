/* The EWS response parser (src/ews/parse.c) is fed a response as it arrives, in pieces of any
 * size. Every split must give the same page as the response in one piece: every item's fields,
 * the response messages, the sync state, on a SyncFolderItems response built here with entities,
 * multi-byte UTF-8 and extended properties, split at sizes from 1 byte up. Broken and hostile
 * documents fail either way. */
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

int main(void)
{
	log_set_level(LOG_QUIET);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_piece_and_pieces_agree),
		cmocka_unit_test(bad_documents_fail_either_way),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
