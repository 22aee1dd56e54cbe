/*
 * server_args.c: the server-side options shared by `server`, `scan` and `batch`: which protocol
 * (EWS or Microsoft Graph), the endpoints, the credentials (passwords, tokens, OAuth application
 * credentials, the device code flow) and the pull's tuning.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#define GRAPH_ROOT "https://graph.microsoft.com/v1.0"
#define EWS_ONLINE_SCOPE "https://outlook.office365.com/.default"

/* National clouds: the login host, Graph's service root, and Exchange Online's EWS scope. */
static const struct {
	const char *name, *login, *graph, *ews_scope;
} clouds[] = {
	{"global", "https://login.microsoftonline.com", GRAPH_ROOT, EWS_ONLINE_SCOPE},
	{"usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0", "https://outlook.office365.us/.default"},
	{"usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0",
	 "https://outlook-dod.office365.us/.default"},
	{"china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0",
	 "https://partner.outlook.cn/.default"},
};
#define N_CLOUDS (sizeof clouds / sizeof *clouds)

static const char *const auth_names[] = {"basic", "ntlm", "negotiate", "bearer", "client-secret", "certificate",
                                         "device-code", "auto"};

void cli_server_init(cli_server *c)
{
	memset(c, 0, sizeof *c);
	pull_options_init(&c->pull);
	c->pull.progress = true;
	ews_options_init(&c->ews);
	graph_options_init(&c->graph);
	c->page_size = -1;
	c->cloud = 0;
}

static int bad(const char *command, const char *msg)
{
	return -cli_usage_error(command, "%s", msg);
}

/* A name mapping as curl takes it: `fields` fields separated by ':' (IPv6 addresses in
 * brackets), a decimal port in the second, no spaces. */
static bool mapping_valid(const char *m, int fields)
{
	if (strlen(m) > 300 || strpbrk(m, " \t\r\n") || (fields == 3 && m[0] == ':'))
		return false;
	int n = 1;
	bool bracket = false;
	const char *port = NULL, *last = NULL;
	for (const char *p = m; *p; p++) {
		if (*p == '[')
			bracket = true;
		else if (*p == ']')
			bracket = false;
		else if (*p == ':' && !bracket) {
			if (++n == 2)
				port = p + 1;
			last = p + 1;
		}
	}
	if (n < fields || !port)
		return false;
	size_t digits = strspn(port, "0123456789");
	if (port[digits] != ':' || (digits == 0 && fields == 3) || digits > 5)
		return false;
	/* --connect-to: exactly four fields, the last a port (empty: the same) */
	return fields == 3 || (n == 4 && strspn(last, "0123456789") == strlen(last) && strlen(last) <= 5);
}

