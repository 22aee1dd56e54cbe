/* ids.c: base64, and the source key embedded in EWS ids (a fallback when 0x65E0 is not returned). */
#include "internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int ews_base64_decode(const char *text, uint8_t *out, size_t max)
{
	size_t n = strlen(text), k = 0, pad = 0;
	char *clean = malloc(n + 1);
	if (!clean)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t')
			clean[k++] = text[i];
	clean[k] = '\0';
	if (k % 4 || k / 4 * 3 > max) {
		free(clean);
		return -1;
	}
	if (k && clean[k - 1] == '=')
		pad++;
	if (k > 1 && clean[k - 2] == '=')
		pad++;
	int len = k ? EVP_DecodeBlock(out, (const unsigned char *)clean, (int)k) : 0;
	free(clean);
	return len < 0 ? -1 : len - (int)pad;
}

int ews_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN])
{
	/* 00 03 | u16le n | n bytes of mailbox GUID text | 00 | u16le m | m bytes of entry id, whose
	 * last 24 bytes are the object's replica GUID, global counter and 2 pad bytes. */
	size_t n = strlen(id);
	uint8_t *raw = malloc(n / 4 * 3 + 3);
	if (!raw)
		return -1;
	int len = ews_base64_decode(id, raw, n / 4 * 3 + 3);
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
