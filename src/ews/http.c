/*
 * http.c: one EWS call over HTTP(S) with libcurl, and what to do when it fails.
 *
 * Each worker owns a connection (a curl handle reused across requests: keep-alive; in a batch run
 * the handle then goes back to the server's gate and serves the next mailbox). The response
 * body is fed to the streaming parser as it arrives. Throttling (ErrorServerBusy with
 * BackOffMilliseconds, 503/429 with Retry-After), dropped connections, timeouts and malformed
 * responses are retried a bounded number of times with jittered back-off; a throttling answer
 * delays every worker of the pull, not just the one that got it. Credentials refused or a TLS
 * failure stop the whole pull. Nothing here logs a header or a secret.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESPONSE (1024L * 1024 * 1024) /* 1 GiB: beyond that a response is refused */
#define MAX_WAIT_MS (300L * 1000)           /* longest back-off honoured */

struct ews_conn {
	CURL *curl;
	ews_shared *sh;
	unsigned seed;
	struct curl_slist *headers;
	/* per request */
	ews_parser *parser;
	ews_page *page;
	or_error parse_err;
	size_t received;
	long retry_after_ms;
	bool invalid_token;
	FILE *trace;
};

#define GATE_IDLE_MAX 64 /* idle handles a gate keeps for the next pulls */

struct ews_gate {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	int max, in_flight;
	int64_t not_before_ms;
	/* Handles of finished pulls, with their open connections (and TLS sessions): the next pull
	 * to this server takes one instead of connecting again. */
	CURL *idle[GATE_IDLE_MAX];
	int n_idle;
};

int ews_gate_new(ews_gate **out, int max_in_flight, or_error *err)
{
	ews_gate *g = calloc(1, sizeof *g);
	if (!g)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->freed, NULL);
	g->max = max_in_flight > 0 ? max_in_flight : 1;
	*out = g;
	return 0;
}

void ews_gate_free(ews_gate *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_idle; i++)
		curl_easy_cleanup(g->idle[i]);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->freed);
	free(g);
}

int64_t ews_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	ews_conn *c = ud;
	size_t len = size * n;
	c->received += len;
	if (c->received > (size_t)MAX_RESPONSE)
		return 0; /* aborts the transfer */
	if (c->trace)
		fwrite(data, 1, len, c->trace);
	long code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	/* Only 200 and 500 carry SOAP; other bodies (HTML error pages) are not parsed. */
	if ((code == 200 || code == 500) && c->parse_err.code == 0)
		ews_parser_feed(c->parser, data, len, &c->parse_err);
	return len;
}

static long parse_retry_after(const char *v)
{
	while (*v == ' ')
		v++;
	char *end;
	long secs = strtol(v, &end, 10);
	if (end != v && secs >= 0)
		return secs > MAX_WAIT_MS / 1000 ? MAX_WAIT_MS : secs * 1000;
	time_t when = curl_getdate(v, NULL); /* an HTTP date */
	if (when > 0) {
		long ms = (long)(when - time(NULL)) * 1000;
		return ms < 0 ? 0 : ms > MAX_WAIT_MS ? MAX_WAIT_MS : ms;
	}
	return -1;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	ews_conn *c = ud;
	size_t len = size * n;
	char line[512];
	size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, data, m);
	line[m] = '\0';
	if (strncasecmp(line, "Retry-After:", 12) == 0)
		c->retry_after_ms = parse_retry_after(line + 12);
	else if (strncasecmp(line, "WWW-Authenticate:", 17) == 0 && strstr(line, "invalid_token"))
		c->invalid_token = true;
	return len;
}

