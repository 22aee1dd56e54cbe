/* cmd_batch.c: `ostrecon batch MANIFEST` and `ostrecon merge`: many mailboxes in one run. */
#include "cli.h"
#include "batch/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void help(void)
{
	printf("Usage: ostrecon batch MANIFEST.csv [-o DIR] [--jobs N] [--shard K/N] [--redo]\n"
	       "                     [--html INDEX.html] [--config FILE] [connection, auth and comparison\n"
	       "                     options]\n\n"
	       "Scans every mailbox of the manifest (both sides, the comparison, the report) with bounded\n"
	       "parallelism, and writes one JSON report per mailbox and a summary (JSON and CSV). A mailbox\n"
	       "that fails is recorded with its reason and does not stop the others. Running the same\n"
	       "command again skips the mailboxes that already have a complete report and redoes the rest.\n\n"
	       "The manifest is CSV with a header: mailbox and cache (the .ost/.pst path, relative to the\n"
	       "manifest's folder) are required; url (per-row EWS endpoint; empty: found by Autodiscover,\n"
	       "once per domain in a run), api (ews, graph or auto), sync_window and label are optional.\n"
	       "Credentials never go in the manifest: they come from\n"
	       "the options below or the config file (a service account with --impersonate, OAuth\n"
	       "application credentials, or a token file).\n\n"
	       "  -o, --output DIR         output folder (default ostrecon-batch): reports/NAME.json,\n"
	       "                           summary.json, summary.csv (NAME: the label, else the mailbox)\n"
	       "      --jobs N             mailboxes in parallel, 1..64 (default 4)\n"
	       "      --max-server-requests N  requests in flight to one server across all jobs (default 8):\n"
	       "                           keeps a service account under Exchange's throttling limits;\n"
	       "                           a throttling answer slows every job on that server\n"
	       "      --shard K/N          run only every N-th row starting with the K-th (1-based); the\n"
	       "                           summary is summary-K-of-N.json; 'ostrecon merge' joins them\n"
	       "      --redo               redo every mailbox, even those with a complete report\n"
	       "      --keep-snapshots     keep each mailbox's snapshots in DIR/snapshots/NAME/\n"
	       "      --recover            also count deleted (recoverable) items in each cache file with\n"
	       "                           libpff's scan (slow on big files); --no-recover: do not (default)\n"
	       "      --reader NAME        native (default) or libpff: which reader lists the cache files\n"
	       "                           (ostrecon ost --help)\n"
	       "      --text               print the overview of the mailboxes (default)\n"
	       "      --json               print the summary (summary.json's form) instead of the overview\n"
	       "      --no-mailbox-logs    do not write reports/NAME.log, each mailbox's own timestamped log\n"
	       "                           (-v level at least; written by default, --mailbox-logs)\n"
	       "      --config FILE        options as 'name = value' lines (names of the long options,\n"
	       "                           e.g. url, user, password-file, impersonate, jobs); the command\n"
	       "                           line wins\n"
	       "      --html INDEX.html    also write each mailbox's report as HTML beside its JSON report\n"
	       "                           and an index page linking them all (with --redact the pages\n"
	       "                           are reports/r-HASH.html and the index hashes the names)\n"
	       "      --all, --width N     the overview lists every mailbox; fit it to N columns\n\n%s\n%s%s"
	       "  -q, --quiet, -v, --verbose, --log-file FILE (the whole run's log), -h, --help\n\n"
	       "Exit codes: 0 every mailbox in sync, 1 some need action, 2 some incomplete, 3 some failed\n"
	       "(the worst wins), 64 usage error.\n",
	       cli_compare_help, cli_server_help, cli_progress_help);
}

enum { OPT_JOBS = 1300, OPT_MAX_SERVER, OPT_SHARD, OPT_REDO, OPT_KEEP_SNAPS, OPT_BNO_RECOVER, OPT_BRECOVER, OPT_BREADER, OPT_CONFIG,
       OPT_MAILBOX_LOGS, OPT_NO_MAILBOX_LOGS };

