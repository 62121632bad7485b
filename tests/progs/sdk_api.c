/* SPDX-License-Identifier: MIT */
/*
 * sdk_api - the explicit-identity calls of spanring.h, as an SDK's tracing
 * processor makes them:
 *   sdk_api codes    every return code of the header (the text forms of
 *                    start and finish included); prints "ok"
 *   sdk_api trace    a trace with fixed ids and times: a span started and
 *                    finished with new span_data and an error (through
 *                    the text forms), one
 *                    started on a thread and finished on another, one
 *                    recorded whole, and under the context of a function
 *                    span a posix_spawn, a system() and a fork (+ exec of
 *                    /bin/true), and a getaddrinfo of "localhost" made by
 *                    another thread for it (spanring_context_lookup);
 *                    prints "ok"
 *   sdk_api open     a trace and two spans started, never finished;
 *                    prints "ready" and waits to be killed
 * Ids are T = trace_5dk0…, spans span_00…01 … (see below).
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/spanring.h"

extern char **environ;

#define T "trace_0123456789abcdef0123456789abcdef"
#define S(n) "span_0000000000000000000000" n
#define T0 1764000000123456789LL /* 2025-11-24T16:00:00.123456 */

static int failures;

static void want(int rc, int expect, const char *what)
{
	if (rc != expect) {
		printf("%s: returned %d, expected %d\n", what, rc, expect);
		failures++;
	}
}

static void codes_off(void)
{
	want(spanring_trace_record(T, "wf", NULL, NULL), -ENODEV, "trace off");
	want(spanring_span_start(T, S("01"), NULL, 0, "{\"type\":\"custom\"}"),
	     -ENODEV, "start off");
	want(spanring_span_finish(T, S("01"), NULL, 1, 2, "{}", NULL, NULL),
	     -ENODEV, "finish off");
	want(spanring_span_record(T, S("01"), NULL, 1, 2, "{}", NULL, NULL),
	     -ENODEV, "record off");
	want(spanring_context_set(T, NULL), -ENODEV, "context off");
	want(spanring_span_start_text(T " " S("01") " - 2025-11-24T16:00:00Z",
				      "{}"),
	     -ENODEV, "start text off");
	want(spanring_span_finish_text(
		     T
		     " " S("01") " - 2025-11-24T16:00:00Z 2025-11-24T16:00:01Z",
		     "{}", NULL, NULL),
	     -ENODEV, "finish text off");
	want(spanring_context_lookup("localhost", T, S("01")), -ENODEV,
	     "lookup off");
}

/* Look-up contexts: what they take and refuse; 32 armed at most. */
static void codes_lookup(void)
{
	char name[300];
	int rc = 0, n = 0;

	want(spanring_context_lookup(NULL, T, S("01")), -EINVAL,
	     "lookup NULL node");
	want(spanring_context_lookup("", T, S("01")), -EINVAL,
	     "lookup empty node");
	memset(name, 'a', 256);
	name[256] = 0;
	want(spanring_context_lookup(name, T, S("01")), -EINVAL,
	     "lookup node too long");
	want(spanring_context_lookup("h", "trace_1", S("01")), -EINVAL,
	     "lookup bad trace");
	want(spanring_context_lookup("h", T, "span_1"), -EINVAL,
	     "lookup bad span");
	want(spanring_context_lookup("h", T, NULL), 0, "lookup trace only");
	name[255] = 0;
	want(spanring_context_lookup(name, T, S("01")), 0,
	     "lookup longest node");
	/* nothing takes them here: the table fills */
	while (n < 64 &&
	       (rc = spanring_context_lookup("codes", T, S("01"))) == 0)
		n++;
	want(rc, -ENOBUFS, "lookup table full");
	want(n, 30, "lookups armed before the table was full");
}

