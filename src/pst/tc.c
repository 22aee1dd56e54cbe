/* tc.c: table contexts ([MS-PST] 2.3.4), built row by row. The heap's pages, the row index leaves
 * and the row matrix go to the file as they fill, so a table of any length costs a few blocks of
 * memory and one (key, hid) pair per 447 rows. */
#include "hn.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	uint32_t tag;
	uint16_t ib;
	uint8_t cb, ibit;
	int src; /* index into the caller's columns, -1 row id, -2 row version */
} col_layout;

#define LEAF_RECS (PST_HN_ALLOC_MAX / 8)

struct pst_tc {
	pst_ndb *f;
	pst_hn *hn;
	col_layout *lay;         /* in row order */
	size_t nc, n_cols;
	uint16_t end4, end2, end1;
	size_t row_size;
	uint8_t *row;
	pst_bth index;
	uint8_t leaf[LEAF_RECS * 8];
	size_t leaf_n;
	uint8_t *leaves;         /* (first row id, hid) of each leaf written */
	size_t n_leaves, cap_leaves;
	uint8_t *rows_mem;       /* the row matrix while it fits a heap allocation */
	size_t rows_len;
	pst_stream *rows;        /* then streamed into a subnode */
	size_t n_rows;
	uint32_t last_row_id;
};

/* Bytes a cell of this type takes in a row: fixed values inline up to 8 bytes, else an HNID. */
static int cell_size(uint16_t type)
{
	int s = pst_fixed_size(type);
	return s && s <= 8 ? s : 4;
}

static bool cell_inline(uint16_t type)
{
	int s = pst_fixed_size(type);
	return s && s <= 8;
}

