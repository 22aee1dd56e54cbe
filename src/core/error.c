/* error.c: the or_error value every fallible function fills, and the log on stderr. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	case OR_ERR_MISMATCH: return "mismatch";
	default: return "error";
	}
}

static log_level current_level = LOG_NORMAL;

struct log_sink {
	int fd;
};
static log_sink *process_sink;
static __thread log_sink *thread_sink;

void log_set_level(log_level level) { current_level = level; }
log_level log_get_level(void) { return current_level; }

log_sink *log_sink_open(const char *path, bool append, or_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0600);
	if (fd < 0) {
		or_fail(err, errno == ENOENT ? OR_ERR_NOTFOUND : OR_ERR_IO, "cannot open the log file %s: %s", path,
		        errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return NULL;
	}
	struct stat st;
	/* An existing log others can read is made owner-only: it is about to hold mailbox names. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) && fchmod(fd, 0600) != 0) {
		or_fail(err, OR_ERR_IO, "the log file %s can be read by others and cannot be made private: %s", path,
		        strerror(errno));
		close(fd);
		return NULL;
	}
	log_sink *s = malloc(sizeof *s);
	if (!s) {
		close(fd);
		or_fail(err, OR_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->fd = fd;
	return s;
}

void log_sink_close(log_sink *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

void log_set_file(log_sink *s) { process_sink = s; }
void log_set_thread_sink(log_sink *s) { thread_sink = s; }

typedef struct {
	void *(*fn)(void *);
	void *arg;
	log_sink *sink;
} thread_start;

static void *start_thread(void *p)
{
	thread_start ts = *(thread_start *)p;
	free(p);
	thread_sink = ts.sink;
	return ts.fn(ts.arg);
}

int or_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
	thread_start *ts = malloc(sizeof *ts);
	if (!ts)
		return ENOMEM;
	*ts = (thread_start){fn, arg, thread_sink};
	int rc = pthread_create(th, NULL, start_thread, ts);
	if (rc)
		free(ts);
	return rc;
}

bool or_run_two(void *(*fn)(void *), void *a, void *b, bool together)
{
	pthread_t th;
	bool threaded = together && or_thread_create(&th, fn, b) == 0;
	fn(a);
	if (threaded)
		pthread_join(th, NULL);
	else
		fn(b);
	return threaded;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a log that cannot be written does not stop the run */
		p += w;
		n -= (size_t)w;
	}
}

static const char *const level_names[] = {"error", "info", "verbose", "debug"};

void log_msg(log_level level, const char *prefix, const char *fmt, ...)
{
	log_sink *ps = process_sink, *ts = thread_sink;
	log_level file_level = current_level > LOG_VERBOSE ? current_level : LOG_VERBOSE;
	bool to_console = level <= current_level, to_file = (ps || ts) && level <= file_level;
	if (!to_console && !to_file)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One write per line so parallel workers do not interleave within a line. */
	if (to_console) {
		progress_before_log();
		fprintf(stderr, "ostrecon: %s%s\n", prefix, line);
	}
	if (!to_file)
		return;
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	char out[2200];
	const char *name = *prefix ? prefix : level_names[level];
	int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s%s%s\n", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000, name,
	                 *prefix ? "" : ": ", line);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof out ? (size_t)n : sizeof out - 1;
	if (ps)
		write_all(ps->fd, out, len);
	if (ts && ts != ps)
		write_all(ts->fd, out, len);
}
