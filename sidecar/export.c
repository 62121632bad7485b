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

#include "common/clock.h"
#include "common/codec.h"
#include "http.h"
#include "ingest.h"
#include "otlp.h"
#include "log.h"
#include "retry.h"
#include "stats.h"

enum outcome {
	DELIVERED, /* delivered, or durably in the dead letter */
	FAILED,    /* not now: kept in the spool, next round after a backoff */
	ABORTED,   /* the stop deadline came */
	REJECTED,  /* a 4xx not retried: the answer is in the response */
	TOO_BIG,   /* the body would pass --otlp-max-body: send halves */
};

struct item {
	const char *p;
	size_t n;
};

struct sr_exporter {
	const struct sr_config *c;
	enum sr_exporter_kind kind;
	unsigned dest; /* in the spool and the stats */
	char dead_letter[4096];
	struct sr_spool *sp;
	struct sr_http *http;
	const char *name;     /* the exporter's: openai, otlp, file, … */
	char dest_text[4200]; /* what the log names: the URL or the output */
	struct sr_otlp *otlp; /* the otlp exporter's mapping, else NULL */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, kicked;
	uint64_t cuts;             /* SIGUSR1s so far: each cuts a pause */
	_Atomic uint64_t abort_at; /* monotonic ns, 0: none */
	uint64_t next_try;         /* monotonic ns: backoff after a failure */
	double round_delay;        /* s, next backoff */
	double hint;               /* s, the server's last wait hint, -1 */
	bool warned_no_key;
	bool dl_blocked;   /* the dead letter cannot be written now */
	int out_fd, dl_fd; /* file exporter output, dead letters */
	bool out_checked;  /* output's last line checked after opening */
	char *body;        /* the openai body, reused (SR_EXPORT_BODY_KEEP) */
	size_t body_cap;
	struct item *items; /* a batch split into items, reused */
	size_t items_cap;
	struct sr_http_resp resp; /* the answer to a batch's first request */
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

/* Waits until `until` (monotonic ns) or a signal of the condition
 * (stop, kick); lock held. Callers check why they woke. */
static void wait_until(struct sr_exporter *e, uint64_t until)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(until / 1000000000ull);
	ts.tv_nsec = (long)(until % 1000000000ull);
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

/* Sleeps `secs` between attempts: DELIVERED when the time is up or a
 * SIGUSR1 cut it short, ABORTED if a stop deadline comes first. */
static enum outcome pause_for(struct sr_exporter *e, double secs)
{
	uint64_t until = sr_mono_ns() + secs_ns(secs), at, cuts;
	enum outcome o = DELIVERED;

