/* SPDX-License-Identifier: MIT */
/*
 * ring.c - ring creation and the producer's reserve/commit path.
 *
 * Protocol (see common/README.md): a lane has one writer at a time. The
 * writer copies a whole record past `head`, then publishes it with a
 * store-release of `head`; the consumer load-acquires `head` and reads
 * only below it. A writer that dies mid-record never advances `head`, so
 * the consumer neither waits for it nor sees half a record.
 */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "limits.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void fill_header(struct sr_ring *r, const struct sr_ring_params *p)
{
	struct sr_ring_header *h = r->hdr;

	h->version = SR_RING_VERSION;
	h->header_size = (uint32_t)sr_ring_lanes_offset(r->lane_count);
	h->lane_count = r->lane_count;
	h->lane_size = r->lane_size;
	h->lane_ctl_size = sizeof(struct sr_lane_ctl);
	h->record_max = r->record_max;
	h->spill_size = r->spill_size;
	h->spill_record_max = r->spill_record_max;
	h->lanes_offset = h->header_size;
	h->data_offset = (uint64_t)((uint8_t *)r->data - (uint8_t *)h);
	h->file_size = r->map_size;
	h->owner_pid = p->pid;
	h->owner_ppid = p->ppid;
	h->owner_uid = p->uid;
	h->owner_start_ns = p->start_ns;
	h->owner_pidns = p->pidns;
	if (p->clock_tsc) {
		struct sr_anchor a;

		sr_anchor_take(&a);
		h->clock = SR_CLOCK_TSC;
		h->anchor_tsc = a.tsc;
		h->anchor_ns = a.ns;
	}
	if (p->trace_id)
		memcpy(h->trace_id, p->trace_id, sizeof(h->trace_id));
	if (p->span_id)
		memcpy(h->proc_span_id, p->span_id, sizeof(h->proc_span_id));
	if (p->exe) {
		size_t n = strnlen(p->exe, sizeof(h->owner_exe) - 1);
		memcpy(h->owner_exe, p->exe, n);
	}
	/* Pairs with the load-acquire of magic in reader.c:read_header: a
	 * reader that sees the magic sees a complete header. */
	atomic_store_explicit((_Atomic uint64_t *)&h->magic, SR_RING_MAGIC,
			      memory_order_release);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Backs bytes [off, off + len) of the file so that writing them through
 * the mapping cannot fault for want of space: fallocate, or writing zeros
 * where the filesystem cannot fallocate. 0 or -errno (-ENOSPC). */
static int back_range(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zero[4096];

	if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(zero) ? (size_t)(len - done)
						     : sizeof(zero);
		ssize_t w = pwrite(fd, zero, n, (off_t)(off + done));

		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		done += (uint64_t)w;
	}
	return 0;
}

/* Backs what the owner writes at once: the header, the lane controls and
 * the first chunk of lane 0, which the creating thread takes (see
 * claim_owned_lane), contiguous, with one fallocate (-ENOSPC when the
 * filesystem is full; on tmpfs cheaper than MADV_POPULATE_WRITE, whose
 * page-by-page walk costs more than the three faults it spares), or
 * MADV_POPULATE_WRITE where fallocate is refused (a filesystem without it,
 * a seccomp filter). The lanes are backed later with MADV_POPULATE_WRITE
 * (lane_back): a kernel without it (EINVAL, also for a zero-length call:
 * the advice is checked first, no page is touched) gets every lane
 * allocated now instead. */
static int back_initial(struct sr_ring *r, int fd, uint64_t data_off)
{
	uint64_t first = data_off + SR_RING_BACK_CHUNK;
	int rc;

	if (fallocate(fd, 0, 0, (off_t)first) == 0) {
		if (madvise(r->hdr, 0, MADV_POPULATE_WRITE) == 0)
			goto backed;
	} else if (errno == ENOSPC) {
		return -ENOSPC;
	} else if (madvise(r->hdr, first, MADV_POPULATE_WRITE) == 0) {
		goto backed;
	} else if (errno == EFAULT) {
		return -ENOSPC;
	}
	if (errno != EINVAL)
		return -errno;
	rc = back_range(fd, 0, r->map_size);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < r->lane_count; i++)
		r->lanes[i].backed = r->lane_size;
	r->lanes[r->lane_count].backed = r->spill_size;
	return 0;
