/* probe.c: whether a file is a PST/OST a capture can start on, checked in a moment (before a
 * scan spends minutes on the server): the header's magic and version, the size it states, and
 * where its two B-tree roots lie. The full checks are the capture's own. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int ost_probe(const char *path, or_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return or_fail(err, errno == ENOENT ? OR_ERR_NOTFOUND : OR_ERR_IO, "%s: %s", path, strerror(errno));
	struct stat st;
	uint8_t h[564];
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		rc = or_fail(err, OR_ERR_IO, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		rc = or_fail(err, OR_ERR_USAGE, "%s is not a file", path);
	} else if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s is too short to be a PST/OST file (%lld bytes)", path,
		             (long long)st.st_size);
	} else if (memcmp(h, "!BDN", 4) != 0) {
		rc = or_fail(err, OR_ERR_FORMAT, "%s is not a PST/OST file (no '!BDN' at its start)", path);
	} else {
		unsigned ver = (unsigned)le(h + 10, 2);
		bool ansi = ver == 14 || ver == 15;
		if (!ansi && ver != 23 && ver != 36) {
			rc = or_fail(err, OR_ERR_FORMAT, "%s: a PST/OST format version the reader does not know (%u)", path, ver);
		} else {
			uint64_t eof = ansi ? le(h + 168, 4) : le(h + 184, 8);
			uint64_t nbt = ansi ? le(h + 188, 4) : le(h + 224, 8);
			uint64_t bbt = ansi ? le(h + 196, 4) : le(h + 240, 8);
			uint64_t size = (uint64_t)st.st_size;
			if (eof > size)
				rc = or_fail(err, OR_ERR_FORMAT, "%s: the file is truncated: %llu bytes, its header says %llu", path,
				             (unsigned long long)size, (unsigned long long)eof);
			else if (nbt >= size || bbt >= size || nbt < sizeof h || bbt < sizeof h)
				rc = or_fail(err, OR_ERR_FORMAT, "%s: the header's B-tree roots lie outside the file: it is damaged",
				             path);
		}
	}
	close(fd);
	return rc;
}
