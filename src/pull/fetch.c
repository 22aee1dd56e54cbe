/*
 * fetch.c: one request outside a pull, and the choice --auth auto makes.
 *
 * Autodiscover asks several servers one question each, and --auth auto reads what the server
 * offers before the pull starts: both want the transport's connection settings (TLS
 * verification, name mappings, timeouts, credentials) but neither its retries nor its worker
 * pool, and both must see what the pull's transport decides itself (a 401, a redirect). A reply
 * is kept whole, within a bound.
 *
 * The choice (`pick`): Negotiate when the server offers it (curl's GSS-API sends a token only
 * when there is a Kerberos ticket: refused or absent, the server answers 401 and the next method
 * is tried), else NTLM with a user and password, else Basic with a user and password over TLS
 * only: a password never goes in the clear unless the user asked for Basic by name. A refused
 * NTLM or Basic password is final (trying it again elsewhere only counts towards a lockout).
 */
#include "internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OFFER_BASIC = 1, OFFER_NTLM = 2, OFFER_NEGOTIATE = 4, OFFER_BEARER = 8 };

typedef struct {
	pull_reply *r;
	size_t max;
	size_t cap;
	bool nomem;
	unsigned offers;  /* OFFER_* of the WWW-Authenticate headers of the answer */
	FILE *trace;
	pull_conn *conn;  /* told when bytes arrive (the idle timer) */
} fetch_ctx;

static atomic_long fetch_seq; /* numbers the trace files of one-off requests */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	fetch_ctx *f = ud;
	size_t len = size * n;
	pull_reply *r = f->r;
	pull_conn_touch(f->conn);
	if (f->trace)
		fwrite(data, 1, len, f->trace);
	if (r->body_len + len > f->max)
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	if (r->body_len + len + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		char *b = realloc(r->body, cap);
		if (!b) {
			f->nomem = true;
			return 0;
		}
		r->body = b;
		f->cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

/* The scheme of one WWW-Authenticate header ("Negotiate", "NTLM", "Basic realm=..."). */
static void note_scheme(fetch_ctx *f, const char *v)
{
	static const struct {
		const char *name;
		unsigned bit;
	} schemes[] = {{"Basic", OFFER_BASIC}, {"NTLM", OFFER_NTLM}, {"Negotiate", OFFER_NEGOTIATE}, {"Bearer", OFFER_BEARER}};
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strcspn(v, " \t\r\n,");
	if (n == 0 || n > 20)
		return;
	char *offered = f->r->offered;
	size_t have = strlen(offered);
	char name[24];
	memcpy(name, v, n);
	name[n] = '\0';
	for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++)
		if (strcasecmp(name, schemes[i].name) == 0)
			f->offers |= schemes[i].bit;
	if (!strstr(offered, name) && have + n + 3 < sizeof f->r->offered)
		snprintf(offered + have, sizeof f->r->offered - have, "%s%s", have ? ", " : "", name);
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	fetch_ctx *f = ud;
	size_t len = size * n;
	pull_conn_touch(f->conn);
	char line[1100];
	size_t m = len < sizeof line - 1 ? len : sizeof line - 1;
	memcpy(line, data, m);
	line[m] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) { /* a new answer (after a 401 or 100): forget the last one's */
		f->r->location[0] = f->r->offered[0] = '\0';
		f->offers = 0;
	} else if (strncasecmp(line, "Location:", 9) == 0) {
		const char *v = line + 9 + strspn(line + 9, " \t");
		str_copy(f->r->location, v, sizeof f->r->location);
	} else if (strncasecmp(line, "WWW-Authenticate:", 17) == 0) {
		note_scheme(f, line + 17);
	}
	return len;
}

