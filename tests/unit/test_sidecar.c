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
	struct sr_sd sd;
	struct sr_recv rv;
	bool rv_on;
};

static struct fx F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.base = sr_tmpdir("sd");
	sr_sd_init(&F.sd, F.base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_sd_free(&F.sd);
	if (F.rv_on)
		sr_recv_free(&F.rv);
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
	const char *args[40] = { "--exporter", "openai", "--endpoint", F.rv.url,
				 "--schedule-delay", "0.1", "--base-delay", "0.05",
				 "--max-delay", "0.3" };
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
	char *t = stats_text();
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;

	cJSON_Delete(j);
	free(t);
	return r;
}

/* Waits until the stats counter reaches at least v. */
static bool wait_stat(const char *name, long long v, int ms)
{
	long long end = sr_ms() + ms;

	while (stat_of(name) < v) {
		if (sr_ms() > end)
			return false;
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	return true;
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
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(a, "id"));
		bool seen = false;

		if (!id) {
			(*torn)++;
			cJSON_Delete(a);
			continue;
		}

		for (size_t k = 0; id && k < i && !seen; k++) {
			cJSON *b = cJSON_Parse(l[k]);
			const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(b, "id"));

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
	const char *env[] = { "OPENAI_API_KEY=sk-test-key", "OPENAI_ORG_ID=org-x",
			      "OPENAI_PROJECT_ID=proj-y", NULL };
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
		assert_non_null(strstr(l[i], "\"authorization\":\"Bearer sk-test-key\""));
		assert_non_null(strstr(l[i], "\"content-type\":\"application/json\""));
		assert_non_null(strstr(l[i], "\"openai-beta\":\"traces=v1\""));
		assert_non_null(strstr(l[i], "\"openai-organization\":\"org-x\""));
		assert_non_null(strstr(l[i], "\"openai-project\":\"proj-y\""));
		assert_non_null(strstr(l[i], "\"user-agent\":\"spanring/"));
		assert_non_null(strstr(l[i], "\"status\":200"));
	}
	sr_lines_free(l, n);
	/* the trace object comes before the spans of its trace */
	l = sr_lines(F.rv.out, &n);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]);
		const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(j, "object"));
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "trace_id"));
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
	const char *fixed[] = { "--fixed", "--spans", "2", "--workflow", "golden", NULL };
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1", NULL };

	(void)state;
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sr_sd_start(&F.sd, file, NULL);
	assert_true(sr_wait_lines(F.sd.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_golden(F.sd.out);
	/* the same bytes over HTTP, compressed on the wire */
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sd_http((const char *[]){ "--wire-compression", "lz4", NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_golden(F.rv.out);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"content-encoding\":\"lz4\""), 1);
}

/* A torn last line (a sidecar killed mid-write) stays a line of its own:
 * the items written after it are whole. */
static void export_file_starts_after_torn_line(void **state)
{
	const char *fixed[] = { "--fixed", "--spans", "2", "--workflow", "golden", NULL };
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1", NULL };
	const char torn[] = "{\"object\":\"trace.span\",\"id\":\"span_to";
	size_t dups, cut, n;
	char **l;
	FILE *f;

	(void)state;
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
	const char *args[] = { "--exporter", "console", "--schedule-delay", "0.1", NULL };
	const char *fixed[] = { "--fixed", "--spans", "2", "--workflow", "golden", NULL };

	(void)state;
	assert_int_equal(sr_emit(F.sd.dir, fixed), 0);
	sr_sd_start(&F.sd, args, NULL);
	assert_true(sr_wait_lines(F.sd.console, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.console,
		"[Exporter] Export trace_id=trace_11111111111111111111111111110000, name=golden\n"), 1);
	assert_int_equal(sr_count_in_file(F.sd.console, "[Exporter] Export span: {\"object\":\"trace.span\""), 3);
	assert_int_equal(sr_count_in_file(F.sd.console, GOLDEN[1]), 1);
}

static void sidecar_drops_malformed_record_only(void **state)
{
	const char *args[] = { "--spans", "4", "--bad", "1", NULL };

	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 5, WAIT_MS));
	assert_true(wait_stat("records_malformed", 1, 5000));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 5);
	assert_int_equal(stat_of("records_malformed"), 1);
	assert_int_equal(sr_count_in_file(F.rv.out, "\"i\":1"), 0);
}

