/* SPDX-License-Identifier: MIT */
/* The trace tree of `spanring run`, on fixed exporter lines. */
#include "tests/lib/harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "tools/run/tree.h"

#define TR "trace_0123456789abcdef0123456789abcdef"

/* A span object line: id and parent are the last hex digits of the ids
 * (parent 0: none); times in µs after 11:24:00. */
static char *span(unsigned id, unsigned parent, unsigned start_us,
		  unsigned end_us, const char *name, const char *data,
		  const char *error)
{
	char par[64] = "null";

	if (parent)
		snprintf(par, sizeof(par), "\"span_%024x\"", parent);
	return sr_strf("{\"object\":\"trace.span\",\"id\":\"span_%024x\","
		       "\"trace_id\":\"" TR "\",\"parent_id\":%s,"
		       "\"started_at\":\"2026-11-21T11:24:%02u.%06u+00:00\","
		       "\"ended_at\":\"2026-11-21T11:24:%02u.%06u+00:00\","
		       "\"span_data\":{\"type\":\"custom\",\"name\":\"%s\","
		       "\"data\":%s},\"error\":%s}",
		       id, par, start_us / 1000000, start_us % 1000000,
		       end_us / 1000000, end_us % 1000000, name, data,
		       error ? error : "null");
}

static char *trace_line(const char *name)
{
	return sr_strf("{\"object\":\"trace\",\"id\":\"" TR "\","
		       "\"workflow_name\":\"%s\",\"group_id\":null,"
		       "\"metadata\":null}",
		       name);
}

/* Adds the lines (freeing them), renders, returns the text. */
static char *render(struct sr_tree *t, char **lines, size_t n,
		    const struct sr_tree_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		sr_tree_add_line(t, lines[i], strlen(lines[i]));
		free(lines[i]);
	}
	assert_int_equal(sr_tree_render(t, f, o), 0);
	fclose(f);
	return buf;
}

