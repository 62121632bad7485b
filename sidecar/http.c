/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/clock.h"
#include "retry.h"

struct sr_http {
	CURL *curl;
	struct curl_slist *headers;
	const _Atomic uint64_t *abort_at;
	struct sr_http_resp *resp; /* the request in progress */
	size_t answer_len;
	bool have_ms; /* retry-after-ms seen in this answer */
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct sr_http *h = ctx;
	size_t len = size * n, room = SR_HTTP_ANSWER_MAX - 1 - h->answer_len;

	if (len < room)
		room = len;
	memcpy(h->resp->answer + h->answer_len, p, room);
	h->answer_len += room;
	h->resp->answer[h->answer_len] = 0;
	return len;
}

/* Copies the value of header line p (len bytes) named `name` (with its
 * colon) into v; false when the line is another header or too long. */
static bool header_value(const char *p, size_t len, const char *name, char *v,
			 size_t vn)
{
	size_t k = strlen(name);

	if (len <= k || len - k >= vn || strncasecmp(p, name, k))
		return false;
	memcpy(v, p + k, len - k);
	v[len - k] = 0;
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct sr_http *h = ctx;
	struct sr_http_resp *r = h->resp;
	size_t len = size * n;
	char v[128];

	if (!strncasecmp(p, "HTTP/", 5)) {
		/* a new answer (after a 1xx): forget the previous headers */
		r->retry_after = -1;
		r->should_retry = SR_SR_ABSENT;
		h->have_ms = false;
	} else if (header_value(p, len, "retry-after-ms:", v, sizeof(v))) {
		/* milliseconds win over Retry-After, as in the JS client */
		double s = sr_retry_after_ms_parse(v);

		if (s >= 0) {
			r->retry_after = s;
			h->have_ms = true;
		}
	} else if (header_value(p, len, "Retry-After:", v, sizeof(v))) {
		if (!h->have_ms)
			r->retry_after = sr_retry_after_parse(v, time(NULL));
	} else if (header_value(p, len, "x-should-retry:", v, sizeof(v))) {
		r->should_retry = sr_should_retry_parse(v);
	}
	return len;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	struct sr_http *h = ctx;
	uint64_t at = h->abort_at ? atomic_load(h->abort_at) : 0;

	(void)a, (void)b, (void)c, (void)d;
	return at && sr_mono_ns() >= at;
}

struct sr_http *sr_http_new(const _Atomic uint64_t *abort_at)
{
	struct sr_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	h->abort_at = abort_at;
	h->headers = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	return h;
}

void sr_http_free(struct sr_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	free(h);
}

int sr_http_header(struct sr_http *h, const char *line)
{
	struct curl_slist *l = curl_slist_append(h->headers, line);

	if (!l)
		return -ENOMEM;
	h->headers = l;
	return 0;
}

int sr_http_timeout(struct sr_http *h, double secs)
{
	if (!(secs > 0))
		return -EINVAL;
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS,
			 (long)(secs * 1000 < 1 ? 1 : secs * 1000));
	return 0;
}

int sr_http_post(struct sr_http *h, const char *url, const void *body,
		 size_t len, const char *content_encoding,
		 struct sr_http_resp *r)
{
	struct curl_slist *hdrs = h->headers, *extra = NULL;
	char ce[64];
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	r->should_retry = SR_SR_ABSENT;
	h->have_ms = false;
	h->resp = r;
	h->answer_len = 0;
	if (content_encoding) {
		/* a per-request copy of the list with one more line */
		snprintf(ce, sizeof(ce), "Content-Encoding: %s",
			 content_encoding);
		for (struct curl_slist *l = h->headers; l; l = l->next)
			extra = curl_slist_append(extra, l->data);
		extra = curl_slist_append(extra, ce);
		if (!extra) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return -EIO;
		}
		hdrs = extra;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_slist_free_all(extra);
	if (cc != CURLE_OK) {
		snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(cc));
		return -EIO;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}
