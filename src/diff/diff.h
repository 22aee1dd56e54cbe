/*
 * diff.h: the reconciliation engine. Pure: no I/O, no printing, no clock.
 *
 * Given two snapshots (side 0 and side 1: usually server and cache, but any two), pairs their
 * folders and items, classifies every difference (docs/REPORT.md lists the kinds and the rules),
 * decides the verdict and the advice.
 *
 * The sides are symmetric: every per-side value is an array of two indexed by side, "the other
 * side" is 1 - side. Whether a side is a server capture or a cache file only matters for the rules
 * that are about caches (sync window, damage, export before rebuilding).
 *
 * Ownership: diff_run fills a diff_result that the caller frees with diff_result_free. The result
 * borrows both snapshots: they must outlive it. Strings in it are static or point into the snapshots.
 */
#ifndef OSTRECON_DIFF_H
#define OSTRECON_DIFF_H

#include "core/core.h"

/* ------------------------------------------------------------------ options */

typedef enum { DIFF_SIDE_SERVER = 0, DIFF_SIDE_CACHE = 1 } diff_side_kind;

typedef enum {
	DIFF_WINDOW_INFER = 0, /* infer the sync window from the data (the default) */
	DIFF_WINDOW_GIVEN,     /* days and/or months given */
	DIFF_WINDOW_ALL,       /* the cache keeps all mail: nothing is outside a window */
} diff_window_mode;

typedef struct {
	diff_window_mode mode;
	int days, months; /* DIFF_WINDOW_GIVEN: the window is months + days before the reference time */
} diff_window;

typedef struct {
	diff_window window;
	bool compare_associated; /* pair associated (FAI) items among themselves; default: count only */
	/* Overrides of which side is a cache; -1 = from the snapshot's source (ost/pst = cache). */
	int side_kind[2];
} diff_options;

void diff_options_init(diff_options *o);
/* Parses "12m", "90d", "2w", "1y", "all" or "infer"; 0 ok, -1 malformed. */
int diff_window_parse(const char *text, diff_window *out);
/* Writes the window in the same notation ("12m", "90d", "all", "infer"). */
void diff_window_format(const diff_window *w, char *out, size_t size);

/* ------------------------------------------------------------------ PCLs */

typedef enum {
	PCL_EQUAL = 0,    /* each includes the other */
	PCL_A_NEWER,      /* A includes B strictly */
	PCL_B_NEWER,      /* B includes A strictly */
	PCL_CONFLICT,     /* neither includes the other */
	PCL_INVALID,      /* one of them cannot be parsed */
} diff_pcl_order;

/* True when PCL `a` includes PCL `b`: every XID of b has an XID in a with the same GUID and an
 * equal or greater counter. A PCL is a sequence of (1-byte length, XID) entries; an XID is a
 * 16-byte GUID and a big-endian counter of (length - 16) bytes. Returns -1 when malformed. */
int diff_pcl_includes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
diff_pcl_order diff_pcl_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ------------------------------------------------------------------ result */

/* How a folder or item pair was made. */
typedef enum {
	PAIR_NONE = 0,  /* unpaired */
	PAIR_KEY,       /* same source key */
	PAIR_GC_ROLE,   /* same global counter and role (folders whose replid has no GUID) */
	PAIR_GC_ONLY,   /* same global counter, unique on the other side */
	PAIR_ROLE,      /* same distinguished role, unique on both sides */
	PAIR_PATH,      /* same path under the mailbox root or the IPM subtree */
	PAIR_HEURISTIC, /* keyless items: same class, subject, date and folder path */
} diff_pair_method;
const char *diff_pair_method_name(diff_pair_method m);

