/*
 * native.c: the cache reader's default implementation of store.h, on ndb.c and ltp.c.
 *
 * Both B-trees are walked once into packed tables (ndb_table.c), so finding a node is a search and
 * the cost of a listing grows with the number of messages, not with its square. The tables keep at
 * most NDB_TABLE_MEMORY (4 MiB, ndb.c) of their pages in memory and write the rest to a temporary
 * file, read back a page at a time by the lookups that fall there: the memory of a listing does not
 * grow with the file (but for a bit per node and per block: `reached` here, `verified` in ndb.c).
 * The orphan count and the unreached messages go through the node table in order. A folder's
 * children are the rows of its hierarchy (0x0D), contents (0x0E) and associated contents (0x0F)
 * tables, in row order, as Outlook and libpff list them; a row whose node is missing is an
 * unreadable child, and so is a missing table of a normal folder (search folders have none).
 */
#include "ltp.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define NID_MESSAGE_STORE 0x21
#define NID_ROOT_FOLDER 0x122
#define NID_REPLICA_TABLE 0x801

/* ---------------------------------------------------------------- reading ahead
 *
 * Reading a message's properties (its block read, inflated and decoded, its property context
 * walked) is most of a listing's work; turning them into the snapshot's line is the rest. When a
 * folder with many messages is listed (st_prefetch) and the process may run on a second core (its
 * CPU affinity), a second thread reads the properties of the messages ahead of the listing, in row
 * order, into a ring of AHEAD_SLOTS results. The listing takes each result as it reaches that
 * message (n_child); it reads messages itself when the other thread has not yet started on the
 * one it needs, and, when the other thread is still on it, later ones into the ring rather than
 * wait: the two share the work whatever their speeds. Each takes a run of up to NDB_BATCH messages
 * at a time (claim_run) and reads their first blocks in one batch (read_run, ndb_batch_read: one
 * system call for the run). Both read with the same code and the same data, each with its own
 * buffers, heap and batch (ndb_reader_init): the results, errors included, are what one thread
 * gets. On one core the ring is kept without the thread, for the listing's runs; so it is for a
 * folder of fewer than AHEAD_MIN messages (`solo`: the thread leaves it to the listing), whose
 * messages the listing reads in runs all the same, a batch of first blocks each. The thread ends
 * before the checksum scan is handed the file (n_ndb).
 */
#define AHEAD_SLOTS 64
#define AHEAD_MIN (NDB_BATCH + 1) /* folders of one run or fewer are read on one thread (in a run) */

enum { SLOT_FREE, SLOT_BUSY, SLOT_READY };

typedef struct {
	int state;
	size_t index;   /* the child it holds */
	bool found;     /* its node is in the node B-tree: */
	ndb_nbt_ent e;  /* its entry */
	size_t at;      /* and its place there */
	int rc;         /* n_read_props's result for it, and what that filled */
	st_props props;
	or_error err;
} ahead_slot;

typedef struct nat_node nat_node;

typedef struct {
	pthread_t thread;
	bool running, stop;
	bool solo;            /* the listing is the listing's own to read (a small folder): not the thread's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool worker_waits, listing_waits; /* who waits on `cond`: it is signalled only then */
	ndb_file nf;          /* the thread's reader of the file */
	ltp_heap heap;
	/* the listing read ahead; node NULL: none */
	const nat_node *node;
	st_children kind;
	const uint32_t *kids;
	size_t n_kids;
	const uint16_t *ids;
	size_t n_ids;
	uint64_t generation;  /* one per listing, so that a result of an earlier one is dropped */
	uint64_t bytes_read, n_reads, n_calls; /* the thread's reads not yet added to the listing's counters */
	size_t next;          /* the first child neither thread has started */
	size_t taken;         /* children the listing has passed; slots hold taken .. taken + SLOTS - 1 */
	ahead_slot slot[AHEAD_SLOTS];
} ahead;

