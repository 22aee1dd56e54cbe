/* text.c: renders a report (its JSON form) as text for a terminal: verdict first, the per-folder
 * table, the most important findings, the expected differences, the advice. Fits in 80 columns. */
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

/* Columns a UTF-8 string takes (one per code point; control characters shown as '?'). */
static size_t text_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Writes at most `cols` columns of s, ending with "~" when cut; pads to `pad` columns. */
static void put_cut(const out_t *o, const char *s, size_t cols, size_t pad)
{
	size_t len = text_cols(s), used = 0;
	bool cut = len > cols;
	size_t limit = cut ? (cols ? cols - 1 : 0) : cols;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && used < limit) {
		size_t n = 1;
		while ((p[n] & 0xc0) == 0x80)
			n++;
		if (*p < 0x20 || *p == 0x7f)
			fputc('?', o->fp);
		else
			fwrite(p, 1, n, o->fp);
		p += n;
		used++;
	}
	if (cut && cols) {
		fputc('~', o->fp);
		used++;
	}
	for (; used < pad; used++)
		fputc(' ', o->fp);
}

/* Word-wraps text at the width, every line starting with `indent` spaces (the first with `first`). */
static void put_wrapped(const out_t *o, const char *first, int indent, const char *text)
{
	int col = fprintf(o->fp, "%s", first);
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
		char word[512];
		size_t n = wl < sizeof word - 1 ? wl : sizeof word - 1;
		memcpy(word, w, n);
		word[n] = '\0';
		int cols = (int)text_cols(word);
		if (!line_start && col + 1 + cols > o->width) {
			fprintf(o->fp, "\n%*s", indent, "");
			col = indent;
			line_start = true;
		}
		if (!line_start) {
			fputc(' ', o->fp);
			col++;
		}
		if (cols > o->width - col) {
			put_cut(o, word, (size_t)(o->width - col), 0);
			col = o->width;
		} else {
			fputs(word, o->fp);
			col += cols;
		}
		line_start = false;
	}
	fputc('\n', o->fp);
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long jint(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static long long jat(const json_t *o, const char *k, size_t i)
{
	return (long long)json_integer_value(json_array_get(json_object_get(o, k), i));
}

/* A short column header for a side: "Server", "Cache", or "A"/"B". */
static void side_header(const json_t *root, int s, char *out, size_t size)
{
	const char *label = jstr(json_array_get(json_object_get(root, "sides"), (size_t)s), "label");
	if (strcmp(label, "server") == 0)
		str_copy(out, "Server", size);
	else if (strcmp(label, "cache") == 0)
		str_copy(out, "Cache", size);
	else
		str_copy(out, s == 0 ? "A" : "B", size);
}

static void print_header(const out_t *o, const json_t *root)
{
	const char *verdict = jstr(root, "verdict");
	const json_t *advice = json_object_get(root, "advice");
	const char *col = strncmp(verdict, "in_sync", 7) == 0 ? GREEN : strcmp(verdict, "incomplete") == 0 ? YELLOW : RED;
	fprintf(o->fp, "%sVerdict: %s%s (exit %lld)\n", c_on(o, BOLD), verdict, c_off(o), jint(root, "exit_code"));
	char first[16];
	snprintf(first, sizeof first, "%s", "");
	fputs(c_on(o, col), o->fp);
	put_wrapped(o, first, 0, jstr(advice, "title"));
	fputs(c_off(o), o->fp);
	fputc('\n', o->fp);
	const json_t *sides = json_object_get(root, "sides");
	for (size_t s = 0; s < 2; s++) {
		const json_t *sd = json_array_get(sides, s);
		char line[1024];
		snprintf(line, sizeof line, "%-7s %s %s%s%s, captured %s, %lld folders, %lld items", jstr(sd, "label"),
		         jstr(sd, "source"), jstr(sd, "mailbox"), *jstr(sd, "mailbox") ? " " : "",
		         *jstr(sd, "file") ? jstr(sd, "file") : jstr(sd, "server"),
		         *jstr(sd, "captured") ? jstr(sd, "captured") : "?", jint(sd, "folders"), jint(sd, "items"));
		put_wrapped(o, "", 8, line);
	}
	const json_t *sum = json_object_get(root, "summary");
	const char *lab[2] = {jstr(json_array_get(sides, 0), "label"), jstr(json_array_get(sides, 1), "label")};
	char line[512];
	snprintf(line, sizeof line,
	         "Items: matched %lld, differing %lld, missing on %s %lld, missing on %s %lld, expected %lld, "
	         "unverified %lld; %lld findings need action.",
	         jint(sum, "matched"), jint(sum, "differing"), lab[0], jat(sum, "missing_on", 0), lab[1],
	         jat(sum, "missing_on", 1), jint(sum, "expected"), jint(sum, "unverified"), jint(sum, "findings"));
	put_wrapped(o, "", 0, line);
	const json_t *w = json_object_get(root, "sync_window");
	if (json_is_true(json_object_get(w, "applied"))) {
		if (strcmp(jstr(w, "mode"), "inferred") == 0)
			snprintf(line, sizeof line,
			         "Sync window: inferred from the data, about %lld days (cache holds no mail before %s); "
			         "%lld older server items are expected to be missing.",
			         jint(w, "inferred_days"), jstr(w, "cutoff"), jint(w, "items_outside"));
		else
			snprintf(line, sizeof line, "Sync window: %s (cutoff %s); %lld older server items are expected to be missing.",
			         jstr(w, "option"), jstr(w, "cutoff"), jint(w, "items_outside"));
		put_wrapped(o, "", 0, line);
	}
	fputc('\n', o->fp);
}

static void print_table(const out_t *o, const json_t *root)
{
	char hs[2][16];
	side_header(root, 0, hs[0], sizeof hs[0]);
	side_header(root, 1, hs[1], sizeof hs[1]);
	int name_w = o->width - 7 * 7 - 1;
	if (name_w < 12)
		name_w = 12;
	char m0[16], m1[16];
	snprintf(m0, sizeof m0, "No%.4s", hs[0]);
	snprintf(m1, sizeof m1, "No%.4s", hs[1]);
	fprintf(o->fp, "%s%-*s %6.6s %6.6s %6s %6s %6.6s %6.6s %6s%s\n", c_on(o, BOLD), name_w, "Folder", hs[0], hs[1],
	        "Match", "Diff", m0, m1, "Expct", c_off(o));
	const json_t *rows = json_object_get(root, "folders"), *row;
	size_t i, hidden = 0;
	json_array_foreach(rows, i, row) {
		long long c0 = jat(row, "count", 0), c1 = jat(row, "count", 1), miss0 = jat(row, "missing_on", 0),
		          miss1 = jat(row, "missing_on", 1);
		const json_t *paths = json_object_get(row, "paths");
		bool one_sided = json_is_null(json_array_get(paths, 0)) || json_is_null(json_array_get(paths, 1));
		bool interesting = c0 || c1 || jint(row, "findings") || jint(row, "expected") || jint(row, "differing") ||
		                   miss0 || miss1 || jint(row, "unverified") ||
		                   (one_sided && !json_object_get(row, "by_design"));
		if (!interesting) {
			hidden++;
			continue;
		}
		bool bad = jint(row, "findings") > 0;
		fputs(c_on(o, bad ? RED : ""), o->fp);
		put_cut(o, jstr(row, "folder"), (size_t)name_w, (size_t)name_w);
		char cnt[2][16];
		for (int s = 0; s < 2; s++) {
			if (json_is_null(json_array_get(paths, (size_t)s)))
				snprintf(cnt[s], sizeof cnt[s], "-");
			else
				snprintf(cnt[s], sizeof cnt[s], "%lld", s ? c1 : c0);
		}
		fprintf(o->fp, " %6s %6s %6lld %6lld %6lld %6lld %6lld%s\n", cnt[0], cnt[1], jint(row, "matched"),
		        jint(row, "differing"), miss0, miss1, jint(row, "expected"), c_off(o));
	}
	if (hidden)
		fprintf(o->fp, "%s(%zu empty folders without differences not shown)%s\n", c_on(o, DIM), hidden, c_off(o));
	fprintf(o->fp, "%s'-': no such folder on that side. No%.4s/No%.4s: items missing on that side.%s\n",
	        c_on(o, DIM), hs[0], hs[1], c_off(o));
	/* Folders whose items came without keys: they were paired by class, subject, date and folder. */
	for (int s = 0; s < 2; s++) {
		size_t n = 0;
		const char *first = NULL;
		json_array_foreach(rows, i, row) {
			if (jat(row, "keyless", (size_t)s) > 0 && n++ == 0)
				first = jstr(row, "folder");
		}
		if (n)
			fprintf(o->fp, "%sNo source keys on the %s side in %zu folder%s (%s%s): items there were paired by "
			               "class, subject, date and folder.%s\n",
			        c_on(o, DIM), jstr(json_array_get(json_object_get(root, "sides"), (size_t)s), "label"), n,
			        n == 1 ? "" : "s", first ? first : "", n > 1 ? ", ..." : "", c_off(o));
	}
	fputc('\n', o->fp);
}

static int kind_rank(const char *k)
{
	static const char *const order[] = {"source_incomplete", "file_damaged", "folder_unreadable",
	                                    "count_mismatch",    "item_unreadable", "duplicate_key",
	                                    "folder_missing",    "item_missing", "item_changed",
	                                    "item_moved",        "folder_moved", "folder_renamed", NULL};
	for (int i = 0; order[i]; i++)
		if (strcmp(k, order[i]) == 0)
			return i;
	return 99;
}

typedef struct {
	int rank;
	size_t index;
	const json_t *f;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void print_finding(const out_t *o, const json_t *f)
{
	char line[2048];
	const char *kind = jstr(f, "kind");
	const char *side = jstr(f, "side_label");
	char where[64] = "";
	if (strcmp(kind, "item_missing") == 0 || strcmp(kind, "folder_missing") == 0)
		snprintf(where, sizeof where, " (missing on %s)", side);
	else if (*side && strcmp(kind, "item_changed") != 0 && strcmp(kind, "item_moved") != 0)
		snprintf(where, sizeof where, " (%s)", side);
	snprintf(line, sizeof line, "- %s%s: %s", kind, where, *jstr(f, "folder") ? jstr(f, "folder") : strcmp(jstr(f, "category"), "integrity") == 0 ? "(the whole file)" : "(no folder)");
	put_wrapped(o, "", 4, line);
	line[0] = '\0';
	size_t n = 0;
	if (*jstr(f, "subject"))
		n += (size_t)snprintf(line + n, sizeof line - n, "\"%s\" ", jstr(f, "subject"));
	if (*jstr(f, "class") && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s ", jstr(f, "class"));
	if (*jstr(f, "date") && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "%.10s ", jstr(f, "date"));
	const json_t *ev = json_object_get(f, "evidence"), *e;
	size_t i;
	json_array_foreach(ev, i, e) {
		const json_t *v = json_object_get(e, "values");
		char *a = json_dumps(json_array_get(v, 0), JSON_ENCODE_ANY), *b = json_dumps(json_array_get(v, 1), JSON_ENCODE_ANY);
		if (n < sizeof line)
			n += (size_t)snprintf(line + n, sizeof line - n, "%s %s -> %s; ", jstr(e, "property"), a ? a : "?",
			                      b ? b : "?");
		free(a);
		free(b);
	}
	if (*jstr(f, "newer") && strcmp(jstr(f, "newer"), "unknown") != 0 && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "newer: %s; ", jstr(f, "newer"));
	const json_t *err = json_object_get(f, "error");
	if (err && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s ", jstr(err, "message"));
	if (strcmp(kind, "count_mismatch") == 0 && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s stored %lld, found %lld ", jstr(f, "what"),
		                      jint(f, "stored"), jint(f, "found"));
	if (strcmp(kind, "file_damaged") == 0 && *jstr(f, "what") && n < sizeof line)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s ", jstr(f, "what"));
	if (json_is_true(json_object_get(f, "summarized"))) {
		const json_t *d = json_object_get(f, "dates");
		snprintf(line, sizeof line, "%lld more like this in this folder, summed up (dated %.10s to %.10s)",
		         jint(f, "count"), jstr(d, "oldest"), jstr(d, "newest"));
	}
	if (*line)
		put_wrapped(o, "    ", 4, line);
	put_wrapped(o, "    -> ", 7, jstr(f, "action"));
}

static void print_findings(const out_t *o, const json_t *root, size_t max)
{
	const json_t *fs = json_object_get(root, "findings"), *f;
	size_t n = json_array_size(fs), k = 0, i;
	ranked *rk = calloc(n + 1, sizeof *rk);
	if (!rk)
		return;
	json_array_foreach(fs, i, f) {
		if (json_is_true(json_object_get(f, "expected")))
			continue;
		rk[k++] = (ranked){kind_rank(jstr(f, "kind")), i, f};
	}
	if (k) {
		qsort(rk, k, sizeof *rk, ranked_cmp);
		fprintf(o->fp, "%sFindings that need action (%zu", c_on(o, BOLD), k);
		if (k > max)
			fprintf(o->fp, ", the first %zu shown; all are in the JSON report", max);
		fprintf(o->fp, "):%s\n", c_off(o));
		for (size_t j = 0; j < k && j < max; j++)
			print_finding(o, rk[j].f);
		fputc('\n', o->fp);
	}
	/* Expected differences, summed by reason. */
	const char *reasons[16];
	long long counts[16];
	size_t nr = 0;
	long long notes = 0;
	json_array_foreach(fs, i, f) {
		if (!json_is_true(json_object_get(f, "expected")))
			continue;
		if (strcmp(jstr(f, "category"), "integrity") == 0) {
			notes += jint(f, "count");
			continue;
		}
		const char *why = jstr(f, "why");
		size_t r = 0;
		while (r < nr && strcmp(reasons[r], why) != 0)
			r++;
		if (r == nr) {
			if (nr == 16)
				continue;
			reasons[nr] = why;
			counts[nr++] = 0;
		}
		counts[r] += jint(f, "count");
	}
	if (nr) {
		fprintf(o->fp, "%sExpected differences (not problems):%s\n", c_on(o, BOLD), c_off(o));
		for (size_t r = 0; r < nr; r++) {
			char first[32];
			snprintf(first, sizeof first, "%8lld  ", counts[r]);
			put_wrapped(o, first, 10, reasons[r]);
		}
		fputc('\n', o->fp);
	}
	if (notes) {
		char line[256];
		snprintf(line, sizeof line,
		         "Note: %lld unreadable part(s) in folders that are not compared (search folders and the "
		         "like); listed in the JSON report.",
		         notes);
		put_wrapped(o, "", 0, line);
		fputc('\n', o->fp);
	}
	free(rk);
}

static void print_advice(const out_t *o, const json_t *root)
{
	const json_t *a = json_object_get(root, "advice"), *v;
	size_t i;
	fprintf(o->fp, "%sAdvice:%s\n", c_on(o, BOLD), c_off(o));
	put_wrapped(o, "  ", 2, jstr(a, "title"));
	const json_t *folders = json_object_get(a, "folders");
	if (json_array_size(folders)) {
		fprintf(o->fp, "  Folders with differences:\n");
		json_array_foreach(folders, i, v) {
			fputs("    ", o->fp);
			put_cut(o, json_string_value(v), (size_t)o->width - 4, 0);
			fputc('\n', o->fp);
		}
	}
	json_array_foreach(json_object_get(a, "steps"), i, v) {
		char first[16];
		snprintf(first, sizeof first, "  %zu. ", i + 1);
		put_wrapped(o, first, 5, json_string_value(v));
	}
	const json_t *ex = json_object_get(root, "export_before_rebuild");
	if (json_array_size(ex)) {
		fputc('\n', o->fp);
		fprintf(o->fp, "%sExport before rebuilding:%s\n", c_on(o, BOLD YELLOW), c_off(o));
		char line[256];
		snprintf(line, sizeof line,
		         "%lld item(s) exist only in the cache (or could not be checked on the server); a rebuild or "
		         "resync would lose them:",
		         jint(a, "export_count"));
		put_wrapped(o, "  ", 2, line);
		json_array_foreach(ex, i, v) {
			if (i == 10) {
				fprintf(o->fp, "    ... and %lld more (see the JSON report)\n", jint(a, "export_count") - 10);
				break;
			}
			char item[1024];
			snprintf(item, sizeof item, "%s  \"%s\"  %.10s%s", jstr(v, "folder"), jstr(v, "subject"), jstr(v, "date"),
			         json_is_true(json_object_get(v, "unverified")) ? "  (unverified)" : "");
			fputs("    ", o->fp);
			put_cut(o, item, (size_t)o->width - 4, 0);
			fputc('\n', o->fp);
		}
	}
}

void report_print_text(const report_t *rep, FILE *fp, const report_text_options *opt)
{
	out_t o = {fp, opt && opt->color, opt && opt->width >= 40 ? opt->width : 80};
	size_t max = opt && opt->max_findings ? opt->max_findings : 20;
	print_header(&o, rep->root);
	print_table(&o, rep->root);
	print_findings(&o, rep->root, max);
	print_advice(&o, rep->root);
}
