/* snapshot.c: the in-memory snapshot: records in growable arrays, strings in an arena. */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The arena hands out memory in chunks and frees it all at once with the snapshot. Message
 * classes and folder ids repeat a lot, so short strings are interned through a small hash table. */
typedef struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
} chunk;

#define INTERN_MAX 64 /* strings up to this length are interned */

struct snap_arena {
	chunk *head;
	const char **table; /* open addressing; NULL = empty */
	size_t table_cap, table_len;
};

/* Chunks grow from 64 KiB to 4 MiB: a small snapshot stays small, and a large one is held in
 * chunks big enough to be mapped (and unmapped at the end) on their own, not carved from the heap. */
#define CHUNK_MIN (64u << 10)
#define CHUNK_MAX (4u << 20)
#define HUGE_PAGE (2u << 20)

/* Large blocks (a big snapshot's item array and string chunks) are asked to be backed by huge
 * pages where the system allows it (transparent huge pages in "madvise" mode, Debian's default):
 * loading a million items then takes a few hundred page faults instead of a hundred thousand. A
 * hint only: nothing changes where it is refused. */
static void huge_page_hint(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t stop = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (stop > start)
		(void)madvise((void *)start, stop - start, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

/* n bytes aligned to `align` (a power of two; strings and byte strings take 1). */
static void *arena_alloc_aligned(snap_arena *a, size_t n, size_t align)
{
	chunk *c = a->head;
	size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	if (!c || at > c->size || n > c->size - at) {
		size_t total = c ? sizeof *c + c->size : 0;
		total = !total ? CHUNK_MIN : total < CHUNK_MAX / 2 ? 2 * total : CHUNK_MAX;
		if (total - sizeof *c < n)
			total = sizeof *c + n;
		/* The largest chunks are whole huge pages, header included, starting on a boundary. */
		bool huge = total >= CHUNK_MAX;
		if (huge)
			total = (total + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
		size_t size = total - sizeof *c;
		if (!(c = huge ? aligned_alloc(HUGE_PAGE, total) : malloc(total)))
			return NULL;
		if (huge)
			huge_page_hint(c, total);
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
		at = 0;
	}
	c->used = at + n;
	return c->data + at;
}

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static const char *intern(snap_arena *a, const char *str, size_t n)
{
	if (a->table_len * 2 >= a->table_cap) {
		size_t cap = a->table_cap ? a->table_cap * 2 : 1024;
		const char **t = calloc(cap, sizeof *t);
		if (!t)
			return NULL;
		for (size_t i = 0; i < a->table_cap; i++) {
			if (!a->table[i])
				continue;
			size_t j = hash_str(a->table[i], strlen(a->table[i])) & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = a->table[i];
		}
		free(a->table);
		a->table = t;
		a->table_cap = cap;
	}
	size_t j = hash_str(str, n) & (a->table_cap - 1);
	while (a->table[j]) {
		if (strncmp(a->table[j], str, n) == 0 && a->table[j][n] == '\0')
			return a->table[j];
		j = (j + 1) & (a->table_cap - 1);
	}
	char *copy = arena_alloc_aligned(a, n + 1, 1);
	if (!copy)
		return NULL;
	memcpy(copy, str, n);
	copy[n] = '\0';
	a->table[j] = copy;
	a->table_len++;
	return copy;
}

/* The item array is a large block (core.h): a large snapshot's (a million items: 160 MB) is mapped
 * on its own, on huge pages, and grown with mremap, which moves pages instead of copying them. */
static int items_grow(snap_t *s)
{
	size_t cap = s->cap_items ? s->cap_items * 2 : 16;
	if (cap > SIZE_MAX / 2 / sizeof(snap_item))
		return -1;
	void *p = or_block_realloc(s->items, cap * sizeof(snap_item));
	if (!p)
		return -1;
	s->items = p;
	s->cap_items = cap;
	return 0;
}

int snap_new(snap_t **out, or_error *err)
{
	*out = NULL;
	snap_t *s = calloc(1, sizeof *s);
	if (!s || !(s->arena = calloc(1, sizeof *s->arena))) {
		free(s);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	s->hdr.file_size = -1;
	*out = s;
	return 0;
}

void snap_free(snap_t *s)
{
	if (!s)
		return;
	if (s->arena) {
		for (chunk *c = s->arena->head, *next; c; c = next) {
			next = c->next;
			free(c);
		}
		free(s->arena->table);
		free(s->arena);
	}
	free(s->folders);
	or_block_free(s->items);
	snap_compared_release(s->compared);
	free(s->compared);
	free(s->errors);
	free(s->integrity.mismatches);
	free(s->integrity.replicas);
	free(s->integrity.replica_guids);
	free(s);
}

/* What snap_clear keeps: the newest string chunk and the record arrays, up to these sizes. */
#define CLEAR_KEEP_CHUNK CHUNK_MAX
#define CLEAR_KEEP_ARRAY (1u << 20)

void snap_clear(snap_t *s)
{
	snap_arena *a = s->arena;
	chunk *keep = a->head;
	if (keep && keep->size > CLEAR_KEEP_CHUNK)
		keep = NULL;
	for (chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		if (c != keep)
			free(c);
	}
	a->head = keep;
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
	}
	if (a->table_len)
		memset(a->table, 0, a->table_cap * sizeof *a->table);
	a->table_len = 0;
	if (s->cap_folders * sizeof *s->folders > CLEAR_KEEP_ARRAY) {
		free(s->folders);
		s->folders = NULL;
		s->cap_folders = 0;
	}
	if (s->cap_items * sizeof *s->items > CLEAR_KEEP_ARRAY) {
		or_block_free(s->items);
		s->items = NULL;
		s->cap_items = 0;
	}
	snap_compared_release(s->compared);
	free(s->compared);
	s->compared = NULL;
	free(s->errors);
	free(s->integrity.mismatches);
	free(s->integrity.replicas);
	free(s->integrity.replica_guids);
	s->errors = NULL;
	s->cap_errors = 0;
	s->n_folders = s->n_items = s->n_errors = 0;
	memset(&s->hdr, 0, sizeof s->hdr);
	memset(&s->integrity, 0, sizeof s->integrity);
	s->hdr.file_size = -1;
}

const char *snap_strdup(snap_t *s, const char *str)
{
	return str ? snap_strndup(s, str, strlen(str)) : NULL;
}

const char *snap_strndup(snap_t *s, const char *str, size_t n)
{
	if (!str)
		return NULL;
	if (n <= INTERN_MAX)
		return intern(s->arena, str, n);
	return snap_strndup_unique(s, str, n);
}

const char *snap_strndup_unique(snap_t *s, const char *str, size_t n)
{
	if (!str)
		return NULL;
	char *copy = arena_alloc_aligned(s->arena, n + 1, 1);
	if (copy) {
		memcpy(copy, str, n);
		copy[n] = '\0';
	}
	return copy;
}

snap_bin snap_bindup(snap_t *s, const uint8_t *data, size_t len)
{
	snap_bin b = {NULL, 0};
	if (!data || !len)
		return b;
	uint8_t *copy = arena_alloc_aligned(s->arena, len, 1); /* bytes: no alignment needed */
	if (copy) {
		memcpy(copy, data, len);
		b.data = copy;
		b.len = (uint32_t)len;
	}
	return b;
}

void snap_ident_init(snap_ident *id)
{
	memset(id, 0, sizeof *id);
	id->replid = -1;
	id->origin = KEY_NONE;
}

void snap_folder_init(snap_folder *f)
{
	memset(f, 0, sizeof *f);
	snap_ident_init(&f->ident);
	f->content_count = f->unread_count = f->assoc_count = -1;
}

void snap_item_init(snap_item *it)
{
	memset(it, 0, sizeof *it);
	snap_ident_init(&it->ident);
	it->msg_flags = it->size = -1;
	it->read = it->flag_status = it->importance = -1;
}

snap_folder *snap_add_folder(snap_t *s)
{
	snap_folder *f = or_append((void **)&s->folders, &s->n_folders, &s->cap_folders, sizeof *f);
	if (f)
		snap_folder_init(f);
	return f;
}

snap_item *snap_add_item(snap_t *s)
{
	if (s->n_items == s->cap_items && items_grow(s) != 0)
		return NULL;
	snap_item *it = &s->items[s->n_items++];
	snap_item_init(it);
	return it;
}

snap_error *snap_add_error(snap_t *s, snap_err_scope scope, const char *code, const char *message)
{
	snap_error *e = or_append((void **)&s->errors, &s->n_errors, &s->cap_errors, sizeof *e);
	if (!e)
		return NULL;
	e->scope = (uint8_t)scope;
	e->code = snap_strdup(s, code);
	e->message = snap_strdup(s, message);
	return e;
}

static const char *const origin_names[KEY_ORIGIN_COUNT] = {
	[KEY_NONE] = "none", [KEY_SOURCE_KEY] = "source_key", [KEY_REPLICA] = "replica",
	[KEY_GC_ONLY] = "gc_only", [KEY_ENTRY_ID] = "entry_id",
};

const char *snap_key_origin_name(snap_key_origin o)
{
	return o < KEY_ORIGIN_COUNT ? origin_names[o] : "none";
}

int snap_key_origin_parse(const char *name, snap_key_origin *out)
{
	for (int i = 0; i < KEY_ORIGIN_COUNT; i++)
		if (strcmp(name, origin_names[i]) == 0) {
			*out = (snap_key_origin)i;
			return 0;
		}
	return -1;
}

const char *snap_source_name(snap_source s)
{
	switch (s) {
	case SRC_OST: return "ost";
	case SRC_PST: return "pst";
	case SRC_EWS: return "ews";
	case SRC_FIXTURE: return "fixture";
	case SRC_GRAPH: return "graph";
	default: return "unknown";
	}
}

const char *snap_repaired_name(unsigned bit)
{
	switch (bit) {
	case SNAP_REPAIRED_NAME: return "name";
	case SNAP_REPAIRED_CLASS: return "class";
	case SNAP_REPAIRED_SUBJECT: return "subject";
	case SNAP_REPAIRED_MESSAGE_ID: return "message_id";
	default: return NULL;
	}
}
