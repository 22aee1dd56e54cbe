/*
 * gunzip.c: gzip response bodies, inflated here rather than by libcurl.
 *
 * A page of Graph or EWS is a few hundred KiB of text squeezed into tens of KiB. curl inflates
 * with zlib, piece by piece, which costs a fifth of a pull's CPU; libdeflate inflates a whole
 * member in one call two to three times faster, but needs the whole input and an output buffer
 * of the right size. So the compressed body is kept as it arrives (bounded), and at its end
 * inflated in one call into a buffer of the size the gzip trailer gives. The trailer is the
 * server's word, not a fact: a body whose trailer is over GZ_WHOLE_MAX, lies about its size,
 * holds several members, or whose compressed form outgrows GZ_KEEP_MAX is inflated with zlib as a
 * stream instead, in bounded pieces, as curl did. Either way the inflated bytes of one body are
 * capped (a small body that inflates to gigabytes is refused, not followed).
 */
#include "internal.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZ_KEEP_MAX (16u << 20)  /* compressed bytes kept for a whole-body inflate */
#define GZ_WHOLE_MAX (64u << 20) /* largest inflated body made in one piece */
#define GZ_PIECE (256u << 10)    /* output piece when inflating as a stream */
#define GZ_SPARE_MAX (8u << 20)  /* output buffer kept between bodies */
#define GZ_OUT_STEP (256u << 10) /* whole-body output buffers are sized in these steps */

struct pull_gunzip {
	size_t max_out;          /* inflated bytes allowed per body */
	size_t out_total;        /* inflated so far (streaming) */
	bool streaming, failed;
	unsigned char *in;       /* the compressed body so far */
	size_t in_len, in_cap;
	unsigned char *out;      /* whole-body output, reused */
	size_t out_cap;
	z_stream z;
	bool z_ready;
	bool z_done;             /* the last member ended */
	struct libdeflate_decompressor *d;
};

int pull_gunzip_new(pull_gunzip **out, size_t max_out)
{
	pull_gunzip *g = calloc(1, sizeof *g);
	if (!g || !(g->d = libdeflate_alloc_decompressor())) {
		free(g);
		*out = NULL;
		return -1;
	}
	g->max_out = max_out;
	*out = g;
	return 0;
}

void pull_gunzip_reset(pull_gunzip *g)
{
	g->in_len = 0;
	g->out_total = 0;
	g->streaming = g->failed = g->z_done = false;
	if (g->in_cap > GZ_SPARE_MAX) {
		free(g->in);
		g->in = NULL;
		g->in_cap = 0;
	}
}

void pull_gunzip_free(pull_gunzip *g)
{
	if (!g)
		return;
	if (g->z_ready)
		inflateEnd(&g->z);
	libdeflate_free_decompressor(g->d);
	free(g->in);
	free(g->out);
	free(g);
}

/* Inflates `len` bytes as a stream through `sink`; members may follow one another. */
static int stream(pull_gunzip *g, const unsigned char *data, size_t len, pull_gunzip_sink sink, void *ctx)
{
	if (!g->z_ready) {
		memset(&g->z, 0, sizeof g->z);
		if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK)
			return PULL_GUNZIP_NOMEM;
		g->z_ready = true;
	}
	if (!g->out || g->out_cap < GZ_PIECE) {
		unsigned char *o = realloc(g->out, GZ_PIECE);
		if (!o)
			return PULL_GUNZIP_NOMEM;
		g->out = o;
		g->out_cap = GZ_PIECE;
	}
	g->z.next_in = (unsigned char *)data;
	g->z.avail_in = (uInt)len;
	while (g->z.avail_in > 0) {
		if (g->z_done) { /* another member after the last one ended */
			inflateReset(&g->z);
			g->z_done = false;
		}
		g->z.next_out = g->out;
		g->z.avail_out = GZ_PIECE;
		int zr = inflate(&g->z, Z_NO_FLUSH);
		size_t made = GZ_PIECE - g->z.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && made))
			return PULL_GUNZIP_BAD;
		g->out_total += made;
		if (g->out_total > g->max_out)
			return PULL_GUNZIP_TOO_LARGE;
		if (made)
			sink(ctx, (const char *)g->out, made);
		if (zr == Z_STREAM_END)
			g->z_done = true;
		else if (!made && zr == Z_BUF_ERROR)
			break;
	}
	return 0;
}

