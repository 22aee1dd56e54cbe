/* The snapshot model and its file form: helpers, and a lossless write/read round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "rng.h"

#include "core/core.h"

/* The malformed-file cases are built from format strings held in a table. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

static void hex_and_guid_helpers(void **state)
{
	uint8_t b[4] = {0x00, 0xab, 0x10, 0xff}, back[4];
	char hex[9];
	hex_encode(b, 4, hex);
	assert_string_equal(hex, "00ab10ff");
	assert_int_equal(hex_decode("00AB10ff", back, 4), 4);
	assert_memory_equal(b, back, 4);
	assert_int_equal(hex_decode("abc", back, 4), -1);
	assert_int_equal(hex_decode("zz", back, 4), -1);
	assert_int_equal(hex_decode("0011223344", back, 4), -1);

	const uint8_t g[16] = {0x6a, 0xa6, 0x2d, 0x7a, 0x1b, 0x3a, 0xc5, 0x44,
	                       0x9d, 0x53, 0x43, 0x1f, 0xbe, 0xa2, 0x94, 0x02};
	char text[37];
	guid_format(g, text);
	assert_string_equal(text, "7a2da66a-3a1b-44c5-9d53-431fbea29402");
	uint8_t g2[16];
	assert_int_equal(guid_parse(text, g2), 0);
	assert_memory_equal(g, g2, 16);
	assert_int_equal(guid_parse("7a2da66a-3a1b-44c5-9d53-431fbea2940", g2), -1);
}

/* Every pair of bytes, as the whole text and in the middle of a longer one: hex_decode_n takes
 * exactly the pairs of hex digits (either case), with the value strtoul gives them. */
static void hex_decode_every_pair(void **state)
{
	(void)state;
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			char t[8] = {'a', 'B', (char)a, (char)b, '0', '9', 0, 0};
			uint8_t out[3];
			bool digits = strchr("0123456789abcdefABCDEF", a) && strchr("0123456789abcdefABCDEF", b) && a && b;
			int want = digits ? 3 : -1;
			assert_int_equal(hex_decode_n(t, 6, out, 3), want);
			assert_int_equal(hex_decode_n(t + 2, 2, out, 1), digits ? 1 : -1);
			if (digits) {
				char pair[3] = {(char)a, (char)b, 0};
				assert_int_equal(out[0], strtoul(pair, NULL, 16));
			}
		}
}

/* Longer texts go sixteen bytes at a time: every byte value at every position of a 44-digit key
 * (and of a 64-digit text), against the digits alone. */
static void hex_decode_every_byte_at_every_place(void **state)
{
	(void)state;
	static const char key[] = "6aA62d7a1b3ac5449D53431fbea2940200000000fFe9"
	                          "0123456789abcdefABCDEF0123456789";
	for (size_t len = 44; len <= 76; len += 32)
		for (size_t pos = 0; pos < len; pos++)
			for (int c = 1; c < 256; c++) {
				char t[80];
				memcpy(t, key, len);
				t[pos] = (char)c;
				uint8_t out[40];
				bool digit = strchr("0123456789abcdefABCDEF", c) != NULL;
				int got = hex_decode_n(t, len, out, sizeof out);
				assert_int_equal(got, digit ? (int)len / 2 : -1);
				if (!digit)
					continue;
				for (size_t i = 0; i < len / 2; i++) {
					char pair[3] = {t[2 * i], t[2 * i + 1], 0};
					assert_int_equal(out[i], strtoul(pair, NULL, 16));
				}
			}
}

/* jansson's reading of the JSON string "\<esc>" into out (NUL-free), or -1 where it refuses it. */
static int jansson_unescape(const char *esc, size_t esc_len, char *out, size_t max)
{
	char text[64];
	assert_true(esc_len + 4 < sizeof text);
	text[0] = '"';
	text[1] = '\\';
	memcpy(text + 2, esc, esc_len);
	text[esc_len + 2] = '"';
	json_t *j = json_loadb(text, esc_len + 3, JSON_DECODE_ANY, NULL);
	if (!j)
		return -1;
	size_t n = json_string_length(j);
	int r = n <= max ? (int)n : -1;
	if (r >= 0)
		memcpy(out, json_string_value(j), n);
	json_decref(j);
	return r;
}

/* Holds json_escape_decode to jansson on one escape: the same text when it takes it, and a refusal
 * only for what it is documented to refuse. */
static void check_escape(const char *esc, size_t len, bool pairs)
{
	char mine[16], theirs[16], *w = mine;
	const char *end = json_escape_decode(esc, esc + len, pairs, &w);
	int want = jansson_unescape(esc, len, theirs, sizeof theirs);
	if (!end) {
		assert_true(w == mine); /* nothing written */
		uint32_t cp = len >= 5 && esc[0] == 'u' ? (uint32_t)strtoul((char[5]){esc[1], esc[2], esc[3], esc[4], 0}, NULL, 16) : 1;
		bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
		/* refused: what jansson refuses too, \u0000, or a surrogate when pairs are not taken */
		assert_true(want < 0 || cp == 0 || (surrogate && !pairs));
		return;
	}
	assert_int_not_equal(want, -1);
	size_t used = (size_t)(end - esc);
	assert_int_equal(used, len);
	assert_int_equal(w - mine, want);
	assert_memory_equal(mine, theirs, (size_t)want);
	assert_true((size_t)(w - mine) <= len + 1); /* never longer than the escape with its backslash */
}

static void json_escapes_read_as_jansson_reads_them(void **state)
{
	(void)state;
	for (int c = 1; c < 256; c++) { /* every byte after the backslash */
		char e[1] = {(char)c};
		check_escape(e, 1, true);
		check_escape(e, 1, false);
	}
	for (uint32_t cp = 0; cp < 0x10000; cp++) { /* every \uXXXX, in both cases of its digits */
		char e[6];
		snprintf(e, sizeof e, "u%04x", (unsigned)cp);
		check_escape(e, 5, true);
		check_escape(e, 5, false);
		snprintf(e, sizeof e, "u%04X", (unsigned)cp);
		check_escape(e, 5, true);
	}
	for (int i = 0; i < 200000; i++) { /* surrogate pairs, right and wrong */
		uint32_t hi = 0xd800 + rng() % 0x800, lo = 0xd800 + rng() % 0x800;
		if (i % 3 == 0)
			lo = rng() % 0x10000;
		char e[16];
		snprintf(e, sizeof e, "u%04x\\u%04x", (unsigned)hi, (unsigned)lo);
		check_escape(e, 11, true);
		check_escape(e, 11, false);
	}
	const char *bad[] = {"u12", "u12g4", "u", "x", "u+123", "u 123"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char out[8], *w = out;
		assert_null(json_escape_decode(bad[i], bad[i] + strlen(bad[i]), true, &w));
	}
	char out[8], *w = out; /* a pair cut by the end of the string is refused */
	assert_null(json_escape_decode("ud83d\\ude0", "ud83d\\ude0" + 10, true, &w));
	assert_true(w == out);
}

