/* SPDX-License-Identifier: MIT */
/*
 * reader.h - the consumer side of a ring: the sidecar and the dump tool.
 *
 * Every byte of the ring is hostile input: the header is copied and
 * checked once at open, positions are checked on every poll, records are
 * copied into private memory before they are checked, and a file
 * truncated under the reader turns into -EFAULT, not SIGBUS. Work and
 * memory per call are bounded (SR_READ_CHUNK per lane).
 *
 * Reading and consuming are separate: sr_reader_poll() advances a private
 * cursor; only sr_reader_commit() tells producers the space is free, so a
 * consumer commits after it has handed the records off durably.
 *
 * A reader is used by one thread at a time.
 */
#ifndef SR_READER_H
#define SR_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring_layout.h"

struct sr_reader;

#define SR_READER_RDONLY 0x1 /* never write the ring (dump tool) */

/* Snapshot of one lane, as read. */
struct sr_lane_info {
	uint64_t head, tail; /* positions, bytes */
	uint64_t written;    /* records published */
	uint64_t dropped_full, dropped_oversize, truncated;
	uint32_t holder; /* tid holding it, 0 free */
	uint32_t owned;
};

/* Snapshot of a ring's header and counters. Drop counters are clamped to
 * SR_LANE_DROPS_MAX per lane (the ring is untrusted). */
struct sr_ring_info {
	uint32_t lane_count, lane_size, record_max;
	uint32_t spill_size, spill_record_max; /* the spill lane */
	uint64_t file_size;
	uint32_t owner_pid, owner_ppid, owner_uid, owner_flags;
	uint64_t owner_start_ns, owner_pidns;
	uint8_t trace_id[16], proc_span_id[12];
	char owner_exe[256];       /* NUL-terminated (forced) */
	uint64_t written, dropped; /* summed over lanes (+ no-lane drops) */
	uint64_t dropped_full, dropped_oversize, dropped_no_lane, truncated;
	uint64_t unread_bytes;       /* sum of head - tail: consumer lag */
	double max_fill;             /* fullest lane, 0..1 */
	struct sr_lane_info lanes[]; /* lane_count entries, then the spill
					lane's; see info_size */
};

/* One record as delivered by sr_reader_poll(). */
struct sr_record {
	uint16_t type; /* SR_REC_* (not PAD) */
	uint8_t flags; /* SR_RF_* */
	uint32_t lane;
	uint64_t pos;           /* position in its lane */
	const uint8_t *payload; /* private copy, valid during the callback */
	uint32_t len;           /* payload bytes (record length - 8) */
};

/* Returns 0 to go on, nonzero to stop before consuming this record (it is
 * delivered again by the next poll). */
typedef int (*sr_record_fn)(void *ctx, const struct sr_record *rec);

/*
 * Opens ring `name` in `dirfd` (or a path when dirfd is AT_FDCWD) and
 * validates its header. Returns 0 and *out, or -errno with a one-line
 * human reason in `why` (at most whylen bytes):
 *   -ENOENT etc.  the open/stat failed;
 *   -EISDIR, -EINVAL  not a regular file;
 *   -EAGAIN  header not complete yet (magic still 0 in a young file);
 *   -EBADMSG  not a ring, or a header field out of range (why names it);
 *   -EPROTONOSUPPORT  another layout version;
 *   -ERANGE  truncated: smaller than the header says;
 *   -EFAULT  shrank while being read.
 */
int sr_reader_open(int dirfd, const char *name, int flags,
		   struct sr_reader **out, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Unmaps and closes; NULL is a no-op. Does not commit. */
void sr_reader_free(struct sr_reader *r);

/* Bytes needed for a struct sr_ring_info of this reader's ring. */
size_t sr_reader_info_size(const struct sr_reader *r);

/* Fills *info (sr_reader_info_size() bytes). 0 or -EFAULT. */
int sr_reader_info(struct sr_reader *r, struct sr_ring_info *info)
	__attribute__((warn_unused_result));

/* True while the owner process holds its lock (alive in any pid
 * namespace that shares the file). Never disturbs the owner. */
bool sr_reader_owner_alive(struct sr_reader *r);

/*
 * Reads up to max_bytes of committed records, lanes in rotation, calling
 * fn for each. Returns the number of records delivered, or -EFAULT (the
 * file shrank: the reader is dead, free it). A lane whose positions or
 * records fail a check is skipped up to its head; the loss is counted in
 * sr_reader_faults() and described by sr_reader_fault().
 */
int sr_reader_poll(struct sr_reader *r, size_t max_bytes, sr_record_fn fn,
		   void *ctx);

/* Publishes the read cursor: producers may reuse everything read so far.
 * 0, -EPERM on a read-only reader, -EFAULT. */
int sr_reader_commit(struct sr_reader *r) __attribute__((warn_unused_result));

/* Forgets what was read but not committed; the next poll starts at the
 * committed position again. */
void sr_reader_rewind(struct sr_reader *r);

/* True when every lane's cursor has reached its head (as last seen). */
bool sr_reader_drained(const struct sr_reader *r);

/* Integrity faults seen so far, and the last one described, e.g.
 * "lane 3: record at 4096: length 70000 exceeds record_max 16384". */
uint64_t sr_reader_faults(const struct sr_reader *r);
uint64_t sr_reader_lost_bytes(const struct sr_reader *r);
const char *sr_reader_fault(const struct sr_reader *r);

/*
 * The ring's clock (SR_CLOCK_*), and the stamps clamped so far. Records
 * reach the callback of sr_reader_poll() with CLOCK_REALTIME ns in every
 * time field: in a SR_CLOCK_TSC ring the reader keeps each lane's anchor
 * records (it does not deliver them) and converts the stamps tagged
 * SR_STAMP_TSC from them, in its private copy. A stamp no honest writer
 * makes is clamped and counted: before the ring's creation anchor, more
 * than SR_STAMP_AHEAD_MAX_TICKS after its lane's latest anchor; a
 * malformed anchor is ignored and counted. A realtime ring (every version
 * 2 ring) is read as it is. See
 * common/README.md, "Clocks".
 */
uint32_t sr_reader_clock(const struct sr_reader *r);
uint64_t sr_reader_clamped(const struct sr_reader *r);

/* Checks every lane's positions and walks every unread record without
 * consuming. Returns 0 if intact, or the number of faults found; each is
 * reported through `report` (may be NULL). -EFAULT if the file shrank. */
int sr_reader_check(struct sr_reader *r,
		    void (*report)(void *ctx, const char *fault), void *ctx);

#endif /* SR_READER_H */
