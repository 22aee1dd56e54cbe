/*
 * pull.c: the Graph half of a pull (src/pull runs it).
 *
 * The mailbox API (/admin/exchange/mailboxes/{id}, the id from /users/{address}/settings/exchange)
 * lists every folder and item as an .ost holds them; where it is refused (auto), the mail API
 * (/users/{address}/mailFolders, calendars, contactFolders) lists what it can, and the snapshot
 * header says which folder classes it could not cover. Folders come from a delta round (or plain
 * listings); roles from wellKnownName, well-known folder names and the special-folder entry ids the
 * Inbox carries. Each folder's items come from a delta round with their MAPI properties expanded;
 * where the server refuses extended properties on delta, or delta itself (a mailbox over quota),
 * from plain listings. A delta state that expires (410) starts the folder again; items Graph sends
 * twice are kept once. This file runs the hierarchy's steps (folders.c) and the probe, writes the
 * header's options, and hands each folder to items.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static const char *const api_names[] = {"auto", "mailbox", "mail"};

const char *graph_api_name(graph_api api)
{
	return api <= GRAPH_API_MAIL ? api_names[api] : "?";
}

int graph_api_parse(const char *name, graph_api *out)
{
	for (int i = 0; i <= GRAPH_API_MAIL; i++)
		if (strcmp(name, api_names[i]) == 0) {
			*out = (graph_api)i;
			return 0;
		}
	return -1;
}

void graph_options_init(graph_options *o)
{
	memset(o, 0, sizeof *o);
	pull_options_init(&o->pull);
	o->api = GRAPH_API_AUTO;
	o->page_size = 500;
}

int graph_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN])
{
	return pull_key_from_id(id, key);
}


static void *worker_new(void *ctx, or_error *err)
{
	graph_page *pg = calloc(1, sizeof *pg);
	if (!pg) {
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (graph_page_init(pg, err) != 0) {
		free(pg);
		return NULL;
	}
	return pg;
}

static void worker_free(void *ws)
{
	graph_page_free(ws);
	free(ws);
}


/* The header's options: the command line's, and how this pull read the mailbox. */
static int record_options(graph_pull *g, pull_run *run, or_error *err)
{
	json_error_t je;
	json_t *o = g->o->pull.options_json ? json_loads(g->o->pull.options_json, 0, &je) : json_object();
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "api", json_string(graph_api_name(g->api)));
	json_object_set_new(o, "paging", json_string(g->no_delta ? "list" : g->expand_on_delta == 0 ? "delta+list" : "delta"));
	if (g->api == GRAPH_API_MAIL) {
		json_t *nc = json_array();
		for (size_t i = 0; i < graph_n_mail_not_covered; i++)
			json_array_append_new(nc, json_string(graph_mail_not_covered[i]));
		json_object_set_new(o, "not_covered", nc);
	}
	free(g->options_json);
	g->options_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!g->options_json)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pull_snapshot(run)->hdr.options_json = g->options_json;
	return 0;
}


static int hierarchy(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err)
{
	graph_pull *g = ctx;
	graph_page *pg = ws;
	int rc = 0;
	if (g->o->api != GRAPH_API_MAIL) {
		char *id = NULL;
		rc = graph_mailbox_id(g, c, pg, &id, err);
		if (rc == 0) {
			rc = graph_set_base(g, "/admin/exchange/mailboxes/", id, err);
			free(id);
			g->api = GRAPH_API_MAILBOX;
			rc = rc ? rc : graph_hierarchy_mailbox(g, run, c, pg, err);
		}
		if (rc && g->o->api == GRAPH_API_AUTO && (rc == OR_ERR_DENIED || rc == OR_ERR_NOTFOUND) &&
		    !strstr(err->message, "application access policy")) {
			log_warn("%s: the mailbox API is refused (%s); reading the mailbox through the mail API", g->o->pull.mailbox,
			         err->message);
			snap_t *s = pull_snapshot(run);
			s->n_folders = 0; /* nothing of the first attempt stays */
			g->n_kind = 0;
			g->no_delta = g->o->no_delta;
			or_error_clear(err);
			rc = 0;
			g->api = GRAPH_API_MAIL;
		} else if (rc) {
			return rc;
		}
	}
	if (g->api != GRAPH_API_MAILBOX) {
		g->api = GRAPH_API_MAIL;
		if ((rc = graph_set_base(g, "/users/", g->o->pull.mailbox, err)) != 0 ||
		    (rc = graph_hierarchy_mail(g, run, c, pg, err)) != 0)
			return rc;
	}
	if ((rc = graph_add_root(g, run, err)) != 0)
		return rc;
	log_verbose("mailbox %s: %zu folders through the %s API", g->o->pull.mailbox, pull_snapshot(run)->n_folders,
	            graph_api_name(g->api));
	if ((rc = graph_probe_items(g, run, c, pg, err)) != 0)
		return rc;
	return record_options(g, run, err);
}


static const pull_protocol graph_protocol = {
	.source = SRC_GRAPH,
	.worker_new = worker_new,
	.worker_free = worker_free,
	.hierarchy = hierarchy,
	.folder = graph_folder_items,
	.split = graph_split,
	.part = graph_part,
	.merge = graph_merge,
};

static int capture(const graph_options *opt, const char *out_path, snap_t **keep, pull_summary *summary,
                   or_error *err)
{
	graph_pull g = {.o = opt, .api = opt->api, .expand_on_delta = -1, .no_delta = opt->no_delta};
	pthread_mutex_init(&g.lock, NULL);
	int rc = pull_run_capture(&opt->pull, &graph_protocol, &g, out_path, keep, summary, err);
	if (g.restarts)
		log_verbose("%s: %ld folders started again after their delta state expired", opt->pull.mailbox, g.restarts);
	if (g.split_fallbacks)
		log_verbose("%s: %ld folders read in parts were read whole after all", opt->pull.mailbox, g.split_fallbacks);
	pthread_mutex_destroy(&g.lock);
	free(g.base);
	free(g.kind);
	free(g.options_json);
	return rc;
}

int graph_capture(const graph_options *opt, const char *out_path, pull_summary *summary, or_error *err)
{
	return capture(opt, out_path, NULL, summary, err);
}

int graph_capture_snap(const graph_options *opt, snap_t **out, pull_summary *summary, or_error *err)
{
	*out = NULL;
	return capture(opt, NULL, out, summary, err);
}