static void filetime_round_trip(void **state)
{
	int64_t ft = 0;
	assert_int_equal(filetime_parse("1970-01-01T00:00:00Z", &ft), 0);
	assert_true(ft == FILETIME_UNIX_EPOCH);
	assert_int_equal(filetime_parse("2011-03-19T11:18:30.4233750Z", &ft), 0);
	char out[32];
	filetime_format(ft, out);
	assert_string_equal(out, "2011-03-19T11:18:30.4233750Z");
	assert_int_equal(filetime_parse("2011-03-19T12:18:30+01:00", &ft), 0);
	filetime_format(ft, out);
	assert_string_equal(out, "2011-03-19T11:18:30Z");
	assert_int_equal(filetime_parse("2011-03-19 11:18", &ft), -1);
	assert_int_equal(filetime_parse("2011-03-19T11:18:30Zjunk", &ft), -1);
}

/* The calendar arithmetic of filetime_format/filetime_parse against gmtime_r/strftime/timegm,
 * which they replaced for the canonical form: every day from 1601 to 9999 (one time a day, moving
 * through the day), the edges, and the spellings that still go to strptime. */
static void filetime_calendar(void **state)
{
	char out[32], ref[32];
	int64_t ft = 0;
	const int64_t day = INT64_C(864000000000);
	for (int64_t t = 0; t < INT64_C(2650467744000000000) - INT64_C(504911232000000000); t += day + 37 * INT64_C(10000001)) {
		int64_t v = INT64_C(504911232000000000) + t; /* from 1601-01-01 */
		filetime_format(v, out);
		time_t secs = (time_t)((v - FILETIME_UNIX_EPOCH) / 10000000 - ((v - FILETIME_UNIX_EPOCH) % 10000000 < 0));
		struct tm tm;
		assert_non_null(gmtime_r(&secs, &tm));
		size_t n = strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S", &tm);
		int64_t frac = (v - FILETIME_UNIX_EPOCH) % 10000000;
		if (frac < 0)
			frac += 10000000;
		snprintf(ref + n, sizeof ref - n, frac ? ".%07lldZ" : "Z", (long long)frac);
		assert_string_equal(out, ref);
		assert_int_equal(filetime_parse(out, &ft), 0);
		assert_true(ft == v);
	}
	filetime_format(INT64_C(2650467744000000000), out); /* year 10000: the gmtime path */
	assert_string_equal(out, "10000-01-01T00:00:00Z");
	assert_int_equal(filetime_parse("2026-02-30T00:00:00Z", &ft), 0); /* a day past the month, as timegm */
	filetime_format(ft, out);
	assert_string_equal(out, "2026-03-02T00:00:00Z");
	assert_int_equal(filetime_parse("2024-02-29T23:59:60Z", &ft), 0);
	filetime_format(ft, out);
	assert_string_equal(out, "2024-03-01T00:00:00Z");
	assert_int_equal(filetime_parse("2026-13-01T00:00:00Z", &ft), -1);
	assert_int_equal(filetime_parse("2026-06-13T24:00:00Z", &ft), -1);
	assert_int_equal(filetime_parse("2026-6-13T20:02:35Z", &ft), 0); /* strptime's spelling */
	filetime_format(ft, out);
	assert_string_equal(out, "2026-06-13T20:02:35Z");
}

/* The fast paths of filetime_parse (the fixed form "YYYY-MM-DDThh:mm:ssZ" read eight bytes at a
 * time; the canonical prefix of the other forms) against strptime and timegm alone: on random
 * times, on every edge of every field, and on those texts with characters changed, cut or
 * added. Both must accept the same texts and give the same times. */

static size_t date_checks;

static void same_date(const char *text, size_t len)
{
	int64_t fast = 0, slow = 0, c = 0;
	int rf = filetime_parse_n(text, len, &fast);
	char copy[128];
	assert_true(len < sizeof copy);
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		assert_int_equal(rf, -1);
		return;
	}
	int rs = filetime_parse_slow(copy, &slow), rc = filetime_parse(copy, &c);
	if (rf != rs || rc != rs || (rs == 0 && (fast != slow || c != slow)))
		fail_msg("\"%s\": fast %d %lld, C string %d %lld, strptime %d %lld", copy, rf, (long long)fast, rc,
		         (long long)c, rs, (long long)slow);
	date_checks++;
}

static void filetime_fast_paths_match_strptime(void **state)
{
	static const char *years[] = {"0000", "0001", "0004", "1600", "1601", "1899", "1900", "1969", "1970",
	                              "2000", "2023", "2024", "2100", "2400", "9999"};
	char t[64];
	/* every edge of every field, the rest ordinary */
	for (size_t y = 0; y < sizeof years / sizeof *years; y++)
		for (int mo = 0; mo <= 13; mo++)
			for (int d = 0; d <= 32; d++) {
				snprintf(t, sizeof t, "%s-%02d-%02dT%02d:%02d:%02dZ", years[y], mo, d, (int)(rng() % 25),
				         (int)(rng() % 61), (int)(rng() % 63));
				same_date(t, strlen(t));
			}
	for (int h = 0; h <= 25; h++)
		for (int mi = 0; mi <= 61; mi++)
			for (int se = 0; se <= 62; se += 1 + (int)(rng() % 3)) {
				snprintf(t, sizeof t, "2024-02-29T%02d:%02d:%02dZ", h, mi, se);
				same_date(t, strlen(t));
			}
	/* random times, in every form, then changed */
	static const char alphabet[] = "0123456789-T:Z.+ xz/\x7f\x80\xff\t";
	for (int i = 0; i < 200000; i++) {
		/* a second from 1601 to 9999 */
		int64_t secs = (int64_t)(rng() % 3067000u) * 86400 - INT64_C(11644473600) + (int64_t)(rng() % 86400);
		time_t tt = (time_t)secs;
		struct tm tm;
		assert_non_null(gmtime_r(&tt, &tm));
		size_t n = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
		switch (rng() % 4) {
		case 0: n += (size_t)snprintf(t + n, sizeof t - n, "Z"); break;
		case 1: n += (size_t)snprintf(t + n, sizeof t - n, ".%0*uZ", (int)(1 + rng() % 9), rng() % 1000); break;
		case 2: n += (size_t)snprintf(t + n, sizeof t - n, "%c%02u:%02u", rng() % 2 ? '+' : '-', rng() % 15, rng() % 60); break;
		default: break; /* no zone */
		}
		same_date(t, n);
		for (int k = (int)(rng() % 3); k >= 0; k--)
			t[rng() % n] = alphabet[rng() % (sizeof alphabet - 1)];
		same_date(t, n);
		same_date(t, rng() % (n + 1));            /* cut */
		t[n] = alphabet[rng() % (sizeof alphabet - 1)]; /* one more character */
		same_date(t, n + 1);
	}
	same_date("2024-02-29T12:00:00Z\0", 21);
	same_date("2024-02-29T12:00\0:00Z", 20);
	assert_true(date_checks > 500000);
}

