/* SPDX-License-Identifier: MIT */
/*
 * stats.h - spanringd's counters (R-SIDE-10), shared by the drain and the
 * export threads (relaxed atomics), written as one JSON object to the
 * stats file, atomically (write a temporary, rename).
 */
#ifndef SR_SD_STATS_H
#define SR_SD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/limits.h"

#define SR_STATS_FIELDS(X)                                                     \
	X(rings_seen)             /* ring files opened */                      \
	X(rings_active)           /* rings open now (gauge) */                 \
	X(rings_removed)          /* drained after their owner died */         \
	X(rings_bad)              /* files refused: not a ring, corrupt */     \
	X(rings_unreadable)       /* rings it may not open, now (gauge) */     \
	X(rings_unreadable_total) /* ever: makes the exit status 77 */         \
	X(dirs_unreadable)        /* uid-<N>/ refused or denied now (gauge) */ \
	X(dirs_unreadable_total)  /* ever: makes the exit status 77 */         \
	X(shim_untraced_dir)      /* processes that refused the dir (gauge) */ \
	X(shim_untraced_full)     /* processes refused by the cap (total) */   \
	X(spool_failing)          /* 1 while hand-offs to the spool fail */    \
	X(ring_faults)            /* integrity faults inside rings */          \
	X(ring_lost_bytes)        /* bytes skipped because of faults */        \
	X(ring_stamps_clamped)    /* TSC stamps no honest writer makes */      \
	X(records_read)                                                        \
	X(records_malformed) /* dropped: failed decoding/validation */         \
	X(records_unmatched) /* SPAN_END without its SPAN_START */             \
	X(records_truncated) /* records whose writer cut a string */           \
	X(json_repaired)     /* items with a text repaired (jsonfix) */        \
	X(spans_repaired)    /* span_data type or times repaired */            \
	X(traces)            /* trace objects queued */                        \
	X(spans)             /* span objects queued */                         \
	X(spans_orphaned)    /* closed because their owner died */             \
	X(dropped_ring_full) /* producers' drops, running total */             \
	X(dropped_ring_oversize)                                               \
	X(dropped_ring_no_lane)                                                \
	X(queue_items) /* in memory now (gauge) */                             \
	X(batches_spooled)                                                     \
	X(spool_segments)      /* waiting in the spool now (gauge) */          \
	X(spool_bytes)         /* gauge */                                     \
	X(spool_dropped_items) /* oldest dropped, spool full */                \
	X(bytes_in)            /* JSON bytes before compression */             \
	X(bytes_compressed)    /* after */                                     \
	X(compress_ns)         /* time spent compressing */                    \
	X(exports_ok)          /* requests answered 2xx */                     \
	X(exports_failed)      /* rounds that ended without delivery */        \
	X(exports_retried)     /* attempts after the first */                  \
	X(http_requests)                                                       \
	X(items_exported)                                                      \
	X(bytes_sent)         /* request bodies, as sent */                    \
	X(dead_lettered)      /* items the server rejected */                  \
	X(dead_letter_errors) /* dead-letter writes that failed */             \
	X(spool_heals)        /* spool directory recreated */                  \
	X(spool_lost_items)   /* went with a removed spool directory */        \
	X(spool_quarantined)  /* damaged segments moved aside */               \
	X(spans_rejected)     /* otlp partialSuccess.rejectedSpans */

struct sr_stats {
#define X(name) _Atomic uint64_t name;
	SR_STATS_FIELDS(X)
#undef X
};

extern struct sr_stats sr_stats;

/* The counters each destination also keeps for itself (the totals above
 * sum them), written as "exporters":{"<name>":{…}} in the stats file. */
#define SR_DEST_STATS_FIELDS(X) \
	X(exports_ok)           \
	X(exports_failed)       \
	X(exports_retried)      \
	X(http_requests)        \
	X(items_exported)       \
	X(bytes_sent)           \
	X(dead_lettered)        \
	X(dead_letter_errors)   \
	X(spans_rejected)       \
	X(spool_behind) /* segments it has not delivered (gauge) */

struct sr_dest_stats {
	char name[16];
#define X(name) _Atomic uint64_t name;
	SR_DEST_STATS_FIELDS(X)
#undef X
};

extern struct sr_dest_stats sr_dest_stats[SR_EXPORTERS_MAX];

/* Registers destination `name` before the threads start: its index for
 * SR_DSTAT_*, or -ENOSPC. Not thread-safe. */
int sr_stats_dest(const char *name);

/* Adds to destination d's counter and to the total. */
#define SR_DSTAT_ADD(d, name, v)                                  \
	do {                                                      \
		SR_STAT_ADD(name, v);                             \
		atomic_fetch_add_explicit(&sr_dest_stats[d].name, \
					  (uint64_t)(v),          \
					  memory_order_relaxed);  \
	} while (0)
#define SR_DSTAT_SET(d, name, v)                                     \
	atomic_store_explicit(&sr_dest_stats[d].name, (uint64_t)(v), \
			      memory_order_relaxed)

#define SR_STAT_ADD(name, v)                                     \
	atomic_fetch_add_explicit(&sr_stats.name, (uint64_t)(v), \
				  memory_order_relaxed)
#define SR_STAT_SET(name, v)                                 \
	atomic_store_explicit(&sr_stats.name, (uint64_t)(v), \
			      memory_order_relaxed)
#define SR_STAT_GET(name) \
	atomic_load_explicit(&sr_stats.name, memory_order_relaxed)

/* Writes every counter plus derived figures (compression ratio, MB/s,
 * pid, uptime) and each destination's counters to `path` via `path`.tmp
 * and rename. 0 or -errno. */
int sr_stats_write(const char *path);

#endif /* SR_SD_STATS_H */
