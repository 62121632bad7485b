/* SPDX-License-Identifier: MIT */
/*
 * The shim in hostile or unusual environments: the program's output and
 * exit status never change, the reason for running untraced is written to
 * SPANRING_DEBUG and nowhere else; incoming context, hook selection and
 * SPANRING_DISABLE behave as documented.
 */
#include "tests/lib/harness.h"
#include "tests/lib/shimrun.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ringdir.h"

static const char *sh_argv[] = { "/bin/sh", "-c",
				 "echo out; echo err >&2; exit 3", NULL };

/* Runs sh_argv with and without the shim, SPANRING_DIR=ring_dir and
 * SPANRING_DEBUG=<base>/debug.log plus `extra`; asserts the runs match;
 * reads the rings when ring_dir is a directory; returns the debug text
 * ("" if none). */
static char *hostile_run(struct sr_run *r, const char *base,
			 const char *ring_dir, const char *extra, unsigned uid)
{
	char *dbg = sr_strf("%s/debug.log", base);
	char *dbg_env = sr_strf("SPANRING_DEBUG=%s", dbg);
	const char *env[] = { dbg_env, extra, NULL };
	struct sr_run_opts with = { .shim = true,
				    .dir = ring_dir,
				    .env = env,
				    .uid = uid };
	struct sr_run_opts without = with;
	struct sr_run bare;
	struct stat st;
	char *text;

	without.shim = false;
	sr_run_cmd(&bare, &without, sh_argv);
	sr_run_cmd(r, &with, sh_argv);
	sr_run_assert_same(r, &bare);
	assert_string_equal(r->out, "out\n");
	assert_string_equal(r->err, "err\n");
	sr_assert_exited(r->status, 3);
	sr_run_free(&bare);
	if (lstat(ring_dir, &st) == 0 && S_ISDIR(st.st_mode))
		sr_run_read_rings(r, ring_dir);
	text = sr_read_file(dbg, NULL);
	free(dbg);
	free(dbg_env);
	return text ? text : strdup("");
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("debug output lacks '%s':\n%s", want, text);
}

static void shim_missing_dir_runs_untraced(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/missing", base);
	struct sr_run r;
	char *dbg;

	(void)state;
	dbg = hostile_run(&r, base, dir, NULL, 0);
	assert_has(dbg, "untraced: ring directory unusable");
	assert_has(dbg, "No such file or directory");
	assert_int_equal(access(dir, F_OK),
			 -1); /* an explicit dir is never made */
	free(dbg);
	sr_run_free(&r);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_unwritable_dir_runs_untraced(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/ro", base);
	unsigned uid = geteuid() == 0 ? 65534 : 0;
	struct sr_run r;
	char *dbg;

	(void)state;
	assert_int_equal(mkdir(dir, 0500), 0);
	if (uid) {
		/* root writes anywhere: the program runs as nobody, who owns
		 * the read-only directory */
		assert_int_equal(chown(dir, uid, uid), 0);
		assert_int_equal(chmod(base, 0777), 0);
	}
	dbg = hostile_run(&r, base, dir, NULL, uid);
	assert_has(dbg, "untraced: cannot create ring");
	assert_has(dbg, "Permission denied");
	assert_int_equal(r.nrings, 0);
	free(dbg);
	sr_run_free(&r);
	chmod(dir, 0700);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_symlink_dir_refused(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *real = sr_strf("%s/real", base), *link = sr_strf("%s/link", base);
	struct sr_run r;
	char *dbg;

	(void)state;
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, link), 0);
	dbg = hostile_run(&r, base, link, NULL, 0);
	assert_has(dbg, "is a symlink, refused");
	sr_run_read_rings(&r, real);
	assert_int_equal(r.nrings, 0);
	free(dbg);
	sr_run_free(&r);
	free(real);
	free(link);
	sr_tmpdir_free(base);
}

