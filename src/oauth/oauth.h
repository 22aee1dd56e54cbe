/*
 * oauth.h: OAuth 2.0 access tokens from the Microsoft identity platform (Microsoft Entra ID:
 * login.microsoftonline.com or a national cloud's login host), for Microsoft Graph and EWS in
 * Exchange Online.
 *
 * Flows: client credentials with a client secret or with a certificate (a JWT client assertion
 * signed with the certificate's RSA key), the device code flow (a person signs in in a browser;
 * the refresh token is kept in memory to renew), and a static token given as is.
 *
 * Secrets (client secret, private key, assertion, access and refresh tokens) are never logged
 * and never put in an error message; the client's own copies are wiped when it is freed.
 * Tokens are opaque strings: they are not parsed.
 */
#ifndef OSTRECON_OAUTH_H
#define OSTRECON_OAUTH_H

#include "core/core.h"

/* Room for any access token the identity platform issues (they run to a few KiB; tokens with
 * many group claims are larger). oauth_token refuses a buffer too small for the token. */
#define OAUTH_TOKEN_MAX 16384

#define OAUTH_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define OAUTH_DEFAULT_APP_SCOPE "https://graph.microsoft.com/.default"
#define OAUTH_DEFAULT_USER_SCOPE "https://graph.microsoft.com/Mail.Read offline_access"

typedef enum { OAUTH_FLOW_SECRET, OAUTH_FLOW_CERTIFICATE, OAUTH_FLOW_DEVICE_CODE, OAUTH_FLOW_STATIC } oauth_flow;

/* How a certificate's client assertion is signed. The identity platform's page on certificate
 * credentials asks for PS256 (RSA-PSS, SHA-256) with the certificate's SHA-256 thumbprint in
 * "x5t#S256"; the earlier form, RS256 (PKCS #1 v1.5) with the SHA-1 thumbprint in "x5t", is what
 * clients sent for years and is still accepted. */
typedef enum { OAUTH_ASSERT_PS256 = 0, OAUTH_ASSERT_RS256 } oauth_assert_alg;

typedef struct {
	oauth_flow flow;
	const char *authority;    /* login host base URL, default OAUTH_DEFAULT_AUTHORITY; https (plain
	                             http only to 127.0.0.1, ::1 or localhost, for tests) */
	const char *tenant;       /* tenant id (GUID) or domain; "organizations" allowed for device code */
	const char *client_id;
	const char *scope;        /* NULL: OAUTH_DEFAULT_APP_SCOPE (client credentials) or
	                             OAUTH_DEFAULT_USER_SCOPE (device code); the device code flow adds
	                             offline_access when missing, so that the token can be renewed */
	const char *secret;       /* client secret, borrowed (copied), never logged */
	const char *cert_path;    /* PEM: certificate (and the private key, unless key_path) */
	const char *key_path;     /* PEM private key (RSA, unencrypted), optional */
	oauth_assert_alg assertion_alg; /* default (0): PS256 */
	const char *static_token; /* OAUTH_FLOW_STATIC: the token as given (--token-file), borrowed (copied) */
	const char *cacert;       /* CA bundle for TLS verification */
	bool insecure;            /* turn TLS verification off (the caller warns) */
	long timeout_s;           /* per HTTP request, default 30 */
	FILE *prompt;             /* device code: where the instruction for the user goes (stderr when NULL) */
} oauth_options;

typedef struct oauth_client oauth_client;

/* Checks the options and loads what can be checked locally (the certificate and its key: readable,
 * unencrypted, RSA of 2048 bits or more, the key belonging to the certificate); contacts no server.
 * Local mistakes are OR_ERR_USAGE. *out belongs to the caller: oauth_free. */
int oauth_new(oauth_client **out, const oauth_options *opt, or_error *err);

/* The current access token, copied into out (NUL-terminated; OAUTH_TOKEN_MAX bytes are enough).
 * Acquires one on first use; renews it when it expires within 5 minutes (within half its
 * lifetime for tokens that live under 10 minutes), or when `renew` is true: the server refused
 * the current one. With renew, `out` must hold the refused token (as the previous call left it):
 * when another thread renewed it meanwhile, the newer token is returned without a second
 * renewal. At most one renewal per refusal: a token obtained because the previous one was refused
 * and refused in turn is an OR_ERR_AUTH error, and a static token is never renewed.
 * Thread-safe: workers call it concurrently; one acquisition runs at a time, the others wait for
 * its result (its token or its error).
 * Errors: OR_ERR_AUTH (the identity platform refused: the message names the cause and the fix),
 * OR_ERR_IO / OR_ERR_TLS / OR_ERR_TIMEOUT (transport), OR_ERR_PROTOCOL (an answer that is not the
 * identity platform's), OR_ERR_LIMIT (an oversized answer, or `size` too small). */
int oauth_token(oauth_client *c, bool renew, char *out, size_t size, or_error *err);

/* The server accepted `token`, obtained after a refusal: a later refusal of it (a token revoked
 * or expired early) may be renewed again, instead of ending in an error as a renewed token refused
 * at once does. */
void oauth_token_accepted(oauth_client *c, const char *token);

/* Seconds until the current token expires (negative when it has, or when there is none yet;
 * LONG_MAX for a static token, whose expiry is not known): for progress messages and logs. */
long oauth_token_expires_in(oauth_client *c);

/* "client secret", "certificate", "device code", "static token". */
const char *oauth_flow_name(oauth_flow flow);

/* Accepts NULL; wipes the secret, the key, the tokens from memory. */
void oauth_free(oauth_client *c);

#endif
