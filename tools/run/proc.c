/* SPDX-License-Identifier: MIT */
/*
 * proc.c - processes, signals and files of `spanring run` (see proc.h).
 */
#include "common/limits.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define LOCK_NAME ".spanringd.lock"

/* The signals spanring handles, and what it found at start. */
static const int handled[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE };
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))
static struct sigaction orig_act[NHANDLED];
static sigset_t orig_mask;

static volatile sig_atomic_t g_stop; /* signal that asked spanring to stop */
static volatile sig_atomic_t g_cmd;  /* pid of the running command, or 0 */

/* The private sidecar, which reap() may collect while waiting for the
 * command. */
static pid_t sd_pid;
static int sd_status;
static bool sd_reaped;

int sr_run_self_dir(char *buf, size_t n)
{
	ssize_t k = readlink("/proc/self/exe", buf, n);
	char *slash;

	if (k < 0)
		return -errno;
	if ((size_t)k >= n)
		return -ENAMETOOLONG;
	buf[k] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	return 0;
}

int sr_run_find_in(const char *dir, const char *name, bool exec, char *out,
		   size_t n)
{
	struct stat st;
	int k = snprintf(out, n, "%s/%s", *dir ? dir : ".", name);

	if (k < 0 || (size_t)k >= n)
		return -ENAMETOOLONG;
	if (stat(out, &st) || !S_ISREG(st.st_mode) ||
	    (exec && access(out, X_OK)))
		return -ENOENT;
	return 0;
}

/* true if dir is an absolute directory this user can create files in */
static bool usable_base(const char *dir)
{
	struct stat st;

	return dir && dir[0] == '/' && !stat(dir, &st) && S_ISDIR(st.st_mode) &&
	       !access(dir, W_OK | X_OK);
}

int sr_run_mkdtemp(char *out, size_t n)
{
	const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm",
				getenv("TMPDIR"), "/tmp" };
	int err = -ENOENT;

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		int k;

		if (!usable_base(bases[i]))
			continue;
		k = snprintf(out, n, "%s/spanring-run-XXXXXX", bases[i]);
		if (k < 0 || (size_t)k >= n)
			return -ENAMETOOLONG;
		if (mkdtemp(out)) /* mode 0700 */
			return 0;
		err = -errno;
	}
	return err;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* nftw stops at a non-zero return: go on, the caller checks */
	if (remove(path) && errno != ENOENT)
		fprintf(stderr, "spanring: cannot remove %s: %s\n", path,
			strerror(errno));
	return 0;
}

int sr_run_rmtree(const char *path)
{
	struct stat st;

	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT)
		return -errno;
	return lstat(path, &st) == 0 ? -ENOTEMPTY : 0;
}

/* Looks for a FLOCK on (dev, ino) in /proc/locks. Pid, 0, or -errno. */
static long proc_locks_holder(dev_t dev, ino_t ino)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256], type[16];
	unsigned maj, min;
	unsigned long long in;
	long pid, found = 0;

	if (!f)
		return -errno;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters have
	 * "1: -> FLOCK …" and do not parse */
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", type, &pid,
			   &maj, &min, &in) == 5 &&
		    !strcmp(type, "FLOCK") && maj == major(dev) &&
		    min == minor(dev) && in == (unsigned long long)ino)
			found = pid > 0 ? pid : 1;
	fclose(f);
	return found;
}

/* The pid written in the lock file, if that process lives; else 0. */
static long lock_file_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t k;
	long pid;

	if (fd < 0)
		return 0;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return 0;
	buf[k] = 0;
	pid = strtol(buf, NULL, 10);
	if (pid <= 0 || (kill((pid_t)pid, 0) && errno != EPERM))
		return 0;
	return pid;
}

