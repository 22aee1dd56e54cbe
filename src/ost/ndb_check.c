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
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PTYPE_BBT 0x80
#define PTYPE_NBT 0x81
#define MAX_BT_DEPTH 16    /* a real B-tree of either kind has a handful of levels */
#define HEADER_READ 564     /* the Unicode header; the ANSI one is shorter */

/* ---------------------------------------------------------------- CRC ([MS-PST] 5.3) */

static uint32_t crc_table[256];

uint32_t ndb_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	if (!crc_table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
			crc_table[i] = c;
		}
	}
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return crc;
}

/* ---------------------------------------------------------------- formats */

typedef enum { FMT_ANSI, FMT_UNICODE, FMT_4K } fmt_kind;

typedef struct {
	fmt_kind kind;
	const char *name;
	size_t page;       /* page size */
	size_t trailer;    /* offset of the page trailer; the page CRC covers the bytes before it */
	size_t meta;       /* offset of a B-tree page's cEnt/cEntMax/cbEnt/cLevel */
	size_t id;         /* size of a BID, IB or NID field in entries: 4 or 8 */
	size_t blk_trailer;/* block trailer size */
	size_t blk_align;  /* blocks take a multiple of this */
	size_t blk_max;    /* largest block on disk, trailer included */
} ndb_format;

