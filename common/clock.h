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

/*
 * The TSC as a clock (see common/README.md, "Clocks").
 *
 * A stamp is a u64 in a record's time field: CLOCK_REALTIME ns, or, with
 * SR_STAMP_TSC set, a TSC reading (the tag bit cleared) that a consumer
 * turns into realtime ns with an anchor, a (tsc, realtime ns) pair taken
 * by the writer. Realtime ns reach bit 63 in the year 2262; a TSC is used
 * only while it is below SR_TSC_MAX, so the two never collide.
 */
#define SR_STAMP_TSC (1ull << 63)
#define SR_TSC_MAX (1ull << 62)

/* A (tsc, realtime ns) pair read together. */
struct sr_anchor {
	uint64_t tsc; /* TSC ticks, untagged; 0: no anchor */
	uint64_t ns;  /* CLOCK_REALTIME ns at that tick */
};

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define SR_HAVE_TSC 1
/* The TSC: no system call, no fence (a reading may move by a few cycles,
 * which is far below what is recorded). */
static inline uint64_t sr_tsc(void)
{
	return __rdtsc();
}
#else
#define SR_HAVE_TSC 0
static inline uint64_t sr_tsc(void)
{
	return 0;
}
#endif

/* Reads an anchor: the TSC on both sides of one CLOCK_REALTIME reading,
 * the midpoint kept. No system call (vDSO). */
void sr_anchor_take(struct sr_anchor *a);

/*
 * true if this machine's TSC can stand for CLOCK_REALTIME: the kernel uses
 * it as its clock source (/sys/devices/system/clocksource/clocksource0/
 * current_clocksource is "tsc": it found it synchronised between CPUs and
 * stable), the CPU says it is invariant (CPUID 0x80000007 EDX bit 8: it
 * ticks at one rate in every P-, C- and T-state) and it is below
 * SR_TSC_MAX. Three system calls and a CPUID (a VM exit: ~6.5 us under
 * KVM): made once per process tree (the shim passes the answer on), at
 * the first span stamp or child of its first traced image.
 */
bool sr_tsc_usable(void);

/* true if the TSC exists and is below SR_TSC_MAX (what SPANRING_CLOCK=tsc
 * still requires). No system call. */
bool sr_tsc_taggable(void);

/*
 * Nanoseconds per TSC tick as measured by this (consumer) process against
 * CLOCK_MONOTONIC, which runs at CLOCK_REALTIME's rate without its steps:
 * the first call sleeps SR_TSC_CALIBRATE_NS between two readings, later
 * calls refine the
 * figure over the process's lifetime (one clock reading, at most every
 * 100 ms). 0 where there is no TSC. Thread-safe.
 */
double sr_tsc_ns_per_tick(void);

/*
 * Realtime ns of TSC reading `tsc` from anchor a at `ns_per_tick`: a
 * reading before the anchor counts back from it. The result is clamped to
 * 0..SR_TSC_MAX ns (year 2116) and never wraps, whatever the inputs.
 */
uint64_t sr_tsc_to_ns(const struct sr_anchor *a, double ns_per_tick,
		      uint64_t tsc);

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