int cli_server_option(cli_server *c, int opt, const char *arg, const char *command)
{
	long v;
	switch (opt) {
	case OPT_URL: c->pull.url = arg; return 1;
	case OPT_MAILBOX: c->pull.mailbox = arg; return 1;
	case OPT_API:
		if (strcmp(arg, "ews") == 0)
			c->api = CLI_API_EWS;
		else if (strcmp(arg, "graph") == 0)
			c->api = CLI_API_GRAPH;
		else if (strcmp(arg, "auto") == 0)
			c->api = CLI_API_AUTO;
		else
			return bad(command, "--api takes ews, graph or auto");
		return 1;
	case OPT_GRAPH_URL: c->graph_url = arg; return 1;
	case OPT_AUTHORITY: c->authority_url = arg; return 1;
	case OPT_CLOUD:
		for (size_t i = 0; i < N_CLOUDS; i++)
			if (strcmp(arg, clouds[i].name) == 0) {
				c->cloud = (int)i;
				return 1;
			}
		return bad(command, "--cloud takes global, usgov, usgov-dod or china");
	case OPT_GRAPH_API:
		if (graph_api_parse(arg, &c->graph.api) != 0)
			return bad(command, "--graph-api takes mailbox, mail or auto");
		return 1;
	case OPT_NO_DELTA: c->graph.no_delta = true; return 1;
	case OPT_AUTH: c->auth_name = arg; return 1;
	case OPT_USER: c->pull.user = arg; return 1;
	case OPT_PASSWORD_FILE: c->password_file = arg; return 1;
	case OPT_TOKEN_FILE: c->token_file = arg; return 1;
	case OPT_TENANT: c->tenant = arg; return 1;
	case OPT_CLIENT_ID: c->client_id = arg; return 1;
	case OPT_CLIENT_SECRET_FILE: c->client_secret_file = arg; return 1;
	case OPT_CERTIFICATE: c->certificate = arg; return 1;
	case OPT_CERTIFICATE_KEY: c->certificate_key = arg; return 1;
	case OPT_SCOPE: c->scope = arg; return 1;
	case OPT_IMPERSONATE: c->ews.impersonate = true; return 1;
	case OPT_ANCHOR: c->ews.anchor = arg; return 1;
	case OPT_SERVER_VERSION: c->ews.server_version = arg; return 1;
	case OPT_CACERT: c->pull.cacert = arg; return 1;
	case OPT_INSECURE: c->pull.insecure = true; return 1;
	case OPT_FINDITEM: c->ews.use_finditem = true; return 1;
	case OPT_FINDFOLDER: c->ews.use_findfolder = true; return 1;
	case OPT_ASSOCIATED: c->ews.associated = true; return 1;
	case OPT_NO_PROGRESS: c->pull.progress = false; return 1;
	case OPT_TRACE_DIR: c->pull.trace_dir = arg; return 1;
	case OPT_RESOLVE:
		if (!mapping_valid(arg, 3))
			return bad(command, "--resolve takes HOST:PORT:ADDRESS, e.g. mail.contoso.com:443:10.0.0.5");
		if (c->n_resolve >= CLI_MAX_MAPPINGS)
			return bad(command, "--resolve: at most 16");
		c->resolve[c->n_resolve++] = arg;
		return 1;
	case OPT_CONNECT_TO:
		if (!mapping_valid(arg, 4))
			return bad(command, "--connect-to takes HOST:PORT:CONNECT-HOST:CONNECT-PORT (HOST or PORT empty: any), "
			                    "e.g. mail.contoso.com:443:cas2.contoso.com:443");
		if (c->n_connect_to >= CLI_MAX_MAPPINGS)
			return bad(command, "--connect-to: at most 16");
		c->connect_to[c->n_connect_to++] = arg;
		return 1;
	case OPT_AUTODISCOVER_ONLY: c->autodiscover_only = true; return 1;
	case OPT_SECRET_ON_ARGV:
		return bad(command, "secrets are never taken on the command line (other users can read it): use "
		                    "--password-file/--token-file/--client-secret-file FILE, $OSTRECON_PASSWORD/"
		                    "$OSTRECON_TOKEN/$OSTRECON_CLIENT_SECRET, or the prompt");
	case OPT_CONCURRENCY:
		if (parse_long(arg, 1, 16, &v))
			return bad(command, "--concurrency takes 1 to 16");
		c->pull.concurrency = (int)v;
		c->concurrency_given = true;
		return 1;
	case OPT_RETRIES:
		if (parse_long(arg, 0, 20, &v))
			return bad(command, "--retries takes 0 to 20");
		c->pull.retries = (int)v;
		return 1;
	case OPT_RETRY_DEADLINE:
		if (parse_long(arg, 1, 86400, &v))
			return bad(command, "--retry-deadline takes 1 to 86400 seconds");
		c->pull.retry_deadline_s = v;
		return 1;
	case OPT_TIMEOUT:
		if (parse_long(arg, 1, 3600, &v))
			return bad(command, "--timeout takes 1 to 3600 seconds");
		c->pull.timeout_s = v;
		return 1;
	case OPT_IDLE_TIMEOUT:
		if (parse_long(arg, 1, 3600, &v))
			return bad(command, "--idle-timeout takes 1 to 3600 seconds");
		c->pull.idle_timeout_s = v;
		return 1;
	case OPT_CONNECT_TIMEOUT:
		if (parse_long(arg, 1, 600, &v))
			return bad(command, "--connect-timeout takes 1 to 600 seconds");
		c->pull.connect_timeout_s = v;
		return 1;
	case OPT_PAGE_SIZE:
		if (parse_long(arg, 1, 1000, &v))
			return bad(command, "--page-size takes 1 to 1000 (EWS: at most 512)");
		c->page_size = (int)v;
		return 1;
	case OPT_SPLIT_THRESHOLD:
		if (parse_long(arg, 0, 1000000000, &v))
			return bad(command, "--split-threshold takes 0 (never) to 1000000000 items");
		c->pull.split_threshold = v;
		c->pull.split_any = true;
		return 1;
	default: return 0;
	}
}

