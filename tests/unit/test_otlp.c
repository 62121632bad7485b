/* SPDX-License-Identifier: MIT */
/*
 * The otlp exporter end to end: real spanringd --exporter otlp, real
 * spanring-recv validating every OTLP/JSON request on loopback, spans from
 * real programs under the shim (a process tree, the C API with every
 * Agents SDK span type, DNS and connect) and from the emit helper; and the
 * shape of the official OpenTelemetry JavaScript SDK's exporter beside
 * ours.
 */
#include "tests/lib/harness.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/sidecar.h"

#define WAIT_MS 15000

struct fx {
	char *base, *parents;
	struct sr_sd sd;
	struct sr_recv rv;
	bool rv_on;
	char endpoint[160]; /* OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT */
};

static struct fx F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.base = sr_sd_fixture(&F.sd, "otlp");
	F.parents = sr_strf("%s/parents.json", F.base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_sd_fixture_stop(&F.sd, F.rv_on ? &F.rv : NULL);
	free(F.parents);
	sr_tmpdir_free(F.base);
	return 0;
}

/* The receiver, checking parents across requests, plus `more` args. */
static void recv_on(const char *const *more)
{
	const char *args[16] = { "--otlp-parents", F.parents };
	int n = 2;

	for (int i = 0; more && more[i]; i++)
		args[n++] = more[i];
	args[n] = NULL;
	sr_recv_start(&F.rv, F.base, 0, args);
	F.rv_on = true;
	snprintf(F.endpoint, sizeof(F.endpoint),
		 "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", F.rv.port);
}

/* spanringd --exporter otlp, fast schedule and delays, plus `more`; env
 * gets the receiver's endpoint unless it names its own. */
static void sd_otlp(const char *const *more, const char *const *env)
{
	const char *args[40] = { "--exporter",       "otlp",
				 "--schedule-delay", "0.1",
				 "--base-delay",     "0.05",
				 "--max-delay",      "0.3" };
	const char *e[24];
	int n = 8, k = 0;
	bool own = false;

	for (int i = 0; more && more[i]; i++)
		args[n++] = more[i];
	args[n] = NULL;
	for (int i = 0; env && env[i]; i++) {
		own |= !strncmp(env[i],
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=", 35);
		e[k++] = env[i];
	}
	if (!own)
		e[k++] = F.endpoint;
	e[k] = NULL;
	sr_sd_start(&F.sd, args, e);
}

static long long stat_of(const char *name)
{
	return sr_sd_stat(&F.sd, name);
}

static bool wait_stat(const char *name, long long v, int ms)
{
	return sr_sd_wait_stat(&F.sd, name, v, ms);
}

/* Every request the receiver logged was valid; returns how many. */
static size_t all_requests_valid(void)
{
	size_t n;
	char **l = sr_lines(F.rv.req, &n);

	for (size_t i = 0; i < n; i++)
		if (!strstr(l[i], "\"error_count\":0"))
			fail_msg("invalid OTLP request: %s", l[i]);
	sr_lines_free(l, n);
	return n;
}

static void parents_resolve(void)
{
	char *t = sr_read_file(F.parents, NULL);

	if (!t || !strstr(t, "\"unresolved\":0,"))
		fail_msg("expected every parent received, got %s",
			 t ? t : "(no file)");
	free(t);
}

/* The received spans: {"resource":…,"scope":…,"span":…} per line. */
static cJSON *received(void)
{
	cJSON *all = cJSON_CreateArray();
	size_t n;
	char **l = sr_lines(F.rv.out, &n);

	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]);

		if (!j)
			fail_msg("not JSON: %s", l[i]);
		cJSON_AddItemToArray(all, j);
	}
	sr_lines_free(l, n);
	return all;
}

static const cJSON *span_named(const cJSON *all, const char *name)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, all)
	{
		const cJSON *sp = cJSON_GetObjectItem(x, "span");

		if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sp, "name"))
				    ?: "",
			    name))
			return x;
	}
	fail_msg("no span named '%s' among %d", name, cJSON_GetArraySize(all));
	return NULL;
}

