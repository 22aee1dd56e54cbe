/* internal.h: what the files of src/report share; not part of the module's interface. */
#ifndef OSTRECON_REPORT_INTERNAL_H
#define OSTRECON_REPORT_INTERNAL_H

#include "report.h"

#include <jansson.h>

/* A report is its JSON document: built from a diff result or loaded from a file. Text and HTML
 * are rendered from the document, so a saved report renders as the fresh one did.
 *
 * A built report keeps its findings out of the tree: each is held as its JSON text (as the saved
 * report writes it, indented as an element of "findings": REPORT_HELD_DEPTH), with what ordering
 * them takes (kind rank, expected, folder), and parsed again one at a time when rendered. Tens of thousands of findings
 * as a tree took over 200 MB (5 KB each), beside the two snapshots still in memory. A loaded
 * report has them in the tree ("findings"). The report_finding_* functions read either. */
typedef struct {
	size_t off, len;  /* the finding's text: ftext[part].data[off, off + len) */
	int32_t folder;   /* its "folder": index into report.ffolder, -1 when it has none */
	int16_t rank;     /* report_kind_rank of its kind */
	bool expected;
	uint8_t part;
} report_finding_ref;

/* The findings' text is written in up to this many parts, side by side on as many threads. */
#define REPORT_TEXT_PARTS 2

struct report {
	json_t *root;
	bool held;                /* the findings are the ones below, "findings" in root is empty */
	or_buf ftext[REPORT_TEXT_PARTS]; /* data: large blocks (report_dump_block) */
	report_finding_ref *fref;
	size_t n_fref;
	char **ffolder;           /* the findings' folders (redacted), one per folder table row */
	size_t n_ffolder;
};

/* dump.c: a writer of JSON text into a buffer, as jansson writes it with JSON_INDENT(1) |
 * JSON_PRESERVE_ORDER: from a tree (report_dump), or value by value (jw_*, for the findings, which
 * need no tree of their own). */
typedef struct {
	or_buf *out;
	bool block;     /* its memory is a large block (or_block_*), else buf_append's */
	int rc;         /* the first failure: OR_ERR_NOMEM, OR_ERR_LIMIT (nesting) */
	unsigned depth; /* jw_*: containers open */
	bool first[16]; /* jw_*: nothing written yet in the container open at each depth */
} report_writer;

/* Opens an object ('{') or an array ('['), where a value goes; jw_close closes it ('}', ']'). */
void jw_open(report_writer *w, char bracket);
void jw_close(report_writer *w, char bracket);
/* Starts the next member of the object open (its key) or the next element of the array open. */
void jw_key(report_writer *w, const char *key);
void jw_next(report_writer *w);
/* Values: a string (valid UTF-8: the caller checks) or null when s is NULL; integers; booleans. */
void jw_str(report_writer *w, const char *s);
void jw_int(report_writer *w, int64_t v);
void jw_bool(report_writer *w, bool v);

/* dump.c: appends v as json_dump_callback writes it with JSON_INDENT(1) | JSON_PRESERVE_ORDER |
 * JSON_ENCODE_ANY (v holds no cycles); 0, or -1 out of memory. */
int report_dump(const json_t *v, or_buf *out);
/* A finding's text as the saved report holds it, at the depth of the elements of its "findings"
 * (the whole text written at once), into a buffer whose memory is a large block (or_block_*: free
 * it with or_block_free): tens of MB for a large comparison. */
#define REPORT_HELD_DEPTH 2
int report_dump_held(const json_t *v, or_buf *out);

/* The findings of a report, built or loaded; i < report_finding_count. */
size_t report_finding_count(const report_t *rep);
bool report_finding_expected(const report_t *rep, size_t i);
int report_finding_rank(const report_t *rep, size_t i);
/* Its "folder" ("" when none); lives as long as the report. */
const char *report_finding_folder(const report_t *rep, size_t i);
/* The finding as JSON: a new reference (json_decref it), NULL when out of memory. */
json_t *report_finding_get(const report_t *rep, size_t i);

/* ---------------------------------------------------------------- redact.c */

typedef struct {
	const char *path, *role;
} red_role;

/* Redaction of one report build (report_options.redact); when off, every function passes its
 * string through. Borrows the diff result's strings: lives while the report is built. */
typedef struct {
	bool on;
	const uint8_t *key;
	size_t key_len;
	red_role *roles;        /* raw and normalized paths -> role, sorted by path */
	size_t n_roles;
	const char **words;     /* identifying strings error messages may quote, by first byte, longest first */
	size_t n_words;
	size_t first[256];      /* index of the first word starting with each byte (n_words: none) */
	char **owned;           /* strings made here (host names) */
	size_t n_owned, cap_owned;
} redactor;

