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
 * twice are kept once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#define MAX_PAGES 1000000  /* per folder or hierarchy: a broken server must not loop us forever */
#define MAX_RESTARTS 3     /* of one folder whose delta state expired */

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

/* Well-known folder names of the mail API, which are also roles (docs/SNAPSHOT.md). */
static const char *const mail_wellknown[] = {
	"msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail", "archive",
	"conversationhistory", "syncissues", "conflicts", "localfailures", "serverfailures", "searchfolders",
	"recoverableitemsdeletions", "scheduled", "clutter",
};
#define N_MAIL_WELLKNOWN (sizeof mail_wellknown / sizeof *mail_wellknown)

/* The special folders' entry ids the Inbox carries (PR_IPM_*_ENTRYID), and the roles they give. */
static const struct {
	uint16_t tag;
	const char *role;
} special[] = {
	{0x36D0, "calendar"}, {0x36D1, "contacts"}, {0x36D2, "journal"},
	{0x36D3, "notes"},    {0x36D4, "tasks"},    {0x36D7, "drafts"},
};
#define N_SPECIAL (sizeof special / sizeof *special)

/* What the mail API cannot list (recorded in the snapshot header). */
static const char *const mail_not_covered[] = {"IPF.Task", "IPF.StickyNote", "IPF.Journal", "non-IPM"};

typedef struct {
	const graph_options *o;
	graph_api api;         /* MAILBOX or MAIL, once known */
	char *base;            /* the mailbox's path under the root */
	char *options_json;    /* the header's options, with what this pull found */
	graph_coll *kind;      /* per folder of the snapshot: the collection of its items */
	size_t n_kind, cap_kind;
	pthread_mutex_t lock;
	int expand_on_delta;   /* -1 not known yet, 0 refused, 1 works */
	bool no_delta;         /* delta refused (over quota) or not wanted: plain listings */
	long restarts;
} gpull;

/* ---------------------------------------------------------------- small helpers */

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

static void key_from_id(const char *id, snap_ident *ident)
{
	if (!ident->has_key && id && pull_key_from_id(id, ident->key) == 0) {
		memcpy(ident->gc, ident->key + 16, SNAP_GC_LEN);
		ident->has_key = ident->has_gc = 1;
		ident->origin = KEY_ENTRY_ID;
	}
}

static int set_kind(gpull *g, pull_run *run, const snap_folder *f, graph_coll kind)
{
	size_t i = (size_t)(f - pull_snapshot(run)->folders);
	while (g->n_kind <= i) {
		graph_coll *k = or_append((void **)&g->kind, &g->n_kind, &g->cap_kind, sizeof *g->kind);
		if (!k)
			return -1;
		*k = COLL_MAILBOX_ITEMS;
	}
	g->kind[i] = kind;
	return 0;
}

static snap_folder *find_folder_by_key(snap_t *s, const uint8_t key[SNAP_KEY_LEN])
{
	for (size_t i = 0; i < s->n_folders; i++)
		if (s->folders[i].ident.has_key && memcmp(s->folders[i].ident.key, key, SNAP_KEY_LEN) == 0)
			return &s->folders[i];
	return NULL;
}

static snap_folder *find_folder_by_id(snap_t *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_folders; i++)
		if (strcmp(s->folders[i].id, id) == 0)
			return &s->folders[i];
	return NULL;
}

