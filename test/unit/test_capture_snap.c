/* ost_capture_snap keeps the cache snapshot in memory for scans: it must hold exactly what
 * ost_capture's file gives through snap_load, field by field (header, folders, items, errors,
 * integrity), on the real samples (when ../shared is there) and on clean and damaged files written
 * by ostwrite in the three formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/core.h"
#include "ost/ost.h"

static char dir[] = "/tmp/ostrecon-capture-XXXXXX";

#define SAME_STR(a, b, what)                                                                                     \
	do {                                                                                                     \
		if (!((a) == NULL && (b) == NULL) && !((a) && (b) && strcmp((a), (b)) == 0))                     \
			fail_msg("%s: %s: memory %s, file %s", name, what, (a) ? (a) : "(null)", (b) ? (b) : "(null)"); \
	} while (0)
#define SAME_INT(a, b, what)                                                                                     \
	do {                                                                                                     \
		if ((int64_t)(a) != (int64_t)(b))                                                                \
			fail_msg("%s: %s: memory %lld, file %lld", name, what, (long long)(a), (long long)(b));  \
	} while (0)

static void same_bin(const char *name, snap_bin a, snap_bin b, const char *what)
{
	SAME_INT(a.len, b.len, what);
	if (a.len && memcmp(a.data, b.data, a.len) != 0)
		fail_msg("%s: %s differs", name, what);
	if (!a.len && (a.data || b.data))
		fail_msg("%s: %s: empty but not absent", name, what);
}

static void same_ident(const char *name, const snap_ident *a, const snap_ident *b)
{
	SAME_INT(a->has_key, b->has_key, "has_key");
	SAME_INT(a->has_gc, b->has_gc, "has_gc");
	if (a->has_key && memcmp(a->key, b->key, SNAP_KEY_LEN) != 0)
		fail_msg("%s: key differs", name);
	if (a->has_gc && memcmp(a->gc, b->gc, SNAP_GC_LEN) != 0)
		fail_msg("%s: gc differs", name);
	SAME_INT(a->replid, b->replid, "replid");
	SAME_INT(a->origin, b->origin, "key origin");
}

static void same_snapshot(const char *name, const snap_t *m, const snap_t *f)
{
	SAME_INT(m->hdr.source, f->hdr.source, "source");
	SAME_STR(m->hdr.mailbox, f->hdr.mailbox, "mailbox");
	SAME_STR(m->hdr.file, f->hdr.file, "file");
	SAME_STR(m->hdr.store_name, f->hdr.store_name, "store_name");
	SAME_INT(m->hdr.file_size, f->hdr.file_size, "file_size");
	SAME_STR(m->hdr.file_format, f->hdr.file_format, "file_format");
	SAME_STR(m->hdr.encryption, f->hdr.encryption, "encryption");
	SAME_STR(m->hdr.tool, f->hdr.tool, "tool");
	SAME_STR(m->hdr.options_json, f->hdr.options_json, "options");
	SAME_INT(m->n_folders, f->n_folders, "folders");
	for (size_t i = 0; i < m->n_folders; i++) {
		const snap_folder *a = &m->folders[i], *b = &f->folders[i];
		SAME_STR(a->id, b->id, "folder id");
		SAME_STR(a->parent_id, b->parent_id, "parent");
		SAME_STR(a->name, b->name, "name");
		SAME_STR(a->path, b->path, "path");
		SAME_STR(a->cls, b->cls, "class");
		SAME_STR(a->role, b->role, "role");
		same_ident(name, &a->ident, &b->ident);
		SAME_INT(a->content_count, b->content_count, "content_count");
		SAME_INT(a->unread_count, b->unread_count, "unread_count");
		SAME_INT(a->assoc_count, b->assoc_count, "assoc_count");
		same_bin(name, a->change_key, b->change_key, "folder change key");
		same_bin(name, a->pcl, b->pcl, "folder pcl");
	}
	SAME_INT(m->n_items, f->n_items, "items");
	for (size_t i = 0; i < m->n_items; i++) {
		const snap_item *a = &m->items[i], *b = &f->items[i];
		SAME_STR(a->id, b->id, "item id");
		SAME_STR(a->folder_id, b->folder_id, "item folder");
		SAME_STR(a->cls, b->cls, "item class");
		SAME_STR(a->subject, b->subject, "subject");
		SAME_STR(a->message_id, b->message_id, "message id");
		same_ident(name, &a->ident, &b->ident);
		SAME_INT(a->received, b->received, "received");
		SAME_INT(a->sent, b->sent, "sent");
		SAME_INT(a->created, b->created, "created");
		SAME_INT(a->modified, b->modified, "modified");
		SAME_INT(a->msg_flags, b->msg_flags, "msg_flags");
		SAME_INT(a->size, b->size, "size");
		SAME_INT(a->read, b->read, "read");
		SAME_INT(a->flag_status, b->flag_status, "flag_status");
		SAME_INT(a->importance, b->importance, "importance");
		SAME_INT(a->associated, b->associated, "associated");
		same_bin(name, a->change_key, b->change_key, "item change key");
		same_bin(name, a->pcl, b->pcl, "item pcl");
	}
	SAME_INT(m->n_errors, f->n_errors, "errors");
	for (size_t i = 0; i < m->n_errors; i++) {
		const snap_error *a = &m->errors[i], *b = &f->errors[i];
		SAME_INT(a->scope, b->scope, "error scope");
		SAME_STR(a->id, b->id, "error id");
		SAME_STR(a->folder_id, b->folder_id, "error folder");
		SAME_STR(a->path, b->path, "error path");
		SAME_STR(a->code, b->code, "error code");
		SAME_STR(a->message, b->message, "error message");
	}
	const snap_integrity *a = &m->integrity, *b = &f->integrity;
	SAME_INT(a->present, b->present, "integrity");
	SAME_INT(a->corrupted, b->corrupted, "corrupted");
	SAME_INT(a->orphan_items, b->orphan_items, "orphan_items");
	SAME_INT(a->recovered_items, b->recovered_items, "recovered_items");
	SAME_INT(a->unreadable_items, b->unreadable_items, "unreadable_items");
	SAME_INT(a->unreadable_folders, b->unreadable_folders, "unreadable_folders");
	SAME_STR(a->ndb_scan, b->ndb_scan, "ndb_scan");
	SAME_STR(a->ndb_format, b->ndb_format, "ndb_format");
	SAME_INT(a->pages_checked, b->pages_checked, "pages_checked");
	SAME_INT(a->blocks_checked, b->blocks_checked, "blocks_checked");
	SAME_INT(a->bad_pages, b->bad_pages, "bad_pages");
	SAME_INT(a->bad_blocks, b->bad_blocks, "bad_blocks");
	SAME_INT(a->n_mismatches, b->n_mismatches, "count mismatches");
	for (size_t i = 0; i < a->n_mismatches; i++) {
		SAME_STR(a->mismatches[i].folder_id, b->mismatches[i].folder_id, "mismatch folder");
		SAME_STR(a->mismatches[i].what, b->mismatches[i].what, "mismatch what");
		SAME_INT(a->mismatches[i].stored, b->mismatches[i].stored, "mismatch stored");
		SAME_INT(a->mismatches[i].found, b->mismatches[i].found, "mismatch found");
	}
	SAME_INT(a->n_replicas, b->n_replicas, "replicas");
	for (size_t i = 0; i < a->n_replicas; i++) {
		SAME_INT(a->replicas[i].replid, b->replicas[i].replid, "replica replid");
		SAME_STR(a->replicas[i].origin, b->replicas[i].origin, "replica origin");
		if (memcmp(a->replicas[i].guid, b->replicas[i].guid, 16) != 0)
			fail_msg("%s: replica guid differs", name);
	}
	SAME_INT(a->n_replica_guids, b->n_replica_guids, "replica table");
	if (a->n_replica_guids && memcmp(a->replica_guids, b->replica_guids, 16 * a->n_replica_guids) != 0)
		fail_msg("%s: replica table differs", name);
}

/* Captures `path` both ways and compares; returns the number of items (to show the case has some). */
static size_t check_file(const char *name, const char *path, ost_reader reader)
{
	ost_options opt = {.reader = reader, .mailbox = "user@example.com",
	                   .options_json = "{\"reader\":\"native\",\"recover\":false,\"crc_check\":true}"};
	char out[256];
	snprintf(out, sizeof out, "%s/snap.jsonl", dir);
	ost_summary s1, s2;
	or_error e1 = {0}, e2 = {0}, e3 = {0};
	snap_t *mem = NULL, *file = NULL;
	int r1 = ost_capture(path, &opt, out, &s1, &e1);
	int r2 = ost_capture_snap(path, &opt, &mem, &s2, &e2);
	SAME_INT(r2, r1, "outcome");
	if (r1 != 0) {
		assert_null(mem);
		return 0;
	}
	assert_int_equal(snap_load(&file, out, &e3), 0);
	same_snapshot(name, mem, file);
	SAME_INT(s2.items, s1.items, "summary items");
	SAME_INT(s2.errors, s1.errors, "summary errors");
	SAME_INT(s2.folders, s1.folders, "summary folders");
	size_t n = mem->n_items;
	snap_free(mem);
	snap_free(file);
	unlink(out);
	return n;
}