static void sidecar_normalises_untrusted_json(void **state)
{
	const char *args[] = { "--spans", "5",
		"--data", " { \"a\" : 1 ,\n \"b\":[1, 2 ,{\"c\":\"x y\"}] } ",
		"--data", "{\"big\":1e999,\"small\":2.5E-3}",
		"--data", "{\"s\":\"\xff\xfe ok\"}",
		"--data", "{\"x\":NaN}",
		"--data", "[1,2]", NULL };

	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, args), 0);
	sd_http(NULL, KEY_ENV);
	/* trace, 3 of the 5 spans, process: NaN and a non-object dropped */
	assert_true(sr_wait_lines(F.rv.out, 5, WAIT_MS));
	assert_true(wait_stat("records_malformed", 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 5);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"), 1);
	assert_int_equal(sr_count_in_file(F.rv.out,
		"\"data\":{\"a\":1,\"b\":[1,2,{\"c\":\"x y\"}]}"), 1);
	/* an exponent beyond double becomes null, never Infinity */
	assert_int_equal(sr_count_in_file(F.rv.out, "\"big\":null,\"small\":0.0025"), 1);
	assert_int_equal(sr_count_in_file(F.rv.out, "Infinity"), 0);
	/* bytes that are not UTF-8 become U+FFFD */
	assert_int_equal(sr_count_in_file(F.rv.out, "\"s\":\"\xef\xbf\xbd\xef\xbf\xbd ok\""), 1);
	assert_int_equal(stat_of("records_malformed"), 2);
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
		status[k] = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "status"));
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
	return k;
}

static void export_retries_5xx_with_growing_delays(void **state)
{
	const char *more[] = { "--max-retries", "3", "--base-delay", "0.2",
			       "--max-delay", "5", NULL };
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
	sr_assert_cmp(sr_count_in_file(F.sd.log, "not delivered after 3 attempts"), >=, 1);
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
	assert_int_equal(sr_count_in_file(F.sd.dead, "{\"status\":401,\"answer\":{\"error\""), 4);
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
	const char *args[] = { "--exporter", "openai", "--endpoint", NULL,
			       "--schedule-delay", "0.1", NULL };

	(void)state;
	recv_on(NULL);
	args[3] = F.rv.url;
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sr_sd_start(&F.sd, args, NULL);
	assert_true(sr_wait_contains(F.sd.log, "OPENAI_API_KEY is not set, skipping trace export",
				     WAIT_MS));
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(wait_stat("batches_spooled", 2, WAIT_MS));
	kill(F.sd.pid, SIGUSR1);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.log, "OPENAI_API_KEY is not set"), 1);
	assert_int_equal(sr_count_lines(F.rv.req), 0);
	assert_int_equal(sr_count_in_file(F.sd.log, "sk-"), 0);
}

static void export_retry_after_seconds(void **state)
{
	double t[8];
	int st[8];

	(void)state;
	recv_on((const char *[]){ "--status-seq", "429", "--retry-after", "1", NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
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
	recv_on((const char *[]){ "--status-seq", "503", "--retry-after", date, NULL });
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	sd_http(NULL, KEY_ENV);
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
	sd_http((const char *[]){ "--wire-compression", "gzip", "--compression", "gzip",
				  NULL }, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 12, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"content-encoding\":\"gzip\""), 1);
	assert_int_equal(sr_count_in_file(F.rv.req, "\"error_count\":0"), 1);
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
	sr_assert_cmp(sr_count_in_file(F.sd.log, "1 segments left in the spool"), ==, 1);
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
	assert_int_equal(sr_count_in_file(F.rv.out, "\"i\":19,"), delivered / 22);
}

static void sidecar_sigkill_loses_nothing(void **state)
{
	const char *emit_args[] = { sr_build_path("progs/emit"), "--dir", F.sd.dir,
				    "--spans", "300", "--rate", "1500", "--lane-size",
				    "1048576", NULL };
	const char *more[] = { "--exporter", "file", "--schedule-delay", "0.05",
			       "--max-queue-size", "256", NULL };
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
		assert_int_equal(sr_sd_stop(&F.sd, SIGKILL, 5000), 128 + SIGKILL);
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
	const char *argv[20] = { sr_build_path("progs/emit"), "--dir", F.sd.dir, "--hold" };
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
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1", NULL };
	int in, st;
	pid_t p;
	size_t n;
	char **l;
	bool found = false;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "2", "--no-end", NULL }, &in);
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
		cJSON *j = cJSON_Parse(l[i]), *sd = cJSON_GetObjectItem(j, "span_data");
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(sd, "name"));
		cJSON *err = cJSON_GetObjectItem(j, "error");

		if (name && !strcmp(name, "process")) {
			found = true;
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(err, "message")),
					    "process ended without closing the span");
			assert_true(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "ended_at")),
					   cJSON_GetStringValue(cJSON_GetObjectItem(j, "started_at"))) > 0);
		}
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
	assert_true(found);
	assert_int_equal(stat_of("spans_orphaned"), 1);
}

