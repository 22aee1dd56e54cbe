/*
 * autodiscover.c: a mailbox's EWS URL from its address, found as Outlook finds it (ews.h lists
 * the steps). Every request goes through src/pull's one-off requests (pull_fetch): the same TLS
 * verification, name mappings, timeouts and credentials as the pull, and --auth auto's choice
 * of method, made again at each server.
 *
 * What keeps it safe: credentials are only ever sent over https (the one plain-http request,
 * the HTTP redirect method's GET, carries none, and its answer is followed only to an https URL
 * whose certificate is then verified, after saying so); redirects of every kind count towards
 * one bound; a chain that asks the same server the same question twice is a loop and stops the
 * search, as does an address redirected back to one already tried. Answers are small XML
 * documents, parsed whole with libxml2 (no network, no DTD loading, no entity substitution,
 * bounded size).
 *
 * The answers (Microsoft's Autodiscover reference; MS-OXDSCLI and MS-OXDSCLI's SOAP sibling):
 *  - POX: <Autodiscover><Response><Account><Action>settings|redirectAddr|redirectUrl</Action>,
 *    <RedirectAddr>, <RedirectUrl>, <Protocol><Type>EXPR|EXCH</Type><EwsUrl>, <ServerVersion>
 *    (hex: 4 bits, 6 bits major, 6 bits minor, 1 flag bit, 15 bits build)</Protocol>, or
 *    <Response><Error><ErrorCode>, <Message>;
 *  - SOAP: GetUserSettingsResponseMessage/Response: ErrorCode, then UserResponses/UserResponse:
 *    ErrorCode NoError (UserSettings/UserSetting: Name, Value), RedirectAddress or RedirectUrl
 *    (RedirectTarget); the header's ServerVersionInfo gives the version.
 */
#include "internal.h"

#include <arpa/nameser.h>
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ANSWER (1024 * 1024)   /* an Autodiscover answer is a few KiB */
#define MAX_CHAIN 16               /* requests of one chain remembered to find loops */
#define MAX_ADDRESSES 12           /* addresses of one search (redirectAddr) */
#define MAX_SRV 8                  /* SRV targets tried */
#define NS_AD "http://schemas.microsoft.com/exchange/2010/Autodiscover"
#define SOAP_ACTION NS_AD "/Autodiscover/GetUserSettings"

void ews_autodiscover_options_init(ews_autodiscover_options *o)
{
	memset(o, 0, sizeof *o);
	pull_options_init(&o->pull);
	o->pull.auth = PULL_AUTH_AUTO;
	o->max_redirects = 10;
}

/* ---------------------------------------------------------------- answers */

typedef ews_ad_answer answer;

static xmlNode *child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* An element's text, trimmed, bounded ("" for a missing element). */
static void text_of(const xmlNode *n, char *out, size_t size)
{
	out[0] = '\0';
	if (!n)
		return;
	xmlChar *t = xmlNodeGetContent(n);
	if (!t)
		return;
	const char *s = (const char *)t;
	while (*s && isspace((unsigned char)*s))
		s++;
	str_copy(out, s, size);
	size_t len = strlen(out);
	while (len && isspace((unsigned char)out[len - 1]))
		out[--len] = '\0';
	xmlFree(t);
}

