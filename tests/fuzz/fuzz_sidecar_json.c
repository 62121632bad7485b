/* SPDX-License-Identifier: MIT */
/*
 * fuzz_sidecar_json - the sidecar's handling of untrusted text: the JSON
 * texts a ring carries (span data, error data, metadata) through the
 * encoder and the openai exporter's ingest rules, and the Retry-After
 * values a server sends. Properties: no crash; every record gives an
 * item (repaired, never dropped), valid JSON, and so does the item the
 * ingest rules make of it. The exact copy itself: fuzz_jsonfix.
 *
 * The sidecar's modules are compiled into this target (one unit).
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sidecar/encode.c"
#include "sidecar/ingest.c"
#include "sidecar/retry.c"

struct sr_stats sr_stats;

static void check_valid(const char *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(json, len);

	/* the encoder emitted invalid JSON (cJSON refuses lone surrogate
	 * escapes, which the grammar allows and which are kept as written) */
	if (!j && !memmem(json, len, "\\ud", 3) &&
	    !memmem(json, len, "\\uD", 3))
		abort();
	cJSON_Delete(j);
}

/* The openai exporter's rules on an item keep it valid JSON. */
static void check_ingest(const char *item, size_t len)
{
	char *t;
	size_t n;

	if (sr_ingest_item(item, len, &t, &n) == 1) {
		check_valid(t, n);
		free(t);
	}
}

/* Every record with nonzero ids gives its item: repairs, never a drop. */
static void encoded(int rc, const char *out, size_t len)
{
	if (rc)
		abort();
	check_valid(out, len);
	check_ingest(out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sr_span_rec s = { .start_ns = 1, .end_ns = 2 };
	struct sr_trace_rec t = { .ts_ns = 1 };
	size_t cut = n ? data[0] % (n + 1) : 0;
	const char *out;
	char ra[64];
	size_t len;

	if (n > 65536)
		return 0;
	memset(s.trace_id, 1, 16);
	memset(s.span_id, 2, 12);
	s.name = (struct sr_str){ (const char *)data,
				  (uint32_t)(cut < 64 ? cut : 64) };
	s.data = (struct sr_str){ (const char *)data + cut,
				  (uint32_t)(n - cut) };
	s.err = s.name;
	s.flags = n && (data[0] & 1) ? SR_SF_SPAN_DATA : 0;
	encoded(sr_encode_span(&s, (struct sr_str){ 0 }, &out, &len), out, len);
	s.flags = 0;
	s.errdata = s.data;
	s.data = (struct sr_str){ "{\"k\":1}", 7 };
	encoded(sr_encode_span(&s, s.errdata, &out, &len), out, len);
	memset(t.trace_id, 3, 16);
	t.workflow = s.name;
	t.metadata = s.errdata;
	encoded(sr_encode_trace(&t, &out, &len), out, len);
	snprintf(ra, sizeof(ra), "%.*s", (int)(n < 63 ? n : 63),
		 (const char *)data);
	(void)sr_retry_after_parse(ra, time(NULL));
	return 0;
}
