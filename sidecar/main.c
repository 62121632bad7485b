/* SPDX-License-Identifier: MIT */
/*
 * spanringd - drains the rings of a directory, assembles spans, keeps
 * them in a durable spool and exports them (sidecar/README.md).
 *
 * This thread drains (rings -> queue -> spool -> commit); one export
 * thread per destination delivers (spool -> network, file, console).
 * Signals arrive through a signalfd.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "assemble.h"
#include "common/clock.h"
#include "common/ringdir.h"
#include "config.h"
#include "common/limits.h"
#include "export.h"
#include "lock.h"
#include "health.h"
#include "identity.h"
#include "log.h"
#include "queue.h"
#include "rings.h"
#include "spool.h"
#include "stats.h"

struct daemon {
	struct sr_config c;
	int dirfd, lockfd, sigfd, inofd;
	enum sr_dir_kind kind; /* of the ring directory */
	struct sr_spool *spool;
	struct sr_asm *asm_;
	struct sr_rings *rings;
	struct sr_exporter *exp[SR_EXPORTERS_MAX]; /* one per destination */
	struct sr_queue *q;
	struct sr_sink sink;
	bool stop, force;
	uint64_t spool_retry; /* monotonic ns: no hand-off before */
	uint64_t heals;       /* spool heals already answered */
	bool spool_failed;    /* the last hand-off was refused */
	struct sr_spool_opts sopts;
	struct sr_rings_opts ropts;
	const char *names[SR_EXPORTERS_MAX]; /* destinations in the spool */
};

/* Writes the queue as one spool segment of max_batch_size batches. */
static int spool_queue(struct daemon *d)
{
	struct sr_spool_batch *b;
	size_t nb;
	int rc = sr_queue_batches(d->q, d->c.max_batch_size, &b, &nb);

	if (rc || !nb)
		return rc;
	/* the spool takes b: the exporters may send these very texts */
	return sr_spool_put(d->spool, b, nb);
}

/* A recreated spool directory lost the open-span files: write them
 * again before any ring is committed past their starts. */
static void after_heal(struct daemon *d)
{
	uint64_t h = sr_spool_heals(d->spool);

	if (h != d->heals) {
		d->heals = h;
		sr_rings_state_lost(d->rings);
	}
}

/* New segments for every destination (`force`: SIGUSR1, cut waits). */
static void kick_all(struct daemon *d, int force)
{
	for (unsigned k = 0; k < d->c.n_exporters; k++)
		if (d->exp[k])
			sr_exporter_kick(d->exp[k], force);
}

/* Hands the queue to the spool, then commits the rings (R-RING-7). On a
 * spool failure nothing is committed: the rings are read again later. */
static int __attribute__((warn_unused_result)) flush(struct daemon *d)
{
	int rc = sr_spool_check(d->spool);

	if (!rc)
		rc = spool_queue(d);
	if (!rc)
		rc = sr_spool_sync(d->spool);
	after_heal(d);
	if (rc) {
		/* logged once per outage, not once a second */
		if (!d->spool_failed)
			sr_log(SR_LOG_ERROR, "spool",
			       "cannot write a segment: %s; %zu items stay in "
			       "memory, their rings uncommitted (tried again "
			       "every second)",
			       strerror(-rc), sr_queue_len(d->q));
		d->spool_failed = true;
		d->spool_retry = sr_mono_ns() + SR_SPOOL_RETRY_NS;
		SR_STAT_SET(spool_failing, 1);
		return rc;
	}
	if (d->spool_failed)
		sr_log(SR_LOG_INFO, "spool", "segments written again");
	d->spool_failed = false;
	SR_STAT_SET(spool_failing, 0);
	sr_queue_clear(d->q);
	SR_STAT_SET(queue_items, 0);
	rc = sr_rings_commit(d->rings, true);
	kick_all(d, d->force);
	return rc;
}

/* The spool or a ring refused: the items stay in memory or their rings
 * uncommitted; flush() logged why and set when to try again. */
