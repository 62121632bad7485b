/* SPDX-License-Identifier: MIT */
/*
 * bench_startup.c - B3: what the shim adds to a process start.
 *  - fork + execve of /bin/true, waited for, N times: bare, with an empty
 *    preloaded library (libempty_preload.so, built beside this program),
 *    and with libspanring.so recording into a private ring directory;
 *  - a shell loop of 1000 `sh -c true` (each a fork and an exec of sh;
 *    `true` is a builtin): bare, empty preload, shim.
 * Figures are microseconds per process (per loop iteration), median of
 * runs, the three configurations interleaved run by run: wall time, and
 * the CPU time of the started processes (wait4), which the load of other
 * tenants disturbs less. Rings left by a run are removed between runs
 * (outside the timing), as a sidecar would. No sidecar runs: within one
 * shell-loop run the directory grows to ~2000 small rings
 * (SPANRING_LANES=4, SPANRING_LANE_SIZE=16384 keep them under the byte
 * cap), which the O(1) tmpfs cap check makes harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ringdir.h"
#include "tests/bench/bench.h"

#define TRUE_N 100
#define LOOP_N 1000

extern char **environ;

struct config {
	char **envp;     /* environment of the started programs */
	const char *dir; /* ring directory to empty between runs, or NULL */
	int loop;        /* 0: /bin/true N times; 1: shell loop */
	double cpu_us;   /* CPU time (user + system) of the last run's
			    children, per process / iteration, us */
};

/* CPU time of the children reaped by run_wait(), us: steadier than the
 * wall time on a shared machine (another tenant's load delays a start
 * more than it inflates its CPU time). */
static double child_cpu_us;

static void run_wait(const char *path, char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	struct rusage ru;
	int st;

	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	/* wait4's usage covers the child and the descendants it reaped */
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_startup: %s failed\n", path);
		exit(1);
	}
	child_cpu_us += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
				1e6 +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double run_config(void *ctx)
{
	static char *true_argv[] = { (char *)"true", NULL };
	static char *loop_argv[] = {
		(char *)"sh",
		(char *)"-c",
		(char *)"i=0; while [ $i -lt 1000 ]; do sh -c true; "
			"i=$((i+1)); done",
		NULL,
	};
	struct config *c = ctx;
	uint64_t t0;

	if (c->dir)
		sr_bench_empty_ring_dir(c->dir);
	child_cpu_us = 0;
	t0 = sr_bench_ns();
	if (c->loop) {
		run_wait("/bin/sh", loop_argv, c->envp);
		c->cpu_us = child_cpu_us / LOOP_N;
		return (double)(sr_bench_ns() - t0) / 1e3 / LOOP_N;
	}
	for (int i = 0; i < TRUE_N; i++)
		run_wait("/bin/true", true_argv, c->envp);
	c->cpu_us = child_cpu_us / TRUE_N;
	return (double)(sr_bench_ns() - t0) / 1e3 / TRUE_N;
}

/* The three configurations take turns, run by run (after one warm-up
 * run each), so a burst of load on the shared machine hits all of them
 * alike instead of one configuration's whole series. */
static void measure_interleaved(struct config c[3], int runs,
				struct sr_bench_stats out[3],
				struct sr_bench_stats cpu[3])
{
	static double v[3][SR_BENCH_MAX_RUNS], u[3][SR_BENCH_MAX_RUNS];

	for (int i = 0; i < 3; i++)
		run_config(&c[i]);
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < 3; i++) {
			v[i][r] = run_config(&c[i]);
			u[i][r] = c[i].cpu_us;
		}
	for (int i = 0; i < 3; i++) {
		sr_bench_reduce(v[i], runs, &out[i]);
		sr_bench_reduce(u[i], runs, &cpu[i]);
	}
}

static void row(const char *rowname, struct sr_bench_stats *s, const char *base,
		double base_median, const char *target, const char *note)
{
	sr_bench_print(&(struct sr_bench_row){ .id = "B3",
					       .row = rowname,
					       .unit = "us",
					       .s = *s,
					       .baseline = base,
					       .baseline_median = base_median,
					       .target = target,
					       .note = note });
}

int main(void)
{
	char dir[] = "/dev/shm/spanring-bench-start-XXXXXX", cmd[128];
	char *empty = sr_bench_beside("libempty_preload.so", 0, true);
	char *shim = sr_bench_beside("libspanring.so", 1, true);
	char *pre_empty, *pre_shim, *dir_env;
	struct sr_bench_stats t[3], l[3], tc[3], lc[3];
	int runs = sr_bench_runs(5);

	if (!mkdtemp(dir) || asprintf(&pre_empty, "LD_PRELOAD=%s", empty) < 0 ||
	    asprintf(&pre_shim, "LD_PRELOAD=%s", shim) < 0 ||
	    asprintf(&dir_env, "SPANRING_DIR=%s", dir) < 0)
		return 1;
	const char *e_empty[] = { pre_empty, NULL };
	const char *e_shim[] = { pre_shim,
				 dir_env,
				 "SPANRING_LANES=4",
				 "SPANRING_LANE_SIZE=16384",
				 "SPANRING_MAX_RINGS=100000",
				 NULL };
	struct config c[3] = {
		{ sr_bench_env(NULL), NULL, 0, 0 },
		{ sr_bench_env(e_empty), NULL, 0, 0 },
		{ sr_bench_env(e_shim), dir, 0, 0 },
	};

	measure_interleaved(c, runs, t, tc);
	for (int i = 0; i < 3; i++)
		c[i].loop = 1;
	measure_interleaved(c, runs, l, lc);
	row("/bin/true fork+exec, shim", &t[2], "bare", t[0].median,
	    "ratio <= 1.15", NULL);
	row("/bin/true fork+exec, empty preload", &t[1], "bare", t[0].median,
	    NULL, NULL);
	row("/bin/true fork+exec, shim vs empty preload", &t[2],
	    "empty preload", t[1].median, NULL, NULL);
	row("/bin/true fork+exec, bare", &t[0], NULL, NAN, NULL, NULL);
	row("1000 x sh -c true, shim (per iteration)", &l[2], "bare",
	    l[0].median, NULL,
	    "2 traced images per iteration (true is a builtin); "
	    "rings accumulate, no sidecar");
	row("1000 x sh -c true, empty preload (per iteration)", &l[1], "bare",
	    l[0].median, NULL, NULL);
	row("1000 x sh -c true, bare (per iteration)", &l[0], NULL, NAN, NULL,
	    NULL);
	row("/bin/true CPU time, shim", &tc[2], "bare", tc[0].median, NULL,
	    "user + system time of the started process (wait4)");
	row("/bin/true CPU time, empty preload", &tc[1], "bare", tc[0].median,
	    NULL, NULL);
	row("/bin/true CPU time, bare", &tc[0], NULL, NAN, NULL, NULL);
	row("1000 x sh -c true CPU time, shim (per iteration)", &lc[2], "bare",
	    lc[0].median, NULL, NULL);
	row("1000 x sh -c true CPU time, empty preload (per iteration)", &lc[1],
	    "bare", lc[0].median, NULL, NULL);
	row("1000 x sh -c true CPU time, bare (per iteration)", &lc[0], NULL,
	    NAN, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}
