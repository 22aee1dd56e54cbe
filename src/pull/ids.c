/* ids.c: the source key inside the ids Exchange hands out (a fallback when PidTagSourceKey is not
 * returned, and a cross-check when it is). docs/QUIRKS.md has the layouts and the evidence. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int pull_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN])
{
	/* 00 03 | u16le n | n bytes of mailbox GUID text | 00 | u16le m | m bytes of entry id, whose
	 * last 24 bytes are the object's replica GUID, global counter and 2 pad bytes. */
	size_t n = strlen(id);
	uint8_t *raw = malloc(n / 4 * 3 + 3);
	if (!raw)
		return -1;
	int len = b64_decode(id, raw, n / 4 * 3 + 3);
	int rc = -1;
	if (len >= 4 && raw[0] == 0x00 && raw[1] == 0x03) {
		size_t glen = (size_t)(raw[2] | raw[3] << 8);
		size_t pos = 4 + glen;
		if (pos + 3 <= (size_t)len && raw[pos] == 0x00) {
			size_t elen = (size_t)(raw[pos + 1] | raw[pos + 2] << 8);
			pos += 3;
			if (elen >= 46 && pos + elen <= (size_t)len) {
				memcpy(key, raw + pos + elen - 24, SNAP_KEY_LEN);
				rc = 0;
			}
		}
	}
	free(raw);
	return rc;
}
