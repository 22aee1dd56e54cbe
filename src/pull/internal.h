/* internal.h: shared by the files of src/pull, not part of its public interface. */
#ifndef OSTRECON_PULL_INTERNAL_H
#define OSTRECON_PULL_INTERNAL_H

#include "pull.h"

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
	long waiting;          /* requests waiting to be retried now (shown as progress) */
	bool fatal;            /* auth/TLS failure: every worker stops */
	or_error fatal_err;
};

void pull_shared_init(pull_shared *sh, const pull_options *opt);
void pull_shared_destroy(pull_shared *sh);

#endif
