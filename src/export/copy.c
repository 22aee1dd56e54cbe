/* copy.c: one message copied from the cache (src/ost) to the .pst (src/pst), property by property,
 * with its recipients, attachments and embedded messages; every part that cannot be read is
 * noted, and the rest is copied. */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECIPIENT_PROPS 512 /* cells of one table row read at a time (recipients, attachments) */

void ex_problem(ex_item *it, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (it->n_problems >= EX_MAX_PROBLEMS) {
		it->more_problems++;
		return;
	}
	it->problems[it->n_problems] = strdup(buf);
	if (it->problems[it->n_problems])
		it->n_problems++;
}

void ex_item_clear(ex_item *it)
{
	for (size_t i = 0; i < it->n_problems; i++)
		free(it->problems[i]);
	memset(it, 0, sizeof *it);
}

/* Where a named property goes whose name the cache's map does not give: a property set of
 * ostrecon's own ({6F737472-6563-6F6E-8000-6E616D656C6F}), under a string name that says what it
 * was, so that it stays readable in the new file; the item lists it. */
static const uint8_t unnamed_set[16] = {0x72, 0x74, 0x73, 0x6F, 0x63, 0x65, 0x6E, 0x6F,
                                        0x80, 0x00, 0x6E, 0x61, 0x6D, 0x65, 0x6C, 0x6F};

/* The id a cache property gets in the new file: itself below 0x8000, else through the names. */
static int map_id(ex_ctx *x, ex_item *it, uint16_t id, uint16_t *out, const char *where)
{
	*out = id;
	if (id < 0x8000)
		return 0;
	const ost_propname *n = ost_cache_name(x->cache, id);
	pst_name pn = {0};
	char made[96];
	if (n && !n->name_lost) {
		pn = (pst_name){.is_string = n->is_string, .lid = n->lid, .name = n->name};
		memcpy(pn.guid, n->guid, 16);
	} else {
		/* no name to map it by: kept under one that names the cache's id (and the GUID when known) */
		const char *why = ost_cache_names_problem(x->cache);
		snprintf(made, sizeof made, "ostrecon:unnamed:0x%04x", id);
		pn = (pst_name){.is_string = true, .name = made};
		memcpy(pn.guid, n ? n->guid : unnamed_set, 16);
		ex_problem(it, "%snamed property 0x%04x: %s%s%s%s; kept under the name \"%s\" in %s", where, id,
		           n ? "its string name in the cache's map cannot be read" : "the cache's map has no name for it",
		           why ? " (" : "", why ? why : "", why ? ")" : "", made,
		           n ? "its property set" : "ostrecon's property set {6F737472-6563-6F6E-8000-6E616D656C6F}");
	}
	or_error e = {0};
	if (pst_writer_name_id(x->w, &pn, out, &e) != 0) {
		ex_problem(it, "%snamed property 0x%04x: %s: not copied", where, id, e.message);
		return 1;
	}
	return 0;
}

static int write_piece(void *ctx, const uint8_t *p, size_t n, or_error *err)
{
	return pst_object_value_write(ctx, p, n, err);
}

/* Every property of src into dst. A value that cannot be read is noted and left out; an error of
 * the writer (disk, memory) is returned. */
