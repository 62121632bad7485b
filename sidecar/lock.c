/* SPDX-License-Identifier: MIT */
#include "common/limits.h"
#include "lock.h"

#include <errno.h>
#include <sys/file.h>
#include <time.h>

#include "common/clock.h"

int sr_flock_wait(int fd, uint64_t wait_ns, void (*on_wait)(void *ctx),
		  void *ctx)
{
	uint64_t until = sr_mono_ns() + wait_ns;
	struct timespec ts = { 0, SR_LOCK_TRY_NS };

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
