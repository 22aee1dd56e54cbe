/* error.c: the or_error value every fallible function fills, and the log on stderr. */
#include "core.h"

#include <string.h>

int or_fail(or_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
		err->code = code;
	}
	return code;
}

int or_wrap(or_error *err, const char *fmt, ...)
{
	if (!err)
		return OR_ERR_IO;
	char prefix[256], old[sizeof err->message];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	str_copy(old, err->message, sizeof old);
	snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
	return err->code;
}

void or_error_clear(or_error *err)
{
	if (err) {
		err->code = OR_OK;
		err->message[0] = '\0';
	}
}

const char *or_code_name(int code)
{
	switch (code) {
	case OR_OK: return "ok";
	case OR_ERR_IO: return "io";
	case OR_ERR_FORMAT: return "format";
	case OR_ERR_NOTFOUND: return "not_found";
	case OR_ERR_AUTH: return "auth";
	case OR_ERR_PROTOCOL: return "protocol";
	case OR_ERR_NOMEM: return "no_memory";
	case OR_ERR_USAGE: return "usage";
	case OR_ERR_TLS: return "tls";
	case OR_ERR_TIMEOUT: return "timeout";
	case OR_ERR_DENIED: return "access_denied";
	case OR_ERR_LIMIT: return "limit";
	default: return "error";
	}
}

static log_level current_level = LOG_NORMAL;

void log_set_level(log_level level) { current_level = level; }
log_level log_get_level(void) { return current_level; }

void log_msg(log_level level, const char *prefix, const char *fmt, ...)
{
	if (level > current_level)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	progress_before_log();
	/* One write per line so parallel workers do not interleave within a line. */
	fprintf(stderr, "ostrecon: %s%s\n", prefix, line);
}
