/* SPDX-License-Identifier: MIT */
/*
 * envp.h - the environment a traced program's child gets: the caller's
 * envp, with TRACEPARENT and SPANRING_CONTEXT naming the span that creates
 * the child, SPANRING_PIDNS (this process and its pid namespace), and
 * LD_PRELOAD / SPANRING_* put back when the caller dropped them (env -i,
 * an explicit envp). Built on the caller's stack, no malloc:
 * it may run in a fork child about to exec.
 */
#ifndef SR_SHIM_ENVP_H
#define SR_SHIM_ENVP_H

#include <stdint.h>

#include "common/limits.h"

#define SHIM_CARRY_MAX 16

struct shim_envp {
	char *vec[SR_ENV_MAX + SHIM_CARRY_MAX + 4]; /* NULL-terminated */
	char tp[72];  /* "TRACEPARENT=00-<32 hex>-<16 hex>-01" */
	char ctx[80]; /* "SPANRING_CONTEXT=<32 hex>-<24 hex>" */
};

/*
 * Returns the envp to pass on for a child whose parent span is (trace,
 * span): e->vec, or `envp` itself when it holds more than SR_ENV_MAX
 * entries (the child is then not linked; counted, and said on
 * SPANRING_DEBUG). envp NULL is an empty environment. Async-signal-safe.
 */
char *const *shim_envp_build(struct shim_envp *e, char *const envp[],
			     const uint8_t trace[16], const uint8_t span[12]);

/* How many environments were too large to extend (this process). */
uint64_t shim_envp_overflows(void);

#endif /* SR_SHIM_ENVP_H */
