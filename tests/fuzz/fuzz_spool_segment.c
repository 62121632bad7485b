/* SPDX-License-Identifier: MIT */
/*
 * fuzz_spool_segment - the spool's segment reader on untrusted bytes (a
 * damaged or hostile segment file): sr_segment_index() and the
 * decompression of every frame it indexes. Properties: no crash, no read
 * outside the image, offsets strictly increasing and inside it, the
 * delivered counter never beyond the batches found.
 *
 * The sidecar's spool and stats are compiled into this target (the
 * codec is in common/, linked with it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/log.c"
#include "sidecar/lock.c"
#include "sidecar/spool.c"
#include "sidecar/stats.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sr_seg_index ix;
	uint8_t *img = malloc(n ? n : 1);
	size_t *off;

	if (!img)
		return 0;
	memcpy(img, data, n); /* an exact-size copy: ASan sees overreads */
	if (sr_segment_index(img, n, NULL, 0, &ix)) {
		free(img);
		return 0;
	}
	off = calloc(ix.batches + 1, sizeof(*off));
	if (!off) {
		free(img);
		return 0;
	}
	sr_segment_index(img, n, off, ix.batches, &ix);
	if (ix.done > ix.batches || ix.end > n)
		abort();
	for (uint32_t i = 0; i < ix.batches; i++) {
		struct sr_seg_frame f;
		void *out = NULL;
		size_t len;

		if (off[i] < sizeof(struct sr_seg_header) ||
		    (i && off[i] <= off[i - 1]) || off[i] + sizeof(f) > n)
			abort();
		memcpy(&f, img + off[i], sizeof(f));
		if (f.bytes > n - off[i] - sizeof(f) || f.codec > SR_CODEC_GZIP)
			abort();
		if (!sr_codec_decompress((enum sr_codec)f.codec,
					 img + off[i] + sizeof(f), f.bytes,
					 &out, &len))
			free(out);
	}
	free(off);
	free(img);
	return 0;
}
