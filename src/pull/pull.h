/*
 * pull.h: what the server protocols (src/ews: SOAP and XML; src/graph: OData and JSON) share.
 *
 *  - the transport: one libcurl handle per worker (keep-alive, compression, TLS verification,
 *    Basic/NTLM/Negotiate/Bearer, bearer tokens that renew), bounded jittered retries, a throttling
 *    answer that slows every worker of the pull, and a per-server gate shared by the pulls of a
 *    batch run;
 *  - the pull skeleton: the protocol lists the folders and pages each folder's items; this half
 *    builds paths and roles, orders folders largest first, runs the worker pool, shows progress
 *    and writes the snapshot (a file, streamed, or kept in memory);
 *  - the ids Exchange hands out (EWS ids, Graph REST and immutable ids) and the source key inside.
 *
 * Secrets (password, token) are borrowed from the caller, never logged, never written.
 */
#ifndef OSTRECON_PULL_H
#define OSTRECON_PULL_H

#include "core/core.h"

#include <pthread.h>

/* ---------------------------------------------------------------- options */

/* A gate shared by the pulls of many mailboxes against one server (batch runs): it caps the
 * requests in flight to that server, and a throttling answer to any of them slows all of them.
 * It also keeps the connections of finished pulls open for the next ones (keep-alive across
 * mailboxes; the same credentials serve every pull through one gate), closed by pull_gate_free. */
typedef struct pull_gate pull_gate;
int pull_gate_new(pull_gate **out, int max_in_flight, or_error *err);
void pull_gate_free(pull_gate *g);

/* AUTO: what the server offers in WWW-Authenticate (one probe before a pull): Negotiate when a
 * Kerberos ticket is accepted, else NTLM, else Basic over TLS only (pull_auth_resolve). NONE: no
 * credentials at all. */
typedef enum {
	PULL_AUTH_BASIC = 0, PULL_AUTH_NTLM, PULL_AUTH_NEGOTIATE, PULL_AUTH_BEARER, PULL_AUTH_AUTO, PULL_AUTH_NONE
} pull_auth;
const char *pull_auth_name(pull_auth a);

/* Bearer tokens that can be renewed (OAuth): `get` copies the current token into out, a new one
 * when `renew` is set (out then holds the token the server refused). Called by every worker;
 * must be thread-safe (oauth_token fits). */
typedef struct {
	int (*get)(void *ctx, bool renew, char *out, size_t size, or_error *err);
	/* Optional: the server accepted a token `get` renewed after a refusal (a renewed token
	 * refused at once is an error; one that worked first may be renewed again later). */
	void (*accepted)(void *ctx, const char *token);
	void *ctx;
} pull_token_source;

#define PULL_TOKEN_MAX 16384 /* longest bearer token accepted */
/* The default split_threshold: below 10 pages of 500 the probes a split costs are not repaid. */
#define PULL_SPLIT_THRESHOLD 5000

typedef struct {
	const char *url;            /* the endpoint (EWS URL, or the Graph service root) */
	const char *mailbox;        /* SMTP address of the mailbox to pull */
	pull_auth auth;
	const char *user;           /* Basic/NTLM/Negotiate; for Negotiate may be empty (ticket cache) */
	const char *secret;         /* password, or a fixed bearer token; borrowed */
	const pull_token_source *tokens; /* bearer tokens that renew (OAuth); borrowed; else `secret` */
	const char *cacert;         /* CA bundle file for TLS verification */
	/* Name mappings, as curl's --resolve ("HOST:PORT:ADDRESS") and --connect-to
	 * ("HOST:PORT:CONNECT-HOST:CONNECT-PORT", HOST or PORT empty for any): NULL-terminated lists,
	 * borrowed, or NULL. The certificate is still checked against the URL's host name. */
	const char *const *resolve;
	const char *const *connect_to;
	bool insecure;              /* turn TLS verification off (warned) */
	int concurrency;            /* parallel requests (folders, or parts of a large folder), 1..16 */
	/* A folder of at least this many items (the hierarchy's count) is paged in up to
	 * `concurrency` parts at once where the protocol can split it (pull_protocol.split); 0: never. */
	long split_threshold;
	/* false (the default): only a folder whose pages are the pull's longest chain is split (its
	 * count times `concurrency` above every folder's items); true (--split-threshold given):
	 * every folder of split_threshold items or more. */
	bool split_any;
	int retries;                /* attempts per request after the first, for failures; throttling
	                               answers are retried as told until retry_deadline_s */
	long retry_deadline_s;      /* no retry of a throttled request after this long into the pull */
	long connect_timeout_s, timeout_s; /* to connect; for a whole request */
	long idle_timeout_s;        /* a request that receives nothing this long fails (default 60) */
	bool progress;              /* progress line on stderr */
	const char *trace_dir;      /* write every request and response body there (debugging, tests) */
	const char *options_json;   /* recorded in the snapshot header */
	pull_gate *gate;            /* optional, borrowed: shared with other pulls to the same server */
	const volatile bool *cancel; /* optional: set by another thread, the pull stops (OR_ERR_IO) */
} pull_options;

