/* text.c: renders a report (its JSON form) as text for a terminal: the verdict first, the folders
 * with differences (all of them on request), the findings that need action in words, the expected
 * differences, the advice. Fits the width it is given: long folder paths are shortened in their
 * middle, lines break at spaces. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	FILE *fp;
	bool color;
	int width;
} out_t;

static const char *c_on(const out_t *o, const char *code)
{
	return o->color ? code : "";
}
static const char *c_off(const out_t *o)
{
	return o->color ? "\033[0m" : "";
}
#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"

/* ---------------------------------------------------------------- layout */

static size_t cp_len(const unsigned char *p)
{
	size_t n = 1;
	while (n < 4 && (p[n] & 0xc0) == 0x80)
		n++;
	return n;
}

size_t report_text_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A space that report_text_wrap does not break at (inside a folder name); written as a space. */
#define NBSP '\x01'

/* Appends the first `cols` code points of s (control characters as '?'). */
static size_t take_head(const char *s, size_t cols, char *out, size_t at, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t c = 0; *p && c < cols; c++) {
		size_t n = cp_len(p);
		if (at + n >= size)
			break;
		if (*p == NBSP)
			out[at++] = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			out[at++] = '?';
		else {
			memcpy(out + at, p, n);
			at += n;
		}
		p += n;
	}
	out[at] = '\0';
	return at;
}

/* The byte offset where the last `cols` code points of s begin. */
static const char *tail_start(const char *s, size_t cols)
{
	size_t total = report_text_cols(s);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t c = 0; *p && c + cols < total; c++)
		p += cp_len(p);
	return (const char *)p;
}

static void shorten_chars(const char *s, size_t cols, char *out, size_t size)
{
	if (cols == 0 || size < 8) {
		if (size)
			out[0] = '\0';
		return;
	}
	size_t head = (cols - 1) / 2, tail = cols - 1 - head;
	size_t at = take_head(s, head, out, 0, size);
	if (at + 4 < size) {
		memcpy(out + at, "\xe2\x80\xa6", 3); /* … */
		at += 3;
		out[at] = '\0';
	}
	take_head(tail_start(s, tail), tail, out, at, size);
}

/* The byte offsets of a path's separators ('/' not escaped by '\'). */
static size_t path_seps(const char *s, size_t *seps, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1]) {
			i++;
			continue;
		}
		if (s[i] == '/' && n < max)
			seps[n++] = i;
	}
	return n;
}

void report_text_shorten(const char *s, size_t cols, bool path, char *out, size_t size)
{
	if (!size)
		return;
	if (report_text_cols(s) <= cols) {
		take_head(s, cols, out, 0, size);
		return;
	}
	size_t seps[128];
	size_t n = path ? path_seps(s, seps, 128) : 0;
	if (n >= 1) {
		/* first name + "/…/" + as many last names as fit; a URL's first name is its scheme and host */
		size_t first_end = seps[0] == 0 && n > 1 ? seps[1] : seps[0];
		const char *scheme = strstr(s, "://");
		if (scheme && (size_t)(scheme - s) + 1 == seps[0] && n > 2)
			first_end = seps[2];
		char head[1024];
		take_head(s, SIZE_MAX, head, 0, first_end + 1 < sizeof head ? first_end + 1 : sizeof head);
		for (size_t k = 0; k < n; k++) {
			if (seps[k] < first_end)
				continue;
			const char *tail = s + seps[k] + 1;
			if (seps[k] == first_end && k + 1 < n)
				continue; /* nothing left out yet: not shorter */
			size_t need = report_text_cols(head) + 3 + report_text_cols(tail);
			if (need <= cols && *head) {
				size_t at = take_head(head, SIZE_MAX, out, 0, size);
				if (at + 6 < size) {
					memcpy(out + at, "/\xe2\x80\xa6/", 5);
					at += 5;
					out[at] = '\0';
				}
				take_head(tail, SIZE_MAX, out, at, size);
				return;
			}
		}
		/* "…/last name" */
		const char *last = s + seps[n - 1] + 1;
		if (report_text_cols(last) + 2 <= cols) {
			memcpy(out, "\xe2\x80\xa6/", 4);
			out[4] = '\0';
			take_head(last, SIZE_MAX, out, 4, size);
			return;
		}
	}
	shorten_chars(s, cols, out, size);
}