int pst_tc_new(pst_tc **out, pst_ndb *f, const pst_col *cols, size_t n_cols, or_error *err)
{
	*out = NULL;
	size_t nc = n_cols + 2;
	if (nc > 255)
		return or_fail(err, OR_ERR_LIMIT, "a table of %zu columns", n_cols);
	pst_tc *t = calloc(1, sizeof *t);
	if (!t || !(t->lay = calloc(nc, sizeof *t->lay))) {
		free(t);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	t->f = f;
	t->nc = nc;
	t->n_cols = n_cols;
	/* the row id and version come first ([MS-PST] 2.3.4.4.1), then 8/4-byte, 2-byte, 1-byte cells */
	t->lay[0] = (col_layout){0x67F20003u, 0, 4, 0, -1};
	t->lay[1] = (col_layout){0x67F30003u, 4, 4, 1, -2};
	uint16_t ib = 8;
	uint8_t bit = 2;
	size_t k = 2;
	for (int pass = 0; pass < 3; pass++) {
		for (size_t c = 0; c < n_cols; c++) {
			int sz = cell_size(cols[c].type);
			if ((pass == 0 && sz < 4) || (pass == 1 && sz != 2) || (pass == 2 && sz != 1))
				continue;
			t->lay[k++] = (col_layout){(uint32_t)cols[c].id << 16 | cols[c].type, ib, (uint8_t)sz, bit++, (int)c};
			ib = (uint16_t)(ib + sz);
		}
	}
	t->end4 = 8;
	for (size_t c = 2; c < nc; c++)
		if (t->lay[c].cb >= 4 && t->lay[c].ib + t->lay[c].cb > t->end4)
			t->end4 = (uint16_t)(t->lay[c].ib + t->lay[c].cb);
	t->end2 = t->end4;
	for (size_t c = 2; c < nc; c++)
		if (t->lay[c].cb == 2)
			t->end2 = (uint16_t)(t->lay[c].ib + 2);
	t->end1 = t->end2;
	for (size_t c = 2; c < nc; c++)
		if (t->lay[c].cb == 1)
			t->end1 = (uint16_t)(t->lay[c].ib + 1);
	t->row_size = t->end1 + (nc + 7) / 8;
	int rc = 0;
	if (!(t->row = malloc(t->row_size)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0)
		rc = pst_hn_new(&t->hn, f, 0x7C, true, err);
	/* the row index header first: readers expect it to be the heap's first allocation */
	if (rc == 0)
		rc = pst_bth_begin(t->hn, 4, 4, &t->index, err);
	if (rc) {
		pst_tc_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void pst_tc_free(pst_tc *t)
{
	if (!t)
		return;
	pst_hn_free(t->hn);
	pst_stream_free(t->rows);
	free(t->lay);
	free(t->row);
	free(t->leaves);
	free(t->rows_mem);
	free(t);
}

size_t pst_tc_rows(const pst_tc *t) { return t->n_rows; }

static int flush_leaf(pst_tc *t, or_error *err)
{
	if (t->leaf_n == 0)
		return 0;
	uint32_t hid;
	int rc = pst_hn_alloc(t->hn, t->leaf, t->leaf_n * 8, &hid, err);
	if (rc)
		return rc;
	uint8_t *e = or_append((void **)&t->leaves, &t->n_leaves, &t->cap_leaves, 8);
	if (!e)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memcpy(e, t->leaf, 4);
	pst_put32(e + 4, hid);
	t->leaf_n = 0;
	return 0;
}

static int put_row(pst_tc *t, or_error *err)
{
	if (!t->rows && t->rows_len + t->row_size <= PST_HN_ALLOC_MAX) {
		uint8_t *p = realloc(t->rows_mem, t->rows_len + t->row_size);
		if (!p)
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		t->rows_mem = p;
		memcpy(p + t->rows_len, t->row, t->row_size);
		t->rows_len += t->row_size;
		return 0;
	}
	int rc = 0;
	if (!t->rows) {
		/* over one allocation: a subnode of whole rows per block, every block padded */
		rc = pst_stream_open(t->f, t->row_size, &t->rows, err);
		if (rc == 0 && t->rows_len)
			rc = pst_stream_write(t->rows, t->rows_mem, t->rows_len, err);
		free(t->rows_mem);
		t->rows_mem = NULL;
		t->rows_len = 0;
	}
	return rc ? rc : pst_stream_write(t->rows, t->row, t->row_size, err);
}

int pst_tc_row(pst_tc *t, uint32_t row_id, const pst_cell *cells, or_error *err)
{
	if (t->n_rows && row_id <= t->last_row_id)
		return or_fail(err, OR_ERR_FORMAT, "table rows out of order (row id 0x%x after 0x%x)", row_id, t->last_row_id);
	memset(t->row, 0, t->row_size);
	uint8_t *ceb = t->row + t->end1;
	int rc = 0;
	for (size_t c = 0; c < t->nc && rc == 0; c++) {
		const col_layout *l = &t->lay[c];
		uint64_t v;
		if (l->src == -1) {
			v = row_id;
		} else if (l->src == -2) {
			v = 1;
		} else {
			const pst_cell *cell = &cells[l->src];
			if (!cell->present)
				continue;
			uint16_t type = (uint16_t)(l->tag & 0xFFFF);
			if (cell_inline(type)) {
				if (cell->data) {
					uint8_t tmp[8] = {0};
					memcpy(tmp, cell->data, cell->len < 8 ? cell->len : 8);
					v = 0;
					for (int k = 7; k >= 0; k--)
						v = v << 8 | tmp[k];
				} else {
					v = cell->num;
				}
			} else {
				/* data NULL: an empty value without an allocation (HNID 0) */
				uint32_t hnid = 0;
				if (cell->data)
					rc = pst_hn_value(t->hn, cell->data, cell->len, &hnid, err);
				v = hnid;
			}
		}
		for (int k = 0; k < l->cb; k++)
			t->row[l->ib + k] = (uint8_t)(v >> (8 * k));
		ceb[l->ibit / 8] |= (uint8_t)(0x80 >> (l->ibit % 8));
	}
	if (rc)
		return rc;
	pst_put32(t->leaf + t->leaf_n * 8, row_id);
	pst_put32(t->leaf + t->leaf_n * 8 + 4, (uint32_t)t->n_rows);
	if (++t->leaf_n == LEAF_RECS && (rc = flush_leaf(t, err)) != 0)
		return rc;
	if ((rc = put_row(t, err)) != 0)
		return rc;
	t->n_rows++;
	t->last_row_id = row_id;
	return 0;
}

static int cmp_tag(const void *a, const void *b)
{
	const col_layout *x = a, *y = b;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

int pst_tc_finish(pst_tc *t, uint32_t nid, uint32_t parent, pst_subnode *sub, or_error *err)
{
	uint32_t hnid_rows = 0, hid_info;
	uint8_t *info = NULL;
	int rc = flush_leaf(t, err);
	if (rc == 0)
		rc = pst_bth_levels(t->hn, &t->index, t->leaves, t->n_leaves, err);
	if (rc == 0 && t->rows) {
		pst_subnode s = {pst_hn_next_subnid(t->hn, PST_NID_TYPE_LTP), 0, 0};
		rc = pst_stream_close(t->rows, &s.bid_data, NULL, err);
		t->rows = NULL;
		if (rc == 0)
			rc = pst_hn_add_subnode(t->hn, &s, err);
		hnid_rows = s.nid;
	} else if (rc == 0 && t->rows_len) {
		rc = pst_hn_alloc(t->hn, t->rows_mem, t->rows_len, &hnid_rows, err);
	}
	size_t info_len = 22 + 8 * t->nc;
	if (rc == 0 && !(info = calloc(1, info_len)))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc == 0) {
		qsort(t->lay, t->nc, sizeof *t->lay, cmp_tag);
		info[0] = 0x7C;
		info[1] = (uint8_t)t->nc;
		pst_put16(info + 2, t->end4);
		pst_put16(info + 4, t->end2);
		pst_put16(info + 6, t->end1);
		pst_put16(info + 8, (uint16_t)t->row_size);
		pst_put32(info + 10, t->index.hid);
		pst_put32(info + 14, hnid_rows);
		pst_put32(info + 18, 0);
		for (size_t c = 0; c < t->nc; c++) {
			uint8_t *d = info + 22 + 8 * c;
			pst_put32(d, t->lay[c].tag);
			pst_put16(d + 4, t->lay[c].ib);
			d[6] = t->lay[c].cb;
			d[7] = t->lay[c].ibit;
		}
		rc = pst_hn_alloc(t->hn, info, info_len, &hid_info, err);
	}
	if (rc == 0)
		rc = pst_hn_write(t->hn, hid_info, nid, parent, sub, err);
	free(info);
	pst_tc_free(t);
	return rc;
}

typedef struct { uint32_t id; size_t r; } row_ref;

static int cmp_row_ref(const void *a, const void *b)
{
	const row_ref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int pst_write_tc(pst_ndb *f, uint32_t nid, uint32_t parent, const pst_col *cols, size_t n_cols,
                 const uint32_t *row_ids, const uint64_t *cells, size_t n_rows, or_error *err)
{
	pst_tc *t;
	pst_cell *row = calloc(n_cols ? n_cols : 1, sizeof *row);
	row_ref *order = malloc((n_rows ? n_rows : 1) * sizeof *order);
	if (!row || !order) {
		free(row);
		free(order);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	/* rows in row id order: the row index is built as they come */
	for (size_t r = 0; r < n_rows; r++)
		order[r] = (row_ref){row_ids[r], r};
	qsort(order, n_rows, sizeof *order, cmp_row_ref);
	int rc = pst_tc_new(&t, f, cols, n_cols, err);
	for (size_t k = 0; k < n_rows && rc == 0; k++) {
		size_t r = order[k].r;
		for (size_t c = 0; c < n_cols; c++)
			row[c] = (pst_cell){.present = true, .num = cells[r * n_cols + c]};
		rc = pst_tc_row(t, row_ids[r], row, err);
	}
	free(order);
	if (rc == 0)
		rc = pst_tc_finish(t, nid, parent, NULL, err);
	else
		pst_tc_free(t);
	free(row);
	return rc;
}
