/* report_args.c: the comparison and report options shared by `diff`, `scan` and `batch`, printing
 * and saving a report (text, JSON, HTML), and --progress. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

bool cli_use_color(void)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int cli_text_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col > 1000 ? 1000 : ws.ws_col;
	return 80;
}

void cli_report_init(cli_report *r)
{
	memset(r, 0, sizeof *r);
	diff_options_init(&r->diff);
}

int cli_report_option(cli_report *r, int opt, const char *arg, const char *command)
{
	long v;
	switch (opt) {
	case 'o': r->out = arg; return 1;
	case OPT_SYNC_WINDOW:
		if (diff_window_parse(arg, &r->diff.window) != 0)
			return -cli_usage_error(command, "bad --sync-window '%s' (e.g. 12m, 90d, 2w, 1y, all, infer)", arg);
		return 1;
	case OPT_TEXT: r->json_out = false; r->text_asked = true; return 1;
	case OPT_JSON: r->json_out = true; return 1;
	case OPT_REDACT: r->redact = true; r->key_file = arg; return 1;
	case OPT_COMPARE_ASSOCIATED: r->diff.compare_associated = true; return 1;
	case OPT_FORCE: r->force = true; return 1;
	case OPT_ALL: r->all = true; return 1;
	case OPT_WIDTH:
		if (parse_long(arg, 40, 1000, &v) != 0)
			return -cli_usage_error(command, "bad --width '%s' (40 to 1000)", arg);
		r->width = (int)v;
		return 1;
	case OPT_HTML:
		if (!*arg || strcmp(arg, "-") == 0)
			return -cli_usage_error(command, "--html takes a file name");
		r->html = arg;
		return 1;
	default: return 0;
	}
}

int cli_report_finish(cli_report *r, or_error *err)
{
	if (r->out && strcmp(r->out, "-") == 0) { /* the JSON report on standard output, as --json */
		if (r->text_asked)
			return or_fail(err, OR_ERR_USAGE, "-o - and --text would both write to standard output");
		r->out = NULL;
		r->json_out = true;
	}
	if (r->out && r->html && cli_same_file(r->out, r->html))
		return or_fail(err, OR_ERR_USAGE, "-o and --html name the same file");
	if (r->redact && report_redaction_key(r->key_file, r->key, &r->key_len, err) != 0)
		return err->code;
	return 0;
}

const char *cli_report_operand_hint(const cli_report *r)
{
	return r->redact && !r->key_file ? " (a key file goes with --redact as --redact=KEYFILE)" : "";
}

void cli_report_compare_options(const cli_report *r, scan_compare_options *c)
{
	memset(c, 0, sizeof *c);
	c->diff = r->diff;
	c->redact = r->redact;
	c->key = r->key;
	c->key_len = r->key_len;
	c->key_from_file = r->key_file != NULL;
	c->force = r->force;
}

void cli_report_text_options(const cli_report *r, report_text_options *t)
{
	memset(t, 0, sizeof *t);
	t->color = cli_use_color();
	t->width = r->width ? r->width : cli_text_width();
	t->all_folders = r->all;
	t->max_findings = r->all ? SIZE_MAX : 0;
}

int cli_report_emit(const cli_report *r, const report_t *rep, bool print)
{
	or_error err = {0};
	if (r->out && report_save(rep, r->out, &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	if (r->html && report_save_html(rep, r->html, &err) != 0) {
		log_error("%s", err.message);
		return EXIT_ERROR;
	}
	if (print && r->json_out) {
		if (report_save(rep, "-", &err) != 0) {
			log_error("%s", err.message);
			return EXIT_ERROR;
		}
	} else if (print) {
		report_text_options topt;
		cli_report_text_options(r, &topt);
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

#define HELP_SYNC_WINDOW \
	"      --sync-window W     the cache's 'Mail to keep offline' setting: Nd, Nw, Nm, Ny, all,\n" \
	"                          or infer (default: inferred from the oldest cached mail)\n"
#define HELP_OUTPUT \
	"      --text              print the text report on standard output (default)\n" \
	"      --json              print the JSON report on standard output instead\n" \
	"      --html FILE         also write the report as one self-contained HTML page (verdict,\n" \
	"                          chart, sortable folder table, findings by folder, provenance)\n" \
	"      --all               list every folder and every finding in the text (default: the\n" \
	"                          folders with differences and the first 20 findings)\n" \
	"      --width N           fit the text to N columns (default: the terminal's, else 80)\n"
#define HELP_REDACT \
	"      --redact[=KEYFILE]  replace every identifying string (addresses, subjects, ids, paths,\n" \
	"                          host, folder names other than the standard ones) by keyed hashes\n" \
	"                          (HMAC-SHA256) in the JSON, text and HTML; with a key file the\n" \
	"                          hashes are the same in every report made with it, without one a\n" \
	"                          random key is used for this run and not kept\n"
#define HELP_FORCE \
	"      --force             compare even when the two sides do not belong together (a .pst as\n" \
	"                          the cache of a mailbox, two different mailboxes, almost no item\n" \
	"                          pairing), which otherwise stops with exit 3\n"

const char *cli_report_help = "Comparison and report:\n" HELP_SYNC_WINDOW HELP_OUTPUT HELP_REDACT HELP_FORCE;

/* batch: its output options (an overview, a summary, an index page) are its own */
const char *cli_compare_help = "Comparison:\n" HELP_SYNC_WINDOW HELP_REDACT HELP_FORCE;