typedef enum {
	FIND_FOLDER_MISSING = 0, /* side: where it is missing */
	FIND_FOLDER_RENAMED,     /* side: -1 */
	FIND_FOLDER_MOVED,
	FIND_ITEM_MISSING,       /* side: where it is missing */
	FIND_ITEM_CHANGED,       /* side: the newer side where change lists tell, else -1 */
	FIND_ITEM_MOVED,
	FIND_DUPLICATE_KEY,      /* side: the side holding two objects with one key */
	FIND_ITEM_UNREADABLE,    /* side: the side that could not read it */
	FIND_FOLDER_UNREADABLE,
	FIND_FILE_DAMAGED,       /* corrupted flag, orphans, unreadable parts of a cache file */
	FIND_COUNT_MISMATCH,     /* a cache folder's stored count disagrees with its contents */
	FIND_SOURCE_INCOMPLETE,  /* a server folder (or the capture) could not be read */
	FIND_KIND_COUNT
} diff_kind;
const char *diff_kind_name(diff_kind k);
/* Integrity findings describe one side's health rather than a difference between the sides. */
bool diff_kind_is_integrity(diff_kind k);

/* Why a difference is expected (or, for REASON_NONE, that it is not). */
typedef enum {
	REASON_NONE = 0,
	REASON_SYNC_WINDOW,     /* mail older than the sync window (given or inferred) */
	REASON_LOCAL_CONTENT,   /* Sync Issues logs: content stays local */
	REASON_CLIENT_FOLDER,   /* search folders, Finder, Views, Reminders, spooler, ...: client-side */
	REASON_NON_IPM,         /* Recoverable Items and other non-IPM folders: not cached */
	REASON_PUBLIC,          /* Root - Public: public folder favourites, cached or not by profile */
	REASON_SPECIAL_NAME,    /* a special folder's display name follows the mailbox/client language */
	REASON_TOP_FOLDER,      /* the tops of the two trees are named differently by design */
	REASON_SAME_ON_BOTH,    /* the same unreadable part on both sides (a snapshot against itself) */
	REASON_COUNT
} diff_reason;
const char *diff_reason_name(diff_reason r);
const char *diff_reason_text(diff_reason r);

/* Item properties compared (bits of diff_finding.props). Size is never compared. */
enum {
	PROP_READ = 1u << 0,
	PROP_FLAG = 1u << 1,
	PROP_SUBJECT = 1u << 2,
	PROP_CLASS = 1u << 3,
	PROP_IMPORTANCE = 1u << 4,
	PROP_CHANGE_KEY = 1u << 5,
	PROP_FOLDER_NAME = 1u << 6,
};

typedef enum { NEWER_UNKNOWN = -1, NEWER_SIDE0 = 0, NEWER_SIDE1 = 1, NEWER_CONFLICT = 2, NEWER_SAME = 3 } diff_newer;

typedef struct {
	diff_kind kind;
	int side;                /* see diff_kind; -1 when about both */
	int32_t folder[2];       /* folder index on each side, -1 when none */
	int32_t item[2];         /* item index on each side, -1 when none */
	int32_t row;             /* index into diff_result.rows, -1 when none */
	uint8_t pair;            /* diff_pair_method of the item or folder pair */
	uint8_t expected;        /* classified, not raised */
	uint8_t reason;          /* diff_reason */
	uint8_t associated;      /* about associated (FAI) items */
	uint8_t summary;         /* sums the items past DIFF_DETAIL_MAX of this kind in this folder */
	uint32_t props;          /* PROP_* that differ (item_changed, folder_renamed) */
	int8_t newer;            /* diff_newer, from change lists; item_changed/moved */
	int64_t count;           /* objects covered: 1, or more for aggregated expected differences */
	int64_t date_min, date_max; /* FILETIME range of the items covered (0 when unknown) */
	int32_t error;           /* index into that side's snapshot errors (count_mismatch: into its
	                          * integrity mismatches), -1 when none */
	int32_t second;          /* duplicate_key: the second folder or item with the key, -1 */
	int64_t stored, found;   /* count_mismatch; file_damaged: orphan items in `found` */
	const char *what;        /* count_mismatch: which count; file_damaged: which sign */
} diff_finding;

