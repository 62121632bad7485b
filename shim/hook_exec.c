/* SPDX-License-Identifier: MIT */
/*
 * hook_exec.c - the exec family. Each exec opens an `exec` span
 * (SPAN_START, flag EXEC) and passes on an environment naming it as the
 * parent of the next image; if the exec fails the span ends with the
 * error. If it succeeds the image is gone: the sidecar ends the exec span
 * and the process span at the exec's start.
 *
 * Everything here runs on the stack (it is legal between fork and exec):
 * the execl forms gather their arguments on the stack, as glibc does.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "envp.h"
#include "process.h"
#include "real.h"
#include "shim.h"

extern char **environ;

enum exec_kind { EXEC_PATH, EXEC_SEARCH, EXEC_FD };

struct exec_call {
	enum exec_kind kind;
	const char *file; /* path, or name searched in PATH */
	int fd;           /* fexecve */
	char *const *argv;
};

static int call_real(const struct exec_call *c, char *const envp[])
{
	switch (c->kind) {
	case EXEC_SEARCH:
		return REAL(execvpe)(c->file, c->argv, envp);
	case EXEC_FD:
		return REAL(fexecve)(c->fd, c->argv, envp);
	default:
		return REAL(execve)(c->file, c->argv, envp);
	}
}

/* The exec with the child's environment; if the added variables push it
 * over the kernel's limit (E2BIG), again with the caller's own: the shim
 * never turns a working exec into a failing one. */
static int exec_with(const struct exec_call *c, char *const nenv[],
		     char *const envp[], bool raw)
{
	int rc;

	for (int i = 0; i < 2; i++, nenv = envp) {
		/* a child sharing its parent's memory, maybe on a small
		 * stack: execve by system call, no libc symbol to resolve */
		if (raw && c->kind == EXEC_PATH)
			rc = (int)syscall(SYS_execve, c->file, c->argv, nenv);
		else
			rc = call_real(c, nenv);
		if (errno != E2BIG || nenv == envp)
			break;
		shim_debug("exec of %.200s: environment too large with "
			   "spanring's variables, child untraced",
			   c->file ? c->file : "(fd)");
	}
	return rc;
}

/* true if a set-user-ID or set-group-ID file: the shim does not follow a
 * program into another identity. A name searched in PATH is not looked
 * up (the loader ignores a preloaded library from a non-system path under
 * secure execution anyway, and the shim stays inactive there). */
static bool set_id_file(const struct exec_call *c)
{
	struct stat st;
	int rc;

	if (c->kind == EXEC_FD)
		rc = fstat(c->fd, &st);
	else if (c->file && strchr(c->file, '/'))
		rc = stat(c->file, &st);
	else
		return false;
	return rc == 0 &&
	       ((st.st_mode & S_ISUID) ||
		(st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP));
}

/* Whether the child gets spanring's variables: not when the envp says
 * SPANRING_DISABLE=1, nor across an identity change (see envp.h). */
static bool may_trace_child(const struct exec_call *c, char *const envp[])
{
	if (shim_envp_disabled(envp))
		return false;
	if (shim_identity_changed() || set_id_file(c)) {
		shim_debug("exec of %.200s: identity changed, child untraced",
			   c->file ? c->file : "(fd)");
		return false;
	}
	return true;
}

static size_t exec_data(char *buf, size_t n, const struct exec_call *c)
{
	char fdpath[32];
	struct sr_jw w;

	sr_jw_init(&w, buf, n);
	sr_jw_lit(&w, "{");
	sr_jw_member(&w, "process.executable.path");
	if (c->kind == EXEC_FD) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", c->fd);
		sr_jw_cstr_val(&w, fdpath);
	} else {
		shim_jw_text(&w, c->file, 512);
	}
	sr_jw_member(&w, "process.command_args");
	shim_jw_argv(&w, c->argv, SR_ARGV_JSON_MAX);
	sr_jw_lit(&w, "}");
	return w.len;
}

