/* export.c: which items go, where they go, and the run (export.h).
 *
 * The cache is not listed whole first: its folder tree is walked (names and tables, read through
 * src/ost's whole-message reader, whose B-trees are searched on disk), and each folder's messages
 * are exported as the walk reaches it. Memory holds the folder tree, one folder's row ids and one
 * message, whatever the size of the cache; the report's export list names its items by node id,
 * and each one's folder is the parent the node B-tree records. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FOLDER_DEPTH 128

typedef struct {
	uint32_t nid;
	long up;            /* index of the parent folder, -1 for the root */
	char *name, *cls;
	bool below_ipm;     /* strictly below the IPM subtree */
	bool in_scope;      /* at or below --folder (always, without it) */
	pst_folder_id out;  /* the folder made for it in the .pst, 0 until made */
} ex_folder;

typedef struct {
	ex_folder *f;
	size_t n, cap;
	long root, ipm;     /* indexes, -1 unknown */
	char root_problem[320]; /* why the root folder's subfolders cannot be listed, "" when they can */
	uint32_t *by_nid;   /* folder indexes sorted by nid (for the report's items) */
} ex_tree;

typedef struct {
	uint32_t nid;
	long folder;        /* tree index, -1 unknown */
	long report_index;  /* entry of the report's export list, -1 none */
} pick;

static bool parse_nid(const char *id, uint32_t *nid)
{
	long v;
	if (!id || strncmp(id, "nid:", 4) != 0 || parse_long(id + 4, 1, 0xFFFFFFFFL, &v) != 0)
		return false;
	*nid = (uint32_t)v;
	return true;
}

static void tree_free(ex_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].name);
		free(t->f[i].cls);
	}
	free(t->f);
	free(t->by_nid);
	memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- the folder tree */