/* Writes s, control characters as '?'. */
static void put_text(FILE *fp, const char *s)
{
	char buf[4096];
	take_head(s, SIZE_MAX, buf, 0, sizeof buf);
	fputs(buf, fp);
}

/* Writes s in exactly `cols` columns (shortened in the middle or padded); right-aligned when asked. */
static void put_cell(FILE *fp, const char *s, size_t cols, bool path, bool right)
{
	char buf[2048];
	report_text_shorten(s, cols, path, buf, sizeof buf);
	size_t used = report_text_cols(buf);
	if (right)
		for (; used < cols; used++)
			fputc(' ', fp);
	fputs(buf, fp);
	if (!right)
		for (; used < cols; used++)
			fputc(' ', fp);
}

void report_text_wrap(FILE *fp, int width, const char *first, int indent, const char *text)
{
	if (width < 20)
		width = 20;
	fputs(first, fp);
	int col = (int)report_text_cols(first);
	const char *p = text;
	bool line_start = true;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t wl = (size_t)(p - w);
		if (!wl)
			break;
		char word[1024], shown[1024];
		size_t n = wl < sizeof word - 1 ? wl : sizeof word - 1;
		memcpy(word, w, n);
		word[n] = '\0';
		int cols = (int)report_text_cols(word);
		/* after a prefix wider than the indent, a word that does not fit starts the next line */
		if ((!line_start || col > indent) && col + (line_start ? 0 : 1) + cols > width) {
			fprintf(fp, "\n%*s", indent, "");
			col = indent;
			line_start = true;
		}
		if (!line_start) {
			fputc(' ', fp);
			col++;
		}
		if (cols > width - col) { /* wider than a whole line: its middle goes */
			report_text_shorten(word, (size_t)(width - col > 1 ? width - col : 1), strchr(word, '/') != NULL, shown,
			                    sizeof shown);
			put_text(fp, shown);
			col = width;
		} else {
			put_text(fp, word);
			col += cols;
		}
		line_start = false;
	}
	fputc('\n', fp);
}

static void wrap(const out_t *o, const char *first, int indent, const char *text)
{
	report_text_wrap(o->fp, o->width, first, indent, text);
}

/* A folder path shortened to `cols`, kept on one line by the wrapping. */
static void folder_words(const char *path, size_t cols, char *out, size_t size)
{
	report_text_shorten(path, cols, true, out, size);
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = NBSP;
}

/* ---------------------------------------------------------------- header */

#define jstr report_jstr
#define jint report_jint
#define jat report_jat

static const char *source_words(const char *src)
{
	if (strcmp(src, "ews") == 0)
		return "EWS";
	if (strcmp(src, "graph") == 0)
		return "Microsoft Graph";
	if (strcmp(src, "ost") == 0)
		return "OST file";
	if (strcmp(src, "pst") == 0)
		return "PST file";
	return src;
}

static const char *side_label_of(const json_t *root, size_t s)
{
	const char *label = jstr(json_array_get(json_object_get(root, "sides"), s), "label");
	return *label ? label : s ? "B" : "A";
}

