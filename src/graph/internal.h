/* internal.h: shared by the files of src/graph, not part of its public interface. */
#ifndef OSTRECON_GRAPH_INTERNAL_H
#define OSTRECON_GRAPH_INTERNAL_H

#include "graph.h"

#include <pthread.h>
#include <yajl/yajl_parse.h>


/* ----------------------------------------------------- requests (request.c) */

/* What a collection holds, which decides the $select and the extended properties asked for. */
typedef enum {
	COLL_MAILBOX_FOLDERS, /* /admin/exchange/mailboxes/{id}/folders */
	COLL_MAILBOX_ITEMS,   /* .../folders/{id}/items */
	COLL_MAIL_FOLDERS,    /* /users/{id}/mailFolders */
	COLL_MESSAGES,        /* .../mailFolders/{id}/messages */
	COLL_CALENDARS,       /* /users/{id}/calendars */
	COLL_EVENTS,          /* .../calendars/{id}/events */
	COLL_CONTACT_FOLDERS, /* /users/{id}/contactFolders */
	COLL_CONTACTS,        /* .../contactFolders/{id}/contacts */
	COLL_SETTINGS,        /* /users/{id}/settings/exchange: one entity */
	COLL_SPECIAL,         /* the Inbox, for the special folders' entry ids it carries */
	COLL_NO_ITEMS,        /* a folder whose items no collection lists (the root no listing gave) */
} graph_coll;

typedef struct {
	bool delta;   /* the collection's delta function instead of a plain listing */
	bool expand;  /* extended properties with $expand */
} graph_query;

/* The first URL of a collection: `base` (the mailbox's path) + `path` + the query. The result is
 * malloc'd; NULL when out of memory. */
char *graph_url(const char *root, const char *base, const char *path, graph_coll coll, graph_query q);
/* A path segment, percent-encoded (':' and '@' kept, as in mailbox ids). malloc'd. */
char *graph_escape(const char *segment);

/* ----------------------------------------------------- pages (parse.c) */

typedef struct {
	char code[96];     /* error.code (or the identity platform's "error") */
	char message[320];
} graph_error;

/* One page of a collection (or one entity). Records live in `scratch` (reset for each page). */
typedef struct {
	snap_t *scratch;
	char **wellknown;     /* per folder: its wellKnownName or NULL (malloc'd) */
	char **parent_key;    /* per folder (calendars): the parent's key as hex, or NULL */
	size_t n_extra, cap_extra;
	bool *search;         /* per folder: a search folder (@odata.type) */
	/* COLL_SPECIAL: the entry ids of PR_IPM_APPOINTMENT_ENTRYID (0x36D0) to 0x36D7 */
	uint8_t special[8][64];
	uint8_t special_len[8];
	size_t removed;       /* @removed entries met (not records: a full round lists what exists) */
	char *next_link;      /* malloc'd, or NULL */
	char *delta_link;     /* malloc'd, or NULL */
	char *mailbox_id;     /* COLL_SETTINGS: primaryMailboxId (malloc'd) */
	bool has_error;       /* an error body: {"error": {...}} */
	graph_error error;
} graph_page;

int graph_page_init(graph_page *pg, or_error *err);
int graph_page_reset(graph_page *pg, or_error *err);
void graph_page_free(graph_page *pg);

/* A streaming parser of one answer into `pg`: a page of `coll` (its "value" array), or with
 * `single` one entity (a folder got by id or name; COLL_SETTINGS is one entity). An error body
 * fills pg->error whatever the mode. Feed returns negative with err set when the JSON is
 * malformed or over a bound; finish also when the page is not of the shape asked for, or a field
 * has a value of the wrong type or form (err names it). */
typedef struct graph_parser graph_parser;
int graph_parser_new(graph_parser **out, graph_page *pg, graph_coll coll, bool single, or_error *err);
int graph_parser_feed(graph_parser *p, const char *data, size_t len, or_error *err);
int graph_parser_finish(graph_parser *p, or_error *err);
void graph_parser_free(graph_parser *p);
/* The same on a whole text. */
int graph_page_parse(graph_page *pg, graph_coll coll, bool single, const char *text, size_t len, or_error *err);
/* Tests: whether a parser may read a page given whole with json.c's scanner (on by default). */
void graph_parser_allow_scan(graph_parser *p, bool allow);

