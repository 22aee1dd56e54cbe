/*
 * pst.h: the .pst writer ([MS-PST]), product code. Three layers, as the specification has them:
 *
 *  - NDB (ndb.c): blocks with trailers and CRCs, data trees (XBLOCK/XXBLOCK), subnode trees
 *    (SLBLOCK/SIBLOCK), the node and block B-trees, allocation maps and the header. Blocks go to
 *    the file as they are made; what stays in memory is one B-tree entry per block and node.
 *  - LTP (hn.c, tc.c): heaps on nodes, BTHs, property contexts and table contexts; a table grows
 *    row by row and streams its heap pages and row matrix to the file.
 *  - Messaging (store.c, object.c, nameid.c): a Unicode PST that Outlook opens (the message store,
 *    the mandatory folders, nodes and table templates, the name-to-id map), folders with their
 *    hierarchy, contents and associated contents tables, and messages copied property by property
 *    with recipients, attachments and embedded messages to any depth.
 *
 * The same NDB and LTP layers write the .ost test files of tools/ostwrite (formats PST_FMT_OST and
 * PST_FMT_OST4K): one copy of the format in the tree.
 *
 * The file is written beside its final name and appears under that name only once complete
 * (pst_ndb_commit): an interrupted run leaves no partial file, and with `noreplace` an existing file
 * is never overwritten. Errors follow core.h: 0 or a negative or_code with `err` filled.
 */
#ifndef OSTRECON_PST_H
#define OSTRECON_PST_H

#include "core/core.h"

/* ------------------------------------------------------------------ NDB */

typedef enum { PST_FMT_PST = 0, PST_FMT_OST, PST_FMT_OST4K } pst_format;

/* Largest data stored in one block: Outlook's, so that every reader is on known ground. */
#define PST_BLOCK_DATA_MAX 8176u
/* The 4 KiB format stores a block's inflated size in 16 bits. */
#define PST_BLOCK_MAX 65535u
/* Largest heap allocation; bigger values go to subnodes. */
#define PST_HN_ALLOC_MAX 3580u

#define PST_NID(type, index) ((uint32_t)(index) << 5 | (type))
enum {
	PST_NID_TYPE_HID = 0x00, PST_NID_TYPE_INTERNAL = 0x01, PST_NID_TYPE_NORMAL_FOLDER = 0x02,
	PST_NID_TYPE_SEARCH_FOLDER = 0x03, PST_NID_TYPE_NORMAL_MESSAGE = 0x04, PST_NID_TYPE_ATTACHMENT = 0x05,
	PST_NID_TYPE_ASSOC_MESSAGE = 0x08, PST_NID_TYPE_HIERARCHY_TABLE = 0x0D, PST_NID_TYPE_CONTENTS_TABLE = 0x0E,
	PST_NID_TYPE_ASSOC_CONTENTS_TABLE = 0x0F, PST_NID_TYPE_LTP = 0x1F,
};

/* Property types ([MS-OXCDATA] 2.11.1). */
enum {
	PT_SHORT = 0x0002, PT_LONG = 0x0003, PT_FLOAT = 0x0004, PT_DOUBLE = 0x0005, PT_CURRENCY = 0x0006,
	PT_APPTIME = 0x0007, PT_ERROR = 0x000A, PT_BOOLEAN = 0x000B, PT_OBJECT = 0x000D, PT_I8 = 0x0014,
	PT_STRING8 = 0x001E, PT_UNICODE = 0x001F, PT_SYSTIME = 0x0040, PT_CLSID = 0x0048, PT_BINARY = 0x0102,
};

/* Size of a value stored inline or in a fixed heap allocation; 0 for variable-size types. */
int pst_fixed_size(uint16_t type);

typedef struct { uint32_t nid; uint64_t bid_data, bid_sub; } pst_subnode;

typedef struct pst_ndb pst_ndb;

typedef struct {
	pst_format format;
	bool noreplace;            /* pst_ndb_commit fails rather than replace an existing file */
	unsigned data_block_size;  /* 0: PST_BLOCK_DATA_MAX; the 4 KiB format takes up to PST_BLOCK_MAX */
} pst_ndb_options;