backed:
	r->lanes[0].backed = SR_RING_BACK_CHUNK;
	return 0;
}

int sr_ring_create(struct sr_ring *r, int dirfd, const char *name,
		   const struct sr_ring_params *p)
{
	uint32_t spill = p->spill_size ? p->spill_size : SR_RING_SPILL_SIZE;
	uint64_t data_off, size;
	void *map;
	int fd, err;

	if (!sr_ring_geometry_ok(p->lanes, p->lane_size) ||
	    !sr_ring_spill_ok(spill))
		return -EINVAL;
	data_off = sr_ring_data_offset(p->lanes);
	size = sr_ring_file_size(p->lanes, p->lane_size, spill);
	if (size > SR_RING_MAX_FILE_SIZE)
		return -EINVAL;
	fd = openat(dirfd, name,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* group access is given by the descriptor, after O_EXCL made the
	 * file ours: the umask would take the group's write bit */
	if (p->chgrp && fchown(fd, (uid_t)-1, (gid_t)p->gid) < 0)
		goto err_unlink;
	if (p->mode && p->mode != 0600 &&
	    fchmod(fd, (mode_t)(p->mode & 0660)) < 0)
		goto err_unlink;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || ftruncate(fd, (off_t)size) < 0)
		goto err_unlink;
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto err_unlink;
	memset(r, 0, sizeof(*r));
	r->hdr = map;
	/* the mapping is page-aligned, the lane controls cache-line aligned
	 * in it, the lane anchors follow the header's fields (a multiple of
	 * 8 bytes): the casts through void say so */
	r->lanes = (struct sr_lane_ctl *)(void *)((uint8_t *)map +
						  sr_ring_lanes_offset(
							  p->lanes));
	r->lane_anchor_tsc = (uint64_t *)(void *)(r->hdr + 1);
	r->data = (uint8_t *)map + data_off;
	r->map_size = size;
	r->lane_count = p->lanes;
	r->lane_size = p->lane_size;
	r->owned_lanes = p->lanes > SR_RING_SHARED_LANES
				 ? p->lanes - SR_RING_SHARED_LANES
				 : 1;
	r->record_max = sr_ring_lane_record_max(p->lane_size);
	r->spill_size = spill;
	r->spill_record_max = sr_ring_spill_record_max(spill);
	r->clock_tsc = p->clock_tsc;
	err = back_initial(r, fd, data_off);
	if (err < 0)
		goto err_unmap;
	/* The mapping holds the open file description, and the lock with
	 * it: the owner keeps no descriptor a program could see or close. */
	close(fd);
	fill_header(r, p);
	return 0;

err_unmap:
	munmap(map, size);
	memset(r, 0, sizeof(*r));
	errno = -err;
err_unlink:
	err = errno;
	unlinkat(dirfd, name, 0);
	close(fd);
	return -err;
}

void sr_ring_close(struct sr_ring *r)
{
	if (!r || !r->hdr)
		return;
	munmap(r->hdr, r->map_size);
	memset(r, 0, sizeof(*r));
}

void sr_ring_forget(struct sr_ring *r)
{
	if (r)
		memset(r, 0, sizeof(*r));
}

/* --- producer path: no syscall, no lock that blocks, no malloc --------- */

static struct sr_lane_ctl *lane_try_take(struct sr_ring *r, uint32_t i,
					 uint32_t holder)
{
	struct sr_lane_ctl *c = &r->lanes[i];
	uint32_t free_v = 0;

	/* The CAS's acquire pairs with the store-release of holder in
	 * ring.c:lane_put: the new holder sees everything the previous one
	 * wrote (head, counters). */
	if (atomic_load_explicit(&c->holder, memory_order_relaxed) != 0)
		return NULL;
	if (!atomic_compare_exchange_strong_explicit(&c->holder, &free_v,
						     holder,
						     memory_order_acquire,
						     memory_order_relaxed))
		return NULL;
	return c;
}

