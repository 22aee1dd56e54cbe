/*
 * redact.c: redaction of a report for tickets that leave the company (--redact).
 *
 * Every identifying string becomes "hmac:" + 16 hex digits of HMAC-SHA256 under the run's key
 * (report_hash): mailbox addresses, subjects, ids, file paths and snapshot names, the server's
 * host, and folder names other than the well-known ones. Paths are redacted name by name, so a
 * redacted path keeps its shape ("Inbox/hmac:…/hmac:…") and the same folder name gives the same
 * hash everywhere; a special folder with a name of its own language shows its role ("[inbox]").
 * Error messages keep their words but lose every folder name, address, path and URL they quote.
 * What diagnosis needs stays: roles, classes, counts, dates, kinds, codes and source keys.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Folder names that identify nobody: the ones Exchange and Outlook give (English), and the
 * anchors of normalized paths. */
static const char *const well_known[] = {
	"[IPM subtree]", "[root]", "Root - Mailbox", "Root - Public", "IPM_SUBTREE", "NON_IPM_SUBTREE",
	"Top of Information Store", "Top of Personal Folders", "Top of Outlook data file", "Inbox", "Outbox",
	"Sent Items", "Deleted Items", "Drafts", "Junk E-mail", "Junk Email", "Calendar", "Contacts", "Tasks",
	"Notes", "Journal", "Sync Issues", "Conflicts", "Local Failures", "Server Failures", "RSS Feeds",
	"RSS Subscriptions", "Conversation Action Settings", "Quick Step Settings", "Suggested Contacts",
	"Conversation History", "Archive", "Finder", "Views", "Common Views", "Shortcuts", "~MAPISP(Internal)",
	"Drizzle", "Shared Data", "Reminders", "To-Do Search", "Tracked Mail Processing", "ItemProcSearch",
	"Recoverable Items", "Deletions", "Versions", "Purges", "DiscoveryHolds", "Audits", "Calendar Logging",
	"Deferred Action", "Freebusy Data", "Schedule", "Spooler Queue", "Yammer Root", "Files",
	"Social Activity Notifications", "Clutter", "ExternalContacts", "PersonMetadata", "Working Set",
	"Companies", "Recipient Cache", "Organizational Contacts", "GAL Contacts", "Outbound", "Inbound",
	"Feeds", "Birthdays", "Search Root", "SPAM Search Folder 2", "Quick Contacts", "IM Contact List",
	"Contact Search", "Document Centric Conversations", "Orion Notes", "To-Do", "Top of Personal Folders",
	NULL,
};

/* Roles that say nothing beyond "a folder": such a folder's own name is hashed. */
static bool plain_role(const char *role)
{
	return !role || !*role || strcmp(role, "ipm") == 0 || strcmp(role, "other") == 0 || strcmp(role, "search") == 0;
}

static bool is_well_known(const char *name)
{
	if (!*name)
		return true;
	for (size_t i = 0; well_known[i]; i++)
		if (strcasecmp(name, well_known[i]) == 0)
			return true;
	return strncmp(name, "MS-OLK-", 7) == 0 && strstr(name, "PooledSearchFolder") != NULL;
}

static void hash_into(const redactor *rd, const char *text, or_buf *out)
{
	char h[22];
	report_hash(rd->key, rd->key_len, text, h);
	buf_append(out, h, strlen(h));
}

json_t *red_string(const redactor *rd, const char *s)
{
	if (!s)
		return NULL;
	if (!rd->on)
		return json_string(s);
	char h[22];
	report_hash(rd->key, rd->key_len, s, h);
	return json_string(h);
}

/* ---------------------------------------------------------------- paths */

static int role_cmp(const void *a, const void *b)
{
	return strcmp(((const red_role *)a)->path, ((const red_role *)b)->path);
}