static void flush_now(struct daemon *d)
{
	if (flush(d))
		sr_log(SR_LOG_DEBUG, "main", "hand-off incomplete, retried");
}

static bool sink_full(void *ctx)
{
	struct daemon *d = ctx;

	return sr_queue_len(d->q) >= d->c.max_queue_size;
}

static int sink_emit(void *ctx, const struct sr_item *it)
{
	struct daemon *d = ctx;
	int rc = sr_queue_push(d->q, it);

	if (!rc)
		sr_rings_note_queued(d->rings);
	return rc;
}

/* Drains rings round after round until nothing is new; flushes whenever
 * the queue fills. */
static void drain_all(struct daemon *d)
{
	for (int rounds = 0; rounds < 1000; rounds++) {
		int n;

		sr_queue_clock(d->q);
		n = sr_rings_drain(d->rings, &d->sink);

		if (sink_full(d)) {
			if (sr_mono_ns() < d->spool_retry || flush(d) != 0)
				break;
		} else if (n == 0) {
			break;
		}
	}
	SR_STAT_SET(queue_items, sr_queue_len(d->q));
}

static bool flush_due(struct daemon *d, bool hot)
{
	uint64_t trigger = (uint64_t)(d->c.max_queue_size *
				      d->c.export_trigger_ratio);

	size_t n = sr_queue_len(d->q);

	if (!n || sr_mono_ns() < d->spool_retry)
		return false;
	if (d->force || hot || n >= (trigger ? trigger : 1))
		return true;
	return sr_mono_ns() - sr_queue_oldest(d->q) >=
	       (uint64_t)(d->c.schedule_delay * 1e9);
}

static void tick(struct daemon *d, bool all)
{
	bool hot;

	sr_queue_clock(d->q);
	hot = sr_rings_tick(d->rings, &d->sink, all);

	drain_all(d);
	if (flush_due(d, hot) || (d->force && !sr_queue_len(d->q))) {
		flush_now(d);
	} else if (sr_rings_pending(d->rings)) {
		/* rings whose reads produced no queued item (span starts) */
		if (sr_rings_commit(d->rings, sr_queue_len(d->q) == 0))
			sr_log(SR_LOG_DEBUG, "main",
			       "commit incomplete, "
			       "retried on the next tick");
	}
	if (d->force)
		kick_all(d, 1);
	d->force = false;
}

static void on_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			d->stop = true;
			break;
		case SIGUSR1:
			d->force = true;
			d->spool_retry = 0; /* cuts this wait too */
			break;
		case SIGHUP:
			if (sr_log_reopen())
				sr_log(SR_LOG_ERROR, "log", "cannot reopen %s",
				       d->c.log_file);
			break;
		}
	}
}

/* True if a ring file appeared (our own stats file's rename does not
 * count). */
static bool on_inotify(struct daemon *d)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool ring = false;
	ssize_t n;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			uint32_t pid;
			uint64_t bytes;

			if (ev->len &&
			    (sr_ring_name_parse(ev->name, &pid, &bytes) ||
			     sr_dir_sub_parse(ev->name, NULL)))
				ring = true;
			if (ev->mask & IN_Q_OVERFLOW)
				ring = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return ring;
}

static int poll_ms(struct daemon *d, uint64_t next_tick, uint64_t next_stats)
{
	uint64_t now = sr_mono_ns(), until = next_stats;

	if (next_tick < until)
		until = next_tick;
	if (sr_queue_len(d->q)) {
		uint64_t due = sr_queue_oldest(d->q) +
			       (uint64_t)(d->c.schedule_delay * 1e9);

		if (due < d->spool_retry)
			due = d->spool_retry;
		if (due < until)
			until = due;
	}
	return until <= now ? 0 : (int)((until - now) / 1000000 + 1);
}

