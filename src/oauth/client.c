/*
 * client.c: the token holder. Checks the options, keeps the current token, decides when to
 * acquire a new one (first use, close to expiry, refused by the server) and lets one thread at a
 * time do it while the others wait for its result. The client credentials flow (secret or
 * certificate) is here; the device code flow is in device.c.
 */
#include "internal.h"

#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_S 30L
#define DEFAULT_LIFETIME_S 3599L /* when an answer gives no expires_in (the identity platform always does) */
#define MAX_LIFETIME_S (7L * 86400)
#define RENEW_MARGIN_S 300L

const char *oauth_flow_name(oauth_flow flow)
{
	switch (flow) {
	case OAUTH_FLOW_SECRET: return "client secret";
	case OAUTH_FLOW_CERTIFICATE: return "certificate";
	case OAUTH_FLOW_DEVICE_CODE: return "device code";
	case OAUTH_FLOW_STATIC: return "static token";
	}
	return "?";
}

bool oauth_token_valid(const char *t, size_t len)
{
	if (!t || len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

void oauth_grant_wipe(oauth_grant *g)
{
	oauth_strfree(g->access_token);
	oauth_strfree(g->refresh_token);
	memset(g, 0, sizeof *g);
}

void oauth_client_ctx(const oauth_client *c, oauth_ctx *ctx)
{
	ctx->flow = c->flow;
	ctx->authority = c->authority;
	ctx->tenant = c->tenant;
	ctx->client_id = c->client_id;
	ctx->scope = c->scope;
	ctx->thumbprint = c->have_cert ? c->cert.sha1_hex : NULL;
	ctx->verification_uri = c->verification_uri;
}

/* --------------------------------------------------------- checking */

static bool tenant_valid(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.' || ch == '_'))
			return false;
	}
	return strcmp(t, ".") != 0 && strcmp(t, "..") != 0;
}

static bool tenant_is_alias(const char *t)
{
	return strcasecmp(t, "common") == 0 || strcasecmp(t, "organizations") == 0 || strcasecmp(t, "consumers") == 0;
}

static bool host_is_loopback(const char *host, size_t n)
{
	static const char *names[] = {"127.0.0.1", "localhost", "[::1]"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(host, names[i], n) == 0)
			return true;
	return false;
}

/* The login host's base URL: https (or http to this machine, for tests), no user, query or
 * fragment; trailing slashes dropped. */
static int check_authority(const char *given, char **out, or_error *err)
{
	const char *a = given && *given ? given : OAUTH_DEFAULT_AUTHORITY;
	size_t n = strlen(a);
	while (n > 0 && a[n - 1] == '/')
		n--;
	bool https = strncasecmp(a, "https://", 8) == 0, http = strncasecmp(a, "http://", 7) == 0;
	const char *host = a + (https ? 8 : http ? 7 : 0);
	size_t hlen = 0;
	while (host + hlen < a + n && host[hlen] != '/')
		hlen++;
	size_t hostname_len = hlen;
	if (hlen && host[0] != '[') { /* host:port */
		const char *colon = memchr(host, ':', hlen);
		if (colon)
			hostname_len = (size_t)(colon - host);
	} else if (hlen) {
		const char *close = memchr(host, ']', hlen);
		hostname_len = close ? (size_t)(close - host) + 1 : hlen;
	}
	bool bad_char = false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] <= 0x20 || (unsigned char)a[i] >= 0x7f || a[i] == '?' || a[i] == '#' || a[i] == '@')
			bad_char = true;
	if ((!https && !http) || hostname_len == 0 || bad_char)
		return or_fail(err, OR_ERR_USAGE,
		               "--authority must be the login host's URL, e.g. %s (no user, query or fragment); got '%.200s'",
		               OAUTH_DEFAULT_AUTHORITY, a);
	if (http && !host_is_loopback(host, hostname_len))
		return or_fail(err, OR_ERR_USAGE,
		               "--authority must use https: the client secret or the sign-in would cross the network in "
		               "clear ('%.200s')", a);
	*out = malloc(n + 1);
	if (!*out)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memcpy(*out, a, n);
	(*out)[n] = '\0';
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t wn = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += wn)
		if ((p == list || p[-1] == ' ') && (p[wn] == '\0' || p[wn] == ' '))
			return true;
	return false;
}

