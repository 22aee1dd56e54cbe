/*
 * ndb.h: internal to src/ost. The node database layer of a PST/OST file ([MS-PST] 2.2), read
 * without libpff: the header, the node and block B-trees (loaded whole into sorted arrays), and
 * blocks decoded (permutative or cyclic encoding, zlib in the 4 KiB format) and assembled into a
 * node's data or looked up among its subnodes. Shared by the checksum scan (ndb_check.c) and the
 * native listing (native.c, ltp.c).
 *
 * Nothing read from the file is trusted: offsets and sizes are held against the file size, tree
 * depth is bounded, a page reached twice is a loop, and the walk stops after a number of pages
 * proportional to the file size.
 */
#ifndef OSTRECON_OST_NDB_H
#define OSTRECON_OST_NDB_H

#include "internal.h"

typedef enum { FMT_ANSI, FMT_UNICODE, FMT_4K } ndb_kind;

typedef struct {
	ndb_kind kind;
	const char *name;
	size_t page;       /* page size */
	size_t trailer;    /* offset of the page trailer; the page CRC covers the bytes before it */
	size_t meta;       /* offset of a B-tree page's cEnt/cEntMax/cbEnt/cLevel */
	size_t id;         /* size of a BID, IB or NID field in entries: 4 or 8 */
	size_t blk_trailer;/* block trailer size */
	size_t blk_align;  /* blocks take a multiple of this */
	size_t blk_max;    /* largest block on disk, trailer included */
} ndb_format;

/* A block B-tree entry in 16 bytes: an offset takes 48 bits (256 TiB). A larger one, which no file
 * reaches, is damage: it is kept as NDB_FAR_IB, which fails every check against the file size as
 * the offset itself would, and its value is kept apart for the messages (ndb_block_offset). */
typedef struct {
	uint64_t bid;
	uint64_t ib : 48;
	uint64_t cb : 16;
} ndb_bbt_ent;
#define NDB_FAR_IB ((1ull << 48) - 1)
_Static_assert(sizeof(ndb_bbt_ent) == 16, "a block entry takes 16 bytes");
typedef struct { uint64_t bid, ib; } ndb_far_ib;
typedef struct { uint32_t nid, parent; uint64_t data, sub; } ndb_nbt_ent;

enum { NDB_CRYPT_NONE = 0, NDB_CRYPT_PERMUTE = 1, NDB_CRYPT_CYCLIC = 2 };

/* Fence keys over one of the sorted B-tree arrays (ndb.c, "lookups"): key[j] is the key of entry
 * 16 * j; NULL when they could not be allocated (the whole array is searched). */
typedef struct {
	uint64_t *key;
	size_t n;
} ndb_fence;

struct ndb_file {
	const ndb_format *f;
	int fd;
	uint64_t size;        /* the file's real size */
	uint64_t eof;         /* the size its header states */
	uint8_t crypt;        /* bCryptMethod */
	bool is_ost;          /* wMagicClient "SO" */
	uint64_t budget;      /* pages and blocks still allowed */
	uint64_t walk_budget; /* what the B-tree walk left of it (the block scan starts from there) */
	ndb_report *rep;      /* page problems go here */
	uint8_t *page;        /* scratch pages, one per level */
	uint64_t *seen;       /* open-addressed set of page offsets */
	size_t seen_cap, seen_n;
	ndb_bbt_ent *bbt;     /* sorted by bid (bit 0 cleared) after ndb_open */
	size_t n_bbt, cap_bbt;
	ndb_nbt_ent *nbt;     /* sorted by nid after ndb_open */
	size_t n_nbt, cap_nbt;
	bool unsorted;        /* the trees were not in key order (damage): sorted here */
	ndb_fence bbt_fence;  /* bids with bit 0 cleared; nbt_fence: nids (ndb_fences_build) */
	ndb_fence nbt_fence;
	ndb_far_ib *far;      /* the offsets of entries kept as NDB_FAR_IB, in the order walked */
	size_t n_far, cap_far;
	uint8_t *verified;    /* one bit per bbt entry: set once its trailer and CRC were found good
	                       * (ndb_verified) */
	struct ndb_lazy *lazy; /* ndb_open_lazy: the B-trees searched on disk (bbt/nbt stay empty) */
	void *zs;             /* a libdeflate decompressor kept from block to block (4 KiB format) */
	uint8_t *raw;         /* scratch for one block as stored */
	uint64_t bytes_read;  /* bytes read from the file, and the reads that took them (ndb.c) */
	uint64_t n_reads;
	or_error *err;
	bool check_crc;       /* data blocks read are held against their CRC (message.c) */
	uint64_t bad_crc;     /* how many read did not match it: their bytes are used as stored */
	char bad_crc_last[160]; /* the last one, described */
};

