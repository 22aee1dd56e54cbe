/* keys.c: source keys on the cache side, from PRQ_ID_SECURE4 and the replica GUID table. */
#include "ost.h"

#include <string.h>

void ost_prq_split(const uint8_t prq[8], uint16_t *replid, uint8_t gc[SNAP_GC_LEN])
{
	*replid = (uint16_t)(prq[0] | prq[1] << 8);
	memcpy(gc, prq + 2, SNAP_GC_LEN);
}

int ost_folder_entryid_parse(const uint8_t *data, size_t len, uint8_t guid[16], uint8_t gc[SNAP_GC_LEN])
{
	/* Folder entry ids have type 0x0001 (private folder) or 0x0003 (public folder). */
	if (!data || len != 46)
		return -1;
	uint16_t type = (uint16_t)(data[20] | data[21] << 8);
	if (type != 0x0001 && type != 0x0003)
		return -1;
	memcpy(guid, data + 22, 16);
	memcpy(gc, data + 38, SNAP_GC_LEN);
	return 0;
}

static bool in_table(const ost_replica_map *m, const uint8_t guid[16])
{
	if (!m->n_table)
		return true; /* no table to check against */
	for (size_t i = 0; i < m->n_table; i++)
		if (memcmp(m->table[i], guid, 16) == 0)
			return true;
	return false;
}

int ost_replica_learn(ost_replica_map *m, uint16_t replid, const uint8_t guid[16], const char *origin)
{
	if (!in_table(m, guid))
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		if (m->map[i].replid != replid)
			continue;
		if (memcmp(m->map[i].guid, guid, 16) == 0)
			return 0;
		m->map[i].conflicts++;
		return 1;
	}
	if (m->n == OST_MAX_REPLIDS)
		return -1;
	m->map[m->n].replid = replid;
	memcpy(m->map[m->n].guid, guid, 16);
	m->map[m->n].origin = origin;
	m->map[m->n].conflicts = 0;
	m->n++;
	return 0;
}

const uint8_t *ost_replica_guid(const ost_replica_map *m, uint16_t replid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->map[i].replid == replid)
			return m->map[i].conflicts ? NULL : m->map[i].guid;
	return NULL;
}

void ost_ident_from_prq(const ost_replica_map *m, const uint8_t prq[8], snap_ident *id)
{
	uint16_t replid;
	ost_prq_split(prq, &replid, id->gc);
	id->has_gc = 1;
	id->replid = replid;
	const uint8_t *guid = ost_replica_guid(m, replid);
	if (guid) {
		memcpy(id->key, guid, 16);
		memcpy(id->key + 16, id->gc, SNAP_GC_LEN);
		id->has_key = 1;
		id->origin = KEY_REPLICA;
	} else {
		id->has_key = 0;
		id->origin = KEY_GC_ONLY;
	}
}

int ost_ident_from_source_key(const uint8_t *data, size_t len, snap_ident *id)
{
	if (len != SNAP_KEY_LEN)
		return -1;
	memcpy(id->key, data, SNAP_KEY_LEN);
	memcpy(id->gc, data + 16, SNAP_GC_LEN);
	id->has_key = id->has_gc = 1;
	id->origin = KEY_SOURCE_KEY;
	return 0;
}
