/* SPDX-License-Identifier: MIT */
/*
 * spanring.h - the C API of libspanring.so: traces and spans from
 * instrumented code, recorded into the process's ring beside the spans the
 * shim records by itself (process, exec, connect, ...).
 *
 * Use it by linking -lspanring, or through FFI (plain C types only, every
 * function is exported with C linkage), or when the library is already
 * preloaded (LD_PRELOAD) by resolving the symbols at run time.
 *
 * Common rules:
 *  - Every function returns 0 or a negative errno value, never prints,
 *    never blocks, never calls malloc, and leaves errno unchanged.
 *  - State is per thread: each thread has its own stack of open spans
 *    (at most SR_SPAN_STACK_MAX = 64) and its own current trace. A span
 *    begun on one thread is ended on that thread.
 *  - A fork child starts with no open span and no trace of its own: those
 *    of the forking thread belong to the parent (their ids must not be
 *    ended twice). The child's spans are under its own process span.
 *  - String arguments are read during the call only; nothing is kept that
 *    the caller owns (the text is copied).
 *  - Async-signal-safe: a signal handler may call the API; if it
 *    interrupts this thread inside the API, its call returns -EBUSY.
 *  - When the process is not recording (SPANRING_DISABLE=1, untraced
 *    program, ring directory unusable) every call but spanring_enabled()
 *    returns -ENODEV and does nothing.
 *  - Sizes: span_data (and a custom span's data) up to 1 MiB, trace
 *    metadata, error messages and error data up to 64 KiB each are
 *    recorded whole; a larger one is refused with -E2BIG. Workflow names,
 *    group ids and custom span names longer than 4096 bytes are cut at a
 *    UTF-8 character boundary and the record flagged truncated (the call
 *    returns 0). Values are sent exactly as written; what JSON cannot
 *    carry (NaN, Infinity, invalid UTF-8) is repaired by the sidecar, and
 *    a span whose data is not JSON or has no known "type" still goes out,
 *    as a custom span holding it (sidecar/README.md, "Repairs").
 *  - A span that could not be recorded because the ring was full still
 *    opens / closes normally; the call that lost the record returns
 *    -ENOBUFS (the loss is counted in the ring).
 *  - A thread's first call of the thread-stack API (spanring_trace_begin
 *    and _end, spanring_span_begin, _begin_custom, _set_error and _end)
 *    maps its state (mmap, not malloc): when that fails the call returns
 *    -ENOMEM and the next call tries again. The explicit-identity calls
 *    keep no state and never return -ENOMEM.
 */
#ifndef SPANRING_H
#define SPANRING_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if this process records spans, 0 otherwise. Thread-safe. */
int spanring_enabled(void);

/*
 * Starts a new trace on the calling thread: spans begun on this thread
 * with no open parent span become its root spans (instead of children of
 * the process span). workflow_name is required (-EINVAL if NULL or
 * empty); group_id may be NULL; metadata_json may be NULL or must be a
 * JSON object text (-EINVAL otherwise). Returns 0, -EINVAL, -E2BIG
 * (metadata over 64 KiB), -EBUSY if a trace begun by this call is already
 * active on the thread, -ENOBUFS if the TRACE record was lost (the trace
 * is active anyway), -ENODEV.
 */
int spanring_trace_begin(const char *workflow_name, const char *group_id,
			 const char *metadata_json);

/* Ends the thread's trace begun by spanring_trace_begin(). Returns 0,
 * -ENOENT if none is active, -ENODEV. Spans still open keep their trace. */
int spanring_trace_end(void);

/*
 * Opens a span whose span_data is the given JSON object text, "type"
 * included (e.g. {"type":"function","name":"f","input":"x"}). Its parent
 * is the innermost open span of the thread, else the root of the thread's
 * trace, else the process span. The text is checked only for the shape of
 * an object ('{' ... '}'); the consumer repairs what is not JSON and
 * keeps the span. Returns 0, -EINVAL (NULL or not an object), -ENOSPC
 * (64 spans open, or the per-thread text store of 4 MiB is full), -E2BIG
 * (text over 1 MiB), -EBUSY, -ENODEV.
 */
int spanring_span_begin(const char *span_data_json);

/* Opens a custom span {"type":"custom","name":name,"data":data_json}.
 * data_json may be NULL (an empty object). Returns as spanring_span_begin. */
int spanring_span_begin_custom(const char *name, const char *data_json);

/* Marks the innermost open span as failed: error = {"message": message,
 * "data": data_json}. A second call replaces the first. message is
 * required (may be empty: sent as ""); data_json may be NULL. Returns 0,
 * -EINVAL (NULL message, data not an object), -E2BIG (message or data
 * over 64 KiB), -ENOENT (no open span), -ENOSPC, -EBUSY, -ENODEV. */
int spanring_span_set_error(const char *message, const char *data_json);

/* Ends the innermost open span of the thread and records it as one
 * complete span. Returns 0, -ENOENT (no open span), -ENOBUFS, -EBUSY,
 * -ENODEV. */
int spanring_span_end(void);

