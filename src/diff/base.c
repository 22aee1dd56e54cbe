/* base.c: the engine's building blocks: hash maps, change-list ordering, names, option parsing. */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- maps */

int map_init(idx_map *m, size_t n)
{
	size_t cap = 64;
	while (cap < 2 * n + 2)
		cap *= 2;
	m->cap = cap;
	if (!(m->slot = or_block_alloc(cap * sizeof *m->slot))) { /* a million items' map: 32 MB */
		m->cap = 0;
		return -1;
	}
	memset(m->slot, 0xff, cap * sizeof *m->slot); /* idx MAP_EMPTY */
	return 0;
}

void map_free(idx_map *m)
{
	or_block_free(m->slot);
	m->slot = NULL;
	m->cap = 0;
}

uint64_t hash_str_ci(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)tolower((unsigned char)*s)) * 1099511628211ULL;
	h ^= h >> 33;
	return h;
}

uint32_t map_put(idx_map *m, uint64_t h, uint32_t idx, map_same_fn same, const void *ctx, const void *key)
{
	size_t mask = m->cap - 1;
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t j = h & mask;; j = (j + 1) & mask) {
		map_slot *sl = &m->slot[j];
		if (sl->idx == MAP_EMPTY) {
			sl->idx = idx;
			sl->tag = tag;
			return MAP_EMPTY;
		}
		if (sl->tag == tag && same(ctx, sl->idx, key))
			return sl->idx;
	}
}

uint32_t map_get(const idx_map *m, uint64_t h, map_same_fn same, const void *ctx, const void *key)
{
	if (!m->cap)
		return MAP_EMPTY;
	size_t mask = m->cap - 1;
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t j = h & mask;; j = (j + 1) & mask) {
		const map_slot *sl = &m->slot[j];
		if (sl->idx == MAP_EMPTY)
			return MAP_EMPTY;
		if (sl->tag == tag && same(ctx, sl->idx, key))
			return sl->idx;
	}
}

/* ---------------------------------------------------------------- change lists */

/* Finds in PCL `a` the counter of `guid`: returns 1 and sets *ctr and *clen, 0 absent, -1 malformed. */
static int pcl_find(const uint8_t *a, size_t alen, const uint8_t *guid, const uint8_t **ctr, size_t *clen)
{
	size_t i = 0;
	while (i < alen) {
		size_t n = a[i];
		if (n < 17 || i + 1 + n > alen)
			return -1;
		if (memcmp(a + i + 1, guid, 16) == 0) {
			*ctr = a + i + 17;
			*clen = n - 16;
			return 1;
		}
		i += 1 + n;
	}
	return 0;
}

static bool pcl_valid(const uint8_t *a, size_t alen)
{
	for (size_t i = 0; i < alen; i += 1u + a[i])
		if (a[i] < 17 || i + 1 + a[i] > alen)
			return false;
	return true;
}

/* Compares big-endian counters of possibly different lengths. */
static int ctr_cmp(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl)
{
	while (xl > yl) {
		if (*x)
			return 1;
		x++, xl--;
	}
	while (yl > xl) {
		if (*y)
			return -1;
		y++, yl--;
	}
	int c = memcmp(x, y, xl);
	return c > 0 ? 1 : c < 0 ? -1 : 0;
}

int diff_pcl_includes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i = 0;
	if (!pcl_valid(a, alen))
		return -1;
	while (i < blen) {
		size_t n = b[i];
		if (n < 17 || i + 1 + n > blen)
			return -1;
		const uint8_t *ctr;
		size_t clen;
		int found = pcl_find(a, alen, b + i + 1, &ctr, &clen);
		if (found < 0)
			return -1;
		if (!found || ctr_cmp(ctr, clen, b + i + 17, n - 16) < 0)
			return 0;
		i += 1 + n;
	}
	return 1;
}

diff_pcl_order diff_pcl_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int ab = diff_pcl_includes(a, alen, b, blen), ba = diff_pcl_includes(b, blen, a, alen);
	if (ab < 0 || ba < 0)
		return PCL_INVALID;
	if (ab && ba)
		return PCL_EQUAL;
	if (ab)
		return PCL_A_NEWER;
	if (ba)
		return PCL_B_NEWER;
	return PCL_CONFLICT;
}

/* ---------------------------------------------------------------- names */

const char *diff_pair_method_name(diff_pair_method m)
{
	static const char *const names[] = {"none", "key", "gc_role", "gc_only", "role", "path", "heuristic"};
	return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "none";
}

const char *diff_kind_name(diff_kind k)
{
	static const char *const names[FIND_KIND_COUNT] = {
		[FIND_FOLDER_MISSING] = "folder_missing", [FIND_FOLDER_RENAMED] = "folder_renamed",
		[FIND_FOLDER_MOVED] = "folder_moved", [FIND_ITEM_MISSING] = "item_missing",
		[FIND_ITEM_CHANGED] = "item_changed", [FIND_ITEM_MOVED] = "item_moved",
		[FIND_DUPLICATE_KEY] = "duplicate_key", [FIND_ITEM_UNREADABLE] = "item_unreadable",
		[FIND_FOLDER_UNREADABLE] = "folder_unreadable", [FIND_FILE_DAMAGED] = "file_damaged",
		[FIND_COUNT_MISMATCH] = "count_mismatch", [FIND_SOURCE_INCOMPLETE] = "source_incomplete",
	};
	return (unsigned)k < FIND_KIND_COUNT ? names[k] : "unknown";
}