static void shim_foreign_writable_dir_refused(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/open", base);
	char *sub = sr_strf("%s/uid-%u", dir, (unsigned)geteuid());
	char *count = sr_strf("%s/untraced.count", dir);
	struct sr_run r;
	struct stat st;
	char *dbg;

	(void)state;
	/* writable by anyone: the shim writes only into its own uid-<euid>/,
	 * so one planted there by someone else is refused and counted */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(symlink(base, sub), 0);
	dbg = hostile_run(&r, base, dir, NULL, 0);
	assert_has(dbg, "is a symlink, refused");
	assert_int_equal(r.nrings, 0);
	assert_int_equal(stat(count, &st), 0);
	assert_true(st.st_size >= 1);
	free(dbg);
	sr_run_free(&r);
	free(count);
	free(sub);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_full_dir_counts_refusal(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/full", base);
	struct sr_run r;
	struct stat st;
	char *dbg, *count;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	for (int i = 0; i < 2; i++) {
		char *f = sr_strf("%s/sr-%d-00000000000000%02d-8192.ring", dir,
				  1000 + i, i);

		close(open(f, O_CREAT | O_WRONLY, 0600));
		free(f);
	}
	dbg = hostile_run(&r, base, dir, "SPANRING_MAX_RINGS=2", 0);
	assert_has(dbg, "is full (cap reached)");
	assert_int_equal(r.nrings, 0);
	assert_int_equal(r.unreadable, 2);
	count = sr_strf("%s/%s", dir, SR_DIR_CAPPED_FILE);
	assert_int_equal(stat(count, &st), 0);
	assert_int_equal(st.st_size, 1);
	free(count);
	free(dbg);
	sr_run_free(&r);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_malformed_traceparent_ignored(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/rings", base);
	const struct sr_vspan *p;
	struct sr_run r;
	char *dbg;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	dbg = hostile_run(&r, base, dir, "TRACEPARENT=00-zz-nonsense-01", 0);
	assert_has(dbg, "TRACEPARENT=00-zz-nonsense-01: malformed, ignored");
	/* a new trace, the process at its root */
	assert_int_equal(r.ntraces, 1);
	p = sr_run_span(&r, "process", 0);
	assert_string_equal(p->parent, "");
	assert_string_equal(p->trace, r.traces[0].trace);
	assert_int_equal(sr_vspan_int(p, "process.exit.code"), 3);
	free(dbg);
	sr_run_free(&r);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_malformed_metadata_ignored(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/rings", base);
	const char *env[] = { "SPANRING_METADATA={\"a\":[1,2}",
			      "SPANRING_WORKFLOW=wf", "SPANRING_GROUP_ID=g1",
			      NULL };
	struct sr_run r;
	char *dbg;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	dbg = hostile_run(&r, base, dir, env[0], 0);
	assert_has(dbg, "SPANRING_METADATA: not a JSON object, ignored");
	assert_int_equal(r.ntraces, 1);
	assert_null(r.traces[0].metadata);
	free(dbg);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
	dir = sr_strf("%s/rings2", base);
	assert_int_equal(mkdir(dir, 0700), 0);
	sr_run_both(&r, dir, sh_argv, env + 1);
	assert_string_equal(r.traces[0].workflow, "wf");
	assert_string_equal(r.traces[0].group, "g1");
	sr_run_free(&r);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_traceparent_from_other_tool_honoured(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *env[] = {
		"TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-"
		"b7ad6b7169203331-01",
		"SPANRING_METADATA={\"run\":\"x\"}",
		NULL,
	};
	const char *argv[] = { "/bin/sh", "-c", "/bin/true", NULL };
	const struct sr_vspan *sh, *t;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, env);
	assert_int_equal(r.ntraces, 1);
	assert_string_equal(r.traces[0].trace,
			    "0af7651916cd43dd8448eb211c80319c");
	assert_string_equal(r.traces[0].metadata, "{\"run\":\"x\"}");
	sh = sr_run_span(&r, "process", 0);
	assert_string_equal(sh->parent, "00000000b7ad6b7169203331");
	assert_false(sh->flags & SR_SF_ROOT);
	sr_run_assert_tree(&r, "00000000b7ad6b7169203331");
	t = sr_run_span(&r, "process", 1);
	assert_non_null(t);
	assert_string_equal(t->trace, "0af7651916cd43dd8448eb211c80319c");
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_spanring_context_links_without_trace_record(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *env[] = {
		"SPANRING_CONTEXT=0af7651916cd43dd8448eb211c80319c-"
		"0123456789abcdef01234567",
		"TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-"
		"89abcdef01234567-01",
		NULL,
	};
	const char *argv[] = { "/bin/true", NULL };
	const struct sr_vspan *p;
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, env);
	assert_int_equal(r.ntraces, 0); /* the ancestor wrote it */
	p = sr_run_span(&r, "process", 0);
	assert_string_equal(p->trace, "0af7651916cd43dd8448eb211c80319c");
	assert_string_equal(p->parent, "0123456789abcdef01234567");
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

static void shim_disable_records_nothing(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/rings", base);
	struct sr_run r;
	char *dbg;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	dbg = hostile_run(&r, base, dir, "SPANRING_DISABLE=1", 0);
	assert_has(dbg, "untraced: SPANRING_DISABLE=1");
	assert_int_equal(r.nrings, 0);
	free(dbg);
	sr_run_free(&r);
	free(dir);
	sr_tmpdir_free(base);
}

static void shim_hooks_select_groups(void **state)
{
	char *dir = sr_tmpdir("shim");
	const char *argv[] = { "/bin/sh", "-c", "echo a | tr a b", NULL };
	const char *exec_only[] = { "SPANRING_HOOKS=exec", NULL };
	const char *proc_only[] = { "SPANRING_HOOKS=process,bogus", NULL };
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, argv, exec_only);
	assert_int_equal(sr_run_count(&r, "process"), 0);
	assert_int_equal(sr_run_count(&r, "fork"), 0);
	assert_int_equal(sr_run_count(&r, "exec"), 1);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
	dir = sr_tmpdir("shim");
	sr_run_both(&r, dir, argv, proc_only);
	assert_int_equal(sr_run_count(&r, "exec"), 0);
	assert_int_equal(sr_run_count(&r, "fork"), 2);
	sr_assert_cmp(sr_run_count(&r, "process"), >=, 3);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
}

/* No span, no trace object: a process that records nothing (hooks off,
 * no API call) leaves no empty trace; its first span brings the trace. */
static void shim_no_span_no_trace_object(void **state)
{
	char *dir = sr_tmpdir("shim"),
	     *host = sr_strf("%s", sr_build_path("progs/shim_host"));
	const char *none[] = { "SPANRING_HOOKS=none", NULL };
	const char *quiet[] = { "/bin/true", NULL };
	const char *spans[] = { host, "burst", NULL };
	struct sr_run r;

	(void)state;
	sr_run_both(&r, dir, quiet, none);
	assert_int_equal(r.nrings, 1);
	assert_int_equal(r.ntraces, 0);
	sr_run_free(&r);
	sr_tmpdir_free(dir);
	dir = sr_tmpdir("shim");
	sr_run_both(&r, dir, spans, none);
	assert_int_equal(r.ntraces, 1);
	assert_non_null(sr_run_span(&r, "burst", 0));
	assert_string_equal(sr_run_span(&r, "burst", 0)->trace,
			    r.traces[0].trace);
	sr_run_free(&r);
	free(host);
	sr_tmpdir_free(dir);
}

/* More variables than the shim copies: the exec gets the caller's envp
 * unchanged (the child is not linked), and the debug output says so. */
static void shim_huge_environment_passed_unchanged(void **state)
{
	char *base = sr_tmpdir("shimenv");
	char *dir = sr_strf("%s/rings", base);
	char *dbg = sr_strf("%s/debug.log", base);
	const char **env = calloc(SR_ENV_MAX + 8, sizeof(*env));
	const char *argv[] = { "/bin/sh", "-c", "exec /bin/true", NULL };
	struct sr_run_opts with = { .shim = true, .dir = dir, .env = env };
	struct sr_run_opts without = with;
	struct sr_run r, bare;
	char *text;
	size_t k = 0;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	env[k++] = sr_strf("SPANRING_DEBUG=%s", dbg);
	while (k < SR_ENV_MAX + 4) {
		env[k] = sr_strf("SR_PAD_%zu=x", k);
		k++;
	}
	without.shim = false;
	sr_run_cmd(&bare, &without, argv);
	sr_run_cmd(&r, &with, argv);
	sr_run_assert_same(&r, &bare);
	sr_run_read_rings(&r, dir);
	text = sr_read_file(dbg, NULL);
	assert_non_null(text);
	assert_has(text, "passed on unchanged: child not linked");
	/* both images traced, in two traces: the link was lost, nothing else */
	assert_int_equal(sr_run_count(&r, "process"), 2);
	assert_int_equal(r.ntraces, 2);
	free(text);
	for (size_t i = 0; i < k; i++)
		free((char *)env[i]);
	free(env);
	sr_run_free(&r);
	sr_run_free(&bare);
	free(dbg);
	free(dir);
	sr_tmpdir_free(base);
}

struct pidns_check {
	int dfd;
	uint64_t want; /* our pid namespace inode */
	int rings;
};

static void check_ring_pidns(void *ctx, const char *name)
{
	struct pidns_check *c = ctx;
	struct sr_ring_info *info;
	struct sr_reader *rr;
	char why[256];

	assert_int_equal(sr_reader_open(c->dfd, name, SR_READER_RDONLY, &rr,
					why, sizeof(why)),
			 0);
	info = malloc(sr_reader_info_size(rr));
	assert_non_null(info);
	assert_int_equal(sr_reader_info(rr, info), 0);
	if (info->owner_pidns != c->want)
		fail_msg("%s: owner_pidns %llu, want %llu", name,
			 (unsigned long long)info->owner_pidns,
			 (unsigned long long)c->want);
	c->rings++;
	free(info);
	sr_reader_free(rr);
}

/* Every ring of a process tree names the pid namespace: images started by
 * a spanring parent take it from SPANRING_PIDNS, which is trusted only
 * from this process or its parent; a forged or malformed value is
 * ignored (the latter with a debug line). */
static void shim_pidns_inherited_or_read(void **state)
{
	static const char *const forged[] = { "SPANRING_PIDNS=1:4242",
					      "SPANRING_PIDNS=x:y" };
	const char *argv[] = { "/bin/sh", "-c",
			       "/bin/true; /bin/sh -c 'exec /bin/true'", NULL };
	struct stat st;

	(void)state;
	assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
	for (size_t i = 0; i < 2; i++) {
		char *base = sr_tmpdir("shimenv");
		char *dir = sr_strf("%s/rings", base);
		char *dbg = sr_strf("%s/debug.log", base);
		char *dbg_env = sr_strf("SPANRING_DEBUG=%s", dbg);
		const char *env[] = { dbg_env, forged[i], NULL };
		struct sr_run_opts o = { .shim = true, .dir = dir, .env = env };
		struct pidns_check c = { .want = (uint64_t)st.st_ino };
		struct sr_run r;
		char *text;

		assert_int_equal(mkdir(dir, 0700), 0);
		sr_run_cmd(&r, &o, argv);
		sr_assert_exited(r.status, 0);
		c.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		sr_assert_cmp(c.dfd, >=, 0);
		sr_assert_cmp(sr_dir_scan(c.dfd, 0, check_ring_pidns, &c), >=,
			      0);
		/* sh, the two true and the inner sh: dash starts children
		 * with vfork, whose children make no ring of their own */
		assert_int_equal(c.rings, 4);
		close(c.dfd);
		text = sr_read_file(dbg, NULL);
		if (i == 1) {
			assert_non_null(text);
			assert_has(text,
				   "SPANRING_PIDNS=x:y: malformed, ignored");
		}
		free(text);
		sr_run_free(&r);
		free(dbg_env);
		free(dbg);
		free(dir);
		sr_tmpdir_free(base);
	}
}

/* The shim's variable tables (README.md, shim/README.md) show the
 * defaults and ranges common/limits.h holds: the numbers are written
 * there once, and a table that disagrees fails here. */
static void doc_row_has(const char *md, const char *var, const char *want)
{
	char *text = sr_read_file(md, NULL), *key = sr_strf("| `%s` |", var),
	     *line;

	assert_non_null(text);
	line = sr_line_with(text, key);
	if (!strstr(line, want))
		fail_msg("%s, row of %s: expected %s in\n  %s\n(the value is "
			 "common/limits.h's)",
			 md, var, want, line);
	free(line);
	free(key);
	free(text);
}

static void shim_docs_defaults_match_limits(void **state)
{
	static const char *const mds[] = { "README.md", "shim/README.md" };
	char *lanes = sr_strf("| %u |", SR_RING_DEFAULT_LANES),
	     *lanes_range = sr_strf("(%u..%u)", SR_RING_MIN_LANES,
				    SR_RING_MAX_LANES),
	     *size = sr_strf("| %u |", SR_RING_DEFAULT_LANE_SIZE),
	     *size_range = sr_strf("(%u..%u MiB)", SR_RING_MIN_LANE_SIZE,
				   SR_RING_MAX_LANE_SIZE >> 20),
	     *rings = sr_strf("| %u ", SR_DIR_MAX_RINGS);

	(void)state;
	for (size_t i = 0; i < sizeof(mds) / sizeof(*mds); i++) {
		doc_row_has(mds[i], "SPANRING_LANES", lanes);
		doc_row_has(mds[i], "SPANRING_LANES", lanes_range);
		doc_row_has(mds[i], "SPANRING_LANE_SIZE", size);
		doc_row_has(mds[i], "SPANRING_LANE_SIZE", size_range);
		doc_row_has(mds[i], "SPANRING_MAX_RINGS", rings);
	}
	free(lanes);
	free(lanes_range);
	free(size);
	free(size_range);
	free(rings);
}

SR_TEST_MAIN(cmocka_unit_test(shim_huge_environment_passed_unchanged),
	     cmocka_unit_test(shim_docs_defaults_match_limits),
	     cmocka_unit_test(shim_pidns_inherited_or_read),
	     cmocka_unit_test(shim_missing_dir_runs_untraced),
	     cmocka_unit_test(shim_unwritable_dir_runs_untraced),
	     cmocka_unit_test(shim_symlink_dir_refused),
	     cmocka_unit_test(shim_foreign_writable_dir_refused),
	     cmocka_unit_test(shim_full_dir_counts_refusal),
	     cmocka_unit_test(shim_malformed_traceparent_ignored),
	     cmocka_unit_test(shim_malformed_metadata_ignored),
	     cmocka_unit_test(shim_traceparent_from_other_tool_honoured),
	     cmocka_unit_test(shim_spanring_context_links_without_trace_record),
	     cmocka_unit_test(shim_disable_records_nothing),
	     cmocka_unit_test(shim_hooks_select_groups),
	     cmocka_unit_test(shim_no_span_no_trace_object))