static int copy_props(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, bool attachment, const char *where)
{
	size_t n = ost_object_prop_count(src);
	for (size_t i = 0; i < n; i++) {
		ost_value v;
		or_error e = {0};
		if (ost_object_prop(src, i, &v, &e) != 0) {
			ex_problem(it, "%s%s", where, e.message);
			continue;
		}
		/* an embedded message is written as such, with a reference of the new file's own; an
		 * OLE object's bytes are copied (the writer makes the reference) */
		if (attachment && v.id == 0x3701 && v.type == PT_OBJECT && ost_attachment_method(src) == 5)
			continue;
		uint16_t id;
		if (map_id(x, it, v.id, &id, where) != 0)
			continue;
		int rc;
		if (v.big) {
			if ((rc = pst_object_value_begin(dst, id, v.type, &x->err)) != 0)
				return rc;
			or_error re = {0};
			rc = ost_object_value_read(src, &v, write_piece, dst, &re);
			if (rc && re.code != OR_ERR_IO && re.code != OR_ERR_NOMEM && x->err.code == 0) {
				/* the cache's value broke off: what was read stays, and the item says so */
				ex_problem(it, "%sproperty 0x%04x is cut short: %s", where, v.id, re.message);
				rc = 0;
			} else if (rc) {
				if (x->err.code == 0)
					x->err = re;
				return rc;
			}
			if ((rc = pst_object_value_end(dst, &x->err)) != 0)
				return rc;
			continue;
		}
		/* an empty value keeps its form: no allocation (HNID 0) or an empty one */
		pst_prop p = {.id = id, .type = v.type, .data = v.len ? v.data : v.no_ref ? NULL : (const void *)"",
		              .len = (uint32_t)v.len};
		if ((rc = pst_object_prop(dst, &p, &x->err)) != 0) {
			if (x->err.code == OR_ERR_IO || x->err.code == OR_ERR_NOMEM)
				return rc;
			ex_problem(it, "%sproperty 0x%04x: %s", where, v.id, x->err.message);
			or_error_clear(&x->err);
		}
	}
	return 0;
}

static int copy_recipients(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, const char *where)
{
	size_t n;
	or_error e = {0};
	if (ost_object_recipient_count(src, &n, &e) != 0) {
		ex_problem(it, "%s%s: recipients not copied", where, e.message);
		return 0;
	}
	ost_value *vals = malloc(MAX_RECIPIENT_PROPS * sizeof *vals);
	pst_prop *props = malloc(MAX_RECIPIENT_PROPS * sizeof *props);
	uint32_t *tags = malloc(MAX_RECIPIENT_PROPS * sizeof *tags);
	pst_col *cols = malloc(MAX_RECIPIENT_PROPS * sizeof *cols);
	int rc = 0;
	size_t nt = 0, nc = 0;
	if (!vals || !props || !tags || !cols) {
		free(vals);
		free(props);
		free(tags);
		free(cols);
		return or_fail(&x->err, OR_ERR_NOMEM, "out of memory");
	}
	/* the table's columns as the cache has them, empty ones too */
	if (ost_object_recipient_columns(src, tags, MAX_RECIPIENT_PROPS, &nt, &e) == 0) {
		for (size_t k = 0; k < nt; k++) {
			uint16_t id;
			if (map_id(x, it, (uint16_t)(tags[k] >> 16), &id, where) == 0)
				cols[nc++] = (pst_col){id, (uint16_t)tags[k]};
		}
		rc = pst_object_recipient_columns(dst, cols, nc, &x->err);
	}
	free(tags);
	free(cols);
	for (size_t r = 0; r < n && rc == 0; r++) {
		size_t nv = 0, np = 0;
		if (ost_object_recipient(src, r, vals, MAX_RECIPIENT_PROPS, &nv, &e) != 0) {
			ex_problem(it, "%s%s", where, e.message);
			ost_values_release(vals, nv);
			continue;
		}
		for (size_t k = 0; k < nv; k++) {
			uint16_t id;
			if (map_id(x, it, vals[k].id, &id, where) != 0)
				continue;
			props[np++] = (pst_prop){.id = id, .type = vals[k].type,
			                         .data = vals[k].len ? vals[k].data : vals[k].no_ref ? NULL : (const void *)"",
			                         .len = (uint32_t)vals[k].len};
		}
		rc = pst_object_recipient(dst, props, np, &x->err);
		ost_values_release(vals, nv);
	}
	free(vals);
	free(props);
	return rc;
}

int ex_copy_object(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, int depth);