/* hex_encode, sixteen and eight bytes at a time, against snprintf's %02x at every length. */
static void hex_encode_every_length(void **state)
{
	uint8_t data[100];
	char out[2 * sizeof data + 2], ref[2 * sizeof data + 1];
	for (int round = 0; round < 50; round++)
		for (size_t len = 0; len <= sizeof data; len++) {
			for (size_t i = 0; i < len; i++)
				data[i] = (uint8_t)(round < 2 ? (round ? 0xff : i * 17) : rng());
			for (size_t i = 0; i < len; i++)
				snprintf(ref + 2 * i, 3, "%02x", data[i]);
			ref[2 * len] = '\0';
			memset(out, '#', sizeof out);
			hex_encode(data, len, out);
			assert_string_equal(out, ref);
			assert_int_equal(out[2 * len + 1], '#'); /* nothing written past the NUL */
		}
}

static char *temp_path(const char *name)
{
	static char path[256];
	snprintf(path, sizeof path, "/tmp/ostrecon-unit-%ld-%s", (long)getpid(), name);
	return path;
}

static void fill_sample(snap_t *s)
{
	s->hdr.source = SRC_OST;
	s->hdr.file = snap_strdup(s, "/data/a \"quoted\" file.ost");
	s->hdr.file_size = 4080640;
	s->hdr.file_format = "ost-unicode-512";
	s->hdr.captured = FILETIME_UNIX_EPOCH + 12345678901234567LL;
	s->hdr.tool = "ostrecon test";
	s->hdr.options_json = "{\"recover\":true}";
	snap_folder *f = snap_add_folder(s);
	f->id = snap_strdup(s, "nid:290");
	f->path = "/";
	f->role = "fileroot";
	f = snap_add_folder(s);
	f->id = snap_strdup(s, "nid:8578");
	f->parent_id = snap_strdup(s, "nid:290");
	f->name = snap_strdup(s, "In/box \\ ünïcode \t tab");
	f->path = snap_strdup(s, "/In\\/box \\\\ ünïcode \t tab");
	f->cls = "IPF.Note";
	f->role = "inbox";
	f->content_count = 12;
	f->unread_count = 0;
	f->ident.has_gc = 1;
	f->ident.gc[5] = 0x0c;
	f->ident.replid = 0;
	f->ident.origin = KEY_GC_ONLY;
	const uint8_t ck[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
	f->change_key = snap_bindup(s, ck, sizeof ck);
	f->repaired = SNAP_REPAIRED_NAME;
	snap_item *it = snap_add_item(s);
	it->id = snap_strdup(s, "nid:2097156");
	it->folder_id = snap_strdup(s, "nid:8578");
	it->cls = "IPM.Note";
	it->subject = snap_strdup(s, "Re: \"budget\"\nline2 \x01 ctrl");
	it->repaired = SNAP_REPAIRED_SUBJECT;
	it->message_id = "<a@b>";
	it->received = FILETIME_UNIX_EPOCH + 1300000000LL * 10000000 + 4233750;
	it->created = FILETIME_UNIX_EPOCH + 1300000000LL * 10000000;
	it->read = 0;
	it->msg_flags = 0x48;
	it->flag_status = 2;
	it->importance = 1;
	it->size = 1080;
	it->associated = 1;
	memset(it->ident.key, 0xab, SNAP_KEY_LEN);
	memset(it->ident.gc, 0xab, SNAP_GC_LEN);
	it->ident.has_key = it->ident.has_gc = 1;
	it->ident.replid = 1;
	it->ident.origin = KEY_REPLICA;
	it->pcl = snap_bindup(s, ck, 7);
	it = snap_add_item(s); /* an item with nothing but ids */
	it->id = "nid:1";
	it->folder_id = "nid:290";
	snap_error *e = snap_add_error(s, ERR_SCOPE_ITEM, "unreadable", "message 1 of 2: cannot read");
	e->folder_id = "nid:8578";
	e->path = "/In\\/box";
	s->integrity.present = true;
	s->integrity.corrupted = true;
	s->integrity.orphan_items = 3;
	s->integrity.recovered_items = -1;
	s->integrity.unreadable_items = 1;
	s->integrity.mismatches = calloc(1, sizeof *s->integrity.mismatches);
	s->integrity.mismatches[0] = (snap_count_mismatch){"nid:8578", "/In\\/box", "content_count", 12, 11};
	s->integrity.n_mismatches = 1;
	s->integrity.replicas = calloc(1, sizeof *s->integrity.replicas);
	s->integrity.replicas[0].replid = 1;
	memset(s->integrity.replicas[0].guid, 0x6a, 16);
	s->integrity.replicas[0].origin = "special-folder entry id";
	s->integrity.n_replicas = 1;
	s->integrity.ndb_scan = "complete";
	s->integrity.ndb_format = "unicode-4k";
	s->integrity.pages_checked = 136;
	s->integrity.blocks_checked = 1140;
	s->integrity.bad_pages = 0;
	s->integrity.bad_blocks = 2;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return strdup(buf);
}

static void write_read_write_is_lossless(void **state)
{
	snap_t *s = NULL, *back = NULL;
	or_error err = {0};
	assert_int_equal(snap_new(&s, &err), 0);
	fill_sample(s);
	char a[256], b[256];
	snprintf(a, sizeof a, "%s", temp_path("a.jsonl"));
	snprintf(b, sizeof b, "%s", temp_path("b.jsonl"));
	assert_int_equal(snap_save(s, a, &err), 0);
	assert_int_equal(snap_load(&back, a, &err), 0);

	assert_int_equal(back->n_folders, 2);
	assert_int_equal(back->n_items, 2);
	assert_int_equal(back->n_errors, 1);
	assert_string_equal(back->folders[1].name, s->folders[1].name);
	assert_string_equal(back->items[0].subject, s->items[0].subject);
	assert_true(back->items[0].received == s->items[0].received);
	assert_memory_equal(back->items[0].ident.key, s->items[0].ident.key, SNAP_KEY_LEN);
	assert_int_equal(back->items[0].read, 0);
	assert_int_equal(back->items[1].read, -1);
	assert_true(back->items[1].size == -1);
	assert_int_equal(back->items[0].associated, 1);
	assert_int_equal(back->folders[1].change_key.len, 20);
	assert_int_equal(back->folders[1].repaired, SNAP_REPAIRED_NAME); /* a list: read by jansson */
	assert_int_equal(back->items[0].repaired, SNAP_REPAIRED_SUBJECT);
	assert_int_equal(back->items[1].repaired, 0);
	assert_true(back->integrity.corrupted);
	assert_int_equal(back->integrity.n_mismatches, 1);
	assert_int_equal(back->integrity.replicas[0].replid, 1);
	assert_string_equal(back->integrity.ndb_scan, "complete");
	assert_string_equal(back->integrity.ndb_format, "unicode-4k");
	assert_int_equal(back->integrity.pages_checked, 136);
	assert_int_equal(back->integrity.blocks_checked, 1140);
	assert_int_equal(back->integrity.bad_pages, 0);
	assert_int_equal(back->integrity.bad_blocks, 2);

	/* The second write is byte for byte the first. */
	assert_int_equal(snap_save(back, b, &err), 0);
	char *ta = slurp(a), *tb = slurp(b);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	unlink(a);
	unlink(b);
	snap_free(s);
	snap_free(back);
}

static void assert_same_cstr(const snap_compared *a, uint32_t x, const snap_compared *b, uint32_t y)
{
	if (!x || !y) {
		assert_int_equal(x, y);
		return;
	}
	assert_string_equal(snap_cstr(a, x), snap_cstr(b, y));
}

static void assert_same_cbin(const snap_compared *a, uint32_t x, const snap_compared *b, uint32_t y)
{
	snap_bin p = snap_cbin(a, x), q = snap_cbin(b, y);
	assert_int_equal(p.len, q.len);
	if (p.len)
		assert_memory_equal(p.data, q.data, p.len);
}

/* The subject of item i of a compared set, read back from its file where it stayed there. */
typedef struct {
	char text[4096];
	bool present;
} subject_out;

static int keep_subject(void *ctx, size_t k, const char *text, size_t len)
{
	subject_out *o = ctx;
	assert_int_equal(k, 0);
	o->present = text != NULL;
	assert_true(len < sizeof o->text);
	if (text) { /* not NUL-terminated: the line goes on after it */
		memcpy(o->text, text, len);
		o->text[len] = '\0';
	}
	return 0;
}

static const char *compared_subject(const snap_compared *c, size_t i, subject_out *o)
{
	if (!c->subjects_in_file)
		return snap_citem_subject(c, &c->items[i]);
	int32_t item = (int32_t)i;
	or_error err = {0};
	assert_int_equal(snap_compared_subjects(c, &item, 1, keep_subject, o, &err), 0);
	return o->present ? o->text : NULL;
}

/* Every byte of a text counts in its hash, at every length (the last bytes are read as words that
 * may overlap), and so does the length; 200,000 subjects of one pattern hash apart. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void text_hash_sees_every_byte(void **state)
{
	char a[80], b[80];
	for (size_t n = 0; n <= 72; n++) {
		for (size_t i = 0; i < n; i++)
			a[i] = (char)('A' + (i * 7) % 26);
		uint64_t h = snap_text_hash(a, n);
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit++) {
				memcpy(b, a, n);
				b[i] = (char)(b[i] ^ (1 << bit));
				assert_true(snap_text_hash(b, n) != h);
			}
		if (n)
			assert_true(snap_text_hash(a, n - 1) != h);
	}
	assert_true(snap_text_hash(NULL, 5) == snap_text_hash("", 0));
	enum { N = 200000 };
	uint64_t *hs = malloc(N * sizeof *hs);
	assert_non_null(hs);
	for (size_t i = 0; i < N; i++) {
		int n = snprintf(a, sizeof a, "Message number %zu about the quarterly figures", i);
		hs[i] = snap_text_hash(a, (size_t)n);
	}
	qsort(hs, N, sizeof *hs, cmp_u64);
	for (size_t i = 1; i < N; i++)
		assert_true(hs[i] != hs[i - 1]);
	free(hs);
}

/* Subjects read back: each copied into got[k]; fails from item fail_at on (-1 never). */
typedef struct {
	char **got;
	bool *present;
	size_t calls;
	long fail_at;
} readback;

static int keep_all(void *ctx, size_t k, const char *text, size_t len)
{
	readback *r = ctx;
	if (r->fail_at >= 0 && (long)k >= r->fail_at)
		return OR_ERR_NOMEM;
	assert_int_equal(k, r->calls);
	r->calls++;
	r->present[k] = text != NULL;
	r->got[k] = text ? strndup(text, len) : NULL;
	assert_true(!text || r->got[k]);
	if (text)
		assert_int_equal(strlen(r->got[k]), len);
	return 0;
}

#define RB_ITEMS 400
#define RB_HUGE 150 /* an item whose line is longer than one piece read back */

/* The text of item i's subject in the file (escaped as JSON) and as read (NULL: no subject). */
static void rb_subject(size_t i, char **json, char **want)
{
	*json = *want = NULL;
	switch (i % 5) {
	case 0: return;
	case 1:
		*json = strdup("tab\\there \\\"q\\\" \\u00e9 \\\\");
		*want = strdup("tab\there \"q\" \xc3\xa9 \\");
		return;
	case 2:
		*json = strdup("");
		*want = strdup("");
		return;
	default: {
		size_t pad = i == RB_HUGE ? (size_t)3 << 19 : (i * 37) % 9000;
		char *t = malloc(pad + 32);
		assert_non_null(t);
		int n = snprintf(t, 32, "subject %zu ", i);
		memset(t + n, 'x', pad);
		t[n + pad] = '\0';
		*json = t;
		*want = strdup(t);
	}
	}
}

static void rb_write(const char *path, long changed)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1}\n", fp);
	for (size_t i = 0; i < RB_ITEMS; i++) {
		char *json, *want;
		rb_subject(i, &json, &want);
		if ((long)i == changed) /* the same length, one letter other */
			json[0] = 'S';
		fprintf(fp, "{\"type\":\"item\",\"id\":\"i%zu\",\"folder_id\":\"f\"", i);
		if (json)
			fprintf(fp, ",\"subject\":\"%s\"", json);
		fputs("}\n", fp);
		free(json);
		free(want);
	}
	fprintf(fp, "{\"type\":\"end\",\"folders\":0,\"items\":%d,\"errors\":0}\n", RB_ITEMS);
	assert_int_equal(fclose(fp), 0);
}

