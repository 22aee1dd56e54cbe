/* snapshot_lines.h: inside src/core, for snapshot_read.c: a snapshot file read line by line, and
 * the fast parser of its flat lines (snapshot_lines.c). */
#ifndef OSTRECON_CORE_SNAPSHOT_LINES_H
#define OSTRECON_CORE_SNAPSHOT_LINES_H

#include "core.h"

#include <stdio.h>

#define LINE_LIMIT (16u << 20)

/* ------------------------------------------------------------------ lines
 *
 * The file is read in large blocks into one buffer, and lines are handed out where they lie in it
 * (no copy per line). A line that does not fit grows the buffer, up to LINE_LIMIT. */

typedef struct {
	FILE *fp;
	char *buf;
	size_t cap, start, end; /* the bytes not handed out yet: buf[start, end) */
	size_t scanned;         /* buf[start, scanned) holds no newline */
	uint64_t base;          /* the offset in the file of buf[0] */
	bool eof;
} line_reader;

/* The next line (with its newline, if any): returns its length, -1 at the end, -2 when longer
 * than LINE_LIMIT, -3 on a read error or out of memory. */
long lr_next(line_reader *lr, const char **line);

/* ------------------------------------------------------------------ fast path
 *
 * Folder, item, error and end lines are flat objects (string, integer, boolean and null values)
 * with the same keys line after line. They are parsed here without building a jansson tree, which
 * was most of the cost of loading a large snapshot. The fast parser accepts a strict subset of
 * JSON: anything it is not sure of (nested values, reals, duplicate keys, escapes in keys, \u0000,
 * control characters, invalid UTF-8, ...) sends the line to jansson, which then accepts or rejects
 * it as before. The line is left as read: a string without escapes is pointed at where it lies in
 * the line, one with escapes is decoded into a scratch buffer. */

/* The keys the reader knows on fast lines; each value is found by its key's number. */
typedef enum {
	K_TYPE, K_ID, K_PARENT_ID, K_FOLDER_ID, K_NAME, K_PATH, K_CLASS, K_ROLE, K_CONTENT_COUNT,
	K_UNREAD_COUNT, K_ASSOC_COUNT, K_KEY, K_GC, K_REPLID, K_KEY_ORIGIN, K_CHANGE_KEY, K_PCL, K_SUBJECT,
	K_MESSAGE_ID, K_READ, K_MSG_FLAGS, K_FLAG_STATUS, K_IMPORTANCE, K_SIZE, K_ASSOCIATED, K_RECEIVED,
	K_SENT, K_CREATED, K_MODIFIED, K_SCOPE, K_CODE, K_MESSAGE, K_FOLDERS, K_ITEMS, K_ERRORS, K_COUNT
} key_id;

typedef struct {
	const char *name;
	size_t len;
} line_key;
extern const line_key line_keys[K_COUNT];


#define FAST_MAX_FIELDS 64
#define K_UNKNOWN K_COUNT

typedef enum { FV_ABSENT = 0, FV_STR, FV_INT, FV_TRUE, FV_FALSE, FV_NULL } fv_type;

typedef struct {
	const char *str; /* FV_STR: len bytes, no NUL among them, not NUL-terminated */
	size_t len;
	int64_t num;
	fv_type type;
} fast_val;

typedef struct {
	fast_val v[K_COUNT];               /* by key; type FV_ABSENT when the line lacks the key */
	struct { const char *p; size_t n; } unknown[FAST_MAX_FIELDS]; /* other keys: for duplicates */
	size_t n_fields, n_unknown;
	uint8_t guess[FAST_MAX_FIELDS];    /* key number of each position on the previous line */
	char key_text[K_COUNT][16];        /* each key's name and closing quote, zero-padded */
	unsigned key_mask[K_COUNT];        /* the bytes of key_text to compare; 0: too long for it */
	char *scratch;                     /* decoded strings of this line */
	size_t scratch_len, scratch_cap;
	/* The string each key was last interned as: consecutive lines mostly repeat their class and
	 * folder id, which then cost one compare. */
	const char *last[K_COUNT];
	size_t last_len[K_COUNT];
	uint32_t last_off[K_COUNT]; /* the same for a compared load: heap offsets (0 none) */
	size_t last_off_len[K_COUNT];
} fast_obj;

fast_obj *fast_new(void);
void fast_free(fast_obj *o);
/* Parses a flat JSON object line, leaving the line as it is; 0 ok, -1 when the line needs the
 * full parser, -2 out of memory. */
int fast_parse(fast_obj *o, const char *p, size_t len);

#endif
