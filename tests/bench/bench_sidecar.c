/* SPDX-License-Identifier: MIT */
/*
 * bench_sidecar.c - the sidecar's figures of BENCH.md, with real
 * processes: emit (rings written as the shim writes them), spanringd,
 * spanring-recv on loopback.
 *
 *  B4  spans/s and sidecar CPU-seconds per million spans: 4 producers'
 *      rings (pre-filled, owners gone) drained, assembled, encoded,
 *      LZ4-spooled and delivered to the receiver (counting only);
 *      baseline: the same into the null sink. The same with the otlp
 *      exporter (OTLP/JSON mapping on the export thread) beside openai.
 *      The breakdown: CPU per million spans of the null sink, of openai
 *      and otlp to the receiver, of the receiver alone (its own CPU while
 *      it takes the openai run's requests), and the sidecar's context
 *      switches per million spans (its wake-ups), each beside the
 *      figure it is read against; and openai with --max-batch-size 1024
 *      beside the default 128 (the share of the per-request cost).
 *  B6  LZ4 ratio and MB/s of the spooled batches (stats file); gzip
 *      ratio beside it; baseline: uncompressed (1x).
 *  B7  sidecar peak RSS with 100 live rings and 1 M spans; baseline: the
 *      sidecar with no ring. Also its CPU while those rings sit idle.
 *  B8  span end -> receiver latency p50/p99 at 50 and 10 000 spans/s with
 *      schedule_delay 0.5 s.
 *
 * SR_BENCH_RUNS sets the runs per figure (default 5). The argument B4,
 * B7 or B8 runs one group; B4otlp only the otlp exporter's runs (to
 * profile them); with SR_BENCH_SPANRINGD_B (the path of another build
 * of spanringd, e.g. of the former code) that build's run follows this
 * one's in every round, its rows beside.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/bench.h"

extern char **environ;

static char build[4096];

static const char *bpath(const char *rel)
{
	static char buf[8][4200];
	static int k;
	char *o = buf[k++ % 8];

	snprintf(o, sizeof(buf[0]), "%s/%s", build, rel);
	return o;
}

static pid_t spawn(const char *const *argv, int in, int out,
		   const char *const *env)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(in >= 0 ? in : null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(null, 2);
		unsetenv("OPENAI_API_KEY");
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static double now_s(void)
{
	return (double)sr_bench_ns() / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static char *mkdir_tmp(const char *base, const char *tag)
{
	char *d = malloc(4200);

	snprintf(d, 4200, "%s/spanring-bench-%s-XXXXXX", base, tag);
	if (!mkdtemp(d)) {
		perror("mkdtemp");
		exit(1);
	}
	return d;
}

static void rm_rf(const char *d)
{
	char cmd[4400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", d);
}

/* Starts the receiver (writing items and requests under `out` when
 * given, else counting only); returns its pid and the URL. */
static pid_t recv_start(const char *out, char *url, size_t n, int *port_out)
{
	static char req[4200];
	const char *argv[] = { bpath("spanring-recv"),
			       "--port",
			       "0",
			       NULL,
			       NULL,
			       NULL,
			       NULL,
			       NULL };
	int p[2], port = 0;
	char line[128] = "";
	pid_t pid;
	FILE *f;

	if (out) {
		snprintf(req, sizeof(req), "%s.req", out);
		argv[3] = "--output";
		argv[4] = out;
		argv[5] = "--requests";
		argv[6] = req;
	}
	if (pipe2(p, O_CLOEXEC))
		exit(1);
	pid = spawn(argv, -1, p[1], NULL);
	close(p[1]);
	f = fdopen(p[0], "r");
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "listening 127.0.0.1:%d", &port) != 1) {
		fprintf(stderr, "bench: receiver did not start\n");
		exit(1);
	}
	fclose(f);
	snprintf(url, n, "http://127.0.0.1:%d/v1/traces/ingest", port);
	if (port_out)
		*port_out = port;
	return pid;
}

static int emit_wait(const char *dir, const char *spans, const char *lane)
{
	const char *argv[] = {
		bpath("progs/emit"), "--dir", dir,     "--spans", spans,
		"--lane-size",       lane,    "--pad", "40",      NULL
	};
	int st;

	waitpid(spawn(argv, -1, -1, NULL), &st, 0);
	return st;
}