/* Loaded for a comparison from a file, the subjects stay there: those asked for are read back
 * (in pieces where the lines are close, a long line alone), decoded as the load decoded them and
 * checked against the hash kept then. A file changed or cut short since is an error, never a
 * wrong subject; so is the callback's failure. */
static void subjects_read_back_from_the_file(void **state)
{
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("subjects.jsonl"));
	rb_write(path, -1);
	snap_t *s = NULL;
	or_error err = {0};
	assert_int_equal(snap_load_compared(&s, path, &err), 0);
	const snap_compared *c = s->compared;
	assert_true(c->subjects_in_file);
	assert_int_equal(c->n_items, RB_ITEMS);
	int32_t all[RB_ITEMS], third[RB_ITEMS];
	size_t n3 = 0;
	for (int32_t i = 0; i < RB_ITEMS; i++) {
		all[i] = i;
		if (i % 3 == 0)
			third[n3++] = i;
	}
	char *got[RB_ITEMS];
	bool present[RB_ITEMS];
	for (int pass = 0; pass < 2; pass++) {
		const int32_t *items = pass ? third : all;
		size_t n = pass ? n3 : RB_ITEMS;
		readback r = {got, present, 0, -1};
		assert_int_equal(snap_compared_subjects(c, items, n, keep_all, &r, &err), 0);
		assert_int_equal(r.calls, n);
		for (size_t k = 0; k < n; k++) {
			char *json, *want;
			rb_subject((size_t)items[k], &json, &want);
			assert_int_equal(present[k], want != NULL);
			if (want)
				assert_string_equal(got[k], want);
			/* An absent subject compares as an empty one. */
			assert_true(c->items[items[k]].subject_hash == snap_text_hash(want, want ? strlen(want) : 0));
			free(json);
			free(want);
			free(got[k]);
		}
	}
	assert_true(c->items[0].subject_hash == c->items[2].subject_hash);
	/* The callback's failure is returned as it is. */
	readback r = {got, present, 0, 5};
	assert_int_equal(snap_compared_subjects(c, all, RB_ITEMS, keep_all, &r, &err), OR_ERR_NOMEM);
	for (size_t k = 0; k < r.calls; k++)
		free(got[k]);
	/* Changed underfoot: the same length, one subject other. */
	rb_write(path, 8);
	int32_t two[2] = {3, 8};
	r = (readback){got, present, 0, -1};
	memset(&err, 0, sizeof err);
	assert_int_equal(snap_compared_subjects(c, two, 2, keep_all, &r, &err), OR_ERR_FORMAT);
	assert_non_null(strstr(err.message, "changed while it was compared"));
	assert_int_equal(r.calls, 1);
	free(got[0]);
	/* Cut short underfoot. */
	rb_write(path, -1);
	assert_int_equal(truncate(path, 4096), 0);
	int32_t last = RB_ITEMS - 1;
	memset(&err, 0, sizeof err);
	r = (readback){got, present, 0, -1};
	assert_int_equal(snap_compared_subjects(c, &last, 1, keep_all, &r, &err), OR_ERR_FORMAT);
	assert_non_null(strstr(err.message, "shorter now"));
	assert_int_equal(r.calls, 0);
	snap_free(s);
	unlink(path);
}