typedef struct {
	st_file base;
	ndb_file nf;
	ndb_report rep;  /* page problems met while loading the B-trees */
	or_error err;    /* the ndb layer's error slot for reads outside a call */
	ltp_heap heap;   /* reused from node to node */
	char *path;
	uint8_t *reached; /* one bit per node B-tree entry: opened as the file was walked (is_reached) */
	ahead *ahead;     /* the runs' ring, once a folder of 2 messages or more is listed, and the
	                   * second thread, once a large one is */
	/* what the other thread read for the child n_child handed out last (`pre_node`, NULL: none),
	 * kept here until that node's n_read_props takes it: a node is small (a message's st_props
	 * and or_error in each node made every open a 1.8 KB calloc, too big for malloc's caches) */
	const nat_node *pre_node;
	const uint16_t *pre_ids;
	size_t pre_n_ids;
	int pre_rc;
	st_props pre_props;
	or_error pre_err;
} nat_file;

struct nat_node {
	st_node base;
	nat_file *file;
	uint64_t data, sub;
	uint32_t *kids[3];
	size_t n_kids[3];
	bool listed[3];
};

static const st_ops native_ops;

static bool is_reached(const nat_file *f, size_t i)
{
	return f->reached[i >> 3] >> (i & 7) & 1;
}

/* Hands the values of `from` over to `to`, which holds none (its values are overwritten, not
 * freed): the entries in use only, not the whole array; `from` is left empty. */
static void props_move(st_props *to, st_props *from)
{
	memcpy(to->p, from->p, from->n * sizeof *from->p);
	to->n = from->n;
	to->block = from->block;
	to->used = from->used;
	st_props_init(from);
}

/* A result moved with its error: the message only when there is one. */
static void err_move(or_error *to, const or_error *from, int rc)
{
	if (rc)
		*to = *from;
	else
		to->code = 0, to->message[0] = '\0';
}

/* Drops a result read ahead that no n_read_props took. */
static void pre_drop(nat_file *f)
{
	st_props_clear(&f->pre_props);
	f->pre_node = NULL;
}

/* Opens the node of entry `e`, at place i in the node B-tree (found by the caller; NULL: not in
 * the tree). */
static int open_entry(nat_file *f, uint32_t nid, const ndb_nbt_ent *e, size_t i, st_node **out, or_error *err)
{
	*out = NULL;
	if (!e)
		return or_fail(err, OR_ERR_FORMAT, "node %u is not in the node B-tree", nid);
	f->reached[i >> 3] |= (uint8_t)(1u << (i & 7));
	nat_node *n = calloc(1, sizeof *n);
	if (!n)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	n->base.ops = &native_ops;
	n->base.id = nid;
	n->file = f;
	n->data = e->data;
	n->sub = e->sub;
	*out = &n->base;
	return 0;
}

static int open_node(nat_file *f, uint32_t nid, st_node **out, or_error *err)
{
	ndb_nbt_ent e;
	size_t i = 0;
	bool found = ndb_find_node(&f->nf, nid, &e, &i);
	return open_entry(f, nid, found ? &e : NULL, i, out, err);
}

static int heap_of(nat_file *f, uint32_t nid, uint64_t data, uint64_t sub, or_error *err)
{
	return ltp_open(&f->heap, &f->nf, nid, data, sub, err);
}

/* ---------------------------------------------------------------- file */

static void ahead_stop(nat_file *f);

static void n_close(st_file *sf)
{
	nat_file *f = (nat_file *)sf;
	ahead_stop(f);
	pre_drop(f);
	ndb_prefetch_stop(&f->nf);
	if (f->nf.size)
		log_verbose("cache file read: %llu bytes of %llu (%.2fx the file) in %llu reads, %llu system calls",
		            (unsigned long long)f->nf.bytes_read, (unsigned long long)f->nf.size,
		            (double)f->nf.bytes_read / (double)f->nf.size, (unsigned long long)f->nf.n_reads,
		            (unsigned long long)f->nf.n_calls);
	if (ndb_table_spilled(&f->nf.nbt) || ndb_table_spilled(&f->nf.bbt))
		log_verbose("B-tree tables: %zu KiB in memory, %zu KiB in a temporary file, %llu pages read back from it "
		            "in %llu system calls (%llu pages in batches)",
		            (ndb_table_bytes(&f->nf.nbt) + ndb_table_bytes(&f->nf.bbt)) >> 10,
		            (ndb_table_spilled(&f->nf.nbt) + ndb_table_spilled(&f->nf.bbt)) * NDB_TPAGE >> 10,
		            (unsigned long long)(ndb_table_spill_reads(&f->nf.nbt) + ndb_table_spill_reads(&f->nf.bbt)),
		            (unsigned long long)(ndb_table_spill_calls(&f->nf.nbt) + ndb_table_spill_calls(&f->nf.bbt)),
		            (unsigned long long)(ndb_table_spill_batched(&f->nf.nbt) + ndb_table_spill_batched(&f->nf.bbt)));
	ndb_close(&f->nf);
	ndb_report_free(&f->rep);
	ltp_free(&f->heap);
	free(f->path);
	free(f->reached);
	free(f);
}