/* The text forms of start and finish: what they take and refuse. */
static void codes_text(const char *d)
{
	static const char *const bad_start[] = {
		"",
		T,
		T " " S("07"),
		T " " S("07") " -",
		T " " S("07") " - 2025-11-24T16:00:00Z ",
		" " T " " S("07") " - 2025-11-24T16:00:00Z",
		T "  " S("07") " - 2025-11-24T16:00:00Z",
		T " " S("07") "  2025-11-24T16:00:00Z",
		T " " S("07") " - 2025-11-24T16:00:00Z 2025-11-24T16:00:01Z",
		T " " S("07") " - 2025-11-24 16:00:00Z",
		T " " S("07") " - 1969-12-31T23:59:59Z",
		T " " S("07") " - 2025-11-24T16:00:00.1234567890Z",
		T " " S("07") " - 2025-11-24T16:00:00+0100",
		T " " S("07") " trace_x 2025-11-24T16:00:00Z",
		T " span_07 - 2025-11-24T16:00:00Z",
		"trace_0123456789ABCDEF0123456789abcdef " S(
			"07") " - 2025-11-24T16:00:00Z",
		T " " S("07") " " S("00") " 2025-11-24T16:00:00Z",
	};

	want(spanring_span_start_text(
		     T " " S("07") " - 2025-11-24T16:00:00.123456+00:00", d),
	     0, "start text");
	want(spanring_span_start_text(T " " S("08") " " S(
					      "07") " 2025-11-24T16:00:00.123Z",
				      d),
	     0, "start text child, Z");
	want(spanring_span_start_text(T " " S("09") " " S(
					      "07") " 2025-11-24T18:00:00-02:00",
				      d),
	     0, "start text, no fraction, no UTC");
	for (size_t i = 0; i < sizeof(bad_start) / sizeof(bad_start[0]); i++) {
		char what[512];

		snprintf(what, sizeof(what), "start text \"%s\"", bad_start[i]);
		want(spanring_span_start_text(bad_start[i], d), -EINVAL, what);
	}
	want(spanring_span_start_text(NULL, d), -EINVAL, "start text NULL");
	want(spanring_span_start_text(T " " S("07") " - 2025-11-24T16:00:00Z",
				      NULL),
	     -EINVAL, "start text NULL data");
	want(spanring_span_start_text(T " " S("07") " - 2025-11-24T16:00:00Z",
				      "[]"),
	     -EINVAL, "start text data array");
	want(spanring_span_finish_text(
		     T
		     " " S("08") " " S("07") " 2025-11-24T16:00:00.123Z "
					     "2025-11-24T16:00:00.123001+00:00",
		     d, "boom", "{\"code\":1}"),
	     0, "finish text");
	want(spanring_span_finish_text(T " " S("07") " - 2025-11-24T16:00:00Z "
						     "2025-11-24T16:00:00Z",
				       d, NULL, NULL),
	     0, "finish text, same time");
	want(spanring_span_finish_text(T " " S("07") " - 2025-11-24T16:00:01Z "
						     "2025-11-24T16:00:00.999Z",
				       d, NULL, NULL),
	     -EINVAL, "finish text before start");
	want(spanring_span_finish_text(T " " S("07") " - 2025-11-24T16:00:00Z",
				       d, NULL, NULL),
	     -EINVAL, "finish text without end");
	want(spanring_span_finish_text(T " " S("07") " - 2025-11-24T16:00:00Z "
						     "2025-11-24T16:00:01Z x",
				       d, NULL, NULL),
	     -EINVAL, "finish text six fields");
	want(spanring_span_finish_text(T " " S("07") " - 2025-11-24T16:00:00Z "
						     "2025-11-24T16:00:01Z",
				       d, "m", "1"),
	     -EINVAL, "finish text error data not an object");
}

