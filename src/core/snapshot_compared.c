/* snapshot_compared.c: items in the compact form a comparison reads (snap_citem), their strings
 * in one heap addressed by 32-bit offsets. */
#include "core.h"

#include <stdlib.h>
#include <unistd.h>

_Static_assert(sizeof(snap_citem) <= 88, "a compared item is 88 bytes at most");

#define HEAP_LIMIT UINT32_MAX /* offsets are 32-bit */

/* Grows a block of *cap bytes to hold `need`, doubling: a large block (core.h), on huge pages
 * once it is a few MB, grown with mremap, which moves pages instead of copying them. */
static int block_grow(void **p, size_t *cap, size_t need, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : first;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 4)
			return OR_ERR_NOMEM;
		ncap *= 2;
	}
	void *q = or_block_realloc(*p, ncap);
	if (!q)
		return OR_ERR_NOMEM;
	*p = q;
	*cap = ncap;
	return 0;
}

int snap_compared_add(snap_compared *c, snap_citem **out)
{
	if (c->n_items >= INT32_MAX)
		return OR_ERR_LIMIT;
	size_t cap = c->cap_items * sizeof *c->items;
	int rc = block_grow((void **)&c->items, &cap, (c->n_items + 1) * sizeof *c->items, 64 * sizeof *c->items);
	if (rc)
		return rc;
	c->cap_items = cap / sizeof *c->items;
	snap_citem *it = &c->items[c->n_items++];
	memset(it, 0, sizeof *it);
	snap_ident_init(&it->ident);
	it->read = it->flag_status = it->importance = -1;
	*out = it;
	return 0;
}

void snap_compared_reserve(snap_compared *c, size_t items, size_t heap)
{
	if (c->n_items || c->heap_len)
		return;
	if (items > INT32_MAX)
		items = INT32_MAX;
	if (heap > HEAP_LIMIT)
		heap = HEAP_LIMIT;
	size_t cap = 0;
	if (items && block_grow((void **)&c->items, &cap, items * sizeof *c->items, items * sizeof *c->items) == 0)
		c->cap_items = cap / sizeof *c->items;
	cap = 0;
	if (heap && block_grow((void **)&c->heap, &cap, heap, heap) == 0)
		c->heap_cap = cap;
}

/* Room for n more bytes in the heap, whose offset 0 is kept unused (0 means absent). */
static int heap_reserve(snap_compared *c, size_t n)
{
	if (!c->heap_len)
		c->heap_len = 1;
	if (n > HEAP_LIMIT - c->heap_len)
		return OR_ERR_LIMIT;
	size_t cap = c->heap_cap;
	int rc = block_grow((void **)&c->heap, &cap, c->heap_len + n, 64u << 10);
	if (rc)
		return rc;
	c->heap_cap = cap;
	return 0;
}

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static int intern_grow(snap_compared *c)
{
	size_t cap = c->intern_cap ? c->intern_cap * 2 : 1024;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return OR_ERR_NOMEM;
	for (size_t i = 0; i < c->intern_cap; i++) {
		uint32_t off = c->intern[i];
		if (!off)
			continue;
		size_t j = hash_str(c->heap + off, strlen(c->heap + off)) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = off;
	}
	free(c->intern);
	c->intern = t;
	c->intern_cap = cap;
	return 0;
}

int snap_compared_str(snap_compared *c, const char *str, size_t n, bool interned, uint32_t *off)
{
	size_t *slot = NULL, j = 0;
	if (interned) {
		int rc;
		if (c->intern_len * 2 >= c->intern_cap && (rc = intern_grow(c)) != 0)
			return rc;
		j = hash_str(str, n) & (c->intern_cap - 1);
		for (; c->intern[j]; j = (j + 1) & (c->intern_cap - 1)) {
			const char *x = c->heap + c->intern[j];
			if (strncmp(x, str, n) == 0 && x[n] == '\0') {
				*off = c->intern[j];
				return 0;
			}
		}
		slot = &j;
	}
	int rc = heap_reserve(c, n + 1);
	if (rc)
		return rc;
	*off = (uint32_t)c->heap_len;
	memcpy(c->heap + c->heap_len, str, n);
	c->heap[c->heap_len + n] = '\0';
	c->heap_len += n + 1;
	if (slot) {
		c->intern[*slot] = *off;
		c->intern_len++;
	}
	return 0;
}

/* A delta id in the heap: the offset of the id kept whole, the length shared (both 4 bytes, host
 * order), then the tail, NUL-terminated. */