/* "Server", "Cache", "Cache A": a side's label with a capital. */
static void side_title(const json_t *root, size_t s, char *out, size_t size)
{
	const char *label = jstr(json_array_get(json_object_get(root, "sides"), s), "label");
	snprintf(out, size, "%s", *label ? label : s ? "B" : "A");
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

static void print_header(const out_t *o, const json_t *root)
{
	const char *verdict = jstr(root, "verdict");
	const json_t *advice = json_object_get(root, "advice");
	const char *col = strncmp(verdict, "in_sync", 7) == 0 ? GREEN : strcmp(verdict, "incomplete") == 0 ? YELLOW : RED;
	char line[2048], a[64], b[64], c[64], d[64], e[64], f[64], g[64];
	snprintf(line, sizeof line, "Verdict: %s (%s, exit %lld)", report_verdict_words(verdict), verdict,
	         jint(root, "exit_code"));
	fputs(c_on(o, BOLD), o->fp);
	wrap(o, "", 2, line);
	fputs(c_off(o), o->fp);
	fputs(c_on(o, col), o->fp);
	wrap(o, "", 0, jstr(advice, "title"));
	fputs(c_off(o), o->fp);
	fputc('\n', o->fp);
	const char *forced = report_forced_words(root);
	if (forced) {
		fputs(c_on(o, YELLOW), o->fp);
		wrap(o, "", 0, forced);
		fputs(c_off(o), o->fp);
	}
	const json_t *sides = json_object_get(root, "sides");
	for (size_t s = 0; s < 2; s++) {
		const json_t *sd = json_array_get(sides, s);
		char title[32], captured[48] = "", mailbox[600] = "";
		side_title(root, s, title, sizeof title);
		if (*jstr(sd, "captured"))
			snprintf(captured, sizeof captured, ", captured %.10s %.5s UTC", jstr(sd, "captured"), jstr(sd, "captured") + 11);
		const char *src = source_words(jstr(sd, "source"));
		if (*jstr(sd, "file")) {
			if (*jstr(sd, "mailbox"))
				snprintf(mailbox, sizeof mailbox, " (mailbox %s)", jstr(sd, "mailbox"));
			snprintf(line, sizeof line, "%s: %s %s%s%s", title, src, jstr(sd, "file"), mailbox, captured);
		} else {
			snprintf(line, sizeof line, "%s: %s%s%s%s%s%s", title, *jstr(sd, "mailbox") ? "mailbox " : src,
			         jstr(sd, "mailbox"), *jstr(sd, "mailbox") ? " over " : "", *jstr(sd, "mailbox") ? src : "",
			         *jstr(sd, "server") ? " from " : *jstr(sd, "input") ? ", snapshot " : "",
			         *jstr(sd, "server") ? jstr(sd, "server") : jstr(sd, "input"));
			snprintf(line + strlen(line), sizeof line - strlen(line), "%s", captured);
		}
		snprintf(line + strlen(line), sizeof line - strlen(line), "; %s, %s.",
		         report_plural(a, sizeof a, jint(sd, "folders"), "folder", "folders"),
		         report_plural(b, sizeof b, jint(sd, "items"), "item", "items"));
		wrap(o, "", 2, line);
	}
	const json_t *sum = json_object_get(root, "summary");
	char w0[64], w1[64];
	report_where(jstr(json_array_get(sides, 0), "label"), w0, sizeof w0);
	report_where(jstr(json_array_get(sides, 1), "label"), w1, sizeof w1);
	long long need = jint(sum, "findings");
	snprintf(line, sizeof line,
	         "Items: %s the same on both sides, %s, %s missing %s, %s missing %s, %s, %s. %s %s action.",
	         report_plural(a, sizeof a, jint(sum, "matched"), "", ""),
	         report_plural(b, sizeof b, jint(sum, "differing"), "differs", "differ"),
	         report_plural(c, sizeof c, jat(sum, "missing_on", 0), "", ""), w0,
	         report_plural(d, sizeof d, jat(sum, "missing_on", 1), "", ""), w1,
	         report_plural(e, sizeof e, jint(sum, "expected"), "expected difference", "expected differences"),
	         report_plural(f, sizeof f, jint(sum, "unverified"), "unverified", "unverified"),
	         need ? report_plural(g, sizeof g, need, "finding", "findings") : "No finding", need > 1 ? "need" : "needs");
	wrap(o, "", 0, line);
	const json_t *w = json_object_get(root, "sync_window");
	if (json_is_true(json_object_get(w, "applied"))) {
		if (strcmp(jstr(w, "mode"), "inferred") == 0)
			snprintf(line, sizeof line,
			         "Sync window: inferred from the data, about %s (the cache holds no mail before %.10s); "
			         "%s older on the server %s expected to be missing.",
			         report_plural(a, sizeof a, jint(w, "inferred_days"), "day", "days"), jstr(w, "cutoff"),
			         report_plural(b, sizeof b, jint(w, "items_outside"), "item", "items"),
			         jint(w, "items_outside") == 1 ? "is" : "are");
		else
			snprintf(line, sizeof line, "Sync window: %s (cutoff %.10s); %s older on the server %s expected to be missing.",
			         jstr(w, "option"), jstr(w, "cutoff"),
			         report_plural(b, sizeof b, jint(w, "items_outside"), "item", "items"),
			         jint(w, "items_outside") == 1 ? "is" : "are");
		wrap(o, "", 0, line);
	}
	fputc('\n', o->fp);
}

/* ---------------------------------------------------------------- folder table */

enum { COL_C0, COL_C1, COL_SAME, COL_DIFF, COL_M0, COL_M1, COL_EXP, COL_UNV, N_COLS };

typedef struct {
	const char *title;  /* second header line */
	const char *group;  /* first header line, over this and the next column */
	size_t width;
	bool shown;
} column;

static void row_cells(const json_t *row, char cell[N_COLS][32])
{
	const json_t *paths = json_object_get(row, "paths"), *unr = json_object_get(row, "unreadable");
	for (size_t s = 0; s < 2; s++) {
		if (json_is_null(json_array_get(paths, s)))
			snprintf(cell[COL_C0 + s], 32, "-");
		else
			snprintf(cell[COL_C0 + s], 32, "%lld%s", jat(row, "count", s), json_is_true(json_array_get(unr, s)) ? "?" : "");
		snprintf(cell[COL_M0 + s], 32, "%lld", jat(row, "missing_on", s));
	}
	snprintf(cell[COL_SAME], 32, "%lld", jint(row, "matched"));
	snprintf(cell[COL_DIFF], 32, "%lld", jint(row, "differing"));
	snprintf(cell[COL_EXP], 32, "%lld", jint(row, "expected"));
	snprintf(cell[COL_UNV], 32, "%lld", jint(row, "unverified"));
}

static bool row_unreadable(const json_t *row)
{
	const json_t *unr = json_object_get(row, "unreadable");
	return json_is_true(json_array_get(unr, 0)) || json_is_true(json_array_get(unr, 1));
}

/* One folder as a sentence, for widths where the table does not fit. */
static void print_row_words(const out_t *o, const json_t *root, const json_t *row, char cell[N_COLS][32])
{
	char t0[32], t1[32], line[512];
	side_title(root, 0, t0, sizeof t0);
	side_title(root, 1, t1, sizeof t1);
	char name[1024], w0[64], w1[64];
	report_text_shorten(jstr(row, "folder"), (size_t)o->width - 2, true, name, sizeof name);
	fprintf(o->fp, "- %s\n", name);
	report_where(side_label_of(root, 0), w0, sizeof w0);
	report_where(side_label_of(root, 1), w1, sizeof w1);
	snprintf(line, sizeof line, "%s %s, %s %s; %s the same, %s differ; missing: %s %s, %s %s; %s expected; %s "
	         "unverified", t0, cell[COL_C0], t1, cell[COL_C1], cell[COL_SAME], cell[COL_DIFF], cell[COL_M0], w0,
	         cell[COL_M1], w1, cell[COL_EXP], cell[COL_UNV]);
	wrap(o, "    ", 4, line);
}

/* The folders whose items came without keys, one note per side (words.c). */
static void print_keyless(const out_t *o, const json_t *root)
{
	for (size_t s = 0; s < 2; s++) {
		char line[512];
		if (!report_keyless_words(root, s, line, sizeof line))
			continue;
		fputs(c_on(o, DIM), o->fp);
		wrap(o, "", 0, line);
		fputs(c_off(o), o->fp);
	}
}

static void print_table(const out_t *o, const json_t *root, bool all)
{
	const json_t *rows = json_object_get(root, "folders"), *row;
	const json_t *sum = json_object_get(root, "summary");
	size_t i, n_rows = json_array_size(rows), shown = 0, in_sync = 0, expected_only = 0;
	char t0[32], t1[32];
	side_title(root, 0, t0, sizeof t0);
	side_title(root, 1, t1, sizeof t1);
	column cols[N_COLS] = {
		[COL_C0] = {t0, "Items", 0, true},  [COL_C1] = {t1, NULL, 0, true},
		[COL_SAME] = {"Same", NULL, 0, true}, [COL_DIFF] = {"Differ", NULL, 0, true},
		[COL_M0] = {t0, "Missing in", 0, true}, [COL_M1] = {t1, NULL, 0, true},
		[COL_EXP] = {"Expected", NULL, 0, jint(sum, "expected") > 0},
		[COL_UNV] = {"Unverified", NULL, 0, jint(sum, "unverified") > 0},
	};
	bool any_unreadable = false;
	json_array_foreach(rows, i, row) {
		if (!all && !report_row_interesting(row)) {
			if (jint(row, "expected"))
				expected_only++;
			else
				in_sync++;
			continue;
		}
		shown++;
		char cell[N_COLS][32];
		row_cells(row, cell);
		for (int c = 0; c < N_COLS; c++)
			if (strlen(cell[c]) > cols[c].width)
				cols[c].width = strlen(cell[c]);
		any_unreadable |= row_unreadable(row);
	}
	if (any_unreadable)
		cols[COL_UNV].shown = true;
	if (!shown) {
		char a[64], line[512];
		if (expected_only)
			snprintf(line, sizeof line, "Folders: %s, none with a difference that needs action (%lld with expected "
			         "differences only); --all lists every folder.",
			         report_plural(a, sizeof a, (long long)n_rows, "folder", "folders"), (long long)expected_only);
		else
			snprintf(line, sizeof line, "Folders: %s, all in sync; --all lists them.",
			         report_plural(a, sizeof a, (long long)n_rows, "folder", "folders"));
		wrap(o, "", 0, line);
		print_keyless(o, root);
		fputc('\n', o->fp);
		return;
	}
	int used = 0;
	for (int c = 0; c < N_COLS; c++) {
		if (!cols[c].shown)
			continue;
		if (cols[c].width < report_text_cols(cols[c].title))
			cols[c].width = report_text_cols(cols[c].title);
		used += (int)cols[c].width + 2;
	}
	/* the group titles span two columns each */
	for (int c = 0; c + 1 < N_COLS; c++)
		if (cols[c].group) {
			size_t span = cols[c].width + 2 + cols[c + 1].width, need = report_text_cols(cols[c].group);
			if (span < need) {
				cols[c + 1].width += need - span;
				used += (int)(need - span);
			}
		}
	int name_w = o->width - used;
	bool words = name_w < 16;
	if (!words) {
		/* the group titles, centred over their two columns; no spaces at the end of the line */
		char head[1024];
		int at = snprintf(head, sizeof head, "%*s", name_w, "");
		for (int c = 0; c < N_COLS && at < (int)sizeof head - 64; c++) {
			if (!cols[c].shown)
				continue;
			if (cols[c].group) {
				int span = (int)(cols[c].width + 2 + cols[c + 1].width), len = (int)report_text_cols(cols[c].group);
				int left = (span - len + 1) / 2;
				at += snprintf(head + at, sizeof head - (size_t)at, "  %*s%s%*s", left, "", cols[c].group, span - len - left, "");
				c++;
			} else {
				at += snprintf(head + at, sizeof head - (size_t)at, "%*s", (int)cols[c].width + 2, "");
			}
		}
		while (at > 0 && head[at - 1] == ' ')
			head[--at] = '\0';
		fprintf(o->fp, "%s%s\n", c_on(o, BOLD), head);
		fputs(c_on(o, BOLD), o->fp);
		put_cell(o->fp, "Folder", (size_t)name_w, false, false);
		for (int c = 0; c < N_COLS; c++)
			if (cols[c].shown) {
				fputs("  ", o->fp);
				put_cell(o->fp, cols[c].title, cols[c].width, false, true);
			}
		fprintf(o->fp, "%s\n", c_off(o));
	}
	json_array_foreach(rows, i, row) {
		if (!all && !report_row_interesting(row))
			continue;
		char cell[N_COLS][32];
		row_cells(row, cell);
		bool bad = jint(row, "findings") > 0, unv = jint(row, "unverified") > 0 || row_unreadable(row);
		fputs(c_on(o, bad ? RED : unv ? YELLOW : ""), o->fp);
		if (words) {
			print_row_words(o, root, row, cell);
		} else {
			put_cell(o->fp, jstr(row, "folder"), (size_t)name_w, true, false);
			for (int c = 0; c < N_COLS; c++)
				if (cols[c].shown) {
					fputs("  ", o->fp);
					put_cell(o->fp, cell[c], cols[c].width, false, true);
				}
			fputc('\n', o->fp);
		}
		fputs(c_off(o), o->fp);
	}
	char line[512], a[64];
	if (!all && (in_sync || expected_only)) {
		char why[128];
		if (in_sync && expected_only)
			snprintf(why, sizeof why, ": %lld in sync, %lld with expected differences only", (long long)in_sync,
			         (long long)expected_only);
		else
			snprintf(why, sizeof why, ", %s", in_sync ? (in_sync == 1 ? "in sync" : "all in sync")
			                                          : "with expected differences only");
		snprintf(line, sizeof line, "(%s not shown%s; --all lists every folder)",
		         report_plural(a, sizeof a, (long long)(in_sync + expected_only), "more folder", "more folders"), why);
		fputs(c_on(o, DIM), o->fp);
		wrap(o, "", 1, line);
		fputs(c_off(o), o->fp);
	}
	snprintf(line, sizeof line, "'-': no such folder on that side.%s", any_unreadable ?
	         " '?': that side could not read the folder (or a part of it): its items are unverified." : "");
	fputs(c_on(o, DIM), o->fp);
	wrap(o, "", 0, line);
	fputs(c_off(o), o->fp);
	print_keyless(o, root);
	fputc('\n', o->fp);
}

/* ---------------------------------------------------------------- findings */

typedef struct {
	int rank;
	size_t index;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void print_finding(const out_t *o, const json_t *root, const json_t *f)
{
	char phrase[256], line[4096], folder[1024];
	report_kind_phrase(f, phrase, sizeof phrase);
	if (*jstr(f, "folder")) {
		folder_words(jstr(f, "folder"), (size_t)(o->width > 60 ? o->width / 2 : o->width - 8), folder, sizeof folder);
		snprintf(line, sizeof line, "- %s, in %s:", phrase, folder);
	} else {
		snprintf(line, sizeof line, "- %s:", phrase);
	}
	wrap(o, "", 4, line);
	report_finding_details(f, line, sizeof line);
	if (*line)
		wrap(o, "    ", 4, line);
	char ev[2048], newer[256];
	report_evidence_words(root, f, ev, sizeof ev);
	report_newer_words(f, newer, sizeof newer);
	if (*ev || *newer) {
		snprintf(line, sizeof line, "%s%s%s", ev, *ev && *newer ? ". " : *ev ? "." : "", newer);
		wrap(o, "    ", 4, line);
	}
	wrap(o, "    -> ", 7, jstr(f, "action"));
}

static void print_findings(const out_t *o, const report_t *rep, size_t max)
{
	const json_t *root = rep->root;
	size_t n = report_finding_count(rep), k = 0;
	ranked *rk = calloc(n + 1, sizeof *rk);
	if (!rk)
		return;
	for (size_t i = 0; i < n; i++)
		if (!report_finding_expected(rep, i))
			rk[k++] = (ranked){report_finding_rank(rep, i), i};
	char a[64], line[512];
	if (k) {
		qsort(rk, k, sizeof *rk, ranked_cmp);
		if (k > max)
			snprintf(line, sizeof line, "Findings that need action: %s, most important first; the first %zu shown "
			         "(--all shows every one; the JSON report has them all):",
			         report_plural(a, sizeof a, (long long)k, "finding", "findings"), max);
		else
			snprintf(line, sizeof line, "Findings that need action: %s%s:",
			         report_plural(a, sizeof a, (long long)k, "finding", "findings"), k > 1 ? ", most important first" : "");
		fputs(c_on(o, BOLD), o->fp);
		wrap(o, "", 0, line);
		fputs(c_off(o), o->fp);
		for (size_t j = 0; j < k && j < max; j++) {
			json_t *f = report_finding_get(rep, rk[j].index);
			if (f)
				print_finding(o, root, f);
			json_decref(f);
		}
		fputc('\n', o->fp);
	}
	/* Expected differences, summed by reason (each reason's first finding kept for its text). */
	const char *reasons[16];
	json_t *holders[16];
	long long counts[16];
	size_t nr = 0;
	long long notes = 0;
	for (size_t i = 0; i < n; i++) {
		if (!report_finding_expected(rep, i))
			continue;
		json_t *f = report_finding_get(rep, i);
		if (!f)
			continue;
		if (strcmp(jstr(f, "category"), "integrity") == 0) {
			notes += jint(f, "count");
			json_decref(f);
			continue;
		}
		const char *why = jstr(f, "why");
		size_t r = 0;
		while (r < nr && strcmp(reasons[r], why) != 0)
			r++;
		if (r == nr) {
			if (nr == 16) {
				json_decref(f);
				continue;
			}
			reasons[nr] = why;
			holders[nr] = json_incref(f);
			counts[nr++] = 0;
		}
		counts[r] += jint(f, "count");
		json_decref(f);
	}
	if (nr) {
		fprintf(o->fp, "%sExpected differences (not problems):%s\n", c_on(o, BOLD), c_off(o));
		for (size_t r = 0; r < nr; r++) {
			char first[64];
			snprintf(first, sizeof first, "  %s: ", report_plural(a, sizeof a, counts[r], "difference", "differences"));
			wrap(o, first, 4, reasons[r]);
		}
		fputc('\n', o->fp);
	}
	if (notes) {
		snprintf(line, sizeof line,
		         "Note: %s in folders that are not compared (search folders and the like) could not be read; "
		         "they are listed in the JSON report.",
		         report_plural(a, sizeof a, notes, "part", "parts"));
		wrap(o, "", 0, line);
		fputc('\n', o->fp);
	}
	for (size_t r = 0; r < nr; r++)
		json_decref(holders[r]);
	free(rk);
}

/* ---------------------------------------------------------------- advice */

static void print_advice(const out_t *o, const json_t *root)
{
	const json_t *a = json_object_get(root, "advice"), *v;
	size_t i;
	fprintf(o->fp, "%sAdvice:%s\n", c_on(o, BOLD), c_off(o));
	wrap(o, "  ", 2, jstr(a, "title"));
	const json_t *folders = json_object_get(a, "folders");
	if (json_array_size(folders)) {
		fprintf(o->fp, "  Folders with differences:\n");
		json_array_foreach(folders, i, v) {
			char p[1024];
			report_text_shorten(json_string_value(v) ? json_string_value(v) : "", (size_t)o->width - 4, true, p, sizeof p);
			fprintf(o->fp, "    %s\n", p);
		}
	}
	json_array_foreach(json_object_get(a, "steps"), i, v) {
		char first[16];
		snprintf(first, sizeof first, "  %zu. ", i + 1);
		wrap(o, first, 5, json_string_value(v) ? json_string_value(v) : "");
	}
	const json_t *ex = json_object_get(root, "export_before_rebuild");
	if (json_array_size(ex)) {
		char n[64], line[512];
		fputc('\n', o->fp);
		fprintf(o->fp, "%sExport before rebuilding:%s\n", c_on(o, BOLD YELLOW), c_off(o));
		long long count = jint(a, "export_count");
		snprintf(line, sizeof line, "%s only in the cache (or could not be checked on the server); a rebuild or "
		         "a resync would lose %s:",
		         report_plural(n, sizeof n, count, "item exists", "items exist"), count == 1 ? "it" : "them");
		wrap(o, "  ", 2, line);
		json_array_foreach(ex, i, v) {
			if (i == 10) {
				snprintf(line, sizeof line, "... and %lld more (the JSON report lists them)", count - 10);
				wrap(o, "    ", 4, line);
				break;
			}
			char folder[1024], item[2048];
			folder_words(jstr(v, "folder"), (size_t)(o->width > 60 ? o->width / 3 : 20), folder, sizeof folder);
			snprintf(item, sizeof item, "%s: \"%s\", %.10s%s", folder, jstr(v, "subject"), jstr(v, "date"),
			         json_is_true(json_object_get(v, "unverified")) ? " (unverified)" : "");
			wrap(o, "    ", 6, item);
		}
	}
}

void report_print_text(const report_t *rep, FILE *fp, const report_text_options *opt)
{
	out_t o = {fp, opt && opt->color, opt && opt->width >= 40 ? opt->width : 80};
	size_t max = opt && opt->max_findings ? opt->max_findings : 20;
	print_header(&o, rep->root);
	print_table(&o, rep->root, opt && opt->all_folders);
	print_findings(&o, rep, max);
	print_advice(&o, rep->root);
}
