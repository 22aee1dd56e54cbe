/*
 * pull.c: the EWS half of a pull (src/pull runs it): the distinguished folders (roles) and the
 * hierarchy, then each folder's items, page by page, with SyncFolderItems or FindItem.
 *
 * The first request settles the version: GetFolder of the mailbox root in Exchange2007_SP1, which
 * every server takes, whose ServerVersionInfo names the server's version; the distinguished
 * folders are then asked for in the lower of that and the configured RequestServerVersion, with
 * only the names that version knows. A server that still refuses (ErrorInvalidServerVersion,
 * ErrorSchemaValidation) is asked again a version lower. The roles a version cannot ask for
 * are found in the hierarchy afterwards: by the entry ids of PR_ADDITIONAL_REN_ENTRYIDS, else by
 * parent and name. The snapshot's options say which version was used and how roles were found.
 */
#include "internal.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PAGES 1000000      /* per folder or hierarchy: a broken server must not loop us forever */
#define MAX_VERSION_TRIES 8    /* versions tried for the first request */
#define MAX_WALK_FOLDERS 100000 /* folders listed one parent at a time, at most */
#define EWS_MAX_PARTS 16        /* of a folder read in parallel parts */

/* Distinguished folders asked for by name: they give folders their roles. */
static const char *const distinguished_names[] = {
	"root", "msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail",
	"calendar", "contacts", "tasks", "notes", "journal", "syncissues", "conflicts", "localfailures",
	"serverfailures", "searchfolders", "recoverableitemsroot", "recoverableitemsdeletions",
	"recoverableitemsversions", "recoverableitemspurges", "conversationhistory", "todosearch",
};
#define N_DISTINGUISHED (sizeof distinguished_names / sizeof distinguished_names[0])

/* Roles of PR_ADDITIONAL_REN_ENTRYIDS's positions ([MS-OXOSFLD] 2.2.4). */
static const char *const special_positions[] = {"conflicts", "syncissues", "localfailures", "serverfailures"};

/* Where a role that could not be asked for by name is found otherwise: the folder's parent's role
 * and its name (the names Exchange gives them; Recoverable Items are never localized). */
static const struct {
	const char *parent, *name, *role;
} role_by_name[] = {
	{"root", "Recoverable Items", "recoverableitemsroot"},
	{"recoverableitemsroot", "Deletions", "recoverableitemsdeletions"},
	{"recoverableitemsroot", "Versions", "recoverableitemsversions"},
	{"recoverableitemsroot", "Purges", "recoverableitemspurges"},
	{"msgfolderroot", "Sync Issues", "syncissues"},
	{"syncissues", "Conflicts", "conflicts"},
	{"syncissues", "Local Failures", "localfailures"},
	{"syncissues", "Server Failures", "serverfailures"},
	{"msgfolderroot", "Conversation History", "conversationhistory"},
	{"searchfolders", "To-Do Search", "todosearch"},
};
#define N_ROLE_BY_NAME (sizeof role_by_name / sizeof role_by_name[0])

/* The pull's own state: the options with the version the server accepted (set by the hierarchy,
 * before the workers start; read-only afterwards). */
typedef struct {
	const ews_options *o;
	ews_options eff;             /* o, with the version in use */
	bool associated;             /* associated items asked for and possible on that version */
	const char *not_asked[N_DISTINGUISHED]; /* roles the version cannot name */
	size_t n_not_asked;
	const char *found[N_DISTINGUISHED][2];  /* role, how it was found ("entry_id", "name") */
	size_t n_found;
	ews_special special[8];      /* PR_ADDITIONAL_REN_ENTRYIDS of the root or the Inbox */
	size_t n_special;
	char *options_json;
} ews_pull;

void ews_options_init(ews_options *o)
{
	memset(o, 0, sizeof *o);
	pull_options_init(&o->pull);
	o->server_version = "Exchange2013_SP1";
	o->page_size = 512;
}

