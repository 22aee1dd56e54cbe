/* The whole-page scanner (src/graph/json.c) against yajl, the parser it stands in for: on the
 * Graph pages of test/graph/data/, on those pages mutated at random (bytes changed, cut, snippets
 * of escapes, numbers and literals put in) and on random JSON texts, whatever the scanner reads to
 * its end yajl must read too, with the same callbacks in the same order with the same arguments;
 * and a page parsed by src/graph/parse.c with the scanner allowed must come out exactly as with
 * yajl alone (records, links, errors and error messages), whether the scanner took it or gave up
 * half way. Run from the top of the repository (test/run does). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graph/internal.h"

/* ------------------------------------------------------------ the events, written down */

typedef struct {
	char *data;
	size_t len, cap;
	long stop_at; /* a callback returns 0 at this event (-1: never) */
	long n;
} events;

static int note(events *ev, char kind, const void *data, size_t len)
{
	size_t need = ev->len + len + 32;
	if (need > ev->cap) {
		size_t cap = ev->cap ? ev->cap : 4096;
		while (cap < need)
			cap *= 2;
		ev->data = realloc(ev->data, cap);
		assert_non_null(ev->data);
		ev->cap = cap;
	}
	ev->len += (size_t)snprintf(ev->data + ev->len, 32, "%c%zu:", kind, len);
	memcpy(ev->data + ev->len, data, len);
	ev->len += len;
	return ev->n++ != ev->stop_at;
}

static int ev_null(void *c) { return note(c, 'z', "", 0); }
static int ev_bool(void *c, int v) { return note(c, 'b', v ? "1" : "0", 1); }
static int ev_number(void *c, const char *s, size_t n) { return note(c, 'n', s, n); }
static int ev_string(void *c, const unsigned char *s, size_t n) { return note(c, 's', s, n); }
static int ev_key(void *c, const unsigned char *s, size_t n) { return note(c, 'k', s, n); }
static int ev_start_map(void *c) { return note(c, '{', "", 0); }
static int ev_end_map(void *c) { return note(c, '}', "", 0); }
static int ev_start_array(void *c) { return note(c, '[', "", 0); }
static int ev_end_array(void *c) { return note(c, ']', "", 0); }

static const yajl_callbacks recording = {
	.yajl_null = ev_null, .yajl_boolean = ev_bool, .yajl_number = ev_number, .yajl_string = ev_string,
	.yajl_map_key = ev_key, .yajl_start_map = ev_start_map, .yajl_end_map = ev_end_map,
	.yajl_start_array = ev_start_array, .yajl_end_array = ev_end_array,
};

static size_t taken, given_up;

/* The scanner's claim on one text, checked against yajl (configured as parse.c configures it). */
static void compare_events(const char *text, size_t len, long stop_at)
{
	events by_yajl = {.stop_at = stop_at}, by_scan = {.stop_at = stop_at};
	yajl_handle y = yajl_alloc(&recording, NULL, &by_yajl);
	assert_non_null(y);
	yajl_config(y, yajl_dont_validate_strings, 1);
	bool yajl_ok = yajl_parse(y, (const unsigned char *)text, len) == yajl_status_ok &&
	               yajl_complete_parse(y) == yajl_status_ok;
	yajl_free(y);
	gjs_buf buf = {0};
	int rc = gjs_scan(&recording, &by_scan, text, len, &buf);
	free(buf.data);
	if (rc == 0) {
		taken++;
		if (!yajl_ok)
			fail_msg("the scanner took a text yajl refuses: %.*s", (int)(len < 300 ? len : 300), text);
		if (by_yajl.len != by_scan.len || memcmp(by_yajl.data, by_scan.data, by_yajl.len) != 0)
			fail_msg("the scanner's events differ from yajl's on: %.*s", (int)(len < 300 ? len : 300), text);
	} else {
		given_up++;
	}
	free(by_yajl.data);
	free(by_scan.data);
}

/* ------------------------------------------------------------ the same page, both ways */