/* Rewrites the stats file; a failure is logged once per outage. */
static void write_stats(struct daemon *d)
{
	static bool failing;
	int rc = sr_stats_write(d->c.stats_file);

	if (rc && !failing)
		sr_log(SR_LOG_ERROR, "main", "stats file %s: cannot write: %s",
		       d->c.stats_file, strerror(-rc));
	else if (!rc && failing)
		sr_log(SR_LOG_INFO, "main", "stats file %s: written again",
		       d->c.stats_file);
	failing = rc != 0;
}

static void run(struct daemon *d)
{
	uint64_t now = sr_mono_ns(), next_tick = now, next_scan = now,
		 next_stats = now,
		 tick_ns = (uint64_t)(d->c.poll_interval * 1e9);
	struct pollfd p[2] = { { d->sigfd, POLLIN, 0 },
			       { d->inofd, POLLIN, 0 } };

	while (!d->stop) {
		bool scan = false;

		if (poll(p, d->inofd >= 0 ? 2 : 1,
			 poll_ms(d, next_tick, next_stats)) > 0) {
			if (p[0].revents)
				on_signals(d);
			if (d->inofd >= 0 && p[1].revents)
				scan = on_inotify(d);
		}
		now = sr_mono_ns();
		if (scan || now >= next_scan) {
			sr_rings_rescan(d->rings);
			next_scan = now + SR_RESCAN_NS;
		}
		if (scan || d->force || now >= next_tick) {
			tick(d, false);
			next_tick = now + tick_ns;
		} else if (flush_due(d, false)) {
			flush_now(d);
		}
		if (now >= next_stats) {
			write_stats(d);
			next_stats = now + SR_STATS_EVERY_NS;
		}
	}
}

/* SIGTERM: drain everything drainable, spool it, deliver what can be
 * delivered before the deadline. Returns 0, or SR_EX_CANTCREAT when
 * items could not be spooled (their rings stay uncommitted: a restart
 * reads them again). */
static int shutdown_all(struct daemon *d)
{
	uint64_t deadline = sr_mono_ns() +
			    (uint64_t)(d->c.shutdown_timeout * 1e9);
	size_t unspooled;

	sr_log(SR_LOG_INFO, "main", "stopping: draining rings, %.1fs to flush",
	       d->c.shutdown_timeout);
	sr_rings_rescan(d->rings);
	d->spool_retry = 0;
	tick(d, true);
	drain_all(d);
	d->spool_retry = 0;
	flush_now(d);
	unspooled = sr_queue_len(d->q);
	/* all at once: each has the whole deadline */
	for (unsigned k = 0; k < d->c.n_exporters; k++)
		sr_exporter_stop(d->exp[k], deadline);
	for (unsigned k = 0; k < d->c.n_exporters; k++)
		sr_exporter_join(d->exp[k]);
	SR_STAT_SET(queue_items, sr_queue_len(d->q));
	write_stats(d);
	if (unspooled) {
		sr_log(SR_LOG_ERROR, "main",
		       "stopped; %zu segments (%llu items) left in the spool, "
		       "%zu items could not be spooled: their rings are not "
		       "committed, a restart reads them again",
		       sr_spool_count(d->spool),
		       (unsigned long long)sr_spool_items(d->spool), unspooled);
		return SR_EX_CANTCREAT;
	}
	sr_log(SR_LOG_INFO, "main",
	       "stopped; %zu segments (%llu items) left in the spool",
	       sr_spool_count(d->spool),
	       (unsigned long long)sr_spool_items(d->spool));
	return 0;
}

static void on_lock_wait(void *ctx)
{
	struct daemon *d = ctx;

	sr_log(SR_LOG_INFO, "main",
	       "%s: lock held, waiting up to %.1fs for a stopping spanringd",
	       d->c.dir, SR_LOCK_WAIT_NS / 1e9);
}

