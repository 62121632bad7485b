/* SPDX-License-Identifier: MIT */
/*
 * bench_ring.c - B1/B2 at ring level: one span-sized record (what the shim
 * writes for a small API span) through sr_ring_reserve/commit, with two
 * clock reads and a fresh span id, on 1 and 2 threads (one lane each).
 * Baselines in the same run: the floor (the same bytes copied into a local
 * buffer, one atomic add, two clock reads) and an LTTng-UST begin+end pair.
 *
 * The ring is sized so a run never fills it and is drained between runs
 * (outside the timed part); the drop counters are printed and must be 0.
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
#include "common/ring.h"
#include "tests/bench/bench.h"
#include "tests/bench/lttng_pair.h"

#define LANE_SIZE (16u * 1024u * 1024u)
#define LANES 4u      /* 2 owned + the shared ones */
#define ITERS 100000L /* records per thread per run: ~11 MB < LANE_SIZE */

static const char span_name[] = "bench.span";
static const char span_data[] = "{\"k\":\"v\",\"n\":1}";

struct bench {
	struct sr_ring ring;
	struct sr_reader *rd;
	uint8_t trace_id[16], parent_id[12];
	uint8_t floor_bytes[256]; /* an encoded record, for the floor */
	uint32_t floor_len;
	pthread_barrier_t go;
	double per_thread[2];
};

static void span_template(struct bench *b, struct sr_span_rec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->trace_id, b->trace_id, sizeof(s->trace_id));
	memcpy(s->parent_id, b->parent_id, sizeof(s->parent_id));
	s->flags = 0;
	s->name.p = span_name;
	s->name.n = sizeof(span_name) - 1;
	s->data.p = span_data;
	s->data.n = sizeof(span_data) - 1;
}

/* The measured path: ids, two clock reads, reserve, encode, commit. */
static uint64_t ring_spans(struct bench *b, struct sr_producer *p, long n)
{
	struct sr_span_rec s;
	uint64_t t0 = sr_bench_ns(), drops = 0;

	span_template(b, &s);
	for (long i = 0; i < n; i++) {
		struct sr_resv rv;
		uint32_t len;
		uint8_t *dst;
		bool cut;

		sr_id_random(s.span_id, sizeof(s.span_id));
		s.start_ns = sr_now_ns();
		s.end_ns = sr_now_ns();
		len = sr_span_size(&s);
		dst = sr_ring_reserve(&b->ring, p, len + 8, &rv);
		if (!dst) {
			drops++;
			continue;
		}
		len = sr_span_encode(dst, len, &s, &cut);
		sr_ring_commit(&b->ring, p, &rv, SR_REC_SPAN,
			       cut ? SR_RF_TRUNCATED : 0);
	}
	if (drops)
		fprintf(stderr, "bench_ring: %llu records dropped\n",
			(unsigned long long)drops);
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
	struct sr_producer p = { .tid = 101 };
	uint64_t ns;

	drain(b);
	ns = ring_spans(b, &p, ITERS);
	sr_producer_release(&b->ring, &p);
	return (double)ns / ITERS;
}

struct worker {
	struct bench *b;
	int idx;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sr_producer p = { .tid = 201 + (uint32_t)w->idx };
	uint64_t ns;

	pthread_barrier_wait(&w->b->go);
	ns = ring_spans(w->b, &p, ITERS);
	sr_producer_release(&w->b->ring, &p);
	w->b->per_thread[w->idx] = (double)ns / ITERS;
	return NULL;
}

static double run_2threads(void *ctx)
{
	struct bench *b = ctx;
	struct worker w[2] = { { b, 0 }, { b, 1 } };
	pthread_t t[2];

	drain(b);
	pthread_barrier_init(&b->go, NULL, 2);
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, worker_main, &w[i]))
			abort();
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b->go);
	return (b->per_thread[0] + b->per_thread[1]) / 2;
}

