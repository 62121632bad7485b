/* SPDX-License-Identifier: MIT */
/*
 * The test receiver (spanring-recv) itself: strict options, its routes
 * (OpenAI ingest, OTLP and its path), the ingest rules' 400, fault
 * headers, the body limit, chunked bodies. Requests are sent with libcurl to the
 * real receiver on loopback; the answers and its request log are checked.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sysexits.h>

#include "tests/lib/harness.h"
#include "tests/lib/sidecar.h"

#define TRACE_ITEM                                                                 \
	"{\"object\":\"trace\",\"id\":\"trace_0123456789abcdef0123456789abcdef\"," \
	"\"workflow_name\":\"w\",\"group_id\":null,\"metadata\":null}"

#define SPAN_ITEM(span_data)                                                         \
	"{\"object\":\"trace.span\",\"id\":\"span_0123456789abcdef01234567\","       \
	"\"trace_id\":\"trace_0123456789abcdef0123456789abcdef\","                   \
	"\"parent_id\":null,\"started_at\":\"2026-01-02T03:04:05.000006+00:00\","    \
	"\"ended_at\":\"2026-01-02T03:04:05.000007+00:00\",\"span_data\":" span_data \
	",\"error\":null}"

/* One span, valid OTLP/JSON with a service.name. */
#define OTLP_BODY                                                               \
	"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"          \
	"\"service.name\",\"value\":{\"stringValue\":\"t\"}}]},\"scopeSpans\":" \
	"[{\"scope\":{\"name\":\"s\"},\"spans\":[{\"traceId\":"                 \
	"\"0123456789abcdef0123456789abcdef\",\"spanId\":\"0123456789abcdef\"," \
	"\"name\":\"n\",\"kind\":1,\"startTimeUnixNano\":\"1\","                \
	"\"endTimeUnixNano\":\"2\"}]}]}]}"

struct answer {
	long status;
	char body[2048];
	size_t len;
	char headers[2048]; /* the answer's header lines */
	size_t hlen;
};

/* Appends what fits of p[0..k) to dst (cap bytes, NUL-terminated). */
static void keep(char *dst, size_t cap, size_t *len, const char *p, size_t k)
{
	if (k > cap - 1 - *len)
		k = cap - 1 - *len;
	memcpy(dst + *len, p, k);
	*len += k;
	dst[*len] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;

	keep(a->headers, sizeof(a->headers), &a->hlen, p, size * n);
	return size * n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;

	keep(a->body, sizeof(a->body), &a->len, p, size * n);
	return size * n;
}

/* Sends method to path with body (NULL: none); chunked sends it without
 * a Content-Length. */
static void request(const struct sr_recv *r, const char *method,
		    const char *path, const char *body, bool chunked,
		    struct answer *a)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char *url = sr_strf("http://127.0.0.1:%d%s", r->port, path);
	CURLcode rc;

	assert_non_null(c);
	memset(a, 0, sizeof(*a));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		if (chunked)
			h = curl_slist_append(h, "Transfer-Encoding: chunked");
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
}

/* The request log's line i contains every needle (NULL-terminated). */
static void assert_logged(const struct sr_recv *r, size_t i,
			  const char *const *needles)
{
	char **l;
	size_t n;

	if (!sr_wait_lines(r->req, i + 1, 10000))
		fail_msg("request log has %zu lines, expected at least %zu",
			 sr_count_lines(r->req), i + 1);
	l = sr_lines(r->req, &n);
	for (const char *const *s = needles; *s; s++)
		if (!strstr(l[i], *s))
			fail_msg("request %zu: expected \"%s\" in\n%s", i, *s,
				 l[i]);
	sr_lines_free(l, n);
}

/* Runs spanring-recv with args; returns its exit code, its stderr in
 * *err (heap). */
static int run_recv(const char *dir, const char *const *args, char **err)
{
	const char *argv[16] = { sr_build_path("spanring-recv") };
	char *err_path = sr_strf("%s/recv-err.txt", dir);
	int n = 1, st;
	pid_t pid;

	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	unlink(err_path);
	pid = sr_spawn(argv, NULL, -1, -1, err_path);
	st = sr_wait_pid(pid, 10000);
	if (st < 0 || !WIFEXITED(st))
		fail_msg("spanring-recv %s: did not exit (status %d)", args[0],
			 st);
	*err = sr_read_file(err_path, NULL);
	if (!*err)
		*err = strdup("");
	free(err_path);
	return WEXITSTATUS(st);
}

