/*
 * device.c: the device code flow (RFC 8628 as the identity platform runs it). The tool asks for a
 * code, tells the person where to enter it, and polls the token endpoint at the server's interval
 * (5 s more after each slow_down) until the sign-in completes, is declined, or the code expires;
 * the wait is bounded by the code's lifetime. The refresh token that comes with the access token
 * renews it later without a new sign-in.
 */
#include "internal.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define DEFAULT_INTERVAL_S 5L
#define MAX_INTERVAL_S 60L
#define DEFAULT_CODE_LIFETIME_S 900L
#define MAX_CODE_LIFETIME_S 3600L

typedef struct {
	char *device_code; /* a secret of the flow: wiped */
	char user_code[64];
	char verification_uri[256];
	char message[512];
	long expires_in, interval;
} device_code;

static long bounded(json_t *root, const char *key, long dflt, long lo, long hi)
{
	json_t *v = json_object_get(root, key);
	long n = dflt;
	if (json_is_integer(v))
		n = (long)json_integer_value(v);
	else if (json_is_string(v) && parse_long(json_string_value(v), 0, LONG_MAX, &n) != 0)
		n = dflt;
	return n < lo ? lo : n > hi ? hi : n;
}

static int request_code(oauth_client *c, device_code *dc, or_error *err)
{
	oauth_sbuf form = {0};
	oauth_response resp = {.retry_after_s = -1};
	json_t *root = NULL;
	int rc = oauth_form_add(&form, "client_id", c->client_id);
	if (!rc)
		rc = oauth_form_add(&form, "scope", c->scope);
	if (rc)
		rc = or_fail(err, rc, "out of memory");
	if (!rc)
		rc = oauth_post(c, c->devicecode_url, &form, &resp, err);
	if (rc)
		goto out;
	oauth_ctx ctx;
	oauth_client_ctx(c, &ctx);
	if (resp.status == 200)
		root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
	const char *device = json_string_value(json_object_get(root, "device_code"));
	const char *user = json_string_value(json_object_get(root, "user_code"));
	const char *uri = json_string_value(json_object_get(root, "verification_uri"));
	if (!uri) /* the version 1 endpoint's spelling */
		uri = json_string_value(json_object_get(root, "verification_url"));
	if (!device || !user || !uri) {
		/* An error answer, or not the identity platform: the grant reader says which. */
		oauth_grant g = {0};
		if (resp.status == 200) {
			rc = or_fail(err, OR_ERR_PROTOCOL, "%s answered without a device code, user code and verification URI%s",
			             c->devicecode_url, root ? "" : " (not JSON: check --authority)");
		} else
			rc = oauth_read_grant(&resp, c->devicecode_url, &ctx, &g, NULL, err);
		if (!rc) { /* cannot happen for a non-200 answer; be safe */
			oauth_grant_wipe(&g);
			rc = or_fail(err, OR_ERR_PROTOCOL, "%s gave no device code", c->devicecode_url);
		}
		goto out;
	}
	if (!(dc->device_code = oauth_strdup(device))) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	oauth_clean_text(dc->user_code, sizeof dc->user_code, user, true);
	oauth_clean_text(dc->verification_uri, sizeof dc->verification_uri, uri, true);
	oauth_clean_text(dc->message, sizeof dc->message, json_string_value(json_object_get(root, "message")), false);
	dc->expires_in = bounded(root, "expires_in", DEFAULT_CODE_LIFETIME_S, 1, MAX_CODE_LIFETIME_S);
	dc->interval = bounded(root, "interval", DEFAULT_INTERVAL_S, 1, MAX_INTERVAL_S);
out:
	if (root) { /* the device code is a credential until it expires */
		json_t *v = json_object_get(root, "device_code");
		if (json_string_value(v))
			oauth_wipe((char *)json_string_value(v), json_string_length(v));
		json_decref(root);
	}
	oauth_sbuf_wipe(&form);
	oauth_response_wipe(&resp);
	return rc;
}

