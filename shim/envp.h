/* SPDX-License-Identifier: MIT */
/*
 * envp.h - the environment a traced program's child gets: the caller's
 * envp, with TRACEPARENT and SPANRING_CONTEXT naming the span that creates
 * the child, SPANRING_PIDNS (this process and its pid namespace), and
 * LD_PRELOAD / SPANRING_* put back when the caller dropped them (env -i,
 * an explicit envp). Built on the caller's stack (the vector is sized by
 * the caller, see SHIM_ENVP_VEC), no malloc: it may run in a vfork child.
 *
 * Policy (shim/README.md, "Children"):
 *  - a TRACEPARENT the program itself put into the envp (not the one this
 *    image inherited) is kept: the child joins that context;
 *  - nothing is added when the envp says SPANRING_DISABLE=1, or when the
 *    caller decides the child must not be traced (identity change);
 *  - SPANRING_DEBUG=fd:N is not passed on (descriptor N of a child is
 *    something else); a SPANRING_DEBUG path is.
 */
#ifndef SR_SHIM_ENVP_H
#define SR_SHIM_ENVP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "common/limits.h"

/* Entries added beyond the caller's: TRACEPARENT, SPANRING_CONTEXT,
 * SPANRING_PIDNS, SPANRING_VFORK, the carried ones, the terminator. */
#define SHIM_ENVP_EXTRA (SR_CARRY_MAX + 5)

struct shim_envp {
	char **vec; /* caller's array of SHIM_ENVP_VEC(envp) entries */
	size_t cap;
	char tp[12 +
		SR_TRACEPARENT_LEN]; /* "TRACEPARENT=00-<32 hex>-<16 hex>-01" */
	char ctx[17 + SR_CONTEXT_LEN]; /* "SPANRING_CONTEXT=<32 hex>-<24 hex>" */
	const char *vfork; /* "SPANRING_VFORK=..." to add, or NULL */
};

/* Entries of envp (NULL: none), capped at SR_ENV_MAX + 1. */
size_t shim_envp_count(char *const envp[]);

/* Pointers the vector for envp needs: declare it on the stack with
 *   char **vec = __builtin_alloca(SHIM_ENVP_VEC(n) * sizeof(char *));
 * where n = shim_envp_count(envp). */
#define SHIM_ENVP_VEC(n) ((n) + SHIM_ENVP_EXTRA)

/* Declares `struct shim_envp e` for envp with its vector on the caller's
 * stack, sized to envp (a few hundred bytes for a usual environment: a
 * vfork or clone child may run on a small stack). */
#define SHIM_ENVP_DECL(e, envp)                                               \
	struct shim_envp e = { .cap = SHIM_ENVP_VEC(shim_envp_count(envp)) }; \
	e.vec = __builtin_alloca(e.cap * sizeof(char *))

/* true if envp asks for no tracing (SPANRING_DISABLE=1). */
bool shim_envp_disabled(char *const envp[]);

/* true if a child given envp gets spanring's variables: envp does not
 * say SPANRING_DISABLE=1 and the process kept its identity. */
bool shim_envp_may_trace(char *const envp[]);

/* The envp for a child of span (trace, span) by the policy above, built
 * on the caller's stack: use it within the statement or block. */
#define SHIM_CHILD_ENVP(envp, trace, span)                                      \
	(shim_envp_may_trace(envp)                                              \
		 ? shim_envp_build(                                             \
			   &(struct shim_envp){                                 \
				   .cap = SHIM_ENVP_VEC(shim_envp_count(envp)), \
				   .vec = __builtin_alloca(                     \
					   SHIM_ENVP_VEC(                       \
						   shim_envp_count(envp)) *     \
					   sizeof(char *)) },                   \
			   envp, trace, span)                                   \
		 : (envp))

/*
 * Returns the envp to pass on for a child whose parent span is (trace,
 * span): e->vec, or `envp` itself when it holds more than SR_ENV_MAX
 * entries (the child is then not linked; said on SPANRING_DEBUG).
 * envp NULL is an empty environment. Async-signal-safe.
 */
char *const *shim_envp_build(struct shim_envp *e, char *const envp[],
			     const uint8_t trace[16], const uint8_t span[12]);

#endif /* SR_SHIM_ENVP_H */
