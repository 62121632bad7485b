/* SPDX-License-Identifier: MIT */
/*
 * why.h - the "why" text of functions that explain their failures.
 *
 * Openers of rings and ring directories take a caller's buffer (`why`, `n`
 * bytes) and, when they fail, leave a human-readable cause in it.
 */
#ifndef SR_WHY_H
#define SR_WHY_H

#include <stddef.h>

/* Formats the cause into why (truncated to n bytes, NUL-terminated; nothing
 * is written when why is NULL or n is 0) and returns err unchanged, so a
 * caller can `return sr_why(why, n, -EBADMSG, "...")`. No allocation;
 * thread-safe for distinct buffers. */
int sr_why(char *why, size_t n, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* SR_WHY_H */