static const struct option batch_opts[] = {{"jobs", required_argument, NULL, OPT_JOBS},
                                           {"max-server-requests", required_argument, NULL, OPT_MAX_SERVER},
                                           {"shard", required_argument, NULL, OPT_SHARD},
                                           {"redo", no_argument, NULL, OPT_REDO},
                                           {"keep-snapshots", no_argument, NULL, OPT_KEEP_SNAPS},
                                           {"no-recover", no_argument, NULL, OPT_BNO_RECOVER},
                                           {"recover", no_argument, NULL, OPT_BRECOVER},
                                           {"reader", required_argument, NULL, OPT_BREADER},
                                           {"config", required_argument, NULL, OPT_CONFIG},
                                           {"mailbox-logs", no_argument, NULL, OPT_MAILBOX_LOGS},
                                           {"no-mailbox-logs", no_argument, NULL, OPT_NO_MAILBOX_LOGS},
                                           {"help", no_argument, NULL, 'h'},
                                           CLI_REPORT_LONG_OPTIONS,
                                           CLI_SERVER_LONG_OPTIONS,
                                           CLI_PROGRESS_LONG_OPTIONS,
                                           CLI_LOG_LONG_OPTIONS,
                                           {0}};

typedef struct {
	batch_options bo;
	cli_server srv;
	cli_report cr;
	const char *config;
	char *config_strings[256]; /* values read from the config file, kept for the run */
	int n_config_strings;
} batch_cli;

/* A row's server side: its api and url columns over the run's options. */
static int server_for(void *ctx, const batch_row *row, scan_server *out, or_error *err)
{
	const cli_server *srv = ctx;
	return cli_server_make(srv, row->api, row->mailbox, row->url ? row->url : srv->pull.url, out, err);
}

/* One option, from argv or the config file. 1 handled, 0 unknown, -1 bad value (message printed). */
static int apply(batch_cli *b, int c, const char *arg)
{
	long v;
	if (cli_log_option(c, arg))
		return 1;
	switch (c) {
	case 'o': b->bo.out_dir = arg; return 1;
	case OPT_JOBS:
		if (parse_long(arg, 1, 64, &v))
			return -cli_usage_error("batch", "--jobs takes 1 to 64");
		b->bo.jobs = (int)v;
		return 1;
	case OPT_MAX_SERVER:
		if (parse_long(arg, 1, 256, &v))
			return -cli_usage_error("batch", "--max-server-requests takes 1 to 256");
		b->bo.max_server_requests = (int)v;
		return 1;
	case OPT_SHARD:
		if (batch_shard_parse(arg, &b->bo.shard_k, &b->bo.shard_n) != 0)
			return -cli_usage_error("batch", "--shard takes K/N with 1 <= K <= N, e.g. 2/8");
		return 1;
	case OPT_REDO: b->bo.force = true; return 1;
	case OPT_KEEP_SNAPS: b->bo.keep_snapshots = true; return 1;
	case OPT_BNO_RECOVER: b->bo.recover = false; return 1;
	case OPT_BRECOVER: b->bo.recover = true; return 1;
	case OPT_BREADER:
		if (cli_reader_parse(arg, &b->bo.reader) != 0)
			return -cli_usage_error("batch", "--reader takes native or libpff");
		return 1;
	case OPT_CONFIG: b->config = arg; return 1;
	case OPT_MAILBOX_LOGS: b->bo.mailbox_logs = true; return 1;
	case OPT_NO_MAILBOX_LOGS: b->bo.mailbox_logs = false; return 1;
	}
	int r = cli_report_option(&b->cr, c, arg, "batch");
	if (!r)
		r = cli_server_option(&b->srv, c, arg, "batch");
	if (!r)
		r = cli_progress_option(c, arg, "batch");
	return r < 0 ? -1 : r;
}

