/* SPDX-License-Identifier: MIT */
#include "rings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"
#include "identity.h"
#include "openspans.h"
#include "log.h"
#include "stats.h"

enum ring_state {
	R_LIVE,  /* owner alive (as last checked) */
	R_DYING, /* owner gone: drain, wait the grace, close orphans */
	R_DONE,  /* orphans closed: remove after the next hand-off */
	R_BAD,   /* refused or dropped: skipped until the file vanishes */
	R_WAIT,  /* header not complete, or not shared yet: try again */
};

struct ring {
	char name[SR_RING_NAME_MAX];
	int dirfd;   /* the directory holding it (borrowed) */
	bool denied; /* open refused: permission (rings_unreadable) */
	struct sr_reader *rd;
	struct sr_asm_ring *ar;
	enum ring_state st;
	uint32_t pid;
	bool seen;        /* found by the current rescan */
	bool uncommitted; /* read past the last commit */
	bool queued;      /* has items in memory, not yet spooled */
	bool malformed_logged;
	uint64_t drops[3]; /* producer drops already counted: full,
			      oversize, no lane (as clamped by the reader) */
	bool drops_logged;
	uint64_t faults; /* integrity faults already counted */
	uint64_t lost;
	uint64_t clamped;    /* stamps clamped already counted */
	uint64_t next_check; /* monotonic ns of the next liveness probe */
	uint64_t dead_mono, dead_real;
	uint64_t seen_mono; /* first found */
	struct sr_ring_info *info;
};

/* A uid-<N>/ subdirectory of a world-writable ring directory. Its
 * descriptor stays open while the sidecar runs: rings read from it keep
 * using it after it is removed or replaced (then a new slot is taken). */
struct sub {
	char name[32];
	int fd; /* -1: refused */
	ino_t ino;
	bool seen;          /* found by the current rescan */
	bool logged;        /* a refusal or denied ring was logged */
	bool settling;      /* refused (EACCES) soon after it was found
			     * (SR_RING_WAIT_RETRY_NS): maybe not
			     * shared yet, not reported */
	uint64_t seen_mono; /* first found */
};

struct sr_rings {
	struct sr_rings_opts o;
	int dirfd, statefd;
	bool volume; /* dirfd is world-writable: serve uid-<N>/ only */
	bool direct_logged;
	bool denied_logged; /* a denied ring directly in dirfd was logged */
	int inofd;          /* inotify: subdirectories are watched too */
	int scan_fd;        /* directory being scanned (on_name) */
	struct sub subs[SR_DIR_MAX_SUBDIRS];
	size_t nsub;
	struct sr_asm *a;
	struct ring **r;
	size_t n;
	size_t next;      /* rotation start */
	struct ring *cur; /* ring whose records are being read */
	const struct sr_sink *sink;
};

struct sr_rings *sr_rings_new(const struct sr_rings_opts *o, int dirfd,
			      int statefd, struct sr_asm *a)
{
	struct sr_rings *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->o = *o;
	rs->dirfd = dirfd;
	rs->inofd = -1;
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
	for (size_t i = 0; i < rs->nsub; i++)
		if (rs->subs[i].fd >= 0)
			close(rs->subs[i].fd);
	SR_STAT_SET(rings_active, 0);
	free(rs->r);
	free(rs);
}

void sr_rings_serve(struct sr_rings *rs, bool volume, int inofd)
{
	rs->volume = volume;
	rs->inofd = inofd;
}

static struct ring *find(struct sr_rings *rs, int dirfd, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i]->dirfd == dirfd && !strcmp(rs->r[i]->name, name))
			return rs->r[i];
	return NULL;
}

static struct sub *sub_of(struct sr_rings *rs, int dirfd)
{
	for (size_t i = 0; i < rs->nsub; i++)
		if (rs->subs[i].fd == dirfd)
			return &rs->subs[i];
	return NULL;
}

/*
 * A ring the sidecar may not open: its spans cannot be exported. An error
 * (once per directory; the rest are counted), a gauge the health probe
 * reads and, at exit, status 77: never a silent success.
 */
