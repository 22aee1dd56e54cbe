/*
 * run.c: a pull from the server side into a snapshot, whatever the protocol.
 *
 * The protocol lists the folders (small: kept in memory), this file gives them paths and roles
 * and orders them largest first; a bounded pool of workers, one connection each, asks the
 * protocol for each folder's items, which are streamed to the snapshot page by page (or kept in
 * memory). A folder that fails becomes an error line and the others go on; refused credentials
 * or a TLS failure stop everything and nothing is written. A large folder read in parallel
 * parts: parts.c. Requests that do not wait on one another, on spare connections: pull_parallel.
 */
#include "internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>






snap_t *pull_snapshot(pull_run *run) { return run->snap; }
pull_shared *pull_run_shared(pull_run *run) { return &run->sh; }
bool pull_stopping(pull_run *run) { return run->sh.fatal; }

const char *pull_error_code_name(int code)
{
	switch (code) {
	case OR_ERR_TIMEOUT: return "timeout";
	case OR_ERR_IO: return "io";
	case OR_ERR_DENIED: return "access_denied";
	case OR_ERR_NOTFOUND: return "not_found";
	case OR_ERR_LIMIT: return "limit";
	default: return "protocol";
	}
}

void pull_folder_error(pull_run *run, const snap_folder *f, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&run->wlock);
	snap_error *e = snap_add_error(run->snap, ERR_SCOPE_FOLDER, code, msg);
	if (e) {
		e->id = f->id;
		e->folder_id = f->parent_id;
		e->path = f->path;
	}
	pthread_mutex_unlock(&run->wlock);
	log_verbose("folder %s: %s", f->path ? f->path : f->id, msg);
}

snap_folder *pull_add_folder(pull_run *run, const snap_folder *src)
{
	snap_t *s = run->snap;
	for (size_t i = 0; i < s->n_folders; i++)
		if (src->id && strcmp(s->folders[i].id, src->id) == 0)
			return &s->folders[i]; /* already known (a distinguished folder met again) */
	snap_folder *f = snap_add_folder(s);
	if (!f)
		return NULL;
	*f = *src;
	f->id = snap_strdup(s, src->id);
	f->parent_id = snap_strdup(s, src->parent_id);
	f->name = snap_strdup(s, src->name);
	f->cls = snap_strdup(s, src->cls);
	f->change_key = snap_bindup(s, src->change_key.data, src->change_key.len);
	f->pcl = snap_bindup(s, src->pcl.data, src->pcl.len);
	pull_progress(run, false);
	return f;
}

static long folder_index(const snap_t *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_folders; i++)
		if (strcmp(s->folders[i].id, id) == 0)
			return (long)i;
	return -1;
}

static int by_size_desc(const void *a, const void *b, void *snap)
{
	const snap_t *s = snap;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t cx = s->folders[x].content_count, cy = s->folders[y].content_count;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x < y ? -1 : x > y; /* hierarchy order among equals */
}

/* The pages of one folder follow one another (each carries the last one's state), so a large
 * folder taken last would keep the pull waiting alone at the end: workers take folders largest
 * first, by the item count the hierarchy gives (only the order depends on it). */
static int order_folders(pull_run *run, or_error *err)
{
	size_t n = run->snap->n_folders;
	if (!(run->order = malloc((n ? n : 1) * sizeof *run->order)))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		run->order[i] = i;
	qsort_r(run->order, n, sizeof *run->order, by_size_desc, run->snap);
	return 0;
}

static bool is_role(const snap_folder *f, const char *role)
{
	return f->role && strcmp(f->role, role) == 0;
}

