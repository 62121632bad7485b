/* SPDX-License-Identifier: MIT */
/*
 * api_sdk.c - the explicit-identity calls of spanring.h, for tracing
 * processors of SDKs that make their own ids and times: traces and spans
 * recorded with the caller's ids, parents, times, span_data and error
 * (ids and ISO times as separate arguments, or in one text for FFI callers:
 * spanring_span_*_text), the thread's current context
 * (spanring_context_set), which the hooks and spanring_span_begin() take
 * as parent through shim_ctx_get(), and look-up contexts
 * (spanring_context_lookup), which the getaddrinfo hook of a resolver's
 * thread takes through shim_ctx_lookup().
 *
 * Nothing here keeps state across calls but the contexts: a start is one
 * SPAN_START record, a finish one SPAN_END record that carries the whole
 * span (flag SPAN_DATA: its span_data replaces the start's), so the
 * sidecar can emit it even when it never saw the start (lost to a full
 * ring) or sees it later (another thread's lane). The texts are encoded
 * straight from the caller's strings into the ring: no copy, no malloc.
 */
#include "spanring.h"

#include <errno.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/limits.h"
#include "shim.h"

/* The current context of the thread (spanring_context_set). */
struct shim_ctx {
	uint8_t trace[16];
	uint8_t span[12]; /* zero: directly under the trace */
	bool on;
};

static SHIM_TLS struct shim_ctx ctx;

bool shim_ctx_get(uint8_t trace_id[16], uint8_t span[12])
{
	if (!ctx.on)
		return false;
	memcpy(trace_id, ctx.trace, 16);
	memcpy(span, ctx.span, 12);
	return true;
}

void shim_ctx_reset(void)
{
	ctx.on = false;
}

/* s[0..len) is "<prefix><2n lowercase hex>" exactly, as the SDKs write
 * ids. */
static bool parse_id_n(const char *s, size_t len, const char *prefix,
		       size_t plen, uint8_t *out, size_t n)
{
	if (len != plen + 2 * n || strncmp(s, prefix, plen))
		return false;
	s += plen;
	/* one pass: lowercase hex only, decoded as it is checked */
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (size_t k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			if (c >= '0' && c <= '9')
				v = v << 4 | (c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v << 4 | (c - 'a' + 10);
			else
				return false;
		}
		out[i] = (uint8_t)v;
	}
	return !sr_id_is_zero(out, n);
}

/* The same for the NUL-terminated s. */
static bool parse_id(const char *s, const char *prefix, size_t plen,
		     uint8_t *out, size_t n)
{
	return parse_id_n(s, strnlen(s, plen + 2 * n + 1), prefix, plen, out,
			  n);
}

static bool trace_id_ok(const char *s, uint8_t out[16])
{
	return s && parse_id(s, "trace_", 6, out, 16);
}

/* A span id, or NULL / "" for none (zero id). */
static bool parent_ok(const char *s, uint8_t out[12])
{
	memset(out, 0, 12);
	return !s || !*s || parse_id(s, "span_", 5, out, 12);
}

static struct sr_str text(const char *s)
{
	return (struct sr_str){ s, s ? (uint32_t)strlen(s) : 0 };
}

/* Enters the API for one call: 0, -ENODEV, -EBUSY. */
static int enter(void)
{
	if (!shim.recording)
		return -ENODEV;
	if (shim_thr.guard)
		return -EBUSY;
	shim_resume();
	return 0;
}

static int leave(int rc)
{
	shim_pause();
	return rc;
}

/* -E2BIG when a record of `size` payload bytes would be cut: an SDK's
 * texts are kept whole or not recorded at all (a cut JSON text is no
 * JSON). */
static int fits(uint32_t size)
{
	uint32_t max = sr_ring_record_max(&shim.ring);

	return (uint64_t)size + 8 > max ? -E2BIG : 0;
}

