/* summary.c: the batch summary, one line per mailbox, as JSON and CSV; loading and merging. */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"done", "failed", "bad_row"};

void batch_summary_free(batch_summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		batch_entry *e = &s->entries[i];
		free(e->label);
		free(e->mailbox);
		free(e->cache);
		free(e->report);
		free(e->log);
	}
	free(s->entries);
	free(s->manifest);
	free(s);
}

static void put_opt_string(FILE *fp, const char *name, const char *v, bool comma)
{
	fprintf(fp, "%s\"%s\":", comma ? "," : "", name);
	if (v)
		json_put_string(fp, v);
	else
		fputs("null", fp);
}

void batch_summary_write_json(const batch_summary *s, FILE *fp)
{
	fputs("{\"format\":\"ostrecon-batch-summary\",\"version\":1", fp);
	put_opt_string(fp, "manifest", s->manifest, true);
	if (s->shard_n)
		fprintf(fp, ",\"shard\":{\"k\":%d,\"n\":%d}", s->shard_k, s->shard_n);
	fprintf(fp, ",\"seconds\":%.3f,\"mailboxes\":[", s->seconds);
	for (size_t i = 0; i < s->n; i++) {
		const batch_entry *e = &s->entries[i];
		fprintf(fp, "%s\n{\"line\":%ld,\"row\":%ld", i ? "," : "", e->line, e->index);
		put_opt_string(fp, "label", e->label, true);
		put_opt_string(fp, "mailbox", e->mailbox, true);
		put_opt_string(fp, "cache", e->cache, true);
		fprintf(fp, ",\"status\":\"%s\"", status_names[e->status]);
		put_opt_string(fp, "verdict", *e->verdict ? e->verdict : NULL, true);
		fprintf(fp, ",\"exit_code\":%d,\"findings\":{", e->exit_code);
		for (int k = 0; k < FIND_KIND_COUNT; k++)
			fprintf(fp, "%s\"%s\":%zu", k ? "," : "", diff_kind_name((diff_kind)k), e->by_kind[k]);
		fprintf(fp, "},\"expected\":%zu,\"only_in_cache\":%zu,\"items\":[%lld,%lld],\"seconds\":%.3f,\"requests\":%ld,"
		            "\"resumed\":%s",
		        e->expected, e->only_in_cache, (long long)e->items[0], (long long)e->items[1], e->seconds, e->requests,
		        e->resumed ? "true" : "false");
		put_opt_string(fp, "report", e->report, true);
		if (e->log)
			put_opt_string(fp, "log", e->log, true);
		put_opt_string(fp, "error", *e->error ? e->error : NULL, true);
		fputs("}", fp);
	}
	fputs("\n]}\n", fp);
}

static void csv_field(FILE *fp, const char *v)
{
	if (!v)
		return;
	bool quote = strpbrk(v, ",\"\r\n") != NULL;
	if (!quote) {
		fputs(v, fp);
		return;
	}
	putc('"', fp);
	for (const char *p = v; *p; p++) {
		if (*p == '"')
			putc('"', fp);
		putc(*p, fp);
	}
	putc('"', fp);
}

static void write_csv(const batch_summary *s, FILE *fp)
{
	fputs("line,label,mailbox,status,verdict", fp);
	for (int k = 0; k < FIND_KIND_COUNT; k++)
		fprintf(fp, ",%s", diff_kind_name((diff_kind)k));
	fputs(",expected,only_in_cache,server_items,cache_items,seconds,requests,report,error\n", fp);
	for (size_t i = 0; i < s->n; i++) {
		const batch_entry *e = &s->entries[i];
		fprintf(fp, "%ld,", e->line);
		csv_field(fp, e->label);
		putc(',', fp);
		csv_field(fp, e->mailbox);
		fprintf(fp, ",%s,%s", status_names[e->status], e->verdict);
		for (int k = 0; k < FIND_KIND_COUNT; k++)
			fprintf(fp, ",%zu", e->by_kind[k]);
		fprintf(fp, ",%zu,%zu,%lld,%lld,%.1f,%ld,", e->expected, e->only_in_cache, (long long)e->items[0],
		        (long long)e->items[1], e->seconds, e->requests);
		csv_field(fp, e->report);
		putc(',', fp);
		csv_field(fp, e->error);
		putc('\n', fp);
	}
}