static int take_lock(struct daemon *d)
{
	char buf[32];
	int n;

	d->lockfd = openat(d->dirfd, ".spanringd.lock",
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->lockfd < 0) {
		fprintf(stderr, "spanringd: %s/.spanringd.lock: %s\n", d->c.dir,
			strerror(errno));
		return SR_EX_CANTCREAT;
	}
	if (sr_flock_wait(d->lockfd, SR_LOCK_WAIT_NS, on_lock_wait, d) < 0) {
		n = (int)pread(d->lockfd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		fprintf(stderr,
			"spanringd: %s is already served by another spanringd "
			"(pid %s)\n",
			d->c.dir, n > 0 ? buf : "?");
		return SR_EX_TEMPFAIL;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(d->lockfd, 0) < 0 ||
	    pwrite(d->lockfd, buf, (size_t)n, 0) != n)
		sr_log(SR_LOG_WARN, "main",
		       "cannot write the pid to the lock file");
	return 0;
}

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGHUP);
}

/* Blocked from the start (a SIGTERM during start-up is handled once the
 * loop runs) and before the export thread starts, which inherits it. */
static void block_signals(void)
{
	sigset_t set;

	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	signal_set(&set);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->sigfd < 0 ? -errno : 0;
}

/* Every traced process creates and maps a file in the ring directory: on a
 * disk filesystem that costs a start several times what it costs on tmpfs
 * (B3 in README.md: ~5x the CPU of a shell loop's iteration). Said once,
 * at start. */
static void warn_if_disk(struct daemon *d)
{
	struct statfs sf;

	if (fstatfs(d->dirfd, &sf) < 0 || sf.f_type == TMPFS_MAGIC ||
	    sf.f_type == RAMFS_MAGIC)
		return;
	sr_log(SR_LOG_WARN, "main",
	       "ring directory %s is not on tmpfs (filesystem type 0x%lx): "
	       "every traced process start costs several times as much as "
	       "on tmpfs; use /dev/shm or a memory-backed volume",
	       d->c.dir, (unsigned long)sf.f_type);
}

static int open_dirs(struct daemon *d)
{
	char why[512];
	struct sr_dir dir;

	if (sr_dir_open_as(d->c.dir, SR_DIR_CREATE | SR_DIR_CONSUMER, &dir, why,
			   sizeof(why))) {
		fprintf(stderr, "spanringd: ring directory %s unusable: %s\n",
			d->c.dir, why);
		return SR_EX_CANTCREAT;
	}
	d->dirfd = dir.fd;
	d->kind = dir.kind;
	/* processes of any uid count there that they ran untraced */
	sr_dir_untraced_init(d->dirfd);
	warn_if_disk(d);
	return take_lock(d);
}

/*
 * The default spool is under $HOME or /var/lib: with a read-only root
 * file system (containers) it cannot be made. It then goes beside the
 * rings, <dir>/.spanringd-spool, which lives exactly as long as they do
 * (the spool holds their open spans: both must survive a restart
 * together). An explicit --spool-dir is never replaced.
 */
static struct sr_spool *spool_fallback(struct daemon *d, int err,
				       const char *first, char *why, size_t n)
{
	char dl[sizeof(d->c.dead_letter)];
	struct sr_spool *sp;
	struct stat st;

	if (sr_config_given(&d->c, "spool-dir") ||
	    (err != EROFS && err != EACCES && err != EPERM && err != ENOENT))
		return NULL;
	/* made here, checked by lstat: in a directory writable by anyone a
	 * planted symlink must not lead the spool elsewhere */
	if ((mkdirat(d->dirfd, ".spanringd-spool", 0700) < 0 &&
	     errno != EEXIST) ||
	    fstatat(d->dirfd, ".spanringd-spool", &st, AT_SYMLINK_NOFOLLOW) <
		    0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		if (snprintf(why, n,
			     "%s; %s/.spanringd-spool is not this "
			     "uid's directory either",
			     first, d->c.dir) >= (int)n)
			why[n - 1] = 0;
		return NULL;
	}
	if (snprintf(dl, sizeof(dl), "%s/dead-letter.jsonl", d->c.spool_dir) >=
	    (int)sizeof(dl))
		dl[0] = 0;
	if (snprintf(d->c.spool_dir, sizeof(d->c.spool_dir),
		     "%s/.spanringd-spool",
		     d->c.dir) >= (int)sizeof(d->c.spool_dir))
		return NULL;
	if (!strcmp(dl, d->c.dead_letter) &&
	    snprintf(d->c.dead_letter, sizeof(d->c.dead_letter),
		     "%s/dead-letter.jsonl",
		     d->c.spool_dir) >= (int)sizeof(d->c.dead_letter))
		return NULL;
	sp = sr_spool_open(d->c.spool_dir, &d->sopts, why, n);
	if (sp)
		sr_log(SR_LOG_INFO, "spool",
		       "default spool unusable (%s): using %s beside the rings",
		       first, d->c.spool_dir);
	return sp;
}