SHIM_API int spanring_trace_record(const char *trace_id,
				   const char *workflow_name,
				   const char *group_id,
				   const char *metadata_json)
{
	struct sr_trace_rec t = { .ts_ns = sr_now_ns() };
	int rc = enter();

	if (rc)
		return rc;
	if (!trace_id_ok(trace_id, t.trace_id) || !workflow_name ||
	    !*workflow_name ||
	    (metadata_json &&
	     !sr_json_object_ok(metadata_json, strlen(metadata_json))))
		return leave(-EINVAL);
	t.workflow = text(workflow_name);
	t.group_id = text(group_id);
	t.metadata = text(metadata_json);
	rc = fits(sr_trace_size(&t));
	if (rc)
		return leave(rc);
	return leave(shim_emit_trace(&t));
}

/* Fills the rest of the record of an SDK span whose ids are in place:
 * 0 or -EINVAL. */
static int sdk_body(struct sr_span_rec *s, uint64_t started_ns,
		    uint64_t ended_ns, const char *span_data_json,
		    const char *error_message, const char *error_data_json)
{
	if (!span_data_json ||
	    !sr_json_object_ok(span_data_json, strlen(span_data_json)) ||
	    (error_data_json &&
	     !sr_json_object_ok(error_data_json, strlen(error_data_json))))
		return -EINVAL;
	s->flags = SR_SF_SPAN_DATA;
	if (sr_id_is_zero(s->parent_id, 12))
		s->flags |= SR_SF_ROOT;
	s->start_ns = started_ns;
	s->end_ns = ended_ns;
	s->data = text(span_data_json);
	if (error_message) {
		s->flags |= SR_SF_ERROR;
		s->err = text(error_message);
		s->errdata = text(error_data_json);
	}
	return 0;
}

/* Fills the record of an SDK span from the caller's arguments: 0 or
 * -EINVAL. */
static int sdk_span(struct sr_span_rec *s, const char *trace_id,
		    const char *span_id, const char *parent_id,
		    long long started_ns, long long ended_ns,
		    const char *span_data_json, const char *error_message,
		    const char *error_data_json)
{
	memset(s, 0, sizeof(*s));
	if (!trace_id_ok(trace_id, s->trace_id) || !span_id ||
	    !parse_id(span_id, "span_", 5, s->span_id, 12) ||
	    !parent_ok(parent_id, s->parent_id) || started_ns < 0 ||
	    ended_ns < 0)
		return -EINVAL;
	return sdk_body(s, started_ns ? (uint64_t)started_ns : sr_now_ns(),
			(uint64_t)ended_ns, span_data_json, error_message,
			error_data_json);
}

/* The end of every SDK span call: a record filled without error (rc 0)
 * is checked (a finished span may not end before it starts; it must fit a
 * record whole) and emitted as `type`; leaves the API. */
static int emit(uint16_t type, const struct sr_span_rec *s, int rc)
{
	if (!rc && type != SR_REC_SPAN_START && s->end_ns < s->start_ns)
		rc = -EINVAL;
	if (!rc)
		rc = fits(sr_span_size(s));
	if (!rc)
		rc = shim_emit_span(type, s);
	return leave(rc);
}

SHIM_API int spanring_span_start(const char *trace_id, const char *span_id,
				 const char *parent_id, long long started_ns,
				 const char *span_data_json)
{
	struct sr_span_rec s;
	int rc = enter();

	if (rc)
		return rc;
	rc = sdk_span(&s, trace_id, span_id, parent_id, started_ns, 0,
		      span_data_json, NULL, NULL);
	return emit(SR_REC_SPAN_START, &s, rc);
}

/* A finished span, as SPAN_END (after a start) or SPAN (whole). */
static int finish(uint16_t type, const char *trace_id, const char *span_id,
		  const char *parent_id, long long started_ns,
		  long long ended_ns, const char *span_data_json,
		  const char *error_message, const char *error_data_json)
{
	struct sr_span_rec s;
	int rc = enter();

	if (rc)
		return rc;
	rc = sdk_span(&s, trace_id, span_id, parent_id, started_ns, ended_ns,
		      span_data_json, error_message, error_data_json);
	if (!rc && !ended_ns)
		s.end_ns = sr_now_ns();
	return emit(type, &s, rc);
}