	pthread_mutex_lock(&e->lock);
	cuts = e->cuts;
	for (;;) {
		uint64_t now = sr_mono_ns();

		at = atomic_load(&e->abort_at);
		if (at && until >= at) {
			o = ABORTED;
			break;
		}
		if (now >= until || e->cuts != cuts)
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
		sr_log(SR_LOG_WARN, "export",
		       "output %s: cannot end a torn line", path);
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

/*
 * Appends one line {"status":…,"answer":…,"item":…} and fdatasyncs it.
 * 0, or -errno when it is not durably written (a partial line is cut
 * off again): the caller keeps the batch in the spool (stop the line).
 */
static int dead_letter(struct sr_exporter *e, const struct item *it,
		       const struct sr_http_resp *r)
{
	cJSON *ans = cJSON_Parse(r->answer);
	char *txt, head[64];
	struct stat st;
	off_t was = -1;
	int rc;

	if (e->dl_fd >= 0 && fstat(e->dl_fd, &st) == 0 && st.st_nlink == 0) {
		/* removed (with the spool directory?): never write into a
		 * file nobody can read */
		close(e->dl_fd);
		e->dl_fd = -1;
	}
	if (e->dl_fd < 0)
		e->dl_fd = open_append(e->dead_letter);
	if (e->dl_fd >= 0 && fstat(e->dl_fd, &st) == 0)
		was = st.st_size;
	if (!ans)
		ans = cJSON_CreateString(r->answer);
	txt = ans ? cJSON_PrintUnformatted(ans) : NULL;
	cJSON_Delete(ans);
	snprintf(head, sizeof(head), "{\"status\":%ld,\"answer\":", r->status);
	rc = e->dl_fd < 0 ? -errno : !txt ? -ENOMEM : 0;
	if (!rc)
		rc = write_all(e->dl_fd, head, strlen(head));
	if (!rc)
		rc = write_all(e->dl_fd, txt, strlen(txt));
	if (!rc)
		rc = write_all(e->dl_fd, ",\"item\":", 8);
	if (!rc)
		rc = write_all(e->dl_fd, it->p, it->n);
	if (!rc)
		rc = write_all(e->dl_fd, "}\n", 2);
	if (!rc && fdatasync(e->dl_fd) < 0)
		rc = -errno;
	free(txt);
	if (rc) {
		if (e->dl_fd >= 0) {
			/* no torn line; reopened next time (the path may
			 * have been fixed) */
			if (was >= 0 && ftruncate(e->dl_fd, was) < 0)
				was = -1;
			close(e->dl_fd);
			e->dl_fd = -1;
		}
		SR_DSTAT_ADD(e->dest, dead_letter_errors, 1);
		if (!e->dl_blocked)
			sr_log(SR_LOG_ERROR, "export",
			       "dead-letter file %s: cannot write: %s; rejected "
			       "items stay in the spool until it can be "
			       "written",
			       e->dead_letter, strerror(-rc));
		e->dl_blocked = true;
		return rc;
	}
	if (e->dl_blocked)
		sr_log(SR_LOG_INFO, "export",
		       "dead-letter file %s: written again", e->dead_letter);
	e->dl_blocked = false;
	SR_DSTAT_ADD(e->dest, dead_lettered, 1);
	return 0;
}

static int dead_letter_all(struct sr_exporter *e, const struct item *it,
			   size_t n, const struct sr_http_resp *r)
{
	for (size_t i = 0; i < n; i++) {
		int rc = dead_letter(e, &it[i], r);

		if (rc)
			return rc;
	}
	return 0;
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

/* Makes room for `more` bytes after `used` in the reused body. */
static bool body_room(struct sr_exporter *e, size_t used, size_t more)
{
	size_t cap = e->body_cap ? e->body_cap : 64 * 1024;
	char *b;

	if (used + more <= e->body_cap)
		return true;
	while (cap < used + more)
		cap *= 2;
	b = realloc(e->body, cap);
	if (!b)
		return false;
	e->body = b;
	e->body_cap = cap;
	return true;
}

/* The openai exporter's body {"data":[...]}, built in the exporter's
 * reused buffer (NULL when out of memory): each item as the endpoint
 * takes it (ingest.h: the SDKs' cuts of input/output, usage); the spool
 * keeps the items whole. */
static char *build_body(struct sr_exporter *e, const struct item *it, size_t n,
			size_t *len)
{
	size_t o = 9;

	if (!body_room(e, 0, o + 3))
		return NULL;
	memcpy(e->body, "{\"data\":[", o);
	for (size_t i = 0; i < n; i++) {
		char *fixed = NULL;
		size_t flen = 0;
		const char *p;
		size_t k;

		if (sr_ingest_item(it[i].p, it[i].n, &fixed, &flen) < 0)
			return NULL;
		p = fixed ? fixed : it[i].p;
		k = fixed ? flen : it[i].n;
		/* a comma, the item, then "]}" and a NUL */
		if (!body_room(e, o, k + 4)) {
			free(fixed);
			return NULL;
		}
		if (i)
			e->body[o++] = ',';
		memcpy(e->body + o, p, k);
		o += k;
		free(fixed);
	}
	memcpy(e->body + o, "]}", 3);
	*len = o + 2;
	return e->body;
}

/* Gives back a body or item list grown past what is kept. */
static void trim_buffers(struct sr_exporter *e)
{
	if (e->body_cap > SR_EXPORT_BODY_KEEP) {
		free(e->body);
		e->body = NULL;
		e->body_cap = 0;
	}
	if (e->items_cap * sizeof(*e->items) > SR_EXPORT_BODY_KEEP) {
		free(e->items);
		e->items = NULL;
		e->items_cap = 0;
	}
}

/* The otlp exporter's body: -E2BIG when it is over --otlp-max-body and
 * can be split. */
static char *otlp_body(struct sr_exporter *e, const struct item *it, size_t n,
		       size_t *len, int *rc)
{
	struct sr_otlp_item *oi = calloc(n + 1, sizeof(*oi));
	char *body = NULL;
	size_t skipped;

	*rc = -ENOMEM;
	for (size_t i = 0; oi && i < n; i++)
		oi[i] = (struct sr_otlp_item){ it[i].p, it[i].n };
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
			     : build_body(e, it, n, &len);
	bool own = e->otlp != NULL; /* else the exporter's buffer */
	void *z = NULL;

	if (!body) {
		snprintf(r->err, sizeof(r->err), "%s",
			 rc == -E2BIG ? "body over the limit"
				      : "out of memory");
		r->status = 0;
		return rc;
	}
	if (wc != SR_CODEC_NONE &&
	    sr_codec_compress(wc, body, len, &z, &zlen) == 0) {
		if (own)
			free(body);
		body = z;
		len = zlen;
		own = true;
	} else {
		wc = SR_CODEC_NONE;
	}
	SR_DSTAT_ADD(e->dest, http_requests, 1);
	SR_DSTAT_ADD(e->dest, bytes_sent, len);
	rc = sr_http_post(e->http, url_of(e), body, len,
			  wc == SR_CODEC_LZ4    ? "lz4"
			  : wc == SR_CODEC_GZIP ? "gzip"
						: NULL,
			  r);
	if (own)
		free(body);
	return rc;
}

/* OTLP: a 2xx answer may still reject some spans. */
static void partial_success(struct sr_exporter *e, const char *answer)
{
	char msg[256];
	uint64_t n = answer[0] ? sr_otlp_rejected(answer, msg, sizeof(msg)) : 0;

	if (!n)
		return;
	SR_DSTAT_ADD(e->dest, spans_rejected, n);
	sr_log(SR_LOG_WARN, "export",
	       "[non-fatal] POST %s: partial success, %llu spans rejected: "
	       "%.200s",
	       url_of(e), (unsigned long long)n, msg);
}

/*
 * Sends it[0, n) with the retry rules (retry.h): max_retries attempts,
 * the normal backoff or the server's hint between them, capped at
 * max_delay, cut short by SIGUSR1. DELIVERED, REJECTED (the answer in
 * *r), FAILED (attempts spent, or the server said not to retry; its
 * last wait hint is kept for the next round) or ABORTED.
 */
static enum outcome attempts(struct sr_exporter *e, const struct item *it,
			     size_t n, struct sr_http_resp *r)
{
	double delay = e->c->base_delay;

	for (uint32_t attempt = 1;; attempt++) {
		enum sr_verdict v;
		double wait;
		int rc;

		if (attempt > 1)
			SR_DSTAT_ADD(e->dest, exports_retried, 1);
		rc = post(e, it, n, r);
		if (rc == -E2BIG)
			return TOO_BIG;
		v = rc        ? SR_V_RETRY
		    : e->otlp ? sr_otlp_verdict(r->status)
			      : sr_retry_verdict(r->status, r->should_retry);
		if (v == SR_V_OK && e->otlp)
			partial_success(e, r->answer);
		if (v == SR_V_OK) {
			SR_DSTAT_ADD(e->dest, exports_ok, 1);
			SR_DSTAT_ADD(e->dest, items_exported, n);
			sr_log(SR_LOG_DEBUG, "export", "exported %zu items", n);
			return DELIVERED;
		}
		if (v == SR_V_REJECT)
			return REJECTED;
		e->hint = r->retry_after;
		if (v == SR_V_HOLD) {
			sr_log(SR_LOG_WARN, "export",
			       "[non-fatal] POST %s: status %ld with "
			       "x-should-retry: false; kept for the next round",
			       url_of(e), r->status);
			return FAILED;
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
			       url_of(e), r->err, attempt, e->c->max_retries);
		if (attempt >= e->c->max_retries)
			return FAILED;
		wait = sr_retry_wait(sr_retry_jitter(delay), r->retry_after,
				     e->c->max_delay);
		if (pause_for(e, wait) == ABORTED)
			return ABORTED;
		delay = sr_retry_next(delay, e->c->max_delay);
	}
}

/* Requests the isolation of a rejected batch of n items may take:
 * 2 * ceil(log2 n) + 2. */
static unsigned isolation_budget(size_t n)
{
	unsigned lg = 0;

	while (lg < 63 && ((size_t)1 << lg) < n)
		lg++;
	return 2 * lg + 2;
}

/* A rejected part of the batch still to isolate, with its answer. */
struct part {
	size_t off, n;
	struct sr_http_resp *r;
};

static bool same_answer(const struct sr_http_resp *a,
			const struct sr_http_resp *b)
{
	return a->status == b->status && !strcmp(a->answer, b->answer);
}

/*
 * A batch answered with a 4xx that is not retried: the bad items go to
 * the dead letter with the server's answer, the rest is delivered, in at
 * most isolation_budget(n) more requests (iteratively: the parts wait on
 * a stack, never in recursion):
 *   - 400/422 naming an item (error.param "data[i]…"): that item is
 *     dead-lettered, the rest sent again;
 *   - 400/422 naming none: a batch-wide answer, the whole part is
 *     dead-lettered at once;
 *   - 413: split in halves, each sent; the same answer for both halves
 *     means splitting does not help: both are dead-lettered;
 *   - any other 4xx: the part is dead-lettered;
 *   - budget spent: what is left is dead-lettered with its answer.
 * Takes `first` (malloc'd). DELIVERED, FAILED (a request failed, or the
 * dead letter could not be written: the batch stays spooled), ABORTED.
 */
static enum outcome isolate(struct sr_exporter *e, struct item *it, size_t n,
			    struct sr_http_resp *first)
{
	unsigned budget = isolation_budget(n);
	size_t top = 0, cap = budget + 2;
	struct part *st = calloc(cap, sizeof(*st));
	enum outcome o = DELIVERED;

	if (!st) {
		free(first);
		return FAILED;
	}
	st[top++] = (struct part){ 0, n, first };
	while (top && o == DELIVERED) {
		struct part p = st[--top];
		struct sr_http_resp *r = p.r, *r2 = NULL;
		long s = r->status;
		long bad;

		sr_log(SR_LOG_ERROR, "export",
		       "[non-fatal] POST %s: client error %ld for %zu items: "
		       "%.200s",
		       url_of(e), s, p.n, r->answer);
		/* an OTLP receiver answers for the request as a whole */
		bad = (s == 400 || s == 422) && !e->otlp
			      ? param_index(r->answer, p.n)
			      : -1;
		if (bad >= 0) {
			if (dead_letter(e, &it[p.off + (size_t)bad], r)) {
				o = FAILED;
			} else {
				memmove(&it[p.off + (size_t)bad],
					&it[p.off + (size_t)bad + 1],
					(p.n - (size_t)bad - 1) * sizeof(*it));
				p.n--;
				if (p.n && !budget) {
					if (dead_letter_all(e, it + p.off, p.n,
							    r))
						o = FAILED;
				} else if (p.n) {
					budget--;
					o = attempts(e, it + p.off, p.n, r);
					if (o == REJECTED) {
						st[top++] = p; /* keeps r */
						o = DELIVERED;
						continue;
					}
				}
			}
			free(r);
			continue;
		}
		if (s != 413 || p.n == 1 || budget < 2) {
			if (dead_letter_all(e, it + p.off, p.n, r))
				o = FAILED;
			free(r);
			continue;
		}
		/* 413: halves */
		budget -= 2;
		r2 = malloc(sizeof(*r2));
		if (!r2) {
			free(r);
			o = FAILED;
			break;
		}
		{
			struct part a = { p.off, p.n / 2, r };
			struct part b = { p.off + p.n / 2, p.n - p.n / 2, r2 };
			enum outcome oa = attempts(e, it + a.off, a.n, r), ob;

			if (oa != DELIVERED && oa != REJECTED) {
				o = oa;
				free(r);
				free(r2);
				break;
			}
			ob = attempts(e, it + b.off, b.n, r2);
			if (ob != DELIVERED && ob != REJECTED) {
				o = ob;
			} else if (oa == REJECTED && ob == REJECTED &&
				   same_answer(r, r2)) {
				if (dead_letter_all(e, it + p.off, p.n, r))
					o = FAILED;
			} else {
				if (ob == REJECTED) {
					st[top++] = b;
					r2 = NULL;
				}
				if (oa == REJECTED) {
					st[top++] = a;
					r = NULL;
				}
			}
			free(r);
			free(r2);
		}
	}
	while (top)
		free(st[--top].r);
	free(st);
	return o;
}

static enum outcome send_items(struct sr_exporter *e, struct item *it, size_t n)
{
	struct sr_http_resp *r;
	enum outcome o;

	if (!n)
		return DELIVERED;
	o = attempts(e, it, n, &e->resp);
	if (o == REJECTED) {
		/* rare: the isolation takes an answer of its own */
		r = malloc(sizeof(*r));
		if (!r)
			return FAILED;
		memcpy(r, &e->resp, sizeof(*r));
		return isolate(e, it, n, r); /* takes r */
	}
	if (o == TOO_BIG) {
		/* over the body limit: halves, each with its attempts */
		o = send_items(e, it, n / 2);
		if (o == DELIVERED)
			o = send_items(e, it + n / 2, n - n / 2);
	}
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
	if (!rc && strcmp(e->c->output, "-") && fdatasync(e->out_fd) < 0 &&
	    errno != EINVAL)
		rc = -errno;
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
			cJSON *wf =
				cJSON_GetObjectItemCaseSensitive(j,
								 "workflow_name");

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

/* Splits JSON lines in place into items, in one pass (memchr, not a
 * byte loop: this scans every exported byte), into the exporter's reused
 * list; `hint` is the batch's item count, grown past when the text holds
 * more lines. Returns the count; *out NULL when out of memory. */
static size_t split_lines(struct sr_exporter *e, const char *lines, size_t len,
			  size_t hint, struct item **out)
{
	size_t k = 0;

	/* the count comes from the file: no more than the text can hold */
	if (hint > len / 2 + 1)
		hint = len / 2 + 1;
	*out = NULL;
	if (e->items_cap < (hint ? hint : 16)) {
		struct item *m = realloc(e->items,
					 (hint ? hint : 16) * sizeof(*m));

		if (!m)
			return 0;
		e->items = m;
		e->items_cap = hint ? hint : 16;
	}
	for (const char *p = lines, *end = lines + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			nl = end;
		if (nl > p && k == e->items_cap) {
			struct item *m = realloc(e->items,
						 2 * e->items_cap * sizeof(*m));

			if (!m)
				return 0;
			e->items = m;
			e->items_cap *= 2;
		}
		if (nl > p)
			e->items[k++] = (struct item){ p, (size_t)(nl - p) };
		p = nl + 1;
	}
	*out = e->items;
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
		struct sr_otlp_item oi = { it[i].p, it[i].n };

		if (sr_otlp_is_trace(&oi))
			sr_otlp_note_trace(e->otlp, &oi);
		else
			it[k++] = it[i];
	}
	traces = n - k;
	o = k ? send_items(e, it, k) : DELIVERED;
	if (o == DELIVERED)
		SR_DSTAT_ADD(e->dest, items_exported, traces);
	return o;
}

static enum outcome deliver(struct sr_exporter *e, const char *lines,
			    size_t len, uint32_t items)
{
	struct item *it = NULL;
	size_t n;
	enum outcome o;

	if (e->kind == SR_EXP_NULL || e->kind == SR_EXP_FILE) {
		o = e->kind == SR_EXP_NULL ? DELIVERED : to_file(e, lines, len);
		if (o == DELIVERED)
			SR_DSTAT_ADD(e->dest, items_exported, items);
		return o;
	}
	n = split_lines(e, lines, len, items, &it);
	if (!it)
		return FAILED;
	if (e->otlp) {
		o = otlp_deliver(e, it, n);
	} else if (e->kind == SR_EXP_CONSOLE) {
		o = to_console(it, n);
		SR_DSTAT_ADD(e->dest, items_exported, n);
	} else {
		o = send_items(e, it, n);
	}
	trim_buffers(e);
	return o;
}

/* --- the thread --------------------------------------------------------- */

/* After a round that failed: back off before the next (the server's last
 * hint counts, capped at max_delay like every wait). */
static void failed_round(struct sr_exporter *e, enum outcome o)
{
	double wait = sr_retry_wait(sr_retry_jitter(e->round_delay), e->hint,
				    e->c->max_delay);

	SR_DSTAT_ADD(e->dest, exports_failed, 1);
	if (o == FAILED && e->dl_blocked)
		sr_log(SR_LOG_ERROR, "export",
		       "%s: rejected items not written to the dead letter %s; "
		       "batch kept in the spool, next round in %.1fs",
		       e->dest_text, e->dead_letter, wait);
	else if (o == FAILED && e->kind == SR_EXP_OPENAI)
		sr_log(SR_LOG_ERROR, "export",
		       "[non-fatal] POST %s: batch not delivered after %u "
		       "attempts; kept in the spool, next round in %.1fs",
		       e->dest_text, e->c->max_retries, wait);
	else if (o == FAILED)
		sr_log(SR_LOG_ERROR, "export",
		       "%s: batch not delivered; kept in the spool, next round "
		       "in %.1fs",
		       e->dest_text, wait);
	pthread_mutex_lock(&e->lock);
	e->next_try = sr_mono_ns() + secs_ns(wait);
	pthread_mutex_unlock(&e->lock);
	e->hint = -1;
	e->round_delay = sr_retry_next(e->round_delay ? e->round_delay : 1,
				       e->c->max_delay);
}

/* Delivers the batches of the oldest segment in order; a damaged segment
 * gives its intact batches and goes to quarantine. false when a batch
 * could not be delivered now. */
static bool export_one(struct sr_exporter *e, uint64_t seq)
{
	struct sr_segment *g = NULL;
	int rc = sr_spool_load(e->sp, e->dest, seq, &g);
	bool ok = true, gone = false;
	uint32_t lost;

	if (rc == -ENOENT) {
		if (sr_spool_lost(e->sp, seq, &lost) == 0 && lost)
			sr_log(SR_LOG_ERROR, "spool",
			       "segment %llu: file gone with its directory, "
			       "%u items lost",
			       (unsigned long long)seq, lost);
		return true;
	}
	if (rc) {
		sr_log(SR_LOG_ERROR, "spool",
		       "segment %llu unreadable (%s): kept, next round later",
		       (unsigned long long)seq, strerror(-rc));
		failed_round(e, ABORTED);
		return false;
	}
	for (uint32_t i = sr_segment_done(g); i < sr_segment_batches(g) && ok;
	     i++) {
		const char *lines = NULL;
		size_t len;
		uint32_t items;
		enum outcome o = DELIVERED;

		rc = sr_segment_batch(g, i, &lines, &len, &items);
		if (rc)
			sr_log(SR_LOG_ERROR, "spool",
			       "segment %llu batch %u unreadable (%s): left in "
			       "the file for quarantine",
			       (unsigned long long)seq, i, strerror(-rc));
		else
			o = deliver(e, lines, len, items);
		if (o != DELIVERED) {
			failed_round(e, o);
			ok = false;
			break;
		}
		e->round_delay = e->c->base_delay;
		rc = sr_spool_mark(e->sp, g, i + 1);
		if (rc)
			sr_log(SR_LOG_WARN, "spool",
			       "segment %llu: cannot record progress: %s (a "
			       "restart may send batch %u again)",
			       (unsigned long long)seq, strerror(-rc), i);
		if (i + 1 >= sr_segment_batches(g))
			gone = true;
		/* abort_at is set only by a stop: its deadline passed */
		if (atomic_load(&e->abort_at) &&
		    sr_mono_ns() >= atomic_load(&e->abort_at))
			break;
	}
	if (!gone && sr_segment_done(g) >= sr_segment_batches(g)) {
		/* nothing left for this destination (nothing intact, or it
		 * had delivered all before a restart): done with it */
		rc = sr_spool_mark(e->sp, g, sr_segment_batches(g));
		if (rc) {
			sr_log(SR_LOG_WARN, "spool",
			       "segment %llu: cannot "
			       "record progress of %s: %s",
			       (unsigned long long)seq, e->name, strerror(-rc));
			failed_round(e, ABORTED);
			ok = false;
		}
	}
	sr_segment_free(g);
	return ok;
}

static bool can_send(struct sr_exporter *e)
{
	if (e->kind != SR_EXP_OPENAI || e->c->api_key[0])
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
		bool have = sr_spool_next(e->sp, e->dest, &seq);

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
		SR_DSTAT_SET(e->dest, spool_behind,
			     have ? sr_spool_behind(e->sp, e->dest) : 0);
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
	SR_DSTAT_SET(e->dest, spool_behind, sr_spool_behind(e->sp, e->dest));
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static int add_line(void *ctx, const char *line)
{
	return sr_http_header(ctx, line);
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

/* Opens the files the exporter writes now, so that a path that cannot be
 * written is an error at start, not a loss later. */
static int open_files(struct sr_exporter *e, char *why, size_t whylen)
{
	const struct sr_config *c = e->c;

	if (e->kind == SR_EXP_FILE) {
		e->out_fd = strcmp(c->output, "-") ? open_append(c->output)
						   : dup(1);
		if (e->out_fd < 0) {
			snprintf(why, whylen, "output %s: cannot open: %s",
				 c->output, strerror(errno));
			return -errno;
		}
	}
	if (e->kind == SR_EXP_OPENAI || e->kind == SR_EXP_OTLP) {
		e->dl_fd = open_append(e->dead_letter);
		if (e->dl_fd < 0) {
			snprintf(why, whylen,
				 "dead-letter file %s: cannot open: %s",
				 e->dead_letter, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* What the log names: the URL, the output, or the exporter. */
static void set_dest(struct sr_exporter *e)
{
	const struct sr_config *c = e->c;

	if (e->kind == SR_EXP_OPENAI || e->kind == SR_EXP_OTLP)
		snprintf(e->dest_text, sizeof(e->dest_text), "POST %s",
			 e->kind == SR_EXP_OTLP ? c->otlp_endpoint
						: c->endpoint);
	else if (e->kind == SR_EXP_FILE)
		snprintf(e->dest_text, sizeof(e->dest_text), "output %s",
			 strcmp(c->output, "-") ? c->output : "stdout");
	else
		snprintf(e->dest_text, sizeof(e->dest_text), "%s",
			 sr_exporter_kind_name(e->kind));
}

static int setup_http(struct sr_exporter *e, char *why, size_t whylen)
{
	const struct sr_config *c = e->c;

	if (e->kind == SR_EXP_OTLP) {
		e->otlp = sr_otlp_new(c);
		e->http = e->otlp ? sr_http_new(&e->abort_at) : NULL;
		if (!e->http || sr_otlp_headers(e->otlp, add_line, e->http) ||
		    sr_http_timeout(e->http, c->otlp_timeout)) {
			snprintf(why, whylen,
				 "cannot set up the otlp exporter");
			return -ENOMEM;
		}
	} else if (e->kind == SR_EXP_OPENAI) {
		e->http = sr_http_new(&e->abort_at);
		if (!e->http || add_headers(e)) {
			snprintf(why, whylen, "cannot set up libcurl");
			return -ENOMEM;
		}
	}
	return 0;
}

struct sr_exporter *sr_exporter_new(const struct sr_config *c,
				    enum sr_exporter_kind kind, unsigned dest,
				    struct sr_spool *sp, char *why,
				    size_t whylen)
{
	struct sr_exporter *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;
	int rc;

	if (!e) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	e->c = c;
	e->kind = kind;
	e->dest = dest;
	e->name = sr_exporter_kind_name(kind);
	e->sp = sp;
	e->out_fd = e->dl_fd = -1;
	e->hint = -1;
	e->round_delay = c->base_delay;
	sr_config_dead_letter(c, kind, e->dead_letter, sizeof(e->dead_letter));
	set_dest(e);
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = open_files(e, why, whylen);
	if (!rc)
		rc = setup_http(e, why, whylen);
	if (rc) {
		sr_exporter_free(e);
		errno = -rc;
		return NULL;
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
	if (force) {
		e->next_try = 0; /* the backoff between rounds */
		e->cuts++;       /* and a pause between attempts */
	}
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
}

void sr_exporter_join(struct sr_exporter *e)
{
	if (!e->running)
		return;
	pthread_join(e->thread, NULL);
	e->running = false;
}

void sr_exporter_free(struct sr_exporter *e)
{
	if (!e)
		return;
	if (e->running) {
		sr_exporter_stop(e, sr_mono_ns());
		sr_exporter_join(e);
	}
	sr_http_free(e->http);
	if (e->out_fd >= 0)
		close(e->out_fd);
	if (e->dl_fd >= 0)
		close(e->dl_fd);
	sr_otlp_free(e->otlp);
	free(e->body);
	free(e->items);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
