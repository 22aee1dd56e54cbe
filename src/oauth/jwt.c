/*
 * jwt.c: the certificate credential. Loads and checks the certificate and its RSA key, and signs
 * the client assertion the identity platform takes instead of a client secret (a JWT: header with
 * the certificate's thumbprint, claims naming the application and the token endpoint).
 */
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define MIN_RSA_BITS 2048 /* the identity platform refuses weaker keys (AADSTS50032) */

size_t oauth_b64url(const unsigned char *in, size_t n, char *out, size_t size)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t chunk = n - i < 3 ? n - i : 3;
		if (chunk > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (chunk > 2)
			v |= in[i + 2];
		size_t emit = chunk + 1;
		for (size_t k = 0; k < emit; k++) {
			if (o + 1 >= size) {
				out[o] = '\0';
				return o;
			}
			out[o++] = alphabet[(v >> (18 - 6 * k)) & 63];
		}
	}
	if (size)
		out[o] = '\0';
	return o;
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '-') return 62;
	if (c == '_') return 63;
	return -1;
}

long oauth_b64url_decode(const char *in, size_t n, unsigned char *out, size_t size)
{
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int d = b64url_value((unsigned char)in[i]);
		if (d < 0)
			return -1;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= size)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

int oauth_uuid(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1)
		return OR_ERR_IO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	         b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* ------------------------------------------------------------ loading */

typedef struct {
	bool asked; /* OpenSSL asked for a passphrase: the key is encrypted */
} pass_state;

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag;
	((pass_state *)u)->asked = true;
	return -1;
}

static int open_pem(BIO **out, const char *path, const char *what, or_error *err)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return or_fail(err, OR_ERR_USAGE, "cannot read the %s file %s: %s", what, path, strerror(errno));
	*out = BIO_new_fp(fp, BIO_CLOSE);
	if (!*out) {
		fclose(fp);
		return or_fail(err, OR_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static int load_cert(oauth_cert *c, const char *path, or_error *err)
{
	BIO *bio = NULL;
	int rc = open_pem(&bio, path, "certificate", err);
	if (rc)
		return rc;
	c->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!c->cert)
		return or_fail(err, OR_ERR_USAGE,
		               "no PEM certificate in %s (a \"-----BEGIN CERTIFICATE-----\" block is expected; convert a "
		               ".pfx with: openssl pkcs12 -in FILE.pfx -nokeys -out cert.pem)",
		               path);
	return 0;
}

static int load_key(oauth_cert *c, const char *path, bool same_file, or_error *err)
{
	BIO *bio = NULL;
	int rc = open_pem(&bio, path, "private key", err);
	if (rc)
		return rc;
	pass_state ps = {false};
	c->key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &ps);
	BIO_free(bio);
	ERR_clear_error();
	if (c->key)
		return 0;
	if (ps.asked)
		return or_fail(err, OR_ERR_USAGE,
		               "the private key in %s is encrypted: give an unencrypted PEM key (for example "
		               "openssl pkey -in %s -out NEW.pem, then keep NEW.pem readable by you only)",
		               path, path);
	if (same_file)
		return or_fail(err, OR_ERR_USAGE,
		               "no private key in %s: give the certificate's private key, in the same PEM file or in its own",
		               path);
	return or_fail(err, OR_ERR_USAGE, "no PEM private key in %s (a \"-----BEGIN PRIVATE KEY-----\" block is expected)",
	               path);
}

static void thumbprints(oauth_cert *c)
{
	unsigned int n = 0;
	X509_digest(c->cert, EVP_sha1(), c->sha1, &n);
	X509_digest(c->cert, EVP_sha256(), c->sha256, &n);
	static const char hex[] = "0123456789ABCDEF";
	for (int i = 0; i < 20; i++) {
		c->sha1_hex[2 * i] = hex[c->sha1[i] >> 4];
		c->sha1_hex[2 * i + 1] = hex[c->sha1[i] & 15];
	}
	c->sha1_hex[40] = '\0';
	oauth_b64url(c->sha1, sizeof c->sha1, c->x5t, sizeof c->x5t);
	oauth_b64url(c->sha256, sizeof c->sha256, c->x5t_s256, sizeof c->x5t_s256);
}

