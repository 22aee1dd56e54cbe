/*
 * parts.c: a large folder read in parallel parts (pull_protocol's split, part and merge), for
 * run.c: the split and its parts as jobs of the workers, the items each part holds until the
 * parts before it are written (lines in memory, then in a spill file; in a snapshot kept in
 * memory, places in the order), the ids met in the folder, and the count check of the merge.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A part's items held until the parts before it are written. For a snapshot written to a file,
 * the snapshot's lines: in memory up to the run's spill budget, then appended to an unlinked
 * temporary file (a 200,000-item folder in 8 parts would otherwise hold some 100 MB at once).
 * For a snapshot kept in memory (a scan's), the items are kept in the snapshot at once, as the
 * parts before them are: the part holds only their places, and when its turn comes they get
 * their place in the order (pull_run.places), which the items take at the end (put_in_order). */
struct pull_held {
	or_buf text;   /* lines not yet in the file */
	size_t n_text; /* items in text */
	size_t n_file; /* items in the file */
	int fd;        /* the spill file, -1 before the first spill */
	off_t spilled; /* bytes in it */
	size_t *idx;   /* in memory: the items' indexes in the snapshot */
	size_t n_idx, cap_idx;
};


/* An id's 64-bit hash (the set keeps hashes, not ids): eight bytes at a time, each word mixed in
 * by a multiply and a shift, seeded with the length; a final avalanche (MurmurHash3's fmix64). */