/* A snapshot loaded for a comparison holds its items in compact form (no snap_item array), the
 * same as the compact form made from the snapshot loaded in full. */
static void load_for_comparison_is_compact(void **state)
{
	snap_t *s = NULL, *full = NULL, *cmp = NULL;
	or_error err = {0};
	assert_int_equal(snap_new(&s, &err), 0);
	fill_sample(s);
	snap_item *more = snap_add_item(s); /* the first item's folder and class again */
	more->id = "nid:2";
	more->folder_id = "nid:8578";
	more->cls = "IPM.Note";
	const uint8_t key3[3] = {1, 2, 3};
	more->change_key = snap_bindup(s, key3, sizeof key3);
	char a[256];
	snprintf(a, sizeof a, "%s", temp_path("c.jsonl"));
	assert_int_equal(snap_save(s, a, &err), 0);
	assert_int_equal(snap_load(&full, a, &err), 0);
	assert_int_equal(snap_load_compared(&cmp, a, &err), 0);
	assert_null(cmp->items);
	assert_non_null(cmp->compared);
	assert_null(full->compared);
	assert_int_equal(cmp->n_items, full->n_items);
	assert_int_equal(cmp->compared->n_items, full->n_items);
	snap_compared built;
	assert_int_equal(snap_compared_build(full, &built, &err), 0);
	assert_int_equal(built.n_items, full->n_items);
	const snap_compared *c = cmp->compared;
	bool some_bin = false;
	for (size_t i = 0; i < full->n_items; i++) {
		const snap_item *x = &full->items[i];
		const snap_citem *y = &c->items[i], *z = &built.items[i];
		char t1[SNAP_ID_TEXT], t2[SNAP_ID_TEXT];
		assert_string_equal(snap_citem_id(c, y, t1), x->id);
		assert_string_equal(snap_cstr(c, y->folder_id), x->folder_id);
		subject_out so;
		if (x->subject)
			assert_string_equal(compared_subject(c, i, &so), x->subject);
		else
			assert_null(compared_subject(c, i, &so));
		assert_true(y->subject_hash == snap_text_hash(x->subject, x->subject ? strlen(x->subject) : 0));
		assert_true(y->date == snap_item_date(x));
		assert_int_equal(y->read, x->msg_flags >= 0 ? (x->msg_flags & 1) != 0 : x->read);
		assert_int_equal(y->flag_status, x->flag_status);
		assert_int_equal(y->importance, x->importance);
		assert_int_equal(y->associated, x->associated);
		assert_memory_equal(&x->ident, &y->ident, sizeof x->ident);
		snap_bin ck = snap_cbin(c, y->change_key), pcl = snap_cbin(c, y->pcl);
		assert_int_equal(ck.len, x->change_key.len);
		assert_int_equal(pcl.len, x->pcl.len);
		if (ck.len)
			assert_memory_equal(ck.data, x->change_key.data, ck.len);
		if (pcl.len)
			assert_memory_equal(pcl.data, x->pcl.data, pcl.len);
		some_bin |= ck.len || pcl.len;
		/* The form made from a full snapshot is the loaded one. */
		assert_string_equal(snap_citem_id(c, y, t1), snap_citem_id(&built, z, t2));
		assert_same_cstr(c, y->folder_id, &built, z->folder_id);
		assert_same_cstr(c, y->cls, &built, z->cls);
		assert_true(y->subject_hash == z->subject_hash);
		assert_false(built.subjects_in_file);
		subject_out so2;
		const char *sy = compared_subject(c, i, &so2), *sz = snap_citem_subject(&built, z);
		assert_true((sy == NULL) == (sz == NULL));
		if (sy)
			assert_string_equal(sy, sz);
		assert_same_cbin(c, y->change_key, &built, z->change_key);
		assert_same_cbin(c, y->pcl, &built, z->pcl);
		assert_true(y->date == z->date && y->read == z->read && y->flag_status == z->flag_status &&
		            y->importance == z->importance && y->associated == z->associated);
		assert_memory_equal(&y->ident, &z->ident, sizeof y->ident);
	}
	assert_true(some_bin);
	/* Repeated strings (folder ids, classes) are held once. */
	assert_int_equal(full->n_items, 3);
	assert_int_equal(c->items[0].folder_id, c->items[2].folder_id);
	assert_int_equal(c->items[0].cls, c->items[2].cls);
	assert_int_equal(built.items[0].folder_id, built.items[2].folder_id);
	snap_compared_release(&built);
	unlink(a);
	snap_free(s);
	snap_free(full);
	snap_free(cmp);
}

