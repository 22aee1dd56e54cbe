/* pair.c: pairs folders and items of the two sides, each pair marked with how it was made.
 *
 * Folders: by source key; then by global counter and role (folders whose replid has no known GUID,
 * like the replid-0 folders of a cache); then by (replica, global counter) where it is unique on
 * both sides; then by distinguished role where unique; then by normalized path. Two objects of one
 * side never pair with one object of the other, and two objects with different full keys never pair.
 *
 * Items: by source key; then by (replica, global counter) where one side has no full key and the
 * key is unique on both sides; then, for items with neither, by class + subject + date + folder path.
 * Which replica an object without a full key belongs to on the other side is learned from the
 * objects the key passes leave (replicas.c): a counter is never matched across replicas.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- folder maps */

typedef struct {
	const uint8_t *p;
	size_t n;
	bool text; /* compare case-insensitively */
} fkey;

typedef fkey (*fkey_fn)(const side_state *ss, uint32_t f);
typedef struct {
	const side_state *ss;
	fkey_fn fn;
} fmap_ctx;

static fkey fk_key(const side_state *ss, uint32_t f)
{
	const snap_ident *id = &ss->s->folders[f].ident;
	return (fkey){id->has_key ? id->key : NULL, SNAP_KEY_LEN, false};
}

static fkey fk_gc(const side_state *ss, uint32_t f)
{
	const snap_ident *id = &ss->s->folders[f].ident;
	return (fkey){id->has_gc ? id->gc : NULL, SNAP_GC_LEN, false};
}

/* (replica group, global counter): the counter within its replica. */
static void fallback_key(uint8_t out[FALLBACK_KEY_LEN], int32_t group, const uint8_t gc[SNAP_GC_LEN])
{
	uint32_t g = (uint32_t)group;
	out[0] = (uint8_t)(g >> 24), out[1] = (uint8_t)(g >> 16), out[2] = (uint8_t)(g >> 8), out[3] = (uint8_t)g;
	memcpy(out + 4, gc, SNAP_GC_LEN);
}

static fkey fk_replica_gc(const side_state *ss, uint32_t f)
{
	const snap_ident *id = &ss->s->folders[f].ident;
	bool has = id->has_gc && ss->folder_group[f] >= 0;
	return (fkey){has ? ss->folder_rkey + (size_t)f * FALLBACK_KEY_LEN : NULL, FALLBACK_KEY_LEN, false};
}

static bool distinguished_role(const char *r)
{
	return r && *r && strcmp(r, "ipm") != 0 && strcmp(r, "other") != 0 && strcmp(r, "search") != 0;
}

static fkey fk_role(const side_state *ss, uint32_t f)
{
	const char *r = ss->s->folders[f].role;
	return (fkey){distinguished_role(r) ? (const uint8_t *)r : NULL, r ? strlen(r) : 0, true};
}

static fkey fk_path(const side_state *ss, uint32_t f)
{
	const char *p = ss->npath[f];
	return (fkey){(const uint8_t *)p, p ? strlen(p) : 0, true};
}

static bool fkey_eq(fkey a, fkey b)
{
	if (!a.p || !b.p || a.n != b.n)
		return false;
	return a.text ? strncasecmp((const char *)a.p, (const char *)b.p, a.n) == 0 : memcmp(a.p, b.p, a.n) == 0;
}

static uint64_t fkey_hash(fkey k)
{
	if (!k.text)
		return or_hash(k.p, k.n);
	char buf[1024];
	size_t n = k.n < sizeof buf - 1 ? k.n : sizeof buf - 1;
	memcpy(buf, k.p, n);
	buf[n] = '\0';
	return hash_str_ci(buf);
}

static bool fmap_same(const void *ctx, uint32_t idx, const void *key)
{
	const fmap_ctx *c = ctx;
	return fkey_eq(c->fn(c->ss, idx), *(const fkey *)key);
}