static xmlDoc *parse_xml(const char *body, size_t len)
{
	if (len > MAX_ANSWER)
		return NULL;
	return xmlReadMemory(body, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* The release name of an Exchange version (a guide for a person, from the build numbers). */
static const char *release_name(int major, int minor, int build)
{
	if (major == 8)
		return "Exchange 2007";
	if (major == 14)
		return "Exchange 2010";
	if (major == 15 && minor == 0)
		return "Exchange 2013";
	if (major == 15 && minor == 1)
		return "Exchange 2016";
	if (major == 15 && minor == 2)
		return build >= 2562 ? "Exchange Server Subscription Edition" : "Exchange 2019";
	if (major == 15 && minor >= 20)
		return "Exchange Online";
	return NULL;
}

static void format_version(char *out, size_t size, int major, int minor, int build, int revision)
{
	const char *name = release_name(major, minor, build);
	int n = revision >= 0 ? snprintf(out, size, "%d.%d.%d.%d", major, minor, build, revision)
	                      : snprintf(out, size, "%d.%d.%d", major, minor, build);
	if (name && n > 0 && (size_t)n < size)
		snprintf(out + n, size - (size_t)n, " (%s)", name);
}

/* POX ServerVersion: 8 hex digits, 4 bits, 6 bits major, 6 bits minor, a flag bit, 15 bits build. */
static void pox_version(const char *hex, char *out, size_t size)
{
	out[0] = '\0';
	char *end;
	unsigned long v = strtoul(hex, &end, 16);
	if (strlen(hex) != 8 || *end)
		return;
	format_version(out, size, (int)((v >> 22) & 0x3f), (int)((v >> 16) & 0x3f), (int)(v & 0x7fff), -1);
}

static void parse_pox(const char *body, size_t len, answer *a)
{
	memset(a, 0, sizeof *a);
	a->kind = ANS_ERROR;
	xmlDoc *doc = parse_xml(body, len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "Autodiscover") != 0) {
		str_copy(a->note, doc ? "not an Autodiscover answer" : "the answer is not XML", sizeof a->note);
		goto out;
	}
	xmlNode *resp = child(root, "Response"), *error = child(resp, "Error"), *acct = child(resp, "Account");
	char action[32], code[64], msg[200];
	if (error || !acct) {
		text_of(child(error, "ErrorCode"), code, sizeof code);
		text_of(child(error, "Message"), msg, sizeof msg);
		snprintf(a->note, sizeof a->note, "Autodiscover error %s%s%s", *code ? code : "(no code)", *msg ? ": " : "", msg);
		goto out;
	}
	text_of(child(acct, "Action"), action, sizeof action);
	if (strcasecmp(action, "redirectAddr") == 0 || strcasecmp(action, "redirectUrl") == 0) {
		bool addr = strcasecmp(action, "redirectAddr") == 0;
		text_of(child(acct, addr ? "RedirectAddr" : "RedirectUrl"), a->value, sizeof a->value);
		if (*a->value)
			a->kind = addr ? ANS_REDIRECT_ADDR : ANS_REDIRECT_URL;
		else
			snprintf(a->note, sizeof a->note, "%s without its %s", action, addr ? "RedirectAddr" : "RedirectUrl");
		goto out;
	}
	/* Settings: the external EWS URL (EXPR) before the internal one (EXCH), then any other. */
	int best = 99;
	for (xmlNode *p = acct->children; p; p = p->next) {
		if (p->type != XML_ELEMENT_NODE || strcmp((const char *)p->name, "Protocol") != 0)
			continue;
		char type[32], ews[1024], ver[16];
		text_of(child(p, "Type"), type, sizeof type);
		if (!*type) { /* Exchange 2013 and later: <Protocol Type="mapiHttp" ...> */
			xmlChar *t = xmlGetProp(p, (const xmlChar *)"Type");
			str_copy(type, t ? (const char *)t : "", sizeof type);
			xmlFree(t);
		}
		text_of(child(p, "EwsUrl"), ews, sizeof ews);
		if (!*ews)
			continue;
		int rank = strcmp(type, "EXPR") == 0 ? 0 : strcmp(type, "EXCH") == 0 ? 1 : 2;
		if (rank < best) {
			best = rank;
			str_copy(a->value, ews, sizeof a->value);
			text_of(child(p, "ServerVersion"), ver, sizeof ver);
			pox_version(ver, a->version, sizeof a->version);
		}
	}
	if (best < 99)
		a->kind = ANS_SETTINGS;
	else
		snprintf(a->note, sizeof a->note, "the answer (Action %s) holds no EwsUrl", *action ? action : "none");
out:
	xmlFreeDoc(doc);
}

static int int_of(const xmlNode *n, int dflt)
{
	char t[16];
	text_of(n, t, sizeof t);
	long v;
	return parse_long(t, 0, 1000000, &v) == 0 ? (int)v : dflt;
}

static void parse_soap(const char *body, size_t len, answer *a)
{
	memset(a, 0, sizeof *a);
	a->kind = ANS_ERROR;
	xmlDoc *doc = parse_xml(body, len);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNode *sbody = child(root, "Body");
	if (!root || strcmp((const char *)root->name, "Envelope") != 0 || !sbody) {
		str_copy(a->note, doc ? "not a SOAP answer" : "the answer is not XML", sizeof a->note);
		goto out;
	}
	char code[64], msg[200];
	xmlNode *fault = child(sbody, "Fault");
	if (fault) {
		text_of(child(fault, "faultstring"), msg, sizeof msg);
		snprintf(a->note, sizeof a->note, "SOAP fault: %s", *msg ? msg : "(no text)");
		goto out;
	}
	xmlNode *resp = child(child(sbody, "GetUserSettingsResponseMessage"), "Response");
	text_of(child(resp, "ErrorCode"), code, sizeof code);
	if (!resp || strcmp(code, "NoError") != 0) {
		text_of(child(resp, "ErrorMessage"), msg, sizeof msg);
		snprintf(a->note, sizeof a->note, "%s%s%s", resp ? code : "no GetUserSettings response", *msg ? ": " : "", msg);
		goto out;
	}
	xmlNode *ur = child(child(resp, "UserResponses"), "UserResponse");
	text_of(child(ur, "ErrorCode"), code, sizeof code);
	text_of(child(ur, "ErrorMessage"), msg, sizeof msg);
	if (strcmp(code, "RedirectAddress") == 0 || strcmp(code, "RedirectUrl") == 0) {
		text_of(child(ur, "RedirectTarget"), a->value, sizeof a->value);
		if (*a->value)
			a->kind = strcmp(code, "RedirectAddress") == 0 ? ANS_REDIRECT_ADDR : ANS_REDIRECT_URL;
		else
			snprintf(a->note, sizeof a->note, "%s without its RedirectTarget", code);
		goto out;
	}
	if (strcmp(code, "NoError") != 0) {
		snprintf(a->note, sizeof a->note, "%s%s%s", ur ? code : "no UserResponse", *msg ? ": " : "", msg);
		goto out;
	}
	char external[1024] = "", internal[1024] = "";
	for (xmlNode *s = child(ur, "UserSettings") ? child(ur, "UserSettings")->children : NULL; s; s = s->next) {
		if (s->type != XML_ELEMENT_NODE || strcmp((const char *)s->name, "UserSetting") != 0)
			continue;
		char name[64];
		text_of(child(s, "Name"), name, sizeof name);
		if (strcmp(name, "ExternalEwsUrl") == 0)
			text_of(child(s, "Value"), external, sizeof external);
		else if (strcmp(name, "InternalEwsUrl") == 0)
			text_of(child(s, "Value"), internal, sizeof internal);
	}
	if (!*external && !*internal) {
		str_copy(a->note, "the answer holds no ExternalEwsUrl or InternalEwsUrl", sizeof a->note);
		goto out;
	}
	a->kind = ANS_SETTINGS;
	str_copy(a->value, *external ? external : internal, sizeof a->value);
	xmlNode *vi = child(child(root, "Header"), "ServerVersionInfo");
	int major = int_of(child(vi, "MajorVersion"), -1);
	if (major >= 0)
		format_version(a->version, sizeof a->version, major, int_of(child(vi, "MinorVersion"), 0),
		               int_of(child(vi, "MajorBuildNumber"), 0), int_of(child(vi, "MinorBuildNumber"), -1));
	else
		text_of(child(vi, "Version"), a->version, sizeof a->version);
out:
	xmlFreeDoc(doc);
}

/* libxml2 wants its global state set up once, before threads (batch jobs) use it. */
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void)
{
	xmlInitParser();
}

