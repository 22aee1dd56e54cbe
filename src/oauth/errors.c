/*
 * errors.c: what the identity platform's refusals mean, in one table. An error answer is a JSON
 * object {"error", "error_description", "error_codes": [AADSTS numbers], ...}; the AADSTS number
 * names the cause far better than the OAuth error string, so it is looked up first. Messages name
 * the cause and the fix and never quote a secret (the descriptions quoted are cut to one line).
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int oauth_parse_error(const char *body, size_t len, oauth_server_error *out)
{
	memset(out, 0, sizeof *out);
	json_t *root = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	const char *error = root && json_is_object(root) ? json_string_value(json_object_get(root, "error")) : NULL;
	if (!error) {
		json_decref(root);
		return -1;
	}
	oauth_clean_text(out->error, sizeof out->error, error, true);
	oauth_clean_text(out->description, sizeof out->description,
	                 json_string_value(json_object_get(root, "error_description")), true);
	json_t *codes = json_object_get(root, "error_codes");
	size_t i;
	json_t *v;
	json_array_foreach(codes, i, v)
	{
		if (json_is_integer(v) && out->n_codes < (int)(sizeof out->codes / sizeof out->codes[0]))
			out->codes[out->n_codes++] = (long)json_integer_value(v);
	}
	if (out->n_codes == 0) { /* some answers carry the number only in the description */
		const char *p = strstr(out->description, "AADSTS");
		if (p) {
			char *end;
			long code = strtol(p + 6, &end, 10);
			if (end != p + 6 && code > 0)
				out->codes[out->n_codes++] = code;
		}
	}
	json_decref(root);
	return 0;
}

bool oauth_error_transient(const oauth_server_error *e)
{
	static const long transient[] = {50033, 90006, 90012, 90024, 90033, 90090, 50087, 90055};
	if (strcmp(e->error, "temporarily_unavailable") == 0 || strcmp(e->error, "server_error") == 0)
		return true;
	for (int i = 0; i < e->n_codes; i++)
		for (size_t k = 0; k < sizeof transient / sizeof transient[0]; k++)
			if (e->codes[i] == transient[k])
				return true;
	return false;
}

/* Placeholders in a message: %T tenant, %A application (client id), %S scope, %P thumbprint,
 * %U authority, %V verification URI, %C "AADSTS<code>" or the OAuth error. */
typedef struct {
	long codes[8];      /* AADSTS numbers; 0 ends */
	const char *error;  /* or the OAuth error string (when no code matched) */
	int kind;      /* the or_code */
	const char *text;
} error_rule;

