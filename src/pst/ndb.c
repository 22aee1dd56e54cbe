/* ndb.c: the NDB layer ([MS-PST] 2.2): blocks with trailers, data trees (XBLOCK/XXBLOCK), subnode
 * trees (SLBLOCK/SIBLOCK), the node and block B-trees, allocation maps and the header. Space is
 * taken from the end of the file only, so each allocation map page is written as soon as the file
 * grows past the region it covers. The B-tree entries of blocks and messages go to a spill file in
 * key order, and btree.c builds the B-trees from it page by page at the end: memory does not grow
 * with the file (one page per B-tree level, and an entry per folder or internal node). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PTYPE_FMAP 0x82
#define PTYPE_PMAP 0x83
#define PTYPE_AMAP 0x84
#define PTYPE_FPMAP 0x85

/* [MS-PST] 2.2.2.7: an AMap page every region; a PMap every 8th; an FMap from region 128 (the
 * header's rgbFM stands for the first 128) every 496th; an FPMap from region 8192 every 31,744th.
 * FMaps and FPMaps are deprecated, but "the presence of FMap pages at the correct intervals MUST be
 * preserved" with valid checksums: a Unicode PST of more than 128 regions (32.5 MB) has them. They
 * follow the AMap and the PMap of their region, at its third and fourth page. The 4 KiB format
 * has AMaps only. */
#define FMAP_FIRST 128u
#define FMAP_SPAN 496u
#define FPMAP_FIRST (128u * 64u)
#define FPMAP_SPAN (496u * 64u)

void pst_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void pst_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void pst_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t pst_crc(const uint8_t *p, size_t n)
{
	/* zlib's crc32 is the same polynomial with the register inverted on the way in and out */
	return (uint32_t)crc32(0xFFFFFFFFu, p, (uInt)n) ^ 0xFFFFFFFFu;
}

static uint16_t compute_sig(uint64_t ib, uint64_t bid)
{
	ib ^= bid;
	return (uint16_t)((uint16_t)(ib >> 16) ^ (uint16_t)ib);
}

int pst_fixed_size(uint16_t type)
{
	switch (type) {
	case PT_SHORT: return 2;
	case PT_LONG: case PT_FLOAT: case PT_ERROR: return 4;
	case PT_BOOLEAN: return 1;
	case PT_DOUBLE: case PT_CURRENCY: case PT_APPTIME: case PT_I8: case PT_SYSTIME: return 8;
	case PT_CLSID: return 16;
	default: return 0;
	}
}

/* ---------------------------------------------------------------- file */

static int io_fail(pst_ndb *f, or_error *err, const char *what)
{
	return or_fail(err, OR_ERR_IO, "%s %s: %s", what, f->path, strerror(errno ? errno : EIO));
}

/* An unlinked temporary file in the output's directory (not /tmp, which may be memory): nothing to
 * clean up after a crash or a signal. */
