/* SPDX-License-Identifier: MIT */
/*
 * dec.h - decimal numbers without stdio. The shim's start formats and
 * reads a few numbers (ring name, directory, SPANRING_PIDNS): printf and
 * strtoul would each pull in pages of libc code a small program never
 * touches, a page fault apiece on every traced start.
 */
#ifndef SR_DEC_H
#define SR_DEC_H

#include <stddef.h>
#include <stdint.h>

/* Longest decimal text of a uint64_t. */
#define SR_DEC_MAX 20

/* Writes the decimal digits of v at out (no NUL); returns how many (1 to
 * SR_DEC_MAX). */
size_t sr_dec_fmt(char *out, uint64_t v);

/* Reads the decimal digits at s (at least one, no sign, no spaces) into
 * *v: returns the first character after them, or NULL when there is no
 * digit or the value does not fit in 64 bits. */
const char *sr_dec_parse(const char *s, uint64_t *v);

#endif /* SR_DEC_H */