/* Roles for folders no distinguished name named, paths, and which folders to pull. */
static int finish_hierarchy(pull_run *run, or_error *err)
{
	snap_t *s = run->snap;
	run->pull_items = calloc(s->n_folders ? s->n_folders : 1, sizeof *run->pull_items);
	long *parent = calloc(s->n_folders ? s->n_folders : 1, sizeof *parent);
	if (!run->pull_items || !parent) {
		free(parent);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		parent[i] = is_role(&s->folders[i], "root") ? -1 : folder_index(s, s->folders[i].parent_id);
		if (parent[i] < 0)
			s->folders[i].parent_id = NULL; /* the root, or an orphan whose parent was not returned */
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		snap_folder *f = &s->folders[i];
		/* Walk up (bounded) to build the path and find the nearest role-bearing ancestor. */
		const char *chain[64];
		int n = 0;
		bool under_ipm = false, under_search = false;
		for (long j = (long)i; j >= 0 && n < 64; j = parent[j]) {
			const snap_folder *a = &s->folders[j];
			if (j != (long)i && a->role) {
				if (is_role(a, "msgfolderroot"))
					under_ipm = true;
				if (is_role(a, "searchfolders"))
					under_search = true;
			}
			if (is_role(a, "root"))
				break;
			chain[n++] = a->name ? a->name : "";
		}
		if (!f->role)
			f->role = under_search ? "search" : under_ipm ? "ipm" : "other";
		or_buf path = {0};
		int rc = buf_append(&path, "/", 1);
		for (int k = n - 1; k >= 0 && rc == 0; k--) {
			for (const char *c = chain[k]; *c && rc == 0; c++)
				rc = (*c == '/' || *c == '\\') ? buf_printf(&path, "\\%c", *c) : buf_append(&path, c, 1);
			if (k && rc == 0)
				rc = buf_append(&path, "/", 1);
		}
		f->path = rc ? NULL : snap_strdup(s, path.data);
		buf_free(&path);
		run->pull_items[i] = strcmp(f->role, "search") != 0;
	}
	free(parent);
	/* Errors the protocol recorded while listing (a folder whose subfolders it could not list)
	 * get the folder's path, which the comparison needs to tell what could not be verified. */
	for (size_t e = 0; e < s->n_errors; e++) {
		long k = s->errors[e].path ? -1 : folder_index(s, s->errors[e].id);
		if (k >= 0) {
			s->errors[e].path = s->folders[k].path;
			s->errors[e].folder_id = s->folders[k].parent_id;
		}
	}
	/* The items the hierarchy announces (normal items: associated ones are pulled on request). */
	run->items_total = -1;
	for (size_t i = 0; i < s->n_folders; i++)
		if (run->pull_items[i] && s->folders[i].content_count >= 0)
			run->items_total = (run->items_total < 0 ? 0 : run->items_total) + s->folders[i].content_count;
	run->listed = true;
	return order_folders(run, err);
}

/* The progress line: folders done, items of the announced total, requests, retries waiting, time
 * left. Called with wlock held, or before the workers start. */
void pull_progress(pull_run *run, bool final)
{
	if (!run->prog)
		return;
	progress_state st;
	progress_state_init(&st);
	st.phase = run->listed ? "items" : "folder list";
	progress_state_count(&st, "folders", run->listed ? (int64_t)run->done : (int64_t)run->snap->n_folders,
	                     run->listed ? (int64_t)run->snap->n_folders : -1);
	st.eta_count = progress_state_count(&st, "items", (int64_t)run->items_normal, run->items_total);
	pthread_mutex_lock(&run->sh.lock);
	st.requests = run->sh.requests;
	st.retries = run->sh.retries;
	st.waiting = run->sh.waiting;
	pthread_mutex_unlock(&run->sh.lock);
	if (final) {
		progress_finish(run->prog, &st);
		run->prog = NULL;
	} else {
		progress_update(run->prog, &st);
	}
}

/* A copy of an item in the pull's snapshot, as snap_load would read it from the file: strings in
 * its arena (ids, subjects and message ids not interned), values the file form leaves out absent. */
bool pull_keep_item(snap_t *s, const snap_item *src)
{
	snap_item *it = snap_add_item(s);
	if (!it)
		return false;
	*it = *src;
	snap_bin b;
	it->id = (b = snap_bindup(s, (const uint8_t *)src->id, strlen(src->id) + 1)).data ? (const char *)b.data : NULL;
	it->folder_id = snap_strdup(s, src->folder_id);
	it->cls = snap_strdup(s, src->cls);
	it->subject = src->subject ? (const char *)snap_bindup(s, (const uint8_t *)src->subject, strlen(src->subject) + 1).data : NULL;
	it->message_id = src->message_id ? (const char *)snap_bindup(s, (const uint8_t *)src->message_id, strlen(src->message_id) + 1).data : NULL;
	it->change_key = snap_bindup(s, src->change_key.data, src->change_key.len);
	it->pcl = snap_bindup(s, src->pcl.data, src->pcl.len);
	snap_item_as_loaded(it);
	return it->id && (!src->cls || it->cls) && (!src->subject || it->subject) &&
	       (!src->message_id || it->message_id) && (!src->change_key.len || it->change_key.data) &&
	       (!src->pcl.len || it->pcl.data);
}


