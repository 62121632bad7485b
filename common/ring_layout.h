/* SPDX-License-Identifier: MIT */
/*
 * ring_layout.h - the bytes of a ring file, shared by every process that
 * maps it. Fixed-width types only, little-endian (x86-64/aarch64), offsets
 * never pointers. Any change here, or to the record payloads of
 * record_layout.h, bumps SR_RING_VERSION.
 *
 *   0                 lanes_offset                            data_offset
 *   +--------+----------+-----------+-----+-----------+ - - +--------------+-----+------------+
 *   | header | lane     | lane ctl 0| ... | spill ctl | pad | lane 0 data  | ... | spill data |
 *   |        | anchors  |           |     |           |     |              |     |            |
 *   +--------+----------+-----------+-----+-----------+ - - +--------------+-----+------------+
 *
 * lane_count ordinary lanes of lane_size bytes, then the spill lane (index
 * lane_count) of spill_size bytes: its control block follows the others,
 * its data follows theirs. The header's fields (struct sr_ring_header)
 * are followed by one uint64_t per lane and the spill lane
 * (lane_anchor_tsc, the writers' bookkeeping), then, cache-line aligned,
 * the lane controls: with up to 26 lanes all of it is the first page,
 * which a small process then shares with nothing but lane 0's first page
 * (version 4). Versions 2 and 3 had the header alone fill the first page
 * (lanes_offset 4096; the lane anchors at offset 416 of it).
 *
 * See common/README.md for the protocol.
 */
#ifndef SR_RING_LAYOUT_H
#define SR_RING_LAYOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define SR_RING_MAGIC 0x31474e4952525053ull /* "SPRRING1" little-endian */
#define SR_RING_VERSION 4u
/* Oldest layout this build still reads: version 3 is version 4 with the
 * header alone in the first page (SR_RING_V3_HEADER_SIZE), version 2 is
 * version 3 without the clock fields (zero there: a CLOCK_REALTIME
 * ring). */
#define SR_RING_VERSION_MIN 2u
/* The first page of a ring, which holds its header in every version: a
 * file shorter than this is no ring. */
#define SR_RING_PAGE 4096u
/* header_size and lanes_offset of versions 2 and 3 */
#define SR_RING_V3_HEADER_SIZE 4096u
#define SR_CACHELINE 64u
#define SR_RECORD_ALIGN 8u

/* Clocks of a ring's stamps (header `clock`). */
#define SR_CLOCK_REALTIME 0u /* every stamp is CLOCK_REALTIME ns */
/* stamps tagged SR_STAMP_TSC (clock.h) are TSC ticks, converted from
 * anchors (common/README.md, "Clocks") */
#define SR_CLOCK_TSC 1u

/* Owner flags. */
#define SR_OWNER_EXITED 0x1u /* owner ran its exit path (span closed) */

struct sr_ring_header {
	uint64_t magic;       /* SR_RING_MAGIC, stored last (release) */
	uint32_t version;     /* SR_RING_VERSION */
	uint32_t header_size; /* = lanes_offset (sr_ring_lanes_offset) */
	uint32_t lane_count;  /* lanes, SR_RING_MIN_LANES..SR_RING_MAX_LANES */
	uint32_t lane_size;   /* data bytes per lane, power of two */
	uint32_t lane_ctl_size; /* sizeof(struct sr_lane_ctl) */
	uint32_t record_max;    /* largest record accepted, bytes */
	uint64_t lanes_offset;  /* file offset of lane control blocks */
	uint64_t data_offset;   /* file offset of lane 0 data */
	uint64_t file_size;     /* bytes; the file is exactly this long */
	/* owner identity: who created the ring */
	uint32_t owner_pid; /* in the owner's pid namespace */
	uint32_t owner_ppid;
	uint32_t owner_uid;
	uint32_t owner_flags;    /* SR_OWNER_* (informational) */
	uint64_t owner_start_ns; /* CLOCK_REALTIME at ring creation, ns */
	uint64_t owner_pidns; /* inode of the owner's pid namespace, 0 unknown */
	uint8_t trace_id[16];     /* trace of the owner's process span */
	uint8_t proc_span_id[12]; /* the owner's process span */
	uint8_t reserved0[4];
	char owner_exe[256]; /* executable path, NUL-terminated */
	/* ring-wide drop counters (rare paths, atomic add) */
	_Atomic uint64_t dropped_no_lane; /* every lane was busy */
	uint32_t spill_size; /* data bytes of the spill lane, power of two */
	uint32_t spill_record_max; /* largest record in it, bytes */
	/* version 3: the clock */
	uint32_t clock; /* SR_CLOCK_*; 0 in version 2 rings */
	uint32_t reserved2;
	uint64_t anchor_tsc; /* SR_CLOCK_TSC: an anchor taken at creation, */
	uint64_t anchor_ns;  /* before any stamp: TSC ticks, realtime ns */
	/* followed by uint64_t lane_anchor_tsc[lane_count + 1]: per lane
	 * (and the spill lane, last), the TSC of the latest anchor record
	 * written into it; the writers' own bookkeeping, which no consumer
	 * reads (they take anchors from the records) */
};

