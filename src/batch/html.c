/* html.c: the HTML pages of a batch run: each mailbox's report rendered from its JSON report, and
 * the index page that links them (report_save_html_index). */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The folder of a path ("." when none), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* The link from the index's folder to `target`: relative when it lies below it, else absolute. */
static void link_to(const char *index_dir_real, const char *target, char *out, size_t size)
{
	char real[PATH_MAX];
	if (!realpath(target, real)) {
		str_copy(out, target, size);
		return;
	}
	size_t n = strlen(index_dir_real);
	if (strncmp(real, index_dir_real, n) == 0 && real[n] == '/')
		str_copy(out, real + n + 1, size);
	else
		str_copy(out, real, size);
}

int batch_write_html(const batch_summary *s, const char *index_path, const scan_compare_options *compare,
                     or_error *err)
{
	bool redact = compare && compare->redact;
	report_index_entry *ix = calloc(s->n ? s->n : 1, sizeof *ix);
	char **names = calloc(s->n ? s->n : 1, sizeof *names), **hrefs = calloc(s->n ? s->n : 1, sizeof *hrefs);
	char **errors = calloc(s->n ? s->n : 1, sizeof *errors);
	char *index_dir = dir_of(index_path), index_real[PATH_MAX];
	int rc = 0;
	if (!ix || !names || !hrefs || !errors || !index_dir) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!realpath(index_dir, index_real)) {
		rc = or_fail(err, OR_ERR_IO, "cannot write the index page %s: no folder %s", index_path, index_dir);
		goto out;
	}
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		const batch_entry *e = &s->entries[i];
		report_index_entry *x = &ix[i];
		const char *name = e->label ? e->label : e->mailbox ? e->mailbox : "?";
		const char *known[] = {e->label, e->mailbox, e->cache, name};
		if (redact) {
			char h[22];
			report_hash(compare->key, compare->key_len, name, h);
			names[i] = strdup(h);
			if (*e->error)
				errors[i] = report_redact_text(compare->key, compare->key_len, e->error, known, 4);
		} else {
			names[i] = strdup(name);
			if (*e->error)
				errors[i] = strdup(e->error);
		}
		x->name = names[i];
		x->line = e->line;
		x->error = errors[i];
		x->verdict = e->status == ENTRY_DONE ? e->verdict : NULL;
		x->exit_code = e->exit_code;
		x->items[0] = e->items[0];
		x->items[1] = e->items[1];
		for (int k = 0; k < FIND_KIND_COUNT; k++)
			x->findings += e->by_kind[k];
		x->expected = e->expected;
		x->only_in_cache = e->only_in_cache;
		x->seconds = e->seconds;
		x->resumed = e->resumed;
		if (e->status != ENTRY_DONE || !e->report)
			continue;
		/* reports/NAME.json -> reports/NAME.html (r-HASH.html when redacted) */
		report_t *rep = NULL;
		or_error lerr = {0};
		if (report_load(&rep, e->report, &lerr) != 0) {
			log_warn("%s: no HTML page: %s", e->report, lerr.message);
			continue;
		}
		char html[1400], *dir = dir_of(e->report);
		const char *base = strrchr(e->report, '/') ? strrchr(e->report, '/') + 1 : e->report;
		if (redact) {
			char h[22];
			report_hash(compare->key, compare->key_len, base, h);
			snprintf(html, sizeof html, "%s/r-%s.html", dir ? dir : ".", h + 5);
		} else {
			snprintf(html, sizeof html, "%s/%.*s.html", dir ? dir : ".",
			         (int)(strlen(base) > 5 && strcmp(base + strlen(base) - 5, ".json") == 0 ? strlen(base) - 5 : strlen(base)), base);
		}
		free(dir);
		rc = report_save_html(rep, html, err);
		report_free(rep);
		if (rc == 0) {
			char link[PATH_MAX];
			link_to(index_real, html, link, sizeof link);
			hrefs[i] = strdup(link);
			x->href = hrefs[i];
		}
	}
	if (rc == 0) {
		char title[600];
		if (redact)
			snprintf(title, sizeof title, "Batch run%s", s->shard_n ? " (a shard)" : "");
		else
			snprintf(title, sizeof title, "Batch run of %s", s->manifest ? s->manifest : "a manifest");
		if (s->shard_n)
			snprintf(title + strlen(title), sizeof title - strlen(title), ", shard %d of %d", s->shard_k, s->shard_n);
		rc = report_save_html_index(index_path, title, ix, s->n, err);
	}
out:
	for (size_t i = 0; names && i < s->n; i++)
		free(names[i]);
	for (size_t i = 0; hrefs && i < s->n; i++)
		free(hrefs[i]);
	for (size_t i = 0; errors && i < s->n; i++)
		free(errors[i]);
	free(names);
	free(hrefs);
	free(errors);
	free(ix);
	free(index_dir);
	return rc;
}
