/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#if SR_HAVE_TSC
#include <cpuid.h>
#endif

#include "limits.h"

/* --- the TSC ------------------------------------------------------------- */

/* A (tsc, clock) pair: the narrowest window of up to `tries` readings,
 * stopping at one of at most `enough` ticks; the midpoint of the window. */
static void clock_pair(clockid_t id, int tries, uint64_t enough, uint64_t *tsc,
		       uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	struct timespec ts;

	for (int i = 0; i < tries && best > enough; i++) {
		uint64_t t0 = sr_tsc(), t1;

		clock_gettime(id, &ts);
		t1 = sr_tsc();
		if (t1 >= t0 && t1 - t0 < best) {
			best = t1 - t0;
			*tsc = t0 + (t1 - t0) / 2;
			*ns = (uint64_t)ts.tv_sec * 1000000000ull +
			      (uint64_t)ts.tv_nsec;
		}
	}
	if (best == UINT64_MAX) { /* the TSC went back: no midpoint */
		clock_gettime(id, &ts);
		*tsc = sr_tsc();
		*ns = (uint64_t)ts.tv_sec * 1000000000ull +
		      (uint64_t)ts.tv_nsec;
	}
}

void sr_anchor_take(struct sr_anchor *a)
{
	/* a reading interrupted between its two ticks is taken again: the
	 * midpoint of a narrow window is within a few ns of the clock's */
	clock_pair(CLOCK_REALTIME, 4, SR_ANCHOR_WINDOW_TICKS, &a->tsc, &a->ns);
}

bool sr_tsc_taggable(void)
{
	return SR_HAVE_TSC && sr_tsc() != 0 && sr_tsc() < SR_TSC_MAX;
}

/* The kernel's clock source is the TSC. */
static bool tsc_is_clocksource(void)
{
	char buf[16] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/"
		      "current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == 4 && memcmp(buf, "tsc\n", 4) == 0;
}

bool sr_tsc_usable(void)
{
#if SR_HAVE_TSC
	unsigned a, b, c, d;

	if (!tsc_is_clocksource() || !sr_tsc_taggable())
		return false;
	/* invariant TSC: CPUID 0x80000007 EDX bit 8 (Intel and AMD). Every
	 * x86-64 CPU made reports extended leaves up to at least 0x80000008
	 * (the address sizes), so the maximum is not asked first: a CPUID is a VM exit, ~6.5 us on a KVM guest, and this runs
	 * in a top-level image's constructor. */
	__cpuid(0x80000007u, a, b, c, d);
	(void)a, (void)b, (void)c;
	return (d >> 8) & 1;
#else
	return false;
#endif
}

/* The calibration: a first (tsc, monotonic ns) pair and the figure. */
static _Atomic uint64_t cal_tsc0, cal_mono0, cal_last_mono;
static _Atomic double cal_rate;

double sr_tsc_ns_per_tick(void)
{
	uint64_t t0, m0, t, m, last;
	double rate;

	if (!SR_HAVE_TSC)
		return 0;
	if (!atomic_load(&cal_mono0)) {
		struct timespec nap = { 0, SR_TSC_CALIBRATE_NS };
		uint64_t zero = 0;

		/* the narrowest of many readings at both ends: a window of
		 * ~50 ns over 10 ms is a few ppm */
		clock_pair(CLOCK_MONOTONIC, 16, 0, &t0, &m0);
		nanosleep(&nap, NULL);
		clock_pair(CLOCK_MONOTONIC, 16, 0, &t, &m);
		if (t <= t0 || m <= m0) /* no TSC to speak of */
			return 0;
		/* the first thread to finish sets the base; others use it */
		if (atomic_compare_exchange_strong(&cal_tsc0, &zero, t0)) {
			atomic_store(&cal_rate,
				     (double)(m - m0) / (double)(t - t0));
			atomic_store(&cal_last_mono, m);
			atomic_store(&cal_mono0, m0);
		}
		while (!atomic_load(&cal_mono0))
			; /* another thread is storing the base */
	}
	rate = atomic_load(&cal_rate);
	last = atomic_load(&cal_last_mono);
	if (sr_mono_ns() - last < 100000000ull)
		return rate;
	/* refine: the longer the baseline, the smaller the error */
	clock_pair(CLOCK_MONOTONIC, 4, SR_ANCHOR_WINDOW_TICKS, &t, &m);
	t0 = atomic_load(&cal_tsc0);
	m0 = atomic_load(&cal_mono0);
	if (t > t0 && m > m0 &&
	    atomic_compare_exchange_strong(&cal_last_mono, &last, m)) {
		rate = (double)(m - m0) / (double)(t - t0);
		atomic_store(&cal_rate, rate);
	}
	return rate;
}