/* The exec, with spanring's variables naming (trace, span) as the child's
 * parent (and `vfork_env` when not NULL) if the child may be traced. */
static int exec_child(const struct exec_call *c, char *const envp[],
		      const uint8_t trace[16], const uint8_t span[12],
		      const char *vfork_env, bool raw)
{
	if (!may_trace_child(c, envp))
		return exec_with(c, envp, envp, raw);
	SHIM_ENVP_DECL(e, envp);
	e.vfork = vfork_env;
	return exec_with(c, shim_envp_build(&e, envp, trace, span), envp, raw);
}

/* An exec that failed where no exec span was open: the complete span *s
 * (ids and start set) with the path and the error; `child_pid` nonzero:
 * written from a vfork child into its parent's ring, on a shared lane.
 * Off the exec path's stack. */
static __attribute__((noinline, cold)) void
exec_failed(const struct exec_call *c, struct sr_span_rec *s,
	    uint32_t child_pid, int err)
{
	char data[640], errd[32];
	struct sr_jw w;

	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member(&w, "process.executable.path");
	shim_jw_text(&w, c->file ? c->file : "(fd)", 512);
	if (child_pid)
		sr_jw_member_i64(&w, "process.child_pid", child_pid);
	sr_jw_lit(&w, "}");
	s->end_ns = shim_stamp();
	s->data = (struct sr_str){ data, (uint32_t)w.len };
	shim_span_errno(s, err, errd, sizeof(errd));
	if (child_pid)
		shim_emit_span_from_child(s, child_pid);
	else
		shim_emit_span(SR_REC_SPAN, s);
}

/* This image execs: an `exec` span (SPAN_START, flag EXEC) that names the
 * next image's parent; its end with the error if the exec returns. */
static __attribute__((noinline)) int image_exec(const struct exec_call *c,
						char *const envp[])
{
	char data[SR_ARGV_JSON_MAX + 1024], errd[32];
	struct sr_span_rec s;
	int rc, err;

	shim_span_open(&s, "exec", SR_SF_EXEC);
	s.data.p = data;
	s.data.n = (uint32_t)exec_data(data, sizeof(data), c);
	shim_emit_span(SR_REC_SPAN_START, &s);
	rc = exec_child(c, envp, s.trace_id, s.span_id, NULL, false);
	/* still here: the exec failed */
	err = errno;
	s.end_ns = shim_stamp();
	s.start_ns = 0;
	s.data = (struct sr_str){ "{}", 2 };
	shim_span_errno(&s, err, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN_END, &s);
	errno = err;
	return rc;
}

/* A child sharing the parent's memory (vfork, clone(CLONE_VM)) execs: it
 * must not write with its parent's thread state nor leave a span open in
 * the parent's ring, and may run on a small stack. The next image records
 * the `spawn` span (SPANRING_VFORK); only a failure is written here. */
static int shared_child_exec(const struct exec_call *c, char *const envp[],
			     uint32_t pid)
{
	char vfork_env[SHIM_VFORK_ENV_MAX];
	struct sr_span_rec s;
	int rc, err;

	shim_span_open(&s, "spawn", 0);
	/* the next image reads it from its environment: realtime ns */
	s.start_ns = sr_now_ns();
	shim_vfork_env(vfork_env, pid, s.start_ns, s.trace_id, s.span_id,
		       s.parent_id);
	/* the guard is the parent thread's: a successful exec never comes
	 * back to give it back */
	shim_leave();
	rc = exec_child(c, envp, s.trace_id, s.span_id, vfork_env, true);
	err = errno;
	if (shim_enter(SHIM_HOOK_EXEC)) {
		exec_failed(c, &s, pid, err);
		shim_leave();
	}
	errno = err;
	return rc;
}

/* A fork child that has recorded nothing execs: no ring is made for it.
 * The next image's process span goes under the fork span (the child's
 * pid lives on in it); only a failed exec makes the child's ring, to
 * record the error. A vfork child of such a child (`shared`) has no ring
 * to write into. The guard is not taken: nothing here reaches a hook, and
 * a vfork child could not give it back after a successful exec. */
