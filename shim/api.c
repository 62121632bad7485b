/* SPDX-License-Identifier: MIT */
/*
 * api.c - the C API of spanring.h.
 *
 * Each thread has a stack of open spans and a text store (arena) holding
 * their span_data and errors until they end; both live in one mapping made
 * on the thread's first API span (mmap, not malloc: a program's allocator
 * is never called; pages are touched only as used) and unmapped at thread
 * exit. A frame holds its span's record ready to encode (strings pointing
 * into the arena); ending a span stamps its end, writes one complete SPAN
 * record and pops the store.
 *
 * errno is left alone without saving it: the span path calls nothing that
 * sets it (no system call, no library call that can fail); the rare calls
 * that may (the first mmap, a thread's first record, reseeding the id
 * generator) save and restore it themselves.
 */
#include "spanring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/limits.h"
#include "shim.h"

/* An open span: its record as it will be written (strings point into the
 * arena), end time left to fill. Ending it encodes it as it is. */
struct frame {
	struct sr_span_rec s;
	uint32_t mark; /* arena use before this frame */
};

struct shim_api {
	uint32_t depth; /* open spans */
	uint32_t used;  /* arena bytes in use */
	bool trace_on;  /* spanring_trace_begin() is active */
	uint8_t trace[16];
	struct frame f[SR_SPAN_STACK_MAX];
	char arena[SR_API_ARENA];
};

/* The thread's first API call: its state, mapped (mmap may set errno). */
static __attribute__((noinline)) struct shim_api *api_map(void)
{
	int saved = errno;
	struct shim_api *a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	errno = saved;
	if (a == MAP_FAILED)
		return NULL;
	shim_thr.api = a;
	return a;
}

/* Guard and state for one API call. 0, -ENODEV, -EBUSY, -ENOMEM. */
static inline __attribute__((always_inline)) int
api_enter(struct shim_api **out)
{
	struct shim_api *a;

	if (!shim_recording())
		return -ENODEV;
	if (shim_thr.guard)
		return -EBUSY;
	shim_resume();
	a = shim_thr.api;
	if (!a && !(a = api_map())) {
		shim_pause();
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static int api_leave(int rc)
{
	shim_pause();
	return rc;
}

/* Copies n bytes into the arena; the caller checked the room. */
static struct sr_str store(struct shim_api *a, const char *s, size_t n)
{
	struct sr_str t = { a->arena + a->used, (uint32_t)n };

	if (n) /* an unnamed span: no library call */
		memcpy(a->arena + a->used, s, n);
	a->used += (uint32_t)n;
	return t;
}

static size_t arena_room(const struct shim_api *a)
{
	return sizeof(a->arena) - a->used;
}

void shim_api_reset(bool unmap)
{
	struct shim_api *a = shim_thr.api;

	shim_ctx_reset();
	if (!a)
		return;
	if (unmap) {
		shim_thr.api = NULL;
		munmap(a, sizeof(*a));
		return;
	}
	a->depth = 0;
	a->used = 0;
	a->trace_on = false;
}

bool shim_api_current(uint8_t trace_id[16], uint8_t span[12])
{
	const struct shim_api *a = shim_thr.api;

	if (a && a->depth) {
		memcpy(trace_id, a->f[a->depth - 1].s.trace_id, 16);
		memcpy(span, a->f[a->depth - 1].s.span_id, 12);
		return true;
	}
	if (shim_ctx_get(trace_id, span))
		return true;
	if (!a || !a->trace_on)
		return false;
	memcpy(trace_id, a->trace, 16);
	memset(span, 0, 12);
	return true;
}

SHIM_API int spanring_enabled(void)
{
	return shim.recording || shim.pending ? 1 : 0;
}

/* A name of the API: its bytes up to SR_API_NAME_MAX, cut at a character
 * boundary; *cut set when it was. */
static struct sr_str api_name(const char *s, bool *cut)
{
	size_t n = strnlen(s, SR_API_NAME_MAX + 1);
	uint32_t k = sr_utf8_prefix(s, n, SR_API_NAME_MAX);

	*cut |= k != n;
	return (struct sr_str){ s, k };
}

SHIM_API int spanring_trace_begin(const char *workflow_name,
				  const char *group_id,
				  const char *metadata_json)
{
	struct sr_trace_rec t = { .ts_ns = sr_now_ns() };
	size_t mlen = 0;
	struct shim_api *a;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (metadata_json)
		mlen = strnlen(metadata_json, SR_METADATA_MAX + 1);
	if (!workflow_name || !*workflow_name ||
	    (metadata_json && mlen <= SR_METADATA_MAX &&
	     !sr_json_object_ok(metadata_json, mlen)))
		return api_leave(-EINVAL);
	if (mlen > SR_METADATA_MAX)
		return api_leave(-E2BIG);
	if (a->trace_on)
		return api_leave(-EBUSY);
	sr_id_random(a->trace, 16);
	a->trace_on = true;
	memcpy(t.trace_id, a->trace, 16);
	t.workflow = api_name(workflow_name, &t.cut);
	if (group_id)
		t.group_id = api_name(group_id, &t.cut);
	if (metadata_json)
		t.metadata = (struct sr_str){ metadata_json, (uint32_t)mlen };
	return api_leave(shim_emit_trace(&t));
}

SHIM_API int spanring_trace_end(void)
{
	struct shim_api *a;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!a->trace_on)
		return api_leave(-ENOENT);
	a->trace_on = false;
	return api_leave(0);
}

/* A new span's trace and parent, as shim_parent() gives them (the
 * innermost open span, else the thread's context, else the root of the
 * thread's trace, else the process span) without looking the thread's
 * state up again. */
static void set_parent(const struct shim_api *a, struct sr_span_rec *s)
{
	static const uint8_t no_parent[12];
	const uint8_t *trace = shim.trace_id, *parent = shim.self_span;
	uint8_t ct[16], cs[12];

	if (a->depth) {
		trace = a->f[a->depth - 1].s.trace_id;
		parent = a->f[a->depth - 1].s.span_id;
	} else if (shim_ctx_get(ct, cs)) {
		trace = ct;
		parent = cs;
	} else if (a->trace_on) {
		trace = a->trace;
		parent = no_parent;
	}
	memcpy(s->trace_id, trace, 16);
	memcpy(s->parent_id, parent, 12);
	if (shim_span_id_zero(s->parent_id))
		s->flags |= SR_SF_ROOT;
}

/* Pushes a frame with its text; fills ids, parent and start. */
static int push(struct shim_api *a, uint32_t flags, const char *name,
		size_t nlen, const char *data)
{
	size_t dlen = strnlen(data, SR_SPAN_DATA_MAX + 1);
	struct frame *f;

	if (dlen > SR_SPAN_DATA_MAX)
		return -E2BIG;
	if (!sr_json_object_framed(data, dlen))
		return -EINVAL;
	if (a->depth >= SR_SPAN_STACK_MAX || nlen + dlen > arena_room(a))
		return -ENOSPC;
	f = &a->f[a->depth];
	f->mark = a->used;
	f->s.name = store(a, name, nlen);
	f->s.data = store(a, data, dlen);
	/* two stores: a chained assignment reloads one as 16 bytes just
	 * written as 8 + 4, a store-forwarding stall (~5 ns) */
	f->s.err = (struct sr_str){ NULL, 0 };
	f->s.errdata = (struct sr_str){ NULL, 0 };
	f->s.flags = flags;
	f->s.end_ns = 0;
	set_parent(a, &f->s);
	sr_id_random(f->s.span_id, 12);
	a->depth++;
	f->s.start_ns = shim_stamp();
	return 0;
}

SHIM_API int spanring_span_begin(const char *span_data_json)
{
	struct shim_api *a;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!span_data_json)
		return api_leave(-EINVAL);
	return api_leave(push(a, SR_SF_SPAN_DATA, "", 0, span_data_json));
}

