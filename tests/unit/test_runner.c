/* SPDX-License-Identifier: MIT */
/*
 * The test runner itself (tests/run.sh): a binary that cannot list its
 * tests fails the run, named and counted; sound binaries still pass.
 * The binaries are tests/progs/fake_test under the names test_fake_<mode>
 * in a build directory of their own.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/harness.h"

#define RUNNER "tests/run.sh"

/* A build directory holding tests/test_fake_<mode> for each mode. */
static char *fake_build(const char *const *modes, size_t n)
{
	char *dir = sr_tmpdir("runner");
	char *tests = sr_strf("%s/tests", dir);
	char fake[PATH_MAX];

	if (!realpath(sr_build_path("progs/fake_test"), fake))
		fail_msg("no %s: build it with make tests",
			 sr_build_path("progs/fake_test"));
	assert_int_equal(mkdir(tests, 0700), 0);
	for (size_t i = 0; i < n; i++) {
		char *link = sr_strf("%s/test_fake_%s", tests, modes[i]);

		assert_int_equal(symlink(fake, link), 0);
		free(link);
	}
	free(tests);
	return dir;
}

/* Runs the runner on build with extra arguments; returns its output and
 * stores its exit status. */
static char *run_runner(const char *build, const char *args, int *status)
{
	char *out_path = sr_strf("%s/runner.out", build);
	char *cmd = sr_strf("SR_TEST_TIMEOUT=20 %s '%s' %s >'%s' 2>&1", RUNNER,
			    build, args, out_path);
	char *out;
	int rc;

	if (access(RUNNER, X_OK) != 0)
		fail_msg("%s not found: run the tests from the source tree",
			 RUNNER);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	*status = WEXITSTATUS(rc);
	out = sr_read_file(out_path, NULL);
	assert_non_null(out);
	printf("runner output:\n%s", out);
	free(cmd);
	free(out_path);
	return out;
}

static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("expected \"%s\" in the runner's output, got:\n%s",
			 needle, text);
}

/* The last non-empty line of text, as a heap copy. */
static char *last_line(const char *text)
{
	size_t n = strlen(text);
	const char *b;

	while (n > 0 && text[n - 1] == '\n')
		n--;
	for (b = text + n; b > text && b[-1] != '\n'; b--)
		;
	return strndup(b, (size_t)(text + n - b));
}

static void runner_fails_binary_that_cannot_list(void **state)
{
	static const char *const modes[] = { "segv", "fail", "empty", "ok" };
	char *dir = fake_build(modes, 4);
	char *out, *last;
	int status;

	(void)state;
	out = run_runner(dir, "", &status);
	assert_int_not_equal(status, 0);
	assert_has(out, "FAIL test_fake_segv --list (killed by signal 11)");
	assert_has(out, "FAIL test_fake_fail --list (exit 1)");
	assert_has(out, "fake_test: cannot list");
	assert_has(out, "FAIL test_fake_empty --list (listed no test)");
	assert_has(out, "PASS fake_ok");
	assert_has(out, "failed: test_fake_empty(--list) "
			"test_fake_fail(--list) test_fake_segv(--list)\n");
	last = last_line(out);
	assert_string_equal(last, "1 passed, 3 failed");
	free(last);
	free(out);
	sr_tmpdir_free(dir);
}

static void runner_fails_unlisted_binary_whatever_the_globs(void **state)
{
	static const char *const modes[] = { "segv", "ok" };
	char *dir = fake_build(modes, 2);
	char *out, *last;
	int status;

	(void)state;
	/* The glob selects the sound binary's test only: a binary that
	 * cannot say what it holds may hold tests the glob selects. */
	out = run_runner(dir, "'fake_ok'", &status);
	assert_int_not_equal(status, 0);
	assert_has(out, "FAIL test_fake_segv --list (killed by signal 11)");
	last = last_line(out);
	assert_string_equal(last, "1 passed, 1 failed");
	free(last);
	free(out);
	sr_tmpdir_free(dir);
}

static void runner_passes_sound_binaries(void **state)
{
	static const char *const modes[] = { "ok" };
	char *dir = fake_build(modes, 1);
	char *out, *last;
	int status;

	(void)state;
	out = run_runner(dir, "", &status);
	assert_int_equal(status, 0);
	assert_has(out, "PASS fake_ok");
	last = last_line(out);
	assert_string_equal(last, "1 passed, 0 failed");
	free(last);
	free(out);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(runner_fails_binary_that_cannot_list),
	     cmocka_unit_test(runner_fails_unlisted_binary_whatever_the_globs),
	     cmocka_unit_test(runner_passes_sound_binaries))
