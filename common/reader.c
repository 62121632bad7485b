/* SPDX-License-Identifier: MIT */
/*
 * reader.c - consumer side: validate, copy out, walk, commit.
 *
 * Nothing read from the mapping is used before it is copied into private
 * memory and checked; the checks name what they guard.
 */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "guard.h"
#include "limits.h"
#include "record.h"
#include "why.h"

/* A lane's anchors as read (SR_CLOCK_TSC rings): the latest and the one
 * before it (tsc 0: none). */
struct lane_clock {
	struct sr_anchor last, prev;
};

struct sr_reader {
	int fd;
	int flags;                 /* SR_READER_* */
	uint8_t *map;              /* whole file, file_size bytes */
	struct sr_ring_header hdr; /* private, validated copy */
	uint64_t *cursor;          /* per lane: next position to read */
	uint64_t *tail;            /* per lane: position last committed */
	uint64_t *head;            /* per lane: head as last seen */
	uint32_t nlanes;           /* lane_count + the spill lane */
	uint8_t *buf;              /* SR_READ_CHUNK bytes of copied records */
	uint8_t *big;              /* spill_record_max bytes for the spill
				     lane, made when it first has records */
	uint32_t next_lane;        /* rotation for fairness between lanes */
	uint64_t faults;           /* integrity faults seen */
	uint64_t lost;             /* bytes skipped because of faults */
	char fault[256];           /* last fault, human readable */
	struct lane_clock *clk;    /* per lane, as read (SR_CLOCK_TSC) */
	struct lane_clock *tclk;   /* per lane, as of the last commit */
	double cal;                /* ns per tick, this process's; 0 until
				      needed in a poll */
	uint64_t clamped;          /* stamps clamped (clock faults) */
};

static uint64_t align8(uint64_t v)
{
	return (v + SR_RECORD_ALIGN - 1) & ~(uint64_t)(SR_RECORD_ALIGN - 1);
}

/* Checks every geometry field of a header copy; 0 or -errno with why. */
static int check_header(const struct sr_ring_header *h, uint64_t st_size,
			char *why, size_t n)
{
	uint64_t lanes_off, data_off, size, rmax;

	if (h->magic == 0)
		return sr_why(why, n, -EAGAIN,
			      "header not initialised (magic is zero): being "
			      "created, or not a ring");
	if (h->magic != SR_RING_MAGIC)
		return sr_why(why, n, -EBADMSG,
			      "bad magic 0x%016" PRIx64 ": not a spanring ring",
			      h->magic);
	if (h->version < SR_RING_VERSION_MIN || h->version > SR_RING_VERSION)
		return sr_why(why, n, -EPROTONOSUPPORT,
			      "layout version %u, this build reads versions "
			      "%u..%u",
			      h->version, SR_RING_VERSION_MIN, SR_RING_VERSION);
	if (h->version >= 3 && h->clock > SR_CLOCK_TSC)
		return sr_why(why, n, -EBADMSG, "clock %u unknown", h->clock);
	if (h->lane_ctl_size != sizeof(struct sr_lane_ctl))
		return sr_why(why, n, -EBADMSG,
			      "lane_ctl_size %u, expected %zu",
			      h->lane_ctl_size, sizeof(struct sr_lane_ctl));
	if (h->lane_count < SR_RING_MIN_LANES ||
	    h->lane_count > SR_RING_MAX_LANES)
		return sr_why(why, n, -EBADMSG,
			      "lane_count %u out of range %u..%u",
			      h->lane_count, SR_RING_MIN_LANES,
			      SR_RING_MAX_LANES);
	if (h->lane_size < SR_RING_MIN_LANE_SIZE ||
	    h->lane_size > SR_RING_MAX_LANE_SIZE ||
	    (h->lane_size & (h->lane_size - 1)))
		return sr_why(why, n, -EBADMSG,
			      "lane_size %u is not a power of two in %u..%u",
			      h->lane_size, SR_RING_MIN_LANE_SIZE,
			      SR_RING_MAX_LANE_SIZE);
	rmax = sr_ring_lane_record_max(h->lane_size);
	if (h->record_max < 64 || h->record_max > rmax)
		return sr_why(why, n, -EBADMSG,
			      "record_max %u out of range 64..%" PRIu64,
			      h->record_max, rmax);
	if (!sr_ring_spill_ok(h->spill_size))
		return sr_why(why, n, -EBADMSG,
			      "spill_size %u is not a power of two in %u..%u",
			      h->spill_size, SR_RING_MIN_SPILL_SIZE,
			      SR_RING_MAX_SPILL_SIZE);
	/* the spill lane takes what the lanes cannot, at most half of it */
	if (h->spill_record_max < h->record_max ||
	    h->spill_record_max > sr_ring_spill_record_max(h->spill_size))
		return sr_why(why, n, -EBADMSG,
			      "spill_record_max %u out of range %u..%u",
			      h->spill_record_max, h->record_max,
			      sr_ring_spill_record_max(h->spill_size));
	/* version 4 put the lane controls after the header's fields,
	 * versions 2 and 3 after a whole page */
	lanes_off = sr_ring_lanes_offset_v(h->version, h->lane_count);
	if (h->header_size != lanes_off)
		return sr_why(why, n, -EBADMSG,
			      "header_size %u, expected %" PRIu64,
			      h->header_size, lanes_off);
	if (h->lanes_offset != lanes_off)
		return sr_why(why, n, -EBADMSG,
			      "lanes_offset %" PRIu64 ", expected %" PRIu64,
			      h->lanes_offset, lanes_off);
	data_off = sr_ring_data_offset_v(h->version, h->lane_count);
	if (h->data_offset != data_off)
		return sr_why(why, n, -EBADMSG,
			      "data_offset %" PRIu64 ", expected %" PRIu64,
			      h->data_offset, data_off);
	size = sr_ring_file_size_v(h->version, h->lane_count, h->lane_size,
				   h->spill_size);
	if (h->file_size != size || size > SR_RING_MAX_FILE_SIZE)
		return sr_why(why, n, -EBADMSG,
			      "file_size %" PRIu64
			      " does not match the geometry (%" PRIu64 ")",
			      h->file_size, size);
	if (st_size < size)
		return sr_why(why, n, -ERANGE,
			      "truncated: file has %" PRIu64
			      " bytes, header says %" PRIu64,
			      st_size, size);
	return 0;
}

