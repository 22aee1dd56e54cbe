/* internal.h: shared by the files of src/ews, not part of its public interface. */
#ifndef OSTRECON_EWS_INTERNAL_H
#define OSTRECON_EWS_INTERNAL_H

#include "ews.h"


/* ----------------------------------------------------- request writing */

/* Appends a SOAP envelope around `body` for `opt` (version, impersonation). */
int ews_envelope(or_buf *out, const ews_options *opt, const char *body);
/* XML text escaping into a buffer. */
int ews_xml_escape(or_buf *out, const char *text);

/* The properties every request asks for (extended ones by numeric tag). */
typedef enum { SHAPE_FOLDER, SHAPE_ITEM } ews_shape;
int ews_req_get_folders(or_buf *b, const ews_options *opt, const char *const *distinguished, size_t n);
int ews_req_sync_hierarchy(or_buf *b, const ews_options *opt, const char *sync_state);
/* FindFolder below parent_id (NULL: the mailbox root), Deep or Shallow. */
int ews_req_find_folders(or_buf *b, const ews_options *opt, const char *parent_id, bool deep, int offset, int page);
int ews_req_sync_items(or_buf *b, const ews_options *opt, const char *folder_id, const char *sync_state);
/* FindItem from `offset`, at most `max` items (0: the page size) */
int ews_req_find_items(or_buf *b, const ews_options *opt, const char *folder_id, bool associated, int offset, int max);

/* ----------------------------------------------------- versions (version.c) */

/* Whether version v (a RequestServerVersion value) knows a distinguished folder name, SyncScope,
 * FindItem Traversal="Associated". */
bool ews_version_knows_name(const char *v, const char *distinguished);
bool ews_version_sync_scope(const char *v);
bool ews_version_associated(const char *v);
/* The next older version worth trying when v is refused, or NULL. */
const char *ews_version_step_down(const char *v);
/* True when a is an older version than b. */
bool ews_version_older(const char *a, const char *b);

/* ----------------------------------------------------- response parsing */

/* One ResponseMessage of a response. */
typedef struct {
	char cls[16];   /* Success / Warning / Error */
	char code[64];  /* ResponseCode */
	char text[256]; /* MessageText */
} ews_status;

/* A special folder named by position in a folder's PR_ADDITIONAL_REN_ENTRYIDS (0x36D8): 0
 * conflicts, 1 sync issues, 2 local failures, 3 server failures, 4 junk email. */
typedef struct {
	int folder;                /* index of the folder record carrying the list */
	int position;
	uint8_t key[SNAP_KEY_LEN]; /* the source key at the end of the entry id */
} ews_special;

/* What one response holds. Strings of the records live in `scratch`. */
typedef struct {
	snap_t *scratch;          /* folders and items parsed from this response */
	int *folder_msg, *item_msg; /* for each record: index of its response message */
	size_t n_folder_msg, n_item_msg, cap_folder_msg, cap_item_msg;
	ews_status *status;
	size_t n_status, cap_status;
	char *sync_state;         /* malloc'd */
	int includes_last;        /* -1 absent */
	long next_offset, total_in_view; /* FindItem/FindFolder paging; -1 absent */
	bool is_fault;
	char fault_code[64], fault_text[256];
	long backoff_ms;          /* MessageXml's BackOffMilliseconds (a fault or a message); -1 absent */
	char operation[48];       /* the operation the response answers ("GetFolder"), "" for a fault */
	char server_version[64];  /* ServerVersionInfo: "14.2.247.5" */
	int server_major, server_minor, server_build;
	char server_schema[32];   /* its Version attribute ("Exchange2010_SP2"), "" when absent */
	ews_special *special;
	size_t n_special, cap_special;
	size_t repairs;           /* characters XML 1.0 forbids, replaced by U+FFFD */
} ews_page;

/* The RequestServerVersion a response's ServerVersionInfo says the server takes (its Version, or
 * its build: 8.1 Exchange2007_SP1, 14.2 Exchange2010_SP2, ...), or NULL when newer or unsaid. */
const char *ews_version_of_server(const ews_page *pg);

int ews_page_init(ews_page *p, or_error *err);
int ews_page_reset(ews_page *p, or_error *err); /* empties it for the next response */
void ews_page_free(ews_page *p);

typedef struct ews_parser ews_parser;
int ews_parser_new(ews_parser **out, ews_page *page, or_error *err);
/* Feeds bytes; returns 0, or negative when the XML is malformed (OR_ERR_PROTOCOL: not well formed,
 * as a body cut short is) or cannot be used (OR_ERR_FORMAT: a DTD, a bound exceeded, a malformed
 * value; OR_ERR_NOMEM). Characters XML 1.0 forbids are repaired, not refused. */
int ews_parser_feed(ews_parser *p, const char *data, size_t len, or_error *err);
int ews_parser_finish(ews_parser *p, or_error *err);
void ews_parser_free(ews_parser *p);

/* ----------------------------------------------------- calls */

/* Sends one SOAP request over src/pull's transport (op names the operation, for traces and logs)
 * and parses the response into `page`. Throttling (ErrorServerBusy and its kin, in a fault or in
 * a response message, after their BackOffMilliseconds), transient server errors, dropped
 * connections and bodies that are not well formed are retried by the transport; a response to
 * another operation, or one that cannot be used, is not. Returns 0 with a parsed page, or a
 * negative or_code (the page still holds what the failed answer said: its fault code). `folder`
 * names the folder the request is for in the transport's log lines (NULL: none). */
int ews_call(pull_conn *c, const ews_options *opt, const char *op, const char *folder, const or_buf *request,
             ews_page *page, or_error *err);

/* ----------------------------------------------------- Autodiscover answers */

typedef enum { ANS_SETTINGS, ANS_REDIRECT_ADDR, ANS_REDIRECT_URL, ANS_ERROR } ews_ad_kind;

/* What one POX or SOAP Autodiscover answer says. */
typedef struct {
	ews_ad_kind kind;
	char value[1024];   /* the EWS URL, the address or the URL redirected to */
	char version[96];   /* ANS_SETTINGS: "15.1.2507 (Exchange 2016)" or "" */
	char note[300];     /* ANS_ERROR: why */
} ews_ad_answer;

/* Parses a POX (soap false) or SOAP GetUserSettings answer. Never fails: a document that is not
 * an answer is ANS_ERROR with the reason. */
void ews_ad_parse(bool soap, const char *body, size_t len, ews_ad_answer *a);

#endif
