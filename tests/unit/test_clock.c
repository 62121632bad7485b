/* SPDX-License-Identifier: MIT */
/*
 * The TSC clock: spans stamped with the TSC reach the exporter as the
 * CLOCK_REALTIME times the program read around them, across many anchor
 * intervals; SPANRING_CLOCK forces either clock and the decision of auto
 * reaches children; auto decides at the first span (none: no decision,
 * after a seccomp filter: realtime); anchors and stamps no honest writer makes are clamped
 * and counted; a consumer that starts at a committed tail keeps the
 * lane's clock; version 2 rings are read as they are.
 */
#include "tests/lib/harness.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ring.h"
#include "common/ringdir.h"
#include "tests/lib/shimrun.h"
#include "tests/lib/sidecar.h"

#define WAIT_MS 15000
/* Exported times have microseconds; a stamp lies between the readings
 * around its call, converted to within this of the truth. */
#define SLACK_NS 2000ull

/* One line of clock_stamps: a span and the readings around it. */
struct expect {
	char name[16];
	uint64_t t[4]; /* before/after the start, before/after the end */
};

static size_t parse_expect(const char *out, struct expect *e, size_t max)
{
	size_t n = 0;

	for (const char *l = out; l && *l && n < max;) {
		unsigned long long a, b, c, d;

		if (sscanf(l, "%15s %llu %llu %llu %llu", e[n].name, &a, &b, &c,
			   &d) == 5) {
			e[n].t[0] = a, e[n].t[1] = b, e[n].t[2] = c,
			e[n].t[3] = d;
			n++;
		}
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return n;
}

/* Asserts lo - SLACK_NS <= v <= hi + SLACK_NS, naming the span. */
static void assert_between(const char *name, const char *what, uint64_t v,
			   uint64_t lo, uint64_t hi)
{
	if (v + SLACK_NS < lo || v > hi + SLACK_NS)
		fail_msg("%s %s: %llu ns is not within %llu ns of "
			 "[%llu, %llu] (off by %lld ns)",
			 name, what, (unsigned long long)v,
			 (unsigned long long)SLACK_NS, (unsigned long long)lo,
			 (unsigned long long)hi,
			 v < lo ? -(long long)(lo - v) : (long long)(v - hi));
}

static const char *prog(void)
{
	return sr_build_path("progs/clock_stamps");
}

/* The clock of the only ring in dir. */
static uint32_t ring_clock(const char *dir)
{
	struct sr_reader *rd;
	char why[256];
	struct dirent *de;
	uint32_t clock = 99;
	DIR *d = opendir(dir);
	int dfd;

	assert_non_null(d);
	dfd = dirfd(d);
	while ((de = readdir(d)))
		if (sr_ring_name_parse(de->d_name, NULL, NULL)) {
			assert_int_equal(sr_reader_open(dfd, de->d_name,
							SR_READER_RDONLY, &rd,
							why, sizeof(why)),
					 0);
			clock = sr_reader_clock(rd);
			sr_reader_free(rd);
		}
	closedir(d);
	return clock;
}

/* Anchor records in the ring files of dir (the first pass of each lane:
 * the tests write less than a lane). */
static unsigned count_anchors(const char *dir)
{
	unsigned n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		char *path = sr_strf("%s/%s", dir, de->d_name);
		const struct sr_ring_header *h;
		struct stat st;
		uint8_t *m;
		int fd;

		if (!sr_ring_name_parse(de->d_name, NULL, NULL)) {
			free(path);
			continue;
		}
		fd = open(path, O_RDONLY);
		sr_assert_cmp(fd, >=, 0);
		assert_int_equal(fstat(fd, &st), 0);
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd,
			 0);
		assert_true(m != MAP_FAILED);
		h = (const void *)m;
		for (uint32_t i = 0; i <= h->lane_count; i++) {
			const struct sr_lane_ctl *c =
				(const void *)(m + h->lanes_offset +
					       i * sizeof(*c));
			const uint8_t *data = m + h->data_offset +
					      (uint64_t)i * h->lane_size;
			uint64_t head = atomic_load(&c->head);

			for (uint64_t pos = 0; pos < head;) {
				const struct sr_rec_hdr *r =
					(const void *)(data + pos);

				n += r->type == SR_REC_ANCHOR;
				pos += (r->len + 7) & ~7u;
			}
		}
		munmap(m, (size_t)st.st_size);
		close(fd);
		free(path);
	}
	closedir(d);
	return n;
}

