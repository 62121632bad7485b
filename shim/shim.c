/* SPDX-License-Identifier: MIT */
/*
 * shim.c - state, guard, record emission and diagnostics of the shim.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "process.h"

SHIM_TLS struct shim_thread shim_thr;
struct shim_state shim SHIM_START_DATA; /* every start writes it */

/* SPANRING_DEBUG target, set by the constructor: a path or an fd. */
static char debug_path[256];
static int debug_fd = -1;
static pthread_key_t exit_key;
/* 0 not made, 1 being made, 2 made, 3 none left */
static _Atomic int exit_key_state;

void shim_debug_set(const char *spec)
{
	if (!spec || !*spec)
		return;
	if (strncmp(spec, "fd:", 3) == 0) {
		char *end;
		long fd = strtol(spec + 3, &end, 10);

		if (*end == 0 && fd >= 0 && fd < 1 << 20)
			debug_fd = (int)fd;
		return;
	}
	snprintf(debug_path, sizeof(debug_path), "%s", spec);
}

bool shim_debug_on(void)
{
	return debug_fd >= 0 || debug_path[0];
}

void shim_debug(const char *fmt, ...)
{
	char line[SR_DEBUG_LINE_MAX];
	int saved = errno, n, fd;
	va_list ap;

	if (!shim_debug_on() || shim.sandboxed)
		return;
	n = snprintf(line, sizeof(line), "spanring[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = debug_fd;
	if (fd < 0)
		fd = open(debug_path,
			  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
				  O_NOFOLLOW,
			  0600);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0) {
			/* nowhere else to say it: diagnostics are best effort */
		}
		if (fd != debug_fd)
			close(fd);
	}
	errno = saved;
}

static void thread_exit(void *arg)
{
	(void)arg;
	sr_producer_release(&shim.ring, &shim_thr.prod);
	shim_api_reset(true);
	shim_thr.registered = 0;
}

/* The key of the thread-exit destructor, made when a thread other than the
 * main one first records: a program whose main thread alone records keeps
 * every pthread key for itself. */
static bool exit_key_ready(void)
{
	int st = atomic_load(&exit_key_state), none = 0;

	if (st == 0 &&
	    atomic_compare_exchange_strong(&exit_key_state, &none, 1)) {
		st = pthread_key_create(&exit_key, thread_exit) == 0 ? 2 : 3;
		/* publishes exit_key; pairs with the load above (seq_cst) in
		 * another thread's shim.c:exit_key_ready */
		atomic_store(&exit_key_state, st);
	}
	/* glibc keeps the values of the first 32 keys in the thread itself;
	 * beyond, pthread_setspecific allocates, which this path must not */
	return st == 2 && exit_key < 32;
}

/* First record of a thread: its id for lane ownership, and (not for the
 * main thread, whose end is the process's) a destructor that gives the
 * lane back when the thread exits. */
static __attribute__((noinline)) void thread_first_record(void)
{
	static _Atomic uint32_t ids = 1u << 30;
	int saved = errno;

	/* a made-up id once sandboxed: no system call then */
	shim_thr.prod.tid = shim.sandboxed ? atomic_fetch_add(&ids, 1)
					   : (uint32_t)syscall(SYS_gettid);
	if (!shim.sandboxed && shim_thr.prod.tid != shim.pid &&
	    !shim_thr.registered && exit_key_ready()) {
		shim_thr.registered = 1;
		pthread_setspecific(exit_key, (void *)1);
	}
	errno = saved;
}

bool shim_enter(unsigned hook)
{
	if (!(shim.hooks & hook) || shim_thr.guard || !shim_recording())
		return false;
	shim_thr.guard++;
	/* the guard is set before any shim state is touched: a signal
	 * handler running from here on passes through */
	atomic_signal_fence(memory_order_seq_cst);
	return true;
}

void shim_leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	shim_thr.guard--;
}

void shim_clock_init(void)
{
	const char *v = getenv("SPANRING_CLOCK");
	uint8_t c;

	if (v && strcmp(v, "realtime") == 0)
		c = SHIM_CLOCK_REALTIME;
	else if (v && strcmp(v, "tsc") == 0)
		c = sr_tsc_taggable() ? SHIM_CLOCK_TSC : SHIM_CLOCK_REALTIME;
	else {
		if (v && *v && strcmp(v, "auto") != 0)
			shim_debug("SPANRING_CLOCK=%.20s: unknown, auto", v);
		c = sr_tsc_taggable() ? SHIM_CLOCK_UNDECIDED
				      : SHIM_CLOCK_REALTIME;
	}
	__atomic_store_n(&shim.clock, c, __ATOMIC_RELAXED);
}

