/* Shared by test_oauth.c and test_oauth_live.c: a scratch folder, certificates and keys made with
 * the openssl command (never kept), and decoding the parts of a JWT. */
#ifndef OSTRECON_TEST_OAUTH_H
#define OSTRECON_TEST_OAUTH_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oauth/internal.h"

/* Runs a shell command (fixed text made by the test); returns its exit status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline bool have_openssl(void)
{
	return sh("openssl version >/dev/null 2>&1") == 0;
}

/* DIR/NAME.crt and DIR/NAME.key: a self-signed certificate and its unencrypted RSA key. */
static inline int make_rsa_cert(const char *dir, const char *name, int bits)
{
	return sh("openssl req -x509 -newkey rsa:%d -nodes -keyout %s/%s.key -out %s/%s.crt -days 2 -sha256 "
	          "-subj /CN=ostrecon-test-%s -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
	          bits, dir, name, dir, name, name);
}

/* The certificate's fingerprint as the openssl command prints it, as bytes. */
static inline int cert_fingerprint(const char *crt, const char *digest, unsigned char *out, size_t max)
{
	char cmd[1024], line[512];
	snprintf(cmd, sizeof cmd, "openssl x509 -in %s -noout -fingerprint -%s", crt, digest);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char *ok = fgets(line, sizeof line, p);
	pclose(p);
	char *eq = ok ? strchr(line, '=') : NULL;
	if (!eq)
		return -1;
	size_t n = 0;
	for (char *s = eq + 1; s[0] && s[1] && n < max; s += 3)
		out[n++] = (unsigned char)strtol((char[]){s[0], s[1], 0}, NULL, 16);
	return (int)n;
}

/* Part `i` (0 header, 1 claims) of a JWT as JSON, or NULL. */
static inline json_t *jwt_part(const char *jwt, int i)
{
	const char *p = jwt;
	for (int k = 0; k < i && p; k++)
		p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL;
	if (!p)
		return NULL;
	const char *end = strchr(p, '.');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	unsigned char buf[8192];
	long m = oauth_b64url_decode(p, n, buf, sizeof buf);
	return m < 0 ? NULL : json_loadb((const char *)buf, (size_t)m, 0, NULL);
}

static inline char *read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
	(void)n;
	fclose(fp);
	return buf;
}

static inline int write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

#endif
