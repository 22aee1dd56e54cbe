/* subjects.c: the subjects a report shows. A side loaded from a file left its subjects there
 * (core.h, snap_citem): once the findings are known, the subjects of the items they and the
 * exports name are read back, a few percent of the items, and kept in the result. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

static int put_subject(void *ctx, size_t k, const char *text, size_t len)
{
	diff_subjects *t = ctx;
	t->off[k] = 0;
	if (!text)
		return 0;
	int rc = t->text.len ? 0 : buf_append(&t->text, "", 1); /* offset 0: absent */
	size_t off = t->text.len;
	if (rc == 0 && len >= UINT32_MAX - off)
		rc = OR_ERR_LIMIT;
	if (rc == 0 && (rc = buf_append(&t->text, text, len)) == 0 && (rc = buf_append(&t->text, "", 1)) == 0)
		t->off[k] = (uint32_t)off;
	return rc;
}

/* The items of side s that the findings and exports name, in order, each once. */
int diff_fetch_subjects(diff_ctx *c, int s, or_error *err)
{
	const diff_result *r = c->r;
	diff_subjects *t = &((result_priv *)c->r)->subjects[s];
	if (!r->cmp[s]->subjects_in_file)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		n += r->findings[i].item[s] >= 0;
	for (size_t i = 0; i < r->n_exports; i++)
		n += r->exports[i].side == s;
	if (!n)
		return 0;
	t->item = malloc(n * sizeof *t->item);
	t->off = malloc(n * sizeof *t->off);
	if (!t->item || !t->off)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].item[s] >= 0)
			t->item[t->n++] = r->findings[i].item[s];
	for (size_t i = 0; i < r->n_exports; i++)
		if (r->exports[i].side == s)
			t->item[t->n++] = r->exports[i].item;
	qsort(t->item, t->n, sizeof *t->item, cmp_i32);
	size_t u = 0;
	for (size_t i = 0; i < t->n; i++)
		if (u == 0 || t->item[i] != t->item[u - 1])
			t->item[u++] = t->item[i];
	t->n = u;
	int rc = snap_compared_subjects(r->cmp[s], t->item, t->n, put_subject, t, err);
	if (rc && (!err || !err->code)) /* put_subject's */
		rc = or_fail(err, rc, rc == OR_ERR_LIMIT ? "the subjects to report pass 4 GiB" : "out of memory");
	return rc;
}

void diff_subjects_free(diff_subjects *t)
{
	free(t->item);
	free(t->off);
	buf_free(&t->text);
	memset(t, 0, sizeof *t);
}

const char *diff_item_subject(const diff_result *r, int side, int32_t item)
{
	const snap_compared *c = r->cmp[side];
	if (!c->subjects_in_file)
		return snap_citem_subject(c, &c->items[item]);
	const diff_subjects *t = &((const result_priv *)r)->subjects[side];
	const int32_t *hit = t->n ? bsearch(&item, t->item, t->n, sizeof item, cmp_i32) : NULL;
	return hit && t->off[hit - t->item] ? t->text.data + t->off[hit - t->item] : NULL;
}
