/*
 * pull.c: `ostrecon server`: the mailbox's folder hierarchy, then every folder's items, into a
 * snapshot.
 *
 * The hierarchy is small and kept in memory; items are streamed to the snapshot page by page by a
 * bounded pool of workers, one connection each. A folder that fails (access denied, retries run
 * out, ...) becomes an error line and the others go on; refused credentials or a TLS failure stop
 * everything and nothing is written.
 */
#include "internal.h"

#include <curl/curl.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	o->server_version = "Exchange2013_SP1";
	o->concurrency = 4;
	o->retries = 6;
	o->connect_timeout_s = 30;
	o->timeout_s = 300;
	o->page_size = 512;
}

typedef struct {
	ews_shared sh;
	const ews_options *opt;
	snap_t *snap; /* header, folders, errors */
	snap_writer w;
	pthread_mutex_t wlock; /* the writer and snap->errors */
	size_t next, done, items;
	bool *pull_items;      /* per folder: pull its items (not search folders) */
	size_t *order;         /* the folders in the order workers take them: largest first */
	bool tty;
	bool in_memory;        /* items kept in snap (ews_capture_snap), no file */
	bool nomem;            /* an item could not be kept */
} pull;

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

static const char *err_code_name(int code)
{
	switch (code) {
	case OR_ERR_TIMEOUT: return "timeout";
	case OR_ERR_IO: return "io";
	case OR_ERR_DENIED: return "access_denied";
	case OR_ERR_NOTFOUND: return "not_found";
	case OR_ERR_LIMIT: return "limit";
	default: return "protocol";
	}
}

static void folder_error(pull *p, const snap_folder *f, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void folder_error(pull *p, const snap_folder *f, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&p->wlock);
	snap_error *e = snap_add_error(p->snap, ERR_SCOPE_FOLDER, code, msg);
	if (e) {
		e->id = f->id;
		e->folder_id = f->parent_id;
		e->path = f->path;
	}
	pthread_mutex_unlock(&p->wlock);
	log_verbose("folder %s: %s", f->path ? f->path : f->id, msg);
}

