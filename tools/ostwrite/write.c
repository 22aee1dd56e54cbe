/* ostwrite: writes a whole file (mailbox, B-trees, maps, header), then applies the damage asked for. */
#include "ow_int.h"

#include <stdlib.h>
#include <string.h>

int ow_write_file(const struct fixture *fx, const struct ow_options *opt, struct fx_error *err)
{
	struct ow_file f;
	struct ow_damage_info dmg;
	int rc = -1;
	memset(&dmg, 0, sizeof(dmg));
	dmg.unlist = opt->damage == OW_DAMAGE_UNLISTED_MESSAGE;
	if (ow_file_open(&f, opt->out_path, opt->format, err) < 0)
		return -1;
	if (opt->data_block_size)
		f.data_block_max = opt->data_block_size;
	if (ow_write_mailbox(&f, fx, &dmg) < 0 || ow_finish(&f) < 0)
		goto done;
	if (fflush(f.fp) != 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: write error", opt->out_path);
		goto done;
	}
	if (opt->damage != OW_DAMAGE_NONE &&
	    ow_apply_damage(opt->out_path, &f, opt->damage, &dmg, err, opt->damage_report) < 0)
		goto done;
	rc = 0;
done:
	ow_file_close(&f);
	return rc;
}
