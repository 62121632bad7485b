/* SPDX-License-Identifier: MIT */
/*
 * rings.h - what spanring-dump does with rings: list a directory, print
 * records (once or following), check integrity. Everything is read-only
 * (SR_READER_RDONLY): nothing is committed, nothing is written.
 *
 * Each function returns a process exit status: 0, or a sysexits code
 * (EX_DATAERR a bad ring or record, EX_NOINPUT a missing one), or 1 from
 * sr_dump_check() when a ring is damaged. Problems are described on
 * stderr, one line each, and the work goes on with the next ring.
 */
#ifndef SR_DUMP_RINGS_H
#define SR_DUMP_RINGS_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "tools/dump/format.h"

struct sr_dump_opts {
	const char *dir;             /* ring directory */
	enum sr_dump_fmt fmt;        /* records and list format */
	unsigned interval_ms;        /* --follow poll period */
	volatile sig_atomic_t *stop; /* set asynchronously to end --follow */
};

/* Every function that takes the rings "of o->dir" takes those of its
 * uid-<N>/ subdirectories too (those the sidecar would serve); one that
 * is refused or unreadable is said on stderr and sets EX_NOINPUT, the
 * others are still done. */

/* Lists the rings of o->dir with their owner, state and counters, then
 * the refused-ring count of the directory and its subdirectories. */
int sr_dump_list(const struct sr_dump_opts *o, FILE *out);

/* Prints every unconsumed record of the rings at paths[0..n) (n == 0:
 * every ring of o->dir). With follow and paths, keeps printing new
 * records until *o->stop is set or every owner is gone and everything was
 * printed. With follow over o->dir, rescans it every o->interval_ms: rings
 * created later are followed too (at most SR_DUMP_FOLLOW_MAX), removed
 * ones are dropped once read; ends only when *o->stop is set. */
int sr_dump_records(const struct sr_dump_opts *o, char **paths, int n,
		    bool follow, FILE *out);

/* Validates the header, every lane and every unread record of each ring;
 * prints "PATH: ok" or one line per fault. */
int sr_dump_check(const struct sr_dump_opts *o, char **paths, int n, FILE *out);

#endif /* SR_DUMP_RINGS_H */
