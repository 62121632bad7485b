/* SPDX-License-Identifier: MIT */
/*
 * ring.h - the producer side of a spanring ring.
 *
 * A ring is a file of lanes (ring_layout.h). Each lane has one producer at
 * a time: a thread owns a lane for its lifetime when one is free, other
 * writers (more threads than lanes, a signal handler nested in a write)
 * take a shared lane for the length of one record with a try-lock that
 * never waits. Reserving, committing and discarding make no system call,
 * take no lock that can block, and allocate nothing.
 */
#ifndef SR_RING_H
#define SR_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "ring_layout.h"

/*
 * A mapped ring, producer side. Treat as opaque: the fields are here only
 * so the shim can place it in static storage instead of calling malloc.
 */
struct sr_ring {
	struct sr_ring_header *hdr; /* the mapping; NULL when closed */
	struct sr_lane_ctl *lanes;  /* lane control blocks in the mapping */
	uint64_t *lane_anchor_tsc;  /* the header's lane_anchor_tsc[] */
	uint8_t *data;              /* lane 0 data in the mapping */
	uint64_t map_size;          /* bytes mapped */
	uint32_t lane_count;        /* copies of header fields, trusted */
	uint32_t lane_size;
	uint32_t owned_lanes;      /* lanes a thread may own for life */
	uint32_t record_max;       /* bytes, header included */
	uint32_t spill_size;       /* data bytes of the spill lane */
	uint32_t spill_record_max; /* bytes, header included */
	uint8_t frozen;            /* 1: make no more system calls (lane
				       backing); set by an owner that must
				       not, e.g. under a seccomp filter */
	uint8_t clock_tsc;         /* 1: SR_CLOCK_TSC, lanes get anchors */
};

/* What sr_ring_create() writes into the header. */
struct sr_ring_params {
	uint32_t lanes;          /* lane count, SR_RING_MIN..MAX_LANES */
	uint32_t lane_size;      /* bytes, power of two, MIN..MAX_LANE_SIZE */
	uint32_t spill_size;     /* bytes of the spill lane, power of two,
				     MIN..MAX_SPILL_SIZE; 0: SR_RING_SPILL_SIZE */
	uint32_t pid, ppid, uid; /* owner identity */
	uint64_t start_ns;       /* CLOCK_REALTIME, ns */
	uint64_t pidns;          /* pid namespace inode, 0 if unknown */
	const char *exe;         /* executable path, may be NULL */
	const uint8_t *trace_id; /* 16 bytes or NULL */
	const uint8_t *span_id;  /* 12 bytes or NULL */
	uint32_t mode;           /* file mode, exactly (umask ignored);
				   * 0: 0600 */
	bool chgrp;              /* give the file group gid */
	uint32_t gid;
	bool clock_tsc; /* SR_CLOCK_TSC: records may hold TSC stamps
			   (sr_ring_reserve_tsc); an anchor is taken now */
};

/*
 * Per-writer state, kept by the caller (the shim keeps one per thread in
 * TLS). Zero-initialised means "no lane yet". Not shared between threads.
 */
struct sr_producer {
	uint32_t tid;    /* holder id written to lanes, nonzero */
	uint32_t lane;   /* owned lane index, valid when owns */
	uint8_t owns;    /* holds an owned lane */
	uint8_t busy;    /* inside reserve..commit on the owned lane */
	uint8_t no_lane; /* no owned lane was free: always use shared ones */
	uint8_t pad;
};

/* An open reservation, between sr_ring_reserve() and commit/discard. */
struct sr_resv {
	struct sr_lane_ctl *ctl; /* lane written */
	uint8_t *rec;            /* record start (header) in the mapping */
	uint64_t pos;            /* record position in the lane */
	uint32_t len;            /* record length, header included */
	uint8_t transient;       /* lane taken for this record only */
	uint8_t nested;          /* owned-lane busy flag must stay set */
};

/*
 * Creates ring file `name` in directory `dirfd` (O_EXCL, O_NOFOLLOW,
 * O_CLOEXEC, mode p->mode or 0600; group p->gid when p->chgrp: a ring a
 * sidecar of that group reads), sizes it (sparse), backs the header, the
 * lane controls and the first SR_RING_BACK_CHUNK of lane 0, which the
 * creating thread (tid p->pid) takes first, in one system call (no SIGBUS
 * when the filesystem is full: -ENOSPC instead),
 * maps it, takes the owner lock (flock LOCK_EX) and fills the header, magic
 * last. The descriptor is closed before returning: the shared mapping keeps
 * the open file description, and with it the lock, until the mapping goes
 * (munmap, exec, exit, kill). Lane data is backed later, a chunk at a time,
 * by the producers (see sr_ring_reserve). Fills `*r`. Returns 0, -EINVAL
 * for bad geometry, or the -errno of the failed call (the file is removed
 * then).
 */
