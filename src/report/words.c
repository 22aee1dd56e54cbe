/* words.c: the report's codes in words, for the text and the HTML renderings (a finding's kind as
 * a phrase, each side's value of a changed property, which side is newer, plurals). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *report_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

long long report_jint(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

long long report_jat(const json_t *o, const char *k, size_t i)
{
	return (long long)json_integer_value(json_array_get(json_object_get(o, k), i));
}

const char *report_plural(char *out, size_t size, long long n, const char *one, const char *many)
{
	char num[32];
	snprintf(num, sizeof num, "%lld", n);
	/* thousands separated: 12,345 */
	char sep[48];
	size_t len = strlen(num), k = 0;
	for (size_t i = 0; i < len && k + 2 < sizeof sep; i++) {
		sep[k++] = num[i];
		if (num[i] != '-' && (len - i - 1) % 3 == 0 && i + 1 < len)
			sep[k++] = ',';
	}
	sep[k] = '\0';
	const char *noun = n == 1 ? one : many;
	snprintf(out, size, "%s%s%s", sep, *noun ? " " : "", noun);
	return out;
}

const char *report_verdict_words(const char *v)
{
	if (strcmp(v, "in_sync") == 0)
		return "in sync";
	if (strcmp(v, "in_sync_except_expected") == 0)
		return "in sync, except expected differences";
	if (strcmp(v, "resync_folders") == 0)
		return "resynchronize folders";
	if (strcmp(v, "rebuild_ost") == 0)
		return "rebuild the OST";
	if (strcmp(v, "incomplete") == 0)
		return "incomplete";
	return v;
}

const char *report_forced_words(const json_t *root)
{
	const char *f = report_jstr(json_object_get(root, "options"), "forced");
	if (strcmp(f, "pst_as_cache") == 0)
		return "Compared with --force although a .pst file was compared as the cache of a mailbox: read the "
		       "findings with that in mind.";
	if (strcmp(f, "other_mailbox") == 0)
		return "Compared with --force although the two sides name different mailboxes: read the findings with "
		       "that in mind.";
	if (strcmp(f, "unrelated") == 0)
		return "Compared with --force although the two sides share almost no item: read the findings with that "
		       "in mind.";
	return NULL;
}

void report_where(const char *label, char *out, size_t size)
{
	if (!*label)
		*out = '\0';
	else if (strcmp(label, "server") == 0 || strcmp(label, "cache") == 0)
		snprintf(out, size, "%s the %s", label[0] == 's' ? "on" : "in", label);
	else
		snprintf(out, size, "%s %s", label[0] == 's' ? "on" : "in", label);
}

static const char *class_words(const char *cls)
{
	static const struct {
		const char *prefix, *words;
	} names[] = {
		{"IPM.Schedule.Meeting", "meeting message"}, {"IPM.Appointment", "appointment"}, {"IPM.Contact", "contact"},
		{"IPM.DistList", "contact group"}, {"IPM.Task", "task"}, {"IPM.StickyNote", "note"},
		{"IPM.Activity", "journal entry"}, {"IPM.Post", "post"}, {"IPM.Note", "message"},
		{"REPORT.IPM", "delivery report"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i].prefix);
		if (strncmp(cls, names[i].prefix, n) == 0 && (cls[n] == '\0' || cls[n] == '.'))
			return names[i].words;
	}
	return NULL;
}

void report_kind_phrase(const json_t *f, char *out, size_t size)
{
	const char *kind = report_jstr(f, "kind");
	char where[64];
	report_where(report_jstr(f, "side_label"), where, sizeof where);
	const char *sp = *where ? " " : "";
	bool many = json_is_true(json_object_get(f, "summarized"));
	if (strcmp(kind, "item_missing") == 0 && many) {
		char n[48];
		snprintf(out, size, "%s missing%s%s", report_plural(n, sizeof n, report_jint(f, "count"), "more item", "more items"),
		         sp, where);
	} else if (strcmp(kind, "item_missing") == 0)
		snprintf(out, size, "Item missing%s%s", sp, where);
	else if (strcmp(kind, "folder_missing") == 0)
		snprintf(out, size, "Folder missing%s%s", sp, where);
	else if (strcmp(kind, "item_changed") == 0)
		snprintf(out, size, many ? "More items changed" : "Item changed");
	else if (strcmp(kind, "item_moved") == 0)
		snprintf(out, size, many ? "More items in different folders" : "Item in different folders");
	else if (strcmp(kind, "folder_renamed") == 0)
		snprintf(out, size, "Folder named differently");
	else if (strcmp(kind, "folder_moved") == 0)
		snprintf(out, size, "Folder in different places");
	else if (strcmp(kind, "duplicate_key") == 0)
		snprintf(out, size, "Two objects with one key%s%s", sp, where);
	else if (strcmp(kind, "item_unreadable") == 0)
		snprintf(out, size, "Unreadable item%s%s", sp, where);
	else if (strcmp(kind, "folder_unreadable") == 0)
		snprintf(out, size, "Unreadable folder%s%s", sp, where);
	else if (strcmp(kind, "file_damaged") == 0)
		snprintf(out, size, "Damaged file%s%s", sp, where);
	else if (strcmp(kind, "count_mismatch") == 0)
		snprintf(out, size, "Stored count wrong%s%s", sp, where);
	else if (strcmp(kind, "source_incomplete") == 0)
		snprintf(out, size, "Could not be read%s%s", sp, where);
	else
		snprintf(out, size, "%s", kind);
}

