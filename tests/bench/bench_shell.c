/* SPDX-License-Identifier: MIT */
/*
 * bench_shell.c - B3, what a host's shell pays: a loop of 300 /bin/true
 * (`sh -c 'for …; do /bin/true; done'`) bare, with an empty preloaded
 * library, with the shim recording into a tmpfs directory and into a
 * directory on the disk filesystem of the build tree, and under
 * `strace -f -e trace=process,network` (another tracer, the baseline the
 * host would otherwise pay). Microseconds per iteration, the configurations
 * interleaved run by run, median of runs. Then the system calls of one
 * /bin/true, bare and traced, counted with `strace -f -c`.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ringdir.h"
#include "tests/bench/bench.h"

#define LOOP_N 300
#define NCONF 5

extern char **environ;

struct config {
	const char *name;
	char **envp;
	const char *dir; /* ring directory emptied between runs, or NULL */
	bool strace;     /* run the loop under strace -f */
};

static int run_wait(char *const argv[], char *const envp[], const char *out)
{
	pid_t pid = fork();
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
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static double run_config(struct config *c)
{
	static char loop[] = "i=0; while [ $i -lt 300 ]; do /bin/true; "
			     "i=$((i+1)); done";
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
	return (double)(sr_bench_ns() - t0) / 1e3 / LOOP_N;
}

/* System calls of one /bin/true with envp, as `strace -f -c` counts them
 * (its "total" line), or -1. */
static long count_syscalls(char **envp, const char *tmp)
{
	char *argv[] = { (char *)"/usr/bin/strace",
			 (char *)"-f",
			 (char *)"-c",
			 (char *)"-o",
			 (char *)tmp,
			 (char *)"/bin/true",
			 NULL };
	char line[256];
	long calls = -1;
	FILE *f;

	if (run_wait(argv, envp, NULL) != 0 || !(f = fopen(tmp, "r")))
		return -1;
	/* "100.00    0.000000           0        31         2 total" */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " total")) {
			double pct, secs;
			long usecs, n;

			if (sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs,
				   &n) == 4)
				calls = n;
		}
	fclose(f);
	return calls;
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

int main(void)
{
	char tdir[] = "/dev/shm/spanring-bench-shell-XXXXXX";
	char *empty = sr_bench_beside("libempty_preload.so", 0, true);
	char *shim = sr_bench_beside("libspanring.so", 1, true);
	char *ddir = sr_bench_beside("bench-shell-rings", 0, false),
	     *tmp = sr_bench_beside("strace.out", 0, false);
	char *pre_empty, *pre_shim, *tdir_env, *ddir_env;
	static double v[NCONF][SR_BENCH_MAX_RUNS];
	struct sr_bench_stats st[NCONF], n;
	int runs = sr_bench_runs(5);
	bool have_strace = access("/usr/bin/strace", X_OK) == 0;
	long bare_calls, shim_calls;

	if (!mkdtemp(tdir) || (mkdir(ddir, 0700) < 0 && errno != EEXIST) ||
	    asprintf(&pre_empty, "LD_PRELOAD=%s", empty) < 0 ||
	    asprintf(&pre_shim, "LD_PRELOAD=%s", shim) < 0 ||
	    asprintf(&tdir_env, "SPANRING_DIR=%s", tdir) < 0 ||
	    asprintf(&ddir_env, "SPANRING_DIR=%s", ddir) < 0)
		return 1;
	const char *e_empty[] = { pre_empty, NULL };
	const char *e_tmpfs[] = { pre_shim, tdir_env,
				  "SPANRING_MAX_RINGS=100000", NULL };
	const char *e_disk[] = { pre_shim, ddir_env,
				 "SPANRING_MAX_RINGS=100000", NULL };
	struct config c[NCONF] = {
		{ "bare", sr_bench_env(NULL), NULL, false },
		{ "empty preload", sr_bench_env(e_empty), NULL, false },
		{ "shim, tmpfs", sr_bench_env(e_tmpfs), tdir, false },
		{ "shim, disk", sr_bench_env(e_disk), ddir, false },
		{ "strace -f", sr_bench_env(NULL), NULL, true },
	};
	int nconf = have_strace ? NCONF : NCONF - 1;

	for (int i = 0; i < nconf; i++)
		run_config(&c[i]);
	for (int r = 0; r < runs && r < SR_BENCH_MAX_RUNS; r++)
		for (int i = 0; i < nconf; i++)
			v[i][r] = run_config(&c[i]);
	for (int i = 0; i < nconf; i++)
		sr_bench_reduce(v[i], runs, &st[i]);
	row("sh loop of 300 /bin/true, shim, ring dir on tmpfs (per iteration)",
	    &st[2], "us", "bare", st[0].median, "ratio <= 1.15", NULL);
	row("sh loop of 300 /bin/true, shim, ring dir on disk (per iteration)",
	    &st[3], "us", "bare", st[0].median, "ratio <= 1.3",
	    "the build tree's filesystem");
	row("sh loop of 300 /bin/true, empty preload (per iteration)", &st[1],
	    "us", "bare", st[0].median, NULL, NULL);
	if (have_strace)
		row("sh loop of 300 /bin/true, strace -f -e trace=process,network "
		    "(per iteration)",
		    &st[4], "us", "bare", st[0].median, NULL,
		    "another tracer, for comparison");
	row("sh loop of 300 /bin/true, bare (per iteration)", &st[0], "us",
	    NULL, NAN, NULL, NULL);
	if (have_strace) {
		bare_calls = count_syscalls(c[0].envp, tmp);
		shim_calls = count_syscalls(c[2].envp, tmp);
		n = (struct sr_bench_stats){ (double)shim_calls,
					     (double)shim_calls,
					     (double)shim_calls, 1 };
		row("system calls of a traced /bin/true", &n, "calls", "bare",
		    (double)bare_calls, "<= bare + 12",
		    "strace -f -c; loading any preloaded library adds ~10");
		unlink(tmp);
	}
	sr_bench_empty_ring_dir(tdir);
	sr_bench_empty_ring_dir(ddir);
	rmdir(tdir);
	rmdir(ddir);
	return 0;
}
