#include "ostwrite.h"
int ow_write_file(const struct fixture *fx, const struct ow_options *opt, struct fx_error *err)
{
	(void)fx; (void)opt;
	snprintf(err->msg, sizeof(err->msg), "not yet");
	return -1;
}