/* Applies "name = value" lines; the command line is applied after, so it wins. */
static int read_config(batch_cli *b, or_error *err)
{
	FILE *fp = fopen(b->config, "r");
	if (!fp)
		return or_fail(err, OR_ERR_USAGE, "cannot read the config file %s: %s", b->config, strerror(errno));
	char line[1024];
	long lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, fp)) {
		lineno++;
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		char *value = NULL;
		if (eq) {
			*eq = '\0';
			value = eq + 1 + strspn(eq + 1, " \t");
		}
		size_t n = strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			p[--n] = '\0';
		const struct option *o = NULL;
		for (const struct option *k = batch_opts; k->name; k++)
			if (strcmp(k->name, p) == 0)
				o = k;
		if (!o || o->val == OPT_CONFIG || o->val == 'h') {
			rc = or_fail(err, OR_ERR_USAGE, "%s:%ld: unknown option '%s'", b->config, lineno, p);
			break;
		}
		if ((o->has_arg == required_argument) != (value != NULL && *value)) {
			if (!(o->has_arg == optional_argument)) {
				rc = or_fail(err, OR_ERR_USAGE, "%s:%ld: '%s' %s", b->config, lineno, p,
				             o->has_arg == required_argument ? "needs a value" : "takes no value");
				break;
			}
		}
		char *kept = value && *value ? strdup(value) : NULL;
		if (kept && b->n_config_strings < 256)
			b->config_strings[b->n_config_strings++] = kept;
		else if (kept) {
			free(kept);
			rc = or_fail(err, OR_ERR_USAGE, "%s: too many options", b->config);
			break;
		}
		if (apply(b, o->val, kept) <= 0)
			rc = or_fail(err, OR_ERR_USAGE, "%s:%ld: bad value for '%s'", b->config, lineno, p);
	}
	fclose(fp);
	return rc;
}