/* Runs clock_stamps under the shim in dir with SPANRING_CLOCK=clock (a
 * mode: "sandbox" or NULL). */
static void run_stamps(struct sr_run *r, const char *dir, const char *clock,
		       const char *spans, const char *gap_us, const char *mode)
{
	char *env_clock = sr_strf("SPANRING_CLOCK=%s", clock);
	const char *env[] = { env_clock, NULL };
	const char *argv[] = { prog(), spans, gap_us, mode, NULL };
	struct sr_run_opts o = { .shim = true, .dir = dir, .env = env };

	sr_run_cmd(r, &o, argv);
	if (r->status != 0)
		fprintf(stderr, "clock_stamps said:\n%s%s", r->out, r->err);
	sr_assert_exited(r->status, 0);
	assert_non_null(strstr(r->out, "ok\n"));
	free(env_clock);
}

/* Every span of the program's lines, as read from the rings (ns). */
static void check_rings(struct sr_run *r, const char *dir, size_t want)
{
	struct expect e[128];
	size_t n = parse_expect(r->out, e, 128);

	assert_int_equal(n, want);
	sr_run_read_rings(r, dir);
	for (size_t i = 0; i < n; i++) {
		const struct sr_vspan *s = sr_run_span(r, e[i].name, 0);

		if (!s)
			fail_msg("span %s not in the rings", e[i].name);
		assert_between(e[i].name, "start", s->start_ns, e[i].t[0],
			       e[i].t[1]);
		assert_between(e[i].name, "end", s->end_ns, e[i].t[2],
			       e[i].t[3]);
	}
	assert_int_equal(r->faults, 0);
}

/* The item of the file exporter's output whose span_data names `name`. */
static cJSON *item_named(char **lines, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(lines[i]);
		const cJSON *sd = cJSON_GetObjectItem(j, "span_data");
		const cJSON *nm = cJSON_GetObjectItem(sd, "name");

		if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0)
			return j;
		cJSON_Delete(j);
	}
	return NULL;
}

static uint64_t item_time(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(j, key);
	uint64_t ns = 0;

	assert_true(cJSON_IsString(v));
	assert_true(sr_parse_iso(v->valuestring, strlen(v->valuestring), &ns));
	return ns;
}

static void clock_tsc_spans_reach_exporter_exact(void **state)
{
	char *base = sr_tmpdir("clock");
	const char *file[] = { "--exporter", "file",       "--schedule-delay",
			       "0.1",        "--identity", "no",
			       NULL };
	struct expect e[64];
	struct sr_run r;
	struct sr_sd sd;
	char **lines;
	size_t n, ne;

	(void)state;
	if (!sr_tsc_taggable())
		skip();
	sr_sd_init(&sd, base);
	run_stamps(&r, sd.dir, "tsc", "20", "0", NULL);
	assert_int_equal(ring_clock(sd.dir), SR_CLOCK_TSC);
	ne = parse_expect(r.out, e, 64);
	assert_int_equal(ne, 21); /* s0..s19 and connect */
	/* the trace, the process span, the 21 spans */
	sr_sd_start(&sd, file, NULL);
	assert_true(sr_wait_lines(sd.out, 23, WAIT_MS));
	assert_int_equal(sr_sd_stop(&sd, SIGTERM, 10000), 0);
	lines = sr_lines(sd.out, &n);
	assert_int_equal(n, 23);
	for (size_t i = 0; i < ne; i++) {
		cJSON *j = item_named(lines, n, e[i].name);

		if (!j)
			fail_msg("no item for span %s", e[i].name);
		/* the exporter writes microseconds: the truth's, cut */
		assert_between(e[i].name, "started_at",
			       item_time(j, "started_at"),
			       e[i].t[0] / 1000 * 1000, e[i].t[1]);
		assert_between(e[i].name, "ended_at", item_time(j, "ended_at"),
			       e[i].t[2] / 1000 * 1000, e[i].t[3]);
		cJSON_Delete(j);
	}
	sr_lines_free(lines, n);
	sr_run_free(&r);
	sr_sd_free(&sd);
	sr_tmpdir_free(base);
}