void ews_ad_parse(bool soap, const char *body, size_t len, ews_ad_answer *a)
{
	pthread_once(&xml_once, xml_init);
	if (soap)
		parse_soap(body, len, a);
	else
		parse_pox(body, len, a);
}

/* ---------------------------------------------------------------- the search */

typedef enum { STEP_FOUND, STEP_NEW_ADDRESS, STEP_FAILED, STEP_STOP } step;

typedef struct {
	const ews_autodiscover_options *o;
	pull_options pull;            /* o->pull, with bounded timeouts */
	ews_autodiscover_result *out;
	int redirects;
	char addresses[MAX_ADDRESSES][320];
	int n_addresses;
	char next_address[320];       /* STEP_NEW_ADDRESS: the address to search for */
	or_buf tried;                 /* "what: outcome; ..." for the final error */
	or_error stop;                /* STEP_STOP: why */
} search;

/* A domain we will put into a URL: letters, digits, '-' and dots between labels. */
static bool valid_domain(const char *d)
{
	size_t n = strlen(d);
	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' || d[n - 1] == '.' || strstr(d, ".."))
		return false;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at && at != address && valid_domain(at + 1) ? at + 1 : NULL;
}

static bool is_https(const char *url)
{
	return strncasecmp(url, "https://", 8) == 0 && url[8] && url[8] != '/';
}

