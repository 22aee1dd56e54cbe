/* btree.c: the node and block B-trees of a file being written ([MS-PST] 2.2.2.7.7), built at the
 * end from their entries in key order: the message nodes and all blocks come back from the spill
 * files ndb.c wrote them to, the other nodes from memory. Each level keeps one open page; a full
 * page is written and its first key goes up a level, so memory does not grow with the file. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BT_MAX_LEVELS 8 /* 20 entries a page at the least: 20^8 is more than any file holds */

/* A B-tree bulk-loaded from its leaf entries in key order: one open page per level; a full page is
 * written and its first key and place go up as an entry of the level above. */
typedef struct {
	pst_ndb *f;
	uint8_t ptype;
	size_t leaf_ent;
	struct {
		uint8_t *pg;
		size_t n, per, ent;
		uint64_t written;
	} lv[BT_MAX_LEVELS];
	int top;
	uint64_t root_ib, root_bid, leaf_ib;
} bt_builder;

static int bt_push(bt_builder *b, int level, const uint8_t *ent, or_error *err);

/* Writes level `level`'s open page; unless it is the root, its first key goes up. */
static int bt_write_page(bt_builder *b, int level, bool root, or_error *err)
{
	pst_ndb *f = b->f;
	uint8_t *pg = b->lv[level].pg;
	size_t cnt = b->lv[level].n, per = b->lv[level].per, ent = b->lv[level].ent;
	memset(pg + cnt * ent, 0, f->page - cnt * ent);
	uint8_t *m = pg + f->bt_area;
	if (f->page == 4096) {
		pst_put16(m, (uint16_t)cnt);
		pst_put16(m + 2, (uint16_t)per);
		m[4] = (uint8_t)ent;
		m[5] = (uint8_t)level;
	} else {
		m[0] = (uint8_t)cnt;
		m[1] = (uint8_t)per;
		m[2] = (uint8_t)ent;
		m[3] = (uint8_t)level;
	}
	uint64_t ib, bid = f->next_pbid++;
	uint8_t up[24];
	memcpy(up, pg, 8); /* the first key (zero in an empty root) */
	int rc = pst_alloc_space(f, f->page, f->page, &ib, err);
	if (rc == 0)
		rc = pst_write_page(f, pg, b->ptype, ib, bid, err);
	if (rc)
		return rc;
	if (level == 0)
		b->leaf_ib = ib;
	b->lv[level].written++;
	b->lv[level].n = 0;
	if (root) {
		b->root_ib = ib;
		b->root_bid = bid;
		return 0;
	}
	pst_put64(up + 8, bid);
	pst_put64(up + 16, ib);
	return bt_push(b, level + 1, up, err);
}

static int bt_push(bt_builder *b, int level, const uint8_t *ent, or_error *err)
{
	if (level >= BT_MAX_LEVELS)
		return or_fail(err, OR_ERR_LIMIT, "a B-tree deeper than %d levels", BT_MAX_LEVELS);
	if (!b->lv[level].pg) {
		if (!(b->lv[level].pg = malloc(b->f->page)))
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		b->lv[level].ent = level ? 24 : b->leaf_ent; /* BTENTRY: key, BREF (bid, ib) */
		b->lv[level].per = b->f->bt_area / b->lv[level].ent;
	}
	if (level > b->top)
		b->top = level;
	if (b->lv[level].n == b->lv[level].per) {
		int rc = bt_write_page(b, level, false, err);
		if (rc)
			return rc;
	}
	memcpy(b->lv[level].pg + b->lv[level].n * b->lv[level].ent, ent, b->lv[level].ent);
	b->lv[level].n++;
	return 0;
}

/* The partial pages, bottom up; the first level that is a single page is the root. */
static int bt_finish(bt_builder *b, or_error *err)
{
	int rc = 0;
	if (!b->lv[0].pg && (rc = bt_push(b, 0, (const uint8_t[32]){0}, err)) == 0)
		b->lv[0].n = 0; /* an empty tree: one empty leaf */
	for (int level = 0; rc == 0 && level < BT_MAX_LEVELS; level++) {
		if (level == b->top && b->lv[level].written == 0)
			return bt_write_page(b, level, true, err);
		if (b->lv[level].n)
			rc = bt_write_page(b, level, false, err);
	}
	return rc ? rc : or_fail(err, OR_ERR_LIMIT, "a B-tree deeper than %d levels", BT_MAX_LEVELS);
}

