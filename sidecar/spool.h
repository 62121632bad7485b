/* SPDX-License-Identifier: MIT */
/*
 * spool.h - the durable queue: one segment file per hand-off (a flush of
 * the in-memory queue) in the spool directory, "seg-<16 hex seq>-<items>
 * .spool", holding its batches (at most max_batch_size items each) as JSON
 * lines, each batch compressed on its own (LZ4 frame, gzip or none). A
 * segment is written to a temporary file, fdatasync'ed (unless disabled),
 * renamed into place; sr_spool_sync() then fsyncs the directory, after
 * which the records it came from may be committed in their rings. The
 * segment's header counts the batches delivered, so a restart resends
 * only what was not delivered; the file is removed once all are. Bounded
 * in bytes: beyond the bound the oldest segments are dropped and counted.
 * One file per flush, not per batch: file creation and removal cost more
 * kernel time than everything else together.
 *
 * Thread-safe: the drain thread puts, the export thread reads and removes.
 */
#ifndef SR_SD_SPOOL_H
#define SR_SD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct sr_spool;
struct sr_segment;

/* One batch to spool: malloc'd JSON lines (`len` bytes, each line ending
 * '\n', then a NUL). */
struct sr_spool_batch {
	char *lines;
	size_t len;
	uint32_t items;
};

/* Bytes of text of segments not yet taken by the exporter kept in memory,
 * so that it need not read and decompress what was just written. */
#define SR_SPOOL_MEM_MAX (16u * 1024u * 1024u)

/*
 * Opens (creating, mode 0700) the spool directory, takes its lock
 * (".lock", flock), removes stale temporaries and lists the segments left
 * by an earlier run. NULL + errno, with the reason in `why`:
 * EWOULDBLOCK when another spanringd uses it.
 */
struct sr_spool *sr_spool_open(const char *dir, enum sr_codec codec,
			       uint64_t max_bytes, bool sync, char *why,
			       size_t whylen);
void sr_spool_free(struct sr_spool *s);

/* Directory fd (for the open-span files kept beside the segments). */
int sr_spool_dirfd(const struct sr_spool *s);

/* Writes one segment holding `n` batches, each compressed on its own.
 * 0 or -errno; drops the oldest segments beyond the bound. Takes `b`
 * (calloc'd) and its lines in every case: they are kept for the exporter
 * while SR_SPOOL_MEM_MAX allows, else freed. */
int sr_spool_put(struct sr_spool *s, struct sr_spool_batch *b, size_t n)
    __attribute__((warn_unused_result));

/* Makes the segments put so far durable (fsync of the directory). */
int sr_spool_sync(struct sr_spool *s) __attribute__((warn_unused_result));

/* The oldest segment not yet removed: true and *seq, or false if empty. */
bool sr_spool_oldest(struct sr_spool *s, uint64_t *seq);

/* Loads segment `seq`: 0 and *out, -ENOENT (dropped meanwhile), -EBADMSG
 * (corrupt: the caller removes it), -ENOMEM. Free with
 * sr_segment_free(). */
int sr_spool_load(struct sr_spool *s, uint64_t seq, struct sr_segment **out)
    __attribute__((warn_unused_result));
void sr_segment_free(struct sr_segment *g);

/* Batches in the segment, and how many were delivered already. */
uint32_t sr_segment_batches(const struct sr_segment *g);
uint32_t sr_segment_done(const struct sr_segment *g);

/* Batch i: malloc'd NUL-terminated JSON lines, the text kept in memory
 * (handed over once) or else decompressed from the file. 0, -EBADMSG,
 * -ENOMEM. */
int sr_segment_batch(struct sr_segment *g, uint32_t i, char **lines,
		     size_t *len, uint32_t *items)
    __attribute__((warn_unused_result));

/* Records that batches [0, done) are delivered (in the file, without
 * fsync: a crash may send them again, a clean restart does not); the
 * segment is removed once all are. 0 or -errno. */
int sr_spool_mark(struct sr_spool *s, struct sr_segment *g, uint32_t done);

/* Removes segment `seq` (given up). 0 or -errno. */
int sr_spool_remove(struct sr_spool *s, uint64_t seq);

/* Segments waiting. */
size_t sr_spool_count(struct sr_spool *s);

#endif /* SR_SD_SPOOL_H */