/* One attempt's outcome, for -v and for the final error. */
static void note(search *s, const char *what, const char *url, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void note(search *s, const char *what, const char *url, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_verbose("Autodiscover: %s %s: %s", what, url, msg);
	if (s->tried.len < 1500)
		buf_printf(&s->tried, "%s%s %s: %s", s->tried.len ? "; " : "", what, url, msg);
}

/* One more redirect: false (and the search stops) past the bound. */
static bool count_redirect(search *s, const char *to)
{
	if (++s->redirects <= s->o->max_redirects)
		return true;
	or_fail(&s->stop, OR_ERR_PROTOCOL, "Autodiscover stopped after %d redirects (the next one to %s)",
	        s->o->max_redirects, to);
	return false;
}

static int pox_request(or_buf *b, const char *address)
{
	int rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                       "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
	                       "requestschema/2006\"><Request><EMailAddress>");
	rc = rc ? rc : ews_xml_escape(b, address);
	return rc ? rc : buf_printf(b, "</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/"
	                               "autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>"
	                               "</Autodiscover>\n");
}

static int soap_request(or_buf *b, const char *url, const char *address)
{
	int rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                       "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	                       "xmlns:a=\"" NS_AD "\" xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">"
	                       "<soap:Header><a:RequestedServerVersion>Exchange2010</a:RequestedServerVersion>"
	                       "<wsa:Action>" SOAP_ACTION "</wsa:Action><wsa:To>");
	rc = rc ? rc : ews_xml_escape(b, url);
	rc = rc ? rc : buf_printf(b, "</wsa:To></soap:Header><soap:Body><a:GetUserSettingsRequestMessage><a:Request>"
	                             "<a:Users><a:User><a:Mailbox>");
	rc = rc ? rc : ews_xml_escape(b, address);
	return rc ? rc : buf_printf(b, "</a:Mailbox></a:User></a:Users><a:RequestedSettings>"
	                               "<a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting>"
	                               "</a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage>"
	                               "</soap:Body></soap:Envelope>\n");
}

