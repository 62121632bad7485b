/* SPDX-License-Identifier: MIT */
/*
 * shim_host - what a program can observe of the libc and kernel it runs
 * on, for the tests that the shim changes nothing: descriptors, vfork and
 * clone, popen/fclose/posix_spawn results and errno, exec limits, seccomp,
 * pthread keys. Prints what it saw; the output must be the same with and
 * without the shim.
 *   shim_host fds | popen | nproc | clone | execl | argmax | seccomp |
 *             keys | traceparent CTX | setuid | burst | fill | ebusy
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/spanring.h"

extern char **environ;

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Descriptors the program can see: /proc/self/fd entries, descriptors
 * fstat finds below 4096, how many files it can still open. */
static int do_fds(void)
{
	struct rlimit rl = { 64, 64 };
	struct stat st;
	int seen = 0, open_ok = 0, fd;
	DIR *d = opendir("/proc/self/fd");
	int listed = 0;

	while (d && readdir(d))
		listed++;
	if (d)
		closedir(d);
	printf("proc fd entries %d\n", listed);
	for (int i = 0; i < 4096; i++)
		if (fstat(i, &st) == 0)
			seen++;
	printf("fstat finds %d\n", seen);
	setrlimit(RLIMIT_NOFILE, &rl);
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		open_ok++;
	printf("opened %d of 64, then errno %d\n", open_ok, errno);
	return 0;
}

/* What the program means, however the compiler pairs allocators (gcc's
 * warning; clang has none of that name). */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wmismatched-dealloc"
#endif

/* glibc's popen: fclose of a popen stream waits and returns the status,
 * mode letters in any order, a reused FILE address, posix_spawn errno. */
static int do_popen(void)
{
	char line[64] = "";
	FILE *f, *g;
	pid_t pid;
	int rc;

	f = popen("exit 5", "r");
	printf("fclose(popen) status %d\n", status_code(fclose(f)));
	g = fopen("/dev/null", "r");
	printf("pclose(fopen) %d\n", pclose(g));
	f = popen("echo er-mode", "er");
	if (!f) {
		printf("popen er: errno %d\n", errno);
	} else {
		if (fgets(line, sizeof(line), f))
			printf("read %s", line);
		printf("cloexec %d\n",
		       (fcntl(fileno(f), F_GETFD) & FD_CLOEXEC) != 0);
		printf("pclose status %d\n", status_code(pclose(f)));
	}
	errno = 0;
	f = popen("true", "rw");
	printf("popen rw %p errno %d\n", (void *)f, errno);
	errno = 12345;
	rc = posix_spawn(&pid, "/nonexistent/x", NULL, NULL,
			 (char *[]){ (char *)"x", NULL }, environ);
	if (rc == 0)
		waitpid(pid, NULL, 0);
	printf("posix_spawn rc %d errno %d\n", rc, errno);
	errno = 12345;
	rc = posix_spawnp(&pid, "no-such-program-here", NULL, NULL,
			  (char *[]){ (char *)"x", NULL }, environ);
	if (rc == 0)
		waitpid(pid, NULL, 0);
	printf("posix_spawnp rc %d errno %d\n", rc, errno);
	return 0;
}

/* popen when no process may be started (run as a non-root uid). */
static int do_nproc(void)
{
	struct rlimit rl = { 0, 0 };
	FILE *f;

	setrlimit(RLIMIT_NPROC, &rl);
	errno = 0;
	f = popen("true", "r");
	printf("popen %s errno %d\n", f ? "ok" : "failed", errno);
	if (f)
		pclose(f);
	return 0;
}

/* A clone sharing our memory, on a 4 KiB stack, that execs. */
static char small_stack[4096] __attribute__((aligned(16)));

static int clone_child(void *arg)
{
	char *argv[] = { (char *)"echo", (char *)"from-clone", NULL };

	(void)arg;
	execve("/bin/echo", argv, environ);
	return 127;
}

static int do_clone(void)
{
	int st = 0;
	pid_t pid;

	fflush(stdout);
	pid = clone(clone_child, small_stack + sizeof(small_stack),
		    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	printf("clone child %d\n", status_code(st));
	return 0;
}

#define X10 "x", "x", "x", "x", "x", "x", "x", "x", "x", "x"
#define X100 X10, X10, X10, X10, X10, X10, X10, X10, X10, X10
#define X1000 X100, X100, X100, X100, X100, X100, X100, X100, X100, X100

/* execl with 2000 arguments, as glibc runs it. */
static int do_execl(void)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo $#", "sh", X1000, X1000,
		      (char *)NULL);
		printf("execl errno %d\n", errno);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	printf("execl child %d\n", status_code(st));
	return 0;
}