static void lane_put(struct sr_lane_ctl *c)
{
	/* Pairs with the acquire CAS of holder in ring.c:lane_try_take. */
	atomic_store_explicit(&c->holder, 0, memory_order_release);
}

/* Tries to take a lane for the producer's lifetime (first write). The
 * ring's creator (its main thread: tid = owner pid) starts at lane 0,
 * whose first chunk sr_ring_create() backed with the header; others
 * spread by tid. */
static void claim_owned_lane(struct sr_ring *r, struct sr_producer *p)
{
	uint32_t n = r->owned_lanes;
	uint32_t start = p->tid == r->hdr->owner_pid ? 0 : p->tid % n;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (start + k) % n;
		struct sr_lane_ctl *c = lane_try_take(r, i, p->tid);

		if (c) {
			c->owned = 1;
			p->lane = i;
			p->owns = 1;
			return;
		}
	}
	p->no_lane = 1;
}

/* Takes any free lane for one record, shared lanes first. */
static struct sr_lane_ctl *take_transient(struct sr_ring *r, uint32_t holder)
{
	uint32_t n = r->lane_count, start = r->owned_lanes;

	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = (start + k) % n;
		struct sr_lane_ctl *c = lane_try_take(r, i, holder);

		if (c)
			return c;
	}
	return NULL;
}

static void count(_Atomic uint64_t *ctr)
{
	/* Only the lane holder writes its counters: no locked add needed. */
	atomic_store_explicit(ctr,
			      atomic_load_explicit(ctr, memory_order_relaxed) +
				      1,
			      memory_order_relaxed);
}

/* The spill lane's data follows the last lane's: one formula for all. */
static uint8_t *lane_data(struct sr_ring *r, struct sr_lane_ctl *c)
{
	return r->data + (uint64_t)(c - r->lanes) * r->lane_size;
}

static uint32_t lane_bytes(const struct sr_ring *r, const struct sr_lane_ctl *c)
{
	return c == &r->lanes[r->lane_count] ? r->spill_size : r->lane_size;
}

/* Backs the lane's first `need` bytes (see sr_ring_reserve): the rare
 * path of a producer, one system call per chunk, errno preserved. */
static __attribute__((noinline, cold)) bool
lane_back(struct sr_ring *r, struct sr_lane_ctl *c, uint64_t need)
{
	uint64_t have = c->backed, size = lane_bytes(r, c);
	uint64_t want = have ? have * 2 : SR_RING_BACK_CHUNK;
	int saved = errno, rc;

	if (r->frozen)
		return false;
	while (want < need)
		want *= 2;
	if (want > size)
		want = size;
	rc = madvise(lane_data(r, c) + have, want - have, MADV_POPULATE_WRITE);
	errno = saved;
	if (rc < 0)
		return false;
	c->backed = want;
	return true;
}

/* Finds room for `need` bytes at head, writing a pad record when the
 * record would cross the lane's end. Ordinary records leave `keep` bytes
 * free and backed for the last record. Returns the record position or
 * UINT64_MAX when the lane is full (or cannot be backed). */
static uint64_t lane_room(struct sr_ring *r, struct sr_lane_ctl *c,
			  uint32_t need, uint32_t keep)
{
	uint64_t size = lane_bytes(r, c);
	uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
	uint64_t off = head & (size - 1);
	uint64_t pad = size - off < need ? size - off : 0;
	uint64_t end = head + pad + need;

	if (end + keep - c->tail_cache > size) {
		/* Pairs with the store-release of tail in
		 * reader.c:sr_reader_commit: the consumer is done with the
		 * bytes it released. */
		c->tail_cache = atomic_load_explicit(&c->tail,
						     memory_order_acquire);
		if (end + keep - c->tail_cache > size)
			return UINT64_MAX;
	}
	/* Until a lane is backed whole it is in its first pass, where
	 * positions are offsets: back up to the record's end and the
	 * reserve (the whole lane when the record wraps). */
	if (c->backed < size) {
		uint64_t want = pad ? size : end + keep;

		if (want > size)
			want = size;
		if (want > c->backed && !lane_back(r, c, want))
			return UINT64_MAX;
	}
	if (pad) {
		/* records start at SR_RECORD_ALIGN boundaries of the lane */
		struct sr_rec_hdr *h =
			(struct sr_rec_hdr *)(void *)(lane_data(r, c) + off);

		h->len = (uint32_t)pad;
		h->type = SR_REC_PAD;
		h->flags = 0;
		h->check = sr_rec_check(h->len, h->type, 0);
	}
	return head + pad;
}

