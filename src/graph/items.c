/*
 * items.c: a folder's items over Graph, for pull.c: a delta round with the items' MAPI properties
 * expanded, or plain listings where the server refuses extended properties on delta or delta
 * itself (asked once, before any item is read); an expired delta state lists the folder instead;
 * items Graph sends twice are written once.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A large folder read in parts (pull_protocol.split): ranges of one time property that every
 * item of the collection has, their bounds found by probing, paged in parallel with a $filter on
 * the plain listing (src/pull writes an item the parts meet twice once). */
typedef struct {
	graph_coll kind;
	const char *prop;       /* createdDateTime (mailbox API items), receivedDateTime (messages) */
	int n;                  /* parts */
	char bound[GRAPH_MAX_PARTS - 1][24]; /* range r reads [bound[r-1], bound[r]) */
	pull_parts note;        /* the first part's failure */
} split_plan;

/* Where one round's items go: the folder's set of ids and count, or a part of a split. */
typedef struct {
	pull_id_set *seen;     /* the folder's ids met so far: Graph may send an item twice, and a folder
	                         * started again (expired delta state) sends them all again */
	size_t *got;
	split_plan *sp;         /* NULL: a whole folder */
	int part;
} item_sink;

/* One page's new items, with keys from their ids where Graph gave none. */
static int add_items(pull_run *run, const snap_folder *f, graph_page *pg, const item_sink *to)
{
	snap_t *sc = pg->scratch;
	size_t keep = 0;
	for (size_t i = 0; i < sc->n_items; i++) {
		snap_item *it = &sc->items[i];
		int fresh = pull_id_set_add(to->seen, it->id);
		if (fresh < 0)
			return -1;
		if (!fresh)
			continue;
		graph_key_from_ident(it->id, &it->ident);
		sc->items[keep++] = *it;
	}
	*to->got += keep;
	if (to->sp)
		pull_add_part_items(run, f, to->part, sc->items, keep);
	else
		pull_add_items(run, f, sc->items, keep, false);
	return 0;
}

/* Where a folder's items are: "/{folders}/{id}/{items}". */
static void items_path(graph_coll kind, const char *fid, char *out, size_t size)
{
	const char *folders = kind == COLL_MESSAGES ? "mailFolders" : kind == COLL_EVENTS ? "calendars"
	                      : kind == COLL_CONTACTS ? "contactFolders" : "folders";
	const char *items = kind == COLL_MESSAGES ? "messages" : kind == COLL_EVENTS ? "events"
	                    : kind == COLL_CONTACTS ? "contacts" : "items";
	snprintf(out, size, "/%s/%s/%s", folders, fid, items);
}

typedef enum { ROUND_DONE, ROUND_FAILED, ROUND_RESTART, ROUND_NO_EXPAND, ROUND_NO_DELTA } round_end;

/* One round of a folder's items: a delta round, or a plain listing (with `filter`, a $filter
 * already encoded for the query, for a part of a split folder). */
