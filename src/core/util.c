/* util.c: hex, GUIDs, times, bounded buffers and strings, crash-safe files, JSON strings. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifdef __SSE2__
/* The sixteen nibbles of x as their hex digits: 0-9 as '0'-'9', 10-15 as 'a'-'f'. */
static __m128i hex_digits16(__m128i x)
{
	__m128i nine = _mm_set1_epi8(9);
	__m128i letters = _mm_and_si128(_mm_cmpgt_epi8(x, nine), _mm_set1_epi8('a' - '0' - 10));
	return _mm_add_epi8(_mm_add_epi8(x, _mm_set1_epi8('0')), letters);
}
#endif

#ifdef __SSE2__
/* The hex of the 16 bytes at data into out (32 characters). */
static void hex16(const uint8_t *data, char *out)
{
	const __m128i low = _mm_set1_epi8(0x0f);
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)data);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low), lo = _mm_and_si128(x, low);
	_mm_storeu_si128((__m128i *)(void *)out, hex_digits16(_mm_unpacklo_epi8(hi, lo)));
	_mm_storeu_si128((__m128i *)(void *)(out + 16), hex_digits16(_mm_unpackhi_epi8(hi, lo)));
}

/* The hex of the 8 bytes at data into out (16 characters). */
static void hex8(const uint8_t *data, char *out)
{
	const __m128i low = _mm_set1_epi8(0x0f);
	__m128i x = _mm_loadl_epi64((const __m128i *)(const void *)data);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), low), lo = _mm_and_si128(x, low);
	_mm_storeu_si128((__m128i *)(void *)out, hex_digits16(_mm_unpacklo_epi8(hi, lo)));
}
#endif

void hex_encode(const uint8_t *data, size_t len, char *out)
{
#ifdef __SSE2__
	/* sixteen bytes at a time, the last block (or the two halves of a short value) overlapping
	 * what was written before with the same digits */
	if (len >= 16) {
		for (size_t i = 0; i + 16 <= len; i += 16)
			hex16(data + i, out + 2 * i);
		if (len % 16)
			hex16(data + len - 16, out + 2 * (len - 16));
		out[2 * len] = '\0';
		return;
	}
	if (len >= 8) {
		hex8(data, out);
		hex8(data + len - 8, out + 2 * (len - 8));
		out[2 * len] = '\0';
		return;
	}
#endif
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

/* value + 1 of each hex digit, either case (0: not a digit) */
#define HEX_RUN(c0, v0) [c0] = v0 + 1, [c0 + 1] = v0 + 2, [c0 + 2] = v0 + 3, [c0 + 3] = v0 + 4, [c0 + 4] = v0 + 5
static const uint8_t hex_table[256] = {
	HEX_RUN('0', 0), HEX_RUN('5', 5), HEX_RUN('a', 10), ['f'] = 16, HEX_RUN('A', 10), ['F'] = 16,
};

static int hex_digit(char c)
{
	return (int)hex_table[(unsigned char)c] - 1;
}

int hex_decode(const char *hex, uint8_t *out, size_t max)
{
	return hex_decode_n(hex, strlen(hex), out, max);
}

#ifdef __SSE2__
/* The 32 hex digits at p (either case) as 16 bytes into out; false when one is not a digit. Each
 * digit's value where it lies, then the pairs of a 16-bit lane (high digit first in the text, so
 * in its low byte) joined and packed. */
static bool unhex32(const char *p, uint8_t *out)
{
	__m128i v[2], ok = _mm_set1_epi8(-1);
	for (int h = 0; h < 2; h++) {
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * h));
		__m128i lc = _mm_or_si128(c, _mm_set1_epi8(0x20)); /* bytes from 0x80 stay negative: no match */
		__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
		__m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(lc, _mm_set1_epi8('f' + 1)));
		ok = _mm_and_si128(ok, _mm_or_si128(digit, alpha));
		__m128i val = _mm_or_si128(_mm_and_si128(digit, _mm_sub_epi8(c, _mm_set1_epi8('0'))),
		                           _mm_and_si128(alpha, _mm_sub_epi8(lc, _mm_set1_epi8('a' - 10))));
		__m128i hi = _mm_and_si128(val, _mm_set1_epi16(0x00ff)), lo = _mm_srli_epi16(val, 8);
		v[h] = _mm_or_si128(_mm_slli_epi16(hi, 4), lo);
	}
	if (_mm_movemask_epi8(ok) != 0xffff)
		return false;
	_mm_storeu_si128((__m128i *)(void *)out, _mm_packus_epi16(v[0], v[1]));
	return true;
}
#endif

