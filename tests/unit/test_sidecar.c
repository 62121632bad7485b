/* SPDX-License-Identifier: MIT */
/*
 * The sidecar end to end: real spanringd, real spanring-recv on
 * loopback, rings written by the emit helper (as the shim writes them)
 * and by real programs under the shim.
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
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ring_layout.h"
#include "tests/lib/sidecar.h"

/* How long the receiver stays down in the outage test (ms). */
#define OUTAGE_MS 1500
#define WAIT_MS 15000

struct fx {
	char *base;
	char *mnt; /* a tmpfs of the test's own, unmounted by teardown */
	struct sr_sd sd;
	struct sr_recv rv;
	bool rv_on;
};

static struct fx F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.base = sr_sd_fixture(&F.sd, "sd");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_sd_fixture_stop(&F.sd, F.rv_on ? &F.rv : NULL);
	if (F.mnt && umount2(F.mnt, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", F.mnt, strerror(errno));
	free(F.mnt);
	sr_tmpdir_free(F.base);
	return 0;
}

static void recv_on(const char *const *args)
{
	sr_recv_start(&F.rv, F.base, 0, args);
	F.rv_on = true;
}

/* spanringd exporting to the receiver, fast schedule, small delays. */
static void sd_http(const char *const *more, const char *const *env)
{
	const char *args[40] = { "--exporter",       "openai",
				 "--endpoint",       F.rv.url,
				 "--schedule-delay", "0.1",
				 "--base-delay",     "0.05",
				 "--max-delay",      "0.3" };
	int n = 10;

	for (int i = 0; more && more[i]; i++)
		args[n++] = more[i];
	args[n] = NULL;
	sr_sd_start(&F.sd, args, env);
}

static const char *const KEY_ENV[] = { "OPENAI_API_KEY=sk-test-key", NULL };

static char *stats_text(void)
{
	return sr_read_file(F.sd.stats, NULL);
}

static long long stat_of(const char *name)
{
	return sr_sd_stat(&F.sd, name);
}

static bool wait_stat(const char *name, long long v, int ms)
{
	return sr_sd_wait_stat(&F.sd, name, v, ms);
}

/* Number of distinct "id" values among the lines; *dups gets the rest. */
/* Distinct "id"s among the JSON lines of path; *dups counts repeats and
 * *torn lines that are not items (a write cut short by SIGKILL). */
static size_t distinct_ids_torn(const char *path, size_t *dups, size_t *torn)
{
	size_t n, uniq = 0;
	char **l = sr_lines(path, &n);

	*dups = 0;
	*torn = 0;
	for (size_t i = 0; i < n; i++) {
		cJSON *a = cJSON_Parse(l[i]);
		const char *id = cJSON_GetStringValue(
			cJSON_GetObjectItem(a, "id"));
		bool seen = false;

		if (!id) {
			(*torn)++;
			cJSON_Delete(a);
			continue;
		}

		for (size_t k = 0; id && k < i && !seen; k++) {
			cJSON *b = cJSON_Parse(l[k]);
			const char *o = cJSON_GetStringValue(
				cJSON_GetObjectItem(b, "id"));

			seen = o && !strcmp(o, id);
			cJSON_Delete(b);
		}
		if (seen)
			(*dups)++;
		else
			uniq++;
		cJSON_Delete(a);
	}
	sr_lines_free(l, n);
	return uniq;
}

static size_t distinct_ids(const char *path, size_t *dups)
{
	size_t torn, uniq = distinct_ids_torn(path, dups, &torn);

	assert_int_equal(torn, 0);
	return uniq;
}

/* --- payload -------------------------------------------------------------- */

static void sidecar_payload_conforms_to_wire(void **state)
{
	const char *env[] = { "OPENAI_API_KEY=sk-test-key",
			      "OPENAI_ORG_ID=org-x", "OPENAI_PROJECT_ID=proj-y",
			      NULL };
	const char *spans[] = { "--spans", "20", NULL };
	size_t n;
	char **l;

	(void)state;
	recv_on(NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_http(NULL, env);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 4 * 22, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 4 * 22);
	/* every request valid, with the seed's headers */
	l = sr_lines(F.rv.req, &n);
	sr_assert_cmp(n, >=, 1);
	for (size_t i = 0; i < n; i++) {
		if (!strstr(l[i], "\"error_count\":0"))
			fail_msg("invalid request: %s", l[i]);
		assert_non_null(
			strstr(l[i],
			       "\"authorization\":\"Bearer sk-test-key\""));
		assert_non_null(
			strstr(l[i], "\"content-type\":\"application/json\""));
		assert_non_null(strstr(l[i], "\"openai-beta\":\"traces=v1\""));
		assert_non_null(
			strstr(l[i], "\"openai-organization\":\"org-x\""));
		assert_non_null(strstr(l[i], "\"openai-project\":\"proj-y\""));
		assert_non_null(strstr(l[i], "\"user-agent\":\"spanring/"));
		assert_non_null(strstr(l[i], "\"status\":200"));
	}
	sr_lines_free(l, n);
	/* the trace object comes before the spans of its trace */
	l = sr_lines(F.rv.out, &n);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]);
		const char *o = cJSON_GetStringValue(
			cJSON_GetObjectItem(j, "object"));
		const char *t = cJSON_GetStringValue(
			cJSON_GetObjectItem(j, "trace_id"));
		char want[80];
		bool before = false;

		assert_non_null(o);
		if (!strcmp(o, "trace.span")) {
			snprintf(want, sizeof(want), "\"id\":\"%s\"", t);
			for (size_t k = 0; k < i && !before; k++)
				before = strstr(l[k], want) != NULL;
			assert_true(before);
		}
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
}

static const char *const GOLDEN[] = {
	"{\"object\":\"trace\",\"id\":\"trace_11111111111111111111111111110000\",\"workflow_name\":\"golden\",\"group_id\":null,\"metadata\":null}",
	"{\"object\":\"trace.span\",\"id\":\"span_333333333333333333330000\",\"trace_id\":\"trace_11111111111111111111111111110000\",\"parent_id\":\"span_222222222222222222220000\",\"started_at\":\"2026-11-21T11:24:00.769235+00:00\",\"ended_at\":\"2026-11-21T11:24:00.769255+00:00\",\"span_data\":{\"type\":\"custom\",\"name\":\"work\",\"data\":{\"i\":0,\"pad\":\"\"}},\"error\":null}",
	"{\"object\":\"trace.span\",\"id\":\"span_333333333333333333330001\",\"trace_id\":\"trace_11111111111111111111111111110000\",\"parent_id\":\"span_222222222222222222220000\",\"started_at\":\"2026-11-21T11:24:00.770235+00:00\",\"ended_at\":\"2026-11-21T11:24:00.770255+00:00\",\"span_data\":{\"type\":\"custom\",\"name\":\"work\",\"data\":{\"i\":1,\"pad\":\"\"}},\"error\":null}",
	"{\"object\":\"trace.span\",\"id\":\"span_222222222222222222220000\",\"trace_id\":\"trace_11111111111111111111111111110000\",\"parent_id\":null,\"started_at\":\"2026-11-21T11:24:00.769235+00:00\",\"ended_at\":\"2026-11-21T11:24:01.669235+00:00\",\"span_data\":{\"type\":\"custom\",\"name\":\"process\",\"data\":{\"process.pid\":4242,\"process.executable.name\":\"emit\",\"process.exit.code\":0}},\"error\":null}",
};

static void assert_golden(const char *path)
{
	size_t n;
	char **l = sr_lines(path, &n);

	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l[i], GOLDEN[i]);
	sr_lines_free(l, n);
}

