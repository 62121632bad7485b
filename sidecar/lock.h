/* SPDX-License-Identifier: MIT */
/*
 * lock.h - the exclusive locks that keep a second spanringd off a ring
 * directory and a spool directory. A sidecar restarted the instant the
 * old one was killed can find the lock still held while the kernel tears
 * the dying process down: it waits up to SR_LOCK_WAIT_NS for it.
 */
#ifndef SR_SD_LOCK_H
#define SR_SD_LOCK_H

#include <stdint.h>

/* Takes flock(LOCK_EX) on fd, trying again every few milliseconds for up
 * to wait_ns. `on_wait` (may be NULL) is called once, when the first try
 * fails. 0, -EWOULDBLOCK when still held after wait_ns, or -errno. */
int sr_flock_wait(int fd, uint64_t wait_ns, void (*on_wait)(void *ctx),
		  void *ctx) __attribute__((warn_unused_result));

#endif /* SR_SD_LOCK_H */