bool diff_kind_is_integrity(diff_kind k)
{
	return k == FIND_ITEM_UNREADABLE || k == FIND_FOLDER_UNREADABLE || k == FIND_FILE_DAMAGED ||
	       k == FIND_COUNT_MISMATCH || k == FIND_SOURCE_INCOMPLETE;
}

const char *diff_reason_name(diff_reason r)
{
	static const char *const names[REASON_COUNT] = {
		[REASON_NONE] = "none", [REASON_SYNC_WINDOW] = "sync_window",
		[REASON_LOCAL_CONTENT] = "local_only_content", [REASON_CLIENT_FOLDER] = "client_side_folder",
		[REASON_NON_IPM] = "non_ipm_folder", [REASON_PUBLIC] = "public_folders",
		[REASON_SPECIAL_NAME] = "special_folder_name", [REASON_TOP_FOLDER] = "top_folder",
		[REASON_SAME_ON_BOTH] = "same_on_both_sides",
	};
	return (unsigned)r < REASON_COUNT ? names[r] : "none";
}

const char *diff_reason_text(diff_reason r)
{
	switch (r) {
	case REASON_SYNC_WINDOW: return "mail older than the cached-mode sync window is not kept offline";
	case REASON_LOCAL_CONTENT: return "Sync Issues logs are written by Outlook and stay in the cache";
	case REASON_CLIENT_FOLDER:
		return "search folders, Views, Reminders and the other client-side folders exist only in the cache";
	case REASON_NON_IPM: return "Recoverable Items and other non-IPM folders are not cached";
	case REASON_PUBLIC: return "Root - Public mirrors public folder favourites, cached or not by profile";
	case REASON_SPECIAL_NAME: return "special folders are named in the language of the mailbox or client";
	case REASON_TOP_FOLDER: return "the tops of the folder trees are named differently on each side";
	case REASON_SAME_ON_BOTH: return "both sides hold the same unreadable part";
	default: return "";
	}
}

const char *diff_verdict_name(diff_verdict v)
{
	switch (v) {
	case VERDICT_IN_SYNC: return "in_sync";
	case VERDICT_IN_SYNC_EXCEPT_EXPECTED: return "in_sync_except_expected";
	case VERDICT_RESYNC_FOLDERS: return "resync_folders";
	case VERDICT_REBUILD_OST: return "rebuild_ost";
	case VERDICT_INCOMPLETE: return "incomplete";
	}
	return "unknown";
}

int diff_verdict_exit_code(diff_verdict v)
{
	switch (v) {
	case VERDICT_IN_SYNC:
	case VERDICT_IN_SYNC_EXCEPT_EXPECTED: return EXIT_OK;
	case VERDICT_INCOMPLETE: return EXIT_INCOMPLETE;
	default: return EXIT_DIFFERENCES;
	}
}

/* ---------------------------------------------------------------- options */

void diff_options_init(diff_options *o)
{
	memset(o, 0, sizeof *o);
	o->window.mode = DIFF_WINDOW_INFER;
	o->side_kind[0] = o->side_kind[1] = -1;
}

int diff_window_parse(const char *text, diff_window *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(text, "all") == 0) {
		out->mode = DIFF_WINDOW_ALL;
		return 0;
	}
	if (strcmp(text, "infer") == 0) {
		out->mode = DIFF_WINDOW_INFER;
		return 0;
	}
	size_t n = strlen(text);
	if (n < 2 || n > 8)
		return -1;
	char num[9];
	memcpy(num, text, n - 1);
	num[n - 1] = '\0';
	long v;
	if (parse_long(num, 1, 36500, &v) != 0)
		return -1;
	out->mode = DIFF_WINDOW_GIVEN;
	switch (text[n - 1]) {
	case 'd': out->days = (int)v; break;
	case 'w': out->days = (int)v * 7; break;
	case 'm': if (v > 1200) return -1; out->months = (int)v; break;
	case 'y': if (v > 100) return -1; out->months = (int)v * 12; break;
	default: return -1;
	}
	return 0;
}

void diff_window_format(const diff_window *w, char *out, size_t size)
{
	if (w->mode == DIFF_WINDOW_ALL)
		snprintf(out, size, "all");
	else if (w->mode == DIFF_WINDOW_INFER)
		snprintf(out, size, "infer");
	else if (w->months && !w->days)
		snprintf(out, size, "%dm", w->months);
	else if (w->months)
		snprintf(out, size, "%dm%dd", w->months, w->days);
	else
		snprintf(out, size, "%dd", w->days);
}
