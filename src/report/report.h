/*
 * report.h: the comparison's report, for tools and tickets (JSON, docs/REPORT.md and
 * docs/report.schema.json) and for people (text for a terminal, and one self-contained HTML page).
 *
 * A report is built from a diff_result, or loaded from a saved JSON report; text and HTML are
 * always rendered from the JSON form, so `ostrecon diff` and `ostrecon report FILE` print the same.
 *
 * Ownership: what report_build/report_load put in *out belongs to the caller; free it with
 * report_free (accepts NULL). The report copies what it needs: the diff result and the snapshots
 * may be freed once it is built.
 */
#ifndef OSTRECON_REPORT_H
#define OSTRECON_REPORT_H

#include "core/core.h"
#include "diff/diff.h"

#define REPORT_FORMAT "ostrecon-report"
#define REPORT_VERSION 2     /* written */
#define REPORT_VERSION_MIN 1 /* oldest that loads (text and HTML use what version 1 has) */
#define REPORT_KEY_MAX 1024 /* bytes of a redaction key file that are used */
/* Items listed under export_before_rebuild at most (advice.export_count has them all): beyond
 * that many, the cache is not a copy of this mailbox and a list is of no use. */
#define REPORT_EXPORT_MAX 100000

typedef struct report report_t;

typedef struct {
	const char *input[2];     /* the snapshot files as given (provenance), or NULL */
	bool redact;              /* replace every identifying string by a keyed hash (docs/REPORT.md) */
	const uint8_t *key;       /* the redaction key (see report_redaction_key) */
	size_t key_len;
	bool key_from_file;       /* recorded in the report: hashes comparable across reports */
	double load_ms[2], diff_ms; /* timings to record (0 = not measured) */
	int64_t generated;        /* FILETIME of the run (0 = not recorded) */
	const char *forced;       /* the sides check --force overrode (diff_sides_problem_name), or NULL */
} report_options;

/* Reads a key file (at most REPORT_KEY_MAX bytes used, at least 16 required) into key, or, when
 * path is NULL, draws 32 random bytes (a per-run key that is never stored). */
int report_redaction_key(const char *path, uint8_t key[REPORT_KEY_MAX], size_t *len, or_error *err);
/* "hmac:" + 16 hex digits: HMAC-SHA256(key, text) truncated. out must hold 22 bytes. */
int report_hash(const uint8_t *key, size_t key_len, const char *text, char out[22]);

/* Free text with the given identifying strings, and every address or URL in it, replaced by keyed
 * hashes (as --redact does to error messages). malloc'd (caller frees); NULL when out of memory. */
char *report_redact_text(const uint8_t *key, size_t key_len, const char *text, const char *const *known,
                         size_t n_known);

int report_build(report_t **out, const diff_result *r, const report_options *opt, or_error *err);
/* Adds a timing (milliseconds) under "timings". */
void report_set_timing(report_t *rep, const char *name, double ms);
/* Writes the JSON atomically (temporary file, fsync, rename), mode 0600; "-" is stdout. */
int report_save(const report_t *rep, const char *path, or_error *err);
/* Loads a saved report; checks its format and version. */
int report_load(report_t **out, const char *path, or_error *err);
void report_free(report_t *rep);

const char *report_verdict(const report_t *rep);
/* What a verdict name calls for, as overviews count mailboxes ("in_sync*" all count as in sync). */
typedef enum { REPORT_V_IN_SYNC, REPORT_V_RESYNC, REPORT_V_REBUILD, REPORT_V_INCOMPLETE, REPORT_V_KINDS } report_verdict_kind;
report_verdict_kind report_verdict_kind_of(const char *verdict);
/* The exit code the report's verdict calls for (0, 1, 2). */
int report_exit_code(const report_t *rep);

typedef struct {
	bool color;          /* ANSI colours (the caller decides: a terminal, and no NO_COLOR) */
	int width;           /* columns; 80 when 0 */
	size_t max_findings; /* findings listed in full; 20 when 0 */
	bool all_folders;    /* every folder in the table, not only those with differences */
} report_text_options;

void report_print_text(const report_t *rep, FILE *fp, const report_text_options *opt);

/* The export list (export_before_rebuild): its length, and entry i's side and item id (borrowed
 * from the report). -1 when i is out of range. */
size_t report_export_count(const report_t *rep);
int report_export_entry(const report_t *rep, size_t i, int *side, const char **id);
/* "server" or "cache": the kind of a side. */
const char *report_side_kind(const report_t *rep, int side);
/* Records where entry i went: the .pst file, the folder in it, "complete", "partial" or "failed",
 * and what could not be read (the entry's `exported` object, docs/REPORT.md). */
void report_export_note(report_t *rep, size_t i, const char *file, const char *folder, const char *status,
                        const char *const *problems, size_t n_problems);
/* Records that entry i was not exported to `file`, and why (outside --folder, before --since):
 * status "not_selected" and `reason`. */
void report_export_note_skipped(report_t *rep, size_t i, const char *file, const char *reason);
/* One self-contained HTML page (no network, no external script, style or font): verdict and advice
 * first, a chart of the folders (inline SVG), the sortable folder table, the findings grouped by
 * folder with the expected differences folded away, the provenance. Written atomically, mode 0600. */
int report_save_html(const report_t *rep, const char *path, or_error *err);

/* The index page of a batch run: one row per mailbox, each linking its HTML report. */
typedef struct {
	const char *name;        /* the row's label or mailbox (redacted by the caller when asked) */
	long line;               /* manifest line */
	const char *href;        /* the mailbox's HTML report, relative to the index; NULL when none */
	const char *verdict;     /* verdict name; NULL when the mailbox failed */
	const char *error;       /* why it failed, or NULL */
	int exit_code;
	int64_t items[2];        /* server, cache */
	size_t findings, expected, only_in_cache;
	double seconds;
	bool resumed;            /* taken from an earlier run */
} report_index_entry;

int report_save_html_index(const char *path, const char *title, const report_index_entry *entries, size_t n,
                           or_error *err);

/* Text layout for a terminal, shared with the batch overview. Columns are counted per code point
 * (control characters show as '?'). */
size_t report_text_cols(const char *s);
/* s in at most `cols` columns, shortened in the middle with "…" when longer: a path loses whole
 * names first ("Inbox/…/Project 44/Q3"), other text its middle characters. */
void report_text_shorten(const char *s, size_t cols, bool path, char *out, size_t size);
/* Writes text broken at spaces to fit `width` columns: the first line starts with `first`, the
 * others with `indent` spaces; a word wider than a line is shortened in its middle. */
void report_text_wrap(FILE *fp, int width, const char *first, int indent, const char *text);
/* A count with its noun, thousands separated: "1 finding", "12,345 findings". Returns out. */
const char *report_plural(char *out, size_t size, long long n, const char *one, const char *many);

#endif
