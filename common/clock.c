/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <string.h>

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