/* Creates the temporary file beside `path` (nothing appears at `path` yet). */
int pst_ndb_open(pst_ndb **out, const char *path, const pst_ndb_options *opt, or_error *err);
/* Writes the B-trees, maps and header; flushes and syncs. The file is complete but still temporary. */
int pst_ndb_finish(pst_ndb *f, or_error *err);
/* Puts the finished file under its name (link, or rename when replacing is allowed). */
int pst_ndb_commit(pst_ndb *f, or_error *err);
/* Closes and frees; a file not committed is removed. Accepts NULL. */
void pst_ndb_close(pst_ndb *f);
/* The temporary file's path (for a signal handler that must remove it), or NULL. */
const char *pst_ndb_temp_path(const pst_ndb *f);

/* One block of data (at most the format's block size); internal: XBLOCK, SLBLOCK... */
int pst_write_block(pst_ndb *f, const uint8_t *data, size_t len, bool internal, uint16_t cref, uint64_t *bid,
                    or_error *err);
/* Data of any size: one block, or blocks under an XBLOCK/XXBLOCK; *bid 0 for len 0. */
int pst_write_data(pst_ndb *f, const uint8_t *data, size_t len, uint64_t *bid, or_error *err);
/* Data that arrives in pieces, cut into blocks as it comes (memory: one block and one id per block).
 * `unit` > 1 keeps units whole (the rows of a table): a block holds whole units and is padded to
 * the block size, as readers of a row matrix expect. */
typedef struct pst_stream pst_stream;
int pst_stream_open(pst_ndb *f, size_t unit, pst_stream **out, or_error *err);
int pst_stream_write(pst_stream *s, const void *data, size_t len, or_error *err);
/* Writes the last block and the data tree over the blocks: *bid (0 when nothing was written) and
 * *total (bytes written, padding included). Frees s. */
int pst_stream_close(pst_stream *s, uint64_t *bid, uint64_t *total, or_error *err);
void pst_stream_free(pst_stream *s);
/* A subnode tree (SLBLOCK, or SIBLOCK over SLBLOCKs) over `s` (sorted here); *bid 0 for none. */
int pst_write_subnodes(pst_ndb *f, pst_subnode *s, size_t n, uint64_t *bid, or_error *err);
int pst_add_node(pst_ndb *f, uint32_t nid, uint32_t parent, uint64_t bid_data, uint64_t bid_sub, or_error *err);

/* What test tooling needs to damage a file on purpose (tools/ostwrite). */
typedef struct {
	FILE *fp;                  /* the file being written */
	uint32_t page, align, trailer, bt_area;
	uint64_t cursor;           /* after finish: the file size */
	uint64_t data_end;         /* after finish: end of the last page or block written */
	uint64_t nbt_root_ib, bbt_leaf_ib;
	uint64_t last_bid, last_ib; /* the last data block written: its id, offset and stored size */
	uint16_t last_cb;
} pst_ndb_layout;
void pst_ndb_layout_get(const pst_ndb *f, pst_ndb_layout *out);
/* Bytes written so far (blocks and pages), for progress. */
uint64_t pst_ndb_size(const pst_ndb *f);
/* [MS-PST] 5.3 CRC (reflected 0xEDB88320, no inversions). */
uint32_t pst_crc(const uint8_t *p, size_t n);
void pst_put16(uint8_t *p, uint16_t v);
void pst_put32(uint8_t *p, uint32_t v);
void pst_put64(uint8_t *p, uint64_t v);

/* ------------------------------------------------------------------ LTP */

typedef struct pst_hn pst_hn;
/* A heap on a node. `stream`: pages other than the first go to the file as soon as they are full
 * (big tables); otherwise the heap is written when the node is. */
int pst_hn_new(pst_hn **out, pst_ndb *f, uint8_t client_sig, bool stream, or_error *err);
void pst_hn_free(pst_hn *hn);
int pst_hn_alloc(pst_hn *hn, const void *data, size_t len, uint32_t *hid, or_error *err);
/* A value in the heap, or in a new subnode of the node when too big; *hnid is what a PC/TC stores. */
int pst_hn_value(pst_hn *hn, const void *data, size_t len, uint32_t *hnid, or_error *err);
/* A subnode made elsewhere (a streamed value, a table, an attachment) joins the node's list. */
int pst_hn_add_subnode(pst_hn *hn, const pst_subnode *s, or_error *err);
/* A fresh subnode id of type `type` in this node. */
uint32_t pst_hn_next_subnid(pst_hn *hn, uint8_t type);
/* Writes the heap's pages and subnode tree; a top-level node (nid != 0) joins the node B-tree,
 * a subnode returns its blocks in *sub (its nid set by the caller). */
