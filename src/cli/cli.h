/* cli.h: the command-line front end. Each command is one function in its own file. */
#ifndef OSTRECON_CLI_H
#define OSTRECON_CLI_H

#include "core/core.h"
#include "ews/ews.h"
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

/* EWS connection options shared by server, scan and batch. */
enum {
	OPT_URL = 1000, OPT_MAILBOX, OPT_AUTH, OPT_USER, OPT_PASSWORD_FILE, OPT_TOKEN_FILE, OPT_IMPERSONATE,
	OPT_ANCHOR, OPT_SERVER_VERSION, OPT_CACERT, OPT_INSECURE, OPT_CONCURRENCY, OPT_RETRIES, OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT, OPT_PAGE_SIZE, OPT_FINDITEM, OPT_FINDFOLDER, OPT_ASSOCIATED, OPT_NO_PROGRESS, OPT_TRACE_DIR,
	OPT_SECRET_ON_ARGV,
	OPT_EWS_LAST
};
#define CLI_EWS_LONG_OPTIONS                                                                              \
	{"url", required_argument, NULL, OPT_URL}, {"mailbox", required_argument, NULL, OPT_MAILBOX},         \
	{"auth", required_argument, NULL, OPT_AUTH}, {"user", required_argument, NULL, OPT_USER},             \
	{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},                                        \
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE}, {"impersonate", no_argument, NULL, OPT_IMPERSONATE}, \
	{"anchor", required_argument, NULL, OPT_ANCHOR}, {"server-version", required_argument, NULL, OPT_SERVER_VERSION}, \
	{"cacert", required_argument, NULL, OPT_CACERT}, {"insecure", no_argument, NULL, OPT_INSECURE},       \
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY}, {"retries", required_argument, NULL, OPT_RETRIES}, \
	{"timeout", required_argument, NULL, OPT_TIMEOUT}, {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT}, \
	{"page-size", required_argument, NULL, OPT_PAGE_SIZE}, {"finditem", no_argument, NULL, OPT_FINDITEM},  \
	{"findfolder", no_argument, NULL, OPT_FINDFOLDER},                                                   \
	{"associated", no_argument, NULL, OPT_ASSOCIATED}, {"no-progress", no_argument, NULL, OPT_NO_PROGRESS}, \
	{"trace-dir", required_argument, NULL, OPT_TRACE_DIR},                                               \
	/* Named only to refuse them (and so that no abbreviation reaches --password-file). */                \
	{"password", required_argument, NULL, OPT_SECRET_ON_ARGV}, {"token", required_argument, NULL, OPT_SECRET_ON_ARGV}, \
	{"pass", required_argument, NULL, OPT_SECRET_ON_ARGV}

typedef struct {
	ews_options opt;
	const char *auth_name, *password_file, *token_file;
	char *secret; /* owned; wiped by cli_ews_free */
	char options_json[256];
} cli_ews;

void cli_ews_init(cli_ews *c);
/* 1 when `opt` was an EWS option, 0 when not, -EXIT_USAGE on a bad value (message printed). */
int cli_ews_option(cli_ews *c, int opt, const char *arg, const char *command);
/* Checks the options and reads the secret. */
int cli_ews_finish(cli_ews *c, const char *command, or_error *err);
/* Records the options that shape a capture in opt.pull.options_json (the snapshot header). */
void cli_ews_options_json(cli_ews *c);
void cli_ews_free(cli_ews *c);
extern const char *cli_ews_help;

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
