/* Graph pages (src/graph/parse.c): the response shapes of Microsoft's reference pages for the calls
 * the client makes (mailFolder delta, message delta, mailbox folder and item delta and listing,
 * calendars, contact folders, the Exchange settings) and its error bodies (429, 410, 403, 401), in
 * test/graph/data/, fed to the parser; then malformed and hostile pages. Run from the top of the
 * repository (test/run does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graph/internal.h"

static char *read_file(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, "test/graph/data/%s", name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open %s (run from the top of the repository)", path);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}

/* The answer parsed as it comes over the network: in pieces of `chunk` bytes. */
static int parse_pieces(graph_page *pg, graph_coll coll, bool single, const char *text, size_t len, size_t chunk,
                        or_error *err)
{
	assert_int_equal(graph_page_reset(pg, err), 0);
	graph_parser *p = NULL;
	assert_int_equal(graph_parser_new(&p, pg, coll, single, err), 0);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < len; off += chunk)
		rc = graph_parser_feed(p, text + off, len - off < chunk ? len - off : chunk, err);
	rc = rc ? rc : graph_parser_finish(p, err);
	graph_parser_free(p);
	return rc;
}

static void parse_file(graph_page *pg, const char *name, graph_coll coll)
{
	size_t len;
	char *text = read_file(name, &len);
	or_error err = {0};
	/* whole, then in pieces small enough to cut every token: the same records */
	int rc = parse_pieces(pg, coll, coll == COLL_SETTINGS, text, len, 7, &err);
	if (rc)
		fail_msg("%s in pieces: %s", name, err.message);
	size_t n = pg->scratch->n_folders + pg->scratch->n_items;
	rc = parse_pieces(pg, coll, coll == COLL_SETTINGS, text, len, len, &err);
	free(text);
	if (rc)
		fail_msg("%s: %s", name, err.message);
	assert_int_equal(n, pg->scratch->n_folders + pg->scratch->n_items);
}

static void parse_text(graph_page *pg, const char *text, graph_coll coll, int want_rc)
{
	or_error err = {0};
	assert_int_equal(parse_pieces(pg, coll, false, text, strlen(text), strlen(text), &err), want_rc);
	if (want_rc)
		assert_true(err.message[0] != '\0');
}

static void key_is(const snap_ident *id, const char *hex)
{
	char got[2 * SNAP_KEY_LEN + 1];
	assert_true(id->has_key);
	hex_encode(id->key, SNAP_KEY_LEN, got);
	assert_string_equal(got, hex);
}

static void message_delta_pages(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	parse_file(&pg, "messages-delta.page1.json", COLL_MESSAGES);
	assert_non_null(pg.next_link);
	assert_null(pg.delta_link);
	assert_true(strstr(pg.next_link, "$skiptoken=") != NULL);
	assert_true(pg.scratch->n_items >= 2);
	const snap_item *a = &pg.scratch->items[0], *b = &pg.scratch->items[1];
	assert_string_equal(a->subject, "Quarterly figures");
	assert_int_equal(a->read, 1);
	assert_int_equal(a->msg_flags, 1);
	key_is(&a->ident, "a4e1c7395b2d4a48b6f09e3d12c57a8800001b2c3d01");
	assert_int_equal(a->ident.origin, KEY_SOURCE_KEY);
	assert_string_equal(a->message_id, "<0d1c2b3a@mail.contoso.example>");
	char t[32];
	filetime_format(a->received, t);
	assert_string_equal(t, "2026-03-02T08:14:06Z");
	assert_int_equal(a->change_key.len, SNAP_KEY_LEN); /* from changeKey, the header taken off */
	assert_string_equal(b->subject, "Design review"); /* an eventMessageRequest is a message too */
	assert_int_equal(b->read, 0);

	parse_file(&pg, "messages-delta.page2.json", COLL_MESSAGES);
	assert_non_null(pg.delta_link);
	assert_null(pg.next_link);
	assert_int_equal(pg.removed, 1); /* the @removed entry is not an item */
	assert_int_equal(pg.scratch->n_items, 1);

	parse_file(&pg, "messages-delta.immutable.json", COLL_MESSAGES);
	assert_int_equal(pg.scratch->n_items, 1);
	assert_true(strncmp(pg.scratch->items[0].id, "AAkAL", 5) == 0);
	graph_page_free(&pg);
}

