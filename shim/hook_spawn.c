/* SPDX-License-Identifier: MIT */
/*
 * hook_spawn.c - posix_spawn, posix_spawnp, system, popen and pclose.
 *
 * system() and popen() run /bin/sh, which inherits the caller's environ.
 * Changing environ to name the span would race with other threads, so the
 * shim implements both itself with posix_spawn of `/bin/sh -c CMD` and an
 * envp of its own, keeping their documented semantics: system() ignores
 * SIGINT and SIGQUIT and blocks SIGCHLD while it waits, the child gets the
 * caller's signal mask and default SIGINT/SIGQUIT, the result is a wait
 * status (127 as exit code when the shell cannot be started); popen()
 * accepts "r", "w" with an optional "e" (close-on-exec), its children do
 * not inherit other popen() streams, and pclose() returns the wait status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "envp.h"
#include "real.h"
#include "shim.h"

extern char **environ;

static const char shell_path[] = "/bin/sh";

/* --- posix_spawn -------------------------------------------------------- */

static void spawn_done(struct sr_span_rec *s, const char *path,
		       char *const argv[], pid_t pid, int rc)
{
	char data[SR_ARGV_JSON_MAX + 1024], errd[32];
	struct sr_jw w;

	s->end_ns = shim_stamp();
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member_cstr(&w, "process.executable.path", path);
	sr_jw_member(&w, "process.command_args");
	shim_jw_argv(&w, argv, SR_ARGV_JSON_MAX);
	if (rc == 0) {
		sr_jw_member_i64(&w, "process.child_pid", pid);
	}
	sr_jw_lit(&w, "}");
	s->data = (struct sr_str){ data, (uint32_t)w.len };
	if (rc)
		shim_span_errno(s, rc, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN, s);
}

static int traced_spawn(bool search, pid_t *pid, const char *path,
			const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[],
			char *const envp[])
{
	__typeof__(shim_real.posix_spawn) fn = search ? REAL(posix_spawnp)
						      : REAL(posix_spawn);
	struct sr_span_rec s;
	char *const *nenv = envp;
	pid_t child = 0;
	int rc, err;

	if (!shim_enter(SHIM_HOOK_EXEC))
		return fn(pid, path, fa, attr, argv, envp);
	shim_span_open(&s, "spawn", 0);
	if (shim_envp_may_trace(envp)) {
		SHIM_ENVP_DECL(e, envp);

		nenv = shim_envp_build(&e, envp, s.trace_id, s.span_id);
		rc = fn(&child, path, fa, attr, argv, nenv);
		/* our variables pushed it over the kernel's limit */
		if (rc == E2BIG && nenv != envp)
			rc = fn(&child, path, fa, attr, argv, envp);
	} else {
		rc = fn(&child, path, fa, attr, argv, envp);
	}
	/* errno as the real call left it (glibc sets it on some failures) */
	err = errno;
	if (pid && rc == 0)
		*pid = child;
	spawn_done(&s, path, argv, child, rc);
	shim_leave();
	errno = err;
	return rc;
}

SHIM_API int posix_spawn(pid_t *pid, const char *path,
			 const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[],
			 char *const envp[])
{
	return traced_spawn(false, pid, path, fa, attr, argv, envp);
}

SHIM_API int posix_spawnp(pid_t *pid, const char *file,
			  const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[],
			  char *const envp[])
{
	return traced_spawn(true, pid, file, fa, attr, argv, envp);
}

/* --- system ------------------------------------------------------------- */

/* system() callers in flight: the first ignores SIGINT/SIGQUIT, the last
 * restores them (as glibc does for concurrent calls). */
static _Atomic int sys_users;
static struct sigaction sys_intr, sys_quit;

static void sys_signals_take(sigset_t *omask)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t chld;

	sigemptyset(&ign.sa_mask);
	if (atomic_fetch_add(&sys_users, 1) == 0) {
		sigaction(SIGINT, &ign, &sys_intr);
		sigaction(SIGQUIT, &ign, &sys_quit);
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, omask);
}

static void sys_signals_give(const sigset_t *omask)
{
	if (atomic_fetch_sub(&sys_users, 1) == 1) {
		sigaction(SIGINT, &sys_intr, NULL);
		sigaction(SIGQUIT, &sys_quit, NULL);
	}
	sigprocmask(SIG_SETMASK, omask, NULL);
}

/* Waits for pid, through EINTR. Returns the status or -1 (errno set). */
static int wait_child(pid_t pid)
{
	int status;
	pid_t r;

	shim_pause();
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	shim_resume();
	return r == pid ? status : -1;
}

