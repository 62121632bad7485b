/* SPDX-License-Identifier: MIT */
/*
 * Spans shaped like the Agents SDK's, through the C API of a real traced
 * program, a real spanringd and the receiver that applies the endpoint's
 * ingest rules: the exported items compared byte for byte with the items
 * the SDKs' rules give (built here from those rules), a burst recorded
 * whole, every return code of spanring.h, and the ring's losses kept in
 * the sidecar's stats after the ring is gone.
 */
#include "tests/lib/harness.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "tests/lib/sidecar.h"
#include "tests/progs/sdk_golden.h"

#define WAIT_MS 20000
#define BURST 1000

static struct {
	char *base;
	struct sr_sd sd;
	struct sr_recv rv;
	bool rv_on;
	char so[4096];
} F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.base = sr_sd_fixture(&F.sd, "sdk");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_sd_fixture_stop(&F.sd, F.rv_on ? &F.rv : NULL);
	sr_tmpdir_free(F.base);
	return 0;
}

static const char *const KEY_ENV[] = { "OPENAI_API_KEY=sk-test-key", NULL };

static void sd_http(void)
{
	const char *args[] = { "--exporter",
			       "openai",
			       "--endpoint",
			       F.rv.url,
			       "--schedule-delay",
			       "0.1",
			       "--identity",
			       "no",
			       NULL };

	sr_recv_start(&F.rv, F.base, 0, NULL);
	F.rv_on = true;
	sr_sd_start(&F.sd, args, KEY_ENV);
}

static long long stat_of(const char *name)
{
	return sr_sd_stat(&F.sd, name);
}

static bool wait_stat(const char *name, long long v, int ms)
{
	return sr_sd_wait_stat(&F.sd, name, v, ms);
}

/* Runs a helper program under the shim with the ring directory of the
 * sidecar; returns its stdout. */
static char *run_traced(const char *prog, const char *arg,
			const char *const *more_env)
{
	char *out = sr_strf("%s/%s.out", F.base, prog), *text;
	char *rel = sr_strf("progs/%s", prog);
	char *path = strdup(sr_build_path(rel));
	const char *argv[] = { path, arg, NULL };
	char *owned[2];
	const char *env[12];
	int n = 0, fd, st;

	if (!realpath(sr_build_path("libspanring.so"), F.so)) {
		print_message("skipped: the shim is not built\n");
		skip();
	}
	env[n++] = owned[0] = sr_asan_build() ? sr_strf("LD_PRELOAD=%s:%s",
							sr_asan_runtime(), F.so)
					      : sr_strf("LD_PRELOAD=%s", F.so);
	env[n++] = owned[1] = sr_strf("SPANRING_DIR=%s", F.sd.dir);
	env[n++] = "SPANRING_HOOKS=none";
	if (sr_asan_build())
		env[n++] =
			"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
	for (int i = 0; more_env && more_env[i]; i++)
		env[n++] = more_env[i];
	env[n] = NULL;
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	st = sr_wait_pid(sr_spawn(argv, env, -1, fd, NULL), WAIT_MS);
	close(fd);
	assert_true(WIFEXITED(st));
	text = sr_read_file(out, NULL);
	free(owned[0]);
	free(owned[1]);
	free(path);
	free(rel);
	free(out);
	return text;
}

/* --- the expected items, from the SDKs' rules -------------------------- */

static char *repeat(const char *s, size_t times)
{
	size_t n = strlen(s);
	char *r = malloc(n * times + 1);

	for (size_t i = 0; i < times; i++)
		memcpy(r + i * n, s, n);
	r[n * times] = 0;
	return r;
}

/* A name over SR_API_NAME_MAX bytes keeps its longest prefix that ends
 * at a character: "x" and as many whole "é" (2 bytes) as fit. */
static char *cut_name(void)
{
	char *e = repeat("\xc3\xa9", (SR_API_NAME_MAX - 1) / 2);
	char *r = sr_strf("x%s", e);

	free(e);
	return r;
}

/* The JS exporter's cut of a string to a budget of compact bytes: the
 * longest prefix with "... [truncated]" that fits, quotes included. */
static char *js_cut(char c, size_t budget)
{
	size_t keep = budget - 2 - strlen("... [truncated]");
	char s[2] = { c, 0 };
	char *p = repeat(s, keep), *r = sr_strf("\"%s... [truncated]\"", p);

	free(p);
	return r;
}

