/* The reconciliation engine: scenario table (each row: both sides built in memory, the expected
 * verdict and findings), plus change-list ordering on hand-made bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diff/diff.h"

/* ---------------------------------------------------------------- building mailboxes */

#define DAY INT64_C(864000000000)
static const uint8_t GUID1[16] = {0x6a, 0xa6, 0x2d, 0x7a, 0x1b, 0x3a, 0xc5, 0x44,
                                  0x9d, 0x53, 0x43, 0x1f, 0xbe, 0xa2, 0x94, 0x02};
static int64_t REF; /* 2026-11-01T00:00:00Z, both captures */

static void set_key(snap_ident *id, uint64_t gc, snap_key_origin origin)
{
	for (int i = 0; i < 6; i++)
		id->gc[i] = (uint8_t)(gc >> (8 * (5 - i)));
	id->has_gc = 1;
	if (origin != KEY_GC_ONLY) {
		memcpy(id->key, GUID1, 16);
		memcpy(id->key + 16, id->gc, 6);
		id->has_key = 1;
	}
	id->origin = (uint8_t)origin;
}

static snap_folder *folder(snap_t *s, const char *id, const char *parent, const char *path, const char *name,
                           const char *role, const char *cls, uint64_t gc)
{
	snap_folder *f = snap_add_folder(s);
	f->id = snap_strdup(s, id);
	f->parent_id = snap_strdup(s, parent);
	f->path = snap_strdup(s, path);
	f->name = snap_strdup(s, name);
	f->role = snap_strdup(s, role);
	f->cls = snap_strdup(s, cls);
	if (gc)
		set_key(&f->ident, gc, s->hdr.source == SRC_OST && gc < 0x10 ? KEY_GC_ONLY : KEY_REPLICA);
	return f;
}

static snap_item *item(snap_t *s, const char *folder_id, uint64_t gc, const char *subject, int days_ago)
{
	char id[32];
	snprintf(id, sizeof id, "i%llx", (unsigned long long)gc);
	snap_item *it = snap_add_item(s);
	it->id = snap_strdup(s, id);
	it->folder_id = snap_strdup(s, folder_id);
	it->cls = snap_strdup(s, "IPM.Note");
	it->subject = snap_strdup(s, subject);
	it->received = REF - (int64_t)days_ago * DAY;
	it->read = 1;
	it->flag_status = 0;
	it->importance = 1;
	set_key(&it->ident, gc, KEY_REPLICA);
	return it;
}

/* The same mailbox on both sides: the server with EWS paths, the cache with OST paths whose
 * replid-0 folders (root, IPM subtree, Inbox, Sent Items, Deleted Items) have only a gc. */
static snap_t *mailbox(bool cache)
{
	snap_t *s = NULL;
	or_error err;
	assert_int_equal(snap_new(&s, &err), 0);
	s->hdr.source = cache ? SRC_OST : SRC_EWS;
	s->hdr.captured = REF;
	const char *top = cache ? "/Root - Mailbox/IPM_SUBTREE" : "/Top of Information Store";
	char p[256];
	if (cache)
		folder(s, "file", NULL, "/", NULL, "fileroot", NULL, 0);
	folder(s, "root", cache ? "file" : NULL, cache ? "/Root - Mailbox" : "/", cache ? "Root - Mailbox" : "",
	       "root", NULL, 0x05);
	folder(s, "ipm", "root", top, cache ? "IPM_SUBTREE" : "Top of Information Store", "msgfolderroot", NULL, 0x0a);
#define SUB(id, parent, name, role, cls, gc)                                                                   \
	do {                                                                                                   \
		snprintf(p, sizeof p, "%s/%s", top, name);                                                     \
		folder(s, id, parent, p, strrchr(name, '/') ? strrchr(name, '/') + 1 : name, role, cls, gc);     \
	} while (0)
	SUB("inbox", "ipm", "Inbox", "inbox", "IPF.Note", 0x0c);
	SUB("sent", "ipm", "Sent Items", "sentitems", "IPF.Note", 0x0e);
	SUB("deleted", "ipm", "Deleted Items", "deleteditems", "IPF.Note", 0x0b);
	SUB("proj", "inbox", "Inbox/Projects", "ipm", "IPF.Note", 0x101);
	SUB("arch", "ipm", "Archive 2025", "ipm", "IPF.Note", 0x102);
	SUB("cal", "ipm", "Calendar", "calendar", "IPF.Appointment", 0x1d);
	SUB("con", "ipm", "Contacts", "contacts", "IPF.Contact", 0x1e);
	SUB("sync", "ipm", "Sync Issues", "syncissues", "IPF.Note", 0x1982);
	folder(s, "finder", "root", cache ? "/Root - Mailbox/Finder" : "/Finder", "Finder", "searchfolders", NULL, 0x07);
	for (int i = 0; i < 20; i++)
		item(s, "inbox", 0x1000 + (uint64_t)i, "inbox mail", i);
	for (int i = 0; i < 5; i++)
		item(s, "sent", 0x2000 + (uint64_t)i, "sent mail", i);
	for (int i = 0; i < 5; i++)
		item(s, "deleted", 0x2100 + (uint64_t)i, "deleted mail", i);
	for (int i = 0; i < 6; i++)
		item(s, "proj", 0x3000 + (uint64_t)i, "project mail", i);
	for (int i = 0; i < 6; i++)
		item(s, "arch", 0x3100 + (uint64_t)i, "archived mail", 20 + i);
	for (int i = 0; i < 3; i++) {
		snap_item *it = item(s, "cal", 0x4000 + (uint64_t)i, "meeting", 2 * i);
		it->cls = snap_strdup(s, "IPM.Appointment");
	}
	for (int i = 0; i < 3; i++) {
		snap_item *it = item(s, "con", 0x5000 + (uint64_t)i, "contact", 400);
		it->cls = snap_strdup(s, "IPM.Contact");
	}
	return s;
#undef SUB
}