static void codes(void)
{
	const char *d = "{\"type\":\"function\",\"name\":\"f\"}";
	size_t big = 17u << 20;
	char *huge = malloc(big + 1);

	if (!spanring_enabled()) {
		codes_off();
		return;
	}
	want(spanring_trace_record(T, "wf", NULL, NULL), 0, "trace");
	want(spanring_trace_record(T, "wf", "g", "{\"a\":[1,{}]}"), 0,
	     "trace meta");
	want(spanring_trace_record(NULL, "wf", NULL, NULL), -EINVAL,
	     "trace NULL id");
	want(spanring_trace_record("trace_0123", "wf", NULL, NULL), -EINVAL,
	     "trace short");
	want(spanring_trace_record("trace_0123456789ABCDEF0123456789abcdef",
				   "wf", NULL, NULL),
	     -EINVAL, "trace uppercase");
	want(spanring_trace_record("trace_00000000000000000000000000000000",
				   "wf", NULL, NULL),
	     -EINVAL, "trace zero");
	want(spanring_trace_record(T "0", "wf", NULL, NULL), -EINVAL,
	     "trace long");
	want(spanring_trace_record(T, "", NULL, NULL), -EINVAL,
	     "trace empty name");
	want(spanring_trace_record(T, NULL, NULL, NULL), -EINVAL,
	     "trace NULL name");
	want(spanring_trace_record(T, "wf", NULL, "[1]"), -EINVAL,
	     "trace meta array");
	want(spanring_trace_record(T, "wf", NULL, "{\"a\":1"), -EINVAL,
	     "trace meta open");

	want(spanring_span_start(T, S("01"), NULL, 0, d), 0, "start");
	want(spanring_span_start(T, S("02"), S("01"), T0, d), 0, "start child");
	want(spanring_span_start(T, "span_01", NULL, 0, d), -EINVAL,
	     "start bad id");
	want(spanring_span_start(T, NULL, NULL, 0, d), -EINVAL,
	     "start NULL id");
	want(spanring_span_start(T, S("03"), "trace_x", 0, d), -EINVAL,
	     "start bad parent");
	want(spanring_span_start("span_x", S("03"), NULL, 0, d), -EINVAL,
	     "start bad trace");
	want(spanring_span_start(T, S("03"), NULL, -1, d), -EINVAL,
	     "start negative");
	want(spanring_span_start(T, S("03"), NULL, 0, NULL), -EINVAL,
	     "start NULL data");
	want(spanring_span_start(T, S("03"), NULL, 0, "\"x\""), -EINVAL,
	     "start data string");
	want(spanring_span_finish(T, S("02"), S("01"), T0, T0 + 5, d, "boom",
				  "{\"code\":1}"),
	     0, "finish");
	want(spanring_span_finish(T, S("01"), "", 0, 0, d, NULL, NULL), 0,
	     "finish now");
	want(spanring_span_finish(T, S("04"), NULL, T0, T0 - 1, d, NULL, NULL),
	     -EINVAL, "finish before start");
	want(spanring_span_finish(T, S("04"), NULL, T0, T0, d, "m", "[]"),
	     -EINVAL, "finish error data array");
	want(spanring_span_record(T, S("05"), NULL, T0, T0, d, "", NULL), 0,
	     "record");
	want(spanring_span_record(T, S("05"), NULL, T0, T0, "{", NULL, NULL),
	     -EINVAL, "record bad data");
	want(spanring_context_set(T, S("01")), 0, "context");
	want(spanring_context_set(T, NULL), 0, "context trace");
	want(spanring_context_set(T, ""), 0, "context trace empty");
	want(spanring_context_set("trace_1", NULL), -EINVAL,
	     "context bad trace");
	want(spanring_context_set(T, "span_1"), -EINVAL, "context bad span");
	want(spanring_context_set(NULL, S("01")), 0, "context clear");
	codes_text(d);
	codes_lookup();
	if (!huge) {
		failures++;
		return;
	}
	/* larger than any ring record can be (a lane is at most 16 MiB) */
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	huge[big] = 0;
	want(spanring_span_start(T, S("06"), NULL, 0, huge), -E2BIG,
	     "start huge");
	want(spanring_span_record(T, S("06"), NULL, 0, 0, huge, NULL, NULL),
	     -E2BIG, "record huge");
	want(spanring_trace_record(T, "wf", NULL, huge), -E2BIG, "trace huge");
	want(spanring_span_start_text(T " " S("06") " - 2025-11-24T16:00:00Z",
				      huge),
	     -E2BIG, "start text huge");
	free(huge);
}

static void *finisher(void *arg)
{
	(void)arg;
	want(spanring_span_finish(
		     T, S("12"), S("10"), T0 + 2000, T0 + 3000,
		     "{\"type\":\"custom\",\"name\":\"threaded\",\"data\":{}}",
		     NULL, NULL),
	     0, "finish on thread");
	return NULL;
}

/* A resolver's thread: no context of its own. */
static void *resolver(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_INET }, *ai = NULL;

	(void)arg;
	if (getaddrinfo("localhost", NULL, &hints, &ai) == 0)
		freeaddrinfo(ai);
	return NULL;
}

