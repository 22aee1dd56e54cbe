/* ostwrite damage modes: filled in below. */
#include "ow_int.h"

int ow_apply_damage(const char *path, struct ow_file *f, enum ow_damage mode,
		    struct ow_damage_info *target, struct fx_error *err)
{
	(void)path; (void)f; (void)mode; (void)target;
	snprintf(err->msg, sizeof(err->msg), "damage not implemented");
	return -1;
}
