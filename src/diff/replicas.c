/* replicas.c: which replica of one side is which replica of the other, for the objects that pair
 * by global counter.
 *
 * A counter is unique only within its replica: a mailbox moved between databases holds objects of
 * several replicas whose counters overlap. An object with a full key names its replica by GUID,
 * the same on both sides. An object of a cache whose replid has no known GUID names its replica by
 * that replid, which means nothing on the other side. The objects left unpaired by the key passes
 * tell which replid is which: every counter such an object shares with an object of the other side
 * that looks the same (an item of the same class, subject and date; a folder of the same name) is
 * a vote for that pair of replicas. Counters alone cannot tell replicas apart where their ranges
 * overlap; the same counter on two different objects is a coincidence, not a vote. Each replid is given the replica of the other side with the
 * most votes, one to one (a tie leaves both unmatched), and never a GUID its own side already uses
 * (a store maps a GUID to one replid). The fallback key of an object is then (replica group,
 * counter): a counter repeated in another replica is another key, not an ambiguity.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 4096 /* distinct replicas and replids considered; objects past them get none */
#define MAX_VOTES 16384 /* distinct pairs of them */

typedef struct {
	int8_t side;      /* the side a replid belongs to; -1 for a GUID (the same on both sides) */
	int32_t replid;   /* side >= 0: the replid (-1: none known) */
	uint8_t guid[16]; /* side < 0 */
	uint8_t owned[2]; /* GUID: side s holds full keys of this replica */
	int32_t group;    /* the replica group: its own index for a GUID, its partner's group, or -1 */
	bool used;        /* matched (or blocked by a tie) */
} rlabel;

typedef struct {
	int32_t a, b; /* labels: a one of side 0 or a GUID, b one of side 1 or a GUID; one is a replid */
	int64_t n;
} vote;

typedef struct {
	rlabel *l;
	size_t n, cap;
	int32_t last[3]; /* the last label found per kind (side 0, side 1, GUID): runs of one replica */
	vote *v;
	size_t n_votes, cap_votes;
} rtab;

static bool label_is(const rlabel *x, int side, const snap_ident *id)
{
	return id->has_key ? x->side < 0 && memcmp(x->guid, id->key, 16) == 0 : x->side == side && x->replid == id->replid;
}

/* The label of an object's replica (added when `add`), or -1. */
static int32_t label_of(rtab *t, int side, const snap_ident *id, bool add)
{
	if (!id->has_gc && !id->has_key)
		return -1;
	int kind = id->has_key ? 2 : side;
	int32_t k = t->last[kind];
	if (k >= 0 && label_is(&t->l[k], side, id))
		return k;
	for (size_t i = 0; i < t->n; i++)
		if (label_is(&t->l[i], side, id))
			return t->last[kind] = (int32_t)i;
	if (!add || t->n >= MAX_LABELS)
		return -1;
	rlabel *x = or_append((void **)&t->l, &t->n, &t->cap, sizeof *x);
	if (!x)
		return -1;
	memset(x, 0, sizeof *x);
	x->side = id->has_key ? -1 : (int8_t)side;
	x->replid = id->has_key ? -1 : id->replid;
	if (id->has_key)
		memcpy(x->guid, id->key, 16);
	x->group = -1;
	return t->last[kind] = (int32_t)(t->n - 1);
}

static void add_vote(rtab *t, int32_t a, int32_t b)
{
	if (a < 0 || b < 0)
		return;
	for (size_t i = t->n_votes; i-- > 0;)
		if (t->v[i].a == a && t->v[i].b == b) {
			t->v[i].n++;
			return;
		}
	if (t->n_votes >= MAX_VOTES)
		return;
	vote *v = or_append((void **)&t->v, &t->n_votes, &t->cap_votes, sizeof *v);
	if (v)
		*v = (vote){a, b, 1};
}

static int vote_cmp(const void *x, const void *y)
{
	const vote *a = x, *b = y;
	return a->n != b->n ? (a->n > b->n ? -1 : 1) : (a->a != b->a ? a->a - b->a : a->b - b->b);
}