static int add_folder(ex_tree *t, ost_cache *c, uint32_t nid, long up, or_error *err)
{
	ost_folder of;
	or_error e = {0};
	if (ost_cache_folder(c, nid, &of, &e) != 0) {
		/* a folder that cannot be read: its place is kept (its messages may still be readable) */
		log_warn("folder %u cannot be read: %s", nid, e.message);
		of.name = NULL;
		of.cls = NULL;
	}
	ex_folder *f = or_append((void **)&t->f, &t->n, &t->cap, sizeof *f);
	if (!f) {
		ost_folder_clear(&of);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	f->nid = nid;
	f->up = up;
	f->name = of.name;
	f->cls = of.cls;
	if (!f->name && !(f->name = strdup(up < 0 ? "" : "Folder without a name")))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	f->below_ipm = up >= 0 && (t->f[up].below_ipm || (t->ipm >= 0 && up == t->ipm));
	return 0;
}

/* A folder as stderr names it: its name in quotes, or what it is. */
static const char *shown_name(const ex_tree *t, long f)
{
	static char buf[300];
	if (f == t->root)
		return "the file's root folder";
	snprintf(buf, sizeof buf, "\"%s\"", t->f[f].name);
	return buf;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The folders, parents before children and siblings in hierarchy table order. */
static int walk_folders(ex_tree *t, ost_cache *c, export_summary *sum, or_error *err)
{
	uint32_t root = ost_cache_root(c), ipm = ost_cache_ipm_subtree(c);
	t->root = 0;
	t->ipm = -1;
	int rc = add_folder(t, c, root, -1, err);
	/* depth first: a stack of (folder, its children, next child) */
	struct level {
		size_t folder;
		uint32_t *kids;
		size_t n, next;
	} stack[MAX_FOLDER_DEPTH];
	size_t depth = 0;
	uint32_t *seen = NULL; /* nids met so far, sorted: a loop in the hierarchy ends there */
	size_t n_seen = 0, cap_seen = 0;
	if (rc == 0) {
		stack[0] = (struct level){0, NULL, 0, 0};
		depth = 1;
	}
	while (rc == 0 && depth > 0) {
		struct level *l = &stack[depth - 1];
		if (!l->kids) {
			or_error e = {0};
			int r = ost_cache_folder_rows(c, t->f[l->folder].nid, OST_TABLE_HIERARCHY, &l->kids, &l->n, &e);
			if (r != 0 && r != OR_ERR_NOTFOUND) {
				log_warn("the subfolders of %s cannot be listed: %s", shown_name(t, (long)l->folder), e.message);
				sum->unreadable_folders++;
				if (l->folder == 0)
					snprintf(t->root_problem, sizeof t->root_problem, "%s", e.message);
			}
			if (!l->kids)
				l->kids = malloc(1);
			if (!l->kids) {
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
				break;
			}
		}
		if (l->next == l->n) {
			free(l->kids);
			depth--;
			continue;
		}
		uint32_t nid = l->kids[l->next++];
		if ((n_seen && bsearch(&nid, seen, n_seen, sizeof *seen, cmp_u32)) || nid == root) {
			log_warn("folder %u is listed twice in the folder tree: its second place is skipped", nid);
			continue;
		}
		uint32_t *s = or_append((void **)&seen, &n_seen, &cap_seen, sizeof *s);
		if (!s) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			break;
		}
		*s = nid;
		for (size_t k = n_seen - 1; k > 0 && seen[k - 1] > seen[k]; k--) {
			uint32_t x = seen[k];
			seen[k] = seen[k - 1];
			seen[k - 1] = x;
		}
		if ((rc = add_folder(t, c, nid, (long)l->folder, err)) != 0)
			break;
		if (nid == ipm)
			t->ipm = (long)(t->n - 1);
		if (depth == MAX_FOLDER_DEPTH) {
			log_warn("folders nested more than %d deep below \"%s\": not exported", MAX_FOLDER_DEPTH,
			         t->f[t->n - 1].name);
			sum->unreadable_folders++;
			continue;
		}
		stack[depth++] = (struct level){t->n - 1, NULL, 0, 0};
	}
	for (size_t i = 0; i < depth; i++)
		free(stack[i].kids);
	free(seen);
	if (rc == 0 && !(t->by_nid = malloc((t->n ? t->n : 1) * sizeof *t->by_nid)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	return rc;
}

static const ex_tree *sort_tree;

static int cmp_by_nid(const void *a, const void *b)
{
	uint32_t x = sort_tree->f[*(const uint32_t *)a].nid, y = sort_tree->f[*(const uint32_t *)b].nid;
	return x < y ? -1 : x > y;
}

static void index_tree(ex_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->by_nid[i] = (uint32_t)i;
	sort_tree = t;
	qsort(t->by_nid, t->n, sizeof *t->by_nid, cmp_by_nid);
	sort_tree = NULL;
}

static long folder_by_nid(const ex_tree *t, uint32_t nid)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->f[t->by_nid[mid]].nid < nid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->f[t->by_nid[lo]].nid == nid ? (long)t->by_nid[lo] : -1;
}

/* The folder's names from below the IPM subtree (or below the file's root when it lies outside),
 * top first. */
static size_t rel_names(const ex_tree *t, long f, const char **names, size_t cap)
{
	size_t n = 0;
	for (long g = f; g >= 0 && g != t->root && g != t->ipm && n < cap; g = t->f[g].up)
		names[n++] = t->f[g].name;
	for (size_t i = 0; i < n / 2; i++) {
		const char *x = names[i];
		names[i] = names[n - 1 - i];
		names[n - 1 - i] = x;
	}
	return n;
}

/* The snapshot path of folder f ("/Root - Mailbox/IPM_SUBTREE/Inbox", '/' and '\' escaped), as
 * `ostrecon ost` writes it (docs/SNAPSHOT.md). */
static void abs_path(const ex_tree *t, long f, or_buf *b)
{
	const char *names[MAX_FOLDER_DEPTH + 1];
	size_t n = 0;
	for (long g = f; g >= 0 && g != t->root && n < MAX_FOLDER_DEPTH + 1; g = t->f[g].up)
		names[n++] = t->f[g].name;
	if (n == 0)
		buf_append(b, "/", 1);
	for (size_t i = n; i-- > 0;) {
		buf_append(b, "/", 1);
		for (const char *p = names[i]; *p; p++) {
			if (*p == '/' || *p == '\\')
				buf_append(b, "\\", 1);
			buf_append(b, p, 1);
		}
	}
	buf_append(b, "", 1);
}

static bool path_under(const char *path, const char *want)
{
	size_t wl = strlen(want);
	while (wl > 1 && want[wl - 1] == '/')
		wl--;
	return path && strncmp(path, want, wl) == 0 && (path[wl] == '\0' || path[wl] == '/');
}

/* Marks the folders at or below `want` ("Inbox/Projects" below the IPM subtree, or a snapshot
 * path "/Root - Mailbox/IPM_SUBTREE/Inbox"); every folder when want is NULL. */
static size_t mark_scope(ex_tree *t, const char *want)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		ex_folder *f = &t->f[i];
		if (!want) {
			f->in_scope = true;
		} else if (f->up >= 0 && t->f[f->up].in_scope) {
			f->in_scope = true; /* parents come first */
		} else {
			or_buf b = {0};
			if (want[0] == '/') {
				abs_path(t, (long)i, &b);
			} else if ((long)i != t->root && (long)i != t->ipm) {
				const char *names[MAX_FOLDER_DEPTH];
				size_t k = rel_names(t, (long)i, names, MAX_FOLDER_DEPTH);
				for (size_t j = 0; j < k; j++) {
					if (j)
						buf_append(&b, "/", 1);
					buf_append(&b, names[j], strlen(names[j]));
				}
				buf_append(&b, "", 1);
			}
			f->in_scope = b.data && path_under(b.data, want);
			buf_free(&b);
		}
		n += f->in_scope;
	}
	return n;
}

