/* SPDX-License-Identifier: MIT */
/*
 * bench_isolation.c - B5: the host's cost of one complete span through
 * the C API (spanring_span_begin_custom + spanring_span_end), p50 and
 * p99, while a real spanringd drains its ring and exports to a receiver
 * that is healthy, answers 503 to everything, or accepts connections and
 * never answers. The network's trouble must not reach the host: the
 * baseline is the healthy run.
 *
 * The program re-executes itself: the orchestrator runs with
 * SPANRING_DISABLE=1 (it is linked with the shim) and starts the receiver
 * and the sidecar; the measuring child is traced into the sidecar's ring
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim/spanring.h"
#include "tests/bench/bench.h"

#define SPANS 200000
#define BURST 1000

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Child: SPANS spans in bursts (the sidecar works between them); prints
 * "p50 p99" in ns. */
static int measure(void)
{
	static double ns[SPANS];
	struct timespec pause = { 0, 1000000 };

	if (!spanring_enabled()) {
		fprintf(stderr, "bench_isolation: not recording\n");
		return 1;
	}
	for (int i = 0; i < SPANS; i++) {
		uint64_t t0 = sr_bench_ns();

		spanring_span_begin_custom("bench", "{\"k\":1}");
		spanring_span_end();
		ns[i] = (double)(sr_bench_ns() - t0);
		if (i % BURST == BURST - 1)
			nanosleep(&pause, NULL);
	}
	qsort(ns, SPANS, sizeof(ns[0]), cmp_d);
	printf("%f %f\n", ns[SPANS / 2], ns[(size_t)(SPANS * 0.99)]);
	return 0;
}

static char build[4096];

static pid_t spawn(const char *const *argv, const char *const *env, int out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(null, 2);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void path(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", build, rel);
}

/* One run against a receiver started with `fault` (NULL: healthy). */
static int run_mode(const char *self, const char *const *fault, double *p50,
		    double *p99)
{
	char rings[] = "/dev/shm/spanring-b5-XXXXXX",
	     tmp[] = "/tmp/spanring-b5-XXXXXX";
	char recv[4200], sd[4200], spool[4200], url[128], line[128] = "",
							  envdir[4300];
	const char *rargv[8] = { recv, "--port", "0" };
	int p[2], port = 0, st, n = 3;
	pid_t rp, sp, mp;
	FILE *f;

	if (!mkdtemp(rings) || !mkdtemp(tmp) || pipe2(p, O_CLOEXEC))
		return -1;
	path(recv, sizeof(recv), "spanring-recv");
	path(sd, sizeof(sd), "spanringd");
	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	for (int i = 0; fault && fault[i]; i++)
		rargv[n++] = fault[i];
	rargv[n] = NULL;
	rp = spawn(rargv, NULL, p[1]);
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "listening 127.0.0.1:%d", &port) != 1)
		return -1;
	fclose(f);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces/ingest",
		 port);
	{
		const char *sargv[] = { sd,      "--dir",
					rings,   "--spool-dir",
					spool,   "--endpoint",
					url,     "--schedule-delay",
					"0.05",  "--base-delay",
					"0.05",  "--max-delay",
					"0.2",   "--shutdown-timeout",
					"0.5",   "--log-level",
					"error", NULL };

		sp = spawn(sargv,
			   (const char *[]){ "OPENAI_API_KEY=sk-bench", NULL },
			   -1);
	}
	snprintf(envdir, sizeof(envdir), "SPANRING_DIR=%s", rings);
	if (pipe2(p, O_CLOEXEC))
		return -1;
	{
		const char *margv[] = { self, NULL };
		const char *menv[] = { "SR_B5_MEASURE=1", envdir,
				       "SPANRING_LANE_SIZE=16777216", NULL };

		unsetenv("SPANRING_DISABLE");
		mp = spawn(margv, menv, p[1]);
		setenv("SPANRING_DISABLE", "1", 1);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "%lf %lf", p50, p99) != 2)
		*p50 = *p99 = NAN;
	fclose(f);
	waitpid(mp, &st, 0);
	kill(sp, SIGTERM);
	waitpid(sp, NULL, 0);
	kill(rp, SIGTERM);
	waitpid(rp, NULL, 0);
	snprintf(line, sizeof(line), "rm -rf '%s' '%s'", rings, tmp);
	if (system(line) != 0)
		fprintf(stderr, "bench_isolation: cannot clean up\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const healthy[] = { NULL };
	static const char *const e503[] = { "--status-seq", "503", "--cycle",
					    NULL };
	static const char *const hole[] = { "--blackhole", NULL };
	static const char *const *modes[3] = { healthy, e503, hole };
	static const char *const names[3] = { "healthy", "503", "black hole" };
	double p50[3][SR_BENCH_MAX_RUNS], p99[3][SR_BENCH_MAX_RUNS];
	struct sr_bench_stats a[3], b[3];
	char self[4096], *slash;
	int runs = sr_bench_runs(5);
	ssize_t n;

	(void)argc;
	if (getenv("SR_B5_MEASURE"))
		return measure();
	if (!getenv("SPANRING_DISABLE")) {
		/* the orchestrator must not trace itself or its children */
		setenv("SPANRING_DISABLE", "1", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	snprintf(build, sizeof(build), "%s", self);
	for (int i = 0; i < 2 && (slash = strrchr(build, '/')); i++)
		*slash = 0;
	for (int i = 0; i < runs; i++)
		for (int m = 0; m < 3; m++)
			if (run_mode(self, modes[m], &p50[m][i], &p99[m][i]))
				return 1;
	for (int m = 0; m < 3; m++) {
		sr_bench_reduce(p50[m], runs, &a[m]);
		sr_bench_reduce(p99[m], runs, &b[m]);
	}
	for (int m = 0; m < 3; m++) {
		char row[2][96];

		snprintf(row[0], sizeof(row[0]), "C API span p50, endpoint %s",
			 names[m]);
		snprintf(row[1], sizeof(row[1]), "C API span p99, endpoint %s",
			 names[m]);
		sr_bench_print(&(struct sr_bench_row){ "B5", row[0], "ns", a[m],
						       "healthy", a[0].median,
						       NULL, NULL });
		sr_bench_print(&(struct sr_bench_row){
			"B5", row[1], "ns", b[m], "healthy", b[0].median,
			"p99 ratio <= 1.05", NULL });
	}
	return 0;
}
