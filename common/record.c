/* SPDX-License-Identifier: MIT */
#include "record.h"

#include <errno.h>
#include <string.h>

/* Fixed parts, in bytes. */
#define SPAN_FIXED \
	80u /* ids 40, times 16, flags 4, 4 lengths x u32 16, pad 4 */
#define TRACE_FIXED 40u /* id 16, ts 8, 3 lengths x u32 12, pad 4 */
#define PROCESS_FIXED \
	32u             /* pid ppid uid 12, pad 4, start 8, exe len 2, pad 6 */
#define CHILD_FIXED 32u /* pid 4, status 4, ts 8, trace id 16 */
#define STR_MAX 0xffffu /* the process record's exe length is a u16 */

struct wr {
	uint8_t *p;
	uint32_t off;
};

static void put(struct wr *w, const void *src, uint32_t n)
{
	/* an empty string may be { NULL, 0 }: memcpy must not see NULL */
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
}

static void put_u16(struct wr *w, uint32_t v)
{
	uint16_t x = (uint16_t)v;

	put(w, &x, 2);
}

static void put_u32(struct wr *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put_u64(struct wr *w, uint64_t v)
{
	put(w, &v, 8);
}

static void put_zero(struct wr *w, uint32_t n)
{
	memset(w->p + w->off, 0, n);
	w->off += n;
}

/* Cuts string lengths so fixed + sum <= cap; never splits a UTF-8
 * sequence. Strings earlier in the list keep their bytes first. */
static bool fit(uint32_t fixed, uint32_t cap, struct sr_str *s, int n,
		uint32_t str_max)
{
	uint32_t left = cap > fixed ? cap - fixed : 0;
	bool cut = false;

	for (int i = 0; i < n; i++) {
		uint32_t want = s[i].n > str_max ? str_max : s[i].n;

		if (want > left)
			want = left;
		/* a cut, by room or by the u16 length, backs off to a
		 * character boundary */
		while (want > 0 && want < s[i].n &&
		       ((uint8_t)s[i].p[want] & 0xc0) == 0x80)
			want--;
		if (want != s[i].n)
			cut = true;
		s[i].n = want;
		left -= want;
	}
	return cut;
}

uint32_t sr_span_size(const struct sr_span_rec *s)
{
	return SPAN_FIXED + s->name.n + s->data.n + s->err.n + s->errdata.n;
}

/* true when strings of `sum` bytes fit whole: fit() would change nothing
 * (span and trace lengths are u32: only the room limits them). */
static bool fits_whole(uint32_t fixed, uint32_t cap, uint64_t sum)
{
	return fixed + sum <= cap;
}

uint32_t sr_span_encode(uint8_t *dst, uint32_t cap, const struct sr_span_rec *s,
			bool *truncated)
{
	/* name and error message first: they matter most when cut */
	struct sr_str str[4] = { s->name, s->err, s->data, s->errdata };
	struct wr w = { dst, 0 };

	if (cap < SPAN_FIXED)
		return 0;
	/* the span path's usual case needs no cut: skip fit() */
	if (!fits_whole(SPAN_FIXED, cap,
			(uint64_t)s->name.n + s->data.n + s->err.n +
				s->errdata.n) &&
	    fit(SPAN_FIXED, cap, str, 4, UINT32_MAX))
		*truncated = true;
	put(&w, s->trace_id, 16);
	put(&w, s->span_id, 12);
	put(&w, s->parent_id, 12);
	put_u64(&w, s->start_ns);
	put_u64(&w, s->end_ns);
	put_u32(&w, s->flags);
	put_u32(&w, str[0].n);
	put_u32(&w, str[2].n);
	put_u32(&w, str[1].n);
	put_u32(&w, str[3].n);
	put_zero(&w, 4);
	put(&w, str[0].p, str[0].n);
	put(&w, str[2].p, str[2].n);
	put(&w, str[1].p, str[1].n);
	put(&w, str[3].p, str[3].n);
	return w.off;
}

uint32_t sr_trace_size(const struct sr_trace_rec *t)
{
	return TRACE_FIXED + t->workflow.n + t->group_id.n + t->metadata.n;
}

uint32_t sr_trace_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_trace_rec *t, bool *truncated)
{
	struct sr_str str[3] = { t->workflow, t->group_id, t->metadata };
	struct wr w = { dst, 0 };

	if (cap < TRACE_FIXED)
		return 0;
	if (fit(TRACE_FIXED, cap, str, 3, UINT32_MAX))
		*truncated = true;
	put(&w, t->trace_id, 16);
	put_u64(&w, t->ts_ns);
	put_u32(&w, str[0].n);
	put_u32(&w, str[1].n);
	put_u32(&w, str[2].n);
	put_zero(&w, 4);
	for (int i = 0; i < 3; i++)
		put(&w, str[i].p, str[i].n);
	return w.off;
}

uint32_t sr_process_size(const struct sr_process_rec *p)
{
	return PROCESS_FIXED + p->exe.n;
}

uint32_t sr_process_encode(uint8_t *dst, uint32_t cap,
			   const struct sr_process_rec *p, bool *truncated)
{
	struct sr_str exe = p->exe;
	struct wr w = { dst, 0 };

	if (cap < PROCESS_FIXED)
		return 0;
	if (fit(PROCESS_FIXED, cap, &exe, 1, STR_MAX))
		*truncated = true;
	put_u32(&w, p->pid);
	put_u32(&w, p->ppid);
	put_u32(&w, p->uid);
	put_zero(&w, 4);
	put_u64(&w, p->start_ns);
	put_u16(&w, exe.n);
	put_zero(&w, 6);
	put(&w, exe.p, exe.n);
	return w.off;
}

uint32_t sr_child_size(void)
{
	return CHILD_FIXED;
}

