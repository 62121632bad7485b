/* SPDX-License-Identifier: MIT */
/*
 * http.h - one reused libcurl easy handle: keep-alive, TCP_NODELAY, 60 s
 * timeout, 5 s connect timeout, no "Expect: 100-continue" round trip.
 * Used by the export thread only.
 */
#ifndef SR_SD_HTTP_H
#define SR_SD_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "retry.h"

struct sr_http;

struct sr_http_resp {
	long status;                     /* 0: no answer (network error) */
	char answer[SR_HTTP_ANSWER_MAX]; /* body, NUL-terminated, cut */
	double retry_after; /* s, -1 when absent or invalid: retry-after-ms,
			     * else Retry-After */
	enum sr_should_retry should_retry; /* x-should-retry */
	char err[256];                     /* network error text */
};

/* NULL + errno. `abort_at` (CLOCK_MONOTONIC ns, 0 = never) is read during
 * transfers: a request still running then is abandoned (shutdown). */
struct sr_http *sr_http_new(const _Atomic uint64_t *abort_at);
void sr_http_free(struct sr_http *h);

/* Appends a header line ("Name: value") sent with every request. 0 or
 * -ENOMEM. */
int sr_http_header(struct sr_http *h, const char *line);

/* Replaces the 60 s limit of a whole request (secs > 0). 0 or -EINVAL. */
int sr_http_timeout(struct sr_http *h, double secs);

/* POSTs body to url. Returns 0 when an answer came (r->status set), or
 * -EIO with r->err set when none did. */
int sr_http_post(struct sr_http *h, const char *url, const void *body,
		 size_t len, const char *content_encoding,
		 struct sr_http_resp *r) __attribute__((warn_unused_result));

#endif /* SR_SD_HTTP_H */
