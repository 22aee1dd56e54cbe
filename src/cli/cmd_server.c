/* cmd_server.c: `ostrecon server`: snapshot the mailbox over EWS. */
#include "cli.h"

static void help(void)
{
	printf("Usage: ostrecon server --url URL --mailbox ADDRESS [auth options] [-o OUT] [-q|-v]\n\n"
	       "Pulls the mailbox's folder hierarchy and every item's source key and properties over\n"
	       "Exchange Web Services (read-only) and writes its snapshot (JSON Lines, docs/SNAPSHOT.md).\n"
	       "A folder that cannot be read becomes an error line in the snapshot; the rest goes on.\n\n"
	       "  -o, --output OUT         write the snapshot to OUT (default: standard output)\n\n%s\n"
	       "Exit codes: 0 pulled completely, 2 snapshot written but some folders could not be read,\n"
	       "3 nothing could be pulled (credentials refused, TLS failure, server unreachable,\n"
	       "impersonation denied), 64 usage error.\n",
	       cli_ews_help);
}

int cmd_server(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     CLI_LOG_LONG_OPTIONS,
	                                     CLI_EWS_LONG_OPTIONS,
	                                     {0}};
	const char *out = "-";
	cli_ews ews;
	cli_ews_init(&ews);
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c))
			continue;
		int r = cli_ews_option(&ews, c, optarg, "server");
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
	if (cli_ews_finish(&ews, "server", &err) != 0) {
		cli_ews_free(&ews);
		return err.code == OR_ERR_USAGE ? cli_usage_error("server", "%s", err.message)
		                                : (log_error("%s", err.message), EXIT_ERROR);
	}
	cli_ews_options_json(&ews);
	pull_summary sum;
	int rc = ews_capture(&ews.opt, out, &sum, &err);
	cli_ews_free(&ews);
	if (rc) {
		log_error("%s: %s", ews.opt.pull.mailbox, err.message);
		return rc == OR_ERR_USAGE ? EXIT_USAGE : EXIT_ERROR;
	}
	log_info("%s: %zu folders, %zu items, %zu folders could not be read; %ld requests, %ld retries, %.1f s",
	         ews.opt.pull.mailbox, sum.folders, sum.items, sum.folders_failed, sum.requests, sum.retries, sum.seconds);
	return sum.errors ? EXIT_INCOMPLETE : EXIT_OK;
}