int native_open(st_file **out, const char *path, or_error *err)
{
	*out = NULL;
	nat_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	f->base.ops = &native_ops;
	int rc = ndb_open_prefetched(&f->nf, path, &f->rep, err);
	if (rc > 0) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s", f->rep.skipped ? f->rep.skipped : "not a PST/OST file");
	} else if (rc == 0 && (f->nf.nbt.n == 0 || f->nf.bbt.n == 0)) {
		if (f->nf.eof > f->nf.size)
			rc = or_fail(err, OR_ERR_FORMAT, "the file is truncated: %llu bytes of the %llu its header states",
			             (unsigned long long)f->nf.size, (unsigned long long)f->nf.eof);
		else
			rc = or_fail(err, OR_ERR_FORMAT, "the file is damaged beyond opening: its %s B-tree cannot be read%s%s",
			             f->nf.nbt.n == 0 ? "node" : "block",
			             f->rep.n_problems ? ": " : "", f->rep.n_problems ? f->rep.problems[0].message : "");
	}
	if (rc == 0 && !(f->reached = calloc(f->nf.nbt.n / 8 + 1, 1)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc) {
		n_close(&f->base);
		return rc;
	}
	*out = &f->base;
	return 0;
}

static void n_get_info(st_file *sf, st_info *info)
{
	nat_file *f = (nat_file *)sf;
	memset(info, 0, sizeof *info);
	info->is_ost = f->nf.is_ost;
	info->is_pst = !f->nf.is_ost;
	static const char *const names[2][3] = {
		{"pst-ansi", "pst-unicode-512", "pst-unicode-4k"},
		{"ost-ansi", "ost-unicode-512", "ost-unicode-4k"},
	};
	info->format = names[f->nf.is_ost][f->nf.f->kind];
	info->encryption = f->nf.crypt == NDB_CRYPT_NONE ? "none" : f->nf.crypt == NDB_CRYPT_PERMUTE ? "compressible" : "high";
	info->size = (int64_t)f->nf.size;
	info->corrupted = f->rep.bad_pages > 0 || f->rep.limit_hit || f->nf.eof > f->nf.size;
	info->bytes_read = (int64_t)f->nf.bytes_read;
}

static bool is_item_type(uint32_t nid)
{
	uint32_t t = nid & 0x1F;
	return t == 0x02 || t == 0x03 || t == 0x04 || t == 0x08;
}

/* Folders and messages in the node B-tree that the walk did not reach: no folder's table lists
 * them (called after the walk). */
static int n_orphan_count(st_file *sf, int64_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	int64_t count = 0;
	ndb_cursor c;
	uint64_t v[4];
	ndb_cursor_init(&c, &f->nf.nbt, 0);
	for (size_t i = 0; ndb_cursor_next(&c, v); i++)
		if (is_item_type((uint32_t)v[0]) && !is_reached(f, i))
			count++;
	*n = count;
	return 0;
}

/* The messages (normal and associated) in the node B-tree that the walk did not reach, by node id
 * (called after the walk has opened every row of every table). */