/* The label of a side of the report (its "sides" array). */
static const char *side_label(const json_t *root, size_t s)
{
	const char *l = report_jstr(json_array_get(json_object_get(root, "sides"), s), "label");
	return *l ? l : s ? "B" : "A";
}

static void value_words(const char *prop, const json_t *v, char *out, size_t size)
{
	if (json_is_null(v) || !v) {
		snprintf(out, size, "unknown");
	} else if (strcmp(prop, "read") == 0) {
		snprintf(out, size, "%s", json_is_true(v) ? "yes" : "no");
	} else if (strcmp(prop, "flag_status") == 0) {
		long long n = json_integer_value(v);
		snprintf(out, size, "%s", n == 2 ? "flagged" : n == 1 ? "completed" : n == 0 ? "not flagged" : "unknown");
	} else if (strcmp(prop, "importance") == 0) {
		long long n = json_integer_value(v);
		snprintf(out, size, "%s", n == 2 ? "high" : n == 1 ? "normal" : n == 0 ? "low" : "unknown");
	} else if (strcmp(prop, "subject") == 0 || strcmp(prop, "name") == 0) {
		snprintf(out, size, "\"%s\"", json_string_value(v) ? json_string_value(v) : "");
	} else if (json_is_string(v)) {
		snprintf(out, size, "%s", *json_string_value(v) ? json_string_value(v) : "(none)");
	} else {
		char *d = json_dumps(v, JSON_ENCODE_ANY);
		snprintf(out, size, "%s", d ? d : "?");
		free(d);
	}
}

void report_evidence_words(const json_t *root, const json_t *f, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	const json_t *e;
	size_t i;
	json_array_foreach(json_object_get(f, "evidence"), i, e) {
		const char *prop = report_jstr(e, "property");
		const json_t *v = json_object_get(e, "values");
		char a[600], b[600];
		value_words(prop, json_array_get(v, 0), a, sizeof a);
		value_words(prop, json_array_get(v, 1), b, sizeof b);
		const char *name = strcmp(prop, "flag_status") == 0 ? "flag" : strcmp(prop, "class") == 0 ? "type" : prop;
		if (n >= size)
			break;
		if (strcmp(prop, "change_key") == 0)
			n += (size_t)snprintf(out + n, size - n, "%sversion (change key): different on each side", n ? "; " : "");
		else
			n += (size_t)snprintf(out + n, size - n, "%s%s: %s %s, %s %s", n ? "; " : "", name, side_label(root, 0), a,
			                      side_label(root, 1), b);
	}
}

void report_newer_words(const json_t *f, char *out, size_t size)
{
	const char *nw = report_jstr(f, "newer");
	out[0] = '\0';
	if (!*nw || strcmp(nw, "unknown") == 0)
		return;
	if (strcmp(nw, "conflict") == 0)
		snprintf(out, size, "Both sides changed it since they last agreed (a conflict).");
	else if (strcmp(nw, "same") == 0)
		snprintf(out, size, "Both sides hold the same version.");
	else
		snprintf(out, size, "The %s's version is newer%s.", nw,
		         strncmp(nw, "cache", 5) == 0 ? " (a change not uploaded yet)" : "");
}