/* ---------------------------------------------------------------- where items go */

/* The .pst folder for tree folder f: its path recreated under the top folder (made on first use). */
static int target_folder(ex_ctx *x, ex_tree *t, long f, pst_folder_id top, pst_folder_id *out)
{
	if (f < 0 || f == t->root || f == t->ipm) {
		*out = top;
		return 0;
	}
	if (t->f[f].out) {
		*out = t->f[f].out;
		return 0;
	}
	pst_folder_id parent;
	int rc = target_folder(x, t, t->f[f].up, top, &parent);
	if (rc == 0)
		rc = pst_folder_add(x->w, parent, t->f[f].name, t->f[f].cls, &t->f[f].out, &x->err);
	uint8_t key[SNAP_KEY_LEN];
	if (rc == 0 && x->keys && ost_keys_folder(x->keys, t->f[f].nid, key))
		rc = pst_folder_source_key(x->w, t->f[f].out, key, &x->err);
	*out = t->f[f].out;
	return rc;
}

/* A message's folder index: a folder of the tree, FOLDER_UNKNOWN, or FOLDER_UNLISTED (a message no
 * folder's table lists: it goes to EXPORT_UNLISTED_FOLDER). */
#define FOLDER_UNKNOWN (-1)
#define FOLDER_UNLISTED (-2)

static void folder_label(const ex_tree *t, long f, const char *top_name, char *label, size_t size)
{
	const char *names[MAX_FOLDER_DEPTH];
	size_t n = f >= 0 ? rel_names(t, f, names, MAX_FOLDER_DEPTH) : 0;
	size_t used = (size_t)snprintf(label, size, "%s%s", top_name,
	                               f == FOLDER_UNLISTED ? "/" EXPORT_UNLISTED_FOLDER : f < 0 ? "/Folder unknown" : "");
	for (size_t i = 0; i < n && used + 1 < size; i++)
		used += (size_t)snprintf(label + used, size - used, "/%s", names[i]);
}

/* The date --since compares: delivery, submit, creation or last modification time, the first set. */
static int64_t item_date(ost_object *o)
{
	static const uint16_t ids[] = {0x0E06, 0x0039, 0x3007, 0x3008};
	int64_t v;
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		if (ost_object_i64(o, ids[i], &v) && v)
			return v;
	return 0;
}