/* One line of the per-folder table: a folder pair, or a folder on one side only. */
typedef struct {
	int32_t folder[2];       /* -1 when absent on that side */
	uint8_t pair;            /* diff_pair_method */
	uint8_t reason;          /* diff_reason when the folder is one-sided or compared loosely by design */
	uint8_t mail;            /* a mail folder (the sync window applies) */
	uint8_t unreadable[2];   /* the side could not read this folder (or part of it) */
	int64_t count[2];        /* normal items found on each side */
	int64_t assoc[2];        /* associated items found on each side */
	int64_t matched;         /* pairs with no difference */
	int64_t differing;       /* pairs that differ (changed or moved) */
	int64_t missing[2];      /* items missing on side s (present on the other) */
	int64_t expected;        /* item differences classified as expected */
	int64_t unverified;      /* items that could not be checked (the other side's folder unreadable) */
	int64_t oldest[2];       /* oldest mail date found on each side (FILETIME, 0 when none) */
	int64_t findings;        /* unexpected findings about this folder */
	int64_t keyless[2];      /* normal items on each side with neither source key nor counter: the
	                          * source gave none (a PST, a server without PidTagSourceKey and with
	                          * ids of an unknown layout); they pair only by the heuristic */
} diff_row;

typedef enum {
	VERDICT_IN_SYNC = 0,
	VERDICT_IN_SYNC_EXCEPT_EXPECTED,
	VERDICT_RESYNC_FOLDERS,
	VERDICT_REBUILD_OST,
	VERDICT_INCOMPLETE,
} diff_verdict;
const char *diff_verdict_name(diff_verdict v);
/* The process exit code of a verdict: 0 in sync, 1 action needed, 2 incomplete. */
int diff_verdict_exit_code(diff_verdict v);

/* At most this many individual findings of one kind (missing on a side, changed, moved) per folder;
 * the rest are summed into one finding with a count and a date range, so a report stays bounded. */
#define DIFF_DETAIL_MAX 1000

/* Thresholds (docs/REPORT.md, "Thresholds", for the reasoning). The differences are widespread
 * when they touch more than DIFF_RESYNC_MAX_FOLDERS folders and are at least
 * DIFF_WIDESPREAD_SHARE_PERMILLE per mille of the objects compared (folders and items: a handful
 * of stragglers in many folders is no reason to rebuild); */
#define DIFF_RESYNC_MAX_FOLDERS 3
#define DIFF_WIDESPREAD_SHARE_PERMILLE 10
/* ... or when more than DIFF_WIDESPREAD_PERCENT % of the items compared differ, once there are at
 * least DIFF_WIDESPREAD_MIN_ITEMS of them, wherever they are. */
#define DIFF_WIDESPREAD_PERCENT 10
#define DIFF_WIDESPREAD_MIN_ITEMS 1000

typedef struct {
	diff_window_mode mode;   /* as used: given, inferred (mode INFER) or all */
	bool applied;            /* a cutoff was used */
	int days, months;        /* given */
	int64_t reference;       /* the time the window counts back from (the cache's capture) */
	int64_t cutoff;          /* mail before this is outside the window */
	int64_t inferred_days;   /* inferred: reference - cutoff in days */
	int64_t items;           /* server-only mail classified as outside the window */
	int cache_side;          /* the side that is the cache, -1 when the rule does not apply */
} diff_window_result;

typedef struct {
	diff_verdict verdict;
	bool damaged;             /* a cache side is damaged */
	bool incomplete;          /* a part of some side could not be read */
	bool widespread;
	size_t affected_folders;  /* rows with unexpected differences */
	int64_t differing_objects; /* unexpected differences: items (missing, changed, moved, duplicated)
	                            * and folders (missing, renamed, moved) */
	int64_t compared_objects;  /* items and folders compared (the larger side) */
	int32_t *resync_rows;     /* rows to resynchronize (VERDICT_RESYNC_FOLDERS) */
	size_t n_resync_rows;
	const char *title;        /* one line for a person */
	const char *const *steps; /* NULL-terminated list of steps (static) */
	const char *why;          /* the rule that decided (static) */
} diff_advice;

/* An item that exists only in a cache (a rebuild would lose it). */
typedef struct {
	int side;
	int32_t item;
	int32_t row;
	uint8_t unverified; /* the server folder could not be read: it may or may not be there */
} diff_export;