static int open_spool(struct daemon *d)
{
	char why[512] = "", first[512];

	for (unsigned k = 0; k < d->c.n_exporters; k++)
		d->names[k] = sr_exporter_kind_name(d->c.exporters[k]);
	d->sopts = (struct sr_spool_opts){
		.codec = d->c.compression,
		.max_bytes = d->c.spool_max_bytes,
		.sync = d->c.fsync,
		.names = d->names,
		.ndest = d->c.n_exporters,
	};
	d->spool = sr_spool_open(d->c.spool_dir, &d->sopts, why, sizeof(why));
	if (!d->spool) {
		int err = errno;

		snprintf(first, sizeof(first), "%s", why);
		d->spool = spool_fallback(d, err, first, why, sizeof(why));
	}
	if (!d->spool) {
		fprintf(stderr, "spanringd: spool: %s\n", why);
		return errno == EWOULDBLOCK ? SR_EX_TEMPFAIL : SR_EX_CANTCREAT;
	}
	return 0;
}

/* One exporter per destination, each on its own thread; all are set up
 * (files opened, URLs and headers ready) before any starts. */
static int setup_exporters(struct daemon *d)
{
	char why[512] = "";

	for (unsigned k = 0; k < d->c.n_exporters; k++) {
		if (sr_stats_dest(d->names[k]) != (int)k)
			return SR_EX_SOFTWARE;
		d->exp[k] = sr_exporter_new(&d->c, d->c.exporters[k], k,
					    d->spool, why, sizeof(why));
		if (!d->exp[k]) {
			fprintf(stderr, "spanringd: %s\n", why);
			return errno == ENOMEM ? SR_EX_OSERR : SR_EX_CANTCREAT;
		}
	}
	for (unsigned k = 0; k < d->c.n_exporters; k++)
		if (sr_exporter_start(d->exp[k]))
			return SR_EX_OSERR;
	return 0;
}

static int setup(struct daemon *d)
{
	int rc = open_dirs(d);

	if (!rc)
		rc = open_spool(d);
	if (rc)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || setup_signals(d))
		return SR_EX_OSERR;
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inofd >= 0 && inotify_add_watch(d->inofd, d->c.dir,
					       IN_CREATE | IN_MOVED_TO) < 0) {
		close(d->inofd);
		d->inofd = -1;
	}
	d->q = sr_queue_new();
	d->asm_ = d->q ? sr_asm_new() : NULL;
	d->ropts = (struct sr_rings_opts){
		.dir = d->c.dir,
		.orphan_grace = d->c.orphan_grace,
		.trigger_ratio = d->c.export_trigger_ratio,
		.fsync = d->c.fsync,
	};
	d->rings = d->asm_ ? sr_rings_new(&d->ropts, d->dirfd,
					  sr_spool_dirfd(d->spool), d->asm_)
			   : NULL;
	if (d->rings)
		sr_rings_serve(d->rings, d->kind == SR_DIR_VOLUME, d->inofd);
	if (!d->rings)
		return SR_EX_OSERR;
	rc = setup_exporters(d);
	if (rc)
		return rc;
	rc = sr_stats_write(d->c.stats_file);
	if (rc) {
		fprintf(stderr, "spanringd: stats file %s: cannot write: %s\n",
			d->c.stats_file, strerror(-rc));
		return SR_EX_CANTCREAT;
	}
	d->sink = (struct sr_sink){ sink_emit, sink_full, d };
	return 0;
}