long sr_run_lock_holder(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	long pid;
	int k = snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME);

	if (k < 0 || (size_t)k >= sizeof(path))
		return -ENAMETOOLONG;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	pid = proc_locks_holder(st.st_dev, st.st_ino);
	/* /proc/locks may be hidden, or name another device (overlayfs):
	 * then trust a live pid in the file */
	return pid > 0 ? pid : lock_file_pid(path);
}

static void on_signal(int sig)
{
	int e = errno;

	if (g_cmd > 0) {
		/* SIGINT and SIGQUIT came from the terminal to the command's
		 * process group too: forwarding would deliver them twice */
		if (sig == SIGTERM || sig == SIGHUP)
			kill((pid_t)g_cmd, sig);
	} else {
		g_stop = sig;
	}
	errno = e;
}

void sr_run_signals_init(void)
{
	/* no SA_RESTART: a wait interrupted by a signal returns, so the
	 * handler's effect is seen at once (also under sanitizers that
	 * defer handlers to the end of the interrupted call) */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigprocmask(SIG_SETMASK, NULL, &orig_mask);
	for (size_t i = 0; i < NHANDLED; i++) {
		sigaction(handled[i], NULL, &orig_act[i]);
		if (handled[i] == SIGPIPE) {
			/* a closed pipe must not kill spanring before it
			 * cleans up: writes fail with EPIPE instead */
			signal(SIGPIPE, SIG_IGN);
		} else if (orig_act[i].sa_handler != SIG_IGN) {
			sigaction(handled[i], &sa, NULL);
		}
	}
}

int sr_run_stop_signal(void)
{
	return g_stop;
}

/* In a child: the dispositions and mask spanring started with. */
static void restore_signals(void)
{
	for (size_t i = 0; i < NHANDLED; i++)
		sigaction(handled[i], &orig_act[i], NULL);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
}

static void block_handled(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NHANDLED; i++)
		sigaddset(&set, handled[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void redirect(int fd, const char *path, int flags)
{
	int k = open(path, flags | O_CLOEXEC, 0600);

	if (k >= 0 && k != fd) {
		dup2(k, fd);
		close(k);
	}
}

/* In the sidecar child: its configuration comes from the flags alone, so
 * SPANRINGD_* variables meant for a system sidecar (log file, spool, stats
 * file…) cannot leak into the private one; the credentials stay. */
static void clean_sidecar_env(void)
{
	extern char **environ;
	bool again = true;

	while (again) {
		again = false;
		for (char **e = environ; *e; e++) {
			char name[128];
			size_t k = strcspn(*e, "=");

			if (strncmp(*e, "SPANRINGD_", 10) ||
			    k >= sizeof(name) ||
			    !strncmp(*e, "SPANRINGD_API_KEY_FILE=", 23) ||
			    !strncmp(*e, "SPANRINGD_ENDPOINT=", 19))
				continue;
			memcpy(name, *e, k);
			name[k] = 0;
			unsetenv(name);
			again = true;
			break;
		}
	}
	setenv("SPANRING_DISABLE", "1", 1);
}

pid_t sr_run_spawn_sidecar(const char *exe, char *const argv[],
			   const char *out_path, const char *log_path)
{
	pid_t parent = getpid(), pid;
	sigset_t old;

	block_handled(&old);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0); /* spanring died before prctl took effect */
		redirect(0, "/dev/null", O_RDONLY);
		redirect(1, out_path, O_WRONLY | O_CREAT | O_APPEND);
		redirect(2, log_path, O_WRONLY | O_CREAT | O_APPEND);
		restore_signals();
		clean_sidecar_env();
		execv(exe, argv);
		dprintf(2, "spanring: cannot execute %s: %s\n", exe,
			strerror(errno));
		_exit(127);
	}
	if (pid > 0) {
		setpgid(pid, pid); /* either side may win the race */
		sd_pid = pid;
		sd_reaped = false;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -errno : pid;
}

static void nap(void)
{
	struct timespec ts = { 0, SR_RUN_POLL_NS };

	nanosleep(&ts, NULL);
}

/*
 * true once pid blocks SIGTERM (its main thread's SigBlk): spanringd takes
 * SIGTERM through a signalfd, and one sent before it blocks the signal
 * would kill it undrained. Without /proc the lock alone has to do.
 */
static bool blocks_sigterm(pid_t pid)
{
	char path[64], line[256];
	unsigned long long mask;
	bool yes = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			yes = mask & (1ull << (SIGTERM - 1));
	fclose(f);
	return yes;
}

int sr_run_wait_lock(const char *dir, pid_t pid, unsigned timeout_ms,
		     int *status)
{
	uint64_t deadline = sr_mono_ns() + timeout_ms * 1000000ull;

	for (;;) {
		if (sr_run_lock_holder(dir) > 0 && blocks_sigterm(pid))
			return 0;
		if (waitpid(pid, status, WNOHANG) == pid)
			return -ECHILD;
		if (g_stop)
			return -EINTR;
		if (sr_mono_ns() > deadline)
			return -ETIMEDOUT;
		nap();
	}
}

/*
 * Waits for `want`, reaping whatever else ends meanwhile: orphans of the
 * command (spanring is their subreaper) must not pile up as zombies under
 * a long-running command, and the sidecar's end is kept for sr_run_stop().
 */
static pid_t reap(pid_t want, int *status)
{
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || r == want) {
			*status = st;
			return r;
		}
		if (r == sd_pid) {
			sd_status = st;
			sd_reaped = true;
		}
	}
}

