/* SPDX-License-Identifier: MIT */
/*
 * The shim on real programs: process spans, exec, fork, vfork, spawn,
 * system, popen, descriptor protection, signals, crashes. Every program
 * runs with and without the shim; output and exit status must match and
 * the rings must tell exactly what happened.
 */
#include "tests/lib/harness.h"
#include "tests/lib/shimrun.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"

static char *prog(const char *name)
{
	return sr_strf("%s", sr_build_path(name));
}

/* "process<exec<process<fork<process": names from s up to the root. */
static const char *chain(const struct sr_run *r, const struct sr_vspan *s)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = 0;
	for (int hops = 0; s && hops < 32; hops++) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				      n ? "<" : "", s->name);
		s = s->parent[0] ? sr_run_by_id(r, s->parent) : NULL;
	}
	return buf;
}

/* The process span whose argv is exactly `argv` (space-joined). */
static const struct sr_vspan *proc_by_argv(const struct sr_run *r,
					   const char *argv)
{
	for (size_t i = 0; i < r->nspans; i++)
		if (!strcmp(r->spans[i].name, "process") &&
		    !strcmp(sr_vspan_argv(&r->spans[i]), argv))
			return &r->spans[i];
	sr_run_dump(r);
	fail_msg("no process span with argv '%s'", argv);
	return NULL;
}

static void assert_chain(const struct sr_run *r, const struct sr_vspan *s,
			 const char *want)
{
	if (strcmp(chain(r, s), want) != 0) {
		sr_run_dump(r);
		fail_msg("chain of %s: '%s', want '%s'", s->span, chain(r, s),
			 want);
	}
}

static void assert_ended_with(const struct sr_run *r, const struct sr_vspan *s,
			      long long code)
{
	if (!s->started || !s->ended ||
	    sr_vspan_int(s, "process.exit.code") != code) {
		sr_run_dump(r);
		fail_msg("span %s: want ended with exit code %lld", s->span,
			 code);
	}
}

