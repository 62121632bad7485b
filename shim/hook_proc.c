/* SPDX-License-Identifier: MIT */
/*
 * hook_proc.c - fork, vfork, _exit and _Exit.
 *
 * fork records a `fork` span in the parent; the child is re-born by the
 * pthread_atfork child handler (process.c), which gives it its own ring
 * and process span under that fork span.
 *
 * vfork is implemented as fork, as POSIX allows (vfork's only guarantee
 * over fork is a cheaper start). A real vfork child shares the parent's
 * memory and stack: it would write its records into the parent's ring and
 * lanes, and a wrapper function cannot even return into it safely. A fork
 * child gets its own ring and its own process span instead; the program
 * sees the same results (the parent is not suspended until the child
 * execs, which no correct vfork user can observe).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "process.h"
#include "real.h"
#include "shim.h"

static void fork_done(struct sr_span_rec *s, pid_t pid, int err)
{
	char data[96], errd[32];

	s->end_ns = sr_now_ns();
	if (pid < 0) {
		snprintf(data, sizeof(data), "{\"process.pid\":%d}", (int)getpid());
		shim_span_errno(s, err, errd, sizeof(errd));
	} else {
		snprintf(data, sizeof(data),
			 "{\"process.pid\":%d,\"process.child_pid\":%d}",
			 (int)getpid(), (int)pid);
	}
	s->data = (struct sr_str){ data, (uint32_t)strlen(data) };
	shim_emit_span(SR_REC_SPAN, s);
}

SHIM_API pid_t fork(void)
{
	struct sr_span_rec s;
	bool rec = shim_enter(SHIM_HOOK_PROCESS);
	pid_t pid;
	int err;

	if (rec) {
		shim_span_open(&s, "fork", 0);
		/* read by the atfork child handler in the child */
		memcpy(shim_thr.fork_span, s.span_id, 12);
	}
	pid = REAL(fork)();
	err = errno;
	if (pid == 0) {
		if (rec)
			shim_leave();
		errno = err;
		return 0;
	}
	memset(shim_thr.fork_span, 0, 12);
	if (rec) {
		fork_done(&s, pid, err);
		shim_leave();
	}
	errno = err;
	return pid;
}

SHIM_API pid_t vfork(void)
{
	return fork();
}

SHIM_API void _exit(int status)
{
	shim_process_end(status & 0xff, 0);
	REAL(exit_)(status);
	__builtin_unreachable();
}

SHIM_API void _Exit(int status)
{
	shim_process_end(status & 0xff, 0);
	REAL(Exit)(status);
	__builtin_unreachable();
}