/* A worker's page: one response at a time. */
static void *worker_new(void *ctx, or_error *err)
{
	ews_page *pg = calloc(1, sizeof *pg);
	if (!pg) {
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (ews_page_init(pg, err) != 0) {
		free(pg);
		return NULL;
	}
	return pg;
}

static void worker_free(void *ws)
{
	ews_page_free(ws);
	free(ws);
}

static const char *status_code_name(const char *code)
{
	if (strstr(code, "AccessDenied") || strstr(code, "ImpersonateUserDenied"))
		return "access_denied";
	if (strstr(code, "NotFound") || strstr(code, "NonExistent"))
		return "not_found";
	if (strstr(code, "ServerBusy"))
		return "throttled";
	return "protocol";
}

/* The key inside the id, for an object the server gave no PidTagSourceKey. */
static void key_from_id(const char *id, snap_ident *ident)
{
	if (!ident->has_key && id && pull_key_from_id(id, ident->key) == 0) {
		memcpy(ident->gc, ident->key + 16, SNAP_GC_LEN);
		ident->has_key = ident->has_gc = 1;
		ident->origin = KEY_ENTRY_ID;
	}
}

static snap_folder *keep_folder(pull_run *run, snap_folder *src)
{
	key_from_id(src->id, &src->ident);
	return pull_add_folder(run, src);
}

static const char *first_error(const ews_page *pg, char *buf, size_t size)
{
	for (size_t i = 0; i < pg->n_status; i++)
		if (strcmp(pg->status[i].cls, "Error") == 0) {
			snprintf(buf, size, "%s%s%s", pg->status[i].code, *pg->status[i].text ? ": " : "", pg->status[i].text);
			return pg->status[i].code;
		}
	return NULL;
}

/* A refusal that a lower RequestServerVersion may avoid: the version itself, or a value of the
 * request the server's schema does not know. ErrorInvalidRequest is how Exchange 2019 refuses an
 * unknown version value. */
static bool refuses_version(const ews_page *pg)
{
	const char *code = pg->fault_code, *colon = strrchr(code, ':');
	code = colon ? colon + 1 : code;
	return pg->is_fault && (strcmp(code, "ErrorInvalidServerVersion") == 0 || strcmp(code, "ErrorSchemaValidation") == 0 ||
	                        strcmp(code, "ErrorInvalidRequest") == 0);
}

/* The distinguished folders the version knows, in names (their order is the snapshot's); the
 * others are noted as not asked for. */
static size_t distinguished_names_of(ews_pull *ep, const char **names)
{
	size_t n = 0;
	ep->n_not_asked = 0;
	for (size_t i = 0; i < N_DISTINGUISHED; i++) {
		if (ews_version_knows_name(ep->eff.server_version, distinguished_names[i]))
			names[n++] = distinguished_names[i];
		else
			ep->not_asked[ep->n_not_asked++] = distinguished_names[i];
	}
	return n;
}

static int call_distinguished(const ews_options *o, pull_conn *c, ews_page *pg, const char *const *names, size_t n,
                              or_error *err)
{
	or_buf req = {0};
	int rc = ews_req_get_folders(&req, o, names, n);
	rc = rc ? rc : ews_call(c, o, "GetFolder", "the distinguished folders", &req, pg, err);
	buf_free(&req);
	return rc;
}

/* The answer (rc, pg) to GetFolder on the distinguished folders: records them with their roles. */
static int take_distinguished(ews_pull *ep, pull_run *run, ews_page *pg, const char *const *names, size_t n, int rc,
                              or_error *err)
{
	/* One folder that kept answering a transient error (its message retried to the end) does not
	 * stop the others: the last answer's other messages are used, the root's is checked below. */
	bool answered = rc == OR_ERR_PROTOCOL && !pg->is_fault && strcmp(pg->operation, "GetFolder") == 0 &&
	                pg->n_status == n;
	if (rc && !answered)
		return rc;
	if (rc)
		log_warn("GetFolder: %s; going on with the folders it did return", err->message);
	snap_t *snap = pull_snapshot(run);
	if (*pg->server_version)
		snap->hdr.server_version = snap_strdup(snap, pg->server_version);
	bool root_ok = false;
	for (size_t i = 0; i < pg->scratch->n_folders; i++) {
		int msg = pg->folder_msg[i];
		if (msg < 0 || (size_t)msg >= n || strcmp(pg->status[msg].cls, "Error") == 0)
			continue;
		snap_folder *f = keep_folder(run, &pg->scratch->folders[i]);
		if (!f)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		f->role = names[msg];
		if (msg == 0)
			root_ok = true;
	}
	/* The special folders' entry ids, as the root and the Inbox carry them. */
	ep->n_special = 0;
	for (size_t i = 0; i < pg->n_special && ep->n_special < sizeof ep->special / sizeof *ep->special; i++) {
		int msg = pg->special[i].folder >= 0 ? pg->folder_msg[pg->special[i].folder] : -1;
		if (msg >= 0 && (size_t)msg < n && (strcmp(names[msg], "root") == 0 || strcmp(names[msg], "inbox") == 0))
			ep->special[ep->n_special++] = pg->special[i];
	}
	if (!root_ok) {
		char text[320];
		const char *code = pg->n_status ? pg->status[0].code : "";
		snprintf(text, sizeof text, "%s%s%s", code, pg->n_status && *pg->status[0].text ? ": " : "",
		         pg->n_status ? pg->status[0].text : "no answer");
		return or_fail(err, strstr(code, "AccessDenied") || strstr(code, "Impersonate") ? OR_ERR_DENIED
		                    : strstr(code, "NonExistentMailbox") ? OR_ERR_NOTFOUND : OR_ERR_PROTOCOL,
		               "cannot open the mailbox's root folder: %s", text);
	}
	return 0;
}

/* The first page of the folder listing, asked for beside the distinguished folders once the
 * version is known (the hierarchy goes on from it when that version stays the one in use). */
typedef struct {
	const char *version; /* the RequestServerVersion it was asked in; NULL: not asked */
	ews_page pg;
	int rc;
	or_error err;
} early_listing;

static int call_listing(const ews_options *o, pull_conn *c, ews_page *pg, or_error *err);

/* The two requests of the round that follows the probe, each into its own page. */
typedef struct {
	const ews_options *o;
	const char *const *names;
	size_t n;
	ews_page *pg;        /* the distinguished folders' answer */
	int rc;
	or_error err;
	early_listing *early;
} first_round;

static void first_round_job(void *ctx, int k, pull_conn *c, void *ws)
{
	first_round *fr = ctx;
	(void)ws; /* each request has its own page in fr */
	if (k == 0)
		fr->rc = call_distinguished(fr->o, c, fr->pg, fr->names, fr->n, &fr->err);
	else
		fr->early->rc = call_listing(fr->o, c, &fr->early->pg, &fr->early->err);
}

/* GetFolder on the distinguished folders the version knows, with the first page of the folder
 * listing at the same time when `early` is given. */
static int ask_distinguished(ews_pull *ep, pull_run *run, pull_conn *c, ews_page *pg, early_listing *early,
                             or_error *err)
{
	const char *names[N_DISTINGUISHED];
	size_t n = distinguished_names_of(ep, names);
	int rc;
	if (early) {
		first_round fr = {.o = &ep->eff, .names = names, .n = n, .pg = pg, .early = early};
		early->version = ep->eff.server_version;
		pull_parallel(run, c, pg, 2, first_round_job, &fr);
		rc = fr.rc;
		if (rc)
			*err = fr.err;
	} else {
		rc = call_distinguished(&ep->eff, c, pg, names, n, err);
	}
	return take_distinguished(ep, run, pg, names, n, rc, err);
}

#define PROBE_VERSION "Exchange2007_SP1" /* a request every supported server version takes */

/* The first request asks for the mailbox root in the oldest version, which every server takes:
 * its ServerVersionInfo says which version to speak, so that no later request carries a value
 * the server does not know. (Exchange Online says 15.20: anything goes.) */
static int probe_version(ews_pull *ep, pull_conn *c, ews_page *pg, bool *said_any, or_error *err)
{
	*said_any = false;
	ews_options o = ep->eff;
	o.server_version = PROBE_VERSION;
	static const char *const root[] = {"root"};
	or_buf req = {0};
	int rc = ews_req_get_folders(&req, &o, root, 1);
	rc = rc ? rc : ews_call(c, &o, "GetFolder", "root", &req, pg, err);
	buf_free(&req);
	if (rc)
		return refuses_version(pg) ? 0 : rc; /* then the versions are tried one by one */
	*said_any = *pg->server_version != '\0';
	const char *said = ews_version_of_server(pg);
	if (said && ews_version_older(said, ep->eff.server_version)) {
		log_verbose("the server is %s (%s): asking in that version", said, pg->server_version);
		ep->eff.server_version = said;
	}
	return 0;
}

/* The distinguished folders, at the highest version the server accepts: the one the probe
 * learned, and a version lower each time the server refuses one. When the probe's answer named
 * the server's version (so that the next request is not refused for its version) and the pull
 * has more than one connection, the first page of the folder listing is asked for at the same
 * time, in `early` (one round trip fewer before the first folder's items). */
static int get_distinguished(ews_pull *ep, pull_run *run, pull_conn *c, ews_page *pg, early_listing *early,
                             or_error *err)
{
	bool said_any;
	int rc = probe_version(ep, c, pg, &said_any, err);
	if (rc)
		return rc;
	if (!said_any || ep->o->pull.concurrency < 2)
		early = NULL;
	char tried[256] = "";
	for (int attempt = 0; attempt < MAX_VERSION_TRIES; attempt++) {
		const char *v = ep->eff.server_version;
		size_t used = strlen(tried);
		snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", v);
		rc = ask_distinguished(ep, run, c, pg, attempt == 0 ? early : NULL, err);
		if (rc == 0) {
			/* A server older than the version it accepted (one that ignores the header) is
			 * still sent only what it knows. */
			const char *said = ews_version_of_server(pg);
			if (said && ews_version_older(said, v)) {
				log_verbose("the server says it is %s (%s): asking in that version", said, pg->server_version);
				ep->eff.server_version = said;
				continue;
			}
			return 0;
		}
		if (!refuses_version(pg))
			return rc;
		const char *said = ews_version_of_server(pg), *next = ews_version_step_down(v);
		if (said && ews_version_older(said, v))
			next = said;
		if (!next)
			return or_wrap(err, "the server refused every RequestServerVersion tried (%s)", tried);
		log_verbose("the server refused %s (%s); trying %s", v, err->message, next);
		ep->eff.server_version = next;
	}
	return or_fail(err, OR_ERR_PROTOCOL, "no RequestServerVersion accepted after %s", tried);
}

static int call_sync_hierarchy(const ews_options *o, pull_conn *c, ews_page *pg, const char *state, or_error *err)
{
	or_buf req = {0};
	int rc = ews_req_sync_hierarchy(&req, o, state);
	rc = rc ? rc : ews_call(c, o, "SyncFolderHierarchy", NULL, &req, pg, err);
	buf_free(&req);
	return rc;
}

static int call_find_folders(const ews_options *o, pull_conn *c, ews_page *pg, const char *parent, const char *label,
                             bool deep, long offset, or_error *err)
{
	or_buf req = {0};
	int rc = ews_req_find_folders(&req, o, parent, deep, (int)offset, o->page_size);
	rc = rc ? rc : ews_call(c, o, "FindFolder", label, &req, pg, err);
	buf_free(&req);
	return rc;
}

/* The first page of the whole tree's listing (SyncFolderHierarchy, or FindFolder Deep). */
static int call_listing(const ews_options *o, pull_conn *c, ews_page *pg, or_error *err)
{
	return o->use_findfolder ? call_find_folders(o, c, pg, NULL, NULL, true, 0, err)
	                         : call_sync_hierarchy(o, c, pg, NULL, err);
}

/* The early first page of the listing, when it was asked for in the version now in use: its page
 * (and its answer in rc, err); else NULL. Used once. */
static ews_page *early_take(early_listing *e, const ews_pull *ep, int *rc, or_error *err)
{
	if (!e || !e->version || strcmp(e->version, ep->eff.server_version) != 0)
		return NULL;
	e->version = NULL;
	*rc = e->rc;
	if (e->rc)
		*err = e->err;
	return &e->pg;
}

static int hierarchy_sync(ews_pull *ep, pull_run *run, pull_conn *c, ews_page *pg0, early_listing *early,
                          or_error *err)
{
	const ews_options *o = &ep->eff;
	char *state = NULL;
	int rc = 0;
	for (int page = 0; page < MAX_PAGES; page++) {
		ews_page *pg = page == 0 ? early_take(early, ep, &rc, err) : NULL;
		if (!pg) {
			pg = pg0;
			rc = call_sync_hierarchy(o, c, pg, state, err);
		}
		if (rc)
			break;
		char text[320];
		if (first_error(pg, text, sizeof text)) {
			rc = or_fail(err, OR_ERR_PROTOCOL, "SyncFolderHierarchy: %s", text);
			break;
		}
		for (size_t i = 0; i < pg->scratch->n_folders; i++)
			if (!keep_folder(run, &pg->scratch->folders[i])) {
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
				goto out;
			}
		bool same = state && pg->sync_state && strcmp(state, pg->sync_state) == 0;
		free(state);
		state = pg->sync_state ? strdup(pg->sync_state) : NULL;
		/* A missing "last" marker ends the loop, as does a state that no longer moves. */
		if (pg->includes_last != 0 || !state || (same && pg->scratch->n_folders == 0))
			break;
	}
out:
	free(state);
	return rc;
}

/* FindFolder paging below one parent (NULL: the root; label names it in log lines), Deep or
 * Shallow. A per-message error returns OR_ERR_PROTOCOL (or the code it names) with the message in
 * err. */
static int find_folders(ews_pull *ep, pull_run *run, pull_conn *c, ews_page *pg0, const char *parent,
                        const char *label, bool deep, early_listing *early, const char **code, or_error *err)
{
	const ews_options *o = &ep->eff;
	long offset = 0;
	*code = NULL;
	for (int page = 0; page < MAX_PAGES; page++) {
		int rc = 0;
		ews_page *pg = page == 0 ? early_take(early, ep, &rc, err) : NULL;
		if (!pg) {
			pg = pg0;
			rc = call_find_folders(o, c, pg, parent, label, deep, offset, err);
		}
		if (rc)
			return rc;
		char text[320];
		if ((*code = first_error(pg, text, sizeof text)) != NULL)
			return or_fail(err, OR_ERR_PROTOCOL, "FindFolder: %s", text);
		for (size_t i = 0; i < pg->scratch->n_folders; i++) {
			snap_folder *f = &pg->scratch->folders[i];
			if (!f->parent_id && parent)
				f->parent_id = parent;
			if (!keep_folder(run, f))
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		size_t got = pg->scratch->n_folders;
		offset = pg->next_offset > offset ? pg->next_offset : offset + (long)got;
		if (pg->includes_last != 0 || got == 0)
			return 0;
	}
	return 0;
}

static bool fatal(int rc)
{
	return rc == OR_ERR_AUTH || rc == OR_ERR_TLS || rc == OR_ERR_DENIED || rc == OR_ERR_NOMEM;
}

/* The tree one parent at a time (FindFolder Shallow): a folder whose subfolders cannot be listed
 * is an error line (its subtree unverified), and the rest goes on. Folders found are appended to
 * the list being walked, so one pass lists each folder's children once. */
static int hierarchy_walk(ews_pull *ep, pull_run *run, pull_conn *c, ews_page *pg, or_error *err)
{
	int rc = 0;
	size_t i;
	for (i = 0; i < pull_snapshot(run)->n_folders && i < MAX_WALK_FOLDERS && rc == 0; i++) {
		char *id = strdup(pull_snapshot(run)->folders[i].id); /* the array moves as folders are added */
		if (!id)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		const char *code;
		or_error e = {0};
		int r = find_folders(ep, run, c, pg, id, pull_snapshot(run)->folders[i].name, false, NULL, &code, &e);
		if (r && fatal(r)) {
			*err = e;
			rc = r;
		} else if (r) {
			pull_folder_error(run, &pull_snapshot(run)->folders[i], code ? status_code_name(code) : pull_error_code_name(r),
			                  "its subfolders could not be listed: %s", e.message);
		}
		free(id);
	}
	if (rc == 0 && i < pull_snapshot(run)->n_folders)
		pull_folder_error(run, &pull_snapshot(run)->folders[i], "limit",
		                  "more than %d folders: the subfolders of this one and of those after it were not listed",
		                  MAX_WALK_FOLDERS);
	return rc;
}

/* The roles the version could not ask for: by the special folders' entry ids, else by name. */
static void find_roles(ews_pull *ep, pull_run *run)
{
	snap_t *s = pull_snapshot(run);
	for (size_t k = 0; k < ep->n_not_asked; k++) {
		const char *role = ep->not_asked[k];
		snap_folder *hit = NULL;
		const char *how = NULL;
		for (size_t i = 0; !hit && i < ep->n_special; i++) {
			int pos = ep->special[i].position;
			if (pos < 0 || pos >= (int)(sizeof special_positions / sizeof *special_positions) ||
			    strcmp(special_positions[pos], role) != 0)
				continue;
			for (size_t j = 0; !hit && j < s->n_folders; j++)
				if (s->folders[j].ident.has_key && !s->folders[j].role &&
				    memcmp(s->folders[j].ident.key, ep->special[i].key, SNAP_KEY_LEN) == 0)
					hit = &s->folders[j], how = "entry_id";
		}
		for (size_t r = 0; !hit && r < N_ROLE_BY_NAME; r++) {
			if (strcmp(role_by_name[r].role, role) != 0)
				continue;
			for (size_t j = 0; !hit && j < s->n_folders; j++) {
				snap_folder *f = &s->folders[j];
				if (f->role || !f->name || strcasecmp(f->name, role_by_name[r].name) != 0 || !f->parent_id)
					continue;
				for (size_t q = 0; q < s->n_folders; q++)
					if (strcmp(s->folders[q].id, f->parent_id) == 0 && s->folders[q].role &&
					    strcmp(s->folders[q].role, role_by_name[r].parent) == 0)
						hit = f, how = "name";
			}
		}
		if (hit) {
			hit->role = role;
			ep->found[ep->n_found][0] = role;
			ep->found[ep->n_found++][1] = how;
		}
	}
}

/* The header's options: those the pull began with (the command line's and the authentication
 * used), with the version used and how roles were found. */
static int record_options(ews_pull *ep, pull_run *run, or_error *err)
{
	const char *began = pull_snapshot(run)->hdr.options_json;
	json_t *o = began ? json_loads(began, 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "server_version", json_string(ep->eff.server_version));
	if (ep->n_not_asked) {
		json_t *na = json_array(), *found = json_object();
		for (size_t i = 0; i < ep->n_not_asked; i++)
			json_array_append_new(na, json_string(ep->not_asked[i]));
		for (size_t i = 0; i < ep->n_found; i++)
			json_object_set_new(found, ep->found[i][0], json_string(ep->found[i][1]));
		json_object_set_new(o, "roles_not_by_name", na);
		json_object_set_new(o, "roles_found", found);
	}
	if (ep->o->associated && !ep->associated)
		json_object_set_new(o, "associated", json_string("not_available"));
	free(ep->options_json);
	ep->options_json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!ep->options_json)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pull_snapshot(run)->hdr.options_json = ep->options_json;
	return 0;
}

/* The folders: the distinguished ones by name (roles), then the whole hierarchy; SyncFolderHierarchy,
 * else FindFolder Deep, else the tree one parent at a time. */
static int hierarchy(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err)
{
	ews_pull *ep = ctx;
	ews_page *pg = ws;
	early_listing early = {0};
	int rc = ews_page_init(&early.pg, err);
	if (rc)
		return rc;
	rc = get_distinguished(ep, run, c, pg, &early, err);
	if (rc)
		goto out;
	ep->associated = ep->o->associated && ews_version_associated(ep->eff.server_version);
	if (ep->o->associated && !ep->associated)
		log_warn("%s: associated items cannot be listed with %s; pulled without them", ep->o->pull.mailbox,
		         ep->eff.server_version);
	log_verbose("mailbox %s: %zu distinguished folders found with %s", ep->o->pull.mailbox,
	            pull_snapshot(run)->n_folders, ep->eff.server_version);
	const char *code;
	rc = ep->o->use_findfolder ? find_folders(ep, run, c, pg, NULL, NULL, true, &early, &code, err)
	                           : hierarchy_sync(ep, run, c, pg, &early, err);
	if (rc && !ep->o->use_findfolder && !fatal(rc)) {
		log_warn("SyncFolderHierarchy failed (%s); listing folders with FindFolder instead", err->message);
		rc = find_folders(ep, run, c, pg, NULL, NULL, true, NULL, &code, err);
	}
	if (rc && !fatal(rc)) {
		log_warn("FindFolder of the whole tree failed (%s); listing the folders one by one", err->message);
		rc = hierarchy_walk(ep, run, c, pg, err);
	}
	if (rc)
		goto out;
	for (int round = 0; round < 2; round++) /* a role found can make its children's findable */
		find_roles(ep, run);
	rc = record_options(ep, run, err);
out:
	ews_page_free(&early.pg);
	return rc;
}


/* A large folder read in parts (pull_protocol.split): FindItem at offsets, the folder's count
 * cut into equal ranges paged in parallel (src/pull writes an item two parts meet once). */
typedef struct {
	int n;
	long start[EWS_MAX_PARTS + 1]; /* part k reads offsets [start[k], start[k+1]) */
	pull_parts note;               /* the first part's failure */
} split_plan;

/* What one paging reads: a whole folder, or part k of a split one. */
typedef struct {
	split_plan *sp;                /* NULL: the whole folder */
	int part;
} item_range;

/* One page's items, with keys from their ids where the server gave none. */
static void add_items(pull_run *run, const snap_folder *f, ews_page *pg, bool associated, const item_range *r)
{
	for (size_t i = 0; i < pg->scratch->n_items; i++)
		key_from_id(pg->scratch->items[i].id, &pg->scratch->items[i].ident);
	if (r->sp)
		pull_add_part_items(run, f, r->part, pg->scratch->items, pg->scratch->n_items);
	else
		pull_add_items(run, f, pg->scratch->items, pg->scratch->n_items, associated);
}

/* All items of one folder, with SyncFolderItems (or FindItem) paging; or one part of it, with
 * FindItem from the part's first offset to the next part's. */
static void pull_folder(const ews_options *o, pull_run *run, pull_conn *c, ews_page *pg, const snap_folder *f,
                        bool associated, const item_range *r)
{
	bool find = o->use_finditem || associated || r->sp;
	const char *op = find ? "FindItem" : "SyncFolderItems";
	char *state = NULL;
	long offset = r->sp ? r->sp->start[r->part] : 0;
	long end = r->sp ? r->sp->start[r->part + 1] : -1;
	size_t got_total = 0;
	or_error err = {0};
	int page;
	for (page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		int rc = find ? ews_req_find_items(&req, o, f->id, associated, (int)offset, end < 0 ? 0 : (int)(end - offset))
		              : ews_req_sync_items(&req, o, f->id, state);
		rc = rc ? rc : ews_call(c, o, op, f->path ? f->path : f->name, &req, pg, &err);
		buf_free(&req);
		if (rc) {
			if (!pull_stopping(run))
				pull_listing_failed(run, f, r->sp ? &r->sp->note : NULL, r->part, pull_error_code_name(rc), "%s%s: %s (%zu items read before the failure)",
				              associated ? "associated items: " : "", op, err.message, got_total);
			break;
		}
		char text[320];
		const char *code = first_error(pg, text, sizeof text);
		if (code) {
			pull_listing_failed(run, f, r->sp ? &r->sp->note : NULL, r->part, status_code_name(code), "%s%s: %s (%zu items read before the failure)",
			              associated ? "associated items: " : "", op, text, got_total);
			break;
		}
		add_items(run, f, pg, associated, r);
		size_t got = pg->scratch->n_items;
		got_total += got;
		if (find) {
			offset = pg->next_offset > offset ? pg->next_offset : offset + (long)got;
			if (pg->includes_last != 0 || got == 0 || (end >= 0 && offset >= end))
				break;
		} else {
			bool same = state && pg->sync_state && strcmp(state, pg->sync_state) == 0;
			free(state);
			state = pg->sync_state ? strdup(pg->sync_state) : NULL;
			if (pg->includes_last != 0 || !state)
				break;
			if (same && got == 0) {
				pull_listing_failed(run, f, r->sp ? &r->sp->note : NULL, r->part, "protocol", "%s: the server keeps answering 'more items' without any "
				              "(%zu items read)", op, got_total);
				break;
			}
		}
	}
	if (page == MAX_PAGES)
		pull_listing_failed(run, f, r->sp ? &r->sp->note : NULL, r->part, "limit", "%s: more than %d pages; stopped (%zu items read)", op, MAX_PAGES, got_total);
	free(state);
}

static void folder(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	ews_pull *ep = ctx;
	pull_folder(&ep->eff, run, c, ws, f, false, &(item_range){0});
	if (ep->associated && !pull_stopping(run))
		pull_folder(&ep->eff, run, c, ws, f, true, &(item_range){0});
}

/* The count is known (the hierarchy's TotalCount): equal ranges of offsets, no probe. */
static int split(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, int parts, void **plan)
{
	(void)ctx, (void)run, (void)c, (void)ws;
	*plan = NULL;
	if (parts > EWS_MAX_PARTS)
		parts = EWS_MAX_PARTS;
	if (f->content_count < parts || f->content_count > 0x7fffffff)
		return 0;
	split_plan *sp = calloc(1, sizeof *sp);
	if (!sp)
		return 0;
	sp->n = parts;
	for (int k = 0; k <= parts; k++)
		sp->start[k] = (long)(f->content_count * k / parts);
	/* the last part reads on to the end, whatever the count said */
	sp->start[parts] = 0x7fffffff;
	pull_parts_init(&sp->note);
	*plan = sp;
	return parts;
}

static void part(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan, int k)
{
	ews_pull *ep = ctx;
	pull_folder(&ep->eff, run, c, ws, f, false, &(item_range){.sp = plan, .part = k});
}

/* After the parts: a part that failed, or parts that do not add up to the folder's count (it
 * changed while the offsets were read), and the folder is read whole, as `folder` reads it (the
 * items already written are kept once); then the associated items, which are never split. */
static void merge(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan)
{
	ews_pull *ep = ctx;
	split_plan *sp = plan;
	if (c && !pull_stopping(run)) {
		if (pull_parts_incomplete(run, f, &sp->note, sp->n)) {
			pull_folder(&ep->eff, run, c, ws, f, false, &(item_range){0});
		}
		if (ep->associated && !pull_stopping(run))
			pull_folder(&ep->eff, run, c, ws, f, true, &(item_range){0});
	}
	pull_parts_destroy(&sp->note);
	free(sp);
}

static const pull_protocol ews_protocol = {
	.source = SRC_EWS,
	.worker_new = worker_new,
	.worker_free = worker_free,
	.hierarchy = hierarchy,
	.folder = folder,
	.split = split,
	.part = part,
	.merge = merge,
};

/* libxml2 wants its global state set up once, before any thread uses it. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
	xmlInitParser();
}

static int capture(const ews_options *opt, const char *out_path, snap_t **keep, pull_summary *summary,
                   or_error *err)
{
	if (!ews_server_version_valid(opt->server_version)) {
		memset(summary, 0, sizeof *summary);
		return or_fail(err, OR_ERR_USAGE, "unknown RequestServerVersion '%s'", opt->server_version);
	}
	pthread_once(&global_once, global_init);
	ews_pull ep = {.o = opt, .eff = *opt};
	int rc = pull_run_capture(&opt->pull, &ews_protocol, &ep, out_path, keep, summary, err);
	free(ep.options_json);
	return rc;
}

int ews_capture(const ews_options *opt, const char *out_path, pull_summary *summary, or_error *err)
{
	return capture(opt, out_path, NULL, summary, err);
}

int ews_capture_snap(const ews_options *opt, snap_t **out, pull_summary *summary, or_error *err)
{
	*out = NULL;
	return capture(opt, NULL, out, summary, err);
}
