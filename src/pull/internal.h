/* internal.h: shared by the files of src/pull, not part of its public interface. */
#ifndef OSTRECON_PULL_INTERNAL_H
#define OSTRECON_PULL_INTERNAL_H

#include "pull.h"

#include <curl/curl.h>
#include <pthread.h>

struct pull_shared {
	const pull_options *opt;
	pthread_mutex_t lock;
	pthread_cond_t slot;   /* a request slot came free */
	int64_t start_ms;      /* when the pull began: the retry deadline counts from here */
	int64_t not_before_ms; /* no request before this time: a throttling answer slows everyone */
	/* Requests in flight: at most `limit`, which a throttling answer lowers (the server says
	 * there are too many) and a run of answers without throttling raises again, up to the
	 * configured concurrency. */
	int limit, active, calm, min_limit;
	/* Slots go to the workers in the order they asked (tickets): a woken worker that happens to
	 * get the lock first would otherwise take a slot before one that has waited longer, and the
	 * parts of a split folder, each a chain of pages, would end far apart (the last alone). */
	unsigned long ticket_next, ticket_head;
	long requests, retries, throttled, trace_seq;
	long successes;        /* answers that were not refusals, throttling or failures */
	bool answered;         /* the server has answered (any HTTP status) during this pull */
	long waiting;          /* requests waiting to be retried now (shown as progress) */
	bool fatal;            /* auth/TLS failure: every worker stops */
	or_error fatal_err;
};

void pull_shared_init(pull_shared *sh, const pull_options *opt);
void pull_shared_destroy(pull_shared *sh);
/* libcurl's global initialisation, once per process (before the first handle). */
void pull_global_init(void);
/* --auth auto's choice for a gate's server, once a pull through it made one: true and *out. */
bool pull_gate_auth(pull_gate *g, pull_auth *out);
void pull_gate_set_auth(pull_gate *g, pull_auth a);
/* The curl handle of a connection (fetch.c sets its own callbacks on it). */
CURL *pull_conn_handle(pull_conn *c);
/* A trace file (--trace-dir) of one request or response: DIR/PREFIXSEQ-OP-WHAT.EXT, owner-only,
 * never through a symbolic link; NULL without --trace-dir or when it cannot be opened. */
FILE *pull_trace_open(const pull_options *o, const char *prefix, long seq, const char *op, const char *what,
                      const char *ext);
/* Before each transfer on c's handle: the idle timer and curl's message start afresh. */
void pull_conn_begin(pull_conn *c);
/* Something arrived: the idle timer starts again. */
void pull_conn_touch(pull_conn *c);
/* The message (and or_code) of a failed transfer: TLS names the certificate's names, a refused
 * connection the address, an idle server the seconds of silence. */
int pull_conn_failure(pull_conn *c, CURLcode cc, const char *url, or_error *err);
/* Sets a handle's credentials for method `a` from the options (NONE and AUTO: none). */
void pull_set_auth(CURL *h, const pull_options *o, pull_auth a);

/* ---------------------------------------------------------------- the pull (run.c, parts.c) */

typedef struct pull_split pull_split;
typedef struct pull_held pull_held;

#define PULL_MAX_SPARE 32
#define PULL_WRITEBACK_ITEMS 20000 /* some 15 MB of lines */
#define UNPLACED UINT64_MAX

