/* SPDX-License-Identifier: MIT */
#include "record.h"

#include <errno.h>
#include <string.h>

#include "record_layout.h"

/*
 * Stores v (an lvalue the size of the member) as member m of the fixed
 * part T, at its offset in dst. The encoders store each member in place
 * rather than fill a struct on the stack and copy it: the copy's wide
 * loads of a struct just written member by member stall on store
 * forwarding, which tripled the span encoder's time.
 */
#define PUT(dst, T, m, v)                                             \
	do {                                                          \
		_Static_assert(sizeof(v) == sizeof(((T *)0)->m), #m); \
		memcpy((dst) + offsetof(T, m), &(v), sizeof(v));      \
	} while (0)

/* Cuts string lengths so fixed + sum <= cap; never splits a UTF-8
 * sequence. Strings keep their bytes in the order `keep` lists them (NULL:
 * payload order); none is longer than str_max. */
static bool fit(uint32_t fixed, uint32_t cap, struct sr_str *s,
		const uint8_t *keep, int n, uint32_t str_max)
{
	uint32_t left = cap > fixed ? cap - fixed : 0;
	bool cut = false;

	for (int k = 0; k < n; k++) {
		struct sr_str *x = &s[keep ? keep[k] : k];
		uint32_t want = x->n > str_max ? str_max : x->n;

		if (want > left)
			want = left;
		/* a cut, by room or by the u16 length, backs off to a
		 * character boundary */
		while (want > 0 && want < x->n &&
		       ((uint8_t)x->p[want] & 0xc0) == 0x80)
			want--;
		if (want != x->n)
			cut = true;
		x->n = want;
		left -= want;
	}
	return cut;
}

/* true when strings of `sum` bytes fit whole: fit() would change nothing
 * (span and trace lengths are u32: only the room limits them). */
static bool fits_whole(uint32_t fixed, uint32_t cap, uint64_t sum)
{
	return fixed + sum <= cap;
}

/* Writes the n strings after a fixed part of `fixed` bytes, in payload
 * order, and their lengths into the fixed part's u32 array at len_off (one
 * store each, as PUT does; 0: the type stores its length itself, as the
 * process record's u16). Returns the payload's length. */
static uint32_t put_strs(uint8_t *dst, size_t len_off, uint32_t fixed,
			 const struct sr_str *s, int n)
{
	uint32_t off = fixed;

	/* unrolled: one short branch per string on the span path */
#pragma GCC unroll 4
	for (int i = 0; i < n; i++) {
		if (len_off)
			memcpy(dst + len_off + i * sizeof(s[i].n), &s[i].n,
			       sizeof(s[i].n));
		/* an empty string may be { NULL, 0 }: memcpy must not see
		 * NULL */
		if (s[i].n)
			memcpy(dst + off, s[i].p, s[i].n);
		off += s[i].n;
	}
	return off;
}

uint32_t sr_span_size(const struct sr_span_rec *s)
{
	return sizeof(struct sr_span_fixed) + s->name.n + s->data.n + s->err.n +
	       s->errdata.n;
}

uint32_t sr_span_encode(uint8_t *dst, uint32_t cap, const struct sr_span_rec *s,
			bool *truncated)
{
	typedef struct sr_span_fixed F;
	/* name and error message keep their bytes first: they matter most
	 * when cut */
	static const uint8_t keep[SR_SPAN_STRS] = { SR_SPAN_STR_NAME,
						    SR_SPAN_STR_ERR,
						    SR_SPAN_STR_DATA,
						    SR_SPAN_STR_ERRDATA };
	struct sr_str str[SR_SPAN_STRS] = {
		[SR_SPAN_STR_NAME] = s->name,
		[SR_SPAN_STR_DATA] = s->data,
		[SR_SPAN_STR_ERR] = s->err,
		[SR_SPAN_STR_ERRDATA] = s->errdata,
	};
	uint32_t pad = 0;

	if (cap < sizeof(F))
		return 0;
	/* the span path's usual case needs no cut: skip fit() */
	if (!fits_whole(sizeof(F), cap,
			(uint64_t)s->name.n + s->data.n + s->err.n +
				s->errdata.n) &&
	    fit(sizeof(F), cap, str, keep, SR_SPAN_STRS, UINT32_MAX))
		*truncated = true;
	PUT(dst, F, trace_id, s->trace_id);
	PUT(dst, F, span_id, s->span_id);
	PUT(dst, F, parent_id, s->parent_id);
	PUT(dst, F, start_ns, s->start_ns);
	PUT(dst, F, end_ns, s->end_ns);
	PUT(dst, F, flags, s->flags);
	PUT(dst, F, pad, pad);
	return put_strs(dst, offsetof(F, len), sizeof(F), str, SR_SPAN_STRS);
}

uint32_t sr_trace_size(const struct sr_trace_rec *t)
{
	return sizeof(struct sr_trace_fixed) + t->workflow.n + t->group_id.n +
	       t->metadata.n;
}

uint32_t sr_trace_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_trace_rec *t, bool *truncated)
{
	typedef struct sr_trace_fixed F;
	struct sr_str str[SR_TRACE_STRS] = {
		[SR_TRACE_STR_WORKFLOW] = t->workflow,
		[SR_TRACE_STR_GROUP_ID] = t->group_id,
		[SR_TRACE_STR_METADATA] = t->metadata,
	};
	uint32_t pad = 0;

	if (cap < sizeof(F))
		return 0;
	if (fit(sizeof(F), cap, str, NULL, SR_TRACE_STRS, UINT32_MAX))
		*truncated = true;
	PUT(dst, F, trace_id, t->trace_id);
	PUT(dst, F, ts_ns, t->ts_ns);
	PUT(dst, F, pad, pad);
	return put_strs(dst, offsetof(F, len), sizeof(F), str, SR_TRACE_STRS);
}