struct sd_run {
	double secs, cpu;
	pid_t pid;
};

/* Starts spanringd; with `wait_exit`, sends SIGTERM once it holds its
 * lock and measures it to the end (the shutdown drains and delivers
 * everything). */
/* Another spanringd to run instead of the build's (B4otlp), or NULL. */
static const char *sd_bin;

static void sd_args(const char **argv, const char *dir, const char *spool,
		    const char *stats, const char *exporter, const char *url,
		    const char *compression, const char *delay)
{
	int n = 0;

	argv[n++] = sd_bin ? sd_bin : bpath("spanringd");
	argv[n++] = "--dir";
	argv[n++] = dir;
	argv[n++] = "--spool-dir";
	argv[n++] = spool;
	argv[n++] = "--stats-file";
	argv[n++] = stats;
	argv[n++] = "--exporter";
	argv[n++] = exporter;
	argv[n++] = "--compression";
	argv[n++] = compression;
	argv[n++] = "--schedule-delay";
	argv[n++] = delay;
	argv[n++] = "--shutdown-timeout";
	argv[n++] = "120";
	argv[n++] = "--log-level";
	argv[n++] = "error";
	if (url) {
		argv[n++] = "--endpoint";
		argv[n++] = url;
	}
	argv[n] = NULL;
}