static void bt_free(bt_builder *b)
{
	for (int i = 0; i < BT_MAX_LEVELS; i++)
		free(b->lv[i].pg);
}

static int cmp_nbt(const void *a, const void *b)
{
	const pst_nbt_entry *x = a, *y = b;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

static int spill_rewind(pst_ndb *f, FILE *s, or_error *err)
{
	if (fflush(s) != 0 || fseeko(s, 0, SEEK_SET) != 0)
		return pst_spill_fail(f, err);
	return 0;
}

static int spill_read(pst_ndb *f, FILE *s, uint8_t *e, size_t n, or_error *err)
{
	if (fread(e, 1, n, s) != n)
		return or_fail(err, OR_ERR_IO, "cannot read back a temporary file beside %s", f->path);
	return 0;
}

int pst_write_btrees(pst_ndb *f, or_error *err)
{
	bt_builder nb = {.f = f, .ptype = PTYPE_NBT, .leaf_ent = 32}, bb = {.f = f, .ptype = PTYPE_BBT, .leaf_ent = 24};
	uint8_t e[32], s_ent[32];
	int rc;
	/* nodes: the spilled message nodes merged with the others, sorted here */
	if (f->n_nbt)
		qsort(f->nbt, f->n_nbt, sizeof *f->nbt, cmp_nbt);
	if ((rc = spill_rewind(f, f->spill_nbt, err)) != 0)
		goto done;
	size_t mi = 0;
	uint64_t si = 0;
	bool have_s = false;
	uint32_t last = 0;
	bool any = false;
	while (rc == 0) {
		if (!have_s && si < f->n_nbt_spilled) {
			if ((rc = spill_read(f, f->spill_nbt, s_ent, 32, err)) != 0)
				break;
			si++;
			have_s = true;
		}
		uint32_t snid = have_s ? (uint32_t)(s_ent[0] | s_ent[1] << 8 | s_ent[2] << 16 | (uint32_t)s_ent[3] << 24) : 0;
		if (have_s && (mi == f->n_nbt || snid < f->nbt[mi].nid)) {
			memcpy(e, s_ent, 32);
			have_s = false;
		} else if (mi < f->n_nbt) {
			pst_nbt_bytes(&f->nbt[mi++], e);
		} else {
			break;
		}
		uint32_t nid = (uint32_t)(e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24);
		if (any && nid == last) {
			rc = or_fail(err, OR_ERR_FORMAT, "node 0x%x written twice", nid);
			break;
		}
		any = true;
		last = nid;
		rc = bt_push(&nb, 0, e, err);
	}
	if (rc == 0)
		rc = bt_finish(&nb, err);
	if (rc)
		goto done;
	f->nbt_root_ib = nb.root_ib;
	f->nbt_root_bid = nb.root_bid;
	f->nbt_leaf_ib = nb.leaf_ib;
	/* the block tree is written last, so it holds no entry for its own pages: pages are not blocks;
	 * block ids grow as blocks are written, so the spilled entries are in key order already */
	if ((rc = spill_rewind(f, f->spill_bbt, err)) != 0)
		goto done;
	for (uint64_t i = 0; i < f->n_bbt && rc == 0; i++)
		if ((rc = spill_read(f, f->spill_bbt, e, 24, err)) == 0)
			rc = bt_push(&bb, 0, e, err);
	if (rc == 0)
		rc = bt_finish(&bb, err);
	if (rc == 0) {
		f->bbt_root_ib = bb.root_ib;
		f->bbt_root_bid = bb.root_bid;
		f->bbt_leaf_ib = bb.leaf_ib;
	}
done:
	bt_free(&nb);
	bt_free(&bb);
	return rc;
}