static size_t count_of(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

/* sh forks, the child execs ls; one connect; the shell's own exit. */
static size_t sh_lines(char **l)
{
	size_t n = 0;

	l[n++] = trace_line("sh");
	l[n++] = span(5, 4, 1500, 3000, "process",
		      "{\"process.pid\":101,\"process.command_args\":"
		      "[\"ls\",\"/nonexistent\"],\"process.exit.code\":2}",
		      NULL);
	l[n++] = span(4, 3, 1000, 1400, "exec",
		      "{\"process.command_args\":[\"ls\",\"/nonexistent\"]}",
		      NULL);
	l[n++] = span(3, 2, 900, 1000, "process",
		      "{\"process.pid\":101,\"process.executable.name\":\"sh\","
		      "\"process.command_args\":[\"sh\",\"-c\","
		      "\"true; ls /nonexistent; exit 3\"]}",
		      NULL);
	l[n++] = span(2, 1, 800, 900, "fork",
		      "{\"process.pid\":100,\"process.child_pid\":101}", NULL);
	l[n++] = span(
		6, 1, 4000, 4100, "connect",
		"{\"server.address\":\"127.0.0.1\",\"server.port\":8080,"
		"\"network.transport\":\"tcp\",\"network.type\":\"ipv4\"}",
		"{\"message\":\"Connection refused\",\"data\":{\"errno\":111}}");
	l[n++] =
		span(1, 0, 0, 1500000, "process",
		     "{\"process.pid\":100,\"process.command_args\":[\"sh\",\"-c\","
		     "\"true; ls /nonexistent; exit 3\"],\"process.exit.code\":3}",
		     NULL);
	return n;
}

static void tree_nests_spans_by_parent(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[16], *out, *sh, *fork, *child, *exec, *ls, *conn;
	size_t n = sh_lines(l);

	(void)state;
	out = render(t, l, n, &o);
	assert_non_null(strstr(out, "trace sh  " TR "  6 spans\n"));
	sh = sr_line_with(out, "process sh -c 'true; ls /nonexistent; exit 3'");
	fork = sr_line_with(out, "fork");
	child = sr_line_with(out, "process sh (forked)  pid 101");
	exec = sr_line_with(out, "exec ls /nonexistent");
	ls = sr_line_with(out, "process ls /nonexistent");
	conn = sr_line_with(out, "connect 127.0.0.1:8080");
	assert_non_null(strstr(sh, "pid 100  exit 3"));
	assert_non_null(strstr(ls, "pid 101  exit 2"));
	assert_non_null(strstr(fork, "fork → pid 101"));
	assert_non_null(strstr(conn, "tcp  error: Connection refused"));
	assert_int_equal(sr_label_col(fork), sr_label_col(sh) + 3);
	assert_int_equal(sr_label_col(child), sr_label_col(fork) + 3);
	assert_int_equal(sr_label_col(exec), sr_label_col(child) + 3);
	assert_int_equal(sr_label_col(ls), sr_label_col(exec) + 3);
	assert_int_equal(sr_label_col(conn), sr_label_col(fork));
	/* children by start time: the fork before the connect */
	assert_non_null(strstr(out, "fork"));
	assert_non_null(strstr(out, "connect"));
	/* fork's line comes before connect's */
	sr_assert_ucmp(strstr(out, "fork") - out, <,
		       strstr(out, "connect") - out);
	assert_non_null(strstr(sh, "  +0.000s    1.50s  "));
	assert_non_null(strstr(ls, "  +0.002s   1.50ms  "));
	free(sh), free(fork), free(child), free(exec), free(ls), free(conn);
	free(out);
	sr_tree_free(t);
}

static void tree_missing_parent_goes_under_trace(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[2], *out, *a, *b;

	(void)state;
	l[0] = span(1, 0, 0, 10, "process", "{\"process.pid\":1}", NULL);
	l[1] = span(2, 0x99, 5, 6, "lost", "{\"k\":1}", NULL);
	out = render(t, l, 2, &o);
	a = sr_line_with(out, "process");
	b = sr_line_with(out, "lost {\"k\":1}");
	assert_int_equal(sr_label_col(a), sr_label_col(b));
	/* no trace object came: the trace is named by its id only */
	assert_non_null(strstr(out, "trace  " TR "  2 spans\n"));
	free(a), free(b), free(out);
	sr_tree_free(t);
}

static void tree_counts_malformed_lines(void **state)
{
	struct sr_tree *t = sr_tree_new();
	const char *bad[] = { "not json", "{\"object\":\"trace.span\"}",
			      "[1,2]",
			      "{\"object\":\"trace.span\",\"id\":\"x\"}", "{" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sr_tree_add_line(t, bad[i], strlen(bad[i])),
				 -EINVAL);
	assert_int_equal(sr_tree_add_line(t, "  \r\n", 4), 0);
	/* an empty name is still a span */
	{
		char *l = span(1, 0, 0, 1, "", "{}", NULL);

		assert_int_equal(sr_tree_add_line(t, l, strlen(l)), 0);
		free(l);
	}
	assert_int_equal(sr_tree_malformed(t), 5);
	assert_int_equal(sr_tree_spans(t), 1);
	sr_tree_free(t);
}

static void tree_skips_overlong_lines(void **state)
{
	struct sr_tree *t = sr_tree_new();
	size_t big = SR_TREE_LINE_MAX + 100;
	char *s1 = span(1, 0, 0, 10, "process", "{\"process.pid\":1}", NULL);
	char *s2 = span(2, 0, 0, 10, "process", "{\"process.pid\":2}", NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	fprintf(f, "%s\n{\"object\":\"trace.span\",\"x\":\"", s1);
	for (size_t i = 0; i < big; i++)
		fputc('a', f);
	fprintf(f, "\"}\n%s\n", s2);
	fclose(f);
	f = fmemopen(buf, len, "r");
	assert_non_null(f);
	assert_int_equal(sr_tree_load(t, f), 0);
	fclose(f);
	assert_int_equal(sr_tree_spans(t), 2);
	assert_int_equal(sr_tree_malformed(t), 1);
	free(buf), free(s1), free(s2);
	sr_tree_free(t);
}

static void tree_shows_duplicate_span_once(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[3], *out;

	(void)state;
	l[0] = span(1, 0, 0, 10, "process", "{\"process.pid\":7}", NULL);
	l[1] = span(1, 0, 0, 10, "process", "{\"process.pid\":7}", NULL);
	l[2] = span(2, 1, 1, 2, "exec", "{}", NULL);
	out = render(t, l, 3, &o);
	assert_int_equal(count_of(out, "pid 7"), 1);
	assert_non_null(strstr(out, "2 spans"));
	free(out);
	sr_tree_free(t);
}

static void tree_breaks_parent_cycles(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[3], *out;

	(void)state;
	l[0] = span(1, 2, 0, 10, "alpha", "{}", NULL);
	l[1] = span(2, 3, 0, 10, "beta", "{}", NULL);
	l[2] = span(3, 1, 0, 10, "gamma", "{}", NULL);
	out = render(t, l, 3, &o);
	assert_int_equal(count_of(out, "alpha"), 1);
	assert_int_equal(count_of(out, "beta"), 1);
	assert_int_equal(count_of(out, "gamma"), 1);
	free(out);
	sr_tree_free(t);
}

static void tree_escapes_control_characters(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[1], *out;

	(void)state;
	l[0] = span(1, 0, 0, 10, "process",
		    "{\"process.command_args\":[\"echo\",\"\\u001b[31mred\\n\","
		    "\"it's\",\"\\u0085\"]}",
		    NULL);
	out = render(t, l, 1, &o);
	assert_null(strchr(out, '\033'));
	assert_null(strstr(out, "\xc2\x85"));
	assert_non_null(strstr(out, "echo '\\u001b[31mred\\n' 'it'\\''s' "
				    "'\\u0085'"));
	free(out);
	sr_tree_free(t);
}

/* A trace id is untrusted text too: its header line shows it cleaned. */
static void tree_escapes_trace_ids(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[1], *out, *line;

	(void)state;
	l[0] = strdup("{\"object\":\"trace\",\"id\":\"trace_\xcc\\u001b[2J\","
		      "\"workflow_name\":\"w\",\"group_id\":null,"
		      "\"metadata\":null}");
	assert_non_null(l[0]);
	out = render(t, l, 1, &o);
	printf("rendered:\n%s", out);
	assert_null(strchr(out, '\033'));
	assert_null(strchr(out, '\xcc'));
	line = sr_line_with(out, "trace w");
	assert_non_null(strstr(line, "trace_\\xcc\\u001b[2J"));
	free(line), free(out);
	sr_tree_free(t);
}

static void tree_cuts_lines_to_width(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { .width = 70 };
	char *l[1], *out, *line;

	(void)state;
	l[0] = span(1, 0, 0, 10, "process",
		    "{\"process.pid\":42,\"process.command_args\":[\"cc\","
		    "\"-Wall\",\"-Wextra\",\"-O2\",\"-o\",\"program\","
		    "\"a_rather_long_source_file_name.c\",\"another_one.c\"],"
		    "\"process.exit.code\":1}",
		    NULL);
	out = render(t, l, 1, &o);
	sr_assert_ucmp(sr_widest_line(out), <=, 70);
	line = sr_line_with(out, "process cc -Wall");
	/* the argv is cut, the pid and exit code stay */
	assert_non_null(strstr(line, "…  pid 42  exit 1"));
	free(line), free(out);
	sr_tree_free(t);
}

static void tree_folds_deep_and_wide_trees(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { .max_depth = 3, .max_children = 4 };
	char *l[24], *out;
	size_t n = 0;

	(void)state;
	/* a chain 1 → 2 → … → 10, and 10 children under 1 */
	for (unsigned i = 1; i <= 10; i++)
		l[n++] = span(i, i - 1, i, 100, "link", "{}", NULL);
	for (unsigned i = 0; i < 10; i++) {
		char *data = sr_strf("{\"i\":%u}", i);

		l[n++] = span(0x100 + i, 1, 200 + i, 300, "kid", data, NULL);
		free(data);
	}
	out = render(t, l, n, &o);
	/* depth: 1, 2, 3 shown; 4..10 folded under 3 */
	assert_int_equal(count_of(out, "link"), 3);
	assert_non_null(strstr(out, "… 7 more\n"));
	/* width: span 2 and three kids shown of 11 children; 8 folded (7
	 * kids, nothing below them) */
	assert_int_equal(count_of(out, "kid"), 3);
	assert_non_null(strstr(out, "… 7 more\n"));
	assert_int_equal(count_of(out, "more"), 2);
	free(out);
	sr_tree_free(t);
}

static void tree_colours_only_when_asked(void **state)
{
	struct sr_tree *t1 = sr_tree_new(), *t2 = sr_tree_new();
	struct sr_tree_opts plain = { 0 }, color = { .color = true };
	char *l[16], *out1, *out2;
	size_t n;

	(void)state;
	n = sh_lines(l);
	out1 = render(t1, l, n, &plain);
	n = sh_lines(l);
	out2 = render(t2, l, n, &color);
	assert_null(strchr(out1, '\033'));
	assert_non_null(strstr(out2, "\033[31mexit 3\033[0m"));
	assert_non_null(strstr(out2, "\033[1mprocess\033[0m"));
	free(out1), free(out2);
	sr_tree_free(t1);
	sr_tree_free(t2);
}

static void tree_reads_console_exporter_lines(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[2], *out,
		*s = span(1, 0, 0, 10, "process", "{\"process.pid\":9}", NULL);

	(void)state;
	l[0] = sr_strf("[Exporter] Export trace_id=" TR ", name=my job");
	l[1] = sr_strf("[Exporter] Export span: %s", s);
	out = render(t, l, 2, &o);
	assert_non_null(strstr(out, "trace my job  " TR "  1 span\n"));
	assert_non_null(strstr(out, "process pid 9"));
	assert_int_equal(sr_tree_malformed(t), 0);
	free(s), free(out);
	sr_tree_free(t);
}

static void tree_shows_signal_dns_and_ipv6(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	char *l[3], *out;

	(void)state;
	l[0] = span(1, 0, 0, 10, "process",
		    "{\"process.pid\":3,\"process.exit.signal\":\"SIGSEGV\"}",
		    "{\"message\":\"process ended without closing the span\","
		    "\"data\":null}");
	l[1] = span(2, 1, 1, 2, "getaddrinfo",
		    "{\"dns.question.name\":\"localhost\",\"server.port\":\"http\","
		    "\"dns.answer.count\":2}",
		    NULL);
	l[2] = span(3, 1, 3, 4, "connect",
		    "{\"server.address\":\"::1\",\"server.port\":443,"
		    "\"network.transport\":\"tcp\",\"network.type\":\"ipv6\"}",
		    NULL);
	out = render(t, l, 3, &o);
	assert_non_null(strstr(out, "pid 3  signal SIGSEGV  error: process "
				    "ended without closing the span"));
	assert_non_null(strstr(out, "getaddrinfo localhost:http  2 answers"));
	assert_non_null(strstr(out, "connect [::1]:443  tcp"));
	free(out);
	sr_tree_free(t);
}

static void tree_folds_repeated_leaf_spans(void **state)
{
	struct sr_tree *t = sr_tree_new();
	struct sr_tree_opts o = { 0 };
	const char *enoent = "{\"message\":\"No such file or directory\","
			     "\"data\":{\"errno\":2}}";
	const char *argv = "{\"process.command_args\":[\"uname\"]}";
	char *l[6], *out;

	(void)state;
	l[0] = span(1, 0, 0, 100, "process", "{\"process.pid\":1}", NULL);
	/* execvp trying PATH: three failures, then the exec that worked */
	for (unsigned i = 0; i < 3; i++)
		l[1 + i] = span(2 + i, 1, 10 + i, 11 + i, "exec", argv, enoent);
	l[4] = span(5, 1, 20, 20, "exec", argv, NULL);
	l[5] = span(6, 5, 30, 40, "process",
		    "{\"process.command_args\":[\"uname\"],"
		    "\"process.exit.code\":0}",
		    NULL);
	out = render(t, l, 6, &o);
	assert_int_equal(count_of(out, "exec uname"), 2);
	assert_non_null(strstr(out, "├─ exec uname  error: No such file or "
				    "directory (×3)\n"));
	assert_non_null(strstr(out, "└─ exec uname\n"));
	free(out);
	sr_tree_free(t);
}

static void tree_formats_durations(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(sr_tree_fmt_dur(b, 812000), "812µs");
	assert_string_equal(sr_tree_fmt_dur(b, 1234567), "1.23ms");
	assert_string_equal(sr_tree_fmt_dur(b, 12340000), "12.3ms");
	assert_string_equal(sr_tree_fmt_dur(b, 1520000000), "1.52s");
	assert_string_equal(sr_tree_fmt_dur(b, 123000000000ull), "2m03s");
}

SR_TEST_MAIN(cmocka_unit_test(tree_nests_spans_by_parent),
	     cmocka_unit_test(tree_missing_parent_goes_under_trace),
	     cmocka_unit_test(tree_counts_malformed_lines),
	     cmocka_unit_test(tree_skips_overlong_lines),
	     cmocka_unit_test(tree_shows_duplicate_span_once),
	     cmocka_unit_test(tree_breaks_parent_cycles),
	     cmocka_unit_test(tree_escapes_control_characters),
	     cmocka_unit_test(tree_escapes_trace_ids),
	     cmocka_unit_test(tree_cuts_lines_to_width),
	     cmocka_unit_test(tree_folds_deep_and_wide_trees),
	     cmocka_unit_test(tree_colours_only_when_asked),
	     cmocka_unit_test(tree_reads_console_exporter_lines),
	     cmocka_unit_test(tree_shows_signal_dns_and_ipv6),
	     cmocka_unit_test(tree_folds_repeated_leaf_spans),
	     cmocka_unit_test(tree_formats_durations))
