/*
 * run.c: a pull from the server side into a snapshot, whatever the protocol.
 *
 * The protocol lists the folders (small: kept in memory), this file gives them paths and roles
 * and orders them largest first; a bounded pool of workers, one connection each, asks the
 * protocol for each folder's items, which are streamed to the snapshot page by page (or kept in
 * memory). A folder that fails becomes an error line and the others go on; refused credentials
 * or a TLS failure stop everything and nothing is written.
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

typedef struct pull_split pull_split;

struct pull_run {
	pull_shared sh;
	const pull_options *opt;
	const pull_protocol *proto;
	void *ctx;
	snap_t *snap;          /* header, folders, errors (and items when in memory) */
	snap_writer w;
	pthread_mutex_t wlock; /* the writer and snap->errors */
	size_t next, done, items;
	size_t items_normal;   /* items that are not associated: the progress count */
	int64_t items_total;   /* what the hierarchy announced (content counts), -1 when unknown */
	bool *pull_items;      /* per folder: pull its items (not search folders) */
	size_t *order;         /* the folders in the order workers take them: largest first */
	progress_task *prog;   /* the progress line, NULL when not shown */
	bool listed;           /* the hierarchy is known */
	bool in_memory;        /* items kept in snap, no file */
	bool nomem;            /* an item could not be kept */
	pthread_cond_t jobs;   /* a split's parts were handed out, or a folder will not be split */
	int planning;          /* workers asking the protocol whether to split a folder */
	pull_split *splits;    /* split folders with parts not yet handed out */
	pull_split **split_of; /* per folder: its split while its parts are read, or NULL */
	int parts;             /* parts of a split folder: the workers (1: no split) */
	size_t spill_budget;   /* bytes of lines a held part keeps in memory before it spills */
	char spill_dir[1024];  /* where held parts spill: the snapshot's folder, else TMPDIR */
};

/* A part's items held until the parts before it are written. For a snapshot written to a file,
 * the snapshot's lines: in memory up to the run's spill budget, then appended to an unlinked
 * temporary file (a 200,000-item folder in 8 parts would otherwise hold some 100 MB at once).
 * For a snapshot kept in memory (a scan's), items, as the snapshot keeps them. */
typedef struct {
	or_buf text;   /* lines not yet in the file */
	size_t n_text; /* items in text */
	size_t n_file; /* items in the file */
	int fd;        /* the spill file, -1 before the first spill */
	off_t spilled; /* bytes in it */
	snap_t *snap;  /* in memory: the items */
} pull_held;

/* A large folder read in parts by several workers (pull_protocol.split). Its items reach the
 * snapshot in part order: part `flushed` writes its pages as they come, later parts hold theirs
 * until the parts before them are read. */
struct pull_split {
	size_t folder;         /* index in snap->folders */
	void *plan;            /* the protocol's */
	int n, taken, finished, flushed;
	bool *done;            /* per part: read */
	pull_held *held;       /* per part: items waiting for the parts before it */
	pull_split *next;      /* in run->splits while parts remain to be handed out */
	/* The folder's items met so far, by 64-bit hash of the id (0 = empty slot): parts whose
	 * ranges overlap (a folder that changed under offsets) and a merge that reads the folder
	 * again write each item once. */
	pull_id_set ids;
};

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}

int pull_id_set_add(pull_id_set *s, const char *id)
{
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *slot = calloc(cap, sizeof *slot);
		if (!slot)
			return -1;
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i])
				for (size_t j = s->slot[i] & (cap - 1);; j = (j + 1) & (cap - 1))
					if (!slot[j]) {
						slot[j] = s->slot[i];
						break;
					}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	uint64_t h = id_hash(id);
	for (size_t j = h & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
		if (s->slot[j] == h)
			return 0;
		if (!s->slot[j]) {
			s->slot[j] = h;
			s->n++;
			return 1;
		}
	}
}

void pull_id_set_free(pull_id_set *s)
{
	free(s->slot);
	*s = (pull_id_set){0};
}

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

static void progress(pull_run *run, bool final);

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
	progress(run, false);
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
static void progress(pull_run *run, bool final)
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
static bool keep_item(snap_t *s, const snap_item *src)
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

/* One item to the snapshot: written, or kept in memory. Called with wlock held. */
static void emit_item(pull_run *run, const snap_item *it)
{
	if (!run->in_memory)
		snap_write_item(&run->w, it);
	else if (!keep_item(run->snap, it))
		run->nomem = true;
}

/* Keeps, at the front of `items`, those to write: with an id, and in a split folder (sp) not met
 * before; sets their folder and `associated`, counts them. Called with wlock held. */