static snap_item *find_item(snap_t *s, uint64_t gc)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const uint8_t *g = s->items[i].ident.gc;
		uint64_t v = 0;
		for (int k = 0; k < 6; k++)
			v = v << 8 | g[k];
		if (v == gc)
			return &s->items[i];
	}
	fail_msg("no item with gc %llx", (unsigned long long)gc);
	return NULL;
}

static snap_folder *find_folder(snap_t *s, const char *id)
{
	for (size_t i = 0; i < s->n_folders; i++)
		if (strcmp(s->folders[i].id, id) == 0)
			return &s->folders[i];
	fail_msg("no folder %s", id);
	return NULL;
}

static void drop_item(snap_t *s, uint64_t gc)
{
	snap_item *it = find_item(s, gc);
	size_t i = (size_t)(it - s->items);
	memmove(&s->items[i], &s->items[i + 1], (s->n_items - i - 1) * sizeof *s->items);
	s->n_items--;
}

static void drop_folder(snap_t *s, const char *id)
{
	for (size_t i = 0; i < s->n_items;)
		if (strcmp(s->items[i].folder_id, id) == 0) {
			memmove(&s->items[i], &s->items[i + 1], (s->n_items - i - 1) * sizeof *s->items);
			s->n_items--;
		} else {
			i++;
		}
	snap_folder *f = find_folder(s, id);
	size_t i = (size_t)(f - s->folders);
	memmove(&s->folders[i], &s->folders[i + 1], (s->n_folders - i - 1) * sizeof *s->folders);
	s->n_folders--;
}

/* A PCL of one XID: GUID1 + a 4-byte counter. */
static snap_bin pcl1(snap_t *s, uint32_t ctr)
{
	uint8_t b[21] = {20};
	memcpy(b + 1, GUID1, 16);
	b[17] = (uint8_t)(ctr >> 24), b[18] = (uint8_t)(ctr >> 16), b[19] = (uint8_t)(ctr >> 8), b[20] = (uint8_t)ctr;
	return snap_bindup(s, b, sizeof b);
}

/* ---------------------------------------------------------------- the scenarios */

static void m_none(snap_t *srv, snap_t *cache) {}

static void m_missing_in_cache(snap_t *srv, snap_t *cache)
{
	drop_item(cache, 0x1003);
	drop_item(cache, 0x1004);
}

static void m_missing_on_server(snap_t *srv, snap_t *cache)
{
	drop_item(srv, 0x1005);
}

static void m_read_cache_newer(snap_t *srv, snap_t *cache)
{
	snap_item *a = find_item(srv, 0x1001), *b = find_item(cache, 0x1001);
	b->read = 0;
	a->pcl = pcl1(srv, 10);
	b->pcl = pcl1(cache, 11);
}

static void m_flag_server_newer(snap_t *srv, snap_t *cache)
{
	snap_item *a = find_item(srv, 0x1002), *b = find_item(cache, 0x1002);
	a->flag_status = 2;
	a->pcl = pcl1(srv, 12);
	b->pcl = pcl1(cache, 11);
}

static void m_subject_conflict(snap_t *srv, snap_t *cache)
{
	snap_item *a = find_item(srv, 0x1006), *b = find_item(cache, 0x1006);
	b->subject = snap_strdup(cache, "edited offline");
	/* Two XIDs of different replicas, each side ahead on one: neither includes the other. */
	uint8_t pa[42] = {20}, pb[42] = {20};
	memcpy(pa + 1, GUID1, 16), memcpy(pb + 1, GUID1, 16);
	pa[20] = 5, pb[20] = 4;
	pa[21] = pb[21] = 20;
	memset(pa + 22, 0x77, 16), memset(pb + 22, 0x77, 16);
	pa[41] = 1, pb[41] = 2;
	a->pcl = snap_bindup(srv, pa, sizeof pa);
	b->pcl = snap_bindup(cache, pb, sizeof pb);
}

static void m_moved_item(snap_t *srv, snap_t *cache)
{
	find_item(cache, 0x1007)->folder_id = snap_strdup(cache, "sent");
}

static void m_folder_renamed(snap_t *srv, snap_t *cache)
{
	snap_folder *f = find_folder(cache, "proj");
	f->name = snap_strdup(cache, "Projects (old)");
	f->path = snap_strdup(cache, "/Root - Mailbox/IPM_SUBTREE/Inbox/Projects (old)");
}

static void m_folder_moved(snap_t *srv, snap_t *cache)
{
	snap_folder *f = find_folder(cache, "proj");
	f->parent_id = snap_strdup(cache, "ipm");
	f->path = snap_strdup(cache, "/Root - Mailbox/IPM_SUBTREE/Projects");
}

static void m_folder_missing_in_cache(snap_t *srv, snap_t *cache)
{
	drop_folder(cache, "proj");
}

static void m_folder_missing_on_server(snap_t *srv, snap_t *cache)
{
	drop_folder(srv, "arch");
}

/* Server mail 100+ days old that the cache does not hold, and old calendar items missing too. */
static void m_old_mail(snap_t *srv, snap_t *cache)
{
	for (int i = 0; i < 8; i++)
		item(srv, "inbox", 0x6000 + (uint64_t)i, "old mail", 100 + 30 * i);
	for (int i = 0; i < 2; i++)
		item(srv, "sent", 0x6100 + (uint64_t)i, "old sent", 200 + i);
}

static void m_old_mail_and_calendar(snap_t *srv, snap_t *cache)
{
	m_old_mail(srv, cache);
	snap_item *it = item(srv, "cal", 0x6200, "old meeting", 500);
	it->cls = snap_strdup(srv, "IPM.Appointment");
}

static void m_by_design(snap_t *srv, snap_t *cache)
{
	for (int i = 0; i < 3; i++)
		item(cache, "sync", 0x7000 + (uint64_t)i, "Synchronization log", i);
	folder(cache, "rem", "finder", "/Root - Mailbox/Finder/Reminders", "Reminders", "reminders", NULL, 0x19852982);
	folder(cache, "views", "root", "/Root - Mailbox/Views", "Views", "views", NULL, 0x09);
	folder(srv, "rec", "root", "/Recoverable Items", "Recoverable Items", "recoverableitemsroot", NULL, 0x8000);
	folder(srv, "recdel", "rec", "/Recoverable Items/Deletions", "Deletions", "recoverableitemsdeletions", NULL, 0x8001);
	for (int i = 0; i < 4; i++)
		item(srv, "recdel", 0x8100 + (uint64_t)i, "deleted long ago", 10 + i);
	folder(srv, "audits", "root", "/Audits", "Audits", "other", NULL, 0x8002);
}