static const char *role_of(const redactor *rd, const char *path, size_t len)
{
	char key[2048];
	if (len >= sizeof key)
		return NULL;
	memcpy(key, path, len);
	key[len] = '\0';
	red_role probe = {key, NULL};
	const red_role *hit = bsearch(&probe, rd->roles, rd->n_roles, sizeof *rd->roles, role_cmp);
	return hit ? hit->role : NULL;
}

/* One name, unescaped ("a\/b" is the name "a/b"), redacted into out. */
static void red_name_into(const redactor *rd, const char *name, const char *role, or_buf *out)
{
	if (is_well_known(name)) {
		buf_append(out, name, strlen(name));
	} else if (!plain_role(role)) {
		buf_printf(out, "[%s]", role);
	} else {
		hash_into(rd, name, out);
	}
}

static void red_path_into(const redactor *rd, const char *path, or_buf *out)
{
	size_t n = strlen(path), start = 0;
	char name[1024];
	size_t nl = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && path[i] == '\\' && i + 1 < n) {
			if (nl + 1 < sizeof name)
				name[nl++] = path[i + 1];
			i++;
			continue;
		}
		if (i < n && path[i] != '/') {
			if (nl + 1 < sizeof name)
				name[nl++] = path[i];
			continue;
		}
		name[nl] = '\0';
		if (i > start || i == n)
			red_name_into(rd, name, role_of(rd, path, i), out);
		if (i < n)
			buf_append(out, "/", 1);
		nl = 0;
		start = i + 1;
	}
}

json_t *red_path(const redactor *rd, const char *path)
{
	if (!path)
		return NULL;
	if (!rd->on)
		return json_string(path);
	or_buf b = {0};
	red_path_into(rd, path, &b);
	json_t *j = json_string(b.data ? b.data : "");
	buf_free(&b);
	return j;
}

void red_path_text(const redactor *rd, const char *path, char *out, size_t size)
{
	if (!rd->on) {
		str_copy(out, path, size);
		return;
	}
	or_buf b = {0};
	red_path_into(rd, path, &b);
	str_copy(out, b.data ? b.data : "", size);
	buf_free(&b);
}

json_t *red_name(const redactor *rd, const char *name, const char *role)
{
	if (!name)
		return json_null();
	if (!rd->on)
		return json_string(name);
	or_buf b = {0};
	red_name_into(rd, name, role, &b);
	json_t *j = json_string(b.data ? b.data : "");
	buf_free(&b);
	return j;
}

/* "https://mail.contoso.com/EWS/Exchange.asmx" -> "https://hmac:…": the scheme tells the
 * protocol, the rest names the organization. */
json_t *red_url(const redactor *rd, const char *url)
{
	if (!url)
		return NULL;
	if (!rd->on)
		return json_string(url);
	const char *p = strstr(url, "://");
	or_buf b = {0};
	if (p && p - url < 16)
		buf_append(&b, url, (size_t)(p - url) + 3);
	hash_into(rd, url, &b);
	json_t *j = json_string(b.data ? b.data : "");
	buf_free(&b);
	return j;
}

/* ---------------------------------------------------------------- free text */

static bool word_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || c == '_';
}

/* Error messages: every identifying string the report knows of (folder names, paths, mailboxes,
 * file names, hosts) at word boundaries, then every token that holds an address or a URL. */