static const error_rule RULES[] = {
	{{90002}, NULL, OR_ERR_AUTH, "the tenant '%T' was not found (%C): check --tenant (the directory's id or one of its "
	                             "domains) and that %U is the login host of the tenant's cloud"},
	{{900023, 90051}, NULL, OR_ERR_AUTH, "'%T' is neither a tenant id nor a domain name (%C): check --tenant"},
	{{90038, 900432, 900382}, NULL, OR_ERR_AUTH, "the tenant '%T' belongs to another cloud (%C): give that national "
	                                             "cloud's login host with --authority"},
	{{50049}, NULL, OR_ERR_AUTH, "%U is not a Microsoft identity platform instance (%C): check --authority"},
	{{50059, 90019, 50128}, NULL, OR_ERR_AUTH, "no tenant could be determined from the request (%C): give --tenant"},
	{{9001023, 90130, 90124}, NULL, OR_ERR_AUTH, "this sign-in is not supported on the '%T' endpoint (%C): give "
	                                             "--tenant as the tenant's id or domain (or 'organizations')"},
	{{700016, 700011}, NULL, OR_ERR_AUTH, "the application '%A' was not found in tenant '%T' (%C): check --client-id "
	                                      "and --tenant; an administrator may have to add the application to the tenant"},
	{{7000112, 70001, 1000031}, NULL, OR_ERR_AUTH, "the application '%A' is disabled in tenant '%T' (%C): ask an "
	                                               "administrator to enable it"},
	{{7000215, 70002}, NULL, OR_ERR_AUTH, "the client secret was refused for application '%A' (%C): give the secret's "
	                                      "value (not its id) from the app registration's Certificates & secrets"},
	{{7000222}, NULL, OR_ERR_AUTH, "the client secret of application '%A' has expired (%C): create a new secret in the "
	                               "app registration (Certificates & secrets) and use it"},
	{{700027}, NULL, OR_ERR_AUTH, "the certificate assertion was refused for application '%A' (%C): the certificate "
	                              "(SHA-1 thumbprint %P) is not registered on the application, or its signature did "
	                              "not verify; upload the certificate's public part to the app registration "
	                              "(Certificates & secrets), or give the certificate that is registered"},
	{{50012, 50006, 700030, 50027, 50048, 700021}, NULL, OR_ERR_AUTH,
	 "the certificate assertion was refused for application '%A' (%C): check that the certificate (SHA-1 "
	 "thumbprint %P) is the one registered on the application"},
	{{700024, 500133}, NULL, OR_ERR_AUTH, "the client assertion is not within its valid time range (%C): check this "
	                                      "machine's clock and time zone"},
	{{50032}, NULL, OR_ERR_AUTH, "the certificate's key is too weak (%C): use an RSA key of 2048 bits or more"},
	{{7000218, 70002}, NULL, OR_ERR_AUTH, "the application '%A' requires a client secret or a certificate (%C): for "
	                                      "device code sign-in, turn on 'Allow public client flows' in the app "
	                                      "registration (Authentication)"},
	{{700025}, NULL, OR_ERR_AUTH, "the application '%A' is a public client and takes no secret or certificate (%C): "
	                              "use device code sign-in, or register a confidential application"},
	{{65001, 90094, 90008, 650056}, NULL, OR_ERR_AUTH, "the permissions of scope '%S' have not been granted to "
	                                                   "application '%A' (%C): an administrator must grant admin "
	                                                   "consent in the app registration (API permissions)"},
	{{65004}, NULL, OR_ERR_AUTH, "the sign-in was declined (%C): run again and accept the permissions asked for, or "
	                             "ask an administrator to grant consent"},
	{{70011, 1002012, 700022, 700023, 28002, 28003}, NULL, OR_ERR_AUTH,
	 "the scope '%S' is not valid (%C): app-only access takes the resource followed by /.default "
	 "('https://graph.microsoft.com/.default'); device code sign-in takes delegated permissions "
	 "('https://graph.microsoft.com/Mail.Read')"},
	{{500011, 650057, 650052, 50001}, NULL, OR_ERR_AUTH, "the resource of scope '%S' is not available in tenant '%T' "
	                                                     "(%C): check the scope (the Microsoft Graph host of the "
	                                                     "tenant's cloud)"},
	{{53003, 530032, 530035, 53000, 53001, 53002, 50005}, NULL, OR_ERR_AUTH,
	 "the sign-in was blocked by a Conditional Access or security policy of tenant '%T' (%C): ask an "
	 "administrator (the sign-in logs name the policy)"},
	{{50076, 50079, 50074, 50072}, NULL, OR_ERR_AUTH, "multi-factor authentication is required (%C): complete it in "
	                                                  "the browser during device code sign-in"},
	{{50057, 50053, 50055, 50034}, NULL, OR_ERR_AUTH, "the account cannot sign in (%C): it is disabled, locked, "
	                                                  "unknown or its password expired; ask an administrator"},
	{{70008, 700082, 50173, 70043, 54005, 70000, 50089, 700084}, NULL, OR_ERR_AUTH,
	 "the sign-in has expired or was revoked (%C): sign in again"},
	{{70019}, NULL, OR_ERR_AUTH, "the code expired before the sign-in was completed (%C): run again and finish "
	                             "signing in at %V within the time shown"},
	{{70018, 90119, 90120}, NULL, OR_ERR_AUTH, "the identity platform did not accept the device code (%C): run again "
	                                           "and sign in with the new code"},
	{{50196}, NULL, OR_ERR_AUTH, "too many identical sign-in requests (%C): wait a few minutes before running again"},
	{{90014, 900144, 90004, 9002313, 90023, 90100}, NULL, OR_ERR_PROTOCOL,
	 "the identity platform found the request malformed (%C)"},
	/* By OAuth error when no AADSTS number is known. */
	{{0}, "authorization_declined", OR_ERR_AUTH, "the sign-in was declined (%C): run again and accept the "
	                                             "permissions asked for, or ask an administrator to grant consent"},
	{{0}, "expired_token", OR_ERR_AUTH, "the code expired before the sign-in was completed (%C): run again and "
	                                    "finish signing in at %V within the time shown"},
	{{0}, "bad_verification_code", OR_ERR_AUTH, "the identity platform did not accept the device code (%C): run "
	                                            "again and sign in with the new code"},
	{{0}, "invalid_client", OR_ERR_AUTH, "the credentials of application '%A' were refused (%C)"},
	{{0}, "unauthorized_client", OR_ERR_AUTH, "the application '%A' may not use this sign-in in tenant '%T' (%C)"},
	{{0}, "invalid_grant", OR_ERR_AUTH, "the sign-in was refused (%C)"},
	{{0}, "invalid_scope", OR_ERR_AUTH, "the scope '%S' is not valid (%C)"},
	{{0}, "access_denied", OR_ERR_AUTH, "access was denied (%C)"},
	{{0}, "consent_required", OR_ERR_AUTH, "the permissions of scope '%S' have not been granted to application '%A' "
	                                       "(%C): an administrator must grant admin consent"},
	{{0}, "interaction_required", OR_ERR_AUTH, "the sign-in needs interaction the tool cannot do (%C)"},
	{{0}, "invalid_tenant", OR_ERR_AUTH, "the tenant '%T' was not found (%C): check --tenant"},
	{{0}, "invalid_request", OR_ERR_PROTOCOL, "the identity platform found the request malformed (%C)"},
	{{0}, "unsupported_grant_type", OR_ERR_PROTOCOL, "the identity platform does not support this sign-in (%C)"},
};

