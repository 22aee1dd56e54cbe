/* ews_args.c: the connection and authentication options shared by `server`, `scan` and `batch`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cli_ews_init(cli_ews *c)
{
	memset(c, 0, sizeof *c);
	ews_options_init(&c->opt);
	c->opt.pull.progress = true;
	c->auth_name = NULL;
}

int cli_ews_option(cli_ews *c, int opt, const char *arg, const char *command)
{
	long v;
	switch (opt) {
	case OPT_URL: c->opt.pull.url = arg; return 1;
	case OPT_MAILBOX: c->opt.pull.mailbox = arg; return 1;
	case OPT_AUTH: c->auth_name = arg; return 1;
	case OPT_USER: c->opt.pull.user = arg; return 1;
	case OPT_PASSWORD_FILE: c->password_file = arg; return 1;
	case OPT_TOKEN_FILE: c->token_file = arg; return 1;
	case OPT_IMPERSONATE: c->opt.impersonate = true; return 1;
	case OPT_ANCHOR: c->opt.anchor = arg; return 1;
	case OPT_SERVER_VERSION: c->opt.server_version = arg; return 1;
	case OPT_CACERT: c->opt.pull.cacert = arg; return 1;
	case OPT_INSECURE: c->opt.pull.insecure = true; return 1;
	case OPT_FINDITEM: c->opt.use_finditem = true; return 1;
	case OPT_FINDFOLDER: c->opt.use_findfolder = true; return 1;
	case OPT_ASSOCIATED: c->opt.associated = true; return 1;
	case OPT_NO_PROGRESS: c->opt.pull.progress = false; return 1;
	case OPT_TRACE_DIR: c->opt.pull.trace_dir = arg; return 1;
	case OPT_SECRET_ON_ARGV:
		return -cli_usage_error(command, "secrets are never taken on the command line (other users can read "
		                                 "it): use --password-file/--token-file FILE, $OSTRECON_PASSWORD/"
		                                 "$OSTRECON_TOKEN, or the prompt");
	case OPT_CONCURRENCY:
		if (parse_long(arg, 1, 16, &v))
			return -cli_usage_error(command, "--concurrency takes 1 to 16");
		c->opt.pull.concurrency = (int)v;
		return 1;
	case OPT_RETRIES:
		if (parse_long(arg, 0, 20, &v))
			return -cli_usage_error(command, "--retries takes 0 to 20");
		c->opt.pull.retries = (int)v;
		return 1;
	case OPT_TIMEOUT:
		if (parse_long(arg, 1, 3600, &v))
			return -cli_usage_error(command, "--timeout takes 1 to 3600 seconds");
		c->opt.pull.timeout_s = v;
		return 1;
	case OPT_CONNECT_TIMEOUT:
		if (parse_long(arg, 1, 600, &v))
			return -cli_usage_error(command, "--connect-timeout takes 1 to 600 seconds");
		c->opt.pull.connect_timeout_s = v;
		return 1;
	case OPT_PAGE_SIZE:
		if (parse_long(arg, 1, 512, &v))
			return -cli_usage_error(command, "--page-size takes 1 to 512");
		c->opt.page_size = (int)v;
		return 1;
	default: return 0;
	}
}

int cli_ews_finish(cli_ews *c, const char *command, or_error *err)
{
	ews_options *o = &c->opt;
	if (!o->pull.url)
		return or_fail(err, OR_ERR_USAGE, "--url is required");
	if (!o->pull.mailbox)
		return or_fail(err, OR_ERR_USAGE, "--mailbox is required");
	if (strncasecmp(o->pull.url, "https://", 8) != 0 && strncasecmp(o->pull.url, "http://", 7) != 0)
		return or_fail(err, OR_ERR_USAGE, "--url must be an http:// or https:// URL");
	if (!ews_server_version_valid(o->server_version))
		return or_fail(err, OR_ERR_USAGE, "--server-version: '%s' is not a RequestServerVersion value",
		               o->server_version);
	const char *auth = c->auth_name ? c->auth_name : c->token_file || getenv("OSTRECON_TOKEN") ? "bearer" : "basic";
	if (strcmp(auth, "basic") == 0)
		o->pull.auth = PULL_AUTH_BASIC;
	else if (strcmp(auth, "ntlm") == 0)
		o->pull.auth = PULL_AUTH_NTLM;
	else if (strcmp(auth, "negotiate") == 0)
		o->pull.auth = PULL_AUTH_NEGOTIATE;
	else if (strcmp(auth, "bearer") == 0 || strcmp(auth, "oauth") == 0)
		o->pull.auth = PULL_AUTH_BEARER;
	else
		return or_fail(err, OR_ERR_USAGE, "--auth takes basic, ntlm, negotiate or bearer");
	if (o->pull.insecure)
		log_warn("TLS certificate verification is OFF (--insecure): anyone on the path can read the "
		         "credentials and the mailbox data");
	if (strncasecmp(o->pull.url, "http://", 7) == 0 && o->pull.auth != PULL_AUTH_NEGOTIATE && o->pull.auth != PULL_AUTH_NTLM)
		log_warn("the URL is plain http://: credentials and mailbox data travel unencrypted");
	if (o->pull.auth == PULL_AUTH_BEARER) {
		c->secret = cli_read_secret(c->token_file, "OSTRECON_TOKEN", NULL, err);
		if (!c->secret)
			return or_wrap(err, "an OAuth token is needed (--token-file FILE or OSTRECON_TOKEN)");
	} else if (o->pull.auth == PULL_AUTH_NEGOTIATE && !c->password_file && !getenv("OSTRECON_PASSWORD")) {
		c->secret = NULL; /* Kerberos: the ticket cache */
	} else {
		if (!o->pull.user)
			return or_fail(err, OR_ERR_USAGE, "--user is required for %s authentication", auth);
		char prompt[300];
		snprintf(prompt, sizeof prompt, "Password for %s: ", o->pull.user);
		c->secret = cli_read_secret(c->password_file, "OSTRECON_PASSWORD", prompt, err);
		if (!c->secret)
			return or_wrap(err, "a password is needed (--password-file FILE, OSTRECON_PASSWORD or the prompt)");
	}
	o->pull.secret = c->secret;
	(void)command;
	return 0;
}

