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