/* Copies a parsed folder into the snapshot (strings into its arena). */
static snap_folder *keep_folder(snap_t *s, const snap_folder *src)
{
	for (size_t i = 0; i < s->n_folders; i++)
		if (src->id && strcmp(s->folders[i].id, src->id) == 0)
			return &s->folders[i]; /* already known (a distinguished folder met again) */
	snap_folder *f = snap_add_folder(s);
	if (!f)
		return NULL;
	*f = *src;
	f->id = snap_strdup(s, src->id);
	f->parent_id = snap_strdup(s, src->parent_id);
	f->name = snap_strdup(s, src->name);
	f->cls = snap_strdup(s, src->cls);
	f->change_key = snap_bindup(s, src->change_key.data, src->change_key.len);
	f->pcl = snap_bindup(s, src->pcl.data, src->pcl.len);
	if (!f->ident.has_key && f->id && ews_key_from_id(f->id, f->ident.key) == 0) {
		memcpy(f->ident.gc, f->ident.key + 16, SNAP_GC_LEN);
		f->ident.has_key = f->ident.has_gc = 1;
		f->ident.origin = KEY_ENTRY_ID;
	}
	return f;
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
static int get_distinguished(pull *p, ews_conn *c, ews_page *pg, or_error *err)
{
	or_buf req = {0};
	int rc = ews_req_get_folders(&req, p->opt, distinguished_names, N_DISTINGUISHED);
	rc = rc ? rc : ews_call(c, "GetFolder", &req, pg, err);
	buf_free(&req);
	if (rc)
		return rc;
	if (*pg->server_version)
		p->snap->hdr.server_version = snap_strdup(p->snap, pg->server_version);
	bool root_ok = false;
	for (size_t i = 0; i < pg->scratch->n_folders; i++) {
		int msg = pg->folder_msg[i];
		if (msg < 0 || (size_t)msg >= N_DISTINGUISHED || strcmp(pg->status[msg].cls, "Error") == 0)
			continue;
		snap_folder *f = keep_folder(p->snap, &pg->scratch->folders[i]);
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

static int hierarchy_sync(pull *p, ews_conn *c, ews_page *pg, or_error *err)
{
	char *state = NULL;
	int rc = 0;
	for (int page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		rc = ews_req_sync_hierarchy(&req, p->opt, state);
		rc = rc ? rc : ews_call(c, "SyncFolderHierarchy", &req, pg, err);
		buf_free(&req);
		if (rc)
			break;
		char text[320];
		if (first_error(pg, text, sizeof text)) {
			rc = or_fail(err, OR_ERR_PROTOCOL, "SyncFolderHierarchy: %s", text);
			break;
		}
		for (size_t i = 0; i < pg->scratch->n_folders; i++)
			if (!keep_folder(p->snap, &pg->scratch->folders[i])) {
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

static int hierarchy_find(pull *p, ews_conn *c, ews_page *pg, or_error *err)
{
	long offset = 0;
	for (int page = 0; page < MAX_PAGES; page++) {
		or_buf req = {0};
		int rc = ews_req_find_folders(&req, p->opt, (int)offset, p->opt->page_size);
		rc = rc ? rc : ews_call(c, "FindFolder", &req, pg, err);
		buf_free(&req);
		if (rc)
			return rc;
		char text[320];
		if (first_error(pg, text, sizeof text))
			return or_fail(err, OR_ERR_PROTOCOL, "FindFolder: %s", text);
		for (size_t i = 0; i < pg->scratch->n_folders; i++)
			if (!keep_folder(p->snap, &pg->scratch->folders[i]))
				return or_fail(err, OR_ERR_NOMEM, "out of memory");
		size_t got = pg->scratch->n_folders;
		offset = pg->next_offset > offset ? pg->next_offset : offset + (long)got;
		if (pg->includes_last != 0 || got == 0)
			return 0;
	}
	return 0;
}

static long folder_index(const snap_t *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_folders; i++)
		if (strcmp(s->folders[i].id, id) == 0)
			return (long)i;
	return -1;
}

static int by_size_desc(const void *a, const void *b, void *snap)
{
	const snap_t *s = snap;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t cx = s->folders[x].content_count, cy = s->folders[y].content_count;
	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x < y ? -1 : x > y; /* hierarchy order among equals */
}

/* The pages of one folder follow one another (each carries the last one's sync state), so a large
 * folder taken last would keep the pull waiting alone at the end: workers take folders largest
 * first, by the item count the hierarchy gives (only the order depends on it). */
static int order_folders(pull *p, or_error *err)
{
	size_t n = p->snap->n_folders;
	if (!(p->order = malloc((n ? n : 1) * sizeof *p->order)))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		p->order[i] = i;
	qsort_r(p->order, n, sizeof *p->order, by_size_desc, p->snap);
	return 0;
}

/* Roles for folders no distinguished id named, paths, and which folders to pull. */
static int finish_hierarchy(pull *p, or_error *err)
{
	snap_t *s = p->snap;
	p->pull_items = calloc(s->n_folders ? s->n_folders : 1, sizeof *p->pull_items);
	long *parent = calloc(s->n_folders ? s->n_folders : 1, sizeof *parent);
	if (!p->pull_items || !parent) {
		free(parent);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		parent[i] = strcmp(s->folders[i].role ? s->folders[i].role : "", "root") == 0 ? -1
		            : folder_index(s, s->folders[i].parent_id);
		if (parent[i] < 0 && !(s->folders[i].role && strcmp(s->folders[i].role, "root") == 0))
			s->folders[i].parent_id = NULL; /* an orphan: its parent was not returned */
		if (s->folders[i].role && strcmp(s->folders[i].role, "root") == 0)
			s->folders[i].parent_id = NULL;
	}
	for (size_t i = 0; i < s->n_folders; i++) {
		snap_folder *f = &s->folders[i];
		/* Walk up (bounded) to build the path and find the nearest role-bearing ancestor. */
		const char *chain[64];
		int n = 0;
		bool under_ipm = false, under_search = false;
		for (long j = (long)i; j >= 0 && n < 64; j = parent[j]) {
			const snap_folder *a = &s->folders[j];
			if (j != (long)i && a->role) {
				if (strcmp(a->role, "msgfolderroot") == 0)
					under_ipm = true;
				if (strcmp(a->role, "searchfolders") == 0)
					under_search = true;
			}
			if (a->role && strcmp(a->role, "root") == 0)
				break;
			chain[n++] = a->name ? a->name : "";
		}
		if (!f->role)
			f->role = under_search ? "search" : under_ipm ? "ipm" : "other";
		or_buf path = {0};
		int rc = buf_append(&path, "/", 1);
		for (int k = n - 1; k >= 0 && rc == 0; k--) {
			for (const char *c = chain[k]; *c && rc == 0; c++)
				rc = (*c == '/' || *c == '\\') ? buf_printf(&path, "\\%c", *c) : buf_append(&path, c, 1);
			if (k && rc == 0)
				rc = buf_append(&path, "/", 1);
		}
		f->path = rc ? NULL : snap_strdup(s, path.data);
		buf_free(&path);
		p->pull_items[i] = strcmp(f->role, "search") != 0;
	}
	free(parent);
	return order_folders(p, err);
}

static void progress(pull *p, bool final)
{
	if (!p->tty)
		return;
	fprintf(stderr, "\r  folders %zu/%zu, items %zu%s", p->done, p->snap->n_folders, p->items, final ? "\n" : "");
}

/* A copy of an item in the pull's snapshot, as snap_load would read it from the file: strings in
 * its arena (ids, subjects and message ids not interned), values the file form leaves out absent. */
static bool keep_item(snap_t *s, const snap_item *src)
{
	snap_item *it = snap_add_item(s);
	if (!it)
		return false;
	*it = *src;
	snap_bin b;
	it->id = (b = snap_bindup(s, (const uint8_t *)src->id, strlen(src->id) + 1)).data ? (const char *)b.data : NULL;
	it->folder_id = snap_strdup(s, src->folder_id);
	it->cls = snap_strdup(s, src->cls);
	it->subject = src->subject ? (const char *)snap_bindup(s, (const uint8_t *)src->subject, strlen(src->subject) + 1).data : NULL;
	it->message_id = src->message_id ? (const char *)snap_bindup(s, (const uint8_t *)src->message_id, strlen(src->message_id) + 1).data : NULL;
	it->change_key = snap_bindup(s, src->change_key.data, src->change_key.len);
	it->pcl = snap_bindup(s, src->pcl.data, src->pcl.len);
	snap_item_as_loaded(it);
	return it->id && (!src->cls || it->cls) && (!src->subject || it->subject) &&
	       (!src->message_id || it->message_id) && (!src->change_key.len || it->change_key.data) &&
	       (!src->pcl.len || it->pcl.data);
}

/* Writes one page's items (under the writer lock). */
static void write_items(pull *p, const snap_folder *f, ews_page *pg, bool associated)
{
	pthread_mutex_lock(&p->wlock);
	for (size_t i = 0; i < pg->scratch->n_items; i++) {
		snap_item *it = &pg->scratch->items[i];
		if (!it->id)
			continue;
		it->folder_id = f->id;
		it->associated = associated;
		if (!it->ident.has_key && ews_key_from_id(it->id, it->ident.key) == 0) {
			memcpy(it->ident.gc, it->ident.key + 16, SNAP_GC_LEN);
			it->ident.has_key = it->ident.has_gc = 1;
			it->ident.origin = KEY_ENTRY_ID;
		}
		if (!p->in_memory)
			snap_write_item(&p->w, it);
		else if (!keep_item(p->snap, it))
			p->nomem = true;
		p->items++;
	}
	progress(p, false);
	pthread_mutex_unlock(&p->wlock);
}

/* All items of one folder, with SyncFolderItems (or FindItem) paging. */
static void pull_folder(pull *p, ews_conn *c, ews_page *pg, const snap_folder *f, bool associated)
{
	const ews_options *o = p->opt;
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
		rc = rc ? rc : ews_call(c, op, &req, pg, &err);
		buf_free(&req);
		if (rc) {
			if (!p->sh.fatal)
				folder_error(p, f, err_code_name(rc), "%s%s: %s (%zu items read before the failure)",
				             associated ? "associated items: " : "", op, err.message, got_total);
			break;
		}
		char text[320];
		const char *code = first_error(pg, text, sizeof text);
		if (code) {
			folder_error(p, f, status_code_name(code), "%s%s: %s (%zu items read before the failure)",
			             associated ? "associated items: " : "", op, text, got_total);
			break;
		}
		write_items(p, f, pg, associated);
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
				folder_error(p, f, "protocol", "%s: the server keeps answering 'more items' without any "
				             "(%zu items read)", op, got_total);
				break;
			}
		}
	}
	if (page == MAX_PAGES)
		folder_error(p, f, "limit", "%s: more than %d pages; stopped (%zu items read)", op, MAX_PAGES, got_total);
	free(state);
}

static void *worker(void *arg)
{
	pull *p = arg;
	ews_conn *c = NULL;
	ews_page pg;
	or_error err = {0};
	if (ews_page_init(&pg, &err) != 0)
		return NULL;
	if (ews_conn_new(&c, &p->sh, (unsigned)(uintptr_t)&pg ^ (unsigned)ews_now_ms(), &err) != 0) {
		ews_page_free(&pg);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&p->wlock);
		size_t k = p->next++;
		pthread_mutex_unlock(&p->wlock);
		if (k >= p->snap->n_folders || p->sh.fatal)
			break;
		size_t i = p->order[k];
		const snap_folder *f = &p->snap->folders[i];
		if (p->pull_items[i]) {
			pull_folder(p, c, &pg, f, false);
			if (p->opt->associated && !p->sh.fatal)
				pull_folder(p, c, &pg, f, true);
		}
		pthread_mutex_lock(&p->wlock);
		p->done++;
		progress(p, false);
		pthread_mutex_unlock(&p->wlock);
	}
	ews_conn_free(c);
	ews_page_free(&pg);
	return NULL;
}

/* Both libraries want their global state set up once, before any thread uses them. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static int capture(const ews_options *opt, const char *out_path, snap_t **keep, ews_summary *summary, or_error *err);

int ews_capture(const ews_options *opt, const char *out_path, ews_summary *summary, or_error *err)
{
	return capture(opt, out_path, NULL, summary, err);
}

int ews_capture_snap(const ews_options *opt, snap_t **out, ews_summary *summary, or_error *err)
{
	*out = NULL;
	return capture(opt, NULL, out, summary, err);
}

/* What snap_load does to a header and folders read back from the file. */
static int as_loaded(pull *p, or_error *err)
{
	snap_t *s = p->snap;
	snap_header *h = &s->hdr;
	h->mailbox = snap_strdup(s, h->mailbox);
	h->server = snap_strdup(s, h->server);
	h->tool = snap_strdup(s, h->tool);
	int rc = snap_as_loaded(s, err);
	return rc ? or_fail(err, rc, "the server returned a folder without an id") : 0;
}

static int capture(const ews_options *opt, const char *out_path, snap_t **keep, ews_summary *summary, or_error *err)
{
	memset(summary, 0, sizeof *summary);
	if (!opt->url || !opt->mailbox)
		return or_fail(err, OR_ERR_USAGE, "an EWS URL and a mailbox address are required");
	if (!ews_server_version_valid(opt->server_version))
		return or_fail(err, OR_ERR_USAGE, "unknown RequestServerVersion '%s'", opt->server_version);
	pthread_once(&global_once, global_init);
	int64_t t0 = ews_now_ms();

	pull p;
	memset(&p, 0, sizeof p);
	p.opt = opt;
	p.sh.opt = opt;
	pthread_mutex_init(&p.sh.lock, NULL);
	pthread_mutex_init(&p.wlock, NULL);
	p.tty = opt->progress && isatty(2);
	ews_conn *c = NULL;
	ews_page pg;
	bool page_ready = false, writing = false;
	int rc = snap_new(&p.snap, err);
	if (rc)
		goto out;
	if ((rc = ews_page_init(&pg, err)) != 0)
		goto out;
	page_ready = true;
	if ((rc = ews_conn_new(&c, &p.sh, (unsigned)t0, err)) != 0)
		goto out;
	snap_header *h = &p.snap->hdr;
	h->source = SRC_EWS;
	h->mailbox = opt->mailbox;
	h->server = opt->url;
	h->captured = filetime_now();
	h->tool = "ostrecon " OSTRECON_VERSION;
	h->options_json = opt->options_json;

	if ((rc = get_distinguished(&p, c, &pg, err)) != 0)
		goto out;
	log_verbose("mailbox %s: %zu distinguished folders found", opt->mailbox, p.snap->n_folders);
	rc = opt->use_findfolder ? hierarchy_find(&p, c, &pg, err) : hierarchy_sync(&p, c, &pg, err);
	if (rc && !opt->use_findfolder && rc != OR_ERR_AUTH && rc != OR_ERR_TLS && rc != OR_ERR_DENIED) {
		log_warn("SyncFolderHierarchy failed (%s); listing folders with FindFolder instead", err->message);
		rc = hierarchy_find(&p, c, &pg, err);
	}
	if (rc || (rc = finish_hierarchy(&p, err)) != 0)
		goto out;

	p.in_memory = keep != NULL;
	if (!p.in_memory) {
		if ((rc = snap_writer_open(&p.w, out_path, err)) != 0)
			goto out;
		writing = true;
		snap_write_header(&p.w, h);
		for (size_t i = 0; i < p.snap->n_folders; i++)
			snap_write_folder(&p.w, &p.snap->folders[i]);
	}

	int n = opt->concurrency < 1 ? 1 : opt->concurrency > 16 ? 16 : opt->concurrency;
	if ((size_t)n > p.snap->n_folders)
		n = p.snap->n_folders ? (int)p.snap->n_folders : 1;
	pthread_t threads[16];
	int started = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, worker, &p) == 0)
			started++;
	if (!started)
		worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	progress(&p, true);
	if (p.sh.fatal) {
		rc = or_fail(err, p.sh.fatal_err.code, "%s", p.sh.fatal_err.message);
		goto out;
	}
	if (p.next < p.snap->n_folders) { /* workers could not start: say so, never a silent gap */
		rc = or_fail(err, OR_ERR_NOMEM, "could not start the folder workers");
		goto out;
	}
	for (size_t i = 0; i < p.snap->n_errors; i++) {
		if (!p.in_memory)
			snap_write_error(&p.w, &p.snap->errors[i]);
		if (p.snap->errors[i].scope == ERR_SCOPE_FOLDER)
			summary->folders_failed++;
	}
	if (p.in_memory) {
		if (p.nomem) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = as_loaded(&p, err)) != 0)
			goto out;
		summary->folders = p.snap->n_folders;
		summary->items = p.snap->n_items;
		summary->errors = p.snap->n_errors;
		*keep = p.snap;
		p.snap = NULL;
		goto out;
	}
	summary->folders = p.w.n_folders;
	summary->items = p.w.n_items;
	summary->errors = p.w.n_errors;
	writing = false;
	rc = snap_writer_finish(&p.w, err);
out:
	if (writing)
		snap_writer_abort(&p.w);
	summary->requests = p.sh.requests;
	summary->retries = p.sh.retries;
	summary->seconds = (double)(ews_now_ms() - t0) / 1000.0;
	free(p.pull_items);
	free(p.order);
	ews_conn_free(c);
	if (page_ready)
		ews_page_free(&pg);
	snap_free(p.snap);
	pthread_mutex_destroy(&p.sh.lock);
	pthread_mutex_destroy(&p.wlock);
	return rc;
}
