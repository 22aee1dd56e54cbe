/* dump.c: a JSON value as text, the same bytes json_dump_callback writes with JSON_INDENT(1) |
 * JSON_PRESERVE_ORDER | JSON_ENCODE_ANY, appended to a buffer. jansson's writer looks every array
 * and object up in a table of its parents (to refuse cycles, which a built report has none of)
 * and hands each token to a callback: for the tens of thousands of findings of a large comparison
 * that cost more than building them. */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef report_writer writer;

/* Room for n more bytes (and the NUL) at the end of the buffer, growing it by doubling (past its
 * limit, if it has one, it fails as buf_append does): written there by the caller, then kept with
 * done(). NULL when the buffer cannot grow or has failed before (w->rc says why). */
static char *room(writer *w, size_t n)
{
	or_buf *b = w->out;
	if (w->rc)
		return NULL;
	if (b->cap - b->len > n)
		return b->data + b->len;
	if (b->limit && b->len + n > b->limit) {
		w->rc = OR_ERR_LIMIT;
		return NULL;
	}
	size_t cap = b->cap ? b->cap : w->block ? 64u << 10 : 256;
	while (cap - b->len <= n)
		cap *= 2;
	char *p = w->block ? or_block_realloc(b->data, cap) : realloc(b->data, cap);
	if (!p) {
		w->rc = OR_ERR_NOMEM;
		return NULL;
	}
	b->data = p;
	b->cap = cap;
	return b->data + b->len;
}

static void done(writer *w, size_t n)
{
	w->out->len += n;
	w->out->data[w->out->len] = '\0';
}

/* put when the buffer must grow first, or has failed. */
static __attribute__((noinline)) void put_grow(writer *w, const char *s, size_t n)
{
	char *r = n ? room(w, n) : NULL;
	if (r) {
		memcpy(r, s, n);
		done(w, n);
	}
}

/* Appends n bytes (the buffer kept NUL-terminated, as buf_append keeps it). Inline: most calls
 * append a few bytes whose count is known where they are made. */
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

/* The first byte from i on that is escaped (a quote, a backslash, a control character), n when
 * none: sixteen bytes a step where SSE2 is there. */
static size_t plain_until(const char *s, size_t i, size_t n)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), low = _mm_set1_epi8(0x1f);
	for (; n - i >= 16; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
		                               _mm_cmpeq_epi8(_mm_min_epu8(v, low), v)); /* v <= 0x1f, unsigned */
		unsigned m = (unsigned)_mm_movemask_epi8(special);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

/* Quoted, with the escapes jansson writes: \" \\ \b \f \n \r \t, \u00XX (capitals) for the other
 * control characters; everything else (UTF-8 included) as it is. */
static void string(writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0, i = plain_until(s, 0, n);
	char *r;
	if (i == n && (r = room(w, n + 2)) != NULL) { /* nothing to escape: at once */
		r[0] = '"';
		memcpy(r + 1, s, n);
		r[n + 1] = '"';
		done(w, n + 2);
		return;
	}
	put(w, "\"", 1);
	for (; i < n; i = plain_until(s, i + 1, n)) {
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
	size_t n = strlen(key), depth = w->depth;
	char *r;
	if (depth <= 32 && n <= 64 && plain_until(key, 0, n) == n && (r = room(w, n + depth + 6)) != NULL) {
		/* [,] newline, indent, "key": at once */
		size_t k = 0;
		if (!w->first[depth])
			r[k++] = ',';
		w->first[depth] = false;
		r[k++] = '\n';
		memset(r + k, ' ', depth);
		k += depth;
		r[k++] = '"';
		memcpy(r + k, key, n);
		k += n;
		memcpy(r + k, "\": ", 3);
		done(w, k + 3);
		return;
	}
	jw_next(w);
	string(w, key, n);
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
