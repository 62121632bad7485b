/* SPDX-License-Identifier: MIT */
/*
 * emit - writes a ring the way the shim does, for sidecar tests and
 * benchmarks, without the shim: PROCESS, TRACE, the process SPAN_START,
 * N complete spans (optionally at a rate), the process SPAN_END.
 *
 *   emit --dir D [--spans N] [--rate PER_S] [--no-end] [--hold] [--fixed]
 *        [--workflow W] [--mark STR] [--bad N] [--pad BYTES]
 *        [--lane-size B] [--exec]
 *
 * --no-end  never writes the process span's end (a crash, with --hold
 *           and SIGKILL, or by exiting without it);
 * --hold    after writing, prints "ready" and waits for EOF on stdin
 *           before the end record (tests SIGKILL it meanwhile);
 * --fixed   fixed ids and timestamps (golden comparisons);
 * --mark    span 0 carries {"mark":STR} in its data;
 * --bad N   span N carries data that is not JSON (a malformed record);
 * --exec    leaves an open exec span as the newest open span;
 * --data T  span i (in order of the options) carries T as its data;
 * --child-killed PID  reports (CHILD_EXIT) that child PID died of SIGKILL.
 * Prints "done <spans written> <spans dropped>" at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/record.h"
#include "common/ring.h"
#include "common/ringdir.h"

/* 2026-11-21T11:24:00.769235+00:00 */
#define FIXED_T0 (1795260240ull * 1000000000ull + 769235000ull)

struct opts {
	const char *dir, *workflow, *mark;
	const char *data[16]; /* --data: span i's data text, as is */
	int ndata;
	long spans, bad, pad, child;
	double rate;
	bool no_end, hold, fixed, exec;
	uint32_t lane_size;
};

static struct sr_ring ring;
static struct sr_producer prod;
static uint8_t trace_id[16], proc_id[12];
static long written, dropped;

static void put(uint16_t type, const uint8_t *buf, uint32_t n)
{
	struct sr_resv rv;
	void *p = sr_ring_reserve(&ring, &prod, n + 8, &rv);

	if (!p) {
		dropped++;
		return;
	}
	memcpy(p, buf, n);
	sr_ring_commit(&ring, &prod, &rv, type, 0);
	written++;
}

static void put_span(uint16_t type, const struct sr_span_rec *s)
{
	static uint8_t buf[SR_RECORD_MAX];
	bool cut = false;
	uint32_t n = sr_span_encode(buf, sizeof(buf) - 64, s, &cut);

	put(type, buf, n);
}

static uint64_t now_or(const struct opts *o, uint64_t fixed)
{
	return o->fixed ? FIXED_T0 + fixed : sr_now_ns();
}

static void fixed_id(uint8_t *id, size_t n, uint8_t tag, long i)
{
	memset(id, tag, n);
	id[n - 2] = (uint8_t)(i >> 8);
	id[n - 1] = (uint8_t)i;
}

static int open_ring(const struct opts *o)
{
	uint32_t lanes = 4, lane = o->lane_size;
	uint64_t bytes = ((4096 + lanes * sizeof(struct sr_lane_ctl) + 4095) &
			  ~4095ull) +
			 (uint64_t)lanes * lane;
	struct sr_ring_params p = { .lanes = lanes,
				    .lane_size = lane,
				    .pid = (uint32_t)getpid(),
				    .ppid = (uint32_t)getppid(),
				    .uid = getuid(),
				    .start_ns = now_or(o, 0),
				    .exe = "/usr/bin/emit",
				    .trace_id = trace_id,
				    .span_id = proc_id };
	char why[256], name[SR_RING_NAME_MAX];
	uint8_t nonce[8];
	int dfd = sr_dir_open(o->dir, true, why, sizeof(why)), rc;

	if (dfd < 0) {
		fprintf(stderr, "emit: %s\n", why);
		return -1;
	}
	sr_id_random(nonce, 8);
	sr_ring_name(name, p.pid, nonce, bytes);
	rc = sr_ring_create(&ring, dfd, name, &p);
	close(dfd);
	if (rc) {
		fprintf(stderr, "emit: sr_ring_create: %s\n", strerror(-rc));
		return -1;
	}
	prod.tid = (uint32_t)getpid();
	return 0;
}

static void write_head(const struct opts *o)
{
	static const char exe[] = "/usr/bin/emit";
	uint8_t buf[1024];
	bool cut = false;
	char data[256];
	struct sr_process_rec pr = { .pid = (uint32_t)getpid(),
				     .ppid = (uint32_t)getppid(),
				     .start_ns = now_or(o, 0),
				     .exe = { exe, sizeof(exe) - 1 } };
	struct sr_trace_rec t = { .ts_ns = now_or(o, 0) };
	struct sr_span_rec s = { .flags = SR_SF_PROCESS | SR_SF_ROOT,
				 .start_ns = now_or(o, 0) };

	put(SR_REC_PROCESS, buf,
	    sr_process_encode(buf, sizeof(buf), &pr, &cut));
	memcpy(t.trace_id, trace_id, 16);
	t.workflow = (struct sr_str){ o->workflow,
				      (uint32_t)strlen(o->workflow) };
	put(SR_REC_TRACE, buf, sr_trace_encode(buf, sizeof(buf), &t, &cut));
	snprintf(data, sizeof(data),
		 "{\"process.pid\":%d,\"process.executable.name\":\"emit\"}",
		 o->fixed ? 4242 : (int)getpid());
	memcpy(s.trace_id, trace_id, 16);
	memcpy(s.span_id, proc_id, 12);
	s.name = (struct sr_str){ "process", 7 };
	s.data = (struct sr_str){ data, (uint32_t)strlen(data) };
	put_span(SR_REC_SPAN_START, &s);
}

