/*
 * http.c: one request over HTTP(S) with libcurl, and what to do when it fails.
 *
 * Each worker owns a connection (a curl handle reused across requests: keep-alive; in a batch run
 * the handle then goes back to the server's gate and serves the next mailbox). The response
 * body goes to the protocol's handler as it arrives. Throttling (429/503 with Retry-After, or what
 * the protocol recognises in a body), dropped connections, timeouts and malformed responses are
 * retried a bounded number of times with jittered back-off; a throttling answer delays every
 * worker of the pull, not just the one that got it. Credentials refused or a TLS failure stop the
 * whole pull. Nothing here logs a header or a secret.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESPONSE (1024L * 1024 * 1024) /* 1 GiB: beyond that a response is refused */
#define MAX_WAIT_MS (300L * 1000)           /* longest back-off honoured */

struct pull_conn {
	CURL *curl;
	pull_shared *sh;
	unsigned seed;
	char *token;           /* the bearer token in use (renewable tokens), wiped on free */
	/* per request */
	const pull_handler *h;
	or_error parse_err;
	size_t received;
	long retry_after_ms;
	bool invalid_token;
	char offered[96];      /* the schemes of WWW-Authenticate, for the 401 message */
	FILE *trace;
	char curl_error[CURL_ERROR_SIZE]; /* curl's own words: they name the host and port */
	int64_t started_ms;    /* of the transfer, for "waiting for" */
	int64_t last_byte_ms;  /* when the server last sent something */
	long waited_shown;     /* seconds last shown */
	bool idle_expired;     /* the idle timeout ended the transfer */
	/* Bodies are inflated here (gunzip.c), not by curl: the answer's Content-Encoding, and the
	 * first failure to inflate it (a PULL_GUNZIP_ code, 0 when none) */
	pull_gunzip *gz;
	enum { ENC_IDENTITY, ENC_GZIP, ENC_OTHER } encoding;
	int gz_rc;
	struct curl_slist *resolve, *connect_to; /* the options' name mappings */
};

#define GATE_IDLE_MAX 64 /* idle handles a gate keeps for the next pulls */

struct pull_gate {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int max, in_flight;
	int64_t not_before_ms;
	/* Handles of finished pulls, with their open connections (and TLS sessions): the next pull
	 * to this server takes one instead of connecting again. */
	CURL *idle[GATE_IDLE_MAX];
	int n_idle;
	/* --auth auto's choice for this server, made by the first pull through the gate: the others
	 * (same server, same credentials) take it without asking again. */
	bool auth_known;
	pull_auth auth;
};

bool pull_gate_auth(pull_gate *g, pull_auth *out)
{
	pthread_mutex_lock(&g->lock);
	bool known = g->auth_known;
	if (known)
		*out = g->auth;
	pthread_mutex_unlock(&g->lock);
	return known;
}

void pull_gate_set_auth(pull_gate *g, pull_auth a)
{
	pthread_mutex_lock(&g->lock);
	g->auth = a;
	g->auth_known = true;
	pthread_mutex_unlock(&g->lock);
}

void pull_options_init(pull_options *o)
{
	memset(o, 0, sizeof *o);
	o->concurrency = 4;
	o->split_threshold = PULL_SPLIT_THRESHOLD;
	o->retries = 6;
	o->retry_deadline_s = 900;
	o->idle_timeout_s = 60;
	o->connect_timeout_s = 30;
	o->timeout_s = 300;
}

const char *pull_auth_name(pull_auth a)
{
	switch (a) {
	case PULL_AUTH_BASIC: return "Basic";
	case PULL_AUTH_NTLM: return "NTLM";
	case PULL_AUTH_NEGOTIATE: return "Negotiate";
	case PULL_AUTH_BEARER: return "Bearer";
	case PULL_AUTH_AUTO: return "auto";
	case PULL_AUTH_NONE: return "none";
	}
	return "?";
}

int pull_gate_new(pull_gate **out, int max_in_flight, or_error *err)
{
	pull_gate *g = calloc(1, sizeof *g);
	if (!g)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->freed, NULL);
	g->max = max_in_flight > 0 ? max_in_flight : 1;
	*out = g;
	return 0;
}

void pull_gate_free(pull_gate *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_idle; i++)
		curl_easy_cleanup(g->idle[i]);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->freed);
	free(g);
}

void pull_shared_init(pull_shared *sh, const pull_options *opt)
{
	memset(sh, 0, sizeof *sh);
	sh->opt = opt;
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->slot, NULL);
	sh->start_ms = pull_now_ms();
	sh->limit = sh->min_limit = opt->concurrency < 1 ? 1 : opt->concurrency;
}

