/* A preload for t_btree_spill.sh: every read of a file that has no name any more (the B-tree
 * tables' unlinked temporary file; the cache file keeps its name) fails with EIO, as a failing
 * disk under TMPDIR would make it. Built by the test at run time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int unnamed(int fd)
{
	char link[64], target[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	return strstr(target, " (deleted)") != NULL;
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	if (!real)
		real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
	if (unnamed(fd)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, count, offset);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	return pread64(fd, buf, count, offset);
}
