/*
 * scan.h: one mailbox, end to end: the cache file and the server captured side by side, the two
 * snapshots compared, the report built and saved. `ostrecon scan` runs it once, `ostrecon batch`
 * once per manifest row; `ostrecon diff` uses the comparison half (scan_compare).
 */
#ifndef OSTRECON_SCAN_H
#define OSTRECON_SCAN_H

#include "core/core.h"
#include "diff/diff.h"
#include "ews/ews.h"
#include "graph/graph.h"
#include "ost/ost.h"
#include "report/report.h"

typedef struct {
	diff_options diff;
	bool redact;
	const uint8_t *key;   /* redaction key, borrowed */
	size_t key_len;
	bool key_from_file;
	const char *input[2]; /* names of the two sides for the report's provenance */
	double load_ms[2];    /* timings to record, 0 when not measured */
	double capture_ms[2];
	/* Compare even sides that do not belong together (diff_check_sides: a .pst as a mailbox's
	 * cache, two mailboxes, almost nothing paired); the report records what was overridden. */
	bool force;
} scan_compare_options;

/* What a comparison came to, for summaries (batch) and exit codes. */
typedef struct {
	diff_verdict verdict;
	int exit_code;                 /* diff_verdict_exit_code */
	size_t by_kind[FIND_KIND_COUNT]; /* unexpected findings of each kind */
	size_t expected;               /* expected differences (findings) */
	size_t only_in_cache;          /* items a rebuild would lose */
	int64_t items[2];
	double seconds;                /* scan_run: the whole run */
	long requests;                 /* scan_run: requests made to the server */
	bool cache_unreadable;         /* scan_run: the cache file does not open as a PST/OST (damaged) */
} scan_outcome;

/* Loads two snapshot files side by side (reading and parsing is most of a comparison's time).
 * On success both are set (caller frees with snap_free) and ms[] holds each load's time; on
 * failure neither is kept and err names the file. */
int scan_load_pair(const char *const paths[2], snap_t *out[2], double ms[2], or_error *err);

/* Compares two loaded snapshots (side 0 server, side 1 cache by convention) and builds the report.
 * *rep belongs to the caller (report_free). Sides that do not belong together (diff_check_sides)
 * are an error, OR_ERR_MISMATCH naming both sides, unless opt->force. */
int scan_compare(const snap_t *a, const snap_t *b, const scan_compare_options *opt, report_t **rep,
                 scan_outcome *outcome, or_error *err);

/* The server side of a scan: one mailbox over EWS or over Microsoft Graph. */
typedef enum { SERVER_EWS = 0, SERVER_GRAPH } server_protocol;
const char *server_protocol_name(server_protocol p);

typedef struct {
	server_protocol protocol;
	ews_options ews;     /* when protocol is SERVER_EWS */
	graph_options graph; /* when protocol is SERVER_GRAPH */
} scan_server;

/* The options both protocols share, of the protocol in use. */
pull_options *scan_server_pull(scan_server *s);
const pull_options *scan_server_pull_const(const scan_server *s);
/* Pulls the mailbox: into a snapshot file at out_path, or kept in memory when keep is not NULL
 * (ews_capture / graph_capture and their _snap forms). */
int scan_server_capture(const scan_server *s, const char *out_path, snap_t **keep, pull_summary *summary,
                        or_error *err);
/* Whether an EWS URL is Exchange Online's (where EWS is retired and Graph is the way in). */
bool scan_url_is_exchange_online(const char *url);

typedef struct {
	const char *ost_path;      /* the cache file */
	bool recover;              /* libpff's recovery scan of the cache file */
	ost_reader reader;         /* which reader lists the cache file (native by default) */
	scan_server server;        /* the server side; secrets borrowed */
	const char *snapshot_dir;  /* keep server.jsonl and cache.jsonl there; NULL: in memory only */
	const char *report_path;   /* JSON report (atomic, 0600); NULL: not saved */
	scan_compare_options compare;
} scan_options;

/* Whether a file can be written at `path` (or "-"): a usage error naming why not. */
int scan_check_writable(const char *path, or_error *err);

/* Captures both sides (in parallel), compares, saves the report. Returns 0 with *rep (caller
 * frees) when a report was made, or a negative or_code when a side could not be captured at all
 * (err names the side). */
int scan_run(const scan_options *opt, report_t **rep, scan_outcome *outcome, or_error *err);

#endif
