/* SPDX-License-Identifier: MIT */
/*
 * rings.h - the rings of a directory: discovery (rescans, prompted by
 * inotify), fair round-robin draining, owner liveness, orphan closing,
 * committing after hand-off, removal of drained dead rings. Hostile files
 * are logged once, counted and skipped. Used by the drain thread only.
 */
#ifndef SR_SD_RINGS_H
#define SR_SD_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assemble.h"
#include "common/limits.h"

struct sr_rings;

/* Where items go: emit() takes the item's json (0 or -errno); full()
 * says the queue is full, which stops the drain before the next record. */
struct sr_sink {
	sr_emit_fn emit;
	bool (*full)(void *ctx);
	void *ctx;
};

/* What the rings need of the configuration. */
struct sr_rings_opts {
	const char *dir;      /* the ring directory's path (for the log) */
	double orphan_grace;  /* s between noticing death and closing */
	double trigger_ratio; /* ring fill that asks for a hand-off */
	bool fsync;           /* open-span files synced before a commit */
};

/* `dirfd` is the ring directory, `statefd` where open-span files live
 * (the spool directory); `o` is copied, o->dir must outlive the rings.
 * NULL + errno. */
struct sr_rings *sr_rings_new(const struct sr_rings_opts *o, int dirfd,
			      int statefd, struct sr_asm *a);
void sr_rings_free(struct sr_rings *rs);

/* How the directory is served: `volume` (world-writable) serves only its
 * uid-<N>/ subdirectories (rings directly in it are ignored, logged
 * once); subdirectories are served in every case and watched with
 * `inofd` (-1: rescans only). Call before the first rescan. */
void sr_rings_serve(struct sr_rings *rs, bool volume, int inofd);

/* Opens rings that appeared (in the directory and its uid-<N>/
 * subdirectories), forgets files that vanished, reads the shim's untraced
 * counts. Rings or subdirectories it may not open are logged as errors
 * and counted (rings_unreadable, dirs_unreadable). 0 or -errno. */
int sr_rings_rescan(struct sr_rings *rs);

/*
 * One drain round: each ring gets a turn of SR_DRAIN_TURN bytes, in
 * rotation. Returns the records read (0: nothing new), stopping early
 * when the sink is full.
 */
int sr_rings_drain(struct sr_rings *rs, const struct sr_sink *sink);

/*
 * Checks owners (at most every `interval` ns per ring), closes the open
 * spans of rings whose owner is gone once they are drained and the grace
 * has passed (all of them at once when `now_all`), and updates the ring
 * gauges. Returns true if a ring is fuller than the trigger ratio.
 */
bool sr_rings_tick(struct sr_rings *rs, const struct sr_sink *sink,
		   bool now_all);

/* True when some ring has reads whose items are all handed off but not
 * committed, or a ring waits for removal. */
bool sr_rings_pending(const struct sr_rings *rs);

/*
 * After the queued items are in the spool: saves changed open-span sets,
 * commits every ring that has no items left in memory (`all`: every ring,
 * the queue being empty), removes drained dead rings. 0 or -errno (the
 * first error; the others are still tried).
 */
int sr_rings_commit(struct sr_rings *rs, bool all)
	__attribute__((warn_unused_result));

/* The open-span files were lost (the spool directory was removed): every
 * ring's set is written again at the next commit. */
void sr_rings_state_lost(struct sr_rings *rs);

/* Removes open-span files whose ring is gone (a crash between removing
 * a ring and its file) and stale temporaries. */
void sr_rings_forget_stale(struct sr_rings *rs);

/* Marks that the ring whose records are being read has items in memory
 * (called from the sink's emit). */
void sr_rings_note_queued(struct sr_rings *rs);

#endif /* SR_SD_RINGS_H */
