/* SPDX-License-Identifier: MIT */
/*
 * shim.h - the core of libspanring.so shared by its hook modules: the
 * process-wide state (ring, ids of the process span, configuration), the
 * per-thread state (ring producer, re-entrancy guard), record emission,
 * and SPANRING_DEBUG diagnostics. Everything here is internal (hidden).
 */
#ifndef SR_SHIM_H
#define SR_SHIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/clock.h"
#include "common/record.h"
#include "common/ring.h"

#define SHIM_TLS __thread __attribute__((tls_model("initial-exec")))
#define SHIM_API __attribute__((visibility("default")))

/* SPANRING_HOOKS groups. */
#define SHIM_HOOK_PROCESS 0x1u /* process span, fork spans */
#define SHIM_HOOK_EXEC 0x2u    /* exec family, posix_spawn, system, popen */
#define SHIM_HOOK_NET 0x4u     /* connect */
#define SHIM_HOOK_DNS 0x8u     /* getaddrinfo */
#define SHIM_HOOK_ALL 0xfu

/* Per-thread state; kept small: initial-exec TLS is carved out of the
 * static TLS block, which a dlopen()ed copy of the library shares. */
struct shim_thread {
	struct sr_producer prod; /* this thread's ring writer */
	int guard;               /* >0: inside the shim, hooks pass through */
	uint8_t registered;      /* thread-exit destructor armed */
	struct shim_api *api;    /* C API spans (api.c), NULL until used */
	uint8_t fork_span[12];   /* set by the fork hook for the child */
	uint8_t fork_trace[16];  /* and the fork span's trace (an API span's
				    or context's may not be the process's) */
};

extern SHIM_TLS struct shim_thread shim_thr;

/* Process-wide state, written by the constructor and the fork child. */
struct shim_state {
	bool recording;          /* a ring is open */
	unsigned hooks;          /* SHIM_HOOK_* enabled */
	struct sr_ring ring;     /* static storage: no malloc */
	uint8_t trace_id[16];    /* trace of the process span */
	uint8_t self_span[12];   /* parent for this image's spans; zero:
				     they are roots of the trace */
	uint8_t proc_span[12];   /* the process span (zero: not recorded) */
	uint8_t self_parent[12]; /* parent of the process span (zero: root) */
	uint32_t pid;            /* getpid() of this image (fork child: its
				     own); another pid means a vfork or
				     clone child sharing our memory */
	_Atomic bool trace_pending; /* the image's TRACE record waits for
				       its first span (shim_trace_flush) */
	_Atomic bool pending;       /* fork child: its ring is made at its
				     first record (shim_materialize) */
	_Atomic bool sandboxed;     /* a seccomp filter was installed through
				     prctl: the shim makes no system call of
				     its own from then on */
	uint8_t clock;              /* SHIM_CLOCK_*: how spans are stamped
				     (SPANRING_CLOCK); read and written with
				     __atomic builtins */
};

extern struct shim_state shim;

/* Placement of the state every start writes (process.c's block, `shim`,
 * common/ids.c's seed): in .data, whose first page the loader writes
 * anyway (a relocation: __dso_handle) and whose last page, shared with
 * the start of .bss, it clears: the head of process.c's block lands in
 * the first, `shim` and the seed in the last, and a start faults in no
 * page of the shim's data of its own, where zero-initialised variables in
 * .bss would be spread over pages that each cost a fault at their first
 * touch (2-4 us on these VMs). */
#define SHIM_START_DATA __attribute__((section(".data")))

/* shim.clock. Undecided: SPANRING_CLOCK=auto in an image that inherited
 * no decision, on a CPU whose TSC is taggable; its rings are SR_CLOCK_TSC
 * (they may come to hold TSC stamps) and the decision (sr_tsc_usable(),
 * system calls and a CPUID) waits for the first stamp or for a child to
 * be handed it (shim_clock_decide). */
enum {
	SHIM_CLOCK_REALTIME = 0, /* CLOCK_REALTIME ns, rings SR_CLOCK_REALTIME */
	SHIM_CLOCK_TSC = 1,      /* tagged TSC readings, rings SR_CLOCK_TSC */
	SHIM_CLOCK_UNDECIDED = 2,
};

/* The clock decided now if it was not: true for tsc, false for
 * realtime. An undecided image asks sr_tsc_usable() (three system calls
 * and a CPUID), with the re-entrancy guard held and errno kept; after a
 * seccomp filter (shim.sandboxed) it makes no system call and decides
 * realtime. Async-signal-safe; threads racing here reach the same answer
 * (but for one that sees the filter installed meanwhile: the ring takes
 * either kind of stamp). */
bool shim_clock_decide(void);

/* shim_stamp() of an undecided image: decides, then stamps. */
uint64_t shim_stamp_slow(void);

/* A span's start or end, for its record only (never compared, never
 * passed to another image): a TSC reading tagged SR_STAMP_TSC when the
 * clock is tsc (rings SR_CLOCK_TSC), which the consumer turns into
 * realtime ns, else CLOCK_REALTIME ns. errno untouched. No system call
 * but at the first stamp of an undecided image (shim_clock_decide). */
static inline uint64_t shim_stamp(void)
{
	uint8_t c = __atomic_load_n(&shim.clock, __ATOMIC_RELAXED);

	if (c == SHIM_CLOCK_TSC)
		return sr_tsc() | SR_STAMP_TSC;
	if (__builtin_expect(c != SHIM_CLOCK_REALTIME, 0))
		return shim_stamp_slow();
	return sr_now_ns();
}