/*
 * One lane: a single-producer byte ring. The producer's line is written
 * only by the thread holding the lane; the consumer's line only by the
 * consumer. Positions are free-running byte counts, masked by lane_size-1.
 */
struct sr_lane_ctl {
	/* producer cache line */
	_Atomic uint64_t head;             /* bytes published (commit point) */
	_Atomic uint64_t written;          /* records published */
	_Atomic uint64_t dropped_full;     /* records refused: no space */
	_Atomic uint64_t dropped_oversize; /* records refused: > record_max */
	_Atomic uint64_t truncated;        /* records published cut short */
	_Atomic uint32_t holder;           /* tid holding the lane, 0 = free */
	uint32_t owned;                    /* 1: held for a thread's lifetime */
	uint64_t tail_cache;               /* producer's last view of tail */
	uint64_t backed;                   /* data bytes from the lane's start
					     known to have memory behind them
					     (holder only; see ring.c) */
	/* consumer cache line */
	_Atomic uint64_t tail;    /* bytes released by the consumer */
	uint64_t tail_anchor_tsc; /* version 3, SR_CLOCK_TSC: the latest */
	uint64_t tail_anchor_ns;  /* anchor below tail, kept by the consumer
				     for the next one (0: none) */
	uint8_t reserved3[SR_CACHELINE - 24];
};

/* Record header: every record starts 8-byte aligned with this. */
struct sr_rec_hdr {
	uint32_t len;  /* bytes including this header, not rounded */
	uint16_t type; /* SR_REC_* (record.h), SR_REC_PAD */
	uint8_t flags; /* SR_RF_* */
	uint8_t check; /* sr_rec_check(len, type, flags) */
};

#define SR_REC_PAD 0xffffu   /* filler to the lane's end; no payload */
#define SR_RF_TRUNCATED 0x1u /* a string in the payload was cut */
/* SR_CLOCK_TSC rings: an anchor (struct sr_anchor_rec) for the records
 * after it in its lane; the ring's, like a pad: not counted in `written`,
 * not delivered by readers */
#define SR_REC_ANCHOR 0xfffeu

static inline uint8_t sr_rec_check(uint32_t len, uint16_t type, uint8_t flags)
{
	uint32_t x = len * 0x9e3779b1u ^ (uint32_t)type * 0x85ebca6bu ^ flags;
	return (uint8_t)(x ^ x >> 8 ^ x >> 16 ^ x >> 24 ^ 0x5a);
}

/* Payload of SR_REC_ANCHOR: a TSC reading and CLOCK_REALTIME ns read
 * together (clock.h, struct sr_anchor). */
struct sr_anchor_rec {
	uint64_t tsc;
	uint64_t ns;
};

/* The geometry, computed in one place for creator, readers and tools. */

/* true if `lanes` lanes of `lane_size` bytes is a ring this build makes and
 * reads: counts and sizes in their ranges, the size a power of two. */