static char *expected_generation(void)
{
	/* output [{"role":"assistant","content":S}]: the array's only
	 * member, then the object's largest (content), shrink to what the
	 * rest leaves of 100,000 bytes */
	size_t rest = strlen("[{\"role\":\"assistant\",\"content\":}]");
	char *in = js_cut('a', 100000), *out = js_cut('b', 100000 - rest);
	char *err = repeat("e", SDK_GOLDEN_ERROR);
	char *r = sr_strf(
		"{\"object\":\"trace.span\",\"id\":\"I\",\"trace_id\":\"T\","
		"\"parent_id\":null,\"started_at\":\"S\",\"ended_at\":\"E\","
		"\"span_data\":{\"type\":\"generation\",\"input\":%s,"
		"\"output\":[{\"role\":\"assistant\",\"content\":%s}],"
		"\"model\":\"gpt-4o\",\"model_config\":%s,\"usage\":"
		"{\"input_tokens\":12,\"output_tokens\":34,\"details\":"
		"{\"note\":\"kept\",\"total_tokens\":46,"
		"\"input_tokens_details\":{\"cached_tokens\":0}}}},"
		"\"error\":{\"message\":\"%s\",\"data\":{\"x\":null,\"y\":null}}}",
		in, out, SDK_GOLDEN_MODEL_CONFIG, err);

	free(in);
	free(out);
	free(err);
	return r;
}

/* The item with its ids and times replaced by I, T, P, S, E: those are
 * the program's own (random, now); everything else is compared. */
static char *normalise(const char *item)
{
	static const char *const keys[] = { "\"id\":\"", "\"trace_id\":\"",
					    "\"parent_id\":\"",
					    "\"started_at\":\"",
					    "\"ended_at\":\"" };
	static const char *const marks[] = { "I", "T", "P", "S", "E" };
	char *r = strdup(item);

	for (int k = 0; k < 5; k++) {
		char *at = strstr(r, keys[k]), *v, *end, *n;

		/* only the item's own keys: they come before its data */
		if (!at ||
		    (strstr(r, "\"span_data\"") &&
		     at > strstr(r, "\"span_data\"")) ||
		    (strstr(r, "\"metadata\"") &&
		     at > strstr(r, "\"metadata\"")))
			continue;
		v = at + strlen(keys[k]);
		end = strchr(v, '"');
		*v = 0;
		n = sr_strf("%s%s%s", r, marks[k], end);
		free(r);
		r = n;
	}
	return r;
}

/* The received line containing `needle`, normalised; fails if not one. */
static char *item_with(char **l, size_t n, const char *needle)
{
	char *found = NULL;

	for (size_t i = 0; i < n; i++)
		if (strstr(l[i], needle)) {
			if (found)
				fail_msg("two items contain %s", needle);
			found = normalise(l[i]);
		}
	if (!found)
		fail_msg("no item contains %s", needle);
	return found;
}

/* Compares an item (taken: freed) with what it should be. */
static void assert_item(char *got, const char *want)
{
	if (strcmp(got, want)) {
		size_t i = 0;

		while (got[i] && got[i] == want[i])
			i++;
		fail_msg("item differs at byte %zu:\n  got  ...%.120s\n"
			 "  want ...%.120s",
			 i, got + (i > 40 ? i - 40 : 0),
			 want + (i > 40 ? i - 40 : 0));
	}
	free(got);
}

/* The golden trace: every item exactly as the SDKs' rules make it, the
 * burst whole, nothing dropped, every repair counted. */
