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
	struct sr_str ident;  /* identity members of its items (owned) */
	uint8_t (*ended)[12]; /* SR_ENDED_EARLY_MAX ids of whole SPAN_ENDs
				 read before their start; NULL until one */
	size_t nended, next_ended;
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
	free(r->ended);
	free((char *)r->ident.p);
	free(r);
}

int sr_asm_ring_identity(struct sr_asm_ring *r, const char *members, size_t n)
{
	char *t = n ? malloc(n) : NULL;

	if (n && !t)
		return -ENOMEM;
	if (n)
		memcpy(t, members, n);
	free((char *)r->ident.p);
	r->ident = (struct sr_str){ t, (uint32_t)n };
	return 0;
}

size_t sr_asm_ring_open_count(const struct sr_asm_ring *r)
{
	return r->n;
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
	struct sr_item item;
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
	item = (struct sr_item){ json, len, t.ts_ns, true, { 0 } };
	memcpy(item.trace_id, t.trace_id, 16);
	return emit(ctx, &item);
}

static int emit_span(const struct sr_span_rec *s, struct sr_str extra,
		     sr_emit_fn emit, void *ctx)
{
	struct sr_item item;
	char *json;
	size_t len;
	int rc = sr_encode_span(s, extra, &json, &len);

	if (rc)
		return rc;
	SR_STAT_ADD(spans, 1);
	item = (struct sr_item){ json,
				 len,
				 s->end_ns ? s->end_ns : s->start_ns,
				 false,
				 { 0 } };
	memcpy(item.trace_id, s->trace_id, 16);
	return emit(ctx, &item);
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

/* Remembers the id of a whole SPAN_END that came before its start. */
static int note_ended(struct sr_asm_ring *r, const uint8_t id[12])
{
	if (!r->ended) {
		r->ended = malloc(SR_ENDED_EARLY_MAX * sizeof(*r->ended));
		if (!r->ended)
			return -ENOMEM;
	}
	memcpy(r->ended[r->next_ended], id, 12);
	r->next_ended = (r->next_ended + 1) % SR_ENDED_EARLY_MAX;
	if (r->nended < SR_ENDED_EARLY_MAX)
		r->nended++;
	return 0;
}

/* True (and forgotten) if the span ended before this start of it. */
static bool ended_early(struct sr_asm_ring *r, const uint8_t id[12])
{
	for (size_t i = 0; i < r->nended; i++)
		if (!memcmp(r->ended[i], id, 12)) {
			memset(r->ended[i], 0, 12);
			return true;
		}
	return false;
}

/* A whole SPAN_END (SDK spans: flag SPAN_DATA, ids, parent, start, end,
 * the final span_data) whose start was not seen: lost to a full ring, or
 * on another lane not read yet. Emitted as it is. */
static int span_end_whole(struct sr_asm_ring *r, const struct sr_span_rec *e,
			  sr_emit_fn emit, void *ctx)
{
	int rc = note_ended(r, e->span_id);

	if (rc)
		return rc;
	return emit_span(e, (struct sr_str){ 0 }, emit, ctx);
}

static int span_end(struct sr_asm_ring *r, const struct sr_record *rec,
		    sr_emit_fn emit, void *ctx)
{
	struct sr_span_rec e, s;
	struct sr_str extra = { 0 };
	struct open_span *o;
	int rc;

	if (sr_span_decode(rec->payload, rec->len, &e))
		return -EBADMSG;
	o = find_open(r, e.span_id);
	if (!o && (e.flags & SR_SF_SPAN_DATA) && e.start_ns)
		return span_end_whole(r, &e, emit, ctx);
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
	if (e.flags & SR_SF_SPAN_DATA)
		s.data = e.data; /* the final span_data replaces the start's */
	else
		extra = e.data;
	rc = emit_span(&s, extra, emit, ctx);
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

	sr_encode_identity(r->ident);
	switch (rec->type) {
	case SR_REC_PROCESS:
		return sr_process_decode(rec->payload, rec->len, &p) ? -EBADMSG
								     : 0;
	case SR_REC_TRACE:
		return emit_trace(a, rec, emit, ctx);
	case SR_REC_SPAN:
		if (sr_span_decode(rec->payload, rec->len, &s))
			return -EBADMSG;
		return emit_span(&s, (struct sr_str){ 0 }, emit, ctx);
	case SR_REC_SPAN_START:
		if (sr_span_decode(rec->payload, rec->len, &s) ||
		    sr_id_is_zero(s.span_id, 12))
			return -EBADMSG;
		if (r->nended && ended_early(r, s.span_id))
			return 0;
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
		s.err = (struct sr_str){ msg, sizeof(msg) - 1 };
		s.errdata = (struct sr_str){ edata, (uint32_t)strlen(edata) };
		s.flags |= SR_SF_ERROR;
		if (s.flags & SR_SF_PROCESS)
			exit_members(a, pid, s.trace_id, extra, sizeof(extra));
	}
	SR_STAT_ADD(spans_orphaned, 1);
	return emit_span(&s, (struct sr_str){ extra, (uint32_t)strlen(extra) },
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

	sr_encode_identity(r->ident);

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

/* --- the open set, for its file (openspans.c) --------------------------- */

void sr_asm_ring_touch(struct sr_asm_ring *r)
{
	r->dirty = true;
}

void sr_asm_ring_saved(struct sr_asm_ring *r)
{
	r->dirty = false;
}

void sr_asm_ring_entry(const struct sr_asm_ring *r, size_t i,
		       struct sr_open_entry *e)
{
	e->payload = r->open[i].payload;
	e->len = r->open[i].len;
	e->seq = r->open[i].seq;
}

int sr_asm_ring_restore(struct sr_asm_ring *r, const uint8_t *payload,
			uint32_t len, uint64_t seq)
{
	struct sr_span_rec s;
	size_t had = r->n;
	int rc;

	if (sr_span_decode(payload, len, &s))
		return -EBADMSG;
	rc = add_open(r, s.span_id, payload, len);
	if (r->n > had) {
		/* keep the saved order: the orphan rule needs it */
		r->open[had].seq = seq;
		if (seq >= r->next_seq)
			r->next_seq = seq + 1;
	}
	return rc;
}
