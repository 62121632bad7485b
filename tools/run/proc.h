/* SPDX-License-Identifier: MIT */
/*
 * proc.h - the processes and files of `spanring run`: finding the shim and
 * the sidecar, the private directory, the private spanringd, the command,
 * and the signals in between. Single-threaded use only.
 */
#ifndef SR_RUN_PROC_H
#define SR_RUN_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Directory of the running executable (from /proc/self/exe). 0 or -errno. */
int sr_run_self_dir(char *buf, size_t n);

/* Writes "dir/name" to out if that is a file (executable when `exec`).
 * 0, -ENOENT or -ENAMETOOLONG. */
int sr_run_find_in(const char *dir, const char *name, bool exec, char *out,
		   size_t n);

/* Makes a fresh private directory "spanring-run-XXXXXX", mode 0700, under
 * $XDG_RUNTIME_DIR, else /dev/shm, else $TMPDIR or /tmp. 0 or -errno. */
int sr_run_mkdtemp(char *out, size_t n);

/* Removes a directory tree without following symlinks. 0 or -errno of the
 * first failure (it goes on with the rest). */
int sr_run_rmtree(const char *path);

/*
 * Pid of the process holding the flock of dir/.spanringd.lock: > 0 when
 * held (the pid as /proc/locks shows it; 0 is not used), 0 when free or
 * absent, -errno on error. Takes no lock itself, so it never makes a
 * starting sidecar believe the directory is served.
 */
long sr_run_lock_holder(const char *dir);

/* Signals spanring reacts to: SIGINT, SIGQUIT, SIGTERM, SIGHUP. Before the
 * command runs they stop spanring (sr_run_stop_signal()); while it runs,
 * SIGTERM and SIGHUP are forwarded to it and SIGINT and SIGQUIT left to the
 * terminal, which sends them to the command directly. Dispositions that
 * were SIG_IGN at start stay so. */
void sr_run_signals_init(void);
int sr_run_stop_signal(void); /* 0, or the signal that asked to stop */

/*
 * Starts the sidecar `exe argv…` in its own process group (terminal
 * signals do not reach it), with stdin from /dev/null, stdout and stderr
 * to the given files, SPANRING_DISABLE=1, and SIGTERM as its parent-death
 * signal (it drains and exits if spanring is killed). Pid or -errno.
 */
pid_t sr_run_spawn_sidecar(const char *exe, char *const argv[],
			   const char *out_path, const char *log_path);

/*
 * Waits until dir/.spanringd.lock is held and pid blocks SIGTERM (it
 * takes it through a signalfd: from then on SIGTERM drains), polling, at
 * most
 * timeout_ms. 0; -ECHILD if pid exited first (*status set); -ETIMEDOUT;
 * -EINTR if a stop signal came.
 */
int sr_run_wait_lock(const char *dir, pid_t pid, unsigned timeout_ms,
		     int *status);

/*
 * Runs the command in the foreground (spanring's process group), with
 * spanring's environment and standard streams, and waits for it, reaping
 * orphans of the command meanwhile (spanring becomes a child subreaper). The
 * child gets the signal dispositions spanring started with. Returns 0 with
 * *status the wait status; -EINTR if a stop signal came first (nothing
 * started); -errno if fork failed; *exec_errno is set when the exec itself
 * failed (status is then 127 or 126).
 */
int sr_run_command(char *const argv[], int *status, int *exec_errno);

/*
 * After the command: waits, polling, until no process of spanring's
 * process group is left (what the command started in the background and
 * left behind; spanring is their subreaper), reaping them, at most
 * timeout_ms. Daemons that left the group are not waited for. 0;
 * -ETIMEDOUT; -EINTR if a stop signal came.
 */
int sr_run_linger(unsigned timeout_ms);

/* SIGTERMs pid and waits for it up to timeout_ms, then SIGKILLs it; a
 * stop signal meanwhile cuts the wait short. 0 with *status, or -errno. */
int sr_run_stop(pid_t pid, unsigned timeout_ms, int *status);

#endif /* SR_RUN_PROC_H */