static size_t keep_new(pull_run *run, pull_split *sp, const snap_folder *f, snap_item *items, size_t n,
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
	size_t m = keep_new(run, sp, f, items, n, associated);
	for (size_t i = 0; i < m; i++)
		emit_item(run, &items[i]);
	progress(run, false);
	pthread_mutex_unlock(&run->wlock);
}

/* A failure of a spill file stops the pull: a snapshot without a part's items would be wrong. */
static void spill_failed(pull_run *run, const char *what, int e)
{
	or_error err = {0};
	or_fail(&err, OR_ERR_IO, "%s a temporary file in %s (items of a folder read in parts) failed: %s", what,
	        run->spill_dir, strerror(e));
	pthread_mutex_lock(&run->sh.lock);
	if (!run->sh.fatal) {
		run->sh.fatal = true;
		run->sh.fatal_err = err;
	}
	pthread_mutex_unlock(&run->sh.lock);
}

/* An unlinked file for a held part's lines: O_TMPFILE, else a named file removed at once (and
 * removed by core's signal handler meanwhile). -1 and errno when none can be made. */
static int spill_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	char path[1100];
	if ((size_t)snprintf(path, sizeof path, "%s/.ostrecon-part-XXXXXX", dir) >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -1;
	or_temp_register(path);
	unlink(path);
	or_temp_unregister(path);
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Moves a held part's lines from memory to its spill file. Called by the part's own worker. */
static int spill(pull_run *run, const snap_folder *f, int k, pull_held *h)
{
	if (h->fd < 0) {
		if ((h->fd = spill_open(run->spill_dir)) < 0) {
			spill_failed(run, "creating", errno);
			return -1;
		}
		log_debug("folder %s: part %d's items go to a temporary file in %s until the parts before it are written",
		          f->path ? f->path : f->id, k + 1, run->spill_dir);
	}
	if (write_all(h->fd, h->text.data, h->text.len) != 0) {
		spill_failed(run, "writing", errno);
		return -1;
	}
	h->spilled += (off_t)h->text.len;
	h->n_file += h->n_text;
	h->text.len = 0;
	h->n_text = 0;
	return 0;
}

static void held_free(pull_held *h)
{
	snap_free(h->snap);
	h->snap = NULL;
	buf_free(&h->text);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->n_text = h->n_file = 0;
	h->spilled = 0;
}

/* Writes what part k held. Called with wlock held, by part k's own worker, or by any worker once
 * part k is read (nobody else touches a part's held items). */
static void flush_held(pull_run *run, pull_split *sp, int k)
{
	pull_held *h = &sp->held[k];
	for (size_t i = 0; h->snap && i < h->snap->n_items; i++)
		emit_item(run, &h->snap->items[i]);
	if (!run->sh.fatal) {
		/* the spilled lines, then those still in memory: in the order they came */
		if (h->spilled) {
			char *chunk = malloc(1u << 16);
			off_t at = 0;
			if (!chunk)
				run->nomem = true;
			while (chunk && at < h->spilled) {
				ssize_t r = pread(h->fd, chunk, 1u << 16, at);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					spill_failed(run, "reading", r ? errno : EIO);
					break;
				}
				snap_write_item_text(&run->w, chunk, (size_t)r, at + r == h->spilled ? h->n_file : 0);
				at += r;
			}
			free(chunk);
		}
		if (h->n_text)
			snap_write_item_text(&run->w, h->text.data, h->text.len, h->n_text);
	}
	held_free(h);
}

void pull_add_part_items(pull_run *run, const snap_folder *f, int k, snap_item *items, size_t n)
{
	pthread_mutex_lock(&run->wlock);
	pull_split *sp = run->split_of ? run->split_of[f - run->snap->folders] : NULL;
	size_t m = keep_new(run, sp, f, items, n, false);
	bool hold = sp && k > sp->flushed;
	if (!hold) {
		if (sp)
			flush_held(run, sp, k); /* what this part held before the parts ahead of it were read */
		for (size_t i = 0; i < m; i++)
			emit_item(run, &items[i]);
	}
	progress(run, false);
	pthread_mutex_unlock(&run->wlock);
	if (!hold)
		return;
	/* Held outside the lock: until this part is read, only its own worker touches its items. */
	pull_held *h = &sp->held[k];
	bool nomem = false;
	if (run->in_memory) {
		for (size_t i = 0; i < m && !nomem; i++)
			nomem = (!h->snap && snap_new(&h->snap, &(or_error){0}) != 0) || !keep_item(h->snap, &items[i]);
	} else {
		for (size_t i = 0; i < m && !nomem; i++)
			nomem = snap_item_text(&h->text, &items[i]) != 0;
		h->n_text += m;
		if (!nomem && h->text.len >= run->spill_budget)
			spill(run, f, k, h); /* a failure stops the pull */
	}
	if (nomem) {
		pthread_mutex_lock(&run->wlock);
		run->nomem = true;
		pthread_mutex_unlock(&run->wlock);
	}
}

