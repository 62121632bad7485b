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

/*
 * Opens the ring directory after checking it is safe to share: a real
 * directory (a symlink is refused), owned by the effective uid, or owned
 * by root with the sticky bit (a shared volume); not writable by group or
 * others unless sticky. With `create`, makes it with mode 0700 when it is
 * missing (its parent must exist). Returns an O_DIRECTORY|O_CLOEXEC fd or
 * -errno, with the reason in `why` (e.g. "/x: owned by uid 0, not 1000").
 */
int sr_dir_open(const char *path, bool create, char *why, size_t whylen);

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
 * SR_DIR_MAX_RINGS). */
bool sr_dir_has_room(int dirfd, uint64_t need, uint32_t max_rings);

/* Counts one ring that was not created because the directory was full:
 * one byte appended to SR_DIR_CAPPED_FILE, whose size is the count. */
void sr_dir_count_refused(int dirfd);
uint64_t sr_dir_refused(int dirfd);

/* Removes a ring file (only names that parse as rings). 0 or -errno. */
int sr_dir_remove(int dirfd, const char *name);

#endif /* SR_RINGDIR_H */
