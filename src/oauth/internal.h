/*
 * internal.h: what the files of src/oauth share (and test/unit/test_oauth.c checks one by one).
 */
#ifndef OSTRECON_OAUTH_INTERNAL_H
#define OSTRECON_OAUTH_INTERNAL_H

#include "oauth.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>

#define OAUTH_MAX_RESPONSE (256 * 1024) /* a token response is a few KiB */
#define OAUTH_ATTEMPTS 3                /* per request, for answers that may pass (429, 5xx, dropped) */
#define OAUTH_MAX_RETRY_WAIT_S 30

/* ------------------------------------------------------------ form.c */

/* A byte buffer for secrets: its old storage is wiped when it grows, and all of it when freed. */
typedef struct {
	char *data;
	size_t len, cap;
} oauth_sbuf;
int oauth_sbuf_append(oauth_sbuf *b, const char *s, size_t n);
void oauth_sbuf_wipe(oauth_sbuf *b);
/* Appends "name=value" (with '&' before it when b is not empty), form-urlencoded
 * (application/x-www-form-urlencoded: unreserved characters as they are, space as '+', every
 * other byte as %XX). */
int oauth_form_add(oauth_sbuf *b, const char *name, const char *value);
/* Wipes n bytes (not optimised away). */
void oauth_wipe(void *p, size_t n);
/* strdup / free that wipe. */
char *oauth_strdup(const char *s);
void oauth_strfree(char *s);
/* Replaces every occurrence of `secret` (when 4 bytes or longer) in the message by "[redacted]". */
void oauth_redact(char *msg, size_t size, const char *secret);
/* Copies a string from a server for a message or a terminal: printable ASCII and UTF-8 kept,
 * control characters (escape sequences) dropped, cut at `size` - 1 bytes or at the first line
 * break when `one_line`. */
void oauth_clean_text(char *dst, size_t size, const char *src, bool one_line);

/* ------------------------------------------------------------- jwt.c */

typedef struct {
	X509 *cert;
	EVP_PKEY *key;
	unsigned char sha1[20], sha256[32];
	char sha1_hex[41]; /* upper case, as the Entra admin center shows it */
	char x5t[32];      /* base64url of the SHA-1 thumbprint */
	char x5t_s256[48]; /* base64url of the SHA-256 thumbprint */
} oauth_cert;

/* Loads the certificate (PEM) and its RSA private key (from key_path, or from cert_path when
 * key_path is NULL) and checks them: OR_ERR_USAGE with a message naming the file and the fix. */
int oauth_cert_load(oauth_cert *c, const char *cert_path, const char *key_path, or_error *err);
void oauth_cert_free(oauth_cert *c);

/* base64url without padding; returns the length written (out needs 4*ceil(n/3)+1 bytes). */
size_t oauth_b64url(const unsigned char *in, size_t n, char *out, size_t size);
/* Decodes base64url (padding optional); returns the length, or -1. */
long oauth_b64url_decode(const char *in, size_t n, unsigned char *out, size_t size);

/* The client assertion: header {alg, typ, x5t or x5t#S256}, claims {aud, iss, sub, jti, nbf, iat,
 * exp = now + 600}, signed with the certificate's key. Appended to out. */
#define OAUTH_ASSERTION_LIFETIME 600
int oauth_assertion_build(const oauth_cert *c, oauth_assert_alg alg, const char *client_id,
                          const char *audience, int64_t now, oauth_sbuf *out, or_error *err);
/* A random version 4 UUID, lower case (37 bytes). */
int oauth_uuid(char out[37]);

/* ---------------------------------------------------------- errors.c */

/* The identity platform's error body: {"error", "error_description", "error_codes": [...], ...}. */
typedef struct {
	char error[64];
	char description[256]; /* first line, cleaned */
	long codes[4];
	int n_codes;
} oauth_server_error;
/* 0 when body is a JSON object with an "error" string; -1 otherwise. */
int oauth_parse_error(const char *body, size_t len, oauth_server_error *out);