/* Maps every folder of a side that has the key; dup[f] = 1 for the first of a repeated key. */
static int fmap_build(idx_map *m, uint8_t *dup, const fmap_ctx *c)
{
	const snap_t *s = c->ss->s;
	if (map_init(m, s->n_folders) != 0)
		return -1;
	memset(dup, 0, s->n_folders);
	for (uint32_t f = 0; f < s->n_folders; f++) {
		fkey k = c->fn(c->ss, f);
		if (!k.p)
			continue;
		uint32_t prev = map_put(m, fkey_hash(k), f, fmap_same, c, &k);
		if (prev != MAP_EMPTY)
			dup[prev] = dup[f] = 1;
	}
	return 0;
}

static bool full_keys_differ(const snap_ident *a, const snap_ident *b)
{
	return a->has_key && b->has_key && memcmp(a->key, b->key, SNAP_KEY_LEN) != 0;
}

static void pair_folders(diff_ctx *c, int32_t f0, int32_t f1, diff_pair_method how)
{
	c->side[0].folder_pair[f0] = f1;
	c->side[1].folder_pair[f1] = f0;
	c->side[0].folder_pair_by[f0] = c->side[1].folder_pair_by[f1] = (uint8_t)how;
	c->r->folder_pairs_by[how]++;
}

/* One pass: pairs unpaired folders of side 0 with unpaired folders of side 1 that share the key
 * `fn` gives, when the key is unique on both sides (or, for source keys, with its first holder).
 * Returns -1 out of memory. */
static int folder_pass(diff_ctx *c, fkey_fn fn, diff_pair_method how, bool need_same_role)
{
	int rc = -1;
	idx_map m[2] = {{0}};
	uint8_t *dup[2] = {NULL, NULL};
	fmap_ctx mc[2];
	for (int s = 0; s < 2; s++) {
		mc[s] = (fmap_ctx){&c->side[s], fn};
		dup[s] = malloc(c->side[s].s->n_folders + 1);
		if (!dup[s] || fmap_build(&m[s], dup[s], &mc[s]) != 0)
			goto out;
	}
	const snap_t *a = c->side[0].s, *b = c->side[1].s;
	for (uint32_t f = 0; f < a->n_folders; f++) {
		if (c->side[0].folder_pair[f] >= 0 || (how != PAIR_KEY && dup[0][f]))
			continue;
		fkey k = fn(&c->side[0], f);
		if (!k.p)
			continue;
		uint32_t g = map_get(&m[1], fkey_hash(k), fmap_same, &mc[1], &k);
		if (g == MAP_EMPTY || (how != PAIR_KEY && dup[1][g]) || c->side[1].folder_pair[g] >= 0)
			continue;
		if (full_keys_differ(&a->folders[f].ident, &b->folders[g].ident))
			continue;
		/* A public folder (Root - Public and below) is never the mailbox's folder of that name or
		 * role: Root - Public has its own NON_IPM_SUBTREE and IPM_SUBTREE. */
		if (how != PAIR_KEY && (c->side[0].fclass[f] == FC_PUBLIC) != (c->side[1].fclass[g] == FC_PUBLIC))
			continue;
		if (need_same_role && !fkey_eq(fk_role(&c->side[0], f), fk_role(&c->side[1], g)))
			continue; /* (false when either has no distinguished role) */
		pair_folders(c, (int32_t)f, (int32_t)g, how);
	}
	rc = 0;
out:
	for (int s = 0; s < 2; s++) {
		map_free(&m[s]);
		free(dup[s]);
	}
	return rc;
}

/* Folders sharing a key on one side: a finding of their own (mbsync: an ambiguous key is never a
 * silent pick). The first of them may still pair. */
static int folder_duplicates(diff_ctx *c)
{
	for (int s = 0; s < 2; s++) {
		idx_map m = {0};
		fmap_ctx mc = {&c->side[s], fk_key};
		const snap_t *sn = c->side[s].s;
		if (map_init(&m, sn->n_folders) != 0)
			return -1;
		for (uint32_t f = 0; f < sn->n_folders; f++) {
			fkey k = fk_key(&c->side[s], f);
			if (!k.p)
				continue;
			uint32_t prev = map_put(&m, fkey_hash(k), f, fmap_same, &mc, &k);
			if (prev == MAP_EMPTY)
				continue;
			diff_finding *fd = diff_add_finding(c->r, FIND_DUPLICATE_KEY, s);
			if (!fd) {
				map_free(&m);
				return -1;
			}
			fd->folder[s] = (int32_t)prev;
			fd->folder[1 - s] = -1;
			fd->item[0] = fd->item[1] = -1;
			fd->second = (int32_t)f;
			fd->what = "folder";
		}
		map_free(&m);
	}
	return 0;
}

