/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what every test binary shares: cmocka, a main that can list
 * its tests and run one by name (tests/run.sh runs each test alone, with a
 * timeout), and small helpers for temporary directories and paths.
 */
#ifndef SR_TEST_HARNESS_H
#define SR_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/*
 * Asserts `a op b` over integers (op: == != < <= > >=), each side
 * evaluated once; on failure prints the expression and both values, e.g.
 * "n > 0: 0 > 0 is false". sr_assert_cmp compares as intmax_t,
 * sr_assert_ucmp as uintmax_t (sizes, counters, positions).
 */
#define sr_assert_cmp(a, op, b)                                                \
	do {                                                                   \
		intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);               \
		if (!(a_ op b_))                                               \
			fail_msg("%s %s %s: %jd %s %jd is false", #a, #op, #b, \
				 a_, #op, b_);                                 \
	} while (0)
#define sr_assert_ucmp(a, op, b)                                               \
	do {                                                                   \
		uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);            \
		if (!(a_ op b_))                                               \
			fail_msg("%s %s %s: %ju %s %ju is false", #a, #op, #b, \
				 a_, #op, b_);                                 \
	} while (0)
/* The same for floating point values (durations, ratios), as double. */
#define sr_assert_fcmp(a, op, b)                                             \
	do {                                                                 \
		double a_ = (double)(a), b_ = (double)(b);                   \
		if (!(a_ op b_))                                             \
			fail_msg("%s %s %s: %g %s %g is false", #a, #op, #b, \
				 a_, #op, b_);                               \
	} while (0)

/* Asserts that a wait status is a normal exit with code; on failure
 * prints what happened ("killed by signal 9", "exited 3"). */
#define sr_assert_exited(status, code) \
	sr_assert_exited_at((status), (code), #status, __FILE__, __LINE__)
void sr_assert_exited_at(int status, int code, const char *expr,
			 const char *file, int line);

/* Asserts that a wait status is a death by signal sig; on failure prints
 * what happened. */
#define sr_assert_killed(status, sig) \
	sr_assert_killed_at((status), (sig), #status, __FILE__, __LINE__)
void sr_assert_killed_at(int status, int sig, const char *expr,
			 const char *file, int line);

/* main(): no argument runs all; --list prints names; --run NAME runs one. */
int sr_test_main(const struct CMUnitTest *tests, size_t n, int argc,
		 char **argv);

#define SR_TEST_MAIN(...)                                                     \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		static const struct CMUnitTest tests_[] = { __VA_ARGS__ };    \
		return sr_test_main(tests_,                                   \
				    sizeof(tests_) / sizeof(tests_[0]), argc, \
				    argv);                                    \
	}

/* A fresh private directory under $TMPDIR (or /tmp), mode 0700; removed
 * recursively by sr_tmpdir_free(). Fails the test on error. */
char *sr_tmpdir(const char *tag);
void sr_tmpdir_free(char *dir);

/* Path of a built artefact: $SR_BUILD/<rel> (SR_BUILD defaults to
 * "build"). Returns a static buffer per call site use; copy if kept. */
const char *sr_build_path(const char *rel);

/* snprintf into a fresh heap string (test code only). */
char *sr_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file into a NUL-terminated heap buffer; NULL if absent. */
char *sr_read_file(const char *path, size_t *len);

/*
 * Asserts that the generated block `name` of the Markdown file md (the
 * lines between "<!-- begin: NAME" and "<!-- end: NAME -->", as
 * tools/docs.sh writes them) is `want`; on failure prints the first line
 * that differs, expected and actual, and "run make docs". Paths are
 * relative to the top of the tree, where the tests run.
 */
void sr_assert_doc_block(const char *md, const char *name, const char *want);

/* Rewrites the ring file at `path`, of this build's layout, in the layout
 * of version 2 or 3 (the header alone in the first page, the lane
 * controls after it; version 2 without the clock fields), by rename: a
 * mapping of the old file keeps the old. Fails the test on error. */
void sr_ring_file_downgrade(const char *path, uint32_t version);

/* The line of text that contains needle, as a heap copy (without its
 * newline); fails the test, showing text, when there is none. */
char *sr_line_with(const char *text, const char *needle);

/* Code points before the span label of a trace tree line (the label
 * follows "├─ " or "└─ "), so nesting can be compared. Fails the test on
 * a line without one. */
size_t sr_label_col(const char *line);

/* Code points of the longest line of text; only lines ended by '\n'
 * count. */
size_t sr_widest_line(const char *text);

/* True when the tests run against an ASan build (SR_SANITIZE names
 * "address"): programs that load the instrumented shim need the ASan
 * runtime preloaded before it. */
bool sr_asan_build(void);

/* True when the tests run against a TSan build (SR_SANITIZE names
 * "thread"): the helper programs then carry ThreadSanitizer's runtime,
 * which turns vfork into fork and reports the calls it deems
 * signal-unsafe in a signal handler of the program itself. */
bool sr_tsan_build(void);

/* Path of the ASan runtime, as the compiler knows it (static buffer,
 * computed once). Fails the test if the compiler cannot tell. */
const char *sr_asan_runtime(void);

#endif /* SR_TEST_HARNESS_H */