void pull_shared_destroy(pull_shared *sh)
{
	pthread_cond_destroy(&sh->slot);
	pthread_mutex_destroy(&sh->lock);
}

int64_t pull_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pull_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The body as the protocol reads it (inflated): to the trace and the handler. */
static void deliver(void *ud, const char *data, size_t len)
{
	pull_conn *c = ud;
	if (c->trace)
		fwrite(data, 1, len, c->trace);
	long code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (c->parse_err.code == 0)
		c->h->body(c->h->ctx, code, data, len, &c->parse_err);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	pull_conn *c = ud;
	size_t len = size * n;
	c->last_byte_ms = pull_now_ms();
	c->received += len;
	if (c->received > (size_t)MAX_RESPONSE)
		return 0; /* aborts the transfer */
	if (c->encoding == ENC_GZIP && c->gz && c->gz_rc == 0)
		c->gz_rc = pull_gunzip_feed(c->gz, data, len, deliver, c);
	else if (c->encoding == ENC_IDENTITY)
		deliver(c, data, len);
	return c->gz_rc == PULL_GUNZIP_TOO_LARGE ? 0 : len;
}

long pull_parse_retry_after(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	char *end;
	errno = 0;
	double secs = strtod(v, &end); /* Graph sends fractions ("2.128") */
	if (end != v && errno == 0 && secs >= 0 && isfinite(secs)) {
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (*end == '\0')
			return secs * 1000 > (double)MAX_WAIT_MS ? MAX_WAIT_MS : (long)(secs * 1000 + 0.5);
	}
	char date[128];
	size_t m = strcspn(v, "\r\n");
	if (m >= sizeof date)
		return -1;
	memcpy(date, v, m);
	date[m] = '\0';
	time_t when = curl_getdate(date, NULL); /* an HTTP date */
	if (when > 0) {
		long ms = (long)(when - time(NULL)) * 1000;
		return ms < 0 ? 0 : ms > MAX_WAIT_MS ? MAX_WAIT_MS : ms;
	}
	return -1;
}

/* The scheme names of a WWW-Authenticate header ("Negotiate", "NTLM", "Basic realm=..."). */
static void note_offered(pull_conn *c, const char *v)
{
	while (*v == ' ')
		v++;
	size_t n = strcspn(v, " \r\n,");
	if (n == 0 || n > 20)
		return;
	char name[24];
	memcpy(name, v, n);
	name[n] = '\0';
	size_t have = strlen(c->offered);
	if (have + n + 3 < sizeof c->offered && !strstr(c->offered, name))
		snprintf(c->offered + have, sizeof c->offered - have, "%s%s", have ? ", " : "", name);
}

/* Called by curl at least once a second during a transfer: the idle timeout (a server that sends
 * nothing that long), and, while the server has said nothing yet, whom we wait for, on a terminal
 * after a few seconds. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	pull_conn *c = ud;
	int64_t now = pull_now_ms();
	long idle_s = c->sh->opt->idle_timeout_s > 0 ? c->sh->opt->idle_timeout_s : 60;
	int64_t since = c->last_byte_ms > c->started_ms ? c->last_byte_ms : c->started_ms;
	if (now - since >= idle_s * 1000) {
		c->idle_expired = true;
		return 1; /* aborts the transfer */
	}
	if (c->received || c->sh->answered || !c->sh->opt->progress || !isatty(2))
		return 0;
	long waited = (long)((now - c->started_ms) / 1000);
	if (waited >= 5 && waited != c->waited_shown) {
		c->waited_shown = waited;
		const char *host = NULL;
		long port = 0;
		curl_easy_getinfo(c->curl, CURLINFO_PRIMARY_IP, &host);
		curl_easy_getinfo(c->curl, CURLINFO_PRIMARY_PORT, &port);
		fprintf(stderr, "\r  waiting for %s:%ld (%ld s)  ", host && *host ? host : "the server", port, waited);
	}
	return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	pull_conn *c = ud;
	size_t len = size * n;
	c->last_byte_ms = pull_now_ms();
	char line[512];
	size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, data, m);
	line[m] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) { /* a response begins (another one after a 401 or a 100) */
		c->encoding = ENC_IDENTITY;
		c->gz_rc = 0;
		if (c->gz)
			pull_gunzip_reset(c->gz);
	} else if (strncasecmp(line, "Content-Encoding:", 17) == 0) {
		const char *v = line + 17;
		v += strspn(v, " \t");
		size_t vn = strcspn(v, " \t\r\n");
		c->encoding = vn == 0 || (vn == 8 && strncasecmp(v, "identity", 8) == 0) ? ENC_IDENTITY
		              : (vn == 4 && strncasecmp(v, "gzip", 4) == 0) || (vn == 6 && strncasecmp(v, "x-gzip", 6) == 0)
		                  ? ENC_GZIP : ENC_OTHER;
	} else if (strncasecmp(line, "Retry-After:", 12) == 0)
		c->retry_after_ms = pull_parse_retry_after(line + 12);
	else if (strncasecmp(line, "WWW-Authenticate:", 17) == 0) {
		if (strstr(line, "invalid_token"))
			c->invalid_token = true;
		note_offered(c, line + 17);
	}
	return len;
}

