/* SPDX-License-Identifier: MIT */
#include "retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

enum sr_verdict sr_retry_verdict(long status, enum sr_should_retry sr)
{
	bool transient;

	if (status >= 100 && status < 300)
		return SR_V_OK;
	transient = status == 408 || status == 409 || status == 429 ||
		    status < 400 || status >= 500;
	if (sr == SR_SR_TRUE)
		return SR_V_RETRY;
	if (!transient)
		return SR_V_REJECT;
	return sr == SR_SR_FALSE ? SR_V_HOLD : SR_V_RETRY;
}

double sr_retry_jitter(double delay)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (unsigned)rand();
	return delay + 0.1 * delay * ((double)r / 4294967296.0);
}

double sr_retry_next(double delay, double max_delay)
{
	return delay * 2 < max_delay ? delay * 2 : max_delay;
}

double sr_retry_wait(double normal, double hint, double max_delay)
{
	if (hint > max_delay)
		hint = max_delay;
	return hint > normal ? hint : normal;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Decimal digits with an optional fraction, blanks around; -1 if not. */
static double decimal(const char *v)
{
	const char *p = skip_blanks(v), *q;
	double x = 0, scale = 1;
	bool digits = false;

	for (q = p; isdigit((unsigned char)*q); q++) {
		digits = true;
		if (x < 1e12)
			x = x * 10 + (*q - '0');
	}
	if (*q == '.') {
		for (q++; isdigit((unsigned char)*q); q++) {
			digits = true;
			scale /= 10;
			x += (*q - '0') * scale;
		}
	}
	if (!digits || *skip_blanks(q))
		return -1;
	return x;
}

double sr_retry_after_parse(const char *v, time_t now)
{
	const char *p = skip_blanks(v);
	double secs;
	time_t t;

	if (isdigit((unsigned char)*p) || *p == '.') {
		secs = decimal(p);
		if (secs < 0)
			return -1;
	} else {
		t = curl_getdate(p, NULL);
		if (t == -1)
			return -1;
		secs = t > now ? (double)(t - now) : 0;
	}
	return secs > SR_RETRY_AFTER_MAX ? SR_RETRY_AFTER_MAX : secs;
}

double sr_retry_after_ms_parse(const char *v)
{
	double ms = decimal(v);

	if (ms < 0)
		return -1;
	return ms / 1000 > SR_RETRY_AFTER_MAX ? SR_RETRY_AFTER_MAX : ms / 1000;
}

enum sr_should_retry sr_should_retry_parse(const char *v)
{
	const char *p = skip_blanks(v);
	size_t n = strlen(p);

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' ||
		     p[n - 1] == '\n'))
		n--;
	if (n == 4 && !strncasecmp(p, "true", 4))
		return SR_SR_TRUE;
	if (n == 5 && !strncasecmp(p, "false", 5))
		return SR_SR_FALSE;
	return SR_SR_ABSENT;
}