int hex_decode_n(const char *hex, size_t n, uint8_t *out, size_t max)
{
	if (n % 2 || n / 2 > max)
		return -1;
	const unsigned char *p = (const unsigned char *)hex;
	unsigned bad = 0;
	size_t done = 0;
#ifdef __SSE2__
	if (n >= 32) { /* keys: 44 digits; the last 32 overlap what came before */
		for (; n - 2 * done >= 32; done += 16)
			if (!unhex32(hex + 2 * done, out + done))
				return -1;
		if (done < n / 2 && !unhex32(hex + n - 32, out + n / 2 - 16))
			return -1;
		return (int)(n / 2);
	}
#endif
	for (size_t i = done; i < n / 2; i++) {
		unsigned hi = hex_table[p[2 * i]], lo = hex_table[p[2 * i + 1]];
		bad |= (hi - 1) | (lo - 1); /* a non-digit's 0 - 1 sets the high bits */
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
	}
	return bad > 15 ? -1 : (int)(n / 2);
}

/* Base64 of either alphabet (RFC 4648 sections 4 and 5: EWS ids use "+/", Graph ids "-_"), with
 * or without padding; whitespace is skipped. Anything else, or bits left over, is refused. */
#define B64_RUN(c0, v0) [c0] = v0 + 1, [c0 + 1] = v0 + 2, [c0 + 2] = v0 + 3, [c0 + 3] = v0 + 4, [c0 + 4] = v0 + 5
/* value + 1 of each character (0: not base64); a table, as ids and keys are decoded by the million */
static const uint8_t b64_table[256] = {
	B64_RUN('A', 0), B64_RUN('F', 5), B64_RUN('K', 10), B64_RUN('P', 15), B64_RUN('U', 20), ['Z'] = 26,
	B64_RUN('a', 26), B64_RUN('f', 31), B64_RUN('k', 36), B64_RUN('p', 41), B64_RUN('u', 46), ['z'] = 52,
	B64_RUN('0', 52), B64_RUN('5', 57), ['+'] = 63, ['-'] = 63, ['/'] = 64, ['_'] = 64,
};

static int b64_value(int c)
{
	return (int)b64_table[c & 0xff] - 1;
}

/* The general decoder: any mix of characters, whitespace and padding, from the state the fast
 * loop below leaves (a whole number of groups read). */
static int b64_decode_general(const unsigned char *p, const unsigned char *e, uint8_t *out, size_t n, size_t max)
{
	uint32_t acc = 0;
	int bits = 0;
	bool padding = false;
	for (; p < e; p++) {
		int c = *p;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			padding = true;
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || padding)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= max)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* 0, 2 or 4 bits left, all zero: anything else is not base64 */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return n > INT32_MAX ? -1 : (int)n;
}

/* Each character's value shifted to its place in a group of four (0x80000000: not base64), so that
 * a group is the OR of four lookups and one test sees whether all four were base64. */