static step found(search *s, const char *method, const char *endpoint, const char *address, const answer *a)
{
	ews_autodiscover_result *r = s->out;
	const char *what = strcmp(method, "soap") == 0 ? "SOAP" : "POX";
	if (!is_https(a->value)) {
		/* The pull sends credentials there: TLS only, as for Autodiscover itself. */
		note(s, what, endpoint, "the EWS URL in the answer, %.200s, is not https://: refused (credentials go over "
		                        "TLS only; give it with --url to use it anyway)", a->value);
		return STEP_FAILED;
	}
	str_copy(r->url, a->value, sizeof r->url);
	str_copy(r->server_version, a->version, sizeof r->server_version);
	str_copy(r->method, method, sizeof r->method);
	str_copy(r->endpoint, endpoint, sizeof r->endpoint);
	str_copy(r->address, address, sizeof r->address);
	log_verbose("Autodiscover: %s %s: EWS URL %s%s%s", what, endpoint, r->url, *r->server_version ? ", " : "",
	            r->server_version);
	return STEP_FOUND;
}

/* A new address to search for (redirectAddr, RedirectAddress). */
static step new_address(search *s, const char *what, const char *url, const char *address)
{
	if (!domain_of(address)) {
		note(s, what, url, "redirected to '%.100s', which is no e-mail address", address);
		return STEP_FAILED;
	}
	note(s, what, url, "redirected to the address %s", address);
	if (!count_redirect(s, address))
		return STEP_STOP;
	str_copy(s->next_address, address, sizeof s->next_address);
	return STEP_NEW_ADDRESS;
}

/* POX or SOAP at `url` for `address`, following redirectUrl answers and HTTP redirects. */
static step chain(search *s, bool soap, const char *first_url, const char *address)
{
	const char *what = soap ? "SOAP" : "POX";
	char url[1024], visited[MAX_CHAIN][1024];
	int n_visited = 0;
	str_copy(url, first_url, sizeof url);
	for (;;) {
		if (!is_https(url)) {
			note(s, what, url, "refused: credentials are sent over https only");
			return STEP_FAILED;
		}
		for (int i = 0; i < n_visited; i++)
			if (strcasecmp(visited[i], url) == 0) {
				or_fail(&s->stop, OR_ERR_PROTOCOL, "Autodiscover redirect loop: %s was asked twice for %s", url,
				        address);
				note(s, what, url, "redirect loop: asked twice");
				return STEP_STOP;
			}
		if (n_visited < MAX_CHAIN)
			str_copy(visited[n_visited++], url, sizeof visited[0]);
		or_buf body = {0};
		int rc = soap ? soap_request(&body, url, address) : pox_request(&body, address);
		if (rc) {
			buf_free(&body);
			or_fail(&s->stop, OR_ERR_NOMEM, "out of memory");
			return STEP_STOP;
		}
		const char *headers[] = {"SOAPAction: \"" SOAP_ACTION "\"", NULL};
		pull_request rq = {.op = soap ? "Autodiscover-SOAP" : "Autodiscover-POX", .url = url, .body = body.data,
		                   .body_len = body.len, .content_type = "text/xml; charset=utf-8", .accept = "text/xml",
		                   .headers = soap ? headers : NULL, .trace_ext = "xml"};
		pull_reply r;
		or_error err = {0};
		rc = pull_fetch(&s->pull, &rq, MAX_ANSWER, &r, &err);
		buf_free(&body);
		if (rc) {
			note(s, what, url, "%s", err.message);
			return STEP_FAILED;
		}
		answer a;
		step st = STEP_FAILED;
		bool follow = false;
		if (r.http == 401 && r.auth != PULL_AUTH_NONE) {
			/* Credentials sent and refused: trying them at the next server only counts towards a
			 * lockout of the account. */
			pull_auth_refused(&r, &err);
			note(s, what, url, "%s", err.message);
			or_fail(&s->stop, OR_ERR_AUTH, "Autodiscover stopped at %s: %s", url, err.message);
			st = STEP_STOP;
		} else if (r.http >= 300 && r.http < 400 && *r.location) {
			note(s, what, url, "HTTP %ld to %s", r.http, r.location);
			if (is_https(r.location)) {
				follow = count_redirect(s, r.location);
				st = follow ? STEP_FAILED : STEP_STOP;
				str_copy(url, r.location, sizeof url);
			} else {
				note(s, what, r.location, "refused: credentials are sent over https only");
			}
		} else if (r.http != 200) {
			note(s, what, url, "HTTP %ld", r.http);
		} else {
			ews_ad_parse(soap, r.body, r.body_len, &a);
			switch (a.kind) {
			case ANS_SETTINGS: st = found(s, soap ? "soap" : "pox", url, address, &a); break;
			case ANS_REDIRECT_ADDR: st = new_address(s, what, url, a.value); break;
			case ANS_REDIRECT_URL:
				note(s, what, url, "redirected to %s", a.value);
				if (!is_https(a.value)) {
					note(s, what, a.value, "refused: credentials are sent over https only");
					break;
				}
				follow = count_redirect(s, a.value);
				st = follow ? STEP_FAILED : STEP_STOP;
				str_copy(url, a.value, sizeof url);
				break;
			case ANS_ERROR: note(s, what, url, "%s", a.note); break;
			}
		}
		pull_reply_free(&r);
		if (!follow)
			return st;
	}
}

