/* internal.h: what the files of src/report share; not part of the module's interface. */
#ifndef OSTRECON_REPORT_INTERNAL_H
#define OSTRECON_REPORT_INTERNAL_H

#include "report.h"

#include <jansson.h>

/* A report is its JSON document: built from a diff result or loaded from a file. */
struct report {
	json_t *root;
};

#endif