static void sidecar_golden_bytes(void **state)
{
	const char *fixed[] = { "--fixed",    "--spans", "2",
				"--workflow", "golden",  NULL };
	const char *file[] = { "--exporter", "file",       "--schedule-delay",
			       "0.1",        "--identity", "no",
			       NULL };

	(void)state;
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sr_sd_start(&F.sd, file, NULL);
	assert_true(sr_wait_lines(F.sd.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_golden(F.sd.out);
	/* the same bytes over HTTP, compressed on the wire */
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sd_http((const char *[]){ "--wire-compression", "lz4", "--identity",
				  "no", NULL },
		KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_golden(F.rv.out);
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"content-encoding\":\"lz4\""),
			 1);
}

/* A torn last line (a sidecar killed mid-write) stays a line of its own:
 * the items written after it are whole. */
static void export_file_starts_after_torn_line(void **state)
{
	const char *fixed[] = { "--fixed",    "--spans", "2",
				"--workflow", "golden",  NULL };
	const char *file[] = { "--exporter", "file", "--schedule-delay",
			       "0.1",        NULL,   NULL,
			       NULL };
	const char torn[] = "{\"object\":\"trace.span\",\"id\":\"span_to";
	size_t dups, cut, n;
	char **l;
	FILE *f;

	(void)state;
	file[4] = "--identity";
	file[5] = "no";
	f = fopen(F.sd.out, "w");
	assert_non_null(f);
	fputs(torn, f);
	fclose(f);
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sr_sd_start(&F.sd, file, NULL);
	assert_true(sr_wait_lines(F.sd.out, 5, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(distinct_ids_torn(F.sd.out, &dups, &cut), 4);
	assert_int_equal(cut, 1);
	l = sr_lines(F.sd.out, &n);
	assert_int_equal(n, 5);
	assert_string_equal(l[0], torn);
	for (size_t i = 1; i < n; i++)
		assert_string_equal(l[i], GOLDEN[i - 1]);
	sr_lines_free(l, n);
}

static void export_console_prints_seed_lines(void **state)
{
	const char *args[] = { "--exporter", "console",    "--schedule-delay",
			       "0.1",        "--identity", "no",
			       NULL };
	const char *fixed[] = { "--fixed",    "--spans", "2",
				"--workflow", "golden",  NULL };

	(void)state;
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sr_sd_start(&F.sd, args, NULL);
	assert_true(sr_wait_lines(F.sd.console, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(
		sr_count_in_file(
			F.sd.console,
			"[Exporter] Export trace_id=trace_11111111111111111111111111110000, name=golden\n"),
		1);
	assert_int_equal(
		sr_count_in_file(
			F.sd.console,
			"[Exporter] Export span: {\"object\":\"trace.span\""),
		3);
	assert_int_equal(sr_count_in_file(F.sd.console, GOLDEN[1]), 1);
}

/* A custom span whose data is not JSON is repaired, not dropped: the text
 * goes out as a string under data.text, counted in json_repaired. */
static void sidecar_repairs_malformed_data(void **state)
{
	const char *args[] = { "--spans", "4", "--bad", "1", NULL };

	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 6, WAIT_MS));
	assert_true(wait_stat("json_repaired", 1, 5000));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 6);
	assert_int_equal(stat_of("records_malformed"), 0);
	assert_int_equal(stat_of("json_repaired"), 1);
	assert_int_equal(
		sr_count_in_file(F.rv.out,
				 "\"data\":{\"text\":\"{\\\"i\\\":1, not json\""),
		1);
}

/* Values go out exactly as written (whitespace between tokens aside):
 * exponents, big integers, 1.0, escapes; what JSON cannot carry is
 * repaired in place: invalid UTF-8 (U+FFFD), NaN (null); a data text
 * that is not an object is kept as a string. Nothing is dropped. */
static void sidecar_keeps_values_exact(void **state)
{
	const char *args[] = {
		"--spans",
		"6",
		"--data",
		" { \"a\" : 1 ,\n \"b\":[1, 2 ,{\"c\":\"x y\"}] } ",
		"--data",
		"{\"big\":1e999,\"small\":2.5E-3,\"n\":1733100000000000123,\"f\":1.0}",
		"--data",
		"{\"s\":\"\xff\xfe ok\",\"z\":\"a\\u0000b\"}",
		"--data",
		"{\"x\":NaN,\"y\":[Infinity,-Infinity]}",
		"--data",
		"[1,2]",
		"--data",
		"{\"k\":2,\"k\":3,\"j\":-0.0e-0}",
		NULL
	};

	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http((const char *[]){ "--identity", "no", NULL }, KEY_ENV);
	/* trace, the 6 spans, process */
	assert_true(sr_wait_lines(F.rv.out, 8, WAIT_MS));
	assert_true(wait_stat("json_repaired", 3, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 8);
	assert_int_equal(stat_of("records_malformed"), 0);
	assert_int_equal(stat_of("json_repaired"), 3);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"), 1);
	assert_int_equal(
		sr_count_in_file(F.rv.out,
				 "\"data\":{\"a\":1,\"b\":[1,2,{\"c\":\"x y\"}]}"),
		1);
	assert_int_equal(
		sr_count_in_file(
			F.rv.out,
			"\"data\":{\"big\":1e999,\"small\":2.5E-3,\"n\":1733100000000000123,\"f\":1.0}"),
		1);
	assert_int_equal(
		sr_count_in_file(
			F.rv.out,
			"\"data\":{\"s\":\"\xef\xbf\xbd\xef\xbf\xbd ok\",\"z\":\"a\\u0000b\"}"),
		1);
	assert_int_equal(
		sr_count_in_file(F.rv.out,
				 "\"data\":{\"x\":null,\"y\":[null,null]}"),
		1);
	assert_int_equal(sr_count_in_file(F.rv.out,
					  "\"data\":{\"text\":\"[1,2]\"}"),
			 1);
	assert_int_equal(
		sr_count_in_file(F.rv.out,
				 "\"data\":{\"k\":2,\"k\":3,\"j\":-0.0e-0}"),
		1);
}

/* --- the seed's export behaviour ------------------------------------------ */

/* Request times (s) and statuses from the receiver's log. */
static size_t requests(double *t, int *status, size_t max)
{
	size_t n, k = 0;
	char **l = sr_lines(F.rv.req, &n);

	for (size_t i = 0; i < n && k < max; i++, k++) {
		cJSON *j = cJSON_Parse(l[i]);

		t[k] = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "t"));
		status[k] = (int)cJSON_GetNumberValue(
			cJSON_GetObjectItem(j, "status"));
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
	return k;
}

static void export_retries_5xx_with_growing_delays(void **state)
{
	const char *more[] = { "--max-retries",
			       "3",
			       "--base-delay",
			       "0.2",
			       "--max-delay",
			       "5",
			       NULL };
	const char *spans[] = { "--spans", "2", NULL };
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "500,500,500", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_http(more, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 4);
	assert_int_equal(st[0], 500);
	assert_int_equal(st[1], 500);
	assert_int_equal(st[2], 500);
	assert_int_equal(st[3], 200);
	/* base delay, then doubled (jitter only adds) */
	sr_assert_fcmp(t[1] - t[0], >=, 0.2);
	sr_assert_fcmp(t[2] - t[1], >=, 0.4);
	sr_assert_cmp(sr_count_in_file(F.sd.log,
				       "not delivered after 3 attempts"),
		      >=, 1);
}

static void export_client_error_not_retried(void **state)
{
	const char *spans[] = { "--spans", "2", NULL };
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "401", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_http(NULL, KEY_ENV);
	/* a 401 rejects the whole batch: dead-lettered, never retried */
	assert_true(sr_wait_lines(F.sd.dead, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 1);
	assert_int_equal(st[0], 401);
	assert_int_equal(sr_count_in_file(F.sd.dead,
					  "{\"status\":401,\"answer\":{\"error\""),
			 4);
	assert_int_equal(sr_count_lines(F.rv.out), 0);
}

static void export_400_single_attempt(void **state)
{
	const char *spans[] = { "--spans", "2", NULL };
	double t[16];
	int st[16];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "400", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_http((const char *[]){ "--max-batch-size", "1", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 3, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* one request per item; the rejected one is not sent again */
	assert_int_equal(requests(t, st, 16), 4);
	assert_int_equal(st[0], 400);
	assert_int_equal(sr_count_lines(F.sd.dead), 1);
	assert_int_equal(sr_count_lines(F.rv.out), 3);
}

static void export_no_key_warns_once(void **state)
{
	const char *args[] = { "--exporter",       "openai", "--endpoint", NULL,
			       "--schedule-delay", "0.1",    NULL };

	(void)state;
	recv_on(NULL);
	args[3] = F.rv.url;
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sr_sd_start(&F.sd, args, NULL);
	assert_true(
		sr_wait_contains(F.sd.log,
				 "OPENAI_API_KEY is not set, skipping trace export",
				 WAIT_MS));
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(wait_stat("batches_spooled", 2, WAIT_MS));
	kill(F.sd.pid, SIGUSR1);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.log,
					  "OPENAI_API_KEY is not set"),
			 1);
	assert_int_equal(sr_count_lines(F.rv.req), 0);
	assert_int_equal(sr_count_in_file(F.sd.log, "sk-"), 0);
}

static void export_retry_after_seconds(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "429", "--retry-after", "1",
				  NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	/* a hint is obeyed up to max_delay */
	sd_http((const char *[]){ "--max-delay", "5", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	assert_int_equal(st[0], 429);
	/* base delay is 0.05 s: only Retry-After explains the wait */
	sr_assert_fcmp(t[1] - t[0], >=, 1.0);
}

static void export_retry_after_http_date(void **state)
{
	char date[64];
	time_t when = time(NULL) + 2;
	struct tm tm;
	double t[8];
	int st[8];

	(void)state;
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	recv_on((const char *[]){ "--status-seq", "503", "--retry-after", date,
				  NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http((const char *[]){ "--max-delay", "5", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	assert_int_equal(st[0], 503);
	sr_assert_fcmp(t[1] - t[0], >=, 1.0);
}

static void export_bisects_rejected_batch(void **state)
{
	const char *args[] = { "--spans", "10", "--mark", "POISON", NULL };

	(void)state;
	recv_on((const char *[]){ "--reject-items-matching", "POISON", NULL });
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 11, WAIT_MS));
	assert_true(sr_wait_lines(F.sd.dead, 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 11);
	assert_int_equal(sr_count_in_file(F.rv.out, "POISON"), 0);
	assert_int_equal(sr_count_lines(F.sd.dead), 1);
	assert_int_equal(sr_count_in_file(F.sd.dead, "\"status\":400"), 1);
	assert_int_equal(sr_count_in_file(F.sd.dead, "\"param\":\"data["), 1);
	assert_int_equal(sr_count_in_file(F.sd.dead, "POISON"), 1);
	assert_int_equal(stat_of("dead_lettered"), 1);
}

static void export_gzip_on_wire_and_in_spool(void **state)
{
	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http((const char *[]){ "--wire-compression", "gzip", "--compression",
				  "gzip", NULL },
		KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"content-encoding\":\"gzip\""),
			 1);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"), 1);
}

/* The largest "bytes" of the receiver's requests file. */
static long largest_request(const char *path)
{
	char *t = sr_read_file(path, NULL);
	long most = -1;

	for (const char *p = t; p && (p = strstr(p, "\"bytes\":")); p += 8)
		if (atol(p + 8) > most)
			most = atol(p + 8);
	free(t);
	return most;
}

/* The openai body is built in a buffer kept from request to request: a
 * body over what is kept (SR_EXPORT_BODY_KEEP, 1 MiB; given back after
 * its request) and the smaller ones after it arrive whole, each item
 * once. */
static void export_big_body_then_small_ones(void **state)
{
	/* ~470 bytes an item: 3002 items (spans, trace, process) in one
	 * request of ~1.4 MB */
	const char *big[] = { "--spans",     "3000",    "--pad", "120",
			      "--lane-size", "4194304", NULL };
	const char *small[] = { "--spans", "30", NULL };
	size_t dups;
	long most;

	(void)state;
	recv_on(NULL);
	/* written before the sidecar starts: drained in one hand-off */
	assert_int_equal(sr_emit(F.sd.dir, big), 0);
	sd_http((const char *[]){ "--max-batch-size", "4096", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 3002, WAIT_MS));
	assert_int_equal(sr_emit(F.sd.dir, small), 0);
	assert_true(sr_wait_lines(F.rv.out, 3034, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	most = largest_request(F.rv.req);
	if (most <= 1024 * 1024)
		fail_msg("largest request %ld bytes, expected over 1 MiB",
			 most);
	assert_int_equal(sr_count_lines(F.rv.out), 3034);
	assert_int_equal(distinct_ids(F.rv.out, &dups), 3034);
	assert_int_equal(dups, 0);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"),
			 sr_count_lines(F.rv.req));
}

/* --- outages and crashes ------------------------------------------------- */

static void export_receiver_outage_delivers_everything(void **state)
{
	const char *args[] = { "--spans", "50", "--rate", "200", NULL };
	char port[16];
	size_t dups;
	long long until;

	(void)state;
	/* learn a free port, then take the receiver down */
	recv_on(NULL);
	snprintf(port, sizeof(port), "%d", F.rv.port);
	sr_recv_stop(&F.rv);
	sd_http(NULL, KEY_ENV);
	until = sr_ms() + OUTAGE_MS;
	for (int i = 0; i < 3; i++)
		assert_int_equal(sr_emit(F.sd.dir, args), 0);
	assert_true(wait_stat("exports_failed", 1, WAIT_MS));
	while (sr_ms() < until)
		assert_true(wait_stat("exports_failed", 1, 100));
	sr_recv_free(&F.rv);
	sr_recv_start(&F.rv, F.base, atoi(port), NULL);
	assert_true(sr_wait_lines(F.rv.out, 3 * 52, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 3 * 52);
	assert_int_equal(distinct_ids(F.rv.out, &dups), 3 * 52);
	assert_int_equal(dups, 0);
}

/* Destination `dest`'s counter in the stats file ("exporters"), -1. */
static long long dstat_of(const char *dest, const char *name)
{
	char *t = stats_text();
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	cJSON *d = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "exporters"), dest);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(d, name);
	long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;

	cJSON_Delete(j);
	free(t);
	return r;
}

static bool wait_dstat(const char *dest, const char *name, long long v, int ms)
{
	long long end = sr_ms() + ms;

	while (dstat_of(dest, name) < v) {
		if (sr_ms() > end)
			return false;
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

static void expect_distinct(const char *what, const char *path, size_t want)
{
	size_t dups, n = distinct_ids(path, &dups);

	if (n != want || dups)
		fail_msg("%s: expected %zu distinct items and no duplicate, got %zu and %zu "
			 "duplicates",
			 what, want, n, dups);
}

/*
 * Three destinations at once: openai answers 500 to everything while otlp
 * and file deliver; a restart in between; then openai recovers and gets
 * everything it missed. Per destination: nothing lost, nothing twice,
 * its own counters; the spool empties only when all have delivered.
 */
static void export_destinations_independent_across_restart(void **state)
{
	struct sr_recv ot;
	char *otbase = sr_strf("%s/otlp", F.base), *oturl, port[16];
	const char *args[16] = { "--exporter",
				 "openai,otlp,file",
				 "--endpoint",
				 NULL,
				 "--otlp-endpoint",
				 NULL,
				 "--schedule-delay",
				 "0.1",
				 "--base-delay",
				 "0.05",
				 "--max-delay",
				 "0.2",
				 "--shutdown-timeout",
				 "0.5",
				 NULL };
	size_t spans;

	(void)state;
	assert_int_equal(mkdir(otbase, 0700), 0);
	recv_on((const char *[]){ "--status-seq", "500", "--cycle", NULL });
	snprintf(port, sizeof(port), "%d", F.rv.port);
	sr_recv_start(&ot, otbase, 0, NULL);
	oturl = sr_strf("http://127.0.0.1:%d/v1/traces", ot.port);
	args[3] = F.rv.url;
	args[5] = oturl;
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sr_sd_start(&F.sd, args, KEY_ENV);
	/* file and otlp deliver while openai fails round after round */
	assert_true(sr_wait_lines(F.sd.out, 12, WAIT_MS));
	assert_true(wait_dstat("openai", "exports_failed", 2, WAIT_MS));
	spans = sr_count_in_file(F.sd.out, "\"object\":\"trace.span\"");
	assert_true(sr_wait_lines(ot.out, spans, WAIT_MS));
	assert_true(wait_dstat("otlp", "items_exported", 12, WAIT_MS));
	assert_int_equal(dstat_of("file", "items_exported"), 12);
	assert_int_equal(dstat_of("openai", "items_exported"), 0);
	assert_int_equal(dstat_of("otlp", "exports_failed"), 0);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* kept for openai alone */
	assert_true(
		sr_count_in_file(F.sd.log,
				 "1 segments (12 items) left in the spool") ==
		1);

	/* the restart: more items, and openai's endpoint is well again */
	sr_recv_free(&F.rv);
	sr_recv_start(&F.rv, F.base, atoi(port), NULL);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sr_sd_start(&F.sd, args, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 24, WAIT_MS));
	assert_true(sr_wait_lines(F.sd.out, 24, WAIT_MS));
	assert_true(sr_wait_lines(ot.out, 2 * spans, WAIT_MS));
	assert_true(wait_dstat("openai", "items_exported", 24, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_true(
		sr_count_in_file(F.sd.log,
				 "0 segments (0 items) left in the spool") ==
		1);
	expect_distinct("openai receiver", F.rv.out, 24);
	expect_distinct("file output", F.sd.out, 24);
	if (sr_count_lines(ot.out) != 2 * spans)
		fail_msg("otlp receiver: expected %zu spans, got %zu",
			 2 * spans, sr_count_lines(ot.out));
	/* counters of the second run: otlp and file sent only the new items */
	assert_int_equal(dstat_of("file", "items_exported"), 12);
	assert_int_equal(dstat_of("otlp", "items_exported"), 12);
	assert_int_equal(dstat_of("openai", "exports_failed"), 0);
	{
		/* spanring-dump --stats shows each destination's counters */
		char *dump = sr_strf("%s/dump.out", F.base);
		const char *argv[] = { sr_build_path("spanring-dump"),
				       "--stats", F.sd.stats, NULL };
		int fd = open(dump, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);

		assert_true(fd >= 0);
		assert_int_equal(sr_wait_pid(sr_spawn(argv, NULL, -1, fd, NULL),
					     WAIT_MS),
				 0);
		close(fd);
		if (sr_count_in_file(dump,
				     "exporters.openai.items_exported 24\n") !=
			    1 ||
		    sr_count_in_file(dump,
				     "exporters.otlp.items_exported 12\n") !=
			    1 ||
		    sr_count_in_file(dump, "exporters.file.spool_behind 0\n") !=
			    1)
			fail_msg("spanring-dump --stats: per-destination lines missing:\n%s",
				 sr_read_file(dump, NULL));
		free(dump);
	}
	sr_recv_free(&ot);
	free(oturl);
	free(otbase);
}

static void spool_survives_restart(void **state)
{
	char port[16];
	size_t dups;

	(void)state;
	recv_on(NULL);
	snprintf(port, sizeof(port), "%d", F.rv.port);
	sr_recv_stop(&F.rv);
	sd_http((const char *[]){ "--shutdown-timeout", "0.5", NULL }, KEY_ENV);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(wait_stat("exports_failed", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	sr_assert_cmp(sr_count_in_file(F.sd.log,
				       "1 segments (12 items) left in the spool"),
		      ==, 1);
	sr_recv_free(&F.rv);
	sr_recv_start(&F.rv, F.base, atoi(port), NULL);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(distinct_ids(F.rv.out, &dups), 12);
	assert_int_equal(dups, 0);
}

/* Waits until the ring directory holds no ring file. */
static bool wait_no_rings(int ms)
{
	long long end = sr_ms() + ms;

	for (;;) {
		DIR *d = opendir(F.sd.dir);
		struct dirent *e;
		bool any = false;

		assert_non_null(d);
		while ((e = readdir(d)))
			any |= !strncmp(e->d_name, "sr-", 3);
		closedir(d);
		if (!any)
			return true;
		if (sr_ms() > end)
			return false;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

static void spool_bound_drops_oldest_counted(void **state)
{
	const char *spans[] = { "--spans", "20", "--pad", "200", NULL };
	char port[16];
	long long dropped, delivered;

	(void)state;
	recv_on(NULL);
	snprintf(port, sizeof(port), "%d", F.rv.port);
	sr_recv_stop(&F.rv);
	sd_http((const char *[]){ "--spool-max-bytes", "3K", NULL }, KEY_ENV);
	for (int i = 0; i < 6; i++) {
		/* one hand-off, hence one segment, per ring: the ring is
		 * removed only after its items are in the spool */
		assert_int_equal(sr_emit(F.sd.dir, spans), 0);
		assert_true(wait_no_rings(WAIT_MS));
	}
	assert_true(wait_stat("spool_dropped_items", 1, WAIT_MS));
	sr_recv_free(&F.rv);
	sr_recv_start(&F.rv, F.base, atoi(port), NULL);
	assert_true(sr_wait_lines(F.rv.out, 22, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	dropped = stat_of("spool_dropped_items");
	delivered = (long long)sr_count_lines(F.rv.out);
	/* whole segments went, oldest first; the newest always stays */
	sr_assert_cmp(dropped, >=, 22);
	sr_assert_cmp(delivered, >=, 22);
	sr_assert_cmp(delivered, <, 6 * 22);
	sr_assert_cmp(delivered + dropped, >=, 6 * 22);
	assert_int_equal(sr_count_in_file(F.rv.out, "\"i\":19,"),
			 delivered / 22);
}

static void sidecar_sigkill_loses_nothing(void **state)
{
	const char *emit_args[] = { sr_build_path("progs/emit"),
				    "--dir",
				    F.sd.dir,
				    "--spans",
				    "300",
				    "--rate",
				    "1500",
				    "--lane-size",
				    "1048576",
				    NULL };
	const char *more[] = { "--exporter",
			       "file",
			       "--schedule-delay",
			       "0.05",
			       "--max-queue-size",
			       "256",
			       NULL };
	pid_t prod[4];
	size_t dups, torn, kills = 5;

	(void)state;
	srand((unsigned)getpid());
	for (int i = 0; i < 4; i++)
		prod[i] = sr_spawn(emit_args, NULL, -1, -1, NULL);
	for (size_t k = 0; k < kills; k++) {
		sr_sd_start(&F.sd, more, NULL);
		/* let it work a random while, then kill it mid-flight */
		long long until = sr_ms() + 30 + rand() % 150;

		while (sr_ms() < until)
			wait_stat("records_read", 1LL << 40, 10);
		assert_int_equal(sr_sd_stop(&F.sd, SIGKILL, 5000),
				 128 + SIGKILL);
	}
	for (int i = 0; i < 4; i++) {
		int st = sr_wait_pid(prod[i], WAIT_MS);

		sr_assert_cmp(st, >=, 0);
		sr_assert_exited(st, 0);
	}
	sr_sd_start(&F.sd, more, NULL);
	assert_true(sr_wait_lines(F.sd.out, 4 * 302, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(distinct_ids_torn(F.sd.out, &dups, &torn), 4 * 302);
	/* at-least-once: a kill repeats at most one drain and one batch, and
	 * may cut the line being written (the next write starts a new line) */
	sr_assert_cmp(dups, <=, kills * (256 + 128));
	sr_assert_cmp(torn, <=, kills);
}

/* Starts emit with --hold: returns its pid once "ready" was printed; *in
 * is the write end of its stdin. */
static pid_t emit_held(const char *const *extra, int *in)
{
	const char *argv[20] = { sr_build_path("progs/emit"), "--dir", F.sd.dir,
				 "--hold" };
	int n = 4, ip[2], op[2];
	char buf[64];
	pid_t pid;

	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(ip, O_CLOEXEC), 0);
	assert_int_equal(pipe2(op, O_CLOEXEC), 0);
	pid = sr_spawn(argv, NULL, ip[0], op[1], NULL);
	close(ip[0]);
	close(op[1]);
	sr_assert_cmp(read(op[0], buf, sizeof(buf)), >, 0);
	close(op[0]);
	*in = ip[1];
	return pid;
}

static void producer_killed_process_span_has_error(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	int in, st;
	pid_t p;
	size_t n;
	char **l;
	bool found = false;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "2", "--no-end", NULL },
		      &in);
	sr_sd_start(&F.sd, file, NULL);
	assert_true(sr_wait_lines(F.sd.out, 3, WAIT_MS));
	kill(p, SIGKILL);
	st = sr_wait_pid(p, 5000);
	assert_true(WIFSIGNALED(st));
	close(in);
	assert_true(sr_wait_lines(F.sd.out, 4, WAIT_MS));
	assert_true(wait_stat("rings_removed", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	l = sr_lines(F.sd.out, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]),
		      *sd = cJSON_GetObjectItem(j, "span_data");
		const char *name = cJSON_GetStringValue(
			cJSON_GetObjectItem(sd, "name"));
		cJSON *err = cJSON_GetObjectItem(j, "error");

		if (name && !strcmp(name, "process")) {
			found = true;
			assert_string_equal(
				cJSON_GetStringValue(
					cJSON_GetObjectItem(err, "message")),
				"process ended without closing the span");
			assert_true(
				strcmp(cJSON_GetStringValue(
					       cJSON_GetObjectItem(j,
								   "ended_at")),
				       cJSON_GetStringValue(
					       cJSON_GetObjectItem(j,
								   "started_at"))) >
				0);
		}
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
	assert_true(found);
	assert_int_equal(stat_of("spans_orphaned"), 1);
}

static void exec_orphan_ends_at_exec_without_error(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	int in;
	pid_t p;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "1", "--exec", "--fixed",
					NULL },
		      &in);
	sr_sd_start(&F.sd, file, NULL);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_true(sr_wait_lines(F.sd.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out, "\"error\":null"), 3);
	/* both end where the exec started (fixed clock: t0 + 5 ms) */
	assert_int_equal(
		sr_count_in_file(
			F.sd.out,
			"\"ended_at\":\"2026-11-21T11:24:00.774235+00:00\""),
		2);
}

static void orphan_gets_exit_signal_from_parent(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	char pid[16];
	int in;
	pid_t p;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "0", "--no-end", "--fixed",
					NULL },
		      &in);
	/* the traced parent's report (written here before the death, which
	 * the sidecar accepts in either order) */
	snprintf(pid, sizeof(pid), "%d", (int)p);
	assert_int_equal(sr_emit(F.sd.dir,
				 (const char *[]){ "--fixed", "--spans", "0",
						   "--child-killed", pid,
						   NULL }),
			 0);
	sr_sd_start(&F.sd, file, NULL);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_true(sr_wait_contains(F.sd.out,
				     "\"process.exit.signal\":\"SIGKILL\"",
				     WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out,
					  "process ended without closing the span"),
			 1);
}

/* --- lifecycle ------------------------------------------------------------- */

static void sidecar_sigterm_drains_and_exits_zero(void **state)
{
	(void)state;
	recv_on(NULL);
	sd_http((const char *[]){ "--schedule-delay", "60", NULL }, KEY_ENV);
	for (int i = 0; i < 2; i++)
		assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 24);
}

static void sidecar_sigterm_respects_deadline_when_blackholed(void **state)
{
	long long t0;

	(void)state;
	recv_on((const char *[]){ "--blackhole", NULL });
	sd_http((const char *[]){ "--shutdown-timeout", "1", NULL }, KEY_ENV);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(sr_wait_lines(F.rv.req, 1, WAIT_MS));
	t0 = sr_ms();
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	sr_assert_cmp(sr_ms() - t0, <, 9000);
	assert_int_equal(
		sr_count_in_file(F.sd.log,
				 "1 segments (12 items) left in the spool"),
		1);
}

static void sidecar_sigusr1_flushes(void **state)
{
	(void)state;
	recv_on(NULL);
	sd_http((const char *[]){ "--schedule-delay", "60", NULL }, KEY_ENV);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(wait_stat("queue_items", 12, WAIT_MS));
	assert_int_equal(sr_count_lines(F.rv.out), 0);
	kill(F.sd.pid, SIGUSR1);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
}

static void sidecar_sighup_reopens_log(void **state)
{
	char *logf = sr_strf("%s/own.log", F.base),
	     *old = sr_strf("%s/own.log.1", F.base);

	(void)state;
	sr_sd_start(&F.sd,
		    (const char *[]){ "--exporter", "file", "--log-file", logf,
				      NULL },
		    NULL);
	assert_true(sr_wait_contains(logf, "serving", WAIT_MS));
	/* rotate: the old file stays open until SIGHUP */
	assert_int_equal(rename(logf, old), 0);
	kill(F.sd.pid, SIGHUP);
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(sr_wait_contains(logf, "opened", WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(old, "opened"), 0);
	assert_int_equal(sr_count_in_file(logf, "stopped"), 1);
	free(logf);
	free(old);
}

static void sidecar_second_instance_refused(void **state)
{
	const char *argv[] = { sr_build_path("spanringd"),
			       "--dir",
			       F.sd.dir,
			       "--spool-dir",
			       NULL,
			       "--exporter",
			       "file",
			       NULL };
	char *spool2 = sr_strf("%s/spool2", F.base),
	     *err = sr_strf("%s/err2", F.base);
	int st;

	(void)state;
	sr_sd_start(&F.sd, (const char *[]){ "--exporter", "file", NULL },
		    NULL);
	argv[4] = spool2;
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, err), 10000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 75);
	assert_int_equal(sr_count_in_file(err,
					  "already served by another spanringd"),
			 1);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	free(spool2);
	free(err);
}

struct bad_cfg {
	const char *a, *b, *c, *d;
	int code;
};

static void sidecar_rejects_bad_configuration(void **state)
{
	static const struct bad_cfg cases[] = {
		{ "--bogus", NULL, NULL, NULL, 64 },
		{ "--max-batch-size", "0", NULL, NULL, 64 },
		{ "--max-batch-size", "-3", NULL, NULL, 64 },
		{ "--max-queue-size", "12x", NULL, NULL, 64 },
		{ "--schedule-delay", "abc", NULL, NULL, 64 },
		{ "--schedule-delay", "nan", NULL, NULL, 64 },
		{ "--export-trigger-ratio", "1.5", NULL, NULL, 64 },
		{ "--export-trigger-ratio", "0", NULL, NULL, 64 },
		{ "--base-delay", "-1", NULL, NULL, 64 },
		{ "--base-delay", "2", "--max-delay", "0.5", 64 },
		{ "--endpoint", "ftp://127.0.0.1/x", NULL, NULL, 64 },
		{ "--compression", "zstd", NULL, NULL, 64 },
		{ "--exporter", "kafka", NULL, NULL, 64 },
		{ "--exporter", "openai,openai", NULL, NULL, 64 },
		{ "--exporter", "file,", NULL, NULL, 64 },
		{ "--exporter", "openai,,file", NULL, NULL, 64 },
		/* both would write to stdout */
		{ "--exporter", "console,file", "--output", "-", 64 },
		{ "--log-level", "loud", NULL, NULL, 64 },
		{ "--fsync", "maybe", NULL, NULL, 64 },
		{ "--max-retries", NULL, NULL, NULL, 64 },
		{ "stray", NULL, NULL, NULL, 64 },
		{ "--api-key-file", "/nonexistent/key", NULL, NULL, 66 },
		{ "--dir", "/proc/1/nonexistent/rings", NULL, NULL, 73 },
		{ "--spool-dir", "/proc/version/spool", NULL, NULL, 73 },
	};
	char *err = sr_strf("%s/err", F.base);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_cfg *c = &cases[i];
		const char *argv[16] = { sr_build_path("spanringd"),
					 "--spool-dir",
					 F.sd.spool,
					 "--dir",
					 F.sd.dir,
					 c->a,
					 c->b,
					 c->c,
					 c->d,
					 NULL };
		int st;

		unlink(err);
		st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, err), 10000);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != c->code)
			fail_msg("%s %s: exit %d, expected %d", c->a,
				 c->b ? c->b : "",
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1, c->code);
		sr_assert_cmp(sr_count_in_file(err, "spanringd: "), >=, 1);
	}
	/* a bad variable is a configuration error */
	{
		const char *argv[] = { sr_build_path("spanringd"), "--dir",
				       F.sd.dir, NULL };
		const char *env[] = { "SPANRINGD_MAX_QUEUE_SIZE=lots", NULL };
		int st = sr_wait_pid(sr_spawn(argv, env, -1, -1, err), 10000);

		assert_int_equal(WEXITSTATUS(st), 78);
		sr_assert_cmp(sr_count_in_file(err, "SPANRINGD_MAX_QUEUE_SIZE"),
			      >=, 1);
	}
	free(err);
}

static void sidecar_help_lists_every_option(void **state)
{
	static const char *const flags[] = {
		"--dir",
		"--exporter",
		"--endpoint",
		"--output",
		"--max-batch-size",
		"--schedule-delay",
		"--export-trigger-ratio",
		"--max-queue-size",
		"--max-retries",
		"--base-delay",
		"--max-delay",
		"--compression",
		"--spool-dir",
		"--spool-max-bytes",
		"--shutdown-timeout",
		"--stats-file",
		"--log-level",
		"--help",
		"--version",
		"--api-key-file",
		"SPANRINGD_MAX_BATCH_SIZE",
		"SPANRING_DIR",
		"default 128",
		"default 8192",
		"default 0.7",
		"OPENAI_API_KEY",
	};
	const char *argv[] = { sr_build_path("spanringd"), "--help", NULL };
	char *out = sr_strf("%s/help", F.base);
	int fd = open(out, O_WRONLY | O_CREAT, 0600), st;

	(void)state;
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, fd, NULL), 10000);
	close(fd);
	assert_int_equal(WEXITSTATUS(st), 0);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!sr_count_in_file(out, flags[i]))
			fail_msg("--help does not mention %s", flags[i]);
	free(out);
}

/* --- hostile rings and stats --------------------------------------------- */

static void write_file(const char *dir, const char *name, const void *p,
		       size_t n)
{
	char *path = sr_strf("%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	sr_assert_cmp(fd, >=, 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
	free(path);
}

/* Path of the ring file of process pid in the sidecar's directory. */
static char *ring_of(pid_t pid)
{
	char prefix[32], *path = NULL;
	DIR *d = opendir(F.sd.dir);
	struct dirent *e;

	assert_non_null(d);
	snprintf(prefix, sizeof(prefix), "sr-%d-", (int)pid);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			path = sr_strf("%s/%s", F.sd.dir, e->d_name);
	closedir(d);
	assert_non_null(path);
	return path;
}

static void sidecar_survives_hostile_rings(void **state)
{
	static uint8_t junk[16384];
	struct sr_ring_header h;
	int in;
	pid_t p;
	char *ring = NULL;

	(void)state;
	recv_on(NULL);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	write_file(F.sd.dir, "sr-1-0000000000000001-16384.ring", junk,
		   sizeof(junk));
	write_file(F.sd.dir, "sr-2-0000000000000002-100.ring", junk, 100);
	memset(&h, 0, sizeof(h));
	h.magic = SR_RING_MAGIC;
	h.version = SR_RING_VERSION;
	h.header_size = (uint32_t)sr_ring_lanes_offset(16);
	h.lane_count = 100000;
	h.lane_size = 1u << 30;
	h.file_size = 1ull << 50;
	memcpy(junk, &h, sizeof(h));
	write_file(F.sd.dir, "sr-3-0000000000000003-16384.ring", junk,
		   sizeof(junk));
	/* a live ring that is truncated while the sidecar reads it */
	p = emit_held((const char *[]){ "--spans", "1", "--no-end", NULL },
		      &in);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 2, WAIT_MS));
	ring = ring_of(p);
	/* its first page, lane controls included, is cut off */
	assert_int_equal(truncate(ring, 0), 0);
	/* good rings are still served */
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(sr_wait_lines(F.rv.out, 2 + 12, WAIT_MS));
	assert_true(wait_stat("rings_bad", 4, WAIT_MS));
	assert_true(sr_wait_contains(F.sd.log, "truncated under the reader",
				     WAIT_MS));
	assert_int_equal(kill(F.sd.pid, 0), 0);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	sr_assert_cmp(sr_count_in_file(F.sd.log, "refused"), >=, 3);
	free(ring);
}

static void sidecar_stats_file_counts(void **state)
{
	const char *spans[] = { "--spans", "5", NULL };
	char *t;
	cJSON *j;

	(void)state;
	recv_on(NULL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 2 * 7, WAIT_MS));
	assert_true(wait_stat("items_exported", 14, WAIT_MS));
	assert_true(wait_stat("rings_removed", 2, WAIT_MS));
	t = stats_text();
	j = cJSON_Parse(t);
	assert_non_null(j);
	assert_int_equal(stat_of("traces"), 2);
	assert_int_equal(stat_of("spans"), 12);
	assert_int_equal(stat_of("records_read"), 2 * 9);
	assert_int_equal(stat_of("rings_seen"), 2);
	assert_int_equal(stat_of("exports_failed"), 0);
	sr_assert_cmp(stat_of("http_requests"), >=, 1);
	sr_assert_cmp(stat_of("bytes_in"), >, stat_of("bytes_compressed"));
	sr_assert_fcmp(cJSON_GetNumberValue(
			       cJSON_GetObjectItem(j, "compression_ratio")),
		       >, 1.0);
	assert_non_null(cJSON_GetObjectItem(j, "compress_mb_s"));
	cJSON_Delete(j);
	free(t);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
}

/* --- real programs under the shim ---------------------------------------- */

/* The environment that runs a program under the shim of this build into
 * the sidecar's ring directory; skips the test when the shim is not built. */
static void shim_env(const char **env, char **keep)
{
	char so[4096];

	if (!realpath(sr_build_path("libspanring.so"), so)) {
		print_message("skipped: %s is not built\n",
			      sr_build_path("libspanring.so"));
		skip();
	}
#ifdef __SANITIZE_ADDRESS__
	/* an instrumented shim needs the ASan runtime loaded first */
	keep[0] = sr_strf("LD_PRELOAD=%s:%s", sr_asan_runtime(), so);
	env[3] = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
#else
	keep[0] = sr_strf("LD_PRELOAD=%s", so);
	env[3] = NULL;
#endif
	keep[1] = sr_strf("SPANRING_DIR=%s", F.sd.dir);
	env[0] = keep[0];
	env[1] = keep[1];
	env[2] = "SPANRING_WORKFLOW=conformance";
	env[4] = NULL;
}

static void shim_programs_payload_conforms(void **state)
{
	const char *env[5];
	char *keep[2];
	const char *sh[] = { "/bin/sh", "-c",
			     "/bin/true; /bin/echo hi > /dev/null", NULL };
	size_t n;
	char **l;
	int st;

	(void)state;
	shim_env(env, keep);
	recv_on(NULL);
	sd_http(NULL, KEY_ENV);
	st = sr_wait_pid(sr_spawn(sh, env, -1, -1, NULL), WAIT_MS);
	sr_assert_exited(st, 0);
	assert_true(sr_wait_contains(F.rv.out,
				     "\"workflow_name\":\"conformance\"",
				     WAIT_MS));
	assert_true(wait_stat("rings_removed", 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	l = sr_lines(F.rv.req, &n);
	for (size_t i = 0; i < n; i++)
		if (!strstr(l[i], "\"error_count\":0"))
			fail_msg("invalid payload: %s", l[i]);
	sr_lines_free(l, n);
	/* one trace for the whole tree, a process span per image */
	assert_int_equal(sr_count_in_file(F.rv.out, "\"object\":\"trace\","),
			 1);
	sr_assert_cmp(sr_count_in_file(F.rv.out, "\"name\":\"process\""), >=,
		      2);
	free(keep[0]);
	free(keep[1]);
}

static void shim_killed_program_span_has_error(void **state)
{
	const char *env[5];
	char *keep[2];
	/* the inner shell kills itself; the outer one reaps it */
	const char *sh[] = { "/bin/sh", "-c", "/bin/sh -c 'kill -9 $$'; exit 0",
			     NULL };
	int st;

	(void)state;
	shim_env(env, keep);
	sr_sd_start(&F.sd,
		    (const char *[]){ "--exporter", "file", "--schedule-delay",
				      "0.1", NULL },
		    NULL);
	st = sr_wait_pid(sr_spawn(sh, env, -1, -1, NULL), WAIT_MS);
	sr_assert_exited(st, 0);
	assert_true(sr_wait_contains(F.sd.out,
				     "process ended without closing the span",
				     WAIT_MS));
	assert_true(wait_stat("spans_orphaned", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out,
					  "process ended without closing the span"),
			 1);
	/* an exit status, when the parent reported one (CHILD_EXIT), is
	 * the signal that killed it */
	assert_int_equal(sr_count_in_file(F.sd.out, "\"process.exit.signal\":"),
			 sr_count_in_file(F.sd.out,
					  "\"process.exit.signal\":\"SIGKILL\""));
	free(keep[0]);
	free(keep[1]);
}

/* --- the export path under stress ----------------------------------------- */

/* A small tmpfs of the test's own at base/fs (root only: else the test
 * skips itself); the sidecar's spool and dead letter move into it. */
static void spool_on_tmpfs(const char *size)
{
	char *opt = sr_strf("size=%s,mode=0700", size);

	F.mnt = sr_strf("%s/fs", F.base);
	assert_int_equal(mkdir(F.mnt, 0700), 0);
	if (mount("tmpfs", F.mnt, "tmpfs", 0, opt) != 0) {
		free(opt);
		free(F.mnt);
		F.mnt = NULL;
		skip(); /* needs root */
	}
	free(opt);
	free(F.sd.spool);
	free(F.sd.dead);
	F.sd.spool = sr_strf("%s/spool", F.mnt);
	F.sd.dead = sr_strf("%s/dead.jsonl", F.mnt);
}

/* Files in dir whose names start with prefix. */
static size_t count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

static bool wait_prefix(const char *dir, const char *prefix, size_t n, int ms)
{
	long long end = sr_ms() + ms;

	while (count_prefix(dir, prefix) < n) {
		struct timespec ts = { 0, 20000000 };

		if (sr_ms() > end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

static void export_retry_after_zero_keeps_backoff(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "503,503", "--fault-header",
				  "Retry-After: 0", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http((const char *[]){ "--base-delay", "0.2", "--max-delay", "5",
				  NULL },
		KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 3);
	/* Retry-After: 0 means the normal backoff: 0.2 s, then 0.4 s */
	if (t[1] - t[0] < 0.2 || t[2] - t[1] < 0.4)
		fail_msg("gaps %.3f, %.3f s; expected >= 0.2, >= 0.4",
			 t[1] - t[0], t[2] - t[1]);
}

static void export_retry_after_capped_at_max_delay(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "429", "--retry-after", "120",
				  NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http((const char *[]){ "--max-delay", "0.5", NULL }, KEY_ENV);
	/* delivered long before 120 s: the hint is capped at max_delay */
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	assert_int_equal(st[0], 429);
	/* ... and still obeyed up to it */
	if (t[1] - t[0] < 0.5)
		fail_msg("gap %.3f s, expected >= 0.5 (max_delay)",
			 t[1] - t[0]);
}

static void export_retry_after_ms_wins_over_retry_after(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "503", "--fault-header",
				  "retry-after-ms: 700", "--fault-header",
				  "Retry-After: 0", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http((const char *[]){ "--max-delay", "5", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	if (t[1] - t[0] < 0.7)
		fail_msg("gap %.3f s, expected >= 0.7 (retry-after-ms)",
			 t[1] - t[0]);
}

static void export_409_and_408_retried(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "409,408", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 3);
	assert_int_equal(st[0], 409);
	assert_int_equal(st[1], 408);
	assert_int_equal(st[2], 200);
	assert_int_equal(sr_count_lines(F.sd.dead), 0);
}

static void export_x_should_retry_obeyed(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	/* true: a 400 is retried instead of rejected */
	recv_on((const char *[]){ "--status-seq", "400", "--fault-header",
				  "x-should-retry: true", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	assert_int_equal(st[0], 400);
	assert_int_equal(sr_count_lines(F.sd.dead), 0);
}

static void export_x_should_retry_false_holds(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	/* false: a 503 ends the round at once (kept, the next round
	 * delivers), no attempt within the round */
	recv_on((const char *[]){ "--status-seq", "503", "--fault-header",
				  "x-should-retry: false", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(requests(t, st, 8), 2);
	assert_int_equal(st[0], 503);
	assert_int_equal(stat_of("exports_retried"), 0);
	assert_int_equal(stat_of("exports_failed"), 1);
	assert_int_equal(sr_count_in_file(F.sd.log, "x-should-retry: false"),
			 1);
}

static void export_sigusr1_cuts_retry_pause(void **state)
{
	(void)state;
	recv_on((const char *[]){ "--status-seq", "503", "--retry-after", "100",
				  NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	/* a pause of 100 s between the attempts, were it not cut */
	sd_http((const char *[]){ "--max-delay", "100", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.req, 1, WAIT_MS));
	assert_true(sr_wait_contains(F.sd.log, "server error 503, attempt 1",
				     WAIT_MS));
	kill(F.sd.pid, SIGUSR1);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.req), 2);
}

static void export_unnamed_400_dead_letters_in_one_request(void **state)
{
	const char *args[] = { "--spans", "50", NULL };
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "400", NULL });
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.sd.dead, 52, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* an answer that names no item is batch-wide: no bisection */
	assert_int_equal(requests(t, st, 8), 1);
	assert_int_equal(sr_count_lines(F.sd.dead), 52);
	assert_int_equal(sr_count_in_file(F.sd.dead,
					  "\"status\":400,\"answer\":{\"error\""),
			 52);
	assert_int_equal(stat_of("dead_lettered"), 52);
}

static void export_413_same_answer_for_halves_stops(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "413,413,413", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.sd.dead, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* whole batch, then both halves answer the same: splitting further
	 * cannot help */
	assert_int_equal(requests(t, st, 8), 3);
	assert_int_equal(sr_count_lines(F.sd.dead), 12);
	assert_int_equal(sr_count_lines(F.rv.out), 0);
}

static void export_dead_letter_unwritable_stops_the_line(void **state)
{
	char *filler;
	int fd;
	char block[4096];
	const char *bad[] = { "--spans", "3", "--mark", "POISON", NULL };

	(void)state;
	spool_on_tmpfs("256k");
	assert_int_equal(mkdir(F.sd.spool, 0700), 0);
	/* fill the tmpfs: the dead letter can be opened, not written */
	filler = sr_strf("%s/filler", F.mnt);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	while (write(fd, block, sizeof(block)) == sizeof(block))
		;
	close(fd);
	/* the spool itself lives elsewhere: only the dead letter is full */
	free(F.sd.spool);
	F.sd.spool = sr_strf("%s/spool", F.base);
	recv_on((const char *[]){ "--reject-items-matching", "POISON", NULL });
	assert_int_equal(sr_emit(F.sd.dir, bad), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(wait_stat("dead_letter_errors", 1, WAIT_MS));
	assert_true(sr_wait_contains(F.sd.log,
				     "rejected items stay in the spool",
				     WAIT_MS));
	/* nothing left the spool */
	assert_true(stat_of("spool_segments") >= 1);
	assert_int_equal(stat_of("dead_lettered"), 0);
	assert_int_equal(sr_count_lines(F.sd.dead), 0);
	/* room again: the next round writes it and the spool empties */
	assert_int_equal(unlink(filler), 0);
	kill(F.sd.pid, SIGUSR1);
	assert_true(sr_wait_lines(F.sd.dead, 1, WAIT_MS));
	assert_true(wait_stat("items_exported", 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.sd.dead), 1);
	assert_int_equal(sr_count_in_file(F.sd.dead, "POISON"), 1);
	assert_int_equal(stat_of("spool_segments"), 0);
	free(filler);
}

static void sidecar_refuses_unwritable_files_at_start(void **state)
{
	static const char *const cases[][4] = {
		{ "--exporter", "openai", "--dead-letter",
		  "/proc/version/dead.jsonl" },
		{ "--exporter", "file", "--output", "/proc/version/out.jsonl" },
		{ "--exporter", "file", "--stats-file",
		  "/proc/version/stats.json" },
		{ "--exporter", "file", "--output", "/" },
	};
	char *err = sr_strf("%s/err", F.base);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = { sr_build_path("spanringd"),
				       "--dir",
				       F.sd.dir,
				       "--spool-dir",
				       F.sd.spool,
				       cases[i][0],
				       cases[i][1],
				       cases[i][2],
				       cases[i][3],
				       NULL };
		const char *env[] = { "OPENAI_API_KEY=sk-test", NULL };
		int st;

		unlink(err);
		st = sr_wait_pid(sr_spawn(argv, env, -1, -1, err), 10000);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 73)
			fail_msg("%s %s: exit %d, expected 73", cases[i][2],
				 cases[i][3],
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		if (sr_count_in_file(err, cases[i][3]) < 1)
			fail_msg("%s %s: the message does not name the path",
				 cases[i][2], cases[i][3]);
	}
	free(err);
}

static void spool_dir_removed_heals(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	char *cmd;
	int in, st;
	pid_t p;

	(void)state;
	spool_on_tmpfs("8m");
	sr_sd_start(&F.sd, file, NULL);
	/* a process span held open: its start is kept in open-<ring> */
	p = emit_held(NULL, &in);
	assert_true(wait_prefix(F.sd.spool, "open-", 1, WAIT_MS));
	cmd = sr_strf("rm -rf '%s'", F.sd.spool);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* the next hand-off recreates it, saves the open span again */
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(wait_stat("spool_heals", 1, WAIT_MS));
	assert_true(wait_prefix(F.sd.spool, "open-", 1, WAIT_MS));
	assert_true(sr_wait_contains(F.sd.log,
				     "was removed under spanringd: recreated",
				     WAIT_MS));
	/* writes resume: the held process ends and its span arrives */
	close(in);
	st = sr_wait_pid(p, 10000);
	assert_true(st != -1);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* 12 items of each emit: nothing lost, nothing spooled twice */
	assert_int_equal(sr_count_lines(F.sd.out), 24);
	assert_int_equal(stat_of("spool_lost_items"), 0);
	assert_int_equal(sr_count_in_file(F.sd.log,
					  "0 segments (0 items) left in the spool"),
			 1);
}

/* Writes junk after the intact batches of one segment and cuts another
 * in half: the intact batches of both are delivered, both files end up
 * in quarantine/. */
static void spool_damaged_segments_salvaged(void **state)
{
	const char *spans[] = { "--spans", "98", NULL };
	char port[16], *q;
	char **names = NULL;
	size_t n = 0, dups;
	DIR *d;
	struct dirent *e;

	(void)state;
	spool_on_tmpfs("16m");
	recv_on(NULL);
	snprintf(port, sizeof(port), "%d", F.rv.port);
	sr_recv_stop(&F.rv);
	/* two segments of 10 batches of 10 items, the receiver down */
	sd_http((const char *[]){ "--max-batch-size", "10",
				  "--shutdown-timeout", "0.2", "--max-retries",
				  "1", NULL },
		KEY_ENV);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(wait_stat("batches_spooled", 10, WAIT_MS));
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(wait_stat("batches_spooled", 20, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	d = opendir(F.sd.spool);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "seg-", 4)) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = sr_strf("%s/%s", F.sd.spool, e->d_name);
		}
	closedir(d);
	assert_int_equal(n, 2);
	{
		int fd = open(names[0], O_WRONLY | O_APPEND);
		struct stat sb;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "junk after the batches", 22), 22);
		close(fd);
		assert_int_equal(stat(names[1], &sb), 0);
		assert_int_equal(truncate(names[1], sb.st_size / 2), 0);
	}
	sr_recv_free(&F.rv);
	sr_recv_start(&F.rv, F.base, atoi(port), NULL);
	unlink(F.sd.stats);
	sd_http(NULL, KEY_ENV);
	assert_true(wait_stat("spool_quarantined", 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* the first segment whole, the second up to the cut */
	assert_true(distinct_ids(F.rv.out, &dups) >= 100 + 30);
	assert_true(distinct_ids(F.rv.out, &dups) < 200);
	assert_int_equal(dups, 0);
	/* moved aside, never deleted */
	q = sr_strf("%s/quarantine", F.sd.spool);
	assert_int_equal(count_prefix(q, "seg-"), 2);
	assert_int_equal(count_prefix(F.sd.spool, "seg-"), 0);
	assert_int_equal(
		sr_count_in_file(F.sd.log,
				 "intact batches delivered, the file moved to"),
		2);
	free(q);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void sidecar_clamps_hostile_lane_head(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1",
			       NULL };
	struct sr_ring_header h;
	uint64_t head = 1ull << 63;
	char *ring;
	int in, fd;
	pid_t p;

	(void)state;
	sr_sd_start(&F.sd, file, NULL);
	p = emit_held((const char *[]){ "--spans", "1", "--no-end", NULL },
		      &in);
	assert_true(sr_wait_lines(F.sd.out, 2, WAIT_MS));
	ring = ring_of(p);
	fd = open(ring, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	/* lane 1's head 2^63 bytes ahead of its tail */
	assert_int_equal(pwrite(fd, &head, 8,
				(off_t)h.lanes_offset + h.lane_ctl_size),
			 8);
	close(fd);
	assert_true(wait_stat("ring_faults", 1, WAIT_MS));
	/* (a value beyond 2^63 reads back as a negative number) */
	if (stat_of("ring_lost_bytes") < 0 ||
	    stat_of("ring_lost_bytes") > (long long)h.lane_size)
		fail_msg("ring_lost_bytes %lld, expected at most the lane size %u",
			 stat_of("ring_lost_bytes"), h.lane_size);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	free(ring);
}

static void sidecar_waits_for_dying_lock(void **state)
{
	char *lock = sr_strf("%s/.spanringd.lock", F.sd.dir);
	int fd;

	(void)state;
	assert_true(mkdir(F.sd.dir, 0700) == 0 || errno == EEXIST);
	/* a sidecar that is going away still holds the lock */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	F.sd.pid = sr_spawn((const char *[]){ sr_build_path("spanringd"),
					      "--dir", F.sd.dir, "--spool-dir",
					      F.sd.spool, "--exporter", "file",
					      "--output", F.sd.out, NULL },
			    NULL, -1, -1, F.sd.log);
	assert_true(F.sd.pid > 0);
	assert_true(sr_wait_contains(F.sd.log, "lock held, waiting", WAIT_MS));
	close(fd); /* it dies */
	assert_true(sr_wait_contains(F.sd.log, "serving", WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	free(lock);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

SR_TEST_MAIN(T(sidecar_payload_conforms_to_wire), T(sidecar_golden_bytes),
	     T(sidecar_repairs_malformed_data),
	     T(export_file_starts_after_torn_line),
	     T(export_console_prints_seed_lines), T(sidecar_keeps_values_exact),
	     T(export_retries_5xx_with_growing_delays),
	     T(export_client_error_not_retried), T(export_400_single_attempt),
	     T(export_no_key_warns_once), T(export_retry_after_seconds),
	     T(export_retry_after_http_date), T(export_bisects_rejected_batch),
	     T(export_gzip_on_wire_and_in_spool),
	     T(export_big_body_then_small_ones),
	     T(export_receiver_outage_delivers_everything),
	     T(export_destinations_independent_across_restart),
	     T(spool_survives_restart), T(spool_bound_drops_oldest_counted),
	     T(sidecar_sigkill_loses_nothing),
	     T(producer_killed_process_span_has_error),
	     T(exec_orphan_ends_at_exec_without_error),
	     T(orphan_gets_exit_signal_from_parent),
	     T(sidecar_sigterm_drains_and_exits_zero),
	     T(sidecar_sigterm_respects_deadline_when_blackholed),
	     T(sidecar_sigusr1_flushes), T(sidecar_sighup_reopens_log),
	     T(sidecar_second_instance_refused),
	     T(sidecar_rejects_bad_configuration),
	     T(sidecar_help_lists_every_option),
	     T(sidecar_survives_hostile_rings), T(sidecar_stats_file_counts),
	     T(shim_programs_payload_conforms),
	     T(shim_killed_program_span_has_error),
	     T(export_retry_after_zero_keeps_backoff),
	     T(export_retry_after_capped_at_max_delay),
	     T(export_retry_after_ms_wins_over_retry_after),
	     T(export_409_and_408_retried), T(export_x_should_retry_obeyed),
	     T(export_x_should_retry_false_holds),
	     T(export_sigusr1_cuts_retry_pause),
	     T(export_unnamed_400_dead_letters_in_one_request),
	     T(export_413_same_answer_for_halves_stops),
	     T(export_dead_letter_unwritable_stops_the_line),
	     T(sidecar_refuses_unwritable_files_at_start),
	     T(spool_dir_removed_heals), T(spool_damaged_segments_salvaged),
	     T(sidecar_waits_for_dying_lock),
	     T(sidecar_clamps_hostile_lane_head))
