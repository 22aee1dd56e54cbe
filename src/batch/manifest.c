/* manifest.c: the batch manifest (CSV, read with libcsv). */
#include "batch.h"

#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELD 4096
#define MAX_ROWS 1000000

enum { COL_MAILBOX, COL_CACHE, COL_URL, COL_API, COL_WINDOW, COL_LABEL, N_COLS, COL_UNKNOWN = -1 };
static const char *const col_names[N_COLS] = {"mailbox", "cache", "url", "api", "sync_window", "label"};

typedef struct {
	batch_manifest *m;
	int col_of[64];     /* column position -> COL_* */
	int n_header;
	bool header_done;
	char header_error[300];
	/* the row being read */
	char *fields[64];
	int n_fields;
	bool too_wide, too_long;
	long line, row_line;
	bool failed;        /* out of memory */
	/* String offsets per row and column (+1; 0 = absent): the storage moves while it grows, so
	 * the rows get their pointers once everything is read. */
	size_t (*offs)[N_COLS];
} reader;

static int store(batch_manifest *m, const char *s, size_t n, size_t *offset)
{
	if (m->strings_len + n + 1 > m->strings_cap) {
		size_t cap = m->strings_cap ? m->strings_cap * 2 : 4096;
		while (cap < m->strings_len + n + 1)
			cap *= 2;
		char *p = realloc(m->strings, cap);
		if (!p)
			return -1;
		m->strings = p;
		m->strings_cap = cap;
	}
	memcpy(m->strings + m->strings_len, s, n);
	m->strings[m->strings_len + n] = '\0';
	*offset = m->strings_len;
	m->strings_len += n + 1;
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void on_field(void *data, size_t len, void *ud)
{
	reader *r = ud;
	if (r->n_fields == 0)
		r->row_line = r->line;
	if (r->n_fields >= 64) {
		r->too_wide = true;
		return;
	}
	if (len > MAX_FIELD) {
		r->too_long = true;
		len = MAX_FIELD;
	}
	char *f = malloc(len + 1);
	if (!f) {
		r->failed = true;
		return;
	}
	memcpy(f, data ? data : "", len);
	f[len] = '\0';
	r->fields[r->n_fields++] = f;
}

static void header(reader *r)
{
	r->n_header = r->n_fields;
	bool seen[N_COLS] = {false};
	for (int i = 0; i < r->n_fields; i++) {
		char *name = trim(r->fields[i]);
		if (i == 0 && (unsigned char)name[0] == 0xef && (unsigned char)name[1] == 0xbb && (unsigned char)name[2] == 0xbf)
			name += 3; /* a UTF-8 byte order mark, as spreadsheets write it */
		r->col_of[i] = COL_UNKNOWN;
		for (int c = 0; c < N_COLS; c++)
			if (strcasecmp(name, col_names[c]) == 0 || (c == COL_CACHE && (strcasecmp(name, "ost") == 0 ||
			                                                                 strcasecmp(name, "cache_file") == 0)))
				r->col_of[i] = c;
		if (r->col_of[i] == COL_UNKNOWN) {
			snprintf(r->header_error, sizeof r->header_error,
			         "unknown column '%.60s' (columns: mailbox, cache, url, api, sync_window, label; credentials "
			         "never go in the manifest)", name);
			return;
		}
		if (seen[r->col_of[i]]) {
			snprintf(r->header_error, sizeof r->header_error, "column '%.60s' appears twice", name);
			return;
		}
		seen[r->col_of[i]] = true;
	}
	if (!seen[COL_MAILBOX] || !seen[COL_CACHE])
		snprintf(r->header_error, sizeof r->header_error, "the header must name the columns mailbox and cache");
}

static void on_row(int c, void *ud)
{
	reader *r = ud;
	batch_manifest *m = r->m;
	bool blank = r->n_fields == 0 || (r->n_fields == 1 && !*trim(r->fields[0]));
	if (!r->header_done) {
		if (!blank) {
			header(r);
			r->header_done = true;
		}
		goto out;
	}
	/* A refused header leaves columns unmapped: rows that follow it on the same physical line (CR
	 * line ends) must not be stored before the loader sees the error. */
	if (blank || *r->header_error)
		goto out;
	if (m->n_rows >= MAX_ROWS) {
		r->failed = true;
		goto out;
	}
	batch_row *rows = realloc(m->rows, (m->n_rows + 1) * sizeof *rows);
	size_t (*offs)[N_COLS] = rows ? realloc(r->offs, (m->n_rows + 1) * sizeof *offs) : NULL;
	if (rows)
		m->rows = rows;
	if (!offs) {
		r->failed = true;
		goto out;
	}
	r->offs = offs;
	memset(offs[m->n_rows], 0, sizeof offs[0]);
	batch_row *row = &rows[m->n_rows];
	memset(row, 0, sizeof *row);
	row->line = r->row_line;
	row->index = (long)m->n_rows;
	m->n_rows++;
	bool have[N_COLS] = {false};
	for (int i = 0; i < r->n_fields && i < r->n_header; i++) {
		char *v = trim(r->fields[i]);
		size_t off;
		if (!*v)
			continue;
		if (store(m, v, strlen(v), &off) != 0) {
			r->failed = true;
			goto out;
		}
		offs[row->index][r->col_of[i]] = off + 1;
		have[r->col_of[i]] = true;
	}
	if (r->too_wide || r->n_fields > r->n_header)
		row->problem = "more fields than the header has columns";
	else if (r->too_long)
		row->problem = "a field is longer than 4096 bytes";
	else if (!have[COL_MAILBOX])
		row->problem = "no mailbox address";
	else if (!have[COL_CACHE])
		row->problem = "no cache file";
out:
	for (int i = 0; i < r->n_fields; i++)
		free(r->fields[i]);
	r->n_fields = 0;
	r->too_wide = r->too_long = false;
	(void)c;
}

static void fix_pointers(batch_manifest *m, size_t (*offs)[N_COLS])
{
	for (size_t i = 0; i < m->n_rows; i++) {
		batch_row *row = &m->rows[i];
		const char **p[N_COLS] = {&row->mailbox, &row->cache, &row->url, &row->api, &row->sync_window, &row->label};
		for (int k = 0; k < N_COLS; k++)
			*p[k] = offs[i][k] ? m->strings + offs[i][k] - 1 : NULL;
	}
}

static void check_rows(batch_manifest *m)
{
	for (size_t i = 0; i < m->n_rows; i++) {
		batch_row *row = &m->rows[i];
		if (row->problem)
			continue;
		if (!strchr(row->mailbox, '@') || strchr(row->mailbox, ' '))
			row->problem = "the mailbox is not an e-mail address";
		else if (row->url && strncasecmp(row->url, "https://", 8) != 0 && strncasecmp(row->url, "http://", 7) != 0)
			row->problem = "the url is not an http(s):// URL";
		else if (row->api && strcmp(row->api, "ews") != 0 && strcmp(row->api, "graph") != 0 &&
		         strcmp(row->api, "auto") != 0)
			row->problem = "the api is not ews, graph or auto";
		else if (row->sync_window) {
			diff_window w;
			if (diff_window_parse(row->sync_window, &w) != 0)
				row->problem = "bad sync_window (e.g. 12m, 90d, all, infer)";
		}
	}
}

int batch_manifest_load(const char *path, batch_manifest **out, or_error *err)
{
	*out = NULL;
	FILE *fp = or_open_input(path, "manifest", err);
	if (!fp)
		return err ? err->code : OR_ERR_IO;
	batch_manifest *m = calloc(1, sizeof *m);
	struct csv_parser p;
	reader r;
	memset(&r, 0, sizeof r);
	r.m = m;
	int rc = 0;
	if (!m || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		free(m);
		if (fp != stdin)
			fclose(fp);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	/* One physical line at a time, so that rows can be named by their line number. */
	char buf[8192];
	r.line = 1;
	while (fgets(buf, sizeof buf, fp)) {
		size_t n = strlen(buf);
		if (csv_parse(&p, buf, n, on_field, on_row, &r) != n) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: %s (a quote not closed or misplaced?)", path, r.line,
			             csv_strerror(csv_error(&p)));
			goto out;
		}
		if (n && buf[n - 1] == '\n')
			r.line++;
		if (r.failed)
			break;
		if (*r.header_error) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s:1: %s", path, r.header_error);
			goto out;
		}
	}
	if (ferror(fp)) {
		rc = or_fail(err, OR_ERR_IO, "reading %s failed", path);
		goto out;
	}
	if (csv_fini(&p, on_field, on_row, &r) != 0) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s:%ld: %s (a quote not closed?)", path, r.line, csv_strerror(csv_error(&p)));
		goto out;
	}
	if (r.failed) {
		rc = or_fail(err, OR_ERR_NOMEM, "%s: out of memory or more than %d rows", path, MAX_ROWS);
		goto out;
	}
	if (*r.header_error || !r.header_done) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s:1: %s", path, *r.header_error ? r.header_error : "empty manifest (no header)");
		goto out;
	}
	fix_pointers(m, r.offs);
	check_rows(m);
out:
	for (int i = 0; i < r.n_fields; i++)
		free(r.fields[i]);
	csv_free(&p);
	if (fp != stdin)
		fclose(fp);
	free(r.offs);
	if (rc) {
		batch_manifest_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void batch_manifest_free(batch_manifest *m)
{
	if (!m)
		return;
	free(m->rows);
	free(m->strings);
	free(m);
}

int batch_shard_parse(const char *text, int *k, int *n)
{
	long a, b;
	const char *slash = text ? strchr(text, '/') : NULL;
	if (!slash || slash == text)
		return -1;
	char left[32];
	size_t len = (size_t)(slash - text);
	if (len >= sizeof left)
		return -1;
	memcpy(left, text, len);
	left[len] = '\0';
	if (parse_long(left, 1, 100000, &a) != 0 || parse_long(slash + 1, 1, 100000, &b) != 0 || a > b)
		return -1;
	*k = (int)a;
	*n = (int)b;
	return 0;
}
