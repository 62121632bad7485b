/* SPDX-License-Identifier: MIT */
/*
 * context.h - the trace context a process passes to its children, in the
 * two environment variables spanring reads and writes (shim/README.md):
 *
 *   TRACEPARENT       W3C Trace Context: "00-<32 hex trace id>-<16 hex
 *                     parent id>-<2 hex flags>". spanring's 12-byte span
 *                     ids travel as their last 8 bytes.
 *   SPANRING_CONTEXT  "<32 hex trace id>-<24 hex span id>": the whole
 *                     span id, for a child traced by spanring.
 *
 * Pure functions, no allocation, async-signal-safe (the shim formats the
 * context between fork and exec).
 */
#ifndef SR_CONTEXT_H
#define SR_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#define SR_TRACEPARENT_LEN 56 /* "00-" 32 "-" 16 "-01" + NUL */
#define SR_CONTEXT_LEN 58     /* 32 "-" 24 + NUL */

/* true if v is a SPANRING_CONTEXT value with non-zero ids; fills trace
 * and span. NULL or anything else: false. */
bool sr_context_parse(const char *v, uint8_t trace[16], uint8_t span[12]);

/*
 * true if v is a W3C traceparent with non-zero ids; fills trace and
 * parent (8 bytes). Versions other than 00 may carry more fields after a
 * '-' (forward compatibility); version ff and a 00 with more are refused.
 */
bool sr_traceparent_parse(const char *v, uint8_t trace[16], uint8_t parent[8]);

/* Writes the SPANRING_CONTEXT value of (trace, span), NUL-terminated. */
void sr_context_fmt(char out[SR_CONTEXT_LEN], const uint8_t trace[16],
		    const uint8_t span[12]);

/* Writes the traceparent of (trace, span): version 00, the last 8 bytes
 * of span as parent id, flags 01 (sampled), NUL-terminated. */
void sr_traceparent_fmt(char out[SR_TRACEPARENT_LEN], const uint8_t trace[16],
			const uint8_t span[12]);

#endif /* SR_CONTEXT_H */