int ews_conn_new(ews_conn **out, ews_shared *sh, unsigned seed, or_error *err)
{
	*out = NULL;
	const ews_options *o = sh->opt;
	ews_conn *c = calloc(1, sizeof *c);
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
	c->headers = curl_slist_append(c->headers, "Content-Type: text/xml; charset=utf-8");
	c->headers = curl_slist_append(c->headers, "Accept: text/xml");
	/* No "Expect: 100-continue" (curl's default above 1 KiB of body): a request is a few KiB, and
	 * waiting for the interim answer costs a round trip per request. */
	c->headers = curl_slist_append(c->headers, "Expect:");
	const char *anchor = o->anchor ? o->anchor : (o->impersonate || o->auth == EWS_AUTH_BEARER) ? o->mailbox : NULL;
	if (anchor) {
		char hdr[320];
		snprintf(hdr, sizeof hdr, "X-AnchorMailbox: %s", anchor);
		c->headers = curl_slist_append(c->headers, hdr);
	}
	curl_easy_setopt(h, CURLOPT_URL, o->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ostrecon/" OSTRECON_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could carry credentials elsewhere */
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->timeout_s < 60 ? o->timeout_s : 60L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
	if (o->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
	switch (o->auth) {
	case EWS_AUTH_BEARER:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, o->secret ? o->secret : "");
		break;
	case EWS_AUTH_NEGOTIATE:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_NEGOTIATE);
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user ? o->user : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->secret ? o->secret : "");
		break;
	case EWS_AUTH_NTLM:
	case EWS_AUTH_BASIC:
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, o->auth == EWS_AUTH_NTLM ? CURLAUTH_NTLM : CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user ? o->user : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->secret ? o->secret : "");
		break;
	}
	*out = c;
	return 0;
}

void ews_conn_free(ews_conn *c)
{
	if (!c)
		return;
	ews_gate *g = c->sh->opt->gate;
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
	curl_slist_free_all(c->headers);
	free(c);
}

