/* store.c: a Unicode PST's store ([MS-PST] 2.4.3, 2.7): the message store, the mandatory folders,
 * nodes and table templates, user folders with their hierarchy, contents and associated contents
 * tables, and the end of the file. */
#include "msg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Mandatory folders ([MS-PST] 2.7.3.4) and where user folders start. */
#define NID_IPM_SUBTREE PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x401)
#define NID_SEARCH_ROOT PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x402)
#define NID_SPAM_FOLDER PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x403)
#define NID_DELETED_ITEMS PST_NID(PST_NID_TYPE_NORMAL_FOLDER, 0x404)
#define FIRST_USER_FOLDER 0x405

const pst_col pst_hierarchy_cols[] = {
	{0x3001, PT_UNICODE}, {0x3602, PT_LONG}, {0x3603, PT_LONG}, {0x360A, PT_BOOLEAN}, {0x3613, PT_UNICODE},
};
const size_t pst_n_hierarchy_cols = sizeof pst_hierarchy_cols / sizeof pst_hierarchy_cols[0];

const pst_col pst_contents_cols[] = {
	{0x0017, PT_LONG}, {0x001A, PT_UNICODE}, {0x0036, PT_LONG}, {0x0037, PT_UNICODE}, {0x0039, PT_SYSTIME},
	{0x0042, PT_UNICODE}, {0x0057, PT_BOOLEAN}, {0x0058, PT_BOOLEAN}, {0x0070, PT_UNICODE}, {0x0071, PT_BINARY},
	{0x0E03, PT_UNICODE}, {0x0E04, PT_UNICODE}, {0x0E06, PT_SYSTIME}, {0x0E07, PT_LONG}, {0x0E08, PT_LONG},
	{0x0E17, PT_LONG}, {0x1097, PT_LONG}, {0x3008, PT_SYSTIME}, {0x65C6, PT_LONG},
};
const size_t pst_n_contents_cols = sizeof pst_contents_cols / sizeof pst_contents_cols[0];

const pst_col pst_assoc_cols[] = {
	{0x001A, PT_UNICODE}, {0x0E07, PT_LONG}, {0x0E17, PT_LONG}, {0x3001, PT_UNICODE}, {0x3008, PT_SYSTIME},
};
const size_t pst_n_assoc_cols = sizeof pst_assoc_cols / sizeof pst_assoc_cols[0];

const pst_col pst_recipient_cols[] = {
	{0x0C15, PT_LONG}, {0x0E0F, PT_BOOLEAN}, {0x0FF9, PT_BINARY}, {0x0FFE, PT_LONG}, {0x0FFF, PT_BINARY},
	{0x3001, PT_UNICODE}, {0x3002, PT_UNICODE}, {0x3003, PT_UNICODE}, {0x300B, PT_BINARY}, {0x3900, PT_LONG},
	{0x39FF, PT_UNICODE}, {0x3A40, PT_BOOLEAN},
};
const size_t pst_n_recipient_cols = sizeof pst_recipient_cols / sizeof pst_recipient_cols[0];

const pst_col pst_attachment_cols[] = {
	{0x0E20, PT_LONG}, {0x3704, PT_UNICODE}, {0x3705, PT_LONG}, {0x370B, PT_LONG},
};
const size_t pst_n_attachment_cols = sizeof pst_attachment_cols / sizeof pst_attachment_cols[0];

pst_wfolder *pst_writer_folder(pst_writer *w, pst_folder_id id)
{
	for (size_t i = 0; i < w->n_folders; i++)
		if (w->folders[i].nid == id)
			return &w->folders[i];
	return NULL;
}

static int add_folder(pst_writer *w, uint32_t nid, uint32_t parent, const char *name, const char *cls, bool hidden,
                      or_error *err)
{
	pst_wfolder *fo = or_append((void **)&w->folders, &w->n_folders, &w->cap_folders, sizeof *fo);
	if (!fo)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	fo->nid = nid;
	fo->parent = parent;
	fo->hidden = hidden;
	fo->name = strdup(name ? name : "");
	fo->cls = cls ? strdup(cls) : NULL;
	if (!fo->name || (cls && !fo->cls))
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pst_wfolder *p = parent ? pst_writer_folder(w, parent) : NULL;
	if (p)
		p->n_children++;
	return 0;
}