bool shim_clock_decide(void)
{
	uint8_t c = __atomic_load_n(&shim.clock, __ATOMIC_RELAXED);
	bool tsc = false;
	int err;

	if (c != SHIM_CLOCK_UNDECIDED)
		return c == SHIM_CLOCK_TSC;
	/* no system call after a seccomp filter: it may kill the process */
	if (!atomic_load_explicit(&shim.sandboxed, memory_order_relaxed)) {
		err = errno;
		shim_thr.guard++;
		atomic_signal_fence(memory_order_seq_cst);
		tsc = sr_tsc_usable();
		shim_leave();
		errno = err;
	}
	__atomic_store_n(&shim.clock,
			 tsc ? SHIM_CLOCK_TSC : SHIM_CLOCK_REALTIME,
			 __ATOMIC_RELAXED);
	return tsc;
}

__attribute__((noinline, cold)) uint64_t shim_stamp_slow(void)
{
	if (shim_clock_decide())
		return sr_tsc() | SR_STAMP_TSC;
	return sr_now_ns();
}

/* The latest TSC stamp of a span record (untagged), 0 if none: the ring
 * anchors the lane up to it. */
static inline uint64_t span_tsc(const struct sr_span_rec *s)
{
	uint64_t a = s->start_ns & SR_STAMP_TSC ? s->start_ns : 0;
	uint64_t b = s->end_ns & SR_STAMP_TSC ? s->end_ns : 0;

	return (a > b ? a : b) & ~SR_STAMP_TSC;
}

void shim_new_span_id(uint8_t id[12])
{
	sr_id_random(id, 12);
}

void shim_parent(uint8_t trace_id[16], uint8_t parent[12], uint32_t *flags)
{
	if (shim_api_current(trace_id, parent)) {
		if (shim_span_id_zero(parent))
			*flags |= SR_SF_ROOT;
		return;
	}
	memcpy(trace_id, shim.trace_id, 16);
	memcpy(parent, shim.self_span, 12);
	if (shim_span_id_zero(parent))
		*flags |= SR_SF_ROOT;
}

void shim_span_open(struct sr_span_rec *s, const char *name, uint32_t flags)
{
	memset(s, 0, sizeof(*s));
	s->flags = flags;
	shim_parent(s->trace_id, s->parent_id, &s->flags);
	shim_new_span_id(s->span_id);
	s->name.p = name;
	s->name.n = (uint32_t)strlen(name);
	s->start_ns = shim_stamp();
}

void shim_span_errno(struct sr_span_rec *s, int err, char *data, size_t n)
{
	const char *msg = strerrordesc_np(err);

	if (!msg)
		msg = "Unknown error";
	s->flags |= SR_SF_ERROR;
	s->err.p = msg;
	s->err.n = (uint32_t)strlen(msg);
	snprintf(data, n, "{\"errno\":%d}", err);
	s->errdata.p = data;
	s->errdata.n = (uint32_t)strlen(data);
}

bool shim_in_shared_child(void)
{
	uint32_t pid;

	return shim_shared_child_pid(&pid);
}

bool shim_shared_child_pid(uint32_t *pid)
{
	if (shim.sandboxed)
		return false;
	*pid = (uint32_t)getpid();
	return *pid != shim.pid;
}

enum emit_how { EMIT_PLAIN, EMIT_LAST, EMIT_CHILD };

/* Reserves, encodes (cutting strings to the ring's record size) and
 * commits one record. Inlined into each caller, so the encoder is a direct
 * call. Nothing here sets errno but a thread's first record (which saves
 * it): the callers need not save it. EMIT_CHILD writes with a producer of
 * its own on a shared lane (`tid` names it), never touching the thread's
 * state, which belongs to the parent a vfork child borrowed it from. */