static void m_damaged(snap_t *srv, snap_t *cache)
{
	cache->integrity.present = true;
	cache->integrity.corrupted = true;
}

static void m_unreadable_item(snap_t *srv, snap_t *cache)
{
	drop_item(cache, 0x1008);
	snap_error *e = snap_add_error(cache, ERR_SCOPE_ITEM, "unreadable", "cannot read the item");
	e->folder_id = snap_strdup(cache, "inbox");
	e->path = snap_strdup(cache, "/Root - Mailbox/IPM_SUBTREE/Inbox");
}

static void m_server_folder_failed(snap_t *srv, snap_t *cache)
{
	for (int i = 0; i < 20; i++)
		drop_item(srv, 0x1000 + (uint64_t)i);
	snap_error *e = snap_add_error(srv, ERR_SCOPE_FOLDER, "access_denied", "FindItem: ErrorAccessDenied");
	e->id = snap_strdup(srv, "inbox");
}

/* The server could not list Inbox/Projects at all: the folder is absent from its hierarchy. */
static void m_server_subtree_failed(snap_t *srv, snap_t *cache)
{
	drop_folder(srv, "proj");
	snap_error *e = snap_add_error(srv, ERR_SCOPE_FOLDER, "protocol", "FindFolder: ErrorInternalServerError");
	e->path = snap_strdup(srv, "/Top of Information Store/Inbox/Projects");
}

static void m_duplicate_key(snap_t *srv, snap_t *cache)
{
	snap_item *it = item(cache, "inbox", 0x1009, "inbox mail", 9);
	it->id = snap_strdup(cache, "i1009-copy");
}

static void m_concentrated(snap_t *srv, snap_t *cache)
{
	for (int i = 0; i < 5; i++)
		drop_item(cache, 0x1000 + (uint64_t)i);
	for (int i = 0; i < 3; i++)
		drop_item(cache, 0x2000 + (uint64_t)i);
}

static void m_widespread(snap_t *srv, snap_t *cache)
{
	drop_item(cache, 0x1000);
	drop_item(cache, 0x2000);
	drop_item(cache, 0x2100);
	drop_item(cache, 0x3000);
	drop_item(cache, 0x3100);
}

static void m_gc_only_item(snap_t *srv, snap_t *cache)
{
	snap_item *it = find_item(cache, 0x1010);
	it->ident.has_key = 0;
	it->ident.origin = KEY_GC_ONLY;
}

static void m_keyless(snap_t *srv, snap_t *cache)
{
	for (size_t i = 0; i < cache->n_items; i++) {
		cache->items[i].ident.has_key = cache->items[i].ident.has_gc = 0;
		cache->items[i].ident.origin = KEY_NONE;
	}
	/* Two keyless items that differ only by date still pair one to one. */
}

/* A flag set on the server against a cached item without any flag status (Outlook often stores
 * none): a change. */
static void m_flag_absent_in_cache(snap_t *srv, snap_t *cache)
{
	find_item(srv, 0x1002)->flag_status = 2;
	find_item(cache, 0x1002)->flag_status = -1;
}

/* High importance on the server, none stored in the cache (normal): a change. */
static void m_importance_absent_in_cache(snap_t *srv, snap_t *cache)
{
	find_item(srv, 0x1003)->importance = 2;
	find_item(cache, 0x1003)->importance = -1;
}

/* Nothing stored in the cache where the server states the default: no change. */
static void m_absent_means_default(snap_t *srv, snap_t *cache)
{
	for (size_t i = 0; i < cache->n_items; i++) {
		cache->items[i].flag_status = -1;
		cache->items[i].importance = -1;
	}
	find_item(srv, 0x1000)->subject = snap_strdup(srv, "");
	find_item(cache, 0x1000)->subject = NULL;
}

/* The read state is the read bit of the message flags wherever they are given (EWS gives IsRead
 * only on messages, the flags on every item): unread by the flags is unread, whatever `read` says. */
static void m_read_from_message_flags(snap_t *srv, snap_t *cache)
{
	snap_item *a = find_item(srv, 0x4000); /* an appointment: no IsRead over EWS */
	a->read = -1;
	a->msg_flags = 0;
	find_item(cache, 0x4000)->msg_flags = 1;
	snap_item *b = find_item(srv, 0x4001); /* read by its flags, like the cache's */
	b->read = -1;
	b->msg_flags = 1;
	snap_item *c = find_item(srv, 0x1009); /* IsRead true, the flags without the read bit */
	c->read = 1;
	c->msg_flags = 0x10;
}

static void m_associated(snap_t *srv, snap_t *cache)
{
	snap_item *it = item(cache, "inbox", 0x9000, "IPM.Rule.Version2.Message", 1);
	it->associated = 1;
}

typedef struct {
	const char *name;
	void (*mutate)(snap_t *srv, snap_t *cache);
	const char *window;
	diff_verdict verdict;
	int want[FIND_KIND_COUNT]; /* unexpected findings by kind */
	int64_t expected;          /* item differences classified as expected */
	size_t exports;
	size_t resync_folders;
} scenario;