SHIM_API int spanring_span_begin_custom(const char *name, const char *data_json)
{
	struct shim_api *a;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	bool cut = false;
	struct sr_str n;

	if (!name || !*name)
		return api_leave(-EINVAL);
	n = api_name(name, &cut);
	return api_leave(push(a, cut ? SR_SF_CUT : 0, n.p, n.n,
			      data_json ? data_json : "{}"));
}

SHIM_API int spanring_span_set_error(const char *message, const char *data_json)
{
	size_t mlen, dlen;
	struct shim_api *a;
	struct frame *f;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!message)
		return api_leave(-EINVAL);
	mlen = strnlen(message, SR_ERROR_MAX + 1);
	dlen = data_json ? strnlen(data_json, SR_ERROR_DATA_MAX + 1) : 0;
	if (data_json && dlen <= SR_ERROR_DATA_MAX &&
	    !sr_json_object_ok(data_json, dlen))
		return api_leave(-EINVAL);
	if (mlen > SR_ERROR_MAX || dlen > SR_ERROR_DATA_MAX)
		return api_leave(-E2BIG);
	if (!a->depth)
		return api_leave(-ENOENT);
	f = &a->f[a->depth - 1];
	if (mlen + dlen > arena_room(a))
		return api_leave(-ENOSPC);
	f->s.err = store(a, message, mlen);
	f->s.errdata = store(a, data_json ? data_json : "", dlen);
	f->s.flags |= SR_SF_ERROR;
	return api_leave(0);
}

SHIM_API int spanring_span_end(void)
{
	uint64_t end_ns = shim_stamp();
	struct shim_api *a;
	struct frame *f;
	int rc;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!a->depth)
		return api_leave(-ENOENT);
	f = &a->f[a->depth - 1];
	f->s.end_ns = end_ns;
	rc = shim_emit_span(SR_REC_SPAN, &f->s);
	a->depth--;
	a->used = f->mark;
	return api_leave(rc);
}