int batch_entry_save(const batch_entry *e, const char *path, or_error *err)
{
	batch_summary one = {.entries = (batch_entry *)e, .n = 1};
	atomic_file af;
	int rc = atomic_open(&af, path, err);
	if (rc)
		return rc;
	batch_summary_write_json(&one, af.fp);
	return atomic_commit(&af, err);
}

int batch_summary_save(const batch_summary *s, const char *dir, or_error *err)
{
	char base[64], path[1200];
	if (s->shard_n)
		snprintf(base, sizeof base, "summary-%d-of-%d", s->shard_k, s->shard_n);
	else
		str_copy(base, "summary", sizeof base);
	for (int fmt = 0; fmt < 2; fmt++) {
		snprintf(path, sizeof path, "%s/%s.%s", dir, base, fmt ? "csv" : "json");
		atomic_file af;
		int rc = atomic_open(&af, path, err);
		if (rc)
			return rc;
		if (fmt)
			write_csv(s, af.fp);
		else
			batch_summary_write_json(s, af.fp);
		if ((rc = atomic_commit(&af, err)) != 0)
			return rc;
	}
	return 0;
}

static char *dup_str(json_t *o, const char *name)
{
	const char *v = json_string_value(json_object_get(o, name));
	return v ? strdup(v) : NULL;
}

static int add_entry(batch_summary *s, batch_entry **out)
{
	*out = or_append((void **)&s->entries, &s->n, &s->cap, sizeof **out);
	return *out ? 0 : OR_ERR_NOMEM;
}

int batch_summary_load(const char *path, batch_summary **out, or_error *err)
{
	*out = NULL;
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return or_fail(err, OR_ERR_FORMAT, "%s: not a JSON file: %s (line %d)", path, je.text, je.line);
	int rc = 0;
	batch_summary *s = calloc(1, sizeof *s);
	json_t *arr = json_object_get(root, "mailboxes");
	if (!s) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strcmp(json_string_value(json_object_get(root, "format")) ?: "", "ostrecon-batch-summary") != 0 ||
	    json_integer_value(json_object_get(root, "version")) != 1 || !json_is_array(arr)) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s is not an ostrecon batch summary (version 1)", path);
		goto out;
	}
	s->manifest = dup_str(root, "manifest");
	json_t *shard = json_object_get(root, "shard");
	s->shard_k = (int)json_integer_value(json_object_get(shard, "k"));
	s->shard_n = (int)json_integer_value(json_object_get(shard, "n"));
	s->seconds = json_number_value(json_object_get(root, "seconds"));
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		batch_entry *e;
		if (add_entry(s, &e) != 0) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		e->line = (long)json_integer_value(json_object_get(o, "line"));
		e->index = (long)json_integer_value(json_object_get(o, "row"));
		e->label = dup_str(o, "label");
		e->mailbox = dup_str(o, "mailbox");
		e->cache = dup_str(o, "cache");
		e->report = dup_str(o, "report");
		e->log = dup_str(o, "log");
		const char *st = json_string_value(json_object_get(o, "status"));
		e->status = ENTRY_FAILED;
		for (int k = 0; k < 3; k++)
			if (st && strcmp(st, status_names[k]) == 0)
				e->status = (batch_status)k;
		str_copy(e->verdict, json_string_value(json_object_get(o, "verdict")) ?: "", sizeof e->verdict);
		e->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
		json_t *f = json_object_get(o, "findings");
		for (int k = 0; k < FIND_KIND_COUNT; k++)
			e->by_kind[k] = (size_t)json_integer_value(json_object_get(f, diff_kind_name((diff_kind)k)));
		e->expected = (size_t)json_integer_value(json_object_get(o, "expected"));
		e->only_in_cache = (size_t)json_integer_value(json_object_get(o, "only_in_cache"));
		json_t *items = json_object_get(o, "items");
		e->items[0] = json_integer_value(json_array_get(items, 0));
		e->items[1] = json_integer_value(json_array_get(items, 1));
		e->seconds = json_number_value(json_object_get(o, "seconds"));
		e->requests = (long)json_integer_value(json_object_get(o, "requests"));
		e->resumed = json_is_true(json_object_get(o, "resumed"));
		str_copy(e->error, json_string_value(json_object_get(o, "error")) ?: "", sizeof e->error);
	}
	*out = s;
	s = NULL;
