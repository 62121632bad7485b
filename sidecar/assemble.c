/* SPDX-License-Identifier: MIT */
#include "assemble.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ids.h"
#include "common/record.h"
#include "encode.h"
#include "stats.h"

#define OPEN_MAGIC "SROPEN1\n"

struct open_span {
	uint8_t span_id[12];
	uint64_t seq; /* order of arrival */
	uint32_t len;
	uint8_t *payload; /* SPAN_START payload, private copy */
};

struct sr_asm_ring {
	struct open_span *open;
	size_t n, cap;
	uint64_t next_seq;
	bool dirty;
};

struct child_exit {
	uint32_t pid;
	int32_t status;
	uint8_t trace_id[16];
};

struct sr_asm {
	uint8_t (*traces)[16]; /* SR_TRACE_SET_SLOTS slots */
	struct child_exit kids[SR_CHILD_EXITS_MAX];
	unsigned next_kid;
};

struct sr_asm *sr_asm_new(void)
{
	struct sr_asm *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->traces = calloc(SR_TRACE_SET_SLOTS, 16);
	if (!a->traces) {
		free(a);
		return NULL;
	}
	return a;
}

void sr_asm_free(struct sr_asm *a)
{
	if (!a)
		return;
	free(a->traces);
	free(a);
}

struct sr_asm_ring *sr_asm_ring_new(void)
{
	return calloc(1, sizeof(struct sr_asm_ring));
}

void sr_asm_ring_free(struct sr_asm_ring *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->open[i].payload);
	free(r->open);
	free(r);
}

bool sr_asm_ring_dirty(const struct sr_asm_ring *r)
{
	return r->dirty;
}

/* The set's slot for a trace id. */
static uint8_t *trace_slot(struct sr_asm *a, const uint8_t id[16])
{
	uint64_t h;

	memcpy(&h, id, 8);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return a->traces[(h >> 32) % SR_TRACE_SET_SLOTS];
}

static int emit_trace(struct sr_asm *a, const struct sr_record *rec,
		      sr_emit_fn emit, void *ctx)
{
	struct sr_trace_rec t;
	uint8_t *slot;
	char *json;
	size_t len;
	int rc;

	if (sr_trace_decode(rec->payload, rec->len, &t))
		return -EBADMSG;
	slot = trace_slot(a, t.trace_id);
	if (!memcmp(slot, t.trace_id, 16))
		return 0;
	rc = sr_encode_trace(&t, &json, &len);
	if (rc)
		return rc;
	memcpy(slot, t.trace_id, 16);
	SR_STAT_ADD(traces, 1);
	return emit(ctx, json, len, t.ts_ns);
}

static int emit_span(const struct sr_span_rec *s, struct sr_str extra,
		     sr_emit_fn emit, void *ctx)
{
	char *json;
	size_t len;
	int rc = sr_encode_span(s, extra, &json, &len);

	if (rc)
		return rc;
	SR_STAT_ADD(spans, 1);
	return emit(ctx, json, len, s->end_ns ? s->end_ns : s->start_ns);
}

static struct open_span *find_open(struct sr_asm_ring *r, const uint8_t id[12])
{
	for (size_t i = 0; i < r->n; i++)
		if (!memcmp(r->open[i].span_id, id, 12))
			return &r->open[i];
	return NULL;
}

static int add_open(struct sr_asm_ring *r, const uint8_t id[12],
		    const uint8_t *payload, uint32_t len)
{
	struct open_span *o;

	/* a record read again after a restart is already held */
	if (find_open(r, id))
		return 0;
	if (r->n == SR_OPEN_SPANS_MAX)
		return -EBADMSG;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		void *p = realloc(r->open, cap * sizeof(*r->open));

		if (!p)
			return -ENOMEM;
		r->open = p;
		r->cap = cap;
	}
	o = &r->open[r->n];
	o->payload = malloc(len ? len : 1);
	if (!o->payload)
		return -ENOMEM;
	memcpy(o->payload, payload, len);
	memcpy(o->span_id, id, 12);
	o->len = len;
	o->seq = r->next_seq++;
	r->n++;
	r->dirty = true;
	return 0;
}

