/* SPDX-License-Identifier: MIT */
/*
 * sdk_golden - a trace shaped like the Agents SDK's through the C API:
 * big fields, usage extras, exact and non-finite values, a long error,
 * big metadata, names over their limits, then a burst of small spans:
 *   sdk_golden BURST
 * Prints "ok" when every call returned 0 (the shim recording), else what
 * failed. The texts are those test_sdk_shape.c rebuilds (sdk_golden.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "shim/spanring.h"
#include "tests/progs/sdk_golden.h"

static int failures;

static void ok(int rc, const char *what)
{
	if (rc) {
		printf("%s returned %d\n", what, rc);
		failures++;
	}
}

int main(int argc, char **argv)
{
	struct sdk_golden g;
	long burst = argc > 1 ? atol(argv[1]) : 0;

	if (sdk_golden_build(&g))
		return 2;
	ok(spanring_trace_begin(g.workflow, "group_0123456789abcdef01234567",
				g.metadata),
	   "trace_begin");
	ok(spanring_span_begin(g.generation), "generation");
	ok(spanring_span_set_error(g.error, "{\"x\":NaN,\"y\":-Infinity}"),
	   "set_error");
	ok(spanring_span_end(), "generation end");
	ok(spanring_span_begin_custom(g.custom_name, SDK_GOLDEN_CUSTOM_DATA),
	   "custom");
	ok(spanring_span_end(), "custom end");
	ok(spanring_span_begin(SDK_GOLDEN_FUNCTION), "function");
	ok(spanring_span_end(), "function end");
	ok(spanring_span_begin(SDK_GOLDEN_UNTYPED), "untyped");
	ok(spanring_span_end(), "untyped end");
	for (long i = 0; i < burst; i++) {
		ok(spanring_span_begin(SDK_GOLDEN_BURST), "burst");
		ok(spanring_span_end(), "burst end");
	}
	ok(spanring_trace_end(), "trace_end");
	if (!failures)
		printf("ok\n");
	return failures ? 1 : 0;
}