static int n_unreached_messages(st_file *sf, uint32_t **out, size_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	size_t count = 0, cap = 0;
	*out = NULL;
	ndb_cursor c;
	uint64_t v[4];
	ndb_cursor_init(&c, &f->nf.nbt, 0);
	for (size_t i = 0; ndb_cursor_next(&c, v); i++) {
		uint32_t nid = (uint32_t)v[0], t = nid & 0x1F;
		if ((t != 0x04 && t != 0x08) || is_reached(f, i))
			continue;
		uint32_t *slot = or_append((void **)out, &count, &cap, sizeof *slot);
		if (!slot) {
			free(*out);
			*out = NULL;
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		*slot = nid;
	}
	*n = count;
	return 0;
}

/* libpff's scan for deleted items: the native reader has none of its own. */
static int n_recover(st_file *sf, int64_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	st_file *p = NULL;
	int rc = pff_open(&p, f->path, err);
	if (rc == 0)
		rc = st_recover(p, n, err);
	st_close(p);
	return rc;
}

/* Descriptor 0x801, a heap of client signature 0x6C whose root holds two heap ids: a BTH of records
 * (16-byte GUID, 2-byte replid) sorted by GUID, and an array of 16-byte GUIDs indexed by replid
 * (libpff's format document, "The 6c table"; docs/QUIRKS.md). The record's replid is checked against
 * the array: a record the array contradicts keeps its GUID but loses its replid. */
static int n_replica_table(st_file *sf, st_replica **out, size_t *n, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	*out = NULL;
	*n = 0;
	ndb_nbt_ent ent;
	if (!ndb_find_node(&f->nf, NID_REPLICA_TABLE, &ent, NULL))
		return 0; /* no replica table: a PST, or a file without one */
	const ndb_nbt_ent *e = &ent;
	const uint8_t *hdr, *vals = NULL;
	size_t len, n_vals = 0;
	uint8_t *rec = NULL, cb_key, cb_ent;
	size_t count = 0;
	uint32_t hid_vals = 0;
	or_error e2 = {0};
	int rc = heap_of(f, e->nid, e->data, e->sub, &e2);
	if (rc == 0 && (rc = ltp_hid(&f->heap, f->heap.user_root, &hdr, &len, &e2)) == 0 && len < 8)
		rc = or_fail(&e2, OR_ERR_FORMAT, "its header is %zu bytes", len);
	if (rc == 0) {
		hid_vals = ndb_le32(hdr + 4);
		rc = ltp_bth_records(&f->heap, ndb_le32(hdr), &rec, &count, &cb_key, &cb_ent, &e2);
	}
	if (rc == 0 && (cb_key != 16 || cb_ent != 2))
		rc = or_fail(&e2, OR_ERR_FORMAT, "its records have %u-byte keys and %u-byte values", cb_key, cb_ent);
	/* The GUID array only checks the records: without it, the records stand alone. */
	or_error e3 = {0};
	if (rc == 0 && hid_vals && ltp_hid(&f->heap, hid_vals, &vals, &n_vals, &e3) == 0)
		n_vals /= 16;
	else
		vals = NULL, n_vals = 0;
	if (rc == 0 && !(*out = calloc(count ? count : 1, sizeof **out)))
		rc = or_fail(&e2, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++) {
		const uint8_t *r = rec + i * 18;
		st_replica *x = &(*out)[(*n)++];
		memcpy(x->guid, r, 16);
		x->replid = ndb_le16(r + 16);
		if (vals && ((size_t)x->replid >= n_vals || memcmp(vals + 16 * (size_t)x->replid, r, 16) != 0))
			x->replid = -1;
	}
	free(rec);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc == OR_ERR_NOMEM ? or_fail(err, rc, "out of memory")
		                          : or_fail(err, rc, "cannot read the replica table (descriptor 0x801): %s", e2.message);
	}
	return 0;
}

int native_replica_table(const char *path, st_replica **out, size_t *n, or_error *err)
{
	st_file *f = NULL;
	*out = NULL;
	*n = 0;
	int rc = native_open(&f, path, err);
	if (rc == 0)
		rc = n_replica_table(f, out, n, err);
	st_close(f);
	return rc;
}

/* A node every file has: not found is "the file has no <what>", unless a lookup's page of the
 * B-tree tables could not be read back (then that is the error). */
static int open_required(st_file *sf, uint32_t nid, const char *what, st_node **out, or_error *err)
{
	nat_file *f = (nat_file *)sf;
	int rc = open_node(f, nid, out, err);
	if (rc != OR_ERR_FORMAT)
		return rc;
	if (ndb_lost_fail(&f->nf, err) != 0)
		return OR_ERR_IO;
	return or_fail(err, OR_ERR_NOTFOUND, "the file has no %s", what);
}

static int n_message_store(st_file *sf, st_node **out, or_error *err)
{
	return open_required(sf, NID_MESSAGE_STORE, "message store", out, err);
}

