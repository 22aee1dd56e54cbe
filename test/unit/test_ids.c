/* Ids Exchange hands out (src/pull/ids.c) and base64 (src/core/util.c), on ids published in
 * Microsoft's documentation and in issues of other projects (docs/QUIRKS.md names each source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rng.h"

#include "pull/pull.h"

static void key_is(const uint8_t key[SNAP_KEY_LEN], const char *hex)
{
	char got[2 * SNAP_KEY_LEN + 1];
	hex_encode(key, SNAP_KEY_LEN, got);
	assert_string_equal(got, hex);
}

static void base64_both_alphabets_and_no_padding(void **state)
{
	uint8_t out[16];
	assert_int_equal(b64_decode("+/8=", out, sizeof out), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(b64_decode("-_8", out, sizeof out), 2); /* RFC 4648 section 5, unpadded */
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(b64_decode(" QU\nJD ", out, sizeof out), 3);
	assert_memory_equal(out, "ABC", 3);
	assert_int_equal(b64_decode("", out, sizeof out), 0);
	/* not base64: a stray character, a lone sixth of a byte, bits left over, data after '=' */
	assert_int_equal(b64_decode("QU*D", out, sizeof out), -1);
	assert_int_equal(b64_decode("QUJDR", out, sizeof out), -1);
	assert_int_equal(b64_decode("QR==", out, sizeof out), -1);
	assert_int_equal(b64_decode("QQ==QQ==", out, sizeof out), -1);
	/* too long for the room given */
	assert_int_equal(b64_decode("QUJDREVG", out, 5), -1);
}

/* b64_decode_n's loop of whole groups against the general decoder alone, on random bytes encoded
 * in both alphabets, padded or not, with whitespace, characters changed, cut, and room to spare
 * or not: the same count (or -1) and the same bytes. */

static void same_base64(const char *text, size_t len, size_t max)
{
	uint8_t fast[200], slow[200];
	assert_true(max <= sizeof fast);
	int a = b64_decode_n(text, len, fast, max), b = b64_decode_slow(text, len, slow, max);
	if (a != b || (a > 0 && memcmp(fast, slow, (size_t)a) != 0))
		fail_msg("\"%.*s\" (room %zu): fast %d, general %d", (int)len, text, max, a, b);
	if (!memchr(text, '\0', len)) {
		char copy[400];
		memcpy(copy, text, len);
		copy[len] = '\0';
		assert_int_equal(b64_decode(copy, slow, max), a);
	}
}

static void base64_fast_loop_matches_general(void **state)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char odd[] = "=-_ \n\r\t*.\0\x80\xff+/Aa0";
	size_t valid = 0;
	for (int i = 0; i < 200000; i++) {
		uint8_t raw[120];
		size_t n = rng() % sizeof raw;
		for (size_t k = 0; k < n; k++)
			raw[k] = (uint8_t)rng();
		char text[400];
		size_t len = 0;
		bool url = rng() % 2, pad = rng() % 2;
		for (size_t k = 0; k < n; k += 3) {
			uint32_t v = (uint32_t)raw[k] << 16 | (k + 1 < n ? (uint32_t)raw[k + 1] << 8 : 0) | (k + 2 < n ? raw[k + 2] : 0);
			size_t chars = k + 2 < n ? 4 : k + 1 < n ? 3 : 2;
			for (size_t c = 0; c < 4; c++) {
				char ch = c < chars ? std[v >> (18 - 6 * c) & 63] : pad ? '=' : 0;
				if (url && ch == '+')
					ch = '-';
				if (url && ch == '/')
					ch = '_';
				if (ch)
					text[len++] = ch;
			}
			if (rng() % 16 == 0)
				text[len++] = " \n"[rng() % 2];
		}
		size_t room = rng() % 4 == 0 ? rng() % (n + 2) : n + rng() % 4;
		same_base64(text, len, room);
		if (room >= n && b64_decode_n(text, len, raw, room) == (int)n)
			valid++;
		for (int k = (int)(rng() % 3); k >= 0 && len; k--)
			text[rng() % len] = odd[rng() % (sizeof odd - 1)];
		same_base64(text, len, room);
		same_base64(text, len ? rng() % len : 0, room);
	}
	assert_true(valid > 100000); /* most of the encodings read back whole */
}

