/* SPDX-License-Identifier: MIT */
/*
 * queue.h - the in-memory queue between the drain and the spool: items
 * (WIRE.md trace and span objects) in export order, until a hand-off
 * cuts them into batches for one spool segment. A trace object goes
 * ahead of the first queued span of its trace (another thread's lane of
 * the same ring can be read before the lane that holds the TRACE
 * record); everything else keeps the order of arrival. Bounded by the
 * caller (sr_queue_len against max_queue_size: back-pressure, not loss).
 * The items' texts are copied into one buffer, reused from hand-off to
 * hand-off (no allocation per item). Used by the drain thread only.
 */
#ifndef SR_SD_QUEUE_H
#define SR_SD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assemble.h"
#include "spool.h"

struct sr_queue;

/* The queue keeps SR_QUEUE_TEXT_KEEP bytes of item text allocated
 * between hand-offs (common/limits.h); more is given back. */

/* An empty queue. NULL + errno. */
struct sr_queue *sr_queue_new(void);

/* Frees the queue and the items still in it; NULL is a no-op. */
void sr_queue_free(struct sr_queue *q);

/* Reads the clocks for the items of the next drain round (two clock
 * reads per item would cost more than the item's queueing). */
void sr_queue_clock(struct sr_queue *q);

/* Queues a copy of an item. 0 or -ENOMEM. */
int sr_queue_push(struct sr_queue *q, const struct sr_item *it)
	__attribute__((warn_unused_result));

/* Items queued. */
size_t sr_queue_len(const struct sr_queue *q);

/* Monotonic ns of the oldest item's event (its span's end or trace's
 * start, as read against the clocks of sr_queue_clock): what
 * schedule_delay counts from. Meaningless when empty. */
uint64_t sr_queue_oldest(const struct sr_queue *q);

/* The items as batches of at most `max_batch` JSON lines each (calloc'd,
 * for sr_spool_put()); the queue keeps its items until sr_queue_clear().
 * 0 (*n == 0 when empty) or -ENOMEM. */
int sr_queue_batches(const struct sr_queue *q, uint32_t max_batch,
		     struct sr_spool_batch **out, size_t *n)
	__attribute__((warn_unused_result));

/* Drops every item (they are in the spool now). */
void sr_queue_clear(struct sr_queue *q);

#endif /* SR_SD_QUEUE_H */