/* The value of attribute key in an attribute list, as "<field>=<text>"
 * (strings bare, others as JSON), or "" when absent. */
static char *attr_of(const cJSON *list, const char *key)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, list)
	{
		const cJSON *v = cJSON_GetObjectItem(kv, "value");

		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(kv, "key")),
			   key))
			continue;
		if (cJSON_IsString(v->child))
			return sr_strf("%s=%s", v->child->string,
				       v->child->valuestring);
		char *t = cJSON_PrintUnformatted(v->child), *r;

		r = sr_strf("%s=%s", v->child->string, t);
		free(t);
		return r;
	}
	return sr_strf("%s", "");
}

static void expect_attr(const cJSON *x, const char *key, const char *want)
{
	const cJSON *sp = cJSON_GetObjectItem(x, "span");
	char *got = attr_of(cJSON_GetObjectItem(sp, "attributes"), key);

	if (strcmp(got, want))
		fail_msg("span '%s': attribute %s: expected '%s', got '%s'",
			 cJSON_GetStringValue(cJSON_GetObjectItem(sp, "name")),
			 key, want, got);
	free(got);
}

static void expect_res(const cJSON *x, const char *key, const char *want)
{
	char *got = attr_of(cJSON_GetObjectItem(cJSON_GetObjectItem(x,
								    "resource"),
						"attributes"),
			    key);

	if (strcmp(got, want))
		fail_msg("resource %s: expected '%s', got '%s'", key, want,
			 got);
	free(got);
}

static int num(const cJSON *x, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "span"),
					     path1);

	if (path2)
		v = cJSON_GetObjectItem(v, path2);
	return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* --- the mapping -------------------------------------------------------- */