/* The HTTP redirect method: a GET without credentials over plain http, whose redirect to an
 * https URL is followed with POX (after saying so). */
static step http_redirect(search *s, const char *domain, const char *address)
{
	char url[600];
	snprintf(url, sizeof url, "http://autodiscover.%s/autodiscover/autodiscover.xml", domain);
	pull_options o = s->pull;
	o.auth = PULL_AUTH_NONE;
	pull_request rq = {.op = "Autodiscover-redirect", .url = url};
	pull_reply r;
	or_error err = {0};
	if (pull_fetch(&o, &rq, 64 * 1024, &r, &err) != 0) {
		note(s, "GET", url, "%s", err.message);
		return STEP_FAILED;
	}
	step st = STEP_FAILED;
	if (r.http >= 300 && r.http < 400 && *r.location) {
		if (!is_https(r.location)) {
			note(s, "GET", url, "HTTP %ld to %s: refused: only a redirect to https:// is followed", r.http, r.location);
		} else if (count_redirect(s, r.location)) {
			note(s, "GET", url, "HTTP %ld to %s", r.http, r.location);
			log_info("Autodiscover: %s (the HTTP redirect method, over plain http) points at %s: following it, as "
			         "Outlook does, since it is https:// (its certificate is verified before any credentials go)",
			         url, r.location);
			char to[1024];
			str_copy(to, r.location, sizeof to);
			pull_reply_free(&r);
			st = chain(s, false, to, address);
			if (st == STEP_FOUND)
				str_copy(s->out->method, "http-redirect", sizeof s->out->method);
			return st;
		} else {
			st = STEP_STOP;
		}
	} else {
		note(s, "GET", url, "HTTP %ld (no redirect)", r.http);
	}
	pull_reply_free(&r);
	return st;
}

typedef struct {
	int priority, weight, port;
	char target[256];
} srv_record;

static int by_priority(const void *a, const void *b)
{
	const srv_record *x = a, *y = b;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return y->weight - x->weight; /* heavier first */
}