/* Copies and validates the header through a one-page mapping. */
static int read_header(struct sr_reader *r, uint64_t st_size, char *why,
		       size_t n)
{
	void *m = mmap(NULL, SR_RING_PAGE, PROT_READ, MAP_SHARED, r->fd, 0);
	uint64_t magic;
	int rc;

	if (m == MAP_FAILED)
		return sr_why(why, n, -errno, "mmap: %s", strerror(errno));
	/* Pairs with the store-release of magic in ring.c:fill_header. */
	rc = sr_guard_load_acquire(m, &magic);
	if (!rc)
		rc = sr_guard_copy(&r->hdr, m, sizeof(r->hdr));
	munmap(m, SR_RING_PAGE);
	if (rc)
		return sr_why(why, n, rc,
			      "file shrank while its header was read");
	r->hdr.magic = magic;
	r->hdr.owner_exe[sizeof(r->hdr.owner_exe) - 1] = 0;
	/* version 2 had no clock: those bytes were reserved (zero) */
	if (r->hdr.version < 3)
		r->hdr.clock = SR_CLOCK_REALTIME, r->hdr.anchor_tsc = 0,
		r->hdr.anchor_ns = 0;
	return check_header(&r->hdr, st_size, why, n);
}

/* The shared header in the mapping. The mapping starts on a page
 * boundary, so the header is aligned; the cast through void says so. */
static struct sr_ring_header *shm_header(struct sr_reader *r)
{
	return (struct sr_ring_header *)(void *)r->map;
}

/* Lane i's control block. lanes_offset is the version's (checked in
 * check_header), a multiple of the control block's alignment. */
static struct sr_lane_ctl *lane_ctl(struct sr_reader *r, uint32_t i)
{
	return (struct sr_lane_ctl *)(void *)(r->map + r->hdr.lanes_offset) + i;
}

/* Geometry of lane i: the ordinary lanes, then the spill lane (index
 * lane_count), whose data follows theirs. From the validated header. */
static uint32_t lane_bytes(const struct sr_reader *r, uint32_t i)
{
	return i < r->hdr.lane_count ? r->hdr.lane_size : r->hdr.spill_size;
}