static void graph_rest_folder_ids_use_their_own_alphabet(void **state)
{
	/* mailboxFolder delta example: "Inbound" and "Outbound", consecutive counters; Outbound's '_'
	 * stands for '+' (RFC 4648's URL alphabet would read ...f3ff). */
	pull_id d;
	assert_int_equal(pull_id_decode("AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQAuAAAAAADbrwBIJbBSTKolRbhHUzSHAQCQ2fKdhq8oSKEDSVrdi3lRAAACgfP9AAA=", &d), 0);
	assert_int_equal(d.kind, PULL_ID_MAILBOX);
	assert_false(d.compressed);
	assert_string_equal(d.mailbox, "e0648f21-47cf-45b2-bf78-336305c4da6a");
	assert_int_equal(d.entry_type, 1);
	key_is(d.key, "90d9f29d86af2848a103495add8b795100000281f3fd");
	assert_false(d.has_folder_key);
	uint8_t key[SNAP_KEY_LEN];
	assert_int_equal(pull_key_from_id("AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQAuAAAAAADbrwBIJbBSTKolRbhHUzSHAQCQ2fKdhq8oSKEDSVrdi3lRAAACgfP_AAA=", key), 0);
	key_is(key, "90d9f29d86af2848a103495add8b795100000281f3fe");
}

static void ews_message_id_and_its_compressed_parent(void **state)
{
	/* GetStreamingEvents example: an ItemId in the plain form and its ParentFolderId compressed. */
	pull_id item, parent;
	assert_int_equal(pull_id_decode("AAMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwBGAAAAAABSSWVKrmGUTJE+MVIvofglBwDZGACZQpSgSpyNkexYe2b7AAAAAAENAADZGACZQpSgSpyNkexYe2b7AAANGFYwAAA=", &item), 0);
	assert_int_equal(item.entry_type, 7);
	key_is(item.key, "d91800994294a04a9c8d91ec587b66fb00000d185630");
	assert_true(item.has_folder_key);
	key_is(item.folder_key, "d91800994294a04a9c8d91ec587b66fb00000000010d");
	assert_int_equal(pull_id_decode("AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUkllSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm+wAAAgENAAAA", &parent), 0);
	assert_true(parent.compressed);
	assert_int_equal(parent.entry_type, 1);
	assert_string_equal(parent.mailbox, item.mailbox);
	assert_memory_equal(parent.key, item.folder_key, SNAP_KEY_LEN);
	/* An Exchange Online calendar folder: "bb" followed by a count of 0 further repeats. */
	assert_int_equal(pull_id_decode("AQMkADg0YmE4MWRlLWRlNjctNDViYgAtYTkwMi1kOTEwYTlmYzYzN2YALgAAA1vOPRNsQopEsgufIPf97pABAOOxwNvqiPdPk2kYU+UN4kAAAAIBDgAAAA==", &parent), 0);
	assert_string_equal(parent.mailbox, "84ba81de-de67-45bb-a902-d910a9fc637f");
	key_is(parent.key, "e3b1c0dbea88f74f93691853e50de24000000000010e");
}

