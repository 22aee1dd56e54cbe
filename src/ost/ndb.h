/*
 * ndb.h: internal to src/ost. The node database layer of a PST/OST file ([MS-PST] 2.2), read
 * without libpff: the header, the node and block B-trees (walked whole into packed tables, in
 * bounded memory: ndb_table), and blocks decoded (permutative or cyclic encoding, zlib in the 4 KiB
 * format) and assembled into a node's data or looked up among its subnodes. Shared by the checksum scan (ndb_check.c) and the
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

/* A block B-tree entry and a node B-tree entry, as the lookups hand them out (held packed in
 * memory: ndb_table). */
typedef struct {
	uint64_t bid, ib;
	uint16_t cb;
} ndb_bbt_ent;
typedef struct { uint32_t nid, parent; uint64_t data, sub; } ndb_nbt_ent;

/* One B-tree as a packed table (ndb_table.c): its entries in key order (block ids compared without
 * bit 0), packed in groups of NDB_GROUP, each entry after the first of its group written as its
 * difference to the one before; the groups laid out in pages of NDB_TPAGE bytes, each page
 * starting with the number of its groups and where each starts. Only the first key of each page
 * and its first group are held apart. The pages stay in memory up to a number shared by the tables
 * of a file (`mem_left`); the others are written to an unlinked temporary file and read back one
 * page at a time when a lookup or a cursor needs them. An entry is known by its place in key order.
 * Fields, as uint64_t v[4]: a block's bid, ib, cb; a node's nid, data, sub, parent. */
#ifndef NDB_GROUP
#define NDB_GROUP 32
#endif
#define NDB_TPAGE 4096
#define NDB_BATCH 32 /* blocks, or a table's pages, read at once (ndb_batch.c) */
typedef enum { NDB_TABLE_BLOCKS, NDB_TABLE_NODES } ndb_table_kind;
struct ndb_build;
struct ndb_spill;
typedef struct {
	ndb_table_kind kind;
	uint64_t trailer, align; /* blocks: the format's block trailer and alignment (a power of 2) */
	unsigned shift;          /* log2(align) */
	size_t n;                /* entries */
	uint64_t *pkey;          /* the first key of each page (bit 0 of a bid cleared) */
	size_t *pgroup;          /* the first group of each page; pgroup[n_pages]: the number of groups */
	uint8_t **pmem;          /* each page in memory, or NULL: in the spill file at page * NDB_TPAGE */
	size_t n_pages, cap_pages;
	size_t mem_pages;        /* pages in memory */
	size_t *mem_left;        /* pages the file's tables may still keep in memory; NULL: any number */
	struct ndb_spill *spill; /* the temporary file (shared by copies of the table: ndb_reader_init) */
	struct ndb_build *build; /* the group and page being added */
	uint64_t id;             /* unique to the table: which table a thread's page buffer holds */
	uint64_t last[4];        /* the entry added last */
	bool unsorted;           /* added out of key order (damage): sorted by ndb_table_finish */
} ndb_table;

/* f gives a block table its trailer and alignment (NULL for a node table). */
void ndb_table_init(ndb_table *t, ndb_table_kind kind, const ndb_format *f);
void ndb_table_free(ndb_table *t);
/* Appends an entry (0 or OR_ERR_NOMEM); in key order, or ndb_table_finish sorts them. */
int ndb_table_add(ndb_table *t, const uint64_t v[4]);
/* After the last ndb_table_add: sorts a table added out of order (equal keys in the order added),
 * and lays out its last page. 0 or OR_ERR_NOMEM. */
int ndb_table_finish(ndb_table *t);
/* The first entry whose key is `key` (v, and its place in *index unless NULL); false: none (or a
 * page of the spill file could not be read: logged). Safe on several threads at once. */
bool ndb_table_find(const ndb_table *t, uint64_t key, uint64_t v[4], size_t *index);
/* Entry i (false past the end): decodes from the start of its group. */
bool ndb_table_at(const ndb_table *t, size_t i, uint64_t v[4]);
/* Bytes the table holds in memory, pages in the spill file, and pages read back from it so far. */
size_t ndb_table_bytes(const ndb_table *t);
size_t ndb_table_spilled(const ndb_table *t);
uint64_t ndb_table_spill_reads(const ndb_table *t);
/* The system calls that read them: one a page, or one a batch of pages (ndb_batch_pages); and the
 * pages read in such batches. */