static void recv_rejects_malformed_numbers(void **state)
{
	static const char *const bad[][3] = {
		{ "--port", "abc" },
		{ "--port", "70000" },
		{ "--port", " 5" },
		{ "--port", "-1" },
		{ "--port", "5x" },
		{ "--delay-ms", "" },
		{ "--max-body", "0" },
		{ "--drop-connections", "1.5" },
		{ "--status-seq", "500,,500" },
		{ "--status-seq", "99" },
		{ "--status-seq", "503," },
	};
	char *dir = sr_tmpdir("recv");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err;
		int rc = run_recv(dir, bad[i], &err);

		printf("%s '%s' -> exit %d: %s", bad[i][0], bad[i][1], rc, err);
		assert_int_equal(rc, EX_USAGE);
		if (!strstr(err, bad[i][0]))
			fail_msg("stderr does not name %s:\n%s", bad[i][0],
				 err);
		free(err);
	}
	sr_tmpdir_free(dir);
}

static void recv_rejects_malformed_values(void **state)
{
	static const char *const bad[][3] = {
		{ "--fault-header", "no colon" },
		{ "--fault-header", ": value" },
		{ "--fault-header", "two words: value" },
		{ "--fault-header", "x-a: 1\r\nx-injected: 1" },
		{ "--otlp-path", "v1/traces" },
		{ "--otlp-path", "/v1/traces/ingest" },
		{ "--otlp-reject-spans-matching", "" },
		{ "--otlp-parents", "" },
	};
	static const char *const five[] = {
		"--fault-header",
		"a: 1",
		"--fault-header",
		"b: 1",
		"--fault-header",
		"c: 1",
		"--fault-header",
		"d: 1",
		"--fault-header",
		"e: 1",
		NULL,
	};
	char *dir = sr_tmpdir("recv"), *err;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = run_recv(dir, bad[i], &err);
		printf("%s '%s' -> exit %d: %s", bad[i][0], bad[i][1], rc, err);
		assert_int_equal(rc, EX_USAGE);
		if (!strstr(err, bad[i][0]))
			fail_msg("stderr does not name %s:\n%s", bad[i][0],
				 err);
		free(err);
	}
	rc = run_recv(dir, five, &err);
	printf("five --fault-header -> exit %d: %s", rc, err);
	assert_int_equal(rc, EX_USAGE);
	free(err);
	sr_tmpdir_free(dir);
}

static void recv_rejects_unknown_options_and_arguments(void **state)
{
	static const char *const bad[][3] = {
		{ "--bogus" },
		{ "stray" },
		{ "--port" },
		{ "--output" },
	};
	char *dir = sr_tmpdir("recv");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err;
		int rc = run_recv(dir, bad[i], &err);

		printf("%s -> exit %d: %s", bad[i][0], rc, err);
		assert_int_equal(rc, EX_USAGE);
		free(err);
	}
	sr_tmpdir_free(dir);
}

static void recv_help_lists_every_option(void **state)
{
	static const char *const opts[] = {
		"--port",
		"--output",
		"--requests",
		"--status-seq",
		"--cycle",
		"--delay-ms",
		"--retry-after",
		"--drop-connections",
		"--blackhole",
		"--reject-items-matching",
		"--max-body",
		"--help",
		"--fault-header",
		"--otlp-path",
		"--otlp-reject-spans-matching",
		"--otlp-parents",
	};
	const char *argv[] = { sr_build_path("spanring-recv"), "--help", NULL };
	char *dir = sr_tmpdir("recv"), *out_path, *out;
	int fd, st;

	(void)state;
	out_path = sr_strf("%s/help.txt", dir);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	sr_assert_cmp(fd, >=, 0);
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, fd, NULL), 10000);
	close(fd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	out = sr_read_file(out_path, NULL);
	assert_non_null(out);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strstr(out, opts[i]))
			fail_msg("--help does not list %s:\n%s", opts[i], out);
	free(out);
	free(out_path);
	sr_tmpdir_free(dir);
}

