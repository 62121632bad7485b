/* SPDX-License-Identifier: MIT */
/*
 * replay.c - exporter items back into ring records (see replay.h).
 *
 * Records go into rings of SR_RING_MIN_LANES + 1 lanes, the first owned by
 * this writer; nothing consumes them while they are written, so a ring
 * takes at most one lane of records and the next record opens a new ring.
 */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/limits.h"
#include "common/record.h"
#include "common/ring.h"
#include "common/ring_layout.h"
#include "common/ringdir.h"
#include "tree.h"

#define LANES (SR_RING_SHARED_LANES + 1u) /* one owned lane */

struct writer {
	int dirfd;
	struct sr_ring ring;
	struct sr_producer prod;
	bool open;
	uint64_t used; /* bytes of the owned lane taken */
	uint8_t *buf;  /* one encoded record, SR_RECORD_BIG_MAX bytes */
};

static void ring_close(struct writer *w)
{
	if (!w->open)
		return;
	sr_producer_release(&w->ring, &w->prod);
	/* closing drops the owner lock: the sidecar sees the owner gone */
	sr_ring_close(&w->ring);
	w->open = false;
}

/* Copies n encoded payload bytes from src as one record. */
static int commit(struct writer *w, const uint8_t *src, uint16_t type,
		  uint32_t n, bool cut)
{
	uint32_t total = (n + 8 + SR_RECORD_ALIGN - 1) & ~(SR_RECORD_ALIGN - 1);
	struct sr_resv rv;
	uint8_t *p;

	if (w->used + total > SR_RUN_REPLAY_LANE_SIZE)
		return -ENOSPC;
	p = sr_ring_reserve(&w->ring, &w->prod, n + 8, &rv);
	if (!p)
		return -ENOSPC;
	memcpy(p, src, n);
	sr_ring_commit(&w->ring, &w->prod, &rv, type,
		       cut ? SR_RF_TRUNCATED : 0);
	w->used += total;
	return 0;
}

static int ring_open(struct writer *w)
{
	struct sr_ring_params p = {
	    .lanes = LANES,
	    .lane_size = SR_RUN_REPLAY_LANE_SIZE,
	    .pid = (uint32_t)getpid(),
	    .ppid = (uint32_t)getppid(),
	    .uid = (uint32_t)geteuid(),
	    .start_ns = sr_now_ns(),
	    .exe = "spanring",
	};
	struct sr_process_rec pr = {.pid = p.pid,
				    .ppid = p.ppid,
				    .uid = p.uid,
				    .start_ns = p.start_ns,
				    .exe = {"spanring", 8}};
	char name[SR_RING_NAME_MAX];
	uint8_t nonce[8], own[64];
	bool cut = false;
	uint32_t n;
	int rc;

	sr_id_random(nonce, sizeof(nonce));
	sr_ring_name(name, p.pid, nonce,
		     sr_ring_file_size(LANES, SR_RUN_REPLAY_LANE_SIZE,
				       SR_RING_SPILL_SIZE));
	rc = sr_ring_create(&w->ring, w->dirfd, name, &p);
	if (rc)
		return rc;
	memset(&w->prod, 0, sizeof(w->prod));
	w->prod.tid = p.pid;
	w->open = true;
	w->used = 0;
	/* the first record of every ring names its owner (encoded apart:
	 * w->buf holds the record waiting for this ring) */
	n = sr_process_encode(own, sizeof(own), &pr, &cut);
	return commit(w, own, SR_REC_PROCESS, n, cut);
}