/* row_paths: the normalized path of every row of r. */
int redactor_init(redactor *rd, const report_options *o, const diff_result *r, char *const *row_paths, or_error *err);
void redactor_free(redactor *rd);

/* ---------------------------------------------------------------- json.c and finding.c */

/* What building one report needs: the result, the options, the redaction, and two indexes. */
typedef struct {
	const diff_result *r;
	const report_options *o;
	redactor rd;
	char **row_path;       /* the normalized path of each row */
	int32_t *row_of[2];    /* the row of each folder of each side, -1 when none */
	bool direct;           /* findings written by report_finding_write (see there) */
} report_ctx;

/* What a finding is about, as its "paths", "ids", "second_id", "key" and item fields show it: each
 * side's folder path and id (NULL when none), the identity shown (NULL when none) and the item (the last side's
 * that has one, NULL when none) with its side's compared items. */
typedef struct {
	const char *path[2], *id[2];
	const snap_ident *ident;
	const snap_citem *item;
	const snap_compared *item_ci;
	int item_side;         /* the side of item, which is item_ci's item item_index */
	int32_t item_index;
	bool second;           /* a duplicate_key finding's second holder: its id in second_id */
	const char *second_id;
	char id_text[3][SNAP_ID_TEXT]; /* where an item's id is put together (snap_citem_id) */
} report_objects;
void report_finding_objects(const diff_result *r, const diff_finding *f, report_objects *o);

/* The "newer" value of an item_changed or item_moved finding. */
const char *report_newer_name(const diff_result *r, int newer);
/* Whether the findings of a build can be written without a tree: no redaction (whose strings
 * come as jansson values), and side labels that are distinct valid UTF-8 (else the object keyed by
 * label would keep one key, or none). */
bool report_finding_direct_ok(const report_ctx *b);
/* Appends finding f as json.c's finding_json builds it and report_dump writes it, byte for byte,
 * without the tree; *folder tells whether it has a "folder" string. 0, or the writer's failure. */
int report_finding_write(const report_ctx *b, const diff_finding *f, report_writer *w, bool *folder);
/* The whole string hashed (subjects, mailboxes, ids, file names); NULL stays NULL. */
json_t *red_string(const redactor *rd, const char *s);
/* A folder path, name by name ("Inbox/hmac:…"); NULL stays NULL. */
json_t *red_path(const redactor *rd, const char *path);
void red_path_text(const redactor *rd, const char *path, char *out, size_t size);
/* A folder name (of a folder with this role); NULL gives json null. */
json_t *red_name(const redactor *rd, const char *name, const char *role);
/* A URL: its scheme kept, the rest hashed. */
json_t *red_url(const redactor *rd, const char *url);
/* Free text (error messages): known identifying strings, addresses and URLs in it hashed. */
json_t *red_text(const redactor *rd, const char *s);
/* A capture's options (a JSON object as text): method names kept, other strings hashed. */
json_t *red_options(const redactor *rd, const char *options_json);

/* ---------------------------------------------------------------- text.c (layout) and html.c */

/* Words for codes, shared by the text and the HTML. */
const char *report_verdict_words(const char *verdict);
/* The rank of a finding kind in the order reports show them (0 first). */
int report_kind_rank(const char *kind);
/* The warning for a report compared with --force (options.forced), or NULL when none was forced. */
const char *report_forced_words(const json_t *root);
/* "in the cache", "on the server", "in cache A" */
void report_where(const char *label, char *out, size_t size);
/* A finding's kind as a phrase: "item missing in the cache", "item changed", ... */
void report_kind_phrase(const json_t *f, char *out, size_t size);
/* A finding's evidence in words: "read: server yes, cache no; flag: ..." (the side labels of the report). */
void report_evidence_words(const json_t *root, const json_t *f, char *out, size_t size);
/* The "newer" value as a sentence, or "" when unknown. */
void report_newer_words(const json_t *f, char *out, size_t size);
/* The details of a finding in words (subject, class, date; counts; the error), without the evidence. */
void report_finding_details(const json_t *f, char *out, size_t size);
/* The note on the folders whose items have no keys on side s (the first one named, the others
 * counted): "No source keys on the server side in 2 folders (Inbox, ...): ...". Returns false (and
 * "") when side s has none. */
bool report_keyless_words(const json_t *root, size_t s, char *out, size_t size);
/* A row is shown by default: it holds a difference that needs action, or unverified items. */
bool report_row_interesting(const json_t *row);
const char *report_jstr(const json_t *o, const char *k);
long long report_jint(const json_t *o, const char *k);
long long report_jat(const json_t *o, const char *k, size_t i);

#endif
