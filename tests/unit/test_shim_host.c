/* SPDX-License-Identifier: MIT */
/*
 * The shim never harms or changes its host: a full ring filesystem, the
 * descriptor table, vfork and small-stack clones, popen/fclose/posix_spawn
 * results and errno, a program's own TRACEPARENT, identity changes, exec
 * limits, seccomp filters, the exit record of a full lane, pthread keys,
 * SPANRING_DEBUG=fd:N. Every program runs with and without the shim and
 * must print the same and end the same.
 */
#include "tests/lib/harness.h"
#include "tests/lib/shimrun.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/record.h"
#include "common/ringdir.h"

static char *host(void)
{
	return sr_strf("%s", sr_build_path("progs/shim_host"));
}

/* Runs `shim_host mode [arg]` with and without the shim; the same output
 * and status are asserted, the rings are read into *r. */
static void run_host(struct sr_run *r, const char *dir, const char *mode,
		     const char *arg, const char *const *env)
{
	char *prog = host();
	const char *argv[] = { prog, mode, arg, NULL };

	sr_run_both(r, dir, argv, env);
	free(prog);
}

/* The ASan runtime preloaded before an ASan build of the shim makes system
 * calls of its own (a seccomp allow-list kills it) and keeps shadow state
 * of every stack (a 4 KiB clone stack breaks it): such tests say so and
 * skip there. */
static bool skip_under_asan(const char *why)
{
	if (!sr_asan_build())
		return false;
	print_message("[  SKIPPED ] under the ASan runtime: %s\n", why);
	return true;
}

static void assert_out(const struct sr_run *r, const char *want)
{
	if (strcmp(r->out, want) != 0)
		fail_msg("stdout:\n%s\nwant:\n%s", r->out, want);
}

/* A tmpfs of `kib` KiB at dir/fs, or NULL (skipped) when mounting is not
 * allowed here. */
static char *small_tmpfs(const char *dir, unsigned kib)
{
	char *fs = sr_strf("%s/fs", dir),
	     *opt = sr_strf("size=%uk,mode=0700", kib);

	assert_int_equal(mkdir(fs, 0700), 0);
	if (mount("tmpfs", fs, "tmpfs", 0, opt) < 0) {
		print_message("[  SKIPPED ] cannot mount a tmpfs here: %s\n",
			      strerror(errno));
		free(opt);
		free(fs);
		return NULL;
	}
	free(opt);
	return fs;
}

static void unmount_tmpfs(char *fs)
{
	umount2(fs, MNT_DETACH);
	free(fs);
}

/* 1. A full ring filesystem: every traced program still runs; those that
 * found no room ran untraced and were counted. */
static void shim_full_ring_filesystem_no_sigbus(void **state)
{
	char *dir = sr_tmpdir("shimhost"), *fs = small_tmpfs(dir, 256);
	const char *argv[] = { "/bin/sh", "-c",
			       "i=0; while [ $i -lt 60 ]; do /bin/true || "
			       "echo \"true failed: $?\"; i=$((i+1)); done; "
			       "echo done",
			       NULL };
	struct sr_run r;
	int dfd;

	(void)state;
	if (!fs) {
		skip();
		return;
	}
	sr_run_both(&r, fs, argv, NULL);
	assert_out(&r, "done\n");
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	dfd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	/* the filesystem filled: later processes were refused, counted */
	if (sr_dir_refused(dfd) == 0)
		fail_msg("no ring refused on a 256 KiB filesystem (%zu rings)",
			 r.nrings);
	assert_true(r.nrings > 0);
	close(dfd);
	sr_run_free(&r);
	unmount_tmpfs(fs);
	sr_tmpdir_free(dir);
}

/* 1b. The filesystem fills while a traced program runs: its records are
 * dropped and counted, it does not fault, and its end is still recorded
 * (the lane's reserve was backed before). */
