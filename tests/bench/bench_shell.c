/* SPDX-License-Identifier: MIT */
/*
 * bench_shell.c - B3, what a host's shell pays: a loop of 300 /bin/true
 * (`sh -c 'for …; do /bin/true; done'`) bare, with an empty preloaded
 * library, with the shim recording into a tmpfs directory (no sidecar:
 * the loop's ~300 rings are removed between runs, as a sidecar would, far
 * below the directory's cap; and with a running spanringd draining and
 * removing them as they end), into a directory on the disk filesystem of
 * the build tree, and under `strace -f -e trace=process,network` (another
 * tracer, the baseline the host would otherwise pay). Microseconds per
 * iteration, the configurations interleaved run by run, median of runs.
 * Then system calls counted with `strace -f -c`: of one /bin/true (bare,
 * empty preload, traced) and per iteration of the loop.
 * SR_BENCH_SHIM_B=<another libspanring.so> (a build of other code, e.g.
 * the former one) adds that shim into a tmpfs directory of its own as one
 * more configuration, alternated with the others run by run: before and
 * after in one session, under the same load. The CPU time a traced image
 * adds (shim minus bare, per iteration) is printed for each shim.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ringdir.h"
#include "tests/bench/bench.h"

#define LOOP_N 300
#define NCONF 7

extern char **environ;

struct config {
	const char *name;
	char **envp;
	const char *dir; /* ring directory emptied between runs, or NULL */
	bool strace;     /* run the loop under strace -f */
	double cpu_us;   /* CPU time per iteration of the last run */
};

/* CPU time (user + system) of the last run_wait()'s child and the
 * descendants it reaped, us: steadier than wall time on a shared machine,
 * where other tenants' load delays a process more than it adds to its
 * CPU time. */
static double child_cpu_us;