static int run_system(const char *cmd, char *const envp[])
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	posix_spawnattr_t attr;
	sigset_t omask, dflt;
	pid_t pid;
	int rc, status;

	sys_signals_take(&omask);
	posix_spawnattr_init(&attr);
	sigemptyset(&dflt);
	if (sys_intr.sa_handler != SIG_IGN)
		sigaddset(&dflt, SIGINT);
	if (sys_quit.sa_handler != SIG_IGN)
		sigaddset(&dflt, SIGQUIT);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setsigmask(&attr, &omask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSIGMASK);
	rc = REAL(posix_spawn)(&pid, shell_path, NULL, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	/* the shell could not be started: exit code 127, as POSIX says */
	status = rc == 0 ? wait_child(pid) : W_EXITCODE(127, 0);
	rc = errno;
	sys_signals_give(&omask);
	errno = rc;
	return status;
}

/* Appends the member describing a wait status to a span's data. */
static void jw_status(struct sr_jw *w, int status)
{
	if (status == -1)
		return;
	if (WIFSIGNALED(status)) {
		sr_jw_member(w, "process.exit.signal");
		shim_jw_signal(w, WTERMSIG(status));
	} else {
		sr_jw_member_i64(w, "process.exit.code", WEXITSTATUS(status));
	}
}

/* system(NULL): is a shell there? Runs "exit 0" as glibc does, with the
 * environment naming the current span so the shell is linked, no span. */
static int system_probe(void)
{
	uint8_t trace[16], parent[12];
	uint32_t flags = 0;
	int rc, err;

	shim_parent(trace, parent, &flags);
	rc = run_system("exit 0", SHIM_CHILD_ENVP(environ, trace, parent));
	err = errno;
	shim_leave();
	errno = err;
	return rc == 0;
}

SHIM_API int system(const char *cmd)
{
	char data[SR_ARGV_JSON_MAX + 256], errd[32];
	struct sr_span_rec s;
	struct sr_jw w;
	int status, err;

	if (!shim_enter(SHIM_HOOK_EXEC))
		return REAL(system)(cmd);
	if (!cmd)
		return system_probe();
	shim_span_open(&s, "system", 0);
	status = run_system(cmd,
			    SHIM_CHILD_ENVP(environ, s.trace_id, s.span_id));
	err = errno;
	s.end_ns = shim_stamp();
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member(&w, "process.command_line");
	shim_jw_text(&w, cmd, SR_ARGV_JSON_MAX);
	jw_status(&w, status);
	sr_jw_lit(&w, "}");
	s.data = (struct sr_str){ data, (uint32_t)w.len };
	if (status == -1)
		shim_span_errno(&s, err, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN, &s);
	shim_leave();
	errno = err;
	return status;
}

/* --- popen / pclose ----------------------------------------------------- */

enum { SLOT_FREE, SLOT_BUSY, SLOT_OPEN };

struct popen_slot {
	_Atomic int state;
	FILE *fp;
	int fd;
	pid_t pid;
	struct sr_span_rec s; /* ids and start of the popen span */
};

static struct popen_slot slots[SR_POPEN_MAX];
/* Slots open: fclose() looks for its stream only when there are some. */
static _Atomic unsigned slots_open;

static struct popen_slot *slot_claim(void)
{
	for (unsigned i = 0; i < SR_POPEN_MAX; i++) {
		int v = SLOT_FREE;

		if (atomic_compare_exchange_strong(&slots[i].state, &v,
						   SLOT_BUSY))
			return &slots[i];
	}
	return NULL;
}

static struct popen_slot *slot_find(FILE *fp)
{
	for (unsigned i = 0; i < SR_POPEN_MAX; i++) {
		int v = SLOT_OPEN;

		if (slots[i].fp == fp &&
		    atomic_compare_exchange_strong(&slots[i].state, &v,
						   SLOT_BUSY))
			return &slots[i];
	}
	return NULL;
}

/* As glibc reads it: the letters r, w and e in any order, exactly one of
 * r and w. */
static bool popen_mode(const char *mode, bool *reading, bool *cloexec)
{
	bool r = false, w = false;

	*cloexec = false;
	for (const char *m = mode; m && *m; m++) {
		if (*m == 'r')
			r = true;
		else if (*m == 'w')
			w = true;
		else if (*m == 'e')
			*cloexec = true;
		else
			return false;
	}
	*reading = r;
	return r != w;
}

/* Spawns the shell with one end of a pipe as its stdin or stdout; returns
 * the parent's end or -1 (errno set). */
