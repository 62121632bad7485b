/* SPDX-License-Identifier: MIT */
/*
 * guard.h - survive a mapping that shrinks under us.
 *
 * A ring file can be truncated by anyone who can write it; touching the
 * vanished pages of a MAP_SHARED mapping raises SIGBUS. Consumers (the
 * sidecar, the dump tool) read shared memory only through these calls,
 * which turn that SIGBUS into -EFAULT instead of death. Never used by the
 * shim: it installs no signal handler.
 */
#ifndef SR_GUARD_H
#define SR_GUARD_H

#include <stddef.h>
#include <stdint.h>

/* Installs the SIGBUS handler once per process. Returns 0 or -errno.
 * A SIGBUS outside a guarded call keeps its default action. */
int sr_guard_init(void);

/* memcpy from shared memory. Returns 0, or -EFAULT if the source vanished
 * (nothing is known then about what dst holds). Thread-safe. */
int sr_guard_copy(void *dst, const void *src, size_t n)
	__attribute__((warn_unused_result));

/* Load-acquire / store-release of a shared 64-bit position. 0 or -EFAULT. */
int sr_guard_load_acquire(const void *p, uint64_t *out)
	__attribute__((warn_unused_result));
int sr_guard_store_release(void *p, uint64_t v)
	__attribute__((warn_unused_result));

#endif /* SR_GUARD_H */
