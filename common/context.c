/* SPDX-License-Identifier: MIT */
#include "context.h"

#include <string.h>

#include "ids.h"

bool sr_context_parse(const char *v, uint8_t trace[16], uint8_t span[12])
{
	return v && strlen(v) == SR_CONTEXT_LEN - 1 && v[32] == '-' &&
	       sr_unhex(trace, v, 16) && sr_unhex(span, v + 33, 12) &&
	       !sr_id_is_zero(trace, 16) && !sr_id_is_zero(span, 12);
}

bool sr_traceparent_parse(const char *v, uint8_t trace[16], uint8_t parent[8])
{
	const size_t len = SR_TRACEPARENT_LEN - 1;
	uint8_t ver, flags;
	size_t n = v ? strlen(v) : 0;

	if (n < len || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
	    !sr_unhex(&ver, v, 1) || ver == 0xff || (ver == 0 && n != len) ||
	    (n > len && v[len] != '-') || !sr_unhex(trace, v + 3, 16) ||
	    !sr_unhex(parent, v + 36, 8) || !sr_unhex(&flags, v + 53, 1))
		return false;
	return !sr_id_is_zero(trace, 16) && !sr_id_is_zero(parent, 8);
}

void sr_context_fmt(char out[SR_CONTEXT_LEN], const uint8_t trace[16],
		    const uint8_t span[12])
{
	sr_hex(out, trace, 16);
	out[32] = '-';
	sr_hex(out + 33, span, 12);
}

void sr_traceparent_fmt(char out[SR_TRACEPARENT_LEN], const uint8_t trace[16],
			const uint8_t span[12])
{
	memcpy(out, "00-", 3);
	sr_hex(out + 3, trace, 16);
	out[35] = '-';
	/* the W3C parent id is the last 8 bytes of the 12-byte span id */
	sr_hex(out + 36, span + 4, 8);
	memcpy(out + 52, "-01", 4);
}