static bool lock_is(const char *dir, pid_t pid)
{
	char path[4200], buf[32] = "", want[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/.spanringd.lock", dir);
	snprintf(want, sizeof(want), "%d\n", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return !strcmp(buf, want);
}

static double stat_num(const char *stats, const char *key)
{
	char buf[8192], k[96];
	int fd = open(stats, O_RDONLY);
	ssize_t n;
	const char *p;

	if (fd < 0)
		return NAN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(buf, k);
	return p ? atof(p + strlen(k)) : NAN;
}

/* --- B4 / B6 ------------------------------------------------------------- */

#define B4_PRODUCERS 4
#define B4_SPANS "50000"

struct b4 {
	double rate, cpu_per_m, ratio, mbs;
	double recv_cpu_per_m; /* the receiver's own, NAN: none */
	double csw_per_m;      /* the sidecar's context switches */
};

static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* exporter: "null", "openai" or "otlp" (the last two to the receiver);
 * batch: --max-batch-size, NULL for the default (128). */
static void b4_run(const char *exporter, const char *compression,
		   const char *batch, struct b4 *r)
{
	bool to_recv = strcmp(exporter, "null") != 0;
	char otlp_env[200];
	char *rings = mkdir_tmp("/dev/shm", "rings"),
	     *tmp = mkdir_tmp("/tmp", "spool");
	char spool[4300], stats[4300], url[128], otlp_url[128] = "";
	const char *argv[40];
	pid_t rp = -1, sp;
	struct rusage ru, rru;
	double t0, t1, spans = B4_PRODUCERS * (atof(B4_SPANS) + 1);
	int st, port = 0;

	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	snprintf(stats, sizeof(stats), "%s/stats.json", tmp);
	for (int i = 0; i < B4_PRODUCERS; i++)
		emit_wait(rings, B4_SPANS, "16777216");
	if (to_recv) {
		rp = recv_start(NULL, url, sizeof(url), &port);
		/* the receiver's OTLP route */
		snprintf(otlp_url, sizeof(otlp_url),
			 "http://127.0.0.1:%d/v1/traces", port);
	}
	sd_args(argv, rings, spool, stats, exporter, to_recv ? url : NULL,
		compression, "5");
	if (batch) {
		int k = 0;

		while (argv[k])
			k++;
		argv[k++] = "--max-batch-size";
		argv[k++] = batch;
		argv[k] = NULL;
	}
	snprintf(otlp_env, sizeof(otlp_env),
		 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=%s", otlp_url);
	t0 = now_s();
	sp = spawn(argv, -1, -1,
		   (const char *[]){ "OPENAI_API_KEY=sk-bench", otlp_env,
				     NULL });
	while (!lock_is(rings, sp))
		nap_ms(1);
	kill(sp, SIGTERM);
	wait4(sp, &st, 0, &ru);
	t1 = now_s();
	r->rate = spans / (t1 - t0);
	r->cpu_per_m = cpu_s(&ru) / spans * 1e6;
	r->csw_per_m = (double)(ru.ru_nvcsw + ru.ru_nivcsw) / spans * 1e6;
	r->recv_cpu_per_m = NAN;
	r->ratio = stat_num(stats, "compression_ratio");
	r->mbs = stat_num(stats, "compress_mb_s");
	if (stat_num(stats, "items_exported") < spans)
		fprintf(stderr, "bench: B4 delivered %.0f of %.0f spans\n",
			stat_num(stats, "items_exported"), spans);
	if (rp > 0) {
		kill(rp, SIGTERM);
		if (wait4(rp, &st, 0, &rru) == rp)
			r->recv_cpu_per_m = cpu_s(&rru) / spans * 1e6;
	}
	rm_rf(rings);
	rm_rf(tmp);
	free(rings);
	free(tmp);
}

/* The otlp exporter alone: its CPU per million spans and rate; beside
 * it, interleaved run by run, the build SR_BENCH_SPANRINGD_B names. */
static void b4_otlp(int runs)
{
	double rate[2][SR_BENCH_MAX_RUNS], cpu[2][SR_BENCH_MAX_RUNS];
	const char *other = getenv("SR_BENCH_SPANRINGD_B");
	struct sr_bench_stats s[2], c[2];
	struct b4 r;

	for (int i = 0; i < runs; i++)
		for (int k = 0; k < (other ? 2 : 1); k++) {
			sd_bin = k ? other : NULL;
			b4_run("otlp", "lz4", NULL, &r);
			rate[k][i] = r.rate;
			cpu[k][i] = r.cpu_per_m;
		}
	sd_bin = NULL;
	for (int k = 0; k < (other ? 2 : 1); k++) {
		sr_bench_reduce(rate[k], runs, &s[k]);
		sr_bench_reduce(cpu[k], runs, &c[k]);
	}
	sr_bench_print(&(struct sr_bench_row){
		"B4", "otlp exporter -> receiver, 4 producers", "spans/s", s[0],
		other ? "SR_BENCH_SPANRINGD_B" : NULL,
		other ? s[1].median : NAN, NULL, NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "otlp exporter CPU per million spans", "CPU s", c[0],
		other ? "SR_BENCH_SPANRINGD_B" : NULL,
		other ? c[1].median : NAN, "<= 1.0 CPU s", NULL });
	if (other)
		sr_bench_print(&(struct sr_bench_row){
			"B4", "otlp exporter CPU per million spans, build B",
			"CPU s", c[1], NULL, NAN, NULL, other });
}

static void b4_b6(int runs)
{
	double rate[3][SR_BENCH_MAX_RUNS], cpu[3][SR_BENCH_MAX_RUNS];
	double rcpu[SR_BENCH_MAX_RUNS], csw[2][SR_BENCH_MAX_RUNS];
	double big[SR_BENCH_MAX_RUNS], bigcsw[SR_BENCH_MAX_RUNS];
	struct sr_bench_stats bs, bcs;
	double ratio[SR_BENCH_MAX_RUNS], mbs[SR_BENCH_MAX_RUNS],
		gz[SR_BENCH_MAX_RUNS];
	struct sr_bench_stats s[3], c[3], rs, ms, gs, rc, cs[2];
	struct b4 r;

	for (int i = 0; i < runs; i++) {
		b4_run("null", "lz4", NULL, &r);
		rate[0][i] = r.rate;
		cpu[0][i] = r.cpu_per_m;
		csw[0][i] = r.csw_per_m;
		b4_run("otlp", "lz4", NULL, &r);
		rate[2][i] = r.rate;
		cpu[2][i] = r.cpu_per_m;
		b4_run("openai", "lz4", "1024", &r);
		big[i] = r.cpu_per_m;
		bigcsw[i] = r.csw_per_m;
		b4_run("openai", "lz4", NULL, &r);
		rate[1][i] = r.rate;
		cpu[1][i] = r.cpu_per_m;
		rcpu[i] = r.recv_cpu_per_m;
		csw[1][i] = r.csw_per_m;
		ratio[i] = r.ratio;
		mbs[i] = r.mbs;
		b4_run("null", "gzip", NULL, &r);
		gz[i] = r.ratio;
	}
	for (int k = 0; k < 3; k++) {
		sr_bench_reduce(rate[k], runs, &s[k]);
		sr_bench_reduce(cpu[k], runs, &c[k]);
	}
	sr_bench_reduce(rcpu, runs, &rc);
	sr_bench_reduce(csw[0], runs, &cs[0]);
	sr_bench_reduce(csw[1], runs, &cs[1]);
	sr_bench_reduce(big, runs, &bs);
	sr_bench_reduce(bigcsw, runs, &bcs);
	sr_bench_reduce(ratio, runs, &rs);
	sr_bench_reduce(mbs, runs, &ms);
	sr_bench_reduce(gz, runs, &gs);
	sr_bench_print(&(struct sr_bench_row){
		"B4", "sidecar -> receiver, 4 producers", "spans/s", s[1],
		"null sink", s[0].median, ">= 1 M spans/s per core", NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "sidecar CPU per million spans -> receiver", "CPU s",
		c[1], "null sink", c[0].median, "<= 1.0 CPU s", NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "sidecar CPU per million spans -> null sink", "CPU s",
		c[0], "openai -> receiver", c[1].median, "<= 1.0 CPU s",
		"drain, assemble, encode, LZ4 spool; no delivery" });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "receiver alone: its CPU per million spans", "CPU s", rc,
		"sidecar, openai", c[1].median, NULL,
		"spanring-recv, counting only, taking the openai run's "
		"requests" });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "sidecar context switches per million spans -> receiver",
		"switches", cs[1], "null sink", cs[0].median, NULL,
		"voluntary + involuntary, getrusage" });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "the same with --max-batch-size 1024: CPU per million",
		"CPU s", bs, "openai, 128 a request", c[1].median, NULL,
		"8x fewer requests: what the per-request cost is" });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "the same with --max-batch-size 1024: context switches",
		"switches", bcs, "openai, 128 a request", cs[1].median, NULL,
		NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "otlp exporter -> receiver, 4 producers", "spans/s", s[2],
		"openai exporter", s[1].median, NULL, NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B4", "otlp exporter CPU per million spans", "CPU s", c[2],
		"openai exporter", c[1].median, NULL, NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B6", "LZ4 ratio of spooled batches", "x", rs, "uncompressed",
		1.0, ">= 4x", NULL });
	sr_bench_print(&(struct sr_bench_row){ "B6", "LZ4 compression speed",
					       "MB/s", ms, NULL, NAN,
					       ">= 1000 MB/s", NULL });
	sr_bench_print(&(struct sr_bench_row){
		"B6", "gzip ratio of spooled batches", "x", gs, "uncompressed",
		1.0, NULL, NULL });
}