static size_t env_bytes(void)
{
	size_t n = 0;

	for (char **e = environ; *e; e++)
		n += strlen(*e) + 1 + sizeof(char *);
	return n;
}

/* Does /bin/true run with `bytes` of arguments (in 100 KiB strings)? */
static bool exec_fits(size_t bytes)
{
	enum { PIECE = 100 * 1024 };
	size_t n = bytes / PIECE + 2;
	char **argv = calloc(n + 1, sizeof(char *));
	char *blob = malloc(bytes + n);
	size_t used = 0, k = 1;
	int st = -1;
	pid_t pid;

	argv[0] = (char *)"true";
	while (used < bytes) {
		size_t len = bytes - used < PIECE ? bytes - used : PIECE;

		memset(blob + used + k, 'a', len - 1);
		blob[used + k + len - 1] = 0;
		argv[k] = blob + used + k;
		used += len;
		k++;
	}
	argv[k] = NULL;
	pid = vfork();
	if (pid == 0) {
		execv("/bin/true", argv);
		_exit(errno == E2BIG ? 7 : 8);
	}
	waitpid(pid, &st, 0);
	free(argv);
	free(blob);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The largest argument size an exec accepts, plus the environment's:
 * the same with and without the shim (whose variables must never make a
 * working exec fail). */
static int do_argmax(void)
{
	size_t lo = 4096, hi = 8u << 20;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (exec_fits(mid))
			lo = mid;
		else
			hi = mid;
	}
	printf("limit %zu\n", lo + env_bytes());
	return 0;
}

/* An allow-list seccomp filter installed through prctl, then fork, wait,
 * exit: what the program does is all the filter allows. */
static int do_seccomp(void)
{
	static const int allowed[] = {
		SYS_read,         SYS_write,
		SYS_close,        SYS_fstat,
		SYS_newfstatat,   SYS_exit,
		SYS_exit_group,   SYS_clone,
		SYS_clone3,       SYS_wait4,
		SYS_rt_sigreturn, SYS_rt_sigprocmask,
		SYS_rt_sigaction, SYS_getpid,
		SYS_gettid,       SYS_set_robust_list,
		SYS_rseq,         SYS_brk,
		SYS_mmap,         SYS_munmap,
		SYS_futex,        SYS_lseek,
		SYS_mprotect,
	};
	enum { N = sizeof(allowed) / sizeof(allowed[0]) };
	struct sock_filter f[2 * N + 3];
	struct sock_fprog prog = { .len = 2 * N + 3, .filter = f };
	int st, k = 0;
	pid_t pid;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data,
						       nr));
	for (int i = 0; i < N; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned)allowed[i], 0,
						      1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ALLOW);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	printf("before filter\n");
	fflush(stdout);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		printf("cannot install filter: errno %d\n", errno);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		printf("child under filter\n");
		fflush(stdout);
		_exit(3);
	}
	waitpid(pid, &st, 0);
	printf("child %d\n", status_code(st));
	fflush(stdout);
	return 0;
}

/* A filter refusing fallocate (EPERM, as some sandboxes do), then an
 * exec of /bin/true: the image started under it must still make its ring
 * (the shim backs its first pages another way). */
static int do_nofallocate(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fallocate, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		printf("cannot install filter: errno %d\n", errno);
		return 1;
	}
	printf("fallocate refused: %d\n",
	       fallocate(1, 0, 0, 1) < 0 && errno == EPERM);
	execl("/bin/true", "true", (char *)NULL);
	return 127;
}

/* pthread keys a program can create. */
static int do_keys(void)
{
	pthread_key_t k;
	int n = 0;

	while (pthread_key_create(&k, NULL) == 0)
		n++;
	printf("keys %d\n", n);
	return 0;
}

