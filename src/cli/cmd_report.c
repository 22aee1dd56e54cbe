/* cmd_report.c: `ostrecon report FILE.json`: render a saved JSON report as text. */
#include "cli.h"
#include "report/report.h"

#include <getopt.h>

static void help(void)
{
	printf("Usage: ostrecon report FILE.json [--width N] [--all] [-q|-v]\n\n"
	       "Renders a JSON report written by 'ostrecon diff -o' as text: the verdict, the per-folder\n"
	       "table, the findings that need action, the expected differences and the advice.\n"
	       "Colour is used only when standard output is a terminal and NO_COLOR is not set.\n\n"
	       "      --width N   columns to fit (default 80)\n"
	       "      --all       list every finding, not only the first 20\n"
	       "  -q, --quiet     only errors on stderr\n"
	       "  -v, --verbose   more detail on stderr\n"
	       "      --log-file FILEalso write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help      this help\n\n"
	       "Exit codes: the report's own (0 in sync, 1 differences that need action, 2 incomplete),\n"
	       "3 the file is not a readable report, 64 usage error.\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {{"width", required_argument, NULL, 'W'}, {"all", no_argument, NULL, 'A'},
	                                     {"help", no_argument, NULL, 'h'}, CLI_LOG_LONG_OPTIONS, {0}};
	report_text_options topt = {.color = cli_use_color()};
	int c;
	long width = 80;
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		switch (c) {
		case 'W':
			if (parse_long(optarg, 40, 1000, &width) != 0)
				return cli_usage_error("report", "bad --width '%s' (40 to 1000)", optarg);
			break;
		case 'A': topt.max_findings = SIZE_MAX; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("report", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("report", "one report file is required");
	topt.width = (int)width;
	report_t *rep = NULL;
	or_error err = {0};
	if (report_load(&rep, argv[optind], &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	report_print_text(rep, stdout, &topt);
	int rc = report_exit_code(rep);
	report_free(rep);
	if (fflush(stdout) != 0)
		return EXIT_ERROR;
	return rc;
}