out:
	json_decref(root);
	batch_summary_free(s);
	return rc;
}

static int by_line(const void *a, const void *b)
{
	const batch_entry *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Shards of one manifest, all of them unless `partial`: the shards that are missing, named. */
static int check_shards(batch_summary *const *parts, size_t n, bool partial, or_error *err)
{
	for (size_t p = 1; p < n; p++)
		if (parts[p]->manifest && parts[0]->manifest && strcmp(parts[p]->manifest, parts[0]->manifest) != 0)
			return or_fail(err, OR_ERR_USAGE, "these summaries are of different manifests (%s and %s): they do not "
			               "merge", parts[0]->manifest, parts[p]->manifest);
	int shards = parts[0]->shard_n;
	for (size_t p = 1; p < n; p++)
		if (parts[p]->shard_n != shards)
			return or_fail(err, OR_ERR_USAGE, "these summaries split the manifest differently (%d and %d shards)",
			               shards, parts[p]->shard_n);
	if (shards <= 0 || partial)
		return 0;
	char missing[300] = "";
	int n_missing = 0;
	for (int k = 1; k <= shards; k++) {
		bool have = false;
		for (size_t p = 0; p < n && !have; p++)
			have = parts[p]->shard_k == k;
		if (!have) {
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof missing - len, "%s%d", n_missing++ ? ", " : "", k);
		}
	}
	if (n_missing)
		return or_fail(err, OR_ERR_NOTFOUND, "shard%s %s of %d %s missing: merge them all, or give --partial for a "
		               "summary of these alone", n_missing > 1 ? "s" : "", missing, shards, n_missing > 1 ? "are" : "is");
	return 0;
}

int batch_summary_merge(batch_summary *const *parts, size_t n, bool partial, batch_summary **out, or_error *err)
{
	*out = NULL;
	int rc = n ? check_shards(parts, n, partial, err) : 0;
	if (rc)
		return rc;
	batch_summary *s = calloc(1, sizeof *s);
	if (!s)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t p = 0; p < n; p++) {
		if (!s->manifest)
			s->manifest = dup_or_null(parts[p]->manifest);
		if (parts[p]->seconds > s->seconds)
			s->seconds = parts[p]->seconds; /* shards run side by side */
		for (size_t i = 0; i < parts[p]->n; i++) {
			batch_entry *e;
			if (add_entry(s, &e) != 0) {
				batch_summary_free(s);
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
			}
			*e = parts[p]->entries[i];
			e->label = dup_or_null(e->label);
			e->mailbox = dup_or_null(e->mailbox);
			e->cache = dup_or_null(e->cache);
			e->report = dup_or_null(e->report);
			e->log = dup_or_null(e->log);
		}
	}
	qsort(s->entries, s->n, sizeof *s->entries, by_line);
	for (size_t i = 1; i < s->n; i++)
		if (s->entries[i].index == s->entries[i - 1].index) {
			long line = s->entries[i].line;
			batch_summary_free(s);
			return or_fail(err, OR_ERR_FORMAT, "manifest line %ld appears in two summaries: overlapping shards?", line);
		}
	*out = s;
	return 0;
}

