/* SPDX-License-Identifier: MIT */
/* bench.c - timing, reduction and the JSON row of every bench program. */
#include "bench.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <stdbool.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/reader.h"
#include "common/ringdir.h"
#include "common/jsonw.h"

uint64_t sr_bench_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void sr_bench_reduce(double *v, int n, struct sr_bench_stats *out)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	out->runs = n;
	out->min = v[0];
	out->max = v[n - 1];
	out->median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void sr_bench_none(struct sr_bench_stats *out)
{
	out->median = out->min = out->max = NAN;
	out->runs = 0;
}

void sr_bench_measure(sr_bench_fn fn, void *ctx, int runs,
		      struct sr_bench_stats *out)
{
	double v[SR_BENCH_MAX_RUNS];

	if (runs < SR_BENCH_MIN_RUNS)
		runs = SR_BENCH_MIN_RUNS;
	if (runs > SR_BENCH_MAX_RUNS)
		runs = SR_BENCH_MAX_RUNS;
	fn(ctx); /* warm-up: page faults, caches, frequency */
	for (int i = 0; i < runs; i++)
		v[i] = fn(ctx);
	sr_bench_reduce(v, runs, out);
}

int sr_bench_runs(int def)
{
	const char *s = getenv("SR_BENCH_RUNS");
	int n = s && *s ? atoi(s) : def;

	if (n < SR_BENCH_MIN_RUNS)
		n = SR_BENCH_MIN_RUNS;
	return n > SR_BENCH_MAX_RUNS ? SR_BENCH_MAX_RUNS : n;
}

static void num(struct sr_jw *w, const char *key, double v)
{
	char b[64];

	sr_jw_member(w, key);
	if (isnan(v) || isinf(v)) {
		sr_jw_lit(w, "null");
		return;
	}
	snprintf(b, sizeof(b), "%.4g", v);
	/* %g never prints a bare "1e+02"-style value JSON rejects, but keep
	 * integers readable */
	if (fabs(v) >= 1e4 && fabs(v) < 1e15)
		snprintf(b, sizeof(b), "%.0f", v);
	sr_jw_lit(w, b);
}

void sr_bench_print(const struct sr_bench_row *r)
{
	char buf[2048];
	struct sr_jw w;
	double ratio = NAN;

	if (!isnan(r->s.median) && !isnan(r->baseline_median) &&
	    r->baseline_median > 0)
		ratio = r->s.median / r->baseline_median;
	sr_jw_init(&w, buf, sizeof(buf));
	sr_jw_lit(&w, "{");
	sr_jw_member_cstr(&w, "id", r->id);
	sr_jw_member_cstr(&w, "row", r->row);
	sr_jw_member_cstr(&w, "unit", r->unit);
	num(&w, "median", r->s.median);
	num(&w, "min", r->s.min);
	num(&w, "max", r->s.max);
	sr_jw_member_i64(&w, "runs", r->s.runs);
	sr_jw_member_cstr(&w, "baseline", r->baseline);
	num(&w, "baseline_median", r->baseline_median);
	num(&w, "ratio", ratio);
	sr_jw_member_cstr(&w, "target", r->target);
	if (r->note)
		sr_jw_member_cstr(&w, "note", r->note);
	sr_jw_lit(&w, "}");
	printf("%s\n", sr_jw_cstr(&w));
	fflush(stdout);
}

static _Atomic uint64_t floor_counter;

double sr_bench_floor(const uint8_t *bytes, uint32_t len, long iters)
{
	uint8_t local[256];
	uint64_t t0 = sr_bench_ns();

	for (long i = 0; i < iters; i++) {
		uint64_t start = sr_now_ns(), end = sr_now_ns();

		memcpy(local, bytes, len);
		/* the timestamps' place in the record: header 8 + ids 40 */
		memcpy(local + 48, &start, 8);
		memcpy(local + 56, &end, 8);
		atomic_fetch_add_explicit(&floor_counter, 1,
					  memory_order_relaxed);
		sr_bench_keep(local);
	}
	return (double)(sr_bench_ns() - t0) / (double)iters;
}

size_t sr_bench_drops_note(struct sr_reader *rd, uint32_t rec_len, char *note,
			   size_t n)
{
	struct sr_ring_info *info = malloc(sr_reader_info_size(rd));
	int len;

	if (!info || sr_reader_info(rd, info))
		len = snprintf(note, n, "ring info unavailable");
	else
		len = snprintf(note, n,
			       "%u-byte records; written %llu, dropped %llu "
			       "(full %llu, oversize %llu, no lane %llu)",
			       rec_len, (unsigned long long)info->written,
			       (unsigned long long)info->dropped,
			       (unsigned long long)info->dropped_full,
			       (unsigned long long)info->dropped_oversize,
			       (unsigned long long)info->dropped_no_lane);
	free(info);
	return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

char **sr_bench_env(const char *const *extra)
{
	extern char **environ;
	size_t n = 0, k = 0, x = 0;
	char **e;

	while (environ[n])
		n++;
	while (extra && extra[x])
		x++;
	e = calloc(n + x + 1, sizeof(*e));
	if (!e)
		abort();
	for (size_t i = 0; environ[i]; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], "SPANRING_", 9) &&
		    strncmp(environ[i], "TRACEPARENT=", 12))
			e[k++] = environ[i];
	for (size_t i = 0; i < x; i++)
		e[k++] = (char *)extra[i];
	return e;
}

static void remove_ring(void *ctx, const char *name)
{
	sr_dir_remove(*(int *)ctx, name);
}

void sr_bench_empty_ring_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return;
	sr_dir_scan(dfd, 0, remove_ring, &dfd);
	close(dfd);
}

char *sr_bench_beside(const char *name, int up, bool must_exist)
{
	char exe[PATH_MAX], *out;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		exit(1);
	exe[n] = 0;
	for (int i = 0; i <= up; i++)
		*strrchr(exe, '/') = 0;
	if (asprintf(&out, "%s/%s", exe, name) < 0)
		exit(1);
	if (must_exist && access(out, R_OK) != 0) {
		fprintf(stderr, "bench: %s missing\n", out);
		exit(1);
	}
	return out;
}
