/*
 * call.c: one EWS operation over src/pull's transport, and what its answer means.
 *
 * The response body is fed to the streaming parser as it arrives (only 200 and 500 carry SOAP;
 * other bodies, such as HTML error pages, are not parsed). ErrorServerBusy is retried after the
 * server's BackOffMilliseconds, a transient server error or a malformed response after the
 * transport's back-off; a refusal (a SOAP fault the retry cannot change) fails at once.
 */
#include "internal.h"

#include <string.h>

#define MAX_WAIT_MS (300L * 1000) /* longest back-off honoured */

typedef struct {
	ews_page *page;
	ews_parser *parser;
} call_ctx;

static int on_begin(void *ctx, or_error *err)
{
	call_ctx *cc = ctx;
	ews_parser_free(cc->parser);
	cc->parser = NULL;
	int rc = ews_page_reset(cc->page, err);
	return rc ? rc : ews_parser_new(&cc->parser, cc->page, err);
}

static int on_body(void *ctx, long http, const char *data, size_t len, or_error *err)
{
	call_ctx *cc = ctx;
	return http == 200 || http == 500 ? ews_parser_feed(cc->parser, data, len, err) : 0;
}

static int on_end(void *ctx, long http, or_error *err)
{
	call_ctx *cc = ctx;
	return http == 200 || http == 500 ? ews_parser_finish(cc->parser, err) : 0;
}

static bool is_busy(const ews_page *pg)
{
	if (pg->is_fault && strstr(pg->fault_code, "ErrorServerBusy"))
		return true;
	for (size_t i = 0; i < pg->n_status; i++)
		if (strcmp(pg->status[i].code, "ErrorServerBusy") == 0)
			return true;
	return false;
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
	if (parse_err->code != 0) {
		or_fail(err, OR_ERR_PROTOCOL, "%s (HTTP %ld)", parse_err->message, http);
		return PULL_RETRY;
	}
	if (is_busy(pg)) {
		or_fail(err, OR_ERR_PROTOCOL, "the server is busy (ErrorServerBusy)");
		*wait = pg->backoff_ms >= 0 ? (pg->backoff_ms > MAX_WAIT_MS ? MAX_WAIT_MS : pg->backoff_ms) : -1;
		return PULL_RETRY;
	}
	if (pg->is_fault) {
		const char *code = pg->fault_code;
		int kind = strstr(code, "ImpersonateUserDenied") || strstr(code, "AccessDenied") ? OR_ERR_DENIED
		           : strstr(code, "NonExistentMailbox") || strstr(code, "MailboxNotFound") ? OR_ERR_NOTFOUND
		                                                                                  : OR_ERR_PROTOCOL;
		or_fail(err, kind, "the server refused the request: %s%s%s", code, *pg->fault_text ? ": " : "", pg->fault_text);
		/* An internal server error may pass; a refusal will not. */
		return strstr(code, "InternalServerError") || strstr(code, "InternalServerTransientError") ? PULL_RETRY
		                                                                                            : PULL_FAIL;
	}
	if (http == 500) {
		or_fail(err, OR_ERR_PROTOCOL, "server error HTTP 500 without a SOAP fault");
		return PULL_RETRY;
	}
	if (pg->n_status == 0) {
		or_fail(err, OR_ERR_PROTOCOL, "the response holds no response message");
		return PULL_RETRY;
	}
	return PULL_OK;
}

int ews_call(pull_conn *c, const ews_options *opt, const char *op, const or_buf *request, ews_page *page,
             or_error *err)
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
	call_ctx cc = {.page = page};
	pull_handler h = {.ctx = &cc, .begin = on_begin, .body = on_body, .end = on_end, .judge = on_judge};
	pull_request rq = {.op = op, .body = request->data, .body_len = request->len,
	                   .content_type = "text/xml; charset=utf-8", .accept = "text/xml", .headers = headers,
	                   .trace_ext = "xml"};
	int rc = pull_call(c, &rq, &h, err);
	ews_parser_free(cc.parser);
	return rc;
}
