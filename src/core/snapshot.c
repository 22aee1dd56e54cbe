/* snapshot.c: the in-memory snapshot: records in growable arrays, strings in an arena. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

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

static void *arena_alloc(snap_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (!a->head || a->head->used + n > a->head->size) {
		size_t size = n > 65536 ? n : 65536;
		chunk *c = malloc(sizeof *c + size);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
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
	char *copy = arena_alloc(a, n + 1);
	if (!copy)
		return NULL;
	memcpy(copy, str, n);
	copy[n] = '\0';
	a->table[j] = copy;
	a->table_len++;
	return copy;
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
	free(s->items);
	free(s->errors);
	free(s->integrity.mismatches);
	free(s->integrity.replicas);
	free(s->integrity.replica_guids);
	free(s);
}

const char *snap_strdup(snap_t *s, const char *str)
{
	if (!str)
		return NULL;
	size_t n = strlen(str);
	if (n <= INTERN_MAX)
		return intern(s->arena, str, n);
	char *copy = arena_alloc(s->arena, n + 1);
	if (copy)
		memcpy(copy, str, n + 1);
	return copy;
}

snap_bin snap_bindup(snap_t *s, const uint8_t *data, size_t len)
{
	snap_bin b = {NULL, 0};
	if (!data || !len)
		return b;
	uint8_t *copy = arena_alloc(s->arena, len);
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
	snap_item *it = or_append((void **)&s->items, &s->n_items, &s->cap_items, sizeof *it);
	if (it)
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
