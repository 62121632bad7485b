/* SPDX-License-Identifier: MIT */
/*
 * shim_api - the C API from several threads, for the shim tests: nested
 * spans, errors, a trace of its own on thread 0, the limits. Prints "ok"
 * when every call returned what the contract says (with the shim
 * recording, or -ENODEV for all when it is not) and left errno alone,
 * else what went wrong.
 *   shim_api THREADS ITERATIONS
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "shim/spanring.h"

static int iters;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Every call is made with errno = EXDEV (set here for the next one) and
 * must leave it so. */
static void expect(int got, int want, const char *what, long t)
{
	int err = errno;

	if (!spanring_enabled())
		want = -ENODEV;
	if (got != want || err != EXDEV) {
		pthread_mutex_lock(&lock);
		failures++;
		printf("thread %ld: %s returned %d, want %d; errno %d\n", t,
		       what, got, want, err);
		pthread_mutex_unlock(&lock);
	}
	errno = EXDEV;
}

static void *work(void *arg)
{
	long t = (long)arg;
	char data[64];

	errno = EXDEV; /* the thread's first call maps its state */
	if (t == 0)
		expect(spanring_trace_begin("wf-api", "group_api", "{\"k\":1}"),
		       0, "trace_begin", t);
	for (int i = 0; i < iters; i++) {
		snprintf(data, sizeof(data), "{\"thread\":%ld,\"i\":%d}", t, i);
		expect(spanring_span_begin_custom("outer", data), 0, "custom",
		       t);
		expect(spanring_span_begin(
			       "{\"type\":\"function\",\"name\":\"f\","
			       "\"input\":\"x\",\"output\":null}"),
		       0, "begin", t);
		if (i % 2) {
			expect(spanring_span_set_error("first", NULL), 0,
			       "set_error", t);
			expect(spanring_span_set_error("boom", "{\"code\":1}"),
			       0, "set_error again", t);
		}
		expect(spanring_span_end(), 0, "end inner", t);
		expect(spanring_span_end(), 0, "end outer", t);
	}
	expect(spanring_span_end(), -ENOENT, "end without span", t);
	expect(spanring_span_set_error("x", NULL), -ENOENT,
	       "error without span", t);
	expect(spanring_span_begin("not json"), -EINVAL, "begin bad json", t);
	expect(spanring_span_begin("{\"a\":1} tail"), -EINVAL, "begin tail", t);
	expect(spanring_span_begin_custom(NULL, NULL), -EINVAL, "custom NULL",
	       t);
	expect(spanring_trace_begin("", NULL, NULL), -EINVAL, "trace no name",
	       t);
	expect(spanring_trace_begin("w", NULL, "[1]"), -EINVAL, "trace bad md",
	       t);
	if (t == 0) {
		expect(spanring_trace_end(), 0, "trace_end", t);
		expect(spanring_trace_end(), -ENOENT, "trace_end twice", t);
	}
	return NULL;
}

/* A JSON object of n bytes (n >= 8) in buf. */
static const char *object(char *buf, size_t n)
{
	memset(buf, 'x', n);
	memcpy(buf, "{\"a\":\"", 6);
	memcpy(buf + n - 2, "\"}", 3);
	return buf;
}

/* 64 nested spans fit, the 65th does not; all end in order. Text larger
 * than its limit is refused (-E2BIG) and changes nothing (the innermost
 * span ends without an error). */
static void depth(void)
{
	static char big[SR_SPAN_DATA_MAX + 2];

	errno = EXDEV;
	expect(spanring_span_begin(object(big, SR_SPAN_DATA_MAX + 1)), -E2BIG,
	       "too big", -1);
	for (int i = 0; i < 64; i++)
		expect(spanring_span_begin_custom("deep", NULL), 0, "deep", -1);
	expect(spanring_span_begin_custom("deep", NULL), -ENOSPC, "too deep",
	       -1);
	expect(spanring_span_set_error("x", object(big, SR_ERROR_DATA_MAX + 1)),
	       -E2BIG, "error data too big", -1);
	expect(spanring_span_set_error(object(big, SR_ERROR_MAX + 1), NULL),
	       -E2BIG, "error message too big", -1);
	for (int i = 0; i < 64; i++)
		expect(spanring_span_end(), 0, "deep end", -1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	pthread_t th[64];

	iters = argc > 2 ? atoi(argv[2]) : 50;
	if (n < 1 || n > 64)
		return 2;
	for (long t = 0; t < n; t++)
		pthread_create(&th[t], NULL, work, (void *)t);
	for (long t = 0; t < n; t++)
		pthread_join(th[t], NULL);
	depth();
	if (!failures)
		printf("ok\n");
	return failures ? 1 : 0;
}
