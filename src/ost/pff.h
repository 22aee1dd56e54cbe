/*
 * pff.h: internal to src/ost. The thin boundary around libpff: only pff.c includes libpff.h.
 * libpff's error objects become or_error here; every handle it gives out is wrapped and freed here.
 */
#ifndef OSTRECON_OST_PFF_H
#define OSTRECON_OST_PFF_H

#include "core/core.h"

typedef struct pff_file pff_file;
typedef struct pff_node pff_node; /* a folder, a message or the message store */

typedef struct {
	bool is_ost, is_pst;
	const char *format;     /* "ost-unicode-512", "pst-ansi", ... (static) */
	const char *encryption; /* "none", "compressible", "high" (static) */
	int64_t size;
	bool corrupted;
} pff_info;

int pff_open(pff_file **out, const char *path, or_error *err);
void pff_close(pff_file *f);
void pff_get_info(pff_file *f, pff_info *info);
int pff_orphan_count(pff_file *f, int64_t *n, or_error *err);
int pff_recover(pff_file *f, int64_t *n, or_error *err);
/* The GUIDs of the replica table (descriptor 0x801): *out is malloc'd, caller frees. */
int pff_replica_guids(pff_file *f, uint8_t (**out)[16], size_t *n, or_error *err);

int pff_message_store(pff_file *f, pff_node **out, or_error *err);
int pff_root_folder(pff_file *f, pff_node **out, or_error *err);
void pff_node_free(pff_node *n);
uint32_t pff_node_id(const pff_node *n);
/* Folder display name (UTF-8, malloc'd; NULL when the folder has none). */
int pff_folder_name(pff_node *n, char **out, or_error *err);

typedef enum { PFF_SUBFOLDERS, PFF_MESSAGES, PFF_ASSOCIATED } pff_children;
int pff_child_count(pff_node *n, pff_children kind, int *count, or_error *err);
int pff_child(pff_node *n, pff_children kind, int index, pff_node **out, or_error *err);

/* Properties of the node's first record set, restricted to a list of property ids. Strings come
 * as NUL-terminated UTF-8 (libpff converts ANSI strings with the file's codepage); other values as
 * their stored bytes. A multi-valued binary property gives one entry per value. */
typedef struct {
	uint16_t id, type;
	uint8_t *data;
	size_t len;
} pff_prop;

#define PFF_MAX_PROPS 48
typedef struct {
	pff_prop p[PFF_MAX_PROPS];
	size_t n;
} pff_props;

int pff_read_props(pff_node *n, const uint16_t *ids, size_t n_ids, pff_props *out, or_error *err);
void pff_props_clear(pff_props *props);
const pff_prop *pff_props_get(const pff_props *props, uint16_t id);
/* Integer value of a PT_SHORT/PT_LONG/PT_I8/PT_BOOLEAN property; returns false when absent. */
bool pff_props_int(const pff_props *props, uint16_t id, int64_t *out);
/* A FILETIME property; 0 when absent. */
int64_t pff_props_time(const pff_props *props, uint16_t id);

#endif
