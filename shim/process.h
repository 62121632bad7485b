/* SPDX-License-Identifier: MIT */
/*
 * process.h - the life of a traced process image: the constructor
 * (configuration, incoming context, ring, PROCESS / TRACE records, process
 * span), its end (exit, _exit, return from main) and a fork child's new
 * ring and process span.
 */
#ifndef SR_SHIM_PROCESS_H
#define SR_SHIM_PROCESS_H

#include <stdint.h>

/* Ends the process span (once per image) with the exit status: code >= 0
 * for an exit, sig > 0 for a fatal signal. Async-signal-safe. */
void shim_process_end(int code, int sig);

/* In a fork child: drops the parent's ring (not its file), reseeds ids,
 * opens a ring of its own and starts its process span under `fork_span`.
 * Async-signal-safe (system calls and stack buffers only). */
void shim_fork_child(const uint8_t fork_span[12]);

/* Pointers to static "NAME=value" strings a child needs to be traced the
 * same way when its environment lacks them: LD_PRELOAD (as this process
 * got it, or this library's path) and the SPANRING_* configuration.
 * Returns how many were written to out (at most max). */
unsigned shim_carry_env(const char **out, unsigned max);

/* "SPANRING_PIDNS=<pid>:<inode>": this image's pid and pid namespace, for
 * the environment of its exec or spawn (saves the child a /proc lookup);
 * NULL if the namespace is unknown. Static storage, set at image start. */
const char *shim_pidns_env(void);

#endif /* SR_SHIM_PROCESS_H */
