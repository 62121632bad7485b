/* SPDX-License-Identifier: MIT */
/* common/context (TRACEPARENT, SPANRING_CONTEXT) and the ISO time form
 * of common/clock: what one side writes, the other reads back. */
#include "tests/lib/harness.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/context.h"
#include "common/dec.h"

static const uint8_t trace[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3,
				   0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d,
				   0x0e, 0x0e, 0x47, 0x36 };
static const uint8_t span[12] = { 0x01, 0x02, 0x03, 0x04, 0x00, 0xf0,
				  0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };

static void expect_str(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("%s: %s, expected %s", what, got, want);
}

static void context_fmt_and_parse(void **state)
{
	char ctx[SR_CONTEXT_LEN], tp[SR_TRACEPARENT_LEN];
	uint8_t t[16], s[12], p[8];

	(void)state;
	sr_context_fmt(ctx, trace, span);
	expect_str("SPANRING_CONTEXT", ctx,
		   "4bf92f3577b34da6a3ce929d0e0e4736-0102030400f067aa0ba902b7");
	sr_traceparent_fmt(tp, trace, span);
	/* the parent id is the span id's last 8 bytes */
	expect_str("traceparent", tp,
		   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_true(sr_context_parse(ctx, t, s));
	assert_memory_equal(t, trace, 16);
	assert_memory_equal(s, span, 12);
	assert_true(sr_traceparent_parse(tp, t, p));
	assert_memory_equal(t, trace, 16);
	assert_memory_equal(p, span + 4, 8);
}

struct tp_case {
	const char *v;
	bool ok;
};

static const struct tp_case tps[] = {
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true },
	/* a later version may carry more fields */
	{ "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz", true },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz",
	  false },
	{ "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false },
	{ "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", false },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", false },
	{ "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false },
	{ "", false },
};

static void traceparent_parse_cases(void **state)
{
	uint8_t t[16], p[8];
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		bool got = sr_traceparent_parse(tps[i].v, t, p);

		if (got != tps[i].ok) {
			print_error("sr_traceparent_parse(%s): %d, expected "
				    "%d\n",
				    tps[i].v, got, tps[i].ok);
			bad++;
		}
	}
	assert_false(sr_traceparent_parse(NULL, t, p));
	sr_assert_ucmp(bad, ==, 0);
}

static void context_parse_refuses(void **state)
{
	uint8_t t[16], s[12];

	(void)state;
	assert_false(sr_context_parse(NULL, t, s));
	assert_false(sr_context_parse("", t, s));
	/* one digit short, one too many, wrong separator, zero ids */
	assert_false(sr_context_parse(
		"4bf92f3577b34da6a3ce929d0e0e4736-0102030400f067aa0ba902b", t,
		s));
	assert_false(sr_context_parse(
		"4bf92f3577b34da6a3ce929d0e0e4736-0102030400f067aa0ba902b70", t,
		s));
	assert_false(sr_context_parse(
		"4bf92f3577b34da6a3ce929d0e0e4736:0102030400f067aa0ba902b7", t,
		s));
	assert_false(sr_context_parse(
		"00000000000000000000000000000000-0102030400f067aa0ba902b7", t,
		s));
	assert_false(sr_context_parse(
		"4bf92f3577b34da6a3ce929d0e0e4736-000000000000000000000000", t,
		s));
}

/* Every time sr_fmt_iso writes (microseconds) parses back to itself. */
static void iso_round_trip(void **state)
{
	static const uint64_t times[] = {
		0,
		1000,
		1764659400123456000ull, /* 2025-12-02 07:10:00.123456 */
		951782400000000000ull,  /* 2000-02-29 */
		4102444799999999000ull, /* 2099-12-31T23:59:59.999999 */
	};
	char out[SR_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		uint64_t ns = 1;

		sr_fmt_iso(out, times[i]);
		if (!sr_parse_iso(out, strlen(out), &ns) || ns != times[i])
			fail_msg("%s parsed to %llu, expected %llu", out,
				 (unsigned long long)ns,
				 (unsigned long long)times[i]);
	}
}

struct iso_case {
	const char *s;
	bool ok;
	uint64_t ns;
};