typedef struct {
	const snap_t *snap[2];     /* borrowed */
	/* Each side's items as compared: the snapshot's own compact form (snap_load_compared), or
	 * one made for the comparison and freed with the result. Item indexes index these. */
	const snap_compared *cmp[2];
	diff_side_kind kind[2];
	diff_options options;
	diff_row *rows;
	size_t n_rows;
	diff_finding *findings;
	size_t n_findings, cap_findings;
	diff_export *exports;
	size_t n_exports, cap_exports;
	diff_window_result window;
	diff_advice advice;
	/* totals */
	int64_t items[2], assoc[2], matched, differing, missing[2], expected, unverified;
	int64_t paired;            /* normal (not associated) items paired */
	int64_t lone[2];           /* normal items of side s found missing on the other side (real) */
	size_t unexpected;         /* unexpected findings (differences and integrity) */
	size_t expected_findings;
	size_t pairs_by[PAIR_HEURISTIC + 1];      /* item pairs by method */
	size_t folder_pairs_by[PAIR_HEURISTIC + 1];
} diff_result;

/* ------------------------------------------------------------------ the right two sides */

/* Whether the two sides are a cache and its mailbox, or two captures of one mailbox
 * (docs/REPORT.md, "Comparing the right two sides"). Comparing anything else gives a report that
 * means nothing (every item missing, every cache item "to export"): the caller stops unless told to
 * go on. */
typedef enum {
	DIFF_SIDES_OK = 0,
	DIFF_SIDES_PST,           /* a .pst compared with a server: a .pst is not a mailbox's cache */
	DIFF_SIDES_OTHER_MAILBOX, /* both sides name a mailbox, and not the same one */
	DIFF_SIDES_UNRELATED,     /* almost nothing pairs */
} diff_sides_problem;
const char *diff_sides_problem_name(diff_sides_problem p); /* "pst_as_cache", "other_mailbox", "unrelated" */

/* Almost nothing pairs: both sides have at least DIFF_UNRELATED_MIN_ITEMS items that could pair,
 * and fewer than DIFF_UNRELATED_PERCENT % of the smaller side's do. */
#define DIFF_UNRELATED_MIN_ITEMS 100
#define DIFF_UNRELATED_PERCENT 5

typedef struct {
	diff_sides_problem problem;
	int side;                /* DIFF_SIDES_PST: the .pst side */
	const char *mailbox[2];  /* the mailbox each side names (a cache: its store's own address first), or NULL */
	int64_t comparable[2];   /* items of each side that could pair: paired, or really missing on the other */
	int64_t paired;
} diff_sides;

void diff_check_sides(const diff_result *r, diff_sides *out);

/* Compares a (side 0) and b (side 1). 0 ok, negative or_code (out of memory, too large). */
int diff_run(const snap_t *a, const snap_t *b, const diff_options *opt, diff_result **out, or_error *err);
void diff_result_free(diff_result *r);

/* A label for a side: "server", "cache", or "A"/"B" when both sides are of one kind. */
const char *diff_side_label(const diff_result *r, int side);
/* The date an item is placed in time by: received, else sent, else created, else modified. */
int64_t diff_item_date(const snap_citem *it);

/* The compared properties of an item as the comparison reads them, a property absent from the
 * snapshot taking the value its absence means in MAPI (docs/REPORT.md, "Absent properties"):
 * read state from the read bit of the message flags when present (else `read`; -1 when neither
 * is known: every stored message has message flags, so their absence means the capture could not
 * tell); flag status 0 (not flagged) when absent; importance 1 (normal) when absent; the
 * subject (compared by its hash) "" when absent. */
int diff_item_read(const snap_citem *it);
int diff_item_flag_status(const snap_citem *it);
int diff_item_importance(const snap_citem *it);
/* The subject of item `item` of a side, NULL when absent: for any item of a side made in memory,
 * and for those the findings and exports name of a side loaded from a file, whose subjects stay
 * there until diff_run reads those back (snap_citem). */
const char *diff_item_subject(const diff_result *r, int side, int32_t item);
/* The suggested action for a finding, for a person (static text). */
const char *diff_finding_action(const diff_result *r, const diff_finding *f);
/* The normalized folder path of a row on a side (or the other side's when absent), e.g. "Inbox/sub1";
 * writes into out. */
void diff_row_path(const diff_result *r, const diff_row *row, char *out, size_t size);
/* The role of a row (either side's), or "" */
const char *diff_row_role(const diff_result *r, const diff_row *row);

#endif
