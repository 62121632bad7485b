/* SPDX-License-Identifier: MIT */
/*
 * hook_exec.c - the exec family. Each exec opens an `exec` span
 * (SPAN_START, flag EXEC) and passes on an environment naming it as the
 * parent of the next image; if the exec fails the span ends with the
 * error. If it succeeds the image is gone: the sidecar ends the exec span
 * and the process span at the exec's start.
 *
 * Everything here runs on the stack (it is legal between fork and exec):
 * the execl forms gather their arguments into a bounded array.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "envp.h"
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

static size_t exec_data(char *buf, size_t n, const struct exec_call *c)
{
	char fdpath[32];
	struct sr_jw w;

	sr_jw_init(&w, buf, n);
	sr_jw_lit(&w, "{");
	sr_jw_key(&w, "process.executable.path");
	if (c->kind == EXEC_FD) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", c->fd);
		sr_jw_cstr_val(&w, fdpath);
	} else {
		shim_jw_text(&w, c->file, 512);
	}
	sr_jw_lit(&w, ",");
	sr_jw_key(&w, "process.command_args");
	shim_jw_argv(&w, c->argv, SR_ARGV_JSON_MAX);
	sr_jw_lit(&w, "}");
	return w.len;
}

static int traced_exec(const struct exec_call *c, char *const envp[])
{
	char data[SR_ARGV_JSON_MAX + 1024], errd[32];
	struct sr_span_rec s;
	struct shim_envp e;
	char *const *nenv;
	int rc, err;

	if (!shim_enter(SHIM_HOOK_EXEC))
		return call_real(c, envp);
	shim_span_open(&s, "exec", SR_SF_EXEC);
	s.data.p = data;
	s.data.n = (uint32_t)exec_data(data, sizeof(data), c);
	nenv = shim_envp_build(&e, envp, s.trace_id, s.span_id);
	shim_emit_span(SR_REC_SPAN_START, &s);
	rc = call_real(c, nenv);
	/* still here: the exec failed */
	err = errno;
	s.end_ns = sr_now_ns();
	s.start_ns = 0;
	s.data = (struct sr_str){ "{}", 2 };
	shim_span_errno(&s, err, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN_END, &s);
	shim_leave();
	errno = err;
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

/* Gathers execl-style arguments after arg0 into argv (NULL-terminated);
 * returns false (E2BIG) beyond SR_EXECL_ARGS_MAX. */
static bool gather(char **argv, const char *arg0, va_list *ap)
{
	size_t n = 0;

	argv[n++] = (char *)arg0;
	while (arg0 && (argv[n] = va_arg(*ap, char *)) != NULL)
		if (++n >= SR_EXECL_ARGS_MAX)
			return false;
	argv[n] = NULL;
	return true;
}

/* execl, execlp: the listed arguments, gathered on the stack, and environ. */
static int exec_listed(enum exec_kind kind, const char *file,
		       const char *arg0, va_list *ap)
{
	char *argv[SR_EXECL_ARGS_MAX + 1];
	struct exec_call c = { kind, file, -1, argv };

	if (!gather(argv, arg0, ap)) {
		errno = E2BIG;
		return -1;
	}
	return traced_exec(&c, environ);
}

SHIM_API int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = exec_listed(EXEC_PATH, path, arg0, &ap);
	va_end(ap);
	return rc;
}

SHIM_API int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = exec_listed(EXEC_SEARCH, file, arg0, &ap);
	va_end(ap);
	return rc;
}

SHIM_API int execle(const char *path, const char *arg0, ...)
{
	char *argv[SR_EXECL_ARGS_MAX + 1];
	struct exec_call c = { EXEC_PATH, path, -1, argv };
	char *const *envp;
	va_list ap;
	bool ok;

	va_start(ap, arg0);
	ok = gather(argv, arg0, &ap);
	envp = ok ? va_arg(ap, char *const *) : NULL;
	va_end(ap);
	if (!ok) {
		errno = E2BIG;
		return -1;
	}
	return traced_exec(&c, envp);
}