/* The folders' fallback keys, once the replica groups are known. */
static int folder_rkeys(diff_ctx *c)
{
	for (int s = 0; s < 2; s++) {
		side_state *ss = &c->side[s];
		size_t n = ss->s->n_folders;
		if (!(ss->folder_rkey = malloc((n + 1) * FALLBACK_KEY_LEN)))
			return -1;
		for (size_t f = 0; f < n; f++)
			fallback_key(ss->folder_rkey + f * FALLBACK_KEY_LEN, ss->folder_group[f], ss->s->folders[f].ident.gc);
	}
	return 0;
}

/* ---------------------------------------------------------------- item maps */

typedef struct {
	const side_state *ss;
	int what; /* 0 key, 1 (replica group, gc), 2 heuristic */
} imap_ctx;

typedef struct {
	const char *cls, *path;
	uint64_t subject; /* its hash */
	int64_t date;
} heur_key;

static heur_key heur_of(const side_state *ss, uint32_t i)
{
	const snap_citem *it = &ss->ci->items[i];
	int32_t f = ss->item_folder[i];
	return (heur_key){item_text(ss->ci, it->cls), f >= 0 && ss->npath[f] ? ss->npath[f] : "", it->subject_hash,
	                  diff_item_date(it)};
}

static uint64_t heur_hash(const heur_key *k)
{
	uint64_t h = hash_str_ci(k->cls) * 31 + k->subject;
	h = h * 31 + hash_str_ci(k->path);
	return or_hash(&h, sizeof h) ^ or_hash(&k->date, sizeof k->date);
}

static bool heur_eq(const heur_key *a, const heur_key *b)
{
	return a->date == b->date && strcmp(a->cls, b->cls) == 0 && a->subject == b->subject &&
	       strcasecmp(a->path, b->path) == 0;
}

static bool imap_same(const void *ctx, uint32_t idx, const void *key)
{
	const imap_ctx *c = ctx;
	const snap_citem *it = &c->ss->ci->items[idx];
	switch (c->what) {
	case 0: return memcmp(it->ident.key, key, SNAP_KEY_LEN) == 0;
	case 1: {
		uint8_t k[FALLBACK_KEY_LEN];
		fallback_key(k, c->ss->item_group[idx], it->ident.gc);
		return memcmp(k, key, FALLBACK_KEY_LEN) == 0;
	}
	default: {
		heur_key h = heur_of(c->ss, idx);
		return heur_eq(&h, key);
	}
	}
}

static bool item_compared(const diff_ctx *c, const snap_citem *it)
{
	return !it->associated || c->r->options.compare_associated;
}

/* Marks a pair on both sides (uncounted: pair_items counts it). */
static void link_items(diff_ctx *c, uint32_t i0, uint32_t i1, diff_pair_method how)
{
	c->side[0].item_pair[i0] = (int32_t)i1;
	c->side[1].item_pair[i1] = (int32_t)i0;
	c->side[0].item_pair_by[i0] = c->side[1].item_pair_by[i1] = (uint8_t)how;
}

static void pair_items(diff_ctx *c, uint32_t i0, uint32_t i1, diff_pair_method how)
{
	link_items(c, i0, i1, how);
	c->r->pairs_by[how]++;
}

/* How far ahead the loops over items by key hash and fetch: enough to cover a cache miss. */
#define KEY_AHEAD 8
/* From this many items of side 0, they are looked up by key in two halves at once. */
#define KEY_SPLIT_MIN 20000

/* The hash of item i's key, its slot in m fetched; 0 when it has no key. */
static uint64_t key_hash(const diff_ctx *c, const snap_compared *sn, uint32_t i, const idx_map *m)
{
	const snap_citem *it = &sn->items[i];
	if (!it->ident.has_key || !item_compared(c, it))
		return 0;
	uint64_t h = or_hash(it->ident.key, SNAP_KEY_LEN);
	map_prefetch(m, h);
	return h;
}

