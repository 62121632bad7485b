/* SPDX-License-Identifier: MIT */
#include "lock.h"

#include <errno.h>
#include <sys/file.h>
#include <time.h>

#include "common/clock.h"

/* Between tries: short against the wait, long enough not to spin. */
#define TRY_EVERY_NS 10000000l

int sr_flock_wait(int fd, uint64_t wait_ns, void (*on_wait)(void *ctx),
		  void *ctx)
{
	uint64_t until = sr_mono_ns() + wait_ns;
	struct timespec ts = { 0, TRY_EVERY_NS };

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		if (sr_mono_ns() >= until)
			return -EWOULDBLOCK;
		if (on_wait) {
			on_wait(ctx);
			on_wait = NULL;
		}
		nanosleep(&ts, NULL);
	}
}
