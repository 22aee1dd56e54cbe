/* msg.h: internal to src/pst: the messaging layer's shared parts (store.c, object.c, nameid.c). */
#ifndef OSTRECON_PST_MSG_H
#define OSTRECON_PST_MSG_H

#include "hn.h"

#define PST_NID_MESSAGE_STORE 0x21
#define PST_NID_NAME_TO_ID_MAP 0x61
#define PST_NID_ROOT_FOLDER 0x122


/* The columns a new table of each kind has ([MS-PST] 2.4.4.4.1, 2.4.4.5.1, 2.4.4.6.1, 2.4.5.1, 2.4.6.1). */
extern const pst_col pst_hierarchy_cols[];
extern const size_t pst_n_hierarchy_cols;
extern const pst_col pst_contents_cols[];
extern const size_t pst_n_contents_cols;
extern const pst_col pst_assoc_cols[];
extern const size_t pst_n_assoc_cols;
extern const pst_col pst_recipient_cols[];
extern const size_t pst_n_recipient_cols;
extern const pst_col pst_attachment_cols[];
extern const size_t pst_n_attachment_cols;

typedef struct {
	uint32_t nid, parent;      /* parent 0 for the root */
	char *name, *cls;
	pst_tc *contents[2];       /* normal and associated messages, open until the folder is closed */
	bool closed;
	uint32_t count[2], unread;
	uint32_t n_children;
	bool hidden;               /* a mandatory folder outside the IPM subtree */
	bool has_source_key;       /* PidTagSourceKey given by the caller */
	uint8_t source_key[22];
} pst_wfolder;

struct pst_writer {
	pst_ndb *f;
	pst_nameid *names;
	pst_wfolder *folders;
	size_t n_folders, cap_folders;
	uint32_t next_folder, next_message;
	uint8_t record_key[16];
	char *display_name;
	size_t open_objects;
	bool finished;
};

pst_wfolder *pst_writer_folder(pst_writer *w, pst_folder_id id);
/* A contents table row for a message whose properties are `props` (a message just written). */
int pst_folder_add_row(pst_writer *w, pst_wfolder *fo, bool assoc, uint32_t nid, const pst_prop *props, size_t n,
                       or_error *err);

#endif