static double run_floor(void *ctx)
{
	struct bench *b = ctx;

	return sr_bench_floor(b->floor_bytes, b->floor_len, ITERS);
}

static int setup(struct bench *b, char *dir)
{
	struct sr_ring_params p = { .lanes = LANES,
				    .lane_size = LANE_SIZE,
				    .pid = (uint32_t)getpid(),
				    .exe = "bench_ring" };
	struct sr_span_rec s;
	char why[256];
	bool cut;
	int dirfd, rc;

	if (!mkdtemp(dir))
		return -errno;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = sr_ring_create(&b->ring, dirfd, "bench.ring", &p);
	if (!rc)
		rc = sr_reader_open(dirfd, "bench.ring", 0, &b->rd, why,
				    sizeof(why));
	close(dirfd);
	if (rc)
		return rc;
	/* fault every page in now, so no run pays for first touches */
	memset(b->ring.data, 0, (size_t)LANES * LANE_SIZE);
	sr_id_random(b->trace_id, sizeof(b->trace_id));
	sr_id_random(b->parent_id, sizeof(b->parent_id));
	span_template(b, &s);
	sr_id_random(s.span_id, sizeof(s.span_id));
	b->floor_len = 8 + sr_span_encode(b->floor_bytes + 8,
					  sizeof(b->floor_bytes) - 8, &s, &cut);
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench b;
	char dir[] = "/dev/shm/spanring-bench-XXXXXX", note[256], lnote[256];
	struct sr_bench_stats one, two, flo, lt;
	int runs = sr_bench_runs(11), rc;

	sr_lttng_child(argc, argv);
	rc = setup(&b, dir);
	if (rc) {
		fprintf(stderr, "bench_ring: cannot set up a ring in %s: %s\n",
			dir, strerror(-rc));
		return 1;
	}
	sr_bench_measure(run_floor, &b, runs, &flo);
	sr_bench_measure(run_1thread, &b, runs, &one);
	sr_bench_measure(run_2threads, &b, runs, &two);
	sr_lttng_pair_measure(runs, ITERS, &lt, lnote, sizeof(lnote));
	sr_bench_drops_note(b.rd, b.floor_len, note, sizeof(note));

	sr_bench_print(
		&(struct sr_bench_row){ .id = "B1",
					.row = "ring: span record, 1 thread",
					.unit = "ns",
					.s = one,
					.baseline = "floor",
					.baseline_median = flo.median,
					.target = "ratio <= 1.5 (floor)",
					.note = note });
	sr_bench_print(&(struct sr_bench_row){
		.id = "B1",
		.row = "ring: span record vs LTTng-UST pair",
		.unit = "ns",
		.s = one,
		.baseline = "LTTng-UST begin+end",
		.baseline_median = lt.median,
		.target = "ratio <= 0.2",
		.note = lnote[0] ? lnote : NULL });
	sr_bench_print(&(struct sr_bench_row){
		.id = "B1",
		.row = "floor: copy + atomic add + 2 clock reads",
		.unit = "ns",
		.s = flo,
		.baseline = NULL,
		.baseline_median = NAN,
		.target = NULL });
	sr_bench_print(
		&(struct sr_bench_row){ .id = "B1",
					.row = "LTTng-UST begin+end pair",
					.unit = "ns",
					.s = lt,
					.baseline = "floor",
					.baseline_median = flo.median,
					.target = NULL,
					.note = lnote[0] ? lnote : NULL });
	sr_bench_print(&(struct sr_bench_row){
		.id = "B2",
		.row = "ring: span record, 2 threads (per thread)",
		.unit = "ns",
		.s = two,
		.baseline = "B1 ring, 1 thread",
		.baseline_median = one.median,
		.target = "ratio <= 1.3",
		.note = note });
	sr_reader_free(b.rd);
	sr_ring_close(&b.ring);
	snprintf(note, sizeof(note), "%s/bench.ring", dir);
	unlink(note);
	rmdir(dir);
	return 0;
}