static int run_wait(char *const argv[], char *const envp[], const char *out)
{
	pid_t pid = fork();
	struct rusage ru;
	int st;

	if (pid == 0) {
		int fd = open(out ? out : "/dev/null",
			      O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
		return -1;
	child_cpu_us = (double)ru.ru_utime.tv_sec * 1e6 +
		       (double)ru.ru_utime.tv_usec +
		       (double)ru.ru_stime.tv_sec * 1e6 +
		       (double)ru.ru_stime.tv_usec;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char loop[] = "i=0; while [ $i -lt 300 ]; do /bin/true; "
		     "i=$((i+1)); done";

static double run_config(struct config *c)
{
	char *plain[] = { (char *)"/bin/sh", (char *)"-c", loop, NULL };
	char *traced[] = { (char *)"/usr/bin/strace",
			   (char *)"-f",
			   (char *)"-qq",
			   (char *)"-o",
			   (char *)"/dev/null",
			   (char *)"-e",
			   (char *)"trace=process,network",
			   (char *)"/bin/sh",
			   (char *)"-c",
			   loop,
			   NULL };
	uint64_t t0;

	if (c->dir)
		sr_bench_empty_ring_dir(c->dir);
	t0 = sr_bench_ns();
	if (run_wait(c->strace ? traced : plain, c->envp, NULL) != 0) {
		fprintf(stderr, "bench_shell: %s: the loop failed\n", c->name);
		exit(1);
	}
	c->cpu_us = child_cpu_us / LOOP_N;
	return (double)(sr_bench_ns() - t0) / 1e3 / LOOP_N;
}

/* System calls of /bin/true (in_loop false) or of the shell loop with
 * envp, as `strace -f -c` counts them (its "total" line), or -1. strace
 * itself is not preloaded (LD_PRELOAD goes to the command with -E): the
 * /bin/true counted is started by an untraced parent. */
static long count_syscalls(char **envp, const char *tmp, bool in_loop)
{
	char *argv[12] = { (char *)"/usr/bin/strace", (char *)"-f",
			   (char *)"-c", (char *)"-o", (char *)tmp };
	char *env[256];
	int n = 5, k = 0;

	for (int i = 0; envp[i] && k < 255; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = envp[i];
		else
			argv[n++] = (char *)"-E", argv[n++] = envp[i];
	env[k] = NULL;
	argv[n++] = (char *)(in_loop ? "/bin/sh" : "/bin/true");
	if (in_loop) {
		argv[n++] = (char *)"-c";
		argv[n++] = loop;
	}
	argv[n] = NULL;
	char line[256];
	long calls = -1;
	FILE *f;

	if (run_wait(argv, env, NULL) != 0 || !(f = fopen(tmp, "r")))
		return -1;
	/* "100.00    0.000000           0        31         2 total" */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " total")) {
			double pct, secs;
			long usecs, total;

			if (sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs,
				   &total) == 4)
				calls = total;
		}
	fclose(f);
	return calls;
}

/* spanringd serving `dir` (null exporter: the bench measures the hosts),
 * started and waited for until it holds the directory's lock; -1 when it
 * cannot be. */
static pid_t sidecar_start(const char *dir, const char *state)
{
	char *sd = sr_bench_beside("spanringd", 1, false), lock[PATH_MAX];
	char spool[PATH_MAX], stats[PATH_MAX];
	pid_t pid;

	snprintf(lock, sizeof(lock), "%s/.spanringd.lock", dir);
	snprintf(spool, sizeof(spool), "%s/spool", state);
	snprintf(stats, sizeof(stats), "%s/stats.json", state);
	if (access(sd, X_OK) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { sd,
				 (char *)"--dir",
				 (char *)dir,
				 (char *)"--spool-dir",
				 spool,
				 (char *)"--stats-file",
				 stats,
				 (char *)"--exporter",
				 (char *)"null",
				 (char *)"--fsync",
				 (char *)"no",
				 (char *)"--log-level",
				 (char *)"error",
				 NULL };
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(sd, argv, sr_bench_env(NULL));
		_exit(127);
	}
	/* its lock file appears once it serves the directory (a bench may
	 * poll: nothing is asserted on timing) */
	for (int i = 0; pid > 0 && i < 1000 && access(lock, F_OK) != 0; i++)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	if (pid > 0 && access(lock, F_OK) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void row(const char *name, struct sr_bench_stats *s, const char *unit,
		const char *base, double base_median, const char *target,
		const char *note)
{
	sr_bench_print(&(struct sr_bench_row){ .id = "B3",
					       .row = name,
					       .unit = unit,
					       .s = *s,
					       .baseline = base,
					       .baseline_median = base_median,
					       .target = target,
					       .note = note });
}

static void calls_row(const char *name, long calls, long base,
		      const char *target, const char *note)
{
	struct sr_bench_stats n = { (double)calls, (double)calls, (double)calls,
				    1 };

	row(name, &n, "calls", "bare", (double)base, target, note);
}

/* Rows of system calls: one /bin/true, and per iteration of the loop. */
static void syscall_rows(struct config *bare, struct config *empty,
			 struct config *shim, const char *tmp)
{
	long b = count_syscalls(bare->envp, tmp, false),
	     e = count_syscalls(empty->envp, tmp, false),
	     t = count_syscalls(shim->envp, tmp, false);
	long lb = count_syscalls(bare->envp, tmp, true),
	     le = count_syscalls(empty->envp, tmp, true), lt;

	sr_bench_empty_ring_dir(shim->dir);
	lt = count_syscalls(shim->envp, tmp, true);
	calls_row("system calls of a traced /bin/true", t, b, "<= bare + 12",
		  "strace -f -c");
	calls_row("system calls of /bin/true with an empty preloaded library",
		  e, b, NULL, "what the loader adds for any preloaded library");
	calls_row("system calls per iteration of the sh loop, shim",
		  lt / LOOP_N, lb / LOOP_N, NULL,
		  "strace -f -c of the loop / 300: one traced image, and sh's "
		  "calls for it");
	calls_row("system calls per iteration of the sh loop, empty preload",
		  le / LOOP_N, lb / LOOP_N, NULL, NULL);
	unlink(tmp);
}

/* The rows of the loop's figures: configuration (index in main's table),
 * wall time or CPU time (steadier on a shared machine). */
struct loop_row {
	int conf;
	bool cpu;
	const char *name, *target, *note;
};

static const struct loop_row rows[] = {
	{ 2, false,
	  "sh loop of 300 /bin/true, shim, ring dir on tmpfs (per iteration)",
	  "ratio <= 1.15",
	  "no sidecar; the loop's rings removed between runs" },
	{ 4, false,
	  "sh loop of 300 /bin/true, shim, ring dir on tmpfs, spanringd "
	  "draining (per iteration)",
	  "ratio <= 1.15", "null exporter; it competes for the CPUs" },
	{ 3, false,
	  "sh loop of 300 /bin/true, shim, ring dir on disk (per iteration)",
	  "ratio <= 1.3", "the build tree's filesystem" },
	{ 1, false, "sh loop of 300 /bin/true, empty preload (per iteration)",
	  NULL, NULL },
	{ 5, false,
	  "sh loop of 300 /bin/true, strace -f -e trace=process,network (per "
	  "iteration)",
	  NULL, "another tracer, for comparison" },
	{ 0, false, "sh loop of 300 /bin/true, bare (per iteration)", NULL,
	  NULL },
	{ 2, true,
	  "sh loop, shim, tmpfs: CPU time of the loop's processes (per "
	  "iteration)",
	  "ratio <= 1.15", "wait4 usage of sh and the children it reaped" },
	{ 4, true,
	  "sh loop, shim, tmpfs, spanringd draining: CPU time (per iteration)",
	  NULL, "the loop's processes only, not spanringd's" },
	{ 3, true, "sh loop, shim, disk: CPU time (per iteration)", NULL,
	  NULL },
	{ 1, true, "sh loop, empty preload: CPU time (per iteration)", NULL,
	  NULL },
	{ 0, true, "sh loop, bare: CPU time (per iteration)", NULL, NULL },
	{ 6, false,
	  "sh loop of 300 /bin/true, shim B (SR_BENCH_SHIM_B), ring dir on "
	  "tmpfs (per iteration)",
	  NULL, "another build, alternated with the others" },
	{ 6, true, "sh loop, shim B, tmpfs: CPU time (per iteration)", NULL,
	  NULL },
};

/* CPU time a traced image adds to the loop: the shim's CPU time per
 * iteration minus bare's, median of the runs' differences (each run's
 * pair measured back to back); before the runs' figures are sorted. */
static void added(const double shim[], const double bare[], int runs,
		  struct sr_bench_stats *st)
{
	double d[SR_BENCH_MAX_RUNS];

	for (int r = 0; r < runs; r++)
		d[r] = shim[r] - bare[r];
	sr_bench_reduce(d, runs, st);
}

int main(void)
{
	char tdir[] = "/dev/shm/spanring-bench-shell-XXXXXX";
	char sdir[] = "/dev/shm/spanring-bench-shell-sd-XXXXXX";
	char bdir[] = "/dev/shm/spanring-bench-shell-b-XXXXXX";
	const char *shim_b = getenv("SR_BENCH_SHIM_B");
	char state[] = "/tmp/spanring-bench-shell-state-XXXXXX";
	char *empty = sr_bench_beside("libempty_preload.so", 0, true);
	char *shim = sr_bench_beside("libspanring.so", 1, true);
	char *ddir = sr_bench_beside("bench-shell-rings", 0, false),
	     *tmp = sr_bench_beside("strace.out", 0, false);
	char *pre_empty, *pre_shim, *tdir_env, *ddir_env, *sdir_env;
	char *pre_b, *bdir_env;
	static double v[NCONF][SR_BENCH_MAX_RUNS],
		cpu[NCONF][SR_BENCH_MAX_RUNS];
	struct sr_bench_stats st[NCONF], cst[NCONF], add[2];
	int runs = sr_bench_runs(5);
	bool have_strace = access("/usr/bin/strace", X_OK) == 0;
	pid_t sd;

	if (!mkdtemp(tdir) || !mkdtemp(sdir) || !mkdtemp(bdir) ||
	    !mkdtemp(state) || (mkdir(ddir, 0700) < 0 && errno != EEXIST) ||
	    asprintf(&pre_empty, "LD_PRELOAD=%s", empty) < 0 ||
	    asprintf(&pre_shim, "LD_PRELOAD=%s", shim) < 0 ||
	    asprintf(&tdir_env, "SPANRING_DIR=%s", tdir) < 0 ||
	    asprintf(&sdir_env, "SPANRING_DIR=%s", sdir) < 0 ||
	    asprintf(&ddir_env, "SPANRING_DIR=%s", ddir) < 0 ||
	    asprintf(&pre_b, "LD_PRELOAD=%s", shim_b ? shim_b : "") < 0 ||
	    asprintf(&bdir_env, "SPANRING_DIR=%s", bdir) < 0)
		return 1;
	sd = sidecar_start(sdir, state);
	const char *e_empty[] = { pre_empty, NULL };
	const char *e_tmpfs[] = { pre_shim, tdir_env, NULL };
	const char *e_sd[] = { pre_shim, sdir_env, NULL };
	const char *e_disk[] = { pre_shim, ddir_env, NULL };
	const char *e_b[] = { pre_b, bdir_env, NULL };
	struct config c[NCONF] = {
		{ "bare", sr_bench_env(NULL), NULL, false, 0 },
		{ "empty preload", sr_bench_env(e_empty), NULL, false, 0 },
		{ "shim, tmpfs", sr_bench_env(e_tmpfs), tdir, false, 0 },
		{ "shim, disk", sr_bench_env(e_disk), ddir, false, 0 },
		{ "shim, tmpfs, spanringd", sr_bench_env(e_sd), NULL, false,
		  0 },
		{ "strace -f", sr_bench_env(NULL), NULL, true, 0 },
		{ "shim B, tmpfs", sr_bench_env(e_b), bdir, false, 0 },
	};
	/* the sidecar's, strace's and shim B's rows only when they can be
	 * had */
	bool skip[NCONF] = { [4] = sd < 0,
			     [5] = !have_strace,
			     [6] = !shim_b || access(shim_b, R_OK) != 0 };

	for (int i = 0; i < NCONF; i++)
		if (!skip[i])
			run_config(&c[i]);
	for (int r = 0; r < runs && r < SR_BENCH_MAX_RUNS; r++)
		for (int i = 0; i < NCONF; i++)
			if (!skip[i])
				v[i][r] = run_config(&c[i]),
				cpu[i][r] = c[i].cpu_us;
	added(cpu[2], cpu[0], runs, &add[0]);
	if (!skip[6])
		added(cpu[6], cpu[0], runs, &add[1]);
	for (int i = 0; i < NCONF; i++)
		if (!skip[i])
			sr_bench_reduce(v[i], runs, &st[i]),
				sr_bench_reduce(cpu[i], runs, &cst[i]);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct loop_row *w = &rows[i];
		struct sr_bench_stats *s = w->cpu ? cst : st;

		if (skip[w->conf])
			continue;
		row(w->name, &s[w->conf], "us", w->conf ? "bare" : NULL,
		    w->conf ? s[0].median : NAN, w->target, w->note);
	}
	row("CPU time a traced image adds to the sh loop (shim - bare, per "
	    "iteration)",
	    &add[0], "us", NULL, NAN, NULL, "median of the runs' differences");
	if (!skip[6])
		row("the same, shim B", &add[1], "us", NULL, NAN, NULL,
		    "SR_BENCH_SHIM_B");
	if (have_strace)
		syscall_rows(&c[0], &c[1], &c[2], tmp);
	if (sd > 0) {
		kill(sd, SIGTERM);
		waitpid(sd, NULL, 0);
	}
	sr_bench_empty_ring_dir(tdir);
	sr_bench_empty_ring_dir(ddir);
	sr_bench_empty_ring_dir(bdir);
	rmdir(bdir);
	rmdir(tdir);
	rmdir(ddir);
	/* the sidecar's directory and state hold its own files too */
	run_wait((char *[]){ (char *)"/bin/rm", (char *)"-rf", sdir, state,
			     NULL },
		 c[0].envp, NULL);
	return 0;
}