/* A replid of side s may not take a GUID that side s holds full keys of: its store maps that GUID
 * to another replid. (Objects whose replid is not known at all may belong to any replica.) */
static bool allowed(const rtab *t, const vote *v)
{
	const rlabel *a = &t->l[v->a], *b = &t->l[v->b];
	if (a->side < 0 && a->owned[1] && b->replid >= 0)
		return false; /* b, a replid of side 1, would take a GUID side 1 uses */
	if (b->side < 0 && b->owned[0] && a->replid >= 0)
		return false;
	return true;
}

/* Objects of one side with a counter, left unpaired by the key passes, keyed by counter. */
typedef struct {
	const snap_ident *id;
	const snap_folder *folder; /* the object: a folder, or */
	const snap_citem *item;    /* an item */
	uint32_t next; /* the next object with the same counter, or MAP_EMPTY */
} gc_obj;

/* Whether two objects with one counter, x of side 0 and y of side 1, look like one object: then
 * the counter is theirs in both replicas, and the pair of replicas gets a vote. */
static bool look_alike(const diff_ctx *c, const gc_obj *x, const gc_obj *y)
{
	if (x->folder || y->folder)
		return x->folder && y->folder && x->folder->name && y->folder->name &&
		       strcasecmp(x->folder->name, y->folder->name) == 0;
	const snap_citem *a = x->item, *b = y->item;
	const snap_compared *ca = c->side[0].ci, *cb = c->side[1].ci;
	return a->associated == b->associated && diff_item_date(a) == diff_item_date(b) &&
	       a->subject_hash == b->subject_hash &&
	       (!a->cls || !b->cls || strcasecmp(ca->heap + a->cls, cb->heap + b->cls) == 0);
}

static bool gco_same(const void *ctx, uint32_t idx, const void *key)
{
	const gc_obj *o = ctx;
	return memcmp(o[idx].id->gc, key, SNAP_GC_LEN) == 0;
}

static int collect(const diff_ctx *c, int s, gc_obj **out, size_t *n)
{
	const side_state *ss = &c->side[s];
	const snap_t *sn = ss->s;
	const snap_compared *ci = ss->ci;
	*out = or_block_alloc((sn->n_folders + ci->n_items + 1) * sizeof **out);
	if (!*out)
		return -1;
	*n = 0;
	for (size_t f = 0; f < sn->n_folders; f++)
		if (ss->folder_pair[f] < 0 && sn->folders[f].ident.has_gc)
			(*out)[(*n)++] = (gc_obj){&sn->folders[f].ident, &sn->folders[f], NULL, MAP_EMPTY};
	for (size_t i = 0; i < ci->n_items; i++)
		if (ss->item_pair[i] == -1 && ci->items[i].ident.has_gc &&
		    (!ci->items[i].associated || c->r->options.compare_associated))
			(*out)[(*n)++] = (gc_obj){&ci->items[i].ident, NULL, &ci->items[i], MAP_EMPTY};
	return 0;
}

static int count_votes(diff_ctx *c, rtab *t)
{
	gc_obj *o[2] = {NULL, NULL};
	size_t n[2] = {0, 0};
	idx_map m = {0};
	int rc = -1;
	if (collect(c, 0, &o[0], &n[0]) != 0 || collect(c, 1, &o[1], &n[1]) != 0 || map_init(&m, n[1]) != 0)
		goto out;
	/* Side 1 by counter, each counter's objects chained behind the first. */
	for (uint32_t j = 0; j < n[1]; j++) {
		uint32_t first = map_put(&m, or_hash(o[1][j].id->gc, SNAP_GC_LEN), j, gco_same, o[1], o[1][j].id->gc);
		if (first != MAP_EMPTY) {
			o[1][j].next = o[1][first].next;
			o[1][first].next = j;
		}
	}
	for (size_t i = 0; i < n[0]; i++) {
		const snap_ident *x = o[0][i].id;
		uint32_t j = map_get(&m, or_hash(x->gc, SNAP_GC_LEN), gco_same, o[1], x->gc);
		for (int bound = 0; j != MAP_EMPTY && bound < MAX_LABELS; j = o[1][j].next, bound++) {
			const snap_ident *y = o[1][j].id;
			if (x->has_key && y->has_key)
				continue; /* two GUIDs: the same replica only when equal, and those paired by key */
			if (!look_alike(c, &o[0][i], &o[1][j]))
				continue;
			add_vote(t, label_of(t, 0, x, true), label_of(t, 1, y, true));
		}
	}
	rc = 0;
out:
	map_free(&m);
	or_block_free(o[0]);
	or_block_free(o[1]);
	return rc;
}

