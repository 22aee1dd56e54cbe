/* fuzz_ost: the cache reader (ost_capture, native or libpff) on mutated .ost/.pst files. The snapshot
 * is written into a private temporary directory and removed after each input. */
#include "core/core.h"
#include "ost/ost.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char out_path[256], out_dir[64];

static void remove_dir(void)
{
	unlink(out_path);
	rmdir(out_dir);
}

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	log_set_level(LOG_QUIET);
	char dir[] = "/tmp/ostrecon-fuzz-ost-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	snprintf(out_path, sizeof out_path, "%s/out.jsonl", dir);
	str_copy(out_dir, dir, sizeof out_dir);
	atexit(remove_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in_path[64];
	setup();
	if (fuzz_memfile(data, size, in_path, sizeof in_path) < 0)
		return 0;
	/* libpff's recovery scan reads the whole file: run it for half of the inputs, chosen by content
	 * so that a crash reproduces. */
	ost_options opt = {.recover = size > 0 && (data[size - 1] & 1), .mailbox = "fuzz@example.com"};
	/* Three inputs in four go to the native reader, the rest to libpff (also chosen by content). */
	opt.reader = size > 0 && (data[size - 1] & 6) == 6 ? OST_READER_LIBPFF : OST_READER_NATIVE;
	ost_summary sum;
	or_error err = {0};
	if (ost_capture(in_path, &opt, out_path, &sum, &err) == 0) {
		/* What was written must load back: the writer and the reader agree. */
		snap_t *s = NULL;
		or_error e2 = {0};
		if (snap_load(&s, out_path, &e2) != 0) {
			fprintf(stderr, "snapshot written by ost_capture does not load: %s\n", e2.message);
			abort();
		}
		snap_free(s);
		unlink(out_path);
	}
	return 0;
}