static void tell_user(oauth_client *c, const device_code *dc)
{
	FILE *fp = c->prompt;
	/* The message is the server's text, cleaned of control characters; it names the address and
	 * the code. Without one, say it ourselves. */
	if (dc->message[0] && strstr(dc->message, dc->user_code))
		fprintf(fp, "%s\n", dc->message);
	else
		fprintf(fp, "To sign in, open %s in a web browser and enter the code %s\n", dc->verification_uri,
		        dc->user_code);
	time_t until = time(NULL) + dc->expires_in;
	struct tm tm;
	char at[16] = "";
	if (localtime_r(&until, &tm))
		strftime(at, sizeof at, "%H:%M", &tm);
	if (dc->expires_in >= 120)
		fprintf(fp, "The code expires in %ld minutes (at %s). Waiting for the sign-in...\n", dc->expires_in / 60, at);
	else
		fprintf(fp, "The code expires in %ld seconds (at %s). Waiting for the sign-in...\n", dc->expires_in, at);
	fflush(fp);
}

int oauth_device_sign_in(oauth_client *c, oauth_grant *g, or_error *err)
{
	device_code dc = {0};
	oauth_sbuf form = {0};
	oauth_response resp = {.retry_after_s = -1};
	int rc = request_code(c, &dc, err);
	if (rc)
		goto out;
	str_copy(c->verification_uri, dc.verification_uri, sizeof c->verification_uri);
	tell_user(c, &dc);
	rc = oauth_form_add(&form, "grant_type", DEVICE_GRANT);
	if (!rc)
		rc = oauth_form_add(&form, "client_id", c->client_id);
	if (!rc)
		rc = oauth_form_add(&form, "device_code", dc.device_code);
	if (rc) {
		rc = or_fail(err, rc, "out of memory");
		goto out;
	}
	oauth_ctx ctx;
	oauth_client_ctx(c, &ctx);
	int64_t deadline = oauth_now_ms() + (int64_t)dc.expires_in * 1000;
	long interval = dc.interval;
	int polls = 0;
	for (;;) {
		int64_t now = oauth_now_ms(), wait = (int64_t)interval * 1000;
		if (now + wait > deadline)
			wait = deadline - now;
		oauth_sleep_ms(wait);
		polls++;
		if ((rc = oauth_post(c, c->token_url, &form, &resp, err)) != 0)
			goto out;
		oauth_server_error se;
		rc = oauth_read_grant(&resp, c->token_url, &ctx, g, &se, err);
		if (rc == 0) {
			log_verbose("oauth: signed in after %d polls", polls);
			goto out;
		}
		if (strcmp(se.error, "authorization_pending") == 0)
			or_error_clear(err);
		else if (strcmp(se.error, "slow_down") == 0) {
			or_error_clear(err);
			interval += 5;
			log_verbose("oauth: the identity platform asks to poll more slowly: every %ld s", interval);
		} else
			goto out; /* declined, expired, refused: the message says which */
		if (oauth_now_ms() >= deadline) {
			rc = or_fail(err, OR_ERR_AUTH,
			             "the code expired before the sign-in was completed (%ld s): run again and finish "
			             "signing in at %s within the time shown",
			             dc.expires_in, dc.verification_uri);
			goto out;
		}
	}
out:
	oauth_strfree(dc.device_code);
	oauth_sbuf_wipe(&form);
	oauth_response_wipe(&resp);
	return rc;
}

int oauth_refresh(oauth_client *c, oauth_grant *g, oauth_server_error *se, or_error *err)
{
	oauth_sbuf form = {0};
	oauth_response resp = {.retry_after_s = -1};
	memset(se, 0, sizeof *se);
	int rc = oauth_form_add(&form, "grant_type", "refresh_token");
	if (!rc)
		rc = oauth_form_add(&form, "client_id", c->client_id);
	if (!rc)
		rc = oauth_form_add(&form, "refresh_token", c->refresh);
	if (!rc)
		rc = oauth_form_add(&form, "scope", c->scope);
	if (rc)
		rc = or_fail(err, rc, "out of memory");
	if (!rc)
		rc = oauth_post(c, c->token_url, &form, &resp, err);
	if (!rc) {
		oauth_ctx ctx;
		oauth_client_ctx(c, &ctx);
		rc = oauth_read_grant(&resp, c->token_url, &ctx, g, se, err);
	}
	oauth_sbuf_wipe(&form);
	oauth_response_wipe(&resp);
	return rc;
}
