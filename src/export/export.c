/* export.c: which items go, where they go, and the run (export.h). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char temp_path[4096]; /* for a signal handler: the file to remove */

const char *export_temp_path(void) { return temp_path[0] ? temp_path : NULL; }

typedef struct {
	size_t item;      /* index in the snapshot's items, or SIZE_MAX: known by id only */
	uint32_t nid;
	long folder;      /* snapshot folder index, -1 unknown */
	bool associated;
	long report_index; /* entry of the report's export list, -1 none */
} pick;

static bool parse_nid(const char *id, uint32_t *nid)
{
	long v;
	if (!id || strncmp(id, "nid:", 4) != 0 || parse_long(id + 4, 1, 0xFFFFFFFFL, &v) != 0)
		return false;
	*nid = (uint32_t)v;
	return true;
}

static long folder_index(const snap_t *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_folders; i++)
		if (strcmp(s->folders[i].id, id) == 0)
			return (long)i;
	return -1;
}

/* The folder's path below the IPM subtree (or below the top of the file when it lies outside). */
static int rel_path(const snap_t *s, long f, const char **names, size_t cap, size_t *n)
{
	*n = 0;
	for (int guard = 0; f >= 0 && guard < 128; guard++) {
		const snap_folder *fo = &s->folders[f];
		if (!fo->parent_id || (fo->role && strcmp(fo->role, "msgfolderroot") == 0))
			break;
		if (*n == cap)
			return -1;
		names[(*n)++] = fo->name ? fo->name : "";
		f = folder_index(s, fo->parent_id);
	}
	for (size_t i = 0; i < *n / 2; i++) {
		const char *t = names[i];
		names[i] = names[*n - 1 - i];
		names[*n - 1 - i] = t;
	}
	return 0;
}

/* Does folder f lie at or below `want` ("Inbox/Projects" below the IPM subtree, or a snapshot path)? */
static bool in_folder(const snap_t *s, long f, const char *want)
{
	if (!want)
		return true;
	if (f < 0)
		return false;
	const char *path = s->folders[f].path;
	size_t wl = strlen(want);
	while (wl > 1 && want[wl - 1] == '/')
		wl--;
	if (want[0] == '/')
		return path && strncmp(path, want, wl) == 0 && (path[wl] == '\0' || path[wl] == '/');
	const char *names[128];
	size_t n;
	if (rel_path(s, f, names, 128, &n) != 0)
		return false;
	or_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_append(&b, "/", 1);
		buf_append(&b, names[i], strlen(names[i]));
	}
	bool ok = b.data && strncmp(b.data, want, wl) == 0 && (b.data[wl] == '\0' || b.data[wl] == '/');
	buf_free(&b);
	return ok;
}