/* --- B7 ----------------------------------------------------------------- */

#define B7_RINGS 100
#define B7_SPANS "10000"

/* Reads /proc/PID/name into buf (n bytes, NUL-terminated; empty when the
 * read fails). 0, or -1 if the file cannot be opened. */
static int proc_read(pid_t pid, const char *name, char *buf, size_t n)
{
	char path[64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	got = read(fd, buf, n - 1);
	close(fd);
	buf[got > 0 ? got : 0] = 0;
	return 0;
}

/* A "Key:  N kB" field of /proc/PID/status, in KiB. */
static double status_kib(pid_t pid, const char *key)
{
	char buf[4096];
	const char *p;

	if (proc_read(pid, "status", buf, sizeof(buf)))
		return NAN;
	p = strstr(buf, key);
	return p ? atof(p + strlen(key)) : NAN;
}

static double cpu_ticks(pid_t pid)
{
	char buf[1024], *p;
	unsigned long ut = 0, stt = 0;

	if (proc_read(pid, "stat", buf, sizeof(buf)))
		return NAN;
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &stt) != 2)
		return NAN;
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

static void b7_run(bool with_rings, double *rss_mib, double *anon_mib,
		   double *idle_pct)
{
	char *rings = mkdir_tmp("/dev/shm", "b7"),
	     *tmp = mkdir_tmp("/tmp", "b7");
	char spool[4300], stats[4300];
	const char *argv[40];
	int in[B7_RINGS];
	pid_t ep[B7_RINGS], sp;
	int nrings = with_rings ? B7_RINGS : 0;
	double want = nrings * (atof(B7_SPANS) + 1), c0;

	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	snprintf(stats, sizeof(stats), "%s/stats.json", tmp);
	for (int i = 0; i < nrings; i++) {
		const char *a[] = { bpath("progs/emit"),
				    "--dir",
				    rings,
				    "--spans",
				    B7_SPANS,
				    "--lane-size",
				    "2097152",
				    "--hold",
				    "--pad",
				    "40",
				    NULL };
		int ip[2], op[2];
		char buf[64];

		if (pipe2(ip, O_CLOEXEC) || pipe2(op, O_CLOEXEC))
			exit(1);
		ep[i] = spawn(a, ip[0], op[1], NULL);
		close(ip[0]);
		close(op[1]);
		if (read(op[0], buf, sizeof(buf)) <= 0)
			fprintf(stderr, "bench: producer %d failed\n", i);
		close(op[0]);
		in[i] = ip[1];
	}
	sd_args(argv, rings, spool, stats, "null", NULL, "lz4", "0.5");
	sp = spawn(argv, -1, -1, NULL);
	while (!(stat_num(stats, "items_exported") >= want) &&
	       !(nrings == 0 && stat_num(stats, "uptime_s") >= 1))
		nap_ms(50);
	*rss_mib = status_kib(sp, "VmHWM:") / 1024.0;
	*anon_mib = status_kib(sp, "RssAnon:") / 1024.0;
	c0 = cpu_ticks(sp);
	nap_ms(3000);
	*idle_pct = (cpu_ticks(sp) - c0) / 3.0 * 100.0;
	for (int i = 0; i < nrings; i++) {
		close(in[i]);
		waitpid(ep[i], NULL, 0);
	}
	kill(sp, SIGTERM);
	waitpid(sp, NULL, 0);
	rm_rf(rings);
	rm_rf(tmp);
	free(rings);
	free(tmp);
}

