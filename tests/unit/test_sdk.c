/* SPDX-License-Identifier: MIT */
/*
 * The Agents SDK's tracing through spanring: the explicit-identity C API
 * (tests/progs/sdk_api), the Python processor (tools/python, against the
 * stand-in SDK of tests/python/standin) and the JavaScript processor
 * (tools/js, against the real @openai/agents from npm, installed pinned
 * into build/agents-js), each under the shim with a real spanringd; the
 * SDKs' own exporters send the same traces to a real spanring-recv.
 */
#include "tests/lib/harness.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/sidecar.h"

#define WAIT_MS 20000
/* pinned: the test compares with what this version's exporter sends */
#define JS_PACKAGES "@openai/agents@0.20.0 koffi@3.3.4"
#define T "trace_0123456789abcdef0123456789abcdef"
#define S(n) "span_0000000000000000000000" n

struct fx {
	char *base, *sdkbase;
	struct sr_sd sd;
	struct sr_recv rv, sdkrv; /* the sidecar's, the SDK exporter's */
	bool rv_on, sdkrv_on;
	char *keep[8];
	const char *env[12];
};

static struct fx F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.base = sr_sd_fixture(&F.sd, "sdk");
	F.sdkbase = sr_strf("%s/sdk", F.base);
	mkdir(F.sdkbase, 0700);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_sd_fixture_stop(&F.sd, F.rv_on ? &F.rv : NULL);
	if (F.sdkrv_on)
		sr_recv_free(&F.sdkrv);
	for (size_t i = 0; i < sizeof(F.keep) / sizeof(F.keep[0]); i++)
		free(F.keep[i]);
	free(F.sdkbase);
	sr_tmpdir_free(F.base);
	return 0;
}

static const char *const KEY_ENV[] = { "OPENAI_API_KEY=sk-test-key", NULL };

/* spanringd exporting to a file, or (openai) to a receiver of its own;
 * no identity members, so its items compare with the SDKs' as they are. */
static void sd_on(bool openai)
{
	const char *file[] = { "--exporter", "file",       "--schedule-delay",
			       "0.1",        "--identity", "no",
			       NULL };
	const char *http[] = { "--exporter",
			       "openai",
			       "--endpoint",
			       NULL,
			       "--schedule-delay",
			       "0.1",
			       "--identity",
			       "no",
			       NULL };

	if (!openai) {
		sr_sd_start(&F.sd, file, NULL);
		return;
	}
	sr_recv_start(&F.rv, F.base, 0, NULL);
	F.rv_on = true;
	http[3] = F.rv.url;
	sr_sd_start(&F.sd, http, KEY_ENV);
}

static void sdk_recv_on(void)
{
	sr_recv_start(&F.sdkrv, F.sdkbase, 0, NULL);
	F.sdkrv_on = true;
}

static char *abs_path(const char *rel)
{
	char buf[4096];

	if (!realpath(rel, buf))
		fail_msg("%s: not found", rel);
	return strdup(buf);
}

/* The environment of a program under the shim writing into the sidecar's
 * ring directory; `shim` false: not preloaded (SPANRING_LIBRARY given). */
static const char *const *shim_env(bool shim)
{
	char *so = abs_path(sr_build_path("libspanring.so"));
	char *standin = abs_path("tests/python/standin");
	char *pkg = abs_path("tools/python"), *build;
	int n = 0;

	/* an ASan build of the shim needs its runtime loaded first */
	F.keep[0] = !shim ? sr_strf("SPANRING_LIBRARY=%s", so)
		    : sr_asan_build()
			    ? sr_strf("LD_PRELOAD=%s:%s", sr_asan_runtime(), so)
			    : sr_strf("LD_PRELOAD=%s", so);
	F.keep[1] = sr_strf("SPANRING_DIR=%s", F.sd.dir);
	F.keep[2] = sr_strf("PYTHONPATH=%s:%s", standin, pkg);
	build = abs_path(sr_build_path("."));
	F.keep[3] = sr_strf("NODE_PATH=%s/agents-js/node_modules", build);
	free(build);
	for (int i = 0; i < 4; i++)
		F.env[n++] = F.keep[i];
	F.env[n++] = "PYTHONDONTWRITEBYTECODE=1";
	if (sr_asan_build())
		F.env[n++] =
			"ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
	F.env[n] = NULL;
	free(so);
	free(standin);
	free(pkg);
	return F.env;
}