typedef struct {
	ex_ctx *x;
	const export_options *opt;
	ex_tree *t;
	pst_folder_id top;
	const char *top_name;
	export_summary *sum;
	size_t done;
	pst_folder_id unlisted;  /* EXPORT_UNLISTED_FOLDER in the .pst, 0 until made */
	bool was_selected;       /* the last export_one passed --since */
} run;

/* The reason an entry of the report's export list was not exported, recorded in the report. */
static void note_not_selected(run *r, long report_index, const char *why)
{
	if (!r->opt->report || report_index < 0)
		return;
	report_export_note_skipped(r->opt->report, (size_t)report_index, r->opt->out_path, why);
	r->sum->not_selected++;
}

/* The source key the listing gives the message, unless it stores one (then it is copied with the
 * other properties): from its PRQ_ID_SECURE4 through the cache's replica map. */
static int add_source_key(ex_ctx *x, ost_object *src, pst_object *dst)
{
	for (size_t i = 0; i < ost_object_prop_count(src); i++) {
		ost_value v;
		or_error e = {0};
		if (ost_object_prop(src, i, &v, &e) == 0 && v.id == 0x65E0)
			return 0;
	}
	int64_t prq;
	uint8_t raw[8], key[SNAP_KEY_LEN];
	if (!x->keys || !ost_object_i64(src, 0x67F4, &prq))
		return 0;
	pst_put64(raw, (uint64_t)prq);
	if (!ost_keys_prq(x->keys, raw, key))
		return 0;
	pst_prop p = {.id = 0x65E0, .type = PT_BINARY, .data = key, .len = SNAP_KEY_LEN};
	return pst_object_prop(dst, &p, &x->err);
}

static int export_one(run *r, uint32_t nid, long folder, long report_index)
{
	ex_ctx *x = r->x;
	ex_item it;
	memset(&it, 0, sizeof it);
	ost_object *src = NULL;
	pst_object *dst = NULL;
	or_error e = {0};
	int rc = 0;
	const char *status;
	pst_folder_id target = r->top;
	char label[1024];
	const char *bad_block;
	uint64_t bad_before = ost_cache_bad_blocks(x->cache, &bad_block);
	if (ost_message_open(x->cache, nid, &src, &e) != 0) {
		ex_problem(&it, "the message cannot be read: %s", e.message);
		status = "failed";
		r->sum->failed++;
	} else if (r->opt->since && item_date(src) < r->opt->since) {
		ost_object_free(src);
		r->was_selected = false;
		char why[160], day[40];
		filetime_format(r->opt->since, day);
		snprintf(why, sizeof why, "dated before --since %s", day);
		note_not_selected(r, report_index, why);
		return 0;
	} else {
		if (folder == FOLDER_UNLISTED) {
			if (!r->unlisted)
				if ((rc = pst_folder_add(x->w, r->top, EXPORT_UNLISTED_FOLDER, "IPF.Note", &r->unlisted, &x->err)) == 0)
					r->sum->folders++;
			target = r->unlisted;
		} else {
			rc = target_folder(x, r->t, folder, r->top, &target);
		}
		if (rc == 0 &&
		    (rc = pst_message_begin(x->w, target, (nid & 0x1F) == PST_NID_TYPE_ASSOC_MESSAGE, &dst, &x->err)) == 0) {
			x->where[0] = '\0';
			rc = ex_copy_object(x, &it, src, dst, 0);
			if (rc == 0)
				rc = add_source_key(x, src, dst);
			if (rc == 0)
				rc = pst_object_end(dst, &x->err);
			else
				pst_object_abort(dst);
		}
		/* blocks whose checksum fails: copied as stored, and the item says its bytes may be wrong */
		uint64_t bad = ost_cache_bad_blocks(x->cache, &bad_block) - bad_before;
		if (rc == 0 && bad)
			ex_problem(&it, "%llu block%s of the message fail%s its checksum, copied as stored (the bytes may be "
			           "wrong)%s%s", (unsigned long long)bad, bad == 1 ? "" : "s", bad == 1 ? "s" : "",
			           bad == 1 ? ": " : "; the last: ", bad_block);
		status = it.n_problems ? "partial" : "complete";
		if (it.n_problems)
			r->sum->partial++;
		else
			r->sum->complete++;
	}
	r->sum->selected++;
	r->was_selected = true;
	ost_object_free(src);
	if (rc == 0 && it.n_problems) {
		log_warn("item nid:%u: %s export: %s%s", nid, status, it.problems[0],
		         it.n_problems > 1 ? " (and more, in the report)" : "");
		for (size_t i = 1; i < it.n_problems; i++)
			log_verbose("item nid:%u: %s", nid, it.problems[i]);
	}
	if (rc == 0 && r->opt->report && report_index >= 0) {
		if (it.more_problems && it.n_problems) {
			char more[64];
			snprintf(more, sizeof more, "%zu more problems", it.more_problems);
			free(it.problems[it.n_problems - 1]);
			if (!(it.problems[it.n_problems - 1] = strdup(more)))
				it.n_problems--;
		}
		folder_label(r->t, folder, r->top_name, label, sizeof label);
		report_export_note(r->opt->report, (size_t)report_index, r->opt->out_path,
		                   strcmp(status, "failed") == 0 ? NULL : label, status, (const char *const *)it.problems,
		                   it.n_problems);
	}
	ex_item_clear(&it);
	if (rc == 0 && r->opt->progress && ++r->done % 1000 == 0)
		log_info("exported %zu items (%.0f MB)", r->done, pst_writer_size(x->w) / 1e6);
	return rc;
}