/* One item to the snapshot: written, or kept in memory (where it is the next in the order).
 * Called with wlock held. */
void pull_emit_item(pull_run *run, const snap_item *it)
{
	if (!run->in_memory)
		snap_write_item(&run->w, it);
	else if (!pull_keep_item(run->snap, it) || (run->places && !pull_place(run, run->snap->n_items - 1, run->placed)))
		run->nomem = true;
	else
		run->placed++;
}



/* Every so many items written, the file's pages written so far start on their way to the disk
 * (sync_file_range without waiting), so that the fsync that ends the pull does not write the
 * whole snapshot then, after the last answer. Called with wlock held. */
void pull_writeback(pull_run *run)
{
	if (run->in_memory || run->w.n_items < run->writeback_at)
		return;
	run->writeback_at = run->w.n_items + PULL_WRITEBACK_ITEMS;
	sync_file_range(fileno(run->w.af.fp), 0, 0, SYNC_FILE_RANGE_WRITE); /* advice: a failure changes nothing */
}

/* Keeps, at the front of `items`, those to write: with an id, and in a split folder (sp) not met
 * before; sets their folder and `associated`, counts them. Called with wlock held. */
size_t pull_keep_new(pull_run *run, pull_split *sp, const snap_folder *f, snap_item *items, size_t n,
                       bool associated)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		snap_item *it = &items[i];
		if (!it->id)
			continue;
		int fresh = sp ? pull_id_set_add(&sp->ids, it->id) : 1;
		if (fresh < 0)
			run->nomem = true;
		if (fresh <= 0)
			continue;
		it->folder_id = f->id;
		it->associated = associated;
		items[m++] = *it;
	}
	run->items += m;
	if (!associated)
		run->items_normal += m;
	return m;
}

void pull_add_items(pull_run *run, const snap_folder *f, snap_item *items, size_t n, bool associated)
{
	pthread_mutex_lock(&run->wlock);
	/* a split folder's merge reading it whole: what the parts wrote is not written again */
	pull_split *sp = run->split_of && !associated ? run->split_of[f - run->snap->folders] : NULL;
	size_t m = pull_keep_new(run, sp, f, items, n, associated);
	for (size_t i = 0; i < m; i++)
		pull_emit_item(run, &items[i]);
	pull_writeback(run);
	pull_progress(run, false);
	pthread_mutex_unlock(&run->wlock);
}


















/* A connection and worker state for a worker or a helper: a spare one, else new. */
static int spare_take(pull_run *run, pull_conn **c, void **ws)
{
	pthread_mutex_lock(&run->wlock);
	bool have = run->n_spare > 0;
	if (have) {
		run->n_spare--;
		*c = run->spare[run->n_spare].c;
		*ws = run->spare[run->n_spare].ws;
	}
	pthread_mutex_unlock(&run->wlock);
	if (have)
		return 0;
	or_error err = {0};
	if (!(*ws = run->proto->worker_new(run->ctx, &err)))
		return -1;
	if (pull_conn_new(c, &run->sh, (unsigned)(uintptr_t)*ws ^ (unsigned)pull_now_ms(), &err) != 0) {
		run->proto->worker_free(*ws);
		return -1;
	}
	return 0;
}

/* Keeps a connection for the next worker or helper (freed when there are enough). */
static void spare_put(pull_run *run, pull_conn *c, void *ws)
{
	pthread_mutex_lock(&run->wlock);
	bool kept = run->n_spare < PULL_MAX_SPARE;
	if (kept) {
		run->spare[run->n_spare].c = c;
		run->spare[run->n_spare].ws = ws;
		run->n_spare++;
	}
	pthread_mutex_unlock(&run->wlock);
	if (!kept) {
		pull_conn_free(c);
		run->proto->worker_free(ws);
	}
}

