/* SPDX-License-Identifier: MIT */
/*
 * lttng_pair.h - the LTTng-UST baseline of B1: the cost of a begin and an
 * end tracepoint carrying one span's payload, with a session recording
 * them (an unrecorded tracepoint costs a branch and proves nothing).
 *
 * LTTng-UST registers with the session daemon in the constructor of the
 * traced program, so the measurement runs in a fresh copy of the calling
 * program, started after the session exists: every bench program that
 * links lttng_pair.o calls sr_lttng_child() first thing in main().
 *
 * The session daemon: the running one if `lttng list` answers, else one
 * started here (lttng-sessiond --no-kernel) and killed afterwards.
 * Output goes to a temporary directory, removed afterwards.
 */
#ifndef SR_LTTNG_PAIR_H
#define SR_LTTNG_PAIR_H

#include <stddef.h>

#include "tests/bench/bench.h"

/* In the re-executed copy: measures, prints the figures on stdout and
 * exits. Returns (does nothing) in a normal invocation. */
void sr_lttng_child(int argc, char **argv);

/*
 * Measures `runs` runs of `iters` begin+end pairs in a traced session.
 * Fills *out (ns per pair) and returns 0; on failure out is unmeasured
 * (median NaN), a reason is in note, and -errno is returned.
 * Not thread-safe; runs child processes (waited for).
 */
int sr_lttng_pair_measure(int runs, long iters, struct sr_bench_stats *out,
			  char *note, size_t notelen);

#endif /* SR_LTTNG_PAIR_H */
