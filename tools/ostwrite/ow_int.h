/* ostwrite internals: the NDB layer (blocks, B-trees, maps, header), the LTP layer (HN, BTH, PC, TC)
 * and the messaging layer share these declarations. Layout and field names follow [MS-PST]. */
#ifndef OW_INT_H
#define OW_INT_H

#include "ostwrite.h"

#include <stdint.h>
#include <stdio.h>

/* A growable byte buffer with a size cap, so a bug cannot eat all memory. */
struct ow_buf {
	uint8_t *p;
	size_t len, cap;
};

#define OW_BUF_MAX ((size_t)1 << 30)

int ow_buf_reserve(struct ow_buf *b, size_t extra);
int ow_buf_put(struct ow_buf *b, const void *p, size_t n);
int ow_buf_zero(struct ow_buf *b, size_t n);
int ow_buf_u8(struct ow_buf *b, uint8_t v);
int ow_buf_u16(struct ow_buf *b, uint16_t v);
int ow_buf_u32(struct ow_buf *b, uint32_t v);
int ow_buf_u64(struct ow_buf *b, uint64_t v);
void ow_buf_free(struct ow_buf *b);

void ow_put16(uint8_t *p, uint16_t v);
void ow_put32(uint8_t *p, uint32_t v);
void ow_put64(uint8_t *p, uint64_t v);
uint32_t ow_crc(const uint8_t *p, size_t n);

/* Largest data stored in one block. The 4 KiB format would allow more, but Outlook-sized blocks keep
 * every reader (and its row-per-block arithmetic) on known ground. */
#define OW_BLOCK_DATA_MAX 8176u
/* The 4 KiB format stores a block's inflated size in 16 bits: the most --data-block-size allows. */
#define OW_BLOCK_MAX 65535u
/* Largest HN allocation; bigger property values go to subnodes. */
#define OW_HN_ALLOC_MAX 3580u

#define NID_TYPE_HID 0x00
#define NID_TYPE_INTERNAL 0x01
#define NID_TYPE_NORMAL_FOLDER 0x02
#define NID_TYPE_NORMAL_MESSAGE 0x04
#define NID_TYPE_ASSOC_MESSAGE 0x08
#define NID_TYPE_HIERARCHY_TABLE 0x0D
#define NID_TYPE_CONTENTS_TABLE 0x0E
#define NID_TYPE_ASSOC_CONTENTS_TABLE 0x0F
#define NID_TYPE_LTP 0x1F
#define OW_NID(type, index) ((uint32_t)(index) << 5 | (type))

struct ow_bbt_entry {
	uint64_t bid, ib;
	uint16_t cb, cref;
};

struct ow_nbt_entry {
	uint32_t nid, parent;
	uint64_t bid_data, bid_sub;
};

/* A subnode (SLENTRY) collected while a node is built. */
struct ow_subnode {
	uint32_t nid;
	uint64_t bid_data, bid_sub;
};

struct ow_file {
	FILE *fp;
	enum ow_format format;
	uint32_t page;          /* 512 or 4096 */
	uint32_t align;         /* block alignment: 64 or 512 */
	uint32_t trailer;       /* block trailer size: 16 or 24 */
	uint32_t bt_area;       /* bytes of entries in a B-tree page: 488 or 4056 */
	uint64_t amap_first, amap_cover; /* first AMap page and bytes one AMap covers */
	uint32_t amap_unit;     /* bytes per AMap bit */
	uint32_t data_block_max; /* data per block of property values and bodies (ow_write_data) */
	uint64_t cursor;        /* next free byte; after ow_finish, the file size */
	uint64_t data_end;      /* after ow_finish: end of the last page or block written */
	uint64_t next_bid;      /* next block id (multiple of 4) */
	uint64_t next_pbid;     /* next page id */
	uint8_t *allocmap;      /* one bit per amap_unit, from offset 0 */
	size_t allocmap_bits;
	struct ow_bbt_entry *bbt;
	size_t n_bbt, cap_bbt;
	struct ow_nbt_entry *nbt;
	size_t n_nbt, cap_nbt;
	uint32_t nid_hwm[32];   /* high-water marks of NID indices per type */
	uint64_t nbt_root_ib, nbt_root_bid, bbt_root_ib, bbt_root_bid;
	uint64_t last_amap;
	/* pages written last, for the damage modes */
	uint64_t nbt_leaf_ib, bbt_leaf_ib;
	struct fx_error *err;
};

