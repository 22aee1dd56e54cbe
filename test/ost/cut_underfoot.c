/* A preload for t_uring.sh: when the program opens a file to write (its snapshot's temporary
 * file, once the cache file's B-trees are read), the file CUT_FILE is cut to CUT_TO bytes, as if
 * it were truncated underfoot: the reads of its blocks past that come back short. Built by the
 * test at run time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Cuts CUT_FILE when `flags` open a file to write, then opens `path` with libc's `name`. */
static int cut_open(const char *name, const char *path, int flags, mode_t mode)
{
	const char *file = getenv("CUT_FILE"), *to = getenv("CUT_TO");
	if ((flags & O_ACCMODE) != O_RDONLY && file && to)
		(void)truncate(file, (off_t)strtoll(to, NULL, 10));
	int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	return cut_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	return cut_open("open64", path, flags, mode);
}