/* Long ids that share their head with the last id kept whole are kept as tails (SNAP_ID_HEAD),
 * and read back whole: EWS-like ids in runs per folder, ids at each bound of the rule, ids that
 * are a prefix of the last one kept or have it as theirs, repeats, and short and very long ids. */
static void long_ids_kept_as_tails_read_back_whole(void **state)
{
	snap_t *s = NULL, *full = NULL, *cmp = NULL;
	or_error err = {0};
	assert_int_equal(snap_new(&s, &err), 0);
	snap_folder *fo = snap_add_folder(s);
	fo->id = "f1";
	fo->path = "/Inbox";
	enum { N = 600 };
	static char ids[N][5200], last[5200]; /* last: the id before (its own buffer: no overlap) */
	const char *head = "AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGUTJE+MVIvofglBwDZGACZQpSgSpyNkexYe2b7AAAAAAENAADZGACZQpSgSpyNkexYe2b7AAAN";
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		char *id = ids[i];
		int k = i % 20, folder = i / 100;
		if (k < 12) /* a folder's run: one head, its own tail */
			snprintf(id, sizeof ids[i], "%s%02d%06dAAA=", head, folder, i);
		else if (k == 12) /* shares exactly SNAP_ID_HEAD bytes, then differs */
			snprintf(id, sizeof ids[i], "%.*sX%d", SNAP_ID_HEAD, last, i);
		else if (k == 13) /* one byte short of SNAP_ID_HEAD in common */
			snprintf(id, sizeof ids[i], "%.*sY%0*d", SNAP_ID_HEAD - 1, last, 40, i);
		else if (k == 14) /* a tail of exactly SNAP_ID_TAIL, then one longer */
			snprintf(id, sizeof ids[i], "%.*s%0*d", 140, head, SNAP_ID_TAIL - 1 + (i % 40 == 14 ? 0 : 2), i);
		else if (k == 15) /* a prefix of the last id, and the last id again */
			snprintf(id, sizeof ids[i], "%.*s", (int)strlen(last) - (i % 3), last);
		else if (k == 16) /* short */
			snprintf(id, sizeof ids[i], "nid:%d", i);
		else { /* long ids around SNAP_ID_TEXT and past it, sharing their head */
			size_t len = k == 17 ? SNAP_ID_TEXT - 1 : k == 18 ? SNAP_ID_TEXT : 5000 + (size_t)i % 7;
			memset(id, 'q', len);
			snprintf(id + len - 6, 7, "%06d", i);
		}
		memcpy(last, id, strlen(id) + 1);
		snap_item *it = snap_add_item(s);
		it->id = id;
		it->folder_id = "f1";
		total += strlen(id) + 1;
	}
	char a[256];
	snprintf(a, sizeof a, "%s", temp_path("ids.jsonl"));
	assert_int_equal(snap_save(s, a, &err), 0);
	assert_int_equal(snap_load(&full, a, &err), 0);
	assert_int_equal(snap_load_compared(&cmp, a, &err), 0);
	snap_compared built;
	assert_int_equal(snap_compared_build(full, &built, &err), 0);
	const snap_compared *c = cmp->compared;
	assert_int_equal(c->n_items, N);
	size_t tails = 0, tail_bytes = 0;
	for (size_t i = 0; i < N; i++) {
		char t1[SNAP_ID_TEXT], t2[SNAP_ID_TEXT];
		assert_string_equal(snap_citem_id(c, &c->items[i], t1), ids[i]);
		assert_string_equal(snap_citem_id(&built, &built.items[i], t2), ids[i]);
		assert_int_equal(c->items[i].id_delta, built.items[i].id_delta);
		if (strlen(ids[i]) >= SNAP_ID_TEXT || strlen(ids[i]) < SNAP_ID_HEAD)
			assert_false(c->items[i].id_delta);
		tails += c->items[i].id_delta;
		tail_bytes += c->items[i].id_delta ? strlen(ids[i]) : 0;
	}
	/* Most EWS-like ids went in as tails, each taking well under half its length. */
	assert_true(tails > N / 2);
	assert_true(c->heap_len < total - tail_bytes / 2);
	snap_compared_release(&built);
	unlink(a);
	snap_free(s);
	snap_free(full);
	snap_free(cmp);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void load_rejects_incomplete_and_malformed_files(void **state)
{
	const char *hdr = "{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1,\"source\":\"ost\"}\n";
	const char *folder = "{\"type\":\"folder\",\"id\":\"nid:1\"}\n";
	char path[256], text[1024];
	snprintf(path, sizeof path, "%s", temp_path("bad.jsonl"));
	snap_t *s = NULL;
	or_error err = {0};
	struct {
		const char *body;
		int code;
	} cases[] = {
		{"", OR_ERR_FORMAT},                                                  /* empty */
		{"not json\n", OR_ERR_FORMAT},                                        /* garbage */
		{"%s%s", OR_ERR_FORMAT},                                              /* no end line */
		{"%s%s{\"type\":\"end\",\"folders\":2,\"items\":0,\"errors\":0}\n", OR_ERR_FORMAT}, /* wrong counts */
		{"%s{\"type\":\"folder\"}\n{\"type\":\"end\",\"folders\":1,\"items\":0,\"errors\":0}\n", OR_ERR_FORMAT},
		{"%s{\"type\":\"item\",\"id\":\"x\",\"folder_id\":\"y\",\"key\":\"12\"}\n{\"type\":\"end\"}\n", OR_ERR_FORMAT},
		{"{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":2}\n", OR_ERR_FORMAT},
		{"%s%s{\"type\":\"end\",\"folders\":1,\"items\":0,\"errors\":0}\n", OR_OK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, cases[i].body, hdr, folder);
		write_file(path, text);
		int rc = snap_load(&s, path, &err);
		assert_int_equal(rc, cases[i].code);
		if (rc == 0)
			assert_int_equal(s->n_folders, 1);
		else
			assert_null(s);
		snap_free(s);
		s = NULL;
	}
	unlink(path);
	assert_int_equal(snap_load(&s, "/nonexistent/x.jsonl", &err), OR_ERR_NOTFOUND);
}

static void invalid_utf8_is_replaced_not_passed_through(void **state)
{
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("utf8.txt"));
	FILE *fp = fopen(path, "w");
	json_put_string(fp, "ok \xc3\xa9 bad \xff\xfe end \xe2\x82");
	fclose(fp);
	char *t = slurp(path);
	assert_string_equal(t, "\"ok \xc3\xa9 bad \\ufffd\\ufffd end \\ufffd\\ufffd\"");
	free(t);
	unlink(path);
}

/* The loader's own parser for folder and item lines against what JSON says: escapes decoded (in
 * strings that share a line with plain ones), keys in any order, unknown keys and values it leaves
 * to jansson, CRLF line ends, a last line without its newline. */
