/* SPDX-License-Identifier: MIT */
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"
#include "log.h"
#include "stats.h"

enum ring_state {
	R_LIVE,	 /* owner alive (as last checked) */
	R_DYING, /* owner gone: drain, wait the grace, close orphans */
	R_DONE,	 /* orphans closed: remove after the next hand-off */
	R_BAD,	 /* refused or dropped: skipped until the file vanishes */
	R_WAIT,	 /* header not complete yet: try again on the next rescan */
};

struct ring {
	char name[SR_RING_NAME_MAX];
	struct sr_reader *rd;
	struct sr_asm_ring *ar;
	enum ring_state st;
	uint32_t pid;
	bool seen;	  /* found by the current rescan */
	bool uncommitted; /* read past the last commit */
	bool queued;	  /* has items in memory, not yet spooled */
	bool malformed_logged;
	uint64_t faults; /* integrity faults already counted */
	uint64_t lost;
	uint64_t next_check; /* monotonic ns of the next liveness probe */
	uint64_t dead_mono, dead_real;
	uint64_t seen_mono; /* first found */
	struct sr_ring_info *info;
};

/* How long a ring whose header is not complete yet is retried on every
 * tick (afterwards on rescans only: an empty file named like a ring must
 * not cost a system call per tick forever). */
#define WAIT_RETRY_NS 2000000000ull

struct sr_rings {
	const struct sr_config *c;
	int dirfd, statefd;
	struct sr_asm *a;
	struct ring **r;
	size_t n;
	size_t next;	  /* rotation start */
	struct ring *cur; /* ring whose records are being read */
	const struct sr_sink *sink;
};

static void state_name(const struct ring *g, char *buf, size_t n)
{
	snprintf(buf, n, "open-%s", g->name);
}

struct sr_rings *sr_rings_new(const struct sr_config *c, int dirfd, int statefd,
			      struct sr_asm *a)
{
	struct sr_rings *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->c = c;
	rs->dirfd = dirfd;
	rs->statefd = statefd;
	rs->a = a;
	rs->r = calloc(SR_MAX_RINGS, sizeof(*rs->r));
	if (!rs->r) {
		free(rs);
		return NULL;
	}
	return rs;
}

static void ring_free(struct ring *g)
{
	sr_reader_free(g->rd);
	sr_asm_ring_free(g->ar);
	free(g->info);
	free(g);
}

void sr_rings_free(struct sr_rings *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		ring_free(rs->r[i]);
	SR_STAT_SET(rings_active, 0);
	free(rs->r);
	free(rs);
}

static struct ring *find(struct sr_rings *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->r[i]->name, name))
			return rs->r[i];
	return NULL;
}

/* Opens a ring; failures leave it BAD (logged once) or WAIT. */
static void ring_open(struct sr_rings *rs, struct ring *g)
{
	char why[256], st[SR_RING_NAME_MAX + 8];
	int rc =
	    sr_reader_open(rs->dirfd, g->name, 0, &g->rd, why, sizeof(why));

	if (rc == -EAGAIN) {
		g->st = R_WAIT;
		return;
	}
	if (rc) {
		g->st = R_BAD;
		SR_STAT_ADD(rings_bad, 1);
		sr_log(SR_LOG_WARN, "scan", "ring %s refused: %s", g->name,
		       why);
		return;
	}
	g->info = malloc(sr_reader_info_size(g->rd));
	g->ar = sr_asm_ring_new();
	if (!g->info || !g->ar || sr_reader_info(g->rd, g->info)) {
		sr_reader_free(g->rd);
		g->rd = NULL;
		g->st = R_BAD;
		SR_STAT_ADD(rings_bad, 1);
		return;
	}
	g->pid = g->info->owner_pid;
	state_name(g, st, sizeof(st));
	if (sr_asm_ring_load(g->ar, rs->statefd, st))
		sr_log(SR_LOG_WARN, "scan",
		       "ring %s: open-span file %s unreadable, ignored",
		       g->name, st);
	g->st = R_LIVE;
	SR_STAT_ADD(rings_seen, 1);
	sr_log(SR_LOG_DEBUG, "scan", "ring %s opened (pid %u)", g->name,
	       g->pid);
}

static void on_name(void *ctx, const char *name)
{
	struct sr_rings *rs = ctx;
	struct ring *g = find(rs, name);

	if (g) {
		g->seen = true;
		if (g->st == R_WAIT)
			ring_open(rs, g);
		return;
	}
	if (rs->n == SR_MAX_RINGS)
		return;
	g = calloc(1, sizeof(*g));
	if (!g)
		return;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->seen = true;
	g->seen_mono = sr_mono_ns();
	rs->r[rs->n++] = g;
	ring_open(rs, g);
}

static void drop(struct sr_rings *rs, size_t i)
{
	ring_free(rs->r[i]);
	rs->r[i] = rs->r[--rs->n];
}