static void sdk_golden_items_exact(void **state)
{
	char *out, **l, *name = cut_name(), *want, *blob, *gen, *custom;
	size_t n, burst = 0;

	(void)state;
	sd_http();
	out = run_traced("sdk_golden", "1000", NULL);
	assert_string_equal(out, "ok\n");
	free(out);
	/* the trace, 4 spans, the burst (the process trace too: hooks off) */
	assert_true(sr_wait_lines(F.rv.out, 5 + BURST, WAIT_MS));
	assert_true(wait_stat("rings_removed", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"status\":400"), 0);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"),
			 sr_count_lines(F.rv.req));
	l = sr_lines(F.rv.out, &n);
	for (size_t i = 0; i < n; i++)
		if (strstr(l[i], "\"name\":\"burst\""))
			burst++;
	assert_int_equal(burst, BURST);

	want = sr_strf("{\"object\":\"trace\",\"id\":\"I\",\"workflow_name\":"
		       "\"%s\",\"group_id\":\"group_0123456789abcdef01234567\","
		       "\"metadata\":{\"blob\":\"%s\",\"n\":1733100000000000123}}",
		       name, blob = repeat("m", SDK_GOLDEN_META));
	assert_item(item_with(l, n, "\"group_id\":\"group_0123"), want);
	assert_item(item_with(l, n, "\"type\":\"generation\""),
		    gen = expected_generation());
	assert_item(
		item_with(l, n, "\"v\":"),
		custom = sr_strf(
			"{\"object\":\"trace.span\",\"id\":\"I\",\"trace_id\":"
			"\"T\",\"parent_id\":null,\"started_at\":\"S\","
			"\"ended_at\":\"E\",\"span_data\":{\"type\":\"custom\","
			"\"name\":\"%s\",\"data\":{\"v\":null,\"w\":[null,1.50],"
			"\"z\":\"a\\u0000b\"}},\"error\":null}",
			name));
	assert_item(item_with(l, n, "\"name\":\"lookup\""),
		    "{\"object\":\"trace.span\",\"id\":\"I\",\"trace_id\":\"T\","
		    "\"parent_id\":null,\"started_at\":\"S\",\"ended_at\":\"E\","
		    "\"span_data\":{\"type\":\"function\",\"name\":\"lookup\","
		    "\"input\":\"q\",\"output\":\"r\",\"mcp_data\":null},"
		    "\"error\":null}");
	assert_item(item_with(l, n, "\"no type\""),
		    "{\"object\":\"trace.span\",\"id\":\"I\",\"trace_id\":\"T\","
		    "\"parent_id\":null,\"started_at\":\"S\",\"ended_at\":\"E\","
		    "\"span_data\":{\"type\":\"custom\",\"name\":\"span_data\","
		    "\"data\":{\"name\":\"no type\",\"n\":-0.0}},\"error\":null}");
	sr_lines_free(l, n);
	/* the ring and the spool keep the full data: only the body is cut */
	assert_int_equal(stat_of("dropped_ring_full"), 0);
	assert_int_equal(stat_of("dropped_ring_oversize"), 0);
	assert_int_equal(stat_of("records_malformed"), 0);
	assert_int_equal(stat_of("records_truncated"), 2); /* the names */
	assert_int_equal(stat_of("spans_repaired"), 1);    /* untyped */
	assert_int_equal(stat_of("json_repaired"), 2);     /* NaN, twice */
	free(custom);
	free(gen);
	free(blob);
	free(want);
	free(name);
}

/* Every return code of spanring.h's thread-stack calls, with the shim
 * recording and a sidecar up; the largest values go out whole. */
static void sdk_api_return_codes(void **state)
{
	char *out, **l;
	size_t n, big = 0;

	(void)state;
	sd_http();
	out = run_traced("sdk_codes", "codes", NULL);
	assert_string_equal(out, "ok\n");
	free(out);
	assert_true(wait_stat("rings_removed", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* the span with 1 MiB of data and a 64 KiB error, whole */
	l = sr_lines(F.rv.out, &n);
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) > SR_SPAN_DATA_MAX + SR_ERROR_MAX &&
		    strstr(l[i], "\"k\":1"))
			big++;
	sr_lines_free(l, n);
	assert_int_equal(big, 1);
	assert_true(sr_count_in_file(F.rv.out,
				     "\"message\":\"\",\"data\":null") >= 1);
}

/* Not recording: every call -ENODEV, spanring_enabled() 0. */
static void sdk_api_not_recording(void **state)
{
	char *out;

	(void)state;
	out = run_traced("sdk_codes", "codes",
			 (const char *[]){ "SPANRING_DISABLE=1", NULL });
	assert_string_equal(out, "ok\n");
	free(out);
}

/* A ring with small lanes and no sidecar: span_end and trace_begin say
 * -ENOBUFS; the sidecar started afterwards counts the loss, and keeps it
 * in its stats after the ring is removed, with one log line. */
static void sdk_ring_full_counted_after_removal(void **state)
{
	const char *args[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	char *out;
	long long full;

	(void)state;
	out = run_traced("sdk_codes", "full",
			 (const char *[]){ "SPANRING_LANE_SIZE=4096",
					   "SPANRING_LANES=2", NULL });
	assert_string_equal(out, "ok\n");
	free(out);
	sr_sd_start(&F.sd, args, NULL);
	assert_true(wait_stat("rings_removed", 1, WAIT_MS));
	full = stat_of("dropped_ring_full");
	/* the failed span end and the failed trace record */
	assert_int_equal(full, 2);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.log,
					  "dropped records: 2 ring full"),
			 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
SR_TEST_MAIN(T(sdk_golden_items_exact), T(sdk_api_return_codes),
	     T(sdk_api_not_recording), T(sdk_ring_full_counted_after_removal))
