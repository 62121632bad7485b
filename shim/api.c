/* SPDX-License-Identifier: MIT */
/*
 * api.c - the C API of spanring.h.
 *
 * Each thread has a stack of open spans and a text store (arena) holding
 * their span_data and errors until they end; both live in one mapping made
 * on the thread's first API span (mmap, not malloc: a program's allocator
 * is never called; pages are touched only as used) and unmapped at thread
 * exit. Ending a span writes one complete SPAN record and pops the store.
 */
#include "spanring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/limits.h"
#include "shim.h"

struct text {
	uint32_t off, len; /* in the arena */
};

struct frame {
	uint8_t trace[16], span[12], parent[12];
	uint64_t start_ns;
	uint32_t flags;     /* SR_SF_* */
	uint32_t mark;      /* arena use before this frame */
	struct text name, data, err, errdata;
};

struct shim_api {
	uint32_t depth;              /* open spans */
	uint32_t used;               /* arena bytes in use */
	bool trace_on;               /* spanring_trace_begin() is active */
	uint8_t trace[16];
	struct frame f[SR_SPAN_STACK_MAX];
	char arena[SR_API_ARENA];
};

/* Guard and state for one API call. 0, -ENODEV, -EBUSY, -ENOMEM. */
static int api_enter(struct shim_api **out)
{
	struct shim_api *a;

	if (!shim.recording)
		return -ENODEV;
	if (shim_thr.guard)
		return -EBUSY;
	shim_resume();
	a = shim_thr.api;
	if (!a) {
		a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED) {
			shim_pause();
			return -ENOMEM;
		}
		shim_thr.api = a;
	}
	*out = a;
	return 0;
}

static int api_leave(int rc, int saved_errno)
{
	shim_pause();
	errno = saved_errno;
	return rc;
}

/* Copies n bytes into the arena. false when it is full. */
static bool store(struct shim_api *a, struct text *t, const char *s, size_t n)
{
	if (n > sizeof(a->arena) - a->used)
		return false;
	memcpy(a->arena + a->used, s, n);
	t->off = a->used;
	t->len = (uint32_t)n;
	a->used += (uint32_t)n;
	return true;
}

static struct sr_str text_str(const struct shim_api *a, struct text t)
{
	return (struct sr_str){ a->arena + t.off, t.len };
}

void shim_api_reset(bool unmap)
{
	struct shim_api *a = shim_thr.api;

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

	if (!a)
		return false;
	if (a->depth) {
		memcpy(trace_id, a->f[a->depth - 1].trace, 16);
		memcpy(span, a->f[a->depth - 1].span, 12);
		return true;
	}
	if (!a->trace_on)
		return false;
	memcpy(trace_id, a->trace, 16);
	memset(span, 0, 12);
	return true;
}

SHIM_API int spanring_enabled(void)
{
	return shim.recording ? 1 : 0;
}

SHIM_API int spanring_trace_begin(const char *workflow_name,
				  const char *group_id,
				  const char *metadata_json)
{
	struct sr_trace_rec t = { .ts_ns = sr_now_ns() };
	int saved = errno, rc;
	struct shim_api *a;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!workflow_name || !*workflow_name ||
	    (metadata_json &&
	     !shim_json_object_ok(metadata_json, strlen(metadata_json))))
		return api_leave(-EINVAL, saved);
	if (a->trace_on)
		return api_leave(-EBUSY, saved);
	sr_id_random(a->trace, 16);
	a->trace_on = true;
	memcpy(t.trace_id, a->trace, 16);
	t.workflow = (struct sr_str){ workflow_name,
				      (uint32_t)strnlen(workflow_name, SR_NAME_MAX) };
	if (group_id)
		t.group_id = (struct sr_str){ group_id,
					      (uint32_t)strnlen(group_id, SR_NAME_MAX) };
	if (metadata_json)
		t.metadata = (struct sr_str){ metadata_json,
					      (uint32_t)strlen(metadata_json) };
	return api_leave(shim_emit_trace(&t), saved);
}

SHIM_API int spanring_trace_end(void)
{
	int saved = errno, rc;
	struct shim_api *a;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!a->trace_on)
		return api_leave(-ENOENT, saved);
	a->trace_on = false;
	return api_leave(0, saved);
}

/* Pushes a frame with its text; fills ids and parent. */
static int push(struct shim_api *a, uint32_t flags, const char *name,
		const char *data)
{
	size_t nlen = name ? strnlen(name, SR_NAME_MAX) : 0;
	size_t dlen = strlen(data);
	struct frame *f;

	if (!shim_json_object_shape(data, dlen))
		return -EINVAL;
	if (dlen + nlen + 256 > SR_RECORD_MAX)
		return -E2BIG;
	if (a->depth >= SR_SPAN_STACK_MAX)
		return -ENOSPC;
	f = &a->f[a->depth];
	memset(f, 0, sizeof(*f));
	f->mark = a->used;
	if (!store(a, &f->name, name ? name : "", nlen) ||
	    !store(a, &f->data, data, dlen)) {
		a->used = f->mark;
		return -ENOSPC;
	}
	f->flags = flags;
	shim_parent(f->trace, f->parent, &f->flags);
	sr_id_random(f->span, 12);
	a->depth++;
	f->start_ns = sr_now_ns();
	return 0;
}

SHIM_API int spanring_span_begin(const char *span_data_json)
{
	int saved = errno, rc;
	struct shim_api *a;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!span_data_json)
		return api_leave(-EINVAL, saved);
	return api_leave(push(a, SR_SF_SPAN_DATA, NULL, span_data_json), saved);
}

SHIM_API int spanring_span_begin_custom(const char *name, const char *data_json)
{
	int saved = errno, rc;
	struct shim_api *a;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!name || !*name)
		return api_leave(-EINVAL, saved);
	return api_leave(push(a, 0, name, data_json ? data_json : "{}"), saved);
}

SHIM_API int spanring_span_set_error(const char *message, const char *data_json)
{
	int saved = errno, rc;
	struct shim_api *a;
	struct frame *f;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!message ||
	    (data_json && !shim_json_object_ok(data_json, strlen(data_json))))
		return api_leave(-EINVAL, saved);
	if (!a->depth)
		return api_leave(-ENOENT, saved);
	f = &a->f[a->depth - 1];
	if (!store(a, &f->err, message, strnlen(message, SR_NAME_MAX * 4)) ||
	    !store(a, &f->errdata, data_json ? data_json : "",
		   data_json ? strlen(data_json) : 0))
		return api_leave(-ENOSPC, saved);
	f->flags |= SR_SF_ERROR;
	return api_leave(0, saved);
}

SHIM_API int spanring_span_end(void)
{
	struct sr_span_rec s = { .end_ns = sr_now_ns() };
	int saved = errno, rc;
	struct shim_api *a;
	struct frame *f;

	rc = api_enter(&a);
	if (rc)
		return rc;
	if (!a->depth)
		return api_leave(-ENOENT, saved);
	f = &a->f[a->depth - 1];
	memcpy(s.trace_id, f->trace, 16);
	memcpy(s.span_id, f->span, 12);
	memcpy(s.parent_id, f->parent, 12);
	s.start_ns = f->start_ns;
	s.flags = f->flags;
	s.name = text_str(a, f->name);
	s.data = text_str(a, f->data);
	s.err = text_str(a, f->err);
	s.errdata = text_str(a, f->errdata);
	rc = shim_emit_span(SR_REC_SPAN, &s);
	a->depth--;
	a->used = f->mark;
	return api_leave(rc, saved);
}