static int spill_open(pst_ndb *f, FILE **out, char **buf, or_error *err)
{
	char dir[4096];
	const char *slash = strrchr(f->path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == f->path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - f->path), f->path);
	int fd = -1;
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		char tmpl[4200];
		snprintf(tmpl, sizeof tmpl, "%s/.ostrecon-spill-XXXXXX", dir);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
	}
	if (fd < 0)
		return or_fail(err, OR_ERR_IO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
	*out = fdopen(fd, "w+b");
	if (!*out || !(*buf = malloc(1u << 16))) {
		if (*out)
			fclose(*out);
		else
			close(fd);
		*out = NULL;
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	setvbuf(*out, *buf, _IOFBF, 1u << 16);
	return 0;
}

int pst_ndb_open(pst_ndb **out, const char *path, const pst_ndb_options *opt, or_error *err)
{
	*out = NULL;
	pst_ndb *f = calloc(1, sizeof *f);
	if (!f)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	f->format = opt->format;
	f->noreplace = opt->noreplace;
	if (f->format == PST_FMT_OST4K) {
		f->page = 4096;
		f->align = 512;
		f->trailer = 24;
		f->bt_area = 4056;
		f->amap_first = 0x22000;
		f->amap_unit = 512;
		f->amap_cover = (uint64_t)4072 * 8 * 512;
	} else {
		f->page = 512;
		f->align = 64;
		f->trailer = 16;
		f->bt_area = 488;
		f->amap_first = 0x4400;
		f->amap_unit = 64;
		f->amap_cover = (uint64_t)496 * 8 * 64;
	}
	f->body = f->page == 4096 ? 4072 : 496;
	f->data_block_max = opt->data_block_size ? opt->data_block_size : PST_BLOCK_DATA_MAX;
	if (f->data_block_max > (f->format == PST_FMT_OST4K ? PST_BLOCK_MAX : PST_BLOCK_DATA_MAX))
		f->data_block_max = f->format == PST_FMT_OST4K ? PST_BLOCK_MAX : PST_BLOCK_DATA_MAX;
	f->next_bid = 4;
	f->next_pbid = 1;
	f->region = 0;
	f->cursor = f->amap_first + (uint64_t)f->page * (f->format == PST_FMT_OST4K ? 1 : 2);
	f->amap = calloc(1, f->body);
	f->path = strdup(path);
	size_t n = strlen(path) + 32;
	f->tmp = malloc(n);
	if (!f->amap || !f->path || !f->tmp) {
		pst_ndb_close(f);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	struct stat st;
	if (f->noreplace && lstat(path, &st) == 0) {
		pst_ndb_close(f);
		return or_fail(err, OR_ERR_IO, "%s exists: it is never overwritten (choose another name)", path);
	}
	snprintf(f->tmp, n, "%s.part%ld", path, (long)getpid());
	int fd = open(f->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		free(f->tmp);
		f->tmp = NULL;
		pst_ndb_close(f);
		return or_fail(err, OR_ERR_IO, "cannot create a file beside %s: %s", path, strerror(e));
	}
	/* an interrupted run removes it (core's signal handler) */
	or_temp_register(f->tmp);
	f->fp = fdopen(fd, "w+b");
	if (!f->fp) {
		close(fd);
		pst_ndb_close(f);
		return or_fail(err, OR_ERR_IO, "cannot open %s", path);
	}
	int rc = (f->fp_buf = malloc(1u << 20)) ? 0 : or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		setvbuf(f->fp, f->fp_buf, _IOFBF, 1u << 20);
		rc = spill_open(f, &f->spill_bbt, &f->spill_buf[0], err);
	}
	if (rc == 0)
		rc = spill_open(f, &f->spill_nbt, &f->spill_buf[1], err);
	if (rc) {
		pst_ndb_close(f);
		return rc;
	}
	/* the map pages of the first region */
	memset(f->amap, 0, f->body);
	f->amap_marked = 0;
	*out = f;
	return 0;
}

const char *pst_ndb_temp_path(const pst_ndb *f) { return f ? f->tmp : NULL; }

uint64_t pst_ndb_size(const pst_ndb *f) { return f->cursor; }

void pst_ndb_close(pst_ndb *f)
{
	if (!f)
		return;
	if (f->fp)
		fclose(f->fp);
	if (f->tmp) {
		unlink(f->tmp);
		or_temp_unregister(f->tmp);
	}
	free(f->tmp);
	free(f->path);
	free(f->amap);
	free(f->blk);
	if (f->spill_bbt)
		fclose(f->spill_bbt);
	if (f->spill_nbt)
		fclose(f->spill_nbt);
	free(f->fp_buf);
	free(f->spill_buf[0]);
	free(f->spill_buf[1]);
	free(f->nbt);
	free(f);
}

void pst_ndb_layout_get(const pst_ndb *f, pst_ndb_layout *o)
{
	memset(o, 0, sizeof *o);
	o->fp = f->fp;
	o->page = f->page;
	o->align = f->align;
	o->trailer = f->trailer;
	o->bt_area = f->bt_area;
	o->cursor = f->cursor;
	o->data_end = f->data_end;
	o->nbt_root_ib = f->nbt_root_ib;
	o->bbt_leaf_ib = f->bbt_leaf_ib;
	o->last_bid = f->last_bid;
	o->last_ib = f->last_ib;
	o->last_cb = f->last_cb;
}

static int write_at(pst_ndb *f, uint64_t ib, const void *p, size_t n, or_error *err)
{
	if ((f->pos != ib && fseeko(f->fp, (off_t)ib, SEEK_SET) != 0) || fwrite(p, 1, n, f->fp) != n) {
		f->pos = UINT64_MAX;
		return io_fail(f, err, "cannot write");
	}
	f->pos = ib + n;
	return 0;
}

/* ---------------------------------------------------------------- maps */

int pst_write_page(pst_ndb *f, uint8_t *pg, uint8_t ptype, uint64_t ib, uint64_t bid, or_error *err)
{
	uint8_t *t = pg + f->body;
	t[0] = ptype;
	t[1] = ptype;
	pst_put16(t + 2, (ptype == PTYPE_BBT || ptype == PTYPE_NBT) ? compute_sig(ib, bid) : 0);
	pst_put32(t + 4, pst_crc(pg, f->body));
	pst_put64(t + 8, bid);
	return write_at(f, ib, pg, f->page, err);
}

static bool region_has_pmap(const pst_ndb *f, uint64_t r) { return f->format != PST_FMT_OST4K && r % 8 == 0; }

static bool region_has_fmap(const pst_ndb *f, uint64_t r)
{
	return f->format != PST_FMT_OST4K && r >= FMAP_FIRST && (r - FMAP_FIRST) % FMAP_SPAN == 0;
}

static bool region_has_fpmap(const pst_ndb *f, uint64_t r)
{
	return f->format != PST_FMT_OST4K && r >= FPMAP_FIRST && (r - FPMAP_FIRST) % FPMAP_SPAN == 0;
}

/* Bytes at the start of region r taken by its map pages. */
static uint64_t region_maps(const pst_ndb *f, uint64_t r)
{
	unsigned pages = region_has_fpmap(f, r) ? 4 : region_has_fmap(f, r) ? 3 : region_has_pmap(f, r) ? 2 : 1;
	return (uint64_t)f->page * pages;
}

static uint64_t region_start(const pst_ndb *f, uint64_t r) { return f->amap_first + r * f->amap_cover; }

static void mark(pst_ndb *f, uint64_t ib, uint64_t len)
{
	uint64_t start = region_start(f, f->region);
	size_t first = (size_t)((ib - start) / f->amap_unit);
	size_t last = (size_t)((ib + len - start + f->amap_unit - 1) / f->amap_unit);
	for (size_t i = first; i < last && i < f->body * 8; i++)
		f->amap[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* The FMap page of the regions from `base` on: one byte per AMap, its longest run of free units. */
static int write_fmap(pst_ndb *f, uint64_t base, or_error *err)
{
	uint8_t *pg = calloc(1, f->page);
	if (!pg)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memcpy(pg, f->fmap, f->fmap_n);
	uint64_t ib = region_start(f, base) + 2u * f->page;
	int rc = pst_write_page(f, pg, PTYPE_FMAP, ib, ib, err);
	free(pg);
	f->fmap_n = 0;
	return rc;
}

/* Writes the AMap (and PMap, FPMap) of the current region, up to `end` (the rest of it is free),
 * and notes its longest free run for the FMap that covers it. */
static int flush_region(pst_ndb *f, uint64_t end, or_error *err)
{
	uint64_t start = region_start(f, f->region);
	mark(f, start, region_maps(f, f->region));
	unsigned run = 0, best = 0;
	for (size_t i = 0; i < f->body * 8; i++) {
		bool used = f->amap[i / 8] & (0x80 >> (i % 8));
		if (!used && start + (uint64_t)i * f->amap_unit < end)
			f->amap_free += f->amap_unit;
		run = used ? 0 : run + 1;
		if (run > best)
			best = run;
	}
	uint8_t *pg = calloc(1, f->page);
	if (!pg)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memcpy(pg, f->amap, f->body);
	int rc = pst_write_page(f, pg, PTYPE_AMAP, start, start, err);
	if (rc == 0 && region_has_pmap(f, f->region)) {
		/* PMaps are deprecated: every page marked allocated, as [MS-PST] asks */
		memset(pg, 0xFF, f->page);
		rc = pst_write_page(f, pg, PTYPE_PMAP, start + f->page, start + f->page, err);
	}
	if (rc == 0 && region_has_fpmap(f, f->region)) {
		memset(pg, 0xFF, f->page);
		rc = pst_write_page(f, pg, PTYPE_FPMAP, start + 3u * f->page, start + 3u * f->page, err);
	}
	free(pg);
	if (rc == 0 && f->format != PST_FMT_OST4K && f->region >= FMAP_FIRST) {
		f->fmap[f->fmap_n++] = (uint8_t)(best > 0xFF ? 0xFF : best);
		if (f->fmap_n == FMAP_SPAN)
			rc = write_fmap(f, f->region - (FMAP_SPAN - 1), err);
	}
	f->last_amap = start;
	memset(f->amap, 0, f->body);
	return rc;
}

/* Room for len bytes aligned to al at the end of the file, never over a map page. */
int pst_alloc_space(pst_ndb *f, uint64_t len, uint32_t al, uint64_t *ib, or_error *err)
{
	for (;;) {
		uint64_t at = (f->cursor + al - 1) / al * al;
		uint64_t start = region_start(f, f->region);
		uint64_t maps = region_maps(f, f->region);
		if (at < start + maps) {
			f->cursor = start + maps;
			continue;
		}
		if (at + len <= start + f->amap_cover) {
			*ib = at;
			f->cursor = at + len;
			mark(f, at, len);
			return 0;
		}
		/* the region is full: its map is final */
		int rc = flush_region(f, start + f->amap_cover, err);
		if (rc)
			return rc;
		f->region++;
		f->cursor = region_start(f, f->region);
	}
}

/* ---------------------------------------------------------------- entries */

int pst_spill_fail(pst_ndb *f, or_error *err)
{
	return or_fail(err, OR_ERR_IO, "cannot write a temporary file beside %s: %s", f->path, strerror(errno ? errno : EIO));
}

/* A BBTENTRY ([MS-PST] 2.2.2.7.7.3): bid, ib, cb, cRef, padding. */
static int add_bbt(pst_ndb *f, uint64_t bid, uint64_t ib, uint16_t cb, uint16_t cref, or_error *err)
{
	uint8_t e[24] = {0};
	pst_put64(e, bid);
	pst_put64(e + 8, ib);
	pst_put16(e + 16, cb);
	pst_put16(e + 18, cref);
	if (fwrite(e, 1, sizeof e, f->spill_bbt) != sizeof e)
		return pst_spill_fail(f, err);
	f->n_bbt++;
	return 0;
}

/* An NBTENTRY ([MS-PST] 2.2.2.7.7.4): nid, bidData, bidSub, nidParent, padding. */
void pst_nbt_bytes(const pst_nbt_entry *n, uint8_t e[32])
{
	pst_put64(e, n->nid);
	pst_put64(e + 8, n->bid_data);
	pst_put64(e + 16, n->bid_sub);
	pst_put32(e + 24, n->parent);
	pst_put32(e + 28, 0);
}

int pst_add_node(pst_ndb *f, uint32_t nid, uint32_t parent, uint64_t bid_data, uint64_t bid_sub, or_error *err)
{
	pst_nbt_entry n = {nid, parent, bid_data, bid_sub};
	uint32_t type = nid & 0x1F, index = nid >> 5;
	if (index >= f->nid_hwm[type])
		f->nid_hwm[type] = index + 1;
	if ((type == PST_NID_TYPE_NORMAL_MESSAGE || type == PST_NID_TYPE_ASSOC_MESSAGE) &&
	    (f->n_nbt_spilled == 0 || nid > f->last_spilled_nid)) {
		uint8_t e[32];
		pst_nbt_bytes(&n, e);
		if (fwrite(e, 1, sizeof e, f->spill_nbt) != sizeof e)
			return pst_spill_fail(f, err);
		f->n_nbt_spilled++;
		f->last_spilled_nid = nid;
		return 0;
	}
	pst_nbt_entry *m = or_append((void **)&f->nbt, &f->n_nbt, &f->cap_nbt, sizeof *m);
	if (!m)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	*m = n;
	return 0;
}

/* ---------------------------------------------------------------- blocks */

int pst_write_block(pst_ndb *f, const uint8_t *data, size_t len, bool internal, uint16_t cref, uint64_t *bid,
                    or_error *err)
{
	uint8_t *zbuf = NULL;
	const uint8_t *stored = data;
	size_t cb = len;
	uint64_t ib;
	int rc;
	if (len > f->data_block_max && !(internal && len <= PST_BLOCK_DATA_MAX))
		return or_fail(err, OR_ERR_LIMIT, "a block of %zu bytes", len);
	/* Outlook 2013+ deflates data blocks (zlib stream); a block that would not shrink stays raw */
	if (f->format == PST_FMT_OST4K && !internal && len > 0) {
		uLongf zl = compressBound((uLong)len);
		zbuf = malloc(zl);
		if (!zbuf)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		if (compress2(zbuf, &zl, data, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK && zl < len) {
			stored = zbuf;
			cb = zl;
		}
	}
	size_t total = (cb + f->trailer + f->align - 1) / f->align * f->align;
	if (total > f->blk_cap) {
		uint8_t *p = realloc(f->blk, total);
		if (!p) {
			free(zbuf);
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		f->blk = p;
		f->blk_cap = total;
	}
	uint8_t *blk = f->blk;
	*bid = f->next_bid | (internal ? 2u : 0u);
	f->next_bid += 4;
	if ((rc = pst_alloc_space(f, total, f->align, &ib, err)) != 0) {
		free(zbuf);
		return rc;
	}
	memcpy(blk, stored, cb);
	memset(blk + cb, 0, total - cb);
	uint8_t *t = blk + total - f->trailer;
	pst_put16(t, (uint16_t)cb);
	pst_put16(t + 2, compute_sig(ib, *bid));
	pst_put32(t + 4, pst_crc(stored, cb));
	pst_put64(t + 8, *bid);
	if (f->format == PST_FMT_OST4K) {
		pst_put16(t + 16, 2); /* seen as 2 in Outlook 2013 files; meaning unknown */
		pst_put16(t + 18, (uint16_t)len); /* inflated size: equal to cb when not compressed */
	}
	free(zbuf);
	if ((rc = write_at(f, ib, blk, total, err)) != 0 || (rc = add_bbt(f, *bid, ib, (uint16_t)cb, cref, err)) != 0)
		return rc;
	if (!internal) {
		f->last_bid = *bid;
		f->last_ib = ib;
		f->last_cb = (uint16_t)cb;
	}
	return 0;
}

/* An XBLOCK (level 1) or XXBLOCK (level 2) over child block ids. */
static int write_xblock(pst_ndb *f, int level, const uint64_t *bids, size_t n, uint32_t total, uint64_t *bid,
                        or_error *err)
{
	size_t len = 8 + 8 * n;
	uint8_t *b = malloc(len);
	if (!b)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	b[0] = 1;
	b[1] = (uint8_t)level;
	pst_put16(b + 2, (uint16_t)n);
	pst_put32(b + 4, total);
	for (size_t i = 0; i < n; i++)
		pst_put64(b + 8 + 8 * i, bids[i]);
	int rc = pst_write_block(f, b, len, true, 2, bid, err);
	free(b);
	return rc;
}

#define XBLOCK_MAX ((PST_BLOCK_DATA_MAX - 8) / 8)

/* Tops a list of data block ids with an XBLOCK, or XBLOCKs under an XXBLOCK. */
static int write_tree(pst_ndb *f, const uint64_t *bids, const uint32_t *sizes, size_t n, uint64_t *bid,
                      or_error *err)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sizes[i];
	if (n == 1) {
		*bid = bids[0];
		return 0;
	}
	if (total > UINT32_MAX || n > (size_t)XBLOCK_MAX * XBLOCK_MAX)
		return or_fail(err, OR_ERR_LIMIT, "a value of %llu bytes: more than a data tree holds",
		               (unsigned long long)total);
	if (n <= XBLOCK_MAX)
		return write_xblock(f, 1, bids, n, (uint32_t)total, bid, err);
	size_t nx = (n + XBLOCK_MAX - 1) / XBLOCK_MAX;
	uint64_t *xb = malloc(nx * sizeof *xb);
	int rc = 0;
	if (!xb)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < nx && rc == 0; k++) {
		size_t from = k * XBLOCK_MAX, cnt = n - from < XBLOCK_MAX ? n - from : XBLOCK_MAX;
		uint64_t sub = 0;
		for (size_t i = 0; i < cnt; i++)
			sub += sizes[from + i];
		rc = write_xblock(f, 1, bids + from, cnt, (uint32_t)sub, &xb[k], err);
	}
	if (rc == 0)
		rc = write_xblock(f, 2, xb, nx, (uint32_t)total, bid, err);
	free(xb);
	return rc;
}

struct pst_stream {
	pst_ndb *f;
	size_t unit, per;       /* bytes kept whole, and data per block */
	uint8_t *buf;
	size_t len;
	uint64_t *bids;
	uint32_t *sizes;
	size_t n, cap;
	uint64_t total;
};

int pst_stream_open(pst_ndb *f, size_t unit, pst_stream **out, or_error *err)
{
	*out = NULL;
	pst_stream *s = calloc(1, sizeof *s);
	if (!s || !(s->buf = malloc(f->data_block_max))) {
		free(s);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	s->f = f;
	s->unit = unit ? unit : 1;
	/* rows of a table fill 8,176-byte blocks (readers compute a row's place from that size) */
	size_t block = s->unit > 1 ? PST_BLOCK_DATA_MAX : f->data_block_max;
	s->per = block / s->unit * s->unit;
	if (s->per == 0) {
		pst_stream_free(s);
		return or_fail(err, OR_ERR_LIMIT, "a row of %zu bytes does not fit a block", unit);
	}
	*out = s;
	return 0;
}

static int stream_flush(pst_stream *s, bool last, or_error *err)
{
	if (s->len == 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		uint64_t *b = realloc(s->bids, cap * sizeof *b);
		if (b)
			s->bids = b;
		uint32_t *z = b ? realloc(s->sizes, cap * sizeof *z) : NULL;
		if (!b || !z)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		s->sizes = z;
		s->cap = cap;
	}
	size_t len = s->len;
	if (s->unit > 1 && !last) {
		memset(s->buf + len, 0, PST_BLOCK_DATA_MAX - len);
		len = PST_BLOCK_DATA_MAX;
	}
	int rc = pst_write_block(s->f, s->buf, len, false, 1, &s->bids[s->n], err);
	if (rc)
		return rc;
	s->sizes[s->n++] = (uint32_t)len;
	s->total += len;
	s->len = 0;
	return 0;
}

int pst_stream_write(pst_stream *s, const void *data, size_t len, or_error *err)
{
	const uint8_t *p = data;
	while (len > 0) {
		if (s->len == s->per) {
			int rc = stream_flush(s, false, err);
			if (rc)
				return rc;
		}
		size_t take = s->per - s->len < len ? s->per - s->len : len;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		len -= take;
	}
	return 0;
}

int pst_stream_close(pst_stream *s, uint64_t *bid, uint64_t *total, or_error *err)
{
	*bid = 0;
	int rc = stream_flush(s, true, err);
	if (rc == 0 && s->n) {
		/* a single block is referenced once: by the node or the tree above */
		rc = write_tree(s->f, s->bids, s->sizes, s->n, bid, err);
	}
	if (total)
		*total = s->total;
	pst_stream_free(s);
	return rc;
}

void pst_stream_free(pst_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s->bids);
	free(s->sizes);
	free(s);
}

int pst_write_data(pst_ndb *f, const uint8_t *data, size_t len, uint64_t *bid, or_error *err)
{
	pst_stream *s;
	*bid = 0;
	if (len == 0)
		return 0;
	int rc = pst_stream_open(f, 1, &s, err);
	if (rc)
		return rc;
	if ((rc = pst_stream_write(s, data, len, err)) != 0) {
		pst_stream_free(s);
		return rc;
	}
	return pst_stream_close(s, bid, NULL, err);
}

/* Several blocks given whole (heap pages) under one data tree. */
int pst_write_chunks(pst_ndb *f, const uint64_t *bids, const uint32_t *sizes, size_t n, uint64_t *bid,
                     or_error *err)
{
	*bid = 0;
	return n ? write_tree(f, bids, sizes, n, bid, err) : 0;
}

static int cmp_sub(const void *a, const void *b)
{
	const pst_subnode *x = a, *y = b;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

#define SLBLOCK_MAX ((PST_BLOCK_DATA_MAX - 8) / 24)
#define SIBLOCK_MAX ((PST_BLOCK_DATA_MAX - 8) / 16)

int pst_write_subnodes(pst_ndb *f, pst_subnode *s, size_t n, uint64_t *bid, or_error *err)
{
	*bid = 0;
	if (n == 0)
		return 0;
	if (n > (size_t)SLBLOCK_MAX * SIBLOCK_MAX)
		return or_fail(err, OR_ERR_LIMIT, "%zu subnodes in one node: more than a subnode tree holds", n);
	qsort(s, n, sizeof *s, cmp_sub);
	size_t n_sl = (n + SLBLOCK_MAX - 1) / SLBLOCK_MAX;
	uint8_t *b = malloc(8 + (size_t)SLBLOCK_MAX * 24);
	uint64_t *sl = malloc(n_sl * sizeof *sl);
	int rc = 0;
	if (!b || !sl) {
		free(b);
		free(sl);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	for (size_t k = 0; k < n_sl && rc == 0; k++) {
		size_t from = k * SLBLOCK_MAX, cnt = n - from < SLBLOCK_MAX ? n - from : SLBLOCK_MAX;
		b[0] = 2;
		b[1] = 0;
		pst_put16(b + 2, (uint16_t)cnt);
		pst_put32(b + 4, 0);
		for (size_t i = 0; i < cnt; i++) {
			pst_put64(b + 8 + 24 * i, s[from + i].nid);
			pst_put64(b + 16 + 24 * i, s[from + i].bid_data);
			pst_put64(b + 24 + 24 * i, s[from + i].bid_sub);
		}
		rc = pst_write_block(f, b, 8 + 24 * cnt, true, 2, &sl[k], err);
	}
	if (rc == 0 && n_sl == 1) {
		*bid = sl[0];
	} else if (rc == 0) {
		/* SIBLOCK: (first nid, SLBLOCK) per child */
		b[0] = 2;
		b[1] = 1;
		pst_put16(b + 2, (uint16_t)n_sl);
		pst_put32(b + 4, 0);
		for (size_t k = 0; k < n_sl; k++) {
			pst_put64(b + 8 + 16 * k, s[k * SLBLOCK_MAX].nid);
			pst_put64(b + 16 + 16 * k, sl[k]);
		}
		rc = pst_write_block(f, b, 8 + 16 * n_sl, true, 2, bid, err);
	}
	free(b);
	free(sl);
	return rc;
}

static int write_header(pst_ndb *f, or_error *err)
{
	uint8_t h[564];
	memset(h, 0, sizeof h);
	memcpy(h, "!BDN", 4);
	memcpy(h + 8, f->format == PST_FMT_PST ? "SM" : "SO", 2);
	pst_put16(h + 10, f->format == PST_FMT_OST4K ? 36 : 23);
	pst_put16(h + 12, 19);
	h[14] = 1;
	h[15] = 1;
	pst_put64(h + 24, 0);                 /* bidUnused */
	pst_put64(h + 32, f->next_pbid);      /* bidNextP */
	pst_put32(h + 40, 0x4F535452);        /* dwUnique */
	for (int i = 0; i < 32; i++)
		pst_put32(h + 44 + 4 * i, f->nid_hwm[i] > 0x400 ? f->nid_hwm[i] : 0x400);
	/* ROOT */
	pst_put64(h + 184, f->cursor);        /* ibFileEof */
	pst_put64(h + 192, f->last_amap);     /* ibAMapLast */
	pst_put64(h + 200, f->amap_free);     /* cbAMapFree */
	pst_put64(h + 208, 0);                /* cbPMapFree */
	pst_put64(h + 216, f->nbt_root_bid);
	pst_put64(h + 224, f->nbt_root_ib);
	pst_put64(h + 232, f->bbt_root_bid);
	pst_put64(h + 240, f->bbt_root_ib);
	h[248] = 2;                           /* fAMapValid: VALID_AMAP2 */
	memset(h + 256, 0xFF, 128);           /* rgbFM, deprecated */
	memset(h + 384, 0xFF, 128);           /* rgbFP, deprecated */
	h[512] = 0x80;                        /* bSentinel */
	h[513] = 0;                           /* bCryptMethod: none */
	pst_put64(h + 516, f->next_bid);      /* bidNextB */
	pst_put32(h + 4, pst_crc(h + 8, 471));
	pst_put32(h + 524, pst_crc(h + 8, 516));
	return write_at(f, 0, h, sizeof h, err);
}

int pst_ndb_finish(pst_ndb *f, or_error *err)
{
	int rc = pst_write_btrees(f, err);
	if (rc)
		return rc;
	/* Outlook grows a file a whole map region at a time: the file ends where the last region does,
	 * and the space after the last allocation is free in its AMap (a sparse hole here) */
	f->data_end = f->cursor;
	uint64_t end = region_start(f, f->region + 1);
	if ((rc = flush_region(f, end, err)) != 0)
		return rc;
	/* the FMap over the last regions, its bytes for regions beyond the file zero */
	if (f->fmap_n && (rc = write_fmap(f, f->region + 1 - f->fmap_n, err)) != 0)
		return rc;
	f->cursor = end;
	if ((rc = write_header(f, err)) != 0)
		return rc;
	if (fflush(f->fp) != 0 || ftruncate(fileno(f->fp), (off_t)f->cursor) != 0 || fsync(fileno(f->fp)) != 0)
		return io_fail(f, err, "cannot finish");
	return 0;
}

int pst_ndb_commit(pst_ndb *f, or_error *err)
{
	if (!f->tmp)
		return or_fail(err, OR_ERR_IO, "%s: nothing to commit", f->path);
	if (f->noreplace) {
		/* link() fails when the name exists: an existing file is never replaced */
		if (link(f->tmp, f->path) != 0) {
			int e = errno;
			return or_fail(err, OR_ERR_IO, e == EEXIST ? "%s exists: it is never overwritten" : "cannot create %s: %s",
			               f->path, strerror(e));
		}
		unlink(f->tmp);
	} else if (rename(f->tmp, f->path) != 0) {
		return io_fail(f, err, "cannot rename onto");
	}
	or_temp_unregister(f->tmp);
	free(f->tmp);
	f->tmp = NULL;
	return 0;
}
