/* form.c: buffers that wipe what they held, form encoding, and the text hygiene of messages. */
#include "internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void oauth_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

char *oauth_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

void oauth_strfree(char *s)
{
	if (s) {
		oauth_wipe(s, strlen(s));
		free(s);
	}
}

int oauth_sbuf_append(oauth_sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2)
				return OR_ERR_NOMEM;
			cap *= 2;
		}
		/* Not realloc: the old block would be freed with the secret still in it. */
		char *p = malloc(cap);
		if (!p)
			return OR_ERR_NOMEM;
		if (b->data) {
			memcpy(p, b->data, b->len);
			oauth_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void oauth_sbuf_wipe(oauth_sbuf *b)
{
	if (b->data) {
		oauth_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

static int form_escape(oauth_sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char enc[3];
		size_t n = 1;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '.' || *p == '_' || *p == '~')
			enc[0] = (char)*p;
		else if (*p == ' ')
			enc[0] = '+';
		else {
			enc[0] = '%';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		int rc = oauth_sbuf_append(b, enc, n);
		oauth_wipe(enc, sizeof enc);
		if (rc)
			return rc;
	}
	return 0;
}

int oauth_form_add(oauth_sbuf *b, const char *name, const char *value)
{
	int rc = 0;
	if (b->len)
		rc = oauth_sbuf_append(b, "&", 1);
	if (!rc)
		rc = form_escape(b, name);
	if (!rc)
		rc = oauth_sbuf_append(b, "=", 1);
	if (!rc)
		rc = form_escape(b, value ? value : "");
	return rc;
}

void oauth_redact(char *msg, size_t size, const char *secret)
{
	static const char mark[] = "[redacted]";
	size_t slen = secret ? strlen(secret) : 0;
	if (!msg || slen < 4)
		return;
	char *from = msg, *hit;
	while ((hit = strstr(from, secret)) != NULL) {
		size_t tail = strlen(hit + slen);
		size_t pos = (size_t)(hit - msg);
		size_t mlen = sizeof mark - 1;
		if (pos + mlen >= size) { /* no room for the mark: cut the message there */
			*hit = '\0';
			break;
		}
		size_t keep = pos + mlen + tail < size ? tail : size - 1 - pos - mlen;
		memmove(hit + mlen, hit + slen, keep);
		memcpy(hit, mark, mlen);
		hit[mlen + keep] = '\0';
		from = hit + mlen; /* after the mark, which may itself contain the secret's letters */
	}
}

void oauth_clean_text(char *dst, size_t size, const char *src, bool one_line)
{
	size_t n = 0;
	if (!size)
		return;
	for (const unsigned char *p = (const unsigned char *)(src ? src : ""); *p && n + 1 < size; p++) {
		if (*p == '\r' || *p == '\n') {
			if (one_line)
				break;
			dst[n++] = '\n';
		} else if (*p == '\t')
			dst[n++] = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			continue; /* escape sequences and other controls: dropped */
		else
			dst[n++] = (char)*p;
	}
	/* Do not leave half a UTF-8 sequence at the cut. */
	size_t end = n;
	while (end > 0 && ((unsigned char)dst[end - 1] & 0xC0) == 0x80)
		end--;
	if (end > 0 && ((unsigned char)dst[end - 1] & 0x80)) {
		unsigned char lead = (unsigned char)dst[end - 1];
		size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (n - (end - 1) < want)
			n = end - 1;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}
