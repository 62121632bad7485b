/* SPDX-License-Identifier: MIT */
#include "codec.h"

#include <errno.h>
#include <lz4frame.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static int lz4_compress(const void *in, size_t n, void **out, size_t *outlen)
{
	LZ4F_preferences_t prefs;
	size_t cap, got;
	void *buf;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentSize = n;
	/* a checksum of the compressed block, not of the content: the same
	 * protection against a damaged file at a ninth of the bytes hashed
	 * (hashing the content took longer than compressing it) */
	prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
	cap = LZ4F_compressFrameBound(n, &prefs);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	got = LZ4F_compressFrame(buf, cap, in, n, &prefs);
	if (LZ4F_isError(got)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*outlen = got;
	return 0;
}

/* Grows *buf to at least need+1 bytes (room for the NUL). */
static int grow(char **buf, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 4096;
	char *p;

	if (need + 1 <= *cap)
		return 0;
	if (need > SR_CODEC_MAX_OUT)
		return -EFBIG;
	while (c < need + 1)
		c *= 2;
	p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

static int lz4_decompress(const void *in, size_t n, char **out, size_t *len)
{
	LZ4F_dctx *d;
	const char *src = in;
	size_t cap = 0, used = 0, hint = 1;
	char *buf = NULL;
	int rc = 0;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return -ENOMEM;
	{
		/* our frames state their size: one allocation, no regrowth */
		LZ4F_frameInfo_t fi;
		size_t src_n = n;

		memset(&fi, 0, sizeof(fi));
		hint = LZ4F_getFrameInfo(d, &fi, src, &src_n);
		if (LZ4F_isError(hint)) {
			LZ4F_freeDecompressionContext(d);
			return -EBADMSG;
		}
		src += src_n;
		n -= src_n;
		if (fi.contentSize && fi.contentSize <= SR_CODEC_MAX_OUT &&
		    (rc = grow(&buf, &cap, (size_t)fi.contentSize + 65536)))
			n = 0;
	}
	while (n > 0 && hint != 0) {
		size_t dst_n, src_n = n;

		rc = grow(&buf, &cap, used + 65536);
		if (rc)
			break;
		dst_n = cap - used - 1;
		hint = LZ4F_decompress(d, buf + used, &dst_n, src, &src_n,
				       NULL);
		if (LZ4F_isError(hint)) {
			rc = -EBADMSG;
			break;
		}
		used += dst_n;
		src += src_n;
		n -= src_n;
		if (!src_n && !dst_n) {
			rc = -EBADMSG;
			break;
		}
	}
	LZ4F_freeDecompressionContext(d);
	if (!rc && (hint != 0 || n != 0))
		rc = -EBADMSG; /* truncated frame, or bytes after it */
	if (!rc)
		rc = grow(&buf, &cap, used);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[used] = 0;
	*out = buf;
	*len = used;
	return 0;
}

static int gz_compress(const void *in, size_t n, void **out, size_t *outlen)
{
	z_stream z;
	size_t cap;
	void *buf;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, n);
	buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(buf);
		return -EIO;
	}
	*out = buf;
	*outlen = z.total_out;
	deflateEnd(&z);
	return 0;
}

static int gz_decompress(const void *in, size_t n, char **out, size_t *len)
{
	z_stream z;
	size_t cap = 0;
	char *buf = NULL;
	int rc = 0, zr = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	while (zr != Z_STREAM_END) {
		rc = grow(&buf, &cap, z.total_out + 65536);
		if (rc)
			break;
		z.next_out = (Bytef *)buf + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out - 1);
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END) {
			rc = -EBADMSG;
			break;
		}
		if (zr == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
			rc = -EBADMSG; /* truncated */
			break;
		}
	}
	*len = z.total_out;
	inflateEnd(&z);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[*len] = 0;
	*out = buf;
	return 0;
}

int sr_codec_compress(enum sr_codec c, const void *in, size_t n, void **out,
		      size_t *outlen)
{
	if (c == SR_CODEC_LZ4)
		return lz4_compress(in, n, out, outlen);
	if (c == SR_CODEC_GZIP)
		return gz_compress(in, n, out, outlen);
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, in, n);
	*outlen = n;
	return 0;
}

int sr_codec_decompress(enum sr_codec c, const void *in, size_t n, void **out,
			size_t *outlen)
{
	char *buf;
	int rc;

	if (c == SR_CODEC_LZ4)
		rc = lz4_decompress(in, n, &buf, outlen);
	else if (c == SR_CODEC_GZIP)
		rc = gz_decompress(in, n, &buf, outlen);
	else if (n > SR_CODEC_MAX_OUT)
		rc = -EFBIG;
	else if (!(buf = malloc(n + 1)))
		rc = -ENOMEM;
	else {
		memcpy(buf, in, n);
		buf[n] = 0;
		*outlen = n;
		rc = 0;
	}
	if (!rc)
		*out = buf;
	return rc;
}

const char *sr_codec_name(enum sr_codec c)
{
	return c == SR_CODEC_LZ4 ? "lz4" : c == SR_CODEC_GZIP ? "gzip" : "none";
}

int sr_codec_parse(const char *name, enum sr_codec *c)
{
	if (!strcmp(name, "lz4"))
		*c = SR_CODEC_LZ4;
	else if (!strcmp(name, "gzip"))
		*c = SR_CODEC_GZIP;
	else if (!strcmp(name, "none"))
		*c = SR_CODEC_NONE;
	else
		return -EINVAL;
	return 0;
}
