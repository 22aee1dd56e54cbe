/* run.c: running a manifest: a pool of jobs, one mailbox each, resumable. */
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	char *url;
	pull_gate *gate;
} server_gate;

typedef struct {
	const batch_manifest *m;
	const batch_options *opt;
	char *manifest_dir;
	long *todo;            /* row indices of this run (the shard) */
	char **names;          /* file name of each todo row */
	size_t n_todo, next, done, failed;
	batch_summary *sum;
	server_gate *gates;
	size_t n_gates, cap_gates;
	pthread_mutex_t lock;
	progress_task *prog;   /* the progress line, NULL when not shown */
} batch_ctx;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A file name for a row: its label, else its mailbox; characters outside [A-Za-z0-9._@-] become '_'. */
static char *row_name(const batch_row *row)
{
	const char *src = row->label ? row->label : row->mailbox ? row->mailbox : "row";
	char buf[160];
	size_t n = 0;
	for (const char *p = src; *p && n < 100; p++)
		buf[n++] = (isalnum((unsigned char)*p) || strchr("._@-", *p)) && (p != src || *p != '.') ? *p : '_';
	buf[n] = '\0';
	return strdup(buf);
}

static int make_dir(const char *path, or_error *err)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return or_fail(err, OR_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

/* The gate of a server (made on first use): every job's requests to it go through it. */
static pull_gate *gate_for(batch_ctx *b, const char *url)
{
	pull_gate *g = NULL;
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->n_gates && !g; i++)
		if (strcasecmp(b->gates[i].url, url) == 0)
			g = b->gates[i].gate;
	if (!g && b->n_gates < b->cap_gates) {
		server_gate *sg = &b->gates[b->n_gates];
		or_error err = {0};
		if ((sg->url = strdup(url)) && pull_gate_new(&sg->gate, b->opt->max_server_requests, &err) == 0) {
			g = sg->gate;
			b->n_gates++;
		} else {
			free(sg->url);
			sg->url = NULL;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return g;
}

static void entry_from_row(batch_entry *e, const batch_row *row, const char *report)
{
	memset(e, 0, sizeof *e);
	e->line = row->line;
	e->index = row->index;
	e->label = row->label ? strdup(row->label) : NULL;
	e->mailbox = row->mailbox ? strdup(row->mailbox) : NULL;
	e->cache = row->cache ? strdup(row->cache) : NULL;
	e->report = report ? strdup(report) : NULL;
}

/* An earlier run finished this row when its entry says done and its report loads. */
static bool resume(batch_ctx *b, const char *entry_path, const char *report_path, batch_entry *e)
{
	batch_summary *prev = NULL;
	or_error err = {0};
	if (access(entry_path, R_OK) != 0 || batch_summary_load(entry_path, &prev, &err) != 0)
		return false;
	bool ok = prev->n == 1 && prev->entries[0].status == ENTRY_DONE && prev->entries[0].report &&
	          strcmp(prev->entries[0].report, report_path) == 0;
	report_t *rep = NULL;
	if (ok)
		ok = report_load(&rep, report_path, &err) == 0;
	report_free(rep);
	if (ok) {
		*e = prev->entries[0];
		memset(&prev->entries[0], 0, sizeof prev->entries[0]); /* the strings move to e */
		prev->n = 0;
		e->resumed = true;
	}
	batch_summary_free(prev);
	(void)b;
	return ok;
}

static void run_row(batch_ctx *b, size_t t, batch_entry *e)
{
	const batch_options *o = b->opt;
	const batch_row *row = &b->m->rows[b->todo[t]];
	char report_path[1200], entry_path[1200], snap_dir[1200], cache[4200], log_path[1200];
	snprintf(report_path, sizeof report_path, "%s/reports/%s.json", o->out_dir, b->names[t]);
	snprintf(log_path, sizeof log_path, "%s/reports/%s.log", o->out_dir, b->names[t]);
	snprintf(entry_path, sizeof entry_path, "%s/entries/%s.json", o->out_dir, b->names[t]);
	snprintf(snap_dir, sizeof snap_dir, "%s/snapshots/%s", o->out_dir, b->names[t]);
	double t0 = now_s();
	if (!o->force && !row->problem && resume(b, entry_path, report_path, e))
		return;
	entry_from_row(e, row, NULL);
	if (row->problem) {
		e->status = ENTRY_BAD_ROW;
		snprintf(e->error, sizeof e->error, "manifest line %ld: %s", row->line, row->problem);
		e->exit_code = 3;
		return;
	}
	/* From here on, what this thread logs also goes to the mailbox's own log. */
	or_error lerr = {0};
	log_sink *log = o->mailbox_logs ? log_sink_open(log_path, false, &lerr) : NULL;
	if (o->mailbox_logs && !log)
		log_warn("%s", lerr.message);
	if (log) {
		e->log = strdup(log_path);
		log_set_thread_sink(log);
		log_verbose("mailbox %s (manifest line %ld), cache file %s", row->mailbox, row->line, row->cache);
	}
	if (row->cache[0] == '/' || !b->manifest_dir)
		str_copy(cache, row->cache, sizeof cache);
	else
		snprintf(cache, sizeof cache, "%s/%s", b->manifest_dir, row->cache);
	struct stat st;
	or_error err = {0};
	if (stat(cache, &st) != 0 || !S_ISREG(st.st_mode)) {
		e->status = ENTRY_FAILED;
		snprintf(e->error, sizeof e->error, "cache file %s: %s", cache,
		         stat(cache, &st) != 0 ? strerror(errno) : "not a regular file");
		goto save;
	}
	scan_options so;
	memset(&so, 0, sizeof so);
	so.ost_path = cache;
	so.recover = o->recover;
	so.reader = o->reader;
	if (o->server_for(o->server_ctx, row, &so.server, &err) != 0) {
		e->status = ENTRY_FAILED;
		str_copy(e->error, err.message, sizeof e->error);
		goto save;
	}
	pull_options *po = scan_server_pull(&so.server);
	po->gate = gate_for(b, po->url);
	po->progress = false;
	so.snapshot_dir = o->keep_snapshots ? snap_dir : NULL;
	so.report_path = report_path;
	so.compare = o->compare;
	if (row->sync_window)
		diff_window_parse(row->sync_window, &so.compare.diff.window);
	report_t *rep = NULL;
	scan_outcome out;
	if (scan_run(&so, &rep, &out, &err) != 0) {
		e->status = ENTRY_FAILED;
		str_copy(e->error, err.message, sizeof e->error);
		e->requests = out.requests;
	} else {
		e->status = ENTRY_DONE;
		e->report = strdup(report_path);
		str_copy(e->verdict, diff_verdict_name(out.verdict), sizeof e->verdict);
		e->exit_code = out.exit_code;
		memcpy(e->by_kind, out.by_kind, sizeof e->by_kind);
		e->expected = out.expected;
		e->only_in_cache = out.only_in_cache;
		e->items[0] = out.items[0];
		e->items[1] = out.items[1];
		e->requests = out.requests;
	}
	report_free(rep);
save:
	if (e->status != ENTRY_DONE)
		e->exit_code = 3; /* what a scan of that mailbox alone exits with */
	e->seconds = now_s() - t0;
	if (log) {
		log_verbose("mailbox %s: %s%s%s (%.1f s, %ld requests)", row->mailbox,
		            e->status == ENTRY_DONE ? e->verdict : "failed", *e->error ? ": " : "", e->error, e->seconds,
		            e->requests);
		log_set_thread_sink(NULL);
		log_sink_close(log);
	}
	/* The entry is written after the report: an entry that says "done" always has its report. */
	if (batch_entry_save(e, entry_path, &err) != 0)
		log_warn("%s", err.message);
}

/* The progress line: mailboxes done of the run's, running, failed, time left. Called with the lock held. */
static void progress(batch_ctx *b, bool final)
{
	if (!b->prog)
		return;
	progress_state st;
	progress_state_init(&st);
	st.eta_count = progress_state_count(&st, "mailboxes", (int64_t)b->done, (int64_t)b->n_todo);
	st.running = (int64_t)b->next - (int64_t)b->done; /* rows claimed and not yet finished */
	st.failed = (int64_t)b->failed;
	if (final) {
		progress_finish(b->prog, &st);
		b->prog = NULL;
	} else {
		progress_update(b->prog, &st);
	}
}

static void *worker(void *arg)
{
	batch_ctx *b = arg;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		size_t t = b->next < b->n_todo ? b->next++ : b->n_todo;
		progress(b, false);
		pthread_mutex_unlock(&b->lock);
		if (t >= b->n_todo)
			return NULL;
		batch_entry e;
		run_row(b, t, &e);
		pthread_mutex_lock(&b->lock);
		b->sum->entries[t] = e;
		b->done++;
		if (e.status != ENTRY_DONE)
			b->failed++;
		log_verbose("line %ld %s: %s%s%s", e.line, e.mailbox ? e.mailbox : "?",
		            e.status == ENTRY_DONE ? e.verdict : "failed", *e.error ? ": " : "", e.error);
		progress(b, false);
		pthread_mutex_unlock(&b->lock);
	}
}

/* Temporary files of an interrupted run (NAME.tmp.PID) are never reports: remove them. */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	char path[1400];
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp.")) {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			if (unlink(path) == 0)
				log_verbose("removed %s, left by an interrupted run", path);
		}
	closedir(d);
}