uint32_t sr_process_size(const struct sr_process_rec *p)
{
	return sizeof(struct sr_process_fixed) + p->exe.n;
}

uint32_t sr_process_encode(uint8_t *dst, uint32_t cap,
			   const struct sr_process_rec *p, bool *truncated)
{
	typedef struct sr_process_fixed F;
	struct sr_str exe = p->exe;
	uint32_t pad0 = 0;
	uint16_t exe_len;
	uint8_t pad1[6] = { 0 };

	if (cap < sizeof(F))
		return 0;
	if (fit(sizeof(F), cap, &exe, NULL, 1, SR_PROCESS_EXE_MAX))
		*truncated = true;
	exe_len = (uint16_t)exe.n;
	PUT(dst, F, pid, p->pid);
	PUT(dst, F, ppid, p->ppid);
	PUT(dst, F, uid, p->uid);
	PUT(dst, F, pad0, pad0);
	PUT(dst, F, start_ns, p->start_ns);
	PUT(dst, F, exe_len, exe_len);
	PUT(dst, F, pad1, pad1);
	return put_strs(dst, 0, sizeof(F), &exe, 1);
}

uint32_t sr_child_size(void)
{
	return sizeof(struct sr_child_fixed);
}

uint32_t sr_child_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_child_rec *c)
{
	typedef struct sr_child_fixed F;

	if (cap < sizeof(F))
		return 0;
	PUT(dst, F, pid, c->pid);
	PUT(dst, F, status, c->status);
	PUT(dst, F, ts_ns, c->ts_ns);
	PUT(dst, F, trace_id, c->trace_id);
	return sizeof(F);
}

/* --- decoding: every length is checked against the payload ------------- */

/* Takes the n strings after a fixed part of `fixed` bytes (<= size), their
 * lengths in len[] (untrusted: compared, never added), in payload order
 * into *s[i]. 0, or -EBADMSG if they overrun the payload or do not end
 * where it does. */
static int get_strs(const uint8_t *src, uint32_t size, uint32_t fixed,
		    const uint32_t *len, struct sr_str *const s[], int n)
{
	uint32_t off = fixed;

	for (int i = 0; i < n; i++) {
		if (len[i] > size - off)
			return -EBADMSG;
		s[i]->p = (const char *)src + off;
		s[i]->n = len[i];
		off += len[i];
	}
	/* trailing bytes mean the lengths lie */
	return off == size ? 0 : -EBADMSG;
}