int sr_ring_create(struct sr_ring *r, int dirfd, const char *name,
		   const struct sr_ring_params *p)
	__attribute__((warn_unused_result));

/* Unmaps the ring (a fork child drops its copy of the parent's ring this
 * way; the last mapping gone releases the owner lock). Does not remove the
 * file. Safe on a ring that is zeroed or already closed. */
void sr_ring_close(struct sr_ring *r);

/* Forgets the ring without a system call (the mapping stays): a fork child
 * that may not make system calls drops its parent's ring this way. */
void sr_ring_forget(struct sr_ring *r);

/* Largest record (header included) an ordinary lane accepts. */
uint32_t sr_ring_record_max(const struct sr_ring *r);

/* Largest record (header included) this ring accepts at all: bigger ones
 * than sr_ring_record_max() go to the spill lane. */
uint32_t sr_ring_record_big_max(const struct sr_ring *r);

/*
 * Reserves `len` bytes (header included, 8 <= len) for one record.
 * Returns a pointer to the payload (len - 8 bytes, 8-byte aligned) or NULL
 * when the record is dropped: no space (counted dropped_full; also when
 * the lane's memory cannot be backed: filesystem full, or `frozen`), too
 * large (dropped_oversize), or no lane free (dropped_no_lane). A record
 * larger than sr_ring_record_max() and at most sr_ring_record_big_max()
 * is written to the spill lane, taken for that record alone (busy: the
 * record is dropped as dropped_no_lane; full: dropped_full of the spill
 * lane). Ordinary
 * records leave SR_RING_LAST_RESERVE bytes of every lane free and backed
 * for sr_ring_reserve_last(). When a record reaches past the lane's backed
 * memory, the memory is backed first (MADV_POPULATE_WRITE, one system call
 * per chunk, chunks doubling from SR_RING_BACK_CHUNK; errno preserved):
 * no page is written before it is backed, so no SIGBUS. Every call that
 * returns NULL counts exactly one drop; every call that returns a pointer
 * must be followed by exactly one commit or discard by the same thread.
 * Async-signal-safe: a handler may reserve while the thread it interrupted
 * holds a reservation (it uses a shared lane). Thread-safe for distinct
 * producers.
 */
void *sr_ring_reserve(struct sr_ring *r, struct sr_producer *p, uint32_t len,
		      struct sr_resv *rv);

/* sr_ring_reserve() for a process's last record (its end): may use the
 * lane's reserve, so a full lane still takes it. `len` at most
 * SR_RING_LAST_RESERVE for the guarantee to hold. */
void *sr_ring_reserve_last(struct sr_ring *r, struct sr_producer *p,
			   uint32_t len, struct sr_resv *rv);

/*
 * sr_ring_reserve() for a record holding TSC stamps (SR_STAMP_TSC, on a
 * SR_CLOCK_TSC ring), the latest of them `tsc` (untagged): when the lane
 * it lands in had no anchor record for more than SR_ANCHOR_TICKS before
 * `tsc`, an anchor (sr_anchor_take(): no system call) is published into
 * the lane first, so a consumer finds one at most that old before every
 * stamp. The anchor is not counted as a record (`written`); when it finds
 * no room it is left out, and the record very likely too. On a ring
 * without clock_tsc it is sr_ring_reserve().
 */
void *sr_ring_reserve_tsc(struct sr_ring *r, struct sr_producer *p,
			  uint32_t len, struct sr_resv *rv, uint64_t tsc);

/* Publishes the reservation as a record of `type` with SR_RF_* `flags`:
 * the consumer sees all of it or none of it (store-release of head). */
void sr_ring_commit(struct sr_ring *r, struct sr_producer *p,
		    struct sr_resv *rv, uint16_t type, uint8_t flags);

/* Abandons the reservation; nothing becomes visible, nothing counted. */
void sr_ring_discard(struct sr_ring *r, struct sr_producer *p,
		     struct sr_resv *rv);

/* Gives back the producer's owned lane (thread exit). Idempotent. */
void sr_producer_release(struct sr_ring *r, struct sr_producer *p);

#endif /* SR_RING_H */