static void otlp_agents_and_process_tree_validate(void **state)
{
	char so[4096], port[16], *pre, *dir, *cmd;
	const char *env[6];
	cJSON *all;
	const cJSON *x;
	int st, processes = 0;

	(void)state;
	if (!realpath(sr_build_path("libspanring.so"), so)) {
		print_message("skipped: the shim is not built\n");
		skip();
	}
	recv_on(NULL);
	sd_otlp(NULL, NULL);
	snprintf(port, sizeof(port), "%d", F.rv.port);
	/* an ASan build of the shim needs its runtime loaded first */
	pre = sr_asan_build()
		      ? sr_strf("LD_PRELOAD=%s:%s", sr_asan_runtime(), so)
		      : sr_strf("LD_PRELOAD=%s", so);
	dir = sr_strf("SPANRING_DIR=%s", F.sd.dir);
	cmd = sr_strf("%s %s; /bin/true", sr_build_path("progs/agents_sdk"),
		      port);
	env[0] = pre;
	env[1] = dir;
	env[2] = "SPANRING_WORKFLOW=tree";
	env[3] = sr_asan_build()
			 ? "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0"
			 : NULL;
	env[4] = NULL;
	st = sr_wait_pid(sr_spawn((const char *[]){ "/bin/sh", "-c", cmd,
						    NULL },
				  env, -1, -1, NULL),
			 WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(sr_wait_contains(F.rv.out,
				     "\"name\":\"invoke_agent Planner\"",
				     WAIT_MS));
	assert_true(wait_stat("rings_removed", 3, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_true(all_requests_valid() >= 1);
	parents_resolve();
	assert_int_equal(sr_count_in_file(F.rv.req, "\"path\":\"/v1/traces\""),
			 sr_count_lines(F.rv.req));
	all = received();

	x = span_named(all, "invoke_agent Planner");
	expect_attr(x, "gen_ai.operation.name", "stringValue=invoke_agent");
	expect_attr(x, "gen_ai.agent.name", "stringValue=Planner");
	expect_attr(x, "gen_ai.provider.name", "stringValue=openai");
	expect_attr(x, "openai.agents.agent.tools",
		    "arrayValue={\"values\":[{\"stringValue\":\"search\"},"
		    "{\"stringValue\":\"scan\"}]}");
	expect_attr(x, "openai.agents.trace.workflow_name",
		    "stringValue=support agent");
	expect_attr(x, "gen_ai.conversation.id",
		    "stringValue=group_0123456789abcdef01234567");
	expect_attr(x, "openai.agents.trace.metadata.user", "stringValue=u1");
	expect_attr(x, "openai.agents.trace.metadata.tier", "intValue=3");
	expect_attr(x, "openai.agents.trace.metadata.beta", "boolValue=true");
	expect_res(x, "service.name", "stringValue=support agent");
	assert_int_equal(num(x, "kind", NULL), 1);
	assert_int_equal(num(x, "status", "code"), 0);

	x = span_named(all, "chat gpt-4o");
	assert_int_equal(num(x, "kind", NULL), 3);
	expect_attr(x, "gen_ai.operation.name", "stringValue=chat");
	expect_attr(x, "gen_ai.request.model", "stringValue=gpt-4o");
	expect_attr(x, "gen_ai.usage.input_tokens", "intValue=12");
	expect_attr(x, "gen_ai.usage.output_tokens", "intValue=34");
	expect_attr(x, "gen_ai.request.temperature", "doubleValue=0.2");
	expect_attr(x, "gen_ai.request.top_p", "doubleValue=1");
	expect_attr(x, "gen_ai.request.max_tokens", "intValue=256");
	expect_attr(x, "gen_ai.input.messages",
		    "stringValue=[{\"role\":\"user\",\"content\":\"hi\"}]");

	x = span_named(all, "chat");
	expect_attr(x, "gen_ai.response.id", "stringValue=resp_123");
	expect_attr(x, "openai.agents.span.type", "stringValue=response");

	x = span_named(all, "execute_tool scan");
	expect_attr(x, "gen_ai.operation.name", "stringValue=execute_tool");
	expect_attr(x, "gen_ai.tool.name", "stringValue=scan");
	expect_attr(x, "gen_ai.tool.call.arguments",
		    "stringValue={\"path\":\"/tmp\"}");
	expect_attr(x, "gen_ai.tool.call.result", "");
	expect_attr(x, "error.type", "stringValue=ENOENT");
	expect_attr(x, "error.data.errno", "intValue=2");
	assert_int_equal(num(x, "status", "code"), 2);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
				    cJSON_GetObjectItem(cJSON_GetObjectItem(x,
									    "span"),
							"status"),
				    "message")),
			    "tool failed");

	x = span_named(all, "handoff Writer");
	expect_attr(x, "openai.agents.handoff.from_agent",
		    "stringValue=Planner");
	x = span_named(all, "guardrail no_secrets");
	expect_attr(x, "openai.agents.guardrail.triggered", "boolValue=false");
	x = span_named(all, "mcp_tools files");
	assert_int_equal(num(x, "kind", NULL), 3);
	expect_attr(x, "mcp.method.name", "stringValue=tools/list");
	x = span_named(all, "checkpoint");
	expect_attr(x, "step", "intValue=2");
	x = span_named(all, "transcription whisper-1");
	expect_attr(x, "gen_ai.request.model", "stringValue=whisper-1");

	x = span_named(all, "connect");
	assert_int_equal(num(x, "kind", NULL), 3);
	expect_attr(x, "server.address", "stringValue=127.0.0.1");
	{
		char *want = sr_strf("intValue=%d", F.rv.port);

		expect_attr(x, "server.port", want);
		free(want);
	}
	expect_attr(x, "network.transport", "stringValue=tcp");
	x = span_named(all, "getaddrinfo");
	assert_int_equal(num(x, "kind", NULL), 3);
	expect_attr(x, "dns.question.name", "stringValue=localhost");

	/* the process tree: its own trace, service.name its workflow */
	cJSON_ArrayForEach(x, all)
	{
		const cJSON *sp = cJSON_GetObjectItem(x, "span");
		char *pid, *args;

		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(sp, "name")),
			   "process"))
			continue;
		processes++;
		pid = attr_of(cJSON_GetObjectItem(sp, "attributes"),
			      "process.pid");
		args = attr_of(cJSON_GetObjectItem(sp, "attributes"),
			       "process.command_args");
		if (strncmp(pid, "intValue=", 9) ||
		    strncmp(args, "arrayValue=", 11))
			fail_msg("process span: process.pid '%s', command_args '%s'",
				 pid, args);
		free(pid);
		free(args);
		expect_res(x, "service.name", "stringValue=tree");
	}
	assert_true(processes >= 3);
	{
		char hn[256] = "", *want;

		gethostname(hn, sizeof(hn) - 1);
		want = sr_strf("stringValue=%s", hn);
		expect_res(span_named(all, "spawn"), "host.name", want);
		/* an SDK span's identity comes from its trace's metadata */
		expect_res(span_named(all, "invoke_agent Planner"), "host.name",
			   want);
		free(want);
	}
	cJSON_Delete(all);
	free(pre);
	free(dir);
	free(cmd);
}

