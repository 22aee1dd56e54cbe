/*
 * version.c: what each Exchange version's EWS accepts (docs/QUIRKS.md, "Server versions").
 *
 * Exchange 2010 and 2007 validate every request against their own schema and refuse the whole
 * request for one value they do not know: a RequestServerVersion newer than theirs
 * (ErrorInvalidServerVersion), a distinguished folder name added later, SyncScope or
 * Traversal="Associated" on 2007 (ErrorSchemaValidation). The client sends what the version in
 * use accepts, and steps down a version when the server refuses one.
 */
#include "internal.h"

#include <string.h>

typedef enum { L2007 = 0, L2007_SP1, L2010, L2010_SP1, L2010_SP2, L2013, L2013_SP1, L2016 } level;

/* Every RequestServerVersion value of the schema (ExchangeVersionType), oldest first. */
static const struct {
	const char *name;
	level lv;
} versions[] = {
	{"Exchange2007", L2007},     {"Exchange2007_SP1", L2007_SP1}, {"Exchange2009", L2010},
	{"Exchange2010", L2010},     {"Exchange2010_SP1", L2010_SP1}, {"Exchange2010_SP2", L2010_SP2},
	{"Exchange2012", L2013},     {"Exchange2013", L2013},         {"Exchange2013_SP1", L2013_SP1},
	{"Exchange2015", L2016},     {"Exchange2016", L2016},         {"V2015_10_05", L2016},
	{"V2016_01_06", L2016},      {"V2016_04_13", L2016},          {"V2016_07_13", L2016},
	{"V2016_10_10", L2016},      {"V2017_01_07", L2016},          {"V2017_04_14", L2016},
	{"V2017_07_11", L2016},
};
#define N_VERSIONS (sizeof versions / sizeof versions[0])

/* The versions stepped down to, newest first: one per schema that changed what we send. */
static const char *const ladder[] = {
	"Exchange2013_SP1", "Exchange2013", "Exchange2010_SP2", "Exchange2010_SP1", "Exchange2010", "Exchange2007_SP1",
};

/* The distinguished folder names a version knows, by the version that added them (the 2007 SP1
 * and 2010 SP2 schemas; names of Exchange 2013 are absent from both). */
static const struct {
	const char *name;
	level since;
} names[] = {
	{"recoverableitemsroot", L2010_SP1},
	{"recoverableitemsdeletions", L2010_SP1},
	{"recoverableitemsversions", L2010_SP1},
	{"recoverableitemspurges", L2010_SP1},
	{"syncissues", L2013},
	{"conflicts", L2013},
	{"localfailures", L2013},
	{"serverfailures", L2013},
	{"conversationhistory", L2013},
	{"todosearch", L2013},
};

static int level_of(const char *v)
{
	for (size_t i = 0; v && i < N_VERSIONS; i++)
		if (strcmp(v, versions[i].name) == 0)
			return (int)versions[i].lv;
	return -1;
}

bool ews_server_version_valid(const char *v)
{
	return level_of(v) >= 0;
}

bool ews_version_knows_name(const char *v, const char *distinguished)
{
	int lv = level_of(v);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(names[i].name, distinguished) == 0)
			return lv >= (int)names[i].since;
	return true; /* the names of Exchange 2007 */
}

bool ews_version_sync_scope(const char *v)
{
	return level_of(v) >= L2010;
}

bool ews_version_associated(const char *v)
{
	return level_of(v) >= L2010;
}

const char *ews_version_step_down(const char *v)
{
	int lv = level_of(v);
	for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++)
		if (level_of(ladder[i]) < lv)
			return ladder[i];
	return NULL;
}

const char *ews_version_of_server(const ews_page *pg)
{
	for (size_t i = 0; *pg->server_schema && i < N_VERSIONS; i++)
		if (strcmp(pg->server_schema, versions[i].name) == 0)
			return versions[i].name;
	int major = pg->server_major, minor = pg->server_minor;
	if (major == 8)
		return minor == 0 ? "Exchange2007" : "Exchange2007_SP1";
	if (major == 14)
		return minor == 0 ? "Exchange2010" : minor == 1 ? "Exchange2010_SP1" : "Exchange2010_SP2";
	if (major == 15 && minor == 0) /* Exchange 2013 SP1 is build 847 */
		return pg->server_build >= 847 ? "Exchange2013_SP1" : "Exchange2013";
	return NULL; /* newer: everything we send is accepted */
}

bool ews_version_older(const char *a, const char *b)
{
	return level_of(a) < level_of(b);
}