static const scenario scenarios[] = {
	{"in sync", m_none, NULL, VERDICT_IN_SYNC, {0}, 0, 0, 0},
	{"missing in cache", m_missing_in_cache, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_MISSING] = 2}, 0, 0, 1},
	{"missing on server", m_missing_on_server, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_MISSING] = 1}, 0, 1, 1},
	{"read state, cache newer", m_read_cache_newer, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_CHANGED] = 1}, 0, 0, 1},
	{"flag, server newer", m_flag_server_newer, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_CHANGED] = 1}, 0, 0, 1},
	{"subject, conflict", m_subject_conflict, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_CHANGED] = 1}, 0, 0, 1},
	{"item moved", m_moved_item, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_MOVED] = 1}, 0, 0, 2},
	{"folder renamed", m_folder_renamed, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_FOLDER_RENAMED] = 1}, 0, 0, 1},
	{"folder moved", m_folder_moved, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_FOLDER_MOVED] = 1}, 0, 0, 1},
	{"folder missing in cache", m_folder_missing_in_cache, NULL, VERDICT_RESYNC_FOLDERS,
	 {[FIND_FOLDER_MISSING] = 1, [FIND_ITEM_MISSING] = 6}, 0, 0, 1},
	{"folder missing on server", m_folder_missing_on_server, NULL, VERDICT_RESYNC_FOLDERS,
	 {[FIND_FOLDER_MISSING] = 1, [FIND_ITEM_MISSING] = 6}, 0, 6, 1},
	{"sync window given", m_old_mail, "90d", VERDICT_IN_SYNC_EXCEPT_EXPECTED, {0}, 10, 0, 0},
	{"sync window given, old calendar item", m_old_mail_and_calendar, "90d", VERDICT_RESYNC_FOLDERS,
	 {[FIND_ITEM_MISSING] = 1}, 10, 0, 1},
	{"sync window inferred", m_old_mail, NULL, VERDICT_IN_SYNC_EXCEPT_EXPECTED, {0}, 10, 0, 0},
	{"sync window inferred, old calendar item", m_old_mail_and_calendar, NULL, VERDICT_RESYNC_FOLDERS,
	 {[FIND_ITEM_MISSING] = 1}, 10, 0, 1},
	{"sync window all: old mail is real", m_old_mail, "all", VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_MISSING] = 10}, 0, 0, 2},
	{"sync issues, search folders, recoverable items", m_by_design, NULL, VERDICT_IN_SYNC_EXCEPT_EXPECTED, {0}, 7, 0, 0},
	{"damaged cache", m_damaged, NULL, VERDICT_REBUILD_OST, {[FIND_FILE_DAMAGED] = 1}, 0, 0, 0},
	/* The server item the cache lacks may be the unreadable one: unverified, not missing. */
	{"unreadable cache item", m_unreadable_item, NULL, VERDICT_REBUILD_OST, {[FIND_ITEM_UNREADABLE] = 1}, 0, 0, 0},
	{"server folder failed", m_server_folder_failed, NULL, VERDICT_INCOMPLETE, {[FIND_SOURCE_INCOMPLETE] = 1}, 0, 20, 0},
	{"server subtree failed", m_server_subtree_failed, NULL, VERDICT_INCOMPLETE, {[FIND_SOURCE_INCOMPLETE] = 1}, 0, 6, 0},
	{"duplicate key", m_duplicate_key, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_DUPLICATE_KEY] = 1}, 0, 0, 1},
	{"concentrated", m_concentrated, NULL, VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_MISSING] = 8}, 0, 0, 2},
	{"widespread", m_widespread, NULL, VERDICT_REBUILD_OST, {[FIND_ITEM_MISSING] = 5}, 0, 0, 5},
	{"gc-only item pairs", m_gc_only_item, NULL, VERDICT_IN_SYNC, {0}, 0, 0, 0},
	{"keyless items pair by heuristic", m_keyless, NULL, VERDICT_IN_SYNC, {0}, 0, 0, 0},
	{"associated items are not mixed in", m_associated, NULL, VERDICT_IN_SYNC, {0}, 0, 0, 0},
	{"flag set on the server, none in the cache", m_flag_absent_in_cache, NULL, VERDICT_RESYNC_FOLDERS,
	 {[FIND_ITEM_CHANGED] = 1}, 0, 0, 1},
	{"importance high on the server, none in the cache", m_importance_absent_in_cache, NULL,
	 VERDICT_RESYNC_FOLDERS, {[FIND_ITEM_CHANGED] = 1}, 0, 0, 1},
	{"absent properties mean their default", m_absent_means_default, NULL, VERDICT_IN_SYNC, {0}, 0, 0, 0},
	{"read state from the message flags", m_read_from_message_flags, NULL, VERDICT_RESYNC_FOLDERS,
	 {[FIND_ITEM_CHANGED] = 2}, 0, 0, 2},
};

static diff_result *run(const scenario *sc, snap_t **srv, snap_t **cache)
{
	*srv = mailbox(false);
	*cache = mailbox(true);
	sc->mutate(*srv, *cache);
	diff_options opt;
	diff_options_init(&opt);
	if (sc->window)
		assert_int_equal(diff_window_parse(sc->window, &opt.window), 0);
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(*srv, *cache, &opt, &r, &err), 0);
	return r;
}

static void scenario_table(void **state)
{
	for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++) {
		const scenario *sc = &scenarios[k];
		snap_t *srv, *cache;
		diff_result *r = run(sc, &srv, &cache);
		int got[FIND_KIND_COUNT] = {0};
		for (size_t i = 0; i < r->n_findings; i++)
			if (!r->findings[i].expected)
				got[r->findings[i].kind]++;
		for (int kd = 0; kd < FIND_KIND_COUNT; kd++)
			if (got[kd] != sc->want[kd])
				fail_msg("%s: %d %s findings, expected %d", sc->name, got[kd], diff_kind_name(kd), sc->want[kd]);
		if (r->advice.verdict != sc->verdict)
			fail_msg("%s: verdict %s, expected %s", sc->name, diff_verdict_name(r->advice.verdict),
			         diff_verdict_name(sc->verdict));
		if (r->expected != sc->expected)
			fail_msg("%s: %lld expected differences, expected %lld", sc->name, (long long)r->expected,
			         (long long)sc->expected);
		if (r->n_exports != sc->exports)
			fail_msg("%s: %zu items to export, expected %zu", sc->name, r->n_exports, sc->exports);
		if (r->advice.n_resync_rows != sc->resync_folders)
			fail_msg("%s: %zu folders with differences, expected %zu", sc->name, r->advice.n_resync_rows,
			         sc->resync_folders);
		diff_result_free(r);
		snap_free(srv);
		snap_free(cache);
	}
}

