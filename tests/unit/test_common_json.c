/* SPDX-License-Identifier: MIT */
/* common/'s JSON helpers: the one shape check and the key search
 * (jsonscan.h), and the writer's members (jsonw.h). */
#include "tests/lib/harness.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonscan.h"
#include "common/jsonw.h"

struct shape_case {
	const char *text;
	bool ok;
};

static const struct shape_case shapes[] = {
	{ "{}", true },
	{ " \t\r\n{ } \n", true },
	{ "{\"a\":1,\"b\":[1,{\"c\":null}]}", true },
	{ "{\"a\":\"}\"}", true },     /* a brace inside a string */
	{ "{\"a\":\"\\\"}\"}", true }, /* an escaped quote before it */
	{ "{\"a\":\"\\\\\"}", true },  /* an escaped backslash */
	{ "", false },
	{ "   ", false },
	{ "[]", false },
	{ "\"{}\"", false },
	{ "{", false },
	{ "{\"a\":[1,2}", false },   /* never closed */
	{ "{\"a\":\"}", false },     /* unterminated string */
	{ "{\"a\":\"\\\"}", false }, /* the quote is escaped */
	{ "{}}", false },
	{ "{} x", false },
	{ "{}{}", false },
	{ "x{}", false },
};

static void json_object_ok_shapes(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape_case *c = &shapes[i];
		bool got = sr_json_object_ok(c->text, strlen(c->text));

		if (got != c->ok) {
			print_error("sr_json_object_ok(%s): %d, expected %d\n",
				    c->text, got, c->ok);
			bad++;
		}
	}
	sr_assert_ucmp(bad, ==, 0);
}

/* The length is the bound: bytes past n are never looked at. */
static void json_object_ok_reads_n_bytes(void **state)
{
	const char *s = "{\"a\":1}garbage";

	(void)state;
	assert_true(sr_json_object_ok(s, 7));
	assert_false(sr_json_object_ok(s, 6));
	assert_false(sr_json_object_ok(s, 8));
}

/* The C API's per-span check reads the ends only. */
static void json_object_framed_ends(void **state)
{
	(void)state;
	assert_true(sr_json_object_framed("{}", 2));
	assert_true(sr_json_object_framed(" {\"a\":1} \n", 10));
	/* the inside is the sidecar's to validate */
	assert_true(sr_json_object_framed("{\"a\":[}", 7));
	assert_false(sr_json_object_framed("{", 1));
	assert_false(sr_json_object_framed(" } ", 3));
	assert_false(sr_json_object_framed("[]", 2));
	assert_false(sr_json_object_framed("{} x", 4));
	assert_false(sr_json_object_framed("", 0));
	assert_false(sr_json_object_framed("{}", 1));
}

static void expect_text(struct sr_jw *w, const char *want)
{
	const char *got = sr_jw_cstr(w);

	if (w->overflow || strcmp(got, want))
		fail_msg("writer holds %s (overflow %d), expected %s", got,
			 w->overflow, want);
}

static void jw_members_commas(void **state)
{
	char buf[256];
	struct sr_jw w;

	(void)state;
	sr_jw_init(&w, buf, sizeof(buf));
	sr_jw_lit(&w, "{");
	sr_jw_member_str(&w, "s", "x\"y", 3);
	sr_jw_member_cstr(&w, "c", NULL);
	sr_jw_member_i64(&w, "i", -42);
	sr_jw_member_u64(&w, "u", 18446744073709551615ull);
	sr_jw_member_raw(&w, "r", "[1]", 3);
	sr_jw_member(&w, "o");
	sr_jw_lit(&w, "{");
	sr_jw_member_lit(&w, "in", "true");
	sr_jw_lit(&w, "}");
	sr_jw_member_lit(&w, "k\"q", "{}");
	sr_jw_lit(&w, "}");
	expect_text(&w, "{\"s\":\"x\\\"y\",\"c\":null,\"i\":-42,"
			"\"u\":18446744073709551615,\"r\":[1],"
			"\"o\":{\"in\":true},\"k\\\"q\":{}}");

	/* members alone (a fragment spliced into objects later) */
	sr_jw_init(&w, buf, sizeof(buf));
	sr_jw_member_cstr(&w, "a", "1");
	sr_jw_member_cstr(&w, "b", "2");
	expect_text(&w, "\"a\":\"1\",\"b\":\"2\"");
}