/* clock_stamps SPANS GAP_US [mode] with SPANRING_CLOCK=clock: a ring of
 * that clock with at least min_anchors anchors (none if anchors is
 * false: no TSC stamp), and every span where the program's readings
 * say. */
static void stamps_in_rings(const char *clock, const char *spans,
			    const char *gap_us, const char *mode,
			    uint32_t want_clock, bool anchors,
			    unsigned min_anchors)
{
	char *dir = sr_tmpdir("clock");
	struct sr_run r;

	run_stamps(&r, dir, clock, spans, gap_us, mode);
	assert_int_equal(ring_clock(dir), want_clock);
	if (anchors)
		sr_assert_ucmp(count_anchors(dir), >=, min_anchors);
	else
		assert_int_equal(count_anchors(dir), 0);
	check_rings(&r, dir, (size_t)atoi(spans) + 1);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 60 spans 5 ms apart: 300 ms, many anchor intervals (26 ms at 2.6 GHz,
 * at most 67 ms on any TSC of 1 GHz or more). */
static void clock_tsc_exact_across_anchors(void **state)
{
	(void)state;
	if (!sr_tsc_taggable())
		skip();
	stamps_in_rings("tsc", "60", "5000", NULL, SR_CLOCK_TSC, true, 4);
}

static void clock_realtime_forced(void **state)
{
	(void)state;
	stamps_in_rings("realtime", "5", "0", NULL, SR_CLOCK_REALTIME, false,
			0);
}

/* auto in a top-level image: the ring is SR_CLOCK_TSC where the TSC is
 * taggable; the first span decides, and its stamps are TSC (anchored)
 * where the TSC is usable, else realtime; exact either way. */
static void clock_auto_decided_at_first_span(void **state)
{
	bool usable = sr_tsc_usable();

	(void)state;
	stamps_in_rings("auto", "5", "0", NULL,
			sr_tsc_taggable() ? SR_CLOCK_TSC : SR_CLOCK_REALTIME,
			usable, usable ? 1 : 0);
}

/* The first span comes after a seccomp filter that kills at any open:
 * the decision makes no system call and is realtime (no anchor), the
 * spans are exact. */
static void clock_auto_after_seccomp_filter_realtime(void **state)
{
	(void)state;
	if (sr_asan_build()) {
		print_message("[  SKIPPED ] under the ASan runtime: its own "
			      "system calls may open files\n");
		skip();
	}
	stamps_in_rings("auto", "5", "0", "sandbox",
			sr_tsc_taggable() ? SR_CLOCK_TSC : SR_CLOCK_REALTIME,
			false, 0);
}

/* A top-level traced /bin/true stamps no span: it makes no clock decision
 * (no read of the kernel's clock source, hence no CPUID). strace runs
 * untraced and preloads the shim into /bin/true alone. */
static void clock_no_decision_without_spans(void **state)
{
	char *dir, *trace;
	char lib[PATH_MAX], *pre;
	const char *unset[] = { "SPANRING_CLOCK", NULL };
	struct sr_run_opts o = { .unset = unset };
	struct sr_run r;
	char *text;

	(void)state;
	if (sr_asan_build() || access("/usr/bin/strace", X_OK) != 0) {
		print_message("[  SKIPPED ] needs strace and a build without "
			      "ASan\n");
		skip();
	}
	dir = sr_tmpdir("clock");
	trace = sr_strf("%s/strace.out", dir);
	o.dir = dir;
	assert_non_null(realpath(sr_build_path("libspanring.so"), lib));
	pre = sr_strf("LD_PRELOAD=%s", lib);
	{
		const char *argv[] = { "/usr/bin/strace",
				       "-f",
				       "-qq",
				       "-e",
				       "trace=open,openat",
				       "-o",
				       trace,
				       "-E",
				       "SPANRING_DISABLE",
				       "-E",
				       pre,
				       "/bin/true",
				       NULL };

		sr_run_cmd(&r, &o, argv);
	}
	if (r.status != 0 && strstr(r.err, "ptrace")) {
		print_message("[  SKIPPED ] strace cannot trace here: %s\n",
			      r.err);
		sr_run_free(&r);
		free(pre);
		free(trace);
		sr_tmpdir_free(dir);
		skip();
	}
	sr_assert_exited(r.status, 0);
	text = sr_read_file(trace, NULL);
	assert_non_null(text);
	/* the shim ran: it made /bin/true's ring */
	if (!strstr(text, ".ring\""))
		fail_msg("no ring opened by the traced /bin/true:\n%s", text);
	if (strstr(text, "current_clocksource"))
		fail_msg("the clock source was read:\n%s", text);
	free(text);
	sr_run_free(&r);
	free(pre);
	free(trace);
	sr_tmpdir_free(dir);
}

/* SPANRING_CLOCK unset or auto: the first image decides (at its exec
 * span, before the child is given its environment), its children get the
 * decision (and ask nothing); a request for tsc is passed on too. */
static void clock_auto_decision_passed_to_children(void **state)
{
	const char *want = sr_tsc_usable() ? "tsc\n" : "realtime\n";
	/* printenv: a child of the traced shell, given its environment */
	const char *argv[] = { "/bin/sh", "-c",
			       "printenv SPANRING_CLOCK; :", NULL };
	const char *unset[] = { "SPANRING_CLOCK", NULL };
	const char *env_auto[] = { "SPANRING_CLOCK=auto", NULL };
	const char *env_rt[] = { "SPANRING_CLOCK=realtime", NULL };
	struct {
		const char *const *env, *const *unset;
		const char *out;
	} cases[] = {
		{ NULL, unset, want },
		{ env_auto, NULL, want },
		{ env_rt, NULL, "realtime\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = sr_tmpdir("clock");
		struct sr_run_opts o = { .shim = true,
					 .dir = dir,
					 .env = cases[i].env,
					 .unset = cases[i].unset };
		struct sr_run r;

		sr_run_cmd(&r, &o, argv);
		sr_assert_exited(r.status, 0);
		assert_string_equal(r.out, cases[i].out);
		/* an undecided shell's ring is SR_CLOCK_TSC on a taggable
		 * TSC even when its decision is realtime: the rings differ */
		if (cases[i].env == env_rt || !sr_tsc_taggable() ||
		    strcmp(cases[i].out, "tsc\n") == 0)
			assert_int_equal(ring_clock(dir),
					 strcmp(cases[i].out, "tsc\n") == 0
						 ? SR_CLOCK_TSC
						 : SR_CLOCK_REALTIME);
		sr_run_free(&r);
		sr_tmpdir_free(dir);
	}
}

/* --- ring level ---------------------------------------------------------- */

struct fx {
	char *dir;
	int dirfd;
	struct sr_ring ring;
	struct sr_producer prod;
};

static void fx_open(struct fx *f, bool tsc)
{
	struct sr_ring_params p = { .lanes = 2,
				    .lane_size = 65536,
				    .pid = (uint32_t)getpid(),
				    .exe = "/bin/test",
				    .clock_tsc = tsc };

	memset(f, 0, sizeof(*f));
	f->dir = sr_tmpdir("clock");
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	sr_assert_cmp(f->dirfd, >=, 0);
	assert_int_equal(sr_ring_create(&f->ring, f->dirfd, "r.ring", &p), 0);
	f->prod.tid = 1234;
}

static void fx_close(struct fx *f)
{
	sr_ring_close(&f->ring);
	close(f->dirfd);
	sr_tmpdir_free(f->dir);
}

static struct sr_reader *fx_reader(struct fx *f)
{
	struct sr_reader *rd;
	char why[256];

	assert_int_equal(sr_reader_open(f->dirfd, "r.ring", 0, &rd, why,
					sizeof(why)),
			 0);
	return rd;
}

/* A complete span whose start and end are the tagged TSC readings given,
 * written as the shim does (anchored), or without a look at the lane's
 * anchors (after an anchor a test wrote itself). */
static void put_span_as(struct fx *f, uint64_t start_tsc, uint64_t end_tsc,
			bool anchored)
{
	struct sr_span_rec s = { .start_ns = start_tsc | SR_STAMP_TSC,
				 .end_ns = end_tsc | SR_STAMP_TSC };
	uint32_t len = sr_span_size(&s);
	struct sr_resv rv;
	bool cut;
	uint8_t *p = anchored ? sr_ring_reserve_tsc(&f->ring, &f->prod, len + 8,
						    &rv, end_tsc)
			      : sr_ring_reserve(&f->ring, &f->prod, len + 8,
						&rv);

	assert_non_null(p);
	assert_int_equal(sr_span_encode(p, len, &s, &cut), len);
	sr_ring_commit(&f->ring, &f->prod, &rv, SR_REC_SPAN, 0);
}

static void put_span(struct fx *f, uint64_t start_tsc, uint64_t end_tsc)
{
	put_span_as(f, start_tsc, end_tsc, true);
}

/* A record of any type and payload, as a hostile writer may make. */
static void put_raw(struct fx *f, uint16_t type, const void *pl, uint32_t n)
{
	struct sr_resv rv;
	uint8_t *p = sr_ring_reserve(&f->ring, &f->prod, n + 8, &rv);

	assert_non_null(p);
	memcpy(p, pl, n);
	sr_ring_commit(&f->ring, &f->prod, &rv, type, 0);
}

struct spans {
	size_t n;
	uint64_t start[16], end[16];
};

static int collect(void *ctx, const struct sr_record *rec)
{
	struct spans *g = ctx;
	struct sr_span_rec s;

	assert_int_equal(rec->type, SR_REC_SPAN);
	assert_int_equal(sr_span_decode(rec->payload, rec->len, &s), 0);
	if (g->n < 16) {
		g->start[g->n] = s.start_ns;
		g->end[g->n] = s.end_ns;
	}
	g->n++;
	return 0;
}

static void poll_all(struct sr_reader *rd, struct spans *g)
{
	memset(g, 0, sizeof(*g));
	sr_assert_cmp(sr_reader_poll(rd, SIZE_MAX, collect, g), >=, 0);
}

/* Readings of both clocks, for a span stamped in between. */
static void both(uint64_t *tsc, uint64_t *ns)
{
	*ns = sr_now_ns();
	*tsc = sr_tsc();
}

static void clock_bad_anchors_and_stamps_clamped(void **state)
{
	const uint64_t short_anchor = 42;
	struct sr_anchor_rec wild;
	struct sr_reader *rd;
	struct spans g;
	uint64_t t0, n0, t1, n1, created_ns, base_tsc;
	struct fx f;

	(void)state;
	if (!sr_tsc_taggable())
		skip();
	fx_open(&f, true);
	created_ns = f.ring.hdr->anchor_ns;
	rd = fx_reader(&f);
	assert_int_equal(sr_reader_clock(rd), SR_CLOCK_TSC);
	/* honest: between the readings around it */
	both(&t0, &n0);
	both(&t1, &n1);
	put_span(&f, t0, t1);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_between("honest", "start", g.start[0], n0, n0);
	assert_between("honest", "end", g.end[0], n1, n1);
	assert_int_equal(sr_reader_clamped(rd), 0);
	/* a start before the ring was made: the ring's creation time */
	put_span(&f, f.ring.hdr->anchor_tsc - 1000000, t1);
	poll_all(rd, &g);
	assert_int_equal(g.start[0], created_ns);
	assert_int_equal(sr_reader_clamped(rd), 1);
	/* a malformed anchor: ignored, counted */
	put_raw(&f, SR_REC_ANCHOR, &short_anchor, sizeof(short_anchor));
	/* an end absurdly far after the lane's anchor: clamped to the most
	 * an honest writer lets pass, about 0.1-0.3 s */
	base_tsc = f.ring.lane_anchor_tsc[0];
	put_span(&f, t1, base_tsc + (1ull << 50));
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(sr_reader_clamped(rd), 3);
	sr_assert_ucmp(g.end[0], >, n1);
	sr_assert_ucmp(g.end[0], <, n1 + 1000000000ull);
	/* anchors saying what they like: the times are what they say, in
	 * range, never wrapped */
	both(&t1, &n1);
	wild = (struct sr_anchor_rec){ .tsc = t1 - 1, .ns = UINT64_MAX };
	put_raw(&f, SR_REC_ANCHOR, &wild, sizeof(wild));
	put_span_as(&f, t1, t1, false);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.start[0], SR_TSC_MAX);
	both(&t1, &n1);
	wild = (struct sr_anchor_rec){ .tsc = t1 + 1000, .ns = 5 };
	put_raw(&f, SR_REC_ANCHOR, &wild, sizeof(wild));
	put_span_as(&f, t1, t1, false);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.start[0], 0); /* 1000 ticks before 5 ns */
	assert_int_equal(sr_reader_clamped(rd), 3);
	sr_reader_free(rd);
	fx_close(&f);
}

