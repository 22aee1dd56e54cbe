/* block.c: large blocks of memory on transparent huge pages (core.h, "Large blocks").
 *
 * A comparison of a million items a side holds a few hundred MB in arrays of a few MB to tens of
 * MB each: item tables, hash maps, the report's text. Taken from malloc they come in 4 KiB pages,
 * each touched page a fault, and on a virtual machine a fault is expensive (tens of thousands of
 * them were a third of the CPU time of such a comparison). A block from BLOCK_MAP_MIN bytes on is
 * mapped on its own, in whole huge pages, and asked for huge pages (a hint the kernel may ignore);
 * smaller ones live on the heap. A block starts with a header saying which it is. */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BLOCK_HUGE (2u << 20)      /* the huge page size of x86-64 */
#define BLOCK_MAP_MIN (2u << 20)   /* blocks this large are mapped */

typedef struct {
	size_t size;   /* bytes asked for */
	size_t mapped; /* length of the mapping, 0 when on the heap */
} block_head;

_Static_assert(sizeof(block_head) == 16, "the header keeps the block 16-byte aligned");

static size_t map_len(size_t n)
{
	return (n + sizeof(block_head) + BLOCK_HUGE - 1) & ~(size_t)(BLOCK_HUGE - 1);
}

static void *mapped_block(size_t n)
{
	size_t len = map_len(n);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, len, MADV_HUGEPAGE); /* the whole area: it stays one when it grows */
#endif
	block_head *h = p;
	h->size = n;
	h->mapped = len;
	return h + 1;
}

void *or_block_alloc(size_t n)
{
	if (n > SIZE_MAX / 2)
		return NULL;
	if (n >= BLOCK_MAP_MIN)
		return mapped_block(n);
	block_head *h = calloc(1, sizeof *h + n);
	if (!h)
		return NULL;
	h->size = n;
	return h + 1;
}

void *or_block_realloc(void *p, size_t n)
{
	if (!p)
		return or_block_alloc(n);
	if (n > SIZE_MAX / 2)
		return NULL;
	block_head *h = (block_head *)p - 1;
	if (h->mapped) { /* mremap moves the pages instead of copying them */
		size_t len = map_len(n);
		if (len != h->mapped) {
			void *q = mremap(h, h->mapped, len, MREMAP_MAYMOVE);
			if (q == MAP_FAILED)
				return NULL;
			h = q;
			h->mapped = len;
		}
		h->size = n;
		return h + 1;
	}
	if (n < BLOCK_MAP_MIN) {
		block_head *q = realloc(h, sizeof *h + n);
		if (!q)
			return NULL;
		q->size = n;
		return q + 1;
	}
	void *q = mapped_block(n);
	if (!q)
		return NULL;
	memcpy(q, p, h->size < n ? h->size : n);
	free(h);
	return q;
}

void or_block_free(void *p)
{
	if (!p)
		return;
	block_head *h = (block_head *)p - 1;
	if (h->mapped)
		munmap(h, h->mapped);
	else
		free(h);
}