static void b7(int runs)
{
	double rss[2][SR_BENCH_MAX_RUNS], anon[2][SR_BENCH_MAX_RUNS];
	double idle[2][SR_BENCH_MAX_RUNS];
	struct sr_bench_stats r[2], a[2], id[2];

	for (int i = 0; i < runs; i++) {
		b7_run(false, &rss[0][i], &anon[0][i], &idle[0][i]);
		b7_run(true, &rss[1][i], &anon[1][i], &idle[1][i]);
	}
	for (int k = 0; k < 2; k++) {
		sr_bench_reduce(rss[k], runs, &r[k]);
		sr_bench_reduce(anon[k], runs, &a[k]);
		sr_bench_reduce(idle[k], runs, &id[k]);
	}
	sr_bench_print(&(struct sr_bench_row){
		"B7",
		"sidecar private RSS (RssAnon), 100 live rings, 1 M spans",
		"MiB", a[1], "sidecar, no ring", a[0].median, "<= 32 MiB",
		"after the drain; ring pages are the producers' shared memory" });
	sr_bench_print(&(struct sr_bench_row){
		"B7", "sidecar peak RSS (VmHWM) incl. mapped ring pages", "MiB",
		r[1], "sidecar, no ring", r[0].median, NULL,
		"counts the 100 rings' touched pages, shared with their owners" });
	sr_bench_print(&(struct sr_bench_row){
		"B7", "sidecar CPU with 100 idle live rings", "% core", id[1],
		"sidecar, no ring", id[0].median, "< 1 %", NULL });
}

/* --- B8 ----------------------------------------------------------------- */

