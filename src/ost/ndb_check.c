/*
 * ndb_check.c: the NDB integrity scan ([MS-PST] 2.2.2), independent of libpff.
 *
 * libpff 20180714 reads a block whose CRC is wrong without a word (docs/QUIRKS.md), so the reader
 * checks the file's own checksums here: from the header's ROOT it walks the node B-tree (NBT) and
 * the block B-tree (BBT), verifies every page trailer (ptype, wSig, CRC, back pointer), then reads
 * every block the BBT lists and verifies its trailer (cb, bid) and its CRC. A bad block that is a
 * node's data or subnode block is tied to that node, so the snapshot can name the message or folder.
 *
 * Nothing read from the file is trusted before it is checked: every offset and size is held against
 * the file size, B-tree depth is bounded, pages already visited are not walked again, and the whole
 * scan stops after a number of pages and blocks proportional to the file size.
 */
#include "ndb.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- blocks */

static int cmp_bbt_ib(const void *a, const void *b)
{
	const ndb_bbt_ent *x = a, *y = b;
	return x->ib < y->ib ? -1 : x->ib > y->ib;
}

/* Blocks are checked in offset order through a window of the file read in large pieces. */
#define WINDOW (1u << 20)
typedef struct {
	uint8_t *buf;
	uint64_t off;
	size_t len;
} window;

/* Points *out at `n` bytes at `off`, reading a new window when they are not in the current one. */
static int window_get(ndb_file *s, window *w, uint64_t off, size_t n, const uint8_t **out)
{
	if (!(w->len && off >= w->off && off + n <= w->off + w->len)) {
		size_t want = WINDOW;
		if (off + want > s->size)
			want = (size_t)(s->size - off);
		if (want < n)
			want = n;
		int rc = ndb_read_at(s, w->buf, want, off, s->err);
		if (rc)
			return rc;
		w->off = off;
		w->len = want;
	}
	*out = w->buf + (off - w->off);
	return 0;
}

static int check_block(ndb_file *s, window *win, const ndb_bbt_ent *b)
{
	const uint8_t *blk;
	const ndb_format *f = s->f;
	size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
	int rc = 0;
	if (!ndb_take_budget(s))
		goto out;
	s->rep->blocks_checked++;
	if (total > f->blk_max) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx: the block B-tree gives it %u bytes, "
		        "more than a block holds", (unsigned long long)b->bid, b->cb);
		goto out;
	}
	if (b->ib < f->page || b->ib > s->size || s->size - b->ib < total) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu (%zu bytes) lies "
		        "outside the file (%llu bytes)", (unsigned long long)b->bid, (unsigned long long)b->ib, total,
		        (unsigned long long)s->size);
		goto out;
	}
	if ((rc = window_get(s, win, b->ib, total, &blk)) != 0)
		goto out;
	const uint8_t *t = blk + total - f->blk_trailer;
	uint16_t cb = ndb_le16(t);
	uint32_t crc_stored = f->kind == FMT_ANSI ? ndb_le32(t + 8) : ndb_le32(t + 4);
	uint64_t bid = f->kind == FMT_ANSI ? ndb_le32(t + 4) : ndb_le64(t + 8);
	/* bit 0 of a BID is reserved: readers ignore it ([MS-PST] 2.2.2.2) */
	if (cb != b->cb || (bid & ~1ull) != (b->bid & ~1ull)) {
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu: its trailer names "
		        "block 0x%llx of %u bytes, the block B-tree block 0x%llx of %u bytes", (unsigned long long)b->bid,
		        (unsigned long long)b->ib, (unsigned long long)bid, cb, (unsigned long long)b->bid, b->cb);
		goto out;
	}
	uint32_t crc = ndb_crc(0, blk, cb);
	if (crc != crc_stored)
		ndb_add_problem(s->rep, NDB_BLOCK, "bad_crc", b->ib, b->bid, "block 0x%llx at offset %llu: CRC 0x%08x stored, "
		        "0x%08x computed over its %u bytes", (unsigned long long)b->bid, (unsigned long long)b->ib,
		        crc_stored, crc, cb);
out:
	return rc;
}

typedef struct { uint64_t bid; size_t k; } bad_ref;

static int cmp_bad(const void *a, const void *b)
{
	const bad_ref *x = a, *y = b;
	return x->bid < y->bid ? -1 : x->bid > y->bid;
}

