/* SPDX-License-Identifier: MIT */
/*
 * lttng_pair.c - the LTTng-UST begin+end baseline, measured in a copy of
 * the bench program started after the recording session exists.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wundef"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include "tests/bench/lttng_tp.h"
#pragma GCC diagnostic pop

#include "lttng_pair.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ids.h"

#define CHILD_FLAG "--sr-lttng-child"

/* --- the measured copy -------------------------------------------------- */

static double pair_run(long iters)
{
	uint8_t trace_id[16], span_id[12], parent_id[12];
	uint64_t t0 = sr_bench_ns();

	sr_id_random(trace_id, sizeof(trace_id));
	sr_id_random(parent_id, sizeof(parent_id));
	for (long i = 0; i < iters; i++) {
		uint64_t start, end;

		sr_id_random(span_id, sizeof(span_id));
		start = sr_now_ns();
		lttng_ust_tracepoint(spanring_bench, span_begin, trace_id,
				     span_id, parent_id, start, "bench.span");
		end = sr_now_ns();
		lttng_ust_tracepoint(spanring_bench, span_end, trace_id,
				     span_id, end, "{\"k\":\"v\",\"n\":1}");
	}
	return (double)(sr_bench_ns() - t0) / (double)iters;
}

void sr_lttng_child(int argc, char **argv)
{
	int runs;
	long iters;

	if (argc < 4 || strcmp(argv[1], CHILD_FLAG) != 0)
		return;
	runs = atoi(argv[2]);
	iters = atol(argv[3]);
	if (runs < 1 || runs > SR_BENCH_MAX_RUNS || iters < 1)
		exit(64);
	pair_run(iters / 4); /* warm-up */
	for (int i = 0; i < runs; i++)
		printf("%.3f\n", pair_run(iters));
	exit(0);
}

/* --- session control ---------------------------------------------------- */

/* Runs argv quietly; returns its exit status, or -1. */
static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* lttng with up to five arguments (NULL-terminated). */
static int lttng(const char *a, const char *b, const char *c, const char *d,
		 const char *e)
{
	char *argv[] = { (char *)"lttng", (char *)a, (char *)b, (char *)c,
			 (char *)d,       (char *)e, NULL };

	return run_quiet(argv);
}

static bool sessiond_answers(void)
{
	return lttng("list", NULL, NULL, NULL, NULL) == 0;
}

/* Starts a session daemon we own; returns its pid, or -1. */
static pid_t start_sessiond(void)
{
	char *argv[] = { (char *)"lttng-sessiond", (char *)"--no-kernel",
			 NULL };
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	/* waiting for an external daemon to answer: poll with a deadline */
	for (int i = 0; i < 100; i++) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid)
			return -1;
		if (sessiond_answers())
			return pid;
		usleep(100 * 1000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop_sessiond(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static uint64_t tree_bytes;

static int add_size(const char *p, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)p;
	(void)f;
	if (flag == FTW_F)
		tree_bytes += (uint64_t)st->st_size;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* Runs the measured copy; parses one figure per line. */
static int run_child(int runs, long iters, double *v)
{
	char r[16], n[32];
	int fds[2], got = 0, st;
	pid_t pid;
	FILE *in;

	snprintf(r, sizeof(r), "%d", runs);
	snprintf(n, sizeof(n), "%ld", iters);
	if (pipe(fds) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = { (char *)"/proc/self/exe", (char *)CHILD_FLAG,
				 r, n, NULL };

		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (in && got < runs && fscanf(in, "%lf", &v[got]) == 1)
		got++;
	if (in)
		fclose(in);
	waitpid(pid, &st, 0);
	return got == runs && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

int sr_lttng_pair_measure(int runs, long iters, struct sr_bench_stats *out,
			  char *note, size_t notelen)
{
	char dir[] = "/tmp/spanring-lttng-XXXXXX", name[64], *outopt = NULL;
	double v[SR_BENCH_MAX_RUNS];
	pid_t own = 0;
	int rc = -EIO;

	sr_bench_none(out);
	snprintf(note, notelen, "%s", "");
	if (runs > SR_BENCH_MAX_RUNS)
		runs = SR_BENCH_MAX_RUNS;
	if (!sessiond_answers()) {
		own = start_sessiond();
		if (own < 0) {
			snprintf(note, notelen,
				 "LTTng: cannot start lttng-sessiond");
			return -ENOENT;
		}
	}
	if (!mkdtemp(dir)) {
		snprintf(note, notelen, "LTTng: mkdtemp: %s", strerror(errno));
		goto out_sessiond;
	}
	snprintf(name, sizeof(name), "srbench-%d", (int)getpid());
	if (asprintf(&outopt, "--output=%s", dir) < 0)
		goto out_dir;
	if (lttng("create", name, outopt, NULL, NULL) != 0) {
		snprintf(note, notelen, "LTTng: lttng create failed");
		goto out_dir;
	}
	if (lttng("enable-event", "-u", "-s", name, "spanring_bench:*") != 0) {
		snprintf(note, notelen, "LTTng: enable-event failed");
		goto out_destroy;
	}
	if (lttng("start", name, NULL, NULL, NULL) != 0) {
		snprintf(note, notelen, "LTTng: lttng start failed");
		goto out_destroy;
	}
	rc = run_child(runs, iters, v);
	lttng("stop", name, NULL, NULL, NULL);
	tree_bytes = 0;
	nftw(dir, add_size, 16, FTW_PHYS);
	if (rc)
		snprintf(note, notelen, "LTTng: the measured program failed");
	else if (tree_bytes == 0) {
		snprintf(note, notelen, "LTTng: no event was recorded");
		rc = -EIO;
	} else {
		sr_bench_reduce(v, runs, out);
		snprintf(note, notelen, "LTTng-UST session recorded %llu KiB",
			 (unsigned long long)(tree_bytes >> 10));
	}
out_destroy:
	lttng("destroy", name, NULL, NULL, NULL);
out_dir:
	free(outopt);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
out_sessiond:
	stop_sessiond(own);
	return rc;
}