static void ring_denied(struct sr_rings *rs, struct ring *g, const char *why)
{
	struct sub *sb = sub_of(rs, g->dirfd);
	bool *logged = sb ? &sb->logged : &rs->denied_logged;
	struct stat st;

	g->denied = true;
	SR_STAT_ADD(rings_unreadable_total, 1);
	if (*logged)
		return;
	*logged = true;
	if (fstatat(g->dirfd, g->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		memset(&st, 0, sizeof(st));
	sr_log(SR_LOG_ERROR, "rings",
	       "ring %s%s%s cannot be read (%s; owner uid %u gid %u, mode %o, "
	       "spanringd runs as uid %u): its spans are not exported; run "
	       "spanringd as that uid or root, or share a group "
	       "(common/README.md); further such rings are counted only",
	       sb ? sb->name : "", sb ? "/" : "", g->name, why,
	       (unsigned)st.st_uid, (unsigned)st.st_gid,
	       (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
}

/* Opens a ring; failures leave it BAD (logged once) or WAIT. */
static void ring_open(struct sr_rings *rs, struct ring *g)
{
	char why[256], ident[SR_IDENT_TEXT_MAX];
	size_t ident_n;
	int rc = sr_reader_open(g->dirfd, g->name, 0, &g->rd, why, sizeof(why));

	if (rc == -EAGAIN) {
		g->st = R_WAIT;
		return;
	}
	if (rc == -EACCES &&
	    sr_mono_ns() - g->seen_mono < SR_RING_WAIT_RETRY_NS) {
		g->st = R_WAIT; /* the shim's fchmod may not have run yet */
		return;
	}
	if (rc == -EACCES || rc == -EPERM) {
		g->st = R_BAD;
		ring_denied(rs, g, why);
		return;
	}
	if (rc) {
		g->st = R_BAD;
		SR_STAT_ADD(rings_bad, 1);
		sr_log(SR_LOG_WARN, "rings", "ring %s refused: %s", g->name,
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
	ident_n = sr_identity_members(ident, sizeof(ident),
				      g->info->owner_pidns);
	if (sr_asm_ring_identity(g->ar, ident, ident_n)) {
		sr_reader_free(g->rd);
		g->rd = NULL;
		g->st = R_BAD;
		SR_STAT_ADD(rings_bad, 1);
		return;
	}
	if (sr_openspans_load(rs->statefd, g->name, g->ar))
		sr_log(SR_LOG_WARN, "rings",
		       "ring %s: its open-span file is unreadable, ignored",
		       g->name);
	g->st = R_LIVE;
	SR_STAT_ADD(rings_seen, 1);
	sr_log(SR_LOG_DEBUG, "rings", "ring %s opened (pid %u)", g->name,
	       g->pid);
}

static void on_name(void *ctx, const char *name)
{
	struct sr_rings *rs = ctx;
	struct ring *g = find(rs, rs->scan_fd, name);

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
	g->dirfd = rs->scan_fd;
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
	uint64_t n = 0, denied = 0, subs = 0;

	for (size_t i = 0; i < rs->n; i++) {
		n += rs->r[i]->rd != NULL;
		denied += rs->r[i]->denied;
	}
	for (size_t i = 0; i < rs->nsub; i++)
		subs += rs->subs[i].seen && rs->subs[i].fd < 0 &&
			!rs->subs[i].settling;
	SR_STAT_SET(rings_active, n);
	SR_STAT_SET(rings_unreadable, denied);
	SR_STAT_SET(dirs_unreadable, subs);
}

/* Ring files directly in a world-writable directory: anyone could have
 * written them, so they are not exported (logged once). */
static void on_direct(void *ctx, const char *name)
{
	struct sr_rings *rs = ctx;

	if (rs->direct_logged)
		return;
	rs->direct_logged = true;
	sr_log(SR_LOG_WARN, "rings",
	       "ring %s ignored: %s is writable by anyone, rings are served "
	       "from its " SR_DIR_SUB_PREFIX "<uid>/ subdirectories only "
	       "(logged once)",
	       name, rs->o.dir);
}

/* A uid-<N>/ entry of the directory: served when it is uid N's own. */
static void on_sub(void *ctx, const char *name)
{
	struct sr_rings *rs = ctx;
	struct sub *sb = NULL;
	struct stat st;
	char why[256], path[4200];
	int fd;

	if (fstatat(rs->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	for (size_t i = 0; i < rs->nsub; i++)
		if (!strcmp(rs->subs[i].name, name) &&
		    rs->subs[i].ino == st.st_ino && !rs->subs[i].seen) {
			sb = &rs->subs[i];
			break;
		}
	if (sb && sb->fd >= 0) {
		sb->seen = true;
		return;
	}
	if (!sb) {
		if (rs->nsub == SR_DIR_MAX_SUBDIRS)
			return;
		sb = &rs->subs[rs->nsub++];
		snprintf(sb->name, sizeof(sb->name), "%s", name);
		sb->ino = st.st_ino;
		sb->fd = -1;
		sb->seen_mono = sr_mono_ns();
	}
	sb->seen = true;
	fd = sr_dir_open_sub(rs->dirfd, name, why, sizeof(why));
	sb->settling = fd == -EACCES &&
		       sr_mono_ns() - sb->seen_mono < SR_RING_WAIT_RETRY_NS;
	if (fd < 0) {
		if (!sb->logged && !sb->settling) {
			sr_log(SR_LOG_ERROR, "rings",
			       "ring directory %s/%s cannot be served: %s "
			       "(spanringd runs as uid %u)",
			       rs->o.dir, name, why, (unsigned)geteuid());
			SR_STAT_ADD(dirs_unreadable_total, 1);
		}
		sb->logged |= !sb->settling;
		return;
	}
	sb->fd = fd;
	sb->logged = false;
	if (rs->inofd >= 0 && snprintf(path, sizeof(path), "%s/%s", rs->o.dir,
				       name) < (int)sizeof(path))
		inotify_add_watch(rs->inofd, path, IN_CREATE | IN_MOVED_TO);
	sr_log(SR_LOG_DEBUG, "rings", "serving %s/%s", rs->o.dir, name);
}

/* What the shim counted: processes that ran untraced. */
static void shim_counts(struct sr_rings *rs)
{
	uint64_t full = sr_dir_refused(rs->dirfd), was;

	for (size_t i = 0; i < rs->nsub; i++)
		if (rs->subs[i].seen && rs->subs[i].fd >= 0)
			full += sr_dir_refused(rs->subs[i].fd);
	was = SR_STAT_GET(shim_untraced_full);
	if (full > was)
		sr_log(SR_LOG_WARN, "rings",
		       "%s: %llu more processes ran untraced: the ring "
		       "directory was at its cap (%llu in all, %s)",
		       rs->o.dir, (unsigned long long)(full - was),
		       (unsigned long long)full, SR_DIR_CAPPED_FILE);
	SR_STAT_SET(shim_untraced_full, full);
	SR_STAT_SET(shim_untraced_dir, sr_dir_untraced(rs->dirfd));
}

int sr_rings_rescan(struct sr_rings *rs)
{
	int rc;

	for (size_t i = 0; i < rs->n; i++)
		rs->r[i]->seen = false;
	for (size_t i = 0; i < rs->nsub; i++)
		rs->subs[i].seen = false;
	rs->scan_fd = rs->dirfd;
	rc = sr_dir_scan(rs->dirfd, 0, rs->volume ? on_direct : on_name, rs);
	if (rc < 0)
		return rc;
	sr_dir_scan_subs(rs->dirfd, SR_DIR_MAX_SUBDIRS, on_sub, rs);
	for (size_t i = 0; i < rs->nsub; i++) {
		if (!rs->subs[i].seen || rs->subs[i].fd < 0)
			continue;
		rs->scan_fd = rs->subs[i].fd;
		sr_dir_scan(rs->subs[i].fd, 0, on_name, rs);
	}
	shim_counts(rs);
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
	if (rec->flags & SR_RF_TRUNCATED)
		SR_STAT_ADD(records_truncated, 1);
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
	sr_log(SR_LOG_WARN, "rings",
	       "ring %s truncated under the reader: dropped", g->name);
	SR_STAT_ADD(rings_bad, 1);
	sr_reader_free(g->rd);
	g->rd = NULL;
	g->st = R_BAD;
	sr_openspans_remove(rs->statefd, g->name);
}

static void note_faults(struct ring *g)
{
	uint64_t f = sr_reader_faults(g->rd), l = sr_reader_lost_bytes(g->rd);
	uint64_t c = sr_reader_clamped(g->rd);

	if (c != g->clamped) {
		if (!g->clamped)
			sr_log(SR_LOG_WARN, "rings",
			       "ring %s: a TSC stamp or anchor no writer makes: "
			       "clamped (further ones counted only)",
			       g->name);
		SR_STAT_ADD(ring_stamps_clamped, c - g->clamped);
		g->clamped = c;
	}
	if (f == g->faults)
		return;
	if (!g->faults)
		sr_log(SR_LOG_WARN, "rings",
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
	    now - g->dead_mono < (uint64_t)(rs->o.orphan_grace * 1e9))
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

/* Adds what a counter grew by since last seen (a counter that went down
 * was rewritten by a hostile or restarted writer: counted from there). */
static uint64_t grown(uint64_t *seen, uint64_t now)
{
	uint64_t d = now >= *seen ? now - *seen : now;

	*seen = now;
	return d;
}

/*
 * The producers' drops of every ring, as running totals: a ring's growth
 * since the last look is added, so what a ring lost stays counted after
 * the ring is removed. One log line per ring, the first time it drops.
 */
static void ring_drops(struct sr_rings *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct ring *g = rs->r[i];
		struct sr_ring_info *in = g->info;
		uint64_t f, o, l;

		if (!g->rd)
			continue;
		f = grown(&g->drops[0], in->dropped_full);
		o = grown(&g->drops[1], in->dropped_oversize);
		l = grown(&g->drops[2], in->dropped_no_lane);
		SR_STAT_ADD(dropped_ring_full, f);
		SR_STAT_ADD(dropped_ring_oversize, o);
		SR_STAT_ADD(dropped_ring_no_lane, l);
		if ((f | o | l) && !g->drops_logged) {
			g->drops_logged = true;
			sr_log(SR_LOG_WARN, "rings",
			       "ring %s: pid %u dropped records: %llu ring "
			       "full, %llu too big, %llu no free lane "
			       "(running totals in stats; logged once per ring)",
			       g->name, g->pid,
			       (unsigned long long)in->dropped_full,
			       (unsigned long long)in->dropped_oversize,
			       (unsigned long long)in->dropped_no_lane);
		}
	}
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
		if (g->st == R_WAIT &&
		    now - g->seen_mono < SR_RING_WAIT_RETRY_NS)
			ring_open(rs, g);
		if (!g->rd)
			continue;
		if (sr_reader_info(g->rd, g->info)) {
			ring_lost(rs, g);
			continue;
		}
		if (g->info->max_fill >= rs->o.trigger_ratio)
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
	ring_drops(rs);
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

/* Removes a finished ring, its open-span file and its slot; a ring that
 * cannot be removed is logged and forgotten all the same. */
static void remove_done(struct sr_rings *rs, size_t i)
{
	struct ring *g = rs->r[i];
	int rc = sr_dir_remove(g->dirfd, g->name);

	if (rc && rc != -ENOENT)
		sr_log(SR_LOG_WARN, "rings", "ring %s: cannot remove: %s",
		       g->name, strerror(-rc));
	sr_openspans_remove(rs->statefd, g->name);
	SR_STAT_ADD(rings_removed, 1);
	drop(rs, i);
}

static int commit_ring(struct sr_rings *rs, struct ring *g)
{
	int rc = 0;

	if (sr_asm_ring_dirty(g->ar)) {
		rc = sr_openspans_save(rs->statefd, g->name, g->ar,
				       rs->o.fsync);
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

void sr_rings_state_lost(struct sr_rings *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i]->ar)
			sr_asm_ring_touch(rs->r[i]->ar);
}

/* true unless the ring file is known to be gone from every directory
 * served. */
static bool ring_exists(void *ctx, const char *name)
{
	struct sr_rings *rs = ctx;

	if (faccessat(rs->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return true;
	for (size_t i = 0; i < rs->nsub; i++)
		if (rs->subs[i].fd >= 0 &&
		    (faccessat(rs->subs[i].fd, name, F_OK,
			       AT_SYMLINK_NOFOLLOW) == 0 ||
		     errno != ENOENT))
			return true;
	return false;
}

void sr_rings_forget_stale(struct sr_rings *rs)
{
	sr_openspans_sweep(rs->statefd, ring_exists, rs);
}