static void shim_true_process_span(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/true", NULL };
	const struct sr_vspan *p;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_int_equal(r.nrings, 1);
	assert_int_equal(r.nprocess, 1);
	assert_int_equal(r.ntraces, 1);
	assert_string_equal(r.traces[0].workflow, "true");
	assert_int_equal(r.nspans, 1);
	p = sr_run_span(&r, "process", 0);
	assert_non_null(p);
	assert_ended_with(&r, p, 0);
	assert_true(p->flags & SR_SF_PROCESS);
	assert_true(p->flags & SR_SF_ROOT);
	assert_string_equal(p->parent, "");
	assert_string_equal(p->trace, r.traces[0].trace);
	assert_string_equal(sr_vspan_argv(p), "/bin/true");
	assert_int_equal(sr_vspan_int(p, "process.pid"), p->ring_pid);
	assert_int_equal(sr_vspan_int(p, "process.owner"), getuid());
	assert_int_equal(sr_vspan_int(p, "process.parent_pid"), getpid());
	assert_non_null(
		strstr(sr_vspan_str(p, "process.executable.path"), "true"));
	assert_string_equal(sr_vspan_str(p, "process.executable.name"), "true");
	sr_assert_cmp(sr_vspan_int(p, "process.memory.peak_rss"), >, 0);
	sr_assert_cmp(sr_vspan_int(p, "process.cpu.user_time"), >=, 0);
	sr_assert_cmp(sr_vspan_int(p, "process.cpu.system_time"), >=, 0);
	sr_assert_cmp(p->end_ns, >=, p->start_ns);
	assert_int_equal(r.dropped, 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_shell_pipeline_is_one_tree(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/sh", "-c", "echo a | tr a b", NULL };
	const struct sr_vspan *sh, *tr;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "b\n");
	assert_int_equal(r.ntraces, 1);
	sr_run_assert_tree(&r, NULL);
	sh = proc_by_argv(&r, "/bin/sh -c echo a | tr a b");
	assert_chain(&r, sh, "process");
	tr = proc_by_argv(&r, "tr a b");
	/* the fork child that only exec'd tr made no ring: tr's process
	 * span (the same pid) is the fork span's child */
	assert_chain(&r, tr, "process<fork<process");
	assert_int_equal(sr_vspan_int(sr_run_by_id(&r, tr->parent),
				      "process.child_pid"),
			 tr->ring_pid);
	assert_ended_with(&r, tr, 0);
	assert_ended_with(&r, sh, 0);
	/* the child that ran `echo a` itself recorded its end: a ring */
	assert_int_equal(sr_run_count(&r, "exec"), 0);
	assert_int_equal(sr_run_count(&r, "fork"), 2);
	assert_int_equal(r.nrings, 3);
	assert_int_equal(r.nrings, sr_run_count(&r, "process"));
	for (size_t i = 0; i < r.nspans; i++)
		if (!strcmp(r.spans[i].name, "process"))
			assert_ended_with(&r, &r.spans[i], 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_coreutils_ls_cat(void **state)
{
	char *dir = sr_tmpdir("shim");
	char *file = sr_strf("%s-file", dir);
	const char *ls[] = { "/bin/ls",
			     "-l",
			     "/usr/bin/true",
			     "/usr/bin/env",
			     "/nonexistent-spanring",
			     NULL };
	const char *cat[] = { "/bin/cat", file, NULL };
	char *want;
	FILE *f = fopen(file, "w");
	struct sr_run r;

	(void)state;
	assert_non_null(f);
	fputs("hello\n", f);
	fclose(f);
	sr_run_both(&r, dir, ls, NULL);
	sr_assert_exited(r.status, 2);
	assert_non_null(strstr(r.err, "nonexistent-spanring"));
	assert_ended_with(&r, sr_run_span(&r, "process", 0), 2);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
	dir = sr_tmpdir("shim");
	sr_run_both(&r, dir, cat, NULL);
	assert_string_equal(r.out, "hello\n");
	want = sr_strf("/bin/cat %s", file);
	assert_ended_with(&r, proc_by_argv(&r, want), 0);
	free(want);
	sr_run_free(&r);
	unlink(file);
	free(file);
	sr_tmpdir_free(dir);
}

static void shim_env_i_child_stays_traced(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/usr/bin/env", "-i",     "/bin/sh",
			       "-c",           "echo x", NULL };
	const struct sr_vspan *sh;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "x\n");
	assert_int_equal(r.ntraces, 1);
	sr_run_assert_tree(&r, NULL);
	sh = proc_by_argv(&r, "/bin/sh -c echo x");
	assert_chain(&r, sh, "process<exec<process");
	assert_ended_with(&r, sh, 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_execve_explicit_envp_stays_traced(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "envp", NULL };
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "FOO=bar\n");
	assert_chain(&r, proc_by_argv(&r, "sh -c echo FOO=$FOO"),
		     "process<exec<process");
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_failed_exec_span_has_error(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "execfail", NULL };
	const struct sr_vspan *e0, *e1, *e2;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "execv -1 errno 2\nexecvp -1 errno 2\n"
				   "after-failure\n");
	assert_int_equal(sr_run_count(&r, "exec"), 3);
	e0 = sr_run_span(&r, "exec", 0);
	e1 = sr_run_span(&r, "exec", 1);
	e2 = sr_run_span(&r, "exec", 2);
	assert_true(e0->started && e0->ended && e1->ended);
	assert_string_equal(e0->err, "No such file or directory");
	assert_int_equal(cJSON_GetObjectItem(e0->errdata, "errno")->valueint,
			 2);
	assert_string_equal(sr_vspan_str(e1, "process.executable.path"),
			    "spanring-no-such-program");
	assert_non_null(e1->err);
	/* the third replaced the image: left open for the sidecar */
	assert_true(e2->started && !e2->ended);
	assert_chain(&r, proc_by_argv(&r, "echo after-failure"),
		     "process<exec<process");
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_fork_child_gets_own_ring(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "fork", NULL };
	const struct sr_vspan *fk, *child, *parent;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "child\nchild exit 3\n");
	assert_int_equal(r.nrings, 2);
	assert_int_equal(r.ntraces, 1);
	sr_run_assert_tree(&r, NULL);
	fk = sr_run_span(&r, "fork", 0);
	assert_non_null(fk);
	parent = sr_run_by_id(&r, fk->parent);
	assert_non_null(parent);
	assert_int_equal(sr_vspan_int(fk, "process.pid"), parent->ring_pid);
	child = sr_run_process(&r,
			       (uint32_t)sr_vspan_int(fk, "process.child_pid"));
	assert_non_null(child);
	assert_string_equal(child->parent, fk->span);
	assert_int_not_equal(child->ring_pid, parent->ring_pid);
	assert_ended_with(&r, child, 3);
	assert_ended_with(&r, parent, 0);
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_vfork_exec_child_traced(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "vfork", NULL };
	const struct sr_vspan *echo, *bad, *self;
	struct sr_run r;

	(void)state;
	if (sr_tsan_build()) {
		/* the program's own TSan runtime makes its vfork a fork */
		print_message("[  SKIPPED ] under TSan: vfork is a fork\n");
		sr_tmpdir_free(dir);
		free((char *)argv[0]);
		skip();
	}
	sr_run_both(&r, dir, argv, NULL);
	/* vfork stays vfork: shared memory, no atfork handlers, the exec
	 * error reported through a shared variable */
	assert_string_equal(r.out, "from-vfork\nchild exit 0 x 42 atfork 0\n"
				   "failed exec errno 2 exit 127\n");
	sr_run_assert_tree(&r, NULL);
	/* the children make no ring until they exec: shim_procs and echo */
	assert_int_equal(r.nrings, 2);
	echo = proc_by_argv(&r, "echo from-vfork");
	assert_chain(&r, echo, "process<spawn<process");
	assert_ended_with(&r, echo, 0);
	self = sr_run_by_id(&r, sr_run_by_id(&r, echo->parent)->parent);
	assert_ended_with(&r, self, 0);
	assert_int_equal(sr_run_count(&r, "spawn"), 2);
	bad = sr_run_span(&r, "spawn", 0);
	if (!bad->err)
		bad = sr_run_span(&r, "spawn", 1);
	assert_non_null(bad->err);
	assert_string_equal(bad->err, "No such file or directory");
	assert_string_equal(bad->parent, self->span);
	assert_string_equal(sr_vspan_str(bad, "process.executable.path"),
			    "/nonexistent/prog");
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