int ow_file_open(struct ow_file *f, const char *path, enum ow_format format, struct fx_error *err);
void ow_file_close(struct ow_file *f);
/* Writes one block holding data[0..len) (len <= OW_BLOCK_DATA_MAX); internal: XBLOCK/SLBLOCK etc. */
int ow_write_block(struct ow_file *f, const uint8_t *data, size_t len, int internal, uint16_t cref,
		   uint64_t *bid);
/* Writes data of any size: one block, or blocks under an XBLOCK/XXBLOCK. bid 0 for len 0. */
int ow_write_data(struct ow_file *f, const uint8_t *data, size_t len, uint64_t *bid);
/* Writes pre-cut chunks (each one block, e.g. heap pages), under an XBLOCK when more than one. */
int ow_write_chunks(struct ow_file *f, struct ow_buf *chunks, size_t n, uint64_t *bid);
/* Writes an SLBLOCK for the subnodes (sorted here); *bid 0 when there are none. */
int ow_write_subnodes(struct ow_file *f, struct ow_subnode *s, size_t n, uint64_t *bid);
int ow_add_node(struct ow_file *f, uint32_t nid, uint32_t parent, uint64_t bid_data, uint64_t bid_sub);
/* Writes the B-trees, the allocation maps and the header. */
int ow_finish(struct ow_file *f);

/* LTP: a heap-on-node being built. */
struct ow_hn {
	struct ow_file *f;
	struct ow_buf *blocks;  /* each a finished or open heap page */
	size_t n_blocks, cap_blocks;
	uint16_t *allocs;       /* allocation end offsets of the open block */
	size_t n_allocs, cap_allocs;
	uint8_t client_sig;
	struct ow_subnode *subs; /* subnodes made for big values */
	size_t n_subs, cap_subs;
	uint32_t next_sub_index;
};

struct ow_prop {
	uint16_t id, type;
	const void *data;       /* value bytes (little-endian for numbers) */
	uint32_t len;
	uint64_t num;           /* numbers: value here, data NULL */
};

#define PT_I2 0x0002
#define PT_LONG 0x0003
#define PT_BOOLEAN 0x000B
#define PT_I8 0x0014
#define PT_UNICODE 0x001F
#define PT_SYSTIME 0x0040
#define PT_BINARY 0x0102

int ow_hn_init(struct ow_hn *hn, struct ow_file *f, uint8_t client_sig);
void ow_hn_free(struct ow_hn *hn);
int ow_hn_alloc(struct ow_hn *hn, const void *data, size_t len, uint32_t *hid);
/* A value stored in the heap, or in a subnode when too big; *hnid is what a PC/TC stores. */
int ow_hn_value(struct ow_hn *hn, const void *data, size_t len, uint32_t *hnid);
/* Finishes the heap and writes the node (data and subnodes). */
int ow_hn_write_node(struct ow_hn *hn, uint32_t user_root, uint32_t nid, uint32_t parent);
int ow_bth_build(struct ow_hn *hn, const uint8_t *recs, size_t n, uint8_t cb_key, uint8_t cb_ent,
		 uint32_t *hid);

/* Writes a property context node (props need not be sorted). */
int ow_write_pc(struct ow_file *f, uint32_t nid, uint32_t parent, struct ow_prop *props, size_t n);

struct ow_tc_col {
	uint16_t id, type;
};
/* Writes a table context: cols (without the row id/version columns, added here), rows of values:
 * cell[r * n_cols + c], with row_ids[r]. */
int ow_write_tc(struct ow_file *f, uint32_t nid, uint32_t parent, const struct ow_tc_col *cols,
		size_t n_cols, const uint32_t *row_ids, const uint64_t *cells, size_t n_rows);

/* Converts UTF-8 to UTF-16LE into b (appends). */
int ow_utf16(struct ow_buf *b, const char *s);

/* The whole mailbox, laid out in a file. */
struct ow_damage_info {
	const char *what;
	uint64_t offset, length, bid;
	uint32_t nid;
	int64_t item, folder;   /* fixture indices, -1 none */
	int unlist;             /* leave the target message out of its folder's contents table */
};

int ow_write_mailbox(struct ow_file *f, const struct fixture *fx, struct ow_damage_info *dmg_target);
int ow_apply_damage(const char *path, struct ow_file *f, enum ow_damage mode,
		    struct ow_damage_info *target, struct fx_error *err, const char *report);

#endif
