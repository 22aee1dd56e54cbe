/*
 * json.c: a whole page of JSON read in one pass, for the common case, with yajl's callbacks.
 *
 * A gzip page arrives inflated in one piece (src/pull/gunzip.c), and yajl, a general streaming
 * parser, spent most of the parse's time tokenising it byte by byte. This scanner reads only the
 * plain form of JSON Graph sends: one object at the top, strings whose escapes are the short ones
 * or \u of a character of the Basic Multilingual Plane (no surrogates, no \u0000), numbers of
 * JSON's grammar followed by a delimiter, the three literals, nesting up to GJS_MAX_DEPTH. It
 * runs the callbacks exactly as yajl would (same events, same order, same decoded strings and
 * number texts). Anything else, malformed or merely unusual, and a callback that stops the parse,
 * make it give up: the caller then parses the page again with yajl from the start, so that yajl
 * alone decides what is malformed and says why (test/unit/test_graph_json.c checks both claims on
 * random and mutated pages). Bounded: the depth, and no allocation but the buffer of decoded
 * strings, never longer than the longest string with escapes (at most GJS_MAX_ESCAPED).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define GJS_MAX_DEPTH 128
#define GJS_MAX_ESCAPED (32u << 20) /* a string with escapes, as it is written */

static const unsigned char *skip_ws(const unsigned char *p, const unsigned char *e)
{
	if (p < e && *p > ' ') /* compact JSON: no whitespace at all */
		return p;
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* The first '"', '\\' or control character from p, or e. Sixteen bytes at a time with SSE2 (any
 * x86-64), else eight, while they last. */
static inline __attribute__((always_inline)) const unsigned char *find_special(const unsigned char *p,
                                                                               const unsigned char *e)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), below = _mm_set1_epi8(0x1f);
	while (e - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
		                           _mm_cmpeq_epi8(_mm_max_epu8(x, below), below)); /* x <= 0x1f */
		unsigned mask = (unsigned)_mm_movemask_epi8(hit);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	while (e - p >= 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
		/* a byte of zero in q or b, or a byte below 0x20 in x */
		uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
		if (hit & highs)
			break;
		p += 8;
	}
	while (p < e && *p != '"' && *p != '\\' && *p >= 0x20)
		p++;
	return p;
}

/* A string with escapes (or a control character, or no end) from start, whose first '\\' (or
 * control character) is at p: as string() below. Out of line, so that the common string without
 * escapes costs no more than finding its end. */
static __attribute__((noinline)) const unsigned char *string_escaped(const unsigned char *start, const unsigned char *p,
                                                                     const unsigned char *e, gjs_buf *buf,
                                                                     const unsigned char **out, size_t *out_len)
{
	/* the end first (escaped characters skipped), then the decoded text */
	const unsigned char *end = p;
	for (;;) {
		if (end >= e || *end < 0x20)
			return NULL;
		if (*end == '"')
			break;
		if (*end == '\\') {
			if (e - end < 2)
				return NULL;
			end += 2;
		}
		end = find_special(end, e);
	}
	size_t raw = (size_t)(end - start);
	if (raw > GJS_MAX_ESCAPED) /* left to yajl (parse.c takes no string over 32 MiB) */
		return NULL;
	if (raw + 1 > buf->cap) {
		unsigned char *d = realloc(buf->data, raw + 1);
		if (!d)
			return NULL;
		buf->data = d;
		buf->cap = raw + 1;
	}
	unsigned char *d = buf->data;
	for (const unsigned char *q = start; q < end;) {
		if (*q != '\\') { /* the run up to the next escape, at once */
			const unsigned char *bs = memchr(q, '\\', (size_t)(end - q));
			size_t run = (size_t)((bs ? bs : end) - q);
			memcpy(d, q, run);
			d += run;
			q += run;
			continue;
		}
		/* surrogates, even in pairs, and \u0000 are left to yajl's own ways with them */
		char *w = (char *)d;
		if (!(q = (const unsigned char *)json_escape_decode((const char *)q + 1, (const char *)end, false, &w)))
			return NULL;
		d = (unsigned char *)w;
	}
	*out = buf->data;
	*out_len = (size_t)(d - buf->data);
	return end + 1;
}

/* A string whose opening quote is before p: its text (decoded into buf when it has escapes) and
 * the position after its closing quote; NULL to give up. */