/* Every replica of every object gets a label, kept in folder_group and item_group until the
 * groups replace it; a GUID is marked with the sides that hold full keys of it. */
static void add_labels(const diff_ctx *c, rtab *t)
{
	for (int s = 0; s < 2; s++) {
		const side_state *ss = &c->side[s];
		for (size_t f = 0; f < ss->s->n_folders; f++) {
			int32_t k = ss->folder_group[f] = label_of(t, s, &ss->s->folders[f].ident, true);
			if (k >= 0 && t->l[k].side < 0)
				t->l[k].owned[s] = 1;
		}
		for (size_t i = 0; i < ss->ci->n_items; i++) {
			int32_t k = ss->item_group[i] = label_of(t, s, &ss->ci->items[i].ident, true);
			if (k >= 0 && t->l[k].side < 0)
				t->l[k].owned[s] = 1;
		}
	}
}

/* One to one, the pairs with the most votes first. A replica that has two candidates with as many
 * votes is ambiguous and takes neither; the other replicas of those pairs stay free. */
static void match(rtab *t)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->l[k].side < 0)
			t->l[k].group = (int32_t)k;
	if (t->n_votes)
		qsort(t->v, t->n_votes, sizeof *t->v, vote_cmp);
	for (size_t i = 0; i < t->n_votes; i++) {
		const vote *v = &t->v[i];
		rlabel *a = &t->l[v->a], *b = &t->l[v->b];
		if (a->used || b->used || !allowed(t, v))
			continue;
		bool tie_a = false, tie_b = false;
		for (size_t j = i + 1; j < t->n_votes && t->v[j].n == v->n; j++) {
			const vote *w = &t->v[j];
			if (!allowed(t, w))
				continue;
			tie_a |= w->a == v->a && !t->l[w->b].used;
			tie_b |= w->b == v->b && !t->l[w->a].used;
		}
		if (tie_a || tie_b) {
			a->used |= tie_a;
			b->used |= tie_b;
			continue;
		}
		a->used = b->used = true;
		int32_t g = a->side < 0 ? v->a : b->side < 0 ? v->b : v->a; /* two replids: a's index */
		a->group = b->group = g;
	}
	/* A replid without a partner is a replica of its own: its objects pair with nothing by counter,
	 * and two of them with one counter still claim one key. */
	for (size_t k = 0; k < t->n; k++)
		if (t->l[k].group < 0)
			t->l[k].group = (int32_t)k;
}

int diff_replicas_learn(diff_ctx *c)
{
	rtab t = {0};
	t.last[0] = t.last[1] = t.last[2] = -1;
	int rc = -1;
	if (count_votes(c, &t) != 0)
		goto out;
	for (int s = 0; s < 2; s++) {
		side_state *ss = &c->side[s];
		ss->folder_group = malloc((ss->s->n_folders + 1) * sizeof *ss->folder_group);
		ss->item_group = or_block_alloc((ss->ci->n_items + 1) * sizeof *ss->item_group);
		if (!ss->folder_group || !ss->item_group)
			goto out;
	}
	add_labels(c, &t);
	match(&t);
	for (int s = 0; s < 2; s++) {
		side_state *ss = &c->side[s];
		for (size_t f = 0; f < ss->s->n_folders; f++)
			if (ss->folder_group[f] >= 0)
				ss->folder_group[f] = t.l[ss->folder_group[f]].group;
		for (size_t i = 0; i < ss->ci->n_items; i++)
			if (ss->item_group[i] >= 0)
				ss->item_group[i] = t.l[ss->item_group[i]].group;
	}
	rc = 0;
out:
	free(t.l);
	free(t.v);
	return rc;
}
