/* SPDX-License-Identifier: MIT */
/*
 * shim_procs - starts processes in the ways the shim hooks, for the shim
 * tests. Prints what it saw; its output must be the same with and without
 * the shim.
 *   shim_procs fork | vfork | spawn | system | popen | closeall |
 *              envp | signal PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int do_fork(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		printf("child\n");
		fflush(stdout);
		_exit(3);
	}
	printf("child exit %d\n", reap(pid));
	return 0;
}

static int prepared;

static void on_prepare(void)
{
	prepared++;
}

/* vfork semantics a program may rely on: the child writes into the
 * parent's memory (the exec-error idiom), the parent waits until the child
 * execs, and pthread_atfork handlers do not run. */
static int do_vfork(void)
{
	char *argv[] = { (char *)"echo", (char *)"from-vfork", NULL };
	volatile int x = 0, err = 0;
	pid_t pid;

	pthread_atfork(on_prepare, NULL, NULL);
	pid = vfork();
	if (pid == 0) {
		x = 42;
		execv("/bin/echo", argv);
		_exit(127);
	}
	printf("child exit %d x %d atfork %d\n", reap(pid), x, prepared);
	pid = vfork();
	if (pid == 0) {
		execv("/nonexistent/prog", argv);
		err = errno;
		_exit(127);
	}
	printf("failed exec errno %d exit %d\n", err, reap(pid));
	return 0;
}

static int do_spawn(void)
{
	char *argv[] = { (char *)"echo", (char *)"from-spawn", NULL };
	char *bad[] = { (char *)"nope", NULL };
	pid_t pid;
	int rc;

	rc = posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ);
	printf("spawn %d exit %d\n", rc, rc ? -1 : reap(pid));
	fflush(stdout);
	rc = posix_spawnp(&pid, "echo", NULL, NULL, argv, environ);
	printf("spawnp %d exit %d\n", rc, rc ? -1 : reap(pid));
	fflush(stdout);
	rc = posix_spawn(&pid, "/nonexistent/nope", NULL, NULL, bad, environ);
	printf("spawn missing %d\n", rc ? 1 : reap(pid));
	return 0;
}

static int do_system(void)
{
	int st;

	fflush(stdout);
	st = system("echo from-system; exit 7");
	printf("system status %d exited %d code %d\n", st != -1, WIFEXITED(st),
	       WEXITSTATUS(st));
	printf("system(NULL) %d\n", system(NULL) != 0);
	return 0;
}

static int do_popen(void)
{
	char line[64] = "";
	FILE *r, *w;
	int st;

	r = popen("echo from-popen", "r");
	if (!r || !fgets(line, sizeof(line), r))
		return 1;
	st = pclose(r);
	printf("read %s", line);
	printf("pclose r exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
	fflush(stdout);
	w = popen("cat; exit 4", "we");
	if (!w)
		return 1;
	fputs("to-popen\n", w);
	st = pclose(w);
	printf("pclose w exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
	errno = 0;
	w = popen("true", "x");
	printf("bad mode %d errno %d\n", w == NULL, errno);
	return 0;
}

/* Closes every descriptor but the standard ones, then starts a child. */
static int do_closeall(bool hold)
{
	char c;

	char *argv[] = { (char *)"echo", (char *)"after-closeall", NULL };
	pid_t pid;
	int rc;

	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	closefrom(3);
	close_range(3, ~0u, 0);
	/* descriptors a program may dup onto: wherever the ring's lock
	 * descriptor is, it moves out of the way */
	for (int fd = 3; fd < 1100; fd++) {
		if (dup2(2, fd) != fd)
			return 1;
		close(fd);
	}
	fflush(stdout);
	rc = posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ);
	printf("spawn %d exit %d\n", rc, rc ? -1 : reap(pid));
	fflush(stdout);
	/* the test looks at the ring while this process waits for stdin */
	if (hold && read(0, &c, 1) < 0)
		return 1;
	return 0;
}

/* an exec that fails, then one that works */
static int do_execfail(void)
{
	char *argv[] = { (char *)"nope", NULL };
	char *echo[] = { (char *)"echo", (char *)"after-failure", NULL };

	int rc;

	errno = 0;
	rc = execv("/nonexistent/nope", argv);
	printf("execv %d errno %d\n", rc, errno);
	errno = 0;
	rc = execvp("spanring-no-such-program", argv);
	printf("execvp %d errno %d\n", rc, errno);
	fflush(stdout);
	execlp("echo", echo[0], echo[1], (char *)NULL);
	return 127;
}

/* execve with an explicit, empty-ish environment. */
static int do_envp(void)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)"echo FOO=$FOO",
			 NULL };
	char *envp[] = { (char *)"FOO=bar", NULL };

	fflush(stdout);
	execve("/bin/sh", argv, envp);
	return 127;
}

static struct sockaddr_in target;
static volatile sig_atomic_t handled;

static int connect_once(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (s < 0)
		return -1;
	rc = connect(s, (struct sockaddr *)&target, sizeof(target));
	close(s);
	return rc;
}

static void on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	connect_once();
	handled++;
	errno = saved;
}

/* The main thread connects in a loop while a timer's handler connects
 * too, interrupting it anywhere, inside the hooks included. */
static int do_signal(const char *port)
{
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	struct sigaction sa = { .sa_handler = on_alarm,
				.sa_flags = SA_RESTART };
	int ok = 0;

	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(port));
	target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	/* the port is bound, not listening: every connect is refused */
	for (int i = 0; i < 300 || (!handled && i < 100000); i++)
		if (connect_once() < 0 && errno == ECONNREFUSED)
			ok++;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("refused %d handled %d\n", ok >= 300, handled > 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (!strcmp(m, "fork"))
		return do_fork();
	if (!strcmp(m, "vfork"))
		return do_vfork();
	if (!strcmp(m, "spawn"))
		return do_spawn();
	if (!strcmp(m, "system"))
		return do_system();
	if (!strcmp(m, "popen"))
		return do_popen();
	if (!strcmp(m, "closeall"))
		return do_closeall(argc > 2 && !strcmp(argv[2], "hold"));
	if (!strcmp(m, "execfail"))
		return do_execfail();
	if (!strcmp(m, "envp"))
		return do_envp();
	if (!strcmp(m, "signal") && argc > 2)
		return do_signal(argv[2]);
	fprintf(stderr, "usage: shim_procs MODE\n");
	return 2;
}