static void run_child(void)
{
	static char true_path[] = "/bin/true";
	char *const argv[] = { true_path, NULL };
	pid_t pid;
	int st;

	want(posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ), 0,
	     "spawn");
	waitpid(pid, &st, 0);
	want(system("/bin/true"), 0, "system");
	pid = fork();
	if (pid == 0) {
		execv("/bin/true", argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

static void trace(void)
{
	pthread_t th;

	want(spanring_trace_record(T, "sdk wf", "group_42",
				   "{\"n\":1.0,\"s\":\"é\"}"),
	     0, "trace");
	/* agent span: its data grows between start and end */
	want(spanring_span_start(
		     T, S("10"), NULL, T0,
		     "{\"type\":\"agent\",\"name\":\"A\",\"handoffs\":[],\"tools\":null,\"output_type\":null}"),
	     0, "start agent");
	/* function span, fails; through the text calls: T0 + 1000 and
	 * T0 + 999999 in two zones, to the nanosecond */
	want(spanring_span_start_text(
		     T
		     " " S("11") " " S("10") " 2025-11-24T16:00:00.123457789Z",
		     "{\"type\":\"function\",\"name\":\"run\",\"input\":\"ls\",\"output\":null,\"mcp_data\":null}"),
	     0, "start function");
	want(spanring_context_set(T, S("11")), 0, "context");
	/* a look-up another thread makes for this span */
	want(spanring_context_lookup("localhost", T, S("11")), 0, "lookup");
	pthread_create(&th, NULL, resolver, NULL);
	pthread_join(th, NULL);
	run_child();
	want(spanring_context_set(NULL, NULL), 0, "context clear");
	want(spanring_span_finish_text(
		     T " " S("11") " " S(
			     "10") " 2025-11-24T16:00:00.123457789Z "
				   "2025-11-24T17:00:00.124456788+01:00",
		     "{\"type\":\"function\",\"name\":\"run\",\"input\":\"ls\",\"output\":\"done\",\"mcp_data\":null}",
		     "tool failed", "{\"exit\":2}"),
	     0, "finish function");
	/* started here, finished on another thread */
	want(spanring_span_start(
		     T, S("12"), S("10"), T0 + 2000,
		     "{\"type\":\"custom\",\"name\":\"threaded\",\"data\":{}}"),
	     0, "start threaded");
	pthread_create(&th, NULL, finisher, NULL);
	pthread_join(th, NULL);
	want(spanring_span_record(
		     T, S("13"), S("10"), T0 + 4000, T0 + 5000,
		     "{\"type\":\"generation\",\"model\":\"m\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
		     NULL, NULL),
	     0, "record generation");
	want(spanring_span_finish(
		     T, S("10"), NULL, T0, T0 + 9000000,
		     "{\"type\":\"agent\",\"name\":\"A\",\"handoffs\":[],\"tools\":[\"run\"],\"output_type\":\"str\"}",
		     NULL, NULL),
	     0, "finish agent");
}

static void open_spans(void)
{
	char line[8];

	want(spanring_trace_record(T, "killed", NULL, NULL), 0, "trace");
	want(spanring_span_start(T, S("20"), NULL, T0,
				 "{\"type\":\"agent\",\"name\":\"A\"}"),
	     0, "start agent");
	want(spanring_span_start(T, S("21"), S("20"), T0 + 1,
				 "{\"type\":\"function\",\"name\":\"slow\"}"),
	     0, "start function");
	want(spanring_span_record(
		     T, S("22"), S("20"), T0 + 2, T0 + 3,
		     "{\"type\":\"custom\",\"name\":\"done\",\"data\":{}}",
		     NULL, NULL),
	     0, "record");
	printf(failures ? "failed\n" : "ready\n");
	fflush(stdout);
	/* killed here; stdin closing first is an error of the test */
	if (!fgets(line, sizeof(line), stdin))
		exit(3);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "codes"))
		codes();
	else if (!strcmp(mode, "trace"))
		trace();
	else if (!strcmp(mode, "open"))
		open_spans();
	else
		return 2;
	if (!failures)
		printf("ok\n");
	return failures ? 1 : 0;
}
