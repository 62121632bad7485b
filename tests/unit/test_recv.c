/* SPDX-License-Identifier: MIT */
/*
 * The test receiver (spanring-recv) itself: strict options, its routes,
 * the body limit, chunked bodies. Requests are sent with libcurl to the
 * real receiver on loopback; the answers and its request log are checked.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sysexits.h>

#include "tests/lib/harness.h"
#include "tests/lib/sidecar.h"

#define TRACE_ITEM                                                           \
	"{\"object\":\"trace\",\"id\":\"trace_0123456789abcdef0123456789abcdef\"," \
	"\"workflow_name\":\"w\",\"group_id\":null,\"metadata\":null}"

struct answer {
	long status;
	char body[2048];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t k = size * n;

	if (k > sizeof(a->body) - 1 - a->len)
		k = sizeof(a->body) - 1 - a->len;
	memcpy(a->body + a->len, p, k);
	a->len += k;
	a->body[a->len] = 0;
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
		{ "--port", "abc" },	  { "--port", "70000" },
		{ "--port", " 5" },	  { "--port", "-1" },
		{ "--port", "5x" },	  { "--delay-ms", "" },
		{ "--max-body", "0" },	  { "--drop-connections", "1.5" },
		{ "--status-seq", "500,,500" }, { "--status-seq", "99" },
		{ "--status-seq", "503," },
	};
	char *dir = sr_tmpdir("recv");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err;
		int rc = run_recv(dir, bad[i], &err);

		printf("%s '%s' -> exit %d: %s", bad[i][0], bad[i][1], rc,
		       err);
		assert_int_equal(rc, EX_USAGE);
		if (!strstr(err, bad[i][0]))
			fail_msg("stderr does not name %s:\n%s", bad[i][0],
				 err);
		free(err);
	}
	sr_tmpdir_free(dir);
}

static void recv_rejects_unknown_options_and_arguments(void **state)
{
	static const char *const bad[][3] = {
		{ "--bogus" }, { "stray" }, { "--port" }, { "--output" },
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
		"--port",      "--output",   "--requests",
		"--status-seq", "--cycle",   "--delay-ms",
		"--retry-after", "--drop-connections", "--blackhole",
		"--reject-items-matching", "--max-body", "--help",
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
	assert_logged(&r, 0, (const char *const[]){
		"\"path\":\"/v1/other\"", "\"status\":404", NULL });
	assert_logged(&r, 1, (const char *const[]){
		"\"method\":\"GET\"", "\"status\":405", NULL });
	assert_logged(&r, 2, (const char *const[]){
		"\"status\":200", "\"items\":1", "\"error_count\":0", NULL });
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
	assert_logged(&r, 0, (const char *const[]){
		"\"status\":400", "body over 64 bytes", NULL });
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
	assert_logged(&r, 0, (const char *const[]){
		"\"transfer-encoding\":\"chunked\"", "\"items\":1", NULL });
	items = sr_read_file(r.out, NULL);
	assert_non_null(items);
	assert_string_equal(items, TRACE_ITEM "\n");
	free(items);
	sr_recv_free(&r);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(recv_rejects_malformed_numbers),
	     cmocka_unit_test(recv_rejects_unknown_options_and_arguments),
	     cmocka_unit_test(recv_help_lists_every_option),
	     cmocka_unit_test(recv_refuses_unknown_path_and_method),
	     cmocka_unit_test(recv_body_over_limit_refused),
	     cmocka_unit_test(recv_chunked_body_accepted))
