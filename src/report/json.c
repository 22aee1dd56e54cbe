/* json.c: builds the JSON report from a diff result, saves and loads it, and redacts. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- redaction */

int report_redaction_key(const char *path, uint8_t key[REPORT_KEY_MAX], size_t *len, or_error *err)
{
	*len = 0;
	if (!path) {
		if (RAND_bytes(key, 32) != 1)
			return or_fail(err, OR_ERR_IO, "cannot draw a random redaction key");
		*len = 32;
		return 0;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return or_fail(err, errno == ENOENT ? OR_ERR_NOTFOUND : OR_ERR_IO, "cannot open the key file %s: %s", path,
		               strerror(errno));
	ssize_t n;
	while (*len < REPORT_KEY_MAX && (n = read(fd, key + *len, REPORT_KEY_MAX - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	if (*len < 16)
		return or_fail(err, OR_ERR_USAGE, "the key file %s holds fewer than 16 bytes", path);
	return 0;
}

int report_hash(const uint8_t *key, size_t key_len, const char *text, char out[22])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)text, strlen(text), mac, &mac_len) ||
	    mac_len < 8) {
		str_copy(out, "hmac:?", 22);
		return -1;
	}
	memcpy(out, "hmac:", 5);
	hex_encode(mac, 8, out + 5);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

typedef report_ctx build;

static void set(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set_new(o, k, v);
}

static json_t *or_null(json_t *v)
{
	return v ? v : json_null();
}

static json_t *time_json(int64_t ft)
{
	if (!ft)
		return NULL;
	char buf[32];
	filetime_format(ft, buf);
	return json_string(buf);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
	char buf[2 * SNAP_KEY_LEN + 1];
	if (n > SNAP_KEY_LEN)
		n = SNAP_KEY_LEN;
	hex_encode(p, n, buf);
	return json_string(buf);
}

/* The same two values keyed by the sides' labels: {"server": a, "cache": b} (takes a and b). */
static json_t *by_label(const build *b, json_t *v0, json_t *v1)
{
	json_t *o = json_object();
	json_object_set_new(o, diff_side_label(b->r, 0), or_null(v0));
	json_object_set_new(o, diff_side_label(b->r, 1), or_null(v1));
	return o;
}

/* A pair as an array and, under `twin`, keyed by label. */
static void set_pair(const build *b, json_t *j, const char *name, const char *twin, json_t *v0, json_t *v1)
{
	set(j, name, json_pack("[OO]", or_null(v0), or_null(v1)));
	set(j, twin, by_label(b, v0, v1));
}

static void set_pair_int(const build *b, json_t *j, const char *name, const char *twin, int64_t v0, int64_t v1)
{
	set_pair(b, j, name, twin, json_integer(v0), json_integer(v1));
}

/* The tool that made a snapshot: ours by name, anything else could say anything. */
static json_t *tool_json(const build *b, const char *tool)
{
	if (!tool)
		return NULL;
	bool ours = strncmp(tool, "ostrecon ", 9) == 0 && strspn(tool + 9, "0123456789.") == strlen(tool + 9);
	return ours ? json_string(tool) : red_string(&b->rd, tool);
}

static json_t *side_json(const build *b, int s)
{
	const diff_result *r = b->r;
	const snap_t *sn = r->snap[s];
	const snap_header *h = &sn->hdr;
	json_t *j = json_object();
	set(j, "index", json_integer(s));
	set(j, "label", json_string(diff_side_label(r, s)));
	set(j, "kind", json_string(r->kind[s] == DIFF_SIDE_CACHE ? "cache" : "server"));
	set(j, "source", json_string(snap_source_name(h->source)));
	if (b->o->input[s])
		set(j, "input", red_string(&b->rd, b->o->input[s]));
	set(j, "mailbox", red_string(&b->rd, h->mailbox));
	if (h->file)
		set(j, "file", red_string(&b->rd, h->file));
	if (h->file_size >= 0)
		set(j, "file_size", json_integer(h->file_size));
	if (h->file_format)
		set(j, "file_format", json_string(h->file_format));
	if (h->server)
		set(j, "server", red_url(&b->rd, h->server));
	if (h->server_version)
		set(j, "server_version", json_string(h->server_version));
	set(j, "captured", time_json(h->captured));
	set(j, "tool", tool_json(b, h->tool));
	set(j, "options", red_options(&b->rd, h->options_json));
	set(j, "folders", json_integer((json_int_t)sn->n_folders));
	set(j, "items", json_integer((json_int_t)r->items[s]));
	set(j, "associated_items", json_integer((json_int_t)r->assoc[s]));
	set(j, "errors", json_integer((json_int_t)sn->n_errors));
	return j;
}

/* One evidence entry: the property and both values, by position and by label. */
static void add_evidence(const build *b, json_t *ev, const char *property, json_t *v0, json_t *v1)
{
	json_t *e = json_object();
	set(e, "property", json_string(property));
	set_pair(b, e, "values", "value", v0, v1);
	json_array_append_new(ev, e);
}

/* The normalized path of a folder (as the user sees it: "Inbox/Finance"), redacted. */
static json_t *folder_shown(const build *b, int s, int32_t f)
{
	const diff_result *r = b->r;
	if (f < 0)
		return NULL;
	int32_t row = b->row_of[s][f];
	if (row >= 0)
		return red_path(&b->rd, b->row_path[row]);
	return red_path(&b->rd, r->snap[s]->folders[f].path ? r->snap[s]->folders[f].path : "");
}

static json_t *evidence_json(const build *b, const diff_finding *f)
{
	const diff_result *r = b->r;
	json_t *ev = json_array();
	const snap_citem *it[2] = {NULL, NULL};
	const snap_compared *ci[2] = {r->cmp[0], r->cmp[1]};
	for (int s = 0; s < 2; s++)
		if (f->item[s] >= 0)
			it[s] = &ci[s]->items[f->item[s]];
	if (f->kind == FIND_FOLDER_RENAMED) {
		const snap_folder *a = &r->snap[0]->folders[f->folder[0]], *c = &r->snap[1]->folders[f->folder[1]];
		add_evidence(b, ev, "name", red_name(&b->rd, a->name, a->role), red_name(&b->rd, c->name, c->role));
		return ev;
	}
	if (!it[0] || !it[1])
		return ev;
	/* The values compared: an absent flag status, importance or read state shows as what its
	 * absence means (docs/REPORT.md); an absent subject (compared as empty) as null. */
	if (f->props & PROP_READ)
		add_evidence(b, ev, "read", json_boolean(diff_item_read(it[0]) == 1), json_boolean(diff_item_read(it[1]) == 1));
	if (f->props & PROP_FLAG)
		add_evidence(b, ev, "flag_status", json_integer(diff_item_flag_status(it[0])),
		             json_integer(diff_item_flag_status(it[1])));
	if (f->props & PROP_SUBJECT)
		add_evidence(b, ev, "subject", red_string(&b->rd, diff_item_subject(r, 0, f->item[0])),
		             red_string(&b->rd, diff_item_subject(r, 1, f->item[1])));
	if (f->props & PROP_CLASS)
		add_evidence(b, ev, "class", json_string(it[0]->cls ? ci[0]->heap + it[0]->cls : ""),
		             json_string(it[1]->cls ? ci[1]->heap + it[1]->cls : ""));
	if (f->props & PROP_IMPORTANCE)
		add_evidence(b, ev, "importance", json_integer(diff_item_importance(it[0])),
		             json_integer(diff_item_importance(it[1])));
	if (f->props & PROP_CHANGE_KEY) {
		snap_bin k0 = snap_cbin(ci[0], it[0]->change_key), k1 = snap_cbin(ci[1], it[1]->change_key);
		add_evidence(b, ev, "change_key", hex_json(k0.data, k0.len), hex_json(k1.data, k1.len));
	}
	if (f->kind == FIND_ITEM_MOVED) /* the folders as the user sees them (raw paths: `paths`) */
		add_evidence(b, ev, "folder", or_null(folder_shown(b, 0, f->folder[0])), or_null(folder_shown(b, 1, f->folder[1])));
	return ev;
}

static json_t *finding_json(const build *b, const diff_finding *f)
{
	const diff_result *r = b->r;
	json_t *j = json_object();
	set(j, "kind", json_string(diff_kind_name(f->kind)));
	set(j, "category", json_string(diff_kind_is_integrity(f->kind) ? "integrity" : "difference"));
	if (f->side >= 0) {
		set(j, "side", json_integer(f->side));
		set(j, "side_label", json_string(diff_side_label(r, f->side)));
	}
	set(j, "expected", json_boolean(f->expected));
	if (f->reason != REASON_NONE) {
		set(j, "reason", json_string(diff_reason_name((diff_reason)f->reason)));
		set(j, "why", json_string(diff_reason_text((diff_reason)f->reason)));
	}
	if (f->row >= 0)
		set(j, "folder", red_path(&b->rd, b->row_path[f->row]));
	report_objects o;
	report_finding_objects(r, f, &o);
	const snap_ident *ident = o.ident;
	const snap_citem *item = o.item;
	const snap_compared *item_ci = o.item_ci;
	json_t *path[2], *id[2];
	for (int s = 0; s < 2; s++) {
		path[s] = red_path(&b->rd, o.path[s]);
		id[s] = red_string(&b->rd, o.id[s]);
	}
	set_pair(b, j, "paths", "path", path[0], path[1]);
	set_pair(b, j, "ids", "id", id[0], id[1]);
	if (o.second)
		set(j, "second_id", red_string(&b->rd, o.second_id));
	if (ident && ident->has_key)
		set(j, "key", hex_json(ident->key, SNAP_KEY_LEN));
	if (ident && ident->has_gc)
		set(j, "gc", hex_json(ident->gc, SNAP_GC_LEN));
	if (ident)
		set(j, "key_origin", json_string(snap_key_origin_name((snap_key_origin)ident->origin)));
	if (f->pair != PAIR_NONE)
		set(j, "pair", json_string(diff_pair_method_name((diff_pair_method)f->pair)));
	if (item) {
		if (item->cls)
			set(j, "class", json_string(snap_cstr(item_ci, item->cls)));
		set(j, "subject", red_string(&b->rd, diff_item_subject(r, o.item_side, o.item_index)));
		set(j, "date", time_json(diff_item_date(item)));
	}
	if (f->associated)
		set(j, "associated", json_true());
	if (f->summary)
		set(j, "summarized", json_true());
	if (f->kind == FIND_ITEM_CHANGED || f->kind == FIND_ITEM_MOVED || f->kind == FIND_FOLDER_RENAMED) {
		set(j, "evidence", evidence_json(b, f));
		if (f->kind != FIND_FOLDER_RENAMED)
			set(j, "newer", json_string(report_newer_name(r, f->newer)));
	}
	set(j, "count", json_integer(f->count));
	if (f->date_min || f->date_max)
		set(j, "dates", json_pack("{s:o*,s:o*}", "oldest", time_json(f->date_min), "newest", time_json(f->date_max)));
	if (f->error >= 0 && f->side >= 0 && f->kind != FIND_COUNT_MISMATCH) {
		const snap_error *e = &r->snap[f->side]->errors[f->error];
		set(j, "error", json_pack("{s:s*,s:o*}", "code", e->code, "message", red_text(&b->rd, e->message)));
	}
	if (f->kind == FIND_COUNT_MISMATCH || (f->kind == FIND_FILE_DAMAGED && f->what)) {
		set(j, "what", json_string(f->what ? f->what : ""));
		if (f->kind == FIND_COUNT_MISMATCH)
			set(j, "stored", json_integer(f->stored));
		set(j, "found", json_integer(f->found));
	}
	set(j, "action", json_string(diff_finding_action(r, f)));
	return j;
}

static json_t *row_json(const build *b, size_t i)
{
	const diff_result *r = b->r;
	const diff_row *row = &r->rows[i];
	json_t *j = json_object();
	set(j, "folder", red_path(&b->rd, b->row_path[i]));
	json_t *path[2];
	for (int s = 0; s < 2; s++) {
		const snap_folder *fo = row->folder[s] >= 0 ? &r->snap[s]->folders[row->folder[s]] : NULL;
		path[s] = fo ? red_path(&b->rd, fo->path) : NULL;
	}
	set_pair(b, j, "paths", "path", path[0], path[1]);
	set(j, "role", json_string(diff_row_role(r, row)));
	set(j, "pair", json_string(diff_pair_method_name((diff_pair_method)row->pair)));
	set(j, "mail", json_boolean(row->mail));
	if (row->reason != REASON_NONE)
		set(j, "by_design", json_string(diff_reason_name((diff_reason)row->reason)));
	set_pair_int(b, j, "count", "found", row->count[0], row->count[1]);
	set_pair_int(b, j, "associated", "found_associated", row->assoc[0], row->assoc[1]);
	set(j, "matched", json_integer(row->matched));
	set(j, "differing", json_integer(row->differing));
	set_pair_int(b, j, "missing_on", "missing", row->missing[0], row->missing[1]);
	set(j, "expected", json_integer(row->expected));
	set(j, "unverified", json_integer(row->unverified));
	set_pair(b, j, "unreadable", "unreadable_on", json_boolean(row->unreadable[0] != 0),
	         json_boolean(row->unreadable[1] != 0));
	if (row->mail)
		set_pair(b, j, "oldest_mail", "oldest_mail_on", time_json(row->oldest[0]), time_json(row->oldest[1]));
	set(j, "findings", json_integer(row->findings));
	if (row->keyless[0] || row->keyless[1])
		set_pair_int(b, j, "keyless", "keyless_on", row->keyless[0], row->keyless[1]);
	return j;
}

static json_t *integrity_json(const build *b, int s)
{
	const diff_result *r = b->r;
	const snap_t *sn = r->snap[s];
	const snap_integrity *in = &sn->integrity;
	json_t *j = json_object();
	set(j, "side", json_integer(s));
	set(j, "side_label", json_string(diff_side_label(r, s)));
	set(j, "present", json_boolean(in->present));
	if (in->present) {
		set(j, "corrupted", json_boolean(in->corrupted));
		if (in->orphan_items >= 0)
			set(j, "orphan_items", json_integer(in->orphan_items));
		if (in->recovered_items >= 0)
			set(j, "recovered_items", json_integer(in->recovered_items));
		set(j, "unreadable_items", json_integer(in->unreadable_items));
		set(j, "unreadable_folders", json_integer(in->unreadable_folders));
		json_t *mm = json_array();
		for (size_t i = 0; i < in->n_mismatches; i++)
			json_array_append_new(mm, json_pack("{s:o*,s:s*,s:I,s:I}", "path", red_path(&b->rd, in->mismatches[i].path),
			                                    "what", in->mismatches[i].what, "stored",
			                                    (json_int_t)in->mismatches[i].stored, "found",
			                                    (json_int_t)in->mismatches[i].found));
		set(j, "count_mismatches", mm);
	}
	set(j, "errors", json_integer((json_int_t)sn->n_errors));
	return j;
}

static json_t *window_json(const build *b)
{
	const diff_result *r = b->r;
	const diff_window_result *w = &r->window;
	json_t *j = json_object();
	char given[32];
	diff_window_format(&r->options.window, given, sizeof given);
	set(j, "option", json_string(given));
	const char *mode = w->mode == DIFF_WINDOW_ALL ? "all" : w->mode == DIFF_WINDOW_GIVEN ? "given" : "inferred";
	set(j, "mode", json_string(mode));
	set(j, "applies", json_boolean(w->cache_side >= 0));
	set(j, "applied", json_boolean(w->applied));
	if (w->reference)
		set(j, "reference", time_json(w->reference));
	if (w->applied) {
		set(j, "cutoff", time_json(w->cutoff));
		if (w->mode == DIFF_WINDOW_INFER)
			set(j, "inferred_days", json_integer(w->inferred_days));
	}
	set(j, "items_outside", json_integer(w->items));
	/* The evidence: oldest mail on each side per mail folder. */
	json_t *ev = json_array();
	for (size_t i = 0; i < r->n_rows; i++) {
		const diff_row *row = &r->rows[i];
		if (!row->mail || (!row->oldest[0] && !row->oldest[1]))
			continue;
		json_t *e = json_object();
		set(e, "folder", red_path(&b->rd, b->row_path[i]));
		set_pair(b, e, "oldest_mail", "oldest_mail_on", time_json(row->oldest[0]), time_json(row->oldest[1]));
		json_array_append_new(ev, e);
	}
	set(j, "evidence", ev);
	return j;
}

static json_t *advice_json(const build *b)
{
	const diff_result *r = b->r;
	const diff_advice *a = &r->advice;
	json_t *j = json_object();
	set(j, "action", json_string(diff_verdict_name(a->verdict)));
	set(j, "title", json_string(a->title));
	set(j, "why", json_string(a->why));
	json_t *steps = json_array();
	for (size_t i = 0; a->steps && a->steps[i]; i++)
		json_array_append_new(steps, json_string(a->steps[i]));
	set(j, "steps", steps);
	json_t *folders = json_array();
	for (size_t i = 0; i < a->n_resync_rows; i++)
		json_array_append_new(folders, red_path(&b->rd, b->row_path[a->resync_rows[i]]));
	set(j, "folders", folders);
	set(j, "affected_folders", json_integer((json_int_t)a->affected_folders));
	set(j, "differing_objects", json_integer((json_int_t)a->differing_objects));
	set(j, "compared_objects", json_integer((json_int_t)a->compared_objects));
	set(j, "widespread", json_boolean(a->widespread));
	set(j, "damaged", json_boolean(a->damaged));
	set(j, "incomplete", json_boolean(a->incomplete));
	set(j, "export_first", json_boolean(r->n_exports > 0));
	set(j, "export_count", json_integer((json_int_t)r->n_exports));
	return j;
}

static json_t *export_json(const build *b, const diff_export *e)
{
	const diff_result *r = b->r;
	const snap_compared *ci = r->cmp[e->side];
	const snap_citem *it = &ci->items[e->item];
	json_t *j = json_object();
	if (e->row >= 0)
		set(j, "folder", red_path(&b->rd, b->row_path[e->row]));
	set(j, "side", json_integer(e->side));
	set(j, "side_label", json_string(diff_side_label(r, e->side)));
	char text[SNAP_ID_TEXT];
	set(j, "id", red_string(&b->rd, snap_citem_id(ci, it, text)));
	if (it->ident.has_key)
		set(j, "key", hex_json(it->ident.key, SNAP_KEY_LEN));
	if (it->cls)
		set(j, "class", json_string(snap_cstr(ci, it->cls)));
	set(j, "subject", red_string(&b->rd, diff_item_subject(r, e->side, e->item)));
	set(j, "date", time_json(diff_item_date(it)));
	set(j, "unverified", json_boolean(e->unverified));
	return j;
}

static void build_free(build *b)
{
	redactor_free(&b->rd);
	for (size_t i = 0; b->row_path && i < b->r->n_rows; i++)
		free(b->row_path[i]);
	free(b->row_path);
	free(b->row_of[0]);
	free(b->row_of[1]);
}

static int build_init(build *b, const diff_result *r, const report_options *o, or_error *err)
{
	memset(b, 0, sizeof *b);
	b->r = r;
	b->o = o;
	b->row_path = calloc(r->n_rows ? r->n_rows : 1, sizeof *b->row_path);
	for (int s = 0; s < 2; s++)
		b->row_of[s] = malloc((r->snap[s]->n_folders ? r->snap[s]->n_folders : 1) * sizeof *b->row_of[s]);
	if (!b->row_path || !b->row_of[0] || !b->row_of[1])
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < r->snap[s]->n_folders; i++)
			b->row_of[s][i] = -1;
	for (size_t i = 0; i < r->n_rows; i++) {
		char p[1024];
		diff_row_path(r, &r->rows[i], p, sizeof p);
		if (!(b->row_path[i] = strdup(p)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		for (int s = 0; s < 2; s++)
			if (r->rows[i].folder[s] >= 0 && (size_t)r->rows[i].folder[s] < r->snap[s]->n_folders)
				b->row_of[s][r->rows[i].folder[s]] = (int32_t)i;
	}
	int rc = redactor_init(&b->rd, o, r, b->row_path, err);
	/* The environment's OSTRECON_TEST_FINDINGS_TREE builds every finding as a tree, the reference
	 * the writer without one is held to (test/report/t_diff.sh). */
	b->direct = rc == 0 && report_finding_direct_ok(b) && !getenv("OSTRECON_TEST_FINDINGS_TREE");
	return rc;
}

/* Each finding built as JSON, written out as text, and let go (internal.h). -1 out of memory. */
/* A run of findings written as text into one part of the report's text. */
typedef struct {
	report_t *rep;
	const build *b;
	size_t from, to, n_rows;
	uint8_t part;
	int rc;
} hold_run;

static void *hold_range(void *arg)
{
	hold_run *h = arg;
	/* The text grows in a copy on this thread's stack: the two halves' buffers lie side by side,
	 * and their lengths, written at every token, would share a cache line between the threads. */
	or_buf held = h->rep->ftext[h->part], *text = &held;
	for (size_t i = h->from; i < h->to && h->rc == 0; i++) {
		const diff_finding *f = &h->b->r->findings[i];
		report_finding_ref *ref = &h->rep->fref[i];
		ref->part = h->part;
		ref->off = text->len;
		bool folder;
		if (h->b->direct) {
			report_writer w = {.out = text, .block = true, .depth = REPORT_HELD_DEPTH};
			h->rc = report_finding_write(h->b, f, &w, &folder);
		} else {
			json_t *fj = finding_json(h->b, f);
			h->rc = report_dump_held(fj, text);
			folder = json_is_string(json_object_get(fj, "folder"));
			json_decref(fj);
		}
		ref->len = text->len - ref->off;
		ref->expected = f->expected != 0;
		ref->rank = (int16_t)report_kind_rank(diff_kind_name(f->kind));
		ref->folder = folder && f->row >= 0 && (size_t)f->row < h->n_rows ? f->row : -1;
	}
	h->rep->ftext[h->part] = held;
	return NULL;
}

/* Findings past this many are written in two halves, one on a thread of its own. */
#define HOLD_SPLIT_MIN 2000

/* Each finding built as JSON, written out as text, and let go (internal.h). -1 out of memory. */
static int hold_findings(report_t *rep, const build *b, size_t n_rows)
{
	const diff_result *r = b->r;
	size_t n = r->n_findings;
	if (!(rep->fref = calloc(n, sizeof *rep->fref)) || !(rep->ffolder = calloc(n_rows ? n_rows : 1, sizeof *rep->ffolder)))
		return -1;
	rep->n_ffolder = n_rows;
	size_t half = n >= HOLD_SPLIT_MIN ? n / 2 : n;
	hold_run runs[2] = {{rep, b, 0, half, n_rows, 0, 0}, {rep, b, half, n, n_rows, 1, 0}};
	or_run_two(hold_range, &runs[0], &runs[1], half < n);
	if (runs[0].rc || runs[1].rc)
		return -1;
	rep->n_fref = n;
	/* Each folder's name as its findings show it (the first's: they all show the row's path). */
	for (size_t i = 0; i < n; i++) {
		int32_t row = rep->fref[i].folder;
		if (row < 0 || rep->ffolder[row])
			continue;
		json_t *p = red_path(&b->rd, b->row_path[row]);
		const char *folder = json_string_value(p);
		rep->ffolder[row] = folder ? strdup(folder) : NULL;
		json_decref(p);
		if (!rep->ffolder[row])
			return -1;
	}
	return 0;
}

int report_build(report_t **out, const diff_result *r, const report_options *opt, or_error *err)
{
	*out = NULL;
	report_options none;
	memset(&none, 0, sizeof none);
	const report_options *o = opt ? opt : &none;
	build b;
	report_t *rep = calloc(1, sizeof *rep);
	json_t *j = json_object();
	int rc = build_init(&b, r, o, err);
	if (!rep || !j || rc) {
		build_free(&b);
		free(rep);
		json_decref(j);
		return rc ? rc : or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	set(j, "format", json_string(REPORT_FORMAT));
	set(j, "version", json_integer(REPORT_VERSION));
	set(j, "tool", json_string("ostrecon " OSTRECON_VERSION));
	set(j, "generated", time_json(o->generated));
	set(j, "redaction", o->redact ? json_pack("{s:s,s:s}", "method", "hmac-sha256", "key",
	                                          o->key_from_file ? "file" : "per-run")
	                              : json_pack("{s:s}", "method", "none"));
	set(j, "sides", json_pack("[oo]", side_json(&b, 0), side_json(&b, 1)));
	set(j, "side_index", by_label(&b, json_integer(0), json_integer(1)));
	char window[32];
	diff_window_format(&r->options.window, window, sizeof window);
	json_t *opts = json_pack("{s:s,s:b}", "sync_window", window, "compare_associated", r->options.compare_associated);
	if (o->forced)
		set(opts, "forced", json_string(o->forced));
	set(j, "options", opts);
	set(j, "verdict", json_string(diff_verdict_name(r->advice.verdict)));
	set(j, "exit_code", json_integer(diff_verdict_exit_code(r->advice.verdict)));
	json_t *pairs = json_object();
	for (int m = PAIR_KEY; m <= PAIR_HEURISTIC; m++)
		set(pairs, diff_pair_method_name((diff_pair_method)m), json_integer((json_int_t)r->pairs_by[m]));
	json_t *sum = json_object();
	set(sum, "folders", json_integer((json_int_t)r->n_rows));
	set_pair_int(&b, sum, "items", "found", r->items[0], r->items[1]);
	set_pair_int(&b, sum, "associated_items", "found_associated", r->assoc[0], r->assoc[1]);
	set(sum, "matched", json_integer((json_int_t)r->matched));
	set(sum, "differing", json_integer((json_int_t)r->differing));
	set_pair_int(&b, sum, "missing_on", "missing", r->missing[0], r->missing[1]);
	set(sum, "expected", json_integer((json_int_t)r->expected));
	set(sum, "unverified", json_integer((json_int_t)r->unverified));
	set(sum, "findings", json_integer((json_int_t)r->unexpected));
	set(sum, "expected_findings", json_integer((json_int_t)r->expected_findings));
	set(sum, "item_pairs", pairs);
	set(j, "summary", sum);
	set(j, "advice", advice_json(&b));
	set(j, "sync_window", window_json(&b));
	json_t *rows = json_array();
	for (size_t i = 0; i < r->n_rows; i++)
		json_array_append_new(rows, row_json(&b, i));
	set(j, "folders", rows);
	set(j, "findings", json_array()); /* the place of the findings, held as text (internal.h) */
	rep->held = true;
	if (r->n_findings && (rc = hold_findings(rep, &b, r->n_rows)) != 0) {
		build_free(&b);
		report_free(rep);
		json_decref(j);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	set(j, "integrity", json_pack("[oo]", integrity_json(&b, 0), integrity_json(&b, 1)));
	json_t *ex = json_array();
	for (size_t i = 0; i < r->n_exports && i < REPORT_EXPORT_MAX; i++)
		json_array_append_new(ex, export_json(&b, &r->exports[i]));
	set(j, "export_before_rebuild", ex);
	json_t *t = json_object();
	if (o->load_ms[0] || o->load_ms[1])
		set(t, "load_ms", json_pack("[ff]", o->load_ms[0], o->load_ms[1]));
	if (o->diff_ms)
		set(t, "diff_ms", json_real(o->diff_ms));
	set(j, "timings", t);
	build_free(&b);
	rep->root = j;
	*out = rep;
	return 0;
}

void report_set_timing(report_t *rep, const char *name, double ms)
{
	json_t *t = json_object_get(rep->root, "timings");
	if (json_is_object(t))
		json_object_set_new(t, name, json_real(ms));
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return fwrite(buffer, 1, size, data) == size ? 0 : -1;
}

/* Writes text dumped at depth 0 as at a deeper level: `pad` more spaces after each newline (JSON
 * strings hold none of their own: they are escaped). */
typedef struct {
	FILE *fp;
	int pad;
} indented;

static int indented_put(const char *buffer, size_t size, void *data)
{
	const indented *in = data;
	static const char spaces[] = "        ";
	while (size) {
		const char *nl = memchr(buffer, '\n', size);
		size_t n = nl ? (size_t)(nl - buffer) + 1 : size;
		if (fwrite(buffer, 1, n, in->fp) != n || (nl && fwrite(spaces, 1, (size_t)in->pad, in->fp) != (size_t)in->pad))
			return -1;
		buffer += n;
		size -= n;
	}
	return 0;
}

/* The document as json_dump_callback writes it with JSON_INDENT(1) | JSON_PRESERVE_ORDER, the held
 * findings put in their place. */
static int dump_held(const report_t *rep, FILE *fp)
{
	indented top = {fp, 1};
	const char *key;
	json_t *v;
	bool first = true;
	if (fputc('{', fp) == EOF)
		return -1;
	json_object_foreach(rep->root, key, v) {
		json_t *name = json_string(key);
		int rc = fputs(first ? "\n " : ",\n ", fp) == EOF || !name ||
		         json_dump_callback(name, dump_cb, fp, JSON_ENCODE_ANY) != 0 || fputs(": ", fp) == EOF;
		json_decref(name);
		if (rc)
			return -1;
		first = false;
		if (strcmp(key, "findings") != 0) {
			or_buf text = {0};
			rc = report_dump(v, &text) != 0 || indented_put(text.data, text.len, &top) != 0;
			buf_free(&text);
			if (rc)
				return -1;
			continue;
		}
		if (!rep->n_fref) {
			if (fputs("[]", fp) == EOF)
				return -1;
			continue;
		}
		if (fputc('[', fp) == EOF)
			return -1;
		for (size_t i = 0; i < rep->n_fref; i++) {
			const report_finding_ref *f = &rep->fref[i];
			if (fputs(i ? ",\n  " : "\n  ", fp) == EOF || fwrite(rep->ftext[f->part].data + f->off, 1, f->len, fp) != f->len)
				return -1;
		}
		if (fputs("\n ]", fp) == EOF)
			return -1;
	}
	return fputs(first ? "}" : "\n}", fp) == EOF ? -1 : 0;
}

int report_save(const report_t *rep, const char *path, or_error *err)
{
	atomic_file af;
	int rc = atomic_open(&af, path, err);
	if (rc)
		return rc;
	if ((rep->held ? dump_held(rep, af.fp) : json_dump_callback(rep->root, dump_cb, af.fp, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) != 0 ||
	    fputc('\n', af.fp) == EOF) {
		int e = errno; /* the reason (disk full, file too large) before cleanup can change it */
		atomic_abort(&af);
		return or_fail(err, OR_ERR_IO, "cannot write %s: %s", strcmp(path, "-") == 0 ? "standard output" : path,
		               strerror(e));
	}
	return atomic_commit(&af, err);
}

int report_load(report_t **out, const char *path, or_error *err)
{
	*out = NULL;
	json_error_t jerr;
	FILE *fp = or_open_input(path, "report", err);
	if (!fp)
		return err ? err->code : OR_ERR_IO;
	json_t *j = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
	if (fp != stdin)
		fclose(fp);
	if (!j)
		return or_fail(err, OR_ERR_FORMAT, "%s:%d: not a JSON report: %s", path, jerr.line, jerr.text);
	const char *fmt = json_string_value(json_object_get(j, "format"));
	if (!json_is_object(j) || !fmt || strcmp(fmt, REPORT_FORMAT) != 0) {
		json_decref(j);
		return or_fail(err, OR_ERR_FORMAT, "%s: not an ostrecon report", path);
	}
	json_int_t version = json_integer_value(json_object_get(j, "version"));
	if (version < REPORT_VERSION_MIN || version > REPORT_VERSION) {
		json_decref(j);
		return or_fail(err, OR_ERR_FORMAT, "%s: unsupported report version", path);
	}
	report_t *rep = calloc(1, sizeof *rep);
	if (!rep) {
		json_decref(j);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	rep->root = j;
	*out = rep;
	return 0;
}

void report_free(report_t *rep)
{
	if (!rep)
		return;
	json_decref(rep->root);
	for (int k = 0; k < REPORT_TEXT_PARTS; k++)
		or_block_free(rep->ftext[k].data);
	free(rep->fref);
	for (size_t i = 0; rep->ffolder && i < rep->n_ffolder; i++)
		free(rep->ffolder[i]);
	free(rep->ffolder);
	free(rep);
}

size_t report_finding_count(const report_t *rep)
{
	return rep->held ? rep->n_fref : json_array_size(json_object_get(rep->root, "findings"));
}

static const json_t *tree_finding(const report_t *rep, size_t i)
{
	return json_array_get(json_object_get(rep->root, "findings"), i);
}

bool report_finding_expected(const report_t *rep, size_t i)
{
	return rep->held ? rep->fref[i].expected : json_is_true(json_object_get(tree_finding(rep, i), "expected"));
}

int report_finding_rank(const report_t *rep, size_t i)
{
	return rep->held ? rep->fref[i].rank : report_kind_rank(report_jstr(tree_finding(rep, i), "kind"));
}

const char *report_finding_folder(const report_t *rep, size_t i)
{
	if (!rep->held)
		return report_jstr(tree_finding(rep, i), "folder");
	int32_t f = rep->fref[i].folder;
	return f >= 0 ? rep->ffolder[f] : "";
}

json_t *report_finding_get(const report_t *rep, size_t i)
{
	if (!rep->held)
		return json_incref((json_t *)tree_finding(rep, i));
	return json_loadb(rep->ftext[rep->fref[i].part].data + rep->fref[i].off, rep->fref[i].len, 0, NULL);
}

const char *report_verdict(const report_t *rep)
{
	const char *v = json_string_value(json_object_get(rep->root, "verdict"));
	return v ? v : "unknown";
}

int report_exit_code(const report_t *rep)
{
	const char *v = report_verdict(rep);
	if (strcmp(v, "in_sync") == 0 || strcmp(v, "in_sync_except_expected") == 0)
		return EXIT_OK;
	if (strcmp(v, "incomplete") == 0)
		return EXIT_INCOMPLETE;
	if (strcmp(v, "resync_folders") == 0 || strcmp(v, "rebuild_ost") == 0)
		return EXIT_DIFFERENCES;
	return EXIT_ERROR;
}

size_t report_export_count(const report_t *rep)
{
	return json_array_size(json_object_get(rep->root, "export_before_rebuild"));
}

int report_export_entry(const report_t *rep, size_t i, int *side, const char **id)
{
	json_t *e = json_array_get(json_object_get(rep->root, "export_before_rebuild"), i);
	if (!json_is_object(e))
		return -1;
	*side = (int)json_integer_value(json_object_get(e, "side"));
	*id = json_string_value(json_object_get(e, "id"));
	return *id ? 0 : -1;
}

const char *report_side_kind(const report_t *rep, int side)
{
	const char *k = json_string_value(json_object_get(json_array_get(json_object_get(rep->root, "sides"), (size_t)side),
	                                                  "kind"));
	return k ? k : "";
}

void report_export_note(report_t *rep, size_t i, const char *file, const char *folder, const char *status,
                        const char *const *problems, size_t n_problems)
{
	json_t *e = json_array_get(json_object_get(rep->root, "export_before_rebuild"), i);
	if (!json_is_object(e))
		return;
	json_t *x = json_object();
	json_object_set_new(x, "file", json_string(file));
	if (folder)
		json_object_set_new(x, "folder", json_string(folder));
	json_object_set_new(x, "status", json_string(status));
	json_t *pr = json_array();
	for (size_t k = 0; k < n_problems; k++)
		json_array_append_new(pr, json_string(problems[k]));
	json_object_set_new(x, "problems", pr);
	json_object_set_new(e, "exported", x);
}

void report_export_note_skipped(report_t *rep, size_t i, const char *file, const char *reason)
{
	json_t *e = json_array_get(json_object_get(rep->root, "export_before_rebuild"), i);
	if (!json_is_object(e))
		return;
	json_t *x = json_object();
	json_object_set_new(x, "file", json_string(file));
	json_object_set_new(x, "status", json_string("not_selected"));
	json_object_set_new(x, "reason", json_string(reason));
	json_object_set_new(x, "problems", json_array());
	json_object_set_new(e, "exported", x);
}