/* What parse.c made of a text: return code, message, records and links, as text. */
static char *parse_outcome(graph_coll coll, const char *text, size_t len, size_t split, bool scan)
{
	graph_page pg;
	or_error err = {0};
	assert_int_equal(graph_page_init(&pg, &err), 0);
	graph_parser *p = NULL;
	assert_int_equal(graph_parser_new(&p, &pg, coll, false, &err), 0);
	graph_parser_allow_scan(p, scan);
	size_t first = split && split < len ? split : len;
	int rc = graph_parser_feed(p, text, first, &err);
	rc = rc || first == len ? rc : graph_parser_feed(p, text + first, len - first, &err);
	rc = rc ? rc : graph_parser_finish(p, &err);
	graph_parser_free(p);
	char *out = NULL;
	size_t out_len = 0;
	FILE *fp = open_memstream(&out, &out_len);
	assert_non_null(fp);
	fprintf(fp, "rc %d %s\nnext %s\ndelta %s\nremoved %zu\nerror %d %s %s\n", rc, err.message,
	        pg.next_link ? pg.next_link : "-", pg.delta_link ? pg.delta_link : "-", pg.removed, pg.has_error,
	        pg.error.code, pg.error.message);
	snap_writer w = {0};
	w.af.fp = fp;
	for (size_t i = 0; i < pg.scratch->n_folders; i++) {
		snap_write_folder(&w, &pg.scratch->folders[i]);
		fprintf(fp, "wk %s search %d\n", pg.wellknown[i] ? pg.wellknown[i] : "-", pg.search[i]);
	}
	for (size_t i = 0; i < pg.scratch->n_items; i++)
		snap_write_item(&w, &pg.scratch->items[i]);
	fclose(fp);
	graph_page_free(&pg);
	return out;
}

/* split: the text in two pieces, cut there (0: whole) */
static void compare_split(graph_coll coll, const char *text, size_t len, size_t split)
{
	char *a = parse_outcome(coll, text, len, split, true), *b = parse_outcome(coll, text, len, split, false);
	if (strcmp(a, b) != 0)
		fail_msg("parse.c with the scanner:\n%s\nwith yajl alone:\n%s\non: %.*s", a, b, (int)(len < 300 ? len : 300),
		         text);
	free(a);
	free(b);
}

static void compare_parse(graph_coll coll, const char *text, size_t len)
{
	compare_split(coll, text, len, 0);
}

/* ------------------------------------------------------------ inputs */

typedef struct {
	char *text;
	size_t len;
	graph_coll coll;
} sample;

static sample samples[32];
static size_t n_samples;

static graph_coll coll_of(const char *name)
{
	if (strstr(name, "mailbox-folders"))
		return COLL_MAILBOX_FOLDERS;
	if (strstr(name, "mailbox-items"))
		return COLL_MAILBOX_ITEMS;
	if (strstr(name, "mailfolders"))
		return COLL_MAIL_FOLDERS;
	if (strstr(name, "calendars"))
		return COLL_CALENDARS;
	if (strstr(name, "calendar-events"))
		return COLL_EVENTS;
	if (strstr(name, "contactfolders"))
		return COLL_CONTACT_FOLDERS;
	return COLL_MESSAGES;
}

