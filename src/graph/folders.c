/*
 * folders.c: a mailbox's folders over Graph, for pull.c: the mailbox API's id of the mailbox;
 * folders by a delta round (plain listings where delta is refused); roles from wellKnownName,
 * well-known folder names and the special-folder entry ids the Inbox carries; through the mail
 * API also calendars and contact folders; and the mailbox root a listing leaves out.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

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
const char *const graph_mail_not_covered[] = {"IPF.Task", "IPF.StickyNote", "IPF.Journal", "non-IPM"};
const size_t graph_n_mail_not_covered = 4;


void graph_key_from_ident(const char *id, snap_ident *ident)
{
	if (!ident->has_key && id && pull_key_from_id(id, ident->key) == 0) {
		memcpy(ident->gc, ident->key + 16, SNAP_GC_LEN);
		ident->has_key = ident->has_gc = 1;
		ident->origin = KEY_ENTRY_ID;
	}
}

static int set_kind(graph_pull *g, pull_run *run, const snap_folder *f, graph_coll kind)
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
static int add_folders(graph_pull *g, pull_run *run, graph_page *pg, graph_coll items, or_error *err)
{
	snap_t *sc = pg->scratch;
	for (size_t i = 0; i < sc->n_folders; i++) {
		snap_folder *src = &sc->folders[i];
		graph_key_from_ident(src->id, &src->ident);
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
static int list_folders(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *op, char *url,
                        graph_coll coll, graph_coll items, or_error *err)
{
	int rc = 0;
	for (int page = 0; page < GRAPH_MAX_PAGES && url; page++) {
		long http = 0;
		rc = graph_get(c, g->o, op, NULL, url, coll, false, false, pg, &http, err);
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

static int get_folder(graph_pull *g, pull_conn *c, graph_page *pg, const char *seg, const char *name, graph_coll coll,
                      or_error *err);

/* A plain listing of folders (the mail API's with its hidden folders too); malloc'd. */
static char *folders_url(graph_pull *g, const char *path, graph_coll coll)
{
	char *url = graph_url(g->o->pull.url, g->base, path, coll, (graph_query){.expand = true});
	if (!url || coll != COLL_MAIL_FOLDERS)
		return url;
	char *hidden = NULL;
	if (asprintf(&hidden, "%s&includeHiddenFolders=true", url) < 0)
		hidden = NULL;
	free(url);
	return hidden;
}

/* Plain listings of a folder tree, each folder's children after it (no delta). The mailbox API's
 * walk starts at the mailbox root, so that the folders beside the message folder root are listed
 * too (its top listing holds the message folder root's children only). */
static int walk_folders(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *top, graph_coll coll,
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
		char *url = folders_url(g, top, coll);
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
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
		char *url = folders_url(g, path, coll);
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		rc = list_folders(g, run, c, pg, "ListChildFolders", url, coll, items, err);
	}
	return rc;
}