/* The SRV records of _autodiscover._tcp.DOMAIN, best first: their count (0 when none). */
static int srv_lookup(search *s, const char *domain, srv_record *out, int max)
{
	char name[300];
	snprintf(name, sizeof name, "_autodiscover._tcp.%s", domain);
	unsigned char ans[4096];
	struct __res_state st;
	memset(&st, 0, sizeof st);
	if (res_ninit(&st) != 0) {
		note(s, "SRV", name, "the resolver could not be set up");
		return 0;
	}
	int len = res_nquery(&st, name, ns_c_in, ns_t_srv, ans, sizeof ans);
	res_nclose(&st);
	ns_msg msg;
	if (len <= 0 || ns_initparse(ans, len, &msg) != 0) {
		note(s, "SRV", name, "no record");
		return 0;
	}
	int n = 0;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		ns_rr rr;
		if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		const unsigned char *rd = ns_rr_rdata(rr);
		srv_record *r = &out[n];
		r->priority = rd[0] << 8 | rd[1];
		r->weight = rd[2] << 8 | rd[3];
		r->port = rd[4] << 8 | rd[5];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, r->target, sizeof r->target) < 0 ||
		    !valid_domain(r->target) || r->port == 0)
			continue;
		n++;
	}
	if (n == 0)
		note(s, "SRV", name, "no usable record");
	qsort(out, (size_t)n, sizeof *out, by_priority);
	return n;
}

/* Every step for one address. */
static step search_address(search *s, const char *address)
{
	const char *domain = domain_of(address);
	char url[600];
	step st;
	for (int i = 0; i < 2; i++) { /* 1. POX */
		snprintf(url, sizeof url, "https://%s%s/autodiscover/autodiscover.xml", i ? "autodiscover." : "", domain);
		if ((st = chain(s, false, url, address)) != STEP_FAILED)
			return st;
	}
	if ((st = http_redirect(s, domain, address)) != STEP_FAILED) /* 2. */
		return st;
	for (int i = 0; i < 2; i++) { /* 3. SOAP */
		snprintf(url, sizeof url, "https://%s%s/autodiscover/autodiscover.svc", i ? "autodiscover." : "", domain);
		if ((st = chain(s, true, url, address)) != STEP_FAILED)
			return st;
	}
	if (!s->o->srv) /* 4. */
		return STEP_FAILED;
	srv_record recs[MAX_SRV];
	int n = srv_lookup(s, domain, recs, MAX_SRV);
	for (int i = 0; i < n; i++) {
		if (recs[i].port == 443)
			snprintf(url, sizeof url, "https://%s/autodiscover/autodiscover.xml", recs[i].target);
		else
			snprintf(url, sizeof url, "https://%s:%d/autodiscover/autodiscover.xml", recs[i].target, recs[i].port);
		log_info("Autodiscover: the DNS SRV record of %s points at %s: trying it (its certificate is verified "
		         "before any credentials go)", domain, url);
		if ((st = chain(s, false, url, address)) == STEP_FOUND)
			str_copy(s->out->method, "srv", sizeof s->out->method);
		if (st != STEP_FAILED)
			return st;
	}
	return STEP_FAILED;
}

