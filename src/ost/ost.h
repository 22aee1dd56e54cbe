/*
 * ost.h: the cache reader. Lists an .ost or .pst file (read-only; its own NDB/LTP reader, or libpff)
 * into a snapshot,
 * and derives each object's source key from what the file holds (docs/QUIRKS.md, docs/SNAPSHOT.md).
 */
#ifndef OSTRECON_OST_H
#define OSTRECON_OST_H

#include "core/core.h"

/* Which implementation reads the file: the native NDB/LTP reader (default) or libpff. */
typedef enum { OST_READER_NATIVE = 0, OST_READER_LIBPFF } ost_reader;

typedef struct {
	ost_reader reader;
	bool recover;          /* run libpff's scan for deleted (recoverable) items: reads the whole file
	                        * and opens it with libpff, whose open costs O(n^2) in the messages */
	bool no_crc_check;     /* skip the NDB scan of page and block checksums (on by default) */
	const char *mailbox;   /* optional: the mailbox address to record in the header */
	const char *options_json; /* recorded in the header as the capture's options */
	const volatile bool *cancel; /* optional: set by another thread, the capture stops (OR_ERR_IO) */
	bool progress;         /* a progress line on stderr (core.h: progress_start) */
} ost_options;

typedef struct {
	size_t folders, items, errors;
	size_t unresolved_keys; /* objects with gc_only or no key */
	size_t bad_checksums;   /* pages and blocks the NDB scan found bad (each also an error) */
	bool corrupted;
} ost_summary;

/* Whether `path` is a PST/OST file a capture can start on, checked in a moment: the header's
 * magic, version and stated size, and where its B-tree roots lie. 0, or OR_ERR_NOTFOUND,
 * OR_ERR_FORMAT (with what is wrong), OR_ERR_IO. */
int ost_probe(const char *path, or_error *err);

/* The options that shape a capture as the JSON object recorded in the snapshot's header:
 * {"reader":"native"|"libpff","recover":BOOL,"crc_check":BOOL}. */
void ost_options_describe(const ost_options *opt, char *out, size_t size);

/* Lists `path` into a snapshot file at `out_path` ("-" = stdout), streaming the messages.
 * Returns 0 when the file was read (damage, if any, is listed in the snapshot: check
 * summary->errors and summary->corrupted), or a negative or_code when it cannot be read at all
 * (not a PST/OST, missing, unreadable), in which case nothing is written. */
int ost_capture(const char *path, const ost_options *opt, const char *out_path, ost_summary *summary,
                or_error *err);

/* The same listing kept in memory: *out receives the snapshot exactly as snap_load would read
 * back the file ost_capture writes (the caller frees it). Used by scans whose snapshots are not
 * kept, to spare writing and parsing the file. */
int ost_capture_snap(const char *path, const ost_options *opt, snap_t **out, ost_summary *summary, or_error *err);

/* --- whole messages (message.c): every property, recipient and attachment, read-only --- */

typedef struct ost_cache ost_cache;   /* a cache file opened for whole-message reads */
typedef struct ost_object ost_object; /* a message, an attachment or an embedded message */

/* A named property of the cache's map ([MS-PST] 2.4.7). */
typedef struct {
	uint8_t guid[16];
	bool known, is_string;
	bool name_lost;      /* a string name whose characters cannot be read: its GUID only */
	uint32_t lid;
	char *name;          /* UTF-8, string names only */
} ost_propname;

/* A property as stored: small values in data/len (the raw bytes: UTF-16LE for PT_UNICODE, the
 * multi-value layout for multi-valued types; valid until the next call on the object); values in
 * a subnode have `big` set and are read with ost_object_value_read. */
typedef struct {
	uint16_t id, type;
	const uint8_t *data;
	size_t len;
	bool big, owned;
	bool no_ref;         /* an empty variable-size value stored as HNID 0 (no allocation) */
	uint64_t bid;
	uint32_t object;     /* PT_OBJECT: the subnode holding it (len is its stated size) */
} ost_value;

