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

/* Returns the end of the JSON value that starts at p (leading whitespace
 * skipped), never reading at or past end; NULL if the text ends before
 * the value does. Not a validation: malformed text may still yield a
 * pointer. Pure function, thread-safe. */
const char *sr_json_skip(const char *p, const char *end);

#endif /* SR_JSONSCAN_H */