int cmd_batch(int argc, char **argv)
{
	batch_cli b;
	memset(&b, 0, sizeof b);
	b.bo.out_dir = "ostrecon-batch";
	b.bo.jobs = 4;
	b.bo.max_server_requests = 8;
	b.bo.recover = false;
	b.bo.progress = true;
	b.bo.mailbox_logs = true;
	cli_server_init(&b.srv);
	b.srv.pull.concurrency = 2;
	cli_report_init(&b.cr);
	int rc = EXIT_ERROR, c;
	or_error err = {0};
	batch_manifest *m = NULL;
	batch_summary *sum = NULL;

	/* First pass only to find --config and --help; the config applies before the command line. */
	while ((c = getopt_long(argc, argv, "o:hqv", batch_opts, NULL)) != -1) {
		if (c == 'h') {
			help();
			return EXIT_OK;
		}
		if (c == OPT_CONFIG)
			b.config = optarg;
		else if (c == '?')
			return cli_usage_error("batch", "unknown option");
	}
	if (b.config && read_config(&b, &err) != 0) {
		rc = cli_usage_error("batch", "%s", err.message);
		goto out;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "o:hqv", batch_opts, NULL)) != -1) {
		int r = apply(&b, c, optarg);
		if (r < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
		if (!r) {
			rc = cli_usage_error("batch", "unknown option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error("batch", "one manifest file is required, %d given%s", argc - optind,
		                     argc - optind > 1 ? cli_report_operand_hint(&b.cr) : "");
		goto out;
	}
	const char *manifest = argv[optind];
	if (b.srv.pull.mailbox) {
		rc = cli_usage_error("batch", "--mailbox does not apply: the manifest names the mailboxes");
		goto out;
	}
	if (b.srv.autodiscover_only) {
		rc = cli_usage_error("batch", "--autodiscover-only applies to one mailbox ('ostrecon server')");
		goto out;
	}
	/* The manifest first: a run without one needs no credentials (and is told so, not asked for them). */
	if (batch_manifest_load(manifest, &m, &err) != 0) {
		log_error("%s", err.message);
		rc = err.code == OR_ERR_NOTFOUND || err.code == OR_ERR_IO ? EXIT_ERROR : EXIT_USAGE;
		goto out;
	}
	if (cli_report_finish(&b.cr, &err) != 0 || cli_server_finish(&b.srv, "batch", false, &err) != 0) {
		rc = err.code == OR_ERR_USAGE ? cli_usage_error("batch", "%s", err.message) : (log_error("%s", err.message), EXIT_ERROR);
		goto out;
	}
	if (b.srv.ews.associated)
		b.cr.diff.compare_associated = true;
	for (size_t i = 0; i < m->n_rows; i++)
		if (m->rows[i].problem)
			log_warn("%s:%ld: %s; the row is skipped", manifest, m->rows[i].line, m->rows[i].problem);
	b.bo.server_for = server_for;
	b.bo.server_ctx = &b.srv;
	b.bo.progress = b.srv.pull.progress; /* --no-progress: no line of the batch either */
	cli_report_compare_options(&b.cr, &b.bo.compare);
	char what[1100];
	snprintf(what, sizeof what, "the batch of %s (run it again to go on: finished mailboxes are kept)", manifest);
	or_set_activity(what);
	if (batch_run(m, manifest, &b.bo, &sum, &err) != 0 || batch_summary_save(sum, b.bo.out_dir, &err) != 0) {
		log_error("%s", err.message);
		goto out;
	}
	if (b.cr.html && batch_write_html(sum, b.cr.html, &b.bo.compare, &err) != 0) {
		log_error("%s", err.message);
		goto out;
	}
	if (b.cr.json_out) { /* --json: the summary itself on standard output, for a script */
		batch_summary_write_json(sum, stdout);
	} else {
		report_text_options topt;
		cli_report_text_options(&b.cr, &topt);
		batch_summary_print(sum, stdout, topt.width, b.cr.all);
		printf("Reports and summary in %s/ (%.1f s)%s%s\n", b.bo.out_dir, sum->seconds,
		       b.cr.html ? "; HTML index: " : "", b.cr.html ? b.cr.html : "");
	}
	rc = batch_summary_exit_code(sum);
out:
	batch_summary_free(sum);
	batch_manifest_free(m);
	cli_server_free(&b.srv);
	cli_report_free(&b.cr);
	for (int i = 0; i < b.n_config_strings; i++)
		free(b.config_strings[i]);
	return rc;
}

static void merge_help(void)
{
	printf("Usage: ostrecon merge -o DIR [--partial] SUMMARY.json...\n\n"
	       "Joins the summaries of the shards of one batch (summary-K-of-N.json, from 'ostrecon batch\n"
	       "--shard K/N' on several machines) into one: DIR/summary.json and DIR/summary.csv, in manifest\n"
	       "order, and prints the overview. Every shard must be there (the missing ones are named),\n"
	       "unless --partial; summaries of different manifests, or of shards split differently, do not\n"
	       "merge; two summaries holding the same manifest row are an error.\n\n"
	       "  -o, --output DIR   where the merged summary goes (default: the current folder)\n"
	       "      --partial      merge the shards given even when some are missing\n"
	       "  -q, -v, --log-file FILE  quieter, more detail, a timestamped log (as for batch)\n\n"
	       "Exit codes: as 'ostrecon batch' for the merged summary; 3 also when a summary cannot be read\n"
	       "or shards are missing; 64 for summaries that do not belong together.\n");
}

int cmd_merge(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
	                                     {"partial", no_argument, NULL, 'P'}, CLI_LOG_LONG_OPTIONS, {0}};
	const char *dir = ".";
	bool partial = false;
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c, optarg))
			continue;
		switch (c) {
		case 'o': dir = optarg; break;
		case 'P': partial = true; break;
		case 'h': merge_help(); return EXIT_OK;
		default: return cli_usage_error("merge", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("merge", "at least one summary file is required");
	size_t n = (size_t)(argc - optind);
	batch_summary **parts = calloc(n, sizeof *parts), *merged = NULL;
	or_error err = {0};
	int rc = EXIT_ERROR;
	if (!parts)
		return EXIT_ERROR;
	for (size_t i = 0; i < n; i++)
		if (batch_summary_load(argv[optind + (int)i], &parts[i], &err) != 0) {
			log_error("%s", err.message);
			goto out;
		}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	if (batch_summary_merge(parts, n, partial, &merged, &err) != 0 || batch_summary_save(merged, dir, &err) != 0) {
		log_error("%s", err.message);
		if (err.code == OR_ERR_USAGE)
			rc = EXIT_USAGE;
		goto out;
	}
	batch_summary_print(merged, stdout, cli_text_width(), false);
	rc = batch_summary_exit_code(merged);
out:
	for (size_t i = 0; i < n; i++)
		batch_summary_free(parts[i]);
	free(parts);
	batch_summary_free(merged);
	return rc;
}