static void drop_open(struct sr_asm_ring *r, struct open_span *o)
{
	free(o->payload);
	*o = r->open[--r->n];
	r->dirty = true;
}

static int span_end(struct sr_asm_ring *r, const struct sr_record *rec,
		    sr_emit_fn emit, void *ctx)
{
	struct sr_span_rec e, s;
	struct open_span *o;
	int rc;

	if (sr_span_decode(rec->payload, rec->len, &e))
		return -EBADMSG;
	o = find_open(r, e.span_id);
	if (!o) {
		SR_STAT_ADD(records_unmatched, 1);
		return 0;
	}
	if (sr_span_decode(o->payload, o->len, &s)) {
		drop_open(r, o);
		return -EBADMSG;
	}
	s.end_ns = e.end_ns;
	s.err = e.err;
	s.errdata = e.errdata;
	s.flags |= e.flags & SR_SF_ERROR;
	rc = emit_span(&s, e.data, emit, ctx);
	drop_open(r, o);
	return rc;
}

static void note_child(struct sr_asm *a, const struct sr_record *rec)
{
	struct sr_child_rec c;
	struct child_exit *k;

	if (sr_child_decode(rec->payload, rec->len, &c))
		return;
	k = &a->kids[a->next_kid++ % SR_CHILD_EXITS_MAX];
	k->pid = c.pid;
	k->status = c.status;
	memcpy(k->trace_id, c.trace_id, 16);
}

int sr_asm_record(struct sr_asm *a, struct sr_asm_ring *r,
		  const struct sr_record *rec, sr_emit_fn emit, void *ctx)
{
	struct sr_span_rec s;
	struct sr_process_rec p;

	switch (rec->type) {
	case SR_REC_PROCESS:
		return sr_process_decode(rec->payload, rec->len, &p) ? -EBADMSG
								     : 0;
	case SR_REC_TRACE:
		return emit_trace(a, rec, emit, ctx);
	case SR_REC_SPAN:
		if (sr_span_decode(rec->payload, rec->len, &s))
			return -EBADMSG;
		return emit_span(&s, (struct sr_str){0}, emit, ctx);
	case SR_REC_SPAN_START:
		if (sr_span_decode(rec->payload, rec->len, &s) ||
		    sr_id_is_zero(s.span_id, 12))
			return -EBADMSG;
		return add_open(r, s.span_id, rec->payload, rec->len);
	case SR_REC_SPAN_END:
		return span_end(r, rec, emit, ctx);
	case SR_REC_CHILD_EXIT:
		note_child(a, rec);
		return 0;
	default:
		return -EBADMSG;
	}
}

/* {"process.exit.code":N} or {"process.exit.signal":"SIGX"} for the owner,
 * when its parent reported the exit; "" otherwise. */
static void exit_members(const struct sr_asm *a, uint32_t pid,
			 const uint8_t trace_id[16], char *buf, size_t n)
{
	buf[0] = 0;
	for (unsigned i = 0; i < SR_CHILD_EXITS_MAX; i++) {
		const struct child_exit *k = &a->kids[i];

		if (!pid || k->pid != pid || memcmp(k->trace_id, trace_id, 16))
			continue;
		if (WIFSIGNALED(k->status))
			snprintf(buf, n, "{\"process.exit.signal\":\"SIG%s\"}",
				 sigabbrev_np(WTERMSIG(k->status))
				     ? sigabbrev_np(WTERMSIG(k->status))
				     : "UNKNOWN");
		else if (WIFEXITED(k->status))
			snprintf(buf, n, "{\"process.exit.code\":%d}",
				 WEXITSTATUS(k->status));
		return;
	}
}

