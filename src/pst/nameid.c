/* nameid.c: the name-to-id map ([MS-PST] 2.4.7): named properties get ids from 0x8000 in the order
 * they are first met; the map node holds the GUID, entry and string streams and the hash buckets. */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 251

/* PS_MAPI and PS_PUBLIC_STRINGS have the fixed GUID indexes 1 and 2 ([MS-PST] 2.4.7.1). */
static const uint8_t ps_mapi[16] = {0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
static const uint8_t ps_public_strings[16] = {0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
                                              0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};

typedef struct {
	uint16_t guid_index;
	bool is_string;
	uint32_t lid;          /* number, or offset in the string stream */
	uint32_t crc;          /* strings: CRC of the UTF-16 name (the hash key) */
	char *name;
	uint64_t hash;
} entry;

struct pst_nameid {
	entry *e;
	size_t n, cap;
	uint32_t *slots;       /* open addressing over e (index + 1; 0 empty) */
	size_t n_slots;
	uint8_t (*guids)[16];
	size_t n_guids, cap_guids;
	or_buf strings;        /* the string stream */
};

int pst_nameid_new(pst_nameid **out, or_error *err)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : or_fail(err, OR_ERR_NOMEM, "out of memory");
}

void pst_nameid_free(pst_nameid *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].name);
	free(m->e);
	free(m->slots);
	free(m->guids);
	buf_free(&m->strings);
	free(m);
}