uint64_t ndb_table_spill_calls(const ndb_table *t);
uint64_t ndb_table_spill_batched(const ndb_table *t);
/* Reads back from the spill file that failed so far: each made a lookup answer "not found", so a
 * listing that saw any is incomplete and must say so (reader.c fails it). */
uint64_t ndb_table_spill_lost(const ndb_table *t);

/* Entries in order from place i: ndb_cursor_next hands out entry i, i + 1, ... (false at the end).
 * A cursor holds a page of its own when the pages it reads are in the spill file; it may be copied. */
typedef struct {
	const ndb_table *t;
	size_t i;
	size_t g, page, gi;    /* the group of entry i, its page and its place in the page */
	size_t off;            /* where entry i starts in the page */
	uint64_t v[4];
	size_t buf_page;       /* the page in buf (SIZE_MAX: none) */
	uint8_t buf[NDB_TPAGE];
} ndb_cursor;
void ndb_cursor_init(ndb_cursor *c, const ndb_table *t, size_t i);
bool ndb_cursor_next(ndb_cursor *c, uint64_t v[4]);

static inline ndb_bbt_ent ndb_bbt_of(const uint64_t v[4])
{
	return (ndb_bbt_ent){v[0], v[1], (uint16_t)v[2]};
}
static inline ndb_nbt_ent ndb_nbt_of(const uint64_t v[4])
{
	return (ndb_nbt_ent){(uint32_t)v[0], (uint32_t)v[3], v[1], v[2]};
}

enum { NDB_CRYPT_NONE = 0, NDB_CRYPT_PERMUTE = 1, NDB_CRYPT_CYCLIC = 2 };

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
	ndb_table bbt;        /* the block B-tree, by bid (bit 0 cleared), after ndb_open */
	ndb_table nbt;        /* the node B-tree, by nid */
	size_t table_pages;   /* pages the two tables may still keep in memory (ndb_open: NDB_TABLE_MEMORY) */
	uint8_t *verified;    /* one bit per bbt entry: set once its trailer and CRC were found good
	                       * (ndb_verified) */
	struct ndb_lazy *lazy; /* ndb_open_lazy: the B-trees searched on disk (bbt/nbt stay empty) */
	void *zs;             /* a libdeflate decompressor kept from block to block (4 KiB format) */
	uint8_t *raw;         /* scratch for one block as stored */
	uint64_t bytes_read;  /* bytes read from the file, and the reads that took them (ndb.c) */
	uint64_t n_reads;
	uint64_t n_calls;     /* the system calls that made them: a pread each, or a batch (ndb_batch.c) */
	struct ndb_batch *batch; /* blocks read ahead through io_uring (ndb_batch_read), or NULL */
	struct ndb_prefetch *prefetch; /* the file read in order on a thread (ndb_prefetch_start), or NULL */
	or_error *err;
	bool check_crc;       /* data blocks read are held against their CRC (message.c) */
	int scan_threads;     /* threads the checksum scan may use (ndb_check.c; 0 or 1: one) */
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
/* ndb_open for a listing: once the header is read, the file is read in order on a thread while the
 * walk and the listing go on (ndb_prefetch_start). */
int ndb_open_prefetched(ndb_file *nf, const char *path, ndb_report *rep, or_error *err);
void ndb_close(ndb_file *nf);
/* Opens `path` read-only and reads the header only: the B-trees are searched on disk at each
 * lookup (pages checked as they are read, a few kept), so memory does not grow with the file.
 * For readers that open nodes by id (message.c) rather than walk every one. Same returns as
 * ndb_open; a B-tree root that cannot be read leaves every lookup unanswered. */
int ndb_open_lazy(ndb_file *nf, const char *path, ndb_report *rep, or_error *err);

/* The report's next problem, to be filled in; NULL (counted as unlisted) past NDB_MAX_LISTED or
 * out of memory. */