/* A consumer that opens at a committed tail converts from the anchor the
 * previous one kept there, not from the ring's creation. */
static void clock_consumer_restart_keeps_lane_anchor(void **state)
{
	struct sr_reader *rd;
	struct spans g;
	uint64_t t0, n0;
	struct fx f;

	(void)state;
	if (!sr_tsc_taggable())
		skip();
	fx_open(&f, true);
	both(&t0, &n0);
	put_span(&f, t0, t0);
	rd = fx_reader(&f);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(sr_reader_commit(rd), 0);
	sr_reader_free(rd);
	/* the creation anchor made wrong by a second: only a consumer that
	 * used it would be off */
	f.ring.hdr->anchor_ns -= 1000000000ull;
	both(&t0, &n0);
	put_span_as(&f, t0, t0, false); /* no new anchor */
	rd = fx_reader(&f);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_between("after restart", "start", g.start[0], n0, n0);
	assert_int_equal(sr_reader_clamped(rd), 0);
	sr_reader_free(rd);
	fx_close(&f);
}

/* A version 2 ring (no clock fields) is read as it is: its time fields
 * are realtime ns, passed on unchanged, even one that looks tagged. */
static void clock_version2_ring_read_as_is(void **state)
{
	struct sr_reader *rd;
	char *path;
	struct spans g;
	uint64_t t0, n0;
	struct fx f;

	(void)state;
	fx_open(&f, false);
	both(&t0, &n0);
	put_span(&f, t0, t0);
	path = sr_strf("%s/r.ring", f.dir);
	sr_ring_file_downgrade(path, 2);
	free(path);
	rd = fx_reader(&f);
	assert_int_equal(sr_reader_clock(rd), SR_CLOCK_REALTIME);
	poll_all(rd, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.start[0], t0 | SR_STAMP_TSC);
	assert_int_equal(sr_reader_clamped(rd), 0);
	sr_reader_free(rd);
	fx_close(&f);
}

SR_TEST_MAIN(cmocka_unit_test(clock_tsc_spans_reach_exporter_exact),
	     cmocka_unit_test(clock_tsc_exact_across_anchors),
	     cmocka_unit_test(clock_realtime_forced),
	     cmocka_unit_test(clock_auto_decision_passed_to_children),
	     cmocka_unit_test(clock_auto_decided_at_first_span),
	     cmocka_unit_test(clock_auto_after_seccomp_filter_realtime),
	     cmocka_unit_test(clock_no_decision_without_spans),
	     cmocka_unit_test(clock_bad_anchors_and_stamps_clamped),
	     cmocka_unit_test(clock_consumer_restart_keeps_lane_anchor),
	     cmocka_unit_test(clock_version2_ring_read_as_is))
