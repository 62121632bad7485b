/* SPDX-License-Identifier: MIT */
/*
 * export.h - one destination's export thread: takes the spool segments it
 * has not delivered, oldest first, and delivers them with its exporter
 * (openai, otlp, console, file, null), with the seed's retry loop and
 * spanring's additions (retry.h:
 * 408/409/429, Retry-After, retry-after-ms, x-should-retry; isolation of
 * rejected items into a dead-letter file in O(log n) requests).
 * A segment is removed from the spool once delivered or durably
 * dead-lettered; after a failed round (or a dead letter that cannot be
 * written) it stays and is retried after a backoff (base delay doubling
 * to max delay), across restarts. Each destination has its own thread,
 * progress through the spool (spool.h), retries, backoff, dead letter
 * and counters (stats.h): a slow or failing destination never blocks
 * another, nor the drain.
 */
#ifndef SR_SD_EXPORT_H
#define SR_SD_EXPORT_H

#include <stdint.h>

#include "config.h"
#include "spool.h"

struct sr_exporter;

/* Prepares destination `dest` (its index in the spool and the stats),
 * exporting with `kind`: the HTTP handle, and opens the file exporter's
 * output or the dead-letter file (sr_config_dead_letter(); a path that
 * cannot be written is an error now). NULL + errno with the reason in
 * `why`. `c` and `sp` must outlive it. */
struct sr_exporter *sr_exporter_new(const struct sr_config *c,
				    enum sr_exporter_kind kind, unsigned dest,
				    struct sr_spool *sp, char *why,
				    size_t whylen);

/* Starts the thread. 0 or -errno. */
int sr_exporter_start(struct sr_exporter *e);

/* New segments are in the spool (`force`: also cut every pending wait,
 * the backoff between rounds and the pause between attempts: SIGUSR1).
 * Thread-safe, never blocks for long. */
void sr_exporter_kick(struct sr_exporter *e, int force);

/* Asks the thread to deliver what it can until `deadline` (monotonic ns),
 * abandoning a request still running then; returns at once. */
void sr_exporter_stop(struct sr_exporter *e, uint64_t deadline);

/* Waits for a stopped thread to end (after sr_exporter_stop). */
void sr_exporter_join(struct sr_exporter *e);

/* Frees (stops first if running); NULL is a no-op. */
void sr_exporter_free(struct sr_exporter *e);

#endif /* SR_SD_EXPORT_H */
