/* internal.h: shared by the files of src/pull, not part of its public interface. */
#ifndef OSTRECON_PULL_INTERNAL_H
#define OSTRECON_PULL_INTERNAL_H

#include "pull.h"

#include <pthread.h>

struct pull_shared {
	const pull_options *opt;
	pthread_mutex_t lock;
	int64_t not_before_ms; /* no request before this time: a throttling answer slows everyone */
	long requests, retries, trace_seq;
	bool fatal;            /* auth/TLS failure: every worker stops */
	or_error fatal_err;
};

void pull_shared_init(pull_shared *sh, const pull_options *opt);
void pull_shared_destroy(pull_shared *sh);

#endif
