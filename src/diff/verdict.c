/* verdict.c: the verdict and the advice, following the resolution path:
 *
 *   incomplete       a part of a server side (or a capture) could not be read
 *   rebuild_ost      a cache file is damaged, or the differences are widespread
 *   in_sync          no difference at all
 *   in_sync_except_expected   only differences that cached mode makes on purpose
 *   resync_folders   real differences concentrated in a few folders
 *
 * Widespread: real differences in more than DIFF_RESYNC_MAX_FOLDERS folders that are also at least
 * DIFF_WIDESPREAD_SHARE_PERMILLE per mille of the objects compared (a few stragglers spread over
 * many folders are resynchronized, not rebuilt), or more than DIFF_WIDESPREAD_PERCENT % of the items
 * compared once at least DIFF_WIDESPREAD_MIN_ITEMS items differ (resynchronizing that much is a
 * rebuild in all but name). docs/REPORT.md gives the reasoning. Items that exist only in a cache
 * are listed apart, whatever the verdict: a rebuild (or a resync) would lose them.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const steps_none[] = {"No action is needed.", NULL};
static const char *const steps_expected[] = {
	"No action is needed: every difference found is one that cached mode makes on purpose "
	"(each is listed with its reason).",
	NULL};
static const char *const steps_resync[] = {
	"If items are listed under 'export before rebuilding', export them first (File > Open & Export > "
	"Import/Export > Export to a file > Outlook Data File).",
	"In Outlook, for each folder listed: right-click the folder > Properties > General > "
	"Clear Offline Items > OK.",
	"Then select the folder and run Send/Receive > Update Folder (or Send/Receive All Folders).",
	"Let the synchronization finish, then capture and compare again to confirm.",
	NULL};
static const char *const steps_rebuild[] = {
	"If items are listed under 'export before rebuilding', export them first (File > Open & Export > "
	"Import/Export > Export to a file > Outlook Data File): a rebuild loses them.",
	"Close Outlook.",
	"Rename the .ost file (for example to .ost.old); keep it until the new cache is complete.",
	"Start Outlook and let it download the mailbox again into a new .ost.",
	"Capture and compare again to confirm.",
	NULL};
static const char *const steps_incomplete[] = {
	"Part of a side could not be read (see the source_incomplete findings): the comparison of those "
	"parts is unverified, never reported as missing.",
	"Fix the cause (permissions, throttling, connectivity) and capture that side again, then compare.",
	"Differences found in the parts that could be read are listed and can be acted upon meanwhile.",
	NULL};

static bool is_difference(const diff_finding *f)
{
	return !diff_kind_is_integrity(f->kind);
}

int diff_decide(diff_ctx *c, or_error *err)
{
	diff_result *r = c->r;
	diff_advice *a = &r->advice;
	size_t differing_items = 0, expected_diffs = 0;
	for (size_t k = 0; k < r->n_findings; k++) {
		const diff_finding *f = &r->findings[k];
		if (f->expected) {
			r->expected_findings++;
			if (is_difference(f))
				expected_diffs++;
			continue;
		}
		r->unexpected++;
		if (f->kind == FIND_SOURCE_INCOMPLETE)
			a->incomplete = true;
		else if (diff_kind_is_integrity(f->kind) && r->kind[f->side] == DIFF_SIDE_CACHE)
			a->damaged = true;
		else if (diff_kind_is_integrity(f->kind))
			a->incomplete = true; /* a server side that reports an unreadable part */
		if (!is_difference(f))
			continue;
		if (f->kind == FIND_ITEM_MISSING || f->kind == FIND_ITEM_CHANGED || f->kind == FIND_ITEM_MOVED ||
		    f->kind == FIND_DUPLICATE_KEY)
			differing_items += (size_t)f->count;
		else if (f->kind == FIND_FOLDER_MISSING || f->kind == FIND_FOLDER_RENAMED || f->kind == FIND_FOLDER_MOVED)
			a->differing_objects++;
		if (f->row >= 0 && r->rows[f->row].findings++ == 0)
			a->affected_folders++;
		if (f->kind == FIND_ITEM_MOVED && f->folder[1] >= 0) {
			/* Both ends of a move need resynchronizing. */
			int32_t other = c->side[1].folder_row[f->folder[1]];
			if (other >= 0 && other != f->row && r->rows[other].findings++ == 0)
				a->affected_folders++;
		}
	}
	int64_t compared = r->items[0] > r->items[1] ? r->items[0] : r->items[1];
	for (int s = 0; s < 2; s++) {
		int64_t objects = r->items[s] + (int64_t)r->snap[s]->n_folders;
		if (objects > a->compared_objects)
			a->compared_objects = objects;
	}
	a->differing_objects += (int64_t)differing_items;
	bool many_folders = a->affected_folders > DIFF_RESYNC_MAX_FOLDERS &&
	                    a->differing_objects * 1000 >= a->compared_objects * DIFF_WIDESPREAD_SHARE_PERMILLE;
	bool many_items = differing_items >= DIFF_WIDESPREAD_MIN_ITEMS &&
	                  (int64_t)differing_items * 100 > compared * DIFF_WIDESPREAD_PERCENT;
	a->widespread = many_folders || many_items;
	size_t real = r->unexpected;
	if (a->incomplete) {
		r->advice.verdict = VERDICT_INCOMPLETE;
		a->title = "Incomplete: part of the mailbox could not be read, so the comparison is not final.";
		a->steps = steps_incomplete;
		a->why = "a side reported parts it could not read";
	} else if (a->damaged) {
		a->verdict = VERDICT_REBUILD_OST;
		a->title = "Rebuild the OST: the cache file is damaged.";
		a->steps = steps_rebuild;
		a->why = "the cache file has unreadable parts, a corruption flag, orphans or wrong stored counts";
	} else if (real == 0) {
		a->verdict = expected_diffs ? VERDICT_IN_SYNC_EXCEPT_EXPECTED : VERDICT_IN_SYNC;
		a->title = expected_diffs ? "In sync, except for differences that cached mode makes on purpose."
		                          : "In sync: both sides hold the same folders and items.";
		a->steps = expected_diffs ? steps_expected : steps_none;
		a->why = expected_diffs ? "every difference is expected" : "no difference";
	} else if (a->widespread) {
		a->verdict = VERDICT_REBUILD_OST;
		a->title = "Rebuild the OST: the differences are widespread.";
		a->steps = steps_rebuild;
		a->why = many_folders ? "differences in more than 3 folders, and at least 1% of the folders and items"
		                      : "more than 10% of the items differ (and at least 1000)";
	} else {
		a->verdict = VERDICT_RESYNC_FOLDERS;
		a->title = "Resynchronize the folders listed: the differences are concentrated there.";
		a->steps = steps_resync;
		a->why = a->affected_folders > DIFF_RESYNC_MAX_FOLDERS
		             ? "differences in more than 3 folders, but less than 1% of the folders and items"
		             : "differences in at most 3 folders";
	}
	/* The folders to resynchronize: those with real differences (listed for every verdict that
	 * has some, so a rebuild's reader also sees where they were). */
	if (a->affected_folders) {
		a->resync_rows = malloc(a->affected_folders * sizeof *a->resync_rows);
		if (!a->resync_rows)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < r->n_rows; i++)
			if (r->rows[i].findings && a->n_resync_rows < a->affected_folders)
				a->resync_rows[a->n_resync_rows++] = (int32_t)i;
	}
	return 0;
}