/* A later holder of a key already held on its side: marked, and kept for dup_findings. */
static int dup_note(side_state *ss, uint32_t first, uint32_t later)
{
	if (ss->n_key_dups + 2 > ss->cap_key_dups) {
		size_t cap = ss->cap_key_dups ? 2 * ss->cap_key_dups : 64;
		uint32_t *p = realloc(ss->key_dups, cap * sizeof *p);
		if (!p)
			return -1;
		ss->key_dups = p;
		ss->cap_key_dups = cap;
	}
	ss->key_dups[ss->n_key_dups++] = first;
	ss->key_dups[ss->n_key_dups++] = later;
	ss->item_pair[later] = ITEM_DUPLICATE; /* reported as such, never as missing */
	return 0;
}

/* The duplicates dup_note kept for side s, as findings in the order they were met. */
static int dup_findings(diff_ctx *c, int s)
{
	side_state *ss = &c->side[s];
	for (size_t k = 0; k < ss->n_key_dups; k += 2) {
		uint32_t prev = ss->key_dups[k], i = ss->key_dups[k + 1];
		diff_finding *fd = diff_add_finding(c->r, FIND_DUPLICATE_KEY, s);
		if (!fd)
			return -1;
		fd->item[s] = (int32_t)prev;
		fd->folder[s] = ss->item_folder[prev];
		fd->second = (int32_t)i;
		fd->what = "item";
		fd->associated = ss->ci->items[i].associated;
	}
	free(ss->key_dups);
	ss->key_dups = NULL;
	ss->n_key_dups = ss->cap_key_dups = 0;
	return 0;
}

/* Maps the items of a side by key (what 0) or gc (what 1); keeps repeated keys for dup_findings
 * (what 0, and what 1 where they claim one key) or marks them in dup (what 1). Only unpaired
 * items when only_unpaired. Touches side s only. */
static int imap_build(diff_ctx *c, int s, idx_map *m, const imap_ctx *mc, uint8_t *dup, bool only_unpaired)
{
	side_state *ss = &c->side[s];
	const snap_compared *sn = ss->ci;
	if (map_init(m, sn->n_items) != 0)
		return -1;
	/* By key: the hashes of the next KEY_AHEAD items are taken early and their slots fetched. */
	uint64_t ahead[KEY_AHEAD];
	if (mc->what == 0)
		for (uint32_t i = 0; i < KEY_AHEAD && i < sn->n_items; i++)
			ahead[i] = key_hash(c, sn, i, m);
	for (uint32_t i = 0; i < sn->n_items; i++) {
		const snap_citem *it = &sn->items[i];
		uint64_t h = 0;
		if (mc->what == 0) {
			h = ahead[i % KEY_AHEAD];
			if (i + KEY_AHEAD < sn->n_items)
				ahead[i % KEY_AHEAD] = key_hash(c, sn, i + KEY_AHEAD, m);
		}
		if (!item_compared(c, it) || (only_unpaired && ss->item_pair[i] != -1))
			continue;
		const void *key;
		heur_key hk;
		uint8_t rk[FALLBACK_KEY_LEN];
		if (mc->what == 0) {
			if (!it->ident.has_key)
				continue;
			key = it->ident.key;
		} else if (mc->what == 1) {
			if (!it->ident.has_gc || ss->item_group[i] < 0)
				continue;
			fallback_key(rk, ss->item_group[i], it->ident.gc);
			key = rk;
			h = or_hash(key, FALLBACK_KEY_LEN);
		} else {
			hk = heur_of(ss, i);
			key = &hk;
			h = heur_hash(&hk);
		}
		uint32_t prev = map_put(m, h, i, imap_same, mc, key);
		if (prev == MAP_EMPTY)
			continue;
		/* Two objects without a full key but with one replid and gc claim one key as much as
		 * two with one full key do (a cache whose replid has no known GUID). */
		const snap_ident *pid = &sn->items[prev].ident;
		bool same_claim = mc->what == 0 || (mc->what == 1 && !it->ident.has_key && !pid->has_key &&
		                                    it->ident.replid >= 0 && it->ident.replid == pid->replid &&
		                                    ss->item_pair[i] == -1);
		if (dup && !same_claim)
			dup[prev] = dup[i] = 1;
		if (same_claim && dup_note(ss, prev, i) != 0)
			return -1;
	}
	return 0;
}