static void exec_orphan_ends_at_exec_without_error(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1", NULL };
	int in;
	pid_t p;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "1", "--exec", "--fixed", NULL }, &in);
	sr_sd_start(&F.sd, file, NULL);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_true(sr_wait_lines(F.sd.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out, "\"error\":null"), 3);
	/* both end where the exec started (fixed clock: t0 + 5 ms) */
	assert_int_equal(sr_count_in_file(F.sd.out,
		"\"ended_at\":\"2026-11-21T11:24:00.774235+00:00\""), 2);
}

static void orphan_gets_exit_signal_from_parent(void **state)
{
	const char *file[] = { "--exporter", "file", "--schedule-delay", "0.1", NULL };
	char pid[16];
	int in;
	pid_t p;

	(void)state;
	p = emit_held((const char *[]){ "--spans", "0", "--no-end", "--fixed", NULL }, &in);
	/* the traced parent's report (written here before the death, which
	 * the sidecar accepts in either order) */
	snprintf(pid, sizeof(pid), "%d", (int)p);
	assert_int_equal(sr_emit(F.sd.dir, (const char *[]){ "--fixed", "--spans", "0",
							    "--child-killed", pid, NULL }), 0);
	sr_sd_start(&F.sd, file, NULL);
	kill(p, SIGKILL);
	sr_wait_pid(p, 5000);
	close(in);
	assert_true(sr_wait_contains(F.sd.out, "\"process.exit.signal\":\"SIGKILL\"", WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out, "process ended without closing the span"), 1);
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
	assert_int_equal(sr_count_in_file(F.sd.log, "1 segments left in the spool"), 1);
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
	char *logf = sr_strf("%s/own.log", F.base), *old = sr_strf("%s/own.log.1", F.base);

	(void)state;
	sr_sd_start(&F.sd, (const char *[]){ "--exporter", "file", "--log-file", logf,
					     NULL }, NULL);
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
	const char *argv[] = { sr_build_path("spanringd"), "--dir", F.sd.dir,
			       "--spool-dir", NULL, "--exporter", "file", NULL };
	char *spool2 = sr_strf("%s/spool2", F.base), *err = sr_strf("%s/err2", F.base);
	int st;

	(void)state;
	sr_sd_start(&F.sd, (const char *[]){ "--exporter", "file", NULL }, NULL);
	argv[4] = spool2;
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, err), 10000);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 75);
	assert_int_equal(sr_count_in_file(err, "already served by another spanringd"), 1);
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
		const char *argv[16] = { sr_build_path("spanringd"), "--spool-dir",
					 F.sd.spool, "--dir", F.sd.dir, c->a, c->b, c->c,
					 c->d, NULL };
		int st;

		unlink(err);
		st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, err), 10000);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != c->code)
			fail_msg("%s %s: exit %d, expected %d", c->a, c->b ? c->b : "",
				 WIFEXITED(st) ? WEXITSTATUS(st) : -1, c->code);
		sr_assert_cmp(sr_count_in_file(err, "spanringd: "), >=, 1);
	}
	/* a bad variable is a configuration error */
	{
		const char *argv[] = { sr_build_path("spanringd"), "--dir", F.sd.dir, NULL };
		const char *env[] = { "SPANRINGD_MAX_QUEUE_SIZE=lots", NULL };
		int st = sr_wait_pid(sr_spawn(argv, env, -1, -1, err), 10000);

		assert_int_equal(WEXITSTATUS(st), 78);
		sr_assert_cmp(sr_count_in_file(err, "SPANRINGD_MAX_QUEUE_SIZE"), >=, 1);
	}
	free(err);
}