size_t pull_split_count(pull_run *run, const snap_folder *f)
{
	pthread_mutex_lock(&run->wlock);
	const pull_split *sp = run->split_of ? run->split_of[f - run->snap->folders] : NULL;
	size_t n = sp ? sp->ids.n : 0;
	pthread_mutex_unlock(&run->wlock);
	return n;
}

void pull_parts_init(pull_parts *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
}

void pull_parts_destroy(pull_parts *p) { pthread_mutex_destroy(&p->lock); }

void pull_listing_failed(pull_run *run, const snap_folder *f, pull_parts *p, int k, const char *code,
                         const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!p) {
		pull_folder_error(run, f, code, "%s", msg);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (!p->failed)
		snprintf(p->why, sizeof p->why, "part %d: %s", k + 1, msg);
	p->failed = true;
	pthread_mutex_unlock(&p->lock);
}

bool pull_parts_incomplete(pull_run *run, const snap_folder *f, pull_parts *p, int n)
{
	size_t got = pull_split_count(run, f);
	if (p->failed)
		log_verbose("folder %s: %s; reading the folder in one stream", f->path, p->why);
	else if ((int64_t)got != f->content_count)
		log_verbose("folder %s: its %d parts hold %zu items, the folder %lld; reading it in one stream", f->path, n,
		            got, (long long)f->content_count);
	else
		return false;
	return true;
}

/* Part k of a split is read: the parts after it that were waiting on it are written. Returns
 * true for the last part of the folder. Called with wlock held. */
static bool part_done(pull_run *run, pull_split *sp, int k)
{
	sp->done[k] = true;
	sp->finished++;
	/* The parts read in a row from the first unwritten one are written; the next, still being
	 * read, writes what it held itself (at its next page, or when it is read). */
	while (sp->flushed < sp->n && sp->done[sp->flushed])
		flush_held(run, sp, sp->flushed++);
	return sp->finished == sp->n;
}

static void split_free(pull_split *sp)
{
	if (!sp)
		return;
	for (int k = 0; sp->held && k < sp->n; k++)
		held_free(&sp->held[k]);
	free(sp->held);
	free(sp->done);
	pull_id_set_free(&sp->ids);
	free(sp);
}

/* Asks the protocol to split folder i; registers the split and returns it (the caller reads
 * part 0), or NULL to read the folder whole. Called without wlock. */
/* A folder worth reading in parts: one of split_threshold items or more (any such folder when the
 * threshold was asked for) whose chain of pages is the pull's critical path, longer than an even share of all the pages among the requests in
 * flight (its count times `concurrency` over the items of every folder). A smaller one finishes
 * in one stream while the other workers read the rest, and splitting it would only cost the
 * probes, the filtered listings and the held lines. */
static bool worth_splitting(const pull_run *run, size_t i)
{
	const pull_options *opt = run->opt;
	int64_t n = run->snap->folders[i].content_count;
	int conc = opt->concurrency < 1 ? 1 : opt->concurrency > 16 ? 16 : opt->concurrency;
	return run->pull_items[i] && run->proto->split && conc > 1 && opt->split_threshold > 0 &&
	       n >= opt->split_threshold && (opt->split_any || run->items_total < 0 || n * conc > run->items_total);
}

static pull_split *try_split(pull_run *run, pull_conn *c, void *ws, size_t i, int streams)
{
	const snap_folder *f = &run->snap->folders[i];
	void *plan = NULL;
	int n = run->proto->split(run->ctx, run, c, ws, f, streams, &plan);
	if (n < 2 || n > 64) {
		if (plan)
			run->proto->merge(run->ctx, run, NULL, NULL, f, plan);
		return NULL;
	}
	pull_split *sp = calloc(1, sizeof *sp);
	if (sp) {
		sp->done = calloc((size_t)n, sizeof *sp->done);
		sp->held = calloc((size_t)n, sizeof *sp->held);
	}
	for (int k = 0; sp && sp->held && k < n; k++)
		sp->held[k].fd = -1;
	if (!sp || !sp->done || !sp->held) {
		split_free(sp);
		run->proto->merge(run->ctx, run, NULL, NULL, f, plan); /* frees the plan: read whole */
		return NULL;
	}
	sp->folder = i;
	sp->plan = plan;
	sp->n = n;
	sp->taken = 1; /* part 0: this worker's */
	log_verbose("folder %s: %d parts read in parallel", f->path ? f->path : f->id, n);
	pthread_mutex_lock(&run->wlock);
	run->split_of[i] = sp;
	sp->next = run->splits;
	run->splits = sp;
	pthread_mutex_unlock(&run->wlock);
	return sp;
}