int ews_autodiscover(const ews_autodiscover_options *o, const char *mailbox, ews_autodiscover_result *out,
                     or_error *err)
{
	memset(out, 0, sizeof *out);
	if (!mailbox || !domain_of(mailbox) || strlen(mailbox) >= sizeof out->address)
		return or_fail(err, OR_ERR_USAGE, "Autodiscover needs an e-mail address with a domain, not '%.100s'",
		               mailbox ? mailbox : "");
	pthread_once(&xml_once, xml_init);
	search s = {.o = o, .pull = o->pull, .out = out};
	s.tried.limit = 4096;
	/* An Autodiscover request is small: a server that does not answer in a minute will not. */
	if (s.pull.timeout_s <= 0 || s.pull.timeout_s > 60)
		s.pull.timeout_s = 60;
	if (s.pull.connect_timeout_s <= 0 || s.pull.connect_timeout_s > 30)
		s.pull.connect_timeout_s = 30;
	if (s.pull.auth == PULL_AUTH_BEARER) /* a token is for its resource, never for whoever answers here */
		return or_fail(err, OR_ERR_USAGE, "Autodiscover sends on-premises credentials only (auto, basic, ntlm, "
		                                  "negotiate), never an OAuth token: give the EWS URL with --url");
	char address[320];
	str_copy(address, mailbox, sizeof address);
	int rc;
	for (;;) {
		for (int i = 0; i < s.n_addresses; i++)
			if (strcasecmp(s.addresses[i], address) == 0) {
				rc = or_fail(err, OR_ERR_PROTOCOL, "Autodiscover redirect loop: the address %s was redirected "
				                                   "back to itself (tried: %s)", address, s.tried.data);
				goto out;
			}
		if (s.n_addresses < MAX_ADDRESSES)
			str_copy(s.addresses[s.n_addresses++], address, sizeof s.addresses[0]);
		log_verbose("Autodiscover: searching the EWS URL of %s", address);
		step st = search_address(&s, address);
		if (st == STEP_FOUND) {
			rc = 0;
			break;
		}
		if (st == STEP_NEW_ADDRESS) {
			str_copy(address, s.next_address, sizeof address);
			continue;
		}
		if (st == STEP_STOP) {
			rc = or_fail(err, s.stop.code ? s.stop.code : OR_ERR_PROTOCOL, "%s", s.stop.message);
			goto out;
		}
		rc = or_fail(err, OR_ERR_NOTFOUND, "Autodiscover found no EWS URL for %s, give it with --url (tried: %s)",
		             address, s.tried.len ? s.tried.data : "nothing");
		goto out;
	}
out:
	buf_free(&s.tried);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

/* ---------------------------------------------------------------- the cache */

typedef struct cache_entry {
	struct cache_entry *next;
	char domain[256];
	bool done;
	int rc;
	or_error err;
	ews_autodiscover_result res;
} cache_entry;

struct ews_autodiscover_cache {
	pthread_mutex_t lock;
	pthread_cond_t done;
	cache_entry *head;
};

int ews_autodiscover_cache_new(ews_autodiscover_cache **out, or_error *err)
{
	ews_autodiscover_cache *c = calloc(1, sizeof *c);
	if (!c)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	*out = c;
	return 0;
}

void ews_autodiscover_cache_free(ews_autodiscover_cache *c)
{
	if (!c)
		return;
	for (cache_entry *e = c->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int ews_autodiscover_cached(ews_autodiscover_cache *c, const ews_autodiscover_options *o, const char *mailbox,
                            const ews_autodiscover_result **out, or_error *err)
{
	*out = NULL;
	const char *domain = mailbox ? domain_of(mailbox) : NULL;
	if (!domain)
		return or_fail(err, OR_ERR_USAGE, "Autodiscover needs an e-mail address with a domain, not '%.100s'",
		               mailbox ? mailbox : "");
	pthread_mutex_lock(&c->lock);
	cache_entry *e = c->head;
	while (e && strcasecmp(e->domain, domain) != 0)
		e = e->next;
	if (e) {
		while (!e->done)
			pthread_cond_wait(&c->done, &c->lock);
		pthread_mutex_unlock(&c->lock);
		if (e->rc)
			return or_fail(err, e->rc, "the domain %s, searched earlier in this run: %s", domain, e->err.message);
		log_verbose("Autodiscover: %s: the EWS URL found for %s earlier in this run: %s", mailbox, domain, e->res.url);
		*out = &e->res;
		return 0;
	}
	if (!(e = calloc(1, sizeof *e))) {
		pthread_mutex_unlock(&c->lock);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	str_copy(e->domain, domain, sizeof e->domain);
	e->next = c->head;
	c->head = e;
	pthread_mutex_unlock(&c->lock);

	ews_autodiscover_result res;
	or_error found_err = {0};
	int rc = ews_autodiscover(o, mailbox, &res, &found_err);
	pthread_mutex_lock(&c->lock);
	e->rc = rc;
	e->err = found_err;
	e->res = res;
	e->done = true;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return or_fail(err, rc, "%s", found_err.message);
	*out = &e->res;
	return 0;
}