static round_end item_round(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const snap_folder *f,
                            graph_coll kind, bool delta, const char *filter, const item_sink *to)
{
	char path[1200];
	char *fid = graph_escape(f->id);
	if (!fid) {
		pull_listing_failed(run, f, to->sp ? &to->sp->note : NULL, to->part, "protocol", "out of memory");
		return ROUND_FAILED;
	}
	items_path(kind, fid, path, sizeof path);
	free(fid);
	char *url = graph_url(g->o->pull.url, g->base, path, kind, (graph_query){.delta = delta, .expand = true});
	if (url && filter) {
		or_buf b = {0};
		if (buf_printf(&b, "%s&$filter=%s", url, filter) != 0 || buf_append(&b, "", 1) != 0)
			buf_free(&b);
		free(url);
		url = b.data;
	}
	const char *op = delta ? "ItemsDelta" : to->sp ? "ListItemsPart" : "ListItems";
	size_t *got = to->got;
	round_end end = ROUND_DONE;
	int page;
	for (page = 0; url && page < GRAPH_MAX_PAGES; page++) {
		pthread_mutex_lock(&g->lock);
		bool probe = delta && g->expand_on_delta < 0 && page == 0;
		pthread_mutex_unlock(&g->lock);
		long http = 0;
		or_error err = {0};
		int rc = graph_get(c, g->o, op, f->path ? f->path : f->name, url, kind, false, probe, pg, &http, &err);
		free(url);
		url = NULL;
		if (rc && probe && (http >= 500 || http == 400 || http == 501)) {
			log_warn("%s: the server refuses extended properties on delta rounds (%s); listing items instead",
			         g->o->pull.mailbox, err.message);
			pthread_mutex_lock(&g->lock);
			g->expand_on_delta = 0;
			pthread_mutex_unlock(&g->lock);
			return ROUND_NO_EXPAND;
		}
		if (rc && delta && err.code == OR_ERR_LIMIT && strcmp(pg->error.code, "ErrorQuotaExceeded") == 0) {
			log_warn("%s: %s; listing items instead", g->o->pull.mailbox, err.message);
			return ROUND_NO_DELTA;
		}
		if (rc && delta && http == 410)
			return ROUND_RESTART;
		if (rc) {
			if (!pull_stopping(run))
				pull_listing_failed(run, f, to->sp ? &to->sp->note : NULL, to->part, pull_error_code_name(rc), "%s: %s (%zu items read before the failure)", op,
				             err.message, *got);
			return ROUND_FAILED;
		}
		if (probe) {
			pthread_mutex_lock(&g->lock);
			g->expand_on_delta = 1;
			pthread_mutex_unlock(&g->lock);
		}
		size_t before = *got;
		if (add_items(run, f, pg, to) != 0) {
			pull_listing_failed(run, f, to->sp ? &to->sp->note : NULL, to->part, "protocol", "out of memory");
			return ROUND_FAILED;
		}
		if (pg->next_link) {
			if (*got == before && pg->scratch->n_items == 0 && page > 1000) {
				pull_listing_failed(run, f, to->sp ? &to->sp->note : NULL, to->part, "protocol", "%s: the server keeps sending empty pages (%zu items read)", op,
				             *got);
				return ROUND_FAILED;
			}
			url = pg->next_link;
			pg->next_link = NULL;
		}
	}
	if (url) {
		free(url);
		pull_listing_failed(run, f, to->sp ? &to->sp->note : NULL, to->part, "limit", "%s: more than %d pages; stopped (%zu items read)", op, GRAPH_MAX_PAGES, *got);
		end = ROUND_FAILED;
	}
	return end;
}

static graph_coll kind_of(const graph_pull *g, pull_run *run, const snap_folder *f)
{
	size_t i = (size_t)(f - pull_snapshot(run)->folders);
	return i < g->n_kind ? g->kind[i] : COLL_MAILBOX_ITEMS;
}

void graph_folder_items(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	graph_pull *g = ctx;
	graph_page *pg = ws;
	graph_coll kind = kind_of(g, run, f);
	if (kind == COLL_NO_ITEMS)
		return;
	pull_id_set seen = {0};
	size_t got = 0;
	item_sink to = {.seen = &seen, .got = &got};
	bool expired = false;
	for (int round = 0; round <= GRAPH_MAX_RESTARTS; round++) {
		pthread_mutex_lock(&g->lock);
		bool delta = !g->no_delta && g->expand_on_delta != 0 && kind != COLL_EVENTS && !expired;
		pthread_mutex_unlock(&g->lock);
		round_end end = item_round(g, run, c, pg, f, kind, delta, NULL, &to);
		if (end == ROUND_DONE || end == ROUND_FAILED)
			break;
		if (end == ROUND_NO_DELTA) {
			pthread_mutex_lock(&g->lock);
			g->no_delta = true;
			pthread_mutex_unlock(&g->lock);
		}
		if (end == ROUND_RESTART) {
			/* The delta state expired in the middle of the round: the folder is listed instead
			 * (a listing has no state to lose); the items already read are kept once. */
			pthread_mutex_lock(&g->lock);
			g->restarts++;
			pthread_mutex_unlock(&g->lock);
			log_verbose("folder %s: the delta state expired; starting the folder again with a listing", f->path);
			expired = true;
		}
	}
	pull_id_set_free(&seen);
}

/* A time as a $filter takes it, to the second below (a bound anywhere between two items' times
 * splits them the same way: each item falls in exactly one range). */
static void bound_text(int64_t ft, char out[24])
{
	char t[32];
	filetime_format(ft, t);
	snprintf(out, 24, "%.19sZ", t);
}

