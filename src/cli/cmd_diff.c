/* cmd_diff.c: `ostrecon diff A B`: compare two snapshots, print the verdict and write the report. */
#include "cli.h"
#include "diff/diff.h"
#include "report/report.h"

#include <getopt.h>
#include <string.h>

static void help(void)
{
	printf("Usage: ostrecon diff A.jsonl B.jsonl [-o REPORT.json] [--html REPORT.html] [--sync-window W]\n"
	       "                    [--text|--json] [--all] [--width N] [--redact[=KEYFILE]] [--associated]\n"
	       "                    [-q|-v]\n\n"
	       "Compares two snapshots (server against cache, cache against cache, server against server),\n"
	       "prints the verdict, the per-folder table, the findings and the advice, and writes the JSON\n"
	       "report (docs/REPORT.md). Put the server first and the cache second by convention; the sides\n"
	       "are told apart by each snapshot's source either way.\n\n  -o, --output FILE       write the JSON report to FILE (mode 0600, atomic; - for stdout)\n\n%s"
	       "      --associated        also compare associated (hidden) items, apart from normal items\n"
	       "  -q, --quiet             only errors on stderr\n"
	       "  -v, --verbose           more detail on stderr\n"
	       "      --log-file FILE     also write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help              this help\n\n"
	       "Exit codes: 0 in sync (also: in sync except expected differences), 1 differences that need\n"
	       "action, 2 incomplete (a part of a side could not be read), 3 error, 64 usage error.\n",
	       cli_report_help);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {CLI_REPORT_LONG_OPTIONS,
	                                     {"associated", no_argument, NULL, OPT_COMPARE_ASSOCIATED},
	                                     {"help", no_argument, NULL, 'h'},
	                                     CLI_LOG_LONG_OPTIONS,
	                                     {0}};
	cli_report cr;
	cli_report_init(&cr);
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		int r = cli_report_option(&cr, c, optarg, "diff");
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("diff", "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("diff", "two snapshot files are required, %d given%s", argc - optind,
		                       argc - optind > 2 ? cli_report_operand_hint(&cr) : "");
	const char *in[2] = {argv[optind], argv[optind + 1]};
	for (int s = 0; s < 2; s++)
		if ((cr.out && strcmp(cr.out, "-") != 0 && cli_same_file(cr.out, in[s])) ||
		    (cr.html && cli_same_file(cr.html, in[s]))) {
			log_error("refusing to write the report over an input snapshot");
			return EXIT_USAGE;
		}

	int rc = EXIT_ERROR;
	or_error err = {0};
	report_t *rep = NULL;
	snap_t *snaps[2] = {NULL, NULL};
	double load_ms[2] = {0, 0};
	if (cli_report_finish(&cr, &err) != 0) {
		if (err.code == OR_ERR_USAGE) {
			rc = cli_usage_error("diff", "%s", err.message);
			goto out;
		}
		log_error("%s", err.message);
		goto out;
	}
	if (scan_load_pair(in, snaps, load_ms, &err) != 0) {
		log_error("%s", err.message);
		goto out;
	}
	log_verbose("loaded %s (%zu items) in %.0f ms and %s (%zu items) in %.0f ms", in[0], snaps[0]->n_items,
	            load_ms[0], in[1], snaps[1]->n_items, load_ms[1]);

	scan_compare_options copt;
	cli_report_compare_options(&cr, &copt);
	copt.input[0] = in[0];
	copt.input[1] = in[1];
	copt.load_ms[0] = load_ms[0];
	copt.load_ms[1] = load_ms[1];
	scan_outcome outcome;
	if (scan_compare(snaps[0], snaps[1], &copt, &rep, &outcome, &err) != 0) {
		log_error("%s", err.message);
		goto out;
	}
	rc = cli_report_emit(&cr, rep, true);
	log_verbose("verdict: %s", diff_verdict_name(outcome.verdict));
out:
	cli_report_free(&cr);
	report_free(rep);
	snap_free(snaps[0]);
	snap_free(snaps[1]);
	return rc;
}
