/*
 * graph.h: the server side over Microsoft Graph (Exchange Online after EWS). Pulls a mailbox's
 * folders and every item's key and properties into the same snapshot as src/ews
 * (docs/SNAPSHOT.md), read-only. docs/GRAPH.md lists the calls and the mapping.
 *
 * The transport, the worker pool and the snapshot writing are src/pull's; this module is the
 * protocol: OData URLs, JSON pages (each parsed whole, each bounded), and what Graph answers mean.
 */
#ifndef OSTRECON_GRAPH_H
#define OSTRECON_GRAPH_H

#include "core/core.h"
#include "pull/pull.h"

/* Which of Graph's two ways into a mailbox. */
typedef enum {
	GRAPH_API_AUTO = 0, /* the mailbox API, or the mail API where the mailbox API is refused */
	GRAPH_API_MAILBOX,  /* /admin/exchange/mailboxes/{id}: every folder class and item type */
	GRAPH_API_MAIL,     /* /users/{id}/mailFolders, calendars, contactFolders */
} graph_api;

typedef struct {
	pull_options pull;   /* pull.url: the service root, e.g. https://graph.microsoft.com/v1.0 */
	graph_api api;
	int page_size;       /* Prefer: odata.maxpagesize, 1..1000 */
	bool no_delta;       /* page with plain listings instead of delta rounds */
} graph_options;

/* Defaults for everything but url, mailbox and credentials. */
void graph_options_init(graph_options *opt);
const char *graph_api_name(graph_api api);
int graph_api_parse(const char *name, graph_api *out);

/* Pulls the mailbox into a snapshot at out_path ("-" = stdout), or keeps it in memory (the _snap
 * form: *out is what snap_load would read back from the file). Returns 0 when a snapshot was
 * made (folders that failed are error lines in it), or a negative or_code when nothing could be
 * pulled (OR_ERR_AUTH, OR_ERR_DENIED with the cause and the fix named, ...): nothing is written. */
int graph_capture(const graph_options *opt, const char *out_path, pull_summary *summary, or_error *err);
int graph_capture_snap(const graph_options *opt, snap_t **out, pull_summary *summary, or_error *err);

/* The source key inside a Graph id (a REST id: an EWS id in Graph's base64 alphabet, or an
 * immutable id). Returns 0 or -1. */
int graph_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN]);

#endif