static int cmp_pick(const void *a, const void *b)
{
	const pick *x = a, *y = b;
	if (x->folder != y->folder)
		return x->folder < y->folder ? -1 : 1;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

typedef struct { uint32_t nid; size_t item; } nid_ref;

static int cmp_nid_ref(const void *a, const void *b)
{
	const nid_ref *x = a, *y = b;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

static int add_pick(pick **p, size_t *n, size_t *cap, const snap_t *s, size_t item, uint32_t nid, long report_index,
                    or_error *err)
{
	pick *k = or_append((void **)p, n, cap, sizeof *k);
	if (!k)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	k->item = item;
	k->nid = nid;
	k->report_index = report_index;
	k->folder = item != SIZE_MAX ? folder_index(s, s->items[item].folder_id) : -1;
	k->associated = item != SIZE_MAX ? s->items[item].associated != 0 : (nid & 0x1F) == 0x08;
	return 0;
}

/* The items to export, grouped by folder. */
static int select_items(const export_options *opt, const snap_t *s, pick **out, size_t *n_out, or_error *err)
{
	pick *p = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	*out = NULL;
	*n_out = 0;
	if (opt->report) {
		nid_ref *idx = malloc((s->n_items ? s->n_items : 1) * sizeof *idx);
		size_t ni = 0;
		if (!idx)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < s->n_items; i++)
			if (parse_nid(s->items[i].id, &idx[ni].nid))
				idx[ni++].item = i;
		qsort(idx, ni, sizeof *idx, cmp_nid_ref);
		size_t count = report_export_count(opt->report);
		for (size_t i = 0; i < count && rc == 0; i++) {
			int side;
			const char *id;
			uint32_t nid;
			if (report_export_entry(opt->report, i, &side, &id) != 0 ||
			    strcmp(report_side_kind(opt->report, side), "cache") != 0)
				continue;
			if (!parse_nid(id, &nid)) {
				report_export_note(opt->report, i, opt->out_path, NULL, "failed",
				                   (const char *const[]){"the item's id is not a cache node id"}, 1);
				continue;
			}
			nid_ref key = {nid, 0}, *hit = bsearch(&key, idx, ni, sizeof *idx, cmp_nid_ref);
			size_t item = hit ? hit->item : SIZE_MAX;
			if (item != SIZE_MAX && (!in_folder(s, folder_index(s, s->items[item].folder_id), opt->folder) ||
			                         (opt->since && s->items[item].received < opt->since &&
			                          s->items[item].sent < opt->since && s->items[item].created < opt->since)))
				continue;
			rc = add_pick(&p, &n, &cap, s, item, nid, (long)i, err);
		}
		free(idx);
	} else {
		for (size_t i = 0; i < s->n_items && rc == 0; i++) {
			const snap_item *it = &s->items[i];
			uint32_t nid;
			if (!parse_nid(it->id, &nid) || !in_folder(s, folder_index(s, it->folder_id), opt->folder))
				continue;
			int64_t date = it->received ? it->received : it->sent ? it->sent : it->created ? it->created : it->modified;
			if (opt->since && date < opt->since)
				continue;
			rc = add_pick(&p, &n, &cap, s, i, nid, -1, err);
		}
		/* messages the listing could not read are tried too: what can be read of them is kept */
		for (size_t i = 0; i < s->n_errors && rc == 0 && !opt->since; i++) {
			const snap_error *e = &s->errors[i];
			uint32_t nid;
			long f = folder_index(s, e->folder_id);
			if (e->scope != ERR_SCOPE_ITEM || !parse_nid(e->id, &nid) || !in_folder(s, f, opt->folder))
				continue;
			rc = add_pick(&p, &n, &cap, s, SIZE_MAX, nid, -1, err);
			if (rc == 0)
				p[n - 1].folder = f;
		}
	}
	if (rc) {
		free(p);
		return rc;
	}
	qsort(p, n, sizeof *p, cmp_pick);
	*out = p;
	*n_out = n;
	return 0;
}

/* The .pst folder for snapshot folder f: its path recreated under the top folder. */
static int target_folder(ex_ctx *x, const snap_t *s, long f, pst_folder_id top, pst_folder_id *out, char *label,
                         size_t label_size, const char *top_name)
{
	const char *names[128];
	size_t n = 0;
	*out = top;
	snprintf(label, label_size, "%s", top_name);
	if (f < 0) {
		int rc = pst_folder_add(x->w, top, "Folder unknown", NULL, out, &x->err);
		snprintf(label, label_size, "%s/Folder unknown", top_name);
		return rc;
	}
	if (rel_path(s, f, names, 128, &n) != 0)
		return or_fail(&x->err, OR_ERR_LIMIT, "folders nested too deep");
	size_t used = strlen(label);
	for (size_t i = 0; i < n; i++) {
		/* the class of each level, from the snapshot folder at that depth */
		long g = f;
		for (size_t up = n - 1; up > i && g >= 0; up--)
			g = folder_index(s, s->folders[g].parent_id);
		const char *cls = g >= 0 ? s->folders[g].cls : NULL;
		int rc = pst_folder_add(x->w, *out, names[i], cls, out, &x->err);
		if (rc)
			return rc;
		if (used + 1 < label_size)
			used += (size_t)snprintf(label + used, label_size - used, "/%s", names[i]);
	}
	return 0;
}

static int export_one(ex_ctx *x, const export_options *opt, const pick *k, pst_folder_id folder,
                      const char *folder_label, export_summary *sum)
{
	ex_item it;
	memset(&it, 0, sizeof it);
	ost_object *src = NULL;
	pst_object *dst = NULL;
	or_error e = {0};
	int rc = 0;
	const char *status;
	if (ost_message_open(x->cache, k->nid, &src, &e) != 0) {
		ex_problem(&it, "the message cannot be read: %s", e.message);
		status = "failed";
		sum->failed++;
	} else {
		x->where[0] = '\0';
		if ((rc = pst_message_begin(x->w, folder, k->associated, &dst, &x->err)) == 0)
			rc = ex_copy_object(x, &it, src, dst, 0);
		if (rc == 0)
			rc = pst_object_end(dst, &x->err);
		else if (dst)
			pst_object_abort(dst);
		status = it.n_problems ? "partial" : "complete";
		if (it.n_problems)
			sum->partial++;
		else
			sum->complete++;
	}
	ost_object_free(src);
	if (rc == 0 && it.n_problems) {
		log_warn("item nid:%u: %s export: %s%s", k->nid, status, it.problems[0],
		         it.n_problems > 1 ? " (and more, in the report)" : "");
		for (size_t i = 1; i < it.n_problems; i++)
			log_verbose("item nid:%u: %s", k->nid, it.problems[i]);
	}
	if (rc == 0 && opt->report && k->report_index >= 0) {
		if (it.more_problems && it.n_problems) {
			char more[64];
			snprintf(more, sizeof more, "%zu more problems", it.more_problems);
			free(it.problems[it.n_problems - 1]);
			if (!(it.problems[it.n_problems - 1] = strdup(more)))
				it.n_problems--;
		}
		report_export_note(opt->report, (size_t)k->report_index, opt->out_path,
		                   strcmp(status, "failed") == 0 ? NULL : folder_label, status,
		                   (const char *const *)it.problems, it.n_problems);
	}
	ex_item_clear(&it);
	return rc;
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
	memset(&x, 0, sizeof x);
	snap_t *snap = NULL;
	pick *picks = NULL;
	size_t n_picks = 0;
	int rc;
	struct stat st;
	if (lstat(opt->out_path, &st) == 0)
		return or_fail(err, OR_ERR_IO, "%s exists: an export never overwrites a file (choose another name)",
		               opt->out_path);
	if (stat(opt->ost_path, &st) == 0)
		sum->source_bytes = (uint64_t)st.st_size;
	/* the listing (folders, items, what cannot be read), then the whole messages */
	ost_options oo = {.reader = OST_READER_NATIVE, .no_crc_check = true};
	ost_summary os;
	if ((rc = ost_capture_snap(opt->ost_path, &oo, &snap, &os, err)) != 0)
		return rc;
	if ((rc = select_items(opt, snap, &picks, &n_picks, err)) != 0)
		goto done;
	sum->selected = n_picks;
	if ((rc = ost_cache_open(&x.cache, opt->ost_path, err)) != 0)
		goto done;
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
	snprintf(temp_path, sizeof temp_path, "%s", pst_writer_temp_path(x.w));
	pst_folder_id top;
	if ((rc = pst_folder_add(x.w, pst_writer_ipm_subtree(x.w), top_name, "IPF.Note", &top, err)) != 0)
		goto done;
	long current = -2;
	pst_folder_id folder = top;
	char label[1024] = "";
	for (size_t i = 0; i < n_picks; i++) {
		const pick *k = &picks[i];
		if (k->folder != current) {
			if (current != -2 && folder != top && (rc = pst_folder_close(x.w, folder, &x.err)) != 0)
				break;
			if ((rc = target_folder(&x, snap, k->folder, top, &folder, label, sizeof label, top_name)) != 0)
				break;
			current = k->folder;
			sum->folders++;
		}
		if ((rc = export_one(&x, opt, k, folder, label, sum)) != 0)
			break;
		if (opt->progress && (i + 1) % 1000 == 0)
			log_info("exported %zu of %zu items (%.0f MB)", i + 1, n_picks, pst_writer_size(x.w) / 1e6);
	}
	if (rc) {
		*err = x.err;
		if (!err->message[0])
			or_fail(err, rc, "the export failed");
		goto done;
	}
	if ((rc = pst_writer_finish(x.w, err)) != 0 || (rc = pst_writer_commit(x.w, err)) != 0)
		goto done;
	if (stat(opt->out_path, &st) == 0)
		sum->bytes = (uint64_t)st.st_size;
done:
	pst_writer_free(x.w); /* removes the file when it was not committed */
	temp_path[0] = '\0';
	ost_cache_close(x.cache);
	snap_free(snap);
	free(picks);
	sum->seconds = now_s() - t0;
	return rc;
}