int oauth_cert_load(oauth_cert *c, const char *cert_path, const char *key_path, or_error *err)
{
	memset(c, 0, sizeof *c);
	if (!cert_path || !*cert_path)
		return or_fail(err, OR_ERR_USAGE, "the certificate flow needs a certificate file (PEM)");
	int rc = load_cert(c, cert_path, err);
	if (rc)
		goto out;
	const char *kpath = key_path && *key_path ? key_path : cert_path;
	if ((rc = load_key(c, kpath, kpath == cert_path, err)) != 0)
		goto out;
	if (EVP_PKEY_get_base_id(c->key) != EVP_PKEY_RSA) {
		rc = or_fail(err, OR_ERR_USAGE,
		             "the private key in %s is not an RSA key (%s): the identity platform takes client assertions "
		             "signed with RSA; use an RSA certificate",
		             kpath, OBJ_nid2sn(EVP_PKEY_get_base_id(c->key)));
		goto out;
	}
	if (EVP_PKEY_get_bits(c->key) < MIN_RSA_BITS) {
		rc = or_fail(err, OR_ERR_USAGE, "the RSA key in %s has %d bits: the identity platform requires %d or more",
		             kpath, EVP_PKEY_get_bits(c->key), MIN_RSA_BITS);
		goto out;
	}
	if (X509_check_private_key(c->cert, c->key) != 1) {
		ERR_clear_error();
		thumbprints(c);
		rc = or_fail(err, OR_ERR_USAGE,
		             "the private key in %s does not belong to the certificate in %s (SHA-1 thumbprint %s): give the "
		             "key that was made with this certificate",
		             kpath, cert_path, c->sha1_hex);
		goto out;
	}
	thumbprints(c);
	if (X509_cmp_current_time(X509_get0_notAfter(c->cert)) < 0)
		log_warn("the certificate in %s (SHA-1 thumbprint %s) has expired: the identity platform may refuse it",
		         cert_path, c->sha1_hex);
out:
	ERR_clear_error();
	if (rc)
		oauth_cert_free(c);
	return rc;
}

void oauth_cert_free(oauth_cert *c)
{
	if (!c)
		return;
	X509_free(c->cert);
	EVP_PKEY_free(c->key); /* OpenSSL clears the key's material when freeing it */
	memset(c, 0, sizeof *c);
}

/* ----------------------------------------------------------- assertion */

/* Appends base64url(json) to out. */
static int append_json_b64(oauth_sbuf *out, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return OR_ERR_NOMEM;
	size_t n = strlen(text), cap = (n + 2) / 3 * 4 + 1;
	char *enc = malloc(cap);
	int rc = OR_ERR_NOMEM;
	if (enc) {
		size_t m = oauth_b64url((const unsigned char *)text, n, enc, cap);
		rc = oauth_sbuf_append(out, enc, m);
		free(enc);
	}
	free(text);
	return rc;
}

static int sign(const oauth_cert *c, oauth_assert_alg alg, const char *data, size_t len, unsigned char **sig,
                size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = md && EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, c->key) == 1;
	if (ok && alg == OAUTH_ASSERT_PS256)
		/* JWA (RFC 7518 3.5): PSS with SHA-256, MGF1 with SHA-256, a salt as long as the hash. */
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
	ok = ok && EVP_DigestSign(md, NULL, siglen, (const unsigned char *)data, len) == 1;
	*sig = ok ? malloc(*siglen) : NULL;
	ok = ok && *sig && EVP_DigestSign(md, *sig, siglen, (const unsigned char *)data, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok) {
		free(*sig);
		*sig = NULL;
	}
	return ok ? 0 : -1;
}

int oauth_assertion_build(const oauth_cert *c, oauth_assert_alg alg, const char *client_id, const char *audience,
                          int64_t now, oauth_sbuf *out, or_error *err)
{
	char jti[37];
	if (oauth_uuid(jti))
		return or_fail(err, OR_ERR_IO, "no random numbers for the assertion's id");
	json_t *hdr = alg == OAUTH_ASSERT_PS256
	                  ? json_pack("{s:s, s:s, s:s}", "alg", "PS256", "typ", "JWT", "x5t#S256", c->x5t_s256)
	                  : json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "x5t", c->x5t);
	json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "aud", audience, "iss", client_id, "sub",
	                           client_id, "jti", jti, "nbf", (json_int_t)now, "iat", (json_int_t)now, "exp",
	                           (json_int_t)(now + OAUTH_ASSERTION_LIFETIME));
	unsigned char *sig = NULL;
	size_t siglen = 0, start = out->len;
	int rc = hdr && claims ? 0 : OR_ERR_NOMEM;
	if (!rc)
		rc = append_json_b64(out, hdr);
	if (!rc)
		rc = oauth_sbuf_append(out, ".", 1);
	if (!rc)
		rc = append_json_b64(out, claims);
	if (!rc && sign(c, alg, out->data + start, out->len - start, &sig, &siglen) != 0)
		rc = or_fail(err, OR_ERR_IO, "cannot sign the client assertion with the certificate's key");
	if (!rc) {
		size_t cap = (siglen + 2) / 3 * 4 + 2;
		char *enc = malloc(cap);
		rc = enc ? 0 : OR_ERR_NOMEM;
		if (!rc) {
			enc[0] = '.';
			size_t m = oauth_b64url(sig, siglen, enc + 1, cap - 1);
			rc = oauth_sbuf_append(out, enc, m + 1);
			free(enc);
		}
	}
	free(sig);
	json_decref(hdr);
	json_decref(claims);
	if (rc == OR_ERR_NOMEM)
		or_fail(err, rc, "out of memory");
	return rc;
}
