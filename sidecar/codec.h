/* SPDX-License-Identifier: MIT */
/*
 * codec.h - whole-buffer compression: LZ4 frame format, gzip, or none.
 */
#ifndef SR_SD_CODEC_H
#define SR_SD_CODEC_H

#include <stddef.h>

#include "config.h"

/* Largest decompressed buffer accepted (a spool segment or a request
 * body): bounds memory whatever a damaged file claims. */
#define SR_CODEC_MAX_OUT (256u * 1024u * 1024u)

/* Compresses n bytes into a malloc'd *out. 0, -ENOMEM or -EIO. */
int sr_codec_compress(enum sr_codec c, const void *in, size_t n, void **out,
		      size_t *outlen) __attribute__((warn_unused_result));

/* Decompresses into a malloc'd, NUL-terminated *out of at most
 * SR_CODEC_MAX_OUT bytes. 0, -EBADMSG (corrupt), -EFBIG or -ENOMEM. */
int sr_codec_decompress(enum sr_codec c, const void *in, size_t n, void **out,
			size_t *outlen) __attribute__((warn_unused_result));

#endif /* SR_SD_CODEC_H */
