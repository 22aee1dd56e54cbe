/* cli.h: the command-line front end. Each command is one function in its own file. */
#ifndef OSTRECON_CLI_H
#define OSTRECON_CLI_H

#include "core/core.h"
#include "ews/ews.h"
#include "graph/graph.h"
#include "oauth/oauth.h"
#include "report/report.h"
#include "scan/scan.h"
#include "ost/ost.h"

#include <getopt.h>

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct {
	const char *name;
	cli_command_fn run;
	const char *summary;
} cli_command;

int cmd_ost(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_merge(int argc, char **argv);
/* Colour on standard output: only on a terminal, and never with NO_COLOR set. */
bool cli_use_color(void);

/* A secret (password, token): from `file` when given, else the environment variable `env`, else a
 * prompt on the terminal (when `prompt` is not NULL). Returns a malloc'd string, or NULL with err
 * set. Free it with cli_free_secret, which wipes it. */
char *cli_read_secret(const char *file, const char *env, const char *prompt, or_error *err);
void cli_free_secret(char *secret);

/* Shared option handling: -q/--quiet, -v/--verbose (repeatable). Returns true when handled. */
bool cli_log_option(int opt);
#define CLI_LOG_LONG_OPTIONS {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}
/* Prints "see --help" for a usage error and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when `a` and `b` name the same existing file. */
bool cli_same_file(const char *a, const char *b);

/* Server-side options shared by server, scan and batch (server_args.c). */
enum {
	OPT_URL = 1000, OPT_MAILBOX, OPT_AUTH, OPT_USER, OPT_PASSWORD_FILE, OPT_TOKEN_FILE, OPT_IMPERSONATE,
	OPT_ANCHOR, OPT_SERVER_VERSION, OPT_CACERT, OPT_INSECURE, OPT_CONCURRENCY, OPT_RETRIES, OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT, OPT_PAGE_SIZE, OPT_FINDITEM, OPT_FINDFOLDER, OPT_ASSOCIATED, OPT_NO_PROGRESS, OPT_TRACE_DIR,
	OPT_SECRET_ON_ARGV, OPT_API, OPT_GRAPH_URL, OPT_LOGIN_URL, OPT_CLOUD, OPT_GRAPH_API, OPT_NO_DELTA, OPT_TENANT,
	OPT_CLIENT_ID, OPT_CLIENT_SECRET_FILE, OPT_CERTIFICATE, OPT_CERTIFICATE_KEY, OPT_SCOPE,
	OPT_RETRY_DEADLINE,
	OPT_SERVER_LAST
};
#define CLI_SERVER_LONG_OPTIONS                                                                           \
	{"url", required_argument, NULL, OPT_URL}, {"mailbox", required_argument, NULL, OPT_MAILBOX},         \
	{"api", required_argument, NULL, OPT_API}, {"graph-url", required_argument, NULL, OPT_GRAPH_URL},     \
	{"login-url", required_argument, NULL, OPT_LOGIN_URL}, {"cloud", required_argument, NULL, OPT_CLOUD}, \
	{"graph-api", required_argument, NULL, OPT_GRAPH_API}, {"no-delta", no_argument, NULL, OPT_NO_DELTA}, \
	{"auth", required_argument, NULL, OPT_AUTH}, {"user", required_argument, NULL, OPT_USER},             \
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},                                        \
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE}, {"tenant", required_argument, NULL, OPT_TENANT}, \
	{"client-id", required_argument, NULL, OPT_CLIENT_ID},                                                \
	{"client-secret-file", required_argument, NULL, OPT_CLIENT_SECRET_FILE},                              \
	{"certificate", required_argument, NULL, OPT_CERTIFICATE},                                            \
	{"certificate-key", required_argument, NULL, OPT_CERTIFICATE_KEY},                                    \
	{"scope", required_argument, NULL, OPT_SCOPE},                                                        \
	{"impersonate", no_argument, NULL, OPT_IMPERSONATE},                                                  \
	{"anchor", required_argument, NULL, OPT_ANCHOR}, {"server-version", required_argument, NULL, OPT_SERVER_VERSION}, \
	{"cacert", required_argument, NULL, OPT_CACERT}, {"insecure", no_argument, NULL, OPT_INSECURE},       \
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY}, {"retries", required_argument, NULL, OPT_RETRIES}, \
	{"retry-deadline", required_argument, NULL, OPT_RETRY_DEADLINE},                                      \
	{"timeout", required_argument, NULL, OPT_TIMEOUT}, {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT}, \
	{"page-size", required_argument, NULL, OPT_PAGE_SIZE}, {"finditem", no_argument, NULL, OPT_FINDITEM},  \
	{"findfolder", no_argument, NULL, OPT_FINDFOLDER},                                                   \
	{"associated", no_argument, NULL, OPT_ASSOCIATED}, {"no-progress", no_argument, NULL, OPT_NO_PROGRESS}, \
	{"trace-dir", required_argument, NULL, OPT_TRACE_DIR},                                               \
	/* Named only to refuse them (and so that no abbreviation reaches --password-file). */                \
	{"password", required_argument, NULL, OPT_SECRET_ON_ARGV}, {"token", required_argument, NULL, OPT_SECRET_ON_ARGV}, \
	{"pass", required_argument, NULL, OPT_SECRET_ON_ARGV},                                               \
	{"client-secret", required_argument, NULL, OPT_SECRET_ON_ARGV}