static void written_files_clean_and_damaged(void **state)
{
	const char *tools = getenv("TOOLS_DIR");
	if (!tools)
		skip();
	static const char *const fixtures[] = {"writer_small", "writer_replicas", "writer_replid0"};
	static const char *const formats[] = {"pst", "ost", "ost4k"};
	static const char *const damage[] = {"", "unreadable-message", "zero-page", "unlisted-message", "bad-block-crc"};
	size_t cases = 0, items = 0;
	for (size_t x = 0; x < 3; x++)
		for (size_t f = 0; f < 3; f++)
			for (size_t d = 0; d < 5; d++) {
				if (d && x)
					continue; /* damage on one fixture is enough */
				char cmd[1024], path[256], name[128];
				snprintf(path, sizeof path, "%s/%s.%s", dir, fixtures[x], formats[f]);
				snprintf(cmd, sizeof cmd, "'%s/ostwrite' test/fixtures/%s.json --format %s -o '%s' %s%s 2>/dev/null",
				         tools, fixtures[x], formats[f], path, *damage[d] ? "--damage " : "", damage[d]);
				assert_int_equal(system(cmd), 0);
				snprintf(name, sizeof name, "%s.%s %s", fixtures[x], formats[f], damage[d]);
				items += check_file(name, path, f == 1 && d == 0 ? OST_READER_LIBPFF : OST_READER_NATIVE);
				unlink(path);
				cases++;
			}
	assert_int_equal(cases, 21);
	assert_true(items > 500);
}

static void real_samples(void **state)
{
	const char *shared = getenv("SHARED");
	char path[512];
	static const char *const files[] = {"SampleOstFile.ost", "libyal-outlook.pst", "pst2john-2003-high-encryption.pst",
	                                    "pstsdk-test_ansi.pst"};
	snprintf(path, sizeof path, "%s/samples/real/%s", shared ? shared : "../shared", files[0]);
	if (access(path, R_OK) != 0) {
		printf("SKIPPED: the real samples are not there (%s)\n", path);
		skip();
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/samples/real/%s", shared ? shared : "../shared", files[i]);
		check_file(files[i], path, OST_READER_NATIVE);
		check_file(files[i], path, OST_READER_LIBPFF);
	}
}

int main(void)
{
	log_set_level(LOG_QUIET);
	if (!mkdtemp(dir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(written_files_clean_and_damaged),
		cmocka_unit_test(real_samples),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