/* One collection of folders: a delta round, or plain listings where delta is refused. */
static int folder_collection(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const char *path,
                             graph_coll coll, graph_coll items, or_error *err)
{
	for (int round = 0; !g->no_delta; round++) {
		char *url = graph_url(g->o->pull.url, g->base, path, coll, (graph_query){.delta = true});
		if (!url)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		int rc = list_folders(g, run, c, pg, "FoldersDelta", url, coll, items, err);
		if (rc && strstr(err->message, "delta state is gone") && round < GRAPH_MAX_RESTARTS) {
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
static int get_folder(graph_pull *g, pull_conn *c, graph_page *pg, const char *seg, const char *name, graph_coll coll,
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
	int rc = graph_get(c, g->o, "GetFolder", name, url, coll, true, false, pg, &http, &e);
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

/* The folders of the well-known names (when the listing gave no roles) and the Inbox with the
 * special folders' entry ids, asked for all at once (pull_parallel), each into a page of its own:
 * the last one is the Inbox's. */
#define INBOX_SPECIAL N_MAIL_WELLKNOWN
typedef struct {
	graph_pull *g;
	const char *seg;
	graph_coll coll;
	bool names;        /* the well-known names are asked for */
	graph_page page[N_MAIL_WELLKNOWN + 1];
	int rc[N_MAIL_WELLKNOWN + 1];
	or_error err[N_MAIL_WELLKNOWN + 1];
	size_t made;       /* pages made */
} role_gets;

static void get_role(void *ctx, int k, pull_conn *c, void *ws)
{
	(void)ws; /* each request has its page */
	role_gets *w = ctx;
	size_t i = w->names ? (size_t)k : INBOX_SPECIAL;
	w->rc[i] = i == INBOX_SPECIAL ? get_folder(w->g, c, &w->page[i], w->seg, "inbox", COLL_SPECIAL, &w->err[i])
	                              : get_folder(w->g, c, &w->page[i], w->seg, mail_wellknown[i], w->coll, &w->err[i]);
}

static void role_gets_free(role_gets *w)
{
	for (size_t i = 0; w && i < w->made; i++)
		graph_page_free(&w->page[i]);
	free(w);
}

/* Asks for the folders the roles come from (role_gets); NULL when out of memory. */
static role_gets *get_roles(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	bool mailbox_api = g->api == GRAPH_API_MAILBOX;
	role_gets *w = calloc(1, sizeof *w);
	if (!w) {
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return NULL;
	}
	w->g = g;
	w->seg = mailbox_api ? "folders" : "mailFolders";
	w->coll = mailbox_api ? COLL_MAILBOX_FOLDERS : COLL_MAIL_FOLDERS;
	w->names = true;
	for (size_t i = 0; i < s->n_folders; i++)
		w->names = w->names && !(s->folders[i].role && strcmp(s->folders[i].role, "search") != 0);
	while (w->made <= N_MAIL_WELLKNOWN)
		if (graph_page_init(&w->page[w->made++], err) != 0) {
			role_gets_free(w);
			return NULL;
		}
	pull_parallel(run, c, pg, w->names ? (int)N_MAIL_WELLKNOWN + 1 : 1, get_role, w);
	return w;
}

/* Roles from well-known names the listing did not give, adding the folders the listing left out
 * (such as the message folder root itself), in the order of the names. */
static int wellknown_roles(graph_pull *g, pull_run *run, role_gets *w, or_error *err)
{
	snap_t *s = pull_snapshot(run);
	graph_coll items = g->api == GRAPH_API_MAILBOX ? COLL_MAILBOX_ITEMS : COLL_MESSAGES;
	for (size_t i = 0; w->names && i < N_MAIL_WELLKNOWN; i++) {
		if (w->rc[i] < 0) {
			*err = w->err[i];
			return w->rc[i];
		}
		if (w->rc[i] == 0)
			continue;
		const char *id = w->page[i].scratch->folders[0].id;
		snap_folder *f = find_folder_by_id(s, id);
		if (!f) { /* not in the listing (the message folder root, hidden folders) */
			int rc = add_folders(g, run, &w->page[i], items, err);
			if (rc != 0)
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
static int special_roles(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, const role_gets *w,
                         or_error *err)
{
	snap_t *s = pull_snapshot(run);
	bool mailbox_api = g->api == GRAPH_API_MAILBOX;
	int rc = w->rc[INBOX_SPECIAL]; /* the Inbox, asked for with the well-known names */
	if (rc < 0)
		*err = w->err[INBOX_SPECIAL];
	if (rc <= 0)
		return rc;
	const graph_page *inbox = &w->page[INBOX_SPECIAL];
	uint8_t eid[N_SPECIAL][64];
	size_t len[N_SPECIAL];
	for (size_t k = 0; k < N_SPECIAL; k++) {
		size_t t = special[k].tag - 0x36D0;
		len[k] = inbox->special_len[t];
		memcpy(eid[k], inbox->special[t], len[k]);
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
int graph_add_root(graph_pull *g, pull_run *run, or_error *err)
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
		graph_key_from_ident(top, &root.ident);
		if (!(f = pull_add_folder(run, &root)) || set_kind(g, run, f, COLL_NO_ITEMS) != 0)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	f->role = "root";
	return 0;
}

/* The mailbox API's id of the mailbox, from the user's Exchange settings. */
int graph_mailbox_id(graph_pull *g, pull_conn *c, graph_page *pg, char **out, or_error *err)
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
	int rc = graph_get(c, g->o, "GetExchangeSettings", NULL, url, COLL_SETTINGS, true, false, pg, &http, err);
	free(url);
	if (rc)
		return rc;
	*out = pg->mailbox_id;
	pg->mailbox_id = NULL;
	return 0;
}

int graph_set_base(graph_pull *g, const char *prefix, const char *id, or_error *err)
{
	char *esc = graph_escape(id);
	free(g->base);
	g->base = NULL;
	if (!esc || asprintf(&g->base, "%s%s", prefix, esc) < 0)
		g->base = NULL;
	free(esc);
	return g->base ? 0 : or_fail(err, OR_ERR_NOMEM, "out of memory");
}


/* After a listing of folders: their roles from the well-known names' folders, (the mail API)
 * the calendars and contact folders, then the special folders the Inbox names. */
static int roles(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	role_gets *w = get_roles(g, run, c, pg, err);
	if (!w)
		return OR_ERR_NOMEM;
	int rc = wellknown_roles(g, run, w, err);
	if (!rc && g->api == GRAPH_API_MAIL) { /* calendars and contact folders are not mail folders */
		char *url = graph_url(g->o->pull.url, g->base, "/calendars", COLL_CALENDARS, (graph_query){.expand = true});
		if (!url)
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		else if ((rc = list_folders(g, run, c, pg, "ListCalendars", url, COLL_CALENDARS, COLL_EVENTS, err)) == 0)
			rc = folder_collection(g, run, c, pg, "/contactFolders", COLL_CONTACT_FOLDERS, COLL_CONTACTS, err);
	}
	rc = rc ? rc : special_roles(g, run, c, pg, w, err);
	role_gets_free(w);
	return rc;
}

int graph_hierarchy_mailbox(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	int rc = folder_collection(g, run, c, pg, "/folders", COLL_MAILBOX_FOLDERS, COLL_MAILBOX_ITEMS, err);
	return rc ? rc : roles(g, run, c, pg, err);
}

int graph_hierarchy_mail(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err)
{
	int rc = folder_collection(g, run, c, pg, "/mailFolders", COLL_MAIL_FOLDERS, COLL_MESSAGES, err);
	return rc ? rc : roles(g, run, c, pg, err);
}
