/* main.c: ostrecon's entry point and command table. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const cli_command commands[] = {
	{"ost", cmd_ost, "list an .ost/.pst cache file into a snapshot"},
	{"server", cmd_server, "pull the mailbox from Exchange (EWS or Microsoft Graph) into a snapshot"},
	{"diff", cmd_diff, "compare two snapshots: verdict, findings, advice, JSON report"},
	{"scan", cmd_scan, "capture the cache file and the mailbox, compare, report: all in one"},
	{"batch", cmd_batch, "scan many mailboxes from a CSV manifest; summary in JSON and CSV"},
	{"merge", cmd_merge, "join the summaries of a sharded batch into one"},
	{"report", cmd_report, "render a saved JSON report as text (or an HTML page)"},
	{"export", cmd_export, "copy what the cache holds into a new .pst before a rebuild"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
	fprintf(fp, "Usage: ostrecon [-q|-v] COMMAND [OPTIONS] [ARGS]\n"
	            "       ostrecon --help | --version\n\n"
	            "Compares an Outlook cached-mode .ost file with its Exchange mailbox and tells what\n"
	            "differs, why, and the safe fix.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\n'ostrecon COMMAND --help' describes a command.\n\n"
	            "Exit codes: 0 success (in sync), 1 differences found, 2 output written but parts\n"
	            "could not be read (listed in it), 3 error (nothing could be produced), 64 usage error,\n"
	            "130/143/129 interrupted (SIGINT/SIGTERM/SIGHUP: unfinished files are removed).\n");
}

static log_sink *log_file;
static const char *command_name = "";

bool cli_log_option(int opt, const char *arg)
{
	switch (opt) {
	case 'q': log_set_level(LOG_QUIET); return true;
	case 'v':
		if (log_get_level() < LOG_DEBUG)
			log_set_level((log_level)(log_get_level() + 1));
		return true;
	case OPT_LOG_FILE: {
		or_error err = {0};
		log_sink *s = log_sink_open(arg, true, &err);
		if (!s) { /* nothing to clean up yet: options are read before anything is opened */
			cli_usage_error(NULL, "%s", err.message);
			exit(EXIT_USAGE);
		}
		log_set_file(s); /* a later --log-file (command line after config file) wins */
		log_sink_close(log_file);
		log_file = s;
		log_verbose("ostrecon %s%s%s (pid %ld): logging to %s", OSTRECON_VERSION, *command_name ? " " : "",
		            command_name, (long)getpid(), arg);
		return true;
	}
	default: return false;
	}
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "ostrecon%s%s: %s\nTry 'ostrecon%s%s --help'.\n", command ? " " : "", command ? command : "",
	        msg, command ? " " : "", command ? command : "");
	return EXIT_USAGE;
}

bool cli_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, CLI_LOG_LONG_OPTIONS, {0}};
	int c;
	or_cleanup_on_signals();
	/* '+' stops at the command name: the rest belongs to the command. */
	while ((c = getopt_long(argc, argv, "+hVqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		switch (c) {
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("ostrecon %s\n", OSTRECON_VERSION); return EXIT_OK;
		default: return cli_usage_error(NULL, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			optind = 0; /* reset getopt for the command */
			command_name = name;
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			int rc = commands[i].run(sub_argc, sub_argv);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (log_file)
				log_verbose("%s: exit code %d after %.1f s", name, rc,
				            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			return rc;
		}
	}
	return cli_usage_error(NULL, "unknown command '%s'", name);
}
