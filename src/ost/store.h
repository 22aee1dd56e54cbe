/*
 * store.h: internal to src/ost. What the reader needs from a cache file, with two implementations:
 * native.c (the NDB and LTP layers read directly: ndb.c, ltp.c), the default, and pff.c (libpff,
 * the only file that includes libpff.h), kept as an independent second reader and for libpff's
 * scan for deleted items. Errors become or_error; every handle given out is freed through it.
 */
#ifndef OSTRECON_OST_STORE_H
#define OSTRECON_OST_STORE_H

#include "core/core.h"

typedef struct st_file st_file;
typedef struct ndb_file ndb_file; /* ndb.h */
typedef struct st_node st_node; /* a folder, a message or the message store */

typedef struct {
	bool is_ost, is_pst;
	const char *format;     /* "ost-unicode-512", "pst-ansi", ... (static) */
	const char *encryption; /* "none", "compressible", "high" (static) */
	int64_t size;
	bool corrupted;
	int64_t bytes_read;     /* bytes read from the file so far (progress), -1 when not counted */
} st_info;

typedef enum { ST_SUBFOLDERS, ST_MESSAGES, ST_ASSOCIATED } st_children;

/* A property value. Strings come as NUL-terminated UTF-8 (ANSI strings converted from the
 * Windows-1252 code page); other values as their stored bytes. A multi-valued binary property
 * gives one entry per value. */
typedef struct {
	uint16_t id, type;
	uint8_t *data;
	size_t len;
} st_prop;

#define ST_MAX_PROPS 48
/* The values of one read: each malloc'd, or in the list's block of small values (st_props_room:
 * a message's values are a few hundred bytes, and a malloc and a free for each, on two threads
 * with the reading ahead, took 5% of a listing). A list moved by value takes its block along; a
 * value moved alone out of it is copied (st_props_move_one). */
#define ST_PROPS_BLOCK 1024
typedef struct {
	st_prop p[ST_MAX_PROPS];
	size_t n;
	uint8_t *block; /* ST_PROPS_BLOCK bytes, allocated at the first st_props_room; NULL: none */
	size_t used;
} st_props;

/* One record of the replica table (descriptor 0x801): a replica GUID and its 2-byte replica id,
 * the replid that PRQ_ID_SECURE4 values carry. replid -1: the record's id is unknown (libpff does
 * not give it and the native read failed) or contradicted by the table's own GUID array. */
typedef struct {
	uint8_t guid[16];
	int32_t replid;
} st_replica;

typedef struct {
	const char *name; /* "native", "libpff" */
	void (*close)(st_file *f);
	void (*get_info)(st_file *f, st_info *info);
	int (*orphan_count)(st_file *f, int64_t *n, or_error *err);
	int (*recover)(st_file *f, int64_t *n, or_error *err);
	/* The message nodes the walk did not reach (no folder's table lists them), sorted by node id:
	 * *out is malloc'd, caller frees. NULL when the reader cannot tell (libpff). */
	int (*unreached_messages)(st_file *f, uint32_t **out, size_t *n, or_error *err);
	/* The records of the replica table (descriptor 0x801) in stored order (by GUID): *out is
	 * malloc'd, the caller frees it. No table (a PST): 0 records. */
	int (*replica_table)(st_file *f, st_replica **out, size_t *n, or_error *err);
	int (*message_store)(st_file *f, st_node **out, or_error *err);
	int (*root_folder)(st_file *f, st_node **out, or_error *err);
	void (*node_free)(st_node *n);
	/* Folder display name (UTF-8, malloc'd; NULL when the folder has none). */
	int (*folder_name)(st_node *n, char **out, or_error *err);
	int (*child_count)(st_node *n, st_children kind, int *count, or_error *err);
	int (*child)(st_node *n, st_children kind, int index, st_node **out, or_error *err);
	/* Properties of the node, restricted to a list of property ids. */
	int (*read_props)(st_node *n, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err);
	/* The file's node database as the reader has it open (native.c), for the checksum scan to
	 * share (no other thread of the reader uses it from then on); NULL (or no function) when the
	 * reader has none. */
	ndb_file *(*ndb)(st_file *f);
	/* The listing is about to read children 0, 1, ... of `n` of that kind, in order, each's
	 * properties with `ids` (the same pointer each time, valid until the listing ends): a reader
	 * may start reading them ahead. A hint: no function, or 0 without doing anything, is fine. */
	int (*prefetch)(st_node *n, st_children kind, const uint16_t *ids, size_t n_ids);
	/* The listing is done with the children of `n` of that kind: the reader may drop what it
	 * holds of them (a later child_count or child reads them again). No function: nothing. */
	void (*children_done)(st_node *n, st_children kind);
} st_ops;