static const diff_finding *only(const diff_result *r, diff_kind kind)
{
	const diff_finding *hit = NULL;
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].kind == kind && !r->findings[i].expected) {
			assert_null(hit);
			hit = &r->findings[i];
		}
	assert_non_null(hit);
	return hit;
}

static const scenario *named(const char *name)
{
	for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++)
		if (strcmp(scenarios[k].name, name) == 0)
			return &scenarios[k];
	fail_msg("no scenario %s", name);
	return NULL;
}

/* The details the table does not hold: direction, evidence, pairing methods, the window. */
static void scenario_details(void **state)
{
	snap_t *srv, *cache;
	diff_result *r = run(named("read state, cache newer"), &srv, &cache);
	const diff_finding *f = only(r, FIND_ITEM_CHANGED);
	assert_int_equal(f->props, PROP_READ);
	assert_int_equal(f->newer, NEWER_SIDE1);
	assert_string_equal(diff_side_label(r, f->newer), "cache");
	assert_non_null(strstr(diff_finding_action(r, f), "not yet uploaded"));
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("flag, server newer"), &srv, &cache);
	f = only(r, FIND_ITEM_CHANGED);
	assert_int_equal(f->props, PROP_FLAG);
	assert_int_equal(f->newer, NEWER_SIDE0);
	assert_non_null(strstr(diff_finding_action(r, f), "stale"));
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("subject, conflict"), &srv, &cache);
	f = only(r, FIND_ITEM_CHANGED);
	assert_int_equal(f->props, PROP_SUBJECT);
	assert_int_equal(f->newer, NEWER_CONFLICT);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("missing in cache"), &srv, &cache);
	/* Replid-0 folders of the cache (gc only) pair with the server's by gc and role. */
	for (size_t i = 0; i < r->n_rows; i++) {
		const diff_row *row = &r->rows[i];
		const char *role = diff_row_role(r, row);
		if (strcmp(role, "inbox") == 0 || strcmp(role, "msgfolderroot") == 0 || strcmp(role, "root") == 0)
			assert_int_equal(row->pair, PAIR_GC_ROLE);
		if (strcmp(role, "calendar") == 0)
			assert_int_equal(row->pair, PAIR_KEY);
		char p[256];
		diff_row_path(r, row, p, sizeof p);
		if (strcmp(role, "inbox") == 0) {
			assert_string_equal(p, "Inbox");
			assert_int_equal(row->missing[1], 2);
			assert_int_equal(row->count[0], 20);
			assert_int_equal(row->count[1], 18);
			assert_int_equal(row->matched, 18);
		}
	}
	assert_int_equal(r->pairs_by[PAIR_KEY], r->items[1]);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("sync window inferred"), &srv, &cache);
	assert_true(r->window.applied);
	assert_int_equal(r->window.items, 10);
	assert_int_equal(r->window.inferred_days, 25); /* the oldest cached mail: Archive 2025, 25 days */
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("gc-only item pairs"), &srv, &cache);
	assert_int_equal(r->pairs_by[PAIR_GC_ONLY], 1);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("keyless items pair by heuristic"), &srv, &cache);
	assert_int_equal(r->pairs_by[PAIR_HEURISTIC], r->items[1]);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("associated items are not mixed in"), &srv, &cache);
	assert_int_equal(r->assoc[1], 1);
	assert_int_equal(r->items[0], r->items[1]);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	r = run(named("item moved"), &srv, &cache);
	f = only(r, FIND_ITEM_MOVED);
	assert_int_equal(f->props, 0);
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* Associated items compared when asked: apart from normal items, marked as such. */
static void associated_compared_apart(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	m_associated(srv, cache);
	/* A view on both sides whose read bits differ: associated messages keep no read state. */
	for (int s = 0; s < 2; s++) {
		snap_t *x = s ? cache : srv;
		snap_item *v = item(x, "inbox", 0x9001, "IPM.Microsoft.FolderDesign.NamedView", 1);
		v->associated = 1;
		v->msg_flags = s ? 0x40 : 0x41;
	}
	diff_options opt;
	diff_options_init(&opt);
	opt.compare_associated = true;
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, &opt, &r, &err), 0);
	const diff_finding *f = only(r, FIND_ITEM_MISSING);
	assert_true(f->associated);
	assert_int_equal(r->items[0], r->items[1]);
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* Odd input does not trip the engine: items of unknown folders, a server capture with a file-level
 * error, folders without paths, a folder that is its own parent. */
static void odd_input(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	item(cache, "no-such-folder", 0xa000, "lost", 1);
	item(srv, "no-such-folder", 0xa001, "lost too", 1);
	snap_add_error(srv, ERR_SCOPE_FILE, "protocol", "SyncFolderHierarchy failed half way");
	snap_folder *f = folder(cache, "loop", "loop", NULL, NULL, NULL, NULL, 0xb000);
	(void)f;
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	assert_int_equal(r->advice.verdict, VERDICT_INCOMPLETE);
	assert_int_equal(r->missing[0], 0); /* the server could not be listed: nothing is missing there */
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* Any two snapshots compare: a cache against itself is in sync, and so is a server. */
static void same_kind_sides(void **state)
{
	snap_t *a = mailbox(true), *b = mailbox(true);
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(a, b, NULL, &r, &err), 0);
	assert_int_equal(r->advice.verdict, VERDICT_IN_SYNC);
	assert_string_equal(diff_side_label(r, 0), "cache A");
	diff_result_free(r);
	drop_item(b, 0x1001);
	assert_int_equal(diff_run(a, b, NULL, &r, &err), 0);
	assert_int_equal(r->advice.verdict, VERDICT_RESYNC_FOLDERS);
	assert_int_equal(r->n_exports, 0); /* no server side: nothing is "only in the cache" */
	diff_result_free(r), snap_free(a), snap_free(b);
}

