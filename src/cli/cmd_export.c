/* cmd_export.c: `ostrecon export`: what the cache holds, copied into a new .pst before a rebuild. */
#include "cli.h"
#include "export/export.h"

#include <string.h>
#include <unistd.h>

static void help(void)
{
	printf("Usage: ostrecon export --ost FILE -o RESCUE.pst (--report R.json | --all | --folder PATH)\n"
	       "                       [--folder PATH] [--since DATE] [--name NAME] [-q|-v]\n\n"
	       "Copies items of an Outlook cache file (read-only) into a new Unicode .pst that Outlook opens\n"
	       "and imports: every property, the recipients, the attachments (embedded messages to any\n"
	       "depth), the bodies byte for byte. The folders are recreated under one top folder named after\n"
	       "the run. Then the OST can be rebuilt and the .pst imported (File, Open & Export, Import,\n"
	       "\"Do not import duplicates\").\n\n"
	       "      --ost FILE       the cache file (.ost or .pst), never written to\n"
	       "  -o, --output FILE    the .pst to create; an existing file is never overwritten, and the\n"
	       "                       file appears only once complete\n"
	       "      --report R.json  export the report's export list (items only the cache holds); each\n"
	       "                       entry gains where it went (\"exported\"), and R.json is saved again\n"
	       "      --all            export the whole cache (also a cache Outlook no longer opens)\n"
	       "      --folder PATH    only this folder and below: \"Inbox/Projects\" (below the mailbox's\n"
	       "                       top of information store) or a snapshot path \"/Root - Mailbox/...\"\n"
	       "      --since DATE     only items dated on or after DATE (2024-05-01 or ISO 8601 UTC)\n"
	       "      --name NAME      the top folder's name (default: \"ostrecon export <time> UTC\")\n"
	       "  -q, --quiet          only errors on stderr\n"
	       "  -v, --verbose        more detail on stderr\n"
	       "      --log-file FILE  also write a timestamped log to FILE (-v detail at least)\n"
	       "  -h, --help           this help\n\n"
	       "Items the cache cannot read in full are exported with what can be read and listed, with the\n"
	       "reason, on stderr and in the report.\n\n"
	       "Exit codes: 0 every item exported whole, 2 the file was written but some items are partial\n"
	       "or could not be read (listed), 3 nothing could be written, 64 usage error.\n");
}

int cli_parse_since(const char *text, int64_t *out)
{
	char buf[40];
	if (strlen(text) == 10) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", text);
		text = buf;
	}
	return filetime_parse(text, out) == 0 && *out > 0 ? 0 : -1;
}

int cli_export_run(const char *ost, const char *out, report_t *rep, bool all, const char *folder, int64_t since,
                   const char *name)
{
	export_options eo = {.ost_path = ost, .out_path = out, .report = rep, .all = all, .folder = folder,
	                     .since = since, .top_name = name, .progress = log_get_level() >= LOG_NORMAL};
	export_summary sum;
	or_error err = {0};
	/* an interrupted export leaves no partial file: the writer registers its temporary file with
	 * the signal cleanup main() installs (or_cleanup_on_signals) */
	or_set_activity("the export");
	int rc = export_run(&eo, &sum, &err);
	if (rc) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	double mb = sum.source_bytes / 1e6;
	log_info("%s: %zu items in %zu folders under \"%s\": %zu complete, %zu partial, %zu unreadable; %.1f MB "
	         "written in %.1f s (%.1f MB/s of cache)", out, sum.selected, sum.folders, sum.top_folder, sum.complete,
	         sum.partial, sum.failed, sum.bytes / 1e6, sum.seconds, sum.seconds > 0 ? mb / sum.seconds : 0.0);
	if (sum.unlisted)
		log_warn("%zu messages listed in no folder's table (named above) are in \"%s/%s\"", sum.unlisted,
		         sum.top_folder, EXPORT_UNLISTED_FOLDER);
	if (sum.not_selected)
		log_info("%zu entries of the report's export list are outside --folder or --since: not exported (the "
		         "report says why for each)", sum.not_selected);
	if (sum.unreadable_folders)
		log_warn("%zu folders could not be listed in full (named above): their unreadable parts are not in the "
		         ".pst", sum.unreadable_folders);
	return sum.partial || sum.failed || sum.unreadable_folders ? EXIT_INCOMPLETE : EXIT_OK;
}

enum { OPT_EOST = 1300, OPT_EREPORT, OPT_EALL, OPT_EFOLDER, OPT_ESINCE, OPT_ENAME };

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ost", required_argument, NULL, OPT_EOST}, {"output", required_argument, NULL, 'o'},
		{"report", required_argument, NULL, OPT_EREPORT}, {"all", no_argument, NULL, OPT_EALL},
		{"folder", required_argument, NULL, OPT_EFOLDER}, {"since", required_argument, NULL, OPT_ESINCE},
		{"name", required_argument, NULL, OPT_ENAME}, {"help", no_argument, NULL, 'h'},
		CLI_LOG_LONG_OPTIONS, {0}};
	const char *ost = NULL, *out = NULL, *report = NULL, *folder = NULL, *name = NULL;
	bool all = false;
	int64_t since = 0;
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		switch (c) {
		case OPT_EOST: ost = optarg; break;
		case 'o': out = optarg; break;
		case OPT_EREPORT: report = optarg; break;
		case OPT_EALL: all = true; break;
		case OPT_EFOLDER: folder = optarg; break;
		case OPT_ENAME: name = optarg; break;
		case OPT_ESINCE:
			if (cli_parse_since(optarg, &since) != 0)
				return cli_usage_error("export", "--since takes a date: 2024-05-01 or 2024-05-01T09:30:00Z");
			break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("export", "unknown option");
		}
	}
	if (optind != argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (!ost || !out)
		return cli_usage_error("export", "--ost FILE and -o RESCUE.pst are required");
	if (!report && !all && !folder)
		return cli_usage_error("export", "say what to export: --report R.json, --all or --folder PATH");
	if (report && all)
		return cli_usage_error("export", "--report and --all exclude each other");
	if (cli_same_file(out, ost) || (report && cli_same_file(out, report)))
		return cli_usage_error("export", "the output must be a new file");
	report_t *rep = NULL;
	or_error err = {0};
	if (report && report_load(&rep, report, &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	int rc = cli_export_run(ost, out, rep, all, folder, since, name);
	if (rep && rc != EXIT_ERROR && report_save(rep, report, &err) != 0) {
		log_error("the export is written, but the report could not be updated: %s", err.message);
		rc = EXIT_INCOMPLETE;
	}
	report_free(rep);
	return rc;
}