int pull_conn_new(pull_conn **out, pull_shared *sh, unsigned seed, or_error *err)
{
	*out = NULL;
	const pull_options *o = sh->opt;
	pull_conn *c = calloc(1, sizeof *c);
	if (c && o->gate) { /* a handle a finished pull left, with its live connection */
		pthread_mutex_lock(&o->gate->lock);
		if (o->gate->n_idle)
			c->curl = o->gate->idle[--o->gate->n_idle];
		pthread_mutex_unlock(&o->gate->lock);
	}
	if (!c || !(c->curl || (c->curl = curl_easy_init()))) {
		free(c);
		return or_fail(err, OR_ERR_NOMEM, "cannot initialise libcurl");
	}
	c->sh = sh;
	c->seed = seed;
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ostrecon/" OSTRECON_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could carry credentials elsewhere */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024); /* pages run to MBs: fewer, larger reads */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
	if (o->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	for (size_t i = 0; o->resolve && o->resolve[i]; i++) {
		struct curl_slist *n = curl_slist_append(c->resolve, o->resolve[i]);
		if (!n)
			goto nomem;
		c->resolve = n;
	}
	for (size_t i = 0; o->connect_to && o->connect_to[i]; i++) {
		struct curl_slist *n = curl_slist_append(c->connect_to, o->connect_to[i]);
		if (!n)
			goto nomem;
		c->connect_to = n;
	}
	if (c->resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
	if (c->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	pull_set_auth(h, o, o->auth);
	*out = c;
	return 0;
nomem:
	curl_slist_free_all(c->resolve);
	curl_slist_free_all(c->connect_to);
	curl_easy_cleanup(c->curl);
	free(c);
	return or_fail(err, OR_ERR_NOMEM, "out of memory");
}

void pull_set_auth(CURL *h, const pull_options *o, pull_auth a)
{
	switch (a) {
	case PULL_AUTH_BEARER:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		if (!o->tokens)
			curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, o->secret ? o->secret : "");
		break;
	case PULL_AUTH_NEGOTIATE:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_NEGOTIATE);
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user ? o->user : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->secret ? o->secret : "");
		break;
	case PULL_AUTH_NTLM:
	case PULL_AUTH_BASIC:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, a == PULL_AUTH_NTLM ? CURLAUTH_NTLM : CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user ? o->user : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->secret ? o->secret : "");
		break;
	case PULL_AUTH_AUTO: /* decided before any request (pull_auth_resolve): nothing until then */
	case PULL_AUTH_NONE:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
		break;
	}
}

CURL *pull_conn_handle(pull_conn *c)
{
	return c->curl;
}

static void wipe_token(pull_conn *c)
{
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
}

void pull_conn_free(pull_conn *c)
{
	if (!c)
		return;
	pull_gate *g = c->sh->opt->gate;
	bool kept = false;
	if (g && !c->sh->fatal) {
		/* Options back to the defaults (nothing points at this connection's memory any more);
		 * curl keeps the open connections, TLS sessions and DNS entries across the reset. */
		curl_easy_reset(c->curl);
		pthread_mutex_lock(&g->lock);
		if (g->n_idle < GATE_IDLE_MAX) {
			g->idle[g->n_idle++] = c->curl;
			kept = true;
		}
		pthread_mutex_unlock(&g->lock);
	}
	if (!kept)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->resolve);
	curl_slist_free_all(c->connect_to);
	pull_gunzip_free(c->gz);
	wipe_token(c);
	free(c);
}

/* Waits for a free slot at the server's gate (batch runs) and for its "not before" time. */
static void gate_enter(pull_gate *g)
{
	pthread_mutex_lock(&g->lock);
	for (;;) {
		int64_t wait = g->not_before_ms - pull_now_ms();
		if (wait > 0) {
			pthread_mutex_unlock(&g->lock);
			pull_sleep_ms(wait > 1000 ? 1000 : wait);
			pthread_mutex_lock(&g->lock);
			continue;
		}
		if (g->in_flight < g->max)
			break;
		pthread_cond_wait(&g->freed, &g->lock);
	}
	g->in_flight++;
	pthread_mutex_unlock(&g->lock);
}

