/* SPDX-License-Identifier: MIT */
/*
 * process.h - the life of a traced process image: the constructor
 * (configuration, incoming context, ring, PROCESS / TRACE records, process
 * span), its end (exit, _exit, return from main) and a fork child's new
 * ring and process span.
 */
#ifndef SR_SHIM_PROCESS_H
#define SR_SHIM_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

/* Ends the process span (once per image) with the exit status: code >= 0
 * for an exit, sig > 0 for a fatal signal. `from_exit_call`: from the
 * _exit/_Exit hooks, which a vfork child may call (it ends nothing then).
 * Async-signal-safe. */
void shim_process_end(int code, int sig, bool from_exit_call);

/* A fork child's first record (or its end) makes its ring and process
 * span, dated at the fork (atfork_child left it pending). true if the
 * process records now. Async-signal-safe (system calls only). */
bool shim_materialize(void);

/* Writes the image's own TRACE record if it was left for the first span
 * (no process span recorded). Async-signal-safe. */
void shim_trace_flush(void);

/* In a fork child that has not made its ring: the span its exec'd image
 * goes under (the fork span), else NULL. */
const uint8_t *shim_pending_parent(void);

/* Pointers to static "NAME=value" strings a child needs to be traced the
 * same way when its environment lacks them: LD_PRELOAD (as this process
 * got it, or this library's path) and the SPANRING_* configuration, with
 * SPANRING_CLOCK the decided clock (decided now if it was not:
 * shim_clock_decide). Returns how many were written to out (at most
 * max). */
unsigned shim_carry_env(const char **out, unsigned max);

/* "SPANRING_PIDNS=<pid>:<inode>": this image's pid and pid namespace, for
 * the environment of its exec or spawn (saves the child a /proc lookup);
 * NULL if the namespace is unknown. Static storage, set at image start. */
const char *shim_pidns_env(void);

/* The TRACEPARENT this image got from its environment at start ("" if
 * none): one the program put into a child's environment differs, and is
 * kept (see envp.c). */
const char *shim_inherited_traceparent(void);

/* true if the process changed its real or effective uid or gid since the
 * image started (sudo, su, a daemon dropping privileges): the shim then
 * does not put itself back into a child's environment. Two system calls;
 * true once sandboxed (it cannot tell without a system call then). */
bool shim_identity_changed(void);

/* "SPANRING_VFORK=<pid>:<start ns>:<trace>:<span>:<parent>": tells the
 * image a vfork child execs that it was started by a vfork + exec whose
 * `spawn` span it records (the child could not: it shares its parent's
 * memory and ring). Writes it into buf (at least SHIM_VFORK_ENV_MAX). */
#define SHIM_VFORK_ENV_MAX 136
void shim_vfork_env(char *buf, uint32_t pid, uint64_t start_ns,
		    const uint8_t trace[16], const uint8_t span[12],
		    const uint8_t parent[12]);

#endif /* SR_SHIM_PROCESS_H */