static void shim_filesystem_filled_while_running(void **state)
{
	char *dir = sr_tmpdir("shimhost"), *fs = small_tmpfs(dir, 1024);
	char *prog = host(), *filler, buf[64] = "";
	const char *argv[] = { prog, "fill", NULL };
	struct sr_run_opts o = { .shim = true };
	const struct sr_vspan *p;
	struct sr_run r = { 0 };
	int in, out, st, fd;
	ssize_t n;
	pid_t pid;

	(void)state;
	if (!fs) {
		skip();
		free(prog);
		return;
	}
	o.dir = fs;
	pid = sr_run_start(&o, argv, &in, &out);
	n = read(out, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	assert_string_equal(buf, "ready\n");
	/* fill every byte left */
	filler = sr_strf("%s/filler", fs);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	while (write(fd, buf, 1) == 1 &&
	       posix_fallocate(fd, 0, lseek(fd, 0, SEEK_END) + 65536) == 0)
		lseek(fd, 0, SEEK_END);
	while (write(fd, "x", 1) == 1)
		;
	close(fd);
	assert_int_equal(write(in, "go\n", 3), 3);
	close(in);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("program ended with status 0x%x, want exit 0", st);
	n = read(out, buf, sizeof(buf) - 1);
	close(out);
	unlink(filler);
	sr_run_read_rings(&r, fs);
	assert_true(r.dropped > 0);
	p = sr_run_span(&r, "process", 0);
	assert_non_null(p);
	assert_true(p->ended);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 0);
	assert_null(p->err);
	assert_non_null(sr_run_span(&r, "before-fill", 0));
	sr_run_free(&r);
	free(filler);
	free(prog);
	unmount_tmpfs(fs);
	sr_tmpdir_free(dir);
}

/* 2. No descriptor: the program sees the same table, can open as many
 * files, and a descriptor number it picks is its own. */
static void shim_holds_no_descriptor(void **state)
{
	char *dir = sr_tmpdir("shimhost"), *file = sr_strf("%s/f800", dir);
	char *cmd = sr_strf("exec 800>%s; echo hello >&800; exec 800>&-; "
			    "cat %s; exec 512>%s.lock; flock -n 512 && "
			    "flock -n %s.lock true || echo second-lock-refused",
			    file, file, file, file);
	const char *argv[] = { "/bin/bash", "-c", cmd, NULL };
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "fds", NULL, NULL);
	/* same counts as without the shim (compared by run_host) */
	assert_non_null(strstr(r.out, "opened "));
	assert_int_equal(r.nprocess, 1);
	sr_run_free(&r);
	/* a program's fd 800 and 512 are its own: data lands in its file,
	 * its lock is a real lock */
	sr_run_both(&r, dir, argv, NULL);
	assert_out(&r, "hello\nsecond-lock-refused\n");
	sr_run_free(&r);
	free(cmd);
	free(file);
	sr_tmpdir_free(dir);
}

/* 3. A clone sharing memory on a 4 KiB stack can exec under the shim, and
 * the exec'd image is under a spawn span of the parent. */