static int popen_spawn(struct popen_slot *sl, const char *cmd, bool reading,
		       char *const envp[])
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	int p[2], mine, theirs, target = reading ? 1 : 0, rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	mine = reading ? p[0] : p[1];
	theirs = reading ? p[1] : p[0];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, theirs, target);
	/* POSIX: no stream of an earlier popen() reaches the child */
	/* the load (seq_cst) pairs with the store of SLOT_OPEN in
	 * hook_spawn.c:popen, which publishes the slot's fd */
	for (unsigned i = 0; i < SR_POPEN_MAX; i++)
		if (atomic_load(&slots[i].state) == SLOT_OPEN &&
		    slots[i].fd != target)
			posix_spawn_file_actions_addclose(&fa, slots[i].fd);
	rc = REAL(posix_spawn)(&sl->pid, shell_path, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(theirs);
	if (rc) {
		close(mine);
		/* what glibc's popen says when the shell cannot be started */
		errno = ENOMEM;
		return -1;
	}
	return mine;
}

static FILE *traced_popen(struct popen_slot *sl, const char *cmd, bool reading,
			  bool cloexec)
{
	char data[SR_ARGV_JSON_MAX + 64], errd[32];
	struct sr_jw w;
	int fd, err;

	shim_span_open(&sl->s, "popen", 0);
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	sr_jw_member(&w, "process.command_line");
	shim_jw_text(&w, cmd, SR_ARGV_JSON_MAX);
	sr_jw_lit(&w, "}");
	sl->s.data = (struct sr_str){ data, (uint32_t)w.len };
	fd = popen_spawn(sl, cmd, reading,
			 SHIM_CHILD_ENVP(environ, sl->s.trace_id,
					 sl->s.span_id));
	if (fd >= 0 && !cloexec)
		fcntl(fd, F_SETFD, 0);
	sl->fp = fd >= 0 ? fdopen(fd, reading ? "r" : "w") : NULL;
	err = errno;
	if (fd >= 0 && !sl->fp) {
		close(fd);
		wait_child(sl->pid);
	}
	if (!sl->fp) {
		sl->s.end_ns = shim_stamp();
		shim_span_errno(&sl->s, err, errd, sizeof(errd));
		shim_emit_span(SR_REC_SPAN, &sl->s);
		errno = err;
		return NULL;
	}
	sl->fd = fd;
	shim_emit_span(SR_REC_SPAN_START, &sl->s);
	return sl->fp;
}

SHIM_API FILE *popen(const char *cmd, const char *mode)
{
	struct popen_slot *sl;
	bool reading, cloexec;
	FILE *fp;
	int err;

	if (!cmd || !shim_enter(SHIM_HOOK_EXEC))
		return REAL(popen)(cmd, mode);
	if (!popen_mode(mode, &reading, &cloexec)) {
		shim_leave();
		errno = EINVAL;
		return NULL;
	}
	sl = slot_claim();
	if (!sl) {
		shim_debug("popen: more than %u streams open, \"%.60s\" not "
			   "linked",
			   SR_POPEN_MAX, cmd);
		shim_leave();
		return REAL(popen)(cmd, mode);
	}
	fp = traced_popen(sl, cmd, reading, cloexec);
	err = errno;
	if (fp)
		atomic_fetch_add(&slots_open, 1);
	atomic_store(&sl->state, fp ? SLOT_OPEN : SLOT_FREE);
	shim_leave();
	errno = err;
	return fp;
}

static void pclose_span(struct popen_slot *sl, int status, int err)
{
	char data[96], errd[32];
	struct sr_jw w;

	sl->s.end_ns = shim_stamp();
	sl->s.start_ns = 0;
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	jw_status(&w, status);
	sr_jw_lit(&w, "}");
	sl->s.data = (struct sr_str){ data, (uint32_t)w.len };
	if (status == -1)
		shim_span_errno(&sl->s, err, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN_END, &sl->s);
}

/* Closes a popen() stream of the shim's: as glibc's pclose (and fclose of
 * a popen stream), waits for the shell and returns its wait status. */
static int slot_close(struct popen_slot *sl, FILE *fp)
{
	int status, err;
	bool rec;

	rec = shim_enter(SHIM_HOOK_EXEC);
	REAL(fclose)(fp);
	if (!rec)
		shim_resume(); /* wait_child pauses the guard */
	status = wait_child(sl->pid);
	err = errno;
	if (rec)
		pclose_span(sl, status, err);
	shim_leave();
	sl->fp = NULL;
	atomic_fetch_sub(&slots_open, 1);
	atomic_store(&sl->state, SLOT_FREE);
	errno = err;
	return status;
}

SHIM_API int pclose(FILE *fp)
{
	struct popen_slot *sl = fp ? slot_find(fp) : NULL;

	return sl ? slot_close(sl, fp) : REAL(pclose)(fp);
}

SHIM_API int fclose(FILE *fp)
{
	struct popen_slot *sl = NULL;

	if (atomic_load_explicit(&slots_open, memory_order_relaxed) && fp)
		sl = slot_find(fp);
	return sl ? slot_close(sl, fp) : REAL(fclose)(fp);
}