int diff_key_map(diff_ctx *c, int s)
{
	imap_ctx mc = {&c->side[s], 0};
	return imap_build(c, s, &c->side[s].key_map, &mc, NULL, false);
}

static bool has_unpaired(const diff_ctx *c, int want_gc)
{
	for (int s = 0; s < 2; s++) {
		const snap_compared *sn = c->side[s].ci;
		for (size_t i = 0; i < sn->n_items; i++) {
			const snap_ident *id = &sn->items[i].ident;
			if (c->side[s].item_pair[i] != -1 || id->has_key || !item_compared(c, &sn->items[i]))
				continue;
			if (want_gc ? id->has_gc : !id->has_gc)
				return true;
		}
	}
	return false;
}

/* Side 0's items [from, to) looked up by key on side 1, on a thread of their own: each key of
 * side 0 has one holder left to look up (the later ones are marked ITEM_DUPLICATE) and side 1's map
 * one holder of each key, so the two halves never pair one item twice. */
typedef struct {
	diff_ctx *c;
	uint32_t from, to;
	size_t pairs;
} key_run;

static void *pair_key_range(void *arg)
{
	key_run *run = arg;
	diff_ctx *c = run->c;
	imap_ctx mc = {&c->side[1], 0};
	const idx_map *m = &c->side[1].key_map;
	const snap_compared *a = c->side[0].ci;
	uint64_t ahead[KEY_AHEAD];
	for (uint32_t i = run->from; i < run->from + KEY_AHEAD && i < run->to; i++)
		ahead[i % KEY_AHEAD] = key_hash(c, a, i, m);
	for (uint32_t i = run->from; i < run->to; i++) {
		uint64_t h = ahead[i % KEY_AHEAD];
		if (i + KEY_AHEAD < run->to)
			ahead[i % KEY_AHEAD] = key_hash(c, a, i + KEY_AHEAD, m);
		const snap_citem *it = &a->items[i];
		if (!it->ident.has_key || !item_compared(c, it) || c->side[0].item_pair[i] != -1)
			continue;
		uint32_t k = map_get(m, h, imap_same, &mc, it->ident.key);
		if (k == MAP_EMPTY)
			continue;
		link_items(c, i, k, PAIR_KEY);
		run->pairs++;
	}
	return NULL;
}

/* Items by full key, with the two maps diff_key_map made: side 0's in two halves at once. */
static int pair_by_key(diff_ctx *c)
{
	int rc = -1;
	/* Side 0's map only found its repeated keys (each holder after the first is marked
	 * ITEM_DUPLICATE): it goes first. */
	map_free(&c->side[0].key_map);
	if (dup_findings(c, 0) != 0 || dup_findings(c, 1) != 0)
		goto out;
	uint32_t n = (uint32_t)c->side[0].ci->n_items, half = n / 2;
	key_run runs[2] = {{c, 0, half, 0}, {c, half, n, 0}};
	or_run_two(pair_key_range, &runs[0], &runs[1], n >= KEY_SPLIT_MIN);
	c->r->pairs_by[PAIR_KEY] += runs[0].pairs + runs[1].pairs;
	rc = 0;
out:
	map_free(&c->side[1].key_map);
	return rc;
}

/* Pairs of items left over by global counter (what 1: unique on both sides, one of the two without
 * a full key) or by the heuristic (what 2: one of the two with neither key nor gc). Items the
 * heuristic cannot tell apart (same class, subject, date and folder) pair in order: they look the
 * same in everything compared, so any pairing gives the same result. */