/* Past DIFF_DETAIL_MAX findings of one kind in one folder, the rest are summed into one finding;
 * the verdict counts every item. */
static void many_differences_are_summed(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	for (int i = 0; i < 1500; i++)
		item(srv, "inbox", 0x100000 + (uint64_t)i, "bulk", i % 10);
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	size_t single = 0, summaries = 0;
	int64_t counted = 0;
	for (size_t i = 0; i < r->n_findings; i++) {
		const diff_finding *f = &r->findings[i];
		if (f->kind != FIND_ITEM_MISSING || f->expected)
			continue;
		if (f->summary) {
			summaries++;
			assert_int_equal(f->item[0], -1);
		} else {
			single++;
		}
		counted += f->count;
	}
	assert_int_equal(single, DIFF_DETAIL_MAX);
	assert_int_equal(summaries, 1);
	assert_int_equal(counted, 1500);
	assert_int_equal(r->missing[1], 1500);
	assert_int_equal(r->advice.verdict, VERDICT_REBUILD_OST); /* 1500 items, more than 10 % */
	assert_true(r->advice.widespread);
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* Root - Public and everything below it (its NON_IPM_SUBTREE, EFORMS REGISTRY, IPM_SUBTREE) is
 * public_folders, not non_ipm_folder: the first role met walking up does not decide. */
static void public_folders_all_the_way_down(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	folder(cache, "pub", "file", "/Root - Public", "Root - Public", "publicroot", NULL, 0x01);
	folder(cache, "pubnon", "pub", "/Root - Public/NON_IPM_SUBTREE", "NON_IPM_SUBTREE", "nonipmsubtree", NULL, 0x02);
	folder(cache, "eforms", "pubnon", "/Root - Public/NON_IPM_SUBTREE/EFORMS REGISTRY", "EFORMS REGISTRY", "other",
	       NULL, 0x03);
	folder(cache, "pubipm", "pub", "/Root - Public/IPM_SUBTREE", "IPM_SUBTREE", "publicipmsubtree", NULL, 0x04);
	folder(cache, "fav", "pubipm", "/Root - Public/IPM_SUBTREE/Favorites", "Favorites", "other", NULL, 0x0f);
	item(cache, "eforms", 0xc000, "form", 3);
	item(cache, "fav", 0xc001, "favourite post", 3);
	/* The mailbox's own NON_IPM_SUBTREE stays non_ipm_folder. */
	folder(srv, "non", "root", "/NON_IPM_SUBTREE", "NON_IPM_SUBTREE", "nonipmsubtree", NULL, 0xd000);
	folder(srv, "nonsub", "non", "/NON_IPM_SUBTREE/Something", "Something", "other", NULL, 0xd001);
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	assert_int_equal(r->advice.verdict, VERDICT_IN_SYNC_EXCEPT_EXPECTED);
	size_t public = 0, non_ipm = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		char p[256];
		diff_row_path(r, &r->rows[i], p, sizeof p);
		if (strstr(p, "Root - Public")) {
			assert_int_equal(r->rows[i].reason, REASON_PUBLIC);
			public++;
		} else if (strstr(p, "NON_IPM_SUBTREE")) {
			assert_int_equal(r->rows[i].reason, REASON_NON_IPM);
			non_ipm++;
		}
	}
	assert_int_equal(public, 5);
	assert_int_equal(non_ipm, 2);
	for (size_t i = 0; i < r->n_findings; i++) {
		const diff_finding *f = &r->findings[i];
		assert_true(f->expected);
		if (f->folder[1] >= 0 && strstr(cache->folders[f->folder[1]].path, "Root - Public"))
			assert_int_equal(f->reason, REASON_PUBLIC);
	}
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* ---------------------------------------------------------------- replicas */

/* Items of replica `r` (GUID r repeated): a full key on the server, on a cache only replid + gc. */
static void replica_items(snap_t *s, const char *folder_id, uint8_t r, int32_t replid, bool keyed, int n)
{
	for (int k = 0; k < n; k++) {
		char id[32];
		snprintf(id, sizeof id, "r%u-%d", r, k);
		snap_item *it = item(s, folder_id, 0x7000 + (uint64_t)k, id, k);
		it->id = snap_strdup(s, id);
		memset(it->ident.key, r, 16);
		it->ident.has_key = keyed;
		it->ident.replid = keyed ? -1 : replid;
		it->ident.origin = keyed ? KEY_SOURCE_KEY : KEY_GC_ONLY;
	}
}

static void drop_id(snap_t *s, const char *id)
{
	for (size_t i = 0; i < s->n_items; i++)
		if (strcmp(s->items[i].id, id) == 0) {
			memmove(&s->items[i], &s->items[i + 1], (s->n_items - i - 1) * sizeof *s->items);
			s->n_items--;
			return;
		}
	fail_msg("no item %s", id);
}

/* Two replicas whose GUIDs the cache does not know, with the same counters (0x7000..0x7009) in
 * each, and a third whose replid would only match a GUID the cache already keys by another
 * replid. Every counter pairs within its replica; the two items really missing are the only
 * findings and nothing is listed for export. */
static void counters_pair_within_their_replica(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	replica_items(srv, "inbox", 0x22, -1, true, 10);
	replica_items(srv, "arch", 0x33, -1, true, 10);
	replica_items(cache, "inbox", 0x22, 2, false, 10);
	replica_items(cache, "arch", 0x33, 3, false, 10);
	drop_id(cache, "r34-3");  /* 0x22 = 34 */
	drop_id(cache, "r51-5");  /* 0x33 = 51 */
	/* Replid 4 of the cache holds a counter only GUID1's items have, and GUID1 is replid 1's. */
	snap_item *odd = item(cache, "inbox", 0x1003, "another replica", 1);
	odd->id = snap_strdup(cache, "odd");
	odd->ident.has_key = 0;
	odd->ident.replid = 4;
	odd->ident.origin = KEY_GC_ONLY;
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	assert_int_equal(r->pairs_by[PAIR_GC_ONLY], 18);
	assert_int_equal(r->missing[1], 2);
	assert_int_equal(r->missing[0], 1); /* the replid-4 item: on no server replica */
	assert_int_equal(r->n_exports, 1);
	assert_string_equal(r->snap[1]->items[r->exports[0].item].id, "odd");
	for (size_t i = 0; i < r->n_findings; i++)
		assert_int_not_equal(r->findings[i].kind, FIND_DUPLICATE_KEY);
	diff_result_free(r);

	/* Two items of one replid with one counter claim one key, whatever the other side holds. */
	snap_item *twin = item(cache, "arch", 0x7007, "r51-7 (copy)", 7);
	twin->id = snap_strdup(cache, "twin");
	twin->ident.has_key = 0;
	twin->ident.replid = 3;
	twin->ident.origin = KEY_GC_ONLY;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	const diff_finding *dup = only(r, FIND_DUPLICATE_KEY);
	assert_string_equal(r->snap[1]->items[dup->second].id, "twin");
	assert_int_equal(r->pairs_by[PAIR_GC_ONLY], 18);
	assert_int_equal(r->missing[0], 1);
	diff_result_free(r);
	drop_id(cache, "twin");

	/* Two caches of the mailbox number the replids in another order: they still pair. */
	snap_t *other = mailbox(true);
	replica_items(other, "inbox", 0x22, 7, false, 10);
	replica_items(other, "arch", 0x33, 5, false, 10);
	assert_int_equal(diff_run(cache, other, NULL, &r, &err), 0);
	assert_int_equal(r->pairs_by[PAIR_GC_ONLY], 18);
	assert_int_equal(r->missing[0], 2);
	assert_int_equal(r->missing[1], 1);
	diff_result_free(r), snap_free(srv), snap_free(cache), snap_free(other);
}

/* ---------------------------------------------------------------- the right two sides */

static diff_sides_problem sides_of(snap_t *a, snap_t *b, diff_sides *d)
{
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(a, b, NULL, &r, &err), 0);
	diff_check_sides(r, d);
	diff_result_free(r);
	return d->problem;
}