/* A fork child that recorded nothing (a subshell) starts a command with
 * vfork: it goes under the subshell's fork span. The subshell then reaps
 * it (a record: the subshell makes its ring) and execs its last command:
 * an exec span of its own, so the vfork child left the subshell's state
 * (its re-entrancy guard) as it found it. */
static void shim_subshell_vfork_children_under_fork(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/sh", "-c",
			       "( /bin/echo one; /bin/echo two ); echo done",
			       NULL };
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "one\ntwo\ndone\n");
	sr_run_assert_tree(&r, NULL);
	assert_chain(&r, proc_by_argv(&r, "/bin/echo one"),
		     "process<fork<process");
	assert_chain(&r, proc_by_argv(&r, "/bin/echo two"),
		     "process<exec<process<fork<process");
	assert_int_equal(sr_run_count(&r, "fork"), 1);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_posix_spawn_spans(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "spawn", NULL };
	const struct sr_vspan *sp, *bad;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_int_equal(sr_run_count(&r, "spawn"), 3);
	sr_run_assert_tree(&r, NULL);
	for (int i = 0; i < 2; i++) {
		sp = sr_run_span(&r, "spawn", (size_t)i);
		assert_null(sp->err);
		assert_string_equal(sr_run_process(&r,
						   (uint32_t)sr_vspan_int(
							   sp,
							   "process.child_pid"))
					    ->parent,
				    sp->span);
	}
	assert_string_equal(sr_vspan_str(sr_run_span(&r, "spawn", 1),
					 "process.executable.path"),
			    "echo");
	bad = sr_run_span(&r, "spawn", 2);
	assert_non_null(bad->err);
	assert_string_equal(bad->err, "No such file or directory");
	assert_int_equal(cJSON_GetObjectItem(bad->errdata, "errno")->valueint,
			 2);
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_system_span_and_status(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "system", NULL };
	const struct sr_vspan *sys, *sh;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out,
			    "from-system\nsystem status 1 exited 1 code 7\n"
			    "system(NULL) 1\n");
	assert_int_equal(sr_run_count(&r, "system"), 1);
	sys = sr_run_span(&r, "system", 0);
	assert_string_equal(sr_vspan_str(sys, "process.command_line"),
			    "echo from-system; exit 7");
	assert_int_equal(sr_vspan_int(sys, "process.exit.code"), 7);
	sh = proc_by_argv(&r, "sh -c echo from-system; exit 7");
	assert_string_equal(sh->parent, sys->span);
	assert_ended_with(&r, sh, 7);
	assert_non_null(sr_run_child(&r, sh->ring_pid));
	assert_int_equal(WEXITSTATUS(sr_run_child(&r, sh->ring_pid)->status),
			 7);
	sr_run_assert_tree(&r, NULL);
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_popen_spans_to_pclose(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "popen", NULL };
	const struct sr_vspan *p0, *p1;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "read from-popen\npclose r exited 1 code 0\n"
				   "to-popen\npclose w exited 1 code 4\n"
				   "bad mode 1 errno 22\n");
	assert_int_equal(sr_run_count(&r, "popen"), 2);
	p0 = sr_run_span(&r, "popen", 0);
	p1 = sr_run_span(&r, "popen", 1);
	assert_true(p0->started && p0->ended && p1->started && p1->ended);
	assert_int_equal(sr_vspan_int(p0, "process.exit.code"), 0);
	assert_int_equal(sr_vspan_int(p1, "process.exit.code"), 4);
	assert_string_equal(proc_by_argv(&r, "sh -c echo from-popen")->parent,
			    p0->span);
	assert_string_equal(proc_by_argv(&r, "sh -c cat; exit 4")->parent,
			    p1->span);
	sr_run_assert_tree(&r, NULL);
	sr_run_free(&r);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