/* The probes of a split: the time of the item at each k/parts of the folder in the property's
 * order, one object each, asked for all at once (pull_parallel). */
typedef struct {
	graph_pull *g;
	const snap_folder *f;
	split_plan *sp;
	const char *path;       /* the folder's items */
	int parts;
	struct {
		int rc;
		long http;
		or_error err;
		bool empty;         /* no item at that offset */
		int64_t t;
	} at[GRAPH_MAX_PARTS - 1];
} split_probes;

static void probe_bound(void *ctx, int k, pull_conn *c, void *ws)
{
	split_probes *pr = ctx;
	graph_pull *g = pr->g;
	const snap_folder *f = pr->f;
	graph_page *pg = ws;
	or_buf b = {0};
	size_t rl = strlen(g->o->pull.url);
	while (rl && g->o->pull.url[rl - 1] == '/')
		rl--;
	if (buf_append(&b, g->o->pull.url, rl) != 0 ||
	    buf_printf(&b, "%s%s?$select=%s&$orderby=%s&$top=1&$skip=%lld", g->base, pr->path, pr->sp->prop, pr->sp->prop,
	               (long long)(f->content_count * (k + 1) / pr->parts)) != 0 ||
	    buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		pr->at[k].rc = or_fail(&pr->at[k].err, OR_ERR_NOMEM, "out of memory");
		return;
	}
	pr->at[k].rc = graph_get(c, g->o, "SplitProbe", f->path ? f->path : f->name, b.data, pr->sp->kind, false, false,
	                         pg, &pr->at[k].http, &pr->at[k].err);
	buf_free(&b);
	if (pr->at[k].rc == 0) {
		const snap_t *sc = pg->scratch;
		pr->at[k].empty = sc->n_items == 0;
		if (sc->n_items)
			pr->at[k].t = pr->sp->kind == COLL_MESSAGES ? sc->items[0].received : sc->items[0].created;
	}
}

int graph_split(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, int parts, void **plan)
{
	graph_pull *g = ctx;
	graph_coll kind = kind_of(g, run, f);
	*plan = NULL;
	pthread_mutex_lock(&g->lock);
	bool refused = g->no_split;
	pthread_mutex_unlock(&g->lock);
	if (refused || (kind != COLL_MAILBOX_ITEMS && kind != COLL_MESSAGES) || f->content_count < 2)
		return 0;
	split_plan *sp = calloc(1, sizeof *sp);
	split_probes *pr = calloc(1, sizeof *pr);
	char *fid = graph_escape(f->id);
	if (!sp || !pr || !fid) {
		free(sp);
		free(pr);
		free(fid);
		return 0;
	}
	sp->kind = kind;
	sp->prop = kind == COLL_MESSAGES ? "receivedDateTime" : "createdDateTime";
	if (parts > GRAPH_MAX_PARTS)
		parts = GRAPH_MAX_PARTS;
	/* The bounds, probed at once: parts - 1 requests, one round trip when they fit in the
	 * requests in flight (measured: far below one part's pages for a folder over the threshold). */
	char path[1200];
	items_path(kind, fid, path, sizeof path);
	free(fid);
	*pr = (split_probes){.g = g, .f = f, .sp = sp, .path = path, .parts = parts};
	pull_parallel(run, c, ws, parts - 1, probe_bound, pr);
	int n = 1;
	for (int k = 0; k < parts - 1; k++) {
		int rc = pr->at[k].rc;
		long http = pr->at[k].http;
		if (rc) {
			if (http == 400 || http == 501) { /* the listing takes no $orderby or $skip: never again */
				log_warn("%s: the server refuses the queries that split a large folder (%s); reading each folder "
				         "in one stream", g->o->pull.mailbox, pr->at[k].err.message);
				pthread_mutex_lock(&g->lock);
				g->no_split = true;
				pthread_mutex_unlock(&g->lock);
			} else if (!pull_stopping(run)) {
				log_verbose("folder %s: %s; read in one stream", f->path, pr->at[k].err.message);
			}
			n = 1;
			break;
		}
		if (pr->at[k].empty)
			break; /* fewer items than the count said: the parts so far, the rest in the last */
		int64_t t = pr->at[k].t;
		if (t <= 0) {
			n = 1;
			break;
		}
		bound_text(t, sp->bound[n - 1]);
		if (n > 1 && strcmp(sp->bound[n - 1], sp->bound[n - 2]) <= 0)
			continue; /* the same second as the bound before: no part between them */
		n++;
	}
	free(pr);
	if (n < 2) {
		free(sp);
		return 0;
	}
	sp->n = n;
	pull_parts_init(&sp->note);
	*plan = sp;
	return n;
}