int ost_cache_open(ost_cache **out, const char *path, or_error *err);
void ost_cache_close(ost_cache *c);
/* The name of property `id` (0x8000 and up) in the file's map; NULL when the map has no entry for
 * it (an entry whose string name cannot be read comes with name_lost set). */
const ost_propname *ost_cache_name(const ost_cache *c, uint16_t id);
/* Why the map could not be read (static to the cache), or NULL. */
const char *ost_cache_names_problem(const ost_cache *c);
/* Data blocks read so far whose CRC does not match their bytes (handed out as stored all the
 * same); *last describes the latest one (valid until the next read). */
uint64_t ost_cache_bad_blocks(const ost_cache *c, const char **last);

/* The cache's folders, for a walk that does not list the whole file first: a folder's name and
 * container class, the row ids of its tables in row order, a node's parent. */
typedef struct {
	uint32_t nid, parent;      /* parent: as the node B-tree records it; 0 for the root */
	char *name, *cls;          /* UTF-8, malloc'd; NULL when absent */
} ost_folder;
typedef enum { OST_TABLE_HIERARCHY, OST_TABLE_CONTENTS, OST_TABLE_ASSOCIATED } ost_table;
int ost_cache_folder(ost_cache *c, uint32_t nid, ost_folder *out, or_error *err);
void ost_folder_clear(ost_folder *f);
/* *rows (malloc'd, the caller frees) gets the table's row ids: subfolders or messages. Returns
 * OR_ERR_NOTFOUND (err untouched) when the folder has no such table (a search folder). */
int ost_cache_folder_rows(ost_cache *c, uint32_t folder, ost_table which, uint32_t **rows, size_t *n, or_error *err);
int ost_cache_parent(ost_cache *c, uint32_t nid, uint32_t *parent, or_error *err);
/* The top folder of the file (0x122), and the IPM subtree below it where user folders start (the
 * store names it, or its name does: "Top of Personal Folders", IPM_SUBTREE); 0 when not found. */
uint32_t ost_cache_root(const ost_cache *c);
uint32_t ost_cache_ipm_subtree(const ost_cache *c);

/* The message with node id `nid` (a snapshot item's "nid:N"). *out belongs to the caller. */
int ost_message_open(ost_cache *c, uint32_t nid, ost_object **out, or_error *err);
void ost_object_free(ost_object *o);
uint32_t ost_object_nid(const ost_object *o);
size_t ost_object_prop_count(const ost_object *o);
/* Property i, in the stored order (by id). An error is about that value only. */
int ost_object_prop(ost_object *o, size_t i, ost_value *v, or_error *err);
/* Hands a value's bytes to fn, one block at a time (a big value) or at once. */
int ost_object_value_read(ost_object *o, const ost_value *v,
                          int (*fn)(void *ctx, const uint8_t *p, size_t n, or_error *err), void *ctx, or_error *err);
/* The recipient table: its row count, and row r's cells (at most cap; those marked owned are
 * freed with ost_values_release). */
int ost_object_recipient_count(ost_object *o, size_t *n, or_error *err);
int ost_object_recipient(ost_object *o, size_t row, ost_value *vals, size_t cap, size_t *n, or_error *err);
void ost_values_release(ost_value *vals, size_t n);
/* The recipient table's columns (property tags, the row id and version left out): a column may
 * be empty in every row. */
int ost_object_recipient_columns(ost_object *o, uint32_t *tags, size_t cap, size_t *n, or_error *err);
/* The attachments (the attachment table's rows, in row order) and each one's object; the table's
 * columns (row id and version left out) and row i's cells, as the table holds them. */
int ost_object_attachment_count(ost_object *o, size_t *n, or_error *err);
int ost_object_attachment_columns(ost_object *o, uint32_t *tags, size_t cap, size_t *n, or_error *err);
int ost_object_attachment_row(ost_object *o, size_t i, ost_value *vals, size_t cap, size_t *n, or_error *err);
int ost_attachment_open(ost_object *o, size_t i, ost_object **att, or_error *err);
/* The message embedded in attachment `att` (method ATTACH_EMBEDDED_MSG); OR_ERR_NOTFOUND (err
 * untouched) when it has none. */