static int prepare(batch_ctx *b, const char *manifest_path, or_error *err)
{
	const batch_options *o = b->opt;
	char sub[1100];
	int rc = make_dir(o->out_dir, err);
	remove_stale(o->out_dir);
	for (int i = 0; rc == 0 && i < 3; i++) {
		static const char *const dirs[] = {"reports", "entries", "snapshots"};
		if (i == 2 && !o->keep_snapshots)
			break;
		snprintf(sub, sizeof sub, "%s/%s", o->out_dir, dirs[i]);
		rc = make_dir(sub, err);
		remove_stale(sub);
	}
	if (rc)
		return rc;
	const char *slash = strrchr(manifest_path, '/');
	b->manifest_dir = slash ? strndup(manifest_path, (size_t)(slash - manifest_path + (slash == manifest_path))) : NULL;
	b->todo = calloc(b->m->n_rows ? b->m->n_rows : 1, sizeof *b->todo);
	b->names = calloc(b->m->n_rows ? b->m->n_rows : 1, sizeof *b->names);
	b->cap_gates = b->m->n_rows + 1; /* at most one server per row */
	b->gates = calloc(b->cap_gates, sizeof *b->gates);
	if (!b->todo || !b->names || !b->gates)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < b->m->n_rows; i++) {
		if (o->shard_n && (long)(i % (size_t)o->shard_n) != o->shard_k - 1)
			continue;
		const batch_row *row = &b->m->rows[i];
		char *name = row_name(row);
		if (!name)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		/* Two rows with one name (the same mailbox twice, no labels): the later gets its line. */
		for (size_t j = 0; j < b->n_todo; j++)
			if (strcmp(b->names[j], name) == 0) {
				char longer[200];
				snprintf(longer, sizeof longer, "%s-line%ld", name, row->line);
				free(name);
				name = strdup(longer);
				break;
			}
		b->names[b->n_todo] = name;
		b->todo[b->n_todo++] = (long)i;
	}
	return 0;
}