static int n_root_folder(st_file *sf, st_node **out, or_error *err)
{
	return open_required(sf, NID_ROOT_FOLDER, "root folder", out, err);
}

/* ---------------------------------------------------------------- the reading-ahead thread */

static int read_props_with(ltp_heap *heap, ndb_file *nf, uint32_t nid, uint64_t data, uint64_t sub,
                           const uint16_t *ids, size_t n_ids, st_props *out, or_error *err);

/* Drops the current listing's results (called with the lock held). */
static void ahead_reset(ahead *a)
{
	a->generation++;
	a->node = NULL;
	a->next = a->taken = 0;
	for (size_t i = 0; i < AHEAD_SLOTS; i++) {
		if (a->slot[i].state == SLOT_READY)
			st_props_clear(&a->slot[i].props);
		a->slot[i].state = SLOT_FREE;
	}
}

/* Children j .. j + m - 1 of the listing read ahead, claimed by the caller (their slots busy), read
 * with `nf` and `heap`: their first blocks at once (ndb_batch_read), then one message after the
 * other, each slot filled as its message is done. Called and returns with the lock held. `worker`:
 * the other thread's reader, whose counters are added to the listing's and whose listing may end
 * meanwhile (then it stops: the slots were emptied); else the listing's own, which alone ends one. */
static void read_run(ahead *a, ndb_file *nf, ltp_heap *heap, size_t j, size_t m, bool worker)
{
	uint64_t generation = a->generation;
	uint32_t nids[NDB_BATCH];
	const uint16_t *ids = a->ids;
	size_t n_ids = a->n_ids;
	memcpy(nids, a->kids + j, m * sizeof *nids);
	pthread_mutex_unlock(&a->lock);

	ndb_nbt_ent e[NDB_BATCH];
	size_t at[NDB_BATCH];
	bool found[NDB_BATCH];
	uint64_t keys[NDB_BATCH]; /* the nodes' ids, then their data blocks' */
	for (size_t k = 0; k < m; k++)
		keys[k] = nids[k];
	ndb_batch_pages(nf, &nf->nbt, keys, m); /* the node table's pages the lookups below need */
	for (size_t k = 0; k < m; k++) {
		at[k] = 0;
		found[k] = ndb_find_node(nf, nids[k], &e[k], &at[k]);
		keys[k] = found[k] ? e[k].data : 0;
	}
	ndb_batch_read(nf, keys, m);
	for (size_t k = 0; k < m; k++) {
		st_props props;
		or_error err;
		st_props_init(&props);
		err.code = 0;
		int rc = 0;
		if (found[k])
			rc = read_props_with(heap, nf, nids[k], e[k].data, e[k].sub, ids, n_ids, &props, &err);

		pthread_mutex_lock(&a->lock);
		if (worker) {
			a->bytes_read += nf->bytes_read;
			a->n_reads += nf->n_reads;
			a->n_calls += nf->n_calls;
			nf->bytes_read = nf->n_reads = nf->n_calls = 0;
			if (generation != a->generation) {
				st_props_clear(&props); /* the listing it was for is over */
				return;
			}
		}
		ahead_slot *slot = &a->slot[(j + k) % AHEAD_SLOTS];
		slot->state = SLOT_READY;
		slot->found = found[k];
		slot->e = e[k];
		slot->at = at[k];
		slot->rc = rc;
		props_move(&slot->props, &props);
		err_move(&slot->err, &err, rc);
		if (worker && a->listing_waits)
			pthread_cond_broadcast(&a->cond);
		if (k + 1 < m)
			pthread_mutex_unlock(&a->lock);
	}
}

/* Claims the next children not started, at most NDB_BATCH and as many as the ring has room for
 * (called with the lock held): their slots busy; returns the first in *j and how many. */
static size_t claim_run(ahead *a, size_t *j)
{
	size_t m = a->n_kids - a->next, room = a->taken + AHEAD_SLOTS - a->next;
	if (m > room)
		m = room;
	if (m > NDB_BATCH)
		m = NDB_BATCH;
	*j = a->next;
	for (size_t k = 0; k < m; k++) {
		ahead_slot *slot = &a->slot[(a->next + k) % AHEAD_SLOTS];
		slot->state = SLOT_BUSY;
		slot->index = a->next + k;
	}
	a->next += m;
	return m;
}

