/* SPDX-License-Identifier: MIT */
/*
 * bench_api.c - B1/B2 through the shim's C API: spanring_span_begin() with
 * a small span_data object + spanring_span_end() (ids, two timestamps, one
 * complete SPAN record), on 1 thread and on 2 threads (ns per span per
 * thread). Baselines measured in the same run: the floor (the record's
 * bytes copied into a local buffer, one atomic add, two clock reads) and
 * an LTTng-UST begin+end pair.
 *
 * The program links libspanring.so, whose constructor creates the ring
 * before main(): main re-executes itself once with SPANRING_DIR set to a
 * private directory and lanes big enough for a run; between runs (outside
 * the timed part) it drains the ring as a consumer would, so nothing is
 * dropped. The drop counters are printed with the figures, and the clock
 * the spans were stamped with (SPANRING_CLOCK, passed through). Before any
 * figure, every lane the runs write goes round once (prefault()), so no
 * run pays for first touches of the ring's pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"
#include "shim/spanring.h"
#include "tests/bench/bench.h"
#include "tests/bench/lttng_pair.h"

#define ITERS 20000L /* spans per thread per run: ~3 MB, lanes are 8 MiB */
#define LANE_SIZE (8u * 1024u * 1024u)
#define CHILD_ENV "SR_BENCH_API_DIR"

static const char span_data[] =
	"{\"type\":\"function\",\"name\":\"f\",\"input\":\"x\",\"output\":\"y\"}";

struct bench {
	struct sr_reader *rd;
	uint8_t floor_bytes[256];
	uint32_t floor_len;
	pthread_barrier_t go, done;
	double per_thread[2];
	bool stop;
	long failures;
};

static uint64_t api_spans(struct bench *b, long n)
{
	uint64_t t0 = sr_bench_ns();

	for (long i = 0; i < n; i++) {
		if (spanring_span_begin(span_data) | spanring_span_end())
			b->failures++;
	}
	return sr_bench_ns() - t0;
}

/* Between runs, outside the timed part: consume everything. */
static void drain(struct bench *b)
{
	while (sr_reader_poll(b->rd, SIZE_MAX, NULL, NULL) > 0)
		;
	if (sr_reader_commit(b->rd))
		abort();
}

static double run_1thread(void *ctx)
{
	struct bench *b = ctx;

	drain(b);
	return (double)api_spans(b, ITERS) / ITERS;
}

struct worker {
	struct bench *b;
	int idx;
};

/* Two long-lived workers keep their lanes (and touched pages) across
 * runs; each run is one barrier round. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		pthread_barrier_wait(&w->b->go);
		if (w->b->stop)
			return NULL;
		w->b->per_thread[w->idx] = (double)api_spans(w->b, ITERS) /
					   ITERS;
		pthread_barrier_wait(&w->b->done);
	}
}

static double run_2threads(void *ctx)
{
	struct bench *b = ctx;

	drain(b);
	pthread_barrier_wait(&b->go);
	pthread_barrier_wait(&b->done);
	return (b->per_thread[0] + b->per_thread[1]) / 2;
}

/* Before any measurement: every lane the runs write (the main thread's
 * and both workers') goes round once, so no run pays for first touches of
 * the ring's pages (a run covers a third of a lane: without this the first
 * runs of each figure fault in ~700 shared pages per thread). */
static void prefault(struct bench *b)
{
	uint32_t rounds = LANE_SIZE / (uint32_t)(ITERS * b->floor_len) + 1;

	for (uint32_t i = 0; i < rounds; i++) {
		run_1thread(b);
		run_2threads(b);
	}
}

static double run_floor(void *ctx)
{
	struct bench *b = ctx;

	return sr_bench_floor(b->floor_bytes, b->floor_len, ITERS);
}

struct find {
	uint32_t pid;
	char name[SR_RING_NAME_MAX];
};

static void find_own(void *ctx, const char *name)
{
	struct find *f = ctx;
	uint32_t pid;

	if (sr_ring_name_parse(name, &pid, NULL) && pid == f->pid)
		snprintf(f->name, sizeof(f->name), "%s", name);
}

static int setup(struct bench *b, const char *dir)
{
	struct find f = { (uint32_t)getpid(), "" };
	struct sr_span_rec s = { .flags = SR_SF_SPAN_DATA };
	char why[256];
	bool cut;
	int dfd, rc;

	if (!spanring_enabled())
		return -ENODEV;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	sr_dir_scan(dfd, 0, find_own, &f);
	rc = f.name[0]
		     ? sr_reader_open(dfd, f.name, 0, &b->rd, why, sizeof(why))
		     : -ENOENT;
	close(dfd);
	if (rc)
		return rc;
	s.data = (struct sr_str){ span_data, sizeof(span_data) - 1 };
	sr_id_random(s.span_id, 12);
	b->floor_len = 8 + sr_span_encode(b->floor_bytes + 8,
					  sizeof(b->floor_bytes) - 8, &s, &cut);
	return 0;
}

