/* SPDX-License-Identifier: MIT */
/*
 * retry.h - the retry rules of the seed's BackendSpanExporter plus what
 * spanring adds (WIRE.md §3, SPEC R-SIDE-7).
 */
#ifndef SR_SD_RETRY_H
#define SR_SD_RETRY_H

#include <stdbool.h>
#include <time.h>

/* Longest Retry-After honoured, seconds (a hostile answer cannot park
 * the exporter for days). */
#define SR_RETRY_AFTER_MAX 3600.0

enum sr_verdict {
	SR_V_OK,     /* 2xx (and 1xx): delivered */
	SR_V_RETRY,  /* network error, 5xx, 3xx, 408, 429 */
	SR_V_REJECT, /* other 4xx: not retried */
};

/* Verdict for an HTTP status (0 = no answer: network error). */
enum sr_verdict sr_retry_verdict(long status);

/* The seed's sleep: delay + uniform(0, 0.1 * delay). */
double sr_retry_jitter(double delay);

/* Next delay: min(delay * 2, max_delay). */
double sr_retry_next(double delay, double max_delay);

/* Parses a Retry-After value: delta seconds or an HTTP-date (relative to
 * `now`). Returns seconds (0 for a date in the past, capped at
 * SR_RETRY_AFTER_MAX), or -1 when it is neither. */
double sr_retry_after_parse(const char *v, time_t now);

#endif /* SR_SD_RETRY_H */
