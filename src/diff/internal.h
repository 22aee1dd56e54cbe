/* internal.h: what the files of src/diff share; not part of the module's interface. */
#ifndef OSTRECON_DIFF_INTERNAL_H
#define OSTRECON_DIFF_INTERNAL_H

#include "diff.h"

/* Where a folder sits, which decides what is expected of it. */
typedef enum {
	FC_IPM = 0,        /* under the IPM subtree: compared */
	FC_TOP,            /* root, IPM subtree, the unnamed top of a cache file */
	FC_LOCAL_CONTENT,  /* Sync Issues and its subfolders: folders on both, content local */
	FC_CLIENT,         /* client-side: search folders and Finder, Views, Reminders, spooler, ... */
	FC_NON_IPM,        /* non-IPM folders of the mailbox: Recoverable Items, ... */
	FC_PUBLIC,         /* Root - Public and below */
} folder_class;

/* A map from keys (bytes or strings, compared by a callback) to record indexes: open addressing,
 * linear probing; the high half of each hash is kept beside its index to skip most compares (8
 * bytes a slot: a million items' map is 16 MB, one cache line per probe). It keeps the first
 * record of a key. */
#define MAP_EMPTY UINT32_MAX

/* A string of an item of a side (an offset into its heap), "" when absent. */
static inline const char *item_text(const snap_compared *ci, uint32_t off)
{
	return off ? ci->heap + off : "";
}
typedef struct {
	uint32_t tag;    /* hash >> 32 */
	uint32_t idx;    /* record index or MAP_EMPTY */
} map_slot;

typedef struct {
	map_slot *slot;
	size_t cap;
} idx_map;

#define ITEM_DUPLICATE (-2) /* the second holder of a key: a duplicate_key finding */

typedef struct {
	const snap_t *s;
	const snap_compared *ci;    /* the side's items as compared (the result's cmp[side]) */
	idx_map folder_by_id;       /* folder id string -> folder index */
	int32_t *item_folder;       /* item -> folder index (-1 unknown) */
	int32_t *folder_row;        /* folder -> row */
	int32_t *item_pair;         /* item -> paired item on the other side, -1, or ITEM_DUPLICATE */
	uint8_t *item_pair_by;      /* diff_pair_method */
	int32_t *folder_pair;       /* folder -> paired folder on the other side, -1 */
	uint8_t *folder_pair_by;    /* diff_pair_method */
	/* The replica group of each object (replicas.c), -1 when none: the fallback key of an object
	 * without a full key is (group, global counter), FALLBACK_KEY_LEN bytes in folder_rkey. */
	int32_t *folder_group, *item_group;
	uint8_t *folder_rkey;
	uint8_t *fclass;            /* folder_class */
	/* The items by full key (diff_key_map), made beside the other side's: the first holder of
	 * each key; the later holders (pairs of item indexes: first, later) wait in key_dups to
	 * become findings in order. */
	idx_map key_map;
	uint32_t *key_dups;
	size_t n_key_dups, cap_key_dups;
	char **npath;               /* normalized path per folder (malloc'd) */
	uint8_t *folder_unreadable; /* the side could not read this folder (or items of it) */
	int32_t *folder_error;      /* first error about this folder, -1 */
	int32_t ipm_root, root;     /* folder indexes of the anchors, -1 */
	bool is_cache;
	/* Folder classes the capture could not list (the header's options.not_covered: Graph's mail
	 * API has no tasks, notes or journal folders): such folders are unverified there, not missing. */
	char not_covered[8][32];
	int n_not_covered;
} side_state;

/* The subjects of a side's items that a report shows (subjects.c), where they stayed in the file:
 * item[0..n) ascending, off[k] the offset of item[k]'s subject in text (0 absent). */
typedef struct {
	int32_t *item;
	uint32_t *off;
	size_t n;
	or_buf text;
} diff_subjects;

/* A result with what lives only inside the module. Row paths live in it: copied out of the side
 * states before those go. */
typedef struct {
	diff_result pub;
	char **row_path;
	const char **row_role;
	snap_compared own[2]; /* the compact items of a side whose snapshot has none of its own */
	diff_subjects subjects[2];
} result_priv;

typedef struct {
	diff_result *r;
	side_state side[2];
	int32_t *detail_n, *detail_agg; /* per row and kind: individual findings so far, summary finding */
} diff_ctx;

/* base.c */
int map_init(idx_map *m, size_t n);
void map_free(idx_map *m);
uint64_t hash_str_ci(const char *s);
/* Inserts (h, idx) unless a record with the same key is there; returns that record's index, or
 * MAP_EMPTY when idx was inserted. `same` tells whether record idx has the key. */
typedef bool (*map_same_fn)(const void *ctx, uint32_t idx, const void *key);
uint32_t map_put(idx_map *m, uint64_t h, uint32_t idx, map_same_fn same, const void *ctx, const void *key);
uint32_t map_get(const idx_map *m, uint64_t h, map_same_fn same, const void *ctx, const void *key);
/* Asks for the slot a hash starts at to be brought into the cache (a loop over many keys hides
 * the miss of each behind the work on the previous ones). */
static inline void map_prefetch(const idx_map *m, uint64_t h)
{
	__builtin_prefetch(&m->slot[h & (m->cap - 1)]);
}

/* diff.c */
int32_t diff_folder_by_id(const side_state *ss, const char *id);
/* Whether this side's capture could not list folders of the class `cls` (or its kinds). */
bool diff_class_not_covered(const side_state *ss, const char *cls);
/* The normalized form of a folder path of this side (malloc'd; NULL out of memory). */
char *diff_normalize_path(const side_state *ss, const char *path);

/* pair.c: pairs folders, then items, each pair marked with how it was made. diff_key_map maps
 * side s's items by full key (-1 out of memory); it touches only that side, so the two sides'
 * maps are made at once, before diff_pair, which uses them. */
int diff_key_map(diff_ctx *c, int s);
int diff_pair(diff_ctx *c, or_error *err);

/* replicas.c: after the key passes, which replica of one side is which of the other (from the
 * counters the unpaired objects share); fills folder_group and item_group. -1 out of memory. */
#define FALLBACK_KEY_LEN (4 + SNAP_GC_LEN)
int diff_replicas_learn(diff_ctx *c);

/* classify.c */
int diff_classify(diff_ctx *c, or_error *err);
diff_finding *diff_add_finding(diff_result *r, diff_kind kind, int side);
int diff_add_export(diff_result *r, int side, int32_t item, int32_t row);

/* diff.c: a step done for each side, the two at once when `together` (fn touching only side s);
 * fn returns 0 or an or_code with err set. Returns the first side's failure, or 0. */
typedef int (*side_step)(diff_ctx *c, int s, or_error *err);
int diff_each_side(diff_ctx *c, side_step fn, bool together, or_error *err);

/* subjects.c: reads back the subjects of side s that diff_item_subject gives, once the findings and
 * exports are made (into the result's subjects[s], zeroed before); the two sides' files are read
 * at once. */
int diff_fetch_subjects(diff_ctx *c, int s, or_error *err);
void diff_subjects_free(diff_subjects *t);

/* verdict.c */
int diff_decide(diff_ctx *c, or_error *err);

#endif