int batch_run(const batch_manifest *m, const char *manifest_path, const batch_options *opt, batch_summary **out,
              or_error *err)
{
	*out = NULL;
	batch_ctx b;
	memset(&b, 0, sizeof b);
	b.m = m;
	b.opt = opt;
	b.prog = opt->progress ? progress_start("batch") : NULL;
	pthread_mutex_init(&b.lock, NULL);
	double t0 = now_s();
	int rc = prepare(&b, manifest_path, err);
	if (rc == 0 && !(b.sum = calloc(1, sizeof *b.sum)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0 && !(b.sum->entries = calloc(b.n_todo ? b.n_todo : 1, sizeof *b.sum->entries)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		b.sum->n = b.sum->cap = b.n_todo;
		b.sum->manifest = strdup(manifest_path);
		b.sum->shard_k = opt->shard_k;
		b.sum->shard_n = opt->shard_n;
		int n = opt->jobs < 1 ? 1 : opt->jobs > 64 ? 64 : opt->jobs;
		pthread_t th[64];
		int started = 0;
		for (int i = 0; i < n && (size_t)i < b.n_todo; i++)
			if (or_thread_create(&th[i], worker, &b) == 0)
				started++;
		if (!started)
			worker(&b);
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		progress(&b, true);
		b.sum->seconds = now_s() - t0;
		*out = b.sum;
		b.sum = NULL;
	}
	progress_finish(b.prog, NULL); /* a run that could not start: its line goes */
	batch_summary_free(b.sum);
	for (size_t i = 0; i < b.n_todo; i++)
		free(b.names[i]);
	for (size_t i = 0; i < b.n_gates; i++) {
		free(b.gates[i].url);
		pull_gate_free(b.gates[i].gate);
	}
	free(b.names);
	free(b.todo);
	free(b.gates);
	free(b.manifest_dir);
	pthread_mutex_destroy(&b.lock);
	return rc;
}
