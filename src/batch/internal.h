/* internal.h: shared by the files of src/batch, not part of its public interface. */
#ifndef OSTRECON_BATCH_INTERNAL_H
#define OSTRECON_BATCH_INTERNAL_H

#include "batch.h"

/* Writes one entry alone (the resume record of a mailbox), atomically. */
int batch_entry_save(const batch_entry *e, const char *path, or_error *err);

#endif