/* ----------------------------------------------------- whole pages (json.c) */

typedef struct {
	unsigned char *data; /* decoded strings (malloc'd, reused) */
	size_t cap;
} gjs_buf;

/* Reads a whole JSON text running yajl's callbacks `cb` as yajl would. 0 when the text was read
 * to its end; 1 when the scanner gave up (a form it does not take, malformed JSON, a callback
 * that returned 0, out of memory), after running the callbacks for a part of the text: the
 * caller starts again with yajl. */
int gjs_scan(const yajl_callbacks *cb, void *ctx, const char *text, size_t len, gjs_buf *buf);

/* ----------------------------------------------------- calls (call.c) */

/* GETs `url` over src/pull's transport (op names it in traces and logs, with the folder it is for
 * when not NULL) and parses the page. A
 * refusal comes back as a negative or_code with the Graph error in pg->error; *http is the last
 * answer's status (0 when none came). With `probe`, a server error (5xx) is an answer, not retried,
 * and one object is asked for: for requests whose refusal the caller works around. */
int graph_get(pull_conn *c, const graph_options *o, const char *op, const char *folder, const char *url,
              graph_coll coll, bool single, bool probe, graph_page *pg, long *http, or_error *err);

/* ----------------------------------------------------- the pull */

#define GRAPH_MAX_PAGES 1000000 /* per folder or listing: a broken server must not loop us forever */
#define GRAPH_MAX_RESTARTS 3    /* of one round whose delta state expired */
#define GRAPH_MAX_PARTS 16      /* of a folder read in parallel parts */

/* One Graph pull (pull.c, folders.c, items.c). */
typedef struct {
	const graph_options *o;
	graph_api api;         /* MAILBOX or MAIL, once known */
	char *base;            /* the mailbox's path under the root */
	char *options_json;    /* the header's options, with what this pull found */
	graph_coll *kind;      /* per folder of the snapshot: the collection of its items */
	size_t n_kind, cap_kind;
	pthread_mutex_t lock;
	int expand_on_delta;   /* -1 not known yet, 0 refused, 1 works */
	bool no_delta;         /* delta refused (over quota) or not wanted: plain listings */
	bool no_split;         /* the server refused the queries that split a folder */
	long restarts;
	long split_fallbacks;  /* split folders read whole after all (a part failed, counts differ) */
} graph_pull;


/* folders.c: the mailbox's id, the folders of each API with their roles, and the root. */
int graph_mailbox_id(graph_pull *g, pull_conn *c, graph_page *pg, char **out, or_error *err);
int graph_set_base(graph_pull *g, const char *prefix, const char *id, or_error *err);
int graph_hierarchy_mailbox(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err);
int graph_hierarchy_mail(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err);
int graph_add_root(graph_pull *g, pull_run *run, or_error *err);
/* The key inside an object's id, for an object Graph gave no PidTagSourceKey. */
void graph_key_from_ident(const char *id, snap_ident *ident);
/* What the mail API cannot list (the header's options.not_covered). */
extern const char *const graph_mail_not_covered[];
extern const size_t graph_n_mail_not_covered;

/* items.c: whether delta rounds take extended properties (asked once), and a folder's items. */
int graph_probe_items(graph_pull *g, pull_run *run, pull_conn *c, graph_page *pg, or_error *err);
void graph_folder_items(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f);
/* A large folder read in parallel parts (pull_protocol's split, part and merge): ranges of the
 * items' createdDateTime (mailbox API) or receivedDateTime (messages) on plain listings. */
int graph_split(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, int parts, void **plan);
void graph_part(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan, int k);
void graph_merge(void *ctx, pull_run *run, pull_conn *c, void *ws, const snap_folder *f, void *plan);

#endif