/* The real Python interpreter (python3 may be a wrapper script). */
static const char *python(void)
{
	static char exe[4096];
	FILE *p;

	if (exe[0])
		return exe;
	p = popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null",
		  "r");
	if (!p || !fgets(exe, sizeof(exe), p) || pclose(p) != 0) {
		print_message(
			"skipped: python3 is not installed (make deps installs it)\n");
		skip();
	}
	exe[strcspn(exe, "\n")] = 0;
	return exe;
}

/* Runs argv to completion with env; its stdout in *out (heap). */
static int run(const char *const *argv, const char *const *env, char **out,
	       const char *err)
{
	char *path = sr_strf("%s/stdout.txt", F.base);
	FILE *f = fopen(path, "w+");
	int st;

	assert_non_null(f);
	st = sr_wait_pid(sr_spawn(argv, env, -1, fileno(f), err), 60000);
	fclose(f);
	*out = sr_read_file(path, NULL);
	free(path);
	return st;
}

static bool rings_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool left = false;

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".ring"))
			left = true;
	closedir(d);
	return left;
}

/* Waits until the sidecar has drained and removed every ring (all their
 * processes are gone), then stops it: its output is complete. */
static void sd_drain_stop(void)
{
	long long end = sr_ms() + WAIT_MS;

	while (rings_left(F.sd.dir) && sr_ms() < end) {
		struct timespec ts = { 0, 20000000 };

		nanosleep(&ts, NULL); /* polling for an effect */
	}
	if (rings_left(F.sd.dir))
		fail_msg("rings still in %s after %d ms", F.sd.dir, WAIT_MS);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
}

/* Every JSON line of a file, as an array. */
static cJSON *items(const char *path)
{
	cJSON *a = cJSON_CreateArray();
	size_t n;
	char **l = sr_lines(path, &n);

	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]);

		if (!j)
			fail_msg("%s: not JSON: %s", path, l[i]);
		cJSON_AddItemToArray(a, j);
	}
	sr_lines_free(l, n);
	return a;
}

static const char *str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* a == b, either may be NULL */
static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The one item with this id (fails on none or several). */
/* The one item of `all` that pred(item, arg) accepts; fails, naming it
 * `what`, when there is none or more than one. */
static const cJSON *only(const cJSON *all,
			 bool (*pred)(const cJSON *, const void *),
			 const void *arg, const char *what)
{
	const cJSON *x, *hit = NULL;

	cJSON_ArrayForEach(x, all) if (pred(x, arg))
	{
		if (hit)
			fail_msg("%s twice", what);
		hit = x;
	}
	if (!hit)
		fail_msg("no %s", what);
	return hit;
}

static bool has_id(const cJSON *x, const void *id)
{
	return str(x, "id") && !strcmp(str(x, "id"), id);
}

static const cJSON *by_id(const cJSON *all, const char *id)
{
	char what[128];

	snprintf(what, sizeof(what), "item %s", id);
	return only(all, has_id, id, what);
}

/* Microseconds since the epoch of "2026-12-02T04:27:22.296Z" or
 * "…22.296123+00:00". */
static long long usec(const char *iso)
{
	struct tm tm = { 0 };
	long long us = 0;
	int digits = 0;
	const char *p;

	assert_non_null(iso);
	assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year,
				&tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec),
			 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = strchr(iso, '.');
	for (p = p ? p + 1 : ""; *p >= '0' && *p <= '9'; p++)
		if (digits < 6) {
			us = us * 10 + (*p - '0');
			digits++;
		}
	while (digits++ < 6)
		us *= 10;
	return (long long)timegm(&tm) * 1000000 + us;
}

static void same_json(const char *id, const char *key, const cJSON *a,
		      const cJSON *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, key);
	const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, key);

	if ((x || y) && !cJSON_Compare(x, y, true)) {
		char *s = cJSON_PrintUnformatted(x),
		     *t = cJSON_PrintUnformatted(y);

		fail_msg("%s.%s: the SDK's exporter sent %s, spanringd %s", id,
			 key, s, t);
	}
}

/* Every item the SDK's exporter sent is in spanringd's output, the same
 * (times to the microsecond). Returns how many were compared. */