static void *ahead_main(void *arg)
{
	ahead *a = arg;
	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		if (!a->node || a->solo || a->next >= a->n_kids || a->next >= a->taken + AHEAD_SLOTS) {
			a->worker_waits = true;
			pthread_cond_wait(&a->cond, &a->lock);
			a->worker_waits = false;
			continue;
		}
		size_t j = 0, m = claim_run(a, &j);
		read_run(a, &a->nf, &a->heap, j, m, true);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* The ring, without the second thread (ahead_thread starts it): the listing reads every message
 * itself, a run at a time. */
static int ahead_start(nat_file *f)
{
	ahead *a = calloc(1, sizeof *a);
	if (!a)
		return OR_ERR_NOMEM;
	ndb_reader_init(&a->nf, &f->nf);
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return OR_ERR_NOMEM;
	}
	if (pthread_cond_init(&a->cond, NULL) != 0) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return OR_ERR_NOMEM;
	}
	f->ahead = a;
	return 0;
}

/* The ring's second thread, started the first time a large folder is listed; false when it cannot
 * be made (the listing then reads on its own, in runs). */
static bool ahead_thread(ahead *a)
{
	if (!a->running && or_thread_create(&a->thread, ahead_main, a) == 0)
		a->running = true;
	return a->running;
}

static void ahead_stop(nat_file *f)
{
	ahead *a = f->ahead;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	ahead_reset(a);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->running)
		pthread_join(a->thread, NULL);
	f->nf.bytes_read += a->bytes_read;
	f->nf.n_reads += a->n_reads;
	f->nf.n_calls += a->n_calls;
	ndb_reader_done(&a->nf, &f->nf);
	ltp_free(&a->heap);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	f->ahead = NULL;
}

/* What ahead_take found for a child: its node's entry, when the other thread read it. */
typedef struct {
	int state;
	bool found;
	ndb_nbt_ent e;
	size_t at;
} ahead_got;

/* The listing has reached child `index` of `node`: *got receives the entry the other thread found
 * for it and f->pre_rc, pre_props and pre_err what it read (state SLOT_READY), waiting for it if
 * the thread is on it; or state SLOT_FREE when the listing reads it itself (the thread has not
 * started on it, or this is not the listing read ahead). */
