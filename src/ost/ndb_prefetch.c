/*
 * ndb_prefetch.c: a cache file not yet in memory, read front to back once while the listing runs
 * (see ndb.h, ndb_prefetch_start).
 *
 * The listing reads each folder's messages, which a cache scatters over its whole length: with the
 * file in the system's page cache each read is a copy, but a file that is not (a cache just copied
 * in, a machine just started, a cache of many GB) is read from the disk a block at a time, in the
 * order the folders list their messages, jumping about the file. On the 484 MB benchmark file taken
 * out of the page cache, the listing took 1.53 s against 1.0 s with the file in memory. A thread
 * that reads the file in order, in pieces of PIECE bytes, while the B-tree walk and the listing go
 * on, brings it down to about 1.15 s: the disk serves one long read instead of 240,000 short ones,
 * and the listing's reads then find their blocks in memory (on a spinning disk, the difference is
 * that of a sequential read to 240,000 seeks).
 *
 * It reads only what is not in memory already (mincore over a window of the file mapped, never
 * touched), so a file in memory costs a few system calls; and only a file that fits in half the
 * memory the system says is available (MemAvailable): a larger one would push its own first pages
 * out before the listing reads them, and the listing's reads are left as they are. Files listed at
 * once in one process (a batch's jobs) share that half: each running prefetch holds its file's size
 * of it until it is stopped, and a file that would pass it is not prefetched. Nothing it reads
 * is kept by the process (the pieces go through one buffer), an error or a file cut short just
 * ends it (the listing's own reads report what they meet), and ndb_close stops it within a piece.
 * OSTRECON_TEST_NO_PREFETCH in the environment turns it off (tests); OSTRECON_TEST_MEMAVAILABLE
 * (bytes) stands for MemAvailable (tests of the rule).
 */
#include "ndb.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PIECE ((size_t)128 << 10)  /* one read; the kernel's read-ahead makes the disk's reads larger */
#define WINDOW ((size_t)8 << 20)   /* the file mapped at a time to ask what is in memory */

/* The bytes of the files whose prefetch is running in this process (a batch lists several at once). */
static uint64_t held;

struct ndb_prefetch {
	pthread_t thread;
	int fd;
	uint64_t size;
	int stop;              /* set by ndb_prefetch_stop, read between pieces */
	uint64_t bytes_read;   /* read from the file */
	uint64_t bytes_there;  /* found in memory, not read */
	uint64_t reads;
	uint64_t ended_at;     /* where a read failed or came back short; size when none did */
	int ended_errno;       /* its errno, 0 for a short read */
};

/* The memory the system says is available, in bytes; 0 when it does not say. */
static uint64_t mem_available(void)
{
	const char *knob = getenv("OSTRECON_TEST_MEMAVAILABLE");
	if (knob && *knob)
		return strtoull(knob, NULL, 10);
	FILE *fp = fopen("/proc/meminfo", "re");
	uint64_t kib = 0;
	if (fp) {
		char line[128];
		while (fgets(line, sizeof line, fp))
			if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kib) == 1)
				break;
		fclose(fp);
	}
	if (kib)
		return kib << 10;
	long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

/* Which of the pages of [off, off + n) are in memory: vec gets a byte a page (bit 0 set: in
 * memory). False when the system will not say (the window is then read whole). */
static bool in_memory(int fd, uint64_t off, size_t n, unsigned char *vec)
{
	void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (m == MAP_FAILED)
		return false;
	bool ok = mincore(m, n, vec) == 0;
	munmap(m, n);
	return ok;
}

static void *prefetch_run(void *arg)
{
	struct ndb_prefetch *p = arg;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *buf = malloc(PIECE);
	unsigned char *vec = malloc(WINDOW / page + 1);
	p->ended_at = p->size;
	if (!buf || !vec) {
		p->ended_at = 0;
		p->ended_errno = ENOMEM;
		goto done;
	}
	for (uint64_t w = 0; w < p->size; w += WINDOW) {
		size_t wn = p->size - w < WINDOW ? (size_t)(p->size - w) : WINDOW;
		bool known = in_memory(p->fd, w, wn, vec);
		for (size_t at = 0; at < wn; at += PIECE) {
			if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
				goto done;
			size_t n = wn - at < PIECE ? wn - at : PIECE;
			bool all_there = known;
			for (size_t i = at / page; all_there && i <= (at + n - 1) / page; i++)
				all_there = vec[i] & 1;
			if (all_there) {
				p->bytes_there += n;
				continue;
			}
			ssize_t got;
			do
				got = pread(p->fd, buf, n, (off_t)(w + at));
			while (got < 0 && errno == EINTR);
			p->reads++;
			if (got > 0)
				p->bytes_read += (uint64_t)got;
			if (got != (ssize_t)n) {
				p->ended_at = w + at + (got > 0 ? (uint64_t)got : 0);
				p->ended_errno = got < 0 ? errno : 0;
				goto done;
			}
		}
	}
done:
	free(buf);
	free(vec);
	return NULL;
}

void ndb_prefetch_start(ndb_file *nf)
{
	const char *knob = getenv("OSTRECON_TEST_NO_PREFETCH");
	if (knob && *knob) {
		log_verbose("cache file prefetch: turned off (OSTRECON_TEST_NO_PREFETCH)");
		return;
	}
	uint64_t half = mem_available() / 2, was = __atomic_load_n(&held, __ATOMIC_RELAXED);
	do {
		if (was > half || half - was < nf->size) {
			log_verbose("cache file prefetch: not done: the file (%" PRIu64 " MB) is more than half the memory "
			            "available (%" PRIu64 " MB)%s; its blocks are read where the listing needs them",
			            nf->size / 1000000, 2 * half / 1000000,
			            was ? ", less what the files being prefetched already hold" : "");
			return;
		}
	} while (!__atomic_compare_exchange_n(&held, &was, was + nf->size, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	struct ndb_prefetch *p = calloc(1, sizeof *p);
	if (p) {
		p->fd = nf->fd;
		p->size = nf->size;
		if (pthread_create(&p->thread, NULL, prefetch_run, p) == 0) {
			nf->prefetch = p;
			return;
		}
		free(p);
	}
	__atomic_sub_fetch(&held, nf->size, __ATOMIC_RELAXED); /* the listing reads the file all the same */
}

void ndb_prefetch_stop(ndb_file *nf)
{
	struct ndb_prefetch *p = nf->prefetch;
	if (!p)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
	pthread_join(p->thread, NULL);
	nf->prefetch = NULL;
	__atomic_sub_fetch(&held, p->size, __ATOMIC_RELAXED);
	if (p->ended_at < p->size)
		log_verbose("cache file prefetch: %" PRIu64 " bytes read in %" PRIu64 " reads, %" PRIu64 " found in memory; "
		            "ended at offset %" PRIu64 ": %s", p->bytes_read, p->reads, p->bytes_there, p->ended_at,
		            p->ended_errno ? strerror(p->ended_errno) : "the file ends there");
	else
		log_verbose("cache file prefetch: %" PRIu64 " bytes read in %" PRIu64 " reads, %" PRIu64 " found in memory%s",
		            p->bytes_read, p->reads, p->bytes_there,
		            p->bytes_read + p->bytes_there < p->size ? " (stopped before the end: the listing was done)" : "");
	free(p);
}