static size_t same_items(const cJSON *sdk, const cJSON *ours)
{
	static const char *const keys[] = { "object",    "trace_id",
					    "parent_id", "workflow_name",
					    "group_id",  "metadata",
					    "span_data", "error" };
	const cJSON *x;
	size_t n = 0;

	cJSON_ArrayForEach(x, sdk)
	{
		const char *id = str(x, "id");
		const cJSON *y = by_id(ours, id);

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			same_json(id, keys[k], x, y);
		if (!strcmp(str(x, "object"), "trace.span")) {
			assert_int_equal(usec(str(x, "started_at")),
					 usec(str(y, "started_at")));
			assert_int_equal(usec(str(x, "ended_at")),
					 usec(str(y, "ended_at")));
		}
		n++;
	}
	return n;
}

/* The first custom span named name whose command_args[1] is arg1. */
static const cJSON *process_with_arg(const cJSON *all, const char *name,
				     const char *arg1)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, all)
	{
		const cJSON *sd = cJSON_GetObjectItem(x, "span_data");
		const cJSON *args =
			cJSON_GetObjectItem(cJSON_GetObjectItem(sd, "data"),
					    "process.command_args");

		if (streq(str(sd, "name"), name) &&
		    streq(cJSON_GetStringValue(cJSON_GetArrayItem(args, 1)),
			  arg1))
			return x;
	}
	fail_msg("no %s span with argument %s", name, arg1);
	return NULL;
}

/* Walks up from item through parents (in `all`) until a parent is
 * `ancestor`; fails if it never is. Every step stays in its trace. */
static void assert_under(const cJSON *all, const cJSON *item,
			 const char *ancestor)
{
	const char *trace = str(item, "trace_id");

	for (int depth = 0; depth < 16; depth++) {
		const char *parent = str(item, "parent_id");

		if (!parent)
			fail_msg("%s is not under %s", str(item, "id"),
				 ancestor);
		if (!strcmp(parent, ancestor))
			return;
		item = by_id(all, parent);
		assert_string_equal(str(item, "trace_id"), trace);
	}
	fail_msg("no %s above %s", ancestor, str(item, "id"));
}

/* --- the C API ------------------------------------------------------------- */

static void sdk_api_return_codes(void **state)
{
	const char *argv[] = { sr_build_path("progs/sdk_api"), "codes", NULL };
	const char *off[4] = { "SPANRING_DISABLE=1", NULL };
	char *out, *pre = NULL;

	(void)state;
	sd_on(false);
	assert_int_equal(run(argv, shim_env(true), &out, NULL), 0);
	assert_string_equal(out, "ok\n");
	free(out);
	/* not recording: every call is -ENODEV (the program links the
	 * shim: an ASan build needs its runtime first) */
	if (sr_asan_build()) {
		off[1] = pre = sr_strf("LD_PRELOAD=%s", sr_asan_runtime());
		off[2] = "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0";
	}
	assert_int_equal(run(argv, off, &out, NULL), 0);
	free(pre);
	assert_string_equal(out, "ok\n");
	free(out);
	sd_drain_stop();
}

/* The exact items of the SDK spans the helper recorded; the processes the
 * function span started are under it, in its trace. */