static void ahead_take(ahead *a, nat_file *f, const nat_node *node, st_children kind, size_t index, ahead_got *got)
{
	got->state = SLOT_FREE;
	pthread_mutex_lock(&a->lock);
	f->nf.bytes_read += a->bytes_read; /* the file's counters count both threads' reads as they go */
	f->nf.n_reads += a->n_reads;
	f->nf.n_calls += a->n_calls;
	a->bytes_read = a->n_reads = a->n_calls = 0;
	if (a->node == node && a->kind == kind && index == a->taken) {
		ahead_slot *slot = &a->slot[index % AHEAD_SLOTS];
		if (index >= a->next) {
			/* not started: the listing reads it, and the next ones with it */
			a->next = index;
			size_t j = 0, m = claim_run(a, &j);
			read_run(a, &f->nf, &f->heap, j, m, false);
		}
		while (slot->state == SLOT_BUSY) {
			if (a->next < a->n_kids && a->next < a->taken + AHEAD_SLOTS) {
				/* the other thread is on this one: read later ones meanwhile, rather than wait */
				size_t j = 0, m = claim_run(a, &j);
				read_run(a, &f->nf, &f->heap, j, m, false);
				continue;
			}
			a->listing_waits = true;
			pthread_cond_wait(&a->cond, &a->lock);
		}
		a->listing_waits = false;
		got->state = SLOT_READY;
		got->found = slot->found;
		got->e = slot->e;
		got->at = slot->at;
		f->pre_rc = slot->rc;
		props_move(&f->pre_props, &slot->props);
		err_move(&f->pre_err, &slot->err, slot->rc);
		slot->state = SLOT_FREE;
		a->taken = index + 1;
		/* a thread waiting for room is woken once half the ring is free: one wake for many messages */
		if (a->worker_waits && !a->solo && a->next < a->n_kids && a->taken + AHEAD_SLOTS - a->next >= AHEAD_SLOTS / 2)
			pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

/* ---------------------------------------------------------------- nodes */

static void n_node_free(st_node *sn)
{
	nat_node *n = (nat_node *)sn;
	nat_file *f = n->file;
	if (f->ahead) {
		/* a listing of this node being read ahead ends with it */
		pthread_mutex_lock(&f->ahead->lock);
		if (f->ahead->node == n)
			ahead_reset(f->ahead);
		pthread_mutex_unlock(&f->ahead->lock);
	}
	for (int k = 0; k < 3; k++)
		free(n->kids[k]);
	if (f->pre_node == n)
		pre_drop(f);
	free(n);
}

/* A node's properties read into `out` with `heap` (the listing's, or the reading-ahead thread's). */
static int read_props_with(ltp_heap *heap, ndb_file *nf, uint32_t nid, uint64_t data, uint64_t sub,
                           const uint16_t *ids, size_t n_ids, st_props *out, or_error *err)
{
	st_props_init(out);
	int rc = ltp_open(heap, nf, nid, data, sub, err);
	if (rc == 0)
		rc = ltp_pc_read(heap, ids, n_ids, out, err);
	return rc ? or_wrap(err, "cannot read the item's properties") : 0;
}

static int n_read_props(st_node *sn, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	nat_file *f = n->file;
	if (f->pre_node == n && f->pre_ids == ids && f->pre_n_ids == n_ids) {
		/* read ahead with these ids: handed over */
		f->pre_node = NULL;
		props_move(out, &f->pre_props);
		if (f->pre_rc)
			*err = f->pre_err;
		return f->pre_rc;
	}
	return read_props_with(&n->file->heap, &n->file->nf, n->base.id, n->data, n->sub, ids, n_ids, out, err);
}

static int n_folder_name(st_node *sn, char **out, or_error *err)
{
	static const uint16_t ids[] = {0x3001};
	st_props props = {0};
	*out = NULL;
	int rc = n_read_props(sn, ids, 1, &props, err);
	if (rc)
		return or_wrap(err, "cannot read the folder name");
	const st_prop *p = st_props_get(&props, 0x3001);
	if (p && (p->type == 0x1F || p->type == 0x1E) && !(*out = strdup((const char *)p->data)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	st_props_clear(&props);
	return rc;
}

static const char *const kind_what[3] = {"cannot list the sub folders", "cannot list the messages",
                                         "cannot list the associated messages"};

static int list_children(nat_node *n, st_children kind, or_error *err)
{
	if (n->listed[kind])
		return 0;
	static const uint32_t table_type[3] = {0x0D, 0x0E, 0x0F};
	uint32_t tnid = (n->base.id & ~0x1Fu) | table_type[kind];
	nat_file *f = n->file;
	ndb_nbt_ent tent;
	const ndb_nbt_ent *t = ndb_find_node(&f->nf, tnid, &tent, NULL) ? &tent : NULL;
	int rc = 0;
	if (!t && (n->base.id & 0x1F) == 0x02)
		/* every normal folder has all three tables (search folders have none of them) */
		rc = or_fail(err, OR_ERR_FORMAT, "its table node %u is not in the node B-tree", tnid);
	if (t && (rc = heap_of(f, tnid, t->data, t->sub, err)) == 0)
		rc = ltp_tc_rows(&f->heap, &n->kids[kind], &n->n_kids[kind], err);
	if (rc)
		return or_wrap(err, "%s", kind_what[kind]);
	n->listed[kind] = true;
	return 0;
}

static int n_child_count(st_node *sn, st_children kind, int *count, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	*count = 0;
	int rc = list_children(n, kind, err);
	if (rc)
		return rc;
	*count = n->n_kids[kind] > INT32_MAX ? INT32_MAX : (int)n->n_kids[kind];
	return 0;
}

static int n_child(st_node *sn, st_children kind, int index, st_node **out, or_error *err)
{
	nat_node *n = (nat_node *)sn;
	*out = NULL;
	int rc = list_children(n, kind, err);
	if (rc)
		return rc;
	if (index < 0 || (size_t)index >= n->n_kids[kind])
		return or_fail(err, OR_ERR_NOTFOUND, "cannot read the item: no child %d", index);
	uint32_t nid = n->kids[kind][index];
	nat_file *f = n->file;
	ahead_got got = {.state = SLOT_FREE};
	if (f->pre_node)
		pre_drop(f); /* read ahead for a node whose properties were not asked for */
	if (f->ahead)
		ahead_take(f->ahead, f, n, kind, (size_t)index, &got);
	/* the entry the other thread found for it, if it read it: the same table gives the same one */
	ndb_nbt_ent ent;
	size_t at = 0;
	const ndb_nbt_ent *e = NULL;
	if (got.state == SLOT_READY) {
		ent = got.e;
		at = got.at;
		e = got.found ? &ent : NULL;
	} else if (ndb_find_node(&n->file->nf, nid, &ent, &at)) {
		e = &ent;
	}
	if (!e) {
		st_props_clear(&f->pre_props);
		return or_fail(err, OR_ERR_FORMAT, "cannot read the item: node %u, listed in the folder's table, is not in "
		               "the node B-tree", nid);
	}
	if ((rc = open_entry(f, nid, e, at, out, err)) != 0 || got.state != SLOT_READY) {
		st_props_clear(&f->pre_props);
		return rc;
	}
	f->pre_node = (const nat_node *)*out;
	f->pre_ids = f->ahead->ids;
	f->pre_n_ids = f->ahead->n_ids;
	return 0;
}

/* The cores this process may run on (its affinity: taskset, a container's CPU set). */
static int usable_cpus(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

static int n_prefetch(st_node *sn, st_children kind, const uint16_t *ids, size_t n_ids)
{
	nat_node *n = (nat_node *)sn;
	nat_file *f = n->file;
	or_error e = {0};
	if (f->ahead) { /* the listing before is over */
		pthread_mutex_lock(&f->ahead->lock);
		ahead_reset(f->ahead);
		pthread_mutex_unlock(&f->ahead->lock);
	}
	if (list_children(n, kind, &e) != 0 || n->n_kids[kind] < 2)
		return 0;
	bool two = n->n_kids[kind] >= AHEAD_MIN && usable_cpus() >= 2;
	if (!f->ahead && ahead_start(f) != 0)
		return 0; /* read one message at a time */
	ahead *a = f->ahead;
	pthread_mutex_lock(&a->lock);
	a->solo = !(two && ahead_thread(a));
	a->node = n;
	a->kind = kind;
	a->kids = n->kids[kind];
	a->n_kids = n->n_kids[kind];
	a->ids = ids;
	a->n_ids = n_ids;
	if (!a->solo && a->worker_waits) /* a folder left to the listing wakes nobody */
		pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* A folder's list of children, 4 bytes a message, goes once the listing has passed it: kept for
 * every folder it added up to 4 MB at a million messages. */
static void n_children_done(st_node *sn, st_children kind)
{
	nat_node *n = (nat_node *)sn;
	nat_file *f = n->file;
	if (f->ahead) {
		/* the other thread reads the list it reads ahead under the lock: it lets go of it here */
		pthread_mutex_lock(&f->ahead->lock);
		if (f->ahead->node == n && f->ahead->kind == kind)
			ahead_reset(f->ahead);
		pthread_mutex_unlock(&f->ahead->lock);
	}
	free(n->kids[kind]);
	n->kids[kind] = NULL;
	n->n_kids[kind] = 0;
	n->listed[kind] = false;
}

static ndb_file *n_ndb(st_file *sf)
{
	nat_file *f = (nat_file *)sf;
	/* the checksum scan marks and reads `verified` and reads the arrays on its own: the other
	 * thread, which shares them, ends first (a later listing starts it again); the scan may use
	 * the cores the listing could */
	ahead_stop(f);
	f->nf.scan_threads = usable_cpus() >= 2 ? 2 : 1;
	return &f->nf;
}

static const st_ops native_ops = {
	.name = "native",
	.close = n_close,
	.get_info = n_get_info,
	.orphan_count = n_orphan_count,
	.unreached_messages = n_unreached_messages,
	.recover = n_recover,
	.replica_table = n_replica_table,
	.message_store = n_message_store,
	.root_folder = n_root_folder,
	.node_free = n_node_free,
	.folder_name = n_folder_name,
	.child_count = n_child_count,
	.child = n_child,
	.read_props = n_read_props,
	.ndb = n_ndb,
	.prefetch = n_prefetch,
	.children_done = n_children_done,
};
