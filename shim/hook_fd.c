/* SPDX-License-Identifier: MIT */
/*
 * hook_fd.c - keeps the ring's lock descriptor alive in programs that
 * close every descriptor (daemons, shells, closefrom(3) before exec).
 *
 * The descriptor holds the flock that tells the sidecar this process is
 * alive; closing it would make a live process look dead. So close() of it
 * pretends to succeed and leaves it open, close_range()/closefrom() skip
 * it, and dup2()/dup3() onto its number first move it elsewhere. It is
 * O_CLOEXEC, so an exec still drops it. Closing it through a raw system
 * call (syscall(SYS_close, ...)) is not seen.
 */
#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"
#include "shim.h"

static bool is_ring_fd(int fd)
{
	return shim.protect && fd == shim.protect_fd;
}

SHIM_API int close(int fd)
{
	if (is_ring_fd(fd))
		return 0;
	/* Inside the shim (setting up the ring at start, or a hook's own
	 * descriptors): the plain system call, not a cancellation point,
	 * and libc's close need not be resolved for it. */
	if (shim_thr.guard)
		return (int)syscall(SYS_close, fd);
	return REAL(close)(fd);
}

static int real_close_range(unsigned first, unsigned last, int flags)
{
	if (!REAL(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	return REAL(close_range)(first, last, flags);
}

SHIM_API int close_range(unsigned first, unsigned last, int flags)
{
	unsigned fd = (unsigned)shim.protect_fd;
	int rc = 0, err = errno;

	if (!shim.protect || fd < first || fd > last)
		return real_close_range(first, last, flags);
	if (fd > first && real_close_range(first, fd - 1, flags) < 0) {
		rc = -1;
		err = errno;
	}
	if (fd < last && real_close_range(fd + 1, last, flags) < 0 && !rc) {
		rc = -1;
		err = errno;
	}
	errno = err;
	return rc;
}

SHIM_API void closefrom(int lowfd)
{
	int err = errno;
	long max;

	if (!shim.protect || lowfd < 0 || shim.protect_fd < lowfd) {
		REAL(closefrom)(lowfd);
		return;
	}
	if (close_range((unsigned)lowfd, UINT_MAX, 0) < 0) {
		/* no close_range in this kernel: one by one, skipping ours */
		max = sysconf(_SC_OPEN_MAX);
		for (long fd = lowfd; fd < max && fd < INT_MAX; fd++)
			close((int)fd);
	}
	errno = err;
}

/* The program wants the ring's descriptor number: move the ring away. */
static void make_room(int newfd)
{
	int err = errno;

	if (!is_ring_fd(newfd))
		return;
	shim.protect = false;
	if (sr_ring_relocate_fd(&shim.ring, newfd + 1) == 0)
		shim.protect_fd = sr_ring_fd(&shim.ring);
	shim.protect = true;
	errno = err;
}

SHIM_API int dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		make_room(newfd);
	return REAL(dup2)(oldfd, newfd);
}

SHIM_API int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		make_room(newfd);
	return REAL(dup3)(oldfd, newfd, flags);
}
