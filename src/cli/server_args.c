/*
 * server_args.c: the server-side options shared by `server`, `scan` and `batch`: which protocol
 * (EWS or Microsoft Graph), the endpoints, the credentials (passwords, tokens, OAuth application
 * credentials, the device code flow) and the pull's tuning.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
                                         "device-code"};

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
	case OPT_LOGIN_URL: c->login_url = arg; return 1;
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
			a = "basic";
	}
	if (strcmp(a, "oauth") == 0)
		a = "bearer";
	for (size_t i = 0; i < sizeof auth_names / sizeof *auth_names; i++)
		if (strcmp(a, auth_names[i]) == 0) {
			c->auth = (cli_auth)i;
			return 0;
		}
	return or_fail(err, OR_ERR_USAGE,
	               "--auth takes basic, ntlm, negotiate, bearer, client-secret, certificate or device-code");
}

static bool is_http_url(const char *u)
{
	return strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0;
}

/* An OAuth client for one resource (Graph, or EWS in Exchange Online). */
static int make_oauth(cli_server *c, const char *scope, oauth_client **out, or_error *err)
{
	oauth_options o = {0};
	o.flow = c->auth == CLI_AUTH_CERTIFICATE ? OAUTH_FLOW_CERTIFICATE
	         : c->auth == CLI_AUTH_CLIENT_SECRET ? OAUTH_FLOW_SECRET
	                                             : OAUTH_FLOW_DEVICE_CODE;
	o.authority = c->login_url ? c->login_url : clouds[c->cloud].login;
	o.tenant = c->tenant ? c->tenant : "organizations";
	o.client_id = c->client_id;
	o.scope = c->scope ? c->scope : scope;
	o.secret = c->client_secret;
	o.cert_path = c->certificate;
	o.key_path = c->certificate_key;
	o.cacert = c->pull.cacert;
	o.insecure = c->pull.insecure;
	o.timeout_s = c->pull.connect_timeout_s > 30 ? c->pull.connect_timeout_s : 30;
	o.prompt = stderr;
	return oauth_new(out, &o, err);
}

static int token_get(void *ctx, bool renew, char *out, size_t size, or_error *err)
{
	return oauth_token(ctx, renew, out, size, err);
}

/* The options that shape a capture, for the snapshot header: one text per protocol, made once
 * (batch jobs share them). */
static void options_json(cli_server *c, bool graph)
{
	if (graph)
		snprintf(c->options_json_graph, sizeof c->options_json_graph,
		         "{\"protocol\":\"graph\",\"graph_api\":\"%s\",\"page_size\":%d,\"delta\":%s}",
		         graph_api_name(c->graph.api), c->page_size > 0 ? c->page_size : c->graph.page_size,
		         c->graph.no_delta ? "false" : "true");
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
	if (c->login_url && !is_http_url(c->login_url))
		return or_fail(err, OR_ERR_USAGE, "--login-url must be an http:// or https:// URL");
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
	if (c->may_ews && !c->may_graph && c->single && !p->url)
		return or_fail(err, OR_ERR_USAGE, "--url is required for EWS");
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
	if (p->url && strncasecmp(p->url, "http://", 7) == 0 && c->auth != CLI_AUTH_NEGOTIATE && c->auth != CLI_AUTH_NTLM)
		log_warn("the URL is plain http://: credentials and mailbox data travel unencrypted");

	switch (c->auth) {
	case CLI_AUTH_BASIC: p->auth = PULL_AUTH_BASIC; break;
	case CLI_AUTH_NTLM: p->auth = PULL_AUTH_NTLM; break;
	case CLI_AUTH_NEGOTIATE: p->auth = PULL_AUTH_NEGOTIATE; break;
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
		if (c->may_graph && (rc = make_oauth(c, OAUTH_DEFAULT_APP_SCOPE, &c->oauth_graph, err)) != 0)
			return rc;
		if (c->may_ews && (rc = make_oauth(c, clouds[c->cloud].ews_scope, &c->oauth_ews, err)) != 0)
			return rc;
		if (c->auth == CLI_AUTH_DEVICE_CODE && c->may_graph && c->may_ews && !c->scope)
			log_warn("the device code flow signs in once per resource: Graph and EWS may each ask");
	}
	c->tokens_graph = (pull_token_source){.get = token_get, .ctx = c->oauth_graph};
	c->tokens_ews = (pull_token_source){.get = token_get, .ctx = c->oauth_ews};
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
	/* auto: Graph for Exchange Online (its EWS URL, or no EWS URL at all), EWS on premises */
	return ews_url ? scan_url_is_exchange_online(ews_url) : true;
}

int cli_server_make(const cli_server *c, const char *api, const char *mailbox, const char *ews_url, scan_server *out,
                    or_error *err)
{
	memset(out, 0, sizeof *out);
	bool graph = api && strcmp(api, "graph") == 0 ? true : api && strcmp(api, "ews") == 0 ? false
	                                                                                      : cli_server_picks_graph(c, ews_url);
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
	c->secret = c->client_secret = NULL;
	c->oauth_graph = c->oauth_ews = NULL;
	c->pull.secret = NULL;
}

const char *cli_server_help =
	"Server, protocol and authentication:\n"
	"      --mailbox ADDRESS    SMTP address of the mailbox\n"
	"      --api KIND           ews, graph or auto (default): auto takes Microsoft Graph for\n"
	"                           Exchange Online (an Exchange Online --url, or none) and EWS else\n"
	"      --url URL            the EWS endpoint, https://HOST/EWS/Exchange.asmx\n"
	"      --graph-url URL      Graph's service root (default " GRAPH_ROOT ")\n"
	"      --login-url URL      the identity platform (default https://login.microsoftonline.com)\n"
	"      --cloud NAME         global (default), usgov, usgov-dod or china: sets both URLs\n"
	"      --graph-api KIND     mailbox (the Exchange mailbox API: every folder and item type),\n"
	"                           mail (mail, calendar and contact folders only) or auto (default:\n"
	"                           mailbox, else mail where it is refused)\n"
	"      --no-delta           Graph: plain listings instead of delta rounds\n"
	"      --auth KIND          basic (default for EWS), ntlm, negotiate (Kerberos), bearer (a\n"
	"                           token from --token-file), client-secret, certificate, device-code\n"
	"                           (OAuth; the default when --client-id is given)\n"
	"      --user NAME          account for basic/ntlm/negotiate\n"
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
	"      --insecure           do not verify the server's certificate (warned; avoid)\n"
	"      --concurrency N      folders pulled in parallel, 1..16 (default 4)\n"
	"      --retries N          retries per request on failures (default 6)\n"
	"      --retry-deadline S   throttling answers (ErrorServerBusy, 429, 503) are retried as the\n"
	"                           server says until S seconds into the pull (default 900)\n"
	"      --timeout S          per request, seconds (default 300); --connect-timeout S (30)\n"
	"      --page-size N        items per request: EWS 1..512 (default 512), Graph 1..1000 (500)\n"
	"      --finditem           EWS: page with FindItem instead of SyncFolderItems\n"
	"      --findfolder         EWS: list folders with FindFolder instead of SyncFolderHierarchy\n"
	"                           (used anyway when the server refuses the latter)\n"
	"      --associated         EWS: also pull associated (hidden) items\n"
	"      --no-progress        no progress line on stderr\n"
	"      --trace-dir DIR      write every request and response body into DIR (no credentials\n"
	"                           are in them; the mailbox data is)\n";