static uint32_t lane_rmax(const struct sr_reader *r, uint32_t i)
{
	return i < r->hdr.lane_count ? r->hdr.record_max
				     : r->hdr.spill_record_max;
}

/* The anchor the last committing consumer kept for lane i's tail: the
 * lane's clock from there (untrusted like all of it: a wrong one moves
 * times, never past the clamps of stamp_ns). 0 or -EFAULT. */
static int tail_anchor_load(struct sr_reader *r, uint32_t i)
{
	struct sr_lane_ctl *c = lane_ctl(r, i);
	struct lane_clock k = { { 0, 0 }, { 0, 0 } };

	if (r->hdr.clock != SR_CLOCK_TSC)
		return 0;
	if (sr_guard_copy(&k.last.tsc, &c->tail_anchor_tsc, 8) ||
	    sr_guard_copy(&k.last.ns, &c->tail_anchor_ns, 8))
		return -EFAULT;
	r->clk[i] = k;
	r->tclk[i] = k;
	return 0;
}

static int map_ring(struct sr_reader *r, char *why, size_t n)
{
	int prot = r->flags & SR_READER_RDONLY ? PROT_READ
					       : PROT_READ | PROT_WRITE;
	uint32_t lanes = r->hdr.lane_count + 1;

	r->nlanes = lanes;
	r->map = mmap(NULL, r->hdr.file_size, prot, MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return sr_why(why, n, -errno, "mmap: %s", strerror(errno));
	}
	r->cursor = calloc(lanes, sizeof(uint64_t));
	r->tail = calloc(lanes, sizeof(uint64_t));
	r->head = calloc(lanes, sizeof(uint64_t));
	r->buf = malloc(SR_READ_CHUNK);
	r->clk = calloc(lanes, sizeof(*r->clk));
	r->tclk = calloc(lanes, sizeof(*r->tclk));
	if (!r->cursor || !r->tail || !r->head || !r->buf || !r->clk ||
	    !r->tclk)
		return sr_why(why, n, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < lanes; i++) {
		/* Pairs with the store-release of tail in
		 * reader.c:sr_reader_commit of an earlier consumer. */
		if (sr_guard_load_acquire(&lane_ctl(r, i)->tail, &r->tail[i]) ||
		    tail_anchor_load(r, i))
			return sr_why(why, n, -EFAULT,
				      "file shrank while opening");
		r->cursor[i] = r->tail[i];
		r->head[i] = r->tail[i];
	}
	return 0;
}

int sr_reader_open(int dirfd, const char *name, int flags,
		   struct sr_reader **out, char *why, size_t whylen)
{
	struct sr_reader *r;
	struct stat st;
	int oflags = (flags & SR_READER_RDONLY ? O_RDONLY : O_RDWR) |
		     O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int rc;

	*out = NULL;
	if (why && whylen)
		why[0] = 0;
	rc = sr_guard_init();
	if (rc)
		return sr_why(why, whylen, rc,
			      "cannot install the SIGBUS guard");
	r = calloc(1, sizeof(*r));
	if (!r)
		return sr_why(why, whylen, -ENOMEM, "out of memory");
	r->flags = flags;
	r->fd = openat(dirfd, name, oflags);
	if (r->fd < 0) {
		rc = sr_why(why, whylen, -errno, "open: %s", strerror(errno));
		goto err_free;
	}
	if (fstat(r->fd, &st) < 0) {
		rc = sr_why(why, whylen, -errno, "stat: %s", strerror(errno));
		goto err_free;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = sr_why(why, whylen, -EISDIR, "is a directory, not a ring");
		goto err_free;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sr_why(why, whylen, -EINVAL, "not a regular file");
		goto err_free;
	}
	if (st.st_size == 0) {
		rc = sr_why(why, whylen, -EAGAIN,
			    "empty file: being created, or not a ring");
		goto err_free;
	}
	if ((uint64_t)st.st_size < SR_RING_PAGE) {
		rc = sr_why(why, whylen, -EBADMSG,
			    "not a ring: %lld bytes, smaller than a ring header (%u)",
			    (long long)st.st_size, SR_RING_PAGE);
		goto err_free;
	}
	rc = read_header(r, (uint64_t)st.st_size, why, whylen);
	if (rc)
		goto err_free;
	rc = map_ring(r, why, whylen);
	if (rc)
		goto err_free;
	*out = r;
	return 0;

err_free:
	sr_reader_free(r);
	return rc;
}

