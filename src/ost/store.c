/* store.c: property lists shared by both readers (store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>

bool st_wanted(const uint16_t *ids, size_t n, uint16_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Whether `data` lies in the list's block (compared as addresses). */
static bool in_block(const st_props *props, const uint8_t *data)
{
	uintptr_t b = (uintptr_t)props->block, d = (uintptr_t)data;
	return props->block && d >= b && d < b + ST_PROPS_BLOCK;
}

uint8_t *st_props_room(st_props *props, size_t len)
{
	if (!props->block && len <= ST_PROPS_BLOCK) {
		if (!(props->block = malloc(ST_PROPS_BLOCK)))
			return NULL;
		props->used = 0;
	}
	if (props->block && len && len <= ST_PROPS_BLOCK - props->used) {
		uint8_t *p = props->block + props->used;
		props->used += len;
		return p;
	}
	return malloc(len ? len : 1);
}

void st_props_add(st_props *props, uint16_t id, uint16_t type, uint8_t *data, size_t len)
{
	if (props->n == ST_MAX_PROPS) {
		if (!in_block(props, data))
			free(data); /* more values than any property we ask for: keep the first ones */
		return;
	}
	st_prop *p = &props->p[props->n++];
	p->id = id;
	p->type = type;
	p->data = data;
	p->len = len;
}

void st_props_clear(st_props *props)
{
	for (size_t i = 0; i < props->n; i++)
		if (!in_block(props, props->p[i].data))
			free(props->p[i].data);
	free(props->block);
	props->block = NULL;
	props->used = 0;
	props->n = 0;
}

int st_props_move_one(st_props *to, st_props *from, size_t i)
{
	st_prop *p = &from->p[i];
	if (to->n < ST_MAX_PROPS) {
		uint8_t *data = p->data;
		if (in_block(from, data)) {
			/* a string's terminator too: one byte past any value */
			if (!(data = malloc(p->len + 1)))
				return OR_ERR_NOMEM;
			memcpy(data, p->data, p->len);
			data[p->len] = '\0';
		}
		to->p[to->n] = *p;
		to->p[to->n++].data = data;
	} else if (!in_block(from, p->data)) {
		free(p->data);
	}
	p->data = NULL;
	return 0;
}

const st_prop *st_props_get(const st_props *props, uint16_t id)
{
	for (size_t i = 0; i < props->n; i++)
		if (props->p[i].id == id)
			return &props->p[i];
	return NULL;
}

const char *st_props_str(const st_props *props, uint16_t id)
{
	const st_prop *p = st_props_get(props, id);
	return p && (p->type == 0x001F || p->type == 0x001E) && p->data ? (const char *)p->data : NULL;
}

/* The integer value of `p` as st_props_int gives it. */
static bool prop_int(const st_prop *p, int64_t *out)
{
	if (!p || !p->len || p->len > 8)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < p->len; i++)
		v |= (uint64_t)p->data[i] << (8 * i);
	if (p->len == 2)
		*out = (int16_t)v;
	else if (p->len == 4)
		*out = (int32_t)v;
	else
		*out = (int64_t)v;
	return true;
}

bool st_props_int(const st_props *props, uint16_t id, int64_t *out)
{
	return prop_int(st_props_get(props, id), out);
}

int64_t st_props_time(const st_props *props, uint16_t id)
{
	const st_prop *p = st_props_get(props, id);
	int64_t v;
	if (!p || p->len != 8 || !prop_int(p, &v))
		return 0;
	return v;
}
