/* classify.c: turns the pairs into the per-folder table and findings, and tells the expected
 * differences (sync window, folders one-sided by design) from the real ones. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY_FT INT64_C(864000000000) /* one day in 100 ns units */

diff_finding *diff_add_finding(diff_result *r, diff_kind kind, int side)
{
	if (r->n_findings == r->cap_findings) {
		size_t cap = r->cap_findings ? r->cap_findings * 2 : 256;
		diff_finding *p = or_block_realloc(r->findings, cap * sizeof *p); /* 40,000 findings: 4 MB */
		if (!p)
			return NULL;
		r->findings = p;
		r->cap_findings = cap;
	}
	diff_finding *f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->side = side;
	f->folder[0] = f->folder[1] = f->item[0] = f->item[1] = -1;
	f->row = -1;
	f->error = f->second = -1;
	f->newer = NEWER_UNKNOWN;
	f->count = 1;
	return f;
}

int diff_add_export(diff_result *r, int side, int32_t item, int32_t row)
{
	if (r->n_exports == r->cap_exports) {
		size_t cap = r->cap_exports ? r->cap_exports * 2 : 64;
		diff_export *p = realloc(r->exports, cap * sizeof *p);
		if (!p)
			return -1;
		r->exports = p;
		r->cap_exports = cap;
	}
	r->exports[r->n_exports++] = (diff_export){side, item, row, 0};
	return 0;
}

int64_t diff_item_date(const snap_citem *it)
{
	return it->date;
}

static diff_reason class_reason(folder_class fc)
{
	switch (fc) {
	case FC_TOP: return REASON_TOP_FOLDER;
	case FC_LOCAL_CONTENT: return REASON_LOCAL_CONTENT;
	case FC_CLIENT: return REASON_CLIENT_FOLDER;
	case FC_NON_IPM: return REASON_NON_IPM;
	case FC_PUBLIC: return REASON_PUBLIC;
	default: return REASON_NONE;
	}
}

/* Mail folders are the ones the sync window applies to: IPF.Note and its kinds, or mail roles when
 * the class is unknown. Calendar, Contacts, Tasks, Notes, Journal and Outbox are always complete. */