/*
 * --- Explicit identities: for tracing processors of SDKs that make their
 * own ids and times (the OpenAI Agents SDK in Python and JavaScript).
 *
 * Ids are given as the SDK writes them: trace_id "trace_<32 hex>", span
 * and parent ids "span_<24 hex>" (lowercase hex; -EINVAL otherwise; a
 * parent_id NULL or "" is a span directly under its trace). Times are
 * nanoseconds since the epoch (CLOCK_REALTIME); 0 means now. These calls
 * neither read nor change the thread's stack of spans opened with
 * spanring_span_begin(): they may be called from any thread, in any order
 * (an SDK ends spans on whatever thread or task finishes them).
 * Same common rules as above (0 or -errno, no malloc, no blocking,
 * async-signal-safe, errno unchanged, -ENODEV when not recording).
 */

/* Records a trace object: id, workflow_name (required), group_id (NULL:
 * null), metadata_json (NULL: null, else a JSON object text). Returns 0,
 * -EINVAL, -E2BIG (larger than the documented limits), -ENOBUFS, -ENODEV. */
int spanring_trace_record(const char *trace_id, const char *workflow_name,
			  const char *group_id, const char *metadata_json);

/* A span has started: recorded open in the ring at once, so a process that
 * dies before spanring_span_finish() leaves it for the sidecar to close
 * with an error. span_data_json is the SDK's span_data object ("type"
 * included) as known at the start. Returns 0, -EINVAL, -E2BIG, -ENOBUFS,
 * -ENODEV. */
int spanring_span_start(const char *trace_id, const char *span_id,
			const char *parent_id, long long started_ns,
			const char *span_data_json);

/* The span started with spanring_span_start() has ended: span_data_json
 * (the final object, which replaces the one given at the start) and the
 * error (error_message NULL: none; error_data_json NULL: null). The ids
 * and started_ns must be those given to spanring_span_start(). The record
 * is whole (ids, parent, times, data, error): the sidecar emits it even if
 * the start was lost. Returns 0, -EINVAL (also ended_ns before started_ns),
 * -E2BIG, -ENOBUFS, -ENODEV. */
int spanring_span_finish(const char *trace_id, const char *span_id,
			 const char *parent_id, long long started_ns,
			 long long ended_ns, const char *span_data_json,
			 const char *error_message,
			 const char *error_data_json);

/* A whole span in one record (no start seen earlier): as
 * spanring_span_finish(). */
int spanring_span_record(const char *trace_id, const char *span_id,
			 const char *parent_id, long long started_ns,
			 long long ended_ns, const char *span_data_json,
			 const char *error_message,
			 const char *error_data_json);

/*
 * spanring_span_start() and spanring_span_finish() with the identity and
 * times of the span in one text, in the form the SDKs hold them: for
 * callers through an FFI, where each argument costs a conversion and
 * parsing ids and times costs more than in C. ids_and_times is
 *   start:  "<trace_id> <span_id> <parent_id> <started>"
 *   finish: "<trace_id> <span_id> <parent_id> <started> <ended>"
 * fields separated by one space, nothing before or after; parent_id "-"
 * for none; times "YYYY-MM-DDTHH:MM:SS" with an optional fraction of 1 to
 * 9 digits and a zone "Z", "+HH:MM" or "-HH:MM", not before the epoch —
 * what Python's datetime.isoformat() of an aware time and JavaScript's
 * Date.toISOString() write. The records are those of the calls above
 * with the same values. Returns 0, -EINVAL (any other text too), -E2BIG,
 * -ENOBUFS, -ENODEV.
 */
int spanring_span_start_text(const char *ids_and_times,
			     const char *span_data_json);
int spanring_span_finish_text(const char *ids_and_times,
			      const char *span_data_json,
			      const char *error_message,
			      const char *error_data_json);

/*
 * The calling thread's current context: from now on, spans begun on this
 * thread with spanring_span_begin() (when none is open) and the spans the
 * shim records by itself on this thread (exec, spawn, system, popen, fork,
 * connect, getaddrinfo) are children of span_id in trace_id, and so are the
 * processes started from them. span_id NULL or "" puts them directly under
 * trace_id; trace_id NULL clears the context (back to the process span).
 * Returns 0, -EINVAL, -ENODEV.
 */
int spanring_context_set(const char *trace_id, const char *span_id);

/*
 * For resolvers that run getaddrinfo() on threads of their own (libuv's
 * pool in Node.js): the next getaddrinfo() of the host name `node` made,
 * within 5 seconds, by a thread with no context of its own (no API span
 * open, no spanring_context_set()) is recorded under span_id in trace_id
 * (span_id NULL or "": directly under the trace), as if that thread had
 * the context. Each call arms one look-up; two arms for one name are
 * taken in no particular order. Any thread may call it. Returns 0,
 * -EINVAL (node NULL, empty or of 256 bytes or more; bad ids), -ENOBUFS
 * (32 look-ups armed and waiting), -ENODEV.
 */
int spanring_context_lookup(const char *node, const char *trace_id,
			    const char *span_id);

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_H */