/* One attempt with method `a`: the reply's status, body, Location, offers. */
static int perform(pull_conn *c, const pull_options *o, const pull_request *rq, pull_auth a, fetch_ctx *f,
                   or_error *err)
{
	CURL *h = pull_conn_handle(c);
	pull_reply *r = f->r;
	r->http = 0;
	r->body_len = 0;
	if (r->body)
		r->body[0] = '\0';
	r->location[0] = r->offered[0] = '\0';
	r->auth = a;
	f->offers = 0;
	pull_set_auth(h, o, a);
	long seq = atomic_fetch_add(&fetch_seq, 1) + 1;
	if (rq->body && o->trace_dir) {
		FILE *t = pull_trace_open(o, "fetch-", seq, rq->op, "request", rq->trace_ext);
		if (t) {
			fwrite(rq->body, 1, rq->body_len, t);
			fclose(t);
		}
	}
	f->trace = pull_trace_open(o, "fetch-", seq, rq->op, "response", rq->trace_ext);
	pull_conn_begin(c);
	int64_t t0 = pull_now_ms();
	CURLcode cc = curl_easy_perform(h);
	if (f->trace)
		fclose(f->trace);
	f->trace = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http);
	const char *url = rq->url ? rq->url : o->url;
	log_debug("%s %s: HTTP %ld, %zu bytes, %lld ms%s%s", rq->op, url, r->http, r->body_len,
	          (long long)(pull_now_ms() - t0), a == PULL_AUTH_NONE ? "" : ", ", a == PULL_AUTH_NONE ? "" : pull_auth_name(a));
	switch (cc) {
	case CURLE_OK: return 0;
	case CURLE_WRITE_ERROR:
		return f->nomem ? or_fail(err, OR_ERR_NOMEM, "out of memory")
		                : or_fail(err, OR_ERR_LIMIT, "the answer of %s is larger than %zu bytes: refused", url, f->max);
	default: return pull_conn_failure(c, cc, url, err);
	}
}

/* The next method for --auth auto after a 401 (offers: what the first 401 offered; tried: the
 * methods already refused), or OR_ERR_AUTH saying why none is left. */
static int pick(const pull_options *o, const char *url, unsigned offers, const char *offered, unsigned tried,
                pull_auth *out, or_error *err)
{
	bool tls = strncasecmp(url, "https://", 8) == 0;
	bool password = o->user && *o->user && o->secret && *o->secret;
	if ((offers & OFFER_NEGOTIATE) && !(tried & OFFER_NEGOTIATE)) {
		*out = PULL_AUTH_NEGOTIATE;
		return 0;
	}
	if ((offers & OFFER_NTLM) && password) {
		*out = PULL_AUTH_NTLM;
		return 0;
	}
	if ((offers & OFFER_BASIC) && password && tls) {
		*out = PULL_AUTH_BASIC;
		return 0;
	}
	char why[400] = "";
	size_t n = 0;
	if (tried & OFFER_NEGOTIATE)
		n += (size_t)snprintf(why + n, sizeof why - n, "; Negotiate: no Kerberos ticket the server accepts "
		                                                "(klist lists the tickets, kinit gets one)");
	if ((offers & (OFFER_NTLM | OFFER_BASIC)) && !password && n < sizeof why)
		n += (size_t)snprintf(why + n, sizeof why - n, "; %s needs --user and a password",
		                      (offers & OFFER_NTLM) ? "NTLM" : "Basic");
	else if ((offers & OFFER_BASIC) && !tls && n < sizeof why)
		n += (size_t)snprintf(why + n, sizeof why - n, "; Basic would send the password unencrypted over "
		                                                "plain http://: use the https:// URL, or --auth basic to "
		                                                "send it anyway");
	if ((offers & OFFER_BEARER) && !(offers & (OFFER_NTLM | OFFER_BASIC | OFFER_NEGOTIATE)) && n < sizeof why)
		n += (size_t)snprintf(why + n, sizeof why - n, "; the server takes OAuth tokens only (--auth bearer, "
		                                                "client-secret, certificate or device-code)");
	if (!offers && n < sizeof why)
		snprintf(why + n, sizeof why - n, "; it names no method it knows");
	return or_fail(err, OR_ERR_AUTH, "--auth auto: no usable authentication for %s: the server offers %s%s", url,
	               *offered ? offered : "nothing", why);
}

/* The error for credentials a server refused with method `a`. */
static int refused(pull_auth a, const char *offered, or_error *err)
{
	if (a == PULL_AUTH_AUTO || a == PULL_AUTH_NONE)
		a = PULL_AUTH_NONE;
	char offers[128] = "";
	if (*offered)
		snprintf(offers, sizeof offers, "; the server offers %s", offered);
	if (a == PULL_AUTH_NEGOTIATE)
		return or_fail(err, OR_ERR_AUTH, "Negotiate (Kerberos) authentication failed: the server refused the "
		                                 "credentials, or there is no valid Kerberos ticket for it (see klist; "
		                                 "kinit gets one): HTTP 401%s", offers);
	if (a == PULL_AUTH_BEARER)
		return or_fail(err, OR_ERR_AUTH, "the server refused the token (expired or invalid): HTTP 401");
	if (a == PULL_AUTH_NONE)
		return or_fail(err, OR_ERR_AUTH, "the server asks for credentials: HTTP 401%s", offers);
	return or_fail(err, OR_ERR_AUTH, "%s authentication failed: the server refused the credentials (%s): HTTP 401%s",
	               pull_auth_name(a), a == PULL_AUTH_NTLM ? "user name, domain or password" : "user name or password",
	               offers);
}