uint32_t sr_child_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_child_rec *c)
{
	struct wr w = { dst, 0 };

	if (cap < CHILD_FIXED)
		return 0;
	put_u32(&w, c->pid);
	put_u32(&w, (uint32_t)c->status);
	put_u64(&w, c->ts_ns);
	put(&w, c->trace_id, 16);
	return w.off;
}

/* --- decoding: every length is checked against the payload ------------- */

struct rd {
	const uint8_t *p;
	uint32_t len, off;
};

static uint16_t get_u16(struct rd *r)
{
	uint16_t v;

	memcpy(&v, r->p + r->off, 2);
	r->off += 2;
	return v;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v;

	memcpy(&v, r->p + r->off, 4);
	r->off += 4;
	return v;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t v;

	memcpy(&v, r->p + r->off, 8);
	r->off += 8;
	return v;
}

static void get(struct rd *r, void *dst, uint32_t n)
{
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

/* Takes n string bytes after the fixed part; false if they overrun (n is
 * untrusted: compared, never added). */
static bool get_str(struct rd *r, struct sr_str *s, uint32_t n)
{
	if (n > r->len - r->off)
		return false;
	s->p = (const char *)r->p + r->off;
	s->n = n;
	r->off += n;
	return true;
}

/* Reads k (<= 4) string lengths (u32, or u16 when `wide` is false), skips
 * pad bytes, then takes the k strings into *s[i]: the variable part of
 * every record with strings. 0, or -EBADMSG if they overrun the record or
 * do not end where it does. */
static int get_strs(struct rd *r, struct sr_str *const s[], int k, uint32_t pad,
		    bool wide)
{
	uint32_t n[4];

	for (int i = 0; i < k; i++)
		n[i] = wide ? get_u32(r) : get_u16(r);
	r->off += pad;
	for (int i = 0; i < k; i++)
		if (!get_str(r, s[i], n[i]))
			return -EBADMSG;
	/* trailing bytes mean the lengths lie */
	return r->off == r->len ? 0 : -EBADMSG;
}

int sr_span_decode(const uint8_t *src, uint32_t len, struct sr_span_rec *s)
{
	struct rd r = { src, len, 0 };
	struct sr_str *const str[] = { &s->name, &s->data, &s->err,
				       &s->errdata };

	if (len < SPAN_FIXED)
		return -EBADMSG;
	get(&r, s->trace_id, 16);
	get(&r, s->span_id, 12);
	get(&r, s->parent_id, 12);
	s->start_ns = get_u64(&r);
	s->end_ns = get_u64(&r);
	s->flags = get_u32(&r);
	return get_strs(&r, str, 4, 4, true);
}

int sr_trace_decode(const uint8_t *src, uint32_t len, struct sr_trace_rec *t)
{
	struct rd r = { src, len, 0 };
	struct sr_str *const str[] = { &t->workflow, &t->group_id,
				       &t->metadata };

	if (len < TRACE_FIXED)
		return -EBADMSG;
	get(&r, t->trace_id, 16);
	t->ts_ns = get_u64(&r);
	return get_strs(&r, str, 3, 4, true);
}

int sr_process_decode(const uint8_t *src, uint32_t len,
		      struct sr_process_rec *p)
{
	struct rd r = { src, len, 0 };
	struct sr_str *const str = &p->exe;

	if (len < PROCESS_FIXED)
		return -EBADMSG;
	p->pid = get_u32(&r);
	p->ppid = get_u32(&r);
	p->uid = get_u32(&r);
	r.off += 4;
	p->start_ns = get_u64(&r);
	return get_strs(&r, &str, 1, 6, false);
}

int sr_child_decode(const uint8_t *src, uint32_t len, struct sr_child_rec *c)
{
	struct rd r = { src, len, 0 };

	if (len != CHILD_FIXED)
		return -EBADMSG;
	c->pid = get_u32(&r);
	c->status = (int32_t)get_u32(&r);
	c->ts_ns = get_u64(&r);
	get(&r, c->trace_id, 16);
	return 0;
}

const char *sr_rec_type_name(uint16_t type)
{
	switch (type) {
	case SR_REC_PROCESS:
		return "process";
	case SR_REC_TRACE:
		return "trace";
	case SR_REC_SPAN_START:
		return "span_start";
	case SR_REC_SPAN_END:
		return "span_end";
	case SR_REC_SPAN:
		return "span";
	case SR_REC_CHILD_EXIT:
		return "child_exit";
	default:
		return "?";
	}
}

unsigned sr_rec_stamps(uint16_t type, uint32_t len,
		       uint32_t off[SR_REC_STAMPS_MAX])
{
	/* the fixed part, and where its times are: a span's start and end
	 * after the ids, a trace's ts after its id, a process's start after
	 * pid, ppid, uid and a pad, a child's ts after pid and status */
	static const struct {
		uint32_t fixed, n, off[SR_REC_STAMPS_MAX];
	} t[SR_REC_TYPE_MAX + 1] = {
		[SR_REC_PROCESS] = { PROCESS_FIXED, 1, { 16 } },
		[SR_REC_TRACE] = { TRACE_FIXED, 1, { 16 } },
		[SR_REC_SPAN_START] = { SPAN_FIXED, 2, { 40, 48 } },
		[SR_REC_SPAN_END] = { SPAN_FIXED, 2, { 40, 48 } },
		[SR_REC_SPAN] = { SPAN_FIXED, 2, { 40, 48 } },
		[SR_REC_CHILD_EXIT] = { CHILD_FIXED, 1, { 8 } },
	};

	if (type > SR_REC_TYPE_MAX || !t[type].n || len < t[type].fixed)
		return 0;
	memcpy(off, t[type].off, sizeof(t[type].off));
	return t[type].n;
}