int snap_compared_id(snap_compared *c, snap_citem *it, const char *id, size_t n)
{
	it->id_delta = 0;
	if (c->id_base && n < SNAP_ID_TEXT && n >= SNAP_ID_HEAD) {
		const char *base = c->heap + c->id_base;
		size_t same = 0, most = n < c->id_base_len ? n : c->id_base_len;
		while (same + 8 <= most && memcmp(base + same, id + same, 8) == 0)
			same += 8;
		while (same < most && base[same] == id[same])
			same++;
		if (same >= SNAP_ID_HEAD && n - same <= SNAP_ID_TAIL) {
			uint32_t head[2] = {c->id_base, (uint32_t)same};
			int rc = heap_reserve(c, sizeof head + n - same + 1);
			if (rc)
				return rc;
			it->id = (uint32_t)c->heap_len;
			it->id_delta = 1;
			char *w = c->heap + c->heap_len;
			memcpy(w, head, sizeof head);
			memcpy(w + sizeof head, id + same, n - same);
			w[sizeof head + n - same] = '\0';
			c->heap_len += sizeof head + n - same + 1;
			return 0;
		}
	}
	int rc = snap_compared_str(c, id, n, false, &it->id);
	if (rc == 0 && n < SNAP_ID_TEXT) {
		c->id_base = it->id;
		c->id_base_len = n;
	}
	return rc;
}

const char *snap_citem_id(const snap_compared *c, const snap_citem *it, char buf[SNAP_ID_TEXT])
{
	if (!it->id)
		return NULL;
	const char *p = c->heap + it->id;
	if (!it->id_delta)
		return p;
	uint32_t head[2];
	memcpy(head, p, sizeof head);
	size_t tail = strlen(p + sizeof head);
	if (head[1] + tail >= SNAP_ID_TEXT) /* never, as kept: a bound all the same */
		return NULL;
	memcpy(buf, c->heap + head[0], head[1]);
	memcpy(buf + head[1], p + sizeof head, tail + 1);
	return buf;
}

int snap_compared_bin(snap_compared *c, const uint8_t *data, size_t len, uint32_t *off)
{
	*off = 0;
	if (!data || !len)
		return 0;
	if (len > UINT32_MAX)
		return OR_ERR_LIMIT;
	uint32_t n = (uint32_t)len;
	int rc = heap_reserve(c, sizeof n + len);
	if (rc)
		return rc;
	*off = (uint32_t)c->heap_len;
	memcpy(c->heap + c->heap_len, &n, sizeof n);
	memcpy(c->heap + c->heap_len + sizeof n, data, len);
	c->heap_len += sizeof n + len;
	return 0;
}

void snap_compared_done(snap_compared *c)
{
	free(c->intern);
	c->intern = NULL;
	c->intern_cap = c->intern_len = 0;
	c->id_base = 0;
	c->id_base_len = 0;
}

void snap_compared_release(snap_compared *c)
{
	if (!c)
		return;
	snap_compared_done(c);
	if (c->subjects_in_file)
		close(c->fd);
	free(c->path);
	or_block_free(c->items);
	or_block_free(c->heap);
	memset(c, 0, sizeof *c);
}

const char *snap_citem_subject(const snap_compared *c, const snap_citem *it)
{
	return !c->subjects_in_file && it->subject_at ? c->heap + it->subject_at : NULL;
}

int64_t snap_item_date(const snap_item *it)
{
	return it->received ? it->received : it->sent ? it->sent : it->created ? it->created : it->modified;
}

static int str_of(snap_compared *c, const char *s, bool interned, uint32_t *off)
{
	*off = 0;
	return s ? snap_compared_str(c, s, strlen(s), interned, off) : 0;
}

int snap_compared_build(const snap_t *s, snap_compared *c, or_error *err)
{
	memset(c, 0, sizeof *c);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < s->n_items; i++) {
		const snap_item *it = &s->items[i];
		snap_citem *x;
		if ((rc = snap_compared_add(c, &x)) != 0)
			break;
		x->date = snap_item_date(it);
		x->ident = it->ident;
		x->read = (int8_t)(it->msg_flags >= 0 ? (it->msg_flags & 0x01) != 0 /* mfRead */
		                                      : it->read >= 0 ? it->read != 0 : -1);
		x->flag_status = it->flag_status;
		x->importance = it->importance;
		x->associated = it->associated != 0;
		x->subject_hash = snap_text_hash(it->subject, it->subject ? strlen(it->subject) : 0);
		uint32_t subject = 0;
		if ((it->id && (rc = snap_compared_id(c, x, it->id, strlen(it->id))) != 0) ||
		    (rc = str_of(c, it->folder_id, true, &x->folder_id)) != 0 ||
		    (rc = str_of(c, it->cls, true, &x->cls)) != 0 || (rc = str_of(c, it->subject, false, &subject)) != 0 ||
		    (rc = snap_compared_bin(c, it->change_key.data, it->change_key.len, &x->change_key)) != 0 ||
		    (rc = snap_compared_bin(c, it->pcl.data, it->pcl.len, &x->pcl)) != 0)
			break;
		x->subject_at = subject;
	}
	snap_compared_done(c);
	if (rc) {
		snap_compared_release(c);
		return rc == OR_ERR_LIMIT ? or_fail(err, rc, "snapshot too large to compare")
		                          : or_fail(err, rc, "out of memory");
	}
	return 0;
}