static const ndb_format formats[] = {
	{FMT_ANSI, "ansi", 512, 500, 496, 4, 12, 64, 8192},
	{FMT_UNICODE, "unicode", 512, 496, 488, 8, 16, 64, 8192},
	{FMT_4K, "unicode-4k", 4096, 4072, 4056, 8, 24, 512, 65536},
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static uint64_t leid(const ndb_format *f, const uint8_t *p) { return f->id == 4 ? le32(p) : le64(p); }

/* [MS-PST] 5.5: the signature of a page or block from its offset and id. */
static uint16_t ndb_sig(uint64_t ib, uint64_t bid)
{
	ib ^= bid;
	return (uint16_t)((uint16_t)(ib >> 16) ^ (uint16_t)ib);
}

/* ---------------------------------------------------------------- scan state */

typedef struct { uint64_t bid, ib; uint16_t cb; } bbt_ent;
typedef struct { uint32_t nid, parent; uint64_t data, sub; } nbt_ent;

typedef struct {
	const ndb_format *f;
	int fd;
	uint64_t size;      /* the file's real size */
	uint64_t budget;    /* pages and blocks still allowed */
	ndb_report *rep;
	uint8_t *page;      /* scratch pages, one per level */
	uint8_t *blk;       /* scratch block */
	uint64_t *seen;     /* open-addressed set of page offsets (0 = empty; page 0 is the header) */
	size_t seen_cap, seen_n;
	bbt_ent *bbt;
	size_t n_bbt, cap_bbt;
	nbt_ent *nbt;
	size_t n_nbt, cap_nbt;
	or_error *err;
} scan;

static void problem(scan *s, uint8_t what, const char *code, uint64_t offset, uint64_t bid,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void problem(scan *s, uint8_t what, const char *code, uint64_t offset, uint64_t bid,
                    const char *fmt, ...)
{
	ndb_report *r = s->rep;
	if (what == NDB_BLOCK)
		r->bad_blocks++;
	else
		r->bad_pages++;
	if (r->n_problems >= NDB_MAX_LISTED) {
		r->unlisted++;
		return;
	}
	if (r->n_problems == r->cap_problems) {
		size_t cap = r->cap_problems ? r->cap_problems * 2 : 16;
		ndb_problem *p = realloc(r->problems, cap * sizeof *p);
		if (!p) {
			r->unlisted++;
			return;
		}
		r->problems = p;
		r->cap_problems = cap;
	}
	ndb_problem *p = &r->problems[r->n_problems++];
	memset(p, 0, sizeof *p);
	p->what = what;
	p->code = code;
	p->offset = offset;
	p->bid = bid;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof p->message, fmt, ap);
	va_end(ap);
}

/* Reads exactly n bytes at off, which the caller has held against the file size. */
static int read_at(scan *s, uint8_t *buf, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t got = pread(s->fd, buf + done, n - done, (off_t)(off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return or_fail(s->err, OR_ERR_IO, "read error at offset %llu: %s",
			               (unsigned long long)(off + done), got < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t)got;
	}
	return 0;
}

static bool take_budget(scan *s)
{
	if (s->budget == 0) {
		s->rep->limit_hit = true;
		return false;
	}
	s->budget--;
	return true;
}

/* Adds a page offset to the visited set; false when it was there already (a cycle or a shared page). */
static bool visit(scan *s, uint64_t ib, int *rc)
{
	*rc = 0;
	if (s->seen_n * 2 >= s->seen_cap) {
		size_t cap = s->seen_cap ? s->seen_cap * 2 : 1024;
		uint64_t *t = calloc(cap, sizeof *t);
		if (!t) {
			*rc = or_fail(s->err, OR_ERR_NOMEM, "out of memory");
			return false;
		}
		for (size_t i = 0; i < s->seen_cap; i++) {
			if (!s->seen[i])
				continue;
			size_t h = (size_t)(s->seen[i] / 512 * 0x9E3779B97F4A7C15ull) & (cap - 1);
			while (t[h])
				h = (h + 1) & (cap - 1);
			t[h] = s->seen[i];
		}
		free(s->seen);
		s->seen = t;
		s->seen_cap = cap;
	}
	size_t h = (size_t)(ib / 512 * 0x9E3779B97F4A7C15ull) & (s->seen_cap - 1);
	while (s->seen[h]) {
		if (s->seen[h] == ib)
			return false;
		h = (h + 1) & (s->seen_cap - 1);
	}
	s->seen[h] = ib;
	s->seen_n++;
	return true;
}

static int keep_bbt(scan *s, const uint8_t *e)
{
	const ndb_format *f = s->f;
	bbt_ent *b = or_append((void **)&s->bbt, &s->n_bbt, &s->cap_bbt, sizeof *b);
	if (!b)
		return or_fail(s->err, OR_ERR_NOMEM, "out of memory");
	b->bid = leid(f, e);
	b->ib = leid(f, e + f->id);
	b->cb = le16(e + 2 * f->id);
	return 0;
}

static int keep_nbt(scan *s, const uint8_t *e)
{
	const ndb_format *f = s->f;
	nbt_ent *n = or_append((void **)&s->nbt, &s->n_nbt, &s->cap_nbt, sizeof *n);
	if (!n)
		return or_fail(s->err, OR_ERR_NOMEM, "out of memory");
	n->nid = (uint32_t)leid(f, e);
	n->data = leid(f, e + f->id);
	n->sub = leid(f, e + 2 * f->id);
	n->parent = le32(e + 3 * f->id);
	return 0;
}

/* Checks one B-tree page and what it points to. `level` is the level the parent expects (-1 at the
 * root), `bid` the back pointer its BREF names. */
static int walk(scan *s, uint8_t ptype, uint64_t ib, uint64_t bid, int level, int depth)
{
	const ndb_format *f = s->f;
	const char *tree = ptype == PTYPE_BBT ? "block B-tree" : "node B-tree";
	int rc = 0;
	if (depth >= MAX_BT_DEPTH) {
		problem(s, NDB_PAGE, "bad_page", ib, bid, "%s deeper than %d levels at offset %llu", tree,
		        MAX_BT_DEPTH, (unsigned long long)ib);
		goto out;
	}
	if (ib < f->page || ib > s->size || s->size - ib < f->page) {
		problem(s, NDB_PAGE, "bad_page", ib, bid, "%s page at offset %llu lies outside the file (%llu bytes)",
		        tree, (unsigned long long)ib, (unsigned long long)s->size);
		goto out;
	}
	if (!visit(s, ib, &rc)) {
		if (rc == 0)
			problem(s, NDB_PAGE, "bad_page", ib, bid, "%s page at offset %llu is reached twice (a loop)",
			        tree, (unsigned long long)ib);
		goto out;
	}
	if (!take_budget(s))
		goto out;
	uint8_t *pg = s->page + (size_t)depth * f->page;
	if ((rc = read_at(s, pg, f->page, ib)) != 0)
		goto out;
	s->rep->pages_checked++;
	const uint8_t *t = pg + f->trailer;
	uint32_t crc_stored = f->kind == FMT_ANSI ? le32(t + 8) : le32(t + 4);
	uint64_t back = f->kind == FMT_ANSI ? le32(t + 4) : le64(t + 8);
	if (t[0] != ptype || t[1] != ptype) {
		problem(s, NDB_PAGE, "bad_page", ib, bid, "%s page at offset %llu: page type 0x%02x/0x%02x, expected 0x%02x",
		        tree, (unsigned long long)ib, t[0], t[1], ptype);
		goto out;
	}
	uint32_t crc = ndb_crc(0, pg, f->trailer);
	if (crc != crc_stored) {
		problem(s, NDB_PAGE, "bad_crc", ib, bid, "%s page at offset %llu: CRC 0x%08x stored, 0x%08x computed",
		        tree, (unsigned long long)ib, crc_stored, crc);
		goto out;
	}
	if (back != bid || le16(t + 2) != ndb_sig(ib, bid)) {
		problem(s, NDB_PAGE, "bad_trailer", ib, bid,
		        "%s page at offset %llu: back pointer 0x%llx and signature 0x%04x, expected 0x%llx and 0x%04x",
		        tree, (unsigned long long)ib, (unsigned long long)back, le16(t + 2), (unsigned long long)bid,
		        ndb_sig(ib, bid));
		goto out;
	}
	const uint8_t *m = pg + f->meta;
	size_t n_ent = f->kind == FMT_4K ? le16(m) : m[0];
	size_t cb_ent = f->kind == FMT_4K ? m[4] : m[2];
	int lvl = f->kind == FMT_4K ? m[5] : m[3];
	size_t need = lvl > 0 ? 3 * f->id : ptype == PTYPE_BBT ? 2 * f->id + 4 : 3 * f->id + 4;
	if ((level >= 0 && lvl != level) || (level < 0 && lvl >= MAX_BT_DEPTH) || cb_ent < need ||
	    n_ent * cb_ent > f->meta) {
		problem(s, NDB_PAGE, "bad_page", ib, bid,
		        "%s page at offset %llu: %zu entries of %zu bytes at level %d do not fit a page%s", tree,
		        (unsigned long long)ib, n_ent, cb_ent, lvl, level >= 0 && lvl != level ? " or its place" : "");
		goto out;
	}
	for (size_t i = 0; i < n_ent; i++) {
		const uint8_t *e = pg + i * cb_ent;
		if (lvl > 0)
			rc = walk(s, ptype, leid(f, e + 2 * f->id), leid(f, e + f->id), lvl - 1, depth + 1);
		else if (ptype == PTYPE_BBT)
			rc = keep_bbt(s, e);
		else
			rc = keep_nbt(s, e);
		if (rc)
			goto out;
		/* the deeper walk used the scratch pages below this one only: pg is intact */
	}
out:
	return rc;
}

/* ---------------------------------------------------------------- blocks */

static int cmp_bbt_ib(const void *a, const void *b)
{
	const bbt_ent *x = a, *y = b;
	return x->ib < y->ib ? -1 : x->ib > y->ib;
}

static int check_block(scan *s, const bbt_ent *b)
{
	const ndb_format *f = s->f;
	size_t total = ((size_t)b->cb + f->blk_trailer + f->blk_align - 1) / f->blk_align * f->blk_align;
	int rc = 0;
	if (!take_budget(s))
		goto out;
	s->rep->blocks_checked++;
	if (total > f->blk_max) {
		problem(s, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx: the block B-tree gives it %u bytes, "
		        "more than a block holds", (unsigned long long)b->bid, b->cb);
		goto out;
	}
	if (b->ib < f->page || b->ib > s->size || s->size - b->ib < total) {
		problem(s, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu (%zu bytes) lies "
		        "outside the file (%llu bytes)", (unsigned long long)b->bid, (unsigned long long)b->ib, total,
		        (unsigned long long)s->size);
		goto out;
	}
	if ((rc = read_at(s, s->blk, total, b->ib)) != 0)
		goto out;
	const uint8_t *t = s->blk + total - f->blk_trailer;
	uint16_t cb = le16(t);
	uint32_t crc_stored = f->kind == FMT_ANSI ? le32(t + 8) : le32(t + 4);
	uint64_t bid = f->kind == FMT_ANSI ? le32(t + 4) : le64(t + 8);
	/* bit 0 of a BID is reserved: readers ignore it ([MS-PST] 2.2.2.2) */
	if (cb != b->cb || (bid & ~1ull) != (b->bid & ~1ull)) {
		problem(s, NDB_BLOCK, "bad_trailer", b->ib, b->bid, "block 0x%llx at offset %llu: its trailer names "
		        "block 0x%llx of %u bytes, the block B-tree block 0x%llx of %u bytes", (unsigned long long)b->bid,
		        (unsigned long long)b->ib, (unsigned long long)bid, cb, (unsigned long long)b->bid, b->cb);
		goto out;
	}
	uint32_t crc = ndb_crc(0, s->blk, cb);
	if (crc != crc_stored)
		problem(s, NDB_BLOCK, "bad_crc", b->ib, b->bid, "block 0x%llx at offset %llu: CRC 0x%08x stored, "
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

static void tie(ndb_report *r, const bad_ref *refs, size_t n, uint64_t bid, const nbt_ent *node, bool sub)
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
static int map_nodes(scan *s)
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

/* ---------------------------------------------------------------- header */

static int check_header(scan *s, const uint8_t *h, size_t n, uint64_t *nbt_bid, uint64_t *nbt_ib,
                        uint64_t *bbt_bid, uint64_t *bbt_ib)
{
	const ndb_format *f = NULL;
	uint16_t ver = le16(h + 10);
	if (ver == 14 || ver == 15)
		f = &formats[0];
	else if (ver == 23)
		f = &formats[1];
	else if (ver == 36)
		f = &formats[2];
	if (!f) {
		s->rep->skipped = "a format version the scan does not know";
		return 1;
	}
	s->f = f;
	s->rep->format = f->name;
	uint64_t eof;
	s->rep->pages_checked++;
	if (f->kind == FMT_ANSI) {
		eof = le32(h + 168);
		*nbt_bid = le32(h + 184);
		*nbt_ib = le32(h + 188);
		*bbt_bid = le32(h + 192);
		*bbt_ib = le32(h + 196);
	} else {
		eof = le64(h + 184);
		*nbt_bid = le64(h + 216);
		*nbt_ib = le64(h + 224);
		*bbt_bid = le64(h + 232);
		*bbt_ib = le64(h + 240);
	}
	uint32_t partial = ndb_crc(0, h + 8, 471);
	bool bad = partial != le32(h + 4);
	if (f->kind != FMT_ANSI && n >= 528)
		bad |= ndb_crc(0, h + 8, 516) != le32(h + 524);
	/* The walk goes on after a bad header CRC: every page it reaches is checked on its own. */
	if (bad)
		problem(s, NDB_HEADER, "bad_crc", 0, 0, "the file header's CRC does not match its contents");
	if (eof > s->size)
		problem(s, NDB_HEADER, "bad_page", 0, 0, "the file is %llu bytes, its header says %llu: it was cut short",
		        (unsigned long long)s->size, (unsigned long long)eof);
	return 0;
}

/* ---------------------------------------------------------------- entry point */

int ndb_check(const char *path, ndb_report *rep, or_error *err)
{
	scan s;
	memset(&s, 0, sizeof s);
	memset(rep, 0, sizeof *rep);
	s.rep = rep;
	s.err = err;
	s.fd = -1;
	uint8_t h[HEADER_READ];
	uint64_t nbt_bid, nbt_ib, bbt_bid, bbt_ib;
	struct stat st;
	int rc = 0;

	s.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0 || fstat(s.fd, &st) != 0) {
		rc = or_fail(err, OR_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	s.size = (uint64_t)st.st_size;
	if (s.size < HEADER_READ) {
		rep->skipped = "the file is shorter than a header";
		goto out;
	}
	if ((rc = read_at(&s, h, sizeof h, 0)) != 0)
		goto out;
	if (memcmp(h, "!BDN", 4) != 0) {
		rep->skipped = "not a PST/OST file";
		goto out;
	}
	if (check_header(&s, h, sizeof h, &nbt_bid, &nbt_ib, &bbt_bid, &bbt_ib) != 0)
		goto out;
	rep->checked = true;
	s.budget = s.size / 64 > 4096 ? s.size / 64 : 4096;
	s.page = malloc((size_t)MAX_BT_DEPTH * s.f->page);
	s.blk = malloc(s.f->blk_max);
	if (!s.page || !s.blk) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = walk(&s, PTYPE_NBT, nbt_ib, nbt_bid, -1, 0)) != 0 ||
	    (rc = walk(&s, PTYPE_BBT, bbt_ib, bbt_bid, -1, 0)) != 0)
		goto out;
	/* In offset order: the file is read front to back. */
	if (s.n_bbt)
		qsort(s.bbt, s.n_bbt, sizeof *s.bbt, cmp_bbt_ib);
	for (size_t i = 0; i < s.n_bbt && !rep->limit_hit; i++)
		if ((rc = check_block(&s, &s.bbt[i])) != 0)
			goto out;
	rc = map_nodes(&s);
out:
	if (s.fd >= 0)
		close(s.fd);
	free(s.page);
	free(s.blk);
	free(s.seen);
	free(s.bbt);
	free(s.nbt);
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
		char more[sizeof err->message];
		snprintf(more, sizeof more, "%s; its own checksums: %llu bad pages, %llu bad blocks, the first: %s",
		         err->message, (unsigned long long)rep.bad_pages, (unsigned long long)rep.bad_blocks,
		         rep.problems[0].message);
		str_copy(err->message, more, sizeof err->message);
	}
	ndb_report_free(&rep);
}
