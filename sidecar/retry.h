/* SPDX-License-Identifier: MIT */
/*
 * retry.h - the retry rules of the seed's BackendSpanExporter plus what
 * spanring adds (WIRE.md §3, SPEC R-SIDE-7), with the answers the OpenAI
 * JS client honours: 408, 409 and 429 retried, `x-should-retry`,
 * `retry-after-ms` before `Retry-After`. The table is in
 * sidecar/README.md ("Exporters and retries").
 */
#ifndef SR_SD_RETRY_H
#define SR_SD_RETRY_H

#include <stdbool.h>
#include <time.h>

#include "common/limits.h"

enum sr_verdict {
	SR_V_OK,     /* 2xx (and 1xx): delivered */
	SR_V_RETRY,  /* network error, 5xx, 3xx, 408, 409, 429, or
		      * x-should-retry: true */
	SR_V_REJECT, /* other 4xx: not retried, the items are isolated */
	SR_V_HOLD,   /* x-should-retry: false on an answer that is not a
		      * rejection: no more attempts this round, kept */
};

/* x-should-retry as sent: absent, "true" or "false". */
enum sr_should_retry { SR_SR_ABSENT, SR_SR_TRUE, SR_SR_FALSE };

/* Verdict for an HTTP status (0 = no answer: network error) and the
 * server's x-should-retry. */
enum sr_verdict sr_retry_verdict(long status, enum sr_should_retry sr);

/* The seed's sleep: delay + uniform(0, 0.1 * delay). */
double sr_retry_jitter(double delay);

/* Next delay: min(delay * 2, max_delay). */
double sr_retry_next(double delay, double max_delay);

/*
 * The wait before the next attempt: the normal backoff `normal` (already
 * jittered), or the server's `hint` (s, < 0: none) when longer, but never
 * more than max_delay: max(normal, min(hint, max_delay)). A hint of 0
 * therefore means the normal backoff.
 */
double sr_retry_wait(double normal, double hint, double max_delay);

/* Parses a Retry-After value: delta seconds (digits, optional fraction)
 * or an HTTP-date (relative to `now`). Returns seconds (0 for a date in
 * the past, capped at SR_RETRY_AFTER_MAX), or -1 when it is neither. */
double sr_retry_after_parse(const char *v, time_t now);

/* Parses a retry-after-ms value (milliseconds, optional fraction).
 * Returns seconds (capped at SR_RETRY_AFTER_MAX) or -1. */
double sr_retry_after_ms_parse(const char *v);

/* Parses an x-should-retry value ("true" / "false", any case, spaces
 * around); anything else counts as absent. */
enum sr_should_retry sr_should_retry_parse(const char *v);

#endif /* SR_SD_RETRY_H */