struct st_file {
	const st_ops *ops;
};
struct st_node {
	const st_ops *ops;
	uint32_t id;
};

/* The two readers. Each returns OR_ERR_FORMAT when the file is not a PST/OST or is damaged beyond
 * opening (the message says which). */
int native_open(st_file **out, const char *path, or_error *err);
int pff_open(st_file **out, const char *path, or_error *err);
/* The replica table of the file at `path` as the native reader reads it (the libpff reader takes
 * the replid column from here: libpff 20180714 does not give it). */
int native_replica_table(const char *path, st_replica **out, size_t *n, or_error *err);

static inline void st_close(st_file *f) { if (f) f->ops->close(f); }
static inline void st_get_info(st_file *f, st_info *i) { f->ops->get_info(f, i); }
static inline int st_orphan_count(st_file *f, int64_t *n, or_error *e) { return f->ops->orphan_count(f, n, e); }
static inline int st_recover(st_file *f, int64_t *n, or_error *e) { return f->ops->recover(f, n, e); }
static inline int st_replica_table(st_file *f, st_replica **out, size_t *n, or_error *e)
{
	return f->ops->replica_table(f, out, n, e);
}
static inline int st_message_store(st_file *f, st_node **o, or_error *e) { return f->ops->message_store(f, o, e); }
static inline int st_root_folder(st_file *f, st_node **o, or_error *e) { return f->ops->root_folder(f, o, e); }
static inline ndb_file *st_ndb(st_file *f) { return f->ops->ndb ? f->ops->ndb(f) : NULL; }
static inline void st_prefetch(st_node *n, st_children k, const uint16_t *ids, size_t n_ids)
{
	if (n->ops->prefetch)
		n->ops->prefetch(n, k, ids, n_ids);
}
static inline void st_children_done(st_node *n, st_children k)
{
	if (n->ops->children_done)
		n->ops->children_done(n, k);
}
static inline void st_node_free(st_node *n) { if (n) n->ops->node_free(n); }
static inline uint32_t st_node_id(const st_node *n) { return n->id; }
static inline int st_folder_name(st_node *n, char **o, or_error *e) { return n->ops->folder_name(n, o, e); }
static inline int st_child_count(st_node *n, st_children k, int *c, or_error *e)
{
	return n->ops->child_count(n, k, c, e);
}
static inline int st_child(st_node *n, st_children k, int i, st_node **o, or_error *e)
{
	return n->ops->child(n, k, i, o, e);
}
static inline int st_read_props(st_node *n, const uint16_t *ids, size_t n_ids, st_props *o, or_error *e)
{
	return n->ops->read_props(n, ids, n_ids, o, e);
}

/* store.c: property lists, the same for both readers. */
bool st_wanted(const uint16_t *ids, size_t n, uint16_t id);
/* Adds a value (takes `data`: malloc'd, or given by st_props_room of the same list); beyond
 * ST_MAX_PROPS values it is dropped. */
void st_props_add(st_props *props, uint16_t id, uint16_t type, uint8_t *data, size_t len);
/* Room for a value of `len` bytes for st_props_add: in the list's block while it has room, else
 * malloc'd. NULL: out of memory. */
uint8_t *st_props_room(st_props *props, size_t len);
/* An empty list, whatever `props` held (nothing is freed). */
static inline void st_props_init(st_props *props)
{
	props->n = 0;
	props->block = NULL;
	props->used = 0;
}
/* Frees every value (and the block); the list is empty after. */
void st_props_clear(st_props *props);
/* Moves value i of `from` to the end of `to` (when it has room): a value in `from`'s block is
 * copied (malloc'd), any other handed over; from's entry keeps no data. OR_ERR_NOMEM or 0. */
int st_props_move_one(st_props *to, st_props *from, size_t i);
const st_prop *st_props_get(const st_props *props, uint16_t id);
/* A string property (PT_UNICODE or PT_STRING8, NUL-terminated UTF-8); NULL when absent or when a
 * damaged file stores that property with another type. */
const char *st_props_str(const st_props *props, uint16_t id);
/* Integer value of a PT_SHORT/PT_LONG/PT_I8/PT_BOOLEAN property; returns false when absent. */
bool st_props_int(const st_props *props, uint16_t id, int64_t *out);
/* A FILETIME property; 0 when absent. */
int64_t st_props_time(const st_props *props, uint16_t id);

#endif
