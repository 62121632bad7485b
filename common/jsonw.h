/* SPDX-License-Identifier: MIT */
/*
 * jsonw.h - a JSON text writer into a caller's fixed buffer.
 *
 * No allocation, async-signal-safe: the shim builds span data with it on
 * its hot path, the sidecar its payloads. Strings are escaped per RFC 8259;
 * bytes that are not valid UTF-8 become U+FFFD, so the output is always
 * valid UTF-8. When something does not fit, nothing of it is written and
 * `overflow` is set; sr_jw_mark()/sr_jw_rollback() let a caller drop a
 * whole element to keep the text well-formed.
 */
#ifndef SR_JSONW_H
#define SR_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sr_jw {
	char *buf;     /* output, not NUL-terminated until sr_jw_cstr() */
	size_t cap;    /* bytes of buf */
	size_t len;    /* bytes written */
	bool overflow; /* something did not fit */
};

void sr_jw_init(struct sr_jw *w, char *buf, size_t cap);

/* Appends n bytes as they are (already JSON). */
void sr_jw_raw(struct sr_jw *w, const char *s, size_t n);
/* Appends a NUL-terminated literal as it is. */
void sr_jw_lit(struct sr_jw *w, const char *s);
/* Appends s[0..n) as a quoted, escaped JSON string. */
void sr_jw_str(struct sr_jw *w, const char *s, size_t n);
/* Appends a NUL-terminated C string as a JSON string (NULL: null). */
void sr_jw_cstr_val(struct sr_jw *w, const char *s);
void sr_jw_i64(struct sr_jw *w, int64_t v);
void sr_jw_u64(struct sr_jw *w, uint64_t v);
/*
 * Members of an object: "key":value, with the comma before it unless the
 * text is empty or ends with '{' or '[' (the first member). The value is
 * written as by the function of the same suffix; sr_jw_member() writes
 * the key alone, for a value the caller writes next. The key is escaped.
 */
void sr_jw_member(struct sr_jw *w, const char *key);
void sr_jw_member_str(struct sr_jw *w, const char *key, const char *s,
		      size_t n);
void sr_jw_member_cstr(struct sr_jw *w, const char *key, const char *s);
void sr_jw_member_i64(struct sr_jw *w, const char *key, int64_t v);
void sr_jw_member_u64(struct sr_jw *w, const char *key, uint64_t v);
/* The value as it is (already JSON): s[0..n), or a NUL-terminated one. */
void sr_jw_member_raw(struct sr_jw *w, const char *key, const char *s,
		      size_t n);
void sr_jw_member_lit(struct sr_jw *w, const char *key, const char *s);

/* Position to roll back to, and the rollback (clears overflow). */
size_t sr_jw_mark(const struct sr_jw *w);
void sr_jw_rollback(struct sr_jw *w, size_t mark);

/* NUL-terminates (needs one spare byte: cap is reduced by one at init). */
const char *sr_jw_cstr(struct sr_jw *w);

/* Escaped length of s[0..n) without quotes, as sr_jw_str would write. */
size_t sr_json_escaped_len(const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t sr_utf8_seq(const unsigned char *s, size_t n);

#endif /* SR_JSONW_H */