static bool is_mail_folder(const snap_folder *f)
{
	static const char *const never[] = {"calendar", "contacts", "tasks", "notes", "journal", "outbox", NULL};
	static const char *const mail[] = {"inbox", "sentitems", "deleteditems", "junkemail", "drafts",
	                                   "conversationhistory", "archive", "ipm", NULL};
	const char *r = f->role ? f->role : "";
	for (int i = 0; never[i]; i++)
		if (strcmp(r, never[i]) == 0)
			return false;
	if (f->cls)
		return strncasecmp(f->cls, "IPF.Note", 8) == 0 && (f->cls[8] == '\0' || f->cls[8] == '.');
	for (int i = 0; mail[i]; i++)
		if (strcmp(r, mail[i]) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------- rows */

static const char *row_key(const diff_ctx *c, const diff_row *row)
{
	int s = row->folder[0] >= 0 ? 0 : 1;
	return c->side[s].npath[row->folder[s]];
}

static int row_cmp(const void *x, const void *y, void *ctx)
{
	int c = strcasecmp(row_key(ctx, x), row_key(ctx, y));
	if (c)
		return c;
	const diff_row *a = x, *b = y;
	return a->folder[0] != b->folder[0] ? (a->folder[0] < b->folder[0] ? -1 : 1)
	                                    : (a->folder[1] < b->folder[1] ? -1 : a->folder[1] > b->folder[1]);
}

static int build_rows(diff_ctx *c)
{
	diff_result *r = c->r;
	size_t n = c->side[0].s->n_folders + c->side[1].s->n_folders;
	r->rows = calloc(n + 1, sizeof *r->rows);
	if (!r->rows)
		return -1;
	for (int s = 0; s < 2; s++) {
		const side_state *ss = &c->side[s];
		for (size_t f = 0; f < ss->s->n_folders; f++) {
			if (s == 1 && ss->folder_pair[f] >= 0)
				continue; /* made from side 0 */
			diff_row *row = &r->rows[r->n_rows++];
			row->folder[s] = (int32_t)f;
			row->folder[1 - s] = ss->folder_pair[f];
			row->pair = ss->folder_pair_by[f];
		}
	}
	qsort_r(r->rows, r->n_rows, sizeof *r->rows, row_cmp, c);
	for (size_t i = 0; i < r->n_rows; i++) {
		diff_row *row = &r->rows[i];
		folder_class fc = FC_IPM;
		for (int s = 0; s < 2; s++) {
			int32_t f = row->folder[s];
			if (f < 0)
				continue;
			c->side[s].folder_row[f] = (int32_t)i;
			row->unreadable[s] = c->side[s].folder_unreadable[f];
			if (c->side[s].fclass[f] != FC_IPM)
				fc = (folder_class)c->side[s].fclass[f];
			if (is_mail_folder(&c->side[s].s->folders[f]))
				row->mail = 1;
		}
		row->reason = (uint8_t)class_reason(fc);
		if (row->reason != REASON_NONE)
			row->mail = 0;
	}
	/* Duplicate keys were found while pairing, before there were rows. */
	for (size_t k = 0; k < r->n_findings; k++) {
		diff_finding *fd = &r->findings[k];
		int s = fd->side;
		if (fd->kind != FIND_DUPLICATE_KEY || s < 0 || fd->folder[s] < 0)
			continue;
		fd->row = c->side[s].folder_row[fd->folder[s]];
		if (fd->row >= 0 && r->rows[fd->row].reason != REASON_NONE) {
			fd->expected = 1;
			fd->reason = r->rows[fd->row].reason;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- folders */

static bool distinguished(const snap_folder *f)
{
	return f->role && *f->role && strcmp(f->role, "ipm") != 0 && strcmp(f->role, "other") != 0;
}

static bool side_has_file_error(const side_state *ss)
{
	for (size_t e = 0; e < ss->s->n_errors; e++)
		if (ss->s->errors[e].scope == ERR_SCOPE_FILE)
			return true;
	return false;
}

/* True when side o reported a folder error whose path is this row's folder or one of its parents
 * (a subtree the server could not list, so the folder is absent from its hierarchy). */
static bool under_failed_folder(const diff_ctx *c, int o, const diff_row *row)
{
	int s = 1 - o;
	const char *mine = c->side[s].npath[row->folder[s]];
	const snap_t *sn = c->side[o].s;
	for (size_t e = 0; e < sn->n_errors; e++) {
		if (sn->errors[e].scope != ERR_SCOPE_FOLDER || !sn->errors[e].path)
			continue;
		char *p = diff_normalize_path(&c->side[o], sn->errors[e].path);
		size_t n = p ? strlen(p) : 0;
		bool hit = p && strncasecmp(mine, p, n) == 0 && (mine[n] == '\0' || mine[n] == '/');
		free(p);
		if (hit)
			return true;
	}
	return false;
}

static int folder_findings(diff_ctx *c)
{
	diff_result *r = c->r;
	for (size_t i = 0; i < r->n_rows; i++) {
		diff_row *row = &r->rows[i];
		if (row->folder[0] >= 0 && row->folder[1] >= 0) {
			if (row->reason != REASON_NONE && row->reason != REASON_LOCAL_CONTENT)
				continue; /* tops and one-sided areas: names and places differ by design */
			const snap_folder *f0 = &c->side[0].s->folders[row->folder[0]];
			const snap_folder *f1 = &c->side[1].s->folders[row->folder[1]];
			if (f0->name && f1->name && strcmp(f0->name, f1->name) != 0) {
				diff_finding *fd = diff_add_finding(r, FIND_FOLDER_RENAMED, -1);
				if (!fd)
					return -1;
				fd->folder[0] = row->folder[0];
				fd->folder[1] = row->folder[1];
				fd->row = (int32_t)i;
				fd->pair = row->pair;
				fd->props = PROP_FOLDER_NAME;
				if (distinguished(f0) || distinguished(f1)) {
					fd->expected = 1;
					fd->reason = REASON_SPECIAL_NAME;
				}
			}
			/* Moved: the parents are not a pair. */
			int32_t p0 = diff_folder_by_id(&c->side[0], f0->parent_id);
			int32_t p1 = diff_folder_by_id(&c->side[1], f1->parent_id);
			if (p0 >= 0 && p1 >= 0 && c->side[0].folder_pair[p0] != p1) {
				diff_finding *fd = diff_add_finding(r, FIND_FOLDER_MOVED, -1);
				if (!fd)
					return -1;
				fd->folder[0] = row->folder[0];
				fd->folder[1] = row->folder[1];
				fd->row = (int32_t)i;
				fd->pair = row->pair;
			}
			continue;
		}
		int s = row->folder[0] >= 0 ? 0 : 1, o = 1 - s;
		if (row->reason == REASON_TOP_FOLDER)
			continue; /* the unnamed top of a cache file: structure, not content */
		if (row->reason == REASON_NONE && !c->side[o].is_cache &&
		    (side_has_file_error(&c->side[o]) || under_failed_folder(c, o, row) ||
		     diff_class_not_covered(&c->side[o], c->side[s].s->folders[row->folder[s]].cls))) {
			/* The server side could not list this part (or folders of its class): its items are
			 * unverified, the folder is not missing. An error is a source_incomplete finding of
			 * its own. */
			row->unreadable[o] = 1;
			continue;
		}
		diff_finding *fd = diff_add_finding(r, FIND_FOLDER_MISSING, o);
		if (!fd)
			return -1;
		fd->folder[s] = row->folder[s];
		fd->row = (int32_t)i;
		if (row->reason != REASON_NONE) {
			fd->expected = 1;
			fd->reason = row->reason;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- the sync window */

/* Months back from a FILETIME, on the calendar (the window counts calendar months). */
static int64_t months_before(int64_t ft, int months, int days)
{
	time_t t = (time_t)((ft - FILETIME_UNIX_EPOCH) / 10000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return ft;
	tm.tm_mon -= months;
	tm.tm_mday -= days;
	time_t back = timegm(&tm);
	return (int64_t)back * 10000000 + FILETIME_UNIX_EPOCH;
}

static void window_setup(diff_ctx *c)
{
	diff_result *r = c->r;
	diff_window_result *w = &r->window;
	w->mode = r->options.window.mode;
	w->days = r->options.window.days;
	w->months = r->options.window.months;
	w->cache_side = -1;
	if (r->kind[0] == r->kind[1])
		return; /* the window is about a cache against its server */
	int cs = r->kind[0] == DIFF_SIDE_CACHE ? 0 : 1, sv = 1 - cs;
	w->cache_side = cs;
	w->reference = r->snap[cs]->hdr.captured ? r->snap[cs]->hdr.captured : r->snap[sv]->hdr.captured;
	if (!w->reference)
		for (int s = 0; s < 2; s++)
			for (size_t i = 0; i < r->cmp[s]->n_items; i++)
				if (diff_item_date(&r->cmp[s]->items[i]) > w->reference)
					w->reference = diff_item_date(&r->cmp[s]->items[i]);
	if (w->mode == DIFF_WINDOW_ALL)
		return;
	if (w->mode == DIFF_WINDOW_GIVEN) {
		/* One day of grace: Outlook moves the cutoff daily, and times zones shift it by hours. */
		w->cutoff = months_before(w->reference, w->months, w->days) - DAY_FT;
		w->applied = true;
		return;
	}
	/* Inferred: the oldest mail the cache holds in any mail folder. Outlook keeps everything newer
	 * than its cutoff, so the cutoff is at or before that date; server mail older than it and absent
	 * from the cache is what a window explains. A cache missing old mail for another reason is told
	 * apart by the evidence (per folder oldest dates, both sides). */
	int64_t oldest = 0;
	bool any_old_missing = false;
	for (size_t i = 0; i < r->n_rows; i++) {
		const diff_row *row = &r->rows[i];
		if (row->mail && row->oldest[cs] && (!oldest || row->oldest[cs] < oldest))
			oldest = row->oldest[cs];
	}
	if (!oldest)
		return;
	const side_state *ss = &c->side[sv];
	for (size_t i = 0; i < ss->ci->n_items && !any_old_missing; i++) {
		const snap_citem *it = &ss->ci->items[i];
		int32_t f = ss->item_folder[i];
		if (ss->item_pair[i] == -1 && !it->associated && f >= 0 && r->rows[ss->folder_row[f]].mail &&
		    diff_item_date(it) && diff_item_date(it) < oldest)
			any_old_missing = true;
	}
	if (!any_old_missing)
		return;
	w->applied = true;
	w->cutoff = oldest;
	w->inferred_days = w->reference > oldest ? (w->reference - oldest) / DAY_FT : 0;
}

/* ---------------------------------------------------------------- items */

int diff_item_read(const snap_citem *it)
{
	return it->read; /* made from the message flags and `read` as diff.h says, when compacted */
}

int diff_item_flag_status(const snap_citem *it)
{
	return it->flag_status >= 0 ? it->flag_status : 0;
}

int diff_item_importance(const snap_citem *it)
{
	return it->importance >= 0 ? it->importance : 1;
}

/* Absent properties compare as what their absence means (diff.h); the message class and the change
 * key have no such meaning (a stored message always has a class, and an OST keeps no change key on
 * messages): they are compared only where both sides have them. */
static uint32_t compare_props(const snap_compared *ca, const snap_citem *a, const snap_compared *cb, const snap_citem *b)
{
	uint32_t p = 0;
	/* Associated messages keep no read state: MAPI ignores their read flag. */
	int ra = diff_item_read(a), rb = diff_item_read(b);
	if (ra >= 0 && rb >= 0 && ra != rb && !a->associated && !b->associated)
		p |= PROP_READ;
	if (diff_item_flag_status(a) != diff_item_flag_status(b))
		p |= PROP_FLAG;
	if (a->subject_hash != b->subject_hash)
		p |= PROP_SUBJECT;
	if (a->cls && b->cls && strcasecmp(ca->heap + a->cls, cb->heap + b->cls) != 0)
		p |= PROP_CLASS;
	if (diff_item_importance(a) != diff_item_importance(b))
		p |= PROP_IMPORTANCE;
	snap_bin ka = snap_cbin(ca, a->change_key), kb = snap_cbin(cb, b->change_key);
	if (ka.len && kb.len && (ka.len != kb.len || memcmp(ka.data, kb.data, ka.len)))
		p |= PROP_CHANGE_KEY;
	return p;
}

static diff_newer newer_of(const snap_compared *ca, const snap_citem *a, const snap_compared *cb, const snap_citem *b)
{
	snap_bin pa = snap_cbin(ca, a->pcl), pb = snap_cbin(cb, b->pcl);
	if (pa.len && pb.len) {
		switch (diff_pcl_compare(pa.data, pa.len, pb.data, pb.len)) {
		case PCL_EQUAL: return NEWER_SAME;
		case PCL_A_NEWER: return NEWER_SIDE0;
		case PCL_B_NEWER: return NEWER_SIDE1;
		case PCL_CONFLICT: return NEWER_CONFLICT;
		default: return NEWER_UNKNOWN;
		}
	}
	snap_bin ka = snap_cbin(ca, a->change_key), kb = snap_cbin(cb, b->change_key);
	if (ka.len && ka.len == kb.len && memcmp(ka.data, kb.data, ka.len) == 0)
		return NEWER_SAME;
	return NEWER_UNKNOWN;
}

/* Expected item differences are counted per row and side in one aggregated finding. */
static int add_expected(diff_ctx *c, int32_t *agg, int32_t rowi, int side, diff_reason why, const snap_citem *it,
                        int32_t folder, int s)
{
	diff_result *r = c->r;
	diff_row *row = &r->rows[rowi];
	row->expected++;
	r->expected++;
	int32_t *slot = &agg[2 * rowi + side];
	diff_finding *fd;
	if (*slot >= 0 && r->findings[*slot].reason == why) {
		fd = &r->findings[*slot];
		fd->count++;
	} else {
		if (!(fd = diff_add_finding(r, FIND_ITEM_MISSING, side)))
			return -1;
		*slot = (int32_t)(fd - r->findings);
		fd->expected = 1;
		fd->reason = (uint8_t)why;
		fd->row = rowi;
		fd->folder[s] = folder;
		fd->count = 1;
	}
	int64_t d = diff_item_date(it);
	if (d && (!fd->date_min || d < fd->date_min))
		fd->date_min = d;
	if (d > fd->date_max)
		fd->date_max = d;
	return 0;
}

/* Individual findings are bounded: past DIFF_DETAIL_MAX of one kind in one folder (slot: 0 and 1
 * missing on that side, 2 changed, 3 moved), the rest are summed into one finding with a count.
 * Returns 1 with *out set to the summary finding to add to, 0 when the item gets a finding of its
 * own, -1 out of memory. */
static int summarized(diff_ctx *c, int32_t rowi, int slot, diff_kind kind, int side, int64_t date,
                      diff_finding **out)
{
	diff_result *r = c->r;
	size_t k = 4 * (size_t)(rowi >= 0 ? rowi : (int32_t)r->n_rows) + (size_t)slot;
	*out = NULL;
	if (c->detail_n[k]++ < DIFF_DETAIL_MAX)
		return 0;
	diff_finding *fd;
	if (c->detail_agg[k] >= 0) {
		fd = &r->findings[c->detail_agg[k]];
		fd->count++;
	} else {
		if (!(fd = diff_add_finding(r, kind, side)))
			return -1;
		c->detail_agg[k] = (int32_t)(fd - r->findings);
		fd->row = rowi;
		fd->summary = 1;
	}
	if (date && (!fd->date_min || date < fd->date_min))
		fd->date_min = date;
	if (date > fd->date_max)
		fd->date_max = date;
	*out = fd;
	return 1;
}

static int paired_item(diff_ctx *c, uint32_t i0)
{
	diff_result *r = c->r;
	uint32_t i1 = (uint32_t)c->side[0].item_pair[i0];
	const snap_citem *a = &c->side[0].ci->items[i0], *b = &c->side[1].ci->items[i1];
	int32_t f0 = c->side[0].item_folder[i0], f1 = c->side[1].item_folder[i1];
	int32_t r0 = f0 >= 0 ? c->side[0].folder_row[f0] : -1, r1 = f1 >= 0 ? c->side[1].folder_row[f1] : -1;
	uint32_t props = compare_props(c->side[0].ci, a, c->side[1].ci, b);
	bool moved = r0 != r1;
	if (!props && !moved) {
		if (r0 >= 0)
			r->rows[r0].matched++;
		r->matched++;
		return 0;
	}
	r->differing++;
	if (r0 >= 0)
		r->rows[r0].differing++;
	if (moved && r1 >= 0)
		r->rows[r1].differing++;
	diff_reason why = r0 >= 0 ? (diff_reason)r->rows[r0].reason : REASON_NONE;
	if (why == REASON_NONE && r1 >= 0)
		why = (diff_reason)r->rows[r1].reason;
	diff_finding *fd = NULL;
	if (why == REASON_NONE) {
		int k = summarized(c, r0 >= 0 ? r0 : r1, moved ? 3 : 2, moved ? FIND_ITEM_MOVED : FIND_ITEM_CHANGED, -1,
		                   diff_item_date(a), &fd);
		if (k < 0)
			return -1;
		if (k) {
			if (fd->count == 1)
				fd->folder[0] = f0, fd->folder[1] = f1;
			fd->props |= props;
			return 0;
		}
	}
	fd = diff_add_finding(r, moved ? FIND_ITEM_MOVED : FIND_ITEM_CHANGED, -1);
	if (!fd)
		return -1;
	fd->item[0] = (int32_t)i0;
	fd->item[1] = (int32_t)i1;
	fd->folder[0] = f0;
	fd->folder[1] = f1;
	fd->row = r0 >= 0 ? r0 : r1;
	fd->pair = c->side[0].item_pair_by[i0];
	fd->props = props;
	fd->associated = a->associated;
	fd->newer = (int8_t)newer_of(c->side[0].ci, a, c->side[1].ci, b);
	if (fd->newer == NEWER_SIDE0 || fd->newer == NEWER_SIDE1)
		fd->side = fd->newer;
	if (why != REASON_NONE) {
		fd->expected = 1;
		fd->reason = (uint8_t)why;
	}
	return 0;
}

static int unpaired_item(diff_ctx *c, int s, uint32_t i, int32_t *agg)
{
	diff_result *r = c->r;
	int o = 1 - s;
	const side_state *ss = &c->side[s], *os = &c->side[o];
	const snap_citem *it = &ss->ci->items[i];
	int32_t f = ss->item_folder[i];
	int32_t rowi = f >= 0 ? ss->folder_row[f] : -1;
	diff_row *row = rowi >= 0 ? &r->rows[rowi] : NULL;
	if (row && row->reason != REASON_NONE)
		return add_expected(c, agg, rowi, o, (diff_reason)row->reason, it, f, s);
	/* The other side could not read the folder (or the whole capture is short): unverified. */
	int32_t of = row ? row->folder[o] : -1;
	bool unverified = (of >= 0 && os->folder_unreadable[of]) || (row && row->unreadable[o]) ||
	                  (!os->is_cache && side_has_file_error(os));
	if (unverified) {
		if (row)
			row->unverified++;
		r->unverified++;
		if (ss->is_cache && !os->is_cache) {
			if (diff_add_export(r, s, (int32_t)i, rowi) != 0)
				return -1;
			r->exports[r->n_exports - 1].unverified = 1;
		}
		return 0;
	}
	const diff_window_result *w = &r->window;
	if (row && row->mail && w->applied && o == w->cache_side && !it->associated) {
		int64_t d = diff_item_date(it);
		if (d && d < w->cutoff) {
			r->window.items++;
			return add_expected(c, agg, rowi, o, REASON_SYNC_WINDOW, it, f, s);
		}
	}
	if (row)
		row->missing[o]++;
	r->missing[o]++;
	if (!it->associated)
		r->lone[s]++;
	if (ss->is_cache && !os->is_cache && diff_add_export(r, s, (int32_t)i, rowi) != 0)
		return -1;
	diff_finding *fd;
	int k = summarized(c, rowi, o, FIND_ITEM_MISSING, o, diff_item_date(it), &fd);
	if (k < 0)
		return -1;
	if (k) {
		if (fd->count == 1)
			fd->folder[s] = f;
		return 0;
	}
	if (!(fd = diff_add_finding(r, FIND_ITEM_MISSING, o)))
		return -1;
	fd->item[s] = (int32_t)i;
	fd->folder[s] = f;
	fd->row = rowi;
	fd->associated = it->associated;
	fd->date_min = fd->date_max = diff_item_date(it);
	return 0;
}

static int item_findings(diff_ctx *c)
{
	diff_result *r = c->r;
	/* Counts and oldest mail per row first: the inferred window needs them. */
	for (int s = 0; s < 2; s++) {
		const side_state *ss = &c->side[s];
		for (size_t i = 0; i < ss->ci->n_items; i++) {
			const snap_citem *it = &ss->ci->items[i];
			int32_t f = ss->item_folder[i];
			if (it->associated)
				r->assoc[s]++;
			else
				r->items[s]++;
			if (f < 0)
				continue;
			diff_row *row = &r->rows[ss->folder_row[f]];
			if (it->associated) {
				row->assoc[s]++;
				continue;
			}
			row->count[s]++;
			if (!it->ident.has_key && !it->ident.has_gc)
				row->keyless[s]++;
			int64_t d = diff_item_date(it);
			if (row->mail && d && (!row->oldest[s] || d < row->oldest[s]))
				row->oldest[s] = d;
		}
	}
	window_setup(c);
	int32_t *agg = malloc((2 * r->n_rows + 1) * sizeof *agg);
	c->detail_n = calloc(4 * (r->n_rows + 1), sizeof *c->detail_n);
	c->detail_agg = malloc(4 * (r->n_rows + 1) * sizeof *c->detail_agg);
	if (!agg || !c->detail_n || !c->detail_agg) {
		free(agg);
		return -1;
	}
	memset(c->detail_agg, 0xff, 4 * (r->n_rows + 1) * sizeof *c->detail_agg);
	memset(agg, 0xff, (2 * r->n_rows + 1) * sizeof *agg);
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < c->side[0].ci->n_items; i++) {
		if (c->side[0].item_pair[i] < 0)
			continue;
		if (!c->side[0].ci->items[i].associated)
			r->paired++;
		rc = paired_item(c, i);
	}
	for (int s = 0; s < 2; s++) {
		const side_state *ss = &c->side[s];
		for (uint32_t i = 0; rc == 0 && i < ss->ci->n_items; i++) {
			const snap_citem *it = &ss->ci->items[i];
			if (ss->item_pair[i] != -1 || (it->associated && !r->options.compare_associated))
				continue;
			rc = unpaired_item(c, s, i, agg);
		}
	}
	/* A resync or a rebuild keeps only what the server holds under a key: the second holder of a
	 * key in a cache is listed for export unless it is a copy of the first (same properties, date
	 * and folder). */
	for (size_t k = 0; rc == 0 && k < r->n_findings; k++) {
		const diff_finding *fd = &r->findings[k];
		int s = fd->side;
		if (fd->kind != FIND_DUPLICATE_KEY || s < 0 || fd->item[s] < 0 || fd->second < 0 ||
		    !c->side[s].is_cache || c->side[1 - s].is_cache)
			continue;
		const snap_citem *a = &c->side[s].ci->items[fd->item[s]], *b = &c->side[s].ci->items[fd->second];
		int32_t f = c->side[s].item_folder[fd->second];
		if (!compare_props(c->side[s].ci, a, c->side[s].ci, b) && diff_item_date(a) == diff_item_date(b) && f == c->side[s].item_folder[fd->item[s]])
			continue;
		rc = diff_add_export(r, s, fd->second, f >= 0 ? c->side[s].folder_row[f] : -1);
	}
	free(agg);
	return rc;
}

/* ---------------------------------------------------------------- integrity */

/* True when side o holds an error like side s's error e (a snapshot compared with itself). */
static bool same_error_other_side(const diff_ctx *c, int s, const snap_error *e)
{
	const snap_t *o = c->side[1 - s].s;
	for (size_t k = 0; k < o->n_errors; k++) {
		const snap_error *x = &o->errors[k];
		if (x->scope == e->scope && x->path && e->path && strcmp(x->path, e->path) == 0 && x->message &&
		    e->message && strcmp(x->message, e->message) == 0)
			return true;
	}
	return false;
}

static int integrity_findings(diff_ctx *c)
{
	diff_result *r = c->r;
	for (int s = 0; s < 2; s++) {
		const side_state *ss = &c->side[s];
		const snap_t *sn = ss->s;
		for (size_t e = 0; e < sn->n_errors; e++) {
			const snap_error *er = &sn->errors[e];
			diff_kind k = !ss->is_cache                  ? FIND_SOURCE_INCOMPLETE
			              : er->scope == ERR_SCOPE_ITEM   ? FIND_ITEM_UNREADABLE
			              : er->scope == ERR_SCOPE_FOLDER ? FIND_FOLDER_UNREADABLE
			                                              : FIND_FILE_DAMAGED;
			diff_finding *fd = diff_add_finding(r, k, s);
			if (!fd)
				return -1;
			fd->error = (int32_t)e;
			fd->what = er->scope == ERR_SCOPE_FILE ? "file_error" : NULL;
			int32_t f = er->scope == ERR_SCOPE_FOLDER ? diff_folder_by_id(ss, er->id) : -1;
			if (f < 0)
				f = diff_folder_by_id(ss, er->folder_id);
			for (size_t x = 0; x < sn->n_folders && f < 0 && er->path; x++)
				if (sn->folders[x].path && strcmp(sn->folders[x].path, er->path) == 0)
					f = (int32_t)x;
			fd->folder[s] = f;
			fd->row = f >= 0 ? ss->folder_row[f] : -1;
			diff_reason why = fd->row >= 0 ? (diff_reason)r->rows[fd->row].reason : REASON_NONE;
			if (why != REASON_NONE && why != REASON_LOCAL_CONTENT) {
				fd->expected = 1;
				fd->reason = (uint8_t)why;
			} else if (ss->is_cache && same_error_other_side(c, s, er) && c->side[1 - s].is_cache) {
				fd->reason = REASON_SAME_ON_BOTH; /* still damage, on both files */
			}
		}
		if (!ss->is_cache || !sn->integrity.present)
			continue;
		const snap_integrity *in = &sn->integrity;
		if (in->corrupted) {
			diff_finding *fd = diff_add_finding(r, FIND_FILE_DAMAGED, s);
			if (!fd)
				return -1;
			fd->what = "corrupted_flag";
		}
		if (in->orphan_items > 0) {
			diff_finding *fd = diff_add_finding(r, FIND_FILE_DAMAGED, s);
			if (!fd)
				return -1;
			fd->what = "orphan_items";
			fd->found = in->orphan_items;
			fd->count = in->orphan_items;
		}
		for (size_t m = 0; m < in->n_mismatches; m++) {
			const snap_count_mismatch *mm = &in->mismatches[m];
			diff_finding *fd = diff_add_finding(r, FIND_COUNT_MISMATCH, s);
			if (!fd)
				return -1;
			fd->stored = mm->stored;
			fd->found = mm->found;
			fd->what = mm->what;
			fd->error = (int32_t)m; /* index into the integrity mismatches */
			int32_t x = diff_folder_by_id(ss, mm->folder_id);
			if (x >= 0) {
				fd->folder[s] = x;
				fd->row = ss->folder_row[x];
			}
		}
	}
	return 0;
}

/* Item findings come out in the order of side 0's items, which for a server side is the order in
 * which its folders finished: with several folders read at once that changes from run to run. They
 * are put in folder-table order (findings without a folder last), keeping their order within a
 * folder, so that one mailbox gives one report. A counting sort: stable, one pass. */
static int order_by_row(diff_result *r, size_t from, size_t to)
{
	size_t n = to - from, nb = r->n_rows + 1;
	if (n < 2)
		return 0;
	size_t *start = calloc(nb + 1, sizeof *start);
	diff_finding *tmp = or_block_alloc(n * sizeof *tmp); /* 40,000 findings: 4 MB, on huge pages */
	if (!start || !tmp) {
		free(start);
		or_block_free(tmp);
		return -1;
	}
	for (size_t k = from; k < to; k++) {
		int32_t row = r->findings[k].row;
		start[(row >= 0 ? (size_t)row : r->n_rows) + 1]++;
	}
	for (size_t b = 1; b <= nb; b++)
		start[b] += start[b - 1];
	for (size_t k = from; k < to; k++) {
		int32_t row = r->findings[k].row;
		tmp[start[row >= 0 ? (size_t)row : r->n_rows]++] = r->findings[k];
	}
	memcpy(r->findings + from, tmp, n * sizeof *tmp);
	free(start);
	or_block_free(tmp);
	return 0;
}

int diff_classify(diff_ctx *c, or_error *err)
{
	size_t first_item = 0;
	if (build_rows(c) != 0 || folder_findings(c) != 0 || (first_item = c->r->n_findings, item_findings(c)) != 0 ||
	    order_by_row(c->r, first_item, c->r->n_findings) != 0 || integrity_findings(c) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory classifying differences");
	return 0;
}