typedef struct {
	pull_run *run;
	pthread_mutex_t lock;
	int n, next;
	pull_job_fn job;
	void *ctx;
} parallel_jobs;

static void run_jobs(parallel_jobs *pj, pull_conn *c, void *ws)
{
	for (;;) {
		pthread_mutex_lock(&pj->lock);
		int k = pj->next < pj->n ? pj->next++ : -1;
		pthread_mutex_unlock(&pj->lock);
		if (k < 0)
			return;
		pj->job(pj->ctx, k, c, ws);
	}
}

static void *parallel_helper(void *arg)
{
	parallel_jobs *pj = arg;
	pull_conn *c;
	void *ws;
	if (spare_take(pj->run, &c, &ws) != 0)
		return NULL; /* the caller and the other helpers run the jobs */
	run_jobs(pj, c, ws);
	spare_put(pj->run, c, ws);
	return NULL;
}

void pull_parallel(pull_run *run, pull_conn *c, void *ws, int n, pull_job_fn job, void *ctx)
{
	int conc = run->opt->concurrency < 1 ? 1 : run->opt->concurrency > 16 ? 16 : run->opt->concurrency;
	parallel_jobs pj = {.run = run, .n = n, .job = job, .ctx = ctx};
	pthread_mutex_init(&pj.lock, NULL);
	pthread_t helpers[16];
	int started = 0;
	for (int i = 1; i < conc && i < n; i++)
		if (or_thread_create(&helpers[started], parallel_helper, &pj) == 0)
			started++;
	run_jobs(&pj, c, ws);
	for (int i = 0; i < started; i++)
		pthread_join(helpers[i], NULL);
	pthread_mutex_destroy(&pj.lock);
}

static void *worker(void *arg)
{
	pull_run *run = arg;
	pull_conn *c = NULL;
	void *ws = NULL;
	if (spare_take(run, &c, &ws) != 0)
		return NULL;
	int streams = run->parts;
	for (;;) {
		/* The next job: a part of a split folder first (the folder is the largest in flight),
		 * else the next folder; with neither, wait while another worker may still split one. */
		pull_split *sp = NULL;
		int part = -1;
		size_t k = 0;
		pthread_mutex_lock(&run->wlock);
		for (;;) {
			if ((sp = run->splits) != NULL) {
				part = sp->taken++;
				if (sp->taken == sp->n)
					run->splits = sp->next; /* every part handed out */
				break;
			}
			if (run->next < run->snap->n_folders || !run->planning || run->sh.fatal) {
				k = run->next++;
				break;
			}
			pthread_cond_wait(&run->jobs, &run->wlock);
		}
		pthread_mutex_unlock(&run->wlock);
		if (run->sh.fatal)
			break;
		if (sp) {
			pull_run_part(run, c, ws, sp, part);
			continue;
		}
		if (k >= run->snap->n_folders)
			break;
		size_t i = run->order[k];
		const snap_folder *f = &run->snap->folders[i];
		if (streams > 1 && pull_worth_splitting(run, i)) {
			pthread_mutex_lock(&run->wlock);
			run->planning++;
			pthread_mutex_unlock(&run->wlock);
			sp = pull_try_split(run, c, ws, i, streams);
			pthread_mutex_lock(&run->wlock);
			run->planning--;
			pthread_cond_broadcast(&run->jobs);
			pthread_mutex_unlock(&run->wlock);
			if (sp) {
				pull_run_part(run, c, ws, sp, 0);
				continue;
			}
		}
		if (run->pull_items[i])
			run->proto->folder(run->ctx, run, c, ws, f);
		pthread_mutex_lock(&run->wlock);
		run->done++;
		pull_progress(run, false);
		pthread_mutex_unlock(&run->wlock);
	}
	/* A fatal error: the others may be waiting for a split that will not come. */
	pthread_mutex_lock(&run->wlock);
	pthread_cond_broadcast(&run->jobs);
	pthread_mutex_unlock(&run->wlock);
	pull_conn_free(c);
	run->proto->worker_free(ws);
	return NULL;
}