static uint64_t id_hash(const char *id)
{
	size_t len = strlen(id), n = len;
	const unsigned char *p = (const unsigned char *)id;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
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

/* Item i of a snapshot kept in memory takes place `at` (UNPLACED: later). Once a part held items
 * (run->order set), every item kept has one. false when out of memory. Called with wlock held. */
bool pull_place(pull_run *run, size_t i, uint64_t at)
{
	if (i >= run->cap_places) {
		size_t cap = run->cap_places ? run->cap_places * 2 : 1024;
		while (cap <= i)
			cap *= 2;
		uint64_t *o = realloc(run->places, cap * sizeof *o);
		if (!o)
			return false;
		run->places = o;
		run->cap_places = cap;
	}
	run->places[i] = at;
	return true;
}

/* Items of a held part in a snapshot kept in memory: kept at once, without a place yet. The
 * first such item starts the order: every item before it is in place. Called with wlock held. */
static void hold_in_memory(pull_run *run, pull_held *h, const snap_item *items, size_t m)
{
	snap_t *s = run->snap;
	if (!run->places && m) {
		for (size_t i = s->n_items; i-- > 0;)
			if (!pull_place(run, i, i)) {
				run->nomem = true;
				return;
			}
		if (!run->places) { /* nothing kept before: an empty order */
			if (!(run->places = malloc(1024 * sizeof *run->places))) {
				run->nomem = true;
				return;
			}
			run->cap_places = 1024;
		}
	}
	for (size_t i = 0; i < m; i++) {
		if (h->n_idx == h->cap_idx) {
			size_t cap = h->cap_idx ? h->cap_idx * 2 : 256;
			size_t *x = realloc(h->idx, cap * sizeof *x);
			if (!x) {
				run->nomem = true;
				return;
			}
			h->idx = x;
			h->cap_idx = cap;
		}
		if (!pull_keep_item(s, &items[i]) || !pull_place(run, s->n_items - 1, UNPLACED)) {
			run->nomem = true;
			return;
		}
		h->idx[h->n_idx++] = s->n_items - 1;
	}
}

/* A snapshot kept in memory whose split folders held parts: its items moved to their places
 * (the order of the file the pull would have written), in place. */
int pull_put_in_order(pull_run *run, or_error *err)
{
	snap_t *s = run->snap;
	if (!run->places)
		return 0;
	if (run->placed != s->n_items)
		return or_fail(err, OR_ERR_PROTOCOL, "items of a folder read in parts were left without a place");
	for (size_t i = 0; i < s->n_items; i++)
		if (run->places[i] >= s->n_items)
			return or_fail(err, OR_ERR_PROTOCOL, "items of a folder read in parts were left without a place");
	for (size_t i = 0; i < s->n_items; i++)
		while (run->places[i] != i) {
			size_t j = (size_t)run->places[i];
			if (run->places[j] == j) /* two items with one place: not a permutation */
				return or_fail(err, OR_ERR_PROTOCOL, "items of a folder read in parts have the same place");
			snap_item t = s->items[j];
			s->items[j] = s->items[i];
			s->items[i] = t;
			run->places[i] = run->places[j];
			run->places[j] = j;
		}
	return 0;
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
	free(h->idx);
	h->idx = NULL;
	h->n_idx = h->cap_idx = 0;
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
	for (size_t i = 0; i < h->n_idx; i++)
		run->places[h->idx[i]] = run->placed++;
	if (!run->sh.fatal && !run->in_memory) {
		/* the spilled lines, then those still in memory: in the order they came */
		off_t at = 0;
		if (h->spilled && fflush(run->w.af.fp) == 0) {
			/* in the kernel, file to file, when both are files (not a pipe for standard output) */
			while (at < h->spilled) {
				ssize_t r = copy_file_range(h->fd, &at, fileno(run->w.af.fp), NULL, (size_t)(h->spilled - at), 0);
				if (r <= 0)
					break;
			}
			if (at == h->spilled)
				snap_write_item_text(&run->w, "", 0, h->n_file);
		}
		if (h->spilled && at < h->spilled) {
			char *chunk = malloc(1u << 16);
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
	size_t m = pull_keep_new(run, sp, f, items, n, false);
	bool hold = sp && k > sp->flushed;
	if (!hold) {
		if (sp)
			flush_held(run, sp, k); /* what this part held before the parts ahead of it were read */
		for (size_t i = 0; i < m; i++)
			pull_emit_item(run, &items[i]);
		pull_writeback(run);
	} else if (run->in_memory) {
		hold_in_memory(run, &sp->held[k], items, m);
	}
	pull_progress(run, false);
	pthread_mutex_unlock(&run->wlock);
	if (!hold || run->in_memory)
		return;
	/* Lines held outside the lock: until this part is read, only its own worker touches them. */
	pull_held *h = &sp->held[k];
	bool nomem = false;
	for (size_t i = 0; i < m && !nomem; i++)
		nomem = snap_item_text(&h->text, &items[i]) != 0;
	h->n_text += m;
	if (!nomem && h->text.len >= run->spill_budget)
		spill(run, f, k, h); /* a failure stops the pull */
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
	while (sp->flushed < sp->n && sp->done[sp->flushed]) {
		flush_held(run, sp, sp->flushed++);
		pull_writeback(run);
	}
	return sp->finished == sp->n;
}

void pull_split_free(pull_split *sp)
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

/* A folder worth reading in parts: one of split_threshold items or more (any such folder when the
 * threshold was asked for) whose chain of pages is the pull's critical path, longer than an even share of all the pages among the requests in
 * flight (its count times `concurrency` over the items of every folder). A smaller one finishes
 * in one stream while the other workers read the rest, and splitting it would only cost the
 * probes, the filtered listings and the held lines. */
bool pull_worth_splitting(const pull_run *run, size_t i)
{
	const pull_options *opt = run->opt;
	int64_t n = run->snap->folders[i].content_count;
	int conc = opt->concurrency < 1 ? 1 : opt->concurrency > 16 ? 16 : opt->concurrency;
	return run->pull_items[i] && run->proto->split && conc > 1 && opt->split_threshold > 0 &&
	       n >= opt->split_threshold && (opt->split_any || run->items_total < 0 || n * conc > run->items_total);
}

/* Asks the protocol to split folder i; registers the split and returns it (the caller reads
 * part 0), or NULL to read the folder whole. Called without wlock. */
pull_split *pull_try_split(pull_run *run, pull_conn *c, void *ws, size_t i, int streams)
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
		pull_split_free(sp);
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
void pull_run_part(pull_run *run, pull_conn *c, void *ws, pull_split *sp, int k)
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
	pull_split_free(sp);
	run->done++;
	pull_progress(run, false);
	pthread_mutex_unlock(&run->wlock);
}

/* Where and when held parts spill: beside the snapshot's temporary file (its folder has room for
 * the snapshot these lines go to), else (standard output, a device) in TMPDIR; after 1 MiB of
 * lines per part, or what OSTRECON_TEST_SPILL_BYTES says (tests: a small folder that spills). */
void pull_spill_setup(pull_run *run)
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
