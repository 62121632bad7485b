/* SPDX-License-Identifier: MIT */
#include "export.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "common/clock.h"
#include "http.h"
#include "log.h"
#include "otlp.h"
#include "retry.h"
#include "stats.h"

enum outcome { DELIVERED, FAILED, ABORTED };

struct item {
	const char *p;
	size_t n;
};

struct sr_exporter {
	const struct sr_config *c;
	struct sr_spool *sp;
	struct sr_http *http;
	struct sr_otlp *otlp; /* the otlp exporter's mapping, else NULL */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, kicked;
	_Atomic uint64_t abort_at; /* monotonic ns, 0: none */
	uint64_t next_try;	   /* monotonic ns: backoff after a failure */
	double round_delay;	   /* s, next backoff */
	bool warned_no_key;
	int out_fd, dl_fd; /* file exporter output, dead letters */
	bool out_checked;  /* output's last line checked after opening */
};

/* Where requests go. */
static const char *url_of(const struct sr_exporter *e)
{
	return e->otlp ? e->c->otlp_endpoint : e->c->endpoint;
}

static uint64_t secs_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* Waits until `until` (monotonic ns) or stop/kick; lock held. Returns
 * false when the deadline of a stop passed. */
static void wait_until(struct sr_exporter *e, uint64_t until)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(until / 1000000000ull);
	ts.tv_nsec = (long)(until % 1000000000ull);
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

/* Sleeps `secs` between attempts; ABORTED if a stop deadline comes
 * first. */
static enum outcome pause_for(struct sr_exporter *e, double secs)
{
	uint64_t until = sr_mono_ns() + secs_ns(secs), at;
	enum outcome o = DELIVERED;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		uint64_t now = sr_mono_ns();

		at = atomic_load(&e->abort_at);
		if (at && until >= at) {
			o = ABORTED;
			break;
		}
		if (now >= until)
			break;
		wait_until(e, until);
	}
	pthread_mutex_unlock(&e->lock);
	return o;
}

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* A sidecar killed in the middle of a write leaves a torn last line. The
 * batch is written again after the restart: start it on a line of its own
 * so the torn fragment cannot swallow the first item sent again. */
