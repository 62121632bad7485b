/* SPDX-License-Identifier: MIT */
/*
 * sdk_codes - every return code spanring.h documents for the thread-stack
 * calls, each provoked and checked:
 *   sdk_codes codes   the contract of each call with the shim recording
 *                     (or -ENODEV for all, and spanring_enabled() 0, when
 *                     it is not)
 *   sdk_codes full    spans until the ring refuses one (-ENOBUFS), for a
 *                     ring with small lanes and no sidecar draining it
 * Prints "ok" or what went wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "shim/spanring.h"

static int failures;

static void expect(int got, int want, const char *what)
{
	if (!spanring_enabled())
		want = -ENODEV;
	if (got != want) {
		printf("%s returned %d, want %d\n", what, got, want);
		failures++;
	}
}

/* An object text of exactly n bytes: {"a":"xxx...x"}. */
static char *object(size_t n)
{
	char *s = malloc(n + 1);

	memset(s, 'x', n);
	memcpy(s, "{\"a\":\"", 6);
	memcpy(s + n - 2, "\"}", 3);
	return s;
}

static char *text(size_t n)
{
	char *s = malloc(n + 1);

	memset(s, 'e', n);
	s[n] = 0;
	return s;
}

static void codes(void)
{
	char *md_max = object(SR_METADATA_MAX),
	     *md_big = object(SR_METADATA_MAX + 1);
	char *sd_max = object(SR_SPAN_DATA_MAX),
	     *sd_big = object(SR_SPAN_DATA_MAX + 1);
	char *msg_max = text(SR_ERROR_MAX), *msg_big = text(SR_ERROR_MAX + 1);
	char *ed_big = object(SR_ERROR_DATA_MAX + 1);
	int rc;

	expect(spanring_enabled() ? 0 : -ENODEV, 0, "enabled");
	/* trace_begin / trace_end */
	expect(spanring_trace_begin(NULL, NULL, NULL), -EINVAL,
	       "trace NULL name");
	expect(spanring_trace_begin("", NULL, NULL), -EINVAL,
	       "trace empty name");
	expect(spanring_trace_begin("w", NULL, "[1]"), -EINVAL,
	       "trace md array");
	expect(spanring_trace_begin("w", NULL, "{\"a\":"), -EINVAL,
	       "trace md cut");
	expect(spanring_trace_begin("w", NULL, md_big), -E2BIG,
	       "trace md too big");
	expect(spanring_trace_end(), -ENOENT, "trace_end none");
	expect(spanring_trace_begin("w", "g", md_max), 0, "trace md max");
	expect(spanring_trace_begin("w", NULL, NULL), -EBUSY, "trace twice");
	/* span_begin / custom */
	expect(spanring_span_end(), -ENOENT, "end none");
	expect(spanring_span_set_error("m", NULL), -ENOENT, "error no span");
	expect(spanring_span_begin(NULL), -EINVAL, "begin NULL");
	expect(spanring_span_begin("[]"), -EINVAL, "begin array");
	expect(spanring_span_begin(sd_big), -E2BIG, "begin too big");
	expect(spanring_span_begin_custom(NULL, NULL), -EINVAL, "custom NULL");
	expect(spanring_span_begin_custom("", NULL), -EINVAL, "custom empty");
	expect(spanring_span_begin_custom("c", "1"), -EINVAL, "custom data");
	expect(spanring_span_begin(sd_max), 0, "begin max");
	/* set_error */
	expect(spanring_span_set_error(NULL, NULL), -EINVAL, "error NULL");
	expect(spanring_span_set_error("m", "[1]"), -EINVAL,
	       "error data array");
	expect(spanring_span_set_error(msg_big, NULL), -E2BIG, "error too big");
	expect(spanring_span_set_error("m", ed_big), -E2BIG,
	       "error data too big");
	expect(spanring_span_set_error("first", NULL), 0, "error replaced");
	expect(spanring_span_set_error(msg_max, "{\"k\":1}"), 0, "error max");
	expect(spanring_span_end(), 0, "end max");
	expect(spanring_span_begin_custom("empty error", NULL), 0, "begin");
	expect(spanring_span_set_error("", NULL), 0, "error empty");
	expect(spanring_span_end(), 0, "end");
	/* the text store: four spans of the largest data fit, a fifth not */
	for (int i = 0; i < 4; i++)
		expect(spanring_span_begin(sd_max), 0, "begin store");
	expect(spanring_span_begin(sd_max), -ENOSPC, "begin store full");
	for (int i = 0; i < 4; i++) {
		/* the spill lane may be full before the sidecar drains it */
		rc = spanring_span_end();
		if (rc == -ENOBUFS)
			rc = 0;
		expect(rc, 0, "end store");
	}
	/* nesting: 64 open spans */
	for (int i = 0; i < 64; i++)
		expect(spanring_span_begin_custom("n", NULL), 0, "nest");
	expect(spanring_span_begin_custom("n", NULL), -ENOSPC, "nest 65");
	for (int i = 0; i < 64; i++)
		expect(spanring_span_end(), 0, "nest end");
	expect(spanring_trace_end(), 0, "trace_end");
	expect(spanring_trace_end(), -ENOENT, "trace_end twice");
}

/* Spans until one is refused: -ENOBUFS from span_end, the span closed
 * all the same (the next end finds none). */
static void full(void)
{
	long i;
	int rc = 0;

	for (i = 0; i < 100000 && rc == 0; i++) {
		expect(spanring_span_begin_custom("fill", NULL), 0, "fill");
		rc = spanring_span_end();
	}
	expect(rc, -ENOBUFS, "end on a full ring");
	expect(spanring_span_end(), -ENOENT, "closed anyway");
	/* a trace record lost the same way: the trace is active anyway */
	/* (a workflow longer than any span record that was refused) */
	expect(spanring_trace_begin("lost lost lost lost lost lost lost lost "
				    "lost lost lost lost lost lost lost lost "
				    "lost lost lost lost lost lost lost lost "
				    "lost lost lost lost lost lost lost lost",
				    NULL, NULL),
	       -ENOBUFS, "trace full");
	expect(spanring_trace_begin("again", NULL, NULL), -EBUSY,
	       "trace active");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "full"))
		full();
	else
		codes();
	if (!failures)
		printf("ok\n");
	return failures ? 1 : 0;
}
