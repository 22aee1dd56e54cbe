/* Key derivation on hand-made byte values (src/ost/keys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ost/ost.h"

static const uint8_t guid_a[16] = {0x6a, 0xa6, 0x2d, 0x7a, 0x1b, 0x3a, 0xc5, 0x44,
                                   0x9d, 0x53, 0x43, 0x1f, 0xbe, 0xa2, 0x94, 0x02};
static const uint8_t guid_b[16] = {0xf6, 0x96, 0x9b, 0x54, 0xaa, 0xb8, 0xb4, 0x42,
                                   0xa4, 0x6d, 0x25, 0x51, 0xf0, 0x38, 0xa2, 0x43};
static const uint8_t guid_c[16] = {0xc3, 0xb6, 0x8e, 0x10, 0xf7, 0x75, 0x11, 0xce,
                                   0xb4, 0xcd, 0x00, 0xaa, 0x00, 0xbb, 0xb6, 0xe6};

static void prq_split_reads_replid_le_and_gc_in_xid_order(void **state)
{
	/* The domain example: an Inbox message of the real OST. */
	const uint8_t prq[8] = {0x01, 0x00, 0x00, 0x00, 0x19, 0x82, 0x1a, 0x8a};
	uint16_t replid = 0;
	uint8_t gc[6];
	ost_prq_split(prq, &replid, gc);
	assert_int_equal(replid, 1);
	const uint8_t want[6] = {0x00, 0x00, 0x19, 0x82, 0x1a, 0x8a};
	assert_memory_equal(gc, want, 6);

	const uint8_t prq2[8] = {0x02, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	ost_prq_split(prq2, &replid, gc);
	assert_int_equal(replid, 0x0102);
	assert_int_equal(gc[0], 0xaa);
	assert_int_equal(gc[5], 0xff);
}

static void entryid_parse_takes_guid_and_gc(void **state)
{
	/* 0x36D0 of the real OST's Inbox: the Calendar, GC 0x1d. */
	uint8_t eid[46] = {0};
	eid[20] = 0x01;
	memcpy(eid + 22, guid_a, 16);
	eid[43] = 0x1d;
	uint8_t guid[16], gc[6];
	assert_int_equal(ost_folder_entryid_parse(eid, sizeof eid, guid, gc), 0);
	assert_memory_equal(guid, guid_a, 16);
	const uint8_t want[6] = {0, 0, 0, 0, 0, 0x1d};
	assert_memory_equal(gc, want, 6);
	/* Wrong length or type: not a folder entry id. */
	assert_int_equal(ost_folder_entryid_parse(eid, 45, guid, gc), -1);
	eid[20] = 0x07;
	assert_int_equal(ost_folder_entryid_parse(eid, sizeof eid, guid, gc), -1);
	assert_int_equal(ost_folder_entryid_parse(NULL, 46, guid, gc), -1);
}

static void replica_map_learns_checks_table_and_flags_conflicts(void **state)
{
	uint8_t table[2][16];
	memcpy(table[0], guid_a, 16);
	memcpy(table[1], guid_b, 16);
	ost_replica_map m;
	memset(&m, 0, sizeof m);
	m.table = table;
	m.n_table = 2;

	assert_int_equal(ost_replica_learn(&m, 1, guid_a, "test"), 0);
	assert_int_equal(ost_replica_learn(&m, 1, guid_a, "test"), 0); /* consistent evidence */
	assert_memory_equal(ost_replica_guid(&m, 1), guid_a, 16);
	assert_null(ost_replica_guid(&m, 2));
	/* A GUID that is not in the replica table is refused. */
	assert_int_equal(ost_replica_learn(&m, 3, guid_c, "test"), -1);
	assert_null(ost_replica_guid(&m, 3));
	/* Contradicting evidence makes the replid unusable rather than picking one. */
	assert_int_equal(ost_replica_learn(&m, 2, guid_b, "test"), 0);
	assert_int_equal(ost_replica_learn(&m, 2, guid_a, "test"), 1);
	assert_null(ost_replica_guid(&m, 2));
}

static void ident_from_prq_builds_the_source_key_or_gc_only(void **state)
{
	ost_replica_map m;
	memset(&m, 0, sizeof m);
	ost_replica_learn(&m, 1, guid_a, "test");
	const uint8_t prq[8] = {0x01, 0x00, 0x00, 0x00, 0x19, 0x82, 0x1a, 0x8a};
	snap_ident id;
	snap_ident_init(&id);
	ost_ident_from_prq(&m, prq, &id);
	assert_true(id.has_key);
	assert_int_equal(id.origin, KEY_REPLICA);
	assert_int_equal(id.replid, 1);
	char hex[45];
	hex_encode(id.key, SNAP_KEY_LEN, hex);
	assert_string_equal(hex, "6aa62d7a1b3ac5449d53431fbea2940200001982" "1a8a");

	const uint8_t prq0[8] = {0x00, 0x00, 0, 0, 0, 0, 0, 0x0c}; /* replid 0: not in the map */
	snap_ident_init(&id);
	ost_ident_from_prq(&m, prq0, &id);
	assert_false(id.has_key);
	assert_true(id.has_gc);
	assert_int_equal(id.origin, KEY_GC_ONLY);
	assert_int_equal(id.gc[5], 0x0c);
}

static void source_key_must_be_22_bytes(void **state)
{
	uint8_t sk[22];
	memcpy(sk, guid_b, 16);
	memset(sk + 16, 0x42, 6);
	snap_ident id;
	snap_ident_init(&id);
	assert_int_equal(ost_ident_from_source_key(sk, 22, &id), 0);
	assert_int_equal(id.origin, KEY_SOURCE_KEY);
	assert_memory_equal(id.key, sk, 22);
	assert_memory_equal(id.gc, sk + 16, 6);
	snap_ident_init(&id);
	assert_int_equal(ost_ident_from_source_key(sk, 21, &id), -1);
	assert_false(id.has_key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prq_split_reads_replid_le_and_gc_in_xid_order),
		cmocka_unit_test(entryid_parse_takes_guid_and_gc),
		cmocka_unit_test(replica_map_learns_checks_table_and_flags_conflicts),
		cmocka_unit_test(ident_from_prq_builds_the_source_key_or_gc_only),
		cmocka_unit_test(source_key_must_be_22_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