static int copy_attachments(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, int depth, const char *where)
{
	size_t n;
	or_error e = {0};
	if (ost_object_attachment_count(src, &n, &e) != 0) {
		ex_problem(it, "%s%s: attachments not copied", where, e.message);
		return 0;
	}
	int rc = 0;
	ost_value *vals = NULL;
	pst_prop *props = NULL;
	if (n && (!(vals = malloc(MAX_RECIPIENT_PROPS * sizeof *vals)) || !(props = malloc(MAX_RECIPIENT_PROPS * sizeof *props)))) {
		free(vals);
		return or_fail(&x->err, OR_ERR_NOMEM, "out of memory");
	}
	/* the attachment table as the cache has it: its columns, and each row's cells */
	if (n) {
		uint32_t tags[MAX_RECIPIENT_PROPS];
		pst_col cols[MAX_RECIPIENT_PROPS];
		size_t nt = 0, nc = 0;
		if (ost_object_attachment_columns(src, tags, MAX_RECIPIENT_PROPS, &nt, &e) == 0) {
			for (size_t k = 0; k < nt; k++) {
				uint16_t id;
				if (map_id(x, it, (uint16_t)(tags[k] >> 16), &id, where) == 0)
					cols[nc++] = (pst_col){id, (uint16_t)tags[k]};
			}
			rc = pst_object_attachment_columns(dst, cols, nc, &x->err);
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		ost_object *a = NULL, *em = NULL;
		pst_object *da = NULL, *dm = NULL;
		char sub[96];
		snprintf(sub, sizeof sub, "%sattachment %zu: ", where, i + 1);
		if (ost_attachment_open(src, i, &a, &e) != 0) {
			ex_problem(it, "%s%s: not copied", where, e.message);
			continue;
		}
		if ((rc = pst_attachment_begin(dst, &da, &x->err)) == 0)
			rc = copy_props(x, it, a, da, true, sub);
		if (rc == 0) {
			size_t nv = 0, np = 0;
			if (ost_object_attachment_row(src, i, vals, MAX_RECIPIENT_PROPS, &nv, &e) != 0) {
				ex_problem(it, "%s%s: its row of the attachment table is made of its properties", sub, e.message);
			} else {
				for (size_t k = 0; k < nv; k++) {
					uint16_t id;
					if (map_id(x, it, vals[k].id, &id, sub) != 0)
						continue;
					props[np++] = (pst_prop){.id = id, .type = vals[k].type,
					                         .data = vals[k].len ? vals[k].data : vals[k].no_ref ? NULL : (const void *)"",
					                         .len = (uint32_t)vals[k].len};
				}
				rc = pst_attachment_row(da, props, np, &x->err);
				ost_values_release(vals, nv);
			}
		}
		if (rc == 0) {
			int erc = ost_embedded_open(a, &em, &e);
			if (erc == 0) {
				char esub[128];
				snprintf(esub, sizeof esub, "%sembedded message: ", sub);
				if ((rc = pst_embedded_begin(da, &dm, &x->err)) == 0) {
					snprintf(x->where, sizeof x->where, "%s", esub);
					rc = ex_copy_object(x, it, em, dm, depth + 1);
					if (rc == 0)
						rc = pst_object_end(dm, &x->err);
					else
						pst_object_abort(dm);
				}
			} else if (erc != OR_ERR_NOTFOUND) {
				ex_problem(it, "%s%s: not copied", sub, e.message);
			}
		}
		if (rc == 0)
			rc = pst_object_end(da, &x->err);
		else if (da)
			pst_object_abort(da);
		ost_object_free(em);
		ost_object_free(a);
	}
	free(vals);
	free(props);
	return rc;
}

int ex_copy_object(ex_ctx *x, ex_item *it, ost_object *src, pst_object *dst, int depth)
{
	char where[160];
	snprintf(where, sizeof where, "%s", depth ? x->where : "");
	int rc = copy_props(x, it, src, dst, false, where);
	if (rc == 0)
		rc = copy_recipients(x, it, src, dst, where);
	if (rc == 0)
		rc = copy_attachments(x, it, src, dst, depth, where);
	return rc;
}