/* A member that does not fit is dropped whole with a rollback; the next
 * one still gets its comma right. */
static void jw_member_rollback(void **state)
{
	char buf[24];
	struct sr_jw w;
	size_t m;

	(void)state;
	sr_jw_init(&w, buf, sizeof(buf));
	sr_jw_lit(&w, "{");
	sr_jw_member_i64(&w, "a", 1);
	m = sr_jw_mark(&w);
	sr_jw_member_cstr(&w, "long", "more than the buffer holds");
	assert_true(w.overflow);
	sr_jw_rollback(&w, m);
	sr_jw_member_i64(&w, "b", 2);
	sr_jw_lit(&w, "}");
	expect_text(&w, "{\"a\":1,\"b\":2}");
}

/* sr_json_find() finds what memmem() finds: at the start, the end, after
 * false starts, never past n, never a pattern cut by the end. */
static void json_find_as_memmem(void **state)
{
	static const struct {
		const char *s, *k;
		long at; /* -1: not found */
	} cases[] = {
		{ "\"usage\":1", "\"usage\"", 0 },
		{ "{\"a\":\"usage\"}", "\"usage\"", 5 },
		{ "{\"u\":\"us\",\"usage\"", "\"usage\"", 10 },
		{ "{\"usag\"", "\"usage\"", -1 },
		{ "usage\"", "\"usage\"", -1 },
		{ "x\"usage", "\"usage\"", -1 },
		{ "\"host.name\":\"h\"", "\"host.name\":", 0 },
		{ "{\"host.names\":1,\"host.name\":2}", "\"host.name\":", 16 },
		{ "", "\"u\"", -1 },
		{ "\"u", "\"u\"", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s, *k = cases[i].k;
		const char *got = sr_json_find(s, strlen(s), k, strlen(k));
		long at = got ? (long)(got - s) : -1;

		if (at != cases[i].at)
			fail_msg("find %s in %s: at %ld, expected %ld", k, s,
				 at, cases[i].at);
	}
	/* only n bytes are looked at */
	assert_null(sr_json_find("{\"usage\"}", 7, "\"usage\"", 7));
	assert_non_null(sr_json_find("{\"usage\"}", 8, "\"usage\"", 7));
}

/* sr_json_skip: where each value ends (the length it spans, -1: NULL). */
static void json_skip_ends(void **state)
{
	static const struct {
		const char *s;
		long len;
	} cases[] = {
		{ "{\"a\":[1,{\"b\":\"}]\\\"\"}],\"c\":2},x", 28 },
		{ "  [ 1 , 2 ] ,", 11 },
		{ "123,4", 3 },
		{ "-1.5e3}", 6 },
		{ "true ", 4 },
		{ "null", 4 },
		{ "\"a\\\\\"b", 5 },
		{ "\"a\\\"", -1 },
		{ "{\"a\":1", -1 },
		{ "[[]", -1 },
		{ "", -1 },
		{ "   ", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s, *end = s + strlen(s);
		const char *got = sr_json_skip(s, end);
		long len = got ? (long)(got - s) : -1;

		if (len != cases[i].len)
			fail_msg("skip %s: %ld bytes, expected %ld", s, len,
				 cases[i].len);
	}
	/* a scalar at the top ends at a NUL too; nothing at or past end is
	 * read */
	static const char nul[] = "12\0"
				  "34",
			  four[] = "1234", list[] = "[1,2]";

	assert_ptr_equal(sr_json_skip(nul, nul + 5), nul + 2);
	assert_ptr_equal(sr_json_skip(four, four + 2), four + 2);
	/* the array's end is past `end`: not found */
	assert_null(sr_json_skip(list, list + 4));
}

SR_TEST_MAIN(cmocka_unit_test(json_object_ok_shapes),
	     cmocka_unit_test(json_skip_ends),
	     cmocka_unit_test(json_object_ok_reads_n_bytes),
	     cmocka_unit_test(json_object_framed_ends),
	     cmocka_unit_test(json_find_as_memmem),
	     cmocka_unit_test(jw_members_commas),
	     cmocka_unit_test(jw_member_rollback))