static int url_join(char **out, const char *authority, const char *tenant, const char *path)
{
	size_t n = strlen(authority) + strlen(tenant) + strlen(path) + 2;
	*out = malloc(n);
	if (!*out)
		return OR_ERR_NOMEM;
	snprintf(*out, n, "%s/%s%s", authority, tenant, path);
	return 0;
}

static char *trimmed_copy(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int check_options(oauth_client *c, const oauth_options *o, or_error *err)
{
	if (o->flow == OAUTH_FLOW_STATIC) {
		if (!o->static_token || !*o->static_token)
			return or_fail(err, OR_ERR_USAGE, "no token given (--token-file)");
		if (!(c->token = trimmed_copy(o->static_token)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		size_t n = strlen(c->token);
		if (n >= OAUTH_TOKEN_MAX)
			return or_fail(err, OR_ERR_USAGE, "the token given is %zu bytes long: more than %d, not a token", n,
			               OAUTH_TOKEN_MAX - 1);
		if (!oauth_token_valid(c->token, n))
			return or_fail(err, OR_ERR_USAGE,
			               "the token given holds spaces or control characters: give the access token alone "
			               "(the text after \"Bearer \")");
		c->expires_ms = INT64_MAX;
		return 0;
	}
	int rc = check_authority(o->authority, &c->authority, err);
	if (rc)
		return rc;
	if (!o->tenant || !tenant_valid(o->tenant))
		return or_fail(err, OR_ERR_USAGE, "--tenant must be the tenant's id (a GUID) or one of its domain names%s",
		               o->flow == OAUTH_FLOW_DEVICE_CODE ? " (or 'organizations')" : "");
	if (o->flow != OAUTH_FLOW_DEVICE_CODE && tenant_is_alias(o->tenant))
		return or_fail(err, OR_ERR_USAGE,
		               "app-only sign-in needs the tenant's id or domain in --tenant: '%s' names no single tenant",
		               o->tenant);
	if (!o->client_id || !*o->client_id || strlen(o->client_id) > 256 ||
	    !oauth_token_valid(o->client_id, strlen(o->client_id)))
		return or_fail(err, OR_ERR_USAGE, "--client-id must be the application (client) id of the app registration");
	const char *scope = o->scope && *o->scope ? o->scope
	                    : o->flow == OAUTH_FLOW_DEVICE_CODE ? OAUTH_DEFAULT_USER_SCOPE
	                                                        : OAUTH_DEFAULT_APP_SCOPE;
	for (const char *p = scope; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return or_fail(err, OR_ERR_USAGE, "the scope holds control characters");
	c->tenant = oauth_strdup(o->tenant);
	c->client_id = oauth_strdup(o->client_id);
	if (o->flow == OAUTH_FLOW_DEVICE_CODE && !has_word(scope, "offline_access")) {
		size_t n = strlen(scope) + sizeof " offline_access";
		if ((c->scope = malloc(n)) != NULL)
			snprintf(c->scope, n, "%s offline_access", scope);
	} else
		c->scope = oauth_strdup(scope);
	if (!c->tenant || !c->client_id || !c->scope || url_join(&c->token_url, c->authority, c->tenant, "/oauth2/v2.0/token") ||
	    url_join(&c->devicecode_url, c->authority, c->tenant, "/oauth2/v2.0/devicecode"))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");

	switch (o->flow) {
	case OAUTH_FLOW_SECRET:
		if (!o->secret || !*o->secret)
			return or_fail(err, OR_ERR_USAGE, "the client secret flow needs the secret (its value)");
		for (const char *p = o->secret; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return or_fail(err, OR_ERR_USAGE, "the client secret holds control characters (a line break?)");
		if (!(c->secret = oauth_strdup(o->secret)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		break;
	case OAUTH_FLOW_CERTIFICATE:
		if (o->assertion_alg != OAUTH_ASSERT_PS256 && o->assertion_alg != OAUTH_ASSERT_RS256)
			return or_fail(err, OR_ERR_USAGE, "unknown client assertion algorithm");
		if ((rc = oauth_cert_load(&c->cert, o->cert_path, o->key_path, err)) != 0)
			return rc;
		c->have_cert = true;
		c->alg = o->assertion_alg;
		break;
	case OAUTH_FLOW_DEVICE_CODE:
		break;
	default:
		return or_fail(err, OR_ERR_USAGE, "unknown OAuth flow");
	}
	return 0;
}

int oauth_new(oauth_client **out, const oauth_options *opt, or_error *err)
{
	*out = NULL;
	oauth_client *c = calloc(1, sizeof *c);
	if (!c)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	c->flow = opt->flow;
	c->timeout_s = opt->timeout_s > 0 ? opt->timeout_s : DEFAULT_TIMEOUT_S;
	c->insecure = opt->insecure;
	c->prompt = opt->prompt ? opt->prompt : stderr;
	int rc = check_options(c, opt, err);
	if (!rc && opt->cacert && !(c->cacert = oauth_strdup(opt->cacert)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (!rc && c->flow != OAUTH_FLOW_STATIC)
		rc = oauth_http_new(c, err);
	if (rc) {
		oauth_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void oauth_free(oauth_client *c)
{
	if (!c)
		return;
	oauth_http_free(c);
	oauth_strfree(c->secret);
	oauth_strfree(c->token);
	oauth_strfree(c->refresh);
	oauth_cert_free(&c->cert);
	free(c->authority);
	free(c->tenant);
	free(c->client_id);
	free(c->scope);
	free(c->token_url);
	free(c->devicecode_url);
	free(c->cacert);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->done);
	oauth_wipe(c, sizeof *c);
	free(c);
}

/* ------------------------------------------------------ token answers */

/* A string member as a wiped copy (NULL when absent or not a string). */
static char *take_string(json_t *root, const char *key)
{
	json_t *v = json_object_get(root, key);
	const char *s = json_string_value(v);
	if (!s)
		return NULL;
	char *copy = oauth_strdup(s);
	/* jansson's copy is about to be freed: wipe it first (the string is ours to overwrite). */
	oauth_wipe((char *)s, json_string_length(v));
	return copy;
}

static long number_member(json_t *root, const char *key, long dflt)
{
	json_t *v = json_object_get(root, key);
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	long n;
	if (json_is_string(v) && parse_long(json_string_value(v), 0, LONG_MAX, &n) == 0)
		return n; /* version 1 endpoints sent numbers as strings */
	return dflt;
}

/* An answer that is not the identity platform's JSON: say what it looks like. */
static int not_json(const oauth_response *r, const char *url, or_error *err)
{
	const char *b = r->body.data ? r->body.data : "";
	while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
		b++;
	bool html = strncasecmp(r->content_type, "text/html", 9) == 0 || *b == '<';
	int code = r->status >= 500 ? OR_ERR_IO : OR_ERR_PROTOCOL;
	if (r->status >= 300 && r->status < 400)
		return or_fail(err, OR_ERR_PROTOCOL, "%s redirected (HTTP %ld): give the login host itself with --authority",
		               url, r->status);
	if (r->status == 404)
		return or_fail(err, OR_ERR_PROTOCOL, "%s does not exist (HTTP 404): check --authority and --tenant", url);
	if (!*b)
		return or_fail(err, code, "%s answered HTTP %ld with an empty body, not the identity platform's JSON", url,
		               r->status);
	if (html)
		return or_fail(err, code,
		               "%s answered HTTP %ld with an HTML page, not the identity platform's JSON: check --authority "
		               "(is a proxy or a sign-in portal in the way?)",
		               url, r->status);
	return or_fail(err, code, "%s answered HTTP %ld with something that is not the identity platform's JSON%s", url,
	               r->status, r->status >= 500 ? " (the service is failing)" : ": check --authority");
}

int oauth_read_grant(const oauth_response *r, const char *url, const oauth_ctx *ctx, oauth_grant *g,
                     oauth_server_error *server_error, or_error *err)
{
	memset(g, 0, sizeof *g);
	oauth_server_error se_local, *se = server_error ? server_error : &se_local;
	memset(se, 0, sizeof *se);
	if (r->status != 200) {
		if (oauth_parse_error(r->body.data, r->body.len, se) == 0)
			return oauth_map_error(se, r->status, ctx, err);
		return not_json(r, url, err);
	}
	json_t *root = r->body.len ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		return not_json(r, url, err);
	}
	int rc = 0;
	g->access_token = take_string(root, "access_token");
	g->refresh_token = take_string(root, "refresh_token");
	char *id_token = take_string(root, "id_token"); /* not used; wiped */
	oauth_strfree(id_token);
	g->expires_in = number_member(root, "expires_in", -1);
	const char *type = json_string_value(json_object_get(root, "token_type"));
	if (!g->access_token) {
		rc = or_fail(err, OR_ERR_PROTOCOL, "%s answered HTTP 200 without an access token", url);
	} else if (strlen(g->access_token) >= OAUTH_TOKEN_MAX) {
		rc = or_fail(err, OR_ERR_LIMIT, "the access token from %s is %zu bytes long: more than %d", url,
		             strlen(g->access_token), OAUTH_TOKEN_MAX - 1);
	} else if (!oauth_token_valid(g->access_token, strlen(g->access_token)) ||
	           (g->refresh_token && !oauth_token_valid(g->refresh_token, strlen(g->refresh_token)))) {
		rc = or_fail(err, OR_ERR_PROTOCOL, "%s answered a token with spaces or control characters", url);
	} else if (type && strcasecmp(type, "Bearer") != 0) {
		char t[32];
		oauth_clean_text(t, sizeof t, type, true);
		rc = or_fail(err, OR_ERR_PROTOCOL, "%s answered a token of type '%s', not a bearer token", url, t);
	}
	if (!rc && g->expires_in <= 0) {
		log_debug("oauth: the token answer gives no expires_in; taking %ld s", DEFAULT_LIFETIME_S);
		g->expires_in = DEFAULT_LIFETIME_S;
	}
	if (!rc && g->expires_in > MAX_LIFETIME_S) /* renewed by then anyway; and no overflow in ms */
		g->expires_in = MAX_LIFETIME_S;
	json_decref(root);
	if (rc)
		oauth_grant_wipe(g);
	return rc;
}

/* ------------------------------------------------ client credentials */

static int client_credentials(oauth_client *c, oauth_grant *g, or_error *err)
{
	oauth_sbuf form = {0}, assertion = {0};
	oauth_response resp = {.retry_after_s = -1};
	int rc = oauth_form_add(&form, "client_id", c->client_id);
	if (!rc)
		rc = oauth_form_add(&form, "scope", c->scope);
	if (!rc && c->flow == OAUTH_FLOW_SECRET)
		rc = oauth_form_add(&form, "client_secret", c->secret);
	if (!rc && c->flow == OAUTH_FLOW_CERTIFICATE) {
		/* A new assertion for every request: a new jti, a fresh validity window. */
		rc = oauth_assertion_build(&c->cert, c->alg, c->client_id, c->token_url, (int64_t)time(NULL), &assertion,
		                           err);
		if (!rc)
			rc = oauth_form_add(&form, "client_assertion_type",
			                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
		if (!rc)
			rc = oauth_form_add(&form, "client_assertion", assertion.data);
	}
	if (!rc)
		rc = oauth_form_add(&form, "grant_type", "client_credentials");
	if (rc == OR_ERR_NOMEM)
		or_fail(err, rc, "out of memory");
	if (!rc)
		rc = oauth_post(c, c->token_url, &form, &resp, err);
	if (!rc) {
		oauth_ctx ctx;
		oauth_client_ctx(c, &ctx);
		rc = oauth_read_grant(&resp, c->token_url, &ctx, g, NULL, err);
	}
	oauth_sbuf_wipe(&form);
	oauth_sbuf_wipe(&assertion);
	oauth_response_wipe(&resp);
	return rc;
}

static int acquire(oauth_client *c, oauth_grant *g, or_error *err)
{
	if (c->flow != OAUTH_FLOW_DEVICE_CODE)
		return client_credentials(c, g, err);
	if (c->refresh) {
		oauth_server_error se;
		int rc = oauth_refresh(c, g, &se, err);
		if (rc != OR_ERR_AUTH ||
		    (strcmp(se.error, "invalid_grant") != 0 && strcmp(se.error, "interaction_required") != 0))
			return rc;
		/* The refresh token expired or was revoked: the person signs in again. */
		oauth_redact(err->message, sizeof err->message, c->refresh);
		log_warn("renewing the sign-in failed (%s); sign in again", err->message);
		or_error_clear(err);
	}
	return oauth_device_sign_in(c, g, err);
}

/* ------------------------------------------------------- oauth_token */

static bool expiring(const oauth_client *c, int64_t now_ms)
{
	if (c->flow == OAUTH_FLOW_STATIC)
		return false;
	int64_t margin = c->lifetime_s >= 2 * RENEW_MARGIN_S ? RENEW_MARGIN_S * 1000 : (int64_t)c->lifetime_s * 500;
	return now_ms >= c->expires_ms - margin;
}

static bool holds_current(const char *out, size_t size, const char *token)
{
	size_t n = strnlen(out, size), t = strlen(token);
	return n == t && CRYPTO_memcmp(out, token, n) == 0;
}

static int copy_token(const oauth_client *c, char *out, size_t size, or_error *err)
{
	size_t n = strlen(c->token);
	if (n + 1 > size)
		return or_fail(err, OR_ERR_LIMIT, "the access token (%zu bytes) does not fit the caller's %zu-byte buffer", n,
		               size);
	memcpy(out, c->token, n + 1);
	return 0;
}

static void store(oauth_client *c, oauth_grant *g, int64_t started_ms, bool refusal)
{
	oauth_strfree(c->token);
	c->token = g->access_token;
	g->access_token = NULL;
	c->lifetime_s = g->expires_in;
	/* Counted from before the request: the token may have been issued at any moment of it. */
	c->expires_ms = started_ms + (int64_t)g->expires_in * 1000;
	c->from_refusal = refusal;
	if (g->refresh_token) {
		oauth_strfree(c->refresh);
		c->refresh = g->refresh_token;
		g->refresh_token = NULL;
	}
}

int oauth_token(oauth_client *c, bool renew, char *out, size_t size, or_error *err)
{
	if (!c || !out || size == 0)
		return or_fail(err, OR_ERR_USAGE, "oauth_token: no client or no buffer");
	int rc = 0;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->busy) { /* another thread acquires: its result is ours */
			unsigned long gen = c->gen;
			while (c->busy && c->gen == gen)
				pthread_cond_wait(&c->done, &c->lock);
			if (c->last_rc) {
				rc = c->last_rc;
				if (err)
					*err = c->last_err;
				break;
			}
			continue;
		}
		bool refusal = false;
		if (c->token && renew) {
			if (out[0] && !holds_current(out, size, c->token)) {
				renew = false; /* renewed by another thread since this one's token was refused */
				continue;
			}
			if (c->flow == OAUTH_FLOW_STATIC) {
				rc = or_fail(err, OR_ERR_AUTH,
				             "the server refused the token given with --token-file (expired, or not for this "
				             "resource): get a new access token for the service and run again");
				break;
			}
			if (c->from_refusal) {
				rc = or_fail(err, OR_ERR_AUTH,
				             "the server refused the token again right after it was renewed (application '%s', "
				             "tenant '%s', scope '%s'): check the application's permissions and their admin "
				             "consent, and that the scope names the server's resource",
				             c->client_id, c->tenant, c->scope);
				break;
			}
			refusal = true;
		}
		if (c->token && !refusal && !expiring(c, oauth_now_ms())) {
			rc = copy_token(c, out, size, err);
			break;
		}
		c->busy = true;
		pthread_mutex_unlock(&c->lock);

		oauth_grant g = {0};
		or_error e = {0};
		int64_t started = oauth_now_ms();
		log_verbose("oauth: %s token from %s (%s)", refusal ? "renewing the refused" : c->token ? "renewing the" : "getting a",
		            c->flow == OAUTH_FLOW_DEVICE_CODE && !c->refresh ? c->devicecode_url : c->token_url,
		            oauth_flow_name(c->flow));
		int arc = acquire(c, &g, &e);
		if (arc) { /* in case an answer quoted one of them back (only this thread changes them now) */
			oauth_redact(e.message, sizeof e.message, c->secret);
			oauth_redact(e.message, sizeof e.message, c->refresh);
			oauth_redact(e.message, sizeof e.message, c->token);
		}

		pthread_mutex_lock(&c->lock);
		c->busy = false;
		c->gen++;
		c->last_rc = arc;
		c->last_err = e;
		if (!arc) {
			store(c, &g, started, refusal);
			log_verbose("oauth: token acquired for application %s in tenant %s; it expires in %ld s", c->client_id,
			            c->tenant, c->lifetime_s);
		}
		oauth_grant_wipe(&g);
		pthread_cond_broadcast(&c->done);
		if (arc) {
			rc = arc;
			if (err)
				*err = e;
			break;
		}
		renew = false;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void oauth_token_accepted(oauth_client *c, const char *token)
{
	if (!c || !token)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->token && holds_current(token, strlen(token) + 1, c->token))
		c->from_refusal = false; /* it worked: a later refusal of it is a new one */
	pthread_mutex_unlock(&c->lock);
}

long oauth_token_expires_in(oauth_client *c)
{
	if (!c)
		return -1;
	pthread_mutex_lock(&c->lock);
	long s = !c->token ? -1 : c->flow == OAUTH_FLOW_STATIC ? LONG_MAX : (long)((c->expires_ms - oauth_now_ms()) / 1000);
	pthread_mutex_unlock(&c->lock);
	return s;
}