typedef enum { CLI_API_AUTO = 0, CLI_API_EWS, CLI_API_GRAPH } cli_api;
typedef enum {
	CLI_AUTH_BASIC = 0, CLI_AUTH_NTLM, CLI_AUTH_NEGOTIATE, CLI_AUTH_BEARER, CLI_AUTH_CLIENT_SECRET,
	CLI_AUTH_CERTIFICATE, CLI_AUTH_DEVICE_CODE
} cli_auth;

typedef struct {
	pull_options pull;          /* shared by both protocols: url (EWS), mailbox, credentials, tuning */
	ews_options ews;            /* EWS's own options (its pull part unused here) */
	graph_options graph;        /* Graph's own options (its pull part unused here) */
	cli_api api;
	cli_auth auth;
	bool single;                /* one mailbox (server, scan): auto is decided at finish */
	bool may_ews, may_graph;    /* what the run may need, once finished */
	bool concurrency_given;
	int page_size;              /* -1: each protocol's default */
	int cloud;
	const char *auth_name, *password_file, *token_file, *graph_url, *login_url;
	const char *tenant, *client_id, *client_secret_file, *certificate, *certificate_key, *scope;
	char *secret;               /* password or bearer token; owned, wiped by cli_server_free */
	char *client_secret;        /* owned, wiped */
	oauth_client *oauth_graph, *oauth_ews; /* owned */
	pull_token_source tokens_graph, tokens_ews;
	char options_json_ews[320], options_json_graph[320]; /* for the snapshot header */
} cli_server;

void cli_server_init(cli_server *c);
/* 1 when `opt` was a server option, 0 when not, -EXIT_USAGE on a bad value (message printed). */
int cli_server_option(cli_server *c, int opt, const char *arg, const char *command);
/* Checks the options, reads the secrets, prepares the OAuth clients (no request is made). */
int cli_server_finish(cli_server *c, const char *command, bool need_mailbox, or_error *err);
/* Whether a mailbox with this EWS URL (or none) is read over Graph. */
bool cli_server_picks_graph(const cli_server *c, const char *ews_url);
/* The server side for one mailbox (secrets, token sources and texts borrowed from c), over `api`
 * ("ews", "graph", "auto"; NULL: the options' choice). Safe from several threads once finished. */
int cli_server_make(const cli_server *c, const char *api, const char *mailbox, const char *ews_url,
                    scan_server *out, or_error *err);
void cli_server_free(cli_server *c);
extern const char *cli_server_help;

/* Comparison and report options shared by diff, scan and batch ('o' is -o/--output). */
enum { OPT_SYNC_WINDOW = 1100, OPT_TEXT, OPT_JSON, OPT_REDACT, OPT_COMPARE_ASSOCIATED };
#define CLI_REPORT_LONG_OPTIONS                                                                           \
	{"output", required_argument, NULL, 'o'}, {"sync-window", required_argument, NULL, OPT_SYNC_WINDOW}, \
	{"text", no_argument, NULL, OPT_TEXT}, {"json", no_argument, NULL, OPT_JSON},                       \
	{"redact", optional_argument, NULL, OPT_REDACT}

typedef struct {
	diff_options diff;
	const char *out, *key_file;
	bool json_out, redact;
	uint8_t key[REPORT_KEY_MAX];
	size_t key_len;
} cli_report;

void cli_report_init(cli_report *r);
/* 1 when `opt` was a report option, 0 when not, -EXIT_USAGE on a bad value (message printed). */
int cli_report_option(cli_report *r, int opt, const char *arg, const char *command);
/* Checks the options and reads the redaction key. */
int cli_report_finish(cli_report *r, or_error *err);
void cli_report_compare_options(const cli_report *r, scan_compare_options *c);
/* Saves the report (-o) and, when `print`, prints it as text or JSON. Returns the exit code. */
int cli_report_emit(const cli_report *r, const report_t *rep, bool print);
void cli_report_free(cli_report *r);
extern const char *cli_report_help;

/* --reader NAME (cmd_ost.c): native or libpff. Returns 0, or -1 for another name. */
int cli_reader_parse(const char *name, ost_reader *out);

#endif
