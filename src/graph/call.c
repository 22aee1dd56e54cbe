/*
 * call.c: one Graph GET over src/pull's transport, and what its answer means.
 *
 * The body is parsed as a stream as it arrives (parse.c). The transport has already dealt
 * with 401 (tokens renewed once), 429 and 503 (Retry-After) and redirects; here, a page that does
 * not parse is retried (a transfer cut short), other server errors are retried, and a refusal
 * (4xx) fails at once with Graph's error code and message, and with the cause and the fix where
 * Graph's answer names one.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	graph_page *pg;
	graph_coll coll;
	bool single;
	bool probe;    /* a server error is an answer here, not something to retry */
	long http;     /* of the last answer */
	graph_parser *parser;
	unsigned seed;
} call_ctx;

static int on_begin(void *ctx, or_error *err)
{
	call_ctx *cc = ctx;
	graph_parser_free(cc->parser);
	cc->parser = NULL;
	int rc = graph_page_reset(cc->pg, err);
	return rc ? rc : graph_parser_new(&cc->parser, cc->pg, cc->coll, cc->single, err);
}

/* The page is parsed as it arrives; an error body (any status) fills pg->error. */
static int on_body(void *ctx, long http, const char *data, size_t len, or_error *err)
{
	call_ctx *cc = ctx;
	return graph_parser_feed(cc->parser, data, len, err);
}

static int on_end(void *ctx, long http, or_error *err)
{
	call_ctx *cc = ctx;
	return graph_parser_finish(cc->parser, err);
}

/* What a refusal means for the person running the tool. */
static pull_outcome refusal(call_ctx *cc, long http, or_error *err)
{
	const graph_error *ge = &cc->pg->error;
	const char *code = cc->pg->has_error ? ge->code : "";
	const char *msg = cc->pg->has_error ? ge->message : "";
	char what[440];
	snprintf(what, sizeof what, "HTTP %ld%s%s%s%s", http, *code ? " " : "", code, *msg ? ": " : "", msg);
	if (http == 403 && strstr(msg, "Access to OData is disabled"))
		or_fail(err, OR_ERR_DENIED, "an application access policy (or RBAC for Applications) of the tenant keeps "
		        "this application out of the mailbox (%s); an Exchange administrator adds the mailbox to the "
		        "policy's scope (Test-ApplicationAccessPolicy / Test-ServicePrincipalAuthorization show it)", what);
	else if (http == 403 && strcmp(code, "ErrorQuotaExceeded") == 0)
		or_fail(err, OR_ERR_LIMIT, "the mailbox is over its quota, so Graph refuses delta rounds (%s)", what);
	else if (http == 403 && strcmp(code, "Authorization_RequestDenied") == 0)
		or_fail(err, OR_ERR_DENIED, "the application may not read the user's settings (%s): grant the application "
		        "permission User.Read.All (admin consent)", what);
	else if (http == 403)
		or_fail(err, OR_ERR_DENIED, "access denied (%s): the application needs MailboxFolder.Read.All and "
		        "MailboxItem.Read.All for the mailbox API, Mail.Read for the mail API (with admin consent), "
		        "and the mailbox in its RBAC scope", what);
	else if (http == 404 && (strcmp(code, "MailboxNotEnabledForRESTAPI") == 0))
		or_fail(err, OR_ERR_NOTFOUND, "the user has no Exchange Online mailbox Graph can read (inactive, "
		        "soft-deleted or on premises: use --api ews) (%s)", what);
	else if (http == 404)
		or_fail(err, OR_ERR_NOTFOUND, "not found (%s)", what);
	else if (http == 410)
		or_fail(err, OR_ERR_PROTOCOL, "the delta state is gone (%s)", what);
	else
		or_fail(err, OR_ERR_PROTOCOL, "the server refused the request (%s)", what);
	return PULL_FAIL;
}

static pull_outcome on_judge(void *ctx, long http, const or_error *parse_err, long *wait, or_error *err)
{
	call_ctx *cc = ctx;
	*wait = -1;
	cc->http = http;
	if (http == 200) {
		if (parse_err->code == 0)
			return PULL_OK;
		or_fail(err, parse_err->code == OR_ERR_NOMEM ? OR_ERR_NOMEM : OR_ERR_PROTOCOL, "%s", parse_err->message);
		/* A page cut short does not parse; one that parses but holds nonsense will not improve. */
		return parse_err->code == OR_ERR_FORMAT && strstr(parse_err->message, "malformed JSON") ? PULL_RETRY
		                                                                                       : PULL_FAIL;
	}
	if (http >= 500 && !cc->probe) {
		const graph_error *ge = &cc->pg->error;
		or_fail(err, OR_ERR_PROTOCOL, "server error HTTP %ld%s%s", http, cc->pg->has_error ? " " : "",
		        cc->pg->has_error ? ge->code : "");
		return PULL_RETRY;
	}
	return refusal(cc, http, err);
}

int graph_get(pull_conn *c, const graph_options *o, const char *op, const char *folder, const char *url,
              graph_coll coll, bool single, bool probe, graph_page *pg, long *http, or_error *err)
{
	call_ctx cc = {.pg = pg, .coll = coll, .single = single, .probe = probe,
	               .seed = (unsigned)pull_now_ms() ^ (unsigned)(uintptr_t)pg};
	char page_size[64], request_id[64];
	/* a probe asks for one object: only the answer matters */
	snprintf(page_size, sizeof page_size, "Prefer: odata.maxpagesize=%d", probe ? 1 : o->page_size);
	/* A request id of our own, in the debug log, to quote to Microsoft's support. */
	uint8_t r[16];
	for (size_t i = 0; i < sizeof r; i++)
		r[i] = (uint8_t)rand_r(&cc.seed);
	char guid[37];
	guid_format(r, guid);
	snprintf(request_id, sizeof request_id, "client-request-id: %s", guid);
	const char *headers[] = {"Prefer: IdType=\"ImmutableId\"", page_size, request_id, NULL};
	pull_handler h = {.ctx = &cc, .begin = on_begin, .body = on_body, .end = on_end, .judge = on_judge};
	pull_request rq = {.op = op, .folder = folder, .url = url, .accept = "application/json", .headers = headers, .trace_ext = "json"};
	log_debug("%s: %s (client-request-id %s)", op, url, guid);
	int rc = pull_call(c, &rq, &h, err);
	graph_parser_free(cc.parser);
	*http = cc.http;
	return rc;
}
