/* The report's JSON writer (report_dump) against jansson's: the same bytes for every kind of value,
 * every escape, deep nesting and generated trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/internal.h"

static void same_as_jansson(const json_t *v)
{
	char *want = json_dumps(v, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	assert_non_null(want);
	or_buf got = {0};
	assert_int_equal(report_dump(v, &got), 0);
	if (strlen(want) != got.len || memcmp(want, got.data, got.len) != 0)
		fail_msg("report_dump wrote\n%.*s\njansson wrote\n%s", (int)got.len, got.data, want);
	buf_free(&got);
	free(want);
}

static void t_values(void **state)
{
	(void)state;
	json_t *v[] = {json_null(), json_true(), json_false(), json_integer(0), json_integer(-1),
	               json_integer(INT64_MAX), json_integer(INT64_MIN), json_real(0.1), json_real(-0.0),
	               json_real(3.0), json_real(1e300), json_real(2563.4748380035162), json_string(""),
	               json_string("plain"), json_array(), json_object()};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		same_as_jansson(v[i]);
		json_decref(v[i]);
	}
}

/* Every byte that is escaped or not, in a value and in a key; UTF-8 of two, three and four bytes. */
static void t_strings(void **state)
{
	(void)state;
	char all[128];
	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	json_t *o = json_object();
	json_object_set_new(o, "all", json_stringn(all, 127));
	json_object_set_new(o, "utf8", json_string("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 / \\ \""));
	json_object_setn_new(o, "k\"e\\y\n\x01", 7, json_string("v"));
	for (int c = 1; c < 0x21; c++) { /* each control character alone, at the start, the end and between */
		char s[4] = {(char)c, 'a', (char)c, 0};
		json_t *x = json_string(s);
		same_as_jansson(x);
		json_decref(x);
	}
	same_as_jansson(o);
	json_decref(o);
}

static void t_nesting(void **state)
{
	(void)state;
	json_t *top = json_array(), *cur = top;
	for (int depth = 0; depth < 45; depth++) { /* past 32 spaces of indentation */
		json_t *o = json_object();
		json_object_set_new(o, "depth", json_integer(depth));
		json_object_set_new(o, "empty", depth % 2 ? json_array() : json_object());
		json_t *next = json_array();
		json_object_set_new(o, "next", next);
		json_array_append_new(cur, o);
		json_array_append_new(cur, json_null());
		cur = next;
	}
	same_as_jansson(top);
	json_decref(top);
}

/* glibc's random(), seeded in t_generated: the same trees every run. */
static unsigned next_rnd(unsigned n)
{
	return (unsigned)random() % n;
}

static json_t *random_value(int depth)
{
	static const char *const words[] = {"", "a", "Inbox/f01", "\"quoted\"", "back\\slash", "tab\there",
	                                    "\xc3\xa9", "line\nbreak", "\x1f", "nid:2097156"};
	unsigned k = next_rnd(depth > 4 ? 6 : 8);
	switch (k) {
	case 0: return json_null();
	case 1: return json_boolean(next_rnd(2));
	case 2: return json_integer((json_int_t)next_rnd(1000000) - 500000);
	case 3: return json_real((double)next_rnd(100000) / 7.0);
	case 4:
	case 5: return json_string(words[next_rnd(sizeof words / sizeof words[0])]);
	case 6: {
		json_t *a = json_array();
		for (unsigned i = next_rnd(5); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = next_rnd(6); i > 0; i--)
			json_object_set_new(o, words[next_rnd(sizeof words / sizeof words[0])], random_value(depth + 1));
		return o;
	}
	}
}

static void t_generated(void **state)
{
	(void)state;
	srandom(20261207);
	for (int i = 0; i < 500; i++) {
		json_t *v = random_value(0);
		same_as_jansson(v);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_strings),
		cmocka_unit_test(t_nesting),
		cmocka_unit_test(t_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