int pst_hn_write(pst_hn *hn, uint32_t user_root, uint32_t nid, uint32_t parent, pst_subnode *sub, or_error *err);
/* A BTH whose records (cb_key + cb_ent bytes, sorted by key) are all given; *hid its header. */
int pst_bth_build(pst_hn *hn, const uint8_t *recs, size_t n, uint8_t cb_key, uint8_t cb_ent, uint32_t *hid,
                  or_error *err);

/* A property for a PC or a table row: numbers in `num` (little-endian value) when `data` is NULL,
 * other values as their stored bytes; `subnode` set instead when the value is already a subnode.
 * A variable-size value with `data` NULL is stored as HNID 0 (an empty value without an
 * allocation, as some files hold them); "" with len 0 is an empty allocation. */
typedef struct {
	uint16_t id, type;
	const void *data;
	uint32_t len;
	uint64_t num;
	uint32_t subnode;          /* nonzero: the value is this subnode of the node (already written) */
} pst_prop;

/* A property context over `props` (sorted here) in heap `hn`, written as node `nid` (or as a
 * subnode into *sub when nid is 0). hn's subnodes (values, streamed ones) go with it. */
int pst_pc_write(pst_hn *hn, pst_prop *props, size_t n, uint32_t nid, uint32_t parent, pst_subnode *sub,
                 or_error *err);
/* The same in a fresh heap. */
int pst_write_pc(pst_ndb *f, uint32_t nid, uint32_t parent, pst_prop *props, size_t n, or_error *err);

typedef struct { uint16_t id, type; } pst_col;
typedef struct pst_tc pst_tc;
/* A table context with `cols` (the row id and version columns are added). Rows are added one by
 * one; the heap pages and the row matrix stream to the file. */
int pst_tc_new(pst_tc **out, pst_ndb *f, const pst_col *cols, size_t n_cols, or_error *err);
/* One row: cells[c] for cols[c] (data NULL and len 0 with num: a fixed value; `present` false:
 * the cell is empty). Variable values are stored in the table's heap (or a subnode); one with
 * data NULL as HNID 0. */
typedef struct { bool present; const void *data; uint32_t len; uint64_t num; } pst_cell;
int pst_tc_row(pst_tc *t, uint32_t row_id, const pst_cell *cells, or_error *err);
size_t pst_tc_rows(const pst_tc *t);
/* Writes the table as node `nid` (or a subnode into *sub when nid is 0) and frees it. */
int pst_tc_finish(pst_tc *t, uint32_t nid, uint32_t parent, pst_subnode *sub, or_error *err);
void pst_tc_free(pst_tc *t);
/* The same for tables whose rows are all known: cells[r * n_cols + c] are numbers. */
int pst_write_tc(pst_ndb *f, uint32_t nid, uint32_t parent, const pst_col *cols, size_t n_cols,
                 const uint32_t *row_ids, const uint64_t *cells, size_t n_rows, or_error *err);

/* UTF-8 to UTF-16LE appended to b (invalid sequences become U+FFFD). */
int pst_utf16(or_buf *b, const char *s);

/* ------------------------------------------------------------ messaging */

/* A named property ([MS-OXCDATA] 2.6.1): a property set GUID and a number or a name (UTF-8). */
typedef struct {
	uint8_t guid[16];
	bool is_string;
	uint32_t lid;
	const char *name;
} pst_name;

/* The name-to-id map of a file being written ([MS-PST] 2.4.7): ids from 0x8000 in the order names
 * are first met. pst_writer keeps one; tools/ostwrite uses one directly for its own layouts. */
typedef struct pst_nameid pst_nameid;
int pst_nameid_new(pst_nameid **out, or_error *err);
void pst_nameid_free(pst_nameid *m);
int pst_nameid_get(pst_nameid *m, const pst_name *n, uint16_t *id, or_error *err);
size_t pst_nameid_count(const pst_nameid *m);
/* Writes the map node (0x61); a map without names gets one (PSETID_Common, LID 0x8503), as
 * readers refuse an empty one. */
int pst_nameid_write(pst_nameid *m, pst_ndb *f, or_error *err);

typedef struct pst_writer pst_writer;
typedef uint32_t pst_folder_id; /* the folder's NID */

typedef struct {
	const char *display_name;  /* the store's name (PidTagDisplayName) */
	bool noreplace;            /* never replace an existing file */
} pst_writer_options;