static void public_folder_and_occurrence_and_immutable_ids(void **state)
{
	pull_id d;
	assert_int_equal(pull_id_decode("AAEuAAAAAADL8shaNEKnQYVvRbpoY9vDAQBGDloItRzyTrAt+XVzRr/YAABdofPkAAA=", &d), 0);
	assert_int_equal(d.kind, PULL_ID_PUBLIC);
	assert_string_equal(d.mailbox, "");
	key_is(d.key, "460e5a08b51cf24eb02df9757346bfd800005da1f3e4");
	assert_int_equal(pull_id_decode("AQEuAAADy/LIWjRCp0GFb0W6aGPbwwEARg5aCLUc8k6wLfl1c0a/2AAAAxEAAAA=", &d), 0);
	assert_int_equal(d.kind, PULL_ID_PUBLIC);
	key_is(d.key, "460e5a08b51cf24eb02df9757346bfd8000000000011");

	/* The same occurrence as Graph and EWS write it: the series master's keys. */
	const char *graph = "AAMkAGUzMWEzZmRjLTkzY2EtNDMxNS1hOTMzLWRiZjQyNjE2MDc0NgFRAAgI2a_mhiqAAEYAAAAAsWi2nD1JzUqEiTxqPbFNSgcA2iKnZiVk1kCLU_Dw4WArgQAAAAABDQAA2iKnZiVk1kCLU_Dw4WArgQAASTCjRwAAEA==";
	const char *ews = "AAMkAGUzMWEzZmRjLTkzY2EtNDMxNS1hOTMzLWRiZjQyNjE2MDc0NgFRAAgI2a+mhiqAAEYAAAAAsWi2nD1JzUqEiTxqPbFNSgcA2iKnZiVk1kCLU+Dw4WArgQAAAAABDQAA2iKnZiVk1kCLU+Dw4WArgQAASTCjRwAAEA==";
	pull_id e;
	assert_int_equal(pull_id_decode(graph, &d), 0);
	assert_int_equal(pull_id_decode(ews, &e), 0);
	assert_int_equal(d.kind, PULL_ID_OCCURRENCE);
	assert_memory_equal(d.key, e.key, SNAP_KEY_LEN);
	key_is(d.key, "da22a7662564d6408b53e0f0e1602b8100004930a347");
	uint8_t key[SNAP_KEY_LEN];
	assert_int_equal(pull_key_from_id(graph, key), -1); /* not an object of its own */

	/* Immutable ids: one XID, no folder part. */
	assert_int_equal(pull_id_decode("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AkOO4xOT--0qFRAqk3TNe0QAAAy35RwAA", &d), 0);
	assert_int_equal(d.kind, PULL_ID_IMMUTABLE);
	assert_int_equal(d.entry_type, 0x0d);
	key_is(d.key, "90e3b8c4e4ffff4a85440aa4dd335ed10000032df947");
	assert_false(d.has_folder_key);
}

static void change_keys_with_and_without_header(void **state)
{
	uint8_t ck[SNAP_KEY_LEN];
	assert_int_equal(pull_change_key("CQAAABYAAACQ2fKdhq8oSKEDSVrdi3lRAAFR+6ZT", ck), 0);
	key_is(ck, "90d9f29d86af2848a103495add8b7951000151fba653");
	assert_int_equal(pull_change_key("nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==", ck), 0); /* a Graph calendar's */
	key_is(ck, "9df6727fb55cac428b368537eca5a5910000034c74fb");
	assert_int_equal(pull_change_key("CQAAAA==", ck), -1);                          /* the type alone */
	assert_int_equal(pull_change_key("not base64!", ck), -1);
}

static void ids_that_are_not_ids(void **state)
{
	pull_id d;
	const char *bad[] = {
		"",
		"!!!!",
		"AAAA",                                         /* storage type 0 */
		"AAMkAGUwNjQ4ZjIxLTQ3Y2YtNDViMi1iZjc4LTMzNjMwNWM0ZGE2YQAuAAAAAADbrwBIJbBSTKolRbhHUzSHAQCQ2fKdhq8oSKEDSVrdi3lRAAACgfP9", /* cut */
		"AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUkllSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm+wAAAgENAA", /* a pair without its count */
		"Af8A",                                          /* compressed to nothing that parses */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(pull_id_decode(bad[i], &d), -1);
		assert_int_equal(d.kind, 0);
	}
	/* A run that expands beyond any id: refused, not written past the buffer. */
	assert_int_equal(pull_id_decode("Af///////////////////w==", &d), -1); /* 01, then 5 x (ff ff 255) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_both_alphabets_and_no_padding),
		cmocka_unit_test(base64_fast_loop_matches_general),
		cmocka_unit_test(graph_rest_folder_ids_use_their_own_alphabet),
		cmocka_unit_test(ews_message_id_and_its_compressed_parent),
		cmocka_unit_test(public_folder_and_occurrence_and_immutable_ids),
		cmocka_unit_test(change_keys_with_and_without_header),
		cmocka_unit_test(ids_that_are_not_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