static void tie(ndb_report *r, const bad_ref *refs, size_t n, uint64_t bid, const ndb_nbt_ent *node, bool sub)
{
	if (!bid)
		return;
	bad_ref key = {bid & ~1ull, 0};
	const bad_ref *hit = bsearch(&key, refs, n, sizeof *refs, cmp_bad);
	if (!hit)
		return;
	/* equal bids sit side by side: the same block can be listed once only, but be safe */
	while (hit > refs && hit[-1].bid == key.bid)
		hit--;
	for (; hit < refs + n && hit->bid == key.bid; hit++) {
		ndb_problem *p = &r->problems[hit->k];
		if (!p->nid) {
			p->nid = node->nid;
			p->parent = node->parent;
			p->sub = sub;
		}
	}
}

/* Ties each listed bad block to the node whose data or subnode block it is. */
static int map_nodes(ndb_file *s)
{
	ndb_report *r = s->rep;
	bad_ref *refs = malloc((r->n_problems ? r->n_problems : 1) * sizeof *refs);
	size_t n = 0;
	if (!refs)
		return or_fail(s->err, OR_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < r->n_problems; k++)
		if (r->problems[k].what == NDB_BLOCK)
			refs[n++] = (bad_ref){r->problems[k].bid & ~1ull, k};
	if (n) {
		qsort(refs, n, sizeof *refs, cmp_bad);
		for (size_t i = 0; i < s->n_nbt; i++) {
			tie(r, refs, n, s->nbt[i].data, &s->nbt[i], false);
			tie(r, refs, n, s->nbt[i].sub, &s->nbt[i], true);
		}
	}
	free(refs);
	return 0;
}

/* ---------------------------------------------------------------- entry point */

int ndb_check(const char *path, ndb_report *rep, or_error *err)
{
	ndb_file nf;
	memset(rep, 0, sizeof *rep);
	int rc = ndb_open(&nf, path, rep, err);
	window win = {0};
	if (rc != 0) {
		rc = rc > 0 ? 0 : rc;
		goto out;
	}
	if (!(win.buf = malloc(WINDOW > nf.f->blk_max ? WINDOW : nf.f->blk_max))) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* In offset order: the file is read front to back. */
	if (nf.n_bbt)
		qsort(nf.bbt, nf.n_bbt, sizeof *nf.bbt, cmp_bbt_ib);
	for (size_t i = 0; i < nf.n_bbt && !rep->limit_hit; i++)
		if ((rc = check_block(&nf, &win, &nf.bbt[i])) != 0)
			goto out;
	rc = map_nodes(&nf);
out:
	free(win.buf);
	ndb_close(&nf);
	return rc;
}

void ndb_report_free(ndb_report *rep)
{
	if (!rep)
		return;
	free(rep->problems);
	memset(rep, 0, sizeof *rep);
}

/* ---------------------------------------------------------------- into the snapshot */

static const snap_folder *folder_of(const snap_t *snap, uint32_t nid)
{
	char id[32];
	snprintf(id, sizeof id, "nid:%u", nid);
	for (size_t i = 0; i < snap->n_folders; i++)
		if (snap->folders[i].id && strcmp(snap->folders[i].id, id) == 0)
			return &snap->folders[i];
	return NULL;
}

