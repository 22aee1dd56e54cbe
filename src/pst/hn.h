/* hn.h: internal to src/pst: the heap-on-node builder and B-trees on heaps, shared by the property
 * contexts (hn.c), the tables (tc.c) and the messaging layer. */
#ifndef OSTRECON_PST_HN_H
#define OSTRECON_PST_HN_H

#include "internal.h"

struct pst_hn {
	pst_ndb *f;
	uint8_t client_sig;
	bool stream;            /* pages but the first are written when full */
	or_buf *pages;          /* page i's bytes (NULL data once written) */
	uint64_t *page_bid;
	uint32_t *page_len;
	size_t n_pages, cap_pages;
	uint16_t *allocs;       /* allocation end offsets in the open page */
	size_t n_allocs, cap_allocs;
	pst_subnode *subs;      /* the node's subnodes */
	size_t n_subs, cap_subs;
	uint32_t next_sub_index;
};

/* A BTH header allocated before its records (readers expect a table's first allocation to be
 * its row index header); completed by pst_bth_levels. */
typedef struct {
	uint32_t hid;
	size_t page, off;
	uint8_t cb_key, cb_ent;
} pst_bth;

int pst_bth_begin(pst_hn *hn, uint8_t cb_key, uint8_t cb_ent, pst_bth *h, or_error *err);
/* `leaves`: n (key, hid) pairs naming the leaf allocations, in key order. Builds the index levels
 * above them and completes the header (root 0 when n is 0). */
int pst_bth_levels(pst_hn *hn, const pst_bth *h, const uint8_t *leaves, size_t n, or_error *err);
/* Bytes at `off` of heap page `page` while it is in memory; NULL once written. */
uint8_t *pst_hn_at(pst_hn *hn, size_t page, size_t off);

#endif
