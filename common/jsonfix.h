/* SPDX-License-Identifier: MIT */
/*
 * jsonfix.h - an exact, repairing copy of a JSON object text.
 *
 * What a traced program wrote is what is sent: the copy keeps every byte
 * of every value (integers of any size, 1.0, exponent forms, escapes such
 * as \u0000, key order, duplicate keys) and drops only the whitespace
 * between tokens. It repairs, in place and without re-serialising the
 * rest, what JSON cannot carry:
 *   - a byte that is not valid UTF-8 inside a string becomes U+FFFD;
 *   - NaN, Infinity and -Infinity (Python's json.dumps writes them)
 *     become null, as JavaScript's JSON.stringify writes them;
 *   - an array or object nested deeper than SR_JSON_DEPTH_MAX becomes
 *     null.
 * Anything else that is not JSON makes the copy fail: the caller decides
 * (the sidecar keeps the text as a string, see sidecar/README.md).
 *
 * No allocation, no global state: thread-safe. Used by the sidecar's
 * encoder; fuzzed by tests/fuzz/fuzz_jsonfix.c.
 */
#ifndef SR_JSONFIX_H
#define SR_JSONFIX_H

#include <stddef.h>

/* Repairs made (bits of *fixes). */
#define SR_JFIX_UTF8 0x1u      /* invalid UTF-8 replaced by U+FFFD */
#define SR_JFIX_NONFINITE 0x2u /* NaN / Infinity replaced by null */
#define SR_JFIX_DEPTH 0x4u     /* a value nested too deep replaced by null */

/* Bytes sr_json_fix_object() may write for n bytes of input: an invalid
 * byte grows to three, NaN to four. */
static inline size_t sr_json_fix_cap(size_t n)
{
	return 3 * n + 8;
}

/*
 * Copies the JSON object text s[0..n) (whitespace around it allowed) into
 * out, compact and repaired as above. out has sr_json_fix_cap(n) bytes
 * and may not overlap s. Returns the bytes written (not NUL-terminated),
 * or 0 when s is not a JSON object even after the repairs. ORs the
 * repairs made into *fixes.
 */
size_t sr_json_fix_object(const char *s, size_t n, char *out, unsigned *fixes);

#endif /* SR_JSONFIX_H */
