/* dump.c: a JSON value as text, the same bytes json_dump_callback writes with JSON_INDENT(1) |
 * JSON_PRESERVE_ORDER | JSON_ENCODE_ANY, appended to a buffer. jansson's writer looks every array
 * and object up in a table of its parents (to refuse cycles, which a built report has none of)
 * and hands each token to a callback: for the tens of thousands of findings of a large comparison
 * that cost more than building them. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef report_writer writer;

/* put when the buffer must grow first, or has failed. */
static __attribute__((noinline)) void put_grow(writer *w, const char *s, size_t n)
{
	or_buf *b = w->out;
	if (w->rc || !n)
		return;
	if (!w->block) {
		w->rc = buf_append(b, s, n); /* grows it (and says when it cannot) */
		return;
	}
	size_t cap = b->cap ? b->cap : 64u << 10;
	while (cap - b->len <= n)
		cap *= 2;
	char *p = or_block_realloc(b->data, cap);
	if (!p) {
		w->rc = OR_ERR_NOMEM;
		return;
	}
	b->data = p;
	b->cap = cap;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends n bytes, growing the buffer by doubling (kept NUL-terminated, as buf_append keeps it).
 * Inline: most calls append a few bytes whose count is known where they are made. */
static inline void put(writer *w, const char *s, size_t n)
{
	or_buf *b = w->out;
	if (__builtin_expect(w->rc != 0 || b->cap - b->len <= n, 0)) {
		put_grow(w, s, n);
		return;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* A new line and `depth` spaces (one per level). */
static void indent(writer *w, size_t depth)
{
	static const char spaces[] = "\n                                ";
	if (depth < sizeof spaces - 1) {
		put(w, spaces, depth + 1);
		return;
	}
	put(w, spaces, 1);
	while (depth) {
		size_t n = depth < sizeof spaces - 2 ? depth : sizeof spaces - 2;
		put(w, spaces + 1, n);
		depth -= n;
	}
}

/* Quoted, with the escapes jansson writes: \" \\ \b \f \n \r \t, \u00XX (capitals) for the other
 * control characters; everything else (UTF-8 included) as it is. */
static void string(writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	put(w, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t len = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			len = 6;
		}
		put(w, esc, len);
	}
	put(w, s + run, n - run);
	put(w, "\"", 1);
}

static void value(writer *w, const json_t *v, size_t depth)
{
	switch (json_typeof(v)) {
	case JSON_NULL: put(w, "null", 4); return;
	case JSON_TRUE: put(w, "true", 4); return;
	case JSON_FALSE: put(w, "false", 5); return;
	case JSON_STRING: string(w, json_string_value(v), json_string_length(v)); return;
	case JSON_INTEGER: {
		char num[32];
		int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(w, num, (size_t)n);
		return;
	}
	case JSON_REAL: { /* rare in a report (timings): jansson's own form of a number */
		char *text = json_dumps(v, JSON_ENCODE_ANY);
		if (!text && w->rc == 0)
			w->rc = OR_ERR_NOMEM;
		if (text)
			put(w, text, strlen(text));
		free(text);
		return;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);
		put(w, "[", 1);
		for (size_t i = 0; i < n; i++) {
			if (i)
				put(w, ",", 1);
			indent(w, depth + 1);
			value(w, json_array_get(v, i), depth + 1);
		}
		if (n)
			indent(w, depth);
		put(w, "]", 1);
		return;
	}
	case JSON_OBJECT: {
		put(w, "{", 1);
		void *it = json_object_iter((json_t *)v);
		for (bool first = true; it; it = json_object_iter_next((json_t *)v, it), first = false) {
			if (!first)
				put(w, ",", 1);
			indent(w, depth + 1);
			string(w, json_object_iter_key(it), json_object_iter_key_len(it));
			put(w, ": ", 2);
			value(w, json_object_iter_value(it), depth + 1);
		}
		if (json_object_size(v))
			indent(w, depth);
		put(w, "}", 1);
		return;
	}
	}
}

static int dump(const json_t *v, or_buf *out, bool block, size_t depth)
{
	writer w = {.out = out, .block = block};
	if (!v)
		return -1;
	value(&w, v, depth);
	return w.rc ? -1 : 0;
}

int report_dump(const json_t *v, or_buf *out)
{
	return dump(v, out, false, 0);
}

int report_dump_held(const json_t *v, or_buf *out)
{
	return dump(v, out, true, REPORT_HELD_DEPTH);
}

/* ---------------------------------------------------------------- writing without a tree */

void jw_open(report_writer *w, char bracket)
{
	if (w->depth + 1 >= sizeof w->first) {
		if (w->rc == 0)
			w->rc = OR_ERR_LIMIT;
		return;
	}
	put(w, &bracket, 1);
	w->first[++w->depth] = true;
}

void jw_close(report_writer *w, char bracket)
{
	if (!w->depth)
		return;
	if (!w->first[w->depth])
		indent(w, w->depth - 1);
	put(w, &bracket, 1);
	w->depth--;
}

void jw_next(report_writer *w)
{
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = false;
	indent(w, w->depth);
}

void jw_key(report_writer *w, const char *key)
{
	jw_next(w);
	string(w, key, strlen(key));
	put(w, ": ", 2);
}

void jw_str(report_writer *w, const char *s)
{
	if (s)
		string(w, s, strlen(s));
	else
		put(w, "null", 4);
}

void jw_int(report_writer *w, int64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof num, "%" PRId64, v);
	put(w, num, (size_t)n);
}

void jw_bool(report_writer *w, bool v)
{
	put(w, v ? "true" : "false", v ? 4 : 5);
}