static void write_span(const struct opts *o, long i)
{
	static char data[SR_RECORD_MAX];
	struct sr_span_rec s = { .start_ns = now_or(o, (uint64_t)i * 1000000) };
	int n;

	if (i < o->ndata)
		n = snprintf(data, sizeof(data), "%s", o->data[i]);
	else if (i == o->bad)
		n = snprintf(data, sizeof(data), "{\"i\":%ld, not json", i);
	else if (i == 0 && o->mark)
		n = snprintf(data, sizeof(data), "{\"i\":0,\"mark\":\"%s\"}",
			     o->mark);
	else
		n = snprintf(data, sizeof(data), "{\"i\":%ld,\"pad\":\"%.*s\"}",
			     i, (int)(o->pad < 8000 ? o->pad : 8000),
			     "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklm"
			     "nopqrstuvwxyz"
			     "0123456789abcdefghijklmnopqrstuvwxyz0123456789abc"
			     "defghijklmn");
	memcpy(s.trace_id, trace_id, 16);
	if (o->fixed)
		fixed_id(s.span_id, 12, 0x33, i);
	else
		sr_id_random(s.span_id, 12);
	memcpy(s.parent_id, proc_id, 12);
	s.end_ns = o->fixed ? s.start_ns + 20000 : sr_now_ns();
	s.name = (struct sr_str){ "work", 4 };
	s.data = (struct sr_str){ data, (uint32_t)n };
	put_span(SR_REC_SPAN, &s);
}

static void write_exec(const struct opts *o)
{
	struct sr_span_rec s = { .flags = SR_SF_EXEC,
				 .start_ns = now_or(o, 5000000) };
	static const char d[] = "{\"process.executable.path\":\"/bin/true\"}";

	memcpy(s.trace_id, trace_id, 16);
	fixed_id(s.span_id, 12, 0x44, 1);
	memcpy(s.parent_id, proc_id, 12);
	s.name = (struct sr_str){ "exec", 4 };
	s.data = (struct sr_str){ d, sizeof(d) - 1 };
	put_span(SR_REC_SPAN_START, &s);
}

static void write_end(const struct opts *o)
{
	static const char d[] = "{\"process.exit.code\":0}";
	struct sr_span_rec s = { .flags = SR_SF_PROCESS,
				 .end_ns = now_or(o, 900000000) };

	memcpy(s.trace_id, trace_id, 16);
	memcpy(s.span_id, proc_id, 12);
	s.data = (struct sr_str){ d, sizeof(d) - 1 };
	put_span(SR_REC_SPAN_END, &s);
}

static void pace(const struct opts *o, long i, uint64_t t0)
{
	uint64_t due, now;

	if (o->rate <= 0)
		return;
	due = t0 + (uint64_t)((double)i * 1e9 / o->rate);
	now = sr_mono_ns();
	if (due > now) {
		struct timespec ts = { (time_t)((due - now) / 1000000000ull),
				       (long)((due - now) % 1000000000ull) };

		nanosleep(&ts, NULL);
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .workflow = "emit",
			    .spans = 10,
			    .bad = -1,
			    .lane_size = 64 * 1024 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-end")) {
			o->no_end = true;
			continue;
		}
		if (!strcmp(a, "--hold")) {
			o->hold = true;
			continue;
		}
		if (!strcmp(a, "--fixed")) {
			o->fixed = true;
			continue;
		}
		if (!strcmp(a, "--exec")) {
			o->exec = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--dir"))
			o->dir = v;
		else if (!strcmp(a, "--spans"))
			o->spans = atol(v);
		else if (!strcmp(a, "--rate"))
			o->rate = atof(v);
		else if (!strcmp(a, "--workflow"))
			o->workflow = v;
		else if (!strcmp(a, "--mark"))
			o->mark = v;
		else if (!strcmp(a, "--data") && o->ndata < 16)
			o->data[o->ndata++] = v;
		else if (!strcmp(a, "--bad"))
			o->bad = atol(v);
		else if (!strcmp(a, "--pad"))
			o->pad = atol(v);
		else if (!strcmp(a, "--child-killed"))
			o->child = atol(v);
		else if (!strcmp(a, "--lane-size"))
			o->lane_size = (uint32_t)atol(v);
		else
			return -1;
	}
	return o->dir ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o;
	uint64_t t0;
	char c;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: emit --dir D [--spans N] [--rate R] "
				"[--no-end] [--hold] [--fixed] ...\n");
		return 2;
	}
	if (o.fixed) {
		fixed_id(trace_id, 16, 0x11, 0);
		fixed_id(proc_id, 12, 0x22, 0);
	} else {
		sr_id_random(trace_id, 16);
		sr_id_random(proc_id, 12);
	}
	if (open_ring(&o))
		return 1;
	write_head(&o);
	t0 = sr_mono_ns();
	for (long i = 0; i < o.spans; i++) {
		pace(&o, i, t0);
		write_span(&o, i);
	}
	if (o.exec)
		write_exec(&o);
	if (o.child) {
		struct sr_child_rec ce = { .pid = (uint32_t)o.child,
					   .status = SIGKILL,
					   .ts_ns = now_or(&o, 0) };
		uint8_t buf[64];

		memcpy(ce.trace_id, trace_id, 16);
		put(SR_REC_CHILD_EXIT, buf,
		    sr_child_encode(buf, sizeof(buf), &ce));
	}
	if (o.hold) {
		printf("ready %ld\n", written);
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
	}
	if (!o.no_end && !o.exec)
		write_end(&o);
	printf("done %ld %ld\n", o.spans, dropped);
	return 0;
}
