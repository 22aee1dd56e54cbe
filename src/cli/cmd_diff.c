/* cmd_diff.c: `ostrecon diff A B`: compare two snapshots, print the verdict and write the report. */
#include "cli.h"
#include "diff/diff.h"
#include "report/report.h"

#include <getopt.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void help(void)
{
	printf("Usage: ostrecon diff A.jsonl B.jsonl [-o REPORT.json] [--sync-window 12m|90d|all|infer]\n"
	       "                    [--text|--json] [--redact[=KEYFILE]] [--associated] [-q|-v]\n\n"
	       "Compares two snapshots (server against cache, cache against cache, server against server),\n"
	       "prints the verdict, the per-folder table, the findings and the advice, and writes the JSON\n"
	       "report (docs/REPORT.md). Put the server first and the cache second by convention; the sides\n"
	       "are told apart by each snapshot's source either way.\n\n"
	       "  -o, --output FILE       write the JSON report to FILE (atomically, mode 0600)\n"
	       "      --sync-window W     the cache's 'Mail to keep offline' setting: Nd, Nw, Nm, Ny, all,\n"
	       "                          or infer (default: inferred from the oldest cached mail)\n"
	       "      --text              print the text report on standard output (default)\n"
	       "      --json              print the JSON report on standard output instead\n"
	       "      --redact[=KEYFILE]  replace subjects and addresses by keyed hashes (HMAC-SHA256); with\n"
	       "                          a key file the hashes are the same in every report made with it,\n"
	       "                          without one a random key is used for this run and not kept\n"
	       "      --associated        also compare associated (hidden) items, apart from normal items\n"
	       "  -q, --quiet             only errors on stderr\n"
	       "  -v, --verbose           more detail on stderr\n"
	       "  -h, --help              this help\n\n"
	       "Exit codes: 0 in sync (also: in sync except expected differences), 1 differences that need\n"
	       "action, 2 incomplete (a part of a side could not be read), 3 error, 64 usage error.\n");
}

typedef struct {
	const char *path;
	snap_t *snap;
	or_error err;
	int rc;
	double ms;
} load_job;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *load_thread(void *arg)
{
	load_job *j = arg;
	double t0 = now_ms();
	j->rc = snap_load(&j->snap, j->path, &j->err);
	j->ms = now_ms() - t0;
	return NULL;
}

bool cli_use_color(void)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"sync-window", required_argument, NULL, 'w'},
		{"text", no_argument, NULL, 't'},         {"json", no_argument, NULL, 'j'},
		{"redact", optional_argument, NULL, 'r'}, {"associated", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},         CLI_LOG_LONG_OPTIONS, {0}};
	const char *out = NULL, *key_file = NULL;
	bool json_out = false, redact = false;
	diff_options dopt;
	diff_options_init(&dopt);
	int c;
	while ((c = getopt_long(argc, argv, "o:hqv", opts, NULL)) != -1) {
		if (cli_log_option(c))
			continue;
		switch (c) {
		case 'o': out = optarg; break;
		case 'w':
			if (diff_window_parse(optarg, &dopt.window) != 0)
				return cli_usage_error("diff", "bad --sync-window '%s' (e.g. 12m, 90d, 2w, 1y, all, infer)", optarg);
			break;
		case 't': json_out = false; break;
		case 'j': json_out = true; break;
		case 'r': redact = true; key_file = optarg; break;
		case 'a': dopt.compare_associated = true; break;
		case 'h': help(); return EXIT_OK;
		default: return cli_usage_error("diff", "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("diff", "two snapshot files are required");
	const char *in[2] = {argv[optind], argv[optind + 1]};
	for (int s = 0; s < 2; s++)
		if (out && strcmp(out, "-") != 0 && cli_same_file(out, in[s])) {
			log_error("refusing to write the report over an input snapshot");
			return EXIT_USAGE;
		}
	if (out && strcmp(out, "-") == 0)
		return cli_usage_error("diff", "use --json to print the JSON report on standard output");

	int rc = EXIT_ERROR;
	or_error err = {0};
	diff_result *res = NULL;
	report_t *rep = NULL;
	uint8_t key[REPORT_KEY_MAX];
	size_t key_len = 0;
	load_job jobs[2] = {{.path = in[0]}, {.path = in[1]}};

	if (redact && report_redaction_key(key_file, key, &key_len, &err) != 0) {
		log_error("%s", err.message);
		rc = err.code == OR_ERR_USAGE ? EXIT_USAGE : EXIT_ERROR;
		goto out;
	}
	/* The two files load in parallel: reading and parsing is most of the time. */
	pthread_t th;
	bool threaded = strcmp(in[0], "-") != 0 && strcmp(in[1], "-") != 0 &&
	                pthread_create(&th, NULL, load_thread, &jobs[1]) == 0;
	load_thread(&jobs[0]);
	if (threaded)
		pthread_join(th, NULL);
	else
		load_thread(&jobs[1]);
	for (int s = 0; s < 2; s++)
		if (jobs[s].rc != 0) {
			log_error("%s", jobs[s].err.message);
			goto out;
		}
	log_verbose("loaded %s (%zu items) in %.0f ms and %s (%zu items) in %.0f ms", in[0], jobs[0].snap->n_items,
	            jobs[0].ms, in[1], jobs[1].snap->n_items, jobs[1].ms);

	double t0 = now_ms();
	if (diff_run(jobs[0].snap, jobs[1].snap, &dopt, &res, &err) != 0) {
		log_error("comparing: %s", err.message);
		goto out;
	}
	double diff_ms = now_ms() - t0;
	report_options ropt = {.input = {in[0], in[1]}, .redact = redact, .key = key, .key_len = key_len,
	                       .key_from_file = key_file != NULL, .load_ms = {jobs[0].ms, jobs[1].ms},
	                       .diff_ms = diff_ms, .generated = filetime_now()};
	t0 = now_ms();
	if (report_build(&rep, res, &ropt, &err) != 0) {
		log_error("building the report: %s", err.message);
		goto out;
	}
	report_set_timing(rep, "report_ms", now_ms() - t0);
	if (out && report_save(rep, out, &err) != 0) {
		log_error("%s", err.message);
		goto out;
	}
	if (json_out) {
		if (report_save(rep, "-", &err) != 0) {
			log_error("%s", err.message);
			goto out;
		}
	} else {
		report_text_options topt = {.color = cli_use_color()};
		report_print_text(rep, stdout, &topt);
	}
	if (fflush(stdout) != 0) {
		log_error("writing to standard output failed");
		goto out;
	}
	log_verbose("compared in %.0f ms: %s", diff_ms, diff_verdict_name(res->advice.verdict));
	rc = diff_verdict_exit_code(res->advice.verdict);
out:
	explicit_bzero(key, sizeof key);
	report_free(rep);
	diff_result_free(res);
	snap_free(jobs[0].snap);
	snap_free(jobs[1].snap);
	return rc;
}
