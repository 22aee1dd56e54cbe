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

/* ---------------------------------------------------------------- Autodiscover */

/* The EWS URL of a mailbox from its address, found as Outlook finds it (autodiscover.c):
 *  1. POX Autodiscover: POST https://DOMAIN/autodiscover/autodiscover.xml, then
 *     https://autodiscover.DOMAIN/autodiscover/autodiscover.xml, following redirectUrl answers
 *     and HTTP redirects (https only) and redirectAddr answers (the whole search again for the
 *     new address);
 *  2. the HTTP redirect method: GET http://autodiscover.DOMAIN/autodiscover/autodiscover.xml
 *     without credentials; a 302 to an https:// URL is followed (said on stderr), any other
 *     refused;
 *  3. SOAP Autodiscover: GetUserSettings (ExternalEwsUrl, InternalEwsUrl) at
 *     https://DOMAIN/autodiscover/autodiscover.svc, then https://autodiscover.DOMAIN/...;
 *  4. with `srv`, the DNS SRV record _autodiscover._tcp.DOMAIN, then POX at its target.
 * Credentials (the options' method; PULL_AUTH_AUTO as for a pull) go over TLS only, and an EWS
 * URL found must be https://; at most `max_redirects` redirects in all; a request made twice in a
 * chain, or an address redirected back, is a loop and stops the search, as do credentials
 * refused (no second server tries them). Each attempt is logged at -v. */
typedef struct {
	pull_options pull;   /* credentials, TLS, name mappings, timeouts (url, mailbox unused) */
	int max_redirects;   /* default 10 */
	bool srv;            /* step 4 */
} ews_autodiscover_options;

void ews_autodiscover_options_init(ews_autodiscover_options *o);

typedef struct {
	char url[1024];            /* the EWS URL */
	char server_version[96];   /* "15.1.2507 (Exchange 2016)", or "" when the answer had none */
	char method[16];           /* "pox", "http-redirect", "soap" or "srv": the step that answered */
	char endpoint[1024];       /* the Autodiscover URL that gave the EWS URL */
	char address[320];         /* the address it answered for (another after redirectAddr) */
} ews_autodiscover_result;

/* Returns 0 with *out filled, or a negative or_code: OR_ERR_NOTFOUND when no step found the URL
 * (err lists what each answered), OR_ERR_PROTOCOL for a redirect loop or too many redirects,
 * OR_ERR_AUTH for credentials refused, OR_ERR_USAGE for an address without a domain or OAuth
 * credentials (a token is never sent to Autodiscover). */
int ews_autodiscover(const ews_autodiscover_options *o, const char *mailbox, ews_autodiscover_result *out,
                     or_error *err);

/* A batch run discovers each domain once: the first mailbox of a domain runs the search, later
 * ones (also from other threads, which wait for it) get its answer or its failure. */
typedef struct ews_autodiscover_cache ews_autodiscover_cache;
int ews_autodiscover_cache_new(ews_autodiscover_cache **out, or_error *err);
void ews_autodiscover_cache_free(ews_autodiscover_cache *c);
/* ews_autodiscover through the cache; *out points into the cache (valid until it is freed). */
int ews_autodiscover_cached(ews_autodiscover_cache *c, const ews_autodiscover_options *o, const char *mailbox,
                            const ews_autodiscover_result **out, or_error *err);

#endif
