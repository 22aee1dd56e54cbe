/* The OAuth module's parts without a server (src/oauth): base64url, form encoding, the wiping
 * buffer and redaction, the identity platform's error bodies and what they are mapped to, token
 * answers of every shape, the options' checks, and the client assertion: its header and claims
 * decoded, and its signature verified with the certificate's public key by OpenSSL, for both
 * algorithms. Certificates and keys are made here with the openssl command and removed after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "oauth_test.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <time.h>

static char dir[64];

static int setup(void **state)
{
	if (!have_openssl()) {
		fprintf(stderr, "the openssl command is missing: the certificate tests cannot run\n");
		return -1;
	}
	snprintf(dir, sizeof dir, "/tmp/oauth-unit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	int rc = make_rsa_cert(dir, "app", 2048) | make_rsa_cert(dir, "other", 2048) | make_rsa_cert(dir, "weak", 1024);
	rc |= sh("cat %s/app.crt %s/app.key > %s/both.pem", dir, dir, dir);
	rc |= sh("openssl pkey -in %s/app.key -aes256 -passout pass:x -out %s/enc.key 2>/dev/null", dir, dir);
	rc |= sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/ec.key -out %s/ec.crt "
	         "-days 2 -subj /CN=ec >/dev/null 2>&1", dir, dir);
	char path[128];
	snprintf(path, sizeof path, "%s/junk.pem", dir);
	rc |= write_text(path, "not a certificate\n");
	return rc ? -1 : 0;
}

static int teardown(void **state)
{
	if (dir[0])
		sh("rm -rf %s", dir);
	return 0;
}

static const char *p(const char *name)
{
	static char buf[4][160];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* ------------------------------------------------------------ encodings */

