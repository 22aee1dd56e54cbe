/* ostwrite internals: the fixture's mailbox laid out with the NDB and LTP layers of src/pst (the
 * product's .pst writer, one copy of the format), plus what only test files have: the OST
 * specifics (PRQ_ID_SECURE4, the replica table, Exchange entry ids) and the damage modes. */
#ifndef OW_INT_H
#define OW_INT_H

#include "ostwrite.h"
#include "pst/pst.h"

#include <stdint.h>
#include <stdio.h>

struct ow_file {
	pst_ndb *ndb;
	enum ow_format format;
	pst_ndb_layout lay;     /* after ow_write_mailbox and pst_ndb_finish: where things are */
	or_error oerr;          /* the writer's errors, copied into *err */
	struct fx_error *err;
};

/* Copies the writer's error into the fixture error (returns -1). */
int ow_fail(struct ow_file *f);

/* The whole mailbox, laid out in a file. */
struct ow_damage_info {
	const char *what;
	uint64_t offset, length, bid;
	uint32_t nid;
	int64_t item, folder;   /* fixture indices, -1 none */
	int unlist;             /* leave the target message out of its folder's contents table */
};

int ow_write_mailbox(struct ow_file *f, const struct fixture *fx, struct ow_damage_info *dmg_target);
int ow_apply_damage(const char *path, struct ow_file *f, enum ow_damage mode,
		    struct ow_damage_info *target, struct fx_error *err, const char *report);

#endif