void sr_reader_free(struct sr_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, r->hdr.file_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r->cursor);
	free(r->tail);
	free(r->head);
	free(r->buf);
	free(r->big);
	free(r->clk);
	free(r->tclk);
	free(r);
}

size_t sr_reader_info_size(const struct sr_reader *r)
{
	return sizeof(struct sr_ring_info) +
	       (r->hdr.lane_count + 1) * sizeof(struct sr_lane_info);
}

static int read_lane_info(struct sr_reader *r, uint32_t i,
			  struct sr_lane_info *li)
{
	struct sr_lane_ctl c;

	if (sr_guard_copy(&c, lane_ctl(r, i), sizeof(c)))
		return -EFAULT;
	li->head = c.head;
	li->tail = c.tail;
	li->written = c.written;
	/* counters are untrusted: a lane refuses at most so many records */
	li->dropped_full = c.dropped_full < SR_LANE_DROPS_MAX
				   ? c.dropped_full
				   : SR_LANE_DROPS_MAX;
	li->dropped_oversize = c.dropped_oversize < SR_LANE_DROPS_MAX
				       ? c.dropped_oversize
				       : SR_LANE_DROPS_MAX;
	li->truncated = c.truncated;
	li->holder = c.holder;
	li->owned = c.owned;
	return 0;
}

int sr_reader_info(struct sr_reader *r, struct sr_ring_info *info)
{
	const struct sr_ring_header *h = &r->hdr;
	uint64_t no_lane;

	memset(info, 0, sr_reader_info_size(r));
	info->lane_count = h->lane_count;
	info->lane_size = h->lane_size;
	info->record_max = h->record_max;
	info->spill_size = h->spill_size;
	info->spill_record_max = h->spill_record_max;
	info->file_size = h->file_size;
	info->owner_pid = h->owner_pid;
	info->owner_ppid = h->owner_ppid;
	info->owner_uid = h->owner_uid;
	info->owner_start_ns = h->owner_start_ns;
	info->owner_pidns = h->owner_pidns;
	memcpy(info->trace_id, h->trace_id, sizeof(info->trace_id));
	memcpy(info->proc_span_id, h->proc_span_id, sizeof(info->proc_span_id));
	memcpy(info->owner_exe, h->owner_exe, sizeof(info->owner_exe));
	/* dropped_no_lane is a counter the producers bump relaxed
	 * (ring.c:reserve, reserve_spill): nothing is ordered on it; the
	 * guarded load is an acquire only because that is the one there is */
	if (sr_guard_copy(&info->owner_flags, &shm_header(r)->owner_flags,
			  sizeof(info->owner_flags)) ||
	    sr_guard_load_acquire(&shm_header(r)->dropped_no_lane, &no_lane))
		return -EFAULT;
	/* the ring-wide counter is untrusted too: clamped like a lane's */
	if (no_lane > SR_LANE_DROPS_MAX)
		no_lane = SR_LANE_DROPS_MAX;
	info->dropped_no_lane = no_lane;
	for (uint32_t i = 0; i < r->nlanes; i++) {
		struct sr_lane_info *li = &info->lanes[i];
		uint64_t used, size = lane_bytes(r, i);

		if (read_lane_info(r, i, li))
			return -EFAULT;
		info->written += li->written;
		info->dropped_full += li->dropped_full;
		info->dropped_oversize += li->dropped_oversize;
		info->truncated += li->truncated;
		/* Positions are untrusted: a lag beyond the lane is reported
		 * as a full lane, not as a huge number. */
		used = li->head - li->tail;
		if (li->head < li->tail || used > size)
			used = size;
		info->unread_bytes += used;
		if ((double)used / size > info->max_fill)
			info->max_fill = (double)used / size;
	}
	info->dropped = info->dropped_full + info->dropped_oversize + no_lane;
	return 0;
}

