/* cli.h: the command-line front end. Each command is one function in its own file. */
#ifndef OSTRECON_CLI_H
#define OSTRECON_CLI_H

#include "core/core.h"

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct {
	const char *name;
	cli_command_fn run;
	const char *summary;
} cli_command;

int cmd_ost(int argc, char **argv);

/* Shared option handling: -q/--quiet, -v/--verbose (repeatable). Returns true when handled. */
bool cli_log_option(int opt);
#define CLI_LOG_LONG_OPTIONS {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}
/* Prints "see --help" for a usage error and returns EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when `a` and `b` name the same existing file. */
bool cli_same_file(const char *a, const char *b);

#endif
