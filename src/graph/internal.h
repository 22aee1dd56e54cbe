/* internal.h: shared by the files of src/graph, not part of its public interface. */
#ifndef OSTRECON_GRAPH_INTERNAL_H
#define OSTRECON_GRAPH_INTERNAL_H

#include "graph.h"

#include <pthread.h>


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

/* ----------------------------------------------------- calls (call.c) */

/* GETs `url` over src/pull's transport (op names it in traces and logs) and parses the page. A
 * refusal comes back as a negative or_code with the Graph error in pg->error; *http is the last
 * answer's status (0 when none came). With `probe`, a server error (5xx) is an answer, not retried,
 * and one object is asked for: for requests whose refusal the caller works around. */
int graph_get(pull_conn *c, const graph_options *o, const char *op, const char *url, graph_coll coll, bool single,
              bool probe, graph_page *pg, long *http, or_error *err);

#endif