static int close_one(struct sr_asm *a, struct open_span *o, uint32_t pid,
		     uint64_t end_ns, bool replaced, sr_emit_fn emit, void *ctx)
{
	static const char msg[] = "process ended without closing the span";
	char edata[64], extra[96];
	struct sr_span_rec s;

	if (sr_span_decode(o->payload, o->len, &s))
		return 0;
	s.end_ns = end_ns;
	extra[0] = 0;
	if (!replaced) {
		snprintf(edata, sizeof(edata), "{\"process.pid\":%u}", pid);
		s.err = (struct sr_str){msg, sizeof(msg) - 1};
		s.errdata = (struct sr_str){edata, (uint32_t)strlen(edata)};
		s.flags |= SR_SF_ERROR;
		if (s.flags & SR_SF_PROCESS)
			exit_members(a, pid, s.trace_id, extra, sizeof(extra));
	}
	SR_STAT_ADD(spans_orphaned, 1);
	return emit_span(&s, (struct sr_str){extra, (uint32_t)strlen(extra)},
			 emit, ctx);
}

int sr_asm_close_orphans(struct sr_asm *a, struct sr_asm_ring *r,
			 uint32_t owner_pid, uint64_t now_ns, sr_emit_fn emit,
			 void *ctx)
{
	struct open_span *newest = NULL;
	struct sr_span_rec s;
	uint64_t end_ns = now_ns;
	bool replaced = false;
	int closed = 0, rc;

	for (size_t i = 0; i < r->n; i++)
		if (!newest || r->open[i].seq > newest->seq)
			newest = &r->open[i];
	if (newest && !sr_span_decode(newest->payload, newest->len, &s) &&
	    (s.flags & SR_SF_EXEC)) {
		/* the image was replaced by the exec: a clean end */
		replaced = true;
		end_ns = s.start_ns;
	}
	while (r->n) {
		rc = close_one(a, &r->open[0], owner_pid, end_ns, replaced,
			       emit, ctx);
		drop_open(r, &r->open[0]);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 0)
			closed++;
	}
	return closed;
}

/* --- persistence of the open set --------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int sr_asm_ring_save(struct sr_asm_ring *r, int dirfd, const char *name,
		     bool sync)
{
	char tmp[300];
	int fd, rc;

	if (!r->n) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		r->dirty = false;
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, OPEN_MAGIC, 8);
	for (size_t i = 0; i < r->n && !rc; i++) {
		rc = write_all(fd, &r->open[i].len, 4);
		if (!rc)
			rc = write_all(fd, &r->open[i].seq, 8);
		if (!rc)
			rc = write_all(fd, r->open[i].payload, r->open[i].len);
	}
	if (!rc && sync && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	else
		r->dirty = false;
	return rc;
}

int sr_asm_ring_load(struct sr_asm_ring *r, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	struct stat st;
	size_t off = 8;
	int rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0 || st.st_size > 64 * 1024 * 1024) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size ||
	    st.st_size < 8 || memcmp(buf, OPEN_MAGIC, 8)) {
		free(buf);
		close(fd);
		return -EBADMSG;
	}
	close(fd);
	while (off + 12 <= (size_t)st.st_size && !rc) {
		struct sr_span_rec s;
		uint32_t len;
		uint64_t seq;
		size_t had = r->n;

		memcpy(&len, buf + off, 4);
		memcpy(&seq, buf + off + 4, 8);
		off += 12;
		if (len > (size_t)st.st_size - off)
			break;
		if (!sr_span_decode(buf + off, len, &s))
			rc = add_open(r, s.span_id, buf + off, len);
		if (r->n > had) {
			/* keep the saved order: the orphan rule needs it */
			r->open[had].seq = seq;
			if (seq >= r->next_seq)
				r->next_seq = seq + 1;
		}
		off += len;
	}
	free(buf);
	r->dirty = false;
	return rc == -EBADMSG ? 0 : rc;
}
