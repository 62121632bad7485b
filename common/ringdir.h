/* SPDX-License-Identifier: MIT */
/*
 * ringdir.h - the ring directory: where rings live, how they are named,
 * how full the directory may get. No allocation (the shim uses it at
 * start-up): directories are read with getdents64 into a stack buffer.
 *
 * Ring files are named "sr-<pid>-<16 hex nonce>-<file bytes>.ring"; the
 * size in the name lets the cap on bytes be checked without a stat per
 * file.
 */
#ifndef SR_RINGDIR_H
#define SR_RINGDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Writes the ring directory to use: $SPANRING_DIR if set and non-empty,
 * else /dev/shm/spanring-<euid>. 0 or -ENAMETOOLONG. */
int sr_dir_default(char *buf, size_t n);
/* The same for the given euid (the shim's start: from the auxiliary
 * vector, no system call). */
int sr_dir_default_uid(char *buf, size_t n, uint32_t euid);

/*
 * How a ring directory may be shared (common/README.md, "Ring directory"):
 *
 *  PRIVATE  writable by its owner only. The producer must own it; a
 *           consumer must own it or be root. Rings are 0600.
 *  GROUP    group-writable (not by others) and its group is one the
 *           process belongs to (egid or supplementary: Kubernetes
 *           fsGroup). Rings are 0660 of that group.
 *  VOLUME   writable by anyone (0777, 1777, 2777: an emptyDir). Nobody
 *           writes rings into it directly: each uid uses "uid-<uid>/",
 *           made by the producer (0700, or 2770 of the volume's group when
 *           the process belongs to it) and refused when it is not the
 *           producer's own.
 */
enum sr_dir_kind { SR_DIR_PRIVATE, SR_DIR_GROUP, SR_DIR_VOLUME };

#define SR_DIR_CREATE 1u   /* make the named directory (0700) if missing */
#define SR_DIR_PRODUCER 2u /* in a VOLUME, open (make) uid-<euid>/ */
#define SR_DIR_CONSUMER 4u /* root may read a directory it does not own */
/* check against the effective uid and gid the kernel gave this image at
 * exec (auxv AT_EUID / AT_EGID, no system call): only where they cannot
 * have changed yet, the constructor of an exec'd image */
#define SR_DIR_EXEC_IDS 8u

/* An opened ring directory and how rings are made in it. */
struct sr_dir {
	int fd;                /* where rings are (O_DIRECTORY|O_CLOEXEC) */
	int volfd;             /* the named directory when fd is its uid-<uid>/
				* subdirectory, else -1 */
	enum sr_dir_kind kind; /* of the named directory */
	uint32_t ring_mode;    /* 0600, or 0660 when a group shares fd */
	bool ring_chgrp;       /* rings must be given ring_gid (no setgid) */
	uint32_t ring_gid;
	uint64_t size; /* st_size of fd when it was checked */
};

/*
 * Opens the directory `path` after checking it is safe to share, as the
 * kinds above say: a real directory (a symlink is refused), never
 * writable by a group the process is not in. With SR_DIR_CREATE it is
 * made 0700 when missing (its parent must exist). With SR_DIR_PRODUCER a
 * VOLUME's uid-<euid>/ is opened, made first when missing, and must be a
 * real directory owned by the euid and not writable by others. Fills *d
 * and returns 0, or -errno with the reason in `why` (e.g. "/x: owned by
 * uid 0, not 1000"); nothing stays open then.
 */
int sr_dir_open_as(const char *path, unsigned flags, struct sr_dir *d,
		   char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Closes what sr_dir_open_as() opened; safe on a closed one (fd -1). */
void sr_dir_close(struct sr_dir *d);

/* sr_dir_open_as(path, PRODUCER | (create ? CREATE : 0)): the descriptor
 * of the directory rings go into, or -errno (reason in `why`). */
int sr_dir_open(const char *path, bool create, char *why, size_t whylen);

/*
 * Opens the subdirectory `name` ("uid-<N>") of a ring directory for a
 * consumer: a real directory owned by uid N (or root), not writable by
 * others. Returns an O_DIRECTORY|O_CLOEXEC fd or -errno (why filled).
 */
int sr_dir_open_sub(int dirfd, const char *name, char *why, size_t whylen);

/* true if name is "uid-<decimal uid>"; *uid gets it. */
bool sr_dir_sub_parse(const char *name, uint32_t *uid);

/* Calls fn for every "uid-<N>" entry of the directory (at most max).
 * Returns the number seen or -errno. */
int sr_dir_scan_subs(int dirfd, unsigned max,
		     void (*fn)(void *ctx, const char *name), void *ctx);

/* Counts one process that ran untraced because `path` (as given to it)
 * was refused: one byte appended to SR_DIR_UNTRACED_FILE in `path` when
 * that is a real directory the process may write to. Best effort. */
void sr_dir_count_untraced(const char *path);
/* The count (size of SR_DIR_UNTRACED_FILE in dirfd), 0 when absent. */
uint64_t sr_dir_untraced(int dirfd);
/* Makes SR_DIR_UNTRACED_FILE (mode 0666, so processes of every uid can
 * append) when missing. 0 or -errno. */
int sr_dir_untraced_init(int dirfd);

/* true if name is a ring file name; *bytes gets the size it states. */
bool sr_ring_name_parse(const char *name, uint32_t *pid, uint64_t *bytes);

/* Writes a ring file name for pid, an 8-byte nonce and the file size. */
void sr_ring_name(char out[SR_RING_NAME_MAX], uint32_t pid,
		  const uint8_t nonce[8], uint64_t bytes);

/* Calls fn for every ring file name in the directory (at most max_files;
 * 0 means no limit). Returns the number seen or -errno. */
int sr_dir_scan(int dirfd, unsigned max_files,
		void (*fn)(void *ctx, const char *name), void *ctx);

/* Counts ring files and the bytes their names state. 0 or -errno. */
int sr_dir_usage(int dirfd, uint32_t *rings, uint64_t *bytes);

/* true if one more ring fits: the directory's filesystem has at least
 * `need` bytes free (its real free space: rings are sparse, see
 * SR_DIR_MIN_FREE) and fewer than `max_rings` ring files (0:
 * SR_DIR_MAX_RINGS); on tmpfs fewer than `max_rings` entries of any kind,
 * counted from the directory's size without reading it (ringdir.c). */
bool sr_dir_has_room(int dirfd, uint64_t need, uint32_t max_rings);
/* The same for a directory just opened with sr_dir_open_as(): its size as
 * checked then, so no second fstat. */
bool sr_dir_open_has_room(const struct sr_dir *d, uint64_t need,
			  uint32_t max_rings);

/* Counts one ring that was not created because the directory was full:
 * one byte appended to SR_DIR_CAPPED_FILE, whose size is the count. */
void sr_dir_count_refused(int dirfd);
uint64_t sr_dir_refused(int dirfd);

/* Removes a ring file (only names that parse as rings). 0 or -errno. */
int sr_dir_remove(int dirfd, const char *name);

#endif /* SR_RINGDIR_H */