static void shim_small_stack_clone_exec(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const struct sr_vspan *echo, *sp;
	struct sr_run r;

	(void)state;
	if (skip_under_asan(
		    "its shadow stacks do not follow a 4 KiB clone stack")) {
		sr_tmpdir_free(dir);
		skip();
	}
	run_host(&r, dir, "clone", NULL, NULL);
	assert_out(&r, "from-clone\nclone child 0\n");
	sr_run_assert_tree(&r, NULL);
	sp = sr_run_span(&r, "spawn", 0);
	assert_non_null(sp);
	echo = sr_run_process(&r,
			      (uint32_t)sr_vspan_int(sp, "process.child_pid"));
	assert_non_null(echo);
	assert_string_equal(echo->parent, sp->span);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 4. popen, pclose, fclose and posix_spawn as glibc's. */
static void shim_popen_fclose_spawn_as_glibc(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "popen", NULL, NULL);
	assert_out(&r, "fclose(popen) status 5\npclose(fopen) 0\n"
		       "read er-mode\ncloexec 1\npclose status 0\n"
		       "popen rw (nil) errno 22\n"
		       "posix_spawn rc 2 errno 2\nposix_spawnp rc 2 errno 2\n");
	/* both popen spans ended by their fclose / pclose */
	assert_int_equal(sr_run_count(&r, "popen"), 2);
	for (size_t i = 0; i < 2; i++)
		assert_true(sr_run_span(&r, "popen", i)->ended);
	assert_int_equal(sr_vspan_int(sr_run_span(&r, "popen", 0),
				      "process.exit.code"),
			 5);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_popen_errno_without_processes(void **state)
{
	char *dir = sr_tmpdir("shimhost"), *prog = host();
	const char *argv[] = { prog, "nproc", NULL };
	struct sr_run_opts with = { .shim = true, .dir = dir, .uid = 65534 };
	struct sr_run_opts without = { .shim = false,
				       .dir = dir,
				       .uid = 65534 };
	struct sr_run a, b;

	(void)state;
	if (getuid() != 0) {
		print_message(
			"[  SKIPPED ] needs root to run as another uid\n");
		skip();
	}
	/* the ring directory is nobody's, so the traced run records */
	assert_int_equal(chown(dir, 65534, 65534), 0);
	sr_run_cmd(&b, &without, argv);
	sr_run_cmd(&a, &with, argv);
	sr_run_assert_same(&a, &b);
	assert_out(&a, "popen failed errno 12\n");
	sr_run_read_rings(&a, dir);
	assert_int_equal(a.nrings, 1);
	sr_run_free(&a);
	sr_run_free(&b);
	free(prog);
	sr_tmpdir_free(dir);
}

/* 5. A TRACEPARENT the program gives its child is kept: the child joins
 * that trace. */
static void shim_program_traceparent_kept(void **state)
{
	static const char tp[] =
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	char *dir = sr_tmpdir("shimhost");
	const struct sr_vspan *sh;
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "traceparent", tp, NULL);
	assert_out(&r,
		   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n");
	sh = NULL;
	for (size_t i = 0; i < r.nspans; i++)
		if (!strcmp(r.spans[i].name, "process") &&
		    !strcmp(sr_vspan_argv(&r.spans[i]),
			    "sh -c echo $TRACEPARENT"))
			sh = &r.spans[i];
	assert_non_null(sh);
	assert_string_equal(sh->trace, "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(sh->parent, "0000000000f067aa0ba902b7");
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 6. Root becomes nobody with a clean environment: the shim stays out. */
static void shim_identity_change_not_followed(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	struct sr_run r;

	(void)state;
	if (getuid() != 0) {
		print_message("[  SKIPPED ] needs root to change identity\n");
		skip();
	}
	run_host(&r, dir, "setuid", NULL, NULL);
	assert_out(&r, "PATH=/usr/bin:/bin\n");
	/* the exec span is the parent's; env itself made no ring */
	assert_int_equal(r.nrings, 1);
	assert_int_equal(sr_run_count(&r, "exec"), 1);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 6b. An envp that says SPANRING_DISABLE=1 gets nothing added. */
static void shim_disabled_envp_not_injected(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const char *argv[] = { "/usr/bin/env", "-i", "SPANRING_DISABLE=1",
			       "/usr/bin/env", NULL };
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, NULL);
	assert_out(&r, "SPANRING_DISABLE=1\n");
	assert_int_equal(r.nrings, 1); /* the outer env only */
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 7. execl with 2000 arguments; the largest exec that works bare works
 * traced (the shim's variables are dropped rather than cause E2BIG). */
static void shim_exec_limits_as_glibc(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "execl", NULL, NULL);
	assert_out(&r, "2000\nexecl child 0\n");
	sr_run_free(&r);
	sr_tmpdir_free(dir);
	dir = sr_tmpdir("shimhost");
	run_host(&r, dir, "argmax", NULL, NULL);
	assert_non_null(strstr(r.out, "limit "));
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 8. An allow-list seccomp filter: the shim makes no system call after
 * it, the child runs untraced, the exit is recorded without getrusage. */
static void shim_seccomp_filter_respected(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const struct sr_vspan *p;
	struct sr_run r;

	(void)state;
	if (skip_under_asan("its own system calls are not on the allow-list")) {
		sr_tmpdir_free(dir);
		skip();
	}
	run_host(&r, dir, "seccomp", NULL, NULL);
	assert_out(&r, "before filter\nchild under filter\nchild 3\n");
	assert_int_equal(r.nrings, 1);
	p = sr_run_span(&r, "process", 0);
	assert_true(p->ended);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 0);
	assert_int_equal(sr_vspan_int(p, "process.memory.peak_rss"), LLONG_MIN);
	assert_non_null(sr_run_span(&r, "fork", 0));
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 8b. A sandbox refusing fallocate: the ring's first pages are backed
 * with MADV_POPULATE_WRITE instead, and the image is traced. */
static void shim_ring_made_without_fallocate(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const struct sr_vspan *p;
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "nofallocate", NULL, NULL);
	assert_out(&r, "fallocate refused: 1\n");
	if (r.nrings != 2)
		fail_msg("%zu rings, expected 2 (shim_host's, true's)",
			 r.nrings);
	for (int i = 0; (p = sr_run_span(&r, "process", i)); i++) {
		const char *name = sr_vspan_str(p, "process.executable.name");

		if (name && !strcmp(name, "true"))
			break;
	}
	if (!p)
		fail_msg("no process span of true among the rings' spans");
	assert_true(p->ended);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* 9. A lane filled by a burst still takes the process's end. */
static void shim_exit_recorded_when_lane_full(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const struct sr_vspan *p;
	struct sr_run r;

	(void)state;
	run_host(&r, dir, "burst", NULL, NULL);
	assert_out(&r, "burst done\n");
	assert_true(r.dropped > 0);
	p = sr_run_span(&r, "process", 0);
	assert_non_null(p);
	assert_true(p->ended);
	assert_null(p->err);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* The API called from a signal handler that interrupted it on the same
 * thread says -EBUSY (and records nothing); between calls it records. */
static void shim_api_busy_in_nested_handler(void **state)
{
	char *dir = sr_tmpdir("shimhost"), *prog = host();
	const char *argv[] = { prog, "ebusy", NULL };
	const char *env[] = { "SPANRING_LANE_SIZE=16777216", NULL };
	struct sr_run_opts o = { .shim = true, .env = env };
	struct sr_run r;

	(void)state;
	o.dir = dir;
	sr_run_cmd(&r, &o, argv);
	assert_out(&r, "busy seen, handled seen, bad 0\n");
	sr_run_read_rings(&r, dir);
	assert_int_equal(r.faults, 0);
	assert_non_null(sr_run_span(&r, "in-handler", 0));
	sr_run_free(&r);
	free(prog);
	sr_tmpdir_free(dir);
}

/* 10. Every pthread key is the program's; SPANRING_DEBUG=fd:1 speaks in
 * the process it was given to, not in its children's stdout. */
static void shim_keys_and_debug_fd(void **state)
{
	char *dir = sr_tmpdir("shimhost");
	const char *env[] = { "SPANRING_DEBUG=fd:1", "SPANRING_LANES=1", NULL };
	const char *argv[] = { "/bin/sh", "-c", "/bin/echo a; /bin/echo b",
			       NULL };
	struct sr_run_opts o = { .shim = true, .env = env };
	struct sr_run r;
	int lines = 0;

	(void)state;
	run_host(&r, dir, "keys", NULL, NULL);
	assert_non_null(strstr(r.out, "keys "));
	sr_run_free(&r);
	o.dir = dir;
	sr_run_cmd(&r, &o, argv);
	for (const char *s = r.out; (s = strstr(s, "spanring[")); s++)
		lines++;
	/* the shell's own line only: the echo children got no fd:1 */
	if (lines != 1 || !strstr(r.out, "a\nb\n"))
		fail_msg("stdout:\n%s\nwant one spanring line and a, b", r.out);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(shim_full_ring_filesystem_no_sigbus),
	     cmocka_unit_test(shim_filesystem_filled_while_running),
	     cmocka_unit_test(shim_holds_no_descriptor),
	     cmocka_unit_test(shim_small_stack_clone_exec),
	     cmocka_unit_test(shim_popen_fclose_spawn_as_glibc),
	     cmocka_unit_test(shim_popen_errno_without_processes),
	     cmocka_unit_test(shim_program_traceparent_kept),
	     cmocka_unit_test(shim_identity_change_not_followed),
	     cmocka_unit_test(shim_disabled_envp_not_injected),
	     cmocka_unit_test(shim_exec_limits_as_glibc),
	     cmocka_unit_test(shim_seccomp_filter_respected),
	     cmocka_unit_test(shim_ring_made_without_fallocate),
	     cmocka_unit_test(shim_exit_recorded_when_lane_full),
	     cmocka_unit_test(shim_api_busy_in_nested_handler),
	     cmocka_unit_test(shim_keys_and_debug_fd))