/* The messages no folder's table lists (Outlook does not show them): each one whose node names a
 * folder in scope (any, without --folder) goes to EXPORT_UNLISTED_FOLDER, and is named on stderr. */
static int export_unlisted(run *r)
{
	size_t n = 0;
	const uint32_t *nids = r->x->keys ? ost_keys_unlisted(r->x->keys, &n) : NULL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint32_t parent = 0;
		or_error e = {0};
		long folder = ost_cache_parent(r->x->cache, nids[i], &parent, &e) == 0 ? folder_by_nid(r->t, parent) : -1;
		if (r->opt->folder && (folder < 0 || !r->t->f[folder].in_scope))
			continue;
		or_buf path = {0};
		if (folder >= 0)
			abs_path(r->t, folder, &path);
		rc = export_one(r, nids[i], FOLDER_UNLISTED, -1);
		if (rc == 0 && r->was_selected) {
			r->sum->unlisted++;
			log_warn("message nid:%u is listed in no folder's table (Outlook does not show it; its node names %s%s%s): "
			         "exported to \"%s/%s\"", nids[i], path.data ? "the folder \"" : "no known folder",
			         path.data ? path.data : "", path.data ? "\"" : "", r->top_name, EXPORT_UNLISTED_FOLDER);
		}
		buf_free(&path);
	}
	if (rc == 0 && r->unlisted)
		rc = pst_folder_close(r->x->w, r->unlisted, &r->x->err);
	return rc;
}

/* --all and --folder: the folders in scope, in tree order; each one's messages and associated
 * messages in node id order (the order the cache's node B-tree has them). */