static void gate_leave(pull_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->in_flight--;
	pthread_cond_signal(&g->freed);
	pthread_mutex_unlock(&g->lock);
}

#define CALM_TO_GROW 16 /* answers without throttling before one more request may be in flight */

/* Waits for a request slot of the pull (in the order the workers asked) and for the shared "not before"
 * time, then claims a trace number. Workers released together from a shared back-off are spread over
 * a short while, so that they do not all land on the server in the same instant again. */
static long before_request(pull_conn *c)
{
	pull_shared *sh = c->sh;
	pthread_mutex_lock(&sh->lock);
	unsigned long ticket = sh->ticket_next++;
	while ((ticket != sh->ticket_head || sh->active >= sh->limit) && !sh->fatal)
		pthread_cond_wait(&sh->slot, &sh->lock);
	sh->active++;
	sh->ticket_head++;
	pthread_cond_broadcast(&sh->slot); /* the next ticket may fit in a slot too */
	pthread_mutex_unlock(&sh->lock);
	bool waited = false;
	for (;;) {
		pthread_mutex_lock(&sh->lock);
		int64_t wait = sh->not_before_ms - pull_now_ms();
		if (wait <= 0 || sh->fatal) {
			pthread_mutex_unlock(&sh->lock);
			break;
		}
		pthread_mutex_unlock(&sh->lock);
		pull_sleep_ms(wait > 1000 ? 1000 : wait);
		waited = true;
	}
	if (waited)
		pull_sleep_ms((int64_t)(rand_r(&c->seed) % 200u));
	if (sh->opt->gate)
		gate_enter(sh->opt->gate);
	pthread_mutex_lock(&sh->lock);
	long seq = ++sh->requests;
	pthread_mutex_unlock(&sh->lock);
	return seq;
}

/* The transfer ended: the server holds the request no more, and its slot goes to the next
 * worker while this one inflates and parses the answer (a gzip body of a sane size is inflated
 * and parsed whole after the transfer: over EWS some 3 ms of CPU a page of 500 items, during
 * which the slot would otherwise wait on the client). */
static void free_slot(pull_conn *c)
{
	pull_shared *sh = c->sh;
	pthread_mutex_lock(&sh->lock);
	sh->active--;
	pthread_cond_broadcast(&sh->slot);
	pthread_mutex_unlock(&sh->lock);
}

/* The answer was judged: a throttling answer lowers the number of slots, a run of others raises
 * it again. */
static void after_request(pull_conn *c, bool throttled)
{
	pull_shared *sh = c->sh;
	pthread_mutex_lock(&sh->lock);
	if (throttled) {
		sh->calm = 0;
		if (sh->limit > 1) {
			sh->limit--;
			if (sh->limit < sh->min_limit)
				sh->min_limit = sh->limit;
			log_verbose("the server throttles: at most %d requests in flight now", sh->limit);
		}
	} else if (++sh->calm >= CALM_TO_GROW && sh->limit < (sh->opt->concurrency < 1 ? 1 : sh->opt->concurrency)) {
		sh->limit++;
		sh->calm = 0;
	}
	pthread_cond_broadcast(&sh->slot);
	pthread_mutex_unlock(&sh->lock);
}

static void slow_everyone(pull_conn *c, long ms, bool throttled)
{
	int64_t until = pull_now_ms() + ms;
	pthread_mutex_lock(&c->sh->lock);
	if (until > c->sh->not_before_ms)
		c->sh->not_before_ms = until;
	c->sh->retries++;
	if (throttled)
		c->sh->throttled++;
	pthread_mutex_unlock(&c->sh->lock);
	pull_gate *g = c->sh->opt->gate;
	if (g && ms > 0) { /* every mailbox on this server waits, not just this one */
		pthread_mutex_lock(&g->lock);
		if (until > g->not_before_ms)
			g->not_before_ms = until;
		pthread_mutex_unlock(&g->lock);
	}
}

/* A request starts or stops waiting for its retry (counted for the progress line). */
static void set_waiting(pull_conn *c, bool *waiting, bool on)
{
	if (*waiting == on)
		return;
	pthread_mutex_lock(&c->sh->lock);
	c->sh->waiting += on ? 1 : -1;
	pthread_mutex_unlock(&c->sh->lock);
	*waiting = on;
}

