/* fuzz_manifest: the batch manifest reader (batch_manifest_load: CSV with a header, rows with
 * problems kept, credentials refused) on mutated manifests. */
#include "batch/batch.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		init = 1;
		log_set_level(LOG_QUIET);
	}
	char path[64];
	if (fuzz_memfile(data, size, path, sizeof path) < 0)
		return 0;
	batch_manifest *m = NULL;
	or_error err = {0};
	if (batch_manifest_load(path, &m, &err) == 0) {
		size_t total = 0;
		for (size_t i = 0; i < m->n_rows; i++) {
			const batch_row *r = &m->rows[i];
			const char *fields[] = {r->mailbox, r->cache, r->url, r->sync_window, r->label, r->problem};
			for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++)
				total += fields[j] ? strlen(fields[j]) : 0;
			if (!r->problem && (!r->mailbox || !r->cache))
				abort(); /* a row that can run has its two required fields */
		}
		(void)total;
		batch_manifest_free(m);
	}
	return 0;
}
