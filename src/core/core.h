/*
 * core.h: the common core shared by every module of ostrecon.
 *
 *  - errors:   or_error, filled by any function that can fail (0 ok, negative or_code)
 *  - logging:  leveled messages on stderr
 *  - helpers:  hex, GUIDs, FILETIME <-> ISO 8601, bounded buffers, atomic files
 *  - the snapshot model (snap_t) and its file form (JSON Lines, docs/SNAPSHOT.md)
 *
 * Ownership: what a `**out` receives belongs to the caller and has a `_free` that accepts NULL.
 * Strings inside a snap_t live in the snapshot's arena and die with it.
 */
#ifndef OSTRECON_CORE_H
#define OSTRECON_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

typedef enum {
	OR_OK = 0,
	OR_ERR_IO = -1,       /* a file or the network could not be read or written */
	OR_ERR_FORMAT = -2,   /* input is not what it claims to be, or is damaged */
	OR_ERR_NOTFOUND = -3, /* a file, folder or item does not exist */
	OR_ERR_AUTH = -4,     /* credentials refused */
	OR_ERR_PROTOCOL = -5, /* the server answered something we cannot use */
	OR_ERR_NOMEM = -6,
	OR_ERR_USAGE = -7,    /* wrong arguments */
	OR_ERR_TLS = -8,      /* certificate or TLS failure */
	OR_ERR_TIMEOUT = -9,
	OR_ERR_DENIED = -10,  /* access denied (impersonation, folder rights) */
	OR_ERR_LIMIT = -11,   /* a size or depth bound was exceeded */
	OR_ERR_MISMATCH = -12, /* two inputs that do not belong together (a cache and another mailbox) */
} or_code;

typedef struct {
	int code;          /* an or_code */
	char message[512]; /* for a person; never holds secrets */
} or_error;