/* Which auth kind the options ask for, explicitly or by what they give. */
static int pick_auth(cli_server *c, or_error *err)
{
	const char *a = c->auth_name;
	if (!a) {
		if (c->client_id && c->certificate)
			a = "certificate";
		else if (c->client_id && (c->client_secret_file || getenv("OSTRECON_CLIENT_SECRET")))
			a = "client-secret";
		else if (c->client_id)
			a = "device-code";
		else if (c->token_file || getenv("OSTRECON_TOKEN"))
			a = "bearer";
		else
			a = "auto";
	}
	if (strcmp(a, "oauth") == 0)
		a = "bearer";
	for (size_t i = 0; i < sizeof auth_names / sizeof *auth_names; i++)
		if (strcmp(a, auth_names[i]) == 0) {
			c->auth = (cli_auth)i;
			return 0;
		}
	return or_fail(err, OR_ERR_USAGE,
	               "--auth takes auto, basic, ntlm, negotiate, bearer, client-secret, certificate or device-code");
}

static bool is_http_url(const char *u)
{
	return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0;
}

/* The delegated permissions a person signing in with a device code grants: reading the mailbox
 * (both Graph APIs, the user's settings), or EWS as the user. */
static char *user_scope(const char *resource_scope)
{
	char base[128];
	str_copy(base, resource_scope, sizeof base);
	char *dflt = strstr(base, "/.default");
	if (dflt)
		*dflt = '\0';
	char *out = NULL;
	int n = strstr(base, "graph")
	            ? asprintf(&out, "%s/MailboxFolder.Read %s/MailboxItem.Read %s/Mail.Read %s/User.Read offline_access",
	                       base, base, base, base)
	            : asprintf(&out, "%s/EWS.AccessAsUser.All offline_access", base);
	return n < 0 ? NULL : out;
}

/* An OAuth client for one resource (Graph, or EWS in Exchange Online). */
static int make_oauth(cli_server *c, const char *scope, oauth_client **out, or_error *err)
{
	oauth_options o = {0};
	o.flow = c->auth == CLI_AUTH_CERTIFICATE ? OAUTH_FLOW_CERTIFICATE
	         : c->auth == CLI_AUTH_CLIENT_SECRET ? OAUTH_FLOW_SECRET
	                                             : OAUTH_FLOW_DEVICE_CODE;
	o.authority = c->authority_url ? c->authority_url : clouds[c->cloud].login;
	o.tenant = c->tenant ? c->tenant : "organizations";
	o.client_id = c->client_id;
	char *delegated = c->auth == CLI_AUTH_DEVICE_CODE && !c->scope ? user_scope(scope) : NULL;
	o.scope = c->scope ? c->scope : delegated ? delegated : scope;
	o.secret = c->client_secret;
	o.cert_path = c->certificate;
	o.key_path = c->certificate_key;
	o.cacert = c->pull.cacert;
	o.insecure = c->pull.insecure;
	o.timeout_s = c->pull.connect_timeout_s > 30 ? c->pull.connect_timeout_s : 30;
	o.prompt = stderr;
	int rc = oauth_new(out, &o, err);
	free(delegated);
	return rc;
}

static int token_get(void *ctx, bool renew, char *out, size_t size, or_error *err)
{
	return oauth_token(ctx, renew, out, size, err);
}

static void token_accepted(void *ctx, const char *token)
{
	oauth_token_accepted(ctx, token);
}

/* The options that shape a capture, for the snapshot header: one text per protocol, made once
 * (batch jobs share them). Over Graph they name how the token was had (auth: client-secret,
 * certificate, device-code, or bearer: a token given in a file or the environment); over EWS the
 * pull adds the method it used (src/pull). */
