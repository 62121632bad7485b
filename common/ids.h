/* SPDX-License-Identifier: MIT */
/*
 * ids.h - trace, span and group ids in the formats of WIRE.md.
 *
 * A per-thread xoshiro256** generator, seeded once per process and mixed
 * with a per-thread counter: an id costs a few nanoseconds and no system
 * call. The seed is SipHash-2-4 (siphash.h) keyed with the kernel's
 * AT_RANDOM bytes of this image over the pid, the time and a count: no
 * system call either, and nothing about those bytes is revealed (getrandom
 * only when the auxiliary vector has no AT_RANDOM). After fork the child
 * must call sr_ids_reseed() so it never repeats its parent's ids.
 */
#ifndef SR_IDS_H
#define SR_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SR_TRACE_ID_LEN 16 /* bytes: 32 hex, also the W3C trace id */
#define SR_SPAN_ID_LEN 12  /* bytes: 24 hex */

/* Text sizes with NUL: "trace_" + 32, "span_" + 24. */
#define SR_TRACE_ID_STR 39
#define SR_SPAN_ID_STR 30

/* Seeds the process-wide state as said above (getrandom without
 * AT_RANDOM, time and pid mixing if the kernel refuses that too). Every
 * thread's generator re-seeds from it on its next id. Async-signal-safe;
 * preserves errno. */
void sr_ids_reseed(void);
/* The same for a caller that knows its pid (getpid() is a system call). */
void sr_ids_reseed_pid(uint32_t pid);

/* Fill a random, nonzero id. Thread-safe (per-thread state). */
void sr_id_random(uint8_t *out, size_t n);

/* Lowercase hex of n bytes into dst (2n chars + NUL). */
void sr_hex(char *dst, const uint8_t *src, size_t n);

/* Parses exactly 2n hex digits (either case). true on success. */
bool sr_unhex(uint8_t *dst, const char *src, size_t n);

/* "trace_<32 hex>", "span_<24 hex>". */
void sr_fmt_trace_id(char out[SR_TRACE_ID_STR], const uint8_t id[16]);
void sr_fmt_span_id(char out[SR_SPAN_ID_STR], const uint8_t id[12]);

/* true if all n bytes are zero. */
bool sr_id_is_zero(const uint8_t *id, size_t n);

#endif /* SR_IDS_H */
