/* What each Exchange version's EWS accepts (src/ews/version.c): the distinguished folder names,
 * SyncScope and associated traversal by version (as the 2007 SP1 and 2010 SP2 schemas have them),
 * the versions stepped down to when one is refused, and the version a ServerVersionInfo names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ews/internal.h"

static void names_by_version(void **state)
{
	/* Exchange 2007 SP1 knows the first sixteen names only */
	assert_true(ews_version_knows_name("Exchange2007_SP1", "inbox"));
	assert_true(ews_version_knows_name("Exchange2007_SP1", "searchfolders"));
	assert_false(ews_version_knows_name("Exchange2007_SP1", "recoverableitemsroot"));
	assert_false(ews_version_knows_name("Exchange2007_SP1", "syncissues"));
	/* 2010 SP1 and SP2 add the Recoverable Items folders, not Sync Issues and its kin */
	assert_true(ews_version_knows_name("Exchange2010_SP2", "recoverableitemspurges"));
	assert_false(ews_version_knows_name("Exchange2010_SP2", "conflicts"));
	assert_false(ews_version_knows_name("Exchange2010_SP2", "conversationhistory"));
	assert_false(ews_version_knows_name("Exchange2010_SP2", "todosearch"));
	assert_false(ews_version_knows_name("Exchange2010", "recoverableitemsroot"));
	/* 2013 and later know them all */
	assert_true(ews_version_knows_name("Exchange2013", "todosearch"));
	assert_true(ews_version_knows_name("Exchange2013_SP1", "serverfailures"));
	assert_true(ews_version_knows_name("V2017_07_11", "localfailures"));

	assert_false(ews_version_sync_scope("Exchange2007_SP1"));
	assert_true(ews_version_sync_scope("Exchange2010"));
	assert_false(ews_version_associated("Exchange2007_SP1"));
	assert_true(ews_version_associated("Exchange2010_SP2"));
	assert_true(ews_server_version_valid("Exchange2016"));
	assert_false(ews_server_version_valid("Exchange2019")); /* not a schema value */
}

static void step_down(void **state)
{
	static const char *const expect[] = {"Exchange2013_SP1", "Exchange2013", "Exchange2010_SP2", "Exchange2010_SP1",
	                                     "Exchange2010", "Exchange2007_SP1", NULL};
	const char *v = "V2017_07_11";
	for (int i = 0; expect[i]; i++) {
		v = ews_version_step_down(v);
		assert_non_null(v);
		assert_string_equal(v, expect[i]);
	}
	assert_null(ews_version_step_down(v));
	assert_true(ews_version_older("Exchange2010_SP2", "Exchange2013"));
	assert_false(ews_version_older("Exchange2013_SP1", "Exchange2013_SP1"));
}

static const char *said(int major, int minor, int build, const char *schema)
{
	static ews_page pg;
	memset(&pg, 0, sizeof pg);
	pg.server_major = major;
	pg.server_minor = minor;
	pg.server_build = build;
	snprintf(pg.server_schema, sizeof pg.server_schema, "%s", schema);
	return ews_version_of_server(&pg);
}

static void version_from_server_version_info(void **state)
{
	assert_string_equal(said(8, 1, 240, ""), "Exchange2007_SP1");   /* 2007 SP1 says no Version */
	assert_string_equal(said(8, 3, 83, ""), "Exchange2007_SP1");    /* 2007 SP3 */
	assert_string_equal(said(14, 2, 247, "Exchange2010_SP2"), "Exchange2010_SP2");
	assert_string_equal(said(14, 3, 123, ""), "Exchange2010_SP2");  /* 2010 SP3 speaks SP2's schema */
	assert_string_equal(said(14, 1, 218, ""), "Exchange2010_SP1");
	assert_string_equal(said(15, 0, 516, ""), "Exchange2013");
	assert_string_equal(said(15, 0, 847, ""), "Exchange2013_SP1");
	assert_string_equal(said(15, 1, 2507, "V2017_07_11"), "V2017_07_11");
	assert_null(said(15, 20, 5000, "V2018_01_08")); /* Exchange Online: newer than anything sent */
	assert_null(said(0, 0, 0, ""));                  /* no ServerVersionInfo */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_by_version),
		cmocka_unit_test(step_down),
		cmocka_unit_test(version_from_server_version_info),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