static void load_samples(void)
{
	if (n_samples)
		return;
	DIR *d = opendir("test/graph/data");
	if (!d)
		fail_msg("cannot open test/graph/data (run from the top of the repository)");
	struct dirent *de;
	while ((de = readdir(d)) && n_samples < sizeof samples / sizeof *samples) {
		if (!strstr(de->d_name, ".json") || strstr(de->d_name, "settings"))
			continue;
		char path[512];
		snprintf(path, sizeof path, "test/graph/data/%s", de->d_name);
		FILE *fp = fopen(path, "rb");
		assert_non_null(fp);
		sample *s = &samples[n_samples++];
		s->text = malloc(1 << 20);
		assert_non_null(s->text);
		s->len = fread(s->text, 1, 1 << 20, fp);
		s->coll = coll_of(de->d_name);
		fclose(fp);
	}
	closedir(d);
	assert_true(n_samples >= 10);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const snippets[] = {
	"\\u00e9", "\\u20ac", "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\u0000", "\\u00", "\\uZZZZ", "\\\"", "\\\\",
	"\\/", "\\b\\f\\n\\r\\t", "\\x", "\\", "1e5", "-0.5", "-", "01", "1.", ".5", "1e", "1E+2", "-0", "true", "false",
	"null", "nul", "tru", "[]", "{}", "[", "]", "{", "}", ",", ":", "\"\"", "\"a\":1", "\t", "\v", "\f", "\r\n",
	"\xc3\xa9", "\xff", "\x01", "/* c */", "NaN", "Infinity", "[[[[[[", "\"x\"", " ",
};

/* Some random JSON, sometimes off the grammar on purpose. */
static void random_json(char *out, size_t *n, size_t cap, int depth)
{
#define PUT(s)                                              \
	do {                                                    \
		const char *s_ = (s);                               \
		size_t l_ = strlen(s_);                             \
		if (*n + l_ < cap) {                                \
			memcpy(out + *n, s_, l_);                       \
			*n += l_;                                       \
		}                                                   \
	} while (0)
	switch (depth > 6 ? 2 + rnd(4) : rnd(6)) {
	case 0: {
		PUT("{");
		unsigned k = rnd(4);
		for (unsigned i = 0; i < k; i++) {
			if (i)
				PUT(rnd(20) ? "," : ",,");
			PUT("\"");
			PUT(snippets[rnd(sizeof snippets / sizeof *snippets)]);
			PUT("k\"");
			PUT(rnd(10) ? " : " : "");
			random_json(out, n, cap, depth + 1);
		}
		PUT(rnd(30) ? "}" : ",}");
		break;
	}
	case 1: {
		PUT("[");
		unsigned k = rnd(4);
		for (unsigned i = 0; i < k; i++) {
			if (i)
				PUT(", ");
			random_json(out, n, cap, depth + 1);
		}
		PUT("]");
		break;
	}
	case 2:
		PUT("\"v");
		PUT(snippets[rnd(sizeof snippets / sizeof *snippets)]);
		PUT(snippets[rnd(sizeof snippets / sizeof *snippets)]);
		PUT("\"");
		break;
	case 3: {
		static const char *const nums[] = {"0", "-1", "12.5", "1e9", "-0.0e-2", "123456789012345678901234567890",
		                                   "1.", "00", "-", "2E+", ".1"};
		PUT(nums[rnd(sizeof nums / sizeof *nums)]);
		break;
	}
	case 4: PUT(rnd(2) ? "true" : "null"); break;
	default: PUT(snippets[rnd(sizeof snippets / sizeof *snippets)]); break;
	}
#undef PUT
}

static char *mutate(const sample *s, size_t *len)
{
	size_t cap = s->len + 4096;
	char *t = malloc(cap);
	assert_non_null(t);
	memcpy(t, s->text, s->len);
	size_t n = s->len;
	unsigned k = 1 + rnd(4);
	for (unsigned i = 0; i < k && n > 0; i++) {
		size_t at = rnd((unsigned)n);
		switch (rnd(4)) {
		case 0: { /* a byte changed to one that matters to a JSON lexer */
			static const char bytes[] = "\"\\{}[],: \nu0-e.tn\x00\x1f\x80\xff/";
			t[at] = bytes[rnd(sizeof bytes - 1)];
			break;
		}
		case 1: { /* a snippet put in */
			const char *sn = snippets[rnd(sizeof snippets / sizeof *snippets)];
			size_t l = strlen(sn);
			if (n + l < cap) {
				memmove(t + at + l, t + at, n - at);
				memcpy(t + at, sn, l);
				n += l;
			}
			break;
		}
		case 2: { /* a few bytes taken out */
			size_t l = 1 + rnd(8);
			if (at + l > n)
				l = n - at;
			memmove(t + at, t + at + l, n - at - l);
			n -= l;
			break;
		}
		default: n = at; break; /* cut short */
		}
	}
	*len = n;
	return t;
}

/* ------------------------------------------------------------ tests */

static void pages_are_taken(void **state)
{
	load_samples();
	for (size_t i = 0; i < n_samples; i++) {
		size_t before = taken;
		compare_events(samples[i].text, samples[i].len, -1);
		compare_parse(samples[i].coll, samples[i].text, samples[i].len);
		/* Graph's pages are what the scanner is for: it must not give them up */
		assert_int_equal(taken, before + 1);
	}
	/* a callback that stops the parse: the scanner gives up, wherever it comes */
	for (long stop = 0; stop < 40; stop++) {
		events ev = {.stop_at = stop};
		gjs_buf buf = {0};
		assert_int_equal(gjs_scan(&recording, &ev, samples[0].text, samples[0].len, &buf), 1);
		free(buf.data);
		free(ev.data);
	}
}

static void mutated_pages(void **state)
{
	load_samples();
	taken = given_up = 0;
	for (int i = 0; i < 20000; i++) {
		const sample *s = &samples[rnd((unsigned)n_samples)];
		size_t len;
		char *t = mutate(s, &len);
		compare_events(t, len, -1);
		if (i % 4 == 0)
			compare_parse(s->coll, t, len);
		free(t);
	}
	/* both sides met: texts taken and texts given up */
	assert_true(taken > 500);
	assert_true(given_up > 500);
}

static void random_texts(void **state)
{
	taken = given_up = 0;
	char text[8192];
	for (int i = 0; i < 50000; i++) {
		size_t n = 0;
		if (rnd(8))
			text[n++] = '{';
		random_json(text, &n, sizeof text - 2, 0);
		if (rnd(8))
			text[n++] = '}';
		compare_events(text, n, -1);
		/* the same value inside a page's "value" array */
		char page[8400];
		int m = snprintf(page, sizeof page, "{\"value\":[{\"id\":\"x\",\"subject\":%.*s}]}", (int)n, text);
		if (m > 0 && (size_t)m < sizeof page) {
			compare_events(page, (size_t)m, -1);
			if (i % 8 == 0)
				compare_parse(COLL_MESSAGES, page, (size_t)m);
		}
	}
	assert_true(taken > 1000);
	assert_true(given_up > 1000);
}

static void hostile_texts(void **state)
{
	/* nested beyond the scanner's bound, and beyond parse.c's: given up, and the same verdict */
	static char deep[20000];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof deep, "{\"value\":[{\"id\":\"a\",\"x\":");
	while (n < 9000)
		deep[n++] = '[';
	while (n < 17974)
		deep[n++] = ']';
	memcpy(deep + n, "}]}", 3);
	n += 3;
	compare_events(deep, n, -1);
	compare_parse(COLL_MESSAGES, deep, n);
	/* a long string full of escapes, and one cut inside an escape */
	size_t big = 1u << 20;
	char *s = malloc(big + 64);
	assert_non_null(s);
	size_t k = (size_t)snprintf(s, 64, "{\"value\":[{\"id\":\"");
	while (k < big)
		memcpy(s + k, "\\u00e9\\\"", 8), k += 8;
	memcpy(s + k, "\"}]}", 4);
	compare_events(s, k + 4, -1);
	compare_parse(COLL_MESSAGES, s, k + 4);
	compare_events(s, k - 3, -1);
	compare_parse(COLL_MESSAGES, s, k - 3);
	free(s);
	/* text after a whole page: whitespace is nothing, anything else is trailing garbage */
	static const char *const tails[] = {"  \n", " x", "{}", "", "\t\t", "]"};
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		char t[64];
		int m = snprintf(t, sizeof t, "{\"value\":[{\"id\":\"a\"}]}%s", tails[i]);
		compare_parse(COLL_MESSAGES, t, (size_t)m);
		for (size_t cut = 1; cut < (size_t)m; cut++) /* in two pieces, cut anywhere */
			compare_split(COLL_MESSAGES, t, (size_t)m, cut);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pages_are_taken),
		cmocka_unit_test(mutated_pages),
		cmocka_unit_test(random_texts),
		cmocka_unit_test(hostile_texts),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	for (size_t i = 0; i < n_samples; i++)
		free(samples[i].text);
	return rc;
}