/* From keeping the body to inflating it as a stream: what was kept goes first. */
static int start_streaming(pull_gunzip *g, pull_gunzip_sink sink, void *ctx)
{
	g->streaming = true;
	g->z_done = false;
	g->out_total = 0;
	if (g->z_ready)
		inflateReset(&g->z);
	int rc = stream(g, g->in, g->in_len, sink, ctx);
	g->in_len = 0;
	return rc;
}

int pull_gunzip_feed(pull_gunzip *g, const void *data, size_t len, pull_gunzip_sink sink, void *ctx)
{
	if (g->failed)
		return PULL_GUNZIP_BAD;
	int rc = 0;
	if (!g->streaming && g->in_len + len > GZ_KEEP_MAX)
		rc = start_streaming(g, sink, ctx);
	if (rc == 0 && g->streaming) {
		rc = stream(g, data, len, sink, ctx);
	} else if (rc == 0) {
		if (g->in_len + len > g->in_cap) {
			size_t cap = g->in_cap ? g->in_cap : 64u << 10;
			while (cap < g->in_len + len)
				cap *= 2;
			unsigned char *in = realloc(g->in, cap);
			if (!in)
				return PULL_GUNZIP_NOMEM;
			g->in = in;
			g->in_cap = cap;
		}
		memcpy(g->in + g->in_len, data, len);
		g->in_len += len;
	}
	if (rc)
		g->failed = true;
	return rc;
}

int pull_gunzip_finish(pull_gunzip *g, pull_gunzip_sink sink, void *ctx)
{
	if (g->failed)
		return PULL_GUNZIP_BAD;
	int rc = 0;
	if (g->streaming) {
		/* the last member must have ended: a body cut inside one is not a body */
		rc = g->z_done ? 0 : PULL_GUNZIP_BAD;
	} else if (g->in_len > 0) {
		if (g->in_len < 18) /* a gzip header and trailer alone take 18 bytes */
			return PULL_GUNZIP_BAD;
		const unsigned char *t = g->in + g->in_len - 4;
		size_t size = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
		enum libdeflate_result r = LIBDEFLATE_INSUFFICIENT_SPACE;
		size_t used = 0, made = 0;
		if (size <= GZ_WHOLE_MAX && size <= g->max_out) {
			if (g->out_cap < size + 1) {
				/* in steps of GZ_OUT_STEP: pages of about the same size then share one buffer,
				 * instead of a fresh one (and its page faults) each time one is a little larger */
				size_t cap = (size + 1 + GZ_OUT_STEP - 1) / GZ_OUT_STEP * GZ_OUT_STEP;
				free(g->out);
				g->out_cap = 0;
				if (!(g->out = malloc(cap)))
					return PULL_GUNZIP_NOMEM;
				g->out_cap = cap;
			}
			/* one byte to spare: a trailer that understates the size shows as no space */
			r = libdeflate_gzip_decompress_ex(g->d, g->in, g->in_len, g->out, size + 1, &used, &made);
		}
		if (r == LIBDEFLATE_SUCCESS && used == g->in_len && made == size) {
			sink(ctx, (const char *)g->out, made);
		} else if (r == LIBDEFLATE_BAD_DATA) {
			rc = PULL_GUNZIP_BAD;
		} else { /* the trailer is no guide: as a stream */
			rc = start_streaming(g, sink, ctx);
			rc = rc ? rc : g->z_done ? 0 : PULL_GUNZIP_BAD;
		}
	}
	if (g->out_cap > GZ_SPARE_MAX) {
		free(g->out);
		g->out = NULL;
		g->out_cap = 0;
	}
	if (rc)
		g->failed = true;
	return rc;
}