static void red_text_into(const redactor *rd, const char *s, or_buf *out)
{
	or_buf mid = {0};
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		bool done = false;
		if (i == 0 || !word_char((unsigned char)s[i - 1])) {
			unsigned char c = (unsigned char)s[i];
			for (size_t k = rd->first[c]; k < rd->n_words && (unsigned char)rd->words[k][0] == c; k++) {
				size_t wl = strlen(rd->words[k]);
				if (wl <= n - i && memcmp(s + i, rd->words[k], wl) == 0 &&
				    (i + wl == n || !word_char((unsigned char)s[i + wl]) || !word_char((unsigned char)s[i + wl - 1]))) {
					hash_into(rd, rd->words[k], &mid);
					i += wl;
					done = true;
					break;
				}
			}
		}
		if (!done)
			buf_append(&mid, &s[i++], 1);
	}
	/* Tokens with an '@', "://" or a path separator (addresses, URLs, file and folder paths) that no
	 * known string covered. */
	const char *p = mid.data ? mid.data : "";
	while (*p) {
		size_t sp = strspn(p, " \t\r\n\"'<>()[],;");
		buf_append(out, p, sp);
		p += sp;
		size_t tl = strcspn(p, " \t\r\n\"'<>()[],;");
		if (!tl)
			continue;
		char tok[1024];
		size_t cl = tl < sizeof tok - 1 ? tl : sizeof tok - 1;
		memcpy(tok, p, cl);
		tok[cl] = '\0';
		while (cl && strchr(".:", tok[cl - 1]))
			tok[--cl] = '\0';
		bool path = (strchr(tok, '/') || strchr(tok, '\\')) && cl > 3;
		if ((strchr(tok, '@') || strstr(tok, "://") || path) && strncmp(tok, "hmac:", 5) != 0) {
			hash_into(rd, tok, out);
			buf_append(out, p + cl, tl - cl);
		} else {
			buf_append(out, p, tl);
		}
		p += tl;
	}
	buf_free(&mid);
}

json_t *red_text(const redactor *rd, const char *s)
{
	if (!s)
		return NULL;
	if (!rd->on)
		return json_string(s);
	or_buf b = {0};
	red_text_into(rd, s, &b);
	json_t *j = json_string(b.data ? b.data : "");
	buf_free(&b);
	return j;
}

/* A capture's options: numbers and booleans stay, and the strings of the keys that hold names of
 * methods and classes; any other string is hashed. */
static json_t *red_json(const redactor *rd, json_t *v, const char *key)
{
	static const char *const keep[] = {"protocol", "server_version", "hierarchy", "paging", "graph_api", "api",
	                                   "reader", "not_covered", "auth", "cloud", NULL};
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_t *o = json_object();
		json_object_foreach(v, k, x) json_object_set_new(o, k, red_json(rd, x, k));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) json_array_append_new(a, red_json(rd, x, key));
		return a;
	}
	if (json_is_string(v)) {
		for (size_t i = 0; key && keep[i]; i++)
			if (strcmp(key, keep[i]) == 0)
				return json_incref(v);
		return red_string(rd, json_string_value(v));
	}
	return json_incref(v);
}

json_t *red_options(const redactor *rd, const char *options_json)
{
	if (!options_json)
		return NULL;
	json_t *opts = json_loads(options_json, 0, NULL);
	if (!json_is_object(opts)) {
		json_decref(opts);
		return NULL;
	}
	if (!rd->on)
		return opts;
	json_t *r = red_json(rd, opts, NULL);
	json_decref(opts);
	return r;
}

/* ---------------------------------------------------------------- setup */

static int add_role(redactor *rd, size_t *cap, const char *path, const char *role)
{
	if (!path)
		return 0;
	red_role *r = or_append((void **)&rd->roles, &rd->n_roles, cap, sizeof *rd->roles);
	if (!r)
		return -1;
	r->path = path;
	r->role = role;
	return 0;
}

static int add_word(redactor *rd, size_t *cap, const char *w)
{
	if (!w || strlen(w) < 3 || is_well_known(w) || strncmp(w, "hmac:", 5) == 0)
		return 0;
	const char **slot = or_append((void **)&rd->words, &rd->n_words, cap, sizeof *rd->words);
	if (!slot)
		return -1;
	*slot = w;
	return 0;
}

static int word_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	if ((unsigned char)x[0] != (unsigned char)y[0])
		return (unsigned char)x[0] < (unsigned char)y[0] ? -1 : 1;
	size_t lx = strlen(x), ly = strlen(y);
	if (lx != ly)
		return lx > ly ? -1 : 1; /* longest first: "Projects 2024" before "Projects" */
	return strcmp(x, y);
}