int pst_writer_open(pst_writer **out, const char *path, const pst_writer_options *opt, or_error *err)
{
	*out = NULL;
	pst_writer *w = calloc(1, sizeof *w);
	if (!w)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pst_ndb_options no = {.format = PST_FMT_PST, .noreplace = opt->noreplace};
	int rc = pst_ndb_open(&w->f, path, &no, err);
	if (rc == 0)
		rc = pst_nameid_new(&w->names, err);
	if (rc == 0 && !(w->display_name = strdup(opt->display_name ? opt->display_name : "Personal Folders")))
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	if (rc) {
		pst_writer_free(w);
		return rc;
	}
	/* the store's record key (provider UID) names it in every entry id: unique per file */
	uint64_t seed = (uint64_t)time(NULL) * 6364136223846793005ull ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)w;
	for (int i = 0; i < 16; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		w->record_key[i] = (uint8_t)(seed >> 56);
	}
	w->next_folder = FIRST_USER_FOLDER;
	w->next_message = 0x10000;
	if ((rc = add_folder(w, PST_NID_ROOT_FOLDER, 0, "", NULL, true, err)) != 0 ||
	    (rc = add_folder(w, NID_IPM_SUBTREE, PST_NID_ROOT_FOLDER, "Top of Personal Folders", NULL, false, err)) != 0 ||
	    (rc = add_folder(w, NID_SEARCH_ROOT, PST_NID_ROOT_FOLDER, "Search Root", NULL, true, err)) != 0 ||
	    (rc = add_folder(w, NID_SPAM_FOLDER, PST_NID_ROOT_FOLDER, "SPAM Search Folder 2", NULL, true, err)) != 0 ||
	    (rc = add_folder(w, NID_DELETED_ITEMS, NID_IPM_SUBTREE, "Deleted Items", "IPF.Note", false, err)) != 0) {
		pst_writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

pst_folder_id pst_writer_ipm_subtree(const pst_writer *w) { return NID_IPM_SUBTREE; }

const char *pst_writer_temp_path(const pst_writer *w) { return w ? pst_ndb_temp_path(w->f) : NULL; }

uint64_t pst_writer_size(const pst_writer *w) { return pst_ndb_size(w->f); }

int pst_writer_name_id(pst_writer *w, const pst_name *name, uint16_t *id, or_error *err)
{
	return pst_nameid_get(w->names, name, id, err);
}

int pst_folder_add(pst_writer *w, pst_folder_id parent, const char *name, const char *cls, pst_folder_id *out,
                   or_error *err)
{
	if (!pst_writer_folder(w, parent))
		return or_fail(err, OR_ERR_NOTFOUND, "no folder 0x%x to add %s to", parent, name);
	for (size_t i = 0; i < w->n_folders; i++)
		if (w->folders[i].parent == parent && strcmp(w->folders[i].name, name) == 0) {
			*out = w->folders[i].nid;
			return 0;
		}
	if (w->next_folder >= (1u << 27))
		return or_fail(err, OR_ERR_LIMIT, "too many folders");
	uint32_t nid = PST_NID(PST_NID_TYPE_NORMAL_FOLDER, w->next_folder++);
	int rc = add_folder(w, nid, parent, name, cls, false, err);
	if (rc == 0)
		*out = nid;
	return rc;
}

int pst_folder_source_key(pst_writer *w, pst_folder_id folder, const uint8_t key[22], or_error *err)
{
	pst_wfolder *fo = pst_writer_folder(w, folder);
	if (!fo)
		return or_fail(err, OR_ERR_NOTFOUND, "no folder 0x%x", folder);
	if (!fo->has_source_key) {
		memcpy(fo->source_key, key, sizeof fo->source_key);
		fo->has_source_key = true;
	}
	return 0;
}

static int open_contents(pst_writer *w, pst_wfolder *fo, int assoc, or_error *err)
{
	if (fo->contents[assoc])
		return 0;
	return assoc ? pst_tc_new(&fo->contents[1], w->f, pst_assoc_cols, pst_n_assoc_cols, err)
	             : pst_tc_new(&fo->contents[0], w->f, pst_contents_cols, pst_n_contents_cols, err);
}

int pst_folder_add_row(pst_writer *w, pst_wfolder *fo, bool assoc, uint32_t nid, const pst_prop *props, size_t n,
                       or_error *err)
{
	const pst_col *cols = assoc ? pst_assoc_cols : pst_contents_cols;
	size_t nc = assoc ? pst_n_assoc_cols : pst_n_contents_cols;
	pst_cell cells[32];
	int rc = open_contents(w, fo, assoc, err);
	if (rc)
		return rc;
	for (size_t c = 0; c < nc; c++) {
		cells[c] = (pst_cell){0};
		for (size_t i = 0; i < n; i++) {
			if (props[i].id != cols[c].id || props[i].type != cols[c].type || props[i].subnode)
				continue;
			cells[c] = (pst_cell){.present = true, .data = props[i].data, .len = props[i].len, .num = props[i].num};
			if (cols[c].id == 0x0E07 && !assoc) {
				uint64_t v = props[i].num;
				if (props[i].data) {
					const uint8_t *d = props[i].data;
					v = props[i].len >= 4 ? (uint64_t)(d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24) : 0;
				}
				if (!(v & 1))
					fo->unread++;
			}
			break;
		}
	}
	if ((rc = pst_tc_row(fo->contents[assoc], nid, cells, err)) != 0)
		return rc;
	fo->count[assoc]++;
	return 0;
}

int pst_folder_close(pst_writer *w, pst_folder_id folder, or_error *err)
{
	pst_wfolder *fo = pst_writer_folder(w, folder);
	if (!fo)
		return or_fail(err, OR_ERR_NOTFOUND, "no folder 0x%x", folder);
	if (fo->closed)
		return 0;
	uint32_t idx = fo->nid >> 5;
	int rc = 0;
	for (int a = 0; a < 2 && rc == 0; a++) {
		rc = open_contents(w, fo, a, err);
		if (rc == 0)
			rc = pst_tc_finish(fo->contents[a],
			                   PST_NID(a ? PST_NID_TYPE_ASSOC_CONTENTS_TABLE : PST_NID_TYPE_CONTENTS_TABLE, idx), 0,
			                   NULL, err);
		fo->contents[a] = NULL;
	}
	fo->closed = true;
	return rc;
}

/* A 24-byte PST entry id ([MS-PST] 2.4.3.2): flags, the store's record key, the NID. */
static void entry_id(const pst_writer *w, uint32_t nid, uint8_t out[24])
{
	memset(out, 0, 24);
	memcpy(out + 4, w->record_key, 16);
	pst_put32(out + 20, nid);
}

static int write_folder(pst_writer *w, pst_wfolder *fo, or_error *err)
{
	pst_prop p[9];
	size_t n = 0;
	or_buf name = {0}, cls = {0};
	int rc = pst_folder_close(w, fo->nid, err);
	if (rc)
		return rc;
	if (pst_utf16(&name, fo->name) != 0 || (fo->cls && pst_utf16(&cls, fo->cls) != 0)) {
		rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		goto done;
	}
	p[n++] = (pst_prop){.id = 0x3001, .type = PT_UNICODE, .data = name.data ? name.data : "", .len = (uint32_t)name.len};
	p[n++] = (pst_prop){.id = 0x3602, .type = PT_LONG, .num = fo->count[0]};
	p[n++] = (pst_prop){.id = 0x3603, .type = PT_LONG, .num = fo->unread};
	p[n++] = (pst_prop){.id = 0x3617, .type = PT_LONG, .num = fo->count[1]};
	p[n++] = (pst_prop){.id = 0x360A, .type = PT_BOOLEAN, .num = fo->n_children > 0};
	if (fo->cls)
		p[n++] = (pst_prop){.id = 0x3613, .type = PT_UNICODE, .data = cls.data, .len = (uint32_t)cls.len};
	if (fo->has_source_key)
		p[n++] = (pst_prop){.id = 0x65E0, .type = PT_BINARY, .data = fo->source_key, .len = sizeof fo->source_key};
	rc = pst_write_pc(w->f, fo->nid, fo->parent ? fo->parent : fo->nid, p, n, err);
	if (rc)
		goto done;
	/* the hierarchy table: one row per sub folder, in folder id order */
	pst_tc *t = NULL;
	if ((rc = pst_tc_new(&t, w->f, pst_hierarchy_cols, pst_n_hierarchy_cols, err)) != 0)
		goto done;
	for (size_t i = 0; i < w->n_folders && rc == 0; i++) {
		const pst_wfolder *c = &w->folders[i];
		if (c->parent != fo->nid || c->nid == fo->nid)
			continue;
		or_buf cn = {0}, cc = {0};
		if (pst_utf16(&cn, c->name) != 0 || (c->cls && pst_utf16(&cc, c->cls) != 0)) {
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		} else {
			pst_cell cells[5] = {
				{true, cn.data ? cn.data : "", (uint32_t)cn.len, 0}, {true, NULL, 0, c->count[0]},
				{true, NULL, 0, c->unread}, {true, NULL, 0, c->n_children > 0},
				{c->cls != NULL, cc.data, (uint32_t)cc.len, 0},
			};
			rc = pst_tc_row(t, c->nid, cells, err);
		}
		buf_free(&cn);
		buf_free(&cc);
	}
	if (rc == 0)
		rc = pst_tc_finish(t, PST_NID(PST_NID_TYPE_HIERARCHY_TABLE, fo->nid >> 5), 0, NULL, err);
	else
		pst_tc_free(t);
done:
	buf_free(&name);
	buf_free(&cls);
	return rc;
}

static int empty_table(pst_ndb *f, uint32_t nid, const pst_col *cols, size_t n, or_error *err)
{
	return pst_write_tc(f, nid, 0, cols, n, NULL, NULL, 0, err);
}

static int write_store(pst_writer *w, or_error *err)
{
	uint8_t ipm[24], trash[24], finder[24];
	or_buf name = {0};
	entry_id(w, NID_IPM_SUBTREE, ipm);
	entry_id(w, NID_DELETED_ITEMS, trash);
	entry_id(w, NID_SEARCH_ROOT, finder);
	if (pst_utf16(&name, w->display_name) != 0)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pst_prop p[] = {
		{.id = 0x0FF9, .type = PT_BINARY, .data = w->record_key, .len = 16},
		{.id = 0x3001, .type = PT_UNICODE, .data = name.data ? name.data : "", .len = (uint32_t)name.len},
		{.id = 0x35DF, .type = PT_LONG, .num = 0x89}, /* IPM subtree, deleted items and finder are valid */
		{.id = 0x35E0, .type = PT_BINARY, .data = ipm, .len = 24},
		{.id = 0x35E3, .type = PT_BINARY, .data = trash, .len = 24},
		{.id = 0x35E7, .type = PT_BINARY, .data = finder, .len = 24},
		{.id = 0x67FF, .type = PT_LONG, .num = 0}, /* no password */
	};
	int rc = pst_write_pc(w->f, PST_NID_MESSAGE_STORE, 0, p, sizeof p / sizeof p[0], err);
	buf_free(&name);
	return rc;
}

int pst_writer_finish(pst_writer *w, or_error *err)
{
	if (w->open_objects)
		return or_fail(err, OR_ERR_USAGE, "%zu messages are still being written", w->open_objects);
	int rc = 0;
	for (size_t i = 0; i < w->n_folders && rc == 0; i++)
		rc = write_folder(w, &w->folders[i], err);
	/* the table templates and the search queues every PST has ([MS-PST] 2.7.1) */
	if (rc == 0)
		rc = empty_table(w->f, 0x60D, pst_hierarchy_cols, pst_n_hierarchy_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x60E, pst_contents_cols, pst_n_contents_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x60F, pst_assoc_cols, pst_n_assoc_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x610, pst_contents_cols, pst_n_contents_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x671, pst_attachment_cols, pst_n_attachment_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x692, pst_recipient_cols, pst_n_recipient_cols, err);
	if (rc == 0)
		rc = empty_table(w->f, 0x6B6, pst_contents_cols, pst_n_contents_cols, err);
	if (rc == 0)
		rc = pst_add_node(w->f, 0x1E1, 0, 0, 0, err); /* search management queue: empty */
	if (rc == 0)
		rc = pst_add_node(w->f, 0x201, 0, 0, 0, err); /* search activity list: empty */
	if (rc == 0)
		rc = pst_nameid_write(w->names, w->f, err);
	if (rc == 0)
		rc = write_store(w, err);
	if (rc == 0)
		rc = pst_ndb_finish(w->f, err);
	if (rc == 0)
		w->finished = true;
	return rc;
}

int pst_writer_commit(pst_writer *w, or_error *err)
{
	if (!w->finished)
		return or_fail(err, OR_ERR_USAGE, "the file is not finished");
	return pst_ndb_commit(w->f, err);
}

void pst_writer_free(pst_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_folders; i++) {
		free(w->folders[i].name);
		free(w->folders[i].cls);
		pst_tc_free(w->folders[i].contents[0]);
		pst_tc_free(w->folders[i].contents[1]);
	}
	free(w->folders);
	pst_nameid_free(w->names);
	pst_ndb_close(w->f);
	free(w->display_name);
	free(w);
}