static void fast_lines_read_as_json_says(void **state)
{
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("fast.jsonl"));
	write_file(path,
	           "{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1,\"source\":\"ews\"}\n"
	           "{\"type\":\"folder\",\"id\":\"f1\",\"name\":\"Bo\\u00eete \\/ \\\"in\\\"\",\"path\":\"/Top/Bo\xc3\xaete\"}\r\n"
	           "{\"subject\":\"tab\\there \\ud83d\\ude00\",\"folder_id\":\"f1\",\"id\":\"a\",\"type\":\"item\","
	           "\"class\":\"IPM.Note\",\"read\":true,\"size\":-12,\"later\":\"x\",\"also\":null}\n"
	           "{\"type\":\"item\",\"id\":\"b\",\"folder_id\":\"f1\",\"class\":\"IPM.Note\",\"nested\":{\"a\":[1]},"
	           "\"subject\":\"plain\",\"read\":false,\"msg_flags\":1.5}\n"
	           "{\"type\":\"item\",\"id\":\"c\",\"folder_id\":\"f1\",\"class\":\"IPM.Note\",\"key\":"
	           "\"6AA62D7A1B3AC5449D53431FBEA29402000000000102\",\"key_origin\":\"replica\","
	           "\"received\":\"2026-10-01T09:30:00Z\",\"change_key\":\"0a0B\"}\n"
	           "{\"type\":\"end\",\"folders\":1,\"items\":3,\"errors\":0}");
	snap_t *s = NULL;
	or_error err = {0};
	assert_int_equal(snap_load(&s, path, &err), 0);
	assert_int_equal(s->n_items, 3);
	assert_string_equal(s->folders[0].name, "Bo\xc3\xaete / \"in\"");
	assert_string_equal(s->folders[0].path, "/Top/Bo\xc3\xaete");
	assert_string_equal(s->items[0].subject, "tab\there \xf0\x9f\x98\x80");
	assert_string_equal(s->items[0].id, "a");
	assert_int_equal(s->items[0].read, 1);
	assert_true(s->items[0].size == -12);
	assert_string_equal(s->items[1].subject, "plain"); /* the line jansson read */
	assert_int_equal(s->items[1].read, 0);
	assert_true(s->items[1].msg_flags == -1); /* not an integer: absent */
	assert_ptr_equal(s->items[0].cls, s->items[2].cls);
	assert_ptr_equal(s->items[0].folder_id, s->items[1].folder_id);
	assert_true(s->items[2].ident.has_key && s->items[2].ident.has_gc);
	assert_int_equal(s->items[2].ident.key[0], 0x6a);
	assert_int_equal(s->items[2].ident.gc[5], 0x02);
	assert_int_equal(s->items[2].ident.origin, KEY_REPLICA);
	assert_true(s->items[2].received != 0);
	assert_int_equal(s->items[2].change_key.len, 2);
	assert_int_equal(s->items[2].change_key.data[1], 0x0b);
	snap_free(s);
	unlink(path);
}

/* Strings are scanned many bytes at a time: an escape, a non-ASCII character, a control character
 * or a byte that is not UTF-8 at any place in a long string is met where it stands. */
static void long_strings_scanned_in_blocks(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: the line is refused */
	} marks[] = {{"\\\"", "\""}, {"\xc3\xa9", "\xc3\xa9"}, {"\\u00e9", "\xc3\xa9"}, {"\x01", NULL}, {"\xff", NULL}};
	const char *hdr = "{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1}\n";
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("blocks.jsonl"));
	for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++)
		for (int at = 0; at <= 40; at++) {
			char subject[128], want[128], line[512];
			snprintf(subject, sizeof subject, "%.*s%s%.*s", at, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
			         marks[m].in, 40 - at, "0123456789012345678901234567890123456789012");
			snprintf(want, sizeof want, "%.*s%s%.*s", at, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
			         marks[m].out ? marks[m].out : "", 40 - at, "0123456789012345678901234567890123456789012");
			snprintf(line, sizeof line,
			         "%s{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"subject\":\"%s\"}\n"
			         "{\"type\":\"end\",\"folders\":0,\"items\":1,\"errors\":0}\n",
			         hdr, subject);
			write_file(path, line);
			for (int compared = 0; compared < 2; compared++) {
				snap_t *s = NULL;
				or_error err = {0};
				int rc = compared ? snap_load_compared(&s, path, &err) : snap_load(&s, path, &err);
				if (!marks[m].out) {
					assert_int_not_equal(rc, 0);
					assert_non_null(strstr(err.message, ":2: "));
					continue;
				}
				assert_int_equal(rc, 0);
				subject_out so;
				const char *got = compared ? compared_subject(s->compared, 0, &so) : s->items[0].subject;
				assert_string_equal(got, want);
				snap_free(s);
			}
		}
	unlink(path);
}

/* Hostile lines: each refused with an error naming its line, never read past or guessed at. */
static void hostile_lines_are_refused_with_their_line_number(void **state)
{
	static const struct {
		const char *line;
		size_t len; /* 0: strlen */
		const char *says;
	} cases[] = {
		{"{\"type\":\"item\",\"id\":\"a\",\"id\":\"b\",\"folder_id\":\"f\"}\n", 0, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"x\":1,\"x\":2}\n", 0, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\0b\",\"folder_id\":\"f\"}\n", 40, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\xff\",\"folder_id\":\"f\"}\n", 0, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\\ud800\",\"folder_id\":\"f\"}\n", 0, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\"", 0, ":2: not a JSON object"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"key\":\"6aa6\"}\n", 0, ":2: malformed item line"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"received\":\"2026-13-01T00:00:00Z\"}\n", 0,
		 ":2: malformed item line"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"key_origin\":\"replicareplicareplicareplicareplica\"}\n",
		 0, ":2: malformed item line"},
		{"{\"type\":\"item\",\"id\":7,\"folder_id\":\"f\"}\n", 0, ":2: malformed item line"},
		{"{\"type\":\"item\",\"id\":\"a\",\"folder_id\":\"f\",\"size\":12345678901234567890}\n", 0, NULL},
	};
	const char *hdr = "{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1}\n";
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("hostile.jsonl"));
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(hdr, fp);
		fwrite(cases[i].line, 1, cases[i].len ? cases[i].len : strlen(cases[i].line), fp);
		fputs("{\"type\":\"end\",\"folders\":0,\"items\":1,\"errors\":0}\n", fp);
		fclose(fp);
		snap_t *s = NULL;
		or_error err = {0};
		int rc = snap_load(&s, path, &err);
		if (!cases[i].says) { /* beyond 64 bits: jansson's to judge, and it refuses */
			assert_int_not_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, OR_ERR_FORMAT);
		assert_null(s);
		if (!strstr(err.message, cases[i].says))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.message, cases[i].says);
	}
	unlink(path);
}

/* Lines are handed out from large blocks read from the file: lines that cross a block's end, and
 * a line longer than a block (the buffer grows), come back whole; a line past the limit is refused. */
