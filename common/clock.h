/* SPDX-License-Identifier: MIT */
/*
 * clock.h - wall-clock timestamps (CLOCK_REALTIME, ns since the epoch) and
 * their WIRE.md text form.
 */
#ifndef SR_CLOCK_H
#define SR_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Now, in ns. Served by the vDSO: no system call, errno untouched. */
static inline uint64_t sr_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Monotonic ns, for durations and deadlines. */
static inline uint64_t sr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define SR_ISO_LEN 33 /* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" + NUL */

/* Formats ns as Python's datetime.isoformat() of an aware UTC time with
 * microseconds: "2026-11-21T11:24:00.769235+00:00". Returns out. Years
 * outside 0000..9999 are clamped to the range. */
char *sr_fmt_iso(char out[SR_ISO_LEN], uint64_t ns);

/*
 * Parses s[0..n), "YYYY-MM-DDTHH:MM:SS" with an optional fraction of 1 to
 * 9 digits and a zone "Z" or "+HH:MM" / "-HH:MM" (what sr_fmt_iso writes,
 * and what other writers of the WIRE.md form do), into *ns since the
 * epoch. false, *ns untouched, when s is not such a time or is before
 * the epoch. Nothing may follow the zone. Pure function, thread-safe.
 */
bool sr_parse_iso(const char *s, size_t n, uint64_t *ns);

#endif /* SR_CLOCK_H */