/* Many items on each side (n per folder of five): enough for the pairing check to apply. */
static void bulk(snap_t *s, int n, uint8_t guid_byte)
{
	static const char *const fids[] = {"inbox", "sent", "proj", "arch", "deleted"};
	for (int f = 0; f < 5; f++)
		for (int k = 0; k < n; k++) {
			snap_item *it = item(s, fids[f], 0x20000 + (uint64_t)(f * 1000 + k), "bulk mail", k % 20);
			if (guid_byte)
				memset(it->ident.key, guid_byte, 16);
		}
}

static void right_two_sides(void **state)
{
	diff_sides d;
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	bulk(srv, 30, 0);
	bulk(cache, 30, 0);
	srv->hdr.mailbox = snap_strdup(srv, "alice@contoso.com");
	cache->hdr.mailbox = snap_strdup(cache, "Alice@Contoso.com");
	assert_int_equal(sides_of(srv, cache, &d), DIFF_SIDES_OK);
	assert_int_equal(d.paired, 198);
	/* The cache file's own store names another mailbox: it wins over what the capture was told. */
	cache->hdr.store_name = snap_strdup(cache, "bob@contoso.com");
	assert_int_equal(sides_of(srv, cache, &d), DIFF_SIDES_OTHER_MAILBOX);
	assert_string_equal(d.mailbox[0], "alice@contoso.com");
	assert_string_equal(d.mailbox[1], "bob@contoso.com");
	/* A store name that is no address (Outlook 2010's, a .pst's "Personal Folders") names nothing. */
	cache->hdr.store_name = snap_strdup(cache, "Mailbox - Alice");
	assert_int_equal(sides_of(srv, cache, &d), DIFF_SIDES_OK);
	cache->hdr.mailbox = NULL;
	assert_int_equal(sides_of(srv, cache, &d), DIFF_SIDES_OK); /* one side names none */

	/* A .pst against a server is refused; two .pst files, or one with itself, are not. */
	cache->hdr.source = SRC_PST;
	assert_int_equal(sides_of(srv, cache, &d), DIFF_SIDES_PST);
	assert_int_equal(d.side, 1);
	assert_int_equal(sides_of(cache, cache, &d), DIFF_SIDES_OK);
	snap_t *other = mailbox(true);
	other->hdr.source = SRC_PST;
	assert_int_equal(sides_of(cache, other, &d), DIFF_SIDES_OK);
	snap_free(other);
	cache->hdr.source = SRC_OST;

	/* The cache of another mailbox under the same name: other replica GUIDs, nothing pairs but the
	 * folders. */
	other = mailbox(true);
	bulk(other, 30, 0x5a);
	for (size_t i = 0; i < other->n_items; i++)
		memset(other->items[i].ident.key, 0x5a, 16);
	assert_int_equal(sides_of(srv, other, &d), DIFF_SIDES_UNRELATED);
	assert_int_equal(d.paired, 0);
	assert_true(d.comparable[0] >= DIFF_UNRELATED_MIN_ITEMS && d.comparable[1] >= DIFF_UNRELATED_MIN_ITEMS);
	snap_free(other);

	/* A cache that holds a tenth of the mailbox (a short sync window, a cache still downloading)
	 * pairs all of its own: the smaller side decides. */
	snap_t *big = mailbox(false);
	bulk(big, 250, 0);
	other = mailbox(true);
	bulk(other, 20, 0);
	assert_int_equal(sides_of(big, other, &d), DIFF_SIDES_OK);
	assert_int_equal(d.comparable[0], 1298);
	assert_int_equal(d.comparable[1], 148);
	snap_free(other), snap_free(big);

	/* Two small unrelated sides are compared: too few items to tell. */
	snap_t *small = mailbox(false);
	other = mailbox(true);
	for (size_t i = 0; i < other->n_items; i++)
		memset(other->items[i].ident.key, 0x5a, 16);
	assert_int_equal(sides_of(small, other, &d), DIFF_SIDES_OK);
	assert_int_equal(d.paired, 0);
	snap_free(other), snap_free(small), snap_free(srv), snap_free(cache);
}