/* Places a record of `len` bytes in lane c, taken by the caller (rv->ctl
 * set). The payload, or NULL with the drop counted and the lane let go. */
static inline __attribute__((always_inline)) void *
place(struct sr_ring *r, struct sr_producer *p, struct sr_lane_ctl *c,
      uint32_t len, struct sr_resv *rv, uint32_t keep)
{
	uint32_t need = (uint32_t)align_up(len, SR_RECORD_ALIGN);
	uint64_t pos = lane_room(r, c, need, keep);

	if (pos == UINT64_MAX) {
		count(&c->dropped_full);
		sr_ring_discard(r, p, rv);
		return NULL;
	}
	rv->pos = pos;
	rv->len = len;
	rv->rec = lane_data(r, c) + (pos & (lane_bytes(r, c) - 1));
	return rv->rec + sizeof(struct sr_rec_hdr);
}

/* Publishes an anchor record into lane c, held by the caller, ahead of
 * the record about to be placed (see sr_ring_reserve_tsc). */
static __attribute__((noinline, cold)) void
lane_anchor(struct sr_ring *r, struct sr_lane_ctl *c, uint32_t keep)
{
	const uint32_t len = sizeof(struct sr_rec_hdr) +
			     sizeof(struct sr_anchor_rec);
	uint64_t pos = lane_room(r, c, len, keep);
	struct sr_anchor_rec *ar;
	struct sr_rec_hdr *h;
	struct sr_anchor a;

	if (pos == UINT64_MAX)
		return;
	sr_anchor_take(&a);
	/* records start at SR_RECORD_ALIGN boundaries of the lane */
	h = (struct sr_rec_hdr *)(void *)(lane_data(r, c) +
					  (pos & (lane_bytes(r, c) - 1)));
	ar = (struct sr_anchor_rec *)(void *)(h + 1);
	ar->tsc = a.tsc;
	ar->ns = a.ns;
	h->len = len;
	h->type = SR_REC_ANCHOR;
	h->flags = 0;
	h->check = sr_rec_check(len, SR_REC_ANCHOR, 0);
	/* Pairs with the load-acquire of head in the reader, as a commit. */
	atomic_store_explicit(&c->head, pos + len, memory_order_release);
	r->lane_anchor_tsc[c - r->lanes] = a.tsc;
}

/* A record too big for a lane: the spill lane, taken for it alone (its
 * whole room is for big records: no reserve kept). */
static __attribute__((noinline)) void *
reserve_spill(struct sr_ring *r, struct sr_producer *p, uint32_t len,
	      struct sr_resv *rv, uint64_t tsc)
{
	struct sr_lane_ctl *c;

	if (len > r->spill_record_max) {
		/* counted on the spill lane, which only its holder writes */
		c = lane_try_take(r, r->lane_count, p->tid | 0x80000000u);
		if (c) {
			count(&c->dropped_oversize);
			lane_put(c);
		} else {
			atomic_fetch_add_explicit(&r->hdr->dropped_no_lane, 1,
						  memory_order_relaxed);
		}
		return NULL;
	}
	c = lane_try_take(r, r->lane_count, p->tid | 0x80000000u);
	if (!c) {
		atomic_fetch_add_explicit(&r->hdr->dropped_no_lane, 1,
					  memory_order_relaxed);
		return NULL;
	}
	rv->ctl = c;
	rv->transient = 1;
	if (tsc && tsc > r->lane_anchor_tsc[r->lane_count] + SR_ANCHOR_TICKS)
		lane_anchor(r, c, 0);
	return place(r, p, c, len, rv, 0);
}

