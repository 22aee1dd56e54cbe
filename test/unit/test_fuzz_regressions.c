/* Defects found by the fuzz targets (fuzz/), each as a small deterministic case. The inputs that
 * found them, where small enough, are in test/fuzz-regressions/ and replayed by
 * test/fuzz/t_regressions.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "batch/batch.h"
#include "core/core.h"

/* fuzz_ost: a damaged cache held a submit time of year 29319; the snapshot writer wrote
 * "29319-11-25T00:45:50.1472066Z", which no reader accepts, so the whole snapshot was refused
 * ("malformed item line") and could not be compared. A time the format cannot express is now left
 * out (unknown); in-range times at both ends of the range are kept. */
static void time_beyond_year_9999_keeps_the_snapshot_loadable(void **state)
{
	snap_t *s = NULL, *back = NULL;
	or_error err = {0};
	assert_int_equal(snap_new(&s, &err), 0);
	s->hdr.source = SRC_OST;
	const int64_t far = INT64_C(9130000000000000000); /* year 29319 */
	const int64_t last = INT64_C(2650467743999999999); /* 9999-12-31T23:59:59.9999999Z */
	const int64_t neg = -INT64_C(5000000000000000000);
	int64_t values[][4] = {{far, far, far, far}, {last, 1, 0, neg}};
	for (size_t i = 0; i < 2; i++) {
		snap_item *it = snap_add_item(s);
		assert_non_null(it);
		char id[16];
		snprintf(id, sizeof id, "nid:%zu", i);
		it->id = snap_strdup(s, id);
		it->folder_id = "nid:1";
		it->received = values[i][0];
		it->sent = values[i][1];
		it->created = values[i][2];
		it->modified = values[i][3];
	}
	char path[] = "/tmp/ostrecon-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(snap_save(s, path, &err), 0);
	assert_int_equal(snap_load(&back, path, &err), 0);
	unlink(path);
	assert_int_equal(back->n_items, 2);
	assert_int_equal(back->items[0].received, 0);
	assert_int_equal(back->items[0].sent, 0);
	assert_int_equal(back->items[1].received, last);
	assert_int_equal(back->items[1].sent, 1);
	assert_int_equal(back->items[1].modified, 0);
	snap_free(s);
	snap_free(back);
}

/* fuzz_manifest: a header with an unknown column, then rows ended by CR on the same physical line.
 * The loader checked the header's verdict only at the end of each physical line, so the rows after
 * it were stored with unmapped columns: a write at index -1 of the row's offsets (heap memory
 * before the array). The manifest must be refused cleanly, naming the column. */
static void rows_after_a_refused_header_are_not_stored(void **state)
{
	const char text[] = "mailbox,cache,url,sync_windw\rx@example.com,a.ost,,12m\r"
	                    "y@example.com,b.ost,,12m\r\n";
	char path[] = "/tmp/ostrecon-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	batch_manifest *m = NULL;
	or_error err = {0};
	assert_int_equal(batch_manifest_load(path, &m, &err), OR_ERR_FORMAT);
	unlink(path);
	assert_null(m);
	assert_non_null(strstr(err.message, "unknown column 'sync_windw'"));
}

/* fuzz_snapshot: a snapshot with two integrity lines. The second allocated arrays for its own
 * lists but kept appending after the first line's count: a heap write past the end. The format
 * allows at most one integrity line; a second is now refused as malformed. */
static void a_second_integrity_line_is_refused(void **state)
{
	const char text[] =
		"{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1,\"source\":\"pst\"}\n"
		"{\"type\":\"integrity\",\"count_mismatches\":[{\"folder_id\":\"a\",\"stored\":2,\"found\":0}]}\n"
		"{\"type\":\"integrity\",\"count_mismatches\":[{\"folder_id\":\"a\",\"stored\":3,\"found\":0},"
		"{\"folder_id\":\"b\",\"stored\":1,\"found\":0}]}\n"
		"{\"type\":\"end\",\"folders\":0,\"items\":0,\"errors\":0}\n";
	char path[] = "/tmp/ostrecon-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	snap_t *s = NULL;
	or_error err = {0};
	assert_int_equal(snap_load(&s, path, &err), OR_ERR_FORMAT);
	unlink(path);
	assert_null(s);
	assert_non_null(strstr(err.message, ":3: malformed integrity line"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_beyond_year_9999_keeps_the_snapshot_loadable),
		cmocka_unit_test(rows_after_a_refused_header_are_not_stored),
		cmocka_unit_test(a_second_integrity_line_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