/* Reads part k of a split; the worker that reads the last one merges the folder. */
static void run_part(pull_run *run, pull_conn *c, void *ws, pull_split *sp, int k)
{
	const snap_folder *f = &run->snap->folders[sp->folder];
	run->proto->part(run->ctx, run, c, ws, f, sp->plan, k);
	pthread_mutex_lock(&run->wlock);
	bool last = part_done(run, sp, k);
	pthread_mutex_unlock(&run->wlock);
	if (!last)
		return;
	run->proto->merge(run->ctx, run, c, ws, f, sp->plan);
	pthread_mutex_lock(&run->wlock);
	run->split_of[sp->folder] = NULL;
	split_free(sp);
	run->done++;
	progress(run, false);
	pthread_mutex_unlock(&run->wlock);
}

static void *worker(void *arg)
{
	pull_run *run = arg;
	pull_conn *c = NULL;
	or_error err = {0};
	void *ws = run->proto->worker_new(run->ctx, &err);
	if (!ws)
		return NULL;
	if (pull_conn_new(&c, &run->sh, (unsigned)(uintptr_t)ws ^ (unsigned)pull_now_ms(), &err) != 0) {
		run->proto->worker_free(ws);
		return NULL;
	}
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
			run_part(run, c, ws, sp, part);
			continue;
		}
		if (k >= run->snap->n_folders)
			break;
		size_t i = run->order[k];
		const snap_folder *f = &run->snap->folders[i];
		if (streams > 1 && worth_splitting(run, i)) {
			pthread_mutex_lock(&run->wlock);
			run->planning++;
			pthread_mutex_unlock(&run->wlock);
			sp = try_split(run, c, ws, i, streams);
			pthread_mutex_lock(&run->wlock);
			run->planning--;
			pthread_cond_broadcast(&run->jobs);
			pthread_mutex_unlock(&run->wlock);
			if (sp) {
				run_part(run, c, ws, sp, 0);
				continue;
			}
		}
		if (run->pull_items[i])
			run->proto->folder(run->ctx, run, c, ws, f);
		pthread_mutex_lock(&run->wlock);
		run->done++;
		progress(run, false);
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

/* Where and when held parts spill: beside the snapshot's temporary file (its folder has room for
 * the snapshot these lines go to), else (standard output, a device) in TMPDIR; after 1 MiB of
 * lines per part, or what OSTRECON_TEST_SPILL_BYTES says (tests: a small folder that spills). */
static void spill_setup(pull_run *run)
{
	run->spill_budget = (size_t)1 << 20;
	long v;
	const char *knob = getenv("OSTRECON_TEST_SPILL_BYTES");
	if (knob && parse_long(knob, 1, 1L << 30, &v) == 0)
		run->spill_budget = (size_t)v;
	const char *tmp = run->w.af.tmp;
	const char *slash = tmp ? strrchr(tmp, '/') : NULL;
	if (tmp && !slash)
		str_copy(run->spill_dir, ".", sizeof run->spill_dir);
	else if (slash && (size_t)(slash - tmp) < sizeof run->spill_dir)
		snprintf(run->spill_dir, sizeof run->spill_dir, "%.*s", slash == tmp ? 1 : (int)(slash - tmp), tmp);
	else if ((tmp = getenv("TMPDIR")) && *tmp == '/' && strlen(tmp) < sizeof run->spill_dir)
		str_copy(run->spill_dir, tmp, sizeof run->spill_dir);
	else
		str_copy(run->spill_dir, "/tmp", sizeof run->spill_dir);
}

/* The workers, once the hierarchy is known. */
static int pull_items(pull_run *run, or_error *err)
{
	const pull_options *opt = run->opt;
	int n = opt->concurrency < 1 ? 1 : opt->concurrency > 16 ? 16 : opt->concurrency;
	bool splittable = false; /* a folder that may be read in parts keeps every worker busy */
	for (size_t i = 0; i < run->snap->n_folders; i++)
		splittable = splittable || worth_splitting(run, i);
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
			split_free(run->split_of[i]);
			run->split_of[i] = NULL;
		}
	if (run->nomem && !run->sh.fatal)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (!run->sh.fatal)
		progress(run, true);
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
	/* The first connection is kept for nothing more: the workers open their own. */
	pull_conn_free(c);
	c = NULL;

	run.in_memory = keep != NULL;
	if (!run.in_memory) {
		if ((rc = snap_writer_open(&run.w, out_path, err)) != 0)
			goto out;
		writing = true;
		spill_setup(&run);
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
		if ((rc = as_loaded(&run, err)) != 0)
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
	free(run.pull_items);
	free(run.order);
	free(run.split_of);
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