/* Jittered exponential back-off: 250 ms, 500 ms, 1 s, ... up to 30 s, each within +-50 %. */
static long backoff_ms(pull_conn *c, int attempt)
{
	long base = 250L << (attempt < 7 ? attempt : 7);
	if (base > 30000)
		base = 30000;
	return base / 2 + (long)(rand_r(&c->seed) % (unsigned)(base + 1));
}

FILE *pull_trace_open(const pull_options *o, const char *prefix, long seq, const char *op, const char *what,
                      const char *ext)
{
	if (!o->trace_dir)
		return NULL;
	char path[1100];
	snprintf(path, sizeof path, "%s/%s%05ld-%s-%s.%s", o->trace_dir, prefix, seq, op, what, ext ? ext : "txt");
	/* Traces hold mailbox data: owner-only, like snapshots and reports (also when it existed). */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	FILE *fp = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
	if (!fp)
		close(fd);
	return fp;
}

/* The names the server's certificate is for, for a message: asked again without verifying (no
 * request is sent: the connection is only opened), from curl's certificate information. */
static void cert_names(pull_conn *c, char *out, size_t size)
{
	out[0] = '\0';
	const char *url = NULL;
	curl_easy_getinfo(c->curl, CURLINFO_EFFECTIVE_URL, &url);
	CURL *h = url ? curl_easy_init() : NULL;
	if (!h)
		return;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	struct curl_certinfo *ci = NULL;
	if (curl_easy_perform(h) == CURLE_OK && curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci &&
	    ci->num_of_certs > 0) {
		for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
			const char *v = NULL;
			if (strncmp(l->data, "X509v3 Subject Alternative Name:", 32) == 0)
				v = l->data + 32;
			else if (!*out && strncmp(l->data, "Subject:", 8) == 0)
				v = l->data + 8;
			if (v) {
				while (*v == ' ')
					v++;
				str_copy(out, v, size);
			}
		}
	}
	curl_easy_cleanup(h);
}

void pull_conn_begin(pull_conn *c)
{
	c->started_ms = pull_now_ms();
	c->last_byte_ms = 0;
	c->idle_expired = false;
	c->waited_shown = 0;
	c->curl_error[0] = '\0';
}

void pull_conn_touch(pull_conn *c) { c->last_byte_ms = pull_now_ms(); }

int pull_conn_failure(pull_conn *c, CURLcode cc, const char *url, or_error *err)
{
	const pull_options *o = c->sh->opt;
	const char *why = *c->curl_error ? c->curl_error : curl_easy_strerror(cc);
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		if (strstr(c->curl_error, "subject name") || strstr(c->curl_error, "does not match")) {
			char names[300];
			cert_names(c, names, sizeof names);
			return or_fail(err, OR_ERR_TLS, "TLS: the server's certificate is not for the host of %s (%s)%s%s: use a URL "
			               "with one of its names", url, c->curl_error, *names ? "; it names " : "", names);
		}
		return or_fail(err, OR_ERR_TLS, "TLS failure talking to %s: %s%s", url, why,
		               cc == CURLE_PEER_FAILED_VERIFICATION ? " (a private CA: give it with --cacert)" : "");
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return or_fail(err, OR_ERR_USAGE, "unusable URL %s: %s", url, curl_easy_strerror(cc));
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return or_fail(err, OR_ERR_IO, "cannot resolve the server's name in %s", url);
	case CURLE_COULDNT_CONNECT:
		return or_fail(err, OR_ERR_IO, "cannot connect: %s", why);
	case CURLE_OPERATION_TIMEDOUT:
		return or_fail(err, OR_ERR_TIMEOUT, "the server did not answer in time: %s", why);
	case CURLE_ABORTED_BY_CALLBACK:
		if (c->idle_expired) {
			const char *ip = NULL;
			long port = 0;
			curl_easy_getinfo(c->curl, CURLINFO_PRIMARY_IP, &ip);
			curl_easy_getinfo(c->curl, CURLINFO_PRIMARY_PORT, &port);
			return or_fail(err, OR_ERR_TIMEOUT, "%s:%ld sent nothing for %ld s (--idle-timeout)",
			               ip && *ip ? ip : "the server", port, o->idle_timeout_s > 0 ? o->idle_timeout_s : 60);
		}
		return or_fail(err, OR_ERR_IO, "the transfer was stopped");
	default:
		return or_fail(err, OR_ERR_IO, "connection to %s failed: %s", url, why);
	}
}