/* Sets shim.clock from SPANRING_CLOCK (tsc, realtime, auto; auto when
 * unset or unknown): tsc if the TSC is taggable, auto undecided if it is
 * (realtime if not). No system call. */
void shim_clock_init(void);

bool shim_materialize(void);

/* true if this process records: a ring is open, or a fork child's is made
 * now (its first record). */
static inline bool shim_recording(void)
{
	return shim.recording ||
	       (atomic_load_explicit(&shim.pending, memory_order_relaxed) &&
		shim_materialize());
}

/* Enters the shim for hook `hook` if it may record: recording, the hook
 * group enabled, and not already inside the shim on this thread. On true
 * the guard is held: call shim_leave(). */
bool shim_enter(unsigned hook);
void shim_leave(void);
/* Lets go of the guard around a blocking real call (a signal handler may
 * then record spans of its own) and takes it back. */
static inline void shim_pause(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shim_thr.guard--;
}

static inline void shim_resume(void)
{
	shim_thr.guard++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* true if a 12-byte span id is all zero (no parent): inline, on the span
 * path. */
static inline bool shim_span_id_zero(const uint8_t id[12])
{
	uint64_t lo;
	uint32_t hi;

	memcpy(&lo, id, 8);
	memcpy(&hi, id + 8, 4);
	return (lo | hi) == 0;
}

/* Ids and parents for a span a hook records now on this thread: the
 * innermost C API span if any, else the process span. */
void shim_parent(uint8_t trace_id[16], uint8_t parent[12], uint32_t *flags);
void shim_new_span_id(uint8_t id[12]);

/* Writes one record. 0, -ENOBUFS (dropped: counted in the ring), -ENODEV
 * (not recording). Async-signal-safe, no malloc, errno preserved.
 * A record of any size up to sr_ring_record_big_max() (SR_RECORD_BIG_MAX)
 * is written whole: bigger than a lane takes, it goes to the spill lane;
 * bigger still, its strings are cut (truncated flag). Callers check their
 * texts against the limits of common/limits.h first (SR_SPAN_DATA_MAX,
 * SR_ERROR_MAX, SR_ERROR_DATA_MAX, SR_METADATA_MAX: -E2BIG beyond; names
 * cut to SR_API_NAME_MAX with sr_utf8_prefix()), and mark a string they
 * cut themselves with SR_SF_CUT (span) or .cut (trace): the record is
 * then committed with SR_RF_TRUNCATED. Used by api.c and by the
 * explicit-identity calls alike. */
int shim_emit_span(uint16_t type, const struct sr_span_rec *s);
/* The process's last record (its end): may use the lane's reserve. */
int shim_emit_span_last(const struct sr_span_rec *s);
/* From a vfork or clone child that shares this process's memory: one
 * complete span on a shared lane taken for the record (the parent's
 * thread state is left alone). */
int shim_emit_span_from_child(const struct sr_span_rec *s, uint32_t tid);

/* true if this code runs in a child that shares the process's memory
 * (vfork, clone(CLONE_VM)): its pid is not the image's. One getpid();
 * false once sandboxed (no system call is made then). */
bool shim_in_shared_child(void);
/* The same, with the pid it read in *pid (unset once sandboxed). */
bool shim_shared_child_pid(uint32_t *pid);
int shim_emit_trace(const struct sr_trace_rec *t);
int shim_emit_child(const struct sr_child_rec *c);

/* A hook span: fills ids, parent and start of *s (name and flags given). */
void shim_span_open(struct sr_span_rec *s, const char *name, uint32_t flags);

/* Sets err/errdata of *s from an errno value, into caller buffers. */
void shim_span_errno(struct sr_span_rec *s, int err, char *data, size_t n);

/* Sets the SPANRING_DEBUG target ("fd:N" or a path); true if one is set. */
void shim_debug_set(const char *spec);
bool shim_debug_on(void);

/* Diagnostics to SPANRING_DEBUG (file or fd:N), never stdout/stderr.
 * Formatted on the stack, one write(2); errno preserved. */
void shim_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* api.c: the parent the C API gives to a span begun now on this thread,
 * if the API has a say (an open span, or a trace begun on the thread:
 * parent zero). false: use the process span. */
bool shim_api_current(uint8_t trace_id[16], uint8_t span[12]);
/* api.c: forgets this thread's API state (fork child, thread exit). */
void shim_api_reset(bool unmap);

/* api_sdk.c: the thread's context set by spanring_context_set(), if any
 * (span zero: directly under the trace). */
bool shim_ctx_get(uint8_t trace_id[16], uint8_t span[12]);
/* api_sdk.c: clears it (fork child, thread exit). */
void shim_ctx_reset(void);
/* api_sdk.c: the getaddrinfo span s of node, just opened: on a thread
 * without a context of its own (no API span, no spanring_context_set), put
 * under the context a spanring_context_lookup() armed for node, taken once;
 * unchanged when none is armed. */
void shim_ctx_lookup(const char *node, struct sr_span_rec *s);

struct sr_jw;
/* Appends a signal's name as a JSON string: "SIGSEGV". */
void shim_jw_signal(struct sr_jw *w, int sig);
/* Appends argv (NULL-terminated) as a JSON array of at most max bytes:
 * arguments that do not fit are left out. */
void shim_jw_argv(struct sr_jw *w, char *const argv[], size_t max);

/* Appends s as a JSON string (NULL: null) of at most max bytes escaped,
 * cutting the text when longer. */
void shim_jw_text(struct sr_jw *w, const char *s, size_t max);

#endif /* SR_SHIM_H */
