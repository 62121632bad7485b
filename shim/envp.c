/* SPDX-License-Identifier: MIT */
#include "envp.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "common/ids.h"
#include "process.h"
#include "shim.h"

static _Atomic uint64_t overflows;

static bool has_name(const char *entry, const char *var)
{
	size_t n = strcspn(var, "=");

	return strncmp(entry, var, n) == 0 && entry[n] == '=';
}

static void fmt_context(struct shim_envp *e, const uint8_t trace[16],
			const uint8_t span[12])
{
	char th[33], sh[25];

	sr_hex(th, trace, 16);
	sr_hex(sh, span, 12);
	/* the W3C parent id is the last 8 bytes of the 12-byte span id */
	memcpy(e->tp, "TRACEPARENT=00-", 15);
	memcpy(e->tp + 15, th, 32);
	e->tp[47] = '-';
	memcpy(e->tp + 48, sh + 8, 16);
	memcpy(e->tp + 64, "-01", 4);
	memcpy(e->ctx, "SPANRING_CONTEXT=", 17);
	memcpy(e->ctx + 17, th, 32);
	e->ctx[49] = '-';
	memcpy(e->ctx + 50, sh, 25);
}

char *const *shim_envp_build(struct shim_envp *e, char *const envp[],
			     const uint8_t trace[16], const uint8_t span[12])
{
	const char *carry[SHIM_CARRY_MAX];
	bool present[SHIM_CARRY_MAX] = { false };
	unsigned nc = shim_carry_env(carry, SHIM_CARRY_MAX), n = 0, k;

	for (k = 0; envp && envp[k]; k++) {
		if (k >= SR_ENV_MAX) {
			atomic_fetch_add(&overflows, 1);
			shim_debug("environment of more than %u entries passed "
				   "on unchanged: child not linked", SR_ENV_MAX);
			return envp;
		}
		if (strncmp(envp[k], "TRACEPARENT=", 12) == 0 ||
		    strncmp(envp[k], "SPANRING_CONTEXT=", 17) == 0 ||
		    strncmp(envp[k], "SPANRING_PIDNS=", 15) == 0)
			continue;
		for (unsigned i = 0; i < nc; i++)
			if (has_name(envp[k], carry[i]))
				present[i] = true;
		e->vec[n++] = envp[k];
	}
	fmt_context(e, trace, span);
	e->vec[n++] = e->tp;
	e->vec[n++] = e->ctx;
	if (shim_pidns_env())
		e->vec[n++] = (char *)shim_pidns_env();
	for (unsigned i = 0; i < nc; i++)
		if (!present[i])
			e->vec[n++] = (char *)carry[i];
	e->vec[n] = NULL;
	return e->vec;
}

uint64_t shim_envp_overflows(void)
{
	return atomic_load(&overflows);
}
