/* internal.h: shared by the files of src/pst, not part of its public interface. */
#ifndef OSTRECON_PST_INTERNAL_H
#define OSTRECON_PST_INTERNAL_H

#include "pst.h"

typedef struct { uint32_t nid, parent; uint64_t bid_data, bid_sub; } pst_nbt_entry;

struct pst_ndb {
	FILE *fp;
	char *path, *tmp;
	bool noreplace;
	pst_format format;
	uint32_t page;          /* 512 or 4096 */
	uint32_t body;          /* bytes of a page before its trailer */
	uint32_t align;         /* block alignment: 64 or 512 */
	uint32_t trailer;       /* block trailer size: 16 or 24 */
	uint32_t bt_area;       /* bytes of entries in a B-tree page: 488 or 4056 */
	uint64_t amap_first, amap_cover; /* first AMap page and bytes one AMap covers */
	uint32_t amap_unit;     /* bytes per AMap bit */
	uint32_t data_block_max;
	uint64_t cursor;        /* next free byte; after finish, the file size */
	uint64_t pos;           /* where the stream stands (saves seeks) */
	uint64_t data_end;
	uint64_t next_bid, next_pbid;
	uint64_t region;        /* the map region space is taken from */
	uint8_t *amap;          /* its AMap bits */
	size_t amap_marked;
	uint64_t amap_free, last_amap;
	uint8_t fmap[496];      /* the FMap page being filled: one byte per region since its base */
	size_t fmap_n;
	uint8_t *blk;           /* scratch for one block */
	size_t blk_cap;
	/* B-tree entries: block ids grow as blocks are written, and message nodes get growing ids, so
	 * both go to a spill file (unlinked, beside the output) in key order as leaf entries; the few
	 * other nodes (folders, tables, internal nodes) wait in memory and are merged in at the end */
	FILE *spill_bbt, *spill_nbt;
	char *fp_buf, *spill_buf[2]; /* their stdio buffers: glibc sizes its own by the block size */
	uint64_t n_bbt, n_nbt_spilled;
	uint32_t last_spilled_nid;
	pst_nbt_entry *nbt;
	size_t n_nbt, cap_nbt;
	uint32_t nid_hwm[32];
	uint64_t nbt_root_ib, nbt_root_bid, bbt_root_ib, bbt_root_bid;
	uint64_t nbt_leaf_ib, bbt_leaf_ib;
	uint64_t last_bid, last_ib;
	uint16_t last_cb;
};

/* Several blocks written whole (heap pages) topped by one data tree. */
int pst_write_chunks(pst_ndb *f, const uint64_t *bids, const uint32_t *sizes, size_t n, uint64_t *bid,
                     or_error *err);

/* The page types of [MS-PST] 2.2.2.7.1 that ndb.c and btree.c write. */
#define PTYPE_BBT 0x80
#define PTYPE_NBT 0x81

/* Shared by ndb.c and btree.c: a page of type ptype written at ib with its trailer; space taken
 * from the end of the file; the error of a failed spill file; an NBTENTRY's 32 bytes; and the two
 * B-trees written from the spilled entries (pst_ndb_finish). */
int pst_write_page(pst_ndb *f, uint8_t *pg, uint8_t ptype, uint64_t ib, uint64_t bid, or_error *err);
int pst_alloc_space(pst_ndb *f, uint64_t len, uint32_t al, uint64_t *ib, or_error *err);
int pst_spill_fail(pst_ndb *f, or_error *err);
void pst_nbt_bytes(const pst_nbt_entry *n, uint8_t e[32]);
int pst_write_btrees(pst_ndb *f, or_error *err);

#endif
