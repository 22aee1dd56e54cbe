/* The report's text layout and free-text redaction: paths shortened in their middle (whole names
 * first, UTF-8 counted per code point), lines broken at spaces only, plurals, and error messages
 * that keep their words and lose every address, path, URL and known name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/report.h"

static void shorten_is(const char *in, size_t cols, bool path, const char *want)
{
	char out[512];
	report_text_shorten(in, cols, path, out, sizeof out);
	if (strcmp(out, want) != 0)
		fail_msg("shorten(%s, %zu) = '%s', expected '%s'", in, cols, out, want);
	assert_true(report_text_cols(out) <= cols);
}

static void t_shorten(void **state)
{
	(void)state;
	const char *p = "Inbox/Clients/Contoso Ltd/Project 44/Q3";
	shorten_is(p, 60, true, p);                                   /* fits: whole */
	shorten_is(p, 35, true, "Inbox/…/Contoso Ltd/Project 44/Q3"); /* whole names left out, from the middle */
	shorten_is(p, 25, true, "Inbox/…/Project 44/Q3");
	shorten_is(p, 12, true, "Inbox/…/Q3");
	shorten_is(p, 6, true, "…/Q3");
	shorten_is("/Top of Information Store/Inbox/Projects/2024", 40, true, "/Top of Information Store/…/2024");
	shorten_is("Inbox/a\\/b/c\\/d/end", 14, true, "Inbox/…/end");  /* escaped '/' is part of a name */
	shorten_is("abcdefghijklmnopqrstuvwxyz", 9, false, "abcd…wxyz");
	shorten_is("Posteingang/Überfällige Rechnungen 2024", 20, true, "Posteinga…ungen 2024"); /* no name fits: characters */
	shorten_is("äöüäöüäöüä", 5, false, "äö…üä");
	/* a URL keeps its scheme and host */
	shorten_is("http://127.0.0.1:34159/EWS/Exchange.asmx", 38, true, "http://127.0.0.1:34159/…/Exchange.asmx");
	assert_int_equal(report_text_cols("Überfällig…"), 11);
}

/* Wraps text into a string. */
static char *wrap(int width, const char *first, int indent, const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	report_text_wrap(fp, width, first, indent, text);
	fclose(fp);
	return buf;
}

static void t_wrap(void **state)
{
	(void)state;
	const char *text = "Resynchronize the folder (Properties > Clear Offline Items, then Update Folder).";
	for (int width = 20; width <= 90; width += 7) {
		char *out = wrap(width, "  -> ", 5, text);
		/* every line fits, and the lines joined by one space give the text back: no word was cut */
		char joined[512] = "";
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
			assert_true(report_text_cols(line) <= (size_t)width);
			char *t = line;
			while (*t == ' ')
				t++;
			if (*joined)
				strcat(joined, " ");
			strcat(joined, strncmp(t, "-> ", 3) == 0 ? t + 3 : t);
		}
		if (strcmp(joined, text) != 0)
			fail_msg("width %d: '%s'", width, joined);
		free(out);
	}
	/* a prefix wider than the indent: a word that does not fit after it starts the next line */
	char *out = wrap(24, "  line 6    lost-cache  ", 4, "failed: cache file missing");
	assert_string_equal(out, "  line 6    lost-cache  \n    failed: cache file\n    missing\n");
	free(out);
	/* a word wider than a line is shortened in its middle, never cut at the end */
	out = wrap(20, "", 0, "see /very/long/path/to/a/file/named/report.json now");
	assert_non_null(strstr(out, "…"));
	assert_non_null(strstr(out, "report.json"));
	free(out);
}

static void t_plural(void **state)
{
	(void)state;
	char b[64];
	assert_string_equal(report_plural(b, sizeof b, 1, "finding", "findings"), "1 finding");
	assert_string_equal(report_plural(b, sizeof b, 0, "finding", "findings"), "0 findings");
	assert_string_equal(report_plural(b, sizeof b, 12345, "item", "items"), "12,345 items");
	assert_string_equal(report_plural(b, sizeof b, 1000000, "item", "items"), "1,000,000 items");
	assert_string_equal(report_plural(b, sizeof b, 7, "", ""), "7");
}

static void t_redact_text(void **state)
{
	(void)state;
	const uint8_t key[] = "0123456789abcdef0123456789abcdef";
	const char *known[] = {"Secret Project", "alice@contoso.com", NULL};
	char *out = report_redact_text(key, 32,
	                               "FindItem on Inbox/Secret Project of alice@contoso.com: ErrorAccessDenied "
	                               "(bob@contoso.com at https://mail.contoso.com/EWS/Exchange.asmx, see C:\\Users\\bob\\x.log)",
	                               known, 3);
	assert_non_null(out);
	const char *gone[] = {"Secret", "alice", "bob", "contoso", "Users", "x.log"};
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
		if (strstr(out, gone[i]))
			fail_msg("'%s' left in '%s'", gone[i], out);
	/* the words stay, and the hashes are the keyed ones */
	assert_non_null(strstr(out, "FindItem on "));
	assert_non_null(strstr(out, ": ErrorAccessDenied ("));
	char h[22];
	report_hash(key, 32, "alice@contoso.com", h);
	assert_non_null(strstr(out, h));
	free(out);
	/* a known name inside a longer word is left alone: "Secret Projects" is another folder */
	out = report_redact_text(key, 32, "Secret Projects is fine", known, 3);
	assert_string_equal(out, "Secret Projects is fine");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_shorten),
		cmocka_unit_test(t_wrap),
		cmocka_unit_test(t_plural),
		cmocka_unit_test(t_redact_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