/* One item missing in each of six folders: widespread in a mailbox of some fifty items, stragglers
 * (resynchronize the six) in one of two thousand. */
static void widespread_needs_breadth_and_share(void **state)
{
	snap_t *srv = mailbox(false), *cache = mailbox(true);
	bulk(srv, 390, 0);
	bulk(cache, 390, 0);
	static const uint64_t one_each[] = {0x1000, 0x2000, 0x2100, 0x3000, 0x3100, 0x4000};
	for (size_t k = 0; k < 6; k++)
		drop_item(cache, one_each[k]);
	diff_result *r = NULL;
	or_error err;
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	assert_int_equal(r->advice.affected_folders, 6);
	assert_int_equal(r->advice.differing_objects, 6);
	assert_true(r->advice.compared_objects > 1990);
	assert_false(r->advice.widespread);
	assert_int_equal(r->advice.verdict, VERDICT_RESYNC_FOLDERS);
	assert_int_equal(r->advice.n_resync_rows, 6);
	diff_result_free(r), snap_free(srv), snap_free(cache);

	srv = mailbox(false), cache = mailbox(true);
	for (size_t k = 0; k < 6; k++)
		drop_item(cache, one_each[k]);
	assert_int_equal(diff_run(srv, cache, NULL, &r, &err), 0);
	assert_true(r->advice.widespread);
	assert_int_equal(r->advice.verdict, VERDICT_REBUILD_OST);
	diff_result_free(r), snap_free(srv), snap_free(cache);
}

/* ---------------------------------------------------------------- PCLs */

static void pcl_ordering(void **state)
{
	/* XIDs: length 20 (GUID + 4-byte counter) or 22 (GUID + 6-byte counter). */
	uint8_t g1[16], g2[16];
	memset(g1, 0x11, 16);
	memset(g2, 0x22, 16);
	uint8_t a[64], b[64];
	size_t an = 0, bn = 0;
#define XID(buf, n, g, len, ctr)                                                                               \
	do {                                                                                                   \
		buf[n++] = (len);                                                                              \
		memcpy(buf + n, g, 16);                                                                        \
		n += 16;                                                                                       \
		for (int i_ = (len) - 16 - 1; i_ >= 0; i_--)                                                   \
			buf[n++] = (uint8_t)((uint64_t)(ctr) >> (8 * i_));                                     \
	} while (0)
	XID(a, an, g1, 20, 5);
	XID(a, an, g2, 22, 9);
	XID(b, bn, g1, 22, 5); /* same counter in another width */
	assert_int_equal(diff_pcl_includes(a, an, b, bn), 1);
	assert_int_equal(diff_pcl_includes(b, bn, a, an), 0);
	assert_int_equal(diff_pcl_compare(a, an, b, bn), PCL_A_NEWER);
	assert_int_equal(diff_pcl_compare(b, bn, a, an), PCL_B_NEWER);
	assert_int_equal(diff_pcl_compare(a, an, a, an), PCL_EQUAL);
	bn = 0;
	XID(b, bn, g1, 20, 6);
	assert_int_equal(diff_pcl_compare(a, an, b, bn), PCL_CONFLICT); /* a ahead on g2, b on g1 */
	bn = 0;
	XID(b, bn, g1, 20, 6);
	XID(b, bn, g2, 20, 9);
	assert_int_equal(diff_pcl_compare(a, an, b, bn), PCL_B_NEWER);
	assert_int_equal(diff_pcl_compare(NULL, 0, b, bn), PCL_B_NEWER); /* empty is included by all */
	/* Malformed: a length shorter than a GUID, or running past the end. */
	uint8_t bad1[] = {3, 1, 2, 3};
	uint8_t bad2[] = {20, 1, 2};
	assert_int_equal(diff_pcl_includes(bad1, sizeof bad1, b, bn), -1);
	assert_int_equal(diff_pcl_includes(a, an, bad2, sizeof bad2), -1);
	assert_int_equal(diff_pcl_compare(a, an, bad2, sizeof bad2), PCL_INVALID);
#undef XID
}

static void window_parsing(void **state)
{
	diff_window w;
	char out[16];
	assert_int_equal(diff_window_parse("12m", &w), 0);
	assert_int_equal(w.mode, DIFF_WINDOW_GIVEN);
	assert_int_equal(w.months, 12);
	diff_window_format(&w, out, sizeof out);
	assert_string_equal(out, "12m");
	assert_int_equal(diff_window_parse("90d", &w), 0);
	assert_int_equal(w.days, 90);
	assert_int_equal(diff_window_parse("2w", &w), 0);
	assert_int_equal(w.days, 14);
	assert_int_equal(diff_window_parse("1y", &w), 0);
	assert_int_equal(w.months, 12);
	assert_int_equal(diff_window_parse("all", &w), 0);
	assert_int_equal(w.mode, DIFF_WINDOW_ALL);
	assert_int_equal(diff_window_parse("infer", &w), 0);
	assert_int_equal(w.mode, DIFF_WINDOW_INFER);
	assert_int_equal(diff_window_parse("12", &w), -1);
	assert_int_equal(diff_window_parse("m", &w), -1);
	assert_int_equal(diff_window_parse("-3d", &w), -1);
	assert_int_equal(diff_window_parse("0d", &w), -1);
	assert_int_equal(diff_window_parse("5x", &w), -1);
}

static int setup(void **state)
{
	return filetime_parse("2026-11-01T00:00:00Z", &REF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scenario_table),     cmocka_unit_test(scenario_details),
		cmocka_unit_test(associated_compared_apart), cmocka_unit_test(same_kind_sides),
		cmocka_unit_test(many_differences_are_summed), cmocka_unit_test(odd_input),
		cmocka_unit_test(pcl_ordering),       cmocka_unit_test(window_parsing),
		cmocka_unit_test(counters_pair_within_their_replica),
		cmocka_unit_test(public_folders_all_the_way_down), cmocka_unit_test(right_two_sides),
		cmocka_unit_test(widespread_needs_breadth_and_share),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