static void sdk_api_spans_exact_through_sidecar(void **state)
{
	const char *argv[] = { sr_build_path("progs/sdk_api"), "trace", NULL };
	static const char *const want[] = {
		"{\"object\":\"trace\",\"id\":\"" T
		"\",\"workflow_name\":\"sdk wf\","
		"\"group_id\":\"group_42\",\"metadata\":{\"n\":1.0,\"s\":\"é\"}}",
		"{\"object\":\"trace.span\",\"id\":\"" S(
			"10") "\",\"trace_id\":\"" T "\","
			      "\"parent_id\":null,\"started_at\":\"2025-11-24T16:00:00.123456+00:00\","
			      "\"ended_at\":\"2025-11-24T16:00:00.132456+00:00\",\"span_data\":{\"type\":"
			      "\"agent\",\"name\":\"A\",\"handoffs\":[],\"tools\":[\"run\"],\"output_type\":"
			      "\"str\"},\"error\":null}",
		"{\"object\":\"trace.span\",\"id\":\"" S(
			"11") "\",\"trace_id\":\"" T "\","
			      "\"parent_id\":\"" S(
				      "10") "\",\"started_at\":\"2025-11-24T16:00:00.123457+00:00\","
					    "\"ended_at\":\"2025-11-24T16:00:00.124456+00:00\",\"span_data\":{\"type\":"
					    "\"function\",\"name\":\"run\",\"input\":\"ls\",\"output\":\"done\",\"mcp_data\":"
					    "null},\"error\":{\"message\":\"tool failed\",\"data\":{\"exit\":2}}}",
		"{\"object\":\"trace.span\",\"id\":\"" S(
			"12") "\",\"trace_id\":\"" T "\","
			      "\"parent_id\":\"" S(
				      "10") "\",\"started_at\":\"2025-11-24T16:00:00.123458+00:00\","
					    "\"ended_at\":\"2025-11-24T16:00:00.123459+00:00\",\"span_data\":{\"type\":"
					    "\"custom\",\"name\":\"threaded\",\"data\":{}},\"error\":null}",
		"{\"object\":\"trace.span\",\"id\":\"" S(
			"13") "\",\"trace_id\":\"" T "\","
			      "\"parent_id\":\"" S(
				      "10") "\",\"started_at\":\"2025-11-24T16:00:00.123460+00:00\","
					    "\"ended_at\":\"2025-11-24T16:00:00.123461+00:00\",\"span_data\":{\"type\":"
					    "\"generation\",\"model\":\"m\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}},"
					    "\"error\":null}",
	};
	const char *hooks[] = { "spawn", "system", "fork", "getaddrinfo" };
	cJSON *all;
	char *out;

	(void)state;
	sd_on(false);
	assert_int_equal(run(argv, shim_env(true), &out, NULL), 0);
	assert_string_equal(out, "ok\n");
	free(out);
	sd_drain_stop();
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (sr_count_in_file(F.sd.out, want[i]) != 1)
			fail_msg("expected once in %s:\n%s", F.sd.out, want[i]);
	all = items(F.sd.out);
	/* the hooks' spans under the context, their processes below them */
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		const cJSON *x, *hook = NULL;

		cJSON_ArrayForEach(x, all) if (
			streq(str(cJSON_GetObjectItem(x, "span_data"), "type"),
			      "custom") &&
			streq(str(cJSON_GetObjectItem(x, "span_data"), "name"),
			      hooks[i]) &&
			streq(str(x, "parent_id"), S("11"))) hook = x;
		if (!hook)
			fail_msg("no %s span under the function span",
				 hooks[i]);
		assert_string_equal(str(hook, "trace_id"), T);
	}
	/* every /bin/true started there is a process in the trace under it */
	{
		const cJSON *x;
		int n = 0;

		cJSON_ArrayForEach(x, all)
		{
			const cJSON *sd = cJSON_GetObjectItem(x, "span_data");

			char *d = cJSON_PrintUnformatted(
				cJSON_GetObjectItem(sd, "data"));
			bool hit =
				streq(str(sd, "name"), "process") && d &&
				strstr(d,
				       "\"process.command_args\":[\"/bin/true\"]");

			free(d);
			if (hit) {
				assert_string_equal(str(x, "trace_id"), T);
				assert_under(all, x, S("11"));
				n++;
			}
		}
		assert_int_equal(n, 3);
	}
	assert_int_equal(sr_count_in_file(F.sd.out,
					  "process ended without closing"),
			 0);
	cJSON_Delete(all);
}

/* Spans started and never finished: SIGKILL; the sidecar closes them with
 * an error, the finished one has none. */
static void kill_and_check(const char *const *argv, const char *const *ids,
			   size_t nopen, const char *done)
{
	int in[2], out[2];
	char line[4096] = "";
	FILE *f;
	pid_t pid;
	cJSON *all;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	pid = sr_spawn(argv, shim_env(true), in[0], out[1], NULL);
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	while (fgets(line, sizeof(line), f) && strcmp(line, "ready\n"))
		;
	assert_string_equal(line, "ready\n");
	kill(pid, SIGKILL);
	sr_wait_pid(pid, WAIT_MS);
	fclose(f);
	close(in[1]);
	sd_drain_stop();
	all = items(F.sd.out);
	for (size_t i = 0; i < nopen; i++) {
		const cJSON *x = by_id(all, ids[i]);
		const cJSON *e = cJSON_GetObjectItem(x, "error");

		if (!str(e, "message") ||
		    strcmp(str(e, "message"),
			   "process ended without closing the span"))
			fail_msg("%s: error %s", ids[i],
				 cJSON_PrintUnformatted(e));
	}
	assert_true(
		cJSON_IsNull(cJSON_GetObjectItem(by_id(all, done), "error")));
	cJSON_Delete(all);
}