/* What the transport decides itself about one attempt; PULL_OK means "the protocol judges". */
static pull_outcome judge_transport(pull_conn *c, CURLcode cc, long http, long *wait, or_error *err)
{
	const pull_options *o = c->sh->opt;
	*wait = -1;
	switch (cc) {
	case CURLE_OK: break;
	case CURLE_WRITE_ERROR:
		or_fail(err, OR_ERR_LIMIT, "response larger than %ld bytes refused%s", MAX_RESPONSE,
		        c->gz_rc == PULL_GUNZIP_TOO_LARGE ? " (once inflated)" : "");
		return PULL_FAIL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		pull_conn_failure(c, cc, o->url, err);
		return PULL_FAIL;
	case CURLE_COULDNT_CONNECT: /* refused or unreachable: at once when the server never answered this pull */
		pull_conn_failure(c, cc, o->url, err);
		return c->sh->answered ? PULL_RETRY : PULL_FAIL;
	case CURLE_ABORTED_BY_CALLBACK:
		pull_conn_failure(c, cc, o->url, err);
		return c->idle_expired ? PULL_RETRY : PULL_FAIL;
	default: /* timeouts and broken connections */
		pull_conn_failure(c, cc, o->url, err);
		return PULL_RETRY;
	}
	if (c->gz_rc == PULL_GUNZIP_NOMEM) {
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return PULL_FAIL;
	}
	if (c->gz_rc || (c->encoding == ENC_OTHER && c->received > 0)) { /* as curl's own "bad content encoding": a bad transfer */
		or_fail(err, OR_ERR_IO, "%s", c->encoding == ENC_OTHER ? "the server answered in a content encoding "
		        "that was not asked for" : "the server's gzip body does not inflate");
		return PULL_RETRY;
	}
	if (http == 401) {
		/* Name the method: with Negotiate, curl sends nothing when there is no usable ticket, so
		 * the 401 may mean a missing or expired ticket rather than a refused one. */
		char offers[128] = "";
		if (*c->offered)
			snprintf(offers, sizeof offers, "; the server offers %s", c->offered);
		if (c->invalid_token || o->auth == PULL_AUTH_BEARER)
			or_fail(err, OR_ERR_AUTH, "the server refused the token (expired or invalid): HTTP 401");
		else if (o->auth == PULL_AUTH_NEGOTIATE)
			or_fail(err, OR_ERR_AUTH, "Negotiate (Kerberos) authentication failed: the server refused the "
			                          "credentials, or there is no valid Kerberos ticket for it (see klist; "
			                          "kinit gets one): HTTP 401%s", offers);
		else
			or_fail(err, OR_ERR_AUTH, "%s authentication failed: the server refused the credentials (%s): HTTP 401%s",
			        pull_auth_name(o->auth),
			        o->auth == PULL_AUTH_NTLM ? "user name, domain or password" : "user name or password", offers);
		return PULL_FAIL;
	}
	if (http == 429 || http == 503) {
		or_fail(err, OR_ERR_PROTOCOL, "the server is throttling or unavailable: HTTP %ld", http);
		*wait = c->retry_after_ms;
		return PULL_RETRY;
	}
	if (http >= 300 && http < 400) {
		const char *to = NULL;
		curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &to);
		or_fail(err, OR_ERR_PROTOCOL, "the server redirected (HTTP %ld) to %s; give that URL with --url if it is the "
		        "server's (redirects are not followed: credentials would go with them)", http, to ? to : "nowhere");
		return PULL_FAIL;
	}
	return PULL_OK;
}

/* The bearer token for the next attempt, from the token source. */
static int set_token(pull_conn *c, bool renew, or_error *err)
{
	const pull_token_source *ts = c->sh->opt->tokens;
	char *buf = malloc(PULL_TOKEN_MAX);
	if (!buf)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	/* The refused token goes in: a source that renewed it meanwhile for another worker answers
	 * with the newer one instead of renewing twice. */
	str_copy(buf, renew && c->token ? c->token : "", PULL_TOKEN_MAX);
	int rc = ts->get(ts->ctx, renew, buf, PULL_TOKEN_MAX, err);
	if (rc) {
		explicit_bzero(buf, PULL_TOKEN_MAX);
		free(buf);
		return rc;
	}
	if (!c->token || strcmp(c->token, buf) != 0) {
		wipe_token(c);
		c->token = strdup(buf);
	}
	explicit_bzero(buf, PULL_TOKEN_MAX);
	free(buf);
	if (!c->token)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	curl_easy_setopt(c->curl, CURLOPT_XOAUTH2_BEARER, c->token);
	return 0;
}

static void mark_fatal(pull_conn *c, const or_error *err)
{
	pthread_mutex_lock(&c->sh->lock);
	if (!c->sh->fatal) {
		c->sh->fatal = true;
		c->sh->fatal_err = *err;
	}
	pthread_mutex_unlock(&c->sh->lock);
}