/* Defaults for everything but url, mailbox and credentials. */
void pull_options_init(pull_options *opt);

typedef struct {
	size_t folders, items, errors;
	size_t folders_failed;
	long requests, retries;
	long throttled;             /* throttling answers among the retries */
	int min_concurrency;        /* the fewest requests in flight throttling brought the pull to */
	double seconds;
} pull_summary;

/* ---------------------------------------------------------------- transport */

/* State shared by the workers of one pull: the "not before" time a throttling answer sets, the
 * request counters, and the fatal error (credentials, TLS) that stops every worker. */
typedef struct pull_shared pull_shared;
typedef struct pull_conn pull_conn;

int pull_conn_new(pull_conn **out, pull_shared *shared, unsigned seed, or_error *err);
void pull_conn_free(pull_conn *c);

/* PULL_THROTTLED: the server says it is overloaded (a throttling code in the body); retried as
 * a throttling answer (after *wait_ms, or the transport's back-off when -1), not as a failure. */
typedef enum { PULL_OK, PULL_RETRY, PULL_FAIL, PULL_THROTTLED } pull_outcome;

/* How a protocol reads a response. The transport decides itself on transfer failures, 401 (with
 * renewable tokens: renewed once, then retried), 429 and 503 (retried after Retry-After) and
 * redirects; everything else is the protocol's to judge. */
typedef struct {
	void *ctx;
	/* Before each attempt: empty the page, start a parser. */
	int (*begin)(void *ctx, or_error *err);
	/* Body bytes as they arrive, with the HTTP status; a nonzero return records a parse failure
	 * (the rest of the body is still read, and not passed on). */
	int (*body)(void *ctx, long http, const char *data, size_t len, or_error *err);
	/* After a complete transfer: finish parsing; nonzero when the body did not parse. */
	int (*end)(void *ctx, long http, or_error *err);
	/* What a complete answer means: PULL_OK, PULL_RETRY (with *wait_ms >= 0 when the server said
	 * how long to wait: then retried as throttling), PULL_THROTTLED or PULL_FAIL, with err set for
	 * all but PULL_OK. parse_err is the parse failure (code 0 when the body parsed). Called once
	 * per attempt of one pull_call, so a handler can compare an attempt with the one before. */
	pull_outcome (*judge)(void *ctx, long http, const or_error *parse_err, long *wait_ms, or_error *err);
} pull_handler;

typedef struct {
	const char *op;             /* names the request in logs and trace files */
	const char *folder;         /* the folder it is for (a path, a name or a role), in log lines; NULL:
	                               none (a listing of the whole tree) */
	const char *url;            /* NULL: the options' url */
	const char *body;           /* POST body, or NULL for a GET */
	size_t body_len;
	const char *content_type;   /* of the body */
	const char *accept;         /* Accept header */
	const char *const *headers; /* further headers, NULL-terminated; may be NULL */
	const char *trace_ext;      /* "xml", "json": the extension of trace files */
} pull_request;

/* Sends one request and hands the answer to `h`, retrying throttling, server errors and dropped
 * connections with bounded jittered back-off. Returns 0, or a negative or_code: OR_ERR_AUTH and
 * OR_ERR_TLS are fatal for the whole pull (every worker stops). */
int pull_call(pull_conn *c, const pull_request *rq, const pull_handler *h, or_error *err);

/* ---------------------------------------------------------------- one-off requests */

/* The answer to one request outside a pull. */
typedef struct {
	long http;               /* status of the last answer */
	char *body;              /* its body, NUL-terminated (malloc'd; "" when empty) */
	size_t body_len;
	char location[1024];     /* Location of a redirect, else "" */
	char offered[96];        /* the schemes a 401 offered ("Negotiate, NTLM"), else "" */
	pull_auth auth;          /* the method of the last attempt (NONE: no credentials sent) */
} pull_reply;