/* What a message may name. */
typedef struct {
	oauth_flow flow;
	const char *authority, *tenant, *client_id, *scope;
	const char *thumbprint;       /* certificate flow: SHA-1, hex */
	const char *verification_uri; /* device code flow */
} oauth_ctx;
/* Fills err with the cause and the fix for an error answer (HTTP `status`) and returns its
 * or_code: OR_ERR_AUTH for refusals, OR_ERR_PROTOCOL for requests the server found malformed. */
int oauth_map_error(const oauth_server_error *e, long status, const oauth_ctx *ctx, or_error *err);
/* True for answers worth another attempt (temporarily_unavailable, throttling). */
bool oauth_error_transient(const oauth_server_error *e);

/* ------------------------------------------------------------ http.c */

typedef struct {
	long status;
	oauth_sbuf body; /* wiped: it may hold tokens */
	char content_type[64];
	long retry_after_s; /* -1 when absent */
} oauth_response;
void oauth_response_wipe(oauth_response *r);

/* The client's libcurl handle, with the options every request shares. */
int oauth_http_new(oauth_client *c, or_error *err);
void oauth_http_free(oauth_client *c);

/* POSTs a form (application/x-www-form-urlencoded) to url on the client's handle and reads the
 * answer (bounded), retrying what may pass (connection failures, 429, 5xx) with back-off.
 * Returns 0 when an HTTP answer came (any status), or a transport error: OR_ERR_TLS,
 * OR_ERR_TIMEOUT, OR_ERR_IO, OR_ERR_LIMIT. */
int oauth_post(oauth_client *c, const char *url, const oauth_sbuf *form, oauth_response *resp, or_error *err);
/* Sleeps, wakes early on nothing (bounded by the caller). */
void oauth_sleep_ms(int64_t ms);
int64_t oauth_now_ms(void); /* monotonic */

/* ---------------------------------------------------------- client.c */

struct oauth_client {
	oauth_flow flow;
	char *authority, *tenant, *client_id, *scope;
	char *secret;       /* own copy, wiped */
	char *token_url, *devicecode_url;
	oauth_cert cert;
	bool have_cert;
	oauth_assert_alg alg;
	char *cacert;
	bool insecure;
	long timeout_s;
	FILE *prompt;
	void *curl; /* CURL *, used by the acquiring thread only */

	pthread_mutex_t lock;
	pthread_cond_t done;
	bool busy;            /* an acquisition is running */
	unsigned long gen;    /* acquisitions finished */
	int last_rc;
	or_error last_err;

	char *token;          /* own copy, wiped */
	int64_t expires_ms;   /* monotonic */
	long lifetime_s;
	bool from_refusal;    /* obtained because the previous token was refused */
	char *refresh;        /* device code: the refresh token, wiped */
	char verification_uri[256];
};

/* A token answer: the access token (checked: printable, no spaces), its lifetime, the refresh
 * token if any. The strings are the caller's (oauth_strfree). */
typedef struct {
	char *access_token, *refresh_token;
	long expires_in;
} oauth_grant;
void oauth_grant_wipe(oauth_grant *g);
/* Interprets a token endpoint's answer: 200 with a token, an identity platform error (mapped), or
 * something else (OR_ERR_PROTOCOL). `server_error` (may be NULL) receives the parsed error. */
int oauth_read_grant(const oauth_response *r, const char *url, const oauth_ctx *ctx, oauth_grant *g,
                     oauth_server_error *server_error, or_error *err);
void oauth_client_ctx(const oauth_client *c, oauth_ctx *ctx);
/* Checks a token's characters: visible ASCII only (it goes in an HTTP header). */
bool oauth_token_valid(const char *t, size_t len);

/* ---------------------------------------------------------- device.c */

/* The device code flow: asks for a code, tells the user, polls until the sign-in completes, is
 * declined or expires. */
int oauth_device_sign_in(oauth_client *c, oauth_grant *g, or_error *err);
/* Renews with the refresh token. */
int oauth_refresh(oauth_client *c, oauth_grant *g, oauth_server_error *se, or_error *err);

#endif