/* --- configuration ------------------------------------------------------ */

static void otlp_gzip_and_lz4_bodies(void **state)
{
	const char *spans[] = { "--spans", "10", NULL };
	const char *env[] = { "OTEL_EXPORTER_OTLP_COMPRESSION=gzip", NULL };

	(void)state;
	recv_on(NULL);
	sd_otlp(NULL, env);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 11, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"content-encoding\":\"gzip\""),
			 sr_count_lines(F.rv.req));
	/* the flag wins over the variable */
	sd_otlp((const char *[]){ "--otlp-compression", "lz4", NULL }, env);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 22, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_true(sr_count_in_file(F.rv.req,
				     "\"content-encoding\":\"lz4\"") >= 1);
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"content-encoding\":\"gzip\"") +
				 sr_count_in_file(F.rv.req,
						  "\"content-encoding\":\"lz4\""),
			 sr_count_lines(F.rv.req));
	all_requests_valid();
	parents_resolve();
	assert_int_equal(sr_count_lines(F.rv.out), 22);
}

static void otlp_endpoint_headers_resource_from_environment(void **state)
{
	const char *spans[] = { "--spans", "3", NULL };
	char *ep;
	cJSON *all;
	const cJSON *x;

	(void)state;
	/* the receiver serves OTLP at that path only: a request to any
	 * other (the endpoint with /v1/traces appended) would be a 404 */
	recv_on((const char *[]){ "--otlp-path", "/collector/traces", NULL });
	ep = sr_strf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:%d/collector/traces",
		     F.rv.port);
	sd_otlp(NULL,
		(const char *[]){
			ep,
			"OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20tok%3D,x-tenant=a",
			"OTEL_EXPORTER_OTLP_TRACES_HEADERS=x-tenant=b",
			"OTEL_SERVICE_NAME=checkout",
			"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test,team=a%2Cb",
			NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 4, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	all_requests_valid();
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"path\":\"/collector/traces\""),
			 sr_count_lines(F.rv.req));
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"authorization\":\"Bearer tok=\""),
			 sr_count_lines(F.rv.req));
	assert_int_equal(sr_count_in_file(F.rv.req, "\"x-tenant\":\"b\""),
			 sr_count_lines(F.rv.req));
	assert_int_equal(sr_count_in_file(F.rv.req,
					  "\"content-type\":\"application/json\""),
			 sr_count_lines(F.rv.req));
	all = received();
	x = cJSON_GetArrayItem(all, 0);
	expect_res(x, "service.name", "stringValue=checkout");
	expect_res(x, "deployment.environment", "stringValue=test");
	expect_res(x, "team", "stringValue=a,b");
	cJSON_Delete(all);
	free(ep);
}

