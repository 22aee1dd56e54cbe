/* cmd_report.c: `ostrecon report FILE.json`: render a saved JSON report as text (and HTML). */
#include "cli.h"
#include "report/report.h"

#include <getopt.h>
#include <string.h>

static void help(void)
{
	printf("Usage: ostrecon report FILE.json [--all] [--width N] [--html FILE.html] [-q|-v]\n\n"
	       "Renders a JSON report written by 'ostrecon diff -o' or 'ostrecon scan -o' as text: the\n"
	       "verdict, the folders with differences, the findings that need action, the expected\n"
	       "differences and the advice. Colour is used only when standard output is a terminal and\n"
	       "NO_COLOR is not set.\n\n"
	       "      --all        list every folder and every finding (default: the folders with\n"
	       "                   differences and the first 20 findings)\n"
	       "      --width N    columns to fit, 40 to 1000 (default: the terminal's, else 80)\n"
	       "      --html FILE  also write the report as one self-contained HTML page\n"
	       "  -q, --quiet      only errors on stderr\n"
	       "  -v, --verbose    more detail on stderr\n"
	       "      --log-file FILE  also write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help       this help\n\n"
	       "Exit codes: the report's own (0 in sync, 1 differences that need action, 2 incomplete),\n"
	       "3 the file is not a readable report, 64 usage error.\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {{"width", required_argument, NULL, OPT_WIDTH}, {"all", no_argument, NULL, OPT_ALL},
	                                     {"html", required_argument, NULL, OPT_HTML}, {"help", no_argument, NULL, 'h'},
	                                     CLI_LOG_LONG_OPTIONS, {0}};
	cli_report cr;
	cli_report_init(&cr);
	int c;
	while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		int r = cli_report_option(&cr, c, optarg, "report");
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("report", "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("report", "one report file is required");
	const char *path = argv[optind];
	if (cr.html && cli_same_file(cr.html, path)) {
		log_error("refusing to write the HTML page over the report");
		return EXIT_USAGE;
	}
	report_t *rep = NULL;
	or_error err = {0};
	if (report_load(&rep, path, &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	int rc = cli_report_emit(&cr, rep, true);
	report_free(rep);
	return rc;
}
