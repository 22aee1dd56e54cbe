/* fuzz_util.h: shared by the libFuzzer targets of fuzz/. The readers under test take a path, so each
 * input is written to an anonymous memory file (memfd) and given as /proc/self/fd/N. */
#ifndef OSTRECON_FUZZ_UTIL_H
#define OSTRECON_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Returns an fd holding exactly data[0..size) from offset 0, and its path in `path`; -1 on failure.
 * The same fd is reused for every input of a run (truncated and rewritten). */
static int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
	static int fd = -1;
	if (fd < 0) {
		fd = memfd_create("fuzz-input", 0);
		if (fd < 0)
			return -1;
	}
	if (ftruncate(fd, 0) != 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	snprintf(path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