static void sdk_api_killed_open_spans_closed_with_error(void **state)
{
	const char *argv[] = { sr_build_path("progs/sdk_api"), "open", NULL };
	const char *ids[] = { S("20"), S("21") };

	(void)state;
	sd_on(false);
	kill_and_check(argv, ids, 2, S("22"));
}

/* --- Python ----------------------------------------------------------------- */

static cJSON *py(const char *mode, const char *arg, bool shim, char **err_out)
{
	const char *argv[] = { python(), "tests/python/sdk_scenarios.py", mode,
			       arg, NULL };
	char *err = sr_strf("%s/py.err", F.base), *out, *last;
	cJSON *ids;
	int st;

	st = run(argv, shim_env(shim), &out, err);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("python %s: status %d: %s", mode, st,
			 sr_read_file(err, NULL));
	last = strrchr(out, '{');
	ids = last ? cJSON_Parse(last) : NULL;
	if (err_out)
		*err_out = sr_read_file(err, NULL);
	free(err);
	free(out);
	return ids;
}

static void py_processor_sends_what_seed_exporter_sends(void **state)
{
	cJSON *ids, *sdk, *ours;
	const cJSON *p;

	(void)state;
	sdk_recv_on();
	sd_on(true);
	ids = py("compare", F.sdkrv.url, true, NULL);
	assert_non_null(ids);
	sd_drain_stop();
	sdk = items(F.sdkrv.out);
	ours = items(F.rv.out);
	/* the trace and its four spans, all of them */
	assert_int_equal(same_items(sdk, ours), 5);
	/* the subprocess under the function span */
	p = process_with_arg(ours, "process", "py-tool");
	assert_string_equal(str(p, "trace_id"), str(ids, "trace"));
	assert_under(ours, p, str(ids, "function"));
	cJSON_Delete(ids);
	cJSON_Delete(sdk);
	cJSON_Delete(ours);
}

static bool looks_up_localhost(const cJSON *x, const void *unused)
{
	const cJSON *sd = cJSON_GetObjectItem(x, "span_data");

	(void)unused;
	return streq(str(sd, "name"), "getaddrinfo") &&
	       streq(str(cJSON_GetObjectItem(sd, "data"), "dns.question.name"),
		     "localhost");
}

/* Two tools as concurrent asyncio tasks (or threads), each starting a
 * process while both function spans are open: each process is under its
 * own tool's span. */
static void concurrent(const char *mode, const char *prefix)
{
	cJSON *ids, *ours;
	char a[64], b[64];

	sd_on(false);
	ids = py(mode, NULL, true, NULL);
	assert_non_null(ids);
	sd_drain_stop();
	ours = items(F.sd.out);
	snprintf(a, sizeof(a), "%sa", prefix);
	snprintf(b, sizeof(b), "%sb", prefix);
	assert_under(ours, process_with_arg(ours, "process", a), str(ids, "a"));
	assert_under(ours, process_with_arg(ours, "process", b), str(ids, "b"));
	assert_string_equal(str(process_with_arg(ours, "process", a),
				"trace_id"),
			    str(ids, "trace"));
	/* asyncio: tool a's look-up (loop.getaddrinfo, on the loop's
	 * executor thread) under its span too */
	if (!strcmp(mode, "asyncio")) {
		const cJSON *g = only(ours, looks_up_localhost, NULL,
				      "getaddrinfo span of localhost");

		assert_string_equal(str(g, "trace_id"), str(ids, "trace"));
		assert_under(ours, g, str(ids, "a"));
	}
	cJSON_Delete(ids);
	cJSON_Delete(ours);
}

static void py_asyncio_tools_processes_under_own_span(void **state)
{
	(void)state;
	concurrent("asyncio", "tool-");
}

static void py_threads_processes_under_own_span(void **state)
{
	(void)state;
	concurrent("threads", "thread-");
}

