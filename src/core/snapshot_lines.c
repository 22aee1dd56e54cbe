/* snapshot_lines.c: a snapshot file read line by line, and the fast parser of its flat lines
 * (snapshot_lines.h; used by snapshot_read.c). */
#include "snapshot_lines.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define READ_CHUNK (1u << 20) /* read at a time; the buffer grows by doubling */

/* ------------------------------------------------------------------ lines (snapshot_lines.h) */

long lr_next(line_reader *lr, const char **line)
{
	for (;;) {
		char *nl = lr->scanned < lr->end ? memchr(lr->buf + lr->scanned, '\n', lr->end - lr->scanned) : NULL;
		if (nl || (lr->eof && lr->start < lr->end)) {
			size_t stop = nl ? (size_t)(nl - lr->buf) + 1 : lr->end;
			size_t n = stop - lr->start;
			if (n > LINE_LIMIT)
				return -2;
			*line = lr->buf + lr->start;
			lr->start = lr->scanned = stop;
			return (long)n;
		}
		if (lr->eof)
			return -1;
		lr->scanned = lr->end;
		if (lr->end - lr->start > LINE_LIMIT)
			return -2;
		/* Room for another block: move what is pending to the front, or grow. */
		if (lr->start > 0) {
			memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
			lr->base += lr->start;
			lr->end -= lr->start;
			lr->scanned -= lr->start;
			lr->start = 0;
		}
		if (lr->cap - lr->end < READ_CHUNK / 2) {
			size_t cap = lr->cap ? lr->cap * 2 : READ_CHUNK;
			char *p = realloc(lr->buf, cap);
			if (!p)
				return -3;
			lr->buf = p;
			lr->cap = cap;
		}
		size_t got = fread(lr->buf + lr->end, 1, lr->cap - lr->end, lr->fp);
		if (got == 0) {
			if (ferror(lr->fp))
				return -3;
			lr->eof = true;
		}
		lr->end += got;
	}
}

/* ------------------------------------------------------------------ fast path (snapshot_lines.h) */

#define KEY(name) {name, sizeof name - 1}
const line_key line_keys[K_COUNT] = {
	[K_TYPE] = KEY("type"), [K_ID] = KEY("id"), [K_PARENT_ID] = KEY("parent_id"),
	[K_FOLDER_ID] = KEY("folder_id"), [K_NAME] = KEY("name"), [K_PATH] = KEY("path"),
	[K_CLASS] = KEY("class"), [K_ROLE] = KEY("role"), [K_CONTENT_COUNT] = KEY("content_count"),
	[K_UNREAD_COUNT] = KEY("unread_count"), [K_ASSOC_COUNT] = KEY("assoc_count"),
	[K_KEY] = KEY("key"), [K_GC] = KEY("gc"), [K_REPLID] = KEY("replid"),
	[K_KEY_ORIGIN] = KEY("key_origin"), [K_CHANGE_KEY] = KEY("change_key"), [K_PCL] = KEY("pcl"),
	[K_SUBJECT] = KEY("subject"), [K_MESSAGE_ID] = KEY("message_id"), [K_READ] = KEY("read"),
	[K_MSG_FLAGS] = KEY("msg_flags"), [K_FLAG_STATUS] = KEY("flag_status"),
	[K_IMPORTANCE] = KEY("importance"), [K_SIZE] = KEY("size"), [K_ASSOCIATED] = KEY("associated"),
	[K_RECEIVED] = KEY("received"), [K_SENT] = KEY("sent"), [K_CREATED] = KEY("created"),
	[K_MODIFIED] = KEY("modified"), [K_SCOPE] = KEY("scope"), [K_CODE] = KEY("code"),
	[K_MESSAGE] = KEY("message"), [K_FOLDERS] = KEY("folders"), [K_ITEMS] = KEY("items"),
	[K_ERRORS] = KEY("errors"),
};
#undef KEY