static inline __attribute__((always_inline)) const unsigned char *string(const unsigned char *p, const unsigned char *e,
                                                                         gjs_buf *buf, const unsigned char **out,
                                                                         size_t *out_len)
{
	const unsigned char *q = find_special(p, e);
	if (q < e && *q == '"') { /* no escape: the text itself */
		*out = p;
		*out_len = (size_t)(q - p);
		return q + 1;
	}
	return string_escaped(p, q, e, buf, out, out_len);
}

static bool delimiter(const unsigned char *p, const unsigned char *e)
{
	return p < e && (*p == ',' || *p == '}' || *p == ']' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t');
}

static const unsigned char *number(const unsigned char *p, const unsigned char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (p < e && *p == '.') {
		const unsigned char *d = ++p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return NULL;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		const unsigned char *d = p;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return NULL;
	}
	return delimiter(p, e) ? p : NULL;
}

static const unsigned char *literal(const unsigned char *p, const unsigned char *e, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(e - p) < n || memcmp(p, word, n) != 0 || !delimiter(p + n, e))
		return NULL;
	return p + n;
}

/* A callback that may be absent: absent, or returning nonzero, goes on. */
#define CALL(fn, ...) (!cb->fn || cb->fn(__VA_ARGS__))

int gjs_scan(const yajl_callbacks *cb, void *ctx, const char *text, size_t len, gjs_buf *buf)
{
	const unsigned char *p = (const unsigned char *)text, *e = p + len;
	unsigned char stack[GJS_MAX_DEPTH]; /* '{' or '[' per open container */
	int depth = 0;
	const unsigned char *s;
	size_t n;
	p = skip_ws(p, e);
	if (p == e || *p != '{')
		return 1;
value:
	switch (p < e ? *p : 0) {
	case '{':
		if (depth == GJS_MAX_DEPTH || !CALL(yajl_start_map, ctx))
			return 1;
		stack[depth++] = '{';
		p = skip_ws(p + 1, e);
		if (p < e && *p == '}') {
			p++;
			depth--;
			if (!CALL(yajl_end_map, ctx))
				return 1;
			goto after;
		}
		goto key;
	case '[':
		if (depth == GJS_MAX_DEPTH || !CALL(yajl_start_array, ctx))
			return 1;
		stack[depth++] = '[';
		p = skip_ws(p + 1, e);
		if (p < e && *p == ']') {
			p++;
			depth--;
			if (!CALL(yajl_end_array, ctx))
				return 1;
			goto after;
		}
		goto value;
	case '"':
		if (!(p = string(p + 1, e, buf, &s, &n)) || !CALL(yajl_string, ctx, s, n))
			return 1;
		goto after;
	case 't':
		if (!(p = literal(p, e, "true")) || !CALL(yajl_boolean, ctx, 1))
			return 1;
		goto after;
	case 'f':
		if (!(p = literal(p, e, "false")) || !CALL(yajl_boolean, ctx, 0))
			return 1;
		goto after;
	case 'n':
		if (!(p = literal(p, e, "null")) || !CALL(yajl_null, ctx))
			return 1;
		goto after;
	case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9': {
		const unsigned char *q = number(p, e);
		if (!q || !CALL(yajl_number, ctx, (const char *)p, (size_t)(q - p)))
			return 1;
		p = q;
		goto after;
	}
	default: return 1;
	}
key:
	if (p >= e || *p != '"' || !(p = string(p + 1, e, buf, &s, &n)) || !CALL(yajl_map_key, ctx, s, n))
		return 1;
	p = skip_ws(p, e);
	if (p >= e || *p != ':')
		return 1;
	p = skip_ws(p + 1, e);
	goto value;
after:
	p = skip_ws(p, e);
	if (depth == 0)
		return p == e ? 0 : 1;
	if (p >= e)
		return 1;
	if (*p == ',') {
		p = skip_ws(p + 1, e);
		if (stack[depth - 1] == '{')
			goto key;
		goto value;
	}
	if (*p == '}' && stack[depth - 1] == '{') {
		p++;
		depth--;
		if (!CALL(yajl_end_map, ctx))
			return 1;
		goto after;
	}
	if (*p == ']' && stack[depth - 1] == '[') {
		p++;
		depth--;
		if (!CALL(yajl_end_array, ctx))
			return 1;
		goto after;
	}
	return 1;
}