/* A second reader of an open file, for another thread: it shares the file's descriptor, arrays and
 * `verified` marks (read-only but for those marks, set atomically) and has its own block buffer,
 * decompressor and counters. Only the reads (ndb_read_data, ndb_find_subnode and the lookups) may
 * be used on it, while `nf` stays open. ndb_reader_done adds its counters to `nf` and frees what
 * it owns. */
void ndb_reader_init(ndb_file *reader, const ndb_file *nf);
void ndb_reader_done(ndb_file *reader, ndb_file *nf);

/* Whether bbt entry i was read and found good (the bit set atomically: two readers may set bits of
 * the same byte). */
static inline bool ndb_verified(const ndb_file *nf, size_t i)
{
	return nf->verified && (__atomic_load_n(&nf->verified[i >> 3], __ATOMIC_RELAXED) >> (i & 7) & 1);
}

/* A block's offset as its B-tree entry gives it (NDB_FAR_IB resolved), for messages. */
uint64_t ndb_block_offset(const ndb_file *nf, const ndb_bbt_ent *b);

/* Little-endian readers. */
static inline uint16_t ndb_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t ndb_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ndb_le64(const uint8_t *p) { return ndb_le32(p) | (uint64_t)ndb_le32(p + 4) << 32; }

/* Opens `path` read-only, reads the header and walks both B-trees, checking every page (problems
 * go to `rep`, which must be zeroed by the caller). Returns 0; 1 when the file is not one this
 * layer reads (rep->skipped says why); a negative or_code on I/O error or out of memory. */
int ndb_open(ndb_file *nf, const char *path, ndb_report *rep, or_error *err);
void ndb_close(ndb_file *nf);
/* Opens `path` read-only and reads the header only: the B-trees are searched on disk at each
 * lookup (pages checked as they are read, a few kept), so memory does not grow with the file.
 * For readers that open nodes by id (message.c) rather than walk every one. Same returns as
 * ndb_open; a B-tree root that cannot be read leaves every lookup unanswered. */
int ndb_open_lazy(ndb_file *nf, const char *path, ndb_report *rep, or_error *err);

/* Records a page, block or header problem in `r`. */
void ndb_add_problem(ndb_report *r, uint8_t what, const char *code, uint64_t offset, uint64_t bid,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Reads exactly n bytes at off (held against the file size here); errors go to err. */
int ndb_read_at(ndb_file *nf, uint8_t *buf, size_t n, uint64_t off, or_error *err);
/* Takes one page or block from the budget; false (and rep->limit_hit) when spent. */
bool ndb_take_budget(ndb_file *nf);
/* [MS-PST] 5.5: the signature of a page or block from its offset and id. */
uint16_t ndb_sig(uint64_t ib, uint64_t bid);

/* The entry of node `nid` or block `bid`, or NULL: a binary search of the fence keys, then of the
 * entries between two fences; where damage lists an id twice, the first entry in the array. With
 * ndb_open_lazy the entry is a copy held by the file, valid until the next lookup of the same kind. */
const ndb_nbt_ent *ndb_find_node(const ndb_file *nf, uint32_t nid);
const ndb_bbt_ent *ndb_find_block(const ndb_file *nf, uint64_t bid);
/* Builds (or rebuilds, after the arrays changed) the fence keys of both arrays; without memory for
 * them the lookups search the whole arrays. Called by ndb_open. */
void ndb_fences_build(ndb_file *nf);
void ndb_fences_free(ndb_file *nf);

/* A node's data (or a subnode's): its data blocks decoded and laid end to end in `buf`; block i
 * starts at off[i] and ends where the next one starts (or at len). */
typedef struct {
	uint8_t *buf;
	size_t len, cap;
	size_t *off;
	size_t n, cap_off;
} ndb_data;

static inline size_t ndb_data_block_len(const ndb_data *d, size_t i)
{
	return (i + 1 < d->n ? d->off[i + 1] : d->len) - d->off[i];
}

/* Reads the data tree under `bid` (a data block, or an XBLOCK/XXBLOCK over them) into `out`
 * (emptied first; its buffers are reused). Errors name the block. */
int ndb_read_data(ndb_file *nf, uint64_t bid, ndb_data *out, or_error *err);
void ndb_data_free(ndb_data *d);
/* The same, one block at a time: fn receives each data block's decoded bytes in order (valid
 * during the call); `scratch` holds one block. For values of any size (attachments). */
int ndb_read_data_each(ndb_file *nf, uint64_t bid, ndb_data *scratch,
                       int (*fn)(void *ctx, const uint8_t *p, size_t n, or_error *err), void *ctx, or_error *err);

/* Finds subnode `nid` in the subnode tree under `bid_sub`: its data and subnode block ids. */
int ndb_find_subnode(ndb_file *nf, uint64_t bid_sub, uint32_t nid, uint64_t *bid_data, uint64_t *sub,
                     or_error *err);

#endif