const char *diff_finding_action(const diff_result *r, const diff_finding *f)
{
	if (f->expected)
		return "None: expected.";
	bool on_cache = f->side >= 0 && r->kind[f->side] == DIFF_SIDE_CACHE;
	bool mixed = r->kind[0] != r->kind[1];
	switch (f->kind) {
	case FIND_FOLDER_MISSING:
		if (mixed && on_cache)
			return "Update the folder list (Send/Receive All Folders); if it stays missing, rebuild the OST.";
		if (mixed)
			return "The folder exists only in the cache: export its contents before any resync or rebuild.";
		return "Compare the two captures' times: the folder was created or deleted between them.";
	case FIND_FOLDER_RENAMED:
	case FIND_FOLDER_MOVED:
		return "Update the folder list (Send/Receive All Folders); if it persists, resynchronize the parent folder.";
	case FIND_ITEM_MISSING:
		if (mixed && on_cache)
			return "Resynchronize the folder (Properties > Clear Offline Items, then Update Folder).";
		if (mixed)
			return "Exists only in the cache (an upload that never happened?): export it before any resync "
			       "or rebuild, and check Sync Issues.";
		return "The item was added or removed between the two captures; compare their times.";
	case FIND_ITEM_CHANGED:
		if (f->newer == NEWER_CONFLICT)
			return "Conflicting versions: check Sync Issues > Conflicts, keep the right one, then resynchronize.";
		if (f->newer == NEWER_SIDE0 || f->newer == NEWER_SIDE1) {
			if (mixed && r->kind[f->newer] == DIFF_SIDE_CACHE)
				return "The cache holds a newer version not yet uploaded: let Outlook finish synchronizing "
				       "before any resync.";
			if (mixed)
				return "The cache is stale: resynchronize the folder.";
		}
		return "Resynchronize the folder.";
	case FIND_ITEM_MOVED:
		return "Resynchronize both folders.";
	case FIND_DUPLICATE_KEY:
		if (on_cache)
			return "Two objects claim one key in the cache: export the second one if it is listed for "
			       "export, then resynchronize the folder (Clear Offline Items drops both, Update Folder "
			       "brings back the server's); if it comes back, rebuild the OST.";
		return "Two objects claim one key on this side: report it to the mailbox administrator.";
	case FIND_ITEM_UNREADABLE:
	case FIND_FOLDER_UNREADABLE:
	case FIND_FILE_DAMAGED:
	case FIND_COUNT_MISMATCH:
		if (on_cache)
			return "The cache file is damaged: export cache-only items, then rebuild the OST.";
		return "Capture this side again.";
	case FIND_SOURCE_INCOMPLETE:
		return "Capture this part again (check permissions and throttling); until then it is unverified.";
	default: return "";
	}
}

