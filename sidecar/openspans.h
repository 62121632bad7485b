/* SPDX-License-Identifier: MIT */
/*
 * openspans.h - the open spans of a ring survive a sidecar restart: the
 * set the assembler holds (sidecar/assemble.h) is saved to a small file,
 * "open-<ring name>" in the spool directory, before the ring is committed
 * past their starts, read back when the ring is opened again, removed
 * with the ring, swept when its ring is gone, and written again when the
 * spool directory was recreated under the sidecar. Every open-span file
 * is handled here and nowhere else.
 *
 * File: "SROPEN1\n" | { u32 len | u64 seq | SPAN_START payload }…, the
 * entries in order of arrival (the orphan rule needs it); the bytes are
 * defined in openspans_layout.h. Untrusted when read back: an entry that
 * does not decode is skipped, a length beyond the file ends it.
 *
 * Drain thread only.
 */
#ifndef SR_SD_OPENSPANS_H
#define SR_SD_OPENSPANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assemble.h"

/* Saves ring `ring`'s open set into dirfd (temporary, fdatasync when
 * `sync`, rename), or removes the file when the set is empty; the set is
 * then clean. 0 or -errno. */
int sr_openspans_save(int dirfd, const char *ring, struct sr_asm_ring *r,
		      bool sync) __attribute__((warn_unused_result));

/* Loads ring `ring`'s saved set into r: 0 (a missing file is an empty
 * set), -EBADMSG (not such a file), -EFBIG, -ENOMEM or -errno. */
int sr_openspans_load(int dirfd, const char *ring, struct sr_asm_ring *r);

/* Restores the open set of an open-span file image of len bytes into r
 * (untrusted bytes: tests/fuzz/fuzz_openspans.c covers it): 0, -EBADMSG
 * (not such a file: another magic, or shorter than its header) or
 * -ENOMEM. An entry that does not decode is skipped; an entry header cut
 * short or a length beyond the image ends it. */
int sr_openspans_parse(const uint8_t *buf, size_t len, struct sr_asm_ring *r);

/* Removes ring `ring`'s file (the ring is gone or unusable). */
void sr_openspans_remove(int dirfd, const char *ring);

/* Removes the files whose ring is gone (`exists` says false) and
 * temporaries a crash left. */
void sr_openspans_sweep(int dirfd, bool (*exists)(void *ctx, const char *ring),
			void *ctx);

#endif /* SR_SD_OPENSPANS_H */
