/* pff.c: the libpff reader (store.h); the only file that includes libpff.h. */
#include "store.h"

#include <libpff.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	st_file base;
	libpff_file_t *file;
	char *path;
} pff_file;

typedef struct {
	st_node base;
	libpff_item_t *item;
} pff_node;

static const st_ops pff_ops;

/* Turns a libpff error (a backtrace, one frame a line) into one line, then frees it. */
static int take_error(or_error *err, int code, libpff_error_t **perr, const char *what)
{
	char text[1024] = "";
	if (perr && *perr) {
		libpff_error_sprint(*perr, text, sizeof text);
		libpff_error_free(perr);
		for (char *p = text; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		size_t n = strlen(text);
		while (n && text[n - 1] == ' ')
			text[--n] = '\0';
	}
	return or_fail(err, code, "%s%s%s", what, *text ? ": " : "", text);
}

/* The file size the header states, beside the real one: tells a truncated file from other damage. */
static int header_sizes(const char *path, int64_t *stated, int64_t *actual)
{
	uint8_t h[200];
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	size_t n = fread(h, 1, sizeof h, fp);
	int rc = fseeko(fp, 0, SEEK_END);
	*actual = ftello(fp);
	fclose(fp);
	if (rc != 0 || n < sizeof h || memcmp(h, "!BDN", 4) != 0)
		return -1;
	uint16_t ver = (uint16_t)(h[10] | h[11] << 8);
	uint64_t v = 0;
	if (ver >= 23) /* 64-bit header: total file size at offset 184 */
		for (int i = 7; i >= 0; i--)
			v = v << 8 | h[184 + i];
	else /* 32-bit header: at offset 168 */
		for (int i = 3; i >= 0; i--)
			v = v << 8 | h[168 + i];
	*stated = (int64_t)v;
	return 0;
}

static void p_close(st_file *sf);

int pff_open(st_file **out, const char *path, or_error *err)
{
	*out = NULL;
	libpff_error_t *e = NULL;
	pff_file *f = calloc(1, sizeof *f);
	if (!f)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	f->base.ops = &pff_ops;
	if (!(f->path = strdup(path))) {
		free(f);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	if (libpff_file_initialize(&f->file, &e) != 1) {
		free(f->path);
		free(f);
		return take_error(err, OR_ERR_NOMEM, &e, "cannot initialise libpff");
	}
	int sig = libpff_check_file_signature(path, &e);
	if (sig != 1) {
		libpff_error_free(&e);
		p_close(&f->base);
		return or_fail(err, OR_ERR_FORMAT, "not a PST/OST file (no !BDN signature)");
	}
	if (libpff_file_open(f->file, path, LIBPFF_OPEN_READ, &e) != 1) {
		p_close(&f->base);
		int64_t stated, actual;
		if (header_sizes(path, &stated, &actual) == 0 && actual < stated) {
			libpff_error_free(&e);
			return or_fail(err, OR_ERR_FORMAT, "the file is truncated: %lld bytes of the %lld its header states",
			               (long long)actual, (long long)stated);
		}
		return take_error(err, OR_ERR_FORMAT, &e, "the file is damaged beyond opening");
	}
	*out = &f->base;
	return 0;
}

static void p_close(st_file *sf)
{
	pff_file *f = (pff_file *)sf;
	if (!f)
		return;
	if (f->file) {
		libpff_file_close(f->file, NULL);
		libpff_file_free(&f->file, NULL);
	}
	free(f->path);
	free(f);
}

static void p_get_info(st_file *sf, st_info *info)
{
	pff_file *f = (pff_file *)sf;
	memset(info, 0, sizeof *info);
	uint8_t type = 0, content = 0, enc = 0;
	size64_t size = 0;
	libpff_file_get_type(f->file, &type, NULL);
	libpff_file_get_content_type(f->file, &content, NULL);
	libpff_file_get_encryption_type(f->file, &enc, NULL);
	if (libpff_file_get_size(f->file, &size, NULL) == 1)
		info->size = (int64_t)size;
	info->bytes_read = -1; /* libpff does not tell */
	info->is_ost = content == LIBPFF_FILE_CONTENT_TYPE_OST;
	info->is_pst = content == LIBPFF_FILE_CONTENT_TYPE_PST;
	static const char *const formats[3][3] = {
		{"ost-ansi", "ost-unicode-512", "ost-unicode-4k"},
		{"pst-ansi", "pst-unicode-512", "pst-unicode-4k"},
		{"pab-ansi", "pab-unicode-512", "pab-unicode-4k"},
	};
	int k = info->is_ost ? 0 : info->is_pst ? 1 : 2;
	int t = type == LIBPFF_FILE_TYPE_32BIT ? 0 : type == LIBPFF_FILE_TYPE_64BIT ? 1 : 2;
	info->format = formats[k][t];
	info->encryption = enc == LIBPFF_ENCRYPTION_TYPE_NONE ? "none"
	                   : enc == LIBPFF_ENCRYPTION_TYPE_COMPRESSIBLE ? "compressible"
	                   : enc == LIBPFF_ENCRYPTION_TYPE_HIGH ? "high" : "unknown";
	info->corrupted = libpff_file_is_corrupted(f->file, NULL) == 1;
}

static int p_orphan_count(st_file *sf, int64_t *n, or_error *err)
{
	pff_file *f = (pff_file *)sf;
	libpff_error_t *e = NULL;
	int count = 0;
	if (libpff_file_get_number_of_orphan_items(f->file, &count, &e) != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot count orphan items");
	*n = count;
	return 0;
}

static int p_recover(st_file *sf, int64_t *n, or_error *err)
{
	pff_file *f = (pff_file *)sf;
	libpff_error_t *e = NULL;
	int count = 0;
	if (libpff_file_recover_items(f->file, 0, &e) != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "the recovery scan failed");
	if (libpff_file_get_number_of_recovered_items(f->file, &count, &e) != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot count recovered items");
	*n = count;
	return 0;
}

static int read_record_set(libpff_item_t *item, libpff_record_set_t **rs, or_error *err, const char *what)
{
	libpff_error_t *e = NULL;
	int n = 0;
	*rs = NULL;
	if (libpff_item_get_number_of_record_sets(item, &n, &e) != 1)
		return take_error(err, OR_ERR_FORMAT, &e, what);
	if (n < 1)
		return 1;
	if (libpff_item_get_record_set_by_index(item, 0, rs, &e) != 1)
		return take_error(err, OR_ERR_FORMAT, &e, what);
	return 0;
}

/* The replica table's GUIDs come from libpff. Its replid column does not: libpff 20180714 reads each
 * record's 2-byte replid only to fetch the GUID at that index of the table's GUID array, and hands
 * out that GUID alone (the same bytes as the record's key). The replids are taken from the native
 * reader's read of the same records, matched by GUID; where that read fails, they stay unknown
 * and only the special folders' entry ids tie replids to GUIDs. */
static int p_replica_table(st_file *sf, st_replica **out, size_t *n, or_error *err)
{
	pff_file *f = (pff_file *)sf;
	libpff_error_t *e = NULL;
	libpff_item_t *item = NULL;
	libpff_record_set_t *rs = NULL;
	*out = NULL;
	*n = 0;
	int r = libpff_file_get_item_by_identifier(f->file, 0x801, &item, &e);
	if (r == 0)
		return 0; /* no replica table: a PST, or a file without one */
	if (r != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the replica table (descriptor 0x801)");
	int rc = read_record_set(item, &rs, err, "cannot read the replica table (descriptor 0x801)");
	if (rc == 0) {
		int count = 0;
		libpff_record_set_get_number_of_entries(rs, &count, NULL);
		*out = calloc(count > 0 ? (size_t)count : 1, sizeof **out);
		if (!*out)
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		for (int i = 0; rc == 0 && i < count; i++) {
			libpff_record_entry_t *re = NULL;
			size_t size = 0;
			if (libpff_record_set_get_entry_by_index(rs, i, &re, NULL) == 1 &&
			    libpff_record_entry_get_data_size(re, &size, NULL) == 1 && size == 16 &&
			    libpff_record_entry_get_data(re, (*out)[*n].guid, 16, NULL) == 1)
				(*out)[(*n)++].replid = -1;
			libpff_record_entry_free(&re, NULL);
		}
	} else if (rc > 0) {
		rc = 0;
	}
	libpff_record_set_free(&rs, NULL);
	libpff_item_free(&item, NULL);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc;
	}
	st_replica *native = NULL;
	size_t n_native = 0;
	or_error e2 = {0};
	if (*n && native_replica_table(f->path, &native, &n_native, &e2) == 0)
		for (size_t i = 0; i < *n; i++)
			for (size_t k = 0; k < n_native; k++)
				if (memcmp(native[k].guid, (*out)[i].guid, 16) == 0)
					(*out)[i].replid = native[k].replid;
	free(native);
	return 0;
}

static int wrap_item(libpff_item_t *item, st_node **out, or_error *err)
{
	pff_node *n = calloc(1, sizeof *n);
	if (!n) {
		libpff_item_free(&item, NULL);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	n->base.ops = &pff_ops;
	n->item = item;
	libpff_item_get_identifier(item, &n->base.id, NULL);
	*out = &n->base;
	return 0;
}

static int p_message_store(st_file *sf, st_node **out, or_error *err)
{
	pff_file *f = (pff_file *)sf;
	libpff_error_t *e = NULL;
	libpff_item_t *item = NULL;
	*out = NULL;
	int r = libpff_file_get_message_store(f->file, &item, &e);
	if (r == 0)
		return or_fail(err, OR_ERR_NOTFOUND, "the file has no message store");
	if (r != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the message store");
	return wrap_item(item, out, err);
}

static int p_root_folder(st_file *sf, st_node **out, or_error *err)
{
	pff_file *f = (pff_file *)sf;
	libpff_error_t *e = NULL;
	libpff_item_t *item = NULL;
	*out = NULL;
	int r = libpff_file_get_root_folder(f->file, &item, &e);
	if (r == 0)
		return or_fail(err, OR_ERR_NOTFOUND, "the file has no root folder");
	if (r != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the root folder");
	return wrap_item(item, out, err);
}

static void p_node_free(st_node *sn)
{
	pff_node *n = (pff_node *)sn;
	if (!n)
		return;
	libpff_item_free(&n->item, NULL);
	free(n);
}


static int p_folder_name(st_node *sn, char **out, or_error *err)
{
	pff_node *n = (pff_node *)sn;
	libpff_error_t *e = NULL;
	size_t size = 0;
	*out = NULL;
	int r = libpff_folder_get_utf8_name_size(n->item, &size, &e);
	if (r == 0)
		return 0;
	if (r != 1)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the folder name");
	*out = malloc(size ? size : 1);
	if (!*out)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	(*out)[0] = '\0';
	if (size && libpff_folder_get_utf8_name(n->item, (uint8_t *)*out, size, &e) != 1) {
		free(*out);
		*out = NULL;
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the folder name");
	}
	return 0;
}

static int p_child_count(st_node *sn, st_children kind, int *count, or_error *err)
{
	pff_node *n = (pff_node *)sn;
	libpff_error_t *e = NULL;
	int r;
	*count = 0;
	switch (kind) {
	case ST_SUBFOLDERS: r = libpff_folder_get_number_of_sub_folders(n->item, count, &e); break;
	case ST_MESSAGES: r = libpff_folder_get_number_of_sub_messages(n->item, count, &e); break;
	default: r = libpff_folder_get_number_of_sub_associated_contents(n->item, count, &e); break;
	}
	if (r != 1) {
		*count = 0;
		return take_error(err, OR_ERR_FORMAT, &e,
		                  kind == ST_SUBFOLDERS ? "cannot list the sub folders"
		                  : kind == ST_MESSAGES ? "cannot list the messages"
		                                         : "cannot list the associated messages");
	}
	return 0;
}

static int p_child(st_node *sn, st_children kind, int index, st_node **out, or_error *err)
{
	pff_node *n = (pff_node *)sn;
	libpff_error_t *e = NULL;
	libpff_item_t *item = NULL;
	int r;
	*out = NULL;
	switch (kind) {
	case ST_SUBFOLDERS: r = libpff_folder_get_sub_folder(n->item, index, &item, &e); break;
	case ST_MESSAGES: r = libpff_folder_get_sub_message(n->item, index, &item, &e); break;
	default: r = libpff_folder_get_sub_associated_content(n->item, index, &item, &e); break;
	}
	if (r != 1 || !item)
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the item");
	return wrap_item(item, out, err);
}

static int read_entry(libpff_record_entry_t *re, uint16_t id, uint16_t type, st_props *props)
{
	libpff_error_t *e = NULL;
	if (type == 0x001f || type == 0x001e) {
		size_t size = 0;
		if (libpff_record_entry_get_data_as_utf8_string_size(re, &size, &e) != 1)
			goto fail;
		uint8_t *s = malloc(size + 1);
		if (!s)
			return -1;
		s[0] = '\0';
		if (size && libpff_record_entry_get_data_as_utf8_string(re, s, size, &e) != 1) {
			free(s);
			goto fail;
		}
		s[size] = '\0';
		st_props_add(props, id, type, s, strlen((char *)s));
		return 0;
	}
	if (type == 0x1102) {
		libpff_multi_value_t *mv = NULL;
		int count = 0;
		if (libpff_record_entry_get_multi_value(re, &mv, &e) != 1)
			goto fail;
		libpff_multi_value_get_number_of_values(mv, &count, NULL);
		for (int i = 0; i < count; i++) {
			size_t size = 0;
			/* an empty or unreadable value keeps its place: the values are used by index */
			if (libpff_multi_value_get_value_binary_data_size(mv, i, &size, NULL) != 1)
				size = 0;
			uint8_t *d = malloc(size ? size : 1);
			if (!d)
				break;
			if (size && libpff_multi_value_get_value_binary_data(mv, i, d, size, NULL) != 1)
				size = 0;
			st_props_add(props, id, type, d, size);
		}
		libpff_multi_value_free(&mv, NULL);
		return 0;
	}
	size_t size = 0;
	if (libpff_record_entry_get_data_size(re, &size, &e) != 1)
		goto fail;
	uint8_t *d = malloc(size ? size : 1);
	if (!d)
		return -1;
	if (size && libpff_record_entry_get_data(re, d, size, &e) != 1) {
		free(d);
		goto fail;
	}
	st_props_add(props, id, type, d, size);
	return 0;
fail:
	/* One unreadable value does not make the item unreadable: it is simply absent. */
	libpff_error_free(&e);
	return 0;
}

static int p_read_props(st_node *sn, const uint16_t *ids, size_t n_ids, st_props *out, or_error *err)
{
	pff_node *n = (pff_node *)sn;
	libpff_record_set_t *rs = NULL;
	out->n = 0;
	int rc = read_record_set(n->item, &rs, err, "cannot read the item's properties");
	if (rc)
		return rc > 0 ? 0 : rc;
	int count = 0;
	libpff_error_t *e = NULL;
	if (libpff_record_set_get_number_of_entries(rs, &count, &e) != 1) {
		libpff_record_set_free(&rs, NULL);
		return take_error(err, OR_ERR_FORMAT, &e, "cannot read the item's properties");
	}
	for (int i = 0; i < count && rc == 0; i++) {
		libpff_record_entry_t *re = NULL;
		uint32_t tag = 0, vtype = 0;
		if (libpff_record_set_get_entry_by_index(rs, i, &re, &e) != 1) {
			libpff_error_free(&e);
			continue;
		}
		if (libpff_record_entry_get_entry_type(re, &tag, NULL) == 1 &&
		    libpff_record_entry_get_value_type(re, &vtype, NULL) == 1 && st_wanted(ids, n_ids, (uint16_t)tag)) {
			if (read_entry(re, (uint16_t)tag, (uint16_t)vtype, out) != 0)
				rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		libpff_record_entry_free(&re, NULL);
	}
	libpff_record_set_free(&rs, NULL);
	if (rc)
		st_props_clear(out);
	return rc;
}


static const st_ops pff_ops = {
	.name = "libpff",
	.close = p_close,
	.get_info = p_get_info,
	.orphan_count = p_orphan_count,
	.recover = p_recover,
	.replica_table = p_replica_table,
	.message_store = p_message_store,
	.root_folder = p_root_folder,
	.node_free = p_node_free,
	.folder_name = p_folder_name,
	.child_count = p_child_count,
	.child = p_child,
	.read_props = p_read_props,
};