static double iso_s(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	return p ? (double)timegm(&tm) + atof(p) : NAN;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Latencies of every span item: request time - ended_at. */
static size_t latencies(const char *items, const char *reqs, double *lat,
			size_t max)
{
	FILE *fi = fopen(items, "r"), *fr = fopen(reqs, "r");
	static char line[65536];
	size_t n = 0;

	while (fi && fr && fgets(line, sizeof(line), fr)) {
		const char *t = strstr(line, "\"t\":"),
			   *c = strstr(line, "\"items\":");
		double when = t ? atof(t + 4) : NAN;
		int k = c ? atoi(c + 8) : 0;

		for (int i = 0; i < k && fgets(line, sizeof(line), fi); i++) {
			const char *e = strstr(line, "\"ended_at\":\"");

			if (e && n < max)
				lat[n++] = (when - iso_s(e + 12)) * 1000.0;
		}
	}
	if (fi)
		fclose(fi);
	if (fr)
		fclose(fr);
	qsort(lat, n, sizeof(*lat), cmp_d);
	return n;
}

static void b8_run(const char *rate, const char *spans, double *p50,
		   double *p99)
{
	char *rings = mkdir_tmp("/dev/shm", "b8"),
	     *tmp = mkdir_tmp("/tmp", "b8");
	char spool[4300], stats[4300], items[4300], reqs[4400], url[128];
	const char *argv[40];
	static double lat[200000];
	pid_t rp, sp, ep;
	size_t n;

	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	snprintf(stats, sizeof(stats), "%s/stats.json", tmp);
	snprintf(items, sizeof(items), "%s/items", tmp);
	snprintf(reqs, sizeof(reqs), "%s.req", items);
	rp = recv_start(items, url, sizeof(url), NULL);
	sd_args(argv, rings, spool, stats, "openai", url, "lz4", "0.5");
	sp = spawn(argv, -1, -1,
		   (const char *[]){ "OPENAI_API_KEY=sk-bench", NULL });
	while (!lock_is(rings, sp))
		nap_ms(1);
	{
		const char *a[] = { bpath("progs/emit"),
				    "--dir",
				    rings,
				    "--spans",
				    spans,
				    "--rate",
				    rate,
				    "--lane-size",
				    "4194304",
				    NULL };

		ep = spawn(a, -1, -1, NULL);
		waitpid(ep, NULL, 0);
	}
	while (!(stat_num(stats, "items_exported") >= atof(spans) + 2))
		nap_ms(50);
	kill(sp, SIGTERM);
	waitpid(sp, NULL, 0);
	kill(rp, SIGTERM);
	waitpid(rp, NULL, 0);
	n = latencies(items, reqs, lat, sizeof(lat) / sizeof(lat[0]));
	*p50 = n ? lat[n / 2] : NAN;
	*p99 = n ? lat[(size_t)((double)(n - 1) * 0.99)] : NAN;
	rm_rf(rings);
	rm_rf(tmp);
	free(rings);
	free(tmp);
}

static void b8(int runs)
{
	static const char *const rates[2][3] = { { "50", "100", "50 spans/s" },
						 { "10000", "20000",
						   "10000 spans/s" } };

	for (int k = 0; k < 2; k++) {
		double p50[SR_BENCH_MAX_RUNS], p99[SR_BENCH_MAX_RUNS];
		struct sr_bench_stats a, b;
		char row[2][96];

		for (int i = 0; i < runs; i++)
			b8_run(rates[k][0], rates[k][1], &p50[i], &p99[i]);
		sr_bench_reduce(p50, runs, &a);
		sr_bench_reduce(p99, runs, &b);
		snprintf(row[0], sizeof(row[0]), "span end -> receiver p50, %s",
			 rates[k][2]);
		snprintf(row[1], sizeof(row[1]), "span end -> receiver p99, %s",
			 rates[k][2]);
		sr_bench_print(&(struct sr_bench_row){
			"B8", row[0], "ms", a, NULL, NAN,
			"schedule_delay 0.5 s", NULL });
		sr_bench_print(&(struct sr_bench_row){
			"B8", row[1], "ms", b, NULL, NAN,
			"<= 600 ms (schedule_delay + 100 ms)", NULL });
	}
}

int main(int argc, char **argv)
{
	int runs = sr_bench_runs(5);
	char *slash;
	const char *only = argc > 1 ? argv[1] : "";

	snprintf(build, sizeof(build), "%s", argv[0]);
	for (int i = 0; i < 2 && (slash = strrchr(build, '/')); i++)
		*slash = 0;
	if (!strrchr(argv[0], '/'))
		snprintf(build, sizeof(build), "..");
	signal(SIGPIPE, SIG_IGN);
	if (!*only || !strcmp(only, "B4"))
		b4_b6(runs);
	if (!strcmp(only, "B4otlp"))
		b4_otlp(runs);
	if (!*only || !strcmp(only, "B7"))
		b7(runs);
	if (!*only || !strcmp(only, "B8"))
		b8(runs);
	return 0;
}
