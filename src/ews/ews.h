/*
 * ews.h: the server side. Pulls a mailbox's folder hierarchy and every item's key and properties
 * over Exchange Web Services into a snapshot (docs/SNAPSHOT.md), read-only.
 *
 * The transport, the worker pool and the snapshot writing are src/pull's; this module is the
 * protocol: SOAP requests, streamed XML responses, and what EWS answers mean.
 */
#ifndef OSTRECON_EWS_H
#define OSTRECON_EWS_H

#include "core/core.h"
#include "pull/pull.h"

typedef struct {
	pull_options pull;          /* connection, credentials, workers, output (src/pull) */
	bool impersonate;           /* ExchangeImpersonation of the mailbox (service accounts) */
	const char *anchor;         /* X-AnchorMailbox; defaults to the mailbox when impersonating/OAuth */
	const char *server_version; /* RequestServerVersion, e.g. "Exchange2013_SP1" */
	int page_size;              /* SyncFolderItems MaxChangesReturned / FindItem page, 1..512 */
	bool use_finditem;          /* FindItem paging instead of SyncFolderItems */
	bool use_findfolder;        /* FindFolder (deep) instead of SyncFolderHierarchy */
	bool associated;            /* also pull associated (FAI) items */
} ews_options;

/* Defaults for everything but url, mailbox and credentials. */
void ews_options_init(ews_options *opt);
/* True when `v` is a RequestServerVersion value the EWS schema allows. */
bool ews_server_version_valid(const char *v);

/* Pulls the mailbox into a snapshot at `out_path` ("-" = stdout). Returns 0 when a snapshot was
 * written (folders that failed are error lines in it: summary->folders_failed), or a negative
 * or_code when nothing could be pulled (OR_ERR_AUTH, OR_ERR_TLS, OR_ERR_DENIED, OR_ERR_IO, ...),
 * in which case nothing is written. */
int ews_capture(const ews_options *opt, const char *out_path, pull_summary *summary, or_error *err);
/* The same, keeping the snapshot in memory instead of a file: *out is what snap_load would read
 * back from the file ews_capture writes (a scan compares it without writing and parsing it). */
int ews_capture_snap(const ews_options *opt, snap_t **out, pull_summary *summary, or_error *err);

#endif
