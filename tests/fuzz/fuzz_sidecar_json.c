/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sidecar_json - the sidecar's handling of untrusted text: the JSON
 * texts a ring carries (span data, error data, metadata) through the
 * encoder's fast path and cJSON, and the Retry-After values a server
 * sends. Properties: no crash; every item produced is valid JSON whose
 * span_data / metadata equal what cJSON makes of the input.
 *
 * The sidecar's modules are compiled into this target (one unit).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sidecar/encode.c"
#include "sidecar/retry.c"

static void check_valid(const char *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(json, len);

	if (!j)
		abort(); /* the encoder emitted invalid JSON */
	cJSON_Delete(j);
}

/* The fast path's text must mean what cJSON's does. */
static void check_fast(const uint8_t *data, size_t n)
{
	struct sr_str s = { (const char *)data, (uint32_t)n };
	char *fast = NULL;
	size_t flen = 0;

	if (fast_object(s, &fast, &flen)) {
		cJSON *a = cJSON_Parse(fast), *b = parse_object(s, 0);
		char *pa, *pb;

		if (!a || !b || strlen(fast) != flen)
			abort();
		/* compare printed trees, not cJSON_Compare(): that one looks
		 * members up by name and so cannot judge duplicate keys */
		pa = cJSON_PrintUnformatted(a);
		pb = cJSON_PrintUnformatted(b);
		if (!pa || !pb || strcmp(pa, pb) != 0)
			abort();
		free(pa);
		free(pb);
		cJSON_Delete(a);
		cJSON_Delete(b);
		free(fast);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sr_span_rec s = { .start_ns = 1, .end_ns = 2 };
	struct sr_trace_rec t = { .ts_ns = 1 };
	size_t cut = n ? data[0] % (n + 1) : 0;
	char *out, ra[64];
	size_t len;

	if (n > 65536)
		return 0;
	check_fast(data, n);
	memset(s.trace_id, 1, 16);
	memset(s.span_id, 2, 12);
	s.name = (struct sr_str){ (const char *)data, (uint32_t)(cut < 64 ? cut : 64) };
	s.data = (struct sr_str){ (const char *)data + cut, (uint32_t)(n - cut) };
	s.err = s.name;
	s.flags = n && (data[0] & 1) ? SR_SF_SPAN_DATA : 0;
	if (!sr_encode_span(&s, (struct sr_str){ 0 }, &out, &len)) {
		check_valid(out, len);
		free(out);
	}
	s.flags = 0;
	s.errdata = s.data;
	s.data = (struct sr_str){ "{\"k\":1}", 7 };
	if (!sr_encode_span(&s, s.errdata, &out, &len)) {
		check_valid(out, len);
		free(out);
	}
	memset(t.trace_id, 3, 16);
	t.workflow = s.name;
	t.metadata = s.errdata;
	if (!sr_encode_trace(&t, &out, &len)) {
		check_valid(out, len);
		free(out);
	}
	snprintf(ra, sizeof(ra), "%.*s", (int)(n < 63 ? n : 63), (const char *)data);
	(void)sr_retry_after_parse(ra, time(NULL));
	return 0;
}