static int export_walk(run *r)
{
	ex_tree *t = r->t;
	int rc = 0;
	for (size_t i = 0; i < t->n && rc == 0; i++) {
		ex_folder *f = &t->f[i];
		if (!f->in_scope)
			continue;
		uint32_t *all = NULL;
		size_t n_all = 0;
		for (int which = OST_TABLE_CONTENTS; which <= OST_TABLE_ASSOCIATED && rc == 0; which++) {
			uint32_t *rows = NULL;
			size_t n = 0;
			or_error e = {0};
			int lr = ost_cache_folder_rows(r->x->cache, f->nid, (ost_table)which, &rows, &n, &e);
			if (lr != 0 && lr != OR_ERR_NOTFOUND) {
				log_warn("the %s of %s cannot be listed: %s", which == OST_TABLE_CONTENTS ? "messages" : "associated "
				         "messages", shown_name(t, (long)i), e.message);
				r->sum->unreadable_folders++;
			}
			if (n) {
				uint32_t *p = realloc(all, (n_all + n) * sizeof *p);
				if (!p) {
					free(rows);
					rc = or_fail(&r->x->err, OR_ERR_NOMEM, "out of memory");
					break;
				}
				all = p;
				memcpy(all + n_all, rows, n * sizeof *rows);
				n_all += n;
			}
			free(rows);
		}
		if (rc == 0 && n_all)
			qsort(all, n_all, sizeof *all, cmp_u32);
		/* the whole tree below the IPM subtree is recreated, empty folders too */
		if (rc == 0 && (n_all || f->below_ipm)) {
			pst_folder_id out;
			rc = target_folder(r->x, t, (long)i, r->top, &out);
			r->sum->folders++;
		}
		for (size_t k = 0; k < n_all && rc == 0; k++)
			if (k == 0 || all[k] != all[k - 1])
				rc = export_one(r, all[k], (long)i, -1);
		free(all);
		if (rc == 0 && f->out)
			rc = pst_folder_close(r->x->w, f->out, &r->x->err);
	}
	return rc == 0 ? export_unlisted(r) : rc;
}

static int cmp_pick(const void *a, const void *b)
{
	const pick *x = a, *y = b;
	if (x->folder != y->folder)
		return x->folder < y->folder ? -1 : 1;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

/* --report: the cache items of the report's export list, grouped by folder. */
static int export_report(run *r)
{
	const export_options *opt = r->opt;
	size_t count = report_export_count(opt->report);
	pick *p = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		int side;
		const char *id;
		uint32_t nid, parent = 0;
		if (report_export_entry(opt->report, i, &side, &id) != 0 || strcmp(report_side_kind(opt->report, side), "cache") != 0)
			continue;
		if (!parse_nid(id, &nid)) {
			report_export_note(opt->report, i, opt->out_path, NULL, "failed",
			                   (const char *const[]){"the item's id is not a cache node id"}, 1);
			r->sum->failed++;
			continue;
		}
		or_error e = {0};
		long folder = ost_cache_parent(r->x->cache, nid, &parent, &e) == 0 ? folder_by_nid(r->t, parent) : -1;
		if ((folder >= 0 && !r->t->f[folder].in_scope) || (folder < 0 && opt->folder)) {
			/* a folder unknown cannot be the one asked for */
			char why[1200];
			or_buf path = {0};
			if (folder >= 0)
				abs_path(r->t, folder, &path);
			snprintf(why, sizeof why, "outside --folder %s: %s%s%s", opt->folder, path.data ? "it is in \"" : "its folder "
			         "in the cache is unknown", path.data ? path.data : "", path.data ? "\"" : "");
			buf_free(&path);
			note_not_selected(r, (long)i, why);
			continue;
		}
		pick *k = or_append((void **)&p, &n, &cap, sizeof *k);
		if (!k) {
			rc = or_fail(&r->x->err, OR_ERR_NOMEM, "out of memory");
			break;
		}
		*k = (pick){nid, folder, (long)i};
	}
	if (n)
		qsort(p, n, sizeof *p, cmp_pick);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i == 0 || p[i].folder != p[i - 1].folder)
			r->sum->folders++;
		rc = export_one(r, p[i].nid, p[i].folder, p[i].report_index);
		long f = p[i].folder;
		if (rc == 0 && f >= 0 && (i + 1 == n || p[i + 1].folder != f) && r->t->f[f].out)
			rc = pst_folder_close(r->x->w, r->t->f[f].out, &r->x->err);
	}
	free(p);
	return rc;
}

