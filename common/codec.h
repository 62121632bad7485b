/* SPDX-License-Identifier: MIT */
/*
 * codec.h - whole-buffer compression: LZ4 frame format, gzip, or none.
 * Shared by spanringd (spool segments, request bodies) and the test
 * receiver (request bodies); not linked into the shim.
 */
#ifndef SR_CODEC_H
#define SR_CODEC_H

#include <stddef.h>

#include "common/limits.h"

/* The codecs; the values are stored in spool segments (frame headers):
 * never renumber. */
enum sr_codec { SR_CODEC_NONE = 0, SR_CODEC_LZ4 = 1, SR_CODEC_GZIP = 2 };

/* Compresses n bytes into a malloc'd *out. 0, -ENOMEM or -EIO. */
int sr_codec_compress(enum sr_codec c, const void *in, size_t n, void **out,
		      size_t *outlen) __attribute__((warn_unused_result));

/* Decompresses into a malloc'd, NUL-terminated *out of at most
 * SR_CODEC_MAX_OUT bytes. 0, -EBADMSG (corrupt), -EFBIG or -ENOMEM. */
int sr_codec_decompress(enum sr_codec c, const void *in, size_t n, void **out,
			size_t *outlen) __attribute__((warn_unused_result));

/* "none", "lz4" or "gzip". */
const char *sr_codec_name(enum sr_codec c);

/* Parses a name of sr_codec_name(). 0, or -EINVAL. */
int sr_codec_parse(const char *name, enum sr_codec *c);

#endif /* SR_CODEC_H */
