/* diff.c: diff_run: prepares both sides (folder ids, anchors, normalized paths, folder classes,
 * unreadable parts), then pairs, classifies and decides (pair.c, classify.c, verdict.c). */
#include "internal.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool fid_same(const void *ctx, uint32_t idx, const void *key)
{
	const snap_t *s = ctx;
	return strcmp(s->folders[idx].id, key) == 0;
}

int32_t diff_folder_by_id(const side_state *ss, const char *id)
{
	if (!id)
		return -1;
	uint32_t f = map_get(&ss->folder_by_id, or_hash(id, strlen(id)), fid_same, ss->s, id);
	return f == MAP_EMPTY ? -1 : (int32_t)f;
}

static int32_t folder_by_path(const side_state *ss, const char *path)
{
	if (!path)
		return -1;
	for (size_t f = 0; f < ss->s->n_folders; f++)
		if (ss->s->folders[f].path && strcmp(ss->s->folders[f].path, path) == 0)
			return (int32_t)f;
	return -1;
}

static bool role_is(const snap_folder *f, const char *role)
{
	return f->role && strcmp(f->role, role) == 0;
}

/* Path of `p` relative to anchor path `a`: NULL when not under it, "" when it is the anchor. */
static const char *under(const char *p, const char *a)
{
	size_t n = strlen(a);
	if (strncasecmp(p, a, n) != 0)
		return NULL;
	if (n && a[n - 1] == '/')
		return p + n;
	if (p[n] == '\0')
		return p + n;
	return p[n] == '/' ? p + n + 1 : NULL;
}

static char *path_join(const char *prefix, const char *rest)
{
	size_t n = strlen(prefix) + strlen(rest) + 2;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s%s", prefix, *prefix && *rest ? "/" : "", rest);
	return out;
}

/* The normalized path: relative to the IPM subtree ("Inbox/sub1"), or to the mailbox root
 * ("[root]/Finder"), else the raw path. The two tops are "[IPM subtree]" and "[root]". */
char *diff_normalize_path(const side_state *ss, const char *p)
{
	const snap_t *s = ss->s;
	const char *rel;
	if (!p)
		p = "";
	if (ss->ipm_root >= 0 && s->folders[ss->ipm_root].path && (rel = under(p, s->folders[ss->ipm_root].path)))
		return *rel ? path_join("", rel) : path_join("[IPM subtree]", "");
	if (ss->root >= 0 && s->folders[ss->root].path && (rel = under(p, s->folders[ss->root].path)))
		return path_join("[root]", rel);
	return path_join("", p);
}

static folder_class classify_folder(const side_state *ss, int32_t f)
{
	const snap_t *s = ss->s;
	const snap_folder *self = &s->folders[f];
	if (role_is(self, "root") || role_is(self, "msgfolderroot") || role_is(self, "fileroot"))
		return FC_TOP;
	/* Root - Public and everything below it are public folders, whatever roles lie between (its
	 * NON_IPM_SUBTREE is not the mailbox's non-IPM area). */
	for (int32_t g = f, depth = 0; g >= 0 && depth < 256; depth++) {
		const char *r = s->folders[g].role;
		if (r && strncmp(r, "public", 6) == 0)
			return FC_PUBLIC;
		g = diff_folder_by_id(ss, s->folders[g].parent_id);
	}
	static const char *const client[] = {"search", "searchfolders", "reminders", "todosearch", "commonviews",
	                                     "views", "shortcuts", "spooler", "drizzle", "shareddata", NULL};
	static const char *const local[] = {"syncissues", "conflicts", "localfailures", "serverfailures", NULL};
	int32_t g = f;
	for (int depth = 0; g >= 0 && depth < 256; depth++) {
		const snap_folder *x = &s->folders[g];
		const char *r = x->role ? x->role : "";
		for (int i = 0; client[i]; i++)
			if (strcmp(r, client[i]) == 0)
				return FC_CLIENT;
		for (int i = 0; local[i]; i++)
			if (strcmp(r, local[i]) == 0)
				return FC_LOCAL_CONTENT;
		if (strncmp(r, "recoverableitems", 16) == 0 || strcmp(r, "nonipmsubtree") == 0)
			return FC_NON_IPM;
		if (strcmp(r, "msgfolderroot") == 0)
			return FC_IPM;
		if (strcmp(r, "root") == 0 || strcmp(r, "fileroot") == 0)
			return FC_NON_IPM;
		g = diff_folder_by_id(ss, x->parent_id);
	}
	return FC_IPM; /* a source that lists only the IPM tree */
}