static void count_active(struct sr_rings *rs)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->r[i]->rd != NULL;
	SR_STAT_SET(rings_active, n);
}

int sr_rings_rescan(struct sr_rings *rs)
{
	int rc;

	for (size_t i = 0; i < rs->n; i++)
		rs->r[i]->seen = false;
	rc = sr_dir_scan(rs->dirfd, 0, on_name, rs);
	if (rc < 0)
		return rc;
	/* a vanished file's mapping stays valid: keep readable rings until
	 * their owner is gone; forget the others */
	for (size_t i = rs->n; i-- > 0;) {
		struct ring *g = rs->r[i];

		if (!g->seen && (g->st == R_BAD || g->st == R_WAIT))
			drop(rs, i);
	}
	count_active(rs);
	return 0;
}

void sr_rings_note_queued(struct sr_rings *rs)
{
	if (rs->cur)
		rs->cur->queued = true;
}

static int on_record(void *ctx, const struct sr_record *rec)
{
	struct sr_rings *rs = ctx;
	struct ring *g = rs->cur;
	int rc;

	if (rs->sink->full(rs->sink->ctx))
		return 1;
	SR_STAT_ADD(records_read, 1);
	rc = sr_asm_record(rs->a, g->ar, rec, rs->sink->emit, rs->sink->ctx);
	if (rc == -EBADMSG) {
		SR_STAT_ADD(records_malformed, 1);
		if (!g->malformed_logged)
			sr_log(SR_LOG_WARN, "assemble",
			       "ring %s: malformed %s record at lane %u "
			       "position %llu dropped (logged once per ring)",
			       g->name, sr_rec_type_name(rec->type), rec->lane,
			       (unsigned long long)rec->pos);
		g->malformed_logged = true;
	} else if (rc == -ENOMEM) {
		return 1;
	}
	return 0;
}

/* A truncated ring: nothing more can be read from it. */
static void ring_lost(struct sr_rings *rs, struct ring *g)
{
	char st[SR_RING_NAME_MAX + 8];

	sr_log(SR_LOG_WARN, "scan",
	       "ring %s truncated under the reader: dropped", g->name);
	SR_STAT_ADD(rings_bad, 1);
	sr_reader_free(g->rd);
	g->rd = NULL;
	g->st = R_BAD;
	state_name(g, st, sizeof(st));
	unlinkat(rs->statefd, st, 0);
}

static void note_faults(struct ring *g)
{
	uint64_t f = sr_reader_faults(g->rd), l = sr_reader_lost_bytes(g->rd);

	if (f == g->faults)
		return;
	if (!g->faults)
		sr_log(SR_LOG_WARN, "scan",
		       "ring %s: %s (further faults counted only)", g->name,
		       sr_reader_fault(g->rd));
	SR_STAT_ADD(ring_faults, f - g->faults);
	SR_STAT_ADD(ring_lost_bytes, l - g->lost);
	g->faults = f;
	g->lost = l;
}

static int drain_ring(struct sr_rings *rs, struct ring *g, size_t budget)
{
	int n;

	rs->cur = g;
	n = sr_reader_poll(g->rd, budget, on_record, rs);
	rs->cur = NULL;
	if (n == -EFAULT) {
		ring_lost(rs, g);
		return 0;
	}
	if (n > 0)
		g->uncommitted = true;
	note_faults(g);
	return n > 0 ? n : 0;
}

int sr_rings_drain(struct sr_rings *rs, const struct sr_sink *sink)
{
	int total = 0;

	rs->sink = sink;
	for (size_t k = 0; k < rs->n; k++) {
		struct ring *g = rs->r[(rs->next + k) % rs->n];

		if (sink->full(sink->ctx))
			break;
		if (g->rd && (g->st == R_LIVE || g->st == R_DYING))
			total += drain_ring(rs, g, SR_DRAIN_TURN);
	}
	if (rs->n)
		rs->next = (rs->next + 1) % rs->n;
	return total;
}

/* Closes the spans of a dead ring once drained. */
static void finish_dead(struct sr_rings *rs, struct ring *g, bool now_all)
{
	uint64_t now = sr_mono_ns();
	int n;

	if (!now_all &&
	    now - g->dead_mono < (uint64_t)(rs->c->orphan_grace * 1e9))
		return;
	/* everything the owner wrote is read before its spans are closed */
	while (!rs->sink->full(rs->sink->ctx) &&
	       drain_ring(rs, g, SR_READ_CHUNK) > 0)
		;
	if (!g->rd || !sr_reader_drained(g->rd) ||
	    rs->sink->full(rs->sink->ctx))
		return;
	rs->cur = g;
	n = sr_asm_close_orphans(rs->a, g->ar, g->pid, g->dead_real,
				 rs->sink->emit, rs->sink->ctx);
	rs->cur = NULL;
	if (n > 0)
		sr_log(SR_LOG_DEBUG, "assemble",
		       "ring %s: owner pid %u gone, %d open spans closed",
		       g->name, g->pid, n);
	g->st = R_DONE;
	g->uncommitted = true;
}