static void sidecar_help_lists_every_option(void **state)
{
	static const char *const flags[] = {
		"--dir", "--exporter", "--endpoint", "--output", "--max-batch-size",
		"--schedule-delay", "--export-trigger-ratio", "--max-queue-size",
		"--max-retries", "--base-delay", "--max-delay", "--compression",
		"--spool-dir", "--spool-max-bytes", "--shutdown-timeout",
		"--stats-file", "--log-level", "--help", "--version", "--api-key-file",
		"SPANRINGD_MAX_BATCH_SIZE", "SPANRING_DIR", "default 128", "default 8192",
		"default 0.7", "OPENAI_API_KEY",
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

static void write_file(const char *dir, const char *name, const void *p, size_t n)
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
	write_file(F.sd.dir, "sr-1-0000000000000001-16384.ring", junk, sizeof(junk));
	write_file(F.sd.dir, "sr-2-0000000000000002-100.ring", junk, 100);
	memset(&h, 0, sizeof(h));
	h.magic = SR_RING_MAGIC;
	h.version = SR_RING_VERSION;
	h.header_size = SR_RING_HEADER_SIZE;
	h.lane_count = 100000;
	h.lane_size = 1u << 30;
	h.file_size = 1ull << 50;
	memcpy(junk, &h, sizeof(h));
	write_file(F.sd.dir, "sr-3-0000000000000003-16384.ring", junk, sizeof(junk));
	/* a live ring that is truncated while the sidecar reads it */
	p = emit_held((const char *[]){ "--spans", "1", "--no-end", NULL }, &in);
	sd_http(NULL, KEY_ENV);
	assert_true(sr_wait_lines(F.rv.out, 2, WAIT_MS));
	ring = ring_of(p);
	assert_int_equal(truncate(ring, 4096), 0);
	/* good rings are still served */
	assert_int_equal(sr_emit(F.sd.dir, NULL), 0);
	assert_true(sr_wait_lines(F.rv.out, 2 + 12, WAIT_MS));
	assert_true(wait_stat("rings_bad", 4, WAIT_MS));
	assert_true(sr_wait_contains(F.sd.log, "truncated under the reader", WAIT_MS));
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
	sr_assert_fcmp(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "compression_ratio")), >, 1.0);
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
		print_message("skipped: %s is not built\n", sr_build_path("libspanring.so"));
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
	const char *sh[] = { "/bin/sh", "-c", "/bin/true; /bin/echo hi > /dev/null", NULL };
	size_t n;
	char **l;
	int st;

	(void)state;
	shim_env(env, keep);
	recv_on(NULL);
	sd_http(NULL, KEY_ENV);
	st = sr_wait_pid(sr_spawn(sh, env, -1, -1, NULL), WAIT_MS);
	sr_assert_exited(st, 0);
	assert_true(sr_wait_contains(F.rv.out, "\"workflow_name\":\"conformance\"", WAIT_MS));
	assert_true(wait_stat("rings_removed", 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	l = sr_lines(F.rv.req, &n);
	for (size_t i = 0; i < n; i++)
		if (!strstr(l[i], "\"error_count\":0"))
			fail_msg("invalid payload: %s", l[i]);
	sr_lines_free(l, n);
	/* one trace for the whole tree, a process span per image */
	assert_int_equal(sr_count_in_file(F.rv.out, "\"object\":\"trace\","), 1);
	sr_assert_cmp(sr_count_in_file(F.rv.out, "\"name\":\"process\""), >=, 2);
	free(keep[0]);
	free(keep[1]);
}

static void shim_killed_program_span_has_error(void **state)
{
	const char *env[5];
	char *keep[2];
	/* the inner shell kills itself; the outer one reaps it */
	const char *sh[] = { "/bin/sh", "-c", "/bin/sh -c 'kill -9 $$'; exit 0", NULL };
	int st;

	(void)state;
	shim_env(env, keep);
	sr_sd_start(&F.sd, (const char *[]){ "--exporter", "file", "--schedule-delay",
					     "0.1", NULL }, NULL);
	st = sr_wait_pid(sr_spawn(sh, env, -1, -1, NULL), WAIT_MS);
	sr_assert_exited(st, 0);
	assert_true(sr_wait_contains(F.sd.out, "process ended without closing the span",
				     WAIT_MS));
	assert_true(wait_stat("spans_orphaned", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.sd.out, "process ended without closing the span"), 1);
	/* an exit status, when the parent reported one (CHILD_EXIT), is
	 * the signal that killed it */
	assert_int_equal(sr_count_in_file(F.sd.out, "\"process.exit.signal\":"),
			 sr_count_in_file(F.sd.out, "\"process.exit.signal\":\"SIGKILL\""));
	free(keep[0]);
	free(keep[1]);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

SR_TEST_MAIN(T(sidecar_payload_conforms_to_wire), T(sidecar_golden_bytes),
	     T(sidecar_drops_malformed_record_only),
	     T(export_file_starts_after_torn_line),
	     T(export_console_prints_seed_lines),
	     T(sidecar_normalises_untrusted_json),
	     T(export_retries_5xx_with_growing_delays),
	     T(export_client_error_not_retried), T(export_400_single_attempt),
	     T(export_no_key_warns_once), T(export_retry_after_seconds),
	     T(export_retry_after_http_date), T(export_bisects_rejected_batch),
	     T(export_gzip_on_wire_and_in_spool),
	     T(export_receiver_outage_delivers_everything),
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
	     T(shim_killed_program_span_has_error))