static inline __attribute__((always_inline)) void *
reserve(struct sr_ring *r, struct sr_producer *p, uint32_t len,
	struct sr_resv *rv, uint32_t keep, uint64_t tsc)
{
	struct sr_lane_ctl *c = NULL;

	rv->transient = 0;
	rv->nested = p->busy;
	if (__builtin_expect(len > r->record_max, 0))
		return reserve_spill(r, p, len, rv, tsc);
	if (!p->owns && !p->no_lane)
		claim_owned_lane(r, p);
	if (p->owns && !p->busy) {
		c = &r->lanes[p->lane];
		p->busy = 1;
		/* A signal handler arriving from here on sees busy and keeps
		 * off this lane. */
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		/* Nested or lane-less writers are told apart from the owner by
		 * the top bit, so the owner's own id never collides. */
		c = take_transient(r, p->tid | 0x80000000u);
		if (!c) {
			atomic_fetch_add_explicit(&r->hdr->dropped_no_lane, 1,
						  memory_order_relaxed);
			return NULL;
		}
		rv->transient = 1;
	}
	rv->ctl = c;
	if (len < sizeof(struct sr_rec_hdr)) {
		count(&c->dropped_oversize);
		sr_ring_discard(r, p, rv);
		return NULL;
	}
	/* a stamp older than the lane's anchor needs none (slots are below
	 * SR_TSC_MAX: no overflow) */
	if (tsc && tsc > r->lane_anchor_tsc[c - r->lanes] + SR_ANCHOR_TICKS)
		lane_anchor(r, c, keep);
	return place(r, p, c, len, rv, keep);
}

void *sr_ring_reserve(struct sr_ring *r, struct sr_producer *p, uint32_t len,
		      struct sr_resv *rv)
{
	return reserve(r, p, len, rv, SR_RING_LAST_RESERVE, 0);
}

void *sr_ring_reserve_tsc(struct sr_ring *r, struct sr_producer *p,
			  uint32_t len, struct sr_resv *rv, uint64_t tsc)
{
	return reserve(r, p, len, rv, SR_RING_LAST_RESERVE,
		       r->clock_tsc ? tsc : 0);
}

void *sr_ring_reserve_last(struct sr_ring *r, struct sr_producer *p,
			   uint32_t len, struct sr_resv *rv)
{
	return reserve(r, p, len, rv, 0, 0);
}

void sr_ring_commit(struct sr_ring *r, struct sr_producer *p,
		    struct sr_resv *rv, uint16_t type, uint8_t flags)
{
	/* reserve() hands out SR_RECORD_ALIGN-aligned records */
	struct sr_rec_hdr *h = (struct sr_rec_hdr *)(void *)rv->rec;
	struct sr_lane_ctl *c = rv->ctl;

	h->len = rv->len;
	h->type = type;
	h->flags = flags;
	h->check = sr_rec_check(rv->len, type, flags);
	count(&c->written);
	if (flags & SR_RF_TRUNCATED)
		count(&c->truncated);
	/* Pairs with the load-acquire of head in reader.c:lane_avail: the
	 * record's bytes (and a pad before it) are visible before the new
	 * head. */
	atomic_store_explicit(&c->head,
			      rv->pos + align_up(rv->len, SR_RECORD_ALIGN),
			      memory_order_release);
	sr_ring_discard(r, p, rv);
}

void sr_ring_discard(struct sr_ring *r, struct sr_producer *p,
		     struct sr_resv *rv)
{
	(void)r;
	if (rv->transient) {
		lane_put(rv->ctl);
		return;
	}
	atomic_signal_fence(memory_order_seq_cst);
	p->busy = rv->nested;
}

void sr_producer_release(struct sr_ring *r, struct sr_producer *p)
{
	if (!r || !r->hdr || !p->owns)
		return;
	r->lanes[p->lane].owned = 0;
	lane_put(&r->lanes[p->lane]);
	p->owns = 0;
}

uint32_t sr_ring_record_max(const struct sr_ring *r)
{
	return r->record_max;
}

uint32_t sr_ring_record_big_max(const struct sr_ring *r)
{
	return r->spill_record_max;
}
