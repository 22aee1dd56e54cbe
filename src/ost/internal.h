/* internal.h: shared by the files of src/ost, not part of its public interface. */
#ifndef OSTRECON_OST_INTERNAL_H
#define OSTRECON_OST_INTERNAL_H

#include "ost.h"

/* The role a folder has by its place and name, when no entry id names it (docs/SNAPSHOT.md).
 * parent_role is NULL for the top of the file. folder_type is PR_FOLDER_TYPE (2 = search folder),
 * or -1 when absent. Returns a static string. */
const char *ost_role_by_name(const char *parent_role, const char *name, int64_t folder_type);

/* Special-folder entry id properties and the role of the folder they point at. */
typedef struct {
	uint16_t prop;
	int index; /* value index in a multi-valued property, or -1 */
	bool on_store; /* on the message store (true) or on the Inbox / IPM subtree root (false) */
	const char *role;
} ost_special_entryid;

extern const ost_special_entryid ost_special_entryids[];
extern const size_t ost_n_special_entryids;

#endif