/* Starts a Unicode PST at `path` (written beside it until pst_writer_commit). */
int pst_writer_open(pst_writer **out, const char *path, const pst_writer_options *opt, or_error *err);
/* The IPM subtree ("Top of Personal Folders"), where user folders go. */
pst_folder_id pst_writer_ipm_subtree(const pst_writer *w);
/* A folder under `parent` named `name` (UTF-8) of container class `cls` (NULL: none). Folders of
 * one name under one parent are one folder: the same id is returned. */
int pst_folder_add(pst_writer *w, pst_folder_id parent, const char *name, const char *cls, pst_folder_id *out,
                   or_error *err);
/* Gives the folder a PidTagSourceKey (0x65E0: a replica GUID and a 6-byte global counter), as
 * the folder it copies has; the first key given is kept. */
int pst_folder_source_key(pst_writer *w, pst_folder_id folder, const uint8_t key[22], or_error *err);
/* Ends a folder's contents: its tables are written and its memory freed; no message may be added
 * to it afterwards. Optional: pst_writer_finish ends every folder. */
int pst_folder_close(pst_writer *w, pst_folder_id folder, or_error *err);

/* A message, an attachment or an embedded message being written. */
typedef struct pst_object pst_object;
int pst_message_begin(pst_writer *w, pst_folder_id folder, bool associated, pst_object **out, or_error *err);
/* A message written as node `nid` (parent `parent`) of a bare NDB file, outside pst_writer: the
 * caller writes its folder's tables and the map (test files of other layouts, tools/ostwrite).
 * Property ids 0x8000 and up are written as given. */
int pst_node_message_begin(pst_ndb *f, pst_nameid *names, uint32_t nid, uint32_t parent, pst_object **out,
                           or_error *err);
/* A property (any type, its stored bytes: UTF-16LE for PT_UNICODE, the multi-value layout of
 * [MS-PST] 2.3.3.4 for multi-valued ones). Ids 0x8000 and up must come from pst_writer_name_id. */
int pst_object_prop(pst_object *o, const pst_prop *p, or_error *err);
/* A named property: its id is allocated in the file's name-to-id map. */
int pst_object_named(pst_object *o, const pst_name *name, const pst_prop *p, or_error *err);
/* The id a name has (or gets) in the file's map. */
int pst_writer_name_id(pst_writer *w, const pst_name *name, uint16_t *id, or_error *err);
/* A big value written as it is read: begin, write pieces, end. `id` may be a mapped named id. */
int pst_object_value_begin(pst_object *o, uint16_t id, uint16_t type, or_error *err);
int pst_object_value_write(pst_object *o, const void *data, size_t len, or_error *err);
int pst_object_value_end(pst_object *o, or_error *err);
/* A recipient: its properties (ids already mapped), a row of the recipient table. */
int pst_object_recipient(pst_object *o, const pst_prop *props, size_t n, or_error *err);
/* Columns the recipient table has even where no recipient has a value (ids already mapped). */
int pst_object_recipient_columns(pst_object *o, const pst_col *cols, size_t n, or_error *err);
/* An attachment of message `o`: a new object; pst_object_end(attachment) returns to o. The
 * attachment table's rows come in the order attachments are begun. */
int pst_attachment_begin(pst_object *o, pst_object **att, or_error *err);
/* Columns the attachment table has beyond the template's (ids already mapped), as a source holds
 * them; each row is made of the attachment's properties in those columns... */
int pst_object_attachment_columns(pst_object *o, const pst_col *cols, size_t n, or_error *err);
/* ...unless the row is given whole (ids mapped; its row id and version are the table's own). */
int pst_attachment_row(pst_object *att, const pst_prop *cells, size_t n, or_error *err);
/* The message embedded in attachment `att` (its PidTagAttachDataObject); end it before `att`. */
int pst_embedded_begin(pst_object *att, pst_object **msg, or_error *err);
/* Writes the object; a top-level message joins its folder. Frees o. */
int pst_object_end(pst_object *o, or_error *err);
/* Drops an object being written (an error path); its parent stays usable. */
void pst_object_abort(pst_object *o);

/* Writes the folders' tables, the map, the store and the NDB structures, and syncs. */
int pst_writer_finish(pst_writer *w, or_error *err);
int pst_writer_commit(pst_writer *w, or_error *err);
/* Frees; an uncommitted file is removed. Accepts NULL. */
void pst_writer_free(pst_writer *w);
const char *pst_writer_temp_path(const pst_writer *w);
uint64_t pst_writer_size(const pst_writer *w);

#endif
