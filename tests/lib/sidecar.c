/* SPDX-License-Identifier: MIT */
#include "sidecar.h"

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

#include <cJSON.h>

#include "harness.h"

extern char **environ;

long long sr_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A short pause between polls of an external effect. */
static void nap(void)
{
	struct timespec ts = { 0, 10 * 1000000 };

	nanosleep(&ts, NULL);
}

static void scrub_env(void)
{
	static const char *const drop[] = {
		"OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
		"SPANRING_DIR",   "LD_PRELOAD",    NULL
	};

	for (int i = 0; drop[i]; i++)
		unsetenv(drop[i]);
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; *e; e++) {
			if (!strncmp(*e, "SPANRINGD_", 10)) {
				char name[128];
				size_t n = strcspn(*e, "=");

				snprintf(name, sizeof(name), "%.*s", (int)n,
					 *e);
				unsetenv(name);
				again = 1;
				break;
			}
		}
	}
}

pid_t sr_spawn(const char *const *argv, const char *const *env, int in_fd,
	       int out_fd, const char *err_path)
{
	pid_t pid = fork();

	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err = err_path ? open(err_path,
					  O_WRONLY | O_CREAT | O_APPEND, 0644)
				   : null;

		dup2(in_fd >= 0 ? in_fd : null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(err >= 0 ? err : null, 2);
		scrub_env();
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int sr_wait_pid(pid_t pid, int timeout_ms)
{
	long long end = sr_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (sr_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		nap();
	}
}

void sr_recv_start(struct sr_recv *r, const char *base, int port,
		   const char *const *args)
{
	const char *argv[40];
	char portbuf[16], line[128];
	int n = 0, fds[2];
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->out = sr_strf("%s/recv-items.jsonl", base);
	r->req = sr_strf("%s/recv-requests.jsonl", base);
	r->log = sr_strf("%s/recv.log", base);
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	argv[n++] = sr_build_path("spanring-recv");
	argv[n++] = "--port";
	argv[n++] = portbuf;
	argv[n++] = "--output";
	argv[n++] = r->out;
	argv[n++] = "--requests";
	argv[n++] = r->req;
	for (int i = 0; args && args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	r->pid = sr_spawn(argv, NULL, -1, fds[1], r->log);
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	/* the first line names the port: no race with the listen() */
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(sscanf(line, "listening 127.0.0.1:%d", &r->port), 1);
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d/v1/traces/ingest",
		 r->port);
}

void sr_recv_stop(struct sr_recv *r)
{
	if (r && r->pid > 0) {
		kill(r->pid, SIGTERM);
		sr_wait_pid(r->pid, 5000);
		r->pid = 0;
	}
}

void sr_recv_free(struct sr_recv *r)
{
	sr_recv_stop(r);
	free(r->out);
	free(r->req);
	free(r->log);
}

void sr_sd_init(struct sr_sd *s, const char *base)
{
	memset(s, 0, sizeof(*s));
	s->dir = sr_strf("%s/rings", base);
	s->spool = sr_strf("%s/spool", base);
	s->out = sr_strf("%s/out.jsonl", base);
	s->log = sr_strf("%s/sd.log", base);
	s->stats = sr_strf("%s/stats.json", base);
	s->dead = sr_strf("%s/dead.jsonl", base);
	s->console = sr_strf("%s/stdout.txt", base);
	mkdir(s->dir, 0700);
}

/* Waits until the lock file holds the pid of the sidecar just started,
 * or it exited. */
static void wait_ready(struct sr_sd *s)
{
	char *lock = sr_strf("%s/.spanringd.lock", s->dir), want[32];
	long long end = sr_ms() + 10000;

	snprintf(want, sizeof(want), "%d\n", (int)s->pid);
	while (sr_ms() < end) {
		char *t = sr_read_file(lock, NULL);
		bool ok = t && !strcmp(t, want);

		free(t);
		if (ok || waitpid(s->pid, NULL, WNOHANG) != 0)
			break;
		nap();
	}
	free(lock);
}

void sr_sd_start(struct sr_sd *s, const char *const *args,
		 const char *const *env)
{
	const char *argv[64];
	int n = 0, out;

	argv[n++] = sr_build_path("spanringd");
	argv[n++] = "--dir";
	argv[n++] = s->dir;
	argv[n++] = "--spool-dir";
	argv[n++] = s->spool;
	argv[n++] = "--output";
	argv[n++] = s->out;
	argv[n++] = "--stats-file";
	argv[n++] = s->stats;
	argv[n++] = "--dead-letter";
	argv[n++] = s->dead;
	argv[n++] = "--poll-interval";
	argv[n++] = "0.02";
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for (int i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	out = open(s->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	s->pid = sr_spawn(argv, env, -1, out, s->log);
	close(out);
	wait_ready(s);
}

int sr_sd_stop(struct sr_sd *s, int sig, int timeout_ms)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	st = sr_wait_pid(s->pid, timeout_ms);
	s->pid = 0;
	if (st < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void sr_sd_free(struct sr_sd *s)
{
	if (s->pid > 0)
		sr_sd_stop(s, SIGKILL, 5000);
	free(s->dir);
	free(s->spool);
	free(s->out);
	free(s->log);
	free(s->stats);
	free(s->dead);
	free(s->console);
}

char *sr_sd_fixture(struct sr_sd *s, const char *tag)
{
	char *base = sr_tmpdir(tag);

	sr_sd_init(s, base);
	return base;
}

void sr_sd_fixture_stop(struct sr_sd *s, struct sr_recv *rv)
{
	sr_sd_free(s);
	if (rv)
		sr_recv_free(rv);
}

int sr_emit(const char *ringdir, const char *const *args)
{
	const char *argv[40];
	int n = 0, st;

	argv[n++] = sr_build_path("progs/emit");
	argv[n++] = "--dir";
	argv[n++] = ringdir;
	for (int i = 0; args && args[i] && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, -1, NULL), 30000);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t sr_count_lines(const char *path)
{
	size_t len = 0, n = 0;
	char *t = sr_read_file(path, &len);

	for (size_t i = 0; t && i < len; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

bool sr_wait_lines(const char *path, size_t n, int timeout_ms)
{
	long long end = sr_ms() + timeout_ms;

	while (sr_count_lines(path) < n) {
		if (sr_ms() > end)
			return false;
		nap();
	}
	return true;
}

size_t sr_count_in_file(const char *path, const char *needle)
{
	char *t = sr_read_file(path, NULL), *p = t;
	size_t n = 0;

	while (p && (p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	free(t);
	return n;
}

bool sr_wait_contains(const char *path, const char *needle, int timeout_ms)
{
	long long end = sr_ms() + timeout_ms;

	while (!sr_count_in_file(path, needle)) {
		if (sr_ms() > end)
			return false;
		nap();
	}
	return true;
}

char **sr_lines(const char *path, size_t *n)
{
	size_t len = 0, k = 0;
	char *t = sr_read_file(path, &len), **l;

	*n = 0;
	for (size_t i = 0; t && i < len; i++)
		k += t[i] == '\n';
	l = calloc(k + 1, sizeof(*l));
	assert_non_null(l);
	for (char *p = t, *nl; p && (nl = strchr(p, '\n')); p = nl + 1)
		l[(*n)++] = strndup(p, (size_t)(nl - p));
	free(t);
	return l;
}

void sr_lines_free(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

long long sr_sd_stat(const struct sr_sd *s, const char *name)
{
	char *t = sr_read_file(s->stats, NULL);
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;

	cJSON_Delete(j);
	free(t);
	return r;
}

bool sr_sd_wait_stat(const struct sr_sd *s, const char *name, long long v,
		     int ms)
{
	long long end = sr_ms() + ms;

	while (sr_sd_stat(s, name) < v) {
		struct timespec ts = { 0, 20000000 };

		if (sr_ms() > end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}