void graph_part(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan, int k)
{
	graph_pull *g = ctx;
	split_plan *sp = plan;
	/* Part 0 is the newest range: a folder's items are written newest first, as Graph lists
	 * messages (the order of a split folder's parts is the snapshot's). */
	int r = sp->n - 1 - k;
	char filter[200];
	if (r == 0)
		snprintf(filter, sizeof filter, "%s%%20lt%%20%s", sp->prop, sp->bound[0]);
	else if (r == sp->n - 1)
		snprintf(filter, sizeof filter, "%s%%20ge%%20%s", sp->prop, sp->bound[r - 1]);
	else
		snprintf(filter, sizeof filter, "%s%%20ge%%20%s%%20and%%20%s%%20lt%%20%s", sp->prop, sp->bound[r - 1], sp->prop,
		         sp->bound[r]);
	pull_id_set seen = {0};
	size_t got = 0;
	item_sink to = {.seen = &seen, .got = &got, .sp = sp, .part = k};
	item_round(g, run, c, ws, f, sp->kind, false, filter, &to);
	pull_id_set_free(&seen);
}

void graph_merge(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan)
{
	split_plan *sp = plan;
	if (c && !pull_stopping(run)) {
		/* Every item has the property, so the parts together hold the folder: unless a part
		 * failed or the folder changed meanwhile (or a server left items out of every range),
		 * in which case the folder is read whole, the items already written kept once. */
		if (pull_parts_incomplete(run, f, &sp->note, sp->n)) {
			pthread_mutex_lock(&((graph_pull *)ctx)->lock);
			((graph_pull *)ctx)->split_fallbacks++;
			pthread_mutex_unlock(&((graph_pull *)ctx)->lock);
			graph_folder_items(ctx, run, c, ws, f);
		}
	}
	pull_parts_destroy(&sp->note);
	free(sp);
}


/* Whether the server takes extended properties on delta rounds of items, and delta rounds at all
 * (a mailbox over quota refuses them): asked once, of one object of the smallest non-empty
 * folder, so that the snapshot header can say how the items were read before they are. */
int graph_probe_items(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	const snap_folder *f = NULL;
	graph_coll kind = COLL_MAILBOX_ITEMS;
	for (size_t i = 0; i < s->n_folders; i++) {
		graph_coll k = i < g->n_kind ? g->kind[i] : COLL_MAILBOX_ITEMS;
		const snap_folder *x = &s->folders[i];
		if (x->content_count > 0 && k != COLL_EVENTS && k != COLL_NO_ITEMS &&
		    !(x->role && strcmp(x->role, "search") == 0) && (!f || x->content_count < f->content_count)) {
			f = x;
			kind = k;
		}
	}
	if (!f || g->no_delta)
		return 0;
	char path[1200];
	char *fid = graph_escape(f->id);
	if (!fid)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	items_path(kind, fid, path, sizeof path);
	free(fid);
	char *url = graph_url(g->o->pull.url, g->base, path, kind, (graph_query){.delta = true, .expand = true});
	if (!url)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	long http = 0;
	or_error e = {0};
	int rc = graph_get(c, g->o, "ProbeItemsDelta", f->path ? f->path : f->name, url, kind, false, true, pg, &http, &e);
	free(url);
	if (rc == 0) {
		g->expand_on_delta = 1;
	} else if (rc == OR_ERR_AUTH || rc == OR_ERR_TLS || rc == OR_ERR_NOMEM) {
		*err = e;
		return rc;
	} else if (e.code == OR_ERR_LIMIT && strcmp(pg->error.code, "ErrorQuotaExceeded") == 0) {
		log_warn("%s: %s; listing items instead", g->o->pull.mailbox, e.message);
		g->no_delta = true;
	} else if (http >= 500 || http == 400) {
		log_warn("%s: the server refuses extended properties on delta rounds (%s); listing items instead",
		         g->o->pull.mailbox, e.message);
		g->expand_on_delta = 0;
	} /* anything else is the folder's own: it meets it again when pulled */
	return 0;
}

