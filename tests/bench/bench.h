/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every bench program shares: a monotonic clock, repeated
 * measurements reduced to median / min / max, and the JSON-line row of
 * BENCH.md that tests/bench/run.sh collects.
 *
 * A measurement function runs the operation many times and returns the
 * cost of one operation (any unit, usually ns); sr_bench_measure() calls it
 * at least SR_BENCH_MIN_RUNS times. Absolute figures mean little on a
 * shared machine: every row names a baseline measured in the same run.
 */
#ifndef SR_BENCH_H
#define SR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SR_BENCH_MIN_RUNS 5
#define SR_BENCH_MAX_RUNS 101

/* Median, min and max of the runs; median is NaN when not measured. */
struct sr_bench_stats {
	double median, min, max;
	int runs;
};

/* One table row, printed as one JSON object on stdout. */
struct sr_bench_row {
	const char *id;          /* "B1" */
	const char *row;         /* "ring record, 1 thread" */
	const char *unit;        /* "ns" */
	struct sr_bench_stats s; /* the figure */
	const char *baseline;    /* baseline's name, NULL: none */
	double baseline_median;  /* NaN: baseline not measured */
	const char *target;      /* "<= 60 ns", NULL: none */
	const char *note;        /* free text, NULL: none */
};

/* CLOCK_MONOTONIC in ns (no rdtsc: comparable across machines). */
uint64_t sr_bench_ns(void);

/* Returns the cost of one operation of one run. */
typedef double (*sr_bench_fn)(void *ctx);

/* Runs fn `runs` times (clamped to MIN..MAX_RUNS) after one warm-up run
 * and reduces the results into *out. */
void sr_bench_measure(sr_bench_fn fn, void *ctx, int runs,
		      struct sr_bench_stats *out);

/* Reduces n values (n >= 1; sorted in place) into *out. */
void sr_bench_reduce(double *v, int n, struct sr_bench_stats *out);

/* An unmeasured figure: median NaN, runs 0. */
void sr_bench_none(struct sr_bench_stats *out);

/* Prints the row as one JSON line and flushes stdout. The ratio is
 * median / baseline_median when both are measured, else null. */
void sr_bench_print(const struct sr_bench_row *row);

/* Runs from $SR_BENCH_RUNS (default `def`, at least SR_BENCH_MIN_RUNS). */
int sr_bench_runs(int def);

/* B1's floor, ns per span: the `len` bytes of an encoded span record
 * (len <= 256) copied into a local buffer with its two timestamps stamped
 * in, one atomic add and two clock reads, `iters` times. */
/* Writes "<rec_len>-byte records; written W, dropped D (full, oversize, no
 * lane)" for the ring rd into note; returns the length written. */
struct sr_reader;
size_t sr_bench_drops_note(struct sr_reader *rd, uint32_t rec_len, char *note,
			   size_t n);

double sr_bench_floor(const uint8_t *bytes, uint32_t len, long iters);

/* For benches that start programs: this environment without LD_PRELOAD,
 * SPANRING_* and TRACEPARENT, plus `extra` ("K=V", NULL-terminated, may be
 * NULL). Aborts when out of memory. */
char **sr_bench_env(const char *const *extra);

/* Removes every ring file of a ring directory (between runs, as a sidecar
 * would). */
void sr_bench_empty_ring_dir(const char *dir);

/* The path of `name` beside this program, or `up` directories above it;
 * with must_exist, exits when it is missing. */
char *sr_bench_beside(const char *name, int up, bool must_exist);

/* Keeps the compiler from optimising a value away. */
static inline void sr_bench_keep(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

#endif /* SR_BENCH_H */