static void py_killed_open_spans_closed_with_error(void **state)
{
	const char *argv[] = { python(), "tests/python/sdk_scenarios.py",
			       "kill", NULL };
	char *path = sr_strf("%s/ids.txt", F.base);
	const char *ids[2];
	cJSON *j;
	char *text;
	int st;

	(void)state;
	sd_on(false);
	/* the ids come first on stdout: read them from a first run's file
	 * would race; the script prints them before "ready" */
	{
		int in[2], out[2];
		char line[4096] = "";
		FILE *f;
		pid_t pid;

		assert_int_equal(pipe(in), 0);
		assert_int_equal(pipe(out), 0);
		pid = sr_spawn(argv, shim_env(true), in[0], out[1], NULL);
		close(in[0]);
		close(out[1]);
		f = fdopen(out[0], "r");
		assert_non_null(fgets(line, sizeof(line), f));
		text = strdup(line);
		assert_non_null(fgets(line, sizeof(line), f));
		assert_string_equal(line, "ready\n");
		kill(pid, SIGKILL);
		st = sr_wait_pid(pid, WAIT_MS);
		assert_true(WIFSIGNALED(st));
		fclose(f);
		close(in[1]);
	}
	j = cJSON_Parse(text);
	assert_non_null(j);
	ids[0] = str(j, "agent");
	ids[1] = str(j, "function");
	sd_drain_stop();
	{
		cJSON *all = items(F.sd.out);

		for (int i = 0; i < 2; i++) {
			const cJSON *e = cJSON_GetObjectItem(by_id(all, ids[i]),
							     "error");

			if (!str(e, "message") ||
			    strcmp(str(e, "message"),
				   "process ended without closing the span"))
				fail_msg("%s: error %s", ids[i],
					 cJSON_PrintUnformatted(e));
		}
		assert_true(cJSON_IsNull(
			cJSON_GetObjectItem(by_id(all, str(j, "custom")),
					    "error")));
		by_id(all, str(j, "trace"));
		cJSON_Delete(all);
	}
	cJSON_Delete(j);
	free(text);
	free(path);
}

/* Not preloaded: the package loads the library itself and records. */
static void py_loads_library_when_not_preloaded(void **state)
{
	const char *argv[] = { python(), "tests/python/sdk_scenarios.py",
			       "plain", NULL };
	char *out, *err = sr_strf("%s/py.err", F.base);
	cJSON *all, *ids;

	(void)state;
	sd_on(false);
	assert_int_equal(run(argv, shim_env(false), &out, err), 0);
	assert_non_null(strstr(out, "loaded\n"));
	assert_null(strstr(out, "preloaded"));
	ids = cJSON_Parse(strchr(out, '{'));
	sd_drain_stop();
	all = items(F.sd.out);
	assert_string_equal(str(by_id(all, str(ids, "function")), "trace_id"),
			    str(ids, "trace"));
	by_id(all, str(ids, "trace"));
	cJSON_Delete(all);
	cJSON_Delete(ids);
	free(out);
	free(err);
}

/* No library at all: said once, nothing recorded, nothing fails. */
static void py_no_library_says_once(void **state)
{
	const char *argv[] = { python(), "tests/python/sdk_scenarios.py",
			       "nolib", NULL };
	const char *env[] = { "SPANRING_LIBRARY=/nonexistent/libspanring.so",
			      NULL, NULL };
	char *out, *err = sr_strf("%s/py.err", F.base), *text;

	(void)state;
	(void)python();
	env[1] = shim_env(false)[2]; /* PYTHONPATH */
	assert_int_equal(run(argv, env, &out, err), 0);
	assert_string_equal(out, "ok\n");
	text = sr_read_file(err, NULL);
	assert_int_equal(
		sr_count_in_file(err,
				 "spanring: no libspanring.so could be loaded"),
		1);
	free(text);
	free(out);
	free(err);
}

/* The processor's direct path (the SDK's objects read, bytes to C) passes
 * the C API exactly what its export() path passes, for awkward values and
 * times; a span's start carries its type and name only. */
static void py_direct_path_same_as_export_path(void **state)
{
	cJSON *r;

	(void)state;
	r = py("paths", NULL, false, NULL);
	assert_non_null(r);
	if (cJSON_GetArraySize(cJSON_GetObjectItem(r, "mismatches")))
		fail_msg("mismatches: %s", cJSON_PrintUnformatted(r));
	/* the trace, five starts, five finishes */
	assert_int_equal(cJSON_GetObjectItem(r, "calls")->valueint, 11);
	cJSON_Delete(r);
}

