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
int cmd_export(int argc, char **argv);
/* An export run (cmd_export.c), shared with scan --export: prints the summary, returns the exit
 * code (0 whole, 2 partial, 3 nothing written); notes each report entry's fate in `rep`. */
int cli_export_run(const char *ost, const char *out, report_t *rep, bool all, const char *folder, int64_t since,
                   const char *name);
/* --since DATE: a day (2024-05-01) or an ISO 8601 UTC time. */
int cli_parse_since(const char *text, int64_t *out);
/* Colour on standard output: only on a terminal, and never with NO_COLOR set. */
bool cli_use_color(void);

/* A secret (password, token): from `file` when given, else the environment variable `env`, else a
 * prompt on the terminal (when `prompt` is not NULL). Returns a malloc'd string, or NULL with err
 * set. Free it with cli_free_secret, which wipes it. */
char *cli_read_secret(const char *file, const char *env, const char *prompt, or_error *err);
void cli_free_secret(char *secret);

/* Shared option handling: -q/--quiet, -v/--verbose (repeatable). Returns true when handled. */
/* -q, -v (repeatable) and --log-file FILE: true when `opt` was one. A log file that cannot be
 * opened is a usage error: said, and the process exits 64 (nothing is open yet to clean up). */
bool cli_log_option(int opt, const char *arg);
enum { OPT_LOG_FILE = 1090 };
#define CLI_LOG_LONG_OPTIONS                                                \
	{"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}, \
	{"log-file", required_argument, NULL, OPT_LOG_FILE}
/* Prints "see --help" for a usage error and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when `a` and `b` name the same existing file. */
bool cli_same_file(const char *a, const char *b);

/* Server-side options shared by server, scan and batch (server_args.c). */
enum {
	OPT_URL = 1000, OPT_MAILBOX, OPT_AUTH, OPT_USER, OPT_PASSWORD_FILE, OPT_TOKEN_FILE, OPT_IMPERSONATE,
	OPT_ANCHOR, OPT_SERVER_VERSION, OPT_CACERT, OPT_INSECURE, OPT_CONCURRENCY, OPT_RETRIES, OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT, OPT_PAGE_SIZE, OPT_FINDITEM, OPT_FINDFOLDER, OPT_ASSOCIATED, OPT_NO_PROGRESS, OPT_TRACE_DIR,
	OPT_SECRET_ON_ARGV, OPT_API, OPT_GRAPH_URL, OPT_AUTHORITY, OPT_CLOUD, OPT_GRAPH_API, OPT_NO_DELTA, OPT_TENANT,
	OPT_CLIENT_ID, OPT_CLIENT_SECRET_FILE, OPT_CERTIFICATE, OPT_CERTIFICATE_KEY, OPT_SCOPE, OPT_IDLE_TIMEOUT, OPT_RETRY_DEADLINE,
	OPT_RESOLVE, OPT_CONNECT_TO, OPT_AUTODISCOVER_ONLY, /* name mappings and Autodiscover */
	OPT_SPLIT_THRESHOLD,
	OPT_SERVER_LAST
};
#define CLI_SERVER_LONG_OPTIONS                                                                           \
	{"url", required_argument, NULL, OPT_URL}, {"mailbox", required_argument, NULL, OPT_MAILBOX},         \
	{"api", required_argument, NULL, OPT_API}, {"graph-url", required_argument, NULL, OPT_GRAPH_URL},     \
	{"authority", required_argument, NULL, OPT_AUTHORITY}, {"cloud", required_argument, NULL, OPT_CLOUD}, \
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
	{"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},                                          \
	{"page-size", required_argument, NULL, OPT_PAGE_SIZE}, {"finditem", no_argument, NULL, OPT_FINDITEM},  \
	{"split-threshold", required_argument, NULL, OPT_SPLIT_THRESHOLD},                                    \
	{"findfolder", no_argument, NULL, OPT_FINDFOLDER},                                                   \
	{"associated", no_argument, NULL, OPT_ASSOCIATED}, {"no-progress", no_argument, NULL, OPT_NO_PROGRESS}, \
	{"trace-dir", required_argument, NULL, OPT_TRACE_DIR},                                               \
	{"resolve", required_argument, NULL, OPT_RESOLVE}, {"connect-to", required_argument, NULL, OPT_CONNECT_TO}, \
	{"autodiscover-only", no_argument, NULL, OPT_AUTODISCOVER_ONLY},                                    \
	/* Named only to refuse them (and so that no abbreviation reaches --password-file). */                \
	{"password", required_argument, NULL, OPT_SECRET_ON_ARGV}, {"token", required_argument, NULL, OPT_SECRET_ON_ARGV}, \
	{"pass", required_argument, NULL, OPT_SECRET_ON_ARGV},                                               \
	{"client-secret", required_argument, NULL, OPT_SECRET_ON_ARGV}

typedef enum { CLI_API_AUTO = 0, CLI_API_EWS, CLI_API_GRAPH } cli_api;
typedef enum {
	CLI_AUTH_BASIC = 0, CLI_AUTH_NTLM, CLI_AUTH_NEGOTIATE, CLI_AUTH_BEARER, CLI_AUTH_CLIENT_SECRET,
	CLI_AUTH_CERTIFICATE, CLI_AUTH_DEVICE_CODE, CLI_AUTH_AUTO
} cli_auth;

#define CLI_MAX_MAPPINGS 16 /* --resolve and --connect-to entries, each */

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
	const char *auth_name, *password_file, *token_file, *graph_url, *authority_url;
	const char *tenant, *client_id, *client_secret_file, *certificate, *certificate_key, *scope;
	char *secret;               /* password or bearer token; owned, wiped by cli_server_free */
	char *client_secret;        /* owned, wiped */
	oauth_client *oauth_graph, *oauth_ews; /* owned */
	pull_token_source tokens_graph, tokens_ews;
	char options_json_ews[320], options_json_graph[320]; /* for the snapshot header */
	/* Name mappings (curl's --resolve, --connect-to), NULL-terminated, for pull.resolve/connect_to. */
	const char *resolve[CLI_MAX_MAPPINGS + 1], *connect_to[CLI_MAX_MAPPINGS + 1];
	int n_resolve, n_connect_to;
	bool autodiscover_only;     /* print what Autodiscover finds and stop */
	ews_autodiscover_cache *autodiscover; /* the EWS URLs found, per domain (owned) */
} cli_server;

void cli_server_init(cli_server *c);
/* 1 when `opt` was a server option, 0 when not, -EXIT_USAGE on a bad value (message printed). */
int cli_server_option(cli_server *c, int opt, const char *arg, const char *command);
/* Checks the options, reads the secrets, prepares the OAuth clients (no request is made). */
int cli_server_finish(cli_server *c, const char *command, bool need_mailbox, or_error *err);
/* Whether a mailbox with this EWS URL is read over Graph (no URL: whether the credentials are
 * OAuth ones, for which Graph is taken without Autodiscover). */
bool cli_server_picks_graph(const cli_server *c, const char *ews_url);
/* The server side for one mailbox (secrets, token sources and texts borrowed from c), over `api`
 * ("ews", "graph", "auto"; NULL: the options' choice). Without an EWS URL where EWS is taken, the
 * URL is found by Autodiscover (once per domain in a run); an Exchange Online URL found so makes
 * "auto" take Graph. Safe from several threads once finished. */
int cli_server_make(const cli_server *c, const char *api, const char *mailbox, const char *ews_url,
                    scan_server *out, or_error *err);
/* --autodiscover-only: finds the mailbox's EWS URL and prints it with the server version and the
 * API --api would take. Returns the exit code. */
int cli_server_autodiscover_only(const cli_server *c);
void cli_server_free(cli_server *c);
extern const char *cli_server_help;

/* Comparison and report options shared by diff, scan and batch ('o' is -o/--output). */
enum { OPT_SYNC_WINDOW = 1100, OPT_TEXT, OPT_JSON, OPT_REDACT, OPT_COMPARE_ASSOCIATED, OPT_FORCE };
enum { OPT_ALL = 1120, OPT_WIDTH, OPT_HTML, OPT_PROGRESS };
#define CLI_REPORT_LONG_OPTIONS                                                                           \
	{"output", required_argument, NULL, 'o'}, {"sync-window", required_argument, NULL, OPT_SYNC_WINDOW}, \
	{"text", no_argument, NULL, OPT_TEXT}, {"json", no_argument, NULL, OPT_JSON},                       \
	{"redact", optional_argument, NULL, OPT_REDACT}, {"all", no_argument, NULL, OPT_ALL},               \
	{"width", required_argument, NULL, OPT_WIDTH}, {"html", required_argument, NULL, OPT_HTML},         \
	{"force", no_argument, NULL, OPT_FORCE}

typedef struct {
	diff_options diff;
	const char *out, *key_file;
	const char *html;        /* --html FILE */
	bool json_out, redact, text_asked;
	bool all;                /* every folder and every finding in the text */
	int width;               /* --width, 0: the terminal's (80 when not a terminal) */
	bool force;              /* compare sides that do not belong together (scan_compare_options.force) */
	uint8_t key[REPORT_KEY_MAX];
	size_t key_len;
} cli_report;

void cli_report_init(cli_report *r);
/* 1 when `opt` was a report option, 0 when not, -EXIT_USAGE on a bad value (message printed). */
int cli_report_option(cli_report *r, int opt, const char *arg, const char *command);
/* Checks the options and reads the redaction key. */
int cli_report_finish(cli_report *r, or_error *err);
void cli_report_compare_options(const cli_report *r, scan_compare_options *c);
/* What to add to a message about too many operands: --redact takes its key file only after '='. */
const char *cli_report_operand_hint(const cli_report *r);
/* Saves the report (-o, --html) and, when `print`, prints it as text or JSON. Returns the exit code. */
int cli_report_emit(const cli_report *r, const report_t *rep, bool print);
/* The text options of the command line: width (--width, else the terminal's, else 80), colour, --all. */
void cli_report_text_options(const cli_report *r, report_text_options *t);
void cli_report_free(cli_report *r);
extern const char *cli_report_help;
extern const char *cli_compare_help; /* without the output options, for batch */
/* The columns of standard output when it is a terminal, else 80. */
int cli_text_width(void);

/* --progress[=WHEN] (ost, server, scan, batch): auto (the default: on a terminal), always, never or
 * json (JSON Lines on stderr, docs/REPORT.md). 1 handled, 0 not this option, -EXIT_USAGE bad value. */
#define CLI_PROGRESS_LONG_OPTIONS {"progress", optional_argument, NULL, OPT_PROGRESS}
int cli_progress_option(int opt, const char *arg, const char *command);
extern const char *cli_progress_help;

/* --reader NAME (cmd_ost.c): native or libpff. Returns 0, or -1 for another name. */
int cli_reader_parse(const char *name, ost_reader *out);

#endif