static void recv_refuses_unknown_path_and_method(void **state)
{
	char *dir = sr_tmpdir("recv");
	struct sr_recv r;
	struct answer a;

	(void)state;
	sr_recv_start(&r, dir, 0, NULL);
	request(&r, "POST", "/v1/other", "{\"data\":[]}", false, &a);
	assert_int_equal(a.status, 404);
	request(&r, "GET", "/v1/traces/ingest", NULL, false, &a);
	assert_int_equal(a.status, 405);
	request(&r, "POST", "/v1/traces/ingest", "{\"data\":[" TRACE_ITEM "]}",
		false, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{}");
	assert_logged(&r, 0,
		      (const char *const[]){ "\"path\":\"/v1/other\"",
					     "\"status\":404", NULL });
	assert_logged(&r, 1,
		      (const char *const[]){ "\"method\":\"GET\"",
					     "\"status\":405", NULL });
	assert_logged(&r, 2,
		      (const char *const[]){ "\"status\":200", "\"items\":1",
					     "\"error_count\":0", NULL });
	assert_int_equal(sr_count_lines(r.out), 1);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

static void recv_body_over_limit_refused(void **state)
{
	const char *args[] = { "--max-body", "64", NULL };
	char *dir = sr_tmpdir("recv");
	char body[200];
	struct sr_recv r;
	struct answer a;

	(void)state;
	memset(body, ' ', sizeof(body) - 1);
	memcpy(body, "{\"data\":[]}", 11);
	body[sizeof(body) - 1] = 0;
	sr_recv_start(&r, dir, 0, args);
	request(&r, "POST", "/v1/traces/ingest", body, false, &a);
	assert_int_equal(a.status, 400);
	if (!strstr(a.body, "body too large"))
		fail_msg("expected \"body too large\" in %s", a.body);
	assert_logged(&r, 0,
		      (const char *const[]){ "\"status\":400",
					     "body over 64 bytes", NULL });
	/* the same limit holds for a body without a Content-Length */
	request(&r, "POST", "/v1/traces/ingest", body, true, &a);
	assert_int_equal(a.status, 400);
	assert_int_equal(sr_count_lines(r.out), 0);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

static void recv_chunked_body_accepted(void **state)
{
	char *dir = sr_tmpdir("recv");
	struct sr_recv r;
	struct answer a;
	char *items;

	(void)state;
	sr_recv_start(&r, dir, 0, NULL);
	request(&r, "POST", "/v1/traces/ingest", "{\"data\":[" TRACE_ITEM "]}",
		true, &a);
	assert_int_equal(a.status, 200);
	assert_logged(&r, 0,
		      (const char *const[]){
			      "\"transfer-encoding\":\"chunked\"",
			      "\"items\":1", NULL });
	items = sr_read_file(r.out, NULL);
	assert_non_null(items);
	assert_string_equal(items, TRACE_ITEM "\n");
	free(items);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

/* The header of `name` in the answer's header lines, or NULL. */
static const char *answer_header(const struct answer *a, const char *name)
{
	for (const char *p = a->headers; p && *p;) {
		if (!strncasecmp(p, name, strlen(name)) &&
		    p[strlen(name)] == ':')
			return p;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

static void recv_fault_header_only_on_errors(void **state)
{
	const char *args[] = { "--status-seq",
			       "503,200,400",
			       "--fault-header",
			       "x-should-retry:   false",
			       "--fault-header",
			       "retry-after-ms: 300",
			       NULL };
	const char *body = "{\"data\":[" TRACE_ITEM "]}";
	char *dir = sr_tmpdir("recv");
	const char *h;
	struct sr_recv r;
	struct answer a;

	(void)state;
	sr_recv_start(&r, dir, 0, args);
	request(&r, "POST", "/v1/traces/ingest", body, false, &a);
	assert_int_equal(a.status, 503);
	h = answer_header(&a, "x-should-retry");
	if (!h || strncmp(h, "x-should-retry: false\r\n", 23))
		fail_msg("503: expected \"x-should-retry: false\" in\n%s",
			 a.headers);
	if (!answer_header(&a, "retry-after-ms"))
		fail_msg("503: expected retry-after-ms in\n%s", a.headers);
	request(&r, "POST", "/v1/traces/ingest", body, false, &a);
	assert_int_equal(a.status, 200);
	if (answer_header(&a, "x-should-retry") ||
	    answer_header(&a, "retry-after-ms"))
		fail_msg("200: expected no fault header in\n%s", a.headers);
	request(&r, "POST", "/v1/traces/ingest", body, false, &a);
	assert_int_equal(a.status, 400);
	if (!answer_header(&a, "x-should-retry"))
		fail_msg("400: expected x-should-retry in\n%s", a.headers);
	/* only the 2xx answer's items are written */
	assert_int_equal(sr_count_lines(r.out), 1);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

/* The answer body's error.param and error.code, checked as parsed JSON. */
static void assert_error(const struct answer *a, const char *param,
			 const char *code)
{
	cJSON *j = cJSON_Parse(a->body);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *p = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(e, "param"));
	const char *c = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(e, "code"));

	if (!p || !c || strcmp(p, param) || strcmp(c, code))
		fail_msg("expected error param \"%s\" code \"%s\", got %s",
			 param, code, a->body);
	cJSON_Delete(j);
}

static void recv_ingest_rules_answer_400(void **state)
{
	char *dir = sr_tmpdir("recv"), *big = malloc(100100), *body;
	struct sr_recv r;
	struct answer a;

	(void)state;
	assert_non_null(big);
	sr_recv_start(&r, dir, 0, NULL);
	/* usage: input_tokens, output_tokens and a details object only */
	request(&r, "POST", "/v1/traces/ingest",
		"{\"data\":[" TRACE_ITEM "," SPAN_ITEM(
			"{\"type\":\"generation\",\"usage\":{\"input_tokens\":1,"
			"\"details\":{\"x\":1},\"total_tokens\":2}}") "]}",
		false, &a);
	assert_int_equal(a.status, 400);
	assert_error(&a, "data[1].span_data.usage.total_tokens",
		     "unknown_parameter");
	/* a member name that needs escaping still gives a JSON answer */
	request(&r, "POST", "/v1/traces/ingest",
		"{\"data\":[" SPAN_ITEM(
			"{\"type\":\"generation\",\"usage\":{\"a\\\"b\\\\\":1}}") "]}",
		false, &a);
	assert_int_equal(a.status, 400);
	assert_error(&a, "data[0].span_data.usage.a\"b\\", "unknown_parameter");
	/* input over 100,000 bytes as sent */
	memset(big, 'x', 100001);
	big[100001] = 0;
	body = sr_strf(
		"{\"data\":[" SPAN_ITEM(
			"{\"type\":\"function\",\"name\":\"f\",\"input\":\"%s\"}") "]}",
		big);
	request(&r, "POST", "/v1/traces/ingest", body, false, &a);
	assert_int_equal(a.status, 400);
	assert_error(&a, "data[0].span_data.input", "unknown_parameter");
	assert_logged(&r, 2,
		      (const char *const[]){ "\"status\":400",
					     "refused by the ingest rules",
					     NULL });
	/* within the rules: accepted */
	request(&r, "POST", "/v1/traces/ingest",
		"{\"data\":[" SPAN_ITEM(
			"{\"type\":\"generation\",\"usage\":{\"input_tokens\":1,"
			"\"output_tokens\":2}}") "]}",
		false, &a);
	assert_int_equal(a.status, 200);
	assert_int_equal(sr_count_lines(r.out), 1);
	free(body);
	free(big);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

static void recv_otlp_endpoint_and_its_path(void **state)
{
	const char *args[] = { "--otlp-path", "/collector/traces", NULL };
	char *dir = sr_tmpdir("recv"), *items;
	struct sr_recv r;
	struct answer a;

	(void)state;
	sr_recv_start(&r, dir, 0, NULL);
	request(&r, "POST", "/v1/traces", OTLP_BODY, false, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{}");
	assert_logged(&r, 0,
		      (const char *const[]){ "\"path\":\"/v1/traces\"",
					     "\"items\":1", "\"error_count\":0",
					     NULL });
	items = sr_read_file(r.out, NULL);
	assert_non_null(items);
	if (strncmp(items, "{\"resource\":{\"attributes\":", 26) ||
	    !strstr(items, ",\"span\":{\"traceId\":"))
		fail_msg("expected a {resource, scope, span} line, got %s",
			 items);
	free(items);
	/* an OpenAI body is no OTLP request */
	request(&r, "POST", "/v1/traces", "{\"data\":[]}", false, &a);
	assert_int_equal(a.status, 400);
	sr_recv_free(&r);

	sr_recv_start(&r, dir, 0, args);
	request(&r, "POST", "/v1/traces", OTLP_BODY, false, &a);
	assert_int_equal(a.status, 404);
	request(&r, "POST", "/collector/traces", OTLP_BODY, false, &a);
	assert_int_equal(a.status, 200);
	request(&r, "POST", "/v1/traces/ingest", "{\"data\":[" TRACE_ITEM "]}",
		false, &a);
	assert_int_equal(a.status, 200);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(recv_rejects_malformed_numbers),
	     cmocka_unit_test(recv_rejects_malformed_values),
	     cmocka_unit_test(recv_rejects_unknown_options_and_arguments),
	     cmocka_unit_test(recv_help_lists_every_option),
	     cmocka_unit_test(recv_refuses_unknown_path_and_method),
	     cmocka_unit_test(recv_body_over_limit_refused),
	     cmocka_unit_test(recv_chunked_body_accepted),
	     cmocka_unit_test(recv_fault_header_only_on_errors),
	     cmocka_unit_test(recv_ingest_rules_answer_400),
	     cmocka_unit_test(recv_otlp_endpoint_and_its_path))
