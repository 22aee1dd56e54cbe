/*
 * batch.h: many mailboxes in one run. A manifest (CSV) lists mailboxes and their cache files; each
 * row is scanned (src/scan) by a bounded pool of jobs, failures are isolated and recorded, finished
 * mailboxes are skipped on a re-run, and a summary (JSON and CSV) says what each mailbox needs.
 * `--shard K/N` takes every N-th row so that a scheduler can spread one manifest over machines;
 * batch_summary_merge puts the shards' summaries back together.
 */
#ifndef OSTRECON_BATCH_H
#define OSTRECON_BATCH_H

#include "core/core.h"
#include "scan/scan.h"

/* ---------------------------------------------------------------- manifest */

typedef struct {
	long line;          /* physical line where the row starts (1 = the header) */
	long index;         /* 0-based row number among the data rows (sharding) */
	const char *mailbox, *cache, *url, *api, *sync_window, *label; /* NULL when empty */
	const char *problem; /* why the row cannot run, or NULL */
} batch_row;

typedef struct {
	batch_row *rows;
	size_t n_rows;
	char *strings;       /* storage of the rows' strings */
	size_t strings_len, strings_cap;
} batch_manifest;

/* Reads a CSV manifest with a header naming its columns: mailbox (required), cache (required:
 * the .ost/.pst path; relative paths are taken from the manifest's folder), and optional url
 * (the EWS endpoint), api (ews, graph or auto), sync_window, label. Any other column is refused, credentials in particular: they come from the
 * command line or the config file, never from the manifest. A bad row is kept with its problem
 * and its line number; a bad header or unreadable file is an error. */
int batch_manifest_load(const char *path, batch_manifest **out, or_error *err);
void batch_manifest_free(batch_manifest *m);
/* "K/N" with 1 <= K <= N: 0 ok, -1 malformed. Row i belongs to shard (i mod N) + 1. */
int batch_shard_parse(const char *text, int *k, int *n);

/* ---------------------------------------------------------------- summary */

typedef enum { ENTRY_DONE = 0, ENTRY_FAILED, ENTRY_BAD_ROW } batch_status;

typedef struct {
	long line, index;
	char *label, *mailbox, *cache, *report; /* report: path of the JSON report, when written */
	char *log;                              /* path of the mailbox's log, when written */
	batch_status status;
	char verdict[40];                       /* diff verdict name, or "" */
	int exit_code;                          /* the mailbox's own: the report's, 3 when not done */
	size_t by_kind[FIND_KIND_COUNT];
	size_t expected, only_in_cache;
	int64_t items[2];
	double seconds;
	long requests;
	bool resumed;                           /* taken from an earlier run */
	char error[600];
} batch_entry;

typedef struct {
	batch_entry *entries;
	size_t n, cap;
	char *manifest;
	int shard_k, shard_n; /* 0/0: the whole manifest */
	double seconds;
} batch_summary;

void batch_summary_free(batch_summary *s);
/* Writes DIR/summary.json and DIR/summary.csv atomically (names prefixed with the shard,
 * "summary-K-of-N", when sharded). */
int batch_summary_save(const batch_summary *s, const char *dir, or_error *err);
int batch_summary_load(const char *path, batch_summary **out, or_error *err);
/* The summary's JSON form (docs/summary.schema.json), as summary.json holds it. */
void batch_summary_write_json(const batch_summary *s, FILE *fp);
/* Merges summaries of disjoint shards (or partial runs) of one manifest into one, in manifest
 * order. Summaries of different manifests, or split differently, are refused (OR_ERR_USAGE); so
 * are shards that leave some out (OR_ERR_NOTFOUND, naming them) unless `partial`; two entries for
 * one manifest row are an error. */
int batch_summary_merge(batch_summary *const *parts, size_t n, bool partial, batch_summary **out, or_error *err);
/* Short overview for a person, fitted to `width` columns: how many in sync, needing resync,
 * rebuild, with local-only data, failed; then one line per mailbox that needs a look (all of them
 * when `all`). */
void batch_summary_print(const batch_summary *s, FILE *fp, int width, bool all);
/* The HTML pages of a finished run: each mailbox's report as HTML beside its JSON report
 * (reports/NAME.html; with redaction reports/r-HASH.html, so that no address names a file), and
 * the index page at index_path linking them. `compare` gives the redaction of the run. */
int batch_write_html(const batch_summary *s, const char *index_path, const scan_compare_options *compare,
                     or_error *err);
/* 0 all in sync, 1 some need action, 2 some incomplete, 3 some failed (the worst wins). */
int batch_summary_exit_code(const batch_summary *s);

/* ---------------------------------------------------------------- run */

typedef struct {
	const char *out_dir;        /* reports/, snapshots/, entries/, summary files */
	int jobs;                   /* mailboxes in parallel */
	int max_server_requests;    /* requests in flight to one server, across all jobs */
	bool force;                 /* redo mailboxes that already have a complete report */
	bool keep_snapshots;
	bool recover;
	ost_reader reader;
	int shard_k, shard_n;       /* 0/0 for all rows */
	bool progress;
	bool mailbox_logs;          /* reports/NAME.log: the mailbox's own log, -v level at least */
	/* The server side of a row (its protocol, endpoint and credentials, from the row's url and api
	 * columns and the run's options): the caller's, so that the choice is made in one place. */
	int (*server_for)(void *ctx, const batch_row *row, scan_server *out, or_error *err);
	void *server_ctx;
	scan_compare_options compare;
} batch_options;

/* Runs the manifest's rows (or the shard's) and returns the summary (caller frees). Per-mailbox
 * failures are entries, not errors: a negative or_code means the run itself could not go on
 * (output folder not writable, out of memory). */
int batch_run(const batch_manifest *m, const char *manifest_path, const batch_options *opt,
              batch_summary **out, or_error *err);

#endif