/* --- JavaScript: the real @openai/agents ------------------------------------ */

static void js_install(void)
{
	char *mods = sr_strf("%s/agents-js", sr_build_path("."));
	char *probe = sr_strf("%s/node_modules/@openai/agents/package.json",
			      mods);
	char *cmd;
	struct stat st;

	if (system("command -v node >/dev/null && command -v npm >/dev/null")) {
		print_message(
			"skipped: node and npm are not installed (make deps installs them)\n");
		skip();
	}
	if (stat(probe, &st)) {
		cmd = sr_strf("mkdir -p %s && cd %s && timeout 180 npm install --no-audit "
			      "--no-fund --loglevel=error " JS_PACKAGES
			      " >npm.log 2>&1",
			      mods, mods);
		if (system(cmd)) {
			print_message("skipped: the npm registry is unreachable or refused the "
				      "install of " JS_PACKAGES
				      " (see %s/npm.log)\n",
				      mods);
			free(cmd);
			skip();
		}
		free(cmd);
	}
	free(probe);
	free(mods);
}

/* The node executable's path (sr_spawn does not search PATH). */
static const char *node(void)
{
	static char exe[4096];
	FILE *p = popen("command -v node", "r");

	if (!p || !fgets(exe, sizeof(exe), p) || pclose(p) != 0)
		fail_msg("node not found");
	exe[strcspn(exe, "\n")] = 0;
	return exe;
}

static bool connects_to(const cJSON *x, const void *port)
{
	const cJSON *sd = cJSON_GetObjectItem(x, "span_data");
	const cJSON *d = cJSON_GetObjectItem(sd, "data");
	const cJSON *p = cJSON_GetObjectItem(d, "server.port");

	return streq(str(sd, "name"), "connect") &&
	       streq(str(d, "server.address"), "127.0.0.1") &&
	       cJSON_IsNumber(p) && p->valueint == *(const int *)port;
}

/* The connect span to 127.0.0.1:port. */
static const cJSON *connect_to(const cJSON *all, int port)
{
	char what[64];

	snprintf(what, sizeof(what), "connect span to 127.0.0.1:%d", port);
	return only(all, connects_to, &port, what);
}

static void js(const char *how)
{
	const char *argv[] = { NULL, "tests/js/agents_sdk.js", NULL, how,
			       NULL };
	char *out, *err = sr_strf("%s/js.err", F.base);
	cJSON *ids, *sdk, *ours, *pr;
	const cJSON *ports;
	const cJSON *id;
	int st;

	js_install();
	argv[0] = node();
	sdk_recv_on();
	sd_on(true);
	argv[2] = F.sdkrv.url;
	st = run(argv, shim_env(true), &out, err);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("node: status %d: %s", st, sr_read_file(err, NULL));
	ids = cJSON_Parse(strrchr(out, '['));
	assert_non_null(ids);
	assert_non_null(strstr(out, "{\"ports\""));
	pr = cJSON_Parse(strstr(out, "{\"ports\""));
	ports = cJSON_GetObjectItem(pr, "ports");
	assert_non_null(ports);
	sd_drain_stop();
	sdk = items(F.sdkrv.out);
	ours = items(F.rv.out);
	/* per run: trace, task, agent, two turns, the function span */
	assert_int_equal(same_items(sdk, ours),
			 6 * (size_t)cJSON_GetArraySize(ids));
	/* each run's child process under its own function span */
	cJSON_ArrayForEach(id, ids)
	{
		const char *trace = cJSON_GetStringValue(id);
		const cJSON *x, *fn = NULL, *p;
		cJSON *in;
		char arg[64];

		cJSON_ArrayForEach(x, sdk) if (
			streq(str(x, "trace_id"), trace) &&
			streq(str(cJSON_GetObjectItem(x, "span_data"), "type"),
			      "function")) fn = x;
		assert_non_null(fn);
		in = cJSON_Parse(
			str(cJSON_GetObjectItem(fn, "span_data"), "input"));
		assert_non_null(in);
		snprintf(arg, sizeof(arg), "js-tool-%s", str(in, "tag"));
		p = process_with_arg(ours, "process", arg);
		assert_string_equal(str(p, "trace_id"), trace);
		assert_under(ours, p, str(fn, "id"));
		/* its connections (net.connect, http.get) too */
		for (int i = 0; i < 2; i++) {
			const cJSON *c = connect_to(
				ours,
				cJSON_GetArrayItem(cJSON_GetObjectItem(ports,
								       str(in,
									   "tag")),
						   i)
					->valueint);

			assert_string_equal(str(c, "trace_id"), trace);
			assert_under(ours, c, str(fn, "id"));
		}
		/* and the look-up run "a" made, on libuv's pool */
		if (streq(str(in, "tag"), "a")) {
			const cJSON *g = only(ours, looks_up_localhost, NULL,
					      "getaddrinfo span of localhost");

			assert_string_equal(str(g, "trace_id"), trace);
			assert_under(ours, g, str(fn, "id"));
		}
		cJSON_Delete(in);
	}
	cJSON_Delete(pr);
	cJSON_Delete(ids);
	cJSON_Delete(sdk);
	cJSON_Delete(ours);
	free(out);
	free(err);
}

