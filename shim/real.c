/* SPDX-License-Identifier: MIT */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

struct shim_real shim_real;

/* Stored in a slot whose symbol the next objects do not define (e.g.
 * close_range before glibc 2.34): looked up once, then NULL for good. */
char shim_real_none;

void *shim_real_resolve(void **slot, const char *name)
{
	int saved = errno;
	void *p;

	if (strcmp(name, "exit_") == 0)
		name = "_exit";
	else if (strcmp(name, "Exit") == 0)
		name = "_Exit";
	p = dlsym(RTLD_NEXT, name);
	/* Racing threads resolve the same address: a plain store is fine. */
	atomic_store_explicit((_Atomic(void *) *)slot,
			      p ? p : (void *)&shim_real_none,
			      memory_order_relaxed);
	errno = saved;
	return p;
}