static void expand(const char *text, const char *code_text, const oauth_ctx *ctx, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = text; *p && n + 1 < size; p++) {
		const char *ins = NULL;
		if (p[0] == '%' && p[1]) {
			switch (p[1]) {
			case 'T': ins = ctx->tenant; break;
			case 'A': ins = ctx->client_id; break;
			case 'S': ins = ctx->scope; break;
			case 'P': ins = ctx->thumbprint; break;
			case 'U': ins = ctx->authority; break;
			case 'V': ins = ctx->verification_uri && *ctx->verification_uri ? ctx->verification_uri
			                                                                 : "the address shown"; break;
			case 'C': ins = code_text; break;
			default: break;
			}
			if (!ins)
				ins = "?";
			p++;
			n += str_copy(out + n, ins, size - n);
			if (n >= size)
				n = size - 1;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

int oauth_map_error(const oauth_server_error *e, long status, const oauth_ctx *ctx, or_error *err)
{
	const error_rule *rule = NULL;
	long code = 0;
	for (int i = 0; i < e->n_codes && !rule; i++)
		for (size_t r = 0; r < sizeof RULES / sizeof RULES[0] && !rule; r++)
			for (int k = 0; k < 8 && RULES[r].codes[k]; k++)
				if (RULES[r].codes[k] == e->codes[i]) {
					/* 70002 is two causes: a wrong secret, or no credential at all (a public-client
					 * sign-in on a confidential application); the description tells them apart. */
					if (e->codes[i] == 70002 &&
					    (strstr(e->description, "client_assertion") != NULL) != (RULES[r].codes[0] == 7000218))
						continue;
					rule = &RULES[r];
					code = e->codes[i];
					break;
				}
	for (size_t r = 0; r < sizeof RULES / sizeof RULES[0] && !rule; r++)
		if (RULES[r].error && strcmp(RULES[r].error, e->error) == 0)
			rule = &RULES[r];

	char code_text[96];
	if (code)
		snprintf(code_text, sizeof code_text, "AADSTS%ld", code);
	else if (e->n_codes)
		snprintf(code_text, sizeof code_text, "%s, AADSTS%ld", e->error, e->codes[0]);
	else
		snprintf(code_text, sizeof code_text, "%s", e->error[0] ? e->error : "no error code");

	char msg[sizeof err->message];
	int code_out;
	if (rule) {
		expand(rule->text, code_text, ctx, msg, sizeof msg);
		code_out = rule->kind;
		/* The generic rules add the server's own words (one line, cleaned). */
		if (!code && rule->codes[0] == 0 && e->description[0]) {
			size_t n = strlen(msg);
			snprintf(msg + n, sizeof msg - n, ": %s", e->description);
		}
	} else {
		snprintf(msg, sizeof msg, "the identity platform refused the request (HTTP %ld, %s)%s%s", status, code_text,
		         e->description[0] ? ": " : "", e->description);
		code_out = status >= 500 ? OR_ERR_IO : status == 400 || status == 401 || status == 403 ? OR_ERR_AUTH
		                                                                                      : OR_ERR_PROTOCOL;
	}
	return or_fail(err, code_out, "%s", msg);
}