static void options_json(cli_server *c, bool graph)
{
	if (graph)
		snprintf(c->options_json_graph, sizeof c->options_json_graph,
		         "{\"protocol\":\"graph\",\"graph_api\":\"%s\",\"page_size\":%d,\"delta\":%s,\"auth\":\"%s\"}",
		         graph_api_name(c->graph.api), c->page_size > 0 ? c->page_size : c->graph.page_size,
		         c->graph.no_delta ? "false" : "true", auth_names[c->auth]);
	else
		snprintf(c->options_json_ews, sizeof c->options_json_ews,
		         "{\"protocol\":\"ews\",\"server_version\":\"%s\",\"impersonate\":%s,\"hierarchy\":\"%s\","
		         "\"paging\":\"%s\",\"associated\":%s}",
		         c->ews.server_version, c->ews.impersonate ? "true" : "false",
		         c->ews.use_findfolder ? "FindFolder" : "SyncFolderHierarchy",
		         c->ews.use_finditem ? "FindItem" : "SyncFolderItems", c->ews.associated ? "true" : "false");
}

int cli_server_finish(cli_server *c, const char *command, bool need_mailbox, or_error *err)
{
	pull_options *p = &c->pull;
	if (need_mailbox && !p->mailbox)
		return or_fail(err, OR_ERR_USAGE, "--mailbox is required");
	if (p->url && !is_http_url(p->url))
		return or_fail(err, OR_ERR_USAGE, "--url must be an http:// or https:// URL");
	if (c->graph_url && !is_http_url(c->graph_url))
		return or_fail(err, OR_ERR_USAGE, "--graph-url must be an http:// or https:// URL");
	if (c->authority_url && !is_http_url(c->authority_url))
		return or_fail(err, OR_ERR_USAGE, "--authority must be an http:// or https:// URL");
	struct stat st;
	if (p->trace_dir && (stat(p->trace_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(p->trace_dir, W_OK) != 0))
		return or_fail(err, OR_ERR_USAGE, "--trace-dir %s is not a folder this user can write to", p->trace_dir);
	if (p->cacert && access(p->cacert, R_OK) != 0)
		return or_fail(err, OR_ERR_USAGE, "--cacert %s: %s", p->cacert, strerror(errno));
	if (!ews_server_version_valid(c->ews.server_version))
		return or_fail(err, OR_ERR_USAGE, "--server-version: '%s' is not a RequestServerVersion value",
		               c->ews.server_version);
	int rc = pick_auth(c, err);
	if (rc)
		return rc;
	bool oauth_app = c->auth == CLI_AUTH_CLIENT_SECRET || c->auth == CLI_AUTH_CERTIFICATE ||
	                 c->auth == CLI_AUTH_DEVICE_CODE;
	bool bearer = oauth_app || c->auth == CLI_AUTH_BEARER;
	/* What the run may need: EWS, Graph, or (auto, batch rows) both. */
	c->may_ews = c->api != CLI_API_GRAPH;
	c->may_graph = c->api != CLI_API_EWS;
	if (c->api == CLI_API_AUTO && c->single) {
		bool graph = cli_server_picks_graph(c, p->url);
		c->may_ews = !graph;
		c->may_graph = graph;
	}
	if (c->may_graph && !c->may_ews && !bearer)
		return or_fail(err, OR_ERR_USAGE, "Microsoft Graph takes OAuth tokens only: give --tenant and --client-id "
		                                  "(with --client-secret-file, --certificate or the device code flow) "
		                                  "or a token (--token-file)");
	/* Without --url, EWS's URL comes from Autodiscover, which sends on-premises credentials only. */
	if (c->may_ews && !c->may_graph && c->single && !p->url && bearer)
		return or_fail(err, OR_ERR_USAGE, "--url is required for EWS with OAuth credentials (Autodiscover sends "
		                                  "on-premises credentials only, never a token)");
	if (c->autodiscover_only && (!c->single || p->url || !c->may_ews || c->may_graph))
		return or_fail(err, OR_ERR_USAGE, "--autodiscover-only finds the EWS URL of one mailbox: give --mailbox, no "
		                                  "--url, and on-premises credentials (not --api graph or OAuth)");
	if (oauth_app && !c->client_id)
		return or_fail(err, OR_ERR_USAGE, "--auth %s needs --client-id (and --tenant)", auth_names[c->auth]);
	if ((c->auth == CLI_AUTH_CLIENT_SECRET || c->auth == CLI_AUTH_CERTIFICATE) && !c->tenant)
		return or_fail(err, OR_ERR_USAGE, "--auth %s needs --tenant (the directory's id or domain)",
		               auth_names[c->auth]);
	if (c->auth == CLI_AUTH_CERTIFICATE && !c->certificate)
		return or_fail(err, OR_ERR_USAGE, "--auth certificate needs --certificate FILE (PEM)");
	if (c->page_size > 512 && c->may_ews)
		return or_fail(err, OR_ERR_USAGE, "--page-size: EWS takes at most 512");
	if (p->insecure)
		log_warn("TLS certificate verification is OFF (--insecure): anyone on the path can read the "
		         "credentials and the mailbox data");
	if (p->url && strncasecmp(p->url, "http://", 7) == 0 && c->auth == CLI_AUTH_AUTO)
		log_warn("the URL is plain http://: the mailbox data travels unencrypted (--auth auto sends no password "
		         "in the clear)");
	else if (p->url && strncasecmp(p->url, "http://", 7) == 0 && c->auth != CLI_AUTH_NEGOTIATE &&
	         c->auth != CLI_AUTH_NTLM)
		log_warn("the URL is plain http://: credentials and mailbox data travel unencrypted");

	switch (c->auth) {
	case CLI_AUTH_BASIC: p->auth = PULL_AUTH_BASIC; break;
	case CLI_AUTH_NTLM: p->auth = PULL_AUTH_NTLM; break;
	case CLI_AUTH_NEGOTIATE: p->auth = PULL_AUTH_NEGOTIATE; break;
	case CLI_AUTH_AUTO: p->auth = PULL_AUTH_AUTO; break;
	default: p->auth = PULL_AUTH_BEARER; break;
	}
	if (c->auth == CLI_AUTH_BEARER) {
		c->secret = cli_read_secret(c->token_file, "OSTRECON_TOKEN", NULL, err);
		if (!c->secret)
			return or_wrap(err, "an OAuth token is needed (--token-file FILE or OSTRECON_TOKEN)");
	} else if (c->auth == CLI_AUTH_CLIENT_SECRET) {
		c->client_secret = cli_read_secret(c->client_secret_file, "OSTRECON_CLIENT_SECRET", NULL, err);
		if (!c->client_secret)
			return or_wrap(err, "the application's client secret is needed (--client-secret-file FILE or "
			                    "OSTRECON_CLIENT_SECRET)");
	} else if (c->auth == CLI_AUTH_NEGOTIATE && !c->password_file && !getenv("OSTRECON_PASSWORD")) {
		c->secret = NULL; /* Kerberos: the ticket cache */
	} else if (c->auth == CLI_AUTH_AUTO && !p->user) {
		if (c->password_file)
			return or_fail(err, OR_ERR_USAGE, "--password-file needs --user (the account for NTLM or Basic)");
		c->secret = NULL; /* auto without a user: Kerberos only */
	} else if (!oauth_app) {
		if (!p->user)
			return or_fail(err, OR_ERR_USAGE, "--user is required for %s authentication", auth_names[c->auth]);
		char prompt[300];
		snprintf(prompt, sizeof prompt, "Password for %s: ", p->user);
		c->secret = cli_read_secret(c->password_file, "OSTRECON_PASSWORD", prompt, err);
		if (!c->secret)
			return or_wrap(err, "a password is needed (--password-file FILE, OSTRECON_PASSWORD or the prompt)");
	}
	p->secret = c->secret;
	if (oauth_app) {
		char graph_scope[160];
		const char *root = c->graph_url ? c->graph_url : clouds[c->cloud].graph;
		const char *host_end = strstr(root, "://") ? strchr(strstr(root, "://") + 3, '/') : NULL;
		snprintf(graph_scope, sizeof graph_scope, "%.*s/.default", host_end ? (int)(host_end - root) : (int)strlen(root),
		         root);
		/* a national cloud's Graph is its own resource; a test server's stands in for the global one */
		bool loopback = strstr(root, "://127.0.0.1") || strstr(root, "://localhost") || strstr(root, "://[::1]");
		if (c->may_graph && (rc = make_oauth(c, loopback ? OAUTH_DEFAULT_APP_SCOPE : graph_scope, &c->oauth_graph,
		                                     err)) != 0)
			return rc;
		if (c->may_ews && (rc = make_oauth(c, clouds[c->cloud].ews_scope, &c->oauth_ews, err)) != 0)
			return rc;
		if (c->auth == CLI_AUTH_DEVICE_CODE && c->may_graph && c->may_ews && !c->scope)
			log_warn("the device code flow signs in once per resource: Graph and EWS may each ask");
	}
	if (c->n_resolve)
		p->resolve = c->resolve;
	if (c->n_connect_to)
		p->connect_to = c->connect_to;
	if (c->may_ews && !bearer && (rc = ews_autodiscover_cache_new(&c->autodiscover, err)) != 0)
		return rc;
	c->tokens_graph = (pull_token_source){.get = token_get, .accepted = token_accepted, .ctx = c->oauth_graph};
	c->tokens_ews = (pull_token_source){.get = token_get, .accepted = token_accepted, .ctx = c->oauth_ews};
	options_json(c, true);
	options_json(c, false);
	(void)command;
	return 0;
}

bool cli_server_picks_graph(const cli_server *c, const char *ews_url)
{
	if (c->api == CLI_API_GRAPH)
		return true;
	if (c->api == CLI_API_EWS)
		return false;
	/* auto: Graph for Exchange Online (its EWS URL; no EWS URL with OAuth credentials), EWS on
	 * premises (no EWS URL with on-premises credentials: Autodiscover finds it, and may find
	 * Exchange Online) */
	if (ews_url)
		return scan_url_is_exchange_online(ews_url);
	return c->auth == CLI_AUTH_BEARER || c->auth == CLI_AUTH_CLIENT_SECRET || c->auth == CLI_AUTH_CERTIFICATE ||
	       c->auth == CLI_AUTH_DEVICE_CODE;
}

/* The EWS URL of a mailbox, by Autodiscover with the run's credentials (once per domain). */
static int discover(const cli_server *c, const char *mailbox, const ews_autodiscover_result **out, or_error *err)
{
	if (!c->autodiscover)
		return or_fail(err, OR_ERR_USAGE, "no EWS URL: give --url (or a url column); Autodiscover sends "
		                                  "on-premises credentials only, never an OAuth token");
	ews_autodiscover_options o;
	ews_autodiscover_options_init(&o);
	o.pull = c->pull;
	o.srv = true;
	return ews_autodiscover_cached(c->autodiscover, &o, mailbox, out, err);
}

int cli_server_autodiscover_only(const cli_server *c)
{
	const ews_autodiscover_result *r;
	or_error err = {0};
	if (discover(c, c->pull.mailbox, &r, &err) != 0) {
		log_error("%s", err.message);
		return err.code == OR_ERR_USAGE ? EXIT_USAGE : EXIT_ERROR;
	}
	bool online = scan_url_is_exchange_online(r->url);
	printf("mailbox: %s\n", c->pull.mailbox);
	printf("ews_url: %s\n", r->url);
	printf("server_version: %s\n", *r->server_version ? r->server_version : "unknown (the answer does not say)");
	printf("found_by: %s, %s%s%s\n", r->method, r->endpoint, strcasecmp(r->address, c->pull.mailbox) ? ", as " : "",
	       strcasecmp(r->address, c->pull.mailbox) ? r->address : "");
	printf("api: %s\n", c->api == CLI_API_EWS ? "ews" : online ? "graph (Exchange Online: --api auto takes Microsoft Graph)" : "ews");
	return EXIT_OK;
}

int cli_server_make(const cli_server *c, const char *api, const char *mailbox, const char *ews_url, scan_server *out,
                    or_error *err)
{
	memset(out, 0, sizeof *out);
	bool graph = api && strcmp(api, "graph") == 0 ? true : api && strcmp(api, "ews") == 0 ? false
	                                                                                      : cli_server_picks_graph(c, ews_url);
	if (!graph && !ews_url && c->may_ews) {
		const ews_autodiscover_result *found;
		int rc = discover(c, mailbox, &found, err);
		if (rc)
			return rc;
		ews_url = found->url;
		bool api_auto = !(api && (strcmp(api, "ews") == 0 || strcmp(api, "graph") == 0)) && c->api == CLI_API_AUTO;
		if (api_auto && scan_url_is_exchange_online(ews_url)) {
			log_verbose("%s: Autodiscover points at Exchange Online (%s): Microsoft Graph", mailbox, ews_url);
			graph = true;
			if (!c->may_graph || !(c->oauth_graph || c->auth == CLI_AUTH_BEARER))
				return or_fail(err, OR_ERR_AUTH, "%s is in Exchange Online (Autodiscover found %s): --api auto reads "
				                                 "it over Microsoft Graph, which takes OAuth credentials: give --tenant "
				                                 "and --client-id (with --client-secret-file, --certificate or the device "
				                                 "code flow) or --token-file", mailbox, ews_url);
		}
	}
	if (graph && !c->may_graph)
		return or_fail(err, OR_ERR_USAGE, "this mailbox needs Microsoft Graph, which the options exclude");
	if (!graph && !c->may_ews)
		return or_fail(err, OR_ERR_USAGE, "this mailbox needs EWS, which the options exclude");
	if (!graph && !ews_url)
		return or_fail(err, OR_ERR_USAGE, "no EWS URL: give --url (or a url column)");
	pull_options p = c->pull;
	p.mailbox = mailbox;
	p.options_json = graph ? c->options_json_graph : c->options_json_ews;
	if (graph) {
		out->protocol = SERVER_GRAPH;
		out->graph = c->graph;
		out->graph.pull = p;
		out->graph.pull.url = c->graph_url ? c->graph_url : clouds[c->cloud].graph;
		if (c->page_size > 0)
			out->graph.page_size = c->page_size;
		if (!c->concurrency_given) /* Graph runs at most 4 requests at once per mailbox */
			out->graph.pull.concurrency = 4;
		if (c->oauth_graph)
			out->graph.pull.tokens = &c->tokens_graph;
		else if (c->auth != CLI_AUTH_BEARER)
			return or_fail(err, OR_ERR_USAGE, "Microsoft Graph takes OAuth tokens only");
	} else {
		out->protocol = SERVER_EWS;
		out->ews = c->ews;
		out->ews.pull = p;
		out->ews.pull.url = ews_url;
		if (c->page_size > 0)
			out->ews.page_size = c->page_size;
		if (c->oauth_ews)
			out->ews.pull.tokens = &c->tokens_ews;
	}
	return 0;
}

void cli_server_free(cli_server *c)
{
	cli_free_secret(c->secret);
	cli_free_secret(c->client_secret);
	oauth_free(c->oauth_graph);
	oauth_free(c->oauth_ews);
	ews_autodiscover_cache_free(c->autodiscover);
	c->autodiscover = NULL;
	c->secret = c->client_secret = NULL;
	c->oauth_graph = c->oauth_ews = NULL;
	c->pull.secret = NULL;
}

const char *cli_server_help =
	"Server, protocol and authentication:\n"
	"      --mailbox ADDRESS    SMTP address of the mailbox\n"
	"      --api KIND           ews, graph or auto (default): auto takes Microsoft Graph for\n"
	"                           Exchange Online (an Exchange Online --url or Autodiscover answer,\n"
	"                           or no --url with OAuth credentials) and EWS else\n"
	"      --url URL            the EWS endpoint, https://HOST/EWS/Exchange.asmx; without it, EWS's\n"
	"                           URL is found by Autodiscover from the mailbox's address (POX,\n"
	"                           the HTTP redirect method, SOAP, DNS SRV; -v shows each attempt)\n"
	"      --autodiscover-only  print the EWS URL Autodiscover finds, the server version and\n"
	"                           the API --api auto would take, and stop\n"
	"      --graph-url URL      Graph's service root (default " GRAPH_ROOT ")\n"
	"      --authority URL      the identity platform's login host (default\n"
	"                           https://login.microsoftonline.com)\n"
	"      --cloud NAME         global (default), usgov, usgov-dod or china: sets both URLs\n"
	"      --graph-api KIND     mailbox (the Exchange mailbox API: every folder and item type),\n"
	"                           mail (mail, calendar and contact folders only) or auto (default:\n"
	"                           mailbox, else mail where it is refused)\n"
	"      --no-delta           Graph: plain listings instead of delta rounds\n"
	"      --auth KIND          auto (default for EWS), basic, ntlm, negotiate (Kerberos), bearer\n"
	"                           (a token from --token-file), client-secret, certificate,\n"
	"                           device-code (OAuth; the default when --client-id is given). auto\n"
	"                           takes what the server offers: Negotiate with a Kerberos ticket it\n"
	"                           accepts, else NTLM, else Basic over https only (never a password\n"
	"                           in the clear: --auth basic sends it over http:// anyway, warned)\n"
	"      --user NAME          account for auto/basic/ntlm/negotiate: DOMAIN\\user or\n"
	"                           user@domain (NTLM sends the latter whole, as a UPN)\n"
	"      --password-file FILE password in the first line of FILE (else $OSTRECON_PASSWORD,\n"
	"                           else a prompt on the terminal); never on the command line\n"
	"      --token-file FILE    OAuth2 bearer token in FILE (else $OSTRECON_TOKEN)\n"
	"      --tenant ID          the directory (tenant id or domain) of the application\n"
	"      --client-id ID       the application (client) id of the app registration\n"
	"      --client-secret-file FILE  the application's client secret (else\n"
	"                           $OSTRECON_CLIENT_SECRET)\n"
	"      --certificate FILE   PEM certificate of the application (and its key, unless\n"
	"                           --certificate-key FILE)\n"
	"      --scope SCOPE        the OAuth scope (default: the resource's .default)\n"
	"      --impersonate        EWS: act as the mailbox (ExchangeImpersonation; service accounts)\n"
	"      --anchor ADDRESS     EWS: X-AnchorMailbox (default: the mailbox, with impersonation/OAuth)\n"
	"      --server-version V   EWS: RequestServerVersion (default Exchange2013_SP1)\n"
	"      --cacert FILE        CA certificates to verify the servers with\n"
	"      --resolve HOST:PORT:ADDRESS  connect to ADDRESS for HOST:PORT (as curl's --resolve;\n"
	"                           repeatable): reach a server its name does not lead to from here\n"
	"      --connect-to HOST:PORT:HOST2:PORT2  connect to HOST2:PORT2 instead (as curl's;\n"
	"                           HOST or PORT empty: any; repeatable). For troubleshooting: the\n"
	"                           certificate is still checked against the URL's host name\n"
	"      --insecure           do not verify the server's certificate (warned; avoid)\n"
	"      --concurrency N      requests in flight: folders pulled in parallel, and the parts of\n"
	"                           a large folder, 1..16 (default 4)\n"
	"      --split-threshold N  every folder of N items or more is read in parts at once (Graph:\n"
	"                           ranges of time; EWS: FindItem offsets), 0: never (default: a\n"
	"                           folder of 5000 or more whose pages are the pull's longest chain)\n"
	"      --retries N          retries per request on failures (default 6)\n"
	"      --retry-deadline S   throttling answers (ErrorServerBusy, 429, 503) are retried as the\n"
	"                           server says until S seconds into the pull (default 900)\n"
	"      --timeout S          a request that takes longer fails, seconds (default 300)\n"
	"      --idle-timeout S     a request that receives nothing for S seconds fails (default 60);\n"
	"                           a server that has never answered gets two tries\n"
	"      --connect-timeout S  to connect, seconds (default 30)\n"
	"      --page-size N        items per request: EWS 1..512 (default 512), Graph 1..1000 (500)\n"
	"      --finditem           EWS: page with FindItem instead of SyncFolderItems\n"
	"      --findfolder         EWS: list folders with FindFolder instead of SyncFolderHierarchy\n"
	"                           (used anyway when the server refuses the latter)\n"
	"      --associated         EWS: also pull associated (hidden) items\n"
	"      --no-progress        no progress line on stderr\n"
	"      --trace-dir DIR      write every request and response body into DIR (no credentials\n"
	"                           are in them; the mailbox data is)\n";