struct pick {
	uint32_t pid;
	char name[SR_RING_NAME_MAX];
};

static void pick_ring(void *ctx, const char *name)
{
	struct pick *p = ctx;
	uint32_t pid;

	if (sr_ring_name_parse(name, &pid, NULL) && pid == p->pid)
		snprintf(p->name, sizeof(p->name), "%s", name);
}

/* Is the owner lock of pid's ring held (the process looks alive)? */
static bool owner_alive(const char *dir, uint32_t pid)
{
	struct pick p = { pid, "" };
	struct sr_reader *rd;
	char why[256];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	bool alive;

	sr_assert_cmp(dfd, >=, 0);
	sr_assert_cmp(sr_dir_scan(dfd, 0, pick_ring, &p), >=, 0);
	assert_true(p.name[0]);
	assert_int_equal(sr_reader_open(dfd, p.name, SR_READER_RDONLY, &rd, why,
					sizeof(why)),
			 0);
	alive = sr_reader_owner_alive(rd);
	sr_reader_free(rd);
	close(dfd);
	return alive;
}

static void shim_close_all_fds_keeps_ring_alive(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { prog("progs/shim_procs"), "closeall", NULL,
			       NULL };
	struct sr_run_opts o = { .shim = true, .dir = dir };
	const struct sr_vspan *sp;
	char buf[256] = "";
	size_t n = 0;
	int in, out, st;
	pid_t pid;
	ssize_t k;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "after-closeall\nspawn 0 exit 0\n");
	sp = sr_run_span(&r, "spawn", 0);
	assert_non_null(sp);
	assert_string_equal(proc_by_argv(&r, "echo after-closeall")->parent,
			    sp->span);
	assert_ended_with(&r, sr_run_by_id(&r, sp->parent), 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);

	/* while it waits, after closing everything, its ring is alive */
	dir = sr_tmpdir("shim");
	o.dir = dir;
	argv[2] = "hold";
	pid = sr_run_start(&o, argv, &in, &out);
	while (!strstr(buf, "spawn 0 exit 0\n") && n < sizeof(buf) - 1 &&
	       (k = read(out, buf + n, sizeof(buf) - 1 - n)) > 0) {
		n += (size_t)k;
		buf[n] = 0;
	}
	assert_non_null(strstr(buf, "spawn 0 exit 0\n"));
	assert_true(owner_alive(dir, (uint32_t)pid));
	close(in);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sr_assert_exited(st, 0);
	assert_false(owner_alive(dir, (uint32_t)pid));
	close(out);
	free((char *)argv[0]);
	sr_tmpdir_free(dir);
}