/* One error line for one problem: a folder's or an item's when the block is theirs. */
static int add_problem(snap_t *snap, const ndb_problem *p)
{
	uint32_t type = p->nid & 0x1f;
	snap_err_scope scope = ERR_SCOPE_FILE;
	const snap_folder *f = NULL, *parent = NULL;
	char id[32], folder_id[32], msg[400];
	const char *what = "";
	int rc = 0;
	id[0] = folder_id[0] = '\0';
	if (p->nid) {
		snprintf(id, sizeof id, "nid:%u", p->nid);
		if (type == 0x02 || type == 0x03) {
			scope = ERR_SCOPE_FOLDER;
			f = folder_of(snap, p->nid);
			what = p->sub ? "a subnode block of folder" : "the data block of folder";
		} else if (type == 0x0d || type == 0x0e || type == 0x0f || type == 0x10) {
			/* a folder's hierarchy, contents or associated contents table: the folder's own nid
			 * has the same index and type 0x02 (0x03 for a search folder's contents) */
			uint32_t owner = (p->nid & ~0x1fu) | (type == 0x10 ? 0x03u : 0x02u);
			f = folder_of(snap, owner);
			if (f) {
				scope = ERR_SCOPE_FOLDER;
				snprintf(id, sizeof id, "nid:%u", owner);
			}
			what = type == 0x0d ? "the subfolder table of a folder" : "the message table of a folder";
		} else if (type == 0x04 || type == 0x08) {
			scope = ERR_SCOPE_ITEM;
			parent = folder_of(snap, p->parent);
			if (p->parent)
				snprintf(folder_id, sizeof folder_id, "nid:%u", p->parent);
			what = p->sub ? "a subnode block (attachments, recipients) of message" : "the property block of message";
		} else {
			what = p->sub ? "a subnode block of node" : "the data block of node";
		}
	}
	if (p->nid)
		snprintf(msg, sizeof msg, "%s (%s nid:%u)", p->message, what, p->nid);
	else
		snprintf(msg, sizeof msg, "%s", p->message);
	/* An object libpff could not read already has its error line: the checksum finding is added
	 * to it, so that one damaged object stays one error. */
	for (size_t i = 0; id[0] && i < snap->n_errors; i++) {
		snap_error *old = &snap->errors[i];
		if (old->scope != scope || !old->id || strcmp(old->id, id) != 0)
			continue;
		char both[sizeof msg + 512];
		snprintf(both, sizeof both, "%s; checksum: %s", old->message ? old->message : "", msg);
		old->message = snap_strdup(snap, both);
		if (!old->message)
			rc = OR_ERR_NOMEM;
		goto out;
	}
	snap_error *e = snap_add_error(snap, scope, p->code, msg);
	if (!e) {
		rc = OR_ERR_NOMEM;
		goto out;
	}
	e->id = id[0] ? snap_strdup(snap, id) : NULL;
	if (f) {
		e->folder_id = f->parent_id;
		e->path = f->path;
	} else if (folder_id[0]) {
		e->folder_id = snap_strdup(snap, folder_id);
		e->path = parent ? parent->path : NULL;
	}
out:
	return rc;
}

int ndb_check_snapshot(const char *path, bool skip, snap_t *snap, size_t *problems, or_error *err)
{
	snap_integrity *in = &snap->integrity;
	ndb_report rep;
	or_error e = {0};
	int rc = 0;
	*problems = 0;
	memset(&rep, 0, sizeof rep);
	in->pages_checked = in->blocks_checked = in->bad_pages = in->bad_blocks = -1;
	if (skip) {
		in->ndb_scan = "off";
		goto out;
	}
	int scan_rc = ndb_check(path, &rep, &e);
	if (scan_rc == OR_ERR_NOMEM) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!rep.checked) {
		in->ndb_scan = "unsupported";
		if (scan_rc != 0 && !snap_add_error(snap, ERR_SCOPE_FILE, "unreadable", e.message))
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	in->ndb_scan = scan_rc != 0 || rep.limit_hit ? "partial" : "complete";
	in->ndb_format = rep.format;
	in->pages_checked = (int64_t)rep.pages_checked;
	in->blocks_checked = (int64_t)rep.blocks_checked;
	in->bad_pages = (int64_t)rep.bad_pages;
	in->bad_blocks = (int64_t)rep.bad_blocks;
	*problems = (size_t)(rep.bad_pages + rep.bad_blocks);
	for (size_t i = 0; i < rep.n_problems; i++) {
		if (add_problem(snap, &rep.problems[i]) != 0) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (rep.unlisted) {
		char msg[120];
		snprintf(msg, sizeof msg, "%zu more bad pages or blocks, not listed one by one", rep.unlisted);
		if (!snap_add_error(snap, ERR_SCOPE_FILE, "bad_crc", msg)) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (scan_rc != 0 && !snap_add_error(snap, ERR_SCOPE_FILE, "unreadable", e.message))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
out:
	ndb_report_free(&rep);
	return rc;
}

void ndb_explain(const char *path, or_error *err)
{
	ndb_report rep;
	or_error e = {0};
	if (ndb_check(path, &rep, &e) == 0 && rep.checked && rep.n_problems) {
		/* a file cut short says so once: its first problem is the same truncation */
		bool same = strstr(err->message, "truncated") && strstr(rep.problems[0].message, "cut short");
		char more[sizeof err->message];
		if (same && rep.n_problems == 1)
			more[0] = '\0';
		else if (same)
			snprintf(more, sizeof more, "%s; its own checksums: %llu bad pages, %llu bad blocks", err->message,
			         (unsigned long long)rep.bad_pages, (unsigned long long)rep.bad_blocks);
		else
			snprintf(more, sizeof more, "%s; its own checksums: %llu bad pages, %llu bad blocks, the first: %s",
			         err->message, (unsigned long long)rep.bad_pages, (unsigned long long)rep.bad_blocks,
			         rep.problems[0].message);
		if (*more)
			str_copy(err->message, more, sizeof err->message);
	}
	ndb_report_free(&rep);
}