/* The JS processor's direct path (the SDK's getters, span_data serialized
 * without toJSON()) passes the C API exactly what the span's own toJSON()
 * holds, for every kind of span; starts carry type and name only. */
static void js_direct_path_same_as_tojson(void **state)
{
	const char *argv[] = { NULL, "tests/js/paths.js", NULL };
	char *out, *err = sr_strf("%s/js.err", F.base);
	cJSON *r;
	int st;

	(void)state;
	js_install();
	argv[0] = node();
	st = run(argv, shim_env(false), &out, err);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("node: status %d: %s", st, sr_read_file(err, NULL));
	r = cJSON_Parse(strrchr(out, '{'));
	assert_non_null(r);
	if (cJSON_GetArraySize(cJSON_GetObjectItem(r, "mismatches")))
		fail_msg("mismatches: %s", cJSON_PrintUnformatted(r));
	/* the trace, eleven starts, eleven finishes */
	assert_int_equal(cJSON_GetObjectItem(r, "calls")->valueint, 23);
	cJSON_Delete(r);
	free(out);
	free(err);
}

/* Under node --pending-deprecation the processor prints nothing the
 * program would not print untraced (process.binding() would warn), and
 * still works: it is on, and a connection is made. */
static void js_pending_deprecation_prints_nothing(void **state)
{
	const char *argv[] = {
		NULL, "--pending-deprecation", "-e",
		"const { SpanringTracingProcessor } = "
		"require(require('path').resolve('tools/js'));"
		"const p = new SpanringTracingProcessor();"
		"if (!p._on) { console.log('processor off'); process.exit(3); }"
		"require('net').connect(9, '127.0.0.1')"
		".on('error', () => console.log('done'))"
		".on('connect', () => console.log('done'));",
		NULL
	};
	char *out, *err = sr_strf("%s/js.err", F.base), *errtext;
	int st;

	(void)state;
	js_install();
	argv[0] = node();
	sd_on(true);
	st = run(argv, shim_env(true), &out, err);
	errtext = sr_read_file(err, NULL);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("node: status %d: %s%s", st, out, errtext);
	assert_string_equal(out, "done\n");
	assert_string_equal(errtext, "");
	sd_drain_stop();
	free(errtext);
	free(out);
	free(err);
}

static void js_agents_sdk_payload_and_tool_process(void **state)
{
	(void)state;
	js("");
}

static void js_concurrent_runs_processes_under_own_span(void **state)
{
	(void)state;
	js("concurrent");
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
SR_TEST_MAIN(T_(sdk_api_return_codes), T_(sdk_api_spans_exact_through_sidecar),
	     T_(sdk_api_killed_open_spans_closed_with_error),
	     T_(py_processor_sends_what_seed_exporter_sends),
	     T_(py_asyncio_tools_processes_under_own_span),
	     T_(py_threads_processes_under_own_span),
	     T_(py_killed_open_spans_closed_with_error),
	     T_(py_loads_library_when_not_preloaded),
	     T_(py_no_library_says_once),
	     T_(py_direct_path_same_as_export_path),
	     T_(js_agents_sdk_payload_and_tool_process),
	     T_(js_concurrent_runs_processes_under_own_span),
	     T_(js_direct_path_same_as_tojson),
	     T_(js_pending_deprecation_prints_nothing))
