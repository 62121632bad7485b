/* SPDX-License-Identifier: MIT */
#include "shimrun.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ids.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"

extern char **environ;

/* --- running ------------------------------------------------------------ */

static const char *shim_path(void)
{
	static char path[PATH_MAX];

	if (!path[0])
		assert_non_null(
			realpath(sr_build_path("libspanring.so"), path));
	return path;
}

static bool env_dropped(const char *e, const struct sr_run_opts *o)
{
	static const char *const ours[] = {
		"LD_PRELOAD=",
		"SPANRING_",
		"TRACEPARENT=",
		"ASAN_OPTIONS=",
	};

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strncmp(e, ours[i], strlen(ours[i])) == 0)
			return true;
	for (size_t i = 0; o->unset && o->unset[i]; i++) {
		size_t n = strlen(o->unset[i]);

		if (strncmp(e, o->unset[i], n) == 0 && e[n] == '=')
			return true;
	}
	return false;
}

/* The child's environment: ours without spanring's variables, then the
 * run's own. The vector and the strings it made are freed by env_free(). */
struct env {
	char **v;
	char *mine[2];
};

static void env_free(struct env *e)
{
	free(e->mine[0]);
	free(e->mine[1]);
	free(e->v);
}

static char **child_env_v(const struct sr_run_opts *o, char **mine)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	for (size_t i = 0; o->env && o->env[i]; i++)
		n++;
	env = calloc(n + 8, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; environ[i]; i++)
		if (!env_dropped(environ[i], o))
			env[k++] = environ[i];
	if (sr_asan_build())
		/* the runtime must not turn a program's own crash into a
		 * report, or traced and bare runs would differ */
		env[k++] =
			(char *)"ASAN_OPTIONS=verify_asan_link_order=0:"
				"detect_leaks=0:handle_segv=0:handle_sigbus=0:"
				"handle_abort=0:handle_sigfpe=0:handle_sigill=0";
	if (o->shim)
		env[k++] = mine[0] = sr_asan_build()
					     ? sr_strf("LD_PRELOAD=%s:%s",
						       sr_asan_runtime(),
						       shim_path())
					     : sr_strf("LD_PRELOAD=%s",
						       shim_path());
	else
		env[k++] = (char *)"SPANRING_DISABLE=1";
	if (o->dir)
		env[k++] = mine[1] = sr_strf("SPANRING_DIR=%s", o->dir);
	for (size_t i = 0; o->env && o->env[i]; i++)
		env[k++] = (char *)o->env[i];
	env[k] = NULL;
	return env;
}

static void child_env(struct env *e, const struct sr_run_opts *o)
{
	memset(e, 0, sizeof(*e));
	e->v = child_env_v(o, e->mine);
}

static void drain(int out, int err, struct sr_run *r)
{
	struct pollfd p[2] = { { out, POLLIN, 0 }, { err, POLLIN, 0 } };
	char **buf[2] = { &r->out, &r->err };
	size_t *len[2] = { &r->out_len, &r->err_len };
	size_t cap[2] = { 0, 0 };
	int open_n = 2;

	while (open_n) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (*len[i] + 4097 > cap[i]) {
				cap[i] = cap[i] * 2 + 8192;
				*buf[i] = realloc(*buf[i], cap[i]);
				assert_non_null(*buf[i]);
			}
			n = read(p[i].fd, *buf[i] + *len[i], 4096);
			if (n > 0) {
				*len[i] += (size_t)n;
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
			open_n--;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!*buf[i])
			*buf[i] = calloc(1, 1);
		(*buf[i])[*len[i]] = 0;
	}
}

/* Forks and execs argv with stdin from in, stdout to out and stderr to
 * err (-1: inherited), in the run's environment and, for o->uid, as that
 * user; closes the child's ends in the parent. Returns the pid. */
static pid_t spawn(const struct sr_run_opts *o, const char *const argv[],
		   int in, int out, int err)
{
	struct env env;
	pid_t pid;

	child_env(&env, o);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		dup2(in, 0);
		dup2(out, 1);
		if (err >= 0)
			dup2(err, 2);
		if (o->uid && (setgroups(0, NULL) < 0 || setgid(o->uid) < 0 ||
			       setuid(o->uid) < 0))
			_exit(126);
		execve(argv[0], (char *const *)argv, env.v);
		_exit(127);
	}
	close(in);
	close(out);
	if (err >= 0)
		close(err);
	env_free(&env);
	return pid;
}