static void folder_pages(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	parse_file(&pg, "mailfolders-delta.page1.json", COLL_MAIL_FOLDERS);
	assert_true(pg.scratch->n_folders >= 2);
	assert_non_null(pg.next_link);
	bool search = false;
	for (size_t i = 0; i < pg.scratch->n_folders; i++) {
		assert_non_null(pg.scratch->folders[i].id);
		assert_non_null(pg.scratch->folders[i].name);
		assert_non_null(pg.scratch->folders[i].parent_id);
		search = search || pg.search[i];
	}
	assert_true(search); /* a mailSearchFolder */
	parse_file(&pg, "mailfolders-delta.page2.json", COLL_MAIL_FOLDERS);
	assert_non_null(pg.delta_link);

	parse_file(&pg, "mailbox-folders-delta.json", COLL_MAILBOX_FOLDERS);
	assert_int_equal(pg.scratch->n_folders, 2);
	assert_int_equal(pg.removed, 1);
	assert_string_equal(pg.wellknown[0], "archive");
	assert_null(pg.wellknown[1]); /* "wellKnownName": null */

	parse_file(&pg, "calendars.json", COLL_CALENDARS);
	assert_int_equal(pg.scratch->n_folders, 1);
	assert_string_equal(pg.scratch->folders[0].name, "Calendar");
	assert_string_equal(pg.scratch->folders[0].cls, "IPF.Appointment");
	assert_int_equal(pg.scratch->folders[0].change_key.len, SNAP_KEY_LEN); /* a bare change key */

	parse_file(&pg, "contactfolders-delta.json", COLL_CONTACT_FOLDERS);
	assert_int_equal(pg.scratch->n_folders, 1);
	assert_string_equal(pg.scratch->folders[0].cls, "IPF.Contact");

	parse_file(&pg, "settings-exchange.json", COLL_SETTINGS);
	assert_non_null(pg.mailbox_id);
	assert_true(strncmp(pg.mailbox_id, "MBX:", 4) == 0);
	graph_page_free(&pg);
}

static void mailbox_items(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	parse_file(&pg, "mailbox-items.json", COLL_MAILBOX_ITEMS);
	assert_int_equal(pg.scratch->n_items, 2);
	assert_string_equal(pg.scratch->items[0].cls, "IPM.Note");
	assert_int_equal(pg.scratch->items[0].size, 71133);
	assert_string_equal(pg.scratch->items[1].cls, "IPM.Schedule.Meeting.Request");
	assert_non_null(pg.next_link);
	parse_file(&pg, "mailbox-items-delta.json", COLL_MAILBOX_ITEMS);
	assert_int_equal(pg.scratch->n_items, 1);
	assert_int_equal(pg.removed, 1);
	parse_file(&pg, "calendar-events.json", COLL_EVENTS);
	assert_int_equal(pg.scratch->n_items, 1);
	assert_string_equal(pg.scratch->items[0].cls, "IPM.Appointment");
	assert_int_equal(pg.scratch->items[0].change_key.len, SNAP_KEY_LEN);
	graph_page_free(&pg);
}

static void error_bodies(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	const struct {
		const char *file, *code, *message_part;
	} cases[] = {
		{"error-429-toomanyrequests.json", "TooManyRequests", "retry"},
		{"error-410-syncstatenotfound.json", "syncStateNotFound", "delta token is expired"},
		{"error-403-odata-disabled.json", "ErrorAccessDenied", "Access to OData is disabled"},
		{"error-401-expired.json", "InvalidAuthenticationToken", "expired"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t len;
		char *text = read_file(cases[i].file, &len);
		parse_pieces(&pg, COLL_MESSAGES, false, text, len, 5, &err); /* an error body, not a page */
		free(text);
		assert_true(pg.has_error);
		assert_string_equal(pg.error.code, cases[i].code);
		if (!strstr(pg.error.message, cases[i].message_part))
			fail_msg("%s: message '%s'", cases[i].file, pg.error.message);
	}
	/* the identity platform's form: "error" is a string */
	const char *id = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}";
	parse_pieces(&pg, COLL_MESSAGES, false, id, strlen(id), 3, &err);
	assert_true(pg.has_error);
	assert_string_equal(pg.error.code, "invalid_client");
	parse_text(&pg, "{}", COLL_MESSAGES, OR_ERR_FORMAT);
	graph_page_free(&pg);
}

