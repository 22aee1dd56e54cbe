/*
 * pull.c: the EWS half of a pull (src/pull runs it): the distinguished folders (roles) and the
 * hierarchy, then each folder's items, page by page, with SyncFolderItems or FindItem.
 */
#include "internal.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 1000000 /* per folder or hierarchy: a broken server must not loop us forever */

/* Distinguished folders asked for by name: they give folders their roles. */
static const char *const distinguished_names[] = {
	"root", "msgfolderroot", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail",
	"calendar", "contacts", "tasks", "notes", "journal", "syncissues", "conflicts", "localfailures",
	"serverfailures", "searchfolders", "recoverableitemsroot", "recoverableitemsdeletions",
	"recoverableitemsversions", "recoverableitemspurges", "conversationhistory", "todosearch",
};
#define N_DISTINGUISHED (sizeof distinguished_names / sizeof distinguished_names[0])

static const char *const versions[] = {
	"Exchange2007", "Exchange2007_SP1", "Exchange2009", "Exchange2010", "Exchange2010_SP1",
	"Exchange2010_SP2", "Exchange2012", "Exchange2013", "Exchange2013_SP1", "Exchange2015",
	"Exchange2016", "V2015_10_05", "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10",
	"V2017_01_07", "V2017_04_14", "V2017_07_11",
};

bool ews_server_version_valid(const char *v)
{
	for (size_t i = 0; v && i < sizeof versions / sizeof versions[0]; i++)
		if (strcmp(v, versions[i]) == 0)
			return true;
	return false;
}

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