int sr_run_linger(unsigned timeout_ms)
{
	uint64_t deadline = sr_mono_ns() + timeout_ms * 1000000ull;
	pid_t group = getpgrp();

	for (;;) {
		int st;
		pid_t r = waitpid(-group, &st, WNOHANG);

		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r < 0)
			return 0; /* none left */
		if (g_stop)
			return -EINTR;
		if (sr_mono_ns() > deadline)
			return -ETIMEDOUT;
		nap();
	}
}

/* Child side of sr_run_command: never returns. */
static void exec_child(char *const argv[], int errfd)
{
	int e;

	restore_signals();
	execvp(argv[0], argv);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

int sr_run_command(char *const argv[], int *status, int *exec_errno)
{
	int fds[2], e = 0;
	sigset_t old;
	pid_t pid;
	ssize_t k;

	*exec_errno = 0;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	/* what the command leaves running becomes ours, not init's: see
	 * sr_run_linger() */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* no handler may run in the child before it restored the signals,
	 * nor see g_cmd unset in the parent */
	block_handled(&old);
	if (g_stop) {
		/* asked to stop before the command started */
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(fds[0]);
		close(fds[1]);
		return -EINTR;
	}
	pid = fork();
	if (pid == 0)
		exec_child(argv, fds[1]);
	if (pid > 0)
		g_cmd = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (pid < 0) {
		e = errno;
		close(fds[0]);
		return -e;
	}
	/* the pipe closes on exec (0 bytes) or carries the exec's errno */
	while ((k = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (k == (ssize_t)sizeof(e))
		*exec_errno = e;
	reap(pid, status);
	block_handled(&old);
	g_cmd = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int sr_run_stop(pid_t pid, unsigned timeout_ms, int *status)
{
	uint64_t deadline = sr_mono_ns() + timeout_ms * 1000000ull;
	pid_t r;

	if (pid == sd_pid && sd_reaped) {
		*status = sd_status; /* it ended while the command ran */
		return 0;
	}
	kill(pid, SIGTERM);
	while ((r = waitpid(pid, status, WNOHANG)) == 0) {
		if (g_stop || sr_mono_ns() > deadline) {
			kill(pid, SIGKILL);
			while ((r = waitpid(pid, status, 0)) < 0 &&
			       errno == EINTR)
				;
			break;
		}
		nap();
	}
	return r == pid ? 0 : -errno;
}
