/* SPDX-License-Identifier: MIT */
/*
 * hook_proc.c - fork, _exit, _Exit, the wait family and prctl.
 *
 * fork records a `fork` span in the parent; the child is re-born by the
 * pthread_atfork child handler (process.c), which gives it its own ring
 * and process span under that fork span.
 *
 * vfork is not interposed: a vfork child shares its parent's memory and
 * stack, so a wrapper could not even return into it. The exec hooks notice
 * they run in such a child (its pid is not the image's) and hand the span
 * to the next image (hook_exec.c).
 *
 * The wait family writes a CHILD_EXIT record for every child it reaps
 * that exited or was killed: the sidecar uses it to give the child's
 * process span, if the child could not end it (a fatal signal), its exit
 * status.
 *
 * prctl(PR_SET_SECCOMP) is watched: once a filter is installed the shim
 * makes no system call of its own (a filter that allows only what the
 * program needs would kill it).
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "process.h"
#include "real.h"
#include "shim.h"

static void fork_done(struct sr_span_rec *s, pid_t pid, int err)
{
	char data[96], errd[32];

	s->end_ns = shim_stamp();
	if (pid < 0) {
		snprintf(data, sizeof(data), "{\"process.pid\":%u}", shim.pid);
		shim_span_errno(s, err, errd, sizeof(errd));
	} else {
		snprintf(data, sizeof(data),
			 "{\"process.pid\":%u,\"process.child_pid\":%d}",
			 shim.pid, (int)pid);
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
		memcpy(shim_thr.fork_trace, s.trace_id, 16);
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

SHIM_API void _exit(int status)
{
	shim_process_end(status & 0xff, 0, true);
	REAL(exit_)(status);
	__builtin_unreachable();
}

SHIM_API void _Exit(int status)
{
	shim_process_end(status & 0xff, 0, true);
	REAL(Exit)(status);
	__builtin_unreachable();
}

/* A reaped child: CHILD_EXIT if it exited or was killed. */
static void child_exit(pid_t pid, int status)
{
	struct sr_child_rec c = { .pid = (uint32_t)pid, .status = status };

	if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status)) ||
	    !shim_enter(SHIM_HOOK_PROCESS))
		return;
	c.ts_ns = sr_now_ns();
	memcpy(c.trace_id, shim.trace_id, 16);
	shim_emit_child(&c);
	shim_leave();
}

SHIM_API pid_t waitpid(pid_t pid, int *status, int options)
{
	int local, *st = status ? status : &local, err;
	pid_t r = REAL(waitpid)(pid, st, options);

	err = errno;
	if (r > 0)
		child_exit(r, *st);
	errno = err;
	return r;
}

SHIM_API pid_t wait(int *status)
{
	int local, *st = status ? status : &local, err;
	pid_t r = REAL(wait)(st);

	err = errno;
	if (r > 0)
		child_exit(r, *st);
	errno = err;
	return r;
}

SHIM_API pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	int local, *st = status ? status : &local, err;
	pid_t r = REAL(wait4)(pid, st, options, ru);

	err = errno;
	if (r > 0)
		child_exit(r, *st);
	errno = err;
	return r;
}

SHIM_API pid_t wait3(int *status, int options, struct rusage *ru)
{
	int local, *st = status ? status : &local, err;
	pid_t r = REAL(wait3)(st, options, ru);

	err = errno;
	if (r > 0)
		child_exit(r, *st);
	errno = err;
	return r;
}

/* waitid reports through siginfo; WNOWAIT leaves the child unreaped. */
SHIM_API int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int r = REAL(waitid)(idtype, id, info, options), err = errno, st;

	if (r == 0 && info && info->si_pid > 0 && !(options & WNOWAIT)) {
		if (info->si_code == CLD_EXITED)
			st = W_EXITCODE(info->si_status, 0);
		else if (info->si_code == CLD_KILLED)
			st = info->si_status;
		else if (info->si_code == CLD_DUMPED)
			st = info->si_status | WCOREFLAG;
		else
			st = -1;
		if (st != -1)
			child_exit(info->si_pid, st);
	}
	errno = err;
	return r;
}

/* prctl: glibc reads four more arguments whatever the option. */
SHIM_API int prctl(int option, ...)
{
	unsigned long a[4];
	bool seccomp = option == PR_SET_SECCOMP;
	va_list ap;
	int rc, err;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	/* set first: a filter applies from the call's return on, and
	 * another thread may be in the shim meanwhile */
	if (seccomp && !shim.sandboxed) {
		shim.sandboxed = true;
		shim.ring.frozen = 1;
		rc = REAL(prctl)(option, a[0], a[1], a[2], a[3]);
		err = errno;
		if (rc < 0) {
			shim.ring.frozen = 0;
			shim.sandboxed = false;
		}
		errno = err;
		return rc;
	}
	return REAL(prctl)(option, a[0], a[1], a[2], a[3]);
}
