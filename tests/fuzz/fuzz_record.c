/* SPDX-License-Identifier: MIT */
/*
 * fuzz_record - every record decoder on arbitrary payloads; what decodes
 * must encode back to the same bytes, and the encoders must cut any
 * strings to any capacity into something that decodes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[70000 * 4 + 128];

static void same(const uint8_t *a, uint32_t n, uint32_t m)
{
	if (n != m || memcmp(a, out, n) != 0)
		abort();
}

static void decoders(const uint8_t *p, uint32_t n)
{
	struct sr_span_rec s;
	struct sr_trace_rec t;
	struct sr_process_rec pr;
	struct sr_child_rec c;
	bool cut = false;

	if (sr_span_decode(p, n, &s) == 0) {
		/* the pad bytes of the fixed part are not kept */
		uint32_t m = sr_span_encode(out, sizeof(out), &s, &cut);

		if (cut || m != n || sr_span_decode(out, m, &s) != 0)
			abort();
	}
	if (sr_trace_decode(p, n, &t) == 0) {
		uint32_t m = sr_trace_encode(out, sizeof(out), &t, &cut);

		if (cut || m != n)
			abort();
	}
	if (sr_process_decode(p, n, &pr) == 0) {
		uint32_t m = sr_process_encode(out, sizeof(out), &pr, &cut);

		if (cut || m != n)
			abort();
	}
	if (sr_child_decode(p, n, &c) == 0)
		same(p, n, sr_child_encode(out, sizeof(out), &c));
}

/* Splits the input into strings and encodes them into a capacity taken
 * from the input: the result always decodes. */
static void encoders(const uint8_t *p, uint32_t n)
{
	struct sr_span_rec s, d;
	struct sr_trace_rec t, td;
	struct sr_process_rec pr, pd;
	uint32_t cap, q;
	bool cut = false;

	if (n < 4)
		return;
	cap = (uint32_t)(p[0] | p[1] << 8) % 4096;
	p += 2;
	n -= 2;
	q = n / 4;
	memset(&s, 0, sizeof(s));
	s.name = (struct sr_str){ (const char *)p, q };
	s.data = (struct sr_str){ (const char *)p + q, q };
	s.err = (struct sr_str){ (const char *)p + 2 * q, q };
	s.errdata = (struct sr_str){ (const char *)p + 3 * q, n - 3 * q };
	q = sr_span_encode(out, cap, &s, &cut);
	if (q > cap || (q && sr_span_decode(out, q, &d) != 0))
		abort();
	memset(&t, 0, sizeof(t));
	t.workflow = s.name;
	t.group_id = s.data;
	t.metadata = s.err;
	q = sr_trace_encode(out, cap, &t, &cut);
	if (q > cap || (q && sr_trace_decode(out, q, &td) != 0))
		abort();
	memset(&pr, 0, sizeof(pr));
	pr.exe = s.errdata;
	q = sr_process_encode(out, cap, &pr, &cut);
	if (q > cap || (q && sr_process_decode(out, q, &pd) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t n = size > 65536 ? 65536 : (uint32_t)size;

	decoders(data, n);
	encoders(data, n);
	(void)sr_rec_type_name(n ? data[0] : 0);
	return 0;
}