SHIM_API int spanring_span_finish(const char *trace_id, const char *span_id,
				  const char *parent_id, long long started_ns,
				  long long ended_ns,
				  const char *span_data_json,
				  const char *error_message,
				  const char *error_data_json)
{
	return finish(SR_REC_SPAN_END, trace_id, span_id, parent_id, started_ns,
		      ended_ns, span_data_json, error_message, error_data_json);
}

SHIM_API int spanring_span_record(const char *trace_id, const char *span_id,
				  const char *parent_id, long long started_ns,
				  long long ended_ns,
				  const char *span_data_json,
				  const char *error_message,
				  const char *error_data_json)
{
	return finish(SR_REC_SPAN, trace_id, span_id, parent_id, started_ns,
		      ended_ns, span_data_json, error_message, error_data_json);
}

/* The next field of a text of space-separated fields: *f and *n set, *p
 * past it and its separator; false when there is none. */
static bool field(const char **p, const char **f, size_t *n)
{
	const char *s = *p, *sp;

	if (!*s)
		return false;
	sp = strchr(s, ' ');
	*f = s;
	*n = sp ? (size_t)(sp - s) : strlen(s);
	*p = sp ? sp + 1 : s + *n;
	return *n > 0;
}

/* "<trace_id> <span_id> <parent_id or -> <started> [<ended>]" into the
 * ids of s and *started, *ended (ended NULL: no fifth field): 0 or
 * -EINVAL. */
static int ids_times(const char *text, struct sr_span_rec *s, uint64_t *started,
		     uint64_t *ended)
{
	const char *f, *p = text;
	size_t n;

	if (!p || !field(&p, &f, &n) ||
	    !parse_id_n(f, n, "trace_", 6, s->trace_id, 16) ||
	    !field(&p, &f, &n) ||
	    !parse_id_n(f, n, "span_", 5, s->span_id, 12) ||
	    !field(&p, &f, &n) ||
	    !((n == 1 && f[0] == '-') ||
	      parse_id_n(f, n, "span_", 5, s->parent_id, 12)) ||
	    !field(&p, &f, &n) || !sr_parse_iso(f, n, started))
		return -EINVAL;
	if (ended && (!field(&p, &f, &n) || !sr_parse_iso(f, n, ended)))
		return -EINVAL;
	return *p || p[-1] == ' ' ? -EINVAL : 0;
}

SHIM_API int spanring_span_start_text(const char *ids_and_times,
				      const char *span_data_json)
{
	struct sr_span_rec s = { 0 };
	uint64_t started;
	int rc = enter();

	if (rc)
		return rc;
	rc = ids_times(ids_and_times, &s, &started, NULL);
	if (!rc)
		rc = sdk_body(&s, started, 0, span_data_json, NULL, NULL);
	return emit(SR_REC_SPAN_START, &s, rc);
}

SHIM_API int spanring_span_finish_text(const char *ids_and_times,
				       const char *span_data_json,
				       const char *error_message,
				       const char *error_data_json)
{
	struct sr_span_rec s = { 0 };
	uint64_t started, ended;
	int rc = enter();

	if (rc)
		return rc;
	rc = ids_times(ids_and_times, &s, &started, &ended);
	if (!rc)
		rc = sdk_body(&s, started, ended, span_data_json, error_message,
			      error_data_json);
	return emit(SR_REC_SPAN_END, &s, rc);
}

SHIM_API int spanring_context_set(const char *trace_id, const char *span_id)
{
	struct shim_ctx c = { .on = true };
	int rc = enter();

	if (rc)
		return rc;
	if (!trace_id) {
		ctx.on = false;
		return leave(0);
	}
	if (!trace_id_ok(trace_id, c.trace) || !parent_ok(span_id, c.span))
		return leave(-EINVAL);
	/* under the guard: a signal handler's hook span reads it whole or
	 * not at all (it passes through while the guard is held) */
	ctx = c;
	return leave(0);
}