/* GetFolder on the distinguished folders: records them and remembers their roles. */
/* GetFolder on the distinguished folders: records them and remembers their roles. */
static int get_distinguished(const ews_options *o, pull_run *run, pull_conn *c, ews_page *pg, or_error *err)
{
	or_buf req = {0};
	int rc = ews_req_get_folders(&req, o, distinguished_names, N_DISTINGUISHED);
	rc = rc ? rc : ews_call(c, o, "GetFolder", &req, pg, err);
	buf_free(&req);
	if (rc)
		return rc;
	snap_t *snap = pull_snapshot(run);
	if (*pg->server_version)
		snap->hdr.server_version = snap_strdup(snap, pg->server_version);
	bool root_ok = false;
	for (size_t i = 0; i < pg->scratch->n_folders; i++) {
		int msg = pg->folder_msg[i];
		if (msg < 0 || (size_t)msg >= N_DISTINGUISHED || strcmp(pg->status[msg].cls, "Error") == 0)
			continue;
		snap_folder *f = keep_folder(run, &pg->scratch->folders[i]);
		if (!f)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		f->role = distinguished_names[msg];
		if (msg == 0)
			root_ok = true;
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

static int hierarchy_sync(const ews_options *o, pull_run *run, pull_conn *c, ews_page *pg, or_error *err)
{
	char *state = NULL;
	int rc = 0;
	for (int page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		rc = ews_req_sync_hierarchy(&req, o, state);
		rc = rc ? rc : ews_call(c, o, "SyncFolderHierarchy", &req, pg, err);
		buf_free(&req);
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

static int hierarchy_find(const ews_options *o, pull_run *run, pull_conn *c, ews_page *pg, or_error *err)
{
	long offset = 0;
	for (int page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		int rc = ews_req_find_folders(&req, o, (int)offset, o->page_size);
		rc = rc ? rc : ews_call(c, o, "FindFolder", &req, pg, err);
		buf_free(&req);
		if (rc)
			return rc;
		char text[320];
		if (first_error(pg, text, sizeof text))
			return or_fail(err, OR_ERR_PROTOCOL, "FindFolder: %s", text);
		for (size_t i = 0; i < pg->scratch->n_folders; i++)
			if (!keep_folder(run, &pg->scratch->folders[i]))
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
		size_t got = pg->scratch->n_folders;
		offset = pg->next_offset > offset ? pg->next_offset : offset + (long)got;
		if (pg->includes_last != 0 || got == 0)
			return 0;
	}
	return 0;
}

/* The folders: the distinguished ones by name (roles), then the whole hierarchy. */
static int hierarchy(void *ctx, pull_run *run, pull_conn *c, void *ws, or_error *err)
{
	const ews_options *o = ctx;
	ews_page *pg = ws;
	int rc = get_distinguished(o, run, c, pg, err);
	if (rc)
		return rc;
	log_verbose("mailbox %s: %zu distinguished folders found", o->pull.mailbox, pull_snapshot(run)->n_folders);
	rc = o->use_findfolder ? hierarchy_find(o, run, c, pg, err) : hierarchy_sync(o, run, c, pg, err);
	if (rc && !o->use_findfolder && rc != OR_ERR_AUTH && rc != OR_ERR_TLS && rc != OR_ERR_DENIED) {
		log_warn("SyncFolderHierarchy failed (%s); listing folders with FindFolder instead", err->message);
		rc = hierarchy_find(o, run, c, pg, err);
	}
	return rc;
}

/* One page's items, with keys from their ids where the server gave none. */
static void add_items(pull_run *run, const snap_folder *f, ews_page *pg, bool associated)
{
	for (size_t i = 0; i < pg->scratch->n_items; i++)
		key_from_id(pg->scratch->items[i].id, &pg->scratch->items[i].ident);
	pull_add_items(run, f, pg->scratch->items, pg->scratch->n_items, associated);
}

/* All items of one folder, with SyncFolderItems (or FindItem) paging. */
static void pull_folder(const ews_options *o, pull_run *run, pull_conn *c, ews_page *pg, const snap_folder *f,
                        bool associated)
{
	bool find = o->use_finditem || associated;
	const char *op = find ? "FindItem" : "SyncFolderItems";
	char *state = NULL;
	long offset = 0;
	size_t got_total = 0;
	or_error err = {0};
	int page;
	for (page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		int rc = find ? ews_req_find_items(&req, o, f->id, associated, (int)offset)
		              : ews_req_sync_items(&req, o, f->id, state);
		rc = rc ? rc : ews_call(c, o, op, &req, pg, &err);
		buf_free(&req);
		if (rc) {
			if (!pull_stopping(run))
				pull_folder_error(run, f, pull_error_code_name(rc), "%s%s: %s (%zu items read before the failure)",
				                  associated ? "associated items: " : "", op, err.message, got_total);
			break;
		}
		char text[320];
		const char *code = first_error(pg, text, sizeof text);
		if (code) {
			pull_folder_error(run, f, status_code_name(code), "%s%s: %s (%zu items read before the failure)",
			                  associated ? "associated items: " : "", op, text, got_total);
			break;
		}
		add_items(run, f, pg, associated);
		size_t got = pg->scratch->n_items;
		got_total += got;
		if (find) {
			offset = pg->next_offset > offset ? pg->next_offset : offset + (long)got;
			if (pg->includes_last != 0 || got == 0)
				break;
		} else {
			bool same = state && pg->sync_state && strcmp(state, pg->sync_state) == 0;
			free(state);
			state = pg->sync_state ? strdup(pg->sync_state) : NULL;
			if (pg->includes_last != 0 || !state)
				break;
			if (same && got == 0) {
				pull_folder_error(run, f, "protocol", "%s: the server keeps answering 'more items' without any "
				                  "(%zu items read)", op, got_total);
				break;
			}
		}
	}
	if (page == MAX_PAGES)
		pull_folder_error(run, f, "limit", "%s: more than %d pages; stopped (%zu items read)", op, MAX_PAGES,
		                  got_total);
	free(state);
}

static void folder(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f)
{
	const ews_options *o = ctx;
	pull_folder(o, run, c, ws, f, false);
	if (o->associated && !pull_stopping(run))
		pull_folder(o, run, c, ws, f, true);
}

static const pull_protocol ews_protocol = {
	.source = SRC_EWS,
	.worker_new = worker_new,
	.worker_free = worker_free,
	.hierarchy = hierarchy,
	.folder = folder,
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
	return pull_run_capture(&opt->pull, &ews_protocol, (void *)opt, out_path, keep, summary, err);
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