static void teardown(struct daemon *d)
{
	for (unsigned k = 0; k < d->c.n_exporters; k++)
		sr_exporter_free(d->exp[k]);
	sr_queue_free(d->q);
	sr_rings_free(d->rings);
	sr_asm_free(d->asm_);
	sr_spool_free(d->spool);
	if (d->inofd >= 0)
		close(d->inofd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->lockfd >= 0)
		close(d->lockfd);
	if (d->dirfd >= 0)
		close(d->dirfd);
	curl_global_cleanup();
}

/* 0, or 77 when rings could not be read during the run: their spans
 * were not exported, which a restart policy and an operator must see. */
static int exit_status(void)
{
	uint64_t rings = SR_STAT_GET(rings_unreadable_total),
		 dirs = SR_STAT_GET(dirs_unreadable_total);

	if (!rings && !dirs)
		return 0;
	sr_log(SR_LOG_ERROR, "main",
	       "exit 77: %llu rings and %llu ring directories could not be "
	       "read during the run; their spans were not exported",
	       (unsigned long long)rings, (unsigned long long)dirs);
	return SR_EX_NOPERM;
}

/* One line naming where items come from (sidecar/identity.h). */
static void log_identity(void)
{
	char buf[SR_IDENT_TEXT_MAX];
	size_t n = sr_identity_members(buf, sizeof(buf) - 1, 0);

	buf[n] = 0;
	sr_log(SR_LOG_INFO, "main", "identity added to items: {%s}", buf);
}

/* "openai to URL, file to PATH, …" for the start-up line. */
static void describe_exporters(const struct sr_config *c, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned k = 0; k < c->n_exporters && o < n; k++) {
		enum sr_exporter_kind x = c->exporters[k];
		const char *to = x == SR_EXP_OPENAI ? c->endpoint
				 : x == SR_EXP_OTLP ? c->otlp_endpoint
				 : x == SR_EXP_FILE ? c->output
						    : NULL;
		int w = snprintf(buf + o, n - o, "%s%s%s%s", k ? ", " : "",
				 sr_exporter_kind_name(x), to ? " to " : "",
				 to ? (strcmp(to, "-") ? to : "stdout") : "");

		o += w > 0 ? (size_t)w : 0;
	}
}

int main(int argc, char **argv)
{
	static struct daemon d = { .dirfd = -1,
				   .lockfd = -1,
				   .sigfd = -1,
				   .inofd = -1 };
	int rc = sr_config_load(&d.c, argc, argv);

	if (rc)
		return rc;
	if (d.c.help) {
		sr_config_help(stdout);
		return 0;
	}
	if (d.c.help_markdown) {
		sr_config_help_markdown(stdout);
		return 0;
	}
	if (d.c.version) {
		printf("spanringd %s\n", SR_VERSION);
		return 0;
	}
	if (d.c.check)
		return sr_health_check(d.c.stats_file, d.c.check_max_age,
				       stdout);
	if (d.c.identity)
		sr_identity_init();
	if (sr_log_init(d.c.log_level, d.c.log_file[0] ? d.c.log_file : NULL)) {
		fprintf(stderr, "spanringd: cannot open log file %s: %s\n",
			d.c.log_file, strerror(errno));
		return SR_EX_CANTCREAT;
	}
	block_signals();
	rc = setup(&d);
	if (!rc) {
		char what[8192];

		describe_exporters(&d.c, what, sizeof(what));
		sr_log(SR_LOG_INFO, "main",
		       "serving %s: exporter%s %s, spool %s (%s)", d.c.dir,
		       d.c.n_exporters > 1 ? "s" : "", what, d.c.spool_dir,
		       sr_codec_name(d.c.compression));
		log_identity();
		sr_rings_rescan(d.rings);
		sr_rings_forget_stale(d.rings);
		run(&d);
		rc = shutdown_all(&d);
		if (!rc)
			rc = exit_status();
	}
	teardown(&d);
	return rc;
}
