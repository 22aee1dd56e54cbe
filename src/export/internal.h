/* internal.h: shared by the files of src/export. */
#ifndef OSTRECON_EXPORT_INTERNAL_H
#define OSTRECON_EXPORT_INTERNAL_H

#include "export.h"
#include "ost/ost.h"
#include "pst/pst.h"

#define EX_MAX_PROBLEMS 16

/* What became of one item. */
typedef struct {
	char *problems[EX_MAX_PROBLEMS];
	size_t n_problems, more_problems;
} ex_item;

typedef struct {
	ost_cache *cache;
	ost_keys *keys;         /* the keys the cache's listing gives, NULL when they cannot be worked out */
	pst_writer *w;
	or_error err;           /* the writer's error (fatal) */
	char where[160];        /* context for problems inside an embedded message */
} ex_ctx;

void ex_problem(ex_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ex_item_clear(ex_item *it);
/* Copies src into dst (both open); problems of the cache go to `it`, an error of the writer is
 * returned (with x->err). */
int ex_copy_object(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, int depth);

#endif