#define B64_V(c)                                                                                        \
	((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                             \
	 : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                        \
	 : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                        \
	 : (c) == '+' || (c) == '-' ? 62                                                                    \
	 : (c) == '/' || (c) == '_' ? 63                                                                    \
	                            : -1)
#define B64_AT(c, s) (B64_V(c) < 0 ? UINT32_C(0x80000000) : (uint32_t)B64_V(c) << (s))
#define B64_4(c, s) B64_AT(c, s), B64_AT((c) + 1, s), B64_AT((c) + 2, s), B64_AT((c) + 3, s)
#define B64_16(c, s) B64_4(c, s), B64_4((c) + 4, s), B64_4((c) + 8, s), B64_4((c) + 12, s)
#define B64_64(c, s) B64_16(c, s), B64_16((c) + 16, s), B64_16((c) + 32, s), B64_16((c) + 48, s)
#define B64_256(s) {B64_64(0, s), B64_64(64, s), B64_64(128, s), B64_64(192, s)}
static const uint32_t b64_at[4][256] = {B64_256(18), B64_256(12), B64_256(6), B64_256(0)};

int b64_decode_n(const char *text, size_t len, uint8_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)text, *e = p + len;
	size_t n = 0;
	/* Four plain characters make three bytes: the common case, a group at a time with one test
	 * for the four. A last group padded as the encoder pads it ("xx==", "xxx=") is read here too.
	 * The rest, from the first group that is not plain (whitespace, padding elsewhere, anything
	 * else), is read by the general decoder, which reads the same groups the same way. */
	while (e - p >= 4 && max - n >= 3) {
		uint32_t acc = b64_at[0][p[0]] | b64_at[1][p[1]] | b64_at[2][p[2]] | b64_at[3][p[3]];
		if (acc >> 24)
			break;
		out[n] = (uint8_t)(acc >> 16);
		out[n + 1] = (uint8_t)(acc >> 8);
		out[n + 2] = (uint8_t)acc;
		n += 3;
		p += 4;
	}
	if (e - p == 4 && p[3] == '=') {
		uint32_t acc = b64_at[0][p[0]] | b64_at[1][p[1]];
		if (p[2] == '=' && !(acc >> 24) && !(acc & 0xffff) && max - n >= 1) {
			out[n] = (uint8_t)(acc >> 16);
			return n + 1 > INT32_MAX ? -1 : (int)(n + 1);
		}
		acc |= b64_at[2][p[2]];
		if (p[2] != '=' && !(acc >> 24) && !(acc & 0xff) && max - n >= 2) {
			out[n] = (uint8_t)(acc >> 16);
			out[n + 1] = (uint8_t)(acc >> 8);
			return n + 2 > INT32_MAX ? -1 : (int)(n + 2);
		}
	}
	return b64_decode_general(p, e, out, n, max);
}

int b64_decode(const char *text, uint8_t *out, size_t max)
{
	return b64_decode_n(text, strlen(text), out, max);
}

int b64_decode_slow(const char *text, size_t len, uint8_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)text;
	return b64_decode_general(p, p + len, out, 0, max);
}