int sr_span_decode(const uint8_t *src, uint32_t len, struct sr_span_rec *s)
{
	struct sr_str *const str[SR_SPAN_STRS] = {
		[SR_SPAN_STR_NAME] = &s->name,
		[SR_SPAN_STR_DATA] = &s->data,
		[SR_SPAN_STR_ERR] = &s->err,
		[SR_SPAN_STR_ERRDATA] = &s->errdata,
	};
	struct sr_span_fixed f;

	if (len < sizeof(f))
		return -EBADMSG;
	memcpy(&f, src, sizeof(f));
	memcpy(s->trace_id, f.trace_id, sizeof(f.trace_id));
	memcpy(s->span_id, f.span_id, sizeof(f.span_id));
	memcpy(s->parent_id, f.parent_id, sizeof(f.parent_id));
	s->start_ns = f.start_ns;
	s->end_ns = f.end_ns;
	s->flags = f.flags;
	return get_strs(src, len, sizeof(f), f.len, str, SR_SPAN_STRS);
}

int sr_trace_decode(const uint8_t *src, uint32_t len, struct sr_trace_rec *t)
{
	struct sr_str *const str[SR_TRACE_STRS] = {
		[SR_TRACE_STR_WORKFLOW] = &t->workflow,
		[SR_TRACE_STR_GROUP_ID] = &t->group_id,
		[SR_TRACE_STR_METADATA] = &t->metadata,
	};
	struct sr_trace_fixed f;

	if (len < sizeof(f))
		return -EBADMSG;
	memcpy(&f, src, sizeof(f));
	memcpy(t->trace_id, f.trace_id, sizeof(f.trace_id));
	t->ts_ns = f.ts_ns;
	return get_strs(src, len, sizeof(f), f.len, str, SR_TRACE_STRS);
}

int sr_process_decode(const uint8_t *src, uint32_t len,
		      struct sr_process_rec *p)
{
	struct sr_str *const str = &p->exe;
	struct sr_process_fixed f;
	uint32_t exe_len;

	if (len < sizeof(f))
		return -EBADMSG;
	memcpy(&f, src, sizeof(f));
	p->pid = f.pid;
	p->ppid = f.ppid;
	p->uid = f.uid;
	p->start_ns = f.start_ns;
	exe_len = f.exe_len;
	return get_strs(src, len, sizeof(f), &exe_len, &str, 1);
}

int sr_child_decode(const uint8_t *src, uint32_t len, struct sr_child_rec *c)
{
	struct sr_child_fixed f;

	if (len != sizeof(f))
		return -EBADMSG;
	memcpy(&f, src, sizeof(f));
	c->pid = f.pid;
	c->status = f.status;
	c->ts_ns = f.ts_ns;
	memcpy(c->trace_id, f.trace_id, sizeof(f.trace_id));
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
#define STAMP(s, f) ((uint32_t)offsetof(struct s, f))
	/* each type's fixed part, and its time fields in it */
	static const struct {
		uint32_t fixed, n, off[SR_REC_STAMPS_MAX];
	} t[SR_REC_TYPE_MAX + 1] = {
		[SR_REC_PROCESS] = { sizeof(struct sr_process_fixed),
				     1,
				     { STAMP(sr_process_fixed, start_ns) } },
		[SR_REC_TRACE] = { sizeof(struct sr_trace_fixed),
				   1,
				   { STAMP(sr_trace_fixed, ts_ns) } },
		[SR_REC_SPAN_START] = { sizeof(struct sr_span_fixed),
					2,
					{ STAMP(sr_span_fixed, start_ns),
					  STAMP(sr_span_fixed, end_ns) } },
		[SR_REC_SPAN_END] = { sizeof(struct sr_span_fixed),
				      2,
				      { STAMP(sr_span_fixed, start_ns),
					STAMP(sr_span_fixed, end_ns) } },
		[SR_REC_SPAN] = { sizeof(struct sr_span_fixed),
				  2,
				  { STAMP(sr_span_fixed, start_ns),
				    STAMP(sr_span_fixed, end_ns) } },
		[SR_REC_CHILD_EXIT] = { sizeof(struct sr_child_fixed),
					1,
					{ STAMP(sr_child_fixed, ts_ns) } },
	};
#undef STAMP

	if (type > SR_REC_TYPE_MAX || !t[type].n || len < t[type].fixed)
		return 0;
	memcpy(off, t[type].off, sizeof(t[type].off));
	return t[type].n;
}