ndb_problem *ndb_problem_slot(ndb_report *r);
/* Records a page, block or header problem in `r`. */
void ndb_add_problem(ndb_report *r, uint8_t what, const char *code, uint64_t offset, uint64_t bid,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Reads exactly n bytes at off (held against the file size here); errors go to err. */
int ndb_read_at(ndb_file *nf, uint8_t *buf, size_t n, uint64_t off, or_error *err);
/* Takes one page or block from the budget; false (and rep->limit_hit) when spent. */
bool ndb_take_budget(ndb_file *nf);
/* [MS-PST] 5.5: the signature of a page or block from its offset and id. */
uint16_t ndb_sig(uint64_t ib, uint64_t bid);
/* ndb_crypt.c: the decoding tables, built once before any file is read (ndb_open does it); then
 * `n` bytes of block `key` decoded in place by encoding `method` (NDB_CRYPT_*). */
void ndb_crypt_init(void);
void ndb_decode(uint8_t method, uint32_t key, uint8_t *p, size_t n);

/* The entry of node `nid` or block `bid` into *out, and its place in the table into *index
 * (unless NULL; not set with ndb_open_lazy); false when there is none. Where damage lists an id
 * twice, the first in key order. Safe on two threads at once (ndb_reader_init). */
bool ndb_find_node(const ndb_file *nf, uint32_t nid, ndb_nbt_ent *out, size_t *index);
bool ndb_find_block(const ndb_file *nf, uint64_t bid, ndb_bbt_ent *out, size_t *index);

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

/* ndb_batch.c: reads the first block of each data tree `bids` (0: none) at once, through io_uring,
 * up to NDB_BATCH of them (more are left to read_block); read_block takes a block from the last
 * batch rather than read it. Returns how many were read; 0 where io_uring is missing or refused
 * (then every block is read by pread, with the same result). Not on an ndb_open_lazy file. */
size_t ndb_batch_read(ndb_file *nf, const uint64_t *bids, size_t n);
/* The bytes of block `bid` (bit 0 ignored) from the last batch, its entry and place in the block
 * table; NULL when the batch does not hold it whole. */
const uint8_t *ndb_batch_take(ndb_file *nf, uint64_t bid, ndb_bbt_ent *e, size_t *at);
void ndb_batch_free(ndb_file *nf);
/* Reads at once, through io_uring, the pages of table t's temporary file that the lookups of
 * `keys` (0: none) will need, into this thread's lookup pages (ndb_table_pages_wanted); the
 * lookups then read no page of their own. Nothing where the table is all in memory, or where
 * io_uring is missing or refused (the lookups read their pages by pread, with the same result). */
void ndb_batch_pages(ndb_file *nf, const ndb_table *t, const uint64_t *keys, size_t n);

/* ndb_table.c, for ndb_batch_pages: the pages of t's temporary file that lookups of `keys` will
 * need, not in memory nor among this thread's lookup pages, up to max (and half of those pages):
 * each with this thread's page to read it into, taken for it. ndb_table_pages_read then keeps
 * those whose `res` (set by the caller: the read's result) is a whole page; the others are left for
 * the lookups to read. */
typedef struct {
	int fd;          /* the temporary file */
	size_t page;     /* at page * NDB_TPAGE in it */
	uint8_t *buf;    /* NDB_TPAGE bytes */
	size_t slot;
	int res;
} ndb_tpage;
size_t ndb_table_pages_wanted(const ndb_table *t, const uint64_t *keys, size_t n, ndb_tpage *out, size_t max);
void ndb_table_pages_read(const ndb_table *t, const ndb_tpage *w, size_t m);

/* ndb_prefetch.c: starts a thread that reads the file front to back once, the pieces not in the
 * system's page cache already, so that the listing's reads, which jump about the file, find their
 * blocks in memory; nothing where the file is more than half the memory available. Says what it
 * did under -v when stopped. ndb_prefetch_stop stops it (within one read) and waits for it;
 * ndb_close does it too. */
void ndb_prefetch_start(ndb_file *nf);
void ndb_prefetch_stop(ndb_file *nf);

/* Finds subnode `nid` in the subnode tree under `bid_sub`: its data and subnode block ids. */
int ndb_find_subnode(ndb_file *nf, uint64_t bid_sub, uint32_t nid, uint64_t *bid_data, uint64_t *sub,
                     or_error *err);

#endif
