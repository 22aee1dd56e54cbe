/* fuzz_ews_parse: the streaming SAX parser of EWS responses (ews_parser_new/feed/finish). The input is
 * fed in chunks whose sizes come from the input's first byte, as a network response arrives. */
#include "ews/internal.h"

#include <libxml/parser.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		init = 1;
		log_set_level(LOG_QUIET);
		xmlInitParser();
	}
	size_t chunk = 1 << 16;
	if (size > 0) {
		/* 1 in 4 inputs is split into small chunks (1..64 bytes) to test element and text
		 * boundaries that fall across reads. */
		if ((data[0] & 3) == 0)
			chunk = 1 + (data[0] >> 2);
	}
	ews_page page;
	or_error err = {0};
	if (ews_page_init(&page, &err) != 0)
		return 0;
	ews_parser *p = NULL;
	if (ews_parser_new(&p, &page, &err) == 0) {
		int rc = 0;
		for (size_t off = 0; off < size && rc == 0; off += chunk) {
			size_t n = size - off < chunk ? size - off : chunk;
			rc = ews_parser_feed(p, (const char *)data + off, n, &err);
		}
		if (rc == 0)
			rc = ews_parser_finish(p, &err);
		if (rc == 0) {
			/* Touch what a caller reads, so that a bad pointer shows here. */
			size_t total = 0;
			for (size_t i = 0; i < page.scratch->n_items; i++) {
				const snap_item *it = &page.scratch->items[i];
				total += it->id ? strlen(it->id) : 0;
				total += it->subject ? strlen(it->subject) : 0;
				if (page.item_msg[i] >= (int)page.n_status)
					abort();
			}
			for (size_t i = 0; i < page.scratch->n_folders; i++) {
				const snap_folder *f = &page.scratch->folders[i];
				total += f->name ? strlen(f->name) : 0;
				if (page.folder_msg[i] >= (int)page.n_status)
					abort();
			}
			for (size_t i = 0; i < page.n_status; i++)
				total += strlen(page.status[i].code);
			if (page.sync_state)
				total += strlen(page.sync_state);
			(void)total;
		}
		ews_parser_free(p);
	}
	ews_page_free(&page);
	return 0;
}
