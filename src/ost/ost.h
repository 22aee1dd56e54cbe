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
	bool progress;         /* a progress line on stderr (core.h: progress_start) */
} ost_options;

typedef struct {
	size_t folders, items, errors;
	size_t unresolved_keys; /* objects with gc_only or no key */
	size_t bad_checksums;   /* pages and blocks the NDB scan found bad (each also an error) */
	bool corrupted;
} ost_summary;

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

/* --- key derivation (pure functions, also used by tests) --- */

/* PRQ_ID_SECURE4 (0x67F4) as its 8 stored bytes: bytes 0-1 little-endian replid, bytes 2-7 the
 * global counter in XID (big-endian) order. */
void ost_prq_split(const uint8_t prq[8], uint16_t *replid, uint8_t gc[SNAP_GC_LEN]);

/* A 46-byte MAPI folder entry id: 4 flag bytes, 16-byte provider UID, 2-byte type, 16-byte replica
 * GUID, 6-byte global counter, 2 pad bytes. Returns 0 and fills guid/gc, or -1 when it is not one. */
int ost_folder_entryid_parse(const uint8_t *data, size_t len, uint8_t guid[16], uint8_t gc[SNAP_GC_LEN]);

/* The replid -> replica GUID map, learned from evidence. */
#define OST_MAX_REPLIDS 64
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
