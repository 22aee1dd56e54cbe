/* fuzz_snapshot: the snapshot reader (snap_load) on mutated JSON Lines, and the writer on what it
 * accepts: a snapshot that loads is saved and must load again with the same counts. */
#include "core/core.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out_path[256], out_dir[64];

static void remove_dir(void)
{
	unlink(out_path);
	rmdir(out_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		init = 1;
		log_set_level(LOG_QUIET);
		char dir[] = "/tmp/ostrecon-fuzz-snap-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
	str_copy(out_dir, dir, sizeof out_dir);
	atexit(remove_dir);
	}
	char path[64];
	if (fuzz_memfile(data, size, path, sizeof path) < 0)
		return 0;
	snap_t *s = NULL;
	or_error err = {0};
	if (snap_load(&s, path, &err) != 0)
		return 0;
	if (snap_save(s, out_path, &err) == 0) {
		snap_t *again = NULL;
		if (snap_load(&again, out_path, &err) != 0) {
			fprintf(stderr, "a loaded snapshot, saved, does not load again: %s\n", err.message);
			abort();
		}
		if (again->n_folders != s->n_folders || again->n_items != s->n_items || again->n_errors != s->n_errors) {
			fprintf(stderr, "round trip changed the counts\n");
			abort();
		}
		snap_free(again);
		unlink(out_path);
	}
	snap_free(s);
	return 0;
}
