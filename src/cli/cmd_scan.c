/* cmd_scan.c: `ostrecon scan`: both captures, the comparison and the reports in one run. */
#include "cli.h"

#include <string.h>

static void help(void)
{
	printf("Usage: ostrecon scan --ost FILE --mailbox ADDRESS [--url URL | --api graph] [auth options]\n"
	       "                    [-o REPORT.json] [--html REPORT.html] [--keep-snapshots DIR] [options]\n\n"
	       "Reads the cache file (read-only) while pulling the mailbox (read-only) over EWS or Microsoft\n"
	       "Graph, compares the two, prints the verdict, the per-folder table, the findings and the\n"
	       "advice, and writes the JSON report for the ticket.\n\n"
	       "      --ost FILE           the user's .ost (copied while Outlook was closed), or a .pst\n"
	       "      --keep-snapshots DIR keep the two snapshots (DIR/server.jsonl, DIR/cache.jsonl) to\n"
	       "                           compare again later with 'ostrecon diff'\n"
	       "      --recover            also count the cache file's deleted (recoverable) items with\n"
	       "                           libpff's scan, which opens the file with libpff (slow on big\n"
	       "                           files); --no-recover: do not (the default)\n"
	       "      --reader NAME        native (default) or libpff: which reader lists the cache file\n"
	       "                           (ostrecon ost --help)\n"
	       "  -o, --output FILE        write the JSON report to FILE (mode 0600, atomic; - for stdout)\n"
	       "      --export FILE.pst    when items exist only in the cache, copy them into FILE.pst\n"
	       "                           (ostrecon export --help); the report says where each went\n\n%s\n%s%s"
	       "  -q, --quiet              only errors on stderr\n"
	       "  -v, --verbose            more detail on stderr\n"
	       "      --log-file FILE      also write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help               this help\n\n"
	       "Exit codes: 0 in sync (also: in sync except expected differences), 1 differences that need\n"
	       "action, 2 incomplete (a part of a side could not be read), 3 error (a side could not be\n"
	       "captured at all: unreadable cache file, credentials refused, TLS failure, ...), 64 usage.\n",
	       cli_report_help, cli_server_help, cli_progress_help);
}

enum { OPT_OST = 1200, OPT_KEEP, OPT_NO_RECOVER, OPT_RECOVER, OPT_READER, OPT_EXPORT };

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {{"ost", required_argument, NULL, OPT_OST},
	                                     {"keep-snapshots", required_argument, NULL, OPT_KEEP},
	                                     {"no-recover", no_argument, NULL, OPT_NO_RECOVER},
	                                     {"recover", no_argument, NULL, OPT_RECOVER},
	                                     {"reader", required_argument, NULL, OPT_READER},
	                                     {"export", required_argument, NULL, OPT_EXPORT},
	                                     {"help", no_argument, NULL, 'h'},
	                                     CLI_REPORT_LONG_OPTIONS,
	                                     CLI_SERVER_LONG_OPTIONS,
	                                     CLI_PROGRESS_LONG_OPTIONS,
	                                     CLI_LOG_LONG_OPTIONS,
	                                     {0}};
	scan_options so;
	memset(&so, 0, sizeof so);
	so.recover = false;
	cli_server srv;
	cli_report cr;
	cli_server_init(&srv);
	srv.single = true;
	cli_report_init(&cr);
	int c, rc = EXIT_ERROR;
	const char *export_path = NULL;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		int r = cli_report_option(&cr, c, optarg, "scan");
		if (!r)
			r = cli_server_option(&srv, c, optarg, "scan");
		if (!r)
			r = cli_progress_option(c, optarg, "scan");
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case OPT_OST: so.ost_path = optarg; break;
		case OPT_KEEP: so.snapshot_dir = optarg; break;
		case OPT_EXPORT: export_path = optarg; break;
		case OPT_NO_RECOVER: so.recover = false; break;
		case OPT_RECOVER: so.recover = true; break;
		case OPT_READER:
			if (cli_reader_parse(optarg, &so.reader) != 0)
				return cli_usage_error("scan", "--reader takes native or libpff");
			break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("scan", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("scan", "unexpected argument '%s'%s", argv[optind], cli_report_operand_hint(&cr));
	if (!so.ost_path && !srv.autodiscover_only)
		return cli_usage_error("scan", "--ost FILE is required");
	if (export_path && cli_same_file(export_path, so.ost_path))
		return cli_usage_error("scan", "--export needs a new file");
	if ((cr.out && cli_same_file(cr.out, so.ost_path)) || (cr.html && cli_same_file(cr.html, so.ost_path))) {
		log_error("refusing to write the report over the cache file");
		return EXIT_USAGE;
	}
	or_error err = {0};
	report_t *rep = NULL;
	int frc = cli_report_finish(&cr, &err);
	frc = frc ? frc : cli_server_finish(&srv, "scan", true, &err);
	if (frc == 0 && srv.autodiscover_only) {
		rc = cli_server_autodiscover_only(&srv);
		goto out;
	}
	if (frc != 0 || cli_server_make(&srv, NULL, srv.pull.mailbox, srv.pull.url, &so.server, &err) != 0) {
		rc = err.code == OR_ERR_USAGE ? cli_usage_error("scan", "%s", err.message) : (log_error("%s", err.message), EXIT_ERROR);
		goto out;
	}
	/* Pulling associated items means comparing them too. */
	if (so.server.protocol == SERVER_EWS && so.server.ews.associated)
		cr.diff.compare_associated = true;
	cli_report_compare_options(&cr, &so.compare);
	if (cr.out && scan_check_writable(cr.out, &err) != 0) { /* before the long part, not after it */
		rc = cli_usage_error("scan", "-o: %s", err.message);
		goto out;
	}
	char what[300];
	snprintf(what, sizeof what, "the scan of %s", srv.pull.mailbox);
	or_set_activity(what);
	scan_outcome outcome;
	if (scan_run(&so, &rep, &outcome, &err) != 0) {
		log_error("%s", err.message);
		/* A damaged OST is rebuilt (domain: the resolution path), also when it is too damaged to compare. */
		if (outcome.cache_unreadable)
			log_error("if this is the user's OST, it is damaged: rebuild it (close Outlook, rename the .ost, "
			          "start Outlook to download the mailbox again); items that exist only in it cannot be "
			          "listed from a file that does not open");
		rc = err.code == OR_ERR_USAGE ? EXIT_USAGE : EXIT_ERROR;
		goto out;
	}
	/* The verdict asks for an export when items exist only in the cache: done before the report
	 * goes out, so that it says where each item went. */
	int export_rc = EXIT_OK;
	if (export_path && report_export_count(rep) > 0) {
		log_info("items exist only in the cache: exporting them to %s", export_path);
		export_rc = cli_export_run(so.ost_path, export_path, rep, false, NULL, 0, NULL);
	} else if (export_path) {
		log_info("no item exists only in the cache: nothing to export, %s not written", export_path);
	}
	/* scan_run saved nothing: the report goes out through the shared path (-o, text or JSON). */
	rc = cli_report_emit(&cr, rep, true);
	if (rc == EXIT_OK && export_rc != EXIT_OK)
		rc = export_rc;
	log_verbose("scan took %.1f s, %ld %s requests", outcome.seconds, outcome.requests,
	            so.server.protocol == SERVER_GRAPH ? "Graph" : "EWS");
out:
	report_free(rep);
	cli_server_free(&srv);
	cli_report_free(&cr);
	return rc;
}