static const char *role_name(const char *wellknown)
{
	/* Graph spells the names as EWS's distinguished folder names; roles are those, lower case. */
	static const char *const known[] = {
		"root", "msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail",
		"calendar", "contacts", "tasks", "notes", "journal", "syncissues", "conflicts", "localfailures",
		"serverfailures", "searchfolders", "recoverableitemsroot", "recoverableitemsdeletions",
		"recoverableitemsversions", "recoverableitemspurges", "recoverableitemsdiscoveryholds",
		"conversationhistory", "todosearch", "archive", "scheduled", "clutter",
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (strcasecmp(wellknown, known[i]) == 0)
			return known[i];
	return NULL;
}

/* ---------------------------------------------------------------- folders */

/* A calendar's parent (Graph gives calendars no parentFolderId): the folder whose key its
 * PidTagParentEntryId ends with, else the message folder root. */
static const char *calendar_parent(snap_t *s, const char *parent_key_hex)
{
	uint8_t key[SNAP_KEY_LEN];
	snap_folder *f = NULL;
	if (parent_key_hex && hex_decode(parent_key_hex, key, sizeof key) == SNAP_KEY_LEN)
		f = find_folder_by_key(s, key);
	for (size_t i = 0; !f && i < s->n_folders; i++)
		if (s->folders[i].role && strcmp(s->folders[i].role, "msgfolderroot") == 0)
			f = &s->folders[i];
	return f ? f->id : NULL;
}

/* Adds a page's folders, with their keys, roles and the collection of their items. */
static int add_folders(gpull *g, pull_run *run, graph_page *pg, graph_coll items, or_error *err)
{
	snap_t *sc = pg->scratch;
	for (size_t i = 0; i < sc->n_folders; i++) {
		snap_folder *src = &sc->folders[i];
		key_from_id(src->id, &src->ident);
		if (!src->cls && items == COLL_MESSAGES)
			src->cls = "IPF.Note";
		if (!src->parent_id && items == COLL_EVENTS) /* a calendar: its parent by the entry id it names */
			src->parent_id = calendar_parent(pull_snapshot(run), i < pg->n_extra ? pg->parent_key[i] : NULL);
		snap_folder *f = pull_add_folder(run, src);
		if (!f)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		const char *role = i < pg->n_extra && pg->wellknown[i] ? role_name(pg->wellknown[i]) : NULL;
		if (role && !f->role)
			f->role = role;
		if (i < pg->n_extra && pg->search[i])
			f->role = "search";
		if (set_kind(g, run, f, items) != 0)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* Every page of a collection of folders, from `url` on. */
static int list_folders(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *op, char *url,
                        graph_coll coll, graph_coll items, or_error *err)
{
	int rc = 0;
	for (int page = 0; page < MAX_PAGES && url; page++) {
		long http = 0;
		rc = graph_get(c, g->o, op, url, coll, false, false, pg, &http, err);
		free(url);
		url = NULL;
		if (rc || (rc = add_folders(g, run, pg, items, err)) != 0)
			break;
		if (pg->next_link) {
			url = pg->next_link;
			pg->next_link = NULL;
		}
	}
	free(url);
	return rc;
}

static int get_folder(gpull *g, pull_conn *c, graph_page *pg, const char *seg, const char *name, graph_coll coll,
                      or_error *err);

/* Plain listings of a folder tree, each folder's children after it (no delta). The mailbox API's
 * walk starts at the mailbox root, so that the folders beside the message folder root are listed
 * too (its top listing holds the message folder root's children only). */
static int walk_folders(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *top, graph_coll coll,
                        graph_coll items, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	size_t first = s->n_folders;
	int rc = coll == COLL_MAILBOX_FOLDERS ? get_folder(g, c, pg, "folders", "root", coll, err) : 0;
	if (rc < 0)
		return rc;
	if (rc > 0) {
		rc = add_folders(g, run, pg, items, err);
	} else {
		char *url = graph_url(g->o->pull.url, g->base, top, coll, (graph_query){.expand = true});
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		if (coll == COLL_MAIL_FOLDERS) {
			char *u2 = NULL;
			if (asprintf(&u2, "%s&includeHiddenFolders=true", url) < 0)
				u2 = NULL;
			free(url);
			if (!(url = u2))
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		rc = list_folders(g, run, c, pg, "ListFolders", url, coll, items, err);
	}
	for (size_t i = first; rc == 0 && i < s->n_folders && i < first + 100000; i++) {
		char path[1200];
		const char *seg = coll == COLL_MAILBOX_FOLDERS ? "folders" : coll == COLL_CONTACT_FOLDERS ? "contactFolders"
		                                                                                          : "mailFolders";
		char *fid = graph_escape(s->folders[i].id);
		if (!fid)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		snprintf(path, sizeof path, "/%s/%s/childFolders", seg, fid);
		free(fid);
		char *url = graph_url(g->o->pull.url, g->base, path, coll, (graph_query){.expand = true});
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		if (coll == COLL_MAIL_FOLDERS) {
			char *u2 = NULL;
			if (asprintf(&u2, "%s&includeHiddenFolders=true", url) < 0)
				u2 = NULL;
			free(url);
			if (!(url = u2))
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		rc = list_folders(g, run, c, pg, "ListChildFolders", url, coll, items, err);
	}
	return rc;
}

/* One collection of folders: a delta round, or plain listings where delta is refused. */
static int folder_collection(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *path,
                             graph_coll coll, graph_coll items, or_error *err)
{
	for (int round = 0; !g->no_delta; round++) {
		char *url = graph_url(g->o->pull.url, g->base, path, coll, (graph_query){.delta = true});
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		int rc = list_folders(g, run, c, pg, "FoldersDelta", url, coll, items, err);
		if (rc && strstr(err->message, "delta state is gone") && round < MAX_RESTARTS) {
			/* folders met again are kept once (by id) */
			log_verbose("%s: the folders' delta state expired; starting the round again", g->o->pull.mailbox);
			g->restarts++;
			continue;
		}
		if (rc == 0 || rc != OR_ERR_LIMIT)
			return rc;
		log_warn("%s: %s; listing the folders instead", g->o->pull.mailbox, err->message);
		g->no_delta = true;
	}
	char top[64];
	snprintf(top, sizeof top, "%s", path);
	char *q = strchr(top, '?');
	if (q)
		*q = '\0';
	return walk_folders(g, run, c, pg, top, coll, items, err);
}

/* GET one folder by a well-known name (or id) into pg; 1 when found, 0 when the mailbox has no
 * such folder, negative on a failure that ends the pull. */
static int get_folder(gpull *g, pull_conn *c, graph_page *pg, const char *seg, const char *name, graph_coll coll,
                      or_error *err)
{
	char path[1200];
	char *esc = graph_escape(name);
	if (!esc)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	snprintf(path, sizeof path, "/%s/%s", seg, esc);
	free(esc);
	char *url = graph_url(g->o->pull.url, g->base, path, coll, (graph_query){.expand = coll == COLL_SPECIAL});
	if (!url)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	long http = 0;
	or_error e = {0};
	int rc = graph_get(c, g->o, "GetFolder", url, coll, true, false, pg, &http, &e);
	free(url);
	if (rc == OR_ERR_NOTFOUND || rc == OR_ERR_DENIED || (rc && (http == 400 || http == 404))) {
		/* The folder's own listing (or its pull) will say what is wrong with it, if anything. */
		log_verbose("%s: no folder '%s' (%s)", g->o->pull.mailbox, name, e.message);
		return 0;
	}
	if (rc) {
		*err = e;
		return rc;
	}
	return pg->scratch->n_folders > 0;
}

/* Roles from well-known names the listing did not give, adding the folders the listing left out
 * (such as the message folder root itself). */
static int wellknown_roles(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	bool mailbox_api = g->api == GRAPH_API_MAILBOX;
	const char *seg = mailbox_api ? "folders" : "mailFolders";
	graph_coll coll = mailbox_api ? COLL_MAILBOX_FOLDERS : COLL_MAIL_FOLDERS;
	graph_coll items = mailbox_api ? COLL_MAILBOX_ITEMS : COLL_MESSAGES;
	bool named = false;
	for (size_t i = 0; i < s->n_folders; i++)
		named = named || (s->folders[i].role && strcmp(s->folders[i].role, "search") != 0);
	for (size_t i = 0; !named && i < N_MAIL_WELLKNOWN; i++) {
		int rc = get_folder(g, c, pg, seg, mail_wellknown[i], coll, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		const char *id = pg->scratch->folders[0].id;
		snap_folder *f = find_folder_by_id(s, id);
		if (!f) { /* not in the listing (the message folder root, hidden folders) */
			if ((rc = add_folders(g, run, pg, items, err)) != 0)
				return rc;
			f = find_folder_by_id(s, id);
		}
		if (f && (!f->role || strcmp(f->role, "search") != 0))
			f->role = mail_wellknown[i];
	}
	return 0;
}

/* The Graph id of a folder given by its MAPI entry id: the REST id wraps it (docs/QUIRKS.md), in
 * Graph's base64 alphabet. NULL when no folder id of the mailbox shows its GUID. */
static char *rest_id(snap_t *s, const uint8_t *eid, size_t n)
{
	pull_id d = {0};
	for (size_t i = 0; i < s->n_folders && !*d.mailbox; i++)
		if (pull_id_decode(s->folders[i].id, &d) != 0 || d.kind != PULL_ID_MAILBOX)
			d.mailbox[0] = '\0';
	size_t glen = strlen(d.mailbox);
	if (!glen || n > 128)
		return NULL;
	uint8_t raw[256];
	size_t k = 0;
	raw[k++] = 0x00;
	raw[k++] = 0x03;
	raw[k++] = (uint8_t)glen;
	raw[k++] = 0x00;
	memcpy(raw + k, d.mailbox, glen);
	k += glen;
	raw[k++] = 0x00;
	raw[k++] = (uint8_t)n;
	raw[k++] = 0x00;
	memcpy(raw + k, eid, n);
	k += n;
	char *out = malloc(k / 3 * 4 + 8);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, raw, (int)k);
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '_' : *p == '/' ? '-' : *p;
	return out;
}

/* Roles of the special folders the Inbox names by entry id (calendar, contacts, journal, notes,
 * tasks, drafts). Through the mail API, the default calendar and contacts folders are fetched by
 * those entry ids when no listing gave them (contactFolders lists only the default one's children). */
static int special_roles(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	bool mailbox_api = g->api == GRAPH_API_MAILBOX;
	int rc = get_folder(g, c, pg, mailbox_api ? "folders" : "mailFolders", "inbox", COLL_SPECIAL, err);
	if (rc <= 0)
		return rc;
	uint8_t eid[N_SPECIAL][64];
	size_t len[N_SPECIAL];
	for (size_t k = 0; k < N_SPECIAL; k++) {
		size_t t = special[k].tag - 0x36D0;
		len[k] = pg->special_len[t];
		memcpy(eid[k], pg->special[t], len[k]);
	}
	for (size_t k = 0; k < N_SPECIAL; k++) {
		if (len[k] < 46)
			continue;
		snap_folder *f = find_folder_by_key(s, eid[k] + len[k] - 24);
		graph_coll kind = special[k].tag == 0x36D0 ? COLL_EVENTS : special[k].tag == 0x36D1 ? COLL_CONTACTS : 0;
		if (!f && !mailbox_api && kind) {
			char *id = rest_id(s, eid[k], len[k]);
			if (!id)
				continue;
			rc = get_folder(g, c, pg, kind == COLL_EVENTS ? "calendars" : "contactFolders", id,
			                kind == COLL_EVENTS ? COLL_CALENDARS : COLL_CONTACT_FOLDERS, err);
			free(id);
			if (rc < 0)
				return rc;
			if (rc > 0 && (rc = add_folders(g, run, pg, kind, err)) != 0)
				return rc;
			f = find_folder_by_key(s, eid[k] + len[k] - 24);
		}
		if (f && (!f->role || strcmp(f->role, "ipm") == 0 || strcmp(f->role, "other") == 0))
			f->role = special[k].role;
	}
	return 0;
}

/* The mailbox's root: the folder the message folder root (or the top folders) hang from, given
 * its role, or added when the listings did not give it (its items are then not listed either). */
static int add_root(gpull *g, pull_run *run, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	const char *top = NULL;
	for (size_t i = 0; i < s->n_folders; i++) {
		const snap_folder *f = &s->folders[i];
		if (f->role && strcmp(f->role, "root") == 0)
			return 0;
		if (f->role && strcmp(f->role, "msgfolderroot") == 0 && f->parent_id)
			top = f->parent_id;
	}
	for (size_t i = 0; !top && i < s->n_folders; i++)
		if (s->folders[i].parent_id && !find_folder_by_id(s, s->folders[i].parent_id))
			top = s->folders[i].parent_id;
	if (!top)
		return 0;
	snap_folder *f = find_folder_by_id(s, top);
	if (!f) {
		snap_folder root;
		snap_folder_init(&root);
		root.id = top;
		root.name = "";
		key_from_id(top, &root.ident);
		if (!(f = pull_add_folder(run, &root)) || set_kind(g, run, f, COLL_NO_ITEMS) != 0)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	f->role = "root";
	return 0;
}

/* The mailbox API's id of the mailbox, from the user's Exchange settings. */
static int mailbox_id(gpull *g, pull_conn *c, graph_page *pg, char **out, or_error *err)
{
	char *user = graph_escape(g->o->pull.mailbox);
	char *base = NULL;
	if (!user || asprintf(&base, "/users/%s", user) < 0)
		base = NULL;
	free(user);
	char *url = base ? graph_url(g->o->pull.url, base, "/settings/exchange", COLL_SETTINGS, (graph_query){0}) : NULL;
	free(base);
	if (!url)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	long http = 0;
	int rc = graph_get(c, g->o, "GetExchangeSettings", url, COLL_SETTINGS, true, false, pg, &http, err);
	free(url);
	if (rc)
		return rc;
	*out = pg->mailbox_id;
	pg->mailbox_id = NULL;
	return 0;
}

static int set_base(gpull *g, const char *prefix, const char *id, or_error *err)
{
	char *esc = graph_escape(id);
	free(g->base);
	g->base = NULL;
	if (!esc || asprintf(&g->base, "%s%s", prefix, esc) < 0)
		g->base = NULL;
	free(esc);
	return g->base ? 0 : or_fail(err, OR_ERR_NOMEM, "out of memory");
}

/* The header's options: the command line's, and how this pull read the mailbox. */
static int record_options(gpull *g, pull_run *run, or_error *err)
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
		for (size_t i = 0; i < sizeof mail_not_covered / sizeof *mail_not_covered; i++)
			json_array_append_new(nc, json_string(mail_not_covered[i]));
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

static int hierarchy_mailbox(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	int rc = folder_collection(g, run, c, pg, "/folders", COLL_MAILBOX_FOLDERS, COLL_MAILBOX_ITEMS, err);
	rc = rc ? rc : wellknown_roles(g, run, c, pg, err);
	return rc ? rc : special_roles(g, run, c, pg, err);
}

static int hierarchy_mail(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	int rc = folder_collection(g, run, c, pg, "/mailFolders", COLL_MAIL_FOLDERS, COLL_MESSAGES, err);
	rc = rc ? rc : wellknown_roles(g, run, c, pg, err);
	if (rc)
		return rc;
	/* Calendars and contact folders are not mail folders. */
	char *url = graph_url(g->o->pull.url, g->base, "/calendars", COLL_CALENDARS, (graph_query){.expand = true});
	if (!url)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	if ((rc = list_folders(g, run, c, pg, "ListCalendars", url, COLL_CALENDARS, COLL_EVENTS, err)) != 0 ||
	    (rc = folder_collection(g, run, c, pg, "/contactFolders", COLL_CONTACT_FOLDERS, COLL_CONTACTS, err)) != 0)
		return rc;
	return special_roles(g, run, c, pg, err);
}

static void items_path(graph_coll kind, const char *fid, char *out, size_t size);

/* Whether the server takes extended properties on delta rounds of items, and delta rounds at all
 * (a mailbox over quota refuses them): asked once, of one object of the smallest non-empty
 * folder, so that the snapshot header can say how the items were read before they are. */
static int probe_items(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
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
	int rc = graph_get(c, g->o, "ProbeItemsDelta", url, kind, false, true, pg, &http, &e);
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

static int hierarchy(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err)
{
	gpull *g = ctx;
	graph_page *pg = ws;
	int rc = 0;
	if (g->o->api != GRAPH_API_MAIL) {
		char *id = NULL;
		rc = mailbox_id(g, c, pg, &id, err);
		if (rc == 0) {
			rc = set_base(g, "/admin/exchange/mailboxes/", id, err);
			free(id);
			g->api = GRAPH_API_MAILBOX;
			rc = rc ? rc : hierarchy_mailbox(g, run, c, pg, err);
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
		if ((rc = set_base(g, "/users/", g->o->pull.mailbox, err)) != 0 ||
		    (rc = hierarchy_mail(g, run, c, pg, err)) != 0)
			return rc;
	}
	if ((rc = add_root(g, run, err)) != 0)
		return rc;
	log_verbose("mailbox %s: %zu folders through the %s API", g->o->pull.mailbox, pull_snapshot(run)->n_folders,
	            graph_api_name(g->api));
	if ((rc = probe_items(g, run, c, pg, err)) != 0)
		return rc;
	return record_options(g, run, err);
}

/* ---------------------------------------------------------------- items */

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
		key_from_id(it->id, &it->ident);
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
static round_end item_round(gpull *g, pull_run *run, pull_conn *c, graph_page *pg, const snap_folder *f,
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
	for (page = 0; url && page < MAX_PAGES; page++) {
		pthread_mutex_lock(&g->lock);
		bool probe = delta && g->expand_on_delta < 0 && page == 0;
		pthread_mutex_unlock(&g->lock);
		long http = 0;
		or_error err = {0};
		int rc = graph_get(c, g->o, op, url, kind, false, probe, pg, &http, &err);
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
		pull_folder_error(run, f, "limit", "%s: more than %d pages; stopped (%zu items read)", op, MAX_PAGES, *got);
		end = ROUND_FAILED;
	}
	return end;
}

static void folder(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	gpull *g = ctx;
	graph_page *pg = ws;
	size_t i = (size_t)(f - pull_snapshot(run)->folders);
	graph_coll kind = i < g->n_kind ? g->kind[i] : COLL_MAILBOX_ITEMS;
	if (kind == COLL_NO_ITEMS)
		return;
	id_set seen = {0};
	size_t got = 0;
	bool expired = false;
	for (int round = 0; round <= MAX_RESTARTS; round++) {
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

static const pull_protocol graph_protocol = {
	.source = SRC_GRAPH,
	.worker_new = worker_new,
	.worker_free = worker_free,
	.hierarchy = hierarchy,
	.folder = folder,
};

static int capture(const graph_options *opt, const char *out_path, snap_t **keep, pull_summary *summary,
                   or_error *err)
{
	gpull g = {.o = opt, .api = opt->api, .expand_on_delta = -1, .no_delta = opt->no_delta};
	pthread_mutex_init(&g.lock, NULL);
	int rc = pull_run_capture(&opt->pull, &graph_protocol, &g, out_path, keep, summary, err);
	if (g.restarts)
		log_verbose("%s: %ld folders started again after their delta state expired", opt->pull.mailbox, g.restarts);
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