bool sr_reader_owner_alive(struct sr_reader *r)
{
	/* The owner holds LOCK_EX for its life; a shared probe succeeds only
	 * when nobody does, and never blocks the owner or other probes. */
	if (flock(r->fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK || errno == EINTR;
	flock(r->fd, LOCK_UN);
	return false;
}

static void note_fault(struct sr_reader *r, uint32_t lane, uint64_t lost,
		       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note_fault(struct sr_reader *r, uint32_t lane, uint64_t lost,
		       const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->fault, sizeof(r->fault), "lane %u: ", lane);

	va_start(ap, fmt);
	vsnprintf(r->fault + n, sizeof(r->fault) - (size_t)n, fmt, ap);
	va_end(ap);
	r->faults++;
	r->lost += lost;
}

/* Copies lane bytes [from, from + n) (n <= lane size) into buf. */
static int copy_out(struct sr_reader *r, uint32_t lane, uint64_t from,
		    uint32_t n, uint8_t *buf)
{
	const uint8_t *data = r->map + r->hdr.data_offset +
			      (uint64_t)lane * r->hdr.lane_size;
	uint32_t size = lane_bytes(r, lane);
	uint32_t off = (uint32_t)(from & (size - 1));
	uint32_t first = size - off < n ? size - off : n;

	if (sr_guard_copy(buf, data + off, first))
		return -EFAULT;
	if (first < n && sr_guard_copy(buf + first, data, n - first))
		return -EFAULT;
	return 0;
}

/*
 * Checks one record header found at lane position `pos`, `left` bytes
 * before the lane's head. Returns its aligned length, or 0 with a fault
 * noted.
 */
static uint64_t check_record(struct sr_reader *r, uint32_t lane, uint64_t pos,
			     const struct sr_rec_hdr *h, uint64_t left)
{
	uint32_t size = lane_bytes(r, lane), rmax = lane_rmax(r, lane);
	uint64_t in_lane = pos & (size - 1);

	/* the check byte catches headers that are not headers at all */
	if (h->check != sr_rec_check(h->len, h->type, h->flags)) {
		note_fault(r, lane, left,
			   "record at %" PRIu64 ": bad check byte", pos);
		return 0;
	}
	/* a pad fills exactly to the lane's end */
	if (h->type == SR_REC_PAD) {
		if (h->len != size - in_lane || h->len > left) {
			note_fault(r, lane, left,
				   "pad at %" PRIu64
				   ": length %u does not reach the lane end",
				   pos, h->len);
			return 0;
		}
		return h->len;
	}
	/* a record is at least a header and at most record_max */
	if (h->len < sizeof(*h) || h->len > rmax) {
		note_fault(r, lane, left,
			   "record at %" PRIu64 ": length %u outside 8..%u",
			   pos, h->len, rmax);
		return 0;
	}
	/* a record never crosses the lane's end (producers pad first) */
	if (in_lane + h->len > size) {
		note_fault(r, lane, left,
			   "record at %" PRIu64
			   ": length %u crosses the lane end",
			   pos, h->len);
		return 0;
	}
	/* a record never reaches past the published head */
	if (align8(h->len) > left) {
		note_fault(r, lane, left,
			   "record at %" PRIu64 ": length %u reaches past head",
			   pos, h->len);
		return 0;
	}
	return align8(h->len);
}

/* Loads and checks a lane's head against its cursor. Returns bytes
 * readable (<= lane_size), 0 with the cursor moved on a fault, or -EFAULT. */
static int64_t lane_avail(struct sr_reader *r, uint32_t i)
{
	uint64_t head, cur = r->cursor[i], size = lane_bytes(r, i);

	/* Pairs with the store-release of head in ring.c:sr_ring_commit. */
	if (sr_guard_load_acquire(&lane_ctl(r, i)->head, &head))
		return -EFAULT;
	r->head[i] = head;
	/* head is a multiple of 8, never behind our cursor, never more than a
	 * lane ahead of it (producers respect tail) */
	if (((head | cur) & 7) || head < cur || head - cur > size) {
		/* a lane never held more than its size: a hostile head
		 * cannot inflate the loss counted */
		note_fault(r, i,
			   head <= cur         ? 0
			   : head - cur < size ? head - cur
					       : size,
			   "head %" PRIu64 " %s tail %" PRIu64, head,
			   (head | cur) & 7 ? "not 8-byte aligned, with"
			   : head < cur     ? "behind"
					    : "more than a lane beyond",
			   cur);
		r->cursor[i] = head;
		return 0;
	}
	return (int64_t)(head - cur);
}

/*
 * A read-only reader never commits: the consumer that does moves the
 * shared tail past its cursor, and producers may rewrite any byte below
 * that tail at any time. Follows the tail forward. Returns 1 when the
 * cursor moved, 0, or -EFAULT.
 */
static int rdonly_follow_tail(struct sr_reader *r, uint32_t i)
{
	uint64_t tail;

	if (!(r->flags & SR_READER_RDONLY))
		return 0;
	/* Pairs with the store-release of tail in the consumer's
	 * reader.c:sr_reader_commit. */
	if (sr_guard_load_acquire(&lane_ctl(r, i)->tail, &tail))
		return -EFAULT;
	if (tail <= r->cursor[i])
		return 0;
	r->cursor[i] = tail;
	r->tail[i] = tail;
	/* the anchors below the new tail are gone: the consumer's one */
	return tail_anchor_load(r, i) ? -EFAULT : 1;
}

/* This process's TSC rate, measured once per poll at most. */
static double cal_rate(struct sr_reader *r)
{
	if (!r->cal)
		r->cal = sr_tsc_ns_per_tick();
	return r->cal;
}

/* An anchor record of lane i: the lane's clock from here on. Anchors of a
 * realtime ring, and malformed ones, are ignored (counted). */
static void take_anchor(struct sr_reader *r, uint32_t i, const uint8_t *p,
			uint32_t len)
{
	struct lane_clock *k = &r->clk[i];
	struct sr_anchor_rec a;

	if (r->hdr.clock != SR_CLOCK_TSC || len != sizeof(a)) {
		r->clamped++;
		return;
	}
	memcpy(&a, p, sizeof(a));
	if (a.tsc == k->last.tsc && a.ns == k->last.ns)
		return; /* read again after a stop */
	/* an older one after a newer: read again after a rewind */
	k->prev = a.tsc > k->last.tsc ? k->last : (struct sr_anchor){ 0, 0 };
	k->last.tsc = a.tsc;
	k->last.ns = a.ns;
}

/* ns per tick between anchors lo and hi, or 0 when they give none (too
 * close, out of order, or further than 10 % from the measured rate: a
 * slewing NTP moves it by at most 8.3 %). */
static double anchor_rate(struct sr_reader *r, const struct sr_anchor *lo,
			  const struct sr_anchor *hi)
{
	double rate, cal;

	if (!lo->tsc || hi->tsc <= lo->tsc || hi->ns <= lo->ns ||
	    hi->tsc - lo->tsc < SR_ANCHOR_TICKS / 4)
		return 0;
	rate = (double)(hi->ns - lo->ns) / (double)(hi->tsc - lo->tsc);
	cal = cal_rate(r);
	return rate > cal * 0.9 && rate < cal * 1.1 ? rate : 0;
}

/*
 * Realtime ns of stamp `v` (tagged SR_STAMP_TSC) read in lane i. From the
 * lane's latest anchor, at the rate of its last two anchors (else this
 * process's measured rate); a stamp before that anchor (a span begun long
 * ago) between the two anchors, or between the ring's creation anchor and
 * the older one. Clamped and counted: a stamp before the ring's creation
 * (to it), more than SR_STAMP_AHEAD_MAX_TICKS past the latest anchor (to
 * that). Only in SR_CLOCK_TSC rings: in a realtime ring every time field
 * is realtime ns, read as it is.
 */
static uint64_t stamp_ns(struct sr_reader *r, uint32_t i, uint64_t v)
{
	const struct sr_anchor h = { r->hdr.anchor_tsc, r->hdr.anchor_ns };
	const struct lane_clock *k = &r->clk[i];
	const struct sr_anchor *last = k->last.tsc ? &k->last : &h, *lo;
	uint64_t t = v & ~SR_STAMP_TSC;
	double rate;

	if (!h.tsc || t < h.tsc) {
		r->clamped++;
		return h.tsc ? h.ns : r->hdr.owner_start_ns;
	}
	if (t >= last->tsc) {
		if (t - last->tsc > SR_STAMP_AHEAD_MAX_TICKS) {
			r->clamped++;
			t = last->tsc + SR_STAMP_AHEAD_MAX_TICKS;
		}
		rate = anchor_rate(r, &k->prev, last);
		return sr_tsc_to_ns(last, rate ? rate : cal_rate(r), t);
	}
	lo = k->prev.tsc && k->prev.tsc <= t ? &k->prev : &h;
	if (lo->tsc < last->tsc && lo->ns <= last->ns)
		return sr_tsc_to_ns(lo,
				    (double)(last->ns - lo->ns) /
					    (double)(last->tsc - lo->tsc),
				    t);
	return sr_tsc_to_ns(last, cal_rate(r), t);
}

/* Replaces the TSC stamps of a record (in the private copy) with realtime
 * ns. */
static void convert_stamps(struct sr_reader *r, uint32_t i, uint16_t type,
			   uint8_t *p, uint32_t len)
{
	uint32_t off[SR_REC_STAMPS_MAX];
	unsigned n = sr_rec_stamps(type, len, off);

	for (unsigned k = 0; k < n; k++) {
		uint64_t v;

		memcpy(&v, p + off[k], 8);
		if (!(v & SR_STAMP_TSC))
			continue;
		v = stamp_ns(r, i, v);
		memcpy(p + off[k], &v, 8);
	}
}

/* Walks the records of lane i from its cursor, advancing it; stops when
 * fn asks or the budget is spent. */
static int walk_lane(struct sr_reader *r, uint32_t i, size_t *budget,
		     sr_record_fn fn, void *ctx, int *stop)
{
	uint32_t rmax = lane_rmax(r, i);
	/* a chunk always holds one whole record: the spill lane's are
	 * bigger than a chunk */
	uint64_t chunk = rmax > SR_READ_CHUNK ? rmax : SR_READ_CHUNK;
	uint8_t *buf = r->buf;
	int64_t avail;
	uint64_t pos, off = 0, n;
	int delivered = 0, moved;

	if (rdonly_follow_tail(r, i) < 0)
		return -EFAULT;
	avail = lane_avail(r, i);
	pos = r->cursor[i];
	if (avail <= 0)
		return (int)avail;
	if (chunk > SR_READ_CHUNK) {
		if (!r->big && !(r->big = malloc(chunk)))
			return 0; /* read again when memory allows */
		buf = r->big;
	}
	n = (uint64_t)avail < chunk ? (uint64_t)avail : chunk;
	/* copy no more than the budget can consume (plus one whole record):
	 * a small budget must not cost a full chunk's copy */
	if (*budget < chunk && n > *budget + rmax)
		n = *budget + rmax;
	if (copy_out(r, i, pos, (uint32_t)n, buf))
		return -EFAULT;
	/* Bytes below a tail that moved during the copy may be torn: read
	 * again from the new tail (the copy's loads stay before the tail's,
	 * as in a seqlock). A producer overwrites only after its load-acquire
	 * of tail in ring.c:lane_room saw the consumer's store-release in
	 * reader.c:sr_reader_commit: a copy that read overwritten bytes then
	 * reads the moved tail. */
	atomic_thread_fence(memory_order_acquire);
	moved = rdonly_follow_tail(r, i);
	if (moved)
		return moved < 0 ? -EFAULT : 0;
	while (off + sizeof(struct sr_rec_hdr) <= n && *budget > 0) {
		const struct sr_rec_hdr *h = (const void *)(buf + off);
		uint64_t step = check_record(r, i, pos + off, h,
					     (uint64_t)avail - off);
		struct sr_record rec;

		if (!step) {
			/* skip the damaged rest of the lane, up to head */
			r->cursor[i] = r->head[i];
			return delivered;
		}
		if (off + step > n)
			break; /* continues in the next chunk */
		if (h->type == SR_REC_ANCHOR) {
			take_anchor(r, i, buf + off + sizeof(*h),
				    h->len - (uint32_t)sizeof(*h));
		} else if (h->type != SR_REC_PAD) {
			if (r->hdr.clock == SR_CLOCK_TSC)
				convert_stamps(r, i, h->type,
					       buf + off + sizeof(*h),
					       h->len - (uint32_t)sizeof(*h));
			rec.type = h->type;
			rec.flags = h->flags;
			rec.lane = i;
			rec.pos = pos + off;
			rec.payload = buf + off + sizeof(*h);
			rec.len = h->len - (uint32_t)sizeof(*h);
			if (fn && fn(ctx, &rec)) {
				*stop = 1;
				break;
			}
			delivered++;
		}
		off += step;
		*budget = *budget > step ? *budget - step : 0;
		r->cursor[i] = pos + off;
	}
	return delivered;
}

int sr_reader_poll(struct sr_reader *r, size_t max_bytes, sr_record_fn fn,
		   void *ctx)
{
	uint32_t lanes = r->nlanes;
	size_t budget = max_bytes;
	int total = 0, stop = 0;

	r->cal = 0; /* measured again when a stamp needs it */
	for (uint32_t k = 0; k < lanes && budget > 0 && !stop; k++) {
		uint32_t i = (r->next_lane + k) % lanes;
		int rc = walk_lane(r, i, &budget, fn, ctx, &stop);

		if (rc < 0)
			return rc;
		total += rc;
	}
	r->next_lane = (r->next_lane + 1) % lanes;
	return total;
}

int sr_reader_commit(struct sr_reader *r)
{
	if (r->flags & SR_READER_RDONLY)
		return -EPERM;
	for (uint32_t i = 0; i < r->nlanes; i++) {
		struct sr_lane_ctl *c = lane_ctl(r, i);

		if (r->cursor[i] == r->tail[i])
			continue;
		/* the next consumer starts from the anchor of this tail; the
		 * release of tail below orders these before it for a
		 * consumer that reads them after its load-acquire of tail
		 * (reader.c:map_ring's load of tail, then
		 * tail_anchor_load) */
		if (r->hdr.clock == SR_CLOCK_TSC &&
		    (sr_guard_store_release(&c->tail_anchor_tsc,
					    r->clk[i].last.tsc) ||
		     sr_guard_store_release(&c->tail_anchor_ns,
					    r->clk[i].last.ns)))
			return -EFAULT;
		/* Pairs with the load-acquire of tail in ring.c:lane_room: we
		 * have finished reading these bytes before producers reuse
		 * them. */
		if (sr_guard_store_release(&c->tail, r->cursor[i]))
			return -EFAULT;
		r->tail[i] = r->cursor[i];
		r->tclk[i] = r->clk[i];
	}
	return 0;
}

void sr_reader_rewind(struct sr_reader *r)
{
	for (uint32_t i = 0; i < r->nlanes; i++) {
		r->cursor[i] = r->tail[i];
		r->clk[i] = r->tclk[i];
	}
}

bool sr_reader_drained(const struct sr_reader *r)
{
	for (uint32_t i = 0; i < r->nlanes; i++)
		if (r->cursor[i] != r->head[i])
			return false;
	return true;
}

uint64_t sr_reader_faults(const struct sr_reader *r)
{
	return r->faults;
}

uint64_t sr_reader_lost_bytes(const struct sr_reader *r)
{
	return r->lost;
}

uint64_t sr_reader_clamped(const struct sr_reader *r)
{
	return r->clamped;
}

uint32_t sr_reader_clock(const struct sr_reader *r)
{
	return r->hdr.clock;
}

const char *sr_reader_fault(const struct sr_reader *r)
{
	return r->fault;
}

int sr_reader_check(struct sr_reader *r,
		    void (*report)(void *ctx, const char *fault), void *ctx)
{
	uint64_t before = r->faults;
	int found = 0;

	for (uint32_t i = 0; i < r->nlanes; i++) {
		uint64_t save = r->cursor[i], clamped = r->clamped;
		struct lane_clock clk = r->clk[i];
		size_t budget = SIZE_MAX;
		int stop = 0;

		/* walk every chunk of the lane without consuming */
		for (;;) {
			uint64_t f = r->faults, at = r->cursor[i];
			int rc = walk_lane(r, i, &budget, NULL, NULL, &stop);

			if (rc < 0) {
				r->cursor[i] = save;
				r->clk[i] = clk;
				r->clamped = clamped;
				return rc;
			}
			if (r->faults != f) {
				found++;
				if (report)
					report(ctx, r->fault);
			}
			/* done, damaged, or no progress (bounded work) */
			if (r->cursor[i] == r->head[i] || r->faults != f ||
			    r->cursor[i] == at)
				break;
		}
		r->cursor[i] = save;
		r->clk[i] = clk;
		r->clamped = clamped;
	}
	r->faults = before + (uint64_t)found;
	return found;
}
