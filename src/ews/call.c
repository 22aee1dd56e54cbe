/*
 * call.c: one EWS operation over src/pull's transport, and what its answer means.
 *
 * The response body is fed to the streaming parser as it arrives (only 200 and 500 carry SOAP;
 * other bodies, such as HTML error pages, are not parsed). What the answer means is decided in
 * one place (on_judge), from one table of response codes:
 *  - throttling (ErrorServerBusy, ErrorExceededConnectionCount, ErrorTooManyObjectsOpened), in a
 *    SOAP fault or in any response message: retried after MessageXml's BackOffMilliseconds (or
 *    the transport's back-off), until the pull's retry deadline;
 *  - transient server trouble (ErrorInternalServerTransientError, ErrorMailboxStoreUnavailable,
 *    ErrorTimeoutExpired; ErrorInternalServerError as a fault): retried a bounded number of times;
 *  - a body that is empty or not well-formed XML (cut short or garbled on the way): retried a
 *    bounded number of times (characters XML 1.0 forbids are repaired by the parser, not refused);
 *  - a well-formed answer that cannot be used (a malformed value, a DTD, no response message, the
 *    answer to another operation) and every other refusal: failed at once.
 */
#include "internal.h"

#include <string.h>

#define MAX_WAIT_MS (300L * 1000) /* longest back-off honoured */

typedef enum { CODE_OTHER = 0, CODE_THROTTLED, CODE_TRANSIENT } code_kind;

static const struct {
	const char *code;
	code_kind kind;
} code_table[] = {
	{"ErrorServerBusy", CODE_THROTTLED},
	{"ErrorExceededConnectionCount", CODE_THROTTLED},
	{"ErrorTooManyObjectsOpened", CODE_THROTTLED},
	{"ErrorInternalServerTransientError", CODE_TRANSIENT},
	{"ErrorMailboxStoreUnavailable", CODE_TRANSIENT},
	{"ErrorTimeoutExpired", CODE_TRANSIENT},
};

/* A response code without a namespace prefix ("a:ErrorServerBusy" -> "ErrorServerBusy"). */
static const char *bare(const char *code)
{
	const char *colon = strrchr(code, ':');
	return colon ? colon + 1 : code;
}

static code_kind kind_of(const char *code)
{
	for (size_t i = 0; i < sizeof code_table / sizeof *code_table; i++)
		if (strcmp(bare(code), code_table[i].code) == 0)
			return code_table[i].kind;
	return CODE_OTHER;
}

typedef struct {
	ews_page *page;
	ews_parser *parser;
	const char *op;
	size_t body_len; /* bytes of this attempt's body */
} call_ctx;

static int on_begin(void *ctx, or_error *err)
{
	call_ctx *cc = ctx;
	ews_parser_free(cc->parser);
	cc->parser = NULL;
	cc->body_len = 0;
	int rc = ews_page_reset(cc->page, err);
	return rc ? rc : ews_parser_new(&cc->parser, cc->page, err);
}

static int on_body(void *ctx, long http, const char *data, size_t len, or_error *err)
{
	call_ctx *cc = ctx;
	cc->body_len += len;
	return http == 200 || http == 500 ? ews_parser_feed(cc->parser, data, len, err) : 0;
}

static int on_end(void *ctx, long http, or_error *err)
{
	call_ctx *cc = ctx;
	return http == 200 || http == 500 ? ews_parser_finish(cc->parser, err) : 0;
}

/* The worst code of the response: a fault's, else the worst of its messages'. */
static code_kind worst_code(const ews_page *pg, const char **which)
{
	code_kind worst = CODE_OTHER;
	*which = NULL;
	if (pg->is_fault) {
		*which = bare(pg->fault_code);
		return kind_of(pg->fault_code);
	}
	for (size_t i = 0; i < pg->n_status; i++) {
		code_kind k = kind_of(pg->status[i].code);
		if (k != CODE_OTHER && (worst == CODE_OTHER || k == CODE_THROTTLED)) {
			worst = k;
			*which = pg->status[i].code;
		}
	}
	return worst;
}