/* libcurl wants its global state set up once, before any thread uses it. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void pull_global_init(void)
{
	pthread_once(&global_once, global_init);
}

/* The header's options: the protocol's, with the authentication method used (and whether
 * --auth auto chose it). Returns a malloc'd text, or NULL (the protocol's are kept). */
static char *options_with_auth(const char *options_json, pull_auth used, bool chosen)
{
	static const char *const names[] = {"basic", "ntlm", "negotiate", "bearer", "auto", "none"};
	json_t *o = options_json ? json_loads(options_json, 0, NULL) : json_object();
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "auth", json_string(names[used]));
	if (chosen)
		json_object_set_new(o, "auth_auto", json_true());
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* What snap_load does to a header and folders read back from the file. */
static int as_loaded(pull_run *run, or_error *err)
{
	snap_t *s = run->snap;
	snap_header *h = &s->hdr;
	h->mailbox = snap_strdup(s, h->mailbox);
	h->server = snap_strdup(s, h->server);
	h->tool = snap_strdup(s, h->tool);
	int rc = snap_as_loaded(s, err);
	return rc ? or_fail(err, rc, "the server returned a folder without an id") : 0;
}


/* The workers, once the hierarchy is known. */
static int pull_items(pull_run *run, or_error *err)
{
	const pull_options *opt = run->opt;
	int n = opt->concurrency < 1 ? 1 : opt->concurrency > 16 ? 16 : opt->concurrency;
	bool splittable = false; /* a folder that may be read in parts keeps every worker busy */
	for (size_t i = 0; i < run->snap->n_folders; i++)
		splittable = splittable || pull_worth_splitting(run, i);
	if (!splittable && (size_t)n > run->snap->n_folders)
		n = run->snap->n_folders ? (int)run->snap->n_folders : 1;
	/* A split folder: twice as many workers and parts as requests in flight (the transport keeps
	 * at most `concurrency` in flight), so that while one worker writes the page it just read,
	 * another's request takes its place: each part's chain of pages then waits on the server
	 * alone, not on the client's parsing and writing as well. */
	if (splittable && n > 1)
		n = n * 2 > 16 ? 16 : n * 2;
	run->parts = n;
	if (!(run->split_of = calloc(run->snap->n_folders ? run->snap->n_folders : 1, sizeof *run->split_of)))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pthread_t threads[16];
	int started = 0;
	for (int i = 0; i < n; i++)
		if (or_thread_create(&threads[i], worker, run) == 0)
			started++;
	if (!started)
		worker(run);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	/* Splits a fatal error left with parts unread: their plans are freed, nothing more. */
	for (size_t i = 0; i < run->snap->n_folders; i++)
		if (run->split_of[i]) {
			run->proto->merge(run->ctx, run, NULL, NULL, &run->snap->folders[i], run->split_of[i]->plan);
			pull_split_free(run->split_of[i]);
			run->split_of[i] = NULL;
		}
	if (run->nomem && !run->sh.fatal)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (!run->sh.fatal)
		pull_progress(run, true);
	if (run->sh.fatal)
		return or_fail(err, run->sh.fatal_err.code, "%s", run->sh.fatal_err.message);
	if (run->next < run->snap->n_folders) /* workers could not start: say so, never a silent gap */
		return or_fail(err, OR_ERR_NOMEM, "could not start the folder workers");
	return 0;
}