static int pair_fallback(diff_ctx *c, int what, diff_pair_method how)
{
	int rc = -1;
	idx_map m[2] = {{0}};
	uint8_t *dup[2] = {NULL, NULL};
	int32_t *next = NULL; /* heuristic: the other items of side 1 with the same key */
	imap_ctx mc[2] = {{&c->side[0], what}, {&c->side[1], what}};
	for (int s = 0; s < 2; s++) {
		dup[s] = or_block_alloc(c->side[s].ci->n_items + 1);
		if (!dup[s] || imap_build(c, s, &m[s], &mc[s], dup[s], what == 2) != 0 || dup_findings(c, s) != 0)
			goto out;
	}
	const snap_compared *a = c->side[0].ci, *b = c->side[1].ci;
	if (what == 2) {
		if (!(next = or_block_alloc((b->n_items + 1) * sizeof *next)))
			goto out;
		memset(next, 0xff, (b->n_items + 1) * sizeof *next);
		/* Chain every duplicate behind its first holder, kept in the map. */
		for (uint32_t i = 0; i < b->n_items; i++) {
			if (!dup[1][i] || c->side[1].item_pair[i] != -1 || !item_compared(c, &b->items[i]))
				continue;
			heur_key hk = heur_of(&c->side[1], i);
			uint32_t first = map_get(&m[1], heur_hash(&hk), imap_same, &mc[1], &hk);
			if (first != MAP_EMPTY && first != i) {
				next[i] = next[first];
				next[first] = (int32_t)i;
			}
		}
	}
	for (uint32_t i = 0; i < a->n_items; i++) {
		const snap_citem *x = &a->items[i];
		if (c->side[0].item_pair[i] != -1 || (what == 1 && dup[0][i]) || !item_compared(c, x))
			continue;
		uint32_t k;
		if (what == 1) {
			if (!x->ident.has_gc || c->side[0].item_group[i] < 0)
				continue;
			uint8_t rk[FALLBACK_KEY_LEN];
			fallback_key(rk, c->side[0].item_group[i], x->ident.gc);
			k = map_get(&m[1], or_hash(rk, FALLBACK_KEY_LEN), imap_same, &mc[1], rk);
			if (k == MAP_EMPTY || dup[1][k])
				continue;
		} else {
			heur_key hk = heur_of(&c->side[0], i);
			k = map_get(&m[1], heur_hash(&hk), imap_same, &mc[1], &hk);
			while (k != MAP_EMPTY && c->side[1].item_pair[k] != -1)
				k = next[k] >= 0 ? (uint32_t)next[k] : MAP_EMPTY;
			if (k == MAP_EMPTY)
				continue;
		}
		if (c->side[1].item_pair[k] != -1)
			continue;
		const snap_ident *y = &b->items[k].ident;
		if (x->associated != b->items[k].associated || full_keys_differ(&x->ident, y))
			continue;
		/* The fallback is for objects short of a key: at least one of the two must lack it
		 * (and for the heuristic, lack the gc too). */
		if (what == 1 && x->ident.has_key && y->has_key)
			continue;
		if (what == 2 && (x->ident.has_key || x->ident.has_gc) && (y->has_key || y->has_gc))
			continue;
		pair_items(c, i, k, how);
	}
	rc = 0;
out:
	for (int s = 0; s < 2; s++) {
		map_free(&m[s]);
		or_block_free(dup[s]);
	}
	or_block_free(next);
	return rc;
}

int diff_pair(diff_ctx *c, or_error *err)
{
	/* Keys first (folders, then items); what they leave tells which replica is which. */
	if (folder_duplicates(c) != 0 || folder_pass(c, fk_key, PAIR_KEY, false) != 0 || pair_by_key(c) != 0 ||
	    diff_replicas_learn(c) != 0 || folder_rkeys(c) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory pairing");
	if (folder_pass(c, fk_gc, PAIR_GC_ROLE, true) != 0 || folder_pass(c, fk_replica_gc, PAIR_GC_ONLY, false) != 0 ||
	    folder_pass(c, fk_role, PAIR_ROLE, false) != 0 || folder_pass(c, fk_path, PAIR_PATH, false) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory pairing folders");
	if (has_unpaired(c, 1) && pair_fallback(c, 1, PAIR_GC_ONLY) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory pairing items");
	if (has_unpaired(c, 0) && pair_fallback(c, 2, PAIR_HEURISTIC) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory pairing items");
	return 0;
}
