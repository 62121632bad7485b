/* SPDX-License-Identifier: MIT */
/*
 * jsonscan.h - a structural scan of JSON text: where a value ends.
 *
 * The sidecar looks for keys in objects it has already validated, the
 * receiver splits request bodies into their items; both only need to step
 * over a value (strings with their escapes, nested arrays and objects),
 * not to validate it.
 */
#ifndef SR_JSONSCAN_H
#define SR_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the end of the JSON value that starts at p (leading whitespace
 * skipped), never reading at or past end; NULL if the text ends before
 * the value does. Not a validation: malformed text may still yield a
 * pointer. Pure function, thread-safe. */
const char *sr_json_skip(const char *p, const char *end);

/* true if s[0..n) has the shape of one JSON object: '{' first (after
 * whitespace), its braces and brackets balanced outside strings, only
 * whitespace after the closing brace. The one shape check of spanring:
 * the shim's API and environment refuse text that fails it with EINVAL;
 * what passes is validated and repaired by the sidecar (jsonfix.h). Pure
 * function, thread-safe, async-signal-safe. */
bool sr_json_object_ok(const char *s, size_t n);

/* The per-span check of the C API (spanring_span_begin and friends):
 * true if s[0..n) starts with '{' and ends with '}', whitespace aside.
 * It reads the ends only: a full sr_json_object_ok() of a 60-byte object
 * costs about what the whole span costs (B1 of BENCH.md: 75 ns went to
 * 160 ns), and the sidecar validates and repairs every object anyway. */
bool sr_json_object_framed(const char *s, size_t n);

/* Where the text k[0..m) (m >= 2, typically a quoted key) first occurs
 * in s[0..n), or NULL. Steps with memchr on k's second byte (a key's
 * first letter, rarer than its quote): on an item of a few hundred bytes
 * several times faster than memmem(), whose set-up dominates there. Pure
 * function, thread-safe. */
const char *sr_json_find(const char *s, size_t n, const char *k, size_t m);

#endif /* SR_JSONSCAN_H */