/* Runs `sh -c` with an environment holding our own TRACEPARENT. */
static int do_traceparent(const char *tp)
{
	char env_tp[128];
	char *envp[] = { env_tp, (char *)"PATH=/usr/bin:/bin", NULL };
	char *argv[] = { (char *)"sh", (char *)"-c",
			 (char *)"echo $TRACEPARENT", NULL };
	pid_t pid;
	int st;

	snprintf(env_tp, sizeof(env_tp), "TRACEPARENT=%s", tp);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return status_code(st);
}

/* Root becomes nobody and runs env with a cleaned environment, as
 * `sudo -u nobody` and `su -` do. */
static int do_setuid(void)
{
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	char *argv[] = { (char *)"env", NULL };

	fflush(stdout);
	if (setgid(65534) < 0 || setuid(65534) < 0) {
		printf("setuid: errno %d\n", errno);
		return 1;
	}
	execve("/usr/bin/env", argv, envp);
	return 127;
}

/* C API spans until the ring refuses one, then a clean exit: the end of
 * the process must still be recorded. */
static int do_burst(void)
{
	int n = 0;

	while (n < 1000000 && spanring_span_begin_custom("burst", NULL) == 0 &&
	       spanring_span_end() == 0)
		n++;
	printf("burst done\n");
	return 0;
}

/* Waits for a line on stdin (the test fills the ring's filesystem
 * meanwhile), then records spans: they must be dropped, not fault. */
static int do_fill(void)
{
	char line[16];
	int ok = 0;

	spanring_span_begin_custom("before-fill", NULL);
	spanring_span_end();
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (int i = 0; i < 20000; i++)
		if (spanring_span_begin_custom("after-fill",
					       "{\"pad\":\""
					       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					       "\"}") == 0 &&
		    spanring_span_end() == 0)
			ok++;
	printf("filled, exit\n");
	return 0;
}

/* A signal handler that interrupts the API on its own thread gets
 * -EBUSY; one that arrives between calls records normally. SIGPROF every
 * 20 us of CPU while the thread loops over an API call that records
 * nothing. */
static volatile sig_atomic_t busy, handled, bad, bad_rc;

static void on_prof(int sig)
{
	int rc = spanring_span_begin_custom("in-handler", NULL);

	(void)sig;
	if (rc == -EBUSY) {
		busy++;
	} else if (rc == 0) {
		rc = spanring_span_end();
		if (rc == 0)
			handled++;
		else
			bad++, bad_rc = rc;
	} else {
		bad++, bad_rc = rc;
	}
}

static int do_ebusy(void)
{
	struct itimerval it = { { 0, 20 }, { 0, 20 } };
	struct sigaction sa = { .sa_handler = on_prof };
	struct timespec ts;
	time_t start;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	/* a call that enters the API and writes and keeps nothing (no trace
	 * to end): neither the ring nor the text store fills, whatever the
	 * handler's timing */
	setitimer(ITIMER_PROF, &it, NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = ts.tv_sec;
	for (unsigned long i = 1; (!busy || !handled) && !bad; i++) {
		spanring_trace_end();
		if (i % 4096)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec - start > 10)
			break;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_PROF, &it, NULL);
	printf("busy %s, handled %s, bad %d\n", busy ? "seen" : "never",
	       handled ? "seen" : "never", (int)bad);
	if (bad)
		fprintf(stderr, "unexpected return %d in the handler\n",
			(int)bad_rc);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(m, "fds"))
		return do_fds();
	if (!strcmp(m, "popen"))
		return do_popen();
	if (!strcmp(m, "nproc"))
		return do_nproc();
	if (!strcmp(m, "clone"))
		return do_clone();
	if (!strcmp(m, "execl"))
		return do_execl();
	if (!strcmp(m, "argmax"))
		return do_argmax();
	if (!strcmp(m, "seccomp"))
		return do_seccomp();
	if (!strcmp(m, "keys"))
		return do_keys();
	if (!strcmp(m, "nofallocate"))
		return do_nofallocate();
	if (!strcmp(m, "traceparent") && argc > 2)
		return do_traceparent(argv[2]);
	if (!strcmp(m, "setuid"))
		return do_setuid();
	if (!strcmp(m, "burst"))
		return do_burst();
	if (!strcmp(m, "fill"))
		return do_fill();
	if (!strcmp(m, "ebusy"))
		return do_ebusy();
	fprintf(stderr, "usage: shim_host fds|popen|nproc|clone|execl|argmax|"
			"seccomp|nofallocate|keys|traceparent CTX|setuid|"
			"burst|fill\n");
	return 64;
}