static int pending_child_exec(const struct exec_call *c, char *const envp[],
			      const uint8_t parent[12], bool shared)
{
	uint64_t start = sr_now_ns();
	struct sr_span_rec s;
	int rc, err;

	rc = exec_child(c, envp, shim.trace_id, parent, NULL, shared);
	err = errno;
	if (!shared && shim_enter(SHIM_HOOK_EXEC)) {
		shim_span_open(&s, "exec", 0);
		s.start_ns = start;
		exec_failed(c, &s, 0, err);
		shim_leave();
	}
	errno = err;
	return rc;
}

static int traced_exec(const struct exec_call *c, char *const envp[])
{
	const uint8_t *pending = shim_pending_parent();
	uint32_t pid;
	int rc;

	if (pending && (shim.hooks & SHIM_HOOK_EXEC) && !shim_thr.guard)
		return pending_child_exec(c, envp, pending,
					  shim_in_shared_child());
	if (!shim_enter(SHIM_HOOK_EXEC))
		return call_real(c, envp);
	/* shared_child_exec() leaves the guard itself */
	if (shim_shared_child_pid(&pid))
		return shared_child_exec(c, envp, pid);
	rc = image_exec(c, envp);
	shim_leave();
	return rc;
}

SHIM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	struct exec_call c = { EXEC_PATH, path, -1, argv };

	return traced_exec(&c, envp);
}

SHIM_API int execv(const char *path, char *const argv[])
{
	struct exec_call c = { EXEC_PATH, path, -1, argv };

	return traced_exec(&c, environ);
}

SHIM_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	struct exec_call c = { EXEC_SEARCH, file, -1, argv };

	return traced_exec(&c, envp);
}

SHIM_API int execvp(const char *file, char *const argv[])
{
	struct exec_call c = { EXEC_SEARCH, file, -1, argv };

	return traced_exec(&c, environ);
}

SHIM_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct exec_call c = { EXEC_FD, NULL, fd, argv };

	return traced_exec(&c, envp);
}

/* Arguments of an execl-style call after arg0, up to the NULL (and for
 * execle the envp after it), counted as glibc does: any number. */
static size_t count_listed(const char *arg0, va_list ap)
{
	va_list cp;
	size_t n = 1;

	va_copy(cp, ap);
	while (arg0 && va_arg(cp, char *) != NULL)
		n++;
	va_end(cp);
	return n;
}

/* Fills argv (n + 1 entries) from arg0 and ap; the terminating NULL is
 * consumed from ap, so execle's envp follows. */
static void gather(char **argv, size_t n, const char *arg0, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i < n; i++)
		argv[i] = va_arg(*ap, char *);
	if (arg0)
		(void)va_arg(*ap, char *);
	argv[n] = NULL;
}

/* An execl-style call: the argument vector on the stack as glibc builds
 * it (E2BIG past INT_MAX arguments, as there), then for execle the envp
 * after the NULL, else environ. */
static int exec_listed(enum exec_kind kind, const char *file, const char *arg0,
		       va_list *ap, bool has_envp)
{
	size_t n = count_listed(arg0, *ap);
	struct exec_call c = { kind, file, -1, NULL };
	char **argv;

	if (n >= INT_MAX) {
		errno = E2BIG;
		return -1;
	}
	argv = __builtin_alloca((n + 1) * sizeof(char *));
	gather(argv, n, arg0, ap);
	c.argv = argv;
	return traced_exec(&c, has_envp ? va_arg(*ap, char *const *) : environ);
}

SHIM_API int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = exec_listed(EXEC_PATH, path, arg0, &ap, false);
	va_end(ap);
	return rc;
}

SHIM_API int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = exec_listed(EXEC_SEARCH, file, arg0, &ap, false);
	va_end(ap);
	return rc;
}

SHIM_API int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = exec_listed(EXEC_PATH, path, arg0, &ap, true);
	va_end(ap);
	return rc;
}