void cli_ews_options_json(cli_ews *c)
{
	snprintf(c->options_json, sizeof c->options_json,
	         "{\"server_version\":\"%s\",\"impersonate\":%s,\"hierarchy\":\"%s\",\"paging\":\"%s\",\"associated\":%s}",
	         c->opt.server_version, c->opt.impersonate ? "true" : "false",
	         c->opt.use_findfolder ? "FindFolder" : "SyncFolderHierarchy",
	         c->opt.use_finditem ? "FindItem" : "SyncFolderItems", c->opt.associated ? "true" : "false");
	c->opt.pull.options_json = c->options_json;
}

void cli_ews_free(cli_ews *c)
{
	cli_free_secret(c->secret);
	c->secret = NULL;
	c->opt.pull.secret = NULL;
}

const char *cli_ews_help =
	"Connection and authentication:\n"
	"      --url URL            the EWS endpoint, https://HOST/EWS/Exchange.asmx\n"
	"      --mailbox ADDRESS    SMTP address of the mailbox\n"
	"      --auth KIND          basic (default), ntlm, negotiate (Kerberos) or bearer (OAuth2;\n"
	"                           the default when a token is given)\n"
	"      --user NAME          account for basic/ntlm/negotiate\n"
	"      --password-file FILE password in the first line of FILE (else $OSTRECON_PASSWORD,\n"
	"                           else a prompt on the terminal); never on the command line\n"
	"      --token-file FILE    OAuth2 bearer token in FILE (else $OSTRECON_TOKEN)\n"
	"      --impersonate        act as the mailbox (ExchangeImpersonation; service accounts)\n"
	"      --anchor ADDRESS     X-AnchorMailbox (default: the mailbox, with impersonation/OAuth)\n"
	"      --server-version V   RequestServerVersion (default Exchange2013_SP1)\n"
	"      --cacert FILE        CA certificates to verify the server with\n"
	"      --insecure           do not verify the server's certificate (warned; avoid)\n"
	"      --concurrency N      folders pulled in parallel, 1..16 (default 4)\n"
	"      --retries N          retries per request on throttling or failures (default 6)\n"
	"      --timeout S          per request, seconds (default 300); --connect-timeout S (30)\n"
	"      --page-size N        items per request, 1..512 (default 512)\n"
	"      --finditem           page with FindItem instead of SyncFolderItems\n"
	"      --findfolder         list folders with FindFolder instead of SyncFolderHierarchy (used\n"
	"                           anyway when the server refuses the latter)\n"
	"      --associated         also pull associated (hidden) items\n"
	"      --no-progress        no progress line on stderr\n"
	"      --trace-dir DIR      write every request and response body into DIR (no credentials\n"
	"                           are in them; the mailbox data is)\n";
