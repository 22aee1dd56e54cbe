/* ostwrite damage modes: a correct file is written first, then one object in it is spoiled, and
 * what was hit is reported (stderr, and --damage-report as JSON) so tests know what to expect. */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_at(FILE *fp, uint64_t ib, void *p, size_t n)
{
	return fseeko(fp, (off_t)ib, SEEK_SET) == 0 && fread(p, 1, n, fp) == n ? 0 : -1;
}

static int write_at(FILE *fp, uint64_t ib, const void *p, size_t n)
{
	return fseeko(fp, (off_t)ib, SEEK_SET) == 0 && fwrite(p, 1, n, fp) == n ? 0 : -1;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Bytes a block occupies on disk, trailer included. */
static uint64_t block_span(const struct ow_file *f, uint64_t cb)
{
	return (cb + f->lay.trailer + f->lay.align - 1) / f->lay.align * f->lay.align;
}

static const char *mode_name(enum ow_damage m)
{
	switch (m) {
	case OW_DAMAGE_BAD_BLOCK_CRC: return "bad-block-crc";
	case OW_DAMAGE_TRUNCATE: return "truncate";
	case OW_DAMAGE_BAD_BTREE_POINTER: return "bad-btree-pointer";
	case OW_DAMAGE_ZERO_PAGE: return "zero-page";
	case OW_DAMAGE_UNREADABLE_MESSAGE: return "unreadable-message";
	case OW_DAMAGE_UNLISTED_MESSAGE: return "unlisted-message";
	default: return "none";
	}
}

/* Points the first entry of the node B-tree's root at a data block instead of a page, and keeps the
 * page's CRC right, so that only the pointer is wrong. A root that is a leaf has no pointer: then
 * the header's pointer to the root is bent instead (header CRCs recomputed). */
static int bend_pointer(struct ow_file *f, struct ow_damage_info *t, char *what, size_t cap)
{
	uint8_t *pg = malloc(f->lay.page);
	size_t body = f->lay.page == 4096 ? 4072 : 496;
	int rc = -1;
	if (!pg || read_at(f->lay.fp, f->lay.nbt_root_ib, pg, f->lay.page) < 0)
		goto done;
	int level = pg[f->lay.bt_area + (f->lay.page == 4096 ? 5 : 3)];
	uint64_t wrong = t->offset; /* a data block: not a page, and 64-byte aligned only */
	if (level > 0) {
		t->offset = f->lay.nbt_root_ib + 16;
		t->length = 8;
		pst_put64(pg + 16, wrong);
		pst_put32(pg + body + 4, pst_crc(pg, body));
		if (write_at(f->lay.fp, f->lay.nbt_root_ib, pg, f->lay.page) < 0)
			goto done;
		snprintf(what, cap, "node B-tree root page at %llu: entry 0 points to %llu (a data block)",
			 (unsigned long long)f->lay.nbt_root_ib, (unsigned long long)wrong);
	} else {
		uint8_t h[564];
		if (read_at(f->lay.fp, 0, h, sizeof(h)) < 0)
			goto done;
		pst_put64(h + 224, wrong);
		pst_put32(h + 4, pst_crc(h + 8, 471));
		pst_put32(h + 524, pst_crc(h + 8, 516));
		if (write_at(f->lay.fp, 0, h, sizeof(h)) < 0)
			goto done;
		t->offset = 224;
		t->length = 8;
		snprintf(what, cap, "header: node B-tree root pointer set to %llu (a data block)",
			 (unsigned long long)wrong);
	}
	t->item = t->folder = -1;
	rc = 0;
done:
	free(pg);
	return rc;
}

/* Zeroes a leaf page of the block B-tree; the blocks it indexes can no longer be found. */
static int zero_page(struct ow_file *f, struct ow_damage_info *t, char *what, size_t cap)
{
	uint8_t *pg = malloc(f->lay.page);
	int rc = -1;
	if (!pg || read_at(f->lay.fp, f->lay.bbt_leaf_ib, pg, f->lay.page) < 0)
		goto done;
	size_t n = f->lay.page == 4096 ? (size_t)(pg[f->lay.bt_area] | pg[f->lay.bt_area + 1] << 8) : pg[f->lay.bt_area];
	uint64_t first = n ? get64(pg) : 0, last = n ? get64(pg + (n - 1) * 24) : 0;
	memset(pg, 0, f->lay.page);
	if (write_at(f->lay.fp, f->lay.bbt_leaf_ib, pg, f->lay.page) < 0)
		goto done;
	t->offset = f->lay.bbt_leaf_ib;
	t->length = f->lay.page;
	t->bid = first;
	t->item = t->folder = -1;
	snprintf(what, cap, "block B-tree leaf page at %llu zeroed: %zu blocks, ids %llu..%llu, lost",
		 (unsigned long long)f->lay.bbt_leaf_ib, n, (unsigned long long)first,
		 (unsigned long long)last);
	rc = 0;
done:
	free(pg);
	return rc;
}

static int write_report(const char *path, enum ow_damage mode, const struct ow_damage_info *t,
			const char *what)
{
	FILE *o = fopen(path, "w");
	if (!o)
		return -1;
	fprintf(o, "{\"mode\":\"%s\",\"what\":\"%s\",\"offset\":%llu,\"length\":%llu", mode_name(mode),
		what, (unsigned long long)t->offset, (unsigned long long)t->length);
	if (t->bid)
		fprintf(o, ",\"bid\":%llu", (unsigned long long)t->bid);
	if (t->nid)
		fprintf(o, ",\"nid\":%u", t->nid);
	if (t->item >= 0)
		fprintf(o, ",\"item_id\":\"i:%lld\"", (long long)t->item);
	if (t->folder >= 0)
		fprintf(o, ",\"folder_id\":\"f:%lld\"", (long long)t->folder);
	fputs("}\n", o);
	return fclose(o) == 0 ? 0 : -1;
}

int ow_apply_damage(const char *path, struct ow_file *f, enum ow_damage mode,
		    struct ow_damage_info *t, struct fx_error *err, const char *report)
{
	char what[256] = "";
	uint8_t junk[16];
	int rc = -1;
	if (mode != OW_DAMAGE_TRUNCATE && mode != OW_DAMAGE_ZERO_PAGE && t->item < 0) {
		snprintf(err->msg, sizeof(err->msg), "damage %s needs a message in the fixture",
			 mode_name(mode));
		return -1;
	}
	switch (mode) {
	case OW_DAMAGE_BAD_BLOCK_CRC: {
		/* the CRC in the trailer of the message's property block, inverted */
		uint64_t at = t->offset + block_span(f, t->length) - f->lay.trailer + 4;
		if (read_at(f->lay.fp, at, junk, 4) < 0)
			goto io;
		pst_put32(junk, ~get32(junk));
		if (write_at(f->lay.fp, at, junk, 4) < 0)
			goto io;
		snprintf(what, sizeof(what), "CRC of the property block (bid %llu) of message nid %u",
			 (unsigned long long)t->bid, t->nid);
		t->offset = at;
		t->length = 4;
		break;
	}
	case OW_DAMAGE_UNREADABLE_MESSAGE: {
		/* the whole block, trailer included, becomes noise: it cannot be parsed nor verified */
		uint64_t span = block_span(f, t->length);
		uint8_t *noise = malloc(span);
		uint64_t st = t->bid;
		if (!noise)
			goto done;
		for (uint64_t k = 0; k < span; k++)
			noise[k] = (uint8_t)(fx_rand(&st) >> 56);
		int bad = write_at(f->lay.fp, t->offset, noise, span) < 0;
		free(noise);
		if (bad)
			goto io;
		snprintf(what, sizeof(what), "property block (bid %llu) of message nid %u overwritten",
			 (unsigned long long)t->bid, t->nid);
		t->length = span;
		break;
	}
	case OW_DAMAGE_TRUNCATE: {
		/* cut inside the last page written (a page of the block B-tree); the header still
		 * states the full size */
		uint64_t size = f->lay.data_end - f->lay.page / 2;
		if (fflush(f->lay.fp) != 0 || ftruncate(fileno(f->lay.fp), (off_t)size) != 0)
			goto io;
		snprintf(what, sizeof(what), "file cut to %llu bytes (header says %llu)",
			 (unsigned long long)size, (unsigned long long)f->lay.cursor);
		t->offset = size;
		t->length = f->lay.cursor - size;
		t->item = t->folder = -1;
		t->bid = 0;
		t->nid = 0;
		break;
	}
	case OW_DAMAGE_BAD_BTREE_POINTER:
		if (bend_pointer(f, t, what, sizeof(what)) < 0)
			goto io;
		t->bid = 0;
		t->nid = 0;
		break;
	case OW_DAMAGE_UNLISTED_MESSAGE:
		/* done while writing: the message's row was left out of its folder's contents table */
		if (t->item < 0) {
			snprintf(err->msg, sizeof(err->msg), "unlisted-message: the fixture has no ordinary message");
			goto done;
		}
		snprintf(what, sizeof(what), "message nid %u left out of its folder's contents table", t->nid);
		t->offset = t->length = 0;
		break;
	case OW_DAMAGE_ZERO_PAGE:
		t->nid = 0;
		if (zero_page(f, t, what, sizeof(what)) < 0)
			goto io;
		break;
	default:
		return 0;
	}
	if (fflush(f->lay.fp) != 0)
		goto io;
	fprintf(stderr, "ostwrite: damage %s: %s", mode_name(mode), what);
	if (t->item >= 0)
		fprintf(stderr, " (item i:%lld in folder f:%lld)", (long long)t->item, (long long)t->folder);
	fputc('\n', stderr);
	if (report && write_report(report, mode, t, what) < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot write the damage report", report);
		goto done;
	}
	rc = 0;
	goto done;
io:
	snprintf(err->msg, sizeof(err->msg), "%s: cannot apply damage %s", path, mode_name(mode));
done:
	return rc;
}