/* Look-up contexts (spanring_context_lookup): slots armed by any thread,
 * taken by the getaddrinfo hook of a thread without a context of its own.
 * A slot goes FREE -> FILLING (one writer) -> ARMED -> TAKING (one taker)
 * -> FREE, each step a compare-and-swap; an armed slot past its deadline
 * is free for a new arming and taken by no one. Lock-free, no malloc:
 * both sides may run in a signal handler. */
enum { LOOKUP_FREE, LOOKUP_FILLING, LOOKUP_ARMED, LOOKUP_TAKING };

struct lookup_slot {
	uint32_t state;
	uint64_t deadline_ns;
	struct shim_ctx c;
	char node[SR_LOOKUP_NODE_MAX];
};

static struct lookup_slot lookups[SR_LOOKUP_SLOTS];

/* The acquire of a successful move pairs with the release store of the
 * state that ended the slot's previous step (ARMED by the arming in
 * spanring_context_lookup, FREE by take_lookup): what that step wrote to
 * the slot is seen. */
static bool slot_move(struct lookup_slot *l, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&l->state, &from, to, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

SHIM_API int spanring_context_lookup(const char *node, const char *trace_id,
				     const char *span_id)
{
	struct shim_ctx c = { .on = true };
	size_t n = node ? strnlen(node, SR_LOOKUP_NODE_MAX) : 0;
	uint64_t now;
	int rc = enter();

	if (rc)
		return rc;
	if (!n || n == SR_LOOKUP_NODE_MAX || !trace_id_ok(trace_id, c.trace) ||
	    !parent_ok(span_id, c.span))
		return leave(-EINVAL);
	now = sr_mono_ns();
	for (size_t i = 0; i < SR_LOOKUP_SLOTS; i++) {
		struct lookup_slot *l = &lookups[i];

		if (!slot_move(l, LOOKUP_FREE, LOOKUP_FILLING) &&
		    !(__atomic_load_n(&l->deadline_ns, __ATOMIC_RELAXED) <
			      now &&
		      slot_move(l, LOOKUP_ARMED, LOOKUP_FILLING)))
			continue;
		memcpy(l->node, node, n + 1);
		l->c = c;
		__atomic_store_n(&l->deadline_ns, now + SR_LOOKUP_TTL_NS,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&l->state, LOOKUP_ARMED, __ATOMIC_RELEASE);
		return leave(0);
	}
	return leave(-ENOBUFS);
}

/* The context armed for node, taken: false when none is. */
static bool take_lookup(const char *node, uint8_t trace_id[16],
			uint8_t span[12])
{
	uint64_t now = 0;

	for (size_t i = 0; i < SR_LOOKUP_SLOTS; i++) {
		struct lookup_slot *l = &lookups[i];

		/* Pairs with the release store of ARMED in
		 * spanring_context_lookup: node and context are written. */
		if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) !=
			    LOOKUP_ARMED ||
		    strncmp(l->node, node, SR_LOOKUP_NODE_MAX))
			continue;
		if (!now)
			now = sr_mono_ns();
		if (__atomic_load_n(&l->deadline_ns, __ATOMIC_RELAXED) < now ||
		    !slot_move(l, LOOKUP_ARMED, LOOKUP_TAKING))
			continue;
		/* read again now that no writer can be at it */
		if (strncmp(l->node, node, SR_LOOKUP_NODE_MAX)) {
			__atomic_store_n(&l->state, LOOKUP_ARMED,
					 __ATOMIC_RELEASE);
			continue;
		}
		memcpy(trace_id, l->c.trace, 16);
		memcpy(span, l->c.span, 12);
		__atomic_store_n(&l->state, LOOKUP_FREE, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

void shim_ctx_lookup(const char *node, struct sr_span_rec *s)
{
	uint8_t trace_id[16], span[12];

	if (!node || shim_api_current(trace_id, span) ||
	    !take_lookup(node, trace_id, span))
		return;
	memcpy(s->trace_id, trace_id, 16);
	memcpy(s->parent_id, span, 12);
	s->flags &= ~(uint32_t)SR_SF_ROOT;
	if (shim_span_id_zero(span))
		s->flags |= SR_SF_ROOT;
}