char *utf8_put(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* The four hex digits at p (end permitting) in *out; -1 for anything else. */
static int hex4(const char *p, const char *end, uint32_t *out)
{
	if (end - p < 4)
		return -1;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

const char *json_escape_decode(const char *p, const char *end, bool pairs, char **w)
{
	static const char plain[128] = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
	                                ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t'};
	if (p >= end)
		return NULL;
	unsigned char c = (unsigned char)*p;
	if (c != 'u') {
		if (c >= 128 || !plain[c])
			return NULL;
		*(*w)++ = plain[c];
		return p + 1;
	}
	uint32_t cp, lo;
	if (hex4(p + 1, end, &cp) != 0 || cp == 0)
		return NULL;
	p += 5;
	if (cp >= 0xd800 && cp <= 0xdfff) {
		if (!pairs || cp >= 0xdc00 || end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
		    hex4(p + 2, end, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
			return NULL;
		p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	*w = utf8_put(*w, cp);
	return p;
}

void guid_format(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
	         g[13], g[14], g[15]);
}

int guid_parse(const char *text, uint8_t g[16])
{
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	if (strlen(text) != 36)
		return -1;
	int k = 0;
	for (int i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i++] != '-')
				return -1;
			continue;
		}
		int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		g[order[k++]] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and back (H. Hinnant's
 * algorithms). A day past the month's end counts on into the next month, as timegm does. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "00" to "99": two digits copied at once */
static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                               "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                               "8081828384858687888990919293949596979899";

static void put2(char *out, unsigned v)
{
	memcpy(out, pairs + 2 * (v % 100), 2);
}

/* 1601-01-01 and 10000-01-01 in seconds from the Unix epoch: the years written with four digits. */
#define SECS_1601 INT64_C(-11644473600)
#define SECS_10000 INT64_C(253402300800)

size_t filetime_format(int64_t ft, char out[32])
{
	int64_t rel = ft - FILETIME_UNIX_EPOCH;
	int64_t secs = rel / 10000000, frac = rel % 10000000;
	if (frac < 0) {
		frac += 10000000;
		secs -= 1;
	}
	size_t n;
	if (secs >= SECS_1601 && secs < SECS_10000) {
		/* The common case without gmtime_r and strftime (time zone lock, locale): the same text. */
		int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
		unsigned sod = (unsigned)(secs - days * 86400), m, d;
		int64_t y;
		civil_from_days(days, &y, &m, &d);
		put2(out, (unsigned)(y / 100));
		put2(out + 2, (unsigned)(y % 100));
		out[4] = '-';
		put2(out + 5, m);
		out[7] = '-';
		put2(out + 8, d);
		out[10] = 'T';
		put2(out + 11, sod / 3600);
		out[13] = ':';
		put2(out + 14, sod / 60 % 60);
		out[16] = ':';
		put2(out + 17, sod % 60);
		n = 19;
	} else {
		time_t t = (time_t)secs;
		struct tm tm;
		if (!gmtime_r(&t, &tm))
			return str_copy(out, "1601-01-01T00:00:00Z", 32);
		n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	}
	if (frac) {
		out[n++] = '.';
		for (int i = 6; i >= 0; i--, frac /= 10)
			out[n + (size_t)i] = (char)('0' + frac % 10);
		n += 7;
	}
	out[n++] = 'Z';
	out[n] = '\0';
	return n;
}

/* Two digits at s, or -1. */
static int digits2(const char *s)
{
	return s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

/* The general parser: any spelling strptime reads, fractions of a second, 'Z' or an offset. With
 * `prefix_fast`, the canonical YYYY-MM-DDTHH:MM:SS at the start is read here (with the ranges
 * strptime allows) and strptime is left the other spellings. */
static int parse_iso(const char *iso, int64_t *ft, bool prefix_fast)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int64_t fast_secs = 0;
	bool fast = false;
	const char *p = iso;
	int yh = prefix_fast ? digits2(iso) : -1, yl = yh >= 0 ? digits2(iso + 2) : -1;
	if (yl >= 0 && iso[4] == '-' && iso[7] == '-' && iso[10] == 'T' && iso[13] == ':' && iso[16] == ':') {
		int mo = digits2(iso + 5), d = digits2(iso + 8), h = digits2(iso + 11), mi = digits2(iso + 14),
		    se = digits2(iso + 17);
		if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && se >= 0 &&
		    se <= 61) {
			fast_secs = days_from_civil(yh * 100 + yl, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
			fast = true;
			p = iso + 19;
		}
	}
	if (!fast && !(p = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 7)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 7; digits++)
			frac *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		offset = sign * (hh * 3600 + mm * 60);
		p += 6;
	}
	if (*p)
		return -1;
	int64_t t = fast ? fast_secs : (int64_t)timegm(&tm);
	*ft = (t - offset) * 10000000 + frac + FILETIME_UNIX_EPOCH;
	return 0;
}

/* n (at most 8) bytes at p as a number whose first byte is the lowest. */
static uint64_t load_le(const void *p, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* The bytes of x (of a text XORed with a template: '0' where a digit goes, the separator
 * elsewhere), checked at once: each byte where `add` has 0x76 must be 0 to 9 (a digit), each
 * where it has 0x7f must be 0 (the separator). A byte at or above 0x80 fails with its own top bit;
 * below, adding 0x76 or 0x7f sets it exactly when the byte is too large, and carries nothing. */
static bool bytes_fit(uint64_t x, uint64_t add, uint64_t top)
{
	return ((x | (x + add)) & top) == 0;
}

/* "YYYY-MM-DDThh:mm:ssZ" exactly, the form Graph and EWS send: its fourteen digits and six
 * separators tested eight bytes at a time, its two-digit numbers made with one multiplication a
 * word (each byte then holds ten times its digit plus the next one), and the ranges parse_iso's
 * prefix allows. False for anything else. */
static bool parse_utc_seconds(const unsigned char *s, int64_t *ft)
{
	const uint64_t top = UINT64_C(0x8080808080808080);
	uint64_t x0 = load_le(s, 8) ^ load_le("0000-00-", 8);  /* YYYY-MM- */
	uint64_t x1 = load_le(s + 8, 8) ^ load_le("00T00:00", 8); /* DDThh:mm */
	uint64_t x2 = load_le(s + 16, 4) ^ load_le(":00Z", 4);    /* :ssZ */
	if (!bytes_fit(x0, UINT64_C(0x7f76767f76767676), top) || !bytes_fit(x1, UINT64_C(0x76767f76767f7676), top) ||
	    !bytes_fit(x2, UINT64_C(0x7f76767f), top & 0xffffffff))
		return false;
	x0 = x0 * 10 + (x0 >> 8);
	x1 = x1 * 10 + (x1 >> 8);
	x2 = x2 * 10 + (x2 >> 8);
	unsigned y = (unsigned)(x0 & 0xff) * 100 + (unsigned)(x0 >> 16 & 0xff), mo = (unsigned)(x0 >> 40 & 0xff),
	         d = (unsigned)(x1 & 0xff), h = (unsigned)(x1 >> 24 & 0xff), mi = (unsigned)(x1 >> 48 & 0xff),
	         se = (unsigned)(x2 >> 8 & 0xff);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 61)
		return false;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	*ft = secs * 10000000 + FILETIME_UNIX_EPOCH;
	return true;
}

int filetime_parse_n(const char *text, size_t len, int64_t *ft)
{
	if (len == 20 && parse_utc_seconds((const unsigned char *)text, ft))
		return 0;
	/* anything else by the general parser, on a NUL-terminated copy (a NUL inside is no date) */
	if (memchr(text, '\0', len))
		return -1;
	char small[64];
	char *copy = len < sizeof small ? small : malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	int rc = parse_iso(copy, ft, true);
	if (copy != small)
		free(copy);
	return rc;
}

int filetime_parse(const char *iso, int64_t *ft)
{
	if (strlen(iso) == 20 && parse_utc_seconds((const unsigned char *)iso, ft))
		return 0;
	return parse_iso(iso, ft, true);
}

int filetime_parse_slow(const char *iso, int64_t *ft)
{
	return parse_iso(iso, ft, false);
}

int64_t filetime_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 10000000 + ts.tv_nsec / 100 + FILETIME_UNIX_EPOCH;
}

int buf_append(or_buf *b, const void *data, size_t len)
{
	if (b->limit && b->len + len > b->limit)
		return OR_ERR_LIMIT;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return OR_ERR_NOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_printf(or_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return OR_ERR_FORMAT;
	if ((size_t)n < sizeof small)
		return buf_append(b, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return OR_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

void buf_free(or_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void *or_append(void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, c * elem);
		if (!p)
			return NULL;
		*arr = p;
		*cap = c;
	}
	char *e = (char *)*arr + (*n)++ * elem;
	memset(e, 0, elem);
	return e;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int parse_long(const char *text, long min, long max, long *out)
{
	if (!text || !*text)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Temporary files of atomic outputs in progress: an interrupted run removes them (the signal
 * handler below), so that no half-written file with mailbox data is left behind. Fixed slots,
 * so that the handler touches no lock and no heap. */
#define TMP_SLOTS 128
static char tmp_paths[TMP_SLOTS][1100];
static volatile sig_atomic_t tmp_used[TMP_SLOTS];
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;

static void tmp_register(const char *path)
{
	if (strlen(path) >= sizeof tmp_paths[0])
		return;
	pthread_mutex_lock(&tmp_lock);
	for (int i = 0; i < TMP_SLOTS; i++)
		if (!tmp_used[i]) {
			memcpy(tmp_paths[i], path, strlen(path) + 1);
			tmp_used[i] = 1;
			break;
		}
	pthread_mutex_unlock(&tmp_lock);
}

static void tmp_unregister(const char *path)
{
	pthread_mutex_lock(&tmp_lock);
	for (int i = 0; i < TMP_SLOTS; i++)
		if (tmp_used[i] && strcmp(tmp_paths[i], path) == 0) {
			tmp_used[i] = 0;
			break;
		}
	pthread_mutex_unlock(&tmp_lock);
}

void or_temp_register(const char *path) { tmp_register(path); }

void or_temp_unregister(const char *path) { tmp_unregister(path); }

static char activity[300] = "the run";

void or_set_activity(const char *what)
{
	str_copy(activity, what, sizeof activity);
}

static void put_err(const char *s)
{
	ssize_t w = write(2, s, strlen(s));
	(void)w;
}

static void on_signal(int sig)
{
	int removed = 0;
	for (int i = 0; i < TMP_SLOTS; i++)
		if (tmp_used[i] && unlink(tmp_paths[i]) == 0)
			removed++;
	put_err("\nostrecon: ");
	put_err(activity);
	put_err(sig == SIGINT ? " interrupted (SIGINT)" : sig == SIGTERM ? " stopped (SIGTERM)" : " stopped (SIGHUP)");
	put_err(removed ? "; its unfinished files were removed\n" : "\n");
	_exit(128 + sig);
}

void or_cleanup_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* An output that is not a regular file (a device, a FIFO, a socket, standard output by any of its
 * names) is written in place: a temporary file renamed over it would replace the device node or
 * the pipe with a plain file. */
static bool write_in_place(const char *path)
{
	struct stat st;
	if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0)
		return true;
	if (lstat(path, &st) != 0)
		return false; /* a new file */
	if (S_ISLNK(st.st_mode) && stat(path, &st) != 0)
		return false;
	return !S_ISREG(st.st_mode);
}

#define ATOMIC_BUF (1u << 20)

int atomic_open(atomic_file *af, const char *path, or_error *err)
{
	memset(af, 0, sizeof *af);
	if (strcmp(path, "-") == 0) {
		af->fp = stdout;
		af->is_stdout = true;
		return 0;
	}
	if (write_in_place(path)) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return or_fail(err, OR_ERR_USAGE, "%s is a folder, not a file", path);
		int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || !(af->fp = fdopen(fd, "w"))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return or_fail(err, OR_ERR_IO, "cannot write to %s: %s", path, strerror(e));
		}
		af->in_place = true;
		return 0;
	}
	af->path = strdup(path);
	size_t n = strlen(path) + 32;
	af->tmp = malloc(n);
	if (!af->path || !af->tmp) {
		atomic_abort(af);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		free(af->tmp);
		af->tmp = NULL;
		atomic_abort(af);
		return or_fail(err, OR_ERR_IO, "cannot create %s: %s", path, strerror(e));
	}
	tmp_register(af->tmp);
	af->fp = fdopen(fd, "w");
	if (!af->fp) {
		close(fd);
		atomic_abort(af);
		return or_fail(err, OR_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	}
	/* snapshots run to hundreds of MB: 1 MiB writes instead of 4 KiB ones (glibc ignores the
	 * size unless given the buffer, so it is ours; without it, stdio's default) */
	if ((af->buf = malloc(ATOMIC_BUF)) != NULL)
		setvbuf(af->fp, af->buf, _IOFBF, ATOMIC_BUF);
	return 0;
}

int atomic_commit(atomic_file *af, or_error *err)
{
	int rc = 0;
	if (af->is_stdout) {
		if (fflush(stdout) != 0 || ferror(stdout))
			rc = or_fail(err, OR_ERR_IO, "writing to standard output failed");
		memset(af, 0, sizeof *af);
		return rc;
	}
	if (af->in_place) {
		bool bad = fflush(af->fp) != 0 || ferror(af->fp);
		int e = errno;
		if (fclose(af->fp) != 0 && !bad) {
			bad = true;
			e = errno;
		}
		memset(af, 0, sizeof *af);
		return bad ? or_fail(err, OR_ERR_IO, "writing failed: %s", strerror(e)) : 0;
	}
	if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0) {
		rc = or_fail(err, OR_ERR_IO, "writing %s failed: %s", af->path, strerror(errno));
		atomic_abort(af);
		return rc;
	}
	if (fclose(af->fp) != 0) {
		af->fp = NULL;
		rc = or_fail(err, OR_ERR_IO, "writing %s failed: %s", af->path, strerror(errno));
		atomic_abort(af);
		return rc;
	}
	af->fp = NULL;
	free(af->buf);
	af->buf = NULL;
	if (rename(af->tmp, af->path) != 0) {
		rc = or_fail(err, OR_ERR_IO, "cannot rename onto %s: %s", af->path, strerror(errno));
		atomic_abort(af);
		return rc;
	}
	tmp_unregister(af->tmp);
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof *af);
	return 0;
}

void atomic_abort(atomic_file *af)
{
	if (af->is_stdout) {
		memset(af, 0, sizeof *af);
		return;
	}
	if (af->fp)
		fclose(af->fp);
	free(af->buf);
	if (af->tmp) {
		unlink(af->tmp);
		tmp_unregister(af->tmp);
	}
	free(af->tmp);
	free(af->path);
	memset(af, 0, sizeof *af);
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_valid(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; }
	else return 0;
	unsigned cp = c & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The writers of a stream are serialized by their callers, so stdio's per-call locking is not
 * needed here (it was a tenth of a capture's CPU time). */
void json_put_string(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + strlen(str);
	putc_unlocked('"', fp);
	while (*s) {
		unsigned c = *s;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { /* a run of plain ASCII goes out at once */
			const unsigned char *run = s;
			/* eight bytes at a time while none is a control, non-ASCII, '"' or '\\' */
			const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
			while (e - s >= 8) {
				uint64_t x;
				memcpy(&x, s, 8);
				uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
				if ((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
					break;
				s += 8;
			}
			while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
				s++;
			fwrite_unlocked(run, 1, (size_t)(s - run), fp);
			continue;
		}
		if (c == '"' || c == '\\') {
			putc_unlocked('\\', fp);
			putc_unlocked((int)c, fp);
			s++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", fp); break;
			case '\r': fputs("\\r", fp); break;
			case '\t': fputs("\\t", fp); break;
			default: fprintf(fp, "\\u%04x", c);
			}
			s++;
		} else if (c < 0x80) {
			putc_unlocked((int)c, fp);
			s++;
		} else {
			size_t n = utf8_valid(s);
			if (n) {
				fwrite_unlocked(s, 1, n, fp);
				s += n;
			} else {
				fputs("\\ufffd", fp);
				s++;
			}
		}
	}
	putc_unlocked('"', fp);
}

FILE *or_open_input(const char *path, const char *what, or_error *err)
{
	if (strcmp(path, "-") == 0)
		return stdin;
	FILE *fp = fopen(path, "r");
	if (!fp) {
		int e = errno;
		if (e == ENOENT)
			or_fail(err, OR_ERR_NOTFOUND, "the %s %s does not exist", what, path);
		else
			or_fail(err, OR_ERR_IO, "cannot open the %s %s: %s", what, path, strerror(e));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(fp);
		or_fail(err, OR_ERR_IO, "%s is a folder; a %s file is expected", path, what);
		return NULL;
	}
	return fp;
}

/* The last step of a hash: every bit of h moves every bit of the result. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* A comparison hashes its keys, 22-byte XIDs whose first 16 bytes (the replica GUID) are nearly
 * always the same, three times each: they take three words and no loop. Every byte counts, then a
 * final mix spreads the counter's low bits. */
uint64_t or_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
	if (n == SNAP_KEY_LEN) { /* a key: three words, the last overlapping the second, no call */
		uint64_t x[3];
		memcpy(&x[0], b, 8);
		memcpy(&x[1], b + 8, 8);
		memcpy(&x[2], b + SNAP_KEY_LEN - 8, 8);
		for (int i = 0; i < 3; i++) {
			h = (h ^ x[i]) * 0xff51afd7ed558ccdULL;
			h ^= h >> 32;
		}
		n = 0;
	}
	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 32;
	}
	return mix(h);
}

/* Two lanes of eight bytes a step, whose multiplies overlap; the last 1 to 16 bytes read as words
 * that may overlap, every byte in one of them (the length is mixed in first, so two texts of one
 * length differ in a word). Subjects of a few dozen bytes take half of or_hash's time. */
uint64_t snap_text_hash(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	if (!s)
		n = 0;
	uint64_t a = 0x9e3779b97f4a7c15ULL ^ n, b = 0xc2b2ae3d27d4eb4fULL, w0, w1;
	for (; n > 16; p += 16, n -= 16) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		a = (a ^ w0) * 0xff51afd7ed558ccdULL;
		b = (b ^ w1) * 0xc4ceb9fe1a85ec53ULL;
		a ^= a >> 32;
		b ^= b >> 29;
	}
	if (n >= 8) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + n - 8, 8);
	} else if (n >= 4) {
		uint32_t x, y;
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		w0 = x;
		w1 = y;
	} else {
		w0 = n ? p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16 : 0;
		w1 = 0;
	}
	a = (a ^ w0) * 0xff51afd7ed558ccdULL;
	b = (b ^ w1) * 0xc4ceb9fe1a85ec53ULL;
	return mix(a ^ (b >> 29 | b << 35));
}