/* ---------------------------------------------------------------- the right two sides */

const char *diff_sides_problem_name(diff_sides_problem p)
{
	switch (p) {
	case DIFF_SIDES_PST: return "pst_as_cache";
	case DIFF_SIDES_OTHER_MAILBOX: return "other_mailbox";
	case DIFF_SIDES_UNRELATED: return "unrelated";
	default: return "ok";
	}
}

/* An SMTP address: something, one '@', something with a dot; no spaces. */
static bool is_address(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;
	return at && at > s && strchr(at + 1, '.') && !strchr(at + 1, '@') && !strpbrk(s, " \t<>");
}

/* The mailbox a side names: a cache file's own (its store's display name, where that is an
 * address: what Outlook and the fixture writer name the store after), else the address the capture
 * recorded. */
static const char *side_mailbox(const diff_result *r, int s)
{
	const snap_header *h = &r->snap[s]->hdr;
	if (r->kind[s] == DIFF_SIDE_CACHE && is_address(h->store_name))
		return h->store_name;
	return h->mailbox && *h->mailbox ? h->mailbox : NULL;
}

void diff_check_sides(const diff_result *r, diff_sides *out)
{
	memset(out, 0, sizeof *out);
	out->side = -1;
	out->paired = r->paired;
	for (int s = 0; s < 2; s++) {
		out->mailbox[s] = side_mailbox(r, s);
		out->comparable[s] = r->paired + r->lone[s];
	}
	for (int s = 0; s < 2; s++)
		if (r->snap[s]->hdr.source == SRC_PST && r->kind[1 - s] == DIFF_SIDE_SERVER) {
			out->problem = DIFF_SIDES_PST;
			out->side = s;
			return;
		}
	if (out->mailbox[0] && out->mailbox[1] && strcasecmp(out->mailbox[0], out->mailbox[1]) != 0) {
		out->problem = DIFF_SIDES_OTHER_MAILBOX;
		return;
	}
	int64_t smaller = out->comparable[0] < out->comparable[1] ? out->comparable[0] : out->comparable[1];
	if (smaller >= DIFF_UNRELATED_MIN_ITEMS && out->paired * 100 < smaller * DIFF_UNRELATED_PERCENT)
		out->problem = DIFF_SIDES_UNRELATED;
}