static uint64_t name_hash(uint16_t guid_index, const pst_name *n)
{
	uint64_t h = 1469598103934665603ull ^ guid_index ^ (n->is_string ? 0x100000000ull : 0);
	if (!n->is_string)
		return (h ^ n->lid) * 1099511628211ull;
	for (const unsigned char *p = (const unsigned char *)n->name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static int guid_index(pst_nameid *m, const uint8_t guid[16], bool add, uint16_t *out, or_error *err)
{
	if (memcmp(guid, ps_mapi, 16) == 0) {
		*out = 1;
		return 0;
	}
	if (memcmp(guid, ps_public_strings, 16) == 0) {
		*out = 2;
		return 0;
	}
	for (size_t i = 0; i < m->n_guids; i++)
		if (memcmp(m->guids[i], guid, 16) == 0) {
			*out = (uint16_t)(i + 3);
			return 0;
		}
	if (!add) {
		*out = 0;
		return 0;
	}
	if (m->n_guids + 3 > 0x7FFF)
		return or_fail(err, OR_ERR_LIMIT, "more property set GUIDs than the map holds");
	uint8_t(*g)[16] = or_append((void **)&m->guids, &m->n_guids, &m->cap_guids, 16);
	if (!g)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	memcpy(*g, guid, 16);
	*out = (uint16_t)(m->n_guids + 2);
	return 0;
}

static bool same(const entry *e, uint16_t gi, const pst_name *n)
{
	if (e->guid_index != gi || e->is_string != n->is_string)
		return false;
	return n->is_string ? strcmp(e->name, n->name) == 0 : e->lid == n->lid;
}

static int rehash(pst_nameid *m, or_error *err)
{
	size_t ns = m->n_slots ? m->n_slots * 2 : 1024;
	uint32_t *s = calloc(ns, sizeof *s);
	if (!s)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++) {
		size_t h = (size_t)m->e[i].hash & (ns - 1);
		while (s[h])
			h = (h + 1) & (ns - 1);
		s[h] = (uint32_t)(i + 1);
	}
	free(m->slots);
	m->slots = s;
	m->n_slots = ns;
	return 0;
}

int pst_nameid_get(pst_nameid *m, const pst_name *n, uint16_t *id, or_error *err)
{
	uint16_t gi;
	int rc;
	if (n->is_string && !n->name)
		return or_fail(err, OR_ERR_FORMAT, "a named property without its name");
	if ((rc = guid_index(m, n->guid, false, &gi, err)) != 0)
		return rc;
	uint64_t h = name_hash(gi, n);
	if (gi && m->n_slots) {
		for (size_t s = (size_t)h & (m->n_slots - 1); m->slots[s]; s = (s + 1) & (m->n_slots - 1)) {
			const entry *e = &m->e[m->slots[s] - 1];
			if (e->hash == h && same(e, gi, n)) {
				*id = (uint16_t)(0x8000 + (m->slots[s] - 1));
				return 0;
			}
		}
	}
	if (m->n >= 0x7FFF)
		return or_fail(err, OR_ERR_LIMIT, "more than 32,767 named properties");
	if (!gi) {
		if ((rc = guid_index(m, n->guid, true, &gi, err)) != 0)
			return rc;
		h = name_hash(gi, n);
	}
	entry *e = or_append((void **)&m->e, &m->n, &m->cap, sizeof *e);
	if (!e)
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	e->guid_index = gi;
	e->is_string = n->is_string;
	e->hash = h;
	if (n->is_string) {
		or_buf u = {0};
		uint8_t len[4], pad[4] = {0};
		if (!(e->name = strdup(n->name)) || pst_utf16(&u, n->name) != 0) {
			buf_free(&u);
			m->n--;
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		e->lid = (uint32_t)m->strings.len;
		e->crc = pst_crc((const uint8_t *)u.data, u.len);
		pst_put32(len, (uint32_t)u.len);
		/* each name is a length and its UTF-16 characters, aligned to 4 bytes */
		if (buf_append(&m->strings, len, 4) != 0 || (u.len && buf_append(&m->strings, u.data, u.len) != 0) ||
		    ((u.len & 3) && buf_append(&m->strings, pad, 4 - (u.len & 3)) != 0)) {
			buf_free(&u);
			return or_fail(err, OR_ERR_NOMEM, "out of memory");
		}
		buf_free(&u);
	} else {
		e->lid = n->lid;
	}
	if (m->n * 2 > m->n_slots) {
		if ((rc = rehash(m, err)) != 0) /* places every entry, the new one too */
			return rc;
	} else {
		size_t s = (size_t)h & (m->n_slots - 1);
		while (m->slots[s])
			s = (s + 1) & (m->n_slots - 1);
		m->slots[s] = (uint32_t)m->n;
	}
	*id = (uint16_t)(0x8000 + m->n - 1);
	return 0;
}

size_t pst_nameid_count(const pst_nameid *m) { return m->n; }

int pst_nameid_write(pst_nameid *m, pst_ndb *f, or_error *err)
{
	or_buf entries = {0}, buckets[BUCKETS];
	pst_prop props[4 + BUCKETS];
	size_t n = 0;
	int rc = 0;
	memset(buckets, 0, sizeof buckets);
	if (m->n == 0) {
		/* readers (libpff) refuse a map without entries: one name no property uses
		 * (PSETID_Common, PidLidReminderSet) */
		static const pst_name common = {{0x08, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
		                                 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}, false, 0x8503, NULL};
		uint16_t id;
		if ((rc = pst_nameid_get(m, &common, &id, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		const entry *e = &m->e[i];
		uint8_t r[8];
		uint16_t g = (uint16_t)(e->guid_index << 1 | (e->is_string ? 1 : 0));
		pst_put32(r, e->lid);
		pst_put16(r + 4, g);
		pst_put16(r + 6, (uint16_t)i);
		if (buf_append(&entries, r, 8) != 0)
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
		/* in a bucket a string name is keyed by its CRC */
		uint32_t key = e->is_string ? e->crc : e->lid;
		pst_put32(r, key);
		if (rc == 0 && buf_append(&buckets[(key ^ g) % BUCKETS], r, 8) != 0)
			rc = or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	static const uint8_t nothing[4] = {0};
	props[n++] = (pst_prop){.id = 0x0001, .type = PT_LONG, .num = BUCKETS};
	props[n++] = (pst_prop){.id = 0x0002, .type = PT_BINARY, .data = m->n_guids ? (const void *)m->guids : "",
	                        .len = (uint32_t)(16 * m->n_guids)};
	props[n++] = (pst_prop){.id = 0x0003, .type = PT_BINARY, .data = entries.data, .len = (uint32_t)entries.len};
	/* an empty string stream is one empty name: some readers refuse an empty stream */
	props[n++] = (pst_prop){.id = 0x0004, .type = PT_BINARY, .data = m->strings.len ? (const void *)m->strings.data : nothing,
	                        .len = m->strings.len ? (uint32_t)m->strings.len : 4};
	for (int b = 0; b < BUCKETS; b++)
		if (buckets[b].len)
			props[n++] = (pst_prop){.id = (uint16_t)(0x1000 + b), .type = PT_BINARY, .data = buckets[b].data,
			                        .len = (uint32_t)buckets[b].len};
	if (rc == 0)
		rc = pst_write_pc(f, PST_NID_NAME_TO_ID_MAP, 0, props, n, err);
	buf_free(&entries);
	for (int b = 0; b < BUCKETS; b++)
		buf_free(&buckets[b]);
	return rc;
}
