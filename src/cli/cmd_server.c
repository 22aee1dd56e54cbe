/* cmd_server.c: `ostrecon server`: snapshot the mailbox over EWS or Microsoft Graph. */
#include "cli.h"

static void help(void)
{
	printf("Usage: ostrecon server --mailbox ADDRESS [--url URL | --api graph] [auth options] [-o OUT]\n"
	       "       ostrecon server --mailbox ADDRESS --autodiscover-only [auth options]\n\n"
	       "Pulls the mailbox's folders and every item's source key and properties (read-only) over\n"
	       "Exchange Web Services (on-premises Exchange) or Microsoft Graph (Exchange Online) and\n"
	       "writes its snapshot (JSON Lines, docs/SNAPSHOT.md). A folder that cannot be read becomes\n"
	       "an error line in the snapshot; the rest goes on. Without --url, EWS's URL is found by\n"
	       "Autodiscover; --autodiscover-only prints it and stops.\n\n"
	       "  -o, --output OUT         write the snapshot to OUT (default: standard output)\n"
	       "  -q, --quiet              only errors on stderr\n"
	       "  -v, --verbose            more detail on stderr (-vv: every request)\n"
	       "      --log-file FILE      also write a timestamped log to FILE (-v detail at least)\n\n%s%s\n"
	       "Exit codes: 0 pulled completely, 2 snapshot written but some folders could not be read,\n"
	       "3 nothing could be pulled (credentials refused, TLS failure, server unreachable,\n"
	       "impersonation or access denied, no EWS URL found by Autodiscover), 64 usage error.\n",
	       cli_server_help, cli_progress_help);
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     CLI_LOG_LONG_OPTIONS,
	                                     CLI_SERVER_LONG_OPTIONS,
	                                     CLI_PROGRESS_LONG_OPTIONS,
	                                     {0}};
	const char *out = "-";
	cli_server srv;
	cli_server_init(&srv);
	srv.single = true;
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		int r = cli_server_option(&srv, c, optarg, "server");
		if (!r)
			r = cli_progress_option(c, optarg, "server");
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("server", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("server", "unexpected argument '%s'", argv[optind]);
	or_error err = {0};
	scan_server ss;
	int frc = cli_server_finish(&srv, "server", true, &err);
	if (frc == 0 && srv.autodiscover_only) {
		frc = cli_server_autodiscover_only(&srv);
		cli_server_free(&srv);
		return frc;
	}
	if (frc != 0 || cli_server_make(&srv, NULL, srv.pull.mailbox, srv.pull.url, &ss, &err) != 0) {
		cli_server_free(&srv);
		return err.code == OR_ERR_USAGE ? cli_usage_error("server", "%s", err.message)
		                                : (log_error("%s", err.message), EXIT_ERROR);
	}
	log_verbose("%s: over %s", srv.pull.mailbox, ss.protocol == SERVER_GRAPH ? "Microsoft Graph" : "EWS");
	char what[300];
	snprintf(what, sizeof what, "the pull of %s", srv.pull.mailbox);
	or_set_activity(what);
	pull_summary sum;
	int rc = scan_server_capture(&ss, out, NULL, &sum, &err);
	cli_server_free(&srv);
	if (rc) {
		log_error("%s: %s", srv.pull.mailbox, err.message);
		return rc == OR_ERR_USAGE ? EXIT_USAGE : EXIT_ERROR;
	}
	log_info("%s: %zu folders, %zu items, %zu folders could not be read; %ld requests, %ld retries, %.1f s",
	         srv.pull.mailbox, sum.folders, sum.items, sum.folders_failed, sum.requests, sum.retries, sum.seconds);
	return sum.errors ? EXIT_INCOMPLETE : EXIT_OK;
}
