/*
 * http.c: one form POST to the identity platform with libcurl. TLS verification on (a private CA
 * with cacert), proxies from the environment as libcurl reads them (https_proxy, no_proxy), no
 * redirects (a redirect could carry the secret elsewhere), a bounded answer, bounded retries of
 * what may pass. Nothing here logs a request or an answer body.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int64_t oauth_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void oauth_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void oauth_response_wipe(oauth_response *r)
{
	oauth_sbuf_wipe(&r->body);
	r->status = 0;
	r->content_type[0] = '\0';
	r->retry_after_s = -1;
}

typedef struct {
	oauth_response *resp;
	bool too_big;
} transfer;

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	transfer *t = ud;
	size_t len = size * n;
	if (t->resp->body.len + len > OAUTH_MAX_RESPONSE) {
		t->too_big = true;
		return 0; /* aborts the transfer */
	}
	return oauth_sbuf_append(&t->resp->body, data, len) == 0 ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	transfer *t = ud;
	size_t len = size * n;
	char line[256];
	size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, data, m);
	line[m] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "HTTP/", 5) == 0) { /* a new answer (after a 100 Continue, say) */
		t->resp->content_type[0] = '\0';
		t->resp->retry_after_s = -1;
	} else if (strncasecmp(line, "Content-Type:", 13) == 0) {
		const char *v = line + 13;
		while (*v == ' ')
			v++;
		str_copy(t->resp->content_type, v, sizeof t->resp->content_type);
	} else if (strncasecmp(line, "Retry-After:", 12) == 0) {
		char *end;
		long s = strtol(line + 12, &end, 10);
		if (end != line + 12 && s >= 0)
			t->resp->retry_after_s = s;
		else {
			time_t when = curl_getdate(line + 12, NULL);
			if (when > 0)
				t->resp->retry_after_s = when > time(NULL) ? (long)(when - time(NULL)) : 0;
		}
	}
	return len;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int oauth_http_new(oauth_client *c, or_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *h = curl_easy_init();
	if (!h)
		return or_fail(err, OR_ERR_NOMEM, "cannot initialise libcurl");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ostrecon/" OSTRECON_VERSION);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout_s < 30 ? c->timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	c->curl = h;
	return 0;
}

void oauth_http_free(oauth_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

typedef enum { SENT, RETRY, FAIL } outcome;

static outcome judge(CURLcode cc, const transfer *t, const char *url, long timeout_s, or_error *err)
{
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		or_fail(err, OR_ERR_TLS, "TLS failure talking to %s: %s%s", url, curl_easy_strerror(cc),
		        cc == CURLE_PEER_FAILED_VERIFICATION ? " (give the CA with --cacert)" : "");
		return FAIL;
	case CURLE_WRITE_ERROR:
		if (t->too_big) {
			or_fail(err, OR_ERR_LIMIT, "the answer of %s is larger than %d KiB: not an identity platform's answer "
			        "(check --authority)", url, OAUTH_MAX_RESPONSE / 1024);
			return FAIL;
		}
		or_fail(err, OR_ERR_NOMEM, "out of memory reading the answer of %s", url);
		return FAIL;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		or_fail(err, OR_ERR_USAGE, "unusable URL %s: %s", url, curl_easy_strerror(cc));
		return FAIL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		or_fail(err, OR_ERR_IO, "cannot resolve the host of %s: %s (check --authority, or the proxy)", url,
		        curl_easy_strerror(cc));
		return FAIL;
	case CURLE_OPERATION_TIMEDOUT:
		/* Not retried: it has already cost the whole timeout. */
		or_fail(err, OR_ERR_TIMEOUT, "%s did not answer within %ld s", url, timeout_s);
		return FAIL;
	default:
		or_fail(err, OR_ERR_IO, "the request to %s failed: %s", url, curl_easy_strerror(cc));
		return RETRY;
	}
	long http = t->resp->status;
	if (http == 429 || http == 500 || http == 502 || http == 503 || http == 504) {
		or_fail(err, OR_ERR_IO, "%s answered HTTP %ld (busy or unavailable)", url, http);
		return RETRY;
	}
	return SENT;
}

int oauth_post(oauth_client *c, const char *url, const oauth_sbuf *form, oauth_response *resp, or_error *err)
{
	CURL *h = c->curl;
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (!hdrs)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	transfer t = {resp, false};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->data ? form->data : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form->len);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
	int rc = OR_ERR_IO;
	outcome o = FAIL;
	bool answered = false; /* the last attempt got a whole HTTP answer (a 429 or 5xx) */
	for (int attempt = 0; attempt < OAUTH_ATTEMPTS; attempt++) {
		oauth_response_wipe(resp);
		t.too_big = false;
		int64_t t0 = oauth_now_ms();
		CURLcode cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		log_debug("oauth: POST %s: HTTP %ld, %zu bytes, %lld ms%s", url, resp->status, resp->body.len,
		          (long long)(oauth_now_ms() - t0), cc != CURLE_OK ? ", transfer failed" : "");
		o = judge(cc, &t, url, c->timeout_s, err);
		answered = cc == CURLE_OK;
		rc = o == SENT ? 0 : err->code;
		if (o != RETRY)
			break;
		if (attempt + 1 < OAUTH_ATTEMPTS) {
			long wait = resp->retry_after_s >= 0 ? resp->retry_after_s : 1L << attempt;
			if (wait > OAUTH_MAX_RETRY_WAIT_S)
				wait = OAUTH_MAX_RETRY_WAIT_S;
			log_verbose("oauth: %s; trying again in %ld s (attempt %d of %d)", err->message, wait, attempt + 2,
			            OAUTH_ATTEMPTS);
			oauth_sleep_ms(wait * 1000);
		}
	}
	if (o == RETRY) {
		if (answered) {
			or_error_clear(err);
			rc = 0; /* the last answer, an error page or the identity platform's error, is the caller's to read */
		} else
			or_wrap(err, "no answer after %d attempts", OAUTH_ATTEMPTS);
	}
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}
