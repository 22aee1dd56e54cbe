/* secrets.c: passwords and tokens from a file, an environment variable or a prompt; never argv. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static char *first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

static char *from_file(const char *path, or_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* a file named on the command line that is not there is the command line's mistake */
		or_fail(err, errno == ENOENT || errno == ENOTDIR ? OR_ERR_USAGE : OR_ERR_IO, "cannot read the secret file %s: %s",
		        path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("the secret file %s can be read by other users (chmod 600 it)", path);
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		or_fail(err, OR_ERR_IO, "cannot read the secret file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	char *s = strdup(first_line(buf));
	explicit_bzero(buf, sizeof buf);
	if (s && !*s) {
		free(s);
		or_fail(err, OR_ERR_USAGE, "the secret file %s is empty", path);
		return NULL;
	}
	return s;
}

static char *from_prompt(const char *prompt, or_error *err)
{
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		or_fail(err, OR_ERR_USAGE, "no secret given (file, environment) and no terminal to ask on");
		return NULL;
	}
	struct termios old, quiet;
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) { /* best effort */ }
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) { /* best effort */ }
	close(fd);
	if (n <= 0) {
		or_fail(err, OR_ERR_USAGE, "no secret was entered");
		return NULL;
	}
	buf[n] = '\0';
	char *s = strdup(first_line(buf));
	explicit_bzero(buf, sizeof buf);
	return s;
}

/* A process holding a secret writes no core dump and cannot be inspected by other processes of
 * the same user (ptrace), so the secret cannot leak that way. */
static void protect_process(void)
{
	struct rlimit none = {0, 0};
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

char *cli_read_secret(const char *file, const char *env, const char *prompt, or_error *err)
{
	protect_process();
	if (file)
		return from_file(file, err);
	char *v = env ? getenv(env) : NULL;
	if (v && *v) {
		/* Taken out of the environment once read: wiped where it sits (the process's first
		 * environment block is what /proc/PID/environ shows for the whole run) and unset, so
		 * that no child process inherits it either. */
		char *s = strdup(v);
		explicit_bzero(v, strlen(v));
		unsetenv(env);
		if (!s)
			or_fail(err, OR_ERR_NOMEM, "out of memory");
		return s;
	}
	if (prompt)
		return from_prompt(prompt, err);
	or_fail(err, OR_ERR_USAGE, "no secret given");
	return NULL;
}

void cli_free_secret(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}
