/* SPDX-License-Identifier: MIT */
#include "envp.h"

#include <string.h>

#include "common/context.h"
#include "process.h"
#include "shim.h"

static bool has_name(const char *entry, const char *var)
{
	size_t n = strcspn(var, "=");

	return strncmp(entry, var, n) == 0 && entry[n] == '=';
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t shim_envp_count(char *const envp[])
{
	size_t k = 0;

	while (envp && envp[k] && k <= SR_ENV_MAX)
		k++;
	return k;
}

bool shim_envp_disabled(char *const envp[])
{
	for (size_t k = 0; envp && envp[k]; k++)
		if (strcmp(envp[k], "SPANRING_DISABLE=1") == 0)
			return true;
	return false;
}

bool shim_envp_may_trace(char *const envp[])
{
	return !shim_envp_disabled(envp) && !shim_identity_changed();
}

static void fmt_context(struct shim_envp *e, const uint8_t trace[16],
			const uint8_t span[12])
{
	memcpy(e->tp, "TRACEPARENT=", 12);
	sr_traceparent_fmt(e->tp + 12, trace, span);
	memcpy(e->ctx, "SPANRING_CONTEXT=", 17);
	sr_context_fmt(e->ctx + 17, trace, span);
}

/* Entries never passed on as they are: ours, naming this image. */
static bool replaced(const char *entry, bool *own_tp)
{
	const char *inherited = shim_inherited_traceparent();

	if (starts(entry, "TRACEPARENT=")) {
		/* the program's own context for its child is kept */
		if (!*inherited || strcmp(entry + 12, inherited) != 0) {
			*own_tp = true;
			return false;
		}
		return true;
	}
	/* SPANRING_CLOCK: this image's decision is carried instead */
	return starts(entry, "SPANRING_CONTEXT=") ||
	       starts(entry, "SPANRING_CLOCK=") ||
	       starts(entry, "SPANRING_PIDNS=") ||
	       starts(entry, "SPANRING_VFORK=") ||
	       starts(entry, "SPANRING_DEBUG=fd:");
}

char *const *shim_envp_build(struct shim_envp *e, char *const envp[],
			     const uint8_t trace[16], const uint8_t span[12])
{
	const char *carry[SR_CARRY_MAX];
	bool present[SR_CARRY_MAX] = { false }, own_tp = false;
	unsigned nc = shim_carry_env(carry, SR_CARRY_MAX);
	size_t n = 0, k;

	for (k = 0; envp && envp[k]; k++) {
		if (k >= SR_ENV_MAX || k + SHIM_ENVP_EXTRA >= e->cap) {
			shim_debug("environment of more than %u entries passed "
				   "on unchanged: child not linked",
				   SR_ENV_MAX);
			return envp;
		}
		if (replaced(envp[k], &own_tp))
			continue;
		for (unsigned i = 0; i < nc; i++)
			if (has_name(envp[k], carry[i]))
				present[i] = true;
		e->vec[n++] = envp[k];
	}
	fmt_context(e, trace, span);
	if (!own_tp)
		e->vec[n++] = e->tp;
	e->vec[n++] = e->ctx;
	if (shim_pidns_env())
		e->vec[n++] = (char *)shim_pidns_env();
	if (e->vfork)
		e->vec[n++] = (char *)e->vfork;
	for (unsigned i = 0; i < nc; i++)
		if (!present[i])
			e->vec[n++] = (char *)carry[i];
	e->vec[n] = NULL;
	return e->vec;
}
