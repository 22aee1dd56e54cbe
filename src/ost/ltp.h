/*
 * ltp.h: internal to src/ost. The lists, tables and properties layer ([MS-PST] 2.3) on top of
 * ndb.h: a node's heap (HN), B-trees on the heap (BTH), property contexts (PC) and the row ids of
 * table contexts (TC). Every HID, offset and count is held against the heap's bounds.
 */
#ifndef OSTRECON_OST_LTP_H
#define OSTRECON_OST_LTP_H

#include "ndb.h"
#include "store.h"

/* A node's heap. Open one per node; the buffers are kept and reused by the next ltp_open. */
typedef struct {
	ndb_file *nf;
	uint32_t nid;
	uint64_t bid_sub;
	ndb_data data;
	uint8_t client_sig;  /* 0xBC property context, 0x7C table context, ... */
	uint32_t user_root;
	ndb_data value;      /* scratch for values stored in subnodes */
	void *ansi;          /* iconv descriptor for ANSI strings, opened at the first one */
} ltp_heap;

/* Reads the node's data as a heap. OR_ERR_FORMAT (with the reason) when it is not one. */
int ltp_open(ltp_heap *h, ndb_file *nf, uint32_t nid, uint64_t bid_data, uint64_t bid_sub, or_error *err);
void ltp_free(ltp_heap *h);

/* The allocation `hid` names: *p and *len point into the heap. */
int ltp_hid(const ltp_heap *h, uint32_t hid, const uint8_t **p, size_t *len, or_error *err);

/* Properties of a property context (client signature 0xBC), restricted to `ids`. */
int ltp_pc_read(ltp_heap *h, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err);

/* Every record of the BTH whose header is at `hid`, leaf records in key order: key bytes then data
 * bytes. *rec is malloc'd (n * (cb_key + cb_ent) bytes), the caller frees it. */
int ltp_bth_records(const ltp_heap *h, uint32_t hid, uint8_t **rec, size_t *n, uint8_t *cb_key, uint8_t *cb_ent,
                    or_error *err);

/* The row ids of a table context (client signature 0x7C) in row order. *rows is malloc'd. */
int ltp_tc_rows(ltp_heap *h, uint32_t **rows, size_t *n, or_error *err);

/* The bytes an HNID names: a heap allocation (pointing into the heap), or a subnode's whole data
 * (into h->value, valid until the next call); hnid 0 is an empty value. */
int ltp_hnid_value(ltp_heap *h, uint32_t hnid, const uint8_t **p, size_t *len, or_error *err);

/* A whole table context: its columns and its row matrix. */
typedef struct { uint32_t tag; uint16_t ib; uint8_t cb, ibit; } ltp_col;
typedef struct {
	ltp_col *cols;
	size_t n_cols, row_size, ceb, n_rows;
	ndb_data rows;
} ltp_table;
int ltp_tc_open(ltp_heap *h, ltp_table *t, or_error *err);
/* Row r's bytes (row_size of them), or NULL when the matrix is shorter. */
const uint8_t *ltp_tc_row_at(const ltp_table *t, size_t r);
void ltp_tc_free(ltp_table *t);

#endif
