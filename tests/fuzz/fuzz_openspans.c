/* SPDX-License-Identifier: MIT */
/*
 * fuzz_openspans - the open-span file reader on untrusted bytes (a
 * damaged or hostile "open-<ring>" file in the spool directory):
 * sr_openspans_parse(). Properties: no crash, no read outside the image;
 * at most SR_OPEN_SPANS_MAX spans held, each a SPAN_START payload that
 * decodes, with a span id that is not held twice.
 *
 * The sidecar's modules are compiled into this target (one unit).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/assemble.c"
#include "sidecar/encode.c"
#include "sidecar/openspans.c"

struct sr_stats sr_stats;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sr_asm_ring *r = sr_asm_ring_new();
	uint8_t *img = malloc(n ? n : 1);
	size_t open;

	if (!r || !img) {
		sr_asm_ring_free(r);
		free(img);
		return 0;
	}
	memcpy(img, data, n); /* an exact-size copy: ASan sees overreads */
	(void)sr_openspans_parse(img, n, r);
	open = sr_asm_ring_open_count(r);
	if (open > SR_OPEN_SPANS_MAX)
		abort();
	for (size_t i = 0; i < open; i++) {
		struct sr_open_entry e, f;
		struct sr_span_rec s, t;

		sr_asm_ring_entry(r, i, &e);
		if (sr_span_decode(e.payload, e.len, &s))
			abort();
		for (size_t k = 0; k < i; k++) {
			sr_asm_ring_entry(r, k, &f);
			if (!sr_span_decode(f.payload, f.len, &t) &&
			    !memcmp(s.span_id, t.span_id, sizeof(s.span_id)))
				abort();
		}
	}
	sr_asm_ring_free(r);
	free(img);
	return 0;
}