/* One request outside a pull (Autodiscover's, and the probe of --auth auto), with the options'
 * TLS settings, name mappings, timeouts and credentials: with PULL_AUTH_AUTO, first without
 * credentials and, on a 401, with the method pull_auth_resolve would pick (Negotiate refused:
 * the next one). No retries; redirects are not followed (the reply holds the Location). Answers
 * over max_body bytes are refused. Returns 0 when an answer came, whatever its status: a 401
 * with r->auth other than NONE means credentials were sent and refused (pull_auth_refused says
 * so). Else a negative or_code: transfer failure, TLS, or OR_ERR_AUTH when --auth auto finds
 * nothing usable among the server's offers (no credentials were sent). */
int pull_fetch(const pull_options *opt, const pull_request *rq, size_t max_body, pull_reply *out, or_error *err);
void pull_reply_free(pull_reply *r);
/* The error for a 401 reply: the method refused and what the server offers (OR_ERR_AUTH). */
int pull_auth_refused(const pull_reply *r, or_error *err);

/* What --auth auto takes for opt->url: one request without credentials reads WWW-Authenticate;
 * Negotiate when offered and a Kerberos ticket is accepted (a second request), else NTLM (with a
 * user and password), else Basic over https only. *out is the method (NONE when the server asks
 * for none). Returns 0, or OR_ERR_AUTH naming what the server offers and what is missing. */
int pull_auth_resolve(const pull_options *opt, pull_auth *out, or_error *err);

/* Retry-After: whole or fractional seconds, or an HTTP date; ms, or -1 when unreadable. */
long pull_parse_retry_after(const char *value);
int64_t pull_now_ms(void);
void pull_sleep_ms(int64_t ms);

/* ---------------------------------------------------------------- the pull */

typedef struct pull_run pull_run;

/* One protocol's half of a pull. */
typedef struct {
	snap_source source;          /* written in the snapshot header */
	/* A worker's own state (a page, a parser): made once per worker. */
	void *(*worker_new)(void *ctx, or_error *err);
	void (*worker_free)(void *ws);
	/* The mailbox's folders, given to pull_add_folder, with roles where the protocol knows them
	 * (at least "root" for the top). Runs once, before the workers, on one connection. */
	int (*hierarchy)(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err);
	/* All items of one folder, page by page to pull_add_items; a failure is pull_folder_error. */
	void (*folder)(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f);
	/* Optional: one large folder paged in parallel parts. `split` is asked, by the worker that
	 * takes a folder of at least split_threshold items, for at most `parts` parts: it returns
	 * their number with *plan its own state, or 0 or 1 to page the folder whole with `folder`.
	 * `part` reads part k (0..n-1), on any worker, its items to pull_add_part_items; the parts'
	 * items reach the snapshot in part order whichever finishes first. `merge` runs once, after
	 * the last part, on the worker that finished it: it checks what the parts read, completes
	 * the folder (e.g. by `folder`'s listing) when they fell short, and frees the plan. When the
	 * pull stops (pull_stopping) before every part ran, `merge` is called with c and ws NULL
	 * and only frees the plan. */
	int (*split)(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, int parts, void **plan);
	void (*part)(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan, int k);
	void (*merge)(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan);
} pull_protocol;

/* Runs a pull: the hierarchy, then every folder's items with a pool of `concurrency` workers,
 * into a snapshot at out_path ("-" = stdout), or kept in memory when keep is not NULL (*keep is
 * then what snap_load would read back from that file). Returns 0 when a snapshot was made
 * (folders that failed are error lines in it: summary->folders_failed), or a negative or_code when
 * nothing could be pulled, in which case nothing is written. */
int pull_run_capture(const pull_options *opt, const pull_protocol *proto, void *ctx, const char *out_path,
                     snap_t **keep, pull_summary *summary, or_error *err);

/* For protocols, during `hierarchy`: the snapshot being built (its header: server_version). */
snap_t *pull_snapshot(pull_run *run);
pull_shared *pull_run_shared(pull_run *run);
/* Adds a folder (strings copied); a folder whose id is already known is returned as it is. */
snap_folder *pull_add_folder(pull_run *run, const snap_folder *src);
/* For protocols, from workers: */
/* Records one page's items (strings copied), with the folder's id and `associated` set. */
void pull_add_items(pull_run *run, const snap_folder *f, snap_item *items, size_t n, bool associated);
/* The same for part k of a split folder (normal items): held until the parts before it are
 * read, so that the folder's items are written in part order. While a folder is split (its
 * parts and its merge), an item whose id was met before in the folder is not written again. */