fast_obj *fast_new(void)
{
	fast_obj *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	memset(o->guess, K_UNKNOWN, sizeof o->guess);
	for (unsigned k = 0; k < K_COUNT; k++) {
		size_t n = line_keys[k].len;
		if (n + 1 > sizeof o->key_text[k])
			continue; /* key_mask 0: compared by memcmp */
		memcpy(o->key_text[k], line_keys[k].name, n);
		o->key_text[k][n] = '"';
		o->key_mask[k] = (1u << (n + 1)) - 1;
	}
	return o;
}

void fast_free(fast_obj *o)
{
	if (o)
		free(o->scratch);
	free(o);
}

/* The number of the key p[0, n): the same as at this position on the previous line, nearly always. */
static unsigned key_number(fast_obj *o, size_t pos, const char *p, size_t n)
{
	unsigned g = o->guess[pos];
	if (g < K_COUNT && line_keys[g].len == n && memcmp(line_keys[g].name, p, n) == 0)
		return g;
	for (unsigned k = 0; k < K_COUNT; k++)
		if (line_keys[k].len == n && memcmp(line_keys[k].name, p, n) == 0)
			return o->guess[pos] = (uint8_t)k;
	return o->guess[pos] = K_UNKNOWN;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (unsigned char)*p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* skip_ws where there is nearly never any (a snapshot's lines are compact): one test. */
static inline const char *skip_ws_fast(const char *p, const char *end)
{
	return p < end && (unsigned char)*p > ' ' ? p : skip_ws(p, end);
}

/* Whether the text at p is key k and its closing quote: sixteen bytes compared at once where the
 * line has them (every key name is shorter). */
static inline bool key_at(const fast_obj *o, unsigned k, const char *p, const char *end)
{
	size_t klen = line_keys[k].len;
#ifdef __SSE2__
	if (end - p >= 16 && o->key_mask[k]) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i want = _mm_loadu_si128((const __m128i *)(const void *)o->key_text[k]);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, want));
		return (m & o->key_mask[k]) == o->key_mask[k];
	}
#else
	(void)o;
#endif
	return (size_t)(end - p) > klen && p[klen] == '"' && memcmp(p, line_keys[k].name, klen) == 0;
}

/* The first byte from p on that ends a plain run of a string: a quote, a backslash, a control
 * character or a byte that is not ASCII; end when there is none. Sixteen bytes a step where SSE2 is
 * there (x86-64 always): as signed bytes, controls and non-ASCII bytes are both below 0x20. */
static const char *plain_run(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
		                               _mm_cmplt_epi8(v, space));
		unsigned m = (unsigned)_mm_movemask_epi8(special);
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80)
		p++;
	return p;
}

/* Length of the valid UTF-8 sequence at p (non-ASCII lead byte), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
	else return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Decodes the escapes of the string that starts at p (after its opening quote) into the scratch
 * buffer, which has room for the rest of the line. Returns the byte after the closing quote. */
static const char *fast_string_escaped(fast_obj *o, const char *p, const char *end, fast_val *v)
{
	char *w = o->scratch + o->scratch_len, *start = w;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			v->str = start;
			v->len = (size_t)(w - start);
			o->scratch_len += v->len;
			return p + 1;
		}
		if (c < 0x20)
			return NULL;
		if (c == '\\') { /* never longer than the escape it replaces */
			if (!(p = json_escape_decode(p + 1, end, true, &w)))
				return NULL;
			continue;
		}
		if (c < 0x80) {
			*w++ = *p++;
			continue;
		}
		size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		memcpy(w, p, n);
		w += n;
		p += n;
	}
	return NULL;
}

/* The string that starts at p (after its opening quote); returns the byte after its closing quote,
 * NULL when the fast parser is unsure of it. */
static const char *fast_string(fast_obj *o, const char *p, const char *end, fast_val *v)
{
	const char *s = p;
	while ((p = plain_run(p, end)) < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			v->str = s;
			v->len = (size_t)(p - s);
			return p + 1;
		}
		if (c == '\\')
			return fast_string_escaped(o, s, end, v);
		if (c < 0x20)
			return NULL;
		size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		p += n;
	}
	return NULL;
}