static inline __attribute__((always_inline)) int
emit(uint16_t type, uint32_t size,
     uint32_t (*enc)(uint8_t *, uint32_t, const void *, bool *),
     const void *rec, enum emit_how how, uint32_t tid)
{
	uint64_t tsc = 0;
	uint32_t max = sr_ring_record_big_max(&shim.ring), n;
	struct sr_producer child = { .tid = tid, .no_lane = 1 };
	struct sr_producer *prod = &shim_thr.prod;
	struct sr_resv rv;
	bool cut = false;
	uint8_t *p;

	if (!shim_recording())
		return -ENODEV;
	if (how == EMIT_CHILD)
		prod = &child;
	else if (!shim_thr.prod.tid)
		thread_first_record();
	/* bigger than the spill lane takes: cut to it (truncated flag) */
	if (size > max - 8)
		size = max - 8;
	/* only span records hold TSC stamps (type is a constant here) */
	if (type != SR_REC_TRACE && type != SR_REC_CHILD_EXIT)
		tsc = span_tsc(rec);
	if (how == EMIT_LAST)
		p = sr_ring_reserve_last(&shim.ring, prod, size + 8, &rv);
	else if (tsc)
		p = sr_ring_reserve_tsc(&shim.ring, prod, size + 8, &rv, tsc);
	else
		p = sr_ring_reserve(&shim.ring, prod, size + 8, &rv);
	if (!p)
		return -ENOBUFS;
	n = enc(p, size, rec, &cut);
	/* the writer cut a string itself (type is a constant here: one test
	 * survives inlining) */
	if (type == SR_REC_TRACE)
		cut |= ((const struct sr_trace_rec *)rec)->cut;
	else if (type != SR_REC_CHILD_EXIT)
		cut |= !!(((const struct sr_span_rec *)rec)->flags & SR_SF_CUT);
	if (!n) {
		sr_ring_discard(&shim.ring, prod, &rv);
		return -ENOBUFS;
	}
	/* The codec may use less than reserved when it cut strings: shrink
	 * the record (only its own tail, never past what was reserved). */
	rv.len = n + 8;
	sr_ring_commit(&shim.ring, prod, &rv, type, cut ? SR_RF_TRUNCATED : 0);
	return 0;
}

static uint32_t enc_span(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	return sr_span_encode(d, cap, r, t);
}

static uint32_t enc_trace(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	return sr_trace_encode(d, cap, r, t);
}

static uint32_t enc_child(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	*t = false;
	return sr_child_encode(d, cap, r);
}

int shim_emit_child(const struct sr_child_rec *c)
{
	return emit(SR_REC_CHILD_EXIT, sr_child_size(), enc_child, c,
		    EMIT_PLAIN, 0);
}

int shim_emit_span(uint16_t type, const struct sr_span_rec *s)
{
	if (__builtin_expect(atomic_load_explicit(&shim.trace_pending,
						  memory_order_relaxed),
			     0))
		shim_trace_flush();
	return emit(type, sr_span_size(s), enc_span, s, EMIT_PLAIN, 0);
}

int shim_emit_span_last(const struct sr_span_rec *s)
{
	return emit(SR_REC_SPAN_END, sr_span_size(s), enc_span, s, EMIT_LAST,
		    0);
}

int shim_emit_span_from_child(const struct sr_span_rec *s, uint32_t tid)
{
	return emit(SR_REC_SPAN, sr_span_size(s), enc_span, s, EMIT_CHILD, tid);
}

int shim_emit_trace(const struct sr_trace_rec *t)
{
	return emit(SR_REC_TRACE, sr_trace_size(t), enc_trace, t, EMIT_PLAIN,
		    0);
}

void shim_jw_argv(struct sr_jw *w, char *const argv[], size_t max)
{
	size_t start = w->len;

	sr_jw_lit(w, "[");
	for (size_t i = 0; argv && argv[i]; i++) {
		size_t mark = sr_jw_mark(w);

		if (i)
			sr_jw_lit(w, ",");
		sr_jw_cstr_val(w, argv[i]);
		/* room for the closing bracket: drop what does not fit */
		if (w->overflow || w->len - start + 1 > max ||
		    w->len + 2 > w->cap) {
			sr_jw_rollback(w, mark);
			break;
		}
	}
	sr_jw_lit(w, "]");
}

void shim_jw_text(struct sr_jw *w, const char *s, size_t max)
{
	size_t n;

	if (!s) {
		sr_jw_lit(w, "null");
		return;
	}
	n = strnlen(s, max);
	while (n && sr_json_escaped_len(s, n) + 2 > max)
		n -= n / 4 + 1;
	sr_jw_str(w, s, n);
}

void shim_jw_signal(struct sr_jw *w, int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	char name[32];

	if (!abbrev) {
		sr_jw_cstr_val(w, "SIGUNKNOWN");
		return;
	}
	snprintf(name, sizeof(name), "SIG%s", abbrev);
	sr_jw_cstr_val(w, name);
}