int pull_fetch(const pull_options *opt, const pull_request *rq, size_t max_body, pull_reply *out, or_error *err)
{
	memset(out, 0, sizeof *out);
	pull_global_init();
	pull_options o = *opt;
	o.gate = NULL;
	o.progress = false;
	const char *url = rq->url ? rq->url : opt->url;
	o.url = url;
	pull_shared sh;
	pull_shared_init(&sh, &o);
	pull_conn *c = NULL;
	struct curl_slist *headers = NULL;
	fetch_ctx f = {.r = out, .max = max_body};
	int rc = pull_conn_new(&c, &sh, 1, err);
	if (rc)
		goto out;
	f.conn = c;
	if (!(out->body = malloc(1))) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	out->body[0] = '\0';
	f.cap = 1;
	CURL *h = pull_conn_handle(c);
	char line[300];
	struct curl_slist *n;
	const char *fixed[3] = {NULL, NULL, "Expect:"};
	if (rq->content_type) {
		snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
		fixed[0] = line;
	}
	char accept[200];
	if (rq->accept) {
		snprintf(accept, sizeof accept, "Accept: %s", rq->accept);
		fixed[1] = accept;
	}
	for (int i = 0; i < 3; i++)
		if (fixed[i]) {
			if (!(n = curl_slist_append(headers, fixed[i])))
				goto nomem;
			headers = n;
		}
	for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
		if (!(n = curl_slist_append(headers, rq->headers[i])))
			goto nomem;
		headers = n;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
	if (rq->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}

	bool choose = opt->auth == PULL_AUTH_AUTO;
	pull_auth a = choose ? PULL_AUTH_NONE : opt->auth;
	unsigned offers = 0, tried = 0;
	char offered[sizeof out->offered] = "";
	for (int round = 0; round < 4; round++) {
		if ((rc = perform(c, &o, rq, a, &f, err)) != 0)
			goto out;
		if (out->http != 401)
			break;
		if (!choose)
			break;
		if (a == PULL_AUTH_NONE) { /* the first answer says what the server takes */
			offers = f.offers;
			str_copy(offered, out->offered, sizeof offered);
		} else if (a != PULL_AUTH_NEGOTIATE) { /* a refused password is final: the caller says so */
			break;
		}
		tried |= a == PULL_AUTH_NEGOTIATE ? OFFER_NEGOTIATE : 0;
		if ((rc = pick(&o, url, offers, offered, tried, &a, err)) != 0)
			goto out;
		log_debug("%s %s: the server offers %s; trying %s", rq->op, url, offered, pull_auth_name(a));
	}
	if (choose && *offered) /* what the server offered a request without credentials */
		str_copy(out->offered, offered, sizeof out->offered);
	rc = 0;
	goto out;
nomem:
	rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
out:
	if (c) {
		CURL *hh = pull_conn_handle(c);
		curl_easy_setopt(hh, CURLOPT_HTTPHEADER, NULL);
	}
	pull_conn_free(c);
	curl_slist_free_all(headers);
	pull_shared_destroy(&sh);
	if (rc) {
		pull_reply_free(out);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

void pull_reply_free(pull_reply *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

int pull_auth_refused(const pull_reply *r, or_error *err)
{
	return refused(r->auth, r->offered, err);
}

int pull_auth_resolve(const pull_options *opt, pull_auth *out, or_error *err)
{
	pull_options o = *opt;
	o.auth = PULL_AUTH_AUTO;
	o.trace_dir = NULL;
	pull_request rq = {.op = "AuthProbe"};
	pull_reply r;
	int rc = pull_fetch(&o, &rq, 256 * 1024, &r, err);
	if (rc)
		return rc;
	if (r.http == 401)
		rc = refused(r.auth, r.offered, err);
	else if (r.auth == PULL_AUTH_NONE && *r.offered == '\0')
		log_verbose("authentication: %s asked for no credentials (HTTP %ld): none sent", opt->url, r.http);
	if (rc == 0) {
		*out = r.auth;
		if (r.auth != PULL_AUTH_NONE)
			log_verbose("authentication: %s offers %s; using %s (--auth auto)", opt->url, r.offered,
			            pull_auth_name(r.auth));
	}
	pull_reply_free(&r);
	return rc;
}