struct pull_run {
	pull_shared sh;
	const pull_options *opt;
	const pull_protocol *proto;
	void *ctx;
	snap_t *snap;          /* header, folders, errors (and items when in memory) */
	snap_writer w;
	pthread_mutex_t wlock; /* the writer and snap->errors */
	size_t next, done, items;
	size_t items_normal;   /* items that are not associated: the progress count */
	int64_t items_total;   /* what the hierarchy announced (content counts), -1 when unknown */
	bool *pull_items;      /* per folder: pull its items (not search folders) */
	size_t *order;         /* the folders in the order workers take them: largest first */
	progress_task *prog;   /* the progress line, NULL when not shown */
	bool listed;           /* the hierarchy is known */
	bool in_memory;        /* items kept in snap, no file */
	bool nomem;            /* an item could not be kept */
	pthread_cond_t jobs;   /* a split's parts were handed out, or a folder will not be split */
	int planning;          /* workers asking the protocol whether to split a folder */
	pull_split *splits;    /* split folders with parts not yet handed out */
	pull_split **split_of; /* per folder: its split while its parts are read, or NULL */
	int parts;             /* parts of a split folder: the workers (1: no split) */
	size_t spill_budget;   /* bytes of lines a held part keeps in memory before it spills */
	char spill_dir[1024];  /* where held parts spill: the snapshot's folder, else TMPDIR */
	/* Connections not in use, each with a worker state: the hierarchy's, and those
	 * pull_parallel's helpers opened. Workers and helpers take one before opening their own
	 * (its keep-alive connection and authentication go on). Under wlock. */
	struct {
		pull_conn *c;
		void *ws;
	} spare[PULL_MAX_SPARE];
	int n_spare;
	size_t writeback_at;   /* items written when the next writeback starts */
	/* A snapshot kept in memory once a part held items: per item, its place in the order of the
	 * file the pull would have written (UNPLACED while its part waits); `placed` items have one. */
	uint64_t *places;
	size_t cap_places;
	uint64_t placed;
};

/* A large folder read in parts by several workers (pull_protocol.split). Its items reach the
 * snapshot in part order: part `flushed` writes its pages as they come, later parts hold theirs
 * until the parts before them are read. */
struct pull_split {
	size_t folder;         /* index in snap->folders */
	void *plan;            /* the protocol's */
	int n, taken, finished, flushed;
	bool *done;            /* per part: read */
	pull_held *held;       /* per part: items waiting for the parts before it */
	pull_split *next;      /* in run->splits while parts remain to be handed out */
	/* The folder's items met so far, by 64-bit hash of the id (0 = empty slot): parts whose
	 * ranges overlap (a folder that changed under offsets) and a merge that reads the folder
	 * again write each item once. */
	pull_id_set ids;
};

/* run.c, for parts.c. Called with wlock held, but pull_keep_item (on any snapshot). */
bool pull_keep_item(snap_t *s, const snap_item *src);
void pull_emit_item(pull_run *run, const snap_item *it);
size_t pull_keep_new(pull_run *run, pull_split *sp, const snap_folder *f, snap_item *items, size_t n,
                     bool associated);
void pull_writeback(pull_run *run);
void pull_progress(pull_run *run, bool final);

/* parts.c, for run.c. */
bool pull_place(pull_run *run, size_t i, uint64_t at);
int pull_put_in_order(pull_run *run, or_error *err);
void pull_split_free(pull_split *sp);
bool pull_worth_splitting(const pull_run *run, size_t i);
pull_split *pull_try_split(pull_run *run, pull_conn *c, void *ws, size_t i, int streams);
void pull_run_part(pull_run *run, pull_conn *c, void *ws, pull_split *sp, int k);
void pull_spill_setup(pull_run *run);


/* gunzip.c: gzip response bodies, inflated whole with libdeflate when the body is of a sane size,
 * else as a stream with zlib; at most max_out inflated bytes per body. The sink gets the inflated
 * bytes (in one piece, or in pieces when streamed). Feed and finish return 0 or one of: */
enum { PULL_GUNZIP_BAD = -1, PULL_GUNZIP_TOO_LARGE = -2, PULL_GUNZIP_NOMEM = -3 };
typedef struct pull_gunzip pull_gunzip;
typedef void (*pull_gunzip_sink)(void *ctx, const char *data, size_t len);
int pull_gunzip_new(pull_gunzip **out, size_t max_out);
/* Before each body. */
void pull_gunzip_reset(pull_gunzip *g);
int pull_gunzip_feed(pull_gunzip *g, const void *data, size_t len, pull_gunzip_sink sink, void *ctx);
int pull_gunzip_finish(pull_gunzip *g, pull_gunzip_sink sink, void *ctx);
void pull_gunzip_free(pull_gunzip *g);

#endif