uint64_t sr_tsc_to_ns(const struct sr_anchor *a, double ns_per_tick,
		      uint64_t tsc)
{
	uint64_t ticks = tsc >= a->tsc ? tsc - a->tsc : a->tsc - tsc;
	uint64_t base = a->ns < SR_TSC_MAX ? a->ns : SR_TSC_MAX, dn;
	/* the distance in double (exact to well under a ns for any honest
	 * one), the anchor's ns kept exact in integers */
	double d = (double)ticks * ns_per_tick;

	if (!(d >= 0)) /* a negative rate, or NaN */
		d = 0;
	if (d > (double)SR_TSC_MAX)
		d = (double)SR_TSC_MAX;
	dn = (uint64_t)(d + 0.5);
	if (tsc >= a->tsc)
		return base + dn > SR_TSC_MAX ? SR_TSC_MAX : base + dn;
	return dn > base ? 0 : base - dn;
}

/* --- text form ----------------------------------------------------------- */

static void digits(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Days since 1970-01-01 to civil date (Howard Hinnant's algorithm):
 * no locale, no gmtime_r state, valid for any 64-bit input. */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *sr_fmt_iso(char out[SR_ISO_LEN], uint64_t ns)
{
	uint64_t secs = ns / 1000000000ull;
	unsigned usec = (unsigned)(ns % 1000000000ull / 1000);
	unsigned sod = (unsigned)(secs % 86400), m, d;
	int64_t y;

	civil((int64_t)(secs / 86400), &y, &m, &d);
	if (y > 9999) {
		y = 9999, m = 12, d = 31, sod = 86399, usec = 999999;
	}
	/* by hand: this runs twice per exported span */
	digits(out, (unsigned)y, 4);
	out[4] = '-';
	digits(out + 5, m, 2);
	out[7] = '-';
	digits(out + 8, d, 2);
	out[10] = 'T';
	digits(out + 11, sod / 3600, 2);
	out[13] = ':';
	digits(out + 14, sod / 60 % 60, 2);
	out[16] = ':';
	digits(out + 17, sod % 60, 2);
	out[19] = '.';
	digits(out + 20, usec, 6);
	memcpy(out + 26, "+00:00", 7);
	return out;
}

/* n decimal digits at s, or -1. */
static int64_t num(const char *s, int n)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Civil date to days since 1970-01-01 (the inverse of civil()). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool sr_parse_iso(const char *s, size_t n, uint64_t *out)
{
	int64_t y, mo, d, h, mi, se, oh = 0, om = 0, secs;
	uint64_t frac = 0, scale = 1000000000ull;
	size_t i = 19;

	if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return false;
	y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	h = num(s + 11, 2), mi = num(s + 14, 2), se = num(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || se < 0 || se > 60)
		return false;
	if (s[i] == '.') {
		size_t f = ++i;

		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (i - f < 9)
				frac += (uint64_t)(s[i] - '0') * (scale /= 10);
		if (i == f || i - f > 9)
			return false;
	}
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
		   s[i + 3] == ':') {
		oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return false;
		if (s[i] == '-')
			oh = -oh, om = -om;
		i += 6;
	}
	if (i != n)
		return false;
	secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	       h * 3600 + mi * 60 + se - oh * 3600 - om * 60;
	if (secs < 0)
		return false;
	*out = (uint64_t)secs * 1000000000ull + frac;
	return true;
}
