/*
 * ews.h: the server side. Pulls a mailbox's folder hierarchy and every item's key and properties
 * over Exchange Web Services into a snapshot (docs/SNAPSHOT.md), read-only.
 *
 * Secrets (password, token) are passed in memory by the caller, never logged, never written.
 */
#ifndef OSTRECON_EWS_H
#define OSTRECON_EWS_H

#include "core/core.h"

/* A gate shared by the pulls of many mailboxes against one server (batch runs): it caps the
 * requests in flight to that server, and a throttling answer to any of them slows all of them.
 * It also keeps the connections of finished pulls open for the next ones (keep-alive across
 * mailboxes; the same credentials serve every pull through one gate), closed by ews_gate_free. */
typedef struct ews_gate ews_gate;
int ews_gate_new(ews_gate **out, int max_in_flight, or_error *err);
void ews_gate_free(ews_gate *g);

typedef enum { EWS_AUTH_BASIC = 0, EWS_AUTH_NTLM, EWS_AUTH_NEGOTIATE, EWS_AUTH_BEARER } ews_auth;

typedef struct {
	const char *url;            /* https://HOST/EWS/Exchange.asmx */
	const char *mailbox;        /* SMTP address of the mailbox to pull */
	ews_auth auth;
	const char *user;           /* Basic/NTLM/Negotiate; for Negotiate may be empty (ticket cache) */
	const char *secret;         /* password or bearer token; borrowed */
	bool impersonate;           /* ExchangeImpersonation of `mailbox` (service accounts) */
	const char *anchor;         /* X-AnchorMailbox; defaults to the mailbox when impersonating/OAuth */
	const char *server_version; /* RequestServerVersion, e.g. "Exchange2013_SP1" */
	const char *cacert;         /* CA bundle file for TLS verification */
	bool insecure;              /* turn TLS verification off (warned) */
	int concurrency;            /* parallel folder pulls, 1..16 */
	int retries;                /* attempts per request after the first */
	long connect_timeout_s, timeout_s;
	int page_size;              /* SyncFolderItems MaxChangesReturned / FindItem page, 1..512 */
	bool use_finditem;          /* FindItem paging instead of SyncFolderItems */
	bool use_findfolder;        /* FindFolder (deep) instead of SyncFolderHierarchy */
	bool associated;            /* also pull associated (FAI) items */
	bool progress;              /* progress line on stderr */
	const char *trace_dir;      /* write every request and response body there (debugging, tests) */
	const char *options_json;   /* recorded in the snapshot header */
	ews_gate *gate;             /* optional, borrowed: shared with other pulls to the same server */
} ews_options;

/* Defaults for everything but url, mailbox and credentials. */
void ews_options_init(ews_options *opt);
/* True when `v` is a RequestServerVersion value the EWS schema allows. */
bool ews_server_version_valid(const char *v);

typedef struct {
	size_t folders, items, errors;
	size_t folders_failed;
	long requests, retries;
	double seconds;
} ews_summary;

/* Pulls the mailbox into a snapshot at `out_path` ("-" = stdout). Returns 0 when a snapshot was
 * written (folders that failed are error lines in it: summary->folders_failed), or a negative
 * or_code when nothing could be pulled (OR_ERR_AUTH, OR_ERR_TLS, OR_ERR_DENIED, OR_ERR_IO, ...),
 * in which case nothing is written. */
int ews_capture(const ews_options *opt, const char *out_path, ews_summary *summary, or_error *err);
/* The same, keeping the snapshot in memory instead of a file: *out is what snap_load would read
 * back from the file ews_capture writes (a scan compares it without writing and parsing it). */
int ews_capture_snap(const ews_options *opt, snap_t **out, ews_summary *summary, or_error *err);

/* Decodes the source key embedded in an EWS ItemId/FolderId (base64 of a header and a MAPI entry
 * id ending in replica GUID + global counter + 2 pad bytes). Returns 0 or -1. */
int ews_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN]);

#endif
