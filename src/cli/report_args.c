/* report_args.c: the comparison and report options shared by `diff`, `scan` and `batch`, printing
 * a report, and --progress. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_use_color(void)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

void cli_report_init(cli_report *r)
{
	memset(r, 0, sizeof *r);
	diff_options_init(&r->diff);
}

int cli_report_option(cli_report *r, int opt, const char *arg, const char *command)
{
	switch (opt) {
	case 'o': r->out = arg; return 1;
	case OPT_SYNC_WINDOW:
		if (diff_window_parse(arg, &r->diff.window) != 0)
			return -cli_usage_error(command, "bad --sync-window '%s' (e.g. 12m, 90d, 2w, 1y, all, infer)", arg);
		return 1;
	case OPT_TEXT: r->json_out = false; return 1;
	case OPT_JSON: r->json_out = true; return 1;
	case OPT_REDACT: r->redact = true; r->key_file = arg; return 1;
	case OPT_COMPARE_ASSOCIATED: r->diff.compare_associated = true; return 1;
	default: return 0;
	}
}

int cli_report_finish(cli_report *r, or_error *err)
{
	if (r->out && strcmp(r->out, "-") == 0)
		return or_fail(err, OR_ERR_USAGE, "use --json to print the JSON report on standard output");
	if (r->redact && report_redaction_key(r->key_file, r->key, &r->key_len, err) != 0)
		return err->code;
	return 0;
}

void cli_report_compare_options(const cli_report *r, scan_compare_options *c)
{
	memset(c, 0, sizeof *c);
	c->diff = r->diff;
	c->redact = r->redact;
	c->key = r->key;
	c->key_len = r->key_len;
	c->key_from_file = r->key_file != NULL;
}

int cli_report_emit(const cli_report *r, const report_t *rep, bool print)
{
	or_error err = {0};
	if (r->out && report_save(rep, r->out, &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	if (print && r->json_out) {
		if (report_save(rep, "-", &err) != 0) {
			log_error("%s", err.message);
			return EXIT_ERROR;
		}
	} else if (print) {
		report_text_options topt = {.color = cli_use_color()};
		report_print_text(rep, stdout, &topt);
	}
	if (fflush(stdout) != 0) {
		log_error("writing to standard output failed");
		return EXIT_ERROR;
	}
	return report_exit_code(rep);
}

void cli_report_free(cli_report *r)
{
	explicit_bzero(r->key, sizeof r->key);
}

int cli_progress_option(int opt, const char *arg, const char *command)
{
	if (opt != OPT_PROGRESS)
		return 0;
	progress_mode m = PROGRESS_TEXT;
	if (arg && progress_mode_parse(arg, &m) != 0)
		return -cli_usage_error(command, "bad --progress '%s' (auto, always, never or json)", arg);
	progress_set_mode(m);
	return 1;
}

const char *cli_progress_help =
	"      --progress[=WHEN]   progress of the long steps on stderr: auto (the default: only when\n"
	"                          stderr is a terminal), always (plain lines where it is not), never,\n"
	"                          or json (JSON Lines for wrappers: docs/REPORT.md, \"Progress\")\n";

const char *cli_report_help =
	"Comparison and report:\n"
	"      --sync-window W     the cache's 'Mail to keep offline' setting: Nd, Nw, Nm, Ny, all,\n"
	"                          or infer (default: inferred from the oldest cached mail)\n"
	"      --text              print the text report on standard output (default)\n"
	"      --json              print the JSON report on standard output instead\n"
	"      --redact[=KEYFILE]  replace subjects and addresses by keyed hashes (HMAC-SHA256); with\n"
	"                          a key file the hashes are the same in every report made with it,\n"
	"                          without one a random key is used for this run and not kept\n";