static int cache_unreadable(const export_options *opt, const ex_tree *t, const export_summary *sum,
                            const or_error *keys_err, or_error *err)
{
	return or_fail(err, OR_ERR_FORMAT, "%s cannot be read: %s%sits folder tree cannot be listed (%s)%s; nothing was "
	               "written", opt->ost_path, sum->keys_unknown ? keys_err->message : "", sum->keys_unknown ? "; " : "",
	               t->root_problem, opt->report ? " and no item of the report could be read" : "");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int export_run(const export_options *opt, export_summary *sum, or_error *err)
{
	memset(sum, 0, sizeof *sum);
	double t0 = now_s();
	ex_ctx x;
	ex_tree tree;
	memset(&x, 0, sizeof x);
	memset(&tree, 0, sizeof tree);
	int rc;
	struct stat st;
	if (lstat(opt->out_path, &st) == 0)
		return or_fail(err, OR_ERR_IO, "%s exists: an export never overwrites a file (choose another name)",
		               opt->out_path);
	if (stat(opt->ost_path, &st) == 0)
		sum->source_bytes = (uint64_t)st.st_size;
	if ((rc = ost_cache_open(&x.cache, opt->ost_path, err)) != 0)
		goto done;
	or_error ke = {0};
	if ((rc = ost_keys_load(opt->ost_path, &x.keys, &ke)) != 0) {
		rc = 0;
		sum->keys_unknown = true;
		log_warn("the cache's folder tree cannot be read as `ostrecon ost` reads it (%s): the exported items keep "
		         "the source keys they store, none is worked out for the others, and messages that no folder lists "
		         "cannot be found", ke.message);
	}
	if ((rc = walk_folders(&tree, x.cache, sum, err)) != 0)
		goto done;
	index_tree(&tree);
	/* Nothing of the cache can be read (a truncated file whose block B-tree is lost): an error, as
	 * for `ostrecon ost`, not an empty .pst standing for an export. */
	bool tree_lost = tree.root_problem[0] && tree.n == 1;
	if (tree_lost && !opt->report) {
		rc = cache_unreadable(opt, &tree, sum, &ke, err);
		goto done;
	}
	if (opt->folder && mark_scope(&tree, opt->folder) == 0) {
		rc = or_fail(err, OR_ERR_NOTFOUND, "no folder %s in %s", opt->folder, opt->ost_path);
		goto done;
	}
	if (!opt->folder)
		mark_scope(&tree, NULL);
	char top_name[128];
	if (opt->top_name) {
		snprintf(top_name, sizeof top_name, "%s", opt->top_name);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(top_name, sizeof top_name, "ostrecon export %Y-%m-%d %H.%M.%S UTC", &tm);
	}
	snprintf(sum->top_folder, sizeof sum->top_folder, "%s", top_name);
	pst_writer_options wo = {.display_name = top_name, .noreplace = true};
	if ((rc = pst_writer_open(&x.w, opt->out_path, &wo, err)) != 0)
		goto done;
	run r = {.x = &x, .opt = opt, .t = &tree, .top_name = top_name, .sum = sum};
	if ((rc = pst_folder_add(x.w, pst_writer_ipm_subtree(x.w), top_name, "IPF.Note", &r.top, err)) != 0)
		goto done;
	rc = opt->report ? export_report(&r) : export_walk(&r);
	if (rc) {
		*err = x.err;
		if (!err->message[0])
			or_fail(err, rc, "the export failed");
		goto done;
	}
	/* --report opens its items by node id: some may be read without the folder tree */
	if (tree_lost && sum->complete + sum->partial == 0) {
		rc = cache_unreadable(opt, &tree, sum, &ke, err);
		goto done;
	}
	if ((rc = pst_writer_finish(x.w, err)) != 0 || (rc = pst_writer_commit(x.w, err)) != 0)
		goto done;
	if (stat(opt->out_path, &st) == 0)
		sum->bytes = (uint64_t)st.st_size;
done:
	pst_writer_free(x.w); /* removes the file when it was not committed */
	ost_cache_close(x.cache);
	ost_keys_free(x.keys);
	tree_free(&tree);
	sum->seconds = now_s() - t0;
	return rc;
}