static const struct iso_case isos[] = {
	{ "2026-11-21T11:24:00.769235+00:00", true, 1795260240769235000ull },
	{ "2026-11-21T11:24:00Z", true, 1795260240000000000ull },
	{ "2026-11-21T11:24:00.5Z", true, 1795260240500000000ull },
	{ "2026-11-21T11:24:00.123456789Z", true, 1795260240123456789ull },
	{ "2026-11-21T12:54:00+01:30", true, 1795260240000000000ull },
	{ "2026-11-21T09:24:00-02:00", true, 1795260240000000000ull },
	{ "1970-01-01T00:00:00Z", true, 0 },
	{ "1969-12-31T23:59:59Z", false, 0 },  /* before the epoch */
	{ "2026-11-21T11:24:00", false, 0 },   /* no zone */
	{ "2026-11-21T11:24:00.Z", false, 0 }, /* empty fraction */
	{ "2026-11-21T11:24:00.1234567890Z", false, 0 },
	{ "2026-11-21T11:24:00Zx", false, 0 }, /* trailing bytes */
	{ "2026-13-21T11:24:00Z", false, 0 },
	{ "2026-11-21T24:24:00Z", false, 0 },
	{ "2026-11-21 11:24:00Z", false, 0 },
	{ "2026-11-21T11:24:00+0000", false, 0 },
	{ "", false, 0 },
};

static void iso_parse_cases(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(isos) / sizeof(isos[0]); i++) {
		const struct iso_case *c = &isos[i];
		uint64_t ns = 7;
		bool got = sr_parse_iso(c->s, strlen(c->s), &ns);

		if (got != c->ok || (got && ns != c->ns) || (!got && ns != 7)) {
			print_error("sr_parse_iso(%s): %d, %llu; expected %d, "
				    "%llu\n",
				    c->s, got, (unsigned long long)ns, c->ok,
				    (unsigned long long)c->ns);
			bad++;
		}
	}
	sr_assert_ucmp(bad, ==, 0);
}

/* common/dec: what the shim's start formats and reads instead of stdio. */
static void dec_fmt_and_parse(void **state)
{
	static const struct {
		const char *in;
		bool ok;
		uint64_t v;
		size_t used;
	} cases[] = {
		{ "0", true, 0, 1 },
		{ "4026531836:x", true, 4026531836ull, 10 },
		{ "18446744073709551615", true, UINT64_MAX, 20 },
		{ "18446744073709551616", false, 0, 0 }, /* 2^64 */
		{ "99999999999999999999", false, 0, 0 },
		{ "", false, 0, 0 },
		{ ":12", false, 0, 0 },
		{ "-1", false, 0, 0 },
		{ " 7", false, 0, 0 },
	};
	char buf[SR_DEC_MAX + 1];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *end = sr_dec_parse(cases[i].in, &v);

		if (!cases[i].ok) {
			if (end)
				fail_msg("\"%s\": parsed as %llu, expected refused",
					 cases[i].in, (unsigned long long)v);
			continue;
		}
		if (!end || v != cases[i].v ||
		    (size_t)(end - cases[i].in) != cases[i].used)
			fail_msg("\"%s\": %s %llu, expected %llu (%zu digits)",
				 cases[i].in, end ? "parsed" : "refused",
				 (unsigned long long)(end ? v : 0),
				 (unsigned long long)cases[i].v, cases[i].used);
	}
	buf[sr_dec_fmt(buf, 0)] = 0;
	expect_str("0", buf, "0");
	buf[sr_dec_fmt(buf, 4294967295u)] = 0;
	expect_str("2^32-1", buf, "4294967295");
	buf[sr_dec_fmt(buf, UINT64_MAX)] = 0;
	expect_str("2^64-1", buf, "18446744073709551615");
}

SR_TEST_MAIN(cmocka_unit_test(dec_fmt_and_parse),
	     cmocka_unit_test(context_fmt_and_parse),
	     cmocka_unit_test(traceparent_parse_cases),
	     cmocka_unit_test(context_parse_refuses),
	     cmocka_unit_test(iso_round_trip),
	     cmocka_unit_test(iso_parse_cases))