void sr_run_cmd(struct sr_run *r, const struct sr_run_opts *o,
		const char *const argv[])
{
	int po[2], pe[2], pi[2];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pi, O_CLOEXEC), 0);
	pid = spawn(o, argv, pi[0], po[1], pe[1]);
	if (o->in && write(pi[1], o->in, strlen(o->in)) < 0)
		fail_msg("stdin: %s", strerror(errno));
	close(pi[1]);
	drain(po[0], pe[0], r);
	while (waitpid(pid, &r->status, 0) < 0)
		assert_int_equal(errno, EINTR);
}

int sr_run_start(const struct sr_run_opts *o, const char *const argv[],
		 int *in_fd, int *out_fd)
{
	int po[2], pi[2];
	pid_t pid;

	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pi, O_CLOEXEC), 0);
	pid = spawn(o, argv, pi[0], po[1], -1);
	*in_fd = pi[1];
	*out_fd = po[0];
	return pid;
}

/* --- reading rings ------------------------------------------------------ */

struct reading {
	struct sr_run *r;
	uint32_t pid;
	size_t cap_spans, cap_traces;
};

static char *dupn(const char *p, uint32_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static struct sr_vspan *span_slot(struct reading *rd, const uint8_t id[12])
{
	struct sr_run *r = rd->r;
	char hex[25];

	sr_hex(hex, id, 12);
	for (size_t i = 0; i < r->nspans; i++)
		if (strcmp(r->spans[i].span, hex) == 0)
			return &r->spans[i];
	if (r->nspans == rd->cap_spans) {
		rd->cap_spans = rd->cap_spans * 2 + 64;
		r->spans = realloc(r->spans, rd->cap_spans * sizeof(*r->spans));
		assert_non_null(r->spans);
	}
	memset(&r->spans[r->nspans], 0, sizeof(r->spans[0]));
	memcpy(r->spans[r->nspans].span, hex, 25);
	return &r->spans[r->nspans++];
}

static cJSON *parse_obj(struct sr_str s)
{
	char *t;
	cJSON *j;

	if (!s.n)
		return NULL;
	t = dupn(s.p, s.n);
	j = cJSON_Parse(t);
	if (!j)
		fail_msg("span data is not JSON: %s", t);
	free(t);
	return j;
}

static void merge_end(struct sr_vspan *v, const struct sr_span_rec *s)
{
	cJSON *end = parse_obj(s->data), *m;

	if (end && v->data) {
		while ((m = end->child) != NULL) {
			cJSON_DetachItemViaPointer(end, m);
			cJSON_AddItemToObject(v->data, m->string, m);
		}
		cJSON_Delete(end);
	} else if (end) {
		v->data = end;
	}
}

static void add_span(struct reading *rd, uint16_t type,
		     const struct sr_span_rec *s)
{
	struct sr_vspan *v = span_slot(rd, s->span_id);

	if (type != SR_REC_SPAN_END) {
		sr_hex(v->trace, s->trace_id, 16);
		if (!sr_id_is_zero(s->parent_id, 12))
			sr_hex(v->parent, s->parent_id, 12);
		v->name = dupn(s->name.p, s->name.n);
		v->data = parse_obj(s->data);
		v->start_ns = s->start_ns;
		v->started = true;
		v->ring_pid = rd->pid;
	}
	if (type != SR_REC_SPAN_START) {
		v->ended = true;
		v->end_ns = s->end_ns;
	}
	if (type == SR_REC_SPAN_END)
		merge_end(v, s);
	v->complete = type == SR_REC_SPAN;
	v->flags |= s->flags;
	if (s->err.n) {
		free(v->err);
		cJSON_Delete(v->errdata);
		v->err = dupn(s->err.p, s->err.n);
		v->errdata = parse_obj(s->errdata);
	}
}

static void add_trace(struct reading *rd, const struct sr_trace_rec *t)
{
	struct sr_run *r = rd->r;
	struct sr_vtrace *v;

	if (r->ntraces == rd->cap_traces) {
		rd->cap_traces = rd->cap_traces * 2 + 8;
		r->traces = realloc(r->traces, rd->cap_traces * sizeof(*v));
		assert_non_null(r->traces);
	}
	v = &r->traces[r->ntraces++];
	sr_hex(v->trace, t->trace_id, 16);
	v->workflow = dupn(t->workflow.p, t->workflow.n);
	v->group = t->group_id.n ? dupn(t->group_id.p, t->group_id.n) : NULL;
	v->metadata = t->metadata.n ? dupn(t->metadata.p, t->metadata.n) : NULL;
}

static void add_child(struct reading *rd, const struct sr_child_rec *c)
{
	struct sr_run *r = rd->r;
	struct sr_vchild *v;

	r->children = realloc(r->children, (r->nchildren + 1) * sizeof(*v));
	assert_non_null(r->children);
	v = &r->children[r->nchildren++];
	v->pid = c->pid;
	v->status = c->status;
	sr_hex(v->trace, c->trace_id, 16);
	v->ring_pid = rd->pid;
}

static int on_record(void *ctx, const struct sr_record *rec)
{
	struct reading *rd = ctx;
	struct sr_span_rec s;
	struct sr_trace_rec t;
	struct sr_child_rec c;

	switch (rec->type) {
	case SR_REC_PROCESS:
		rd->r->nprocess++;
		break;
	case SR_REC_TRACE:
		assert_int_equal(sr_trace_decode(rec->payload, rec->len, &t),
				 0);
		add_trace(rd, &t);
		break;
	case SR_REC_SPAN_START:
	case SR_REC_SPAN_END:
	case SR_REC_SPAN:
		assert_int_equal(sr_span_decode(rec->payload, rec->len, &s), 0);
		add_span(rd, rec->type, &s);
		break;
	case SR_REC_CHILD_EXIT:
		assert_int_equal(sr_child_decode(rec->payload, rec->len, &c),
				 0);
		add_child(rd, &c);
		break;
	default:
		break;
	}
	return 0;
}

static void read_ring(struct reading *rd, int dfd, const char *name)
{
	struct sr_ring_info *info;
	struct sr_reader *rr;
	char why[256];
	int n;

	if (sr_reader_open(dfd, name, SR_READER_RDONLY, &rr, why, sizeof(why)) <
	    0) {
		rd->r->unreadable++;
		return;
	}
	info = malloc(sr_reader_info_size(rr));
	assert_non_null(info);
	assert_int_equal(sr_reader_info(rr, info), 0);
	rd->pid = info->owner_pid;
	while ((n = sr_reader_poll(rr, 1 << 20, on_record, rd)) > 0)
		;
	sr_assert_cmp(n, ==, 0);
	assert_int_equal(sr_reader_info(rr, info), 0);
	rd->r->dropped += info->dropped;
	rd->r->faults += sr_reader_faults(rr);
	rd->r->nrings++;
	free(info);
	sr_reader_free(rr);
}

struct names {
	char **v;
	size_t n;
};

static void collect_name(void *ctx, const char *name)
{
	struct names *ns = ctx;

	ns->v = realloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	assert_non_null(ns->v);
	ns->v[ns->n++] = strdup(name);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sr_run_read_rings(struct sr_run *r, const char *dir)
{
	struct reading rd = { .r = r };
	struct names ns = { NULL, 0 };
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	sr_assert_cmp(dfd, >=, 0);
	sr_assert_cmp(sr_dir_scan(dfd, 0, collect_name, &ns), >=, 0);
	if (ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), by_name);
	for (size_t i = 0; i < ns.n; i++) {
		read_ring(&rd, dfd, ns.v[i]);
		free(ns.v[i]);
	}
	free(ns.v);
	close(dfd);
}

void sr_run_free(struct sr_run *r)
{
	for (size_t i = 0; i < r->nspans; i++) {
		free(r->spans[i].name);
		free(r->spans[i].err);
		cJSON_Delete(r->spans[i].data);
		cJSON_Delete(r->spans[i].errdata);
	}
	for (size_t i = 0; i < r->ntraces; i++) {
		free(r->traces[i].workflow);
		free(r->traces[i].group);
		free(r->traces[i].metadata);
	}
	free(r->spans);
	free(r->traces);
	free(r->children);
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* --- queries and assertions --------------------------------------------- */

const struct sr_vspan *sr_run_span(const struct sr_run *r, const char *name,
				   size_t n)
{
	for (size_t i = 0; i < r->nspans; i++)
		if (r->spans[i].name && strcmp(r->spans[i].name, name) == 0 &&
		    n-- == 0)
			return &r->spans[i];
	return NULL;
}

size_t sr_run_count(const struct sr_run *r, const char *name)
{
	size_t c = 0;

	for (size_t i = 0; i < r->nspans; i++)
		if (r->spans[i].name && strcmp(r->spans[i].name, name) == 0)
			c++;
	return c;
}

const struct sr_vspan *sr_run_by_id(const struct sr_run *r, const char *id)
{
	for (size_t i = 0; i < r->nspans; i++)
		if (strcmp(r->spans[i].span, id) == 0)
			return &r->spans[i];
	return NULL;
}

const struct sr_vspan *sr_run_process(const struct sr_run *r, uint32_t pid)
{
	for (size_t i = 0; i < r->nspans; i++)
		if (r->spans[i].name &&
		    strcmp(r->spans[i].name, "process") == 0 &&
		    sr_vspan_int(&r->spans[i], "process.pid") == pid)
			return &r->spans[i];
	return NULL;
}

const struct sr_vchild *sr_run_child(const struct sr_run *r, uint32_t pid)
{
	for (size_t i = 0; i < r->nchildren; i++)
		if (r->children[i].pid == pid)
			return &r->children[i];
	return NULL;
}

long long sr_vspan_int(const struct sr_vspan *s, const char *key)
{
	const cJSON *j = s && s->data
				 ? cJSON_GetObjectItemCaseSensitive(s->data,
								    key)
				 : NULL;

	return cJSON_IsNumber(j) ? (long long)j->valuedouble : LLONG_MIN;
}

const char *sr_vspan_str(const struct sr_vspan *s, const char *key)
{
	const cJSON *j = s && s->data
				 ? cJSON_GetObjectItemCaseSensitive(s->data,
								    key)
				 : NULL;

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

const char *sr_vspan_argv(const struct sr_vspan *s)
{
	static char buf[4096];
	const cJSON *a = s && s->data ? cJSON_GetObjectItemCaseSensitive(
						s->data, "process.command_args")
				      : NULL,
		    *e;
	size_t n = 0;

	buf[0] = 0;
	cJSON_ArrayForEach(e, a)
	{
		if (cJSON_IsString(e))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
					      n ? " " : "", e->valuestring);
		if (n >= sizeof(buf))
			break;
	}
	return buf;
}

void sr_run_dump(const struct sr_run *r)
{
	fprintf(stderr, "%zu rings, %zu traces, %zu spans, %llu dropped\n",
		r->nrings, r->ntraces, r->nspans,
		(unsigned long long)r->dropped);
	for (size_t i = 0; i < r->ntraces; i++)
		fprintf(stderr, "  trace %s workflow=%s\n", r->traces[i].trace,
			r->traces[i].workflow);
	for (size_t i = 0; i < r->nspans; i++) {
		const struct sr_vspan *s = &r->spans[i];
		char *d = s->data ? cJSON_PrintUnformatted(s->data) : NULL;

		fprintf(stderr, "  [%u] %s %s <- %s %s%s%s err=%s %s\n",
			s->ring_pid, s->span, s->name,
			s->parent[0] ? s->parent : "-", s->started ? "S" : "",
			s->ended ? "E" : "", s->complete ? "C" : "",
			s->err ? s->err : "-", d ? d : "");
		free(d);
	}
}

void sr_run_assert_same(const struct sr_run *a, const struct sr_run *b)
{
	if (strcmp(a->out, b->out) != 0 || strcmp(a->err, b->err) != 0 ||
	    a->status != b->status)
		fail_msg("runs differ:\n--- traced (status %#x)\nstdout: %s\n"
			 "stderr: %s\n--- bare (status %#x)\nstdout: %s\n"
			 "stderr: %s",
			 a->status, a->out, a->err, b->status, b->out, b->err);
}

void sr_run_assert_tree(const struct sr_run *r, const char *outside)
{
	sr_assert_cmp(r->nspans, >, 0);
	for (size_t i = 0; i < r->nspans; i++) {
		const struct sr_vspan *s = &r->spans[i];

		if (strcmp(s->trace, r->spans[0].trace) != 0 ||
		    (s->parent[0] && !sr_run_by_id(r, s->parent) &&
		     !(outside && strcmp(s->parent, outside) == 0))) {
			sr_run_dump(r);
			fail_msg("span %s (%s): trace %s parent %s not in the tree",
				 s->span, s->name, s->trace, s->parent);
		}
	}
}

void sr_run_both(struct sr_run *r, const char *dir, const char *const argv[],
		 const char *const *env)
{
	struct sr_run_opts with = { .shim = true, .dir = dir, .env = env };
	struct sr_run_opts without = { .shim = false, .dir = dir, .env = env };
	struct sr_run bare;

	sr_run_cmd(&bare, &without, argv);
	sr_run_cmd(r, &with, argv);
	sr_run_assert_same(r, &bare);
	sr_run_free(&bare);
	sr_run_read_rings(r, dir);
	assert_int_equal(r->faults, 0);
	assert_int_equal(r->unreadable, 0);
}
