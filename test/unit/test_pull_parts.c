/* A large folder read in parallel parts (src/pull/parts.c), without a server: a protocol whose
 * parts make their items, the first part slowest, so that the later ones are held (as lines that
 * spill to a file, or as places in a snapshot kept in memory) until it is read. The snapshot
 * written to a file holds the folder's items in part order, each once, and the snapshot kept in
 * memory holds each folder's items in the same order as the file read back (snap_load). */
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
#include "pull/pull.h"

#define BIG 2400   /* items of the split folder */
#define SMALL 7    /* items of the other folder */
#define PAGE 100

typedef struct {
	int parts;
} fake_plan;

static void *fake_worker_new(void *ctx, or_error *err)
{
	(void)ctx, (void)err;
	return malloc(1);
}

static void fake_worker_free(void *ws) { free(ws); }

static int fake_hierarchy(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err)
{
	(void)ctx, (void)c, (void)ws, (void)err;
	const char *ids[] = {"root", "big", "small"};
	const char *parents[] = {NULL, "root", "root"};
	const int64_t counts[] = {0, BIG, SMALL};
	for (int i = 0; i < 3; i++) {
		snap_folder f;
		snap_folder_init(&f);
		f.id = ids[i];
		f.parent_id = parents[i];
		f.name = ids[i];
		f.content_count = counts[i];
		snap_folder *k = pull_add_folder(run, &f);
		assert_non_null(k);
		if (i == 0)
			k->role = "root";
	}
	return 0;
}

/* Items first..end-1 of the folder, a page at a time, `pause` ms before each page. */
static void make_items(pull_run *run, const snap_folder *f, int part, int first, int end, int pause)
{
	static char ids[BIG + SMALL][32];
	snap_item page[PAGE];
	for (int at = first; at < end; at += PAGE) {
		if (pause)
			usleep((useconds_t)pause * 1000);
		int n = end - at < PAGE ? end - at : PAGE;
		for (int i = 0; i < n; i++) {
			snap_item_init(&page[i]);
			int id = at + i + (strcmp(f->id, "small") == 0 ? BIG : 0);
			snprintf(ids[id], sizeof ids[id], "%s-%05d", f->id, at + i);
			page[i].id = ids[id];
			page[i].cls = "IPM.Note";
			page[i].subject = "a subject long enough that a few pages fill the spill budget";
		}
		if (part < 0)
			pull_add_items(run, f, page, (size_t)n, false);
		else
			pull_add_part_items(run, f, part, page, (size_t)n);
	}
}

static void fake_folder(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	(void)ctx, (void)c, (void)ws;
	make_items(run, f, -1, 0, (int)f->content_count, 0);
}

static int fake_split(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, int parts, void **plan)
{
	(void)ctx, (void)run, (void)c, (void)ws, (void)f;
	fake_plan *p = malloc(sizeof *p);
	assert_non_null(p);
	p->parts = parts > 6 ? 6 : parts;
	*plan = p;
	return p->parts;
}

static void fake_part(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan, int k)
{
	(void)ctx, (void)c, (void)ws;
	const fake_plan *p = plan;
	int first = BIG * k / p->parts, end = BIG * (k + 1) / p->parts;
	/* part 0 slowest, then 1...: the later parts are read first and held; part 2 meets an item
	 * of part 1 again (ranges that overlap), which is written once */
	make_items(run, f, k, k == 2 ? first - 3 : first, end, k < 2 ? 15 : 0);
}

static void fake_merge(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan)
{
	(void)ctx, (void)run, (void)c, (void)ws, (void)f;
	free(plan);
}

static const pull_protocol fake = {
	.source = SRC_GRAPH,
	.worker_new = fake_worker_new,
	.worker_free = fake_worker_free,
	.hierarchy = fake_hierarchy,
	.folder = fake_folder,
	.split = fake_split,
	.part = fake_part,
	.merge = fake_merge,
};

static void options(pull_options *o)
{
	pull_options_init(o);
	o->url = "http://127.0.0.1:9/never-asked";
	o->mailbox = "parts@example.com";
	o->auth = PULL_AUTH_NONE;
	o->concurrency = 3;
	o->split_threshold = 100;
	o->split_any = true;
	o->progress = false;
}

/* The big folder's items in the snapshot: in part order, each once. */
static void check_order(const snap_t *s)
{
	int next = 0, small = 0;
	for (size_t i = 0; i < s->n_items; i++) {
		const snap_item *it = &s->items[i];
		if (strcmp(it->folder_id, "small") == 0) {
			small++;
			continue;
		}
		assert_string_equal(it->folder_id, "big");
		char want[32];
		snprintf(want, sizeof want, "big-%05d", next++);
		assert_string_equal(it->id, want);
	}
	assert_int_equal(next, BIG);
	assert_int_equal(small, SMALL);
}

static void file_and_memory_agree(void **state)
{
	(void)state;
	char dir[] = "/tmp/ostrecon-parts-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/snap.jsonl", dir);
	setenv("OSTRECON_TEST_SPILL_BYTES", "4000", 1); /* the held parts spill after a few pages */
	pull_options o;
	options(&o);
	pull_summary sum;
	or_error err = {0};
	assert_int_equal(pull_run_capture(&o, &fake, NULL, path, NULL, &sum, &err), 0);
	assert_int_equal(sum.items, BIG + SMALL);
	snap_t *file = NULL, *mem = NULL;
	assert_int_equal(snap_load(&file, path, &err), 0);
	check_order(file);
	assert_int_equal(pull_run_capture(&o, &fake, NULL, NULL, &mem, &sum, &err), 0);
	assert_int_equal(mem->n_items, file->n_items);
	/* folder by folder (the two pulls may interleave the folders differently) */
	for (int k = 0; k < 2; k++) {
		const char *fid = k ? "small" : "big";
		size_t i = 0, j = 0;
		for (;;) {
			while (i < mem->n_items && strcmp(mem->items[i].folder_id, fid) != 0)
				i++;
			while (j < file->n_items && strcmp(file->items[j].folder_id, fid) != 0)
				j++;
			if (i == mem->n_items || j == file->n_items)
				break;
			assert_string_equal(mem->items[i].id, file->items[j].id);
			assert_string_equal(mem->items[i].subject, file->items[j].subject);
			i++, j++;
		}
		assert_true(i == mem->n_items && j == file->n_items);
	}
	check_order(mem);
	snap_free(file);
	snap_free(mem);
	unlink(path);
	rmdir(dir);
	unsetenv("OSTRECON_TEST_SPILL_BYTES");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_and_memory_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