static void lines_across_read_blocks(void **state)
{
	char path[256];
	snprintf(path, sizeof path, "%s", temp_path("blocks.jsonl"));
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1}\n", fp);
	size_t n = 30000, long_len = 3u << 20;
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "{\"type\":\"item\",\"id\":\"i%zu\",\"folder_id\":\"f\",\"subject\":\"", i);
		if (i == n / 2)
			for (size_t k = 0; k < long_len; k++)
				fputc('a' + (int)(k % 26), fp);
		else
			fprintf(fp, "subject %zu", i);
		fputs("\"}\n", fp);
	}
	fprintf(fp, "{\"type\":\"end\",\"folders\":0,\"items\":%zu,\"errors\":0}\n", n);
	fclose(fp);
	snap_t *s = NULL;
	or_error err = {0};
	assert_int_equal(snap_load(&s, path, &err), 0);
	assert_int_equal(s->n_items, n);
	char want[64];
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof want, "i%zu", i);
		assert_string_equal(s->items[i].id, want);
		if (i == n / 2) {
			assert_int_equal(strlen(s->items[i].subject), long_len);
			assert_int_equal(s->items[i].subject[long_len - 1], 'a' + (int)((long_len - 1) % 26));
		} else {
			snprintf(want, sizeof want, "subject %zu", i);
			assert_string_equal(s->items[i].subject, want);
		}
	}
	snap_free(s);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{\"type\":\"snapshot\",\"format\":\"ostrecon-snapshot\",\"version\":1}\n{\"type\":\"x\",\"pad\":\"", fp);
	for (size_t k = 0; k < (17u << 20); k++)
		fputc('a', fp);
	fputs("\"}\n", fp);
	fclose(fp);
	s = NULL;
	assert_int_equal(snap_load(&s, path, &err), OR_ERR_LIMIT);
	assert_non_null(strstr(err.message, ":2: line longer than"));
	unlink(path);
}

/* An item's line is built in one buffer when its strings are plain ASCII and it fits in 4 KiB, and
 * written field by field otherwise: the two give the same bytes, written to a stream or appended to
 * a buffer (snap_item_text). Each pair of items differs only
 * in a subject that sends the second through the field writers (a quote, a backslash, UTF-8, a
 * control character, a length over the buffer); its line must be the first's with that subject's
 * JSON swapped in. */
static char *item_line_of(const snap_item *it)
{
	char *text = NULL;
	size_t len = 0;
	snap_writer w;
	memset(&w, 0, sizeof w);
	w.af.fp = open_memstream(&text, &len);
	assert_non_null(w.af.fp);
	snap_write_item(&w, it);
	assert_int_equal(w.n_items, 1);
	fclose(w.af.fp);
	/* the line held in memory (src/pull's held parts) is the line written, both ways */
	or_buf b = {0};
	assert_int_equal(snap_item_text(&b, it), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, text, len);
	assert_int_equal(snap_item_text(&b, it), 0);
	assert_int_equal(b.len, 2 * len);
	assert_memory_equal(b.data + len, text, len);
	buf_free(&b);
	return text;
}

static void item_lines_in_one_buffer_or_by_fields_agree(void **state)
{
	snap_t *s = NULL;
	or_error err = {0};
	assert_int_equal(snap_new(&s, &err), 0);
	fill_sample(s);
	snap_item it = s->items[0];
	it.change_key = snap_bindup(s, (const uint8_t *)"0123456789abcdefghijk", 21);
	it.sent = it.modified = it.received;
	it.read = 1;
	it.repaired = SNAP_REPAIRED_CLASS | SNAP_REPAIRED_MESSAGE_ID;
	char *a3000 = malloc(5001), *b3000 = malloc(5001), *a5000 = malloc(5001);
	assert_non_null(a3000);
	assert_non_null(b3000);
	assert_non_null(a5000);
	memset(a3000, 'x', 3000);
	a3000[3000] = '\0';
	memcpy(b3000, a3000, 3001);
	b3000[1500] = '"';
	memset(a5000, 'y', 5000);
	a5000[5000] = '\0';
	const struct {
		const char *plain, *other, *other_json;
	} pairs[] = {
		{"budget", "budget \"q4\"", "\"budget \\\"q4\\\"\""},
		{"budget", "back\\slash", "\"back\\\\slash\""},
		{"budget", "ünïcode", "\"ünïcode\""},
		{"budget", "tab\there", "\"tab\\there\""},
		{"budget", "ctrl\x01", "\"ctrl\\u0001\""},
		{"budget", a5000, NULL},
		{a3000, b3000, NULL},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		it.subject = pairs[i].plain;
		char *one = item_line_of(&it);
		it.subject = pairs[i].other;
		char *two = item_line_of(&it);
		/* the expected line: the first with the subject's JSON replaced */
		char *json = NULL;
		size_t json_len = 0;
		if (pairs[i].other_json) {
			json = strdup(pairs[i].other_json);
		} else {
			FILE *fp = open_memstream(&json, &json_len);
			json_put_string(fp, pairs[i].other);
			fclose(fp);
		}
		char plain_json[5008];
		snprintf(plain_json, sizeof plain_json, "\"%s\"", pairs[i].plain);
		char *at = strstr(one, plain_json);
		assert_non_null(at);
		size_t head = (size_t)(at - one), tail = strlen(at + strlen(plain_json));
		assert_int_equal(strlen(two), head + strlen(json) + tail);
		assert_memory_equal(two, one, head);
		assert_memory_equal(two + head, json, strlen(json));
		assert_string_equal(two + head + strlen(json), at + strlen(plain_json));
		free(one);
		free(two);
		free(json);
	}
	free(a3000);
	free(b3000);
	free(a5000);
	snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_and_guid_helpers),
		cmocka_unit_test(hex_decode_every_pair),
		cmocka_unit_test(hex_decode_every_byte_at_every_place),
		cmocka_unit_test(json_escapes_read_as_jansson_reads_them),
		cmocka_unit_test(filetime_round_trip),
		cmocka_unit_test(filetime_calendar),
		cmocka_unit_test(filetime_fast_paths_match_strptime),
		cmocka_unit_test(hex_encode_every_length),
		cmocka_unit_test(write_read_write_is_lossless),
		cmocka_unit_test(load_for_comparison_is_compact),
		cmocka_unit_test(long_ids_kept_as_tails_read_back_whole),
		cmocka_unit_test(item_lines_in_one_buffer_or_by_fields_agree),
		cmocka_unit_test(load_rejects_incomplete_and_malformed_files),
		cmocka_unit_test(invalid_utf8_is_replaced_not_passed_through),
		cmocka_unit_test(fast_lines_read_as_json_says),
		cmocka_unit_test(long_strings_scanned_in_blocks),
		cmocka_unit_test(hostile_lines_are_refused_with_their_line_number),
		cmocka_unit_test(text_hash_sees_every_byte),
		cmocka_unit_test(subjects_read_back_from_the_file),
		cmocka_unit_test(lines_across_read_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
