/* roles.c: what a cache folder is, by its place in the tree and its (English) name. Entry ids on
 * the message store and the Inbox name special folders in any language; reader.c tries those first. */
#include "internal.h"

#include <string.h>
#include <strings.h>

const ost_special_entryid ost_special_entryids[] = {
	{0x35E0, -1, true, "msgfolderroot"},  {0x35E2, -1, true, "outbox"},
	{0x35E3, -1, true, "deleteditems"},   {0x35E4, -1, true, "sentitems"},
	{0x35E5, -1, true, "views"},          {0x35E6, -1, true, "commonviews"},
	{0x35E7, -1, true, "searchfolders"},  {0x36D0, -1, false, "calendar"},
	{0x36D1, -1, false, "contacts"},      {0x36D2, -1, false, "journal"},
	{0x36D3, -1, false, "notes"},         {0x36D4, -1, false, "tasks"},
	{0x36D5, -1, false, "reminders"},     {0x36D6, -1, false, "reminders"},
	{0x36D7, -1, false, "drafts"},        {0x36D8, 0, false, "conflicts"},
	{0x36D8, 1, false, "syncissues"},     {0x36D8, 2, false, "localfailures"},
	{0x36D8, 3, false, "serverfailures"}, {0x36D8, 4, false, "junkemail"},
};
const size_t ost_n_special_entryids = sizeof ost_special_entryids / sizeof ost_special_entryids[0];

typedef struct {
	const char *parent; /* role of the parent, or "*" for any */
	const char *name;
	const char *role;
} name_rule;

static const name_rule rules[] = {
	{"fileroot", "Root - Mailbox", "root"},
	{"fileroot", "Root - Public", "publicroot"},
	{"fileroot", "Top of Personal Folders", "msgfolderroot"},
	{"fileroot", "Top of Outlook data file", "msgfolderroot"},
	{"fileroot", "Top of Information Store", "msgfolderroot"},
	{"root", "IPM_SUBTREE", "msgfolderroot"},
	{"root", "Top of Information Store", "msgfolderroot"},
	{"root", "NON_IPM_SUBTREE", "nonipmsubtree"},
	{"root", "Finder", "searchfolders"},
	{"root", "Views", "views"},
	{"root", "Common Views", "commonviews"},
	{"root", "Shortcuts", "shortcuts"},
	{"root", "~MAPISP(Internal)", "spooler"},
	{"root", "Drizzle", "drizzle"},
	{"root", "Shared Data", "shareddata"},
	{"root", "Recoverable Items", "recoverableitemsroot"},
	{"publicroot", "IPM_SUBTREE", "publicipmsubtree"},
	{"publicroot", "NON_IPM_SUBTREE", "nonipmsubtree"},
	{"recoverableitemsroot", "Deletions", "recoverableitemsdeletions"},
	{"recoverableitemsroot", "Versions", "recoverableitemsversions"},
	{"recoverableitemsroot", "Purges", "recoverableitemspurges"},
	{"recoverableitemsroot", "DiscoveryHolds", "recoverableitemsdiscoveryholds"},
	{"searchfolders", "Reminders", "reminders"},
	{"searchfolders", "To-Do Search", "todosearch"},
	{"msgfolderroot", "Inbox", "inbox"},
	{"msgfolderroot", "Drafts", "drafts"},
	{"msgfolderroot", "Sent Items", "sentitems"},
	{"msgfolderroot", "Deleted Items", "deleteditems"},
	{"msgfolderroot", "Outbox", "outbox"},
	{"msgfolderroot", "Junk E-mail", "junkemail"},
	{"msgfolderroot", "Junk Email", "junkemail"},
	{"msgfolderroot", "Calendar", "calendar"},
	{"msgfolderroot", "Contacts", "contacts"},
	{"msgfolderroot", "Tasks", "tasks"},
	{"msgfolderroot", "Notes", "notes"},
	{"msgfolderroot", "Journal", "journal"},
	{"msgfolderroot", "Sync Issues", "syncissues"},
	{"msgfolderroot", "RSS Feeds", "rssfeeds"},
	{"msgfolderroot", "Conversation Action Settings", "conversationactionsettings"},
	{"msgfolderroot", "Quick Step Settings", "quickstepsettings"},
	{"msgfolderroot", "Suggested Contacts", "suggestedcontacts"},
	{"msgfolderroot", "Conversation History", "conversationhistory"},
	{"syncissues", "Conflicts", "conflicts"},
	{"syncissues", "Local Failures", "localfailures"},
	{"syncissues", "Server Failures", "serverfailures"},
};

const char *ost_role_by_name(const char *parent_role, const char *name, int64_t folder_type)
{
	if (!parent_role)
		return "fileroot";
	if (name) {
		for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
			if (strcmp(rules[i].parent, parent_role) == 0 && strcasecmp(rules[i].name, name) == 0)
				return rules[i].role;
		if (strncmp(name, "MS-OLK-", 7) == 0 && strstr(name, "PooledSearchFolder"))
			return "search";
	}
	if (folder_type == 2 || strcmp(parent_role, "searchfolders") == 0)
		return "search";
	/* Below the IPM subtree everything is a user-visible folder, whatever its depth. */
	static const char *const ipm_parents[] = {
		"msgfolderroot", "ipm", "inbox", "drafts", "sentitems", "deleteditems", "outbox", "junkemail",
		"calendar", "contacts", "tasks", "notes", "journal", "archive", "rssfeeds", "conversationhistory",
	};
	for (size_t i = 0; i < sizeof ipm_parents / sizeof ipm_parents[0]; i++)
		if (strcmp(parent_role, ipm_parents[i]) == 0)
			return "ipm";
	return "other";
}

bool ost_role_fits_class(const char *role, const char *cls)
{
	static const struct {
		const char *role, *cls;
	} need[] = {
		{"calendar", "IPF.Appointment"}, {"contacts", "IPF.Contact"}, {"tasks", "IPF.Task"},
		{"notes", "IPF.StickyNote"},     {"journal", "IPF.Journal"},  {"inbox", "IPF.Note"},
		{"drafts", "IPF.Note"},          {"sentitems", "IPF.Note"},   {"outbox", "IPF.Note"},
		{"junkemail", "IPF.Note"},       {"conflicts", "IPF.Note"},   {"syncissues", "IPF.Note"},
		{"localfailures", "IPF.Note"},   {"serverfailures", "IPF.Note"},
	};
	if (!cls || !*cls)
		return true;
	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		if (strcmp(need[i].role, role) != 0)
			continue;
		size_t n = strlen(need[i].cls);
		return strncasecmp(cls, need[i].cls, n) == 0 && (cls[n] == '\0' || cls[n] == '.');
	}
	return true;
}