static inline bool sr_ring_geometry_ok(uint32_t lanes, uint32_t lane_size)
{
	return lanes >= SR_RING_MIN_LANES && lanes <= SR_RING_MAX_LANES &&
	       lane_size >= SR_RING_MIN_LANE_SIZE &&
	       lane_size <= SR_RING_MAX_LANE_SIZE &&
	       (lane_size & (lane_size - 1)) == 0;
}

/* true if a spill lane of this size is one this build makes and reads. */
static inline bool sr_ring_spill_ok(uint32_t spill_size)
{
	return spill_size >= SR_RING_MIN_SPILL_SIZE &&
	       spill_size <= SR_RING_MAX_SPILL_SIZE &&
	       (spill_size & (spill_size - 1)) == 0;
}

/* Largest record of an ordinary lane, and of the spill lane. */
static inline uint32_t sr_ring_lane_record_max(uint32_t lane_size)
{
	return lane_size / 4 < SR_RECORD_MAX ? lane_size / 4 : SR_RECORD_MAX;
}

static inline uint32_t sr_ring_spill_record_max(uint32_t spill_size)
{
	return spill_size / 2;
}

/* File offset of the lane control blocks in a ring of this version:
 * after the header's fields and lane anchors, cache-line aligned. */
static inline uint64_t sr_ring_lanes_offset_v(uint32_t version, uint32_t lanes)
{
	uint64_t end = sizeof(struct sr_ring_header) +
		       (uint64_t)(lanes + 1) * sizeof(uint64_t);

	if (version < 4)
		return SR_RING_V3_HEADER_SIZE;
	return (end + SR_CACHELINE - 1) & ~(uint64_t)(SR_CACHELINE - 1);
}

/* File offset of lane 0's data: header and the controls of the lanes and
 * of the spill lane, page aligned. */
static inline uint64_t sr_ring_data_offset_v(uint32_t version, uint32_t lanes)
{
	uint64_t ctl = sr_ring_lanes_offset_v(version, lanes) +
		       (uint64_t)(lanes + 1) * sizeof(struct sr_lane_ctl);

	return (ctl + SR_RING_PAGE - 1) & ~(uint64_t)(SR_RING_PAGE - 1);
}

/* Bytes of a ring file of this version and geometry. */
static inline uint64_t sr_ring_file_size_v(uint32_t version, uint32_t lanes,
					   uint32_t lane_size,
					   uint32_t spill_size)
{
	return sr_ring_data_offset_v(version, lanes) +
	       (uint64_t)lanes * lane_size + spill_size;
}

/* The same for the layout this build writes (a ring's name states its
 * file size too). */
static inline uint64_t sr_ring_lanes_offset(uint32_t lanes)
{
	return sr_ring_lanes_offset_v(SR_RING_VERSION, lanes);
}

static inline uint64_t sr_ring_data_offset(uint32_t lanes)
{
	return sr_ring_data_offset_v(SR_RING_VERSION, lanes);
}

static inline uint64_t sr_ring_file_size(uint32_t lanes, uint32_t lane_size,
					 uint32_t spill_size)
{
	return sr_ring_file_size_v(SR_RING_VERSION, lanes, lane_size,
				   spill_size);
}

_Static_assert(sizeof(struct sr_ring_header) == 416,
	       "ring header fields, before the lane anchors");
_Static_assert(offsetof(struct sr_ring_header, owner_exe) == 120,
	       "owner_exe offset");
_Static_assert(offsetof(struct sr_ring_header, dropped_no_lane) == 376,
	       "dropped_no_lane offset");
_Static_assert(offsetof(struct sr_ring_header, spill_size) == 384,
	       "spill_size offset");
_Static_assert(offsetof(struct sr_ring_header, clock) == 392, "clock offset");
_Static_assert(sizeof(struct sr_anchor_rec) == 16, "anchor payload");
_Static_assert(sizeof(struct sr_lane_ctl) == 2 * SR_CACHELINE,
	       "lane control is two cache lines");
_Static_assert(offsetof(struct sr_lane_ctl, tail) == SR_CACHELINE,
	       "consumer position on its own cache line");
_Static_assert(sizeof(struct sr_rec_hdr) == 8, "record header is 8 bytes");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "lock-free 64-bit atomics");

#endif /* SR_RING_LAYOUT_H */