/* Sets err (when not NULL) and returns code, so `return or_fail(err, OR_ERR_IO, ...)` reads well. */
int or_fail(or_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends context to an existing message: "reading folder X: <old message>". */
int or_wrap(or_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void or_error_clear(or_error *err);
const char *or_code_name(int code);

/* Exit codes shared by every command (documented in README.md and --help). */
enum {
	EXIT_OK = 0,         /* success; for diff/scan: in sync */
	EXIT_DIFFERENCES = 1,/* diff/scan: differences that need action were found */
	EXIT_INCOMPLETE = 2, /* output written, but parts could not be read (listed in it) */
	EXIT_ERROR = 3,      /* nothing useful could be produced (unreadable input, refused login …) */
	EXIT_USAGE = 64,     /* wrong arguments */
};

/* --------------------------------------------------------------- logging */

typedef enum { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2, LOG_DEBUG = 3 } log_level;

void log_set_level(log_level level);
log_level log_get_level(void);
void log_msg(log_level level, const char *prefix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Log files: every line up to LOG_VERBOSE (or the console's level, when higher) is also written,
 * with a UTC timestamp, to the process's log file (--log-file) and to the calling thread's own
 * (a batch's log of one mailbox). Files are opened owner-only, never through a symlink. */
typedef struct log_sink log_sink;
log_sink *log_sink_open(const char *path, bool append, or_error *err);
void log_sink_close(log_sink *s);
void log_set_file(log_sink *s);        /* the process's log file, or NULL */
void log_set_thread_sink(log_sink *s); /* this thread's, or NULL */
/* pthread_create, the new thread writing to the creating thread's log file. */
int or_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);
/* fn(a) on this thread while fn(b) runs on one of its own, both done on return; one after the
 * other when `together` is false or no thread can be made. Returns whether they ran together. */
bool or_run_two(void *(*fn)(void *), void *a, void *b, bool together);
#define log_error(...) log_msg(LOG_QUIET, "error: ", __VA_ARGS__)
#define log_warn(...) log_msg(LOG_NORMAL, "warning: ", __VA_ARGS__)
#define log_info(...) log_msg(LOG_NORMAL, "", __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, "", __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, "debug: ", __VA_ARGS__)

/* -------------------------------------------------------------- progress */

/* Progress of the long steps (reading a cache file, pulling a mailbox, a batch) on stderr: on a
 * terminal one line per running step, redrawn in place; with PROGRESS_JSON one JSON object per
 * line (docs/REPORT.md, "Progress") for wrappers. The mode is process-wide, like the log level.
 * AUTO shows text only when stderr is a terminal; TEXT shows it anyway (plain lines, a few seconds
 * apart, where stderr is not a terminal). Log messages clear the terminal lines before they print. */
typedef enum { PROGRESS_AUTO = 0, PROGRESS_NEVER, PROGRESS_TEXT, PROGRESS_JSON } progress_mode;
void progress_set_mode(progress_mode m);
progress_mode progress_get_mode(void);
/* "auto", "always" (or "text"), "never", "json"; 0 ok, -1 anything else. */
int progress_mode_parse(const char *text, progress_mode *out);

#define PROGRESS_MAX_COUNTS 3
typedef struct {
	const char *name; /* "folders", "messages", "items", "mailboxes" (static) */
	int64_t done;
	int64_t total;    /* -1 when unknown */
} progress_count;

typedef struct {
	const char *phase;  /* what the step does now ("folders", "messages", "checksums"), or NULL */
	progress_count count[PROGRESS_MAX_COUNTS];
	int n_count;
	int eta_count;      /* the count whose rate gives the time left; -1 for none */
	int64_t bytes;      /* bytes read so far (a rate in MB/s is shown), -1 when not measured */
	int64_t requests;   /* requests made, -1 when not applicable (and so below) */
	int64_t retries;    /* requests retried so far */
	int64_t waiting;    /* requests waiting to be retried now (throttling, back-off) */
	int64_t running;    /* jobs running */
	int64_t failed;     /* jobs failed so far */
} progress_state;

/* Every field "not applicable": no counts, -1 elsewhere. */
void progress_state_init(progress_state *st);
/* Adds a count; returns its index. */
int progress_state_count(progress_state *st, const char *name, int64_t done, int64_t total);

typedef struct progress_task progress_task;
/* Starts a step named `name` ("cache", "server", "batch"; static). NULL when progress is not shown
 * (every function below accepts NULL). Thread-safe. */
progress_task *progress_start(const char *name);
/* The step's state now; shown at most a few times a second (JSON: once a second). */
void progress_update(progress_task *t, const progress_state *st);
/* The final state, always shown (JSON: an "end" event); frees t. With st NULL the step stopped
 * early (an error): its line goes (JSON: a "stopped" event). */
void progress_finish(progress_task *t, const progress_state *st);
/* Internal to src/core: log_msg clears the terminal's progress lines before it prints (they are
 * drawn again at the next update). */
void progress_before_log(void);

/* --------------------------------------------------------------- helpers */

/* Writes 2*len lowercase hex digits and a NUL into out (size >= 2*len+1). */
void hex_encode(const uint8_t *data, size_t len, char *out);
/* Decodes exactly 2*max digits or fewer; returns bytes written or -1 on a bad digit/odd length. */
int hex_decode(const char *hex, uint8_t *out, size_t max);
/* The same for the n characters at hex (no NUL needed). */
int hex_decode_n(const char *hex, size_t n, uint8_t *out, size_t max);
/* Base64, standard or URL-safe alphabet, padding optional, whitespace skipped: the byte count, or -1
 * for anything that is not base64 or does not fit in max bytes. */
int b64_decode(const char *text, uint8_t *out, size_t max);
/* The same on the len bytes at text (no NUL needed; a NUL among them is not base64). */
int b64_decode_n(const char *text, size_t len, uint8_t *out, size_t max);
/* The general decoder alone, without the fast loop of whole groups: for tests that hold the two
 * equal. */
int b64_decode_slow(const char *text, size_t len, uint8_t *out, size_t max);
/* Writes code point cp (at most 0x10FFFF) as UTF-8 at w; returns the byte after it (1 to 4 written). */
char *utf8_put(char *w, uint32_t cp);
/* One escape of a JSON string: p is the byte after its backslash, end the end of the string.
 * Writes the text it stands for at *w (advancing *w; never more bytes than the escape takes) and
 * returns the byte after the escape; NULL, with nothing written, for an escape the caller does not
 * take: an unknown letter, \u without four hex digits, \u0000, a lone surrogate, and any surrogate
 * when `pairs` is false (with it true, a high and a low surrogate in a row make one code point). */
const char *json_escape_decode(const char *p, const char *end, bool pairs, char **w);
/* GUID as stored on disk (little-endian first three fields) -> "6aa62d7a-..." text (37 bytes). */
void guid_format(const uint8_t guid[16], char out[37]);
int guid_parse(const char *text, uint8_t guid[16]);

/* FILETIME (100 ns since 1601-01-01 UTC) <-> ISO 8601 UTC. 0 means "absent". */
#define FILETIME_UNIX_EPOCH INT64_C(116444736000000000)
/* filetime_format returns the length of the text it wrote. */
size_t filetime_format(int64_t ft, char out[32]);
int filetime_parse(const char *iso, int64_t *ft);
/* The same on the len bytes at text (no NUL needed; a NUL among them is no date). */
int filetime_parse_n(const char *text, size_t len, int64_t *ft);
/* strptime alone for the date and time, without the fast paths for the canonical forms: for
 * tests that hold the two equal. */
int filetime_parse_slow(const char *iso, int64_t *ft);
int64_t filetime_now(void);

/* A growable byte buffer with a size cap (0 = no cap beyond memory). */
typedef struct {
	char *data;
	size_t len, cap, limit;
} or_buf;
int buf_append(or_buf *b, const void *data, size_t len);
int buf_printf(or_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(or_buf *b);

/* Appends one zeroed element to a growable array (*arr holds *n of *cap elements of `elem`
 * bytes, doubling as needed). Returns the new element, or NULL when out of memory (the array is
 * left as it was). */
void *or_append(void **arr, size_t *n, size_t *cap, size_t elem);

/* Large blocks (block.c): from 2 MiB on, mapped on their own on transparent huge pages (one fault
 * per 2 MiB touched instead of one per 4 KiB), smaller ones on the heap. Free them with
 * or_block_free only. or_block_alloc gives n zeroed bytes, NULL when out of memory;
 * or_block_realloc keeps the first bytes up to the smaller size (the rest is unspecified; p may be
 * NULL) and returns NULL, leaving p as it was, when out of memory; or_block_free accepts NULL. */
void *or_block_alloc(size_t n);
void *or_block_realloc(void *p, size_t n);
void or_block_free(void *p);

/* A 64-bit hash of n bytes (util.c), eight bytes a step: for hash tables, and where two strings
 * are compared by their hashes alone. */
uint64_t or_hash(const void *p, size_t n);

/* Bounded copy: always NUL-terminates, returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Parses a whole decimal integer in [min,max]; -1 on anything else. */
int parse_long(const char *text, long min, long max, long *out);

/* Crash-safe output: a temporary file beside `path`, renamed over it on commit. Owner-only mode.
 * path "-" means stdout; an existing output that is not a regular file (a device, a FIFO,
 * /dev/stdout) is written in place: neither is atomic. */
typedef struct {
	FILE *fp;
	char *path, *tmp;
	char *buf; /* fp's buffer (malloc'd) */
	bool is_stdout;
	bool in_place;
} atomic_file;
int atomic_open(atomic_file *af, const char *path, or_error *err);
int atomic_commit(atomic_file *af, or_error *err); /* flush, fsync, rename */
void atomic_abort(atomic_file *af);                /* removes the temporary file */
/* Opens an input file for reading ("-" is stdin), saying plainly what is wrong with it: missing,
 * a folder, unreadable. `what` names it in messages ("snapshot", "report", "manifest"). */
FILE *or_open_input(const char *path, const char *what, or_error *err);

/* On SIGINT, SIGTERM and SIGHUP: remove the temporary files of atomic outputs in progress, say
 * so, and exit 128 + the signal's number (130, 143, 129). */
void or_cleanup_on_signals(void);
/* A temporary file written some other way than atomic_file (the .pst writer's): removed on those
 * signals too until it is unregistered (renamed into place or removed). */
void or_temp_register(const char *path);
void or_temp_unregister(const char *path);
/* What the run is doing, for that message ("the pull of alice@example.com"). */
void or_set_activity(const char *what);

/* JSON string writer: quotes and escapes; invalid UTF-8 becomes U+FFFD. */
void json_put_string(FILE *fp, const char *s);

/* ------------------------------------------------------- snapshot model */

#define SNAP_KEY_LEN 22 /* 16-byte replica GUID + 6-byte global counter */
#define SNAP_GC_LEN 6

typedef enum {
	KEY_NONE = 0,    /* the source has no key for this object */
	KEY_SOURCE_KEY,  /* PidTagSourceKey (0x65E0) read as such */
	KEY_REPLICA,     /* PRQ_ID_SECURE4 + replid resolved through the replica table */
	KEY_GC_ONLY,     /* PRQ_ID_SECURE4 with an unresolved replid: gc only */
	KEY_ENTRY_ID,    /* decoded from an entry id (EWS ItemId/FolderId) */
	KEY_ORIGIN_COUNT
} snap_key_origin;
const char *snap_key_origin_name(snap_key_origin o);
int snap_key_origin_parse(const char *name, snap_key_origin *out);

typedef enum { SRC_UNKNOWN = 0, SRC_OST, SRC_PST, SRC_EWS, SRC_FIXTURE, SRC_GRAPH } snap_source;
const char *snap_source_name(snap_source s);

typedef struct {
	const uint8_t *data; /* arena */
	uint32_t len;
} snap_bin;

/* Identity shared by folders and items. */
typedef struct {
	uint8_t key[SNAP_KEY_LEN];
	uint8_t gc[SNAP_GC_LEN];
	int32_t replid;   /* -1 when absent */
	uint8_t has_key, has_gc;
	uint8_t origin;   /* snap_key_origin */
} snap_ident;

/* Fields whose value held characters XML 1.0 forbids (a server's &#x0;, &#x10;, ...), each
 * replaced by U+FFFD when read: bits of snap_folder.repaired and snap_item.repaired. */
enum {
	SNAP_REPAIRED_NAME = 1u << 0,
	SNAP_REPAIRED_CLASS = 1u << 1,
	SNAP_REPAIRED_SUBJECT = 1u << 2,
	SNAP_REPAIRED_MESSAGE_ID = 1u << 3,
	SNAP_REPAIRED_ALL = (1u << 4) - 1
};
/* The field name of one SNAP_REPAIRED_* bit ("name", "class", "subject", "message_id"). */
const char *snap_repaired_name(unsigned bit);

typedef struct {
	const char *id, *parent_id; /* parent_id NULL for the top folder */
	const char *name, *path, *cls, *role;
	snap_ident ident;
	int64_t content_count, unread_count, assoc_count; /* -1 when absent */
	snap_bin change_key, pcl;
	uint8_t repaired;           /* SNAP_REPAIRED_* */
} snap_folder;

/* (Fields ordered so that the record has no padding: a million of them are held per side.) */
typedef struct {
	const char *id, *folder_id;
	const char *cls, *subject, *message_id;
	int64_t received, sent, created, modified; /* FILETIME, 0 when absent */
	int64_t msg_flags, size;                   /* -1 when absent */
	snap_bin change_key, pcl;
	snap_ident ident;
	int8_t read, flag_status, importance;      /* -1 when absent */
	uint8_t associated;
	uint8_t repaired;                          /* SNAP_REPAIRED_* */
} snap_item;

typedef enum { ERR_SCOPE_FILE = 0, ERR_SCOPE_FOLDER, ERR_SCOPE_ITEM } snap_err_scope;

typedef struct {
	uint8_t scope; /* snap_err_scope */
	const char *id, *folder_id, *path, *code, *message;
} snap_error;

typedef struct {
	const char *folder_id, *path, *what; /* what: "content_count" or "unread_count" */
	int64_t stored, found;
} snap_count_mismatch;

typedef struct {
	int32_t replid;
	uint8_t guid[16];
	const char *origin; /* how the mapping was learned */
} snap_replica;

typedef struct {
	bool present;
	bool corrupted;
	int64_t orphan_items, recovered_items, unreadable_items, unreadable_folders;
	snap_count_mismatch *mismatches;
	size_t n_mismatches;
	snap_replica *replicas;
	size_t n_replicas;
	uint8_t (*replica_guids)[16];
	size_t n_replica_guids;
	/* The NDB scan of page and block checksums (docs/SNAPSHOT.md). ndb_scan NULL: no scan recorded,
	 * and the counts below are not written. */
	const char *ndb_scan;   /* "complete", "partial", "off", "unsupported" */
	const char *ndb_format; /* "ansi", "unicode", "unicode-4k"; NULL when not scanned */
	int64_t pages_checked, blocks_checked, bad_pages, bad_blocks;
} snap_integrity;

typedef struct {
	snap_source source;
	const char *mailbox, *file, *file_format, *encryption, *server, *server_version, *tool;
	const char *store_name; /* a cache file: its message store's display name (0x3001), or NULL */
	int64_t file_size; /* -1 when absent */
	int64_t captured;  /* FILETIME */
	const char *options_json; /* a JSON object as text, or NULL */
} snap_header;

typedef struct snap_arena snap_arena;

/* An item as a comparison reads it (snap_load_compared): 88 bytes where a snap_item takes 168, as a
 * million of them are held per side. Strings and binaries are offsets into the heap of the
 * snap_compared that holds it, 0 when absent: a string is NUL-terminated there, a binary is its
 * length (4 bytes, host order) followed by its bytes (snap_cstr, snap_cbin).
 *
 * The subject is compared by its hash (snap_text_hash; an absent subject hashes as an empty one)
 * and its text is read only for a report. It is kept in the heap (subject_at its offset, 0 when
 * absent), or, where the items were loaded from a file (snap_compared.subjects_in_file), left
 * there: subject_at is then the place of the item's line (SNAP_LINE_AT), and
 * snap_compared_subjects reads the subjects a report needs back from it. */
typedef struct {
	uint32_t id, folder_id, cls;
	uint32_t change_key, pcl;
	int64_t date;          /* received, else sent, else created, else modified (FILETIME); 0 none */
	uint64_t subject_hash;
	uint64_t subject_at;
	snap_ident ident;
	int8_t read;           /* the read bit of msg_flags when present, else `read`; -1 unknown */
	int8_t flag_status, importance; /* -1 when absent */
	uint8_t associated : 1;
	uint8_t id_delta : 1;  /* id is kept as a tail after an earlier id's head: snap_citem_id */
} snap_citem;

/* A line of a file as subject_at holds it: its offset (under 1 TiB) and its length (1 to 16 MiB,
 * the longest line read). */
#define SNAP_LINE_AT(off, len) (((uint64_t)(off) << 24) | (uint64_t)((len) - 1))
#define SNAP_LINE_OFF(at) ((at) >> 24)
#define SNAP_LINE_LEN(at) ((size_t)((at) & 0xffffff) + 1)

/* The hash a subject is compared by (64 bits: two different subjects share one with a chance of
 * 2^-64); NULL hashes as "". */
uint64_t snap_text_hash(const char *s, size_t n);

/* The items of a snapshot in that form, with the heap of their strings (offsets under 4 GiB). */
typedef struct {
	snap_citem *items;
	size_t n_items, cap_items;
	char *heap;
	size_t heap_len, heap_cap;
	uint32_t *intern;      /* while built: offsets of short strings, open addressing; 0 empty */
	size_t intern_cap, intern_len;
	uint32_t id_base;      /* while built: the last id kept whole (snap_compared_id), 0 none */
	size_t id_base_len;
	/* Loaded from a regular file: the subjects stayed there (snap_citem); fd is that file, open
	 * until snap_compared_release, and path names it in errors. */
	bool subjects_in_file;
	int fd;
	char *path;
} snap_compared;

/* Item ids of a server are long (an EWS or Graph id: about 150 characters). The ids of one
 * folder differ only in their last dozen or so, and those of two folders in their last 50 or so
 * (the folder's counter, then the item's). An id that shares at least SNAP_ID_HEAD bytes with the
 * last id kept whole, and differs in at most SNAP_ID_TAIL after that, is kept as that id's offset,
 * the length shared and its own tail. Such an id is shorter than SNAP_ID_TEXT. */
#define SNAP_ID_HEAD 32
#define SNAP_ID_TAIL 64
#define SNAP_ID_TEXT 1024

/* An item's id: where it lies in the heap, or put together in buf (SNAP_ID_TEXT bytes); NULL when
 * it has none. */
const char *snap_citem_id(const snap_compared *c, const snap_citem *it, char buf[SNAP_ID_TEXT]);

static inline const char *snap_cstr(const snap_compared *c, uint32_t off)
{
	return off ? c->heap + off : NULL;
}

static inline snap_bin snap_cbin(const snap_compared *c, uint32_t off)
{
	snap_bin b = {NULL, 0};
	if (off) {
		memcpy(&b.len, c->heap + off, sizeof b.len);
		b.data = (const uint8_t *)c->heap + off + sizeof b.len;
	}
	return b;
}

typedef struct {
	snap_header hdr;
	snap_folder *folders;
	size_t n_folders, cap_folders;
	snap_item *items;
	size_t n_items, cap_items;
	snap_error *errors;
	size_t n_errors, cap_errors;
	snap_integrity integrity;
	snap_arena *arena;
	/* A snapshot loaded by snap_load_compared: its items in compact form; items is then NULL and
	 * n_items counts them. NULL for any other snapshot. */
	snap_compared *compared;
} snap_t;

int snap_new(snap_t **out, or_error *err);
void snap_free(snap_t *s);
/* Empties a snapshot as snap_new makes it, keeping some of its memory for the next use (a
 * protocol's page of records after page): the records and strings are gone. */
void snap_clear(snap_t *s);
/* Copies into the snapshot's arena; NULL stays NULL. */
const char *snap_strdup(snap_t *s, const char *str);
/* The n bytes at str (no NUL among them) as a string in the arena; short ones are interned. */
const char *snap_strndup(snap_t *s, const char *str, size_t n);
/* The same, never interned: for strings nearly always unique (subjects, ids), which would only
 * grow the intern table. */
const char *snap_strndup_unique(snap_t *s, const char *str, size_t n);
snap_bin snap_bindup(snap_t *s, const uint8_t *data, size_t len);
/* Appends a zeroed record (absent values preset) and returns it, or NULL when out of memory. */
snap_folder *snap_add_folder(snap_t *s);
snap_item *snap_add_item(snap_t *s);
snap_error *snap_add_error(snap_t *s, snap_err_scope scope, const char *code, const char *message);
void snap_folder_init(snap_folder *f);
void snap_item_init(snap_item *it);
void snap_ident_init(snap_ident *id);

/* ------------------------------------------------- snapshot file form */

/* Streaming writer: header first, then records in any order, then snap_writer_finish. */
typedef struct {
	atomic_file af;
	size_t n_folders, n_items, n_errors;
	bool header_done;
} snap_writer;

int snap_writer_open(snap_writer *w, const char *path, or_error *err);
/* Whether the file form can express a time (1601 to 9999); other times are written as absent. */
bool snap_time_writable(int64_t ft);
void snap_write_header(snap_writer *w, const snap_header *h);
void snap_write_folder(snap_writer *w, const snap_folder *f);
void snap_write_item(snap_writer *w, const snap_item *it);
/* Appends the line snap_write_item would write for an item to a buffer (items held before they
 * are written: src/pull's parts). 0, or OR_ERR_NOMEM or the buffer's OR_ERR_LIMIT. */
int snap_item_text(or_buf *b, const snap_item *it);
/* Writes n_items items' lines as snap_item_text gave them (len bytes). */
void snap_write_item_text(snap_writer *w, const char *text, size_t len, size_t n_items);
void snap_write_error(snap_writer *w, const snap_error *e);
void snap_write_integrity(snap_writer *w, const snap_integrity *in);
/* Writes the end line and commits the file atomically. */
int snap_writer_finish(snap_writer *w, or_error *err);
void snap_writer_abort(snap_writer *w);

/* Writes a whole in-memory snapshot. */
int snap_save(const snap_t *s, const char *path, or_error *err);
/* Reads a snapshot file ("-" for stdin). Rejects a file without its end line or with counts that
 * disagree. Bounded: lines over 16 MiB are refused. */
int snap_load(snap_t **out, const char *path, or_error *err);
/* snap_load for a comparison: the same checks, the items kept only as far as a comparison or its
 * report reads them, as snap_citem records in s->compared (s->items stays NULL). Such a snapshot is
 * not for writing back. */
int snap_load_compared(snap_t **out, const char *path, or_error *err);

/* Building a snap_compared (src/core/snapshot_compared.c). Each returns 0, OR_ERR_NOMEM, or
 * OR_ERR_LIMIT when the heap would pass 4 GiB (or the items 2^31). */
/* Appends an item, zeroed with absent values preset; *out points at it until the next append. */
int snap_compared_add(snap_compared *c, snap_citem **out);
/* Keeps an item's id (see SNAP_ID_HEAD): sets it->id and it->id_delta. */
int snap_compared_id(snap_compared *c, snap_citem *it, const char *id, size_t n);
/* Room for about `items` items and `heap` bytes of strings before the first is added (a guess
 * from the file's size): address space only, each page taken when first written, so the arrays
 * start as large blocks instead of growing through the heap. A failure is not an error: they
 * grow as they fill. */
void snap_compared_reserve(snap_compared *c, size_t items, size_t heap);
/* Copies n bytes (no NUL among them) into the heap as a string; *off its offset. Interned: one
 * copy of each distinct string (for the few that repeat: classes, folder ids); else a copy each
 * time. */
int snap_compared_str(snap_compared *c, const char *str, size_t n, bool interned, uint32_t *off);
/* Copies a binary; an empty one is absent (*off 0). */
int snap_compared_bin(snap_compared *c, const uint8_t *data, size_t len, uint32_t *off);
/* Drops what was kept only while building (the intern table). */
void snap_compared_done(snap_compared *c);
/* The compact form of the items of a snapshot loaded in full or made in memory, into *c. */
int snap_compared_build(const snap_t *s, snap_compared *c, or_error *err);
/* Frees what c holds (not c itself); c may be all zeros. */
void snap_compared_release(snap_compared *c);
/* The subject of an item whose subject is in the heap (!c->subjects_in_file), NULL when absent. */
const char *snap_citem_subject(const snap_compared *c, const snap_citem *it);
/* Reads back the subjects of items[0..n) (indexes in ascending order) of a set whose subjects stayed
 * in its file, calling put(ctx, k, text, len) for items[k] (text NULL when absent; valid during the
 * call). Each is checked against the hash kept at load: a file changed since is an error. 0, put's
 * non-zero return, or OR_ERR_IO / OR_ERR_FORMAT / OR_ERR_NOMEM with err set. Reads in large pieces
 * where the lines are close together. */
typedef int (*snap_subject_fn)(void *ctx, size_t k, const char *text, size_t len);
int snap_compared_subjects(const snap_compared *c, const int32_t *items, size_t n, snap_subject_fn put, void *ctx,
                           or_error *err);
/* The date of an item: received, else sent, else created, else modified. */
int64_t snap_item_date(const snap_item *it);

/* For a snapshot kept in memory instead of written and loaded back (a scan's temporary ones): make
 * a record what snap_load would read back from the file form, which leaves out what it cannot
 * express (times beyond 1601-9999, negative counts, empty binaries) and keeps the options object
 * compact with sorted keys. snap_as_loaded does the header, folders and integrity line; it
 * refuses (OR_ERR_FORMAT) a folder without an id, as the reader refuses its line. */
void snap_item_as_loaded(snap_item *it);
int snap_as_loaded(snap_t *s, or_error *err);

#endif
