/* ostwrite: writes a whole file (mailbox, B-trees, maps, header), then applies the damage asked for. */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>

int ow_fail(struct ow_file *f)
{
	if (!f->err->msg[0])
		snprintf(f->err->msg, sizeof(f->err->msg), "%s", f->oerr.message[0] ? f->oerr.message : "write failed");
	return -1;
}

int ow_write_file(const struct fixture *fx, const struct ow_options *opt, struct fx_error *err)
{
	struct ow_file f;
	struct ow_damage_info dmg;
	int rc = -1;
	memset(&f, 0, sizeof(f));
	memset(&dmg, 0, sizeof(dmg));
	f.err = err;
	f.format = opt->format;
	dmg.unlist = opt->damage == OW_DAMAGE_UNLISTED_MESSAGE;
	pst_ndb_options no = {
		.format = opt->format == OW_PST ? PST_FMT_PST : opt->format == OW_OST ? PST_FMT_OST : PST_FMT_OST4K,
		.noreplace = false,
		.data_block_size = opt->data_block_size,
	};
	if (pst_ndb_open(&f.ndb, opt->out_path, &no, &f.oerr) < 0)
		return ow_fail(&f);
	if (ow_write_mailbox(&f, fx, &dmg) < 0)
		goto done;
	if (pst_ndb_finish(f.ndb, &f.oerr) < 0) {
		ow_fail(&f);
		goto done;
	}
	pst_ndb_layout_get(f.ndb, &f.lay);
	/* the damage is done to the finished file before it takes its name */
	if (opt->damage != OW_DAMAGE_NONE &&
	    ow_apply_damage(opt->out_path, &f, opt->damage, &dmg, err, opt->damage_report) < 0)
		goto done;
	if (fflush(f.lay.fp) != 0 || pst_ndb_commit(f.ndb, &f.oerr) < 0) {
		ow_fail(&f);
		goto done;
	}
	rc = 0;
done:
	pst_ndb_close(f.ndb);
	return rc;
}