static void gauges(struct sr_rings *rs)
{
	uint64_t full = 0, over = 0, nolane = 0;

	for (size_t i = 0; i < rs->n; i++) {
		struct sr_ring_info *in = rs->r[i]->info;

		if (!rs->r[i]->rd)
			continue;
		full += in->dropped_full;
		over += in->dropped_oversize;
		nolane += in->dropped_no_lane;
	}
	SR_STAT_SET(dropped_ring_full, full);
	SR_STAT_SET(dropped_ring_oversize, over);
	SR_STAT_SET(dropped_ring_no_lane, nolane);
}

bool sr_rings_tick(struct sr_rings *rs, const struct sr_sink *sink,
		   bool now_all)
{
	uint64_t now = sr_mono_ns();
	bool hot = false;

	rs->sink = sink;
	for (size_t i = 0; i < rs->n; i++) {
		struct ring *g = rs->r[i];

		/* a ring being created (inotify saw it before its header was
		 * complete): try again soon, then only on rescans */
		if (g->st == R_WAIT && now - g->seen_mono < WAIT_RETRY_NS)
			ring_open(rs, g);
		if (!g->rd)
			continue;
		if (sr_reader_info(g->rd, g->info)) {
			ring_lost(rs, g);
			continue;
		}
		if (g->info->max_fill >= rs->c->export_trigger_ratio)
			hot = true;
		if (g->st == R_LIVE && (now_all || now >= g->next_check)) {
			g->next_check = now + 250000000ull;
			if (!sr_reader_owner_alive(g->rd)) {
				g->st = R_DYING;
				g->dead_mono = now;
				g->dead_real = sr_now_ns();
			}
		}
		if (g->st == R_DYING)
			finish_dead(rs, g, now_all);
	}
	gauges(rs);
	return hot;
}

bool sr_rings_pending(const struct sr_rings *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct ring *g = rs->r[i];

		if ((g->uncommitted && !g->queued) || g->st == R_DONE)
			return true;
	}
	return false;
}

/* Removes a finished ring, its state file and its slot; a ring that
 * cannot be removed is logged and forgotten all the same. */
static void remove_done(struct sr_rings *rs, size_t i)
{
	struct ring *g = rs->r[i];
	char st[SR_RING_NAME_MAX + 8];
	int rc = sr_dir_remove(rs->dirfd, g->name);

	if (rc && rc != -ENOENT)
		sr_log(SR_LOG_WARN, "scan", "ring %s: cannot remove: %s",
		       g->name, strerror(-rc));
	state_name(g, st, sizeof(st));
	unlinkat(rs->statefd, st, 0);
	SR_STAT_ADD(rings_removed, 1);
	drop(rs, i);
}

static int commit_ring(struct sr_rings *rs, struct ring *g)
{
	char st[SR_RING_NAME_MAX + 8];
	int rc = 0;

	if (sr_asm_ring_dirty(g->ar)) {
		state_name(g, st, sizeof(st));
		rc = sr_asm_ring_save(g->ar, rs->statefd, st, rs->c->fsync);
		if (rc) {
			sr_log(SR_LOG_ERROR, "spool",
			       "ring %s: cannot save open spans: %s; not "
			       "committed",
			       g->name, strerror(-rc));
			return rc;
		}
	}
	rc = sr_reader_commit(g->rd);
	if (rc == -EFAULT) {
		ring_lost(rs, g);
		return 0;
	}
	g->uncommitted = false;
	return rc;
}

int sr_rings_commit(struct sr_rings *rs, bool all)
{
	int first = 0, rc;

	for (size_t i = rs->n; i-- > 0;) {
		struct ring *g = rs->r[i];

		if (!g->rd || (g->queued && !all))
			continue;
		if (g->uncommitted || sr_asm_ring_dirty(g->ar)) {
			rc = commit_ring(rs, g);
			if (rc && !first)
				first = rc;
			if (rc)
				continue;
		}
		g->queued = false;
		if (g->st == R_DONE)
			remove_done(rs, i);
	}
	count_active(rs);
	return first;
}

void sr_rings_forget_stale(struct sr_rings *rs)
{
	int fd = dup(rs->statefd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (strncmp(e->d_name, "open-", 5))
			continue;
		/* a ring removed before its open-span file was, or a
		 * temporary left by a crash */
		if ((n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) ||
		    (faccessat(rs->dirfd, e->d_name + 5, F_OK,
			       AT_SYMLINK_NOFOLLOW) < 0 &&
		     errno == ENOENT))
			unlinkat(rs->statefd, e->d_name, 0);
	}
	closedir(d);
}