int batch_summary_exit_code(const batch_summary *s)
{
	int worst = 0;
	for (size_t i = 0; i < s->n; i++) {
		const batch_entry *e = &s->entries[i];
		int code = e->status != ENTRY_DONE ? 3 : e->exit_code;
		if (code > worst)
			worst = code;
	}
	return worst;
}

static const char *verdict_words(const batch_entry *e)
{
	if (e->status == ENTRY_BAD_ROW)
		return "bad manifest row";
	if (e->status != ENTRY_DONE)
		return "failed";
	if (strcmp(e->verdict, "resync_folders") == 0)
		return "resync folders";
	if (strcmp(e->verdict, "rebuild_ost") == 0)
		return "rebuild the OST";
	if (strcmp(e->verdict, "incomplete") == 0)
		return "incomplete";
	return "in sync";
}

void batch_summary_print(const batch_summary *s, FILE *fp, int width, bool all)
{
	size_t kinds[REPORT_V_KINDS] = {0}, failed = 0, local = 0, resumed = 0;
	if (width < 40)
		width = 80;
	for (size_t i = 0; i < s->n; i++) {
		const batch_entry *e = &s->entries[i];
		if (e->status != ENTRY_DONE)
			failed++;
		else
			kinds[report_verdict_kind_of(e->verdict)]++;
		if (e->status == ENTRY_DONE && e->only_in_cache)
			local++;
		resumed += e->resumed;
	}
	size_t in_sync = kinds[REPORT_V_IN_SYNC], resync = kinds[REPORT_V_RESYNC], rebuild = kinds[REPORT_V_REBUILD],
	       incomplete = kinds[REPORT_V_INCOMPLETE];
	char line[1024], a[64], b[64];
	snprintf(line, sizeof line, "%s: %zu in sync, %zu %s a folder resync, %zu %s an OST rebuild, %zu incomplete, "
	         "%zu failed; %s with items only in the cache (export first).",
	         report_plural(a, sizeof a, (long long)s->n, "mailbox", "mailboxes"), in_sync, resync,
	         resync == 1 ? "needs" : "need", rebuild, rebuild == 1 ? "needs" : "need", incomplete, failed,
	         report_plural(b, sizeof b, (long long)local, "mailbox", "mailboxes"));
	report_text_wrap(fp, width, "", 2, line);
	if (resumed) {
		snprintf(line, sizeof line, "(%s taken from an earlier run)", report_plural(a, sizeof a, (long long)resumed,
		         "mailbox", "mailboxes"));
		report_text_wrap(fp, width, "", 1, line);
	}
	/* One line per mailbox that needs a look (every one with --all): its manifest line, its name
	 * shortened in the middle, what it needs; the reason of a failure wrapped below. */
	size_t name_w = width >= 100 ? 40 : width >= 70 ? 32 : (size_t)(width > 40 ? width - 26 : 14);
	for (size_t i = 0; i < s->n; i++) {
		const batch_entry *e = &s->entries[i];
		if (!all && e->status == ENTRY_DONE && strncmp(e->verdict, "in_sync", 7) == 0)
			continue;
		char name[512], first[640];
		report_text_shorten(e->label ? e->label : e->mailbox ? e->mailbox : "?", name_w, false, name, sizeof name);
		size_t pad = name_w - report_text_cols(name);
		snprintf(first, sizeof first, "  line %-4ld %s%*s  ", e->line, name, (int)pad, "");
		const char *why = e->status != ENTRY_DONE ? e->error : e->only_in_cache ? "items only in the cache: export first" : "";
		snprintf(line, sizeof line, "%s%s%s", verdict_words(e), *why ? ": " : "", why);
		int indent = (int)report_text_cols(first);
		report_text_wrap(fp, width, first, width - indent >= 30 ? indent : 4, line);
	}
}
