/* SPDX-License-Identifier: MIT */
#include "retry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <sys/random.h>

enum sr_verdict sr_retry_verdict(long status)
{
	if (status >= 100 && status < 300)
		return SR_V_OK;
	if (status == 408 || status == 429)
		return SR_V_RETRY;
	if (status >= 400 && status < 500)
		return SR_V_REJECT;
	return SR_V_RETRY;
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

double sr_retry_after_parse(const char *v, time_t now)
{
	const char *p = v;
	double secs;
	time_t t;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		char *end;

		secs = strtod(p, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		       *end == '\n')
			end++;
		if (*end)
			return -1;
	} else {
		t = curl_getdate(p, NULL);
		if (t == -1)
			return -1;
		secs = t > now ? (double)(t - now) : 0;
	}
	return secs > SR_RETRY_AFTER_MAX ? SR_RETRY_AFTER_MAX : secs;
}
