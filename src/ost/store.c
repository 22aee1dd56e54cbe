/* store.c: property lists shared by both readers (store.h). */
#include "store.h"

#include <stdlib.h>

bool st_wanted(const uint16_t *ids, size_t n, uint16_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void st_props_add(st_props *props, uint16_t id, uint16_t type, uint8_t *data, size_t len)
{
	if (props->n == ST_MAX_PROPS) {
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
		free(props->p[i].data);
	props->n = 0;
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

bool st_props_int(const st_props *props, uint16_t id, int64_t *out)
{
	const st_prop *p = st_props_get(props, id);
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

int64_t st_props_time(const st_props *props, uint16_t id)
{
	const st_prop *p = st_props_get(props, id);
	int64_t v;
	if (!p || p->len != 8 || !st_props_int(props, id, &v))
		return 0;
	return v;
}