static void otlp_bad_variables_exit_78(void **state)
{
	const char *bad[] = { "OTEL_EXPORTER_OTLP_COMPRESSION=brotli",
			      "OTEL_EXPORTER_OTLP_HEADERS=novalue",
			      "OTEL_EXPORTER_OTLP_TIMEOUT=-5",
			      "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=many" };
	char *d = sr_strf("--dir=%s", F.base);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { sr_build_path("spanringd"), "--exporter",
				       "otlp", d, NULL };
		const char *env[] = { bad[i], NULL };
		int st = sr_wait_pid(sr_spawn(argv, env, -1, -1, NULL),
				     WAIT_MS);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 78)
			fail_msg("%s: expected exit 78, got status %d", bad[i],
				 st);
	}
	{
		const char *argv[] = { sr_build_path("spanringd"),
				       "--exporter",
				       "otlp",
				       "--otlp-endpoint",
				       "ftp://x",
				       d,
				       NULL };
		int st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, NULL),
				     WAIT_MS);

		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 64);
	}
	free(d);
}

static void otlp_attribute_limits_counted(void **state)
{
	const char *spans[] = {
		"--spans", "1", "--data",
		"{\"a\":\"abcdefgh\",\"b\":\"ééééé\",\"c\":3,\"d\":4,\"e\":5}",
		NULL
	};
	cJSON *all;
	const cJSON *x;

	(void)state;
	recv_on(NULL);
	sd_otlp(NULL,
		(const char *[]){ "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=4",
				  "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=3", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	all_requests_valid();
	all = received();
	cJSON_ArrayForEach(x, all)
	{
		const cJSON *sp = cJSON_GetObjectItem(x, "span");
		char *a = attr_of(cJSON_GetObjectItem(sp, "attributes"), "a");

		if (!strcmp(a, "")) {
			free(a);
			continue; /* the process span */
		}
		assert_string_equal(a, "stringValue=abcd");
		expect_attr(x, "b", "stringValue=éééé");
		expect_attr(x, "c", "intValue=3");
		expect_attr(x, "d", "");
		assert_int_equal(cJSON_GetArraySize(
					 cJSON_GetObjectItem(sp, "attributes")),
				 3);
		/* d, e and the trace's workflow name */
		assert_int_equal(num(x, "droppedAttributesCount", NULL), 3);
		free(a);
	}
	cJSON_Delete(all);
}

static void otlp_batches_split_under_body_limit(void **state)
{
	const char *spans[] = { "--spans", "40", NULL };
	size_t n;
	char **l;

	(void)state;
	recv_on(NULL);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_otlp((const char *[]){ "--otlp-max-body", "4096", NULL }, NULL);
	assert_true(sr_wait_lines(F.rv.out, 41, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	all_requests_valid();
	parents_resolve();
	l = sr_lines(F.rv.req, &n);
	assert_true(n >= 4);
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_Parse(l[i]);
		int bytes = cJSON_GetObjectItem(j, "bytes")->valueint;

		if (bytes > 4096)
			fail_msg("request of %d bytes over the 4096 limit",
				 bytes);
		cJSON_Delete(j);
	}
	sr_lines_free(l, n);
	assert_int_equal(sr_count_lines(F.rv.out), 41);
}

/* --- retries --------------------------------------------------------------- */

static void otlp_retries_429_502_503_504_and_lost_connections(void **state)
{
	const char *spans[] = { "--spans", "5", NULL };

	(void)state;
	recv_on((const char *[]){ "--drop-connections", "1", "--status-seq",
				  "200,503,429,502,504", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_otlp((const char *[]){ "--max-retries", "6", NULL }, NULL);
	assert_true(sr_wait_lines(F.rv.out, 6, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.req), 6);
	assert_int_equal(sr_count_lines(F.rv.out), 6);
	assert_int_equal(stat_of("exports_retried"), 5);
	assert_int_equal(stat_of("dead_lettered"), 0);
}

static void otlp_400_and_500_are_final(void **state)
{
	const char *spans[] = { "--spans", "2", NULL };

	(void)state;
	recv_on((const char *[]){ "--status-seq", "400,500", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_otlp(NULL, NULL);
	assert_true(wait_stat("dead_lettered", 3, WAIT_MS));
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(wait_stat("dead_lettered", 6, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	/* one request each, no retry, every span in the dead-letter file */
	assert_int_equal(sr_count_lines(F.rv.req), 2);
	assert_int_equal(stat_of("exports_retried"), 0);
	assert_int_equal(sr_count_lines(F.sd.dead), 6);
	assert_int_equal(sr_count_in_file(F.sd.dead, "{\"status\":400,"), 3);
	assert_int_equal(sr_count_in_file(F.sd.dead, "{\"status\":500,"), 3);
	assert_int_equal(sr_count_in_file(F.sd.dead,
					  "\"object\":\"trace.span\""),
			 6);
}

static void otlp_retry_after_within_max_delay(void **state)
{
	const char *spans[] = { "--spans", "2", NULL };
	long long t0;

	(void)state;
	/* an hour asked for: max_delay (0.3 s) is what is waited */
	recv_on((const char *[]){ "--status-seq", "429,503", "--retry-after",
				  "3600", NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	t0 = sr_ms();
	sd_otlp(NULL, NULL);
	assert_true(sr_wait_lines(F.rv.out, 3, WAIT_MS));
	print_message("delivered after %lld ms\n", sr_ms() - t0);
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(sr_count_lines(F.rv.req), 3);
}

static void otlp_partial_success_counted(void **state)
{
	const char *spans[] = { "--spans", "4", "--mark", "reject-me", NULL };

	(void)state;
	recv_on((const char *[]){ "--otlp-reject-spans-matching", "reject-me",
				  NULL });
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_otlp(NULL, NULL);
	assert_true(wait_stat("spans_rejected", 1, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	assert_int_equal(stat_of("spans_rejected"), 1);
	assert_int_equal(stat_of("dead_lettered"), 0);
	assert_int_equal(sr_count_lines(F.rv.out), 4);
	assert_true(sr_count_in_file(F.sd.log,
				     "partial success, 1 spans rejected") == 1);
}

static void otlp_outage_then_sigkill_loses_nothing(void **state)
{
	const char *spans[] = { "--spans", "20", NULL };
	size_t n;
	cJSON *all;
	const cJSON *x;

	(void)state;
	/* the receiver answers 503 forever: the spool keeps everything */
	recv_on((const char *[]){ "--status-seq", "503", "--cycle", NULL });
	for (int i = 0; i < 3; i++)
		assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	sd_otlp(NULL, NULL);
	assert_true(wait_stat("exports_failed", 1, WAIT_MS));
	kill(F.sd.pid, SIGKILL);
	sr_wait_pid(F.sd.pid, WAIT_MS);
	F.sd.pid = 0;
	sr_recv_free(&F.rv);
	F.rv_on = false;
	recv_on(NULL);
	sd_otlp(NULL, NULL);
	assert_true(sr_wait_lines(F.rv.out, 63, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	all_requests_valid();
	parents_resolve();
	all = received();
	n = 0;
	cJSON_ArrayForEach(x, all)
	{
		const char *id = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(x, "span"),
					    "spanId"));
		const cJSON *y;
		bool dup = false;

		cJSON_ArrayForEach(y, all)
		{
			if (y == x)
				break;
			dup |= !strcmp(id,
				       cJSON_GetStringValue(cJSON_GetObjectItem(
					       cJSON_GetObjectItem(y, "span"),
					       "spanId")));
		}
		n += !dup;
	}
	assert_int_equal(n, 63);
	/* the traces were remembered after the restart: their spans carry
	 * the workflow name */
	cJSON_ArrayForEach(x, all)
		expect_attr(x, "openai.agents.trace.workflow_name",
			    "stringValue=emit");
	cJSON_Delete(all);
}

/* --- the JavaScript SDK beside us ------------------------------------------ */

/* The versions compared with (pinned: the shape is what is tested). */
#define JS_PACKAGES                                                      \
	"@opentelemetry/api@1.9.1 @opentelemetry/sdk-trace-base@2.12.1 " \
	"@opentelemetry/resources@2.12.1 "                               \
	"@opentelemetry/exporter-trace-otlp-http@0.223.1"

/* Type letter of a JSON value: s(tring) n(umber) b(ool) a(rray) o(bject). */
static char kind_of(const cJSON *v)
{
	return cJSON_IsString(v)   ? 's'
	       : cJSON_IsNumber(v) ? 'n'
	       : cJSON_IsBool(v)   ? 'b'
	       : cJSON_IsArray(v)  ? 'a'
	       : cJSON_IsObject(v) ? 'o'
				   : '?';
}

/* "key:type,key:type,…" of an object, in order. */
static char *shape(const cJSON *o)
{
	char buf[1024] = "";
	const cJSON *c;
	size_t n = 0;

	for (c = o ? o->child : NULL; c; c = c->next)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s:%c",
				      n ? "," : "", c->string, kind_of(c));
	return sr_strf("%s", buf);
}

static void same_shape(const char *what, const cJSON *js, const cJSON *ours)
{
	char *a = shape(js), *b = shape(ours);

	if (strcmp(a, b))
		fail_msg("%s: JS SDK {%s}, spanring {%s}", what, a, b);
	free(a);
	free(b);
}

static const cJSON *js_span(const cJSON *body, bool with_parent)
{
	const cJSON *sp;

	cJSON_ArrayForEach(
		sp,
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(
				cJSON_GetObjectItem(
					cJSON_GetArrayItem(cJSON_GetObjectItem(
								   body,
								   "resourceSpans"),
							   0),
					"scopeSpans"),
				0),
			"spans")) if (!!cJSON_GetObjectItem(sp,
							    "parentSpanId") ==
				      with_parent) return sp;
	fail_msg("JS SDK body without the expected span");
	return NULL;
}

/* The value object of attribute key. */
static const cJSON *value_of(const cJSON *span, const char *key)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, cJSON_GetObjectItem(span, "attributes")) if (
		!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(kv, "key")),
			key)) return cJSON_GetObjectItem(kv, "value");
	fail_msg("no attribute %s", key);
	return NULL;
}

static char *js_body(void)
{
	char *mods = sr_strf("%s/otlp-js", sr_build_path("."));
	char *nm =
		sr_strf("%s/node_modules/@opentelemetry/exporter-trace-otlp-http",
			mods);
	char *cmd, *out = sr_strf("%s/js-body.json", F.base), *body;
	struct stat st;

	if (system("command -v node >/dev/null && command -v npm >/dev/null")) {
		print_message(
			"skipped: node and npm are not installed (make deps installs "
			"them)\n");
		skip();
	}
	if (stat(nm, &st)) {
		cmd = sr_strf("mkdir -p %s && cd %s && timeout 90 npm install --no-audit "
			      "--no-fund --loglevel=error " JS_PACKAGES
			      " >npm.log 2>&1",
			      mods, mods);
		if (system(cmd)) {
			print_message("skipped: the npm registry is unreachable or refused "
				      "the install (see %s/npm.log)\n",
				      mods);
			free(cmd);
			skip();
		}
		free(cmd);
	}
	cmd = sr_strf(
		"NODE_PATH=%s/node_modules timeout 60 node tests/js/otlp_shape.js > %s",
		mods, out);
	assert_int_equal(system(cmd), 0);
	body = sr_read_file(out, NULL);
	assert_non_null(body);
	free(cmd);
	free(out);
	free(nm);
	free(mods);
	return body;
}

static void otlp_shape_matches_js_sdk(void **state)
{
	const char *spans[] = {
		"--spans",
		"1",
		"--no-end",
		"--data",
		"{\"s\":\"x\",\"i\":42,\"d\":0.5,\"b\":true,\"a\":[\"p\",\"q\"]}",
		NULL
	};
	char *text = js_body();
	cJSON *js = cJSON_Parse(text), *all;
	const cJSON *ours_root = NULL, *ours_child = NULL, *x;

	(void)state;
	assert_non_null(js);
	recv_on(NULL);
	sd_otlp(NULL, NULL);
	assert_int_equal(sr_emit(F.sd.dir, spans), 0);
	assert_true(sr_wait_lines(F.rv.out, 2, WAIT_MS));
	assert_int_equal(sr_sd_stop(&F.sd, SIGTERM, 10000), 0);
	all_requests_valid();
	all = received();
	cJSON_ArrayForEach(x, all)
	{
		const cJSON *sp = cJSON_GetObjectItem(x, "span");

		if (cJSON_GetObjectItem(sp, "parentSpanId"))
			ours_child = x;
		else
			ours_root = x;
	}
	assert_non_null(ours_root);
	assert_non_null(ours_child);
	/* envelope */
	same_shape(
		"resource",
		cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(js,
							       "resourceSpans"),
					   0),
			"resource"),
		cJSON_GetObjectItem(ours_root,
				    "resource") /* extra keys? no: same two */);
	same_shape("scope",
		   cJSON_GetObjectItem(
			   cJSON_GetArrayItem(
				   cJSON_GetObjectItem(
					   cJSON_GetArrayItem(
						   cJSON_GetObjectItem(
							   js, "resourceSpans"),
						   0),
					   "scopeSpans"),
				   0),
			   "scope"),
		   cJSON_GetObjectItem(ours_root, "scope"));
	/* spans: field names, order and JSON types; status with an error */
	same_shape("root span", js_span(js, false),
		   cJSON_GetObjectItem(ours_root, "span"));
	same_shape("child span", js_span(js, true),
		   cJSON_GetObjectItem(ours_child, "span"));
	same_shape("error status",
		   cJSON_GetObjectItem(js_span(js, true), "status"),
		   cJSON_GetObjectItem(cJSON_GetObjectItem(ours_root, "span"),
				       "status"));
	same_shape("ok status",
		   cJSON_GetObjectItem(js_span(js, false), "status"),
		   cJSON_GetObjectItem(cJSON_GetObjectItem(ours_child, "span"),
				       "status"));
	/* attribute values: the same AnyValue fields */
	{
		const char *keys[] = { "s", "d", "b", "a" };
		const cJSON *jr = js_span(js, false),
			    * or = cJSON_GetObjectItem(ours_child, "span");

		for (int i = 0; i < 4; i++)
			same_shape(keys[i], value_of(jr, keys[i]),
				   value_of(or, keys[i]));
		same_shape("array values",
			   cJSON_GetObjectItem(value_of(jr, "a"), "arrayValue"),
			   cJSON_GetObjectItem(value_of(or, "a"),
					       "arrayValue"));
		/* the one difference, on purpose: the JS SDK writes intValue
		 * as a JSON number, spanring as the protobuf JSON mapping's
		 * canonical decimal string (parsers accept both) */
		assert_true(cJSON_IsNumber(
			cJSON_GetObjectItem(value_of(jr, "i"), "intValue")));
		assert_string_equal(cJSON_GetStringValue(
					    cJSON_GetObjectItem(value_of(or,
									 "i"),
								"intValue")),
				    "42");
	}
	cJSON_Delete(all);
	cJSON_Delete(js);
	free(text);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

SR_TEST_MAIN(T(otlp_agents_and_process_tree_validate),
	     T(otlp_gzip_and_lz4_bodies),
	     T(otlp_endpoint_headers_resource_from_environment),
	     T(otlp_bad_variables_exit_78), T(otlp_attribute_limits_counted),
	     T(otlp_batches_split_under_body_limit),
	     T(otlp_retries_429_502_503_504_and_lost_connections),
	     T(otlp_400_and_500_are_final),
	     T(otlp_retry_after_within_max_delay),
	     T(otlp_partial_success_counted),
	     T(otlp_outage_then_sigkill_loses_nothing),
	     T(otlp_shape_matches_js_sdk))