static pull_outcome on_judge(void *ctx, long http, const or_error *parse_err, long *wait, or_error *err)
{
	call_ctx *cc = ctx;
	ews_page *pg = cc->page;
	*wait = -1;
	if (http == 403) {
		or_fail(err, OR_ERR_DENIED, "the server denied access: HTTP 403");
		return PULL_FAIL;
	}
	if (http != 200 && http != 500) {
		or_fail(err, OR_ERR_PROTOCOL, "unexpected HTTP status %ld", http);
		return http >= 500 ? PULL_RETRY : PULL_FAIL;
	}
	if (parse_err->code != 0 && cc->body_len == 0) {
		or_fail(err, OR_ERR_PROTOCOL, "empty response (HTTP %ld)", http);
		return PULL_RETRY;
	}
	if (parse_err->code == OR_ERR_PROTOCOL) {
		/* Not well formed: cut short or garbled on the way, as far as one can tell. */
		or_fail(err, OR_ERR_PROTOCOL, "%s (HTTP %ld)", parse_err->message, http);
		return PULL_RETRY;
	}
	if (parse_err->code != 0) { /* well formed, but unusable: a retry would only repeat it */
		or_fail(err, parse_err->code == OR_ERR_NOMEM ? OR_ERR_NOMEM : OR_ERR_PROTOCOL,
		        "unusable response (not retried): %s (HTTP %ld)", parse_err->message, http);
		return PULL_FAIL;
	}
	const char *code;
	code_kind kind = worst_code(pg, &code);
	if (kind == CODE_THROTTLED) {
		or_fail(err, OR_ERR_PROTOCOL, "the server is busy (%s)", code);
		*wait = pg->backoff_ms >= 0 ? (pg->backoff_ms > MAX_WAIT_MS ? MAX_WAIT_MS : pg->backoff_ms) : -1;
		return PULL_THROTTLED;
	}
	if (kind == CODE_TRANSIENT) {
		or_fail(err, OR_ERR_PROTOCOL, "the server could not answer now (%s)", code);
		return PULL_RETRY;
	}
	if (pg->is_fault) {
		const char *fc = pg->fault_code;
		int k = strstr(fc, "ImpersonateUserDenied") || strstr(fc, "AccessDenied") ? OR_ERR_DENIED
		        : strstr(fc, "NonExistentMailbox") || strstr(fc, "MailboxNotFound") ? OR_ERR_NOTFOUND
		                                                                          : OR_ERR_PROTOCOL;
		or_fail(err, k, "the server refused the request: %s%s%s", bare(fc), *pg->fault_text ? ": " : "",
		        pg->fault_text);
		/* An internal server error may pass; a refusal will not. */
		return strcmp(bare(fc), "ErrorInternalServerError") == 0 ? PULL_RETRY : PULL_FAIL;
	}
	if (http == 500) {
		or_fail(err, OR_ERR_PROTOCOL, "server error HTTP 500 without a SOAP fault");
		return PULL_RETRY;
	}
	if (strcmp(pg->operation, cc->op) != 0) {
		/* A GetItem answer to a SyncFolderItems request is not read as that folder's items. */
		if (*pg->operation)
			or_fail(err, OR_ERR_PROTOCOL, "the server answered %s to a %s request (refused)", pg->operation, cc->op);
		else
			or_fail(err, OR_ERR_PROTOCOL, "the response answers no EWS operation (refused)");
		return PULL_FAIL;
	}
	if (pg->n_status == 0) {
		or_fail(err, OR_ERR_PROTOCOL, "the %s response holds no response message (refused)", cc->op);
		return PULL_FAIL;
	}
	return PULL_OK;
}

int ews_call(pull_conn *c, const ews_options *opt, const char *op, const char *folder, const or_buf *request,
             ews_page *page, or_error *err)
{
	const pull_options *po = &opt->pull;
	char anchor[320];
	const char *who = opt->anchor ? opt->anchor
	                  : (opt->impersonate || po->auth == PULL_AUTH_BEARER) ? po->mailbox
	                                                                     : NULL;
	const char *headers[2] = {NULL, NULL};
	if (who) {
		snprintf(anchor, sizeof anchor, "X-AnchorMailbox: %s", who);
		headers[0] = anchor;
	}
	call_ctx cc = {.page = page, .op = op};
	pull_handler h = {.ctx = &cc, .begin = on_begin, .body = on_body, .end = on_end, .judge = on_judge};
	pull_request rq = {.op = op, .folder = folder, .body = request->data, .body_len = request->len,
	                   .content_type = "text/xml; charset=utf-8", .accept = "text/xml", .headers = headers,
	                   .trace_ext = "xml"};
	int rc = pull_call(c, &rq, &h, err);
	ews_parser_free(cc.parser);
	return rc;
}
