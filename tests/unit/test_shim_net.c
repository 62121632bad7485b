/* SPDX-License-Identifier: MIT */
/*
 * The shim's network spans on real programs: python3 (socket, subprocess),
 * curl against a loopback HTTP server, getaddrinfo that succeeds and one
 * that fails. Loopback only.
 */
#include "tests/lib/harness.h"
#include "tests/lib/shimrun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/record.h"

/* A loopback TCP server answering `conns` connections in a thread: reads
 * the request (up to an empty line, or EOF), answers with `reply`. */
struct server {
	int fd, port, conns;
	const char *reply;
	pthread_t th;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->conns; i++) {
		char buf[4096];
		size_t n = 0;
		ssize_t k;
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		while (n < sizeof(buf) - 1 &&
		       (k = read(c, buf + n, sizeof(buf) - 1 - n)) > 0) {
			n += (size_t)k;
			buf[n] = 0;
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (s->reply && write(c, s->reply, strlen(s->reply)) < 0)
			perror("server write");
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, int conns, const char *reply)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sr_assert_cmp(s->fd, >=, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	s->conns = conns;
	s->reply = reply;
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->fd);
}

static const struct sr_vspan *span_where(const struct sr_run *r,
					 const char *name, const char *key,
					 const char *val)
{
	for (size_t i = 0; i < r->nspans; i++) {
		const char *v = sr_vspan_str(&r->spans[i], key);

		if (!strcmp(r->spans[i].name, name) && v && !strcmp(v, val))
			return &r->spans[i];
	}
	sr_run_dump(r);
	fail_msg("no %s span with %s=%s", name, key, val);
	return NULL;
}

static const char py_script[] =
	"import socket, subprocess, sys\n"
	"s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
	"s.sendall(b'x\\r\\n\\r\\n')\n"
	"s.close()\n"
	"r = subprocess.run(['/bin/echo', 'from-python'], capture_output=True)\n"
	"print(r.stdout.decode().strip(), r.returncode)\n";

static void shim_python_socket_and_subprocess(void **state)
{
	char *dir = sr_tmpdir("shim");
	struct server srv;
	const struct sr_vspan *c, *py, *echo;
	const char *argv[] = { "/usr/bin/python3", "-c", py_script, NULL,
			       NULL };
	struct sr_run r;

	(void)state;
	server_start(&srv, 2, NULL);
	argv[3] = sr_strf("%d", srv.port);
	sr_run_both(&r, dir, argv, NULL);
	server_stop(&srv);
	assert_string_equal(r.out, "from-python 0\n");
	sr_run_assert_tree(&r, NULL);
	c = span_where(&r, "connect", "server.address", "127.0.0.1");
	assert_int_equal(sr_vspan_int(c, "server.port"), srv.port);
	assert_string_equal(sr_vspan_str(c, "network.transport"), "tcp");
	assert_string_equal(sr_vspan_str(c, "network.type"), "ipv4");
	assert_null(c->err);
	assert_true(c->flags & SR_SF_CLIENT);
	py = sr_run_by_id(&r, c->parent);
	assert_string_equal(py->name, "process");
	/* CPython starts the child with vfork + exec: one `spawn` span
	 * under python, echo's process span under it */
	echo = span_where(&r, "spawn", "process.executable.path",
			  "/usr/bin/echo");
	assert_string_equal(echo->parent, py->span);
	assert_string_equal(sr_vspan_argv(echo), "/bin/echo from-python");
	assert_int_equal(r.nrings, 2);
	assert_string_equal(
		sr_run_process(&r, (uint32_t)sr_vspan_int(echo,
							  "process.child_pid"))
			->parent,
		echo->span);
	free((char *)argv[3]);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_curl_loopback_http(void **state)
{
	char *dir;
	struct server srv;
	const struct sr_vspan *c, *p;
	const char *argv[] = {
		"/usr/bin/curl", "-q", "-sS", "--noproxy", "*", NULL, NULL
	};
	struct sr_run r;

	(void)state;
	/* curl (its libraries) hangs in setlocale() at start with the ASan
	 * runtime preloaded, shim or not: nothing to learn there */
	if (getenv("SR_SANITIZE") && strstr(getenv("SR_SANITIZE"), "address"))
		skip();
	dir = sr_tmpdir("shim");
	server_start(&srv, 2,
		     "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
	argv[5] = sr_strf("http://127.0.0.1:%d/x", srv.port);
	sr_run_both(&r, dir, argv, NULL);
	server_stop(&srv);
	assert_string_equal(r.out, "ok\n");
	assert_int_equal(r.status, 0);
	sr_run_assert_tree(&r, NULL);
	c = span_where(&r, "connect", "server.address", "127.0.0.1");
	assert_int_equal(sr_vspan_int(c, "server.port"), srv.port);
	assert_null(c->err);
	p = sr_run_span(&r, "process", 0);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 0);
	assert_true(p->ended);
	free((char *)argv[5]);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_getaddrinfo_ok_and_failure(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { sr_build_path("progs/shim_gai"), "localhost",
			       "spanring-test.invalid", NULL };
	const struct sr_vspan *ok, *bad;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	ok = span_where(&r, "getaddrinfo", "dns.question.name", "localhost");
	assert_null(ok->err);
	sr_assert_cmp(sr_vspan_int(ok, "dns.answer.count"), >=, 1);
	assert_int_equal(sr_vspan_int(ok, "server.port"), 80);
	assert_true(ok->flags & SR_SF_CLIENT);
	if (strstr(r.out, "invalid skipped")) {
		/* no private resolver possible: the name was not looked up */
		assert_int_equal(sr_run_count(&r, "getaddrinfo"), 1);
	} else {
		assert_non_null(strstr(r.out, "spanring-test.invalid fail\n"));
		bad = span_where(&r, "getaddrinfo", "dns.question.name",
				 "spanring-test.invalid");
		assert_non_null(bad->err);
		assert_true(bad->flags & SR_SF_ERROR);
		assert_int_equal(sr_vspan_int(bad, "dns.answer.count"), 0);
		assert_non_null(cJSON_GetObjectItem(bad->errdata, "gai_error"));
		sr_assert_cmp(cJSON_GetObjectItem(bad->errdata, "gai_error")
				      ->valueint,
			      <, 0);
	}
	/* the resolver's own traffic is not reported as the program's */
	assert_int_equal(sr_run_count(&r, "connect"), 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(shim_python_socket_and_subprocess),
	     cmocka_unit_test(shim_curl_loopback_http),
	     cmocka_unit_test(shim_getaddrinfo_ok_and_failure))