void pull_add_part_items(pull_run *run, const snap_folder *f, int k, snap_item *items, size_t n);
/* Item ids met so far, by 64-bit hash of the id (FNV-1a; 0 marks an empty slot), for servers
 * that send an item twice. */
typedef struct {
	uint64_t *slot;
	size_t cap, n;
} pull_id_set;
/* Adds an id: 1 when new, 0 when met before, -1 when out of memory. */
int pull_id_set_add(pull_id_set *s, const char *id);
void pull_id_set_free(pull_id_set *s);
/* Runs job(ctx, k, c, ws) for k = 0..n-1, up to `concurrency` at once: on the caller's
 * connection and worker state, and on spare ones of the run (or new ones) in helper threads;
 * returns when every job has run. For requests that do not wait on one another (folders asked
 * for by name, the probes of a split): the transport still keeps at most `concurrency` requests
 * in flight. The hierarchy may call it (on its connection), and a worker. A job keeps what it
 * finds in its own place (ctx, by k), not in ws, which another job uses next. */
typedef void (*pull_job_fn)(void *ctx, int k, pull_conn *c, void *ws);
void pull_parallel(pull_run *run, pull_conn *c, void *ws, int n, pull_job_fn job, void *ctx);
/* For `merge`: the distinct items the split folder's parts wrote. */
size_t pull_split_count(pull_run *run, const snap_folder *f);
/* What a protocol's plan of a split folder notes for its merge: the first part that failed. */
typedef struct {
	pthread_mutex_t lock; /* failed, why */
	bool failed;
	char why[400];
} pull_parts;
void pull_parts_init(pull_parts *p);
void pull_parts_destroy(pull_parts *p);
/* A listing that failed: a whole folder's (p NULL) is the folder's error line
 * (pull_folder_error); part k's is noted in p, and the merge then reads the folder whole. */
void pull_listing_failed(pull_run *run, const snap_folder *f, pull_parts *p, int k, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* For `merge`: true when the split folder must be read again in one stream, because a part
 * failed or the n parts do not add up to the folder's count (said in the verbose log). */
bool pull_parts_incomplete(pull_run *run, const snap_folder *f, pull_parts *p, int n);
void pull_folder_error(pull_run *run, const snap_folder *f, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* True once a fatal error stops the pull: workers return at once. */
bool pull_stopping(pull_run *run);
/* The error code name of a snapshot error line for an or_code (timeout, io, access_denied, ...). */
const char *pull_error_code_name(int code);

/* ---------------------------------------------------------------- ids */

typedef enum {
	PULL_ID_MAILBOX = 1, /* a folder or item of a mailbox (EWS id, Graph REST id) */
	PULL_ID_OCCURRENCE,  /* a calendar occurrence: the key is its series master's */
	PULL_ID_PUBLIC,      /* a public folder */
	PULL_ID_IMMUTABLE,   /* a Graph immutable id */
} pull_id_kind;

/* What an id holds (docs/QUIRKS.md: the layouts and the evidence). */
typedef struct {
	pull_id_kind kind;
	bool compressed;                  /* run-length encoded (first byte 01) */
	char mailbox[65];                 /* the mailbox GUID as text ("" when absent) */
	uint16_t entry_type;              /* of the MAPI entry id: 1 folder, 7 message, 0x0D immutable */
	uint8_t key[SNAP_KEY_LEN];        /* the object's replica GUID + global counter */
	uint8_t folder_key[SNAP_KEY_LEN]; /* a message's folder, when the entry id has it */
	bool has_folder_key;
} pull_id;

/* Decodes an id Exchange handed out: an EWS ItemId/FolderId (plain or compressed), a public
 * folder id, a calendar occurrence id, or a Graph id (a REST id is an EWS id written with '_'
 * for '+' and '-' for '/'; an immutable id). Returns 0, or -1 for a layout it does not know. */
int pull_id_decode(const char *id, pull_id *out);
/* The source key of the object an id names: pull_id_decode's key, except for occurrences (not
 * objects of their own). Returns 0 or -1. */
int pull_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN]);
/* The change key inside an EWS ChangeKey attribute or a Graph changeKey (u32 object type, u32
 * length, the 22-byte change key; calendars and events in Graph: the 22 bytes alone). 0 or -1. */
int pull_change_key(const char *text, uint8_t ck[SNAP_KEY_LEN]);

#endif