static void pages_that_are_not_pages(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	parse_text(&pg, "{\"value\": [", COLL_MESSAGES, OR_ERR_FORMAT);                /* cut short */
	parse_text(&pg, "[1, 2]", COLL_MESSAGES, OR_ERR_FORMAT);                       /* not an object */
	parse_text(&pg, "{\"value\": {}}", COLL_MESSAGES, OR_ERR_FORMAT);              /* no array */
	parse_text(&pg, "{\"value\": [3]}", COLL_MESSAGES, OR_ERR_FORMAT);             /* not an object */
	parse_text(&pg, "{\"value\": [{\"subject\": \"x\"}]}", COLL_MESSAGES, OR_ERR_FORMAT); /* no id */
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"subject\": 7}]}", COLL_MESSAGES, OR_ERR_FORMAT);
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"receivedDateTime\": \"yesterday\"}]}", COLL_MESSAGES, OR_ERR_FORMAT);
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"singleValueExtendedProperties\": "
	                "[{\"id\": \"Binary 0x65e0\", \"value\": \"not base64!\"}]}]}",
	           COLL_MESSAGES, OR_ERR_FORMAT);
	parse_text(&pg, "{\"value\": [], \"@odata.nextLink\": 5}", COLL_MESSAGES, OR_ERR_FORMAT);
	char deep[300] = "{\"value\": [{\"id\": \"a\", \"x\": ";
	for (int i = 0; i < 70; i++)
		strcat(deep, "[");
	parse_text(&pg, deep, COLL_MESSAGES, OR_ERR_FORMAT); /* nested beyond the bound */
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"singleValueExtendedProperties\": [{\"id\": 5}]}]}",
	           COLL_MESSAGES, OR_ERR_FORMAT);
	/* tolerated: unknown fields, nulls, properties of another type or an unknown tag */
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"subject\": null, \"surprise\": [1], "
	                "\"singleValueExtendedProperties\": [{\"id\": \"Boolean 0x10f4\", \"value\": \"true\"}, "
	                "{\"id\": \"Integer 0xe07\", \"value\": \"nine\"}, {\"id\": \"Long 0x0e08\"}]}]}",
	           COLL_MESSAGES, 0);
	assert_int_equal(pg.scratch->n_items, 1);
	assert_null(pg.scratch->items[0].subject);
	assert_int_equal(pg.scratch->items[0].msg_flags, -1);
	/* a source key of the wrong length is not a key */
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"singleValueExtendedProperties\": "
	                "[{\"id\": \"Binary 0x65E0\", \"value\": \"AAEC\"}]}]}",
	           COLL_MESSAGES, 0);
	assert_false(pg.scratch->items[0].ident.has_key);
	graph_page_free(&pg);
}

/* An item's change key: changeKey (its header taken off) unless PidTagChangeKey is given, which
 * wins wherever it stands, even when it is empty; of two changeKeys the first that reads. The page
 * whole (the scanner) and in pieces (yajl) alike. */
static void change_key_is(const char *props_before, const char *fields, const char *props_after, const char *want)
{
	char text[1024];
	snprintf(text, sizeof text,
	         "{\"value\": [{\"id\": \"a\", %s%s\"singleValueExtendedProperties\": [%s]%s}]}", props_before,
	         fields, props_after, "");
	for (size_t chunk = 7; chunk; chunk = chunk == 7 ? strlen(text) : 0) {
		graph_page pg;
		or_error err = {0};
		assert_int_equal(graph_page_init(&pg, &err), 0);
		if (parse_pieces(&pg, COLL_MESSAGES, false, text, strlen(text), chunk, &err) != 0)
			fail_msg("%s: %s", text, err.message);
		assert_int_equal(pg.scratch->n_items, 1);
		const snap_bin *ck = &pg.scratch->items[0].change_key;
		char got[2 * 64 + 1] = "";
		if (ck->len)
			hex_encode(ck->data, ck->len, got);
		if (strcmp(got, want) != 0)
			fail_msg("%s (in pieces of %zu): change key %s, not %s", text, chunk, got, want);
		graph_page_free(&pg);
	}
}