/* The headers of one request. */
static struct curl_slist *request_headers(const pull_request *rq)
{
	struct curl_slist *l = NULL, *n;
	char line[256];
	if (rq->content_type) {
		snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
		if (!(n = curl_slist_append(l, line)))
			goto nomem;
		l = n;
	}
	if (rq->accept) {
		snprintf(line, sizeof line, "Accept: %s", rq->accept);
		if (!(n = curl_slist_append(l, line)))
			goto nomem;
		l = n;
	}
	/* No "Expect: 100-continue" (curl's default above 1 KiB of body): a request is a few KiB, and
	 * waiting for the interim answer costs a round trip per request. */
	if (!(n = curl_slist_append(l, "Expect:")))
		goto nomem;
	l = n;
	for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
		if (!(n = curl_slist_append(l, rq->headers[i])))
			goto nomem;
		l = n;
	}
	return l;
nomem:
	curl_slist_free_all(l);
	return NULL;
}

int pull_call(pull_conn *c, const pull_request *rq, const pull_handler *h, or_error *err)
{
	const pull_options *o = c->sh->opt;
	/* Failures (dropped connections, server errors, pages that do not parse) have a number of
	 * attempts. Throttling answers are retried as the server says for as long as the rest of the
	 * pull gets through (until the pull's deadline, and at most four times a failure's attempts
	 * in a row), so that a server that throttles one request in three slows the pull down but
	 * never loses a folder; a server that throttles everything gets a failure's attempts. */
	int attempts = 1 + (o->retries > 0 ? o->retries : 0);
	/* --retries counts failures: a throttled request gets at least the default's attempts. */
	long throttle_tries = attempts > 7 ? attempts : 7;
	int failures = 0;
	long throttles = 0, successes_then = -1;
	int64_t deadline = c->sh->start_ms + (o->retry_deadline_s > 0 ? o->retry_deadline_s : 900) * 1000;
	bool renewed = false, waiting = false;
	struct curl_slist *headers = request_headers(rq);
	if (!headers || (!c->gz && pull_gunzip_new(&c->gz, (size_t)MAX_RESPONSE) != 0)) {
		curl_slist_free_all(headers);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	CURL *cu = c->curl;
	/* gzip only (libdeflate inflates it, gunzip.c); curl passes the body on as it came */
	curl_easy_setopt(cu, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(cu, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(cu, CURLOPT_URL, rq->url ? rq->url : o->url);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, headers);
	if (rq->body) {
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else {
		curl_easy_setopt(cu, CURLOPT_HTTPGET, 1L);
	}
	c->h = h;
	/* What the log lines name: the operation and the folder it is for. */
	char what[256];
	snprintf(what, sizeof what, "%s%s%s%s", rq->op, rq->folder ? " (" : "", rq->folder ? rq->folder : "",
	         rq->folder ? ")" : "");
	int rc = 0;
	for (;;) {
		if (o->cancel && *o->cancel && !c->sh->fatal) {
			or_error e;
			or_fail(&e, OR_ERR_IO, "stopped: the other side of the comparison failed");
			mark_fatal(c, &e);
		}
		if (c->sh->fatal) {
			rc = or_fail(err, c->sh->fatal_err.code, "%s", c->sh->fatal_err.message);
			goto out;
		}
		if (o->auth == PULL_AUTH_BEARER && o->tokens && (rc = set_token(c, false, err)) != 0) {
			if (rc == OR_ERR_AUTH || rc == OR_ERR_TLS)
				mark_fatal(c, err);
			goto out;
		}
		if ((rc = h->begin(h->ctx, err)) != 0)
			goto out;
		or_error_clear(&c->parse_err);
		c->received = 0;
		c->retry_after_ms = -1;
		c->invalid_token = false;
		c->offered[0] = '\0';
		c->encoding = ENC_IDENTITY;
		c->gz_rc = 0;
		pull_gunzip_reset(c->gz);
		long seq = before_request(c); /* from here on a slot is held until the transfer ends (free_slot) */
		set_waiting(c, &waiting, false);
		FILE *req = rq->body ? pull_trace_open(o, "", seq, rq->op, "request", rq->trace_ext) : NULL;
		if (req) {
			fwrite(rq->body, 1, rq->body_len, req);
			fclose(req);
		}
		c->trace = pull_trace_open(o, "", seq, rq->op, "response", rq->trace_ext);
		pull_conn_begin(c);
		int64_t t0 = c->started_ms;
		CURLcode cc = curl_easy_perform(cu);
		if (c->waited_shown)
			fputs("\r                                              \r", stderr);
		if (o->gate)
			gate_leave(o->gate);
		free_slot(c);
		long http = 0;
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &http);
		bool never_answered = !c->sh->answered;
		if (http > 0) {
			pthread_mutex_lock(&c->sh->lock);
			c->sh->answered = true;
			pthread_mutex_unlock(&c->sh->lock);
		}
		if (cc == CURLE_OK && c->encoding == ENC_GZIP && c->gz_rc == 0)
			c->gz_rc = pull_gunzip_finish(c->gz, deliver, c);
		if (cc == CURLE_OK && c->parse_err.code == 0 && c->gz_rc == 0 && !(c->encoding == ENC_OTHER && c->received > 0))
			h->end(h->ctx, http, &c->parse_err);
		if (c->trace)
			fclose(c->trace);
		c->trace = NULL;
		log_debug("%s #%ld: HTTP %ld, %zu bytes, %lld ms%s", what, seq, http, c->received,
		          (long long)(pull_now_ms() - t0), cc != CURLE_OK ? ", transfer failed" : "");

		long wait;
		pull_outcome out = judge_transport(c, cc, http, &wait, err);
		if (out == PULL_OK)
			out = h->judge(h->ctx, http, &c->parse_err, &wait, err);
		/* Throttling: the server said how long to wait, answered 429 or 503, or the protocol
		 * read a throttling code in the body. */
		bool throttled = out == PULL_THROTTLED ||
		                 (out == PULL_RETRY && (wait >= 0 || (cc == CURLE_OK && (http == 429 || http == 503))));
		after_request(c, throttled);
		if (out == PULL_OK) {
			if (renewed && o->tokens->accepted)
				o->tokens->accepted(o->tokens->ctx, c->token);
			pthread_mutex_lock(&c->sh->lock);
			c->sh->successes++;
			pthread_mutex_unlock(&c->sh->lock);
			rc = 0;
			goto out;
		}
		if (out == PULL_FAIL && http == 401 && o->tokens && !renewed) {
			/* An expired token: one renewal, then the same request again (not a retry). */
			renewed = true;
			log_verbose("%s: the token was refused; renewing it", what);
			if ((rc = set_token(c, true, err)) != 0) {
				mark_fatal(c, err);
				goto out;
			}
			continue;
		}
		if (out == PULL_FAIL) {
			if (err->code == OR_ERR_AUTH || err->code == OR_ERR_TLS)
				mark_fatal(c, err);
			rc = err->code;
			goto out;
		}
		if (throttled) {
			throttles++;
			pthread_mutex_lock(&c->sh->lock);
			long successes = c->sh->successes;
			pthread_mutex_unlock(&c->sh->lock);
			if (successes_then < 0)
				successes_then = successes;
			/* Throttled every time and nothing else got through meanwhile: the server throttles
			 * everything. Throttled four times as often as a failure may be retried while the
			 * rest gets through: this request's own answer is "unavailable" (one throttled in
			 * three would be throttled that often once in 10^13). */
			bool alone = successes == successes_then;
			if ((throttles >= throttle_tries && alone) || throttles >= 4L * throttle_tries) {
				rc = or_wrap(err, "%s: still throttled after %ld answers%s", rq->op, throttles,
				             alone ? ", and nothing else got through meanwhile" : "");
				goto out;
			}
			long ms = (wait >= 0 ? wait : backoff_ms(c, (int)(throttles < 8 ? throttles : 8))) +
			          (long)(rand_r(&c->seed) % 250);
			if (pull_now_ms() + ms > deadline) {
				rc = or_wrap(err, "%s: still throttled after %ld answers, at the retry deadline (%ld s)", rq->op,
				             throttles, o->retry_deadline_s);
				goto out;
			}
			log_verbose("%s: %s; retrying in %ld ms (throttled %ld times)", what, err->message, ms, throttles);
			slow_everyone(c, ms, true);
			set_waiting(c, &waiting, true);
			continue;
		}
		/* a server that has never answered this pull gets two tries, not a failure's attempts */
		if (++failures >= attempts || (never_answered && http == 0 && failures >= 2)) {
			if (never_answered && http == 0 && failures < attempts)
				attempts = failures;
			break;
		}
		long ms = backoff_ms(c, failures - 1);
		log_verbose("%s: %s; retrying in %ld ms (attempt %d of %d)", what, err->message, ms, failures + 1, attempts);
		slow_everyone(c, 0, false);
		set_waiting(c, &waiting, true);
		pull_sleep_ms(ms);
	}
	rc = or_wrap(err, "%s failed after %d attempts", rq->op, attempts);
out:
	set_waiting(c, &waiting, false);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	c->h = NULL;
	return rc;
}