/* Parses a flat JSON object line, leaving the line as it is; 0 ok, -1 when the line needs the
 * full parser, -2 out of memory. */
int fast_parse(fast_obj *o, const char *p, size_t len)
{
	const char *end = p + len;
	for (size_t i = 0; i < o->n_fields; i++) /* clear what the previous line set */
		if (o->guess[i] < K_COUNT)
			o->v[o->guess[i]].type = FV_ABSENT;
	o->n_fields = o->n_unknown = 0;
	o->scratch_len = 0;
	if (o->scratch_cap < len) {
		size_t cap = o->scratch_cap ? o->scratch_cap : 4096;
		while (cap < len)
			cap *= 2;
		char *s = realloc(o->scratch, cap);
		if (!s)
			return -2;
		o->scratch = s;
		o->scratch_cap = cap;
	}
	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	p = skip_ws(p, end);
	if (p < end && *p == '}') {
		p++;
		return skip_ws(p, end) == end ? 0 : -1;
	}
	for (;;) {
		if (o->n_fields == FAST_MAX_FIELDS || p >= end || *p++ != '"')
			return -1;
		const char *key = p;
		/* Nearly always the key at this position on the previous line: known by its name and the
		 * closing quote (key names are plain ASCII, which the scan below would pass as well). */
		unsigned k = o->guess[o->n_fields];
		size_t klen;
		if (k < K_COUNT && key_at(o, k, p, end)) {
			klen = line_keys[k].len;
			p += klen;
			o->n_fields++;
		} else {
			while (p < end && *p != '"') {
				unsigned char c = (unsigned char)*p;
				if (c == '\\' || c < 0x20 || c >= 0x80)
					return -1;
				p++;
			}
			if (p >= end)
				return -1;
			klen = (size_t)(p - key);
			/* The key's number is learned before its value: the clearing at the next line walks it. */
			k = key_number(o, o->n_fields++, key, klen);
		}
		fast_val scratch_val, *v = &scratch_val;
		if (k < K_COUNT) {
			v = &o->v[k];
			if (v->type != FV_ABSENT)
				return -1; /* duplicate key: jansson rejects it */
		} else {
			for (size_t i = 0; i < o->n_unknown; i++)
				if (o->unknown[i].n == klen && memcmp(o->unknown[i].p, key, klen) == 0)
					return -1;
			o->unknown[o->n_unknown].p = key;
			o->unknown[o->n_unknown++].n = klen;
		}
		if (end - p > 2 && p[1] == ':' && (unsigned char)p[2] > ' ') { /* `":` then the value: compact */
			p += 2;
		} else {
			p = skip_ws_fast(p + 1, end);
			if (p >= end || *p++ != ':')
				return -1;
			p = skip_ws_fast(p, end);
			if (p >= end)
				return -1;
		}
		if (*p == '"') {
			if (!(p = fast_string(o, p + 1, end, v)))
				return -1;
			v->type = FV_STR;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			bool neg = *p == '-';
			if (neg)
				p++;
			if (p >= end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9'))
				return -1;
			uint64_t n = 0;
			int digits = 0;
			while (p < end && *p >= '0' && *p <= '9') {
				n = n * 10 + (uint64_t)(*p++ - '0');
				if (++digits > 18)
					return -1;
			}
			if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
				return -1;
			v->type = FV_INT;
			v->num = neg ? -(int64_t)n : (int64_t)n;
		} else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			v->type = FV_TRUE;
			p += 4;
		} else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			v->type = FV_FALSE;
			p += 5;
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			v->type = FV_NULL;
			p += 4;
		} else {
			return -1; /* nested object or array, or not JSON */
		}
		p = skip_ws_fast(p, end);
		if (p >= end)
			return -1;
		if (*p == ',') {
			p = end - p > 1 && p[1] == '"' ? p + 1 : skip_ws_fast(p + 1, end);
			continue;
		}
		if (*p++ != '}')
			return -1;
		return skip_ws(p, end) == end ? 0 : -1;
	}
}

