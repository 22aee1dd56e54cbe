/*
 * ids.c: the source key inside the ids Exchange hands out (a fallback when PidTagSourceKey is not
 * returned, and a cross-check when it is). docs/QUIRKS.md has the layouts and the evidence.
 *
 *   EWS id / Graph REST id   [01 = compressed] 03 | u16le n | mailbox GUID text | processing byte
 *                            | ... | MAPI entry id (first byte 00 when not compressed)
 *   public folder id         [00|01] 01 | u16le n | entry id
 *   Graph immutable id       00 09 00 | u16le n | entry id of type 0x000D
 *
 * A MAPI entry id ends with the object's replica GUID, global counter and 2 pad bytes. Graph
 * writes the same bytes in base64 with '_' for '+' and '-' for '/'.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ID_MAX 1024 /* decoded bytes: real ids are under 200 */

/* Compressed ids: a byte that appears twice in a row is followed by a count of further repeats.
 * Returns the expanded length, or -1 when it would not fit. */
static int expand(const uint8_t *in, size_t n, uint8_t *out, size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint8_t b = in[i];
		size_t run = 1;
		if (i + 1 < n && in[i + 1] == b) {
			if (i + 2 >= n)
				return -1; /* a pair without its count */
			run = 2 + in[i + 2];
			i += 3;
		} else {
			i++;
		}
		if (o + run > max)
			return -1;
		memset(out + o, b, run);
		o += run;
	}
	return (int)o;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The key at the end of an entry id: its last 24 bytes are GUID, counter and 2 pad bytes. */
static int entry_key(const uint8_t *eid, size_t n, pull_id *out)
{
	if (n < 46 || n > 256)
		return -1;
	out->entry_type = le16(eid + 20);
	memcpy(out->key, eid + n - 24, SNAP_KEY_LEN);
	if (out->entry_type == 0x0007 && n >= 70) { /* a message: its folder's key comes first */
		memcpy(out->folder_key, eid + 22, SNAP_KEY_LEN);
		out->has_folder_key = true;
	}
	return 0;
}

static int parse(const uint8_t *b, size_t n, pull_id *out)
{
	/* b[0] is the storage type; the first byte (00, or 01 when compressed) is already gone */
	if (n < 3)
		return -1;
	switch (b[0]) {
	case 0x03: { /* a mailbox object */
		size_t glen = le16(b + 1);
		size_t pos = 3 + glen;
		if (glen > 64 || pos + 1 > n)
			return -1;
		memcpy(out->mailbox, b + 3, glen);
		out->mailbox[glen] = '\0';
		uint8_t processing = b[pos++];
		if (processing == 0) {
			if (pos + 2 > n)
				return -1;
			size_t elen = le16(b + pos);
			pos += 2;
			if (pos + elen != n)
				return -1;
			out->kind = PULL_ID_MAILBOX;
			return entry_key(b + pos, elen, out);
		}
		if (processing == 1) { /* a calendar occurrence: u16 rest, 8-byte date, u8 n, the master's entry id */
			if (pos + 2 + 1 + 8 + 1 > n || b[pos + 2] != 8)
				return -1;
			pos += 2 + 1 + 8;
			size_t elen = b[pos++];
			if (pos + elen > n)
				return -1;
			out->kind = PULL_ID_OCCURRENCE;
			return entry_key(b + pos, elen, out);
		}
		return -1;
	}
	case 0x01: { /* a public folder: u16 n, entry id */
		size_t elen = le16(b + 1);
		if (3 + elen != n)
			return -1;
		out->kind = PULL_ID_PUBLIC;
		return entry_key(b + 3, elen, out);
	}
	case 0x09: { /* Graph's immutable id: 00, u16 n, entry id */
		if (n < 4 || b[1] != 0x00)
			return -1;
		size_t elen = le16(b + 2);
		if (4 + elen != n)
			return -1;
		out->kind = PULL_ID_IMMUTABLE;
		return entry_key(b + 4, elen, out);
	}
	default:
		return -1;
	}
}

int pull_id_decode(const char *id, pull_id *out)
{
	memset(out, 0, sizeof *out);
	size_t n = strlen(id);
	if (n == 0 || n > ID_MAX * 4 / 3 + 4)
		return -1;
	char *text = malloc(n + 1);
	uint8_t *raw = malloc(ID_MAX), *wide = malloc(ID_MAX);
	int rc = -1;
	if (!text || !raw || !wide)
		goto out;
	for (size_t i = 0; i <= n; i++) /* Graph's alphabet to the standard one (EWS ids have neither) */
		text[i] = id[i] == '_' ? '+' : id[i] == '-' ? '/' : id[i];
	int len = b64_decode(text, raw, ID_MAX);
	if (len < 2)
		goto out;
	if (raw[0] == 0x00) {
		rc = parse(raw + 1, (size_t)len - 1, out);
	} else if (raw[0] == 0x01) {
		int wlen = expand(raw + 1, (size_t)len - 1, wide, ID_MAX);
		out->compressed = true;
		rc = wlen < 0 ? -1 : parse(wide, (size_t)wlen, out);
	}
out:
	free(text);
	free(raw);
	free(wide);
	if (rc != 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int pull_key_from_id(const char *id, uint8_t key[SNAP_KEY_LEN])
{
	pull_id d;
	if (pull_id_decode(id, &d) != 0 || d.kind == PULL_ID_OCCURRENCE)
		return -1; /* an occurrence is not an object of its own: its key is the master's */
	memcpy(key, d.key, SNAP_KEY_LEN);
	return 0;
}

int pull_change_key(const char *text, uint8_t ck[SNAP_KEY_LEN])
{
	uint8_t raw[64];
	int len = b64_decode(text, raw, sizeof raw);
	if (len == SNAP_KEY_LEN) { /* calendars and events: the bare change key */
		memcpy(ck, raw, SNAP_KEY_LEN);
		return 0;
	}
	/* u32le object type, u32le length, the change key */
	if (len == 8 + SNAP_KEY_LEN && raw[4] == SNAP_KEY_LEN && raw[5] == 0 && raw[6] == 0 && raw[7] == 0) {
		memcpy(ck, raw + 8, SNAP_KEY_LEN);
		return 0;
	}
	return -1;
}