/* Writes the record in w->buf, in a new ring when this one is full. */
static int put(struct writer *w, uint16_t type, uint32_t n, bool cut)
{
	int rc;

	if (n == 0)
		return -EINVAL; /* not even the fixed part fitted */
	rc = w->open ? commit(w, w->buf, type, n, cut) : -ENOSPC;

	if (rc != -ENOSPC)
		return rc;
	ring_close(w);
	rc = ring_open(w);
	return rc ? rc : commit(w, w->buf, type, n, cut);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct sr_str str_of(const char *s)
{
	return (struct sr_str){s ? s : "", s ? (uint32_t)strlen(s) : 0};
}

/* "prefix" + 2n hex digits into n bytes. */
static bool parse_id(uint8_t *dst, const char *s, const char *prefix, size_t n)
{
	size_t k = strlen(prefix);

	return s && !strncmp(s, prefix, k) && strlen(s + k) == 2 * n &&
	       sr_unhex(dst, s + k, n);
}

/* The line being replayed: objects are taken from it as written (cJSON
 * would print numbers again: 0.000000 as 0, big integers rounded). */
static const char *cur_line;

/* The bytes of member `key` of the object text at p, or NULL. */
static const char *raw_member(const char *p, const char *end, const char *key,
			      const char **vend)
{
	size_t kn = strlen(key);

	if (p >= end || *p != '{')
		return NULL;
	for (p++; p < end && *p == '"';) {
		const char *k = p, *v;

		p = sr_json_skip(p, end);
		if (!p || p >= end || *p != ':')
			return NULL;
		v = p + 1;
		p = sr_json_skip(v, end);
		if (!p)
			return NULL;
		if ((size_t)(v - 1 - k) == kn + 2 && !memcmp(k + 1, key, kn)) {
			*vend = p;
			return v;
		}
		if (p >= end || *p != ',')
			break;
		p++;
	}
	return NULL;
}

/* Compact JSON of an object member of the item (NULL when absent or not
 * an object), as the line has it, else as cJSON prints it: free() it. */
static char *object_json(const cJSON *o, const char *k, const char *k1,
			 const char *k2)
{
	const cJSON *v = k ? cJSON_GetObjectItemCaseSensitive(o, k) : o;
	const char *end = cur_line ? cur_line + strlen(cur_line) : NULL;
	const char *r = cur_line, *e = end;

	if (!cJSON_IsObject(v))
		return NULL;
	if (r && k1)
		r = raw_member(r, end, k1, &e);
	if (r && k2)
		r = raw_member(r, e, k2, &e);
	if (r && *r == '{')
		return strndup(r, (size_t)(e - r));
	return cJSON_PrintUnformatted(v);
}

static int put_trace(struct writer *w, const cJSON *o)
{
	struct sr_trace_rec t = {.ts_ns = sr_now_ns()};
	char *meta = object_json(o, "metadata", "metadata", NULL);
	bool cut = false;
	uint32_t n;

	if (!parse_id(t.trace_id, jstr(o, "id"), "trace_", 16)) {
		free(meta);
		return -EINVAL;
	}
	t.workflow = str_of(jstr(o, "workflow_name"));
	t.group_id = str_of(jstr(o, "group_id"));
	t.metadata = str_of(meta);
	n = sr_trace_encode(w->buf, SR_RECORD_BIG_MAX - 8, &t, &cut);
	free(meta);
	return put(w, SR_REC_TRACE, n, cut);
}

/* span_data: a custom span's name and data, or the whole object. */
static char *span_data(struct sr_span_rec *s, const cJSON *sd)
{
	const char *type = jstr(sd, "type"), *name = jstr(sd, "name");
	char *data;

	if (!type || strcmp(type, "custom") || !name) {
		s->flags |= SR_SF_SPAN_DATA;
		data = object_json(sd, NULL, "span_data", NULL);
	} else {
		s->name = str_of(name);
		if (!strcmp(name, "connect") || !strcmp(name, "getaddrinfo"))
			s->flags |= SR_SF_CLIENT;
		data = object_json(sd, "data", "span_data", "data");
	}
	s->data = str_of(data);
	return data;
}

static int put_span(struct writer *w, const cJSON *o)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "span_data");
	const char *parent = jstr(o, "parent_id");
	struct sr_span_rec s = {0};
	char *data, *edata = NULL;
	bool cut = false;
	uint32_t n;

	if (!cJSON_IsObject(sd) ||
	    !parse_id(s.trace_id, jstr(o, "trace_id"), "trace_", 16) ||
	    !parse_id(s.span_id, jstr(o, "id"), "span_", 12) ||
	    (parent && !parse_id(s.parent_id, parent, "span_", 12)))
		return -EINVAL;
	s.flags = parent ? 0 : SR_SF_ROOT;
	s.start_ns = sr_tree_parse_time(jstr(o, "started_at"));
	s.end_ns = sr_tree_parse_time(jstr(o, "ended_at"));
	data = span_data(&s, sd);
	if (cJSON_IsObject(err)) {
		s.flags |= SR_SF_ERROR;
		s.err = str_of(jstr(err, "message"));
		edata = object_json(err, "data", "error", "data");
		s.errdata = str_of(edata);
	}
	n = sr_span_encode(w->buf, SR_RECORD_BIG_MAX - 8, &s, &cut);
	free(data);
	free(edata);
	return put(w, SR_REC_SPAN, n, cut);
}

/* One line: 1 when an item was written, 0 when skipped, or -errno. */
static int put_line(struct writer *w, const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const char *kind = jstr(o, "object");
	int rc = -EINVAL;

	cur_line = line;

	if (kind && !strcmp(kind, "trace"))
		rc = put_trace(w, o);
	else if (kind && !strcmp(kind, "trace.span"))
		rc = put_span(w, o);
	cJSON_Delete(o);
	cur_line = NULL;
	return rc == -EINVAL ? 0 : rc < 0 ? rc : 1;
}

static int put_lines(struct writer *w, FILE *in, size_t *skipped)
{
	size_t cap = SR_TREE_LINE_MAX + 2;
	char *line = malloc(cap);
	int rc = 0, items = 0;

	if (!line)
		return -ENOMEM;
	while (rc >= 0 && fgets(line, (int)cap, in)) {
		size_t k = strlen(line);

		/* an overlong line is skipped whole */
		if (k == cap - 1 && line[k - 1] != '\n') {
			while (fgets(line, (int)cap, in) &&
			       line[strlen(line) - 1] != '\n')
				;
			(*skipped)++;
			continue;
		}
		if (strspn(line, " \t\r\n") == k)
			continue;
		rc = put_line(w, line);
		items += rc > 0;
		*skipped += rc == 0;
	}
	free(line);
	return rc < 0 ? rc : items;
}

int sr_replay_write(const char *path, const char *dir, size_t *skipped)
{
	struct writer w = {.dirfd = -1};
	FILE *in = fopen(path, "re");
	int rc;

	*skipped = 0;
	if (!in)
		return -errno;
	w.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	w.buf = malloc(SR_RECORD_BIG_MAX);
	rc = w.dirfd < 0 ? -errno
	     : !w.buf	 ? -ENOMEM
			 : put_lines(&w, in, skipped);
	ring_close(&w);
	if (w.dirfd >= 0)
		close(w.dirfd);
	free(w.buf);
	fclose(in);
	return rc;
}
