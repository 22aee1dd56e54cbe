/* internal.h: shared by the files of src/ost, not part of its public interface. */
#ifndef OSTRECON_OST_INTERNAL_H
#define OSTRECON_OST_INTERNAL_H

#include "ost.h"

/* The role a folder has by its place and name, when no entry id names it (docs/SNAPSHOT.md).
 * parent_role is NULL for the top of the file. folder_type is PR_FOLDER_TYPE (2 = search folder),
 * or -1 when absent. Returns a static string. */
const char *ost_role_by_name(const char *parent_role, const char *name, int64_t folder_type);

/* Whether a folder of container class `cls` (NULL: none) can have `role`: an entry id that names a
 * Tasks folder as the Junk E-mail folder is contradicted by the folder itself. */
bool ost_role_fits_class(const char *role, const char *cls);

/* Special-folder entry id properties and the role of the folder they point at. */
typedef struct {
	uint16_t prop;
	int index; /* value index in a multi-valued property, or -1 */
	bool on_store; /* on the message store (true) or on the Inbox / IPM subtree root (false) */
	const char *role;
} ost_special_entryid;

extern const ost_special_entryid ost_special_entryids[];
extern const size_t ost_n_special_entryids;

/* ---- the NDB integrity scan (ndb_check.c): page and block checksums, independent of libpff ---- */

/* [MS-PST] 5.3: CRC-32 (reflected polynomial 0xEDB88320) from `crc` (0 to start), no final xor. */
uint32_t ndb_crc(uint32_t crc, const uint8_t *p, size_t n);

enum { NDB_PAGE = 0, NDB_BLOCK = 1, NDB_HEADER = 2 };
#define NDB_MAX_LISTED 1000

typedef struct {
	uint8_t what;       /* NDB_PAGE, NDB_BLOCK or NDB_HEADER */
	const char *code;   /* static: "bad_crc", "bad_trailer" or "bad_page" */
	uint64_t offset, bid;
	uint32_t nid;       /* a bad block that is a node's data (or subnode, `sub`) block: the node */
	uint32_t parent;    /* and the node's parent (a message's folder) */
	bool sub;
	char message[240];
} ndb_problem;

typedef struct {
	bool checked;         /* false: not scanned, `skipped` says why */
	const char *skipped;  /* static */
	const char *format;   /* static: "ansi", "unicode", "unicode-4k" */
	uint64_t pages_checked, blocks_checked, bad_pages, bad_blocks;
	bool limit_hit;       /* stopped after a number of pages and blocks bounded by the file size */
	unsigned threads;     /* the threads the block scan ran on (ndb_check_open: 1 or 2) */
	ndb_problem *problems;/* the first NDB_MAX_LISTED; the rest are counted in `unlisted` */
	size_t n_problems, cap_problems, unlisted;
} ndb_report;

typedef struct ndb_file ndb_file; /* ndb.h */

/* Scans the file at `path` (read-only). Returns 0 with `rep` filled (problems found are in it, not
 * errors), or a negative or_code when the file cannot be read or memory runs out. */
int ndb_check(const char *path, ndb_report *rep, or_error *err);
/* The same scan of a file the reader has open (ndb_open'ed, `rep` zeroed by the caller): the
 * B-tree walk's findings are taken from the open, and the blocks the reader already read and
 * found good are counted without being read again. */
int ndb_check_open(ndb_file *nf, ndb_report *rep, or_error *err);
void ndb_report_free(ndb_report *rep);

/* Runs the scan (unless `skip`) and records it in `snap`: the integrity fields, and one error line
 * per bad page or block, an item's or a folder's when the block is theirs (folders must already be
 * in `snap`). The scan runs on `open` when the reader has the file open natively (NULL: `path` is
 * opened). *problems receives the number of bad pages and blocks. Returns 0, or OR_ERR_NOMEM. */
int ndb_check_snapshot(const char *path, ndb_file *open, bool skip, snap_t *snap, size_t *problems,
                       or_error *err);
/* Lookups of an open file (NULL: none) that answered "not found" because a page of its B-tree
 * tables could not be read back from their temporary file (ndb_table.c). */
uint64_t ndb_lost_lookups(const ndb_file *nf);
/* 0 when there were none; else OR_ERR_IO with err saying that what was read is incomplete and why
 * (what a lookup missed would otherwise be taken for damage of the file). */
int ndb_lost_fail(const ndb_file *nf, or_error *err);
/* When the file cannot be opened at all: adds what the scan finds, if anything, to err's message. */
void ndb_explain(const char *path, or_error *err);

#endif