int redactor_init(redactor *rd, const report_options *o, const diff_result *r, char *const *row_paths, or_error *err)
{
	memset(rd, 0, sizeof *rd);
	rd->on = o->redact;
	rd->key = o->key;
	rd->key_len = o->key_len;
	if (!rd->on)
		return 0;
	size_t cap_roles = 0, cap_words = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->n_rows; i++)
		rc = add_role(rd, &cap_roles, row_paths[i], diff_row_role(r, &r->rows[i]));
	for (int s = 0; s < 2; s++) {
		const snap_t *sn = r->snap[s];
		for (size_t i = 0; rc == 0 && i < sn->n_folders; i++) {
			rc = add_role(rd, &cap_roles, sn->folders[i].path, sn->folders[i].role);
			if (rc == 0)
				rc = add_word(rd, &cap_words, sn->folders[i].name);
			if (rc == 0)
				rc = add_word(rd, &cap_words, sn->folders[i].path);
			if (rc == 0)
				rc = add_word(rd, &cap_words, sn->folders[i].id);
		}
		const char *hdr[] = {sn->hdr.mailbox, sn->hdr.file, sn->hdr.server, o->input[s]};
		for (size_t i = 0; rc == 0 && i < sizeof hdr / sizeof hdr[0]; i++) {
			rc = add_word(rd, &cap_words, hdr[i]);
			/* and the file's own name, without its folders */
			const char *base = hdr[i] ? hdr[i] + strlen(hdr[i]) : NULL;
			while (base && base > hdr[i] && base[-1] != '/' && base[-1] != '\\')
				base--;
			if (rc == 0 && base && base != hdr[i])
				rc = add_word(rd, &cap_words, base);
		}
		/* the server's host alone */
		const char *host = sn->hdr.server ? strstr(sn->hdr.server, "://") : NULL;
		if (rc == 0 && host) {
			host += 3;
			char *h = strndup(host, strcspn(host, ":/?#"));
			char **kept = h ? or_append((void **)&rd->owned, &rd->n_owned, &rd->cap_owned, sizeof *rd->owned) : NULL;
			if (!kept) {
				free(h);
				rc = -1;
			} else {
				*kept = h;
				rc = add_word(rd, &cap_words, h);
			}
		}
	}
	if (rc)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	qsort(rd->roles, rd->n_roles, sizeof *rd->roles, role_cmp);
	qsort(rd->words, rd->n_words, sizeof *rd->words, word_cmp);
	for (int c = 0; c < 256; c++)
		rd->first[c] = rd->n_words;
	for (size_t k = rd->n_words; k-- > 0;)
		rd->first[(unsigned char)rd->words[k][0]] = k;
	return 0;
}

void redactor_free(redactor *rd)
{
	for (size_t i = 0; i < rd->n_owned; i++)
		free(rd->owned[i]);
	free(rd->owned);
	free(rd->roles);
	free(rd->words);
	memset(rd, 0, sizeof *rd);
}

char *report_redact_text(const uint8_t *key, size_t key_len, const char *text, const char *const *known, size_t n_known)
{
	redactor rd;
	memset(&rd, 0, sizeof rd);
	rd.on = true;
	rd.key = key;
	rd.key_len = key_len;
	size_t cap = 0;
	for (size_t i = 0; i < n_known; i++)
		if (add_word(&rd, &cap, known[i]) != 0) {
			free(rd.words);
			return NULL;
		}
	qsort(rd.words, rd.n_words, sizeof *rd.words, word_cmp);
	for (int c = 0; c < 256; c++)
		rd.first[c] = rd.n_words;
	for (size_t k = rd.n_words; k-- > 0;)
		rd.first[(unsigned char)rd.words[k][0]] = k;
	or_buf b = {0};
	red_text_into(&rd, text ? text : "", &b);
	free(rd.words);
	if (!b.data)
		return strdup("");
	return b.data;
}
