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
 * kernel time than everything else together. The bytes of segments and
 * cursors are defined in spool_layout.h.
 *
 * Several destinations read the same segments, each at its own pace: each
 * has a cursor (segment, batches delivered) in "cursor-<name>" beside the
 * segments, written in place without fsync after every batch like the
 * header's counter, so a restart resumes each where it was (a crash may
 * send its last batch again). A segment leaves the spool when every
 * destination is done with it; the header's counter holds the batches
 * every destination delivered. A destination added later starts at the
 * oldest segment, after the batches the others had all delivered.
 *
 * It heals: a directory removed under it is recreated on the next
 * hand-off (segments whose text is still in memory are written again, the
 * others are counted lost). A damaged segment gives up its intact batches
 * and is then moved to quarantine/ in the spool directory, never deleted.
 *
 * Thread-safe: the drain thread puts, each destination's export thread
 * reads, marks and frees its own loaded segments.
 */
#ifndef SR_SD_SPOOL_H
#define SR_SD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/codec.h"
#include "common/limits.h"

struct sr_spool;
struct sr_segment;

/* One batch to spool: malloc'd JSON lines (`len` bytes, each line ending
 * '\n', then a NUL). */
struct sr_spool_batch {
	char *lines;
	size_t len;
	uint32_t items;
};

/* How a spool is opened. */
struct sr_spool_opts {
	enum sr_codec codec; /* of the segments written */
	uint64_t max_bytes;  /* bound; 0: none */
	bool sync;           /* fdatasync segments, fsync the directory */
	/* destinations (1 to SR_EXPORTERS_MAX names of [a-z0-9], unique):
	 * destination d of the calls below is names[d] */
	const char *const *names;
	unsigned ndest;
};

/*
 * Opens (creating, mode 0700) the spool directory, takes its lock
 * (".lock", flock), removes stale temporaries, lists the segments left
 * by an earlier run and reads each destination's cursor. NULL + errno,
 * with the reason in `why`: EWOULDBLOCK when another spanringd uses it,
 * EINVAL for bad names.
 */
struct sr_spool *sr_spool_open(const char *dir, const struct sr_spool_opts *o,
			       char *why, size_t whylen);
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

/* The oldest segment destination `dest` is not done with: true and *seq,
 * or false when it has delivered everything. */
bool sr_spool_next(struct sr_spool *s, unsigned dest, uint64_t *seq);

/* Segments destination `dest` is not done with. */
size_t sr_spool_behind(struct sr_spool *s, unsigned dest);

/*
 * Loads segment `seq` for destination `dest`: 0 and *out, also for a
 * damaged file (its intact batches are indexed; sr_segment_damage() says
 * what is wrong), -ENOENT (dropped meanwhile, or its file is gone and its
 * text too: the caller calls sr_spool_lost()), -EBADMSG (unreadable),
 * -ENOMEM. sr_segment_done() is where this destination resumes. Free
 * with sr_segment_free() (the spool must outlive it).
 */
int sr_spool_load(struct sr_spool *s, unsigned dest, uint64_t seq,
		  struct sr_segment **out) __attribute__((warn_unused_result));

/* Lets go of a loaded segment (a heal may rewrite or forget it again);
 * NULL is a no-op. */
void sr_segment_free(struct sr_segment *g);

/* What is wrong with a loaded segment, or NULL when it is intact. A
 * batch that does not decompress marks it damaged too. */
const char *sr_segment_damage(const struct sr_segment *g);
uint64_t sr_segment_seq(const struct sr_segment *g);

/* What a segment image holds (sr_segment_index). */
struct sr_seg_index {
	uint32_t batches;   /* intact frames, in order */
	uint32_t done;      /* delivered counter; 0 when it cannot be trusted */
	size_t end;         /* offset after the last intact frame */
	const char *damage; /* NULL: intact */
};

/*
 * Indexes a segment image of len bytes (untrusted: a fuzz target covers
 * it): the frames from the start that are whole and name a known codec,
 * up to the header's batch count; off[] (may be NULL) gets the offsets of
 * the first `max` of them. Junk after the batches, a truncated file, a
 * delivered counter beyond the batches are damage (described, not
 * fatal). 0, or -EBADMSG when it is no segment at all (bad magic, short).
 */
int sr_segment_index(const uint8_t *buf, size_t len, size_t *off, size_t max,
		     struct sr_seg_index *ix);

/* Batches in the segment, and how many its destination delivered. */
uint32_t sr_segment_batches(const struct sr_segment *g);
uint32_t sr_segment_done(const struct sr_segment *g);

/* Batch i: NUL-terminated JSON lines owned by g, valid until the next
 * call or sr_segment_free(): the text kept in memory (shared by the
 * destinations, never copied) or else decompressed from the file. 0,
 * -EBADMSG, -ENOMEM. */
int sr_segment_batch(struct sr_segment *g, uint32_t i, const char **lines,
		     size_t *len, uint32_t *items)
	__attribute__((warn_unused_result));

/* Records that g's destination delivered batches [0, done) (its cursor,
 * and the header's counter when every destination has, written without
 * fsync: a crash may send them again, a clean restart does not); once
 * every destination is done with the segment it is removed, or moved to
 * quarantine/ when damaged (a batch that could not be read stays in
 * it). 0 or -errno. */
int sr_spool_mark(struct sr_spool *s, struct sr_segment *g, uint32_t done)
	__attribute__((warn_unused_result));

/* Forgets segment seq whose file and text are both gone (its directory
 * was removed): its items are counted lost (*items). 0 or -errno. */
int sr_spool_lost(struct sr_spool *s, uint64_t seq, uint32_t *items);

/* Checks that the directory is still there, recreating it when it was
 * removed (see above). 0 or -errno. */
int sr_spool_check(struct sr_spool *s);

/* Times the directory was recreated: the open-span files went with it
 * and must be written again. */
uint64_t sr_spool_heals(struct sr_spool *s);

/* Removes segment `seq` (given up). 0 or -errno. */
int sr_spool_remove(struct sr_spool *s, uint64_t seq);

/* Segments waiting, and the items in them. */
size_t sr_spool_count(struct sr_spool *s);
uint64_t sr_spool_items(struct sr_spool *s);

#endif /* SR_SD_SPOOL_H */