/* Waits for a free slot at the server's gate (batch runs) and for its "not before" time. */
static void gate_enter(ews_gate *g)
{
	pthread_mutex_lock(&g->lock);
	for (;;) {
		int64_t wait = g->not_before_ms - ews_now_ms();
		if (wait > 0) {
			pthread_mutex_unlock(&g->lock);
			sleep_ms(wait > 1000 ? 1000 : wait);
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

static void gate_leave(ews_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->in_flight--;
	pthread_cond_signal(&g->freed);
	pthread_mutex_unlock(&g->lock);
}

/* Waits for the shared "not before" time, then claims a request slot and a trace number. */
static long before_request(ews_conn *c)
{
	ews_shared *sh = c->sh;
	if (sh->opt->gate)
		gate_enter(sh->opt->gate);
	for (;;) {
		pthread_mutex_lock(&sh->lock);
		int64_t wait = sh->not_before_ms - ews_now_ms();
		if (wait <= 0 || sh->fatal) {
			long seq = ++sh->requests;
			pthread_mutex_unlock(&sh->lock);
			return seq;
		}
		pthread_mutex_unlock(&sh->lock);
		sleep_ms(wait > 1000 ? 1000 : wait);
	}
}

static void slow_everyone(ews_conn *c, long ms)
{
	int64_t until = ews_now_ms() + ms;
	pthread_mutex_lock(&c->sh->lock);
	if (until > c->sh->not_before_ms)
		c->sh->not_before_ms = until;
	c->sh->retries++;
	pthread_mutex_unlock(&c->sh->lock);
	ews_gate *g = c->sh->opt->gate;
	if (g && ms > 0) { /* every mailbox on this server waits, not just this one */
		pthread_mutex_lock(&g->lock);
		if (until > g->not_before_ms)
			g->not_before_ms = until;
		pthread_mutex_unlock(&g->lock);
	}
}

/* Jittered exponential back-off: 250 ms, 500 ms, 1 s, ... up to 30 s, each within +-50 %. */
static long backoff_ms(ews_conn *c, int attempt)
{
	long base = 250L << (attempt < 7 ? attempt : 7);
	if (base > 30000)
		base = 30000;
	return base / 2 + (long)(rand_r(&c->seed) % (unsigned)(base + 1));
}

static FILE *open_trace(const ews_options *o, long seq, const char *op, const char *what)
{
	if (!o->trace_dir)
		return NULL;
	char path[1024];
	snprintf(path, sizeof path, "%s/%05ld-%s-%s.xml", o->trace_dir, seq, op, what);
	/* Traces hold mailbox data: owner-only, like snapshots and reports (also when it existed). */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NULL;
	FILE *fp = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
	if (!fp)
		close(fd);
	return fp;
}

static bool is_busy(const ews_page *pg)
{
	if (pg->is_fault && strstr(pg->fault_code, "ErrorServerBusy"))
		return true;
	for (size_t i = 0; i < pg->n_status; i++)
		if (strcmp(pg->status[i].code, "ErrorServerBusy") == 0)
			return true;
	return false;
}

typedef enum { OUT_OK, OUT_RETRY, OUT_FAIL } outcome;

/* Decides what one attempt's result means. */
static outcome judge(ews_conn *c, CURLcode cc, long http, int parsed, ews_page *pg, long *wait, or_error *err)
{
	const ews_options *o = c->sh->opt;
	*wait = -1;
	switch (cc) {
	case CURLE_OK: break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		or_fail(err, OR_ERR_TLS, "TLS failure talking to %s: %s%s", o->url, curl_easy_strerror(cc),
		        cc == CURLE_PEER_FAILED_VERIFICATION ? " (give the CA with --cacert)" : "");
		return OUT_FAIL;
	case CURLE_WRITE_ERROR:
		or_fail(err, OR_ERR_LIMIT, "response larger than %ld bytes refused", MAX_RESPONSE);
		return OUT_FAIL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		or_fail(err, OR_ERR_USAGE, "unusable URL %s: %s", o->url, curl_easy_strerror(cc));
		return OUT_FAIL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		or_fail(err, OR_ERR_IO, "cannot resolve the server's name in %s", o->url);
		return OUT_FAIL;
	case CURLE_OPERATION_TIMEDOUT:
		or_fail(err, OR_ERR_TIMEOUT, "the server did not answer in time (%s)", curl_easy_strerror(cc));
		return OUT_RETRY;
	default:
		or_fail(err, OR_ERR_IO, "connection to the server failed: %s", curl_easy_strerror(cc));
		return OUT_RETRY;
	}
	if (http == 401) {
		/* Name the method: with Negotiate, curl sends nothing when there is no usable ticket, so
		 * the 401 may mean a missing or expired ticket rather than a refused one. */
		if (c->invalid_token || o->auth == EWS_AUTH_BEARER)
			or_fail(err, OR_ERR_AUTH, "the server refused the token (expired or invalid): HTTP 401");
		else if (o->auth == EWS_AUTH_NEGOTIATE)
			or_fail(err, OR_ERR_AUTH, "Negotiate (Kerberos) authentication failed: the server refused the "
			                          "credentials, or there is no valid Kerberos ticket for it (see klist; "
			                          "kinit gets one): HTTP 401");
		else
			or_fail(err, OR_ERR_AUTH, "%s authentication failed: the server refused the credentials (%s): HTTP 401",
			        o->auth == EWS_AUTH_NTLM ? "NTLM" : "Basic",
			        o->auth == EWS_AUTH_NTLM ? "user name, domain or password" : "user name or password");
		return OUT_FAIL;
	}
	if (http == 403) {
		or_fail(err, OR_ERR_DENIED, "the server denied access: HTTP 403");
		return OUT_FAIL;
	}
	if (http == 429 || http == 503) {
		or_fail(err, OR_ERR_PROTOCOL, "the server is throttling or unavailable: HTTP %ld", http);
		*wait = c->retry_after_ms;
		return OUT_RETRY;
	}
	if (http >= 300 && http < 400) {
		or_fail(err, OR_ERR_PROTOCOL, "the server redirected (HTTP %ld); give the final EWS URL with --url", http);
		return OUT_FAIL;
	}
	if (http != 200 && http != 500) {
		or_fail(err, OR_ERR_PROTOCOL, "unexpected HTTP status %ld", http);
		return http >= 500 ? OUT_RETRY : OUT_FAIL;
	}
	if (parsed != 0) {
		or_fail(err, OR_ERR_PROTOCOL, "%s (HTTP %ld)", c->parse_err.message, http);
		return OUT_RETRY;
	}
	if (is_busy(pg)) {
		or_fail(err, OR_ERR_PROTOCOL, "the server is busy (ErrorServerBusy)");
		*wait = pg->backoff_ms >= 0 ? (pg->backoff_ms > MAX_WAIT_MS ? MAX_WAIT_MS : pg->backoff_ms) : -1;
		return OUT_RETRY;
	}
	if (pg->is_fault) {
		const char *code = pg->fault_code;
		int kind = strstr(code, "ImpersonateUserDenied") || strstr(code, "AccessDenied") ? OR_ERR_DENIED
		           : strstr(code, "NonExistentMailbox") || strstr(code, "MailboxNotFound") ? OR_ERR_NOTFOUND
		           : strstr(code, "InvalidServerVersion") || strstr(code, "SchemaValidation") ? OR_ERR_PROTOCOL
		                                                                                      : OR_ERR_PROTOCOL;
		or_fail(err, kind, "the server refused the request: %s%s%s", code, *pg->fault_text ? ": " : "", pg->fault_text);
		/* An internal server error may pass; a refusal will not. */
		return strstr(code, "InternalServerError") || strstr(code, "InternalServerTransientError") ? OUT_RETRY : OUT_FAIL;
	}
	if (http == 500) {
		or_fail(err, OR_ERR_PROTOCOL, "server error HTTP 500 without a SOAP fault");
		return OUT_RETRY;
	}
	if (pg->n_status == 0) {
		or_fail(err, OR_ERR_PROTOCOL, "the response holds no response message");
		return OUT_RETRY;
	}
	return OUT_OK;
}

int ews_call(ews_conn *c, const char *op, const or_buf *request, ews_page *pg, or_error *err)
{
	const ews_options *o = c->sh->opt;
	int attempts = 1 + (o->retries > 0 ? o->retries : 0);
	for (int attempt = 0; attempt < attempts; attempt++) {
		if (c->sh->fatal)
			return or_fail(err, c->sh->fatal_err.code, "%s", c->sh->fatal_err.message);
		int rc = ews_page_reset(pg, err);
		if (rc)
			return rc;
		or_error_clear(&c->parse_err);
		c->received = 0;
		c->retry_after_ms = -1;
		c->invalid_token = false;
		if ((rc = ews_parser_new(&c->parser, pg, err)) != 0)
			return rc;
		c->page = pg;
		long seq = before_request(c); /* from here on a gate slot is held until the transfer ends */
		FILE *req = open_trace(o, seq, op, "request");
		if (req) {
			fwrite(request->data, 1, request->len, req);
			fclose(req);
		}
		c->trace = open_trace(o, seq, op, "response");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, request->data);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->len);
		int64_t t0 = ews_now_ms();
		CURLcode cc = curl_easy_perform(c->curl);
		if (o->gate)
			gate_leave(o->gate);
		long http = 0;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
		int parsed = c->parse_err.code;
		if (cc == CURLE_OK && (http == 200 || http == 500) && parsed == 0)
			parsed = ews_parser_finish(c->parser, &c->parse_err);
		ews_parser_free(c->parser);
		c->parser = NULL;
		if (c->trace)
			fclose(c->trace);
		c->trace = NULL;
		log_debug("%s #%ld: HTTP %ld, %zu bytes, %lld ms%s", op, seq, http, c->received,
		          (long long)(ews_now_ms() - t0), cc != CURLE_OK ? ", transfer failed" : "");

		long wait;
		outcome out = judge(c, cc, http, parsed, pg, &wait, err);
		if (out == OUT_OK)
			return 0;
		if (out == OUT_FAIL) {
			if (err->code == OR_ERR_AUTH || err->code == OR_ERR_TLS) {
				pthread_mutex_lock(&c->sh->lock);
				if (!c->sh->fatal) {
					c->sh->fatal = true;
					c->sh->fatal_err = *err;
				}
				pthread_mutex_unlock(&c->sh->lock);
			}
			return err->code;
		}
		if (attempt + 1 < attempts) {
			long ms = wait >= 0 ? wait + (long)(rand_r(&c->seed) % 250) : backoff_ms(c, attempt);
			log_verbose("%s: %s; retrying in %ld ms (attempt %d of %d)", op, err->message, ms, attempt + 2, attempts);
			slow_everyone(c, wait >= 0 ? ms : 0);
			if (wait < 0)
				sleep_ms(ms);
		}
	}
	return or_wrap(err, "%s failed after %d attempts", op, attempts);
}