int ost_embedded_open(ost_object *att, ost_object **msg, or_error *err);
/* A PT_LONG, PT_I8 or PT_SYSTIME property of the object: false when absent or of another type. */
bool ost_object_i64(ost_object *o, uint16_t id, int64_t *out);
/* PidTagAttachMethod (1 by value, 2-4 by reference, 5 embedded message, 6 OLE), -1 when absent. */
int ost_attachment_method(const ost_object *att);

/* --- what a listing works out, for a copy of the cache (reader.c) --- */

/* The folder tree of `path` read as `ostrecon ost` reads it (native reader), kept for a copy made
 * with the whole-message reader: the replica map that turns a message's PRQ_ID_SECURE4 into the
 * source key the listing gives it, each folder's key, and the messages no folder's table lists
 * (the listing's orphan_items, less the folders). Memory: the folders and one id per such message. */
typedef struct ost_keys ost_keys;
int ost_keys_load(const char *path, ost_keys **out, or_error *err);
void ost_keys_free(ost_keys *k); /* accepts NULL */
/* The key the listing gives folder `nid`; false when it gives none. */
bool ost_keys_folder(const ost_keys *k, uint32_t nid, uint8_t key[SNAP_KEY_LEN]);
/* The key given to a message whose stored PRQ_ID_SECURE4 is `prq` (when it stores no
 * PidTagSourceKey); false when its replid has no known GUID (the listing's gc_only). */
bool ost_keys_prq(const ost_keys *k, const uint8_t prq[8], uint8_t key[SNAP_KEY_LEN]);
/* The message node ids (normal and associated) no folder's table lists, sorted. */
const uint32_t *ost_keys_unlisted(const ost_keys *k, size_t *n);

/* --- key derivation (pure functions, also used by tests) --- */

/* PRQ_ID_SECURE4 (0x67F4) as its 8 stored bytes: bytes 0-1 little-endian replid, bytes 2-7 the
 * global counter in XID (big-endian) order. */
void ost_prq_split(const uint8_t prq[8], uint16_t *replid, uint8_t gc[SNAP_GC_LEN]);

/* A 46-byte MAPI folder entry id: 4 flag bytes, 16-byte provider UID, 2-byte type, 16-byte replica
 * GUID, 6-byte global counter, 2 pad bytes. Returns 0 and fills guid/gc, or -1 when it is not one. */
int ost_folder_entryid_parse(const uint8_t *data, size_t len, uint8_t guid[16], uint8_t gc[SNAP_GC_LEN]);

/* The replid -> replica GUID map: the replica table's records (descriptor 0x801), then the special
 * folders' entry ids, which confirm a mapping or contradict it (the replid is then unusable). */
#define OST_MAX_REPLIDS 256
typedef struct {
	struct {
		uint16_t replid;
		uint8_t guid[16];
		const char *origin; /* static string: how it was learned */
		int conflicts;      /* evidence that named another GUID */
	} map[OST_MAX_REPLIDS];
	size_t n;
	uint8_t (*table)[16]; /* the replica GUID table (descriptor 0x801); borrowed */
	size_t n_table;
} ost_replica_map;

/* Records that `replid` belongs to `guid`. Returns 0 when new or consistent, 1 when it contradicts
 * earlier evidence (the first mapping is kept and the conflict counted), -1 when the GUID is not in
 * the replica table (when a table is known) or the map is full. */
int ost_replica_learn(ost_replica_map *m, uint16_t replid, const uint8_t guid[16], const char *origin);
/* Finds the GUID of `replid`; NULL when unknown or contradicted. */
const uint8_t *ost_replica_guid(const ost_replica_map *m, uint16_t replid);

/* Fills `id` from a PRQ_ID_SECURE4 value through the map (origin replica or gc_only). */
void ost_ident_from_prq(const ost_replica_map *m, const uint8_t prq[8], snap_ident *id);
/* Fills `id` from a 22-byte PidTagSourceKey (origin source_key); -1 when the length is wrong. */
int ost_ident_from_source_key(const uint8_t *data, size_t len, snap_ident *id);

#endif