static void shim_signal_handler_reenters_hooks(void **state)
{
	char *dir = sr_tmpdir("shim");
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	const char *argv[4] = { prog("progs/shim_procs"), "signal", NULL,
				NULL };
	const char *lanes[] = { "SPANRING_LANE_SIZE=1048576", NULL };
	size_t refused = 0;
	struct sr_run r;

	(void)state;
	if (sr_tsan_build()) {
		/* the untraced run is the reference, and TSan's runtime in
		 * the program reports the handler's connect itself */
		print_message("[  SKIPPED ] under TSan: it reports the "
			      "program's own calls in its handler\n");
		close(s);
		free((char *)argv[0]);
		sr_tmpdir_free(dir);
		skip();
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* bound, never listening: connects are refused at once */
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	argv[2] = sr_strf("%d", ntohs(a.sin_port));
	/* no sidecar drains the ring: lanes big enough for every span */
	sr_run_both(&r, dir, argv, lanes);
	assert_string_equal(r.out, "refused 1 handled 1\n");
	for (size_t i = 0; i < r.nspans; i++)
		if (!strcmp(r.spans[i].name, "connect") && r.spans[i].err &&
		    !strcmp(r.spans[i].err, "Connection refused"))
			refused++;
	sr_assert_cmp(refused, >=, 300);
	assert_int_equal(refused, sr_run_count(&r, "connect"));
	assert_int_equal(r.dropped, 0);
	sr_run_free(&r);
	close(s);
	free((char *)argv[0]);
	free((char *)argv[2]);
	sr_tmpdir_free(dir);
}

static void killed_leaves_span_open(const char *cmd, int sig)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	const struct sr_vspan *p;
	struct sr_run r;

	sr_run_both(&r, dir, argv, NULL);
	sr_assert_killed(r.status, sig);
	assert_int_equal(r.nrings, 1);
	p = sr_run_span(&r, "process", 0);
	assert_non_null(p);
	assert_true(p->started);
	assert_false(p->ended);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* A traced parent that reaps a killed child says how it died. */
static void shim_parent_reports_child_signal(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/sh", "-c",
			       "/bin/sh -c 'kill -SEGV $$'; echo rc=$?", NULL };
	const struct sr_vspan *outer, *inner;
	const struct sr_vchild *c;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_string_equal(r.out, "rc=139\n");
	outer = proc_by_argv(&r,
			     "/bin/sh -c /bin/sh -c 'kill -SEGV $$'; echo rc=$?");
	inner = proc_by_argv(&r, "/bin/sh -c kill -SEGV $$");
	assert_true(inner->started && !inner->ended);
	assert_ended_with(&r, outer, 0);
	c = sr_run_child(&r, inner->ring_pid);
	if (!c) {
		sr_run_dump(&r);
		fail_msg("no CHILD_EXIT for pid %u", inner->ring_pid);
	}
	assert_true(WIFSIGNALED(c->status));
	assert_int_equal(WTERMSIG(c->status), SIGSEGV);
	assert_string_equal(c->trace, inner->trace);
	assert_int_equal(c->ring_pid, outer->ring_pid);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_sigsegv_leaves_process_span_open(void **state)
{
	(void)state;
	killed_leaves_span_open("kill -SEGV $$", SIGSEGV);
}

static void shim_sigkill_leaves_process_span_open(void **state)
{
	(void)state;
	killed_leaves_span_open("kill -KILL $$", SIGKILL);
}

SR_TEST_MAIN(cmocka_unit_test(shim_true_process_span),
	     cmocka_unit_test(shim_shell_pipeline_is_one_tree),
	     cmocka_unit_test(shim_coreutils_ls_cat),
	     cmocka_unit_test(shim_env_i_child_stays_traced),
	     cmocka_unit_test(shim_execve_explicit_envp_stays_traced),
	     cmocka_unit_test(shim_failed_exec_span_has_error),
	     cmocka_unit_test(shim_fork_child_gets_own_ring),
	     cmocka_unit_test(shim_vfork_exec_child_traced),
	     cmocka_unit_test(shim_subshell_vfork_children_under_fork),
	     cmocka_unit_test(shim_posix_spawn_spans),
	     cmocka_unit_test(shim_system_span_and_status),
	     cmocka_unit_test(shim_popen_spans_to_pclose),
	     cmocka_unit_test(shim_close_all_fds_keeps_ring_alive),
	     cmocka_unit_test(shim_signal_handler_reenters_hooks),
	     cmocka_unit_test(shim_parent_reports_child_signal),
	     cmocka_unit_test(shim_sigsegv_leaves_process_span_open),
	     cmocka_unit_test(shim_sigkill_leaves_process_span_open))
