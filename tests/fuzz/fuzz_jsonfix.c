/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jsonfix - the exact, repairing copy of JSON object texts
 * (common/jsonfix.h). Properties: no crash, no write past the documented
 * capacity; what comes out is valid JSON (cJSON reads it) and a fixed
 * point (copying it again changes nothing and repairs nothing); with no
 * repair made, the output is the input with only the whitespace between
 * tokens removed: every value, number form, escape and key order kept.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonfix.h"

/* The input without the whitespace outside strings: computed here
 * independently of the code under test. */
static size_t strip(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			out[o++] = c;
			if (c == '\\' && i + 1 < n)
				out[o++] = s[++i];
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
			out[o++] = c;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			out[o++] = c;
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	size_t cap = sr_json_fix_cap(n), m, m2;
	/* one guard byte past the capacity: the copy must not reach it */
	char *out = malloc(cap + 1), *again, *plain;
	unsigned fixes = 0, fixes2 = 0;
	cJSON *j;

	out[cap] = 0x5a;
	m = sr_json_fix_object((const char *)data, n, out, &fixes);
	if (out[cap] != 0x5a || m > cap)
		abort();
	if (!m) {
		free(out);
		return 0;
	}
	/* cJSON refuses lone surrogate escapes, which JSON's grammar (and
	 * Python, and JavaScript) accept: judged by the fixed point then */
	j = cJSON_ParseWithLength(out, m);
	if ((!j || !cJSON_IsObject(j)) && !memmem(out, m, "\\ud", 3) &&
	    !memmem(out, m, "\\uD", 3))
		abort();
	cJSON_Delete(j);
	again = malloc(sr_json_fix_cap(m));
	m2 = sr_json_fix_object(out, m, again, &fixes2);
	if (m2 != m || memcmp(again, out, m) || fixes2)
		abort();
	if (!fixes) {
		plain = malloc(n + 1);
		if (strip((const char *)data, n, plain) != m ||
		    memcmp(plain, out, m))
			abort();
		free(plain);
	}
	free(again);
	free(out);
	return 0;
}