/* First invocation: make a private ring directory and run again with the
 * shim pointed at it. Returns only in the re-executed copy. */
static void reexec(char **argv, char *dir)
{
	char exe[4096], lane[16];
	ssize_t n;

	if (getenv(CHILD_ENV))
		return;
	if (!mkdtemp(dir)) {
		perror("bench_api: mkdtemp");
		exit(1);
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		exit(1);
	exe[n] = 0;
	setenv(CHILD_ENV, dir, 1);
	setenv("SPANRING_DIR", dir, 1);
	setenv("SPANRING_LANES", "8", 1);
	snprintf(lane, sizeof(lane), "%u", LANE_SIZE);
	setenv("SPANRING_LANE_SIZE", lane, 1);
	unsetenv("SPANRING_DISABLE");
	unsetenv("SPANRING_CONTEXT");
	unsetenv("TRACEPARENT");
	execv(exe, argv);
	perror("bench_api: exec");
	exit(1);
}

static void print_rows(struct sr_bench_stats *one, struct sr_bench_stats *two,
		       struct sr_bench_stats *flo, struct sr_bench_stats *lt,
		       const char *note, const char *lnote)
{
	sr_bench_print(&(struct sr_bench_row){ .id = "B1",
					       .row = "C API span, 1 thread",
					       .unit = "ns",
					       .s = *one,
					       .baseline = "floor",
					       .baseline_median = flo->median,
					       .target = "ratio <= 1.5 (floor)",
					       .note = note });
	sr_bench_print(
		&(struct sr_bench_row){ .id = "B1",
					.row = "C API span vs LTTng-UST pair",
					.unit = "ns",
					.s = *one,
					.baseline = "LTTng-UST begin+end",
					.baseline_median = lt->median,
					.target = "ratio <= 0.2",
					.note = lnote[0] ? lnote : NULL });
	sr_bench_print(&(struct sr_bench_row){
		.id = "B2",
		.row = "C API span, 2 threads (per thread)",
		.unit = "ns",
		.s = *two,
		.baseline = "B1 C API, 1 thread",
		.baseline_median = one->median,
		.target = "ratio <= 1.3",
		.note = note });
}

static void cleanup(struct bench *b, const char *dir)
{
	char cmd[4200];

	sr_reader_free(b->rd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_api: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	static struct bench b;
	char dir[] = "/dev/shm/spanring-bench-api-XXXXXX", note[384],
	     lnote[256] = "";
	struct sr_bench_stats one, two, flo, lt;
	struct worker w[2] = { { &b, 0 }, { &b, 1 } };
	int runs = sr_bench_runs(11), rc;
	pthread_t t[2];

	sr_lttng_child(argc, argv);
	reexec(argv, dir);
	snprintf(dir, sizeof(dir), "%s", getenv(CHILD_ENV));
	rc = setup(&b, dir);
	if (rc) {
		fprintf(stderr, "bench_api: shim not recording in %s: %s\n",
			dir, strerror(-rc));
		return 1;
	}
	pthread_barrier_init(&b.go, NULL, 3);
	pthread_barrier_init(&b.done, NULL, 3);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker_main, &w[i]))
			abort();
	prefault(&b);
	sr_bench_measure(run_floor, &b, runs, &flo);
	sr_bench_measure(run_1thread, &b, runs, &one);
	sr_bench_measure(run_2threads, &b, runs, &two);
	b.stop = true;
	pthread_barrier_wait(&b.go);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	drain(&b);
	sr_lttng_pair_measure(runs, ITERS * 5, &lt, lnote, sizeof(lnote));
	{
		size_t len = sr_bench_drops_note(b.rd, b.floor_len, note,
						 sizeof(note));

		snprintf(note + len, sizeof(note) - len,
			 "; API failures %ld; span stamps %s (SPANRING_CLOCK)",
			 b.failures,
			 sr_reader_clock(b.rd) == SR_CLOCK_TSC
				 ? "TSC"
				 : "CLOCK_REALTIME");
	}
	print_rows(&one, &two, &flo, &lt, note, lnote);
	cleanup(&b, dir);
	return 0;
}