static void end_torn_line(int fd, const char *path)
{
	int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char last = '\n';

	if (rfd < 0)
		return; /* write-only output: nothing to read, nothing to mend */
	if (fstat(rfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    pread(rfd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	close(rfd);
	if (last != '\n' && write(fd, "\n", 1) != 1)
		sr_log(SR_LOG_WARN, "export", "output %s: cannot end a torn line",
		       path);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --- dead letters ------------------------------------------------------- */

static void dead_letter(struct sr_exporter *e, const struct item *it,
			const struct sr_http_resp *r)
{
	cJSON *ans = cJSON_Parse(r->answer);
	char *txt, head[64];
	int rc;

	if (e->dl_fd < 0)
		e->dl_fd = open_append(e->c->dead_letter);
	if (!ans)
		ans = cJSON_CreateString(r->answer);
	txt = ans ? cJSON_PrintUnformatted(ans) : NULL;
	cJSON_Delete(ans);
	snprintf(head, sizeof(head), "{\"status\":%ld,\"answer\":", r->status);
	rc = e->dl_fd < 0 || !txt ? -EIO
				  : write_all(e->dl_fd, head, strlen(head));
	if (!rc)
		rc = write_all(e->dl_fd, txt, strlen(txt));
	if (!rc)
		rc = write_all(e->dl_fd, ",\"item\":", 8);
	if (!rc)
		rc = write_all(e->dl_fd, it->p, it->n);
	if (!rc)
		rc = write_all(e->dl_fd, "}\n", 2);
	if (!rc)
		fdatasync(e->dl_fd);
	free(txt);
	if (rc)
		sr_log(SR_LOG_ERROR, "export",
		       "dead-letter file %s: cannot write: %s",
		       e->c->dead_letter, strerror(-rc));
	SR_STAT_ADD(dead_lettered, 1);
}

/* Item index named by an error answer's "param" ("data[3].span_data…"),
 * or -1. */
static long param_index(const char *answer, size_t n)
{
	cJSON *j = cJSON_Parse(answer), *p;
	long i = -1;

	p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(j, "error"), "param");
	if (cJSON_IsString(p) && sscanf(p->valuestring, "data[%ld]", &i) != 1)
		i = -1;
	cJSON_Delete(j);
	return i >= 0 && (size_t)i < n ? i : -1;
}

/* --- one request -------------------------------------------------------- */

static char *build_body(const struct item *it, size_t n, size_t *len)
{
	size_t cap = 16, o = 0;
	char *b;

	for (size_t i = 0; i < n; i++)
		cap += it[i].n + 1;
	b = malloc(cap);
	if (!b)
		return NULL;
	memcpy(b, "{\"data\":[", 9);
	o = 9;
	for (size_t i = 0; i < n; i++) {
		if (i)
			b[o++] = ',';
		memcpy(b + o, it[i].p, it[i].n);
		o += it[i].n;
	}
	memcpy(b + o, "]}", 3);
	*len = o + 2;
	return b;
}

/* The otlp exporter's body: -E2BIG when it is over --otlp-max-body and
 * can be split. */
static char *otlp_body(struct sr_exporter *e, const struct item *it,
		       size_t n, size_t *len, int *rc)
{
	struct sr_otlp_item *oi = calloc(n + 1, sizeof(*oi));
	char *body = NULL;
	size_t skipped;

	*rc = -ENOMEM;
	for (size_t i = 0; oi && i < n; i++)
		oi[i] = (struct sr_otlp_item){it[i].p, it[i].n};
	if (oi && !(*rc = sr_otlp_body(e->otlp, oi, n, &body, len, &skipped)) &&
	    *len > e->c->otlp_max_body && n > 1) {
		free(body);
		body = NULL;
		*rc = -E2BIG;
	}
	free(oi);
	return body;
}

static int post(struct sr_exporter *e, const struct item *it, size_t n,
		struct sr_http_resp *r)
{
	enum sr_codec wc = e->otlp ? e->c->otlp_codec : e->c->wire_compression;
	size_t len, zlen;
	int rc = -ENOMEM;
	char *body = e->otlp ? otlp_body(e, it, n, &len, &rc)
			     : build_body(it, n, &len);
	void *z = NULL;

	if (!body)
		return rc;
	if (wc != SR_CODEC_NONE &&
	    sr_codec_compress(wc, body, len, &z, &zlen) == 0) {
		free(body);
		body = z;
		len = zlen;
	} else {
		wc = SR_CODEC_NONE;
	}
	SR_STAT_ADD(http_requests, 1);
	SR_STAT_ADD(bytes_sent, len);
	rc = sr_http_post(e->http, url_of(e), body, len,
			  wc == SR_CODEC_LZ4	? "lz4"
			  : wc == SR_CODEC_GZIP ? "gzip"
						: NULL,
			  r);
	free(body);
	return rc;
}

static enum outcome send_items(struct sr_exporter *e, struct item *it,
			       size_t n);

/* A 4xx that is not retried: isolate the bad items. */
static enum outcome rejected(struct sr_exporter *e, struct item *it, size_t n,
			     const struct sr_http_resp *r)
{
	bool split = r->status == 413 ||
		     (!e->otlp && (r->status == 400 || r->status == 422));
	enum outcome a, b;
	long bad;

	sr_log(SR_LOG_ERROR, "export",
	       "[non-fatal] POST %s: client error %ld for %zu items: %.200s",
	       url_of(e), r->status, n, r->answer);
	if (!split || n == 1) {
		for (size_t i = 0; i < n; i++)
			dead_letter(e, &it[i], r);
		return DELIVERED;
	}
	bad = r->status == 413 ? -1 : param_index(r->answer, n);
	if (bad >= 0) {
		/* the answer names the item: no bisection needed */
		dead_letter(e, &it[bad], r);
		memmove(&it[bad], &it[bad + 1],
			(n - (size_t)bad - 1) * sizeof(*it));
		return send_items(e, it, n - 1);
	}
	a = send_items(e, it, n / 2);
	b = send_items(e, it + n / 2, n - n / 2);
	return a != DELIVERED ? a : b;
}

/* OTLP: a 2xx answer may still reject some spans. */
static void partial_success(struct sr_exporter *e, const char *answer)
{
	char msg[256];
	uint64_t n = answer[0] ? sr_otlp_rejected(answer, msg, sizeof(msg)) : 0;

	if (!n)
		return;
	SR_STAT_ADD(spans_rejected, n);
	sr_log(SR_LOG_WARN, "export",
	       "[non-fatal] POST %s: partial success, %llu spans rejected: "
	       "%.200s",
	       url_of(e), (unsigned long long)n, msg);
}

/* The seed's loop: max_retries attempts, delays doubling with jitter. */
static enum outcome send_items(struct sr_exporter *e, struct item *it, size_t n)
{
	double delay = e->c->base_delay;
	struct sr_http_resp *r = malloc(sizeof(*r));
	enum outcome o = FAILED;

	if (!r || !n) {
		free(r);
		return n ? FAILED : DELIVERED;
	}
	for (uint32_t attempt = 1;; attempt++) {
		enum sr_verdict v;
		double wait;

		int rc;

		if (attempt > 1)
			SR_STAT_ADD(exports_retried, 1);
		rc = post(e, it, n, r);
		if (rc == -E2BIG) {
			/* over the body limit: halves, each with its tries */
			enum outcome a = send_items(e, it, n / 2);
			enum outcome b = send_items(e, it + n / 2, n - n / 2);

			free(r);
			return a != DELIVERED ? a : b;
		}
		v = rc	      ? SR_V_RETRY
		    : e->otlp ? sr_otlp_verdict(r->status)
			      : sr_retry_verdict(r->status);
		if (v == SR_V_OK && e->otlp)
			partial_success(e, r->answer);
		if (v == SR_V_OK) {
			SR_STAT_ADD(exports_ok, 1);
			SR_STAT_ADD(items_exported, n);
			sr_log(SR_LOG_DEBUG, "export", "exported %zu items", n);
			o = DELIVERED;
			break;
		}
		if (v == SR_V_REJECT) {
			struct sr_http_resp copy = *r;

			free(r);
			return rejected(e, it, n, &copy);
		}
		if (r->status)
			sr_log(SR_LOG_WARN, "export",
			       "[non-fatal] POST %s: server error %ld, attempt "
			       "%u of %u",
			       url_of(e), r->status, attempt,
			       e->c->max_retries);
		else
			sr_log(SR_LOG_WARN, "export",
			       "[non-fatal] POST %s: request failed: %s, "
			       "attempt %u of %u",
			       url_of(e), r->err, attempt,
			       e->c->max_retries);
		if (attempt >= e->c->max_retries)
			break;
		wait = r->retry_after >= 0 ? r->retry_after
					   : sr_retry_jitter(delay);
		if (e->otlp && r->retry_after >= 0 && wait > e->c->max_delay)
			wait = e->c->max_delay; /* OTLP: within max_delay */
		if (pause_for(e, wait) == ABORTED) {
			o = ABORTED;
			break;
		}
		delay = sr_retry_next(delay, e->c->max_delay);
	}
	free(r);
	return o;
}

/* --- the other exporters ------------------------------------------------ */

static enum outcome to_file(struct sr_exporter *e, const char *lines,
			    size_t len)
{
	int rc;

	if (e->out_fd < 0)
		e->out_fd = strcmp(e->c->output, "-")
				? open_append(e->c->output)
				: dup(1);
	if (e->out_fd < 0) {
		sr_log(SR_LOG_ERROR, "export", "output %s: cannot open: %s",
		       e->c->output, strerror(errno));
		return FAILED;
	}
	if (!e->out_checked && strcmp(e->c->output, "-"))
		end_torn_line(e->out_fd, e->c->output);
	e->out_checked = true;
	rc = write_all(e->out_fd, lines, len);
	if (!rc && strcmp(e->c->output, "-"))
		fdatasync(e->out_fd);
	if (rc) {
		sr_log(SR_LOG_ERROR, "export", "output %s: cannot write: %s",
		       e->c->output, strerror(-rc));
		return FAILED;
	}
	return DELIVERED;
}

static enum outcome to_console(const struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_ParseWithLength(it[i].p, it[i].n);
		cJSON *obj = cJSON_GetObjectItemCaseSensitive(j, "object");

		if (cJSON_IsString(obj) && !strcmp(obj->valuestring, "trace")) {
			cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
			cJSON *wf = cJSON_GetObjectItemCaseSensitive(
			    j, "workflow_name");

			printf("[Exporter] Export trace_id=%s, name=%s\n",
			       cJSON_IsString(id) ? id->valuestring : "?",
			       cJSON_IsString(wf) ? wf->valuestring : "");
		} else {
			printf("[Exporter] Export span: %.*s\n", (int)it[i].n,
			       it[i].p);
		}
		cJSON_Delete(j);
	}
	fflush(stdout);
	return DELIVERED;
}

/* Splits JSON lines in place into items. Returns the count. */
static size_t split_lines(char *lines, size_t len, struct item **out)
{
	size_t n = 0, k = 0;
	struct item *it;

	/* memchr, not a byte loop: this scans every exported byte */
	for (const char *p = lines, *end = lines + len;
	     (p = memchr(p, '\n', (size_t)(end - p))); p++)
		n++;
	it = calloc(n + 1, sizeof(*it));
	if (!it)
		return 0;
	for (char *p = lines, *end = lines + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		if (nl > p && k <= n)
			it[k++] = (struct item){p, (size_t)(nl - p)};
		p = nl + 1;
	}
	*out = it;
	return k;
}

/* OTLP: trace objects are remembered for their spans (they are no
 * spans themselves); the spans are sent. */
static enum outcome otlp_deliver(struct sr_exporter *e, struct item *it,
				 size_t n)
{
	size_t k = 0, traces;
	enum outcome o;

	for (size_t i = 0; i < n; i++) {
		struct sr_otlp_item oi = {it[i].p, it[i].n};

		if (sr_otlp_is_trace(&oi))
			sr_otlp_note_trace(e->otlp, &oi);
		else
			it[k++] = it[i];
	}
	traces = n - k;
	o = k ? send_items(e, it, k) : DELIVERED;
	if (o == DELIVERED)
		SR_STAT_ADD(items_exported, traces);
	return o;
}

static enum outcome deliver(struct sr_exporter *e, char *lines, size_t len,
			    uint32_t items)
{
	struct item *it = NULL;
	size_t n;
	enum outcome o;

	if (e->c->exporter == SR_EXP_NULL || e->c->exporter == SR_EXP_FILE) {
		o = e->c->exporter == SR_EXP_NULL ? DELIVERED
						  : to_file(e, lines, len);
		if (o == DELIVERED)
			SR_STAT_ADD(items_exported, items);
		return o;
	}
	n = split_lines(lines, len, &it);
	if (!it)
		return FAILED;
	if (e->otlp) {
		o = otlp_deliver(e, it, n);
	} else if (e->c->exporter == SR_EXP_CONSOLE) {
		o = to_console(it, n);
		SR_STAT_ADD(items_exported, n);
	} else {
		o = send_items(e, it, n);
	}
	free(it);
	return o;
}

/* --- the thread --------------------------------------------------------- */

/* After a round that failed: back off before the next. */
static void failed_round(struct sr_exporter *e, enum outcome o)
{
	SR_STAT_ADD(exports_failed, 1);
	if (o == FAILED)
		sr_log(SR_LOG_ERROR, "export",
		       "[non-fatal] POST %s: batch not delivered after %u "
		       "attempts; kept in the spool, next round in %.1fs",
		       url_of(e), e->c->max_retries, e->round_delay);
	pthread_mutex_lock(&e->lock);
	e->next_try = sr_mono_ns() + secs_ns(sr_retry_jitter(e->round_delay));
	pthread_mutex_unlock(&e->lock);
	e->round_delay =
	    sr_retry_next(e->round_delay ? e->round_delay : 1, e->c->max_delay);
}

/* Delivers the batches of the oldest segment in order. false when a
 * batch could not be delivered now. */
static bool export_one(struct sr_exporter *e, uint64_t seq)
{
	struct sr_segment *g = NULL;
	int rc = sr_spool_load(e->sp, seq, &g);
	bool ok = true;

	if (rc == -ENOENT)
		return true;
	if (rc) {
		sr_log(SR_LOG_ERROR, "spool",
		       "segment %llu unreadable (%s): removed",
		       (unsigned long long)seq, strerror(-rc));
		sr_spool_remove(e->sp, seq);
		return true;
	}
	for (uint32_t i = sr_segment_done(g); i < sr_segment_batches(g) && ok;
	     i++) {
		char *lines = NULL;
		size_t len;
		uint32_t items;
		enum outcome o = DELIVERED;

		rc = sr_segment_batch(g, i, &lines, &len, &items);
		if (rc)
			sr_log(SR_LOG_ERROR, "spool",
			       "segment %llu batch %u corrupt (%s): skipped",
			       (unsigned long long)seq, i, strerror(-rc));
		else
			o = deliver(e, lines, len, items);
		free(lines);
		if (o != DELIVERED) {
			failed_round(e, o);
			ok = false;
			break;
		}
		e->round_delay = e->c->base_delay;
		sr_spool_mark(e->sp, g, i + 1);
		/* abort_at is set only by a stop: its deadline passed */
		if (atomic_load(&e->abort_at) &&
		    sr_mono_ns() >= atomic_load(&e->abort_at))
			break;
	}
	sr_segment_free(g);
	return ok;
}

static int add_line(void *ctx, const char *line)
{
	return sr_http_header(ctx, line);
}

static bool can_send(struct sr_exporter *e)
{
	if (e->c->exporter != SR_EXP_OPENAI || e->c->api_key[0])
		return true;
	if (!e->warned_no_key) {
		sr_log(SR_LOG_WARN, "export",
		       "OPENAI_API_KEY is not set, skipping trace export");
		e->warned_no_key = true;
	}
	return false;
}

static void *run(void *arg)
{
	struct sr_exporter *e = arg;
	uint64_t seq;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		uint64_t now = sr_mono_ns(), at = atomic_load(&e->abort_at);
		bool have = sr_spool_oldest(e->sp, &seq);

		if (e->stopping && (!have || (at && now >= at)))
			break;
		if (have && now >= e->next_try && can_send(e)) {
			pthread_mutex_unlock(&e->lock);
			bool ok = export_one(e, seq);
			pthread_mutex_lock(&e->lock);
			if (!ok && e->stopping)
				break;
			continue;
		}
		if (e->kicked) {
			e->kicked = false;
			continue;
		}
		if (e->stopping && have && !can_send(e))
			break;
		if (have && can_send(e))
			wait_until(e, e->stopping && at < e->next_try
					  ? at
					  : e->next_try);
		else if (e->stopping)
			wait_until(e, at);
		else
			pthread_cond_wait(&e->cond, &e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int add_headers(struct sr_exporter *e)
{
	const struct sr_config *c = e->c;
	char line[1024];
	int rc = 0;

	if (c->api_key[0]) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
			 c->api_key);
		rc |= sr_http_header(e->http, line);
	}
	rc |= sr_http_header(e->http, "Content-Type: application/json");
	rc |= sr_http_header(e->http, "OpenAI-Beta: traces=v1");
	if (c->org_id[0]) {
		snprintf(line, sizeof(line), "OpenAI-Organization: %s",
			 c->org_id);
		rc |= sr_http_header(e->http, line);
	}
	if (c->project_id[0]) {
		snprintf(line, sizeof(line), "OpenAI-Project: %s",
			 c->project_id);
		rc |= sr_http_header(e->http, line);
	}
	rc |= sr_http_header(e->http, "User-Agent: spanring/" SR_VERSION);
	explicit_bzero(line, sizeof(line));
	return rc ? -ENOMEM : 0;
}

struct sr_exporter *sr_exporter_new(const struct sr_config *c,
				    struct sr_spool *sp)
{
	struct sr_exporter *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;

	if (!e)
		return NULL;
	e->c = c;
	e->sp = sp;
	e->out_fd = e->dl_fd = -1;
	e->round_delay = c->base_delay;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (c->exporter == SR_EXP_OTLP) {
		e->otlp = sr_otlp_new(c);
		e->http = e->otlp ? sr_http_new(&e->abort_at) : NULL;
		if (!e->http || sr_otlp_headers(e->otlp, add_line, e->http) ||
		    sr_http_timeout(e->http, c->otlp_timeout)) {
			sr_exporter_free(e);
			errno = ENOMEM;
			return NULL;
		}
	} else if (c->exporter == SR_EXP_OPENAI) {
		e->http = sr_http_new(&e->abort_at);
		if (!e->http || add_headers(e)) {
			sr_exporter_free(e);
			errno = ENOMEM;
			return NULL;
		}
	}
	return e;
}

int sr_exporter_start(struct sr_exporter *e)
{
	int rc = pthread_create(&e->thread, NULL, run, e);

	if (rc)
		return -rc;
	e->running = true;
	return 0;
}

void sr_exporter_kick(struct sr_exporter *e, int force)
{
	pthread_mutex_lock(&e->lock);
	e->kicked = true;
	if (force)
		e->next_try = 0;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

void sr_exporter_stop(struct sr_exporter *e, uint64_t deadline)
{
	if (!e->running)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	e->next_try = 0; /* one last try for what waits in a backoff */
	atomic_store(&e->abort_at, deadline);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	e->running = false;
}

void sr_exporter_free(struct sr_exporter *e)
{
	if (!e)
		return;
	if (e->running)
		sr_exporter_stop(e, sr_mono_ns());
	sr_http_free(e->http);
	sr_otlp_free(e->otlp);
	if (e->out_fd >= 0)
		close(e->out_fd);
	if (e->dl_fd >= 0)
		close(e->dl_fd);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