int pull_run_capture(const pull_options *opt, const pull_protocol *proto, void *ctx, const char *out_path,
                     snap_t **keep, pull_summary *summary, or_error *err)
{
	memset(summary, 0, sizeof *summary);
	if (keep)
		*keep = NULL;
	if (!opt->url || !opt->mailbox)
		return or_fail(err, OR_ERR_USAGE, "a server URL and a mailbox address are required");
	pthread_once(&global_once, global_init);
	int64_t t0 = pull_now_ms();
	/* --auth auto: the method is chosen once, from what the server offers, before the pull. */
	pull_options resolved;
	bool auto_auth = opt->auth == PULL_AUTH_AUTO;
	if (auto_auth) {
		resolved = *opt;
		if (opt->gate && pull_gate_auth(opt->gate, &resolved.auth)) {
			log_verbose("authentication: %s, as chosen for %s earlier in this run (--auth auto)",
			            pull_auth_name(resolved.auth), opt->url);
		} else {
			int rc = pull_auth_resolve(opt, &resolved.auth, err);
			if (rc)
				return rc;
			if (opt->gate)
				pull_gate_set_auth(opt->gate, resolved.auth);
		}
		opt = &resolved;
	}
	char *options_json = options_with_auth(opt->options_json, opt->auth, auto_auth);

	pull_run run;
	memset(&run, 0, sizeof run);
	run.opt = opt;
	run.proto = proto;
	run.ctx = ctx;
	pull_shared_init(&run.sh, opt);
	pthread_mutex_init(&run.wlock, NULL);
	pthread_cond_init(&run.jobs, NULL);
	run.prog = opt->progress ? progress_start("server") : NULL;
	pull_conn *c = NULL;
	void *ws = NULL;
	bool writing = false;
	int rc = snap_new(&run.snap, err);
	if (rc)
		goto out;
	if (!(ws = proto->worker_new(ctx, err))) {
		rc = err->code ? err->code : OR_ERR_NOMEM;
		goto out;
	}
	if ((rc = pull_conn_new(&c, &run.sh, (unsigned)t0, err)) != 0)
		goto out;
	snap_header *h = &run.snap->hdr;
	h->source = proto->source;
	h->mailbox = opt->mailbox;
	h->server = opt->url;
	h->captured = filetime_now();
	h->tool = "ostrecon " OSTRECON_VERSION;
	h->options_json = options_json ? options_json : opt->options_json;

	if ((rc = proto->hierarchy(ctx, &run, c, ws, err)) != 0 || (rc = finish_hierarchy(&run, err)) != 0)
		goto out;
	/* The first connection goes on as a worker's. */
	spare_put(&run, c, ws);
	c = NULL;
	ws = NULL;

	run.in_memory = keep != NULL;
	if (!run.in_memory) {
		if ((rc = snap_writer_open(&run.w, out_path, err)) != 0)
			goto out;
		writing = true;
		pull_spill_setup(&run);
		snap_write_header(&run.w, h);
		for (size_t i = 0; i < run.snap->n_folders; i++)
			snap_write_folder(&run.w, &run.snap->folders[i]);
	}
	if ((rc = pull_items(&run, err)) != 0)
		goto out;
	for (size_t i = 0; i < run.snap->n_errors; i++) {
		if (!run.in_memory)
			snap_write_error(&run.w, &run.snap->errors[i]);
		if (run.snap->errors[i].scope == ERR_SCOPE_FOLDER)
			summary->folders_failed++;
	}
	if (run.in_memory) {
		if (run.nomem) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = pull_put_in_order(&run, err)) != 0 || (rc = as_loaded(&run, err)) != 0)
			goto out;
		summary->folders = run.snap->n_folders;
		summary->items = run.snap->n_items;
		summary->errors = run.snap->n_errors;
		*keep = run.snap;
		run.snap = NULL;
		goto out;
	}
	summary->folders = run.w.n_folders;
	summary->items = run.w.n_items;
	summary->errors = run.w.n_errors;
	writing = false;
	rc = snap_writer_finish(&run.w, err);
out:
	if (writing)
		snap_writer_abort(&run.w);
	summary->requests = run.sh.requests;
	summary->retries = run.sh.retries;
	summary->throttled = run.sh.throttled;
	summary->min_concurrency = run.sh.min_limit;
	summary->seconds = (double)(pull_now_ms() - t0) / 1000.0;
	progress_finish(run.prog, NULL); /* a pull that stopped early: its line goes */
	for (int i = 0; i < run.n_spare; i++) {
		pull_conn_free(run.spare[i].c);
		proto->worker_free(run.spare[i].ws);
	}
	free(run.pull_items);
	free(run.order);
	free(run.split_of);
	free(run.places);
	pull_conn_free(c);
	if (ws)
		proto->worker_free(ws);
	snap_free(run.snap);
	free(options_json);
	pull_shared_destroy(&run.sh);
	pthread_cond_destroy(&run.jobs);
	pthread_mutex_destroy(&run.wlock);
	return rc;
}