void report_finding_details(const json_t *f, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
#define ADD(...)                                                                                  \
	do {                                                                                          \
		if (n < size)                                                                             \
			n += (size_t)snprintf(out + n, size - n, __VA_ARGS__);                                \
	} while (0)
	const char *kind = report_jstr(f, "kind");
	if (json_is_true(json_object_get(f, "summarized"))) {
		const json_t *d = json_object_get(f, "dates");
		ADD("summed up, dated %.10s to %.10s", report_jstr(d, "oldest"), report_jstr(d, "newest"));
		return;
	}
	if (*report_jstr(f, "subject"))
		ADD("\"%s\"", report_jstr(f, "subject"));
	const char *cls = report_jstr(f, "class");
	const char *cw = *cls ? class_words(cls) : NULL;
	bool paren = *cls || *report_jstr(f, "date");
	if (paren)
		ADD("%s(", n ? " " : "");
	if (*cls)
		ADD("%s", cw ? cw : cls);
	if (*report_jstr(f, "date"))
		ADD("%s%.10s", *cls ? ", " : "", report_jstr(f, "date"));
	if (paren)
		ADD(")");
	if (json_is_true(json_object_get(f, "associated")))
		ADD("%shidden (associated) item", n ? ", " : "");
	if (strcmp(kind, "count_mismatch") == 0) {
		const char *what = report_jstr(f, "what");
		ADD("%sthe folder's stored %s is %lld, but %lld were found", n ? "; " : "",
		    strcmp(what, "unread_count") == 0 ? "unread count" : "item count", report_jint(f, "stored"),
		    report_jint(f, "found"));
	}
	if (strcmp(kind, "file_damaged") == 0) {
		const char *what = report_jstr(f, "what");
		if (strcmp(what, "corrupted_flag") == 0)
			ADD("%sthe file is flagged as corrupted", n ? "; " : "");
		else if (strcmp(what, "orphan_items") == 0)
			ADD("%s%lld item%s belong to no folder (orphans)", n ? "; " : "", report_jint(f, "found"),
			    report_jint(f, "found") == 1 ? "" : "s");
		else if (*what)
			ADD("%sa part of the file could not be read", n ? "; " : "");
	}
	const json_t *err = json_object_get(f, "error");
	if (err && *report_jstr(err, "message"))
		ADD("%s%s", n ? "; " : "", report_jstr(err, "message"));
#undef ADD
}

bool report_row_interesting(const json_t *row)
{
	const json_t *paths = json_object_get(row, "paths");
	const json_t *unr = json_object_get(row, "unreadable");
	bool one_sided = json_is_null(json_array_get(paths, 0)) || json_is_null(json_array_get(paths, 1));
	return report_jint(row, "findings") || report_jint(row, "differing") || report_jat(row, "missing_on", 0) ||
	       report_jat(row, "missing_on", 1) || report_jint(row, "unverified") ||
	       json_is_true(json_array_get(unr, 0)) || json_is_true(json_array_get(unr, 1)) ||
	       (one_sided && !json_object_get(row, "by_design"));
}

/* Folders whose items came without keys (neither source key nor counter) on side s: their items
 * were paired by class, subject, date and folder, which the reader should know. */
bool report_keyless_words(const json_t *root, size_t s, char *out, size_t size)
{
	const json_t *rows = json_object_get(root, "folders"), *row;
	const char *first = NULL;
	size_t i, n = 0;
	json_array_foreach(rows, i, row) {
		if (report_jat(row, "keyless", s) > 0 && n++ == 0)
			first = report_jstr(row, "folder");
	}
	if (!n) {
		if (size)
			out[0] = '\0';
		return false;
	}
	char a[64];
	snprintf(out, size, "No source keys on the %s side in %s (%s%s): items there were paired by class, subject, "
	         "date and folder.", side_label(root, s), report_plural(a, sizeof a, (long long)n, "folder", "folders"),
	         first ? first : "", n > 1 ? ", ..." : "");
	return true;
}

/* The order findings are shown in, most serious kind first (unknown kinds last). */
int report_kind_rank(const char *k)
{
	static const char *const order[] = {"source_incomplete", "file_damaged", "folder_unreadable",
	                                    "count_mismatch",    "item_unreadable", "duplicate_key",
	                                    "folder_missing",    "item_missing", "item_changed",
	                                    "item_moved",        "folder_moved", "folder_renamed", NULL};
	for (int i = 0; order[i]; i++)
		if (strcmp(k, order[i]) == 0)
			return i;
	return 99;
}

report_verdict_kind report_verdict_kind_of(const char *verdict)
{
	if (strncmp(verdict, "in_sync", 7) == 0)
		return REPORT_V_IN_SYNC;
	if (strcmp(verdict, "resync_folders") == 0)
		return REPORT_V_RESYNC;
	if (strcmp(verdict, "rebuild_ost") == 0)
		return REPORT_V_REBUILD;
	return REPORT_V_INCOMPLETE;
}
