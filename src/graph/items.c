/*
 * items.c: a folder's items over Graph, for pull.c: a delta round with the items' MAPI properties
 * expanded, or plain listings where the server refuses extended properties on delta or delta
 * itself (asked once, before any item is read); an expired delta state lists the folder instead;
 * items Graph sends twice are written once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>


/* The ids of one folder's items met so far: Graph may send an item twice, and a folder started
 * again (expired delta state) sends them all again. */
typedef struct {
	uint64_t *slot; /* 0 = empty */
	size_t cap, n;
} id_set;

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}

/* Adds an id; 1 when new, 0 when seen before, -1 when out of memory. */
static int id_set_add(id_set *s, const char *id)
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

/* One page's new items, with keys from their ids where Graph gave none. */
static int add_items(pull_run *run, const snap_folder *f, graph_page *pg, id_set *seen, size_t *got)
{
	snap_t *sc = pg->scratch;
	size_t keep = 0;
	for (size_t i = 0; i < sc->n_items; i++) {
		snap_item *it = &sc->items[i];
		int fresh = id_set_add(seen, it->id);
		if (fresh < 0)
			return -1;
		if (!fresh)
			continue;
		graph_key_from_ident(it->id, &it->ident);
		sc->items[keep++] = *it;
	}
	pull_add_items(run, f, sc->items, keep, false);
	*got += keep;
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

/* One round of a folder's items: a delta round, or a plain listing. */
static round_end item_round(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const snap_folder *f,
                            graph_coll kind, bool delta, id_set *seen, size_t *got)
{
	char path[1200];
	char *fid = graph_escape(f->id);
	if (!fid) {
		pull_folder_error(run, f, "protocol", "out of memory");
		return ROUND_FAILED;
	}
	items_path(kind, fid, path, sizeof path);
	free(fid);
	char *url = graph_url(g->o->pull.url, g->base, path, kind, (graph_query){.delta = delta, .expand = true});
	const char *op = delta ? "ItemsDelta" : "ListItems";
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
				pull_folder_error(run, f, pull_error_code_name(rc), "%s: %s (%zu items read before the failure)", op,
				                  err.message, *got);
			return ROUND_FAILED;
		}
		if (probe) {
			pthread_mutex_lock(&g->lock);
			g->expand_on_delta = 1;
			pthread_mutex_unlock(&g->lock);
		}
		size_t before = *got;
		if (add_items(run, f, pg, seen, got) != 0) {
			pull_folder_error(run, f, "protocol", "out of memory");
			return ROUND_FAILED;
		}
		if (pg->next_link) {
			if (*got == before && pg->scratch->n_items == 0 && page > 1000) {
				pull_folder_error(run, f, "protocol", "%s: the server keeps sending empty pages (%zu items read)", op,
				                  *got);
				return ROUND_FAILED;
			}
			url = pg->next_link;
			pg->next_link = NULL;
		}
	}
	if (url) {
		free(url);
		pull_folder_error(run, f, "limit", "%s: more than %d pages; stopped (%zu items read)", op, GRAPH_MAX_PAGES, *got);
		end = ROUND_FAILED;
	}
	return end;
}

void graph_folder_items(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	graph_pull *g = ctx;
	graph_page *pg = ws;
	size_t i = (size_t)(f - pull_snapshot(run)->folders);
	graph_coll kind = i < g->n_kind ? g->kind[i] : COLL_MAILBOX_ITEMS;
	if (kind == COLL_NO_ITEMS)
		return;
	id_set seen = {0};
	size_t got = 0;
	bool expired = false;
	for (int round = 0; round <= GRAPH_MAX_RESTARTS; round++) {
		pthread_mutex_lock(&g->lock);
		bool delta = !g->no_delta && g->expand_on_delta != 0 && kind != COLL_EVENTS && !expired;
		pthread_mutex_unlock(&g->lock);
		round_end end = item_round(g, run, c, pg, f, kind, delta, &seen, &got);
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
	free(seen.slot);
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