static void change_keys_in_either_order(void **state)
{
	const char *from_field = "c8e33ff9c90558a0a1ccdf7603f1b856000008100002",
	           *from_prop = "000102030405060708090a0b0c0d0e0f101112131415";
#define CK "\"changeKey\": \"CQAAABYAAADI4z/5yQVYoKHM33YD8bhWAAAIEAAC\", "
#define CK_BAD "\"changeKey\": \"CQAA\", "
#define PROP "{\"id\": \"Binary 0x65e2\", \"value\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFQ==\"}"
#define PROP_EMPTY "{\"id\": \"Binary 0x65e2\", \"value\": \"\"}"
	change_key_is("", CK, "", from_field);
	change_key_is("", CK, PROP, from_prop);
	change_key_is("", "", PROP, from_prop);
	change_key_is("", CK, PROP_EMPTY, "");  /* the property, empty, still wins */
	change_key_is("", CK_BAD, "", "");      /* a changeKey that does not read: none */
	change_key_is("", CK_BAD CK, "", from_field);
	change_key_is("", CK "\"changeKey\": \"CQAAABYAAAAAAQIDBAUGBwgJCgsMDQ4PEBESExQV\", ", "", from_field);
	/* the property before the field: the field is not taken (an empty property lets it in) */
	change_key_is("\"singleValueExtendedProperties\": [" PROP "], ", CK, "", from_prop);
	change_key_is("\"singleValueExtendedProperties\": [" PROP_EMPTY "], ", CK, "", from_field);
#undef CK
#undef CK_BAD
#undef PROP
#undef PROP_EMPTY
}

/* Fields are told apart by their whole names: a name that only starts like one, or a longer one,
 * is not read; extended property ids with the tag in any case, with leading zeros or spelled as
 * strtol reads it, and any other spelling left out. */
static void field_and_property_names(void **state)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"subjec\": \"x\", \"subjects\": \"y\", \"isReadX\": 5, "
	                "\"receivedDateTim\": 7, \"importance\": \"HIGH\", \"flag\": {\"flagStatus\": \"complete\"}}, "
	                "{\"id\": \"b\", \"subject\": \"z\", \"receivedDateTime\": \"2026-03-02T08:14:06.5Z\", "
	                "\"sentDateTime\": \"2026-03-02T09:14:06+01:00\", \"importance\": \"lowish\"}]}",
	           COLL_MESSAGES, 0);
	assert_int_equal(pg.scratch->n_items, 2);
	const snap_item *a = &pg.scratch->items[0], *b = &pg.scratch->items[1];
	assert_null(a->subject);
	assert_int_equal(a->received, 0);
	assert_int_equal(a->importance, 2);
	assert_int_equal(a->flag_status, 1);
	assert_string_equal(b->subject, "z");
	assert_int_equal(b->importance, -1);
	char t[32];
	filetime_format(b->received, t);
	assert_string_equal(t, "2026-03-02T08:14:06.5000000Z");
	filetime_format(b->sent, t);
	assert_string_equal(t, "2026-03-02T08:14:06Z");
	parse_text(&pg, "{\"value\": [{\"id\": \"a\", \"singleValueExtendedProperties\": ["
	                "{\"id\": \"String 0X37\", \"value\": \"upper\"}, {\"id\": \"Integer 0x00e07\", \"value\": \"3\"}, "
	                "{\"id\": \"Integer 0x 17\", \"value\": \"2\"}, {\"id\": \"Integer 0x1090x\", \"value\": \"2\"}, "
	                "{\"value\": \"<m@x>\", \"id\": \"String 0x1035\"}]}]}",
	           COLL_MESSAGES, 0);
	a = &pg.scratch->items[0];
	assert_string_equal(a->subject, "upper");
	assert_int_equal(a->msg_flags, 3);
	assert_int_equal(a->importance, 2); /* strtol reads " 17" */
	assert_int_equal(a->flag_status, -1);
	assert_string_equal(a->message_id, "<m@x>"); /* the value before the id */
	/* a bad date names its own field, not the last one read */
	or_error e2 = {0};
	const char *bad = "{\"value\": [{\"id\": \"a\", \"createdDateTime\": \"2026-13-02T08:14:06Z\", \"subject\": \"s\"}]}";
	assert_int_not_equal(graph_page_parse(&pg, COLL_MAILBOX_ITEMS, false, bad, strlen(bad), &e2), 0);
	assert_non_null(strstr(e2.message, "createdDateTime"));
	graph_page_free(&pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_delta_pages),
		cmocka_unit_test(folder_pages),
		cmocka_unit_test(mailbox_items),
		cmocka_unit_test(error_bodies),
		cmocka_unit_test(pages_that_are_not_pages),
		cmocka_unit_test(change_keys_in_either_order),
		cmocka_unit_test(field_and_property_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