static void b64url_encodes_and_decodes(void **state)
{
	char out[64];
	unsigned char back[64];
	const struct {
		const char *in, *want;
	} v[] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
	         {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}, {"\xff\xfe\xfd", "__79"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t n = oauth_b64url((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof out);
		assert_string_equal(out, v[i].want);
		assert_int_equal(n, strlen(v[i].want));
		long m = oauth_b64url_decode(out, n, back, sizeof back);
		assert_int_equal(m, (long)strlen(v[i].in));
		assert_memory_equal(back, v[i].in, (size_t)m);
	}
	assert_int_equal(oauth_b64url_decode("Zm9v", 4, back, 2), -1);    /* does not fit */
	assert_int_equal(oauth_b64url_decode("Zm+v", 4, back, 64), -1);   /* standard alphabet */
	assert_int_equal(oauth_b64url_decode("Z", 1, back, 64), -1);      /* impossible length */
	assert_int_equal(oauth_b64url_decode("Zg==", 4, back, 64), 1);    /* padding tolerated */
	/* A buffer too small is cut, still terminated. */
	assert_int_equal(oauth_b64url((const unsigned char *)"foobar", 6, out, 5), 4);
	assert_string_equal(out, "Zm9v");
}

static void form_encoding_escapes_every_reserved_byte(void **state)
{
	oauth_sbuf b = {0};
	assert_int_equal(oauth_form_add(&b, "client_id", "6731de76-14a6-49ae-97bc-6eba6914391e"), 0);
	assert_int_equal(oauth_form_add(&b, "scope", "https://graph.microsoft.com/.default offline_access"), 0);
	assert_int_equal(oauth_form_add(&b, "client_secret", "a+b&c=d%e~f g\xc3\xa9\x7f\"'"), 0);
	assert_int_equal(oauth_form_add(&b, "empty", ""), 0);
	assert_int_equal(oauth_form_add(&b, "null", NULL), 0);
	assert_string_equal(b.data, "client_id=6731de76-14a6-49ae-97bc-6eba6914391e"
	                            "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default+offline_access"
	                            "&client_secret=a%2Bb%26c%3Dd%25e~f+g%C3%A9%7F%22%27"
	                            "&empty=&null=");
	/* Grows across many appends (old storage wiped, content kept). */
	for (int i = 0; i < 200; i++)
		assert_int_equal(oauth_form_add(&b, "k", "vvvvvvvvvvvvvvvvvvvv"), 0);
	assert_int_equal(b.len, strlen(b.data));
	assert_non_null(strstr(b.data, "&empty=&null=&k=vvvv"));
	assert_int_equal(strncmp(b.data + b.len - 23, "&k=vvvvvvvvvvvvvvvvvvvv", 23), 0);
	oauth_sbuf_wipe(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void redaction_replaces_every_copy_and_terminates(void **state)
{
	char msg[64] = "got s3cr3t-Value then s3cr3t-Value again";
	oauth_redact(msg, sizeof msg, "s3cr3t-Value");
	assert_string_equal(msg, "got [redacted] then [redacted] again");
	/* A secret made of the mark's own letters does not loop. */
	char m2[64] = "dact dact";
	oauth_redact(m2, sizeof m2, "dact");
	assert_string_equal(m2, "[redacted] [redacted]");
	/* Too short to be a secret: left alone; NULL: nothing. */
	char m3[16] = "abc abc";
	oauth_redact(m3, sizeof m3, "abc");
	oauth_redact(m3, sizeof m3, NULL);
	assert_string_equal(m3, "abc abc");
	/* No room for the mark at the end: the message is cut before the secret. */
	char m4[16] = "xxxxxxxx secret";
	oauth_redact(m4, sizeof m4, "secret");
	assert_null(strstr(m4, "secret"));
	assert_true(strlen(m4) < sizeof m4);
}

static void clean_text_drops_controls_and_keeps_utf8_whole(void **state)
{
	char out[32];
	oauth_clean_text(out, sizeof out, "ab\x1b[31mred\x1b[0m\tx\x07y", true);
	assert_string_equal(out, "ab[31mred[0m xy");
	oauth_clean_text(out, sizeof out, "first line\r\nsecond", true);
	assert_string_equal(out, "first line");
	oauth_clean_text(out, sizeof out, "first\nsecond", false);
	assert_string_equal(out, "first\nsecond");
	/* é is two bytes: a cut in its middle drops it. */
	char small[6];
	oauth_clean_text(small, sizeof small, "abcd\xc3\xa9", true);
	assert_string_equal(small, "abcd");
	oauth_clean_text(small, sizeof small, NULL, true);
	assert_string_equal(small, "");
}

/* ----------------------------------------------------------- error bodies */

static const char *ENTRA_90002 =
	"{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: Tenant 'nosuch.example' not found. Check "
	"to make sure you have the correct tenant ID.\\r\\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\\r\\n"
	"Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd\\r\\nTimestamp: 2024-01-09 02:02:12Z\",\"error_codes\":"
	"[90002],\"timestamp\":\"2024-01-09 02:02:12Z\",\"trace_id\":\"0000aaaa-11bb-cccc-dd22-eeeeee333333\","
	"\"correlation_id\":\"aaaa0000-bb11-2222-33cc-444444dddddd\",\"error_uri\":"
	"\"https://login.microsoftonline.com/error?code=90002\"}";

static void error_body_is_parsed(void **state)
{
	oauth_server_error e;
	assert_int_equal(oauth_parse_error(ENTRA_90002, strlen(ENTRA_90002), &e), 0);
	assert_string_equal(e.error, "invalid_request");
	assert_int_equal(e.n_codes, 1);
	assert_int_equal(e.codes[0], 90002);
	/* One line: no trace id, no line break. */
	assert_non_null(strstr(e.description, "Tenant 'nosuch.example' not found"));
	assert_null(strstr(e.description, "Trace ID"));
	/* The number taken from the description when error_codes is missing. */
	const char *b = "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret.\"}";
	assert_int_equal(oauth_parse_error(b, strlen(b), &e), 0);
	assert_int_equal(e.n_codes, 1);
	assert_int_equal(e.codes[0], 7000215);
	/* Not an error body. */
	const char *nots[] = {"", "<html>", "{\"access_token\":\"x\"}", "[1,2]", "{\"error\":5}", "{\"error\":\"a\",\"error\":\"b\"}"};
	for (size_t i = 0; i < sizeof nots / sizeof nots[0]; i++)
		assert_int_equal(oauth_parse_error(nots[i], strlen(nots[i]), &e), -1);
	assert_int_equal(oauth_parse_error(NULL, 0, &e), -1);
}

static int map(const char *error, long code, const char *desc, long status, char *msg, size_t size)
{
	oauth_server_error e = {0};
	str_copy(e.error, error, sizeof e.error);
	str_copy(e.description, desc ? desc : "", sizeof e.description);
	if (code)
		e.codes[e.n_codes++] = code;
	oauth_ctx ctx = {OAUTH_FLOW_SECRET, "https://login.microsoftonline.com", "nosuch.example",
	                 "6731de76-14a6-49ae-97bc-6eba6914391e", "https://graph.microsoft.com/.default",
	                 "84E05C1D98BCE3A5421D225B140B36E86A3D5534", "https://microsoft.com/devicelogin"};
	or_error err = {0};
	int rc = oauth_map_error(&e, status, &ctx, &err);
	assert_int_equal(rc, err.code);
	str_copy(msg, err.message, size);
	assert_null(strchr(err.message, '%')); /* every placeholder filled */
	return rc;
}

static void known_codes_name_cause_and_fix(void **state)
{
	char m[512];
	assert_int_equal(map("invalid_request", 90002, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "the tenant 'nosuch.example' was not found (AADSTS90002): check --tenant"));
	assert_int_equal(map("invalid_request", 900023, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "neither a tenant id nor a domain name (AADSTS900023)"));
	assert_int_equal(map("unauthorized_client", 700016, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "application '6731de76-14a6-49ae-97bc-6eba6914391e' was not found in tenant "
	                          "'nosuch.example' (AADSTS700016)"));
	assert_non_null(strstr(m, "--client-id"));
	assert_int_equal(map("invalid_client", 7000215, NULL, 401, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "client secret was refused"));
	assert_non_null(strstr(m, "value (not its id)"));
	assert_int_equal(map("invalid_client", 7000222, NULL, 401, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "has expired (AADSTS7000222)"));
	assert_int_equal(map("invalid_client", 700027, NULL, 401, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "SHA-1 thumbprint 84E05C1D98BCE3A5421D225B140B36E86A3D5534"));
	assert_non_null(strstr(m, "not registered"));
	assert_int_equal(map("invalid_client", 700024, NULL, 401, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "clock"));
	assert_int_equal(map("invalid_grant", 65001, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "admin consent"));
	assert_int_equal(map("invalid_client", 7000218, NULL, 401, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "Allow public client flows"));
	assert_int_equal(map("invalid_scope", 1002012, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "scope 'https://graph.microsoft.com/.default' is not valid (AADSTS1002012)"));
	assert_int_equal(map("authorization_declined", 65004, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "declined"));
	assert_int_equal(map("expired_token", 70019, NULL, 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "https://microsoft.com/devicelogin"));
	/* 70002: the description tells a wrong secret from a missing credential. */
	map("invalid_client", 70002, "AADSTS70002: Error validating credentials. Invalid client secret is provided.", 401,
	    m, sizeof m);
	assert_non_null(strstr(m, "client secret was refused"));
	map("invalid_client", 70002, "AADSTS70002: The request body must contain the following parameter: "
	    "'client_secret or client_assertion'.", 401, m, sizeof m);
	assert_non_null(strstr(m, "Allow public client flows"));
}

static void unknown_errors_fall_back_by_error_and_status(void **state)
{
	char m[512];
	/* No code: the OAuth error string decides, with the server's own words after it. */
	assert_int_equal(map("authorization_declined", 0, "The user declined.", 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "declined (authorization_declined)"));
	assert_non_null(strstr(m, "The user declined."));
	assert_int_equal(map("invalid_request", 0, "Missing thing.", 400, m, sizeof m), OR_ERR_PROTOCOL);
	assert_int_equal(map("unsupported_grant_type", 0, NULL, 400, m, sizeof m), OR_ERR_PROTOCOL);
	/* An unknown code and error: the status decides. */
	assert_int_equal(map("weird", 1234567, "Something odd.", 400, m, sizeof m), OR_ERR_AUTH);
	assert_non_null(strstr(m, "HTTP 400, weird, AADSTS1234567"));
	assert_int_equal(map("weird", 0, NULL, 503, m, sizeof m), OR_ERR_IO);
	assert_int_equal(map("weird", 0, NULL, 418, m, sizeof m), OR_ERR_PROTOCOL);
	/* Transient answers. */
	oauth_server_error e = {0};
	str_copy(e.error, "temporarily_unavailable", sizeof e.error);
	assert_true(oauth_error_transient(&e));
	str_copy(e.error, "invalid_client", sizeof e.error);
	assert_false(oauth_error_transient(&e));
	e.codes[e.n_codes++] = 90033;
	assert_true(oauth_error_transient(&e));
}

/* ----------------------------------------------------------- token answers */

static int grant(long status, const char *ctype, const char *body, oauth_grant *g, or_error *err)
{
	oauth_response r = {.status = status, .retry_after_s = -1};
	str_copy(r.content_type, ctype, sizeof r.content_type);
	oauth_sbuf_append(&r.body, body, strlen(body));
	oauth_ctx ctx = {OAUTH_FLOW_SECRET, "https://login.example", "contoso.example", "app-1", "s/.default", NULL, NULL};
	int rc = oauth_read_grant(&r, "https://login.example/t/oauth2/v2.0/token", &ctx, g, NULL, err);
	oauth_response_wipe(&r);
	return rc;
}

static void token_answers_of_every_shape(void **state)
{
	oauth_grant g;
	or_error err = {0};
	assert_int_equal(grant(200, "application/json",
	                       "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"eyJ0.eyJ1.c2ln\"}", &g,
	                       &err), 0);
	assert_string_equal(g.access_token, "eyJ0.eyJ1.c2ln");
	assert_int_equal(g.expires_in, 3599);
	assert_null(g.refresh_token);
	oauth_grant_wipe(&g);
	/* expires_in as a string (version 1 endpoints); a refresh token; token_type in any case. */
	assert_int_equal(grant(200, "application/json",
	                       "{\"token_type\":\"bearer\",\"expires_in\":\"120\",\"access_token\":\"abc\","
	                       "\"refresh_token\":\"0.AAAA-rt\",\"id_token\":\"x.y.z\"}", &g, &err), 0);
	assert_int_equal(g.expires_in, 120);
	assert_string_equal(g.refresh_token, "0.AAAA-rt");
	oauth_grant_wipe(&g);
	/* An absurd lifetime is capped (a week). */
	assert_int_equal(grant(200, "application/json", "{\"access_token\":\"abc\",\"expires_in\":9223372036854775807}",
	                       &g, &err), 0);
	assert_int_equal(g.expires_in, 7 * 86400);
	oauth_grant_wipe(&g);
	/* No expires_in: a default lifetime. */
	assert_int_equal(grant(200, "application/json", "{\"access_token\":\"abc\"}", &g, &err), 0);
	assert_true(g.expires_in > 0);
	oauth_grant_wipe(&g);

	const struct {
		long status;
		const char *ctype, *body;
		int code;
		const char *says;
	} bad[] = {
		{200, "application/json", "{\"token_type\":\"Bearer\"}", OR_ERR_PROTOCOL, "without an access token"},
		{200, "application/json", "{\"access_token\":\"has space\"}", OR_ERR_PROTOCOL, "spaces or control"},
		{200, "application/json", "{\"access_token\":\"ab\\r\\nX-Injected: 1\"}", OR_ERR_PROTOCOL, "control"},
		{200, "application/json", "{\"access_token\":\"abc\",\"token_type\":\"pop\"}", OR_ERR_PROTOCOL, "type 'pop'"},
		{200, "text/html", "<!DOCTYPE html><html>Sign in to the Wi-Fi</html>", OR_ERR_PROTOCOL, "HTML page"},
		{200, "application/json", "\x01\x02garbage", OR_ERR_PROTOCOL, "not the identity platform's JSON"},
		{200, "application/json", "", OR_ERR_PROTOCOL, "empty body"},
		{404, "text/html", "<html>Not Found</html>", OR_ERR_PROTOCOL, "does not exist (HTTP 404)"},
		{302, "text/html", "", OR_ERR_PROTOCOL, "redirected"},
		{503, "text/html", "<html>Service Unavailable</html>", OR_ERR_IO, "HTTP 503"},
		{400, "application/json", "{\"error\":\"invalid_request\",\"error_codes\":[90002]}", OR_ERR_AUTH,
		 "tenant 'contoso.example' was not found"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		or_error_clear(&err);
		assert_int_equal(grant(bad[i].status, bad[i].ctype, bad[i].body, &g, &err), bad[i].code);
		if (!strstr(err.message, bad[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.message, bad[i].says);
		assert_null(g.access_token);
	}
	/* A token too long for any buffer. */
	size_t n = OAUTH_TOKEN_MAX + 10;
	char *big = malloc(n + 40);
	memcpy(big, "{\"access_token\":\"", 17);
	memset(big + 17, 'A', n);
	memcpy(big + 17 + n, "\"}", 3);
	assert_int_equal(grant(200, "application/json", big, &g, &err), OR_ERR_LIMIT);
	free(big);
}

/* --------------------------------------------------------------- options */

static int new_client(oauth_options *o, oauth_client **c, or_error *err)
{
	or_error_clear(err);
	return oauth_new(c, o, err);
}

static void options_are_checked_before_any_request(void **state)
{
	oauth_client *c = NULL;
	or_error err = {0};
	oauth_options o = {.flow = OAUTH_FLOW_SECRET, .tenant = "contoso.example", .client_id = "app-1",
	                   .secret = "value~1.2-3_4"};
	assert_int_equal(new_client(&o, &c, &err), 0);
	assert_string_equal(c->token_url, "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token");
	assert_string_equal(c->scope, OAUTH_DEFAULT_APP_SCOPE);
	assert_int_equal(oauth_token_expires_in(c), -1);
	oauth_free(c);

	o.authority = "https://login.microsoftonline.us///";
	assert_int_equal(new_client(&o, &c, &err), 0);
	assert_string_equal(c->token_url, "https://login.microsoftonline.us/contoso.example/oauth2/v2.0/token");
	oauth_free(c);
	o.authority = "http://127.0.0.1:8443";
	assert_int_equal(new_client(&o, &c, &err), 0);
	oauth_free(c);
	o.authority = "http://[::1]:8443/";
	assert_int_equal(new_client(&o, &c, &err), 0);
	oauth_free(c);

	const char *bad_authorities[] = {"ftp://login.example", "http://login.microsoftonline.com", "https://",
	                                 "https://login.example/?x=1", "https://user@login.example", "login.example",
	                                 "https://login example"};
	for (size_t i = 0; i < sizeof bad_authorities / sizeof bad_authorities[0]; i++) {
		o.authority = bad_authorities[i];
		assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
		assert_null(c);
		assert_non_null(strstr(err.message, "--authority"));
	}
	o.authority = NULL;
	const char *bad_tenants[] = {"", "a/b", "contoso.example/../x", "..", "organizations", "common", "a b"};
	for (size_t i = 0; i < sizeof bad_tenants / sizeof bad_tenants[0]; i++) {
		o.tenant = bad_tenants[i];
		assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
		assert_non_null(strstr(err.message, "--tenant"));
	}
	o.tenant = "contoso.example";
	o.client_id = "";
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	o.client_id = "app 1";
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	o.client_id = "app-1";
	o.secret = NULL;
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	o.secret = "Zq8~secret\n";
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	assert_null(strstr(err.message, "Zq8~")); /* the secret is not quoted */
	o.flow = 99;
	o.secret = "x";
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);

	/* Device code: 'organizations' is fine, and offline_access is added once. */
	oauth_options d = {.flow = OAUTH_FLOW_DEVICE_CODE, .tenant = "organizations", .client_id = "app-1",
	                   .scope = "https://graph.microsoft.com/Mail.Read"};
	assert_int_equal(new_client(&d, &c, &err), 0);
	assert_string_equal(c->scope, "https://graph.microsoft.com/Mail.Read offline_access");
	assert_string_equal(c->devicecode_url, "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode");
	oauth_free(c);
	d.scope = "offline_access https://graph.microsoft.com/Mail.Read";
	assert_int_equal(new_client(&d, &c, &err), 0);
	assert_string_equal(c->scope, d.scope);
	oauth_free(c);
	d.scope = NULL;
	assert_int_equal(new_client(&d, &c, &err), 0);
	assert_string_equal(c->scope, OAUTH_DEFAULT_USER_SCOPE);
	oauth_free(c);
	oauth_free(NULL);
}

static void static_token_is_given_back_and_never_renewed(void **state)
{
	oauth_client *c = NULL;
	or_error err = {0};
	oauth_options o = {.flow = OAUTH_FLOW_STATIC, .static_token = "  eyJ0eXAi.eyJhdWQi.c2lnbmF0dXJl\n"};
	assert_int_equal(new_client(&o, &c, &err), 0);
	char tok[OAUTH_TOKEN_MAX];
	tok[0] = '\0';
	assert_int_equal(oauth_token(c, false, tok, sizeof tok, &err), 0);
	assert_string_equal(tok, "eyJ0eXAi.eyJhdWQi.c2lnbmF0dXJl");
	assert_true(oauth_token_expires_in(c) > 1000000);
	char small[8];
	assert_int_equal(oauth_token(c, false, small, sizeof small, &err), OR_ERR_LIMIT);
	assert_int_equal(oauth_token(c, true, tok, sizeof tok, &err), OR_ERR_AUTH);
	assert_non_null(strstr(err.message, "--token-file"));
	assert_null(strstr(err.message, "eyJ0eXAi")); /* never the token itself */
	assert_int_equal(oauth_token(c, false, tok, sizeof tok, &err), 0); /* still there for others */
	oauth_free(c);

	const char *bad[] = {"", "two words", "tab\there", "Bearer eyJ0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o.static_token = bad[i];
		assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	}
	assert_int_equal(oauth_token(NULL, false, tok, sizeof tok, &err), OR_ERR_USAGE);
}

/* ------------------------------------------------------------ certificates */

static void certificate_files_are_checked(void **state)
{
	oauth_cert cert;
	or_error err = {0};
	assert_int_equal(oauth_cert_load(&cert, p("app.crt"), p("app.key"), &err), 0);
	unsigned char fp1[20], fp256[32];
	assert_int_equal(cert_fingerprint(p("app.crt"), "sha1", fp1, sizeof fp1), 20);
	assert_int_equal(cert_fingerprint(p("app.crt"), "sha256", fp256, sizeof fp256), 32);
	assert_memory_equal(cert.sha1, fp1, 20);
	assert_memory_equal(cert.sha256, fp256, 32);
	char hex[41], x5t[32];
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02X", fp1[i]);
	assert_string_equal(cert.sha1_hex, hex);
	oauth_b64url(fp1, 20, x5t, sizeof x5t);
	assert_string_equal(cert.x5t, x5t);
	oauth_cert_free(&cert);
	/* Certificate and key in one file. */
	assert_int_equal(oauth_cert_load(&cert, p("both.pem"), NULL, &err), 0);
	oauth_cert_free(&cert);

	const struct {
		const char *crt, *key, *says;
	} bad[] = {
		{"missing.crt", "app.key", "cannot read the certificate file"},
		{"junk.pem", "app.key", "no PEM certificate"},
		{"app.key", "app.key", "no PEM certificate"},
		{"app.crt", NULL, "no private key in"},
		{"app.crt", "missing.key", "cannot read the private key file"},
		{"app.crt", "junk.pem", "no PEM private key"},
		{"app.crt", "other.key", "does not belong to the certificate"},
		{"app.crt", "enc.key", "is encrypted"},
		{"ec.crt", "ec.key", "not an RSA key"},
		{"weak.crt", "weak.key", "1024 bits"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		or_error_clear(&err);
		assert_int_equal(oauth_cert_load(&cert, p(bad[i].crt), bad[i].key ? p(bad[i].key) : NULL, &err),
		                 OR_ERR_USAGE);
		if (!strstr(err.message, bad[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.message, bad[i].says);
		assert_null(cert.cert);
		assert_null(cert.key);
	}
	/* Through oauth_new: the certificate flow refuses the same. */
	oauth_client *c = NULL;
	oauth_options o = {.flow = OAUTH_FLOW_CERTIFICATE, .tenant = "contoso.example", .client_id = "app-1",
	                   .cert_path = p("app.crt"), .key_path = p("other.key")};
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
	assert_null(c);
	o.cert_path = NULL;
	assert_int_equal(new_client(&o, &c, &err), OR_ERR_USAGE);
}

/* Verifies a JWT's signature with the certificate's public key, independently of jwt.c. */
static bool signature_verifies(const char *jwt, const char *crt_path, bool pss)
{
	FILE *fp = fopen(crt_path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	if (fp)
		fclose(fp);
	EVP_PKEY *pub = x ? X509_get_pubkey(x) : NULL;
	const char *dot2 = strrchr(jwt, '.');
	unsigned char sig[1024];
	long siglen = dot2 ? oauth_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof sig) : -1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = pub && siglen > 0 && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) == 1;
	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
	ok = ok && EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)jwt, (size_t)(dot2 - jwt)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	X509_free(x);
	return ok;
}

static void assertion_has_the_documented_form(void **state)
{
	oauth_cert cert;
	or_error err = {0};
	assert_int_equal(oauth_cert_load(&cert, p("app.crt"), p("app.key"), &err), 0);
	const char *aud = "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token";
	int64_t now = (int64_t)time(NULL);
	for (int alg = 0; alg < 2; alg++) {
		oauth_sbuf a = {0}, b = {0};
		assert_int_equal(oauth_assertion_build(&cert, (oauth_assert_alg)alg, "app-1", aud, now, &a, &err), 0);
		assert_int_equal(oauth_assertion_build(&cert, (oauth_assert_alg)alg, "app-1", aud, now, &b, &err), 0);
		json_t *h = jwt_part(a.data, 0), *c = jwt_part(a.data, 1), *c2 = jwt_part(b.data, 1);
		assert_non_null(h);
		assert_non_null(c);
		assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
		unsigned char fp[32];
		char want[48];
		if (alg == OAUTH_ASSERT_PS256) {
			assert_string_equal(json_string_value(json_object_get(h, "alg")), "PS256");
			cert_fingerprint(p("app.crt"), "sha256", fp, 32);
			oauth_b64url(fp, 32, want, sizeof want);
			assert_string_equal(json_string_value(json_object_get(h, "x5t#S256")), want);
			assert_null(json_object_get(h, "x5t"));
		} else {
			assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
			cert_fingerprint(p("app.crt"), "sha1", fp, 20);
			oauth_b64url(fp, 20, want, sizeof want);
			assert_string_equal(json_string_value(json_object_get(h, "x5t")), want);
			assert_null(json_object_get(h, "x5t#S256"));
		}
		assert_string_equal(json_string_value(json_object_get(c, "aud")), aud);
		assert_string_equal(json_string_value(json_object_get(c, "iss")), "app-1");
		assert_string_equal(json_string_value(json_object_get(c, "sub")), "app-1");
		assert_int_equal(json_integer_value(json_object_get(c, "nbf")), now);
		assert_int_equal(json_integer_value(json_object_get(c, "iat")), now);
		assert_int_equal(json_integer_value(json_object_get(c, "exp")), now + 600);
		const char *jti = json_string_value(json_object_get(c, "jti"));
		assert_non_null(jti);
		assert_int_equal(strlen(jti), 36);
		assert_int_equal(jti[14], '4'); /* version 4 */
		assert_string_not_equal(jti, json_string_value(json_object_get(c2, "jti")));
		/* The signature verifies with the certificate's public key, and only over these bytes. */
		assert_true(signature_verifies(a.data, p("app.crt"), alg == OAUTH_ASSERT_PS256));
		assert_false(signature_verifies(a.data, p("other.crt"), alg == OAUTH_ASSERT_PS256));
		a.data[5] ^= 1;
		assert_false(signature_verifies(a.data, p("app.crt"), alg == OAUTH_ASSERT_PS256));
		/* No '/' escaped, no padding: base64url parts only. */
		assert_null(strpbrk(b.data, "=+/ "));
		json_decref(h);
		json_decref(c);
		json_decref(c2);
		oauth_sbuf_wipe(&a);
		oauth_sbuf_wipe(&b);
	}
	oauth_cert_free(&cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_encodes_and_decodes),
		cmocka_unit_test(form_encoding_escapes_every_reserved_byte),
		cmocka_unit_test(redaction_replaces_every_copy_and_terminates),
		cmocka_unit_test(clean_text_drops_controls_and_keeps_utf8_whole),
		cmocka_unit_test(error_body_is_parsed),
		cmocka_unit_test(known_codes_name_cause_and_fix),
		cmocka_unit_test(unknown_errors_fall_back_by_error_and_status),
		cmocka_unit_test(token_answers_of_every_shape),
		cmocka_unit_test(options_are_checked_before_any_request),
		cmocka_unit_test(static_token_is_given_back_and_never_renewed),
		cmocka_unit_test(certificate_files_are_checked),
		cmocka_unit_test(assertion_has_the_documented_form),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