/* options.not_covered of the header: the folder classes the capture could not list. */
static void read_not_covered(side_state *ss)
{
	const char *opt = ss->s->hdr.options_json;
	json_t *o = opt ? json_loads(opt, 0, NULL) : NULL;
	json_t *nc = json_is_object(o) ? json_object_get(o, "not_covered") : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(nc, i, v) {
		if (json_is_string(v) && ss->n_not_covered < 8)
			str_copy(ss->not_covered[ss->n_not_covered++], json_string_value(v), sizeof ss->not_covered[0]);
	}
	json_decref(o);
}

bool diff_class_not_covered(const side_state *ss, const char *cls)
{
	for (int i = 0; cls && i < ss->n_not_covered; i++) {
		size_t n = strlen(ss->not_covered[i]);
		if (strncasecmp(cls, ss->not_covered[i], n) == 0 && (cls[n] == '\0' || cls[n] == '.'))
			return true;
	}
	return false;
}

static void mark_unreadable(side_state *ss, int32_t f, uint8_t how, int32_t error)
{
	if (f < 0)
		return;
	if (ss->folder_unreadable[f] < how)
		ss->folder_unreadable[f] = how;
	if (ss->folder_error[f] < 0)
		ss->folder_error[f] = error;
}

static int setup_side(diff_ctx *c, int s, or_error *err)
{
	side_state *ss = &c->side[s];
	const snap_t *sn = ss->s;
	size_t nf = sn->n_folders, ni = ss->ci->n_items;
	if (nf >= INT32_MAX / 2 || ni >= INT32_MAX / 2)
		return or_fail(err, OR_ERR_LIMIT, "snapshot too large to compare");
	ss->item_folder = or_block_alloc((ni + 1) * sizeof *ss->item_folder);
	ss->item_pair = or_block_alloc((ni + 1) * sizeof *ss->item_pair);
	ss->item_pair_by = or_block_alloc(ni + 1);
	ss->folder_row = malloc((nf + 1) * sizeof *ss->folder_row);
	ss->folder_pair = malloc((nf + 1) * sizeof *ss->folder_pair);
	ss->folder_pair_by = calloc(nf + 1, 1);
	ss->fclass = calloc(nf + 1, 1);
	read_not_covered(ss);
	ss->npath = calloc(nf + 1, sizeof *ss->npath);
	ss->folder_unreadable = calloc(nf + 1, 1);
	ss->folder_error = malloc((nf + 1) * sizeof *ss->folder_error);
	if (!ss->item_folder || !ss->item_pair || !ss->item_pair_by || !ss->folder_row || !ss->folder_pair ||
	    !ss->folder_pair_by || !ss->fclass || !ss->npath || !ss->folder_unreadable || !ss->folder_error ||
	    map_init(&ss->folder_by_id, nf) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memset(ss->item_pair, 0xff, (ni + 1) * sizeof *ss->item_pair);
	memset(ss->folder_row, 0xff, (nf + 1) * sizeof *ss->folder_row);
	memset(ss->folder_pair, 0xff, (nf + 1) * sizeof *ss->folder_pair);
	memset(ss->folder_error, 0xff, (nf + 1) * sizeof *ss->folder_error);
	ss->ipm_root = ss->root = -1;
	for (uint32_t f = 0; f < nf; f++) {
		const snap_folder *fo = &sn->folders[f];
		map_put(&ss->folder_by_id, or_hash(fo->id, strlen(fo->id)), f, fid_same, sn, fo->id);
		if (ss->ipm_root < 0 && role_is(fo, "msgfolderroot"))
			ss->ipm_root = (int32_t)f;
		if (ss->root < 0 && role_is(fo, "root"))
			ss->root = (int32_t)f;
	}
	for (uint32_t f = 0; f < nf; f++) {
		ss->fclass[f] = (uint8_t)classify_folder(ss, (int32_t)f);
		if (!(ss->npath[f] = diff_normalize_path(ss, sn->folders[f].path)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	/* Items: the folder of each. Folder ids are interned, so one id is one offset: each distinct
	 * one is looked up once, then found in a small table by offset (while it has room). */
	size_t cap = 64;
	while (cap < 4 * (nf + 1))
		cap *= 2;
	uint32_t *seen_id = calloc(cap, sizeof *seen_id);
	int32_t *seen_folder = malloc(cap * sizeof *seen_folder);
	if (!seen_id || !seen_folder) {
		free(seen_id);
		free(seen_folder);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	size_t n_seen = 0;
	for (size_t i = 0; i < ni; i++) {
		uint32_t fid = ss->ci->items[i].folder_id;
		size_t j = (fid * 2654435761u) & (cap - 1);
		while (seen_id[j] && seen_id[j] != fid)
			j = (j + 1) & (cap - 1);
		if (fid && seen_id[j] == fid) {
			ss->item_folder[i] = seen_folder[j];
			continue;
		}
		ss->item_folder[i] = diff_folder_by_id(ss, snap_cstr(ss->ci, fid));
		if (fid && 2 * (n_seen + 1) <= cap) {
			seen_id[j] = fid;
			seen_folder[j] = ss->item_folder[i];
			n_seen++;
		}
	}
	free(seen_id);
	free(seen_folder);
	/* Unreadable parts: 2 = the folder, 1 = some of its items. */
	for (size_t e = 0; e < sn->n_errors; e++) {
		const snap_error *er = &sn->errors[e];
		int32_t f = -1;
		if (er->scope == ERR_SCOPE_FOLDER) {
			f = diff_folder_by_id(ss, er->id);
			if (f < 0)
				f = diff_folder_by_id(ss, er->folder_id);
			if (f < 0)
				f = folder_by_path(ss, er->path);
			mark_unreadable(ss, f, 2, (int32_t)e);
		} else if (er->scope == ERR_SCOPE_ITEM) {
			f = diff_folder_by_id(ss, er->folder_id);
			if (f < 0)
				f = folder_by_path(ss, er->path);
			mark_unreadable(ss, f, 1, (int32_t)e);
		}
	}
	return 0;
}

typedef struct {
	diff_ctx *c;
	int s, rc;
	side_step fn;
	or_error err;
} side_job;

static void *side_run(void *arg)
{
	side_job *j = arg;
	j->rc = j->fn(j->c, j->s, &j->err);
	return NULL;
}

int diff_each_side(diff_ctx *c, side_step fn, bool together, or_error *err)
{
	side_job jobs[2] = {{c, 0, 0, fn, {0}}, {c, 1, 0, fn, {0}}};
	or_run_two(side_run, &jobs[0], &jobs[1], together);
	for (int s = 0; s < 2; s++)
		if (jobs[s].rc)
			return or_fail(err, jobs[s].rc, "%s", jobs[s].err.message);
	return 0;
}

/* One side made ready to pair: its tables (setup_side), then its items by key (diff_key_map).
 * The two sides are made at once: neither touches the other. */
static int prepare_side(diff_ctx *c, int s, or_error *err)
{
	int rc = setup_side(c, s, err);
	if (rc == 0 && diff_key_map(c, s) != 0)
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory pairing items");
	return rc;
}

static void free_side(side_state *ss)
{
	map_free(&ss->folder_by_id);
	map_free(&ss->key_map);
	free(ss->key_dups);
	or_block_free(ss->item_folder);
	or_block_free(ss->item_pair);
	or_block_free(ss->item_pair_by);
	free(ss->folder_row);
	free(ss->folder_pair);
	free(ss->folder_pair_by);
	free(ss->folder_group);
	or_block_free(ss->item_group);
	free(ss->folder_rkey);
	free(ss->fclass);
	if (ss->npath)
		for (size_t f = 0; f < ss->s->n_folders; f++)
			free(ss->npath[f]);
	free(ss->npath);
	free(ss->folder_unreadable);
	free(ss->folder_error);
}

int diff_run(const snap_t *a, const snap_t *b, const diff_options *opt, diff_result **out, or_error *err)
{
	*out = NULL;
	int rc = 0;
	diff_ctx c;
	memset(&c, 0, sizeof c);
	result_priv *rp = calloc(1, sizeof *rp);
	if (!rp)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	diff_result *r = &rp->pub;
	c.r = r;
	r->snap[0] = a;
	r->snap[1] = b;
	if (opt)
		r->options = *opt;
	else
		diff_options_init(&r->options);
	for (int s = 0; s < 2; s++) {
		int k = r->options.side_kind[s];
		snap_source src = r->snap[s]->hdr.source;
		r->kind[s] = k >= 0 ? (diff_side_kind)k : (src == SRC_OST || src == SRC_PST) ? DIFF_SIDE_CACHE : DIFF_SIDE_SERVER;
		c.side[s].s = r->snap[s];
		c.side[s].is_cache = r->kind[s] == DIFF_SIDE_CACHE;
		if (!r->snap[s]->compared && rc == 0)
			rc = snap_compared_build(r->snap[s], &rp->own[s], err);
		r->cmp[s] = c.side[s].ci = r->snap[s]->compared ? r->snap[s]->compared : &rp->own[s];
	}
	if (rc == 0)
		rc = diff_each_side(&c, prepare_side, true, err);
	if (rc == 0)
		rc = diff_pair(&c, err);
	if (rc == 0)
		rc = diff_classify(&c, err);
	if (rc == 0)
		rc = diff_decide(&c, err);
	if (rc == 0)
		rc = diff_each_side(&c, diff_fetch_subjects, r->cmp[0]->subjects_in_file && r->cmp[1]->subjects_in_file,
		                    err);
	if (rc == 0) {
		rp->row_path = calloc(r->n_rows + 1, sizeof *rp->row_path);
		rp->row_role = calloc(r->n_rows + 1, sizeof *rp->row_role);
		if (!rp->row_path || !rp->row_role)
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		for (size_t i = 0; rc == 0 && i < r->n_rows; i++) {
			const diff_row *row = &r->rows[i];
			int s = row->folder[0] >= 0 ? 0 : 1;
			const char *p = c.side[s].npath[row->folder[s]];
			if (!(rp->row_path[i] = strdup(p)))
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			const char *role = r->snap[s]->folders[row->folder[s]].role;
			if ((!role || strcmp(role, "ipm") == 0) && row->folder[1 - s] >= 0 &&
			    r->snap[1 - s]->folders[row->folder[1 - s]].role)
				role = r->snap[1 - s]->folders[row->folder[1 - s]].role;
			rp->row_role[i] = role ? role : "";
		}
	}
	free_side(&c.side[0]);
	free_side(&c.side[1]);
	free(c.detail_n);
	free(c.detail_agg);
	if (rc != 0) {
		diff_result_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void diff_result_free(diff_result *r)
{
	if (!r)
		return;
	result_priv *rp = (result_priv *)r;
	if (rp->row_path)
		for (size_t i = 0; i < r->n_rows; i++)
			free(rp->row_path[i]);
	free(rp->row_path);
	free(rp->row_role);
	snap_compared_release(&rp->own[0]);
	snap_compared_release(&rp->own[1]);
	diff_subjects_free(&rp->subjects[0]);
	diff_subjects_free(&rp->subjects[1]);
	free(r->rows);
	or_block_free(r->findings);
	free(r->exports);
	free(r->advice.resync_rows);
	free(rp);
}

const char *diff_side_label(const diff_result *r, int side)
{
	if (side < 0 || side > 1)
		return "both";
	if (r->kind[0] != r->kind[1])
		return r->kind[side] == DIFF_SIDE_CACHE ? "cache" : "server";
	if (r->kind[side] == DIFF_SIDE_CACHE)
		return side == 0 ? "cache A" : "cache B";
	return side == 0 ? "server A" : "server B";
}

void diff_row_path(const diff_result *r, const diff_row *row, char *out, size_t size)
{
	const result_priv *rp = (const result_priv *)r;
	size_t i = (size_t)(row - r->rows);
	str_copy(out, rp->row_path && i < r->n_rows ? rp->row_path[i] : "", size);
}

const char *diff_row_role(const diff_result *r, const diff_row *row)
{
	const result_priv *rp = (const result_priv *)r;
	size_t i = (size_t)(row - r->rows);
	return rp->row_role && i < r->n_rows ? rp->row_role[i] : "";
}
